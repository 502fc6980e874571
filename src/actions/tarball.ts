import { constants, createReadStream, createWriteStream, existsSync, statSync } from 'node:fs';
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { list, x as extract } from 'tar';
import { TaskFailure } from '../host/failure.js';
import type { ActionContext } from '../engine/action.js';
import { sha256File } from '../host/hasher.js';
import { replaceTree } from '../util/fs.js';
import { findUnsafeEntry, readableTar, type TarEntry } from '../host/tar.js';

/** A source pinned to one release archive. */
export interface TarballSource {
  /** http(s) or file:// URL, or a local path. */
  tarball: string;
  /** Hex sha256 of the archive file as downloaded. */
  sha256: string;
  /** Leading path components dropped from every entry (tar --strip-components). Default 1. */
  strip?: number;
  /** false: keep the archive whole (a root file system tarball, which the image step unpacks itself). */
  unpack?: boolean;
}

/**
 * Make ctx.srcDir the contents of the archive `src.tarball`. The file comes
 * from the download cache, a --mirror directory (DIR/<basename>, DIR/<sha256>)
 * or the network, and is always checked against `src.sha256` before use. Every
 * entry is checked before anything is extracted; the tree is unpacked next to
 * srcDir and renamed into place (replacing the old one) only on success.
 * With `unpack: false` srcDir holds the archive itself, under its own name.
 * Fails with 'checksum-mismatch', 'fetch-failed' or 'unsafe-archive-entry'.
 */
export async function fetchTarball(ctx: ActionContext, src: TarballSource): Promise<{ sha256: string }> {
  if (!/^[0-9a-fA-F]{64}$/.test(src.sha256)) throw new Error(`Internal error: ${JSON.stringify(src.sha256)} is not a sha256`);
  const sha256 = src.sha256.toLowerCase();
  const strip = src.strip ?? 1;
  if (!Number.isInteger(strip) || strip < 0) throw new Error(`Internal error: bad strip level ${strip}`);
  const archive = await obtainArchive(ctx, src.tarball, sha256);
  if (src.unpack === false) await placeArchive(ctx, archive, archiveName(src.tarball));
  else await extractArchive(ctx, archive, archiveName(src.tarball), strip);
  return { sha256 };
}

// ---------------------------------------------------------------- getting the file

/** The file name the archive is stored under: the URL's last path component, made safe. */
export function archiveName(url: string): string {
  let name = url;
  try {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) name = decodeURIComponent(new URL(url).pathname);
  } catch {
    /* keep the raw text */
  }
  const base = path.posix.basename(name).replace(/[^A-Za-z0-9._+-]/g, '_');
  return base === '' || /^\.+$/.test(base) ? 'download' : base;
}

const isFile = (p: string) => existsSync(p) && statSync(p).isFile();

async function obtainArchive(ctx: ActionContext, url: string, sha256: string): Promise<string> {
  const name = archiveName(url);
  const cached = path.join(ctx.cacheDir, 'downloads', sha256, name);
  if (isFile(cached)) {
    if ((await sha256File(cached)) === sha256) return cached;
    ctx.log(`${cached} is corrupt; fetching it again`);
    await rm(cached, { force: true });
  }
  await mkdir(path.dirname(cached), { recursive: true });
  const part = `${cached}.part-${process.pid}`;
  try {
    // A mirror's copy is cached too, like a mirror's git objects: the cache alone then holds every source (xenbuild mirror reads it).
    for (const dir of ctx.mirrorDirs) {
      for (const candidate of [path.resolve(dir, name), path.resolve(dir, sha256)]) {
        if (!isFile(candidate)) continue;
        const actual = await sha256File(candidate);
        if (actual !== sha256) throw new TaskFailure({ reason: 'checksum-mismatch', file: candidate, expected: sha256, actual });
        ctx.log(`using ${candidate}`);
        await copyFile(candidate, part, constants.COPYFILE_FICLONE);
        await rename(part, cached);
        return cached;
      }
    }
    ctx.log(`fetching ${url}`);
    const actual = await download(ctx, url, part);
    if (actual !== sha256) throw new TaskFailure({ reason: 'checksum-mismatch', file: url, expected: sha256, actual });
    await rename(part, cached);
  } finally {
    await rm(part, { force: true });
  }
  return cached;
}

/** Copy `url` to `dest`, returning the sha256 of what was written. */
async function download(ctx: ActionContext, url: string, dest: string): Promise<string> {
  const fail = (message: string) => new TaskFailure({ reason: 'fetch-failed', url, message });
  const hash = createHash('sha256');
  try {
    let source: Readable;
    if (/^https?:\/\//i.test(url)) {
      const response = await fetch(url, { signal: ctx.signal, redirect: 'follow' });
      if (!response.ok || !response.body) throw fail(`HTTP ${response.status} ${response.statusText}`);
      source = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
    } else {
      if (/^[a-z][a-z0-9+.-]*:/i.test(url) && !/^file:/i.test(url)) throw fail('unsupported URL scheme');
      const file = /^file:/i.test(url) ? fileURLToPath(url) : path.resolve(url);
      if (!isFile(file)) throw fail('no such file');
      source = createReadStream(file);
    }
    await pipeline(
      source,
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          hash.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(dest),
      { signal: ctx.signal },
    );
  } catch (err) {
    if (ctx.signal.aborted) throw new TaskFailure({ reason: 'cancelled' });
    if (err instanceof TaskFailure) throw err;
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    throw fail(cause ? `${(err as Error).message}: ${cause}` : String((err as Error).message ?? err));
  }
  return hash.digest('hex');
}

// ---------------------------------------------------------------- unpacking

/**
 * Makes a new source tree next to srcDir with `fill(root, work)` (work: scratch
 * space beside it) and renames it into place, replacing the old tree, only
 * once it is complete.
 */
async function replaceSrcDir(ctx: ActionContext, fill: (root: string, work: string) => Promise<void>): Promise<void> {
  const dest = ctx.srcDir;
  const work = path.join(path.dirname(dest), `.${path.basename(dest)}.extract`);
  const root = path.join(work, 'root');
  await rm(work, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  try {
    await fill(root, work);
    if (ctx.signal.aborted) throw new TaskFailure({ reason: 'cancelled' });
    await replaceTree(root, dest, path.join(work, 'old'));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** srcDir becomes a directory holding just the (checked) archive, named `name`. */
function placeArchive(ctx: ActionContext, archive: string, name: string): Promise<void> {
  return replaceSrcDir(ctx, async (root) => {
    await copyFile(archive, path.join(root, name));
    ctx.log(`keeping ${name} whole in ${ctx.srcDir}`);
  });
}

function extractArchive(ctx: ActionContext, archive: string, name: string, strip: number): Promise<void> {
  const unsafe = (entry: string, why: string) => new TaskFailure({ reason: 'unsafe-archive-entry', archive: name, entry, why });
  return replaceSrcDir(ctx, async (root, work) => {
    const tarFile = await readableTar(archive, work, 'archive.tar', (argv) => ctx.exec(argv, { cwd: work }));
    const entries: TarEntry[] = [];
    try {
      await list({
        file: tarFile,
        strict: true,
        onReadEntry: (e) => {
          entries.push(e.linkpath ? { path: e.path, type: e.type, linkpath: e.linkpath } : { path: e.path, type: e.type });
        },
      });
    } catch (err) {
      throw unsafe('(archive)', `cannot be read as a tar archive (${(err as Error).message})`);
    }
    const problem = findUnsafeEntry(entries, strip);
    if (problem) throw unsafe(problem.entry, problem.why);
    if (ctx.signal.aborted) throw new TaskFailure({ reason: 'cancelled' });
    ctx.log(`extracting ${entries.length} entries of ${name}`);
    try {
      await extract({ file: tarFile, cwd: root, strip, strict: true, preserveOwner: false });
    } catch (err) {
      const e = err as Error & { path?: string };
      throw unsafe(e.path ?? '(archive)', `could not be extracted (${e.message})`);
    }
  });
}
