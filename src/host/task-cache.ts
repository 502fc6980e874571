import { createWriteStream, existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { list } from 'tar';
import { isRecord } from '../util/fs.js';
import { TaskFailure } from './failure.js';
import { FileHasher } from './hasher.js';
import { exec } from './process.js';
import { findUnsafeEntry, type TarEntry } from './tar.js';

/**
 * The shared task cache: a task's declared outputs stored under its
 * fingerprint as `<fingerprint>.tar.zst`, in a local directory or on an HTTP
 * server (GET/HEAD/PUT: nginx with WebDAV, bazel-remote's HTTP mode, an S3
 * gateway). Fingerprints are machine-independent, so any checkout anywhere
 * with the same sources, tools and commands shares the entries.
 *
 * An entry holds `xenbuild-cache-entry.json` (its fingerprint and each
 * output's sha256) and the outputs under their names. It is used only when
 * every output, extracted aside, has the sha256 the entry says and the entry's
 * fingerprint is the one asked for: a truncated or corrupted entry is never
 * restored. The cache is an optimisation: trouble with it is a warning, never
 * a failed build.
 */

const META = 'xenbuild-cache-entry.json';

/** An output of a task: its absolute path and its name (relative to the board directory). */
export interface CacheOutput {
  name: string;
  path: string;
}

interface EntryMeta {
  format: 1;
  fingerprint: string;
  task: string;
  outputs: { name: string; sha256: string }[];
}

/** Where entries are kept. `get` resolves false for an entry it does not have; it throws when it cannot say. */
export interface CacheStore {
  /** How warnings and `cache stats` name it (a URL without its token, or a directory). */
  readonly where: string;
  get(fingerprint: string, dest: string): Promise<boolean>;
  has(fingerprint: string): Promise<boolean>;
  put(fingerprint: string, file: string): Promise<void>;
}

const entryName = (fingerprint: string) => {
  if (!/^[0-9a-f]{64}$/.test(fingerprint)) throw new Error(`Internal error: not a fingerprint: ${fingerprint}`);
  return `${fingerprint}.tar.zst`;
};

/** A directory of entries, `<dir>/<fingerprint>.tar.zst`, written atomically (a copy renamed into place). */
export class DirectoryStore implements CacheStore {
  constructor(readonly where: string) {}

  async get(fingerprint: string, dest: string): Promise<boolean> {
    const file = join(this.where, entryName(fingerprint));
    if (!existsSync(file)) return false;
    await copyFile(file, dest);
    // Prune keeps what was used last: a hit counts as a use.
    const now = new Date();
    await utimes(file, now, now).catch(() => undefined);
    return true;
  }

  async has(fingerprint: string): Promise<boolean> {
    return existsSync(join(this.where, entryName(fingerprint)));
  }

  async put(fingerprint: string, file: string): Promise<void> {
    await mkdir(this.where, { recursive: true });
    const final = join(this.where, entryName(fingerprint));
    const tmp = `${final}.${process.pid}.partial`;
    try {
      await copyFile(file, tmp);
      await rename(tmp, final);
    } finally {
      await rm(tmp, { force: true });
    }
  }
}

/** An HTTP server: GET, HEAD and PUT of `<base>/<fingerprint>.tar.zst`, with a bearer token when one is given. */
export class HttpStore implements CacheStore {
  readonly where: string;
  private readonly base: string;

  constructor(
    url: string,
    private readonly token?: string,
  ) {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`the task cache ${url} is not an http or https URL`);
    if (parsed.username || parsed.password) throw new Error(`the task cache URL must not hold credentials: give a token in XENBUILD_TASK_CACHE_TOKEN`);
    this.base = url.replace(/\/+$/, '');
    this.where = this.base;
  }

  private request(method: 'GET' | 'HEAD' | 'PUT', fingerprint: string, body?: Buffer): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    return fetch(`${this.base}/${entryName(fingerprint)}`, {
      method,
      headers,
      ...(body ? { body } : {}),
      redirect: 'error',
      signal: AbortSignal.timeout(120_000),
    });
  }

  async get(fingerprint: string, dest: string): Promise<boolean> {
    const response = await this.request('GET', fingerprint);
    if (response.status === 404) return false;
    if (!response.ok || !response.body) throw new Error(`GET answered ${response.status} ${response.statusText}`);
    await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>), createWriteStream(dest));
    return true;
  }

  async has(fingerprint: string): Promise<boolean> {
    const response = await this.request('HEAD', fingerprint);
    if (response.status === 404) return false;
    if (!response.ok) throw new Error(`HEAD answered ${response.status} ${response.statusText}`);
    return true;
  }

  async put(fingerprint: string, file: string): Promise<void> {
    const response = await this.request('PUT', fingerprint, await readFile(file));
    if (!response.ok) throw new Error(`PUT answered ${response.status} ${response.statusText}`);
  }
}

/** Why an entry was not restored: none was there, or one was there and could not be used. */
export type RestoreResult = { restored: true; from: string } | { restored: false; damaged?: string };

/**
 * The stores of a run, tried in order; the first that has an entry gives it.
 * A store that fails (a server that is down) is warned about once and left
 * alone for the rest of the run.
 */
export class TaskCache {
  private readonly broken = new Set<CacheStore>();

  constructor(
    private readonly stores: readonly CacheStore[],
    private readonly warn: (message: string) => void,
  ) {}

  get describe(): string {
    return this.stores.map((s) => s.where).join(', ');
  }

  private fail(store: CacheStore, doing: string, err: unknown): void {
    if (this.broken.has(store)) return;
    this.broken.add(store);
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    this.warn(`the task cache ${store.where} cannot be used (${doing}: ${(err as Error).message}${cause ? `: ${cause}` : ''}); building without it`);
  }

  /**
   * Puts the task's outputs in place from the first store holding its
   * fingerprint, after checking every output against the entry's sha256.
   * `scratch` is an empty directory of the caller's, on the outputs' file system.
   */
  async restore(task: string, fingerprint: string, outputs: readonly CacheOutput[], scratch: string): Promise<RestoreResult> {
    for (const store of this.stores) {
      if (this.broken.has(store)) continue;
      const file = join(scratch, 'entry.tar.zst');
      let found: boolean;
      try {
        found = await store.get(fingerprint, file);
      } catch (err) {
        this.fail(store, 'reading', err);
        continue;
      }
      if (!found) continue;
      const problem = await unpack(file, join(scratch, 'x'), task, fingerprint, outputs);
      if (problem) {
        this.warn(`the task cache entry of ${task} in ${store.where} is damaged (${problem}): building ${task} instead`);
        return { restored: false, damaged: problem };
      }
      for (const out of outputs) {
        await rm(out.path, { recursive: true, force: true });
        await mkdir(dirname(out.path), { recursive: true });
        await rename(join(scratch, 'x', out.name), out.path);
      }
      return { restored: true, from: store.where };
    }
    return { restored: false };
  }

  /** Stores a task's outputs (with the sha256 its stamp recorded) in every store that lacks them. */
  async store(task: string, fingerprint: string, outputs: readonly (CacheOutput & { sha256: string })[], boardDir: string, scratch: string): Promise<void> {
    const wanted: CacheStore[] = [];
    for (const store of this.stores) {
      if (this.broken.has(store)) continue;
      try {
        if (!(await store.has(fingerprint))) wanted.push(store);
      } catch (err) {
        this.fail(store, 'asking', err);
      }
    }
    if (wanted.length === 0) return;
    const meta: EntryMeta = { format: 1, fingerprint, task, outputs: outputs.map((o) => ({ name: o.name, sha256: o.sha256 })) };
    await mkdir(scratch, { recursive: true });
    const metaDir = await mkdtemp(join(scratch, 'meta-'));
    const file = join(scratch, `${fingerprint}.tar.zst`);
    try {
      await writeFile(join(metaDir, META), JSON.stringify(meta, null, 1) + '\n');
      // GNU tar: the entry's member names are the outputs' names; owners and access times are left out.
      await exec(
        [
          'tar',
          '--create',
          '--zstd',
          '--file',
          file,
          '--format=posix',
          '--pax-option=delete=atime,delete=ctime',
          '--numeric-owner',
          '--owner=0',
          '--group=0',
          '-C',
          metaDir,
          META,
          '-C',
          boardDir,
          ...outputs.map((o) => `./${o.name}`),
        ],
        { cwd: boardDir },
      );
      for (const store of wanted) {
        try {
          await store.put(fingerprint, file);
        } catch (err) {
          this.fail(store, 'writing', err);
        }
      }
    } finally {
      await rm(metaDir, { recursive: true, force: true });
      await rm(file, { force: true });
    }
  }
}

/** Extracts an entry into `dir` and checks it; returns what is wrong with it, or undefined when it can be used. */
async function unpack(file: string, dir: string, task: string, fingerprint: string, outputs: readonly CacheOutput[]): Promise<string | undefined> {
  const tarFile = `${file}.tar`;
  try {
    // zstd checks its frames: a truncated entry ends here.
    await exec(['zstd', '--decompress', '--quiet', '--force', '-o', tarFile, file], { cwd: dirname(file) });
    const entries: TarEntry[] = [];
    await list({
      file: tarFile,
      strict: true,
      onReadEntry: (e) => entries.push({ path: e.path, type: e.type, ...(e.linkpath ? { linkpath: e.linkpath } : {}) }),
    });
    const unsafe = findUnsafeEntry(entries, 0);
    if (unsafe) return `${unsafe.entry}: ${unsafe.why}`;
    await mkdir(dir, { recursive: true });
    await exec(['tar', '--extract', '--file', tarFile, '--no-same-owner', '-C', dir], { cwd: dir });
    const meta = await readFile(join(dir, META), 'utf8').then(
      (text) => JSON.parse(text) as unknown,
      () => undefined,
    );
    if (!isEntryMeta(meta)) return `it has no readable ${META}`;
    if (meta.fingerprint !== fingerprint) return `it is the entry of fingerprint ${meta.fingerprint.slice(0, 12)}`;
    const said = new Map(meta.outputs.map((o) => [o.name, o.sha256]));
    // A throwaway hasher: nothing of the scratch directory is remembered.
    const hasher = new FileHasher(join(dir, '..', 'hashes.json'));
    for (const out of outputs) {
      const sha = said.get(out.name);
      if (!sha) return `it lacks ${out.name}`;
      const now = await hasher.hash(join(dir, out.name));
      if (!now) return `${out.name} is missing from it`;
      if (now.sha256 !== sha) return `${out.name} does not match its sha256`;
    }
    return undefined;
  } catch (err) {
    const detail = err instanceof TaskFailure ? err.message.split('\n')[0] : (err as Error).message;
    return `it cannot be read: ${detail} (${task})`;
  } finally {
    await unlink(tarFile).catch(() => undefined);
  }
}

function isEntryMeta(v: unknown): v is EntryMeta {
  return (
    isRecord(v) &&
    v.format === 1 &&
    typeof v.fingerprint === 'string' &&
    Array.isArray(v.outputs) &&
    v.outputs.every((o) => isRecord(o) && typeof o.name === 'string' && typeof o.sha256 === 'string')
  );
}

/** The entries of a directory cache: name, size and when each was last used, oldest first. */
export async function directoryEntries(dir: string): Promise<{ file: string; size: number; usedMs: number }[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: { file: string; size: number; usedMs: number }[] = [];
  for (const name of names) {
    if (!/^[0-9a-f]{64}\.tar\.zst$/.test(name)) continue;
    const st = await stat(join(dir, name)).catch(() => undefined);
    if (st?.isFile()) out.push({ file: join(dir, name), size: st.size, usedMs: st.mtimeMs });
  }
  return out.sort((a, b) => a.usedMs - b.usedMs || a.file.localeCompare(b.file));
}
