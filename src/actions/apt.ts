import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { acquireLock } from '../host/lock.js';
import { TaskFailure } from '../host/failure.js';
import { writeFileAtomicSync } from '../util/fs.js';
import type { ActionContext } from '../engine/action.js';

/**
 * A private apt configuration per architecture under `${cacheDir}/apt/<arch>/`:
 * its own etc/apt, lists, empty dpkg status and download cache, so apt-get and
 * apt-cache run unprivileged and never touch the host's apt. The archive comes
 * from a --mirror directory holding a local repository (DIR/debian/dists) or
 * from the host's own apt sources; it is never hard-coded.
 */

import { aptSourcesFromHost, aptSourcesFromMirror, DEBIAN_ARCHIVE_KEYRING, describeSources, readText, renderSources, type AptSource } from './apt-sources.js';

// ---------------------------------------------------------------- the private configuration

/** Where the private configuration of one architecture lives. */
export interface AptPaths {
  root: string;
  etc: string;
  sourcesFile: string;
  state: string;
  lists: string;
  status: string;
  cache: string;
  log: string;
  /** Holds the sources text the lists were last fetched for. */
  stamp: string;
  lock: string;
}

export function aptPaths(cacheDir: string, arch: string): AptPaths {
  const root = path.join(cacheDir, 'apt', arch);
  const etc = path.join(root, 'etc', 'apt');
  const state = path.join(root, 'state');
  return {
    root,
    etc,
    sourcesFile: path.join(etc, 'sources.list.d', 'debian.sources'),
    state,
    lists: path.join(state, 'lists'),
    status: path.join(state, 'status'),
    cache: path.join(root, 'cache'),
    log: path.join(root, 'log'),
    stamp: path.join(state, 'xenbuild-lists-for'),
    lock: path.join(root, 'lock'),
  };
}

/** The -o options that point apt at the private configuration (host apt.conf.d is still read, e.g. for proxies). */
function aptOptions(paths: AptPaths, arch: string): string[] {
  const settings = [
    `Dir::Etc=${paths.etc}`,
    `Dir::State=${paths.state}`,
    `Dir::State::status=${paths.status}`,
    `Dir::Cache=${paths.cache}`,
    `Dir::Log=${paths.log}`,
    `APT::Architecture=${arch}`,
    `APT::Architectures::=${arch}`,
    'Debug::NoLocking=1',
    'Acquire::Languages=none',
  ];
  return settings.flatMap((s) => ['-o', s]);
}

/** argv of apt-get (quiet: no progress bars) or apt-cache with the private options. */
export function aptArgv(paths: AptPaths, arch: string, base: 'apt-get' | 'apt-cache', ...args: string[]): string[] {
  return [base, ...(base === 'apt-get' ? ['-q'] : []), ...aptOptions(paths, arch), ...args];
}

export interface PrivateApt {
  readonly arch: string;
  readonly paths: AptPaths;
  readonly sources: readonly AptSource[];
  /** Full argv of apt-get or apt-cache with the private options. */
  argv(base: 'apt-get' | 'apt-cache', ...args: string[]): string[];
  /** `apt-get update`; fails with 'fetch-failed' (some index not fetched) or 'missing-tool' (no keyring). */
  update(): Promise<void>;
  /** Whether the lists were fetched for the current sources (fetched in part: for ten minutes). */
  listsCurrent(): boolean;
  /** Run `fn` holding this configuration's lock (in this process and against other xenbuilds sharing the cache). */
  locked<T>(fn: () => Promise<T>): Promise<T>;
}

export interface PrivateAptOptions {
  /** Root of the file system whose /etc/apt names the archive (default "/"; tests use a fake tree). */
  hostRoot?: string;
}

/** The archives the private configuration uses: a --mirror repository, else the host's Debian sources. */
export function chooseSources(mirrorDirs: readonly string[], hostRoot = '/'): AptSource[] {
  const sources = aptSourcesFromMirror(mirrorDirs) ?? aptSourcesFromHost(hostRoot);
  if (sources.length === 0) {
    throw new TaskFailure({
      reason: 'fetch-failed',
      url: path.join(hostRoot, 'etc/apt/sources.list.d'),
      message: 'no Debian archive: the host apt sources name none and no --mirror directory holds a debian/dists repository',
    });
  }
  return sources;
}

/**
 * The private apt configuration of `arch`, created or brought up to date under
 * `${ctx.cacheDir}/apt/<arch>/` (sources file, empty dpkg status, directories).
 * Changing the sources (e.g. adding --mirror) marks the lists as out of date.
 */
export function privateApt(ctx: ActionContext, arch: string, opts: PrivateAptOptions = {}): PrivateApt {
  const paths = aptPaths(ctx.cacheDir, arch);
  const sources = chooseSources(ctx.mirrorDirs, opts.hostRoot);
  const text = renderSources(sources);
  for (const dir of ['sources.list.d', 'preferences.d', 'trusted.gpg.d']) mkdirSync(path.join(paths.etc, dir), { recursive: true });
  for (const dir of [path.join(paths.lists, 'partial'), path.join(paths.cache, 'archives', 'partial'), paths.log]) mkdirSync(dir, { recursive: true });
  if (!existsSync(paths.status) || statSync(paths.status).size !== 0) writeFileSync(paths.status, '');
  if (readText(paths.sourcesFile) !== text) {
    rmSync(paths.stamp, { force: true });
    writeFileAtomicSync(paths.sourcesFile, text);
  }
  const argv = (base: 'apt-get' | 'apt-cache', ...args: string[]) => aptArgv(paths, arch, base, ...args);
  return {
    arch,
    paths,
    sources,
    argv,
    listsCurrent: () => listsCurrent(readText(paths.stamp), text),
    locked: (fn) => withLock(ctx, paths.lock, fn),
    async update() {
      const signed = sources.filter((s) => !s.uri.startsWith('file:')).map((s) => s.signedBy ?? DEBIAN_ARCHIVE_KEYRING);
      for (const keyring of new Set(signed)) {
        if (!existsSync(keyring))
          throw new TaskFailure({
            reason: 'missing-tool',
            tool: keyring,
            ...(keyring === DEBIAN_ARCHIVE_KEYRING ? { package: 'debian-archive-keyring' } : {}),
          });
      }
      rmSync(paths.stamp, { force: true });
      ctx.log(`updating the ${arch} package lists of ${describeSources(sources)}`);
      try {
        await ctx.exec(argv('apt-get', 'update'), { cwd: paths.root, env: proxyEnv() });
      } catch (err) {
        if (err instanceof TaskFailure && err.failure.reason === 'exit-non-zero') {
          // What it did fetch is usable: don't fetch again for every package of this build.
          writeFileAtomicSync(paths.stamp, `${PARTIAL}${Date.now()}\n${text}`);
          throw new TaskFailure({
            reason: 'fetch-failed',
            url: describeSources(sources),
            message: 'apt-get update did not fetch every index (see the task log)',
          });
        }
        throw err;
      }
      writeFileAtomicSync(paths.stamp, text);
    },
  };
}

const PARTIAL = 'partial update at ';
/** How long lists that `apt-get update` fetched only in part count as current. */
const PARTIAL_LISTS_TTL_MS = 10 * 60 * 1000;

/** Whether a stamp says the lists were fetched for `sources` (partly fetched ones: only for a while). */
function listsCurrent(stamp: string | undefined, sources: string): boolean {
  if (stamp === sources) return true;
  if (!stamp?.startsWith(PARTIAL)) return false;
  const newline = stamp.indexOf('\n');
  const at = Number(stamp.slice(PARTIAL.length, newline));
  return stamp.slice(newline + 1) === sources && Date.now() - at < PARTIAL_LISTS_TTL_MS;
}

/** The proxy settings of xenbuild's own environment, which the clean task environment would drop. */
export function proxyEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['http_proxy', 'https_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

// ---------------------------------------------------------------- locking

const held = new Map<string, Promise<void>>();

/** Serialise `fn` on `lockFile`: first among this process's tasks, then against other processes (engine/lock.ts). */
async function withLock<T>(ctx: ActionContext, lockFile: string, fn: () => Promise<T>): Promise<T> {
  const before = held.get(lockFile) ?? Promise.resolve();
  let done!: () => void;
  const mine = before.then(() => new Promise<void>((resolve) => (done = resolve)));
  held.set(lockFile, mine);
  try {
    await untilAborted(ctx.signal, before);
    const release = await acquireFileLock(ctx, lockFile);
    try {
      return await fn();
    } finally {
      release();
    }
  } finally {
    // `mine` settles only once `before` has: whoever waits on it waits for both.
    void before.then(() => done());
    void mine.then(() => {
      if (held.get(lockFile) === mine) held.delete(lockFile);
    });
  }
}

async function acquireFileLock(ctx: ActionContext, lockFile: string): Promise<() => void> {
  let told = false;
  for (;;) {
    const r = acquireLock(lockFile, `xenbuild ${ctx.taskId}`);
    if (r.ok) return r.release;
    if (!told) ctx.log(`waiting for ${r.holder.command} (pid ${r.holder.pid} on ${r.holder.host}), which holds ${lockFile}`);
    told = true;
    await untilAborted(ctx.signal, new Promise((resolve) => setTimeout(resolve, 250)));
  }
}

/** Wait for `p`, but fail with 'cancelled' as soon as `signal` aborts. */
function untilAborted<T>(signal: AbortSignal, p: Promise<T>): Promise<T> {
  if (signal.aborted) return Promise.reject(new TaskFailure({ reason: 'cancelled' }));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new TaskFailure({ reason: 'cancelled' }));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
