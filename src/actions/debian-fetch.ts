import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { TaskFailure } from '../host/failure.js';
import { sha256File } from '../host/hasher.js';
import type { ActionContext } from '../engine/action.js';
import { replaceTree } from '../util/fs.js';
import { DEFAULT_DEBIAN_ARCH, describeSources } from './apt-sources.js';
import { privateApt, proxyEnv, type PrivateApt, type PrivateAptOptions } from './apt.js';
import type { LockedFile } from '../model/lock.js';

const DEBIAN_PACKAGE_PATTERN = /^[a-z0-9][a-z0-9+.-]+$/;

const DEBIAN_VERSION_PATTERN = /^(?:[0-9]+:)?[0-9][A-Za-z0-9.+~-]*$/;

const DEBIAN_ARCH_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

export const STAMP = '.xenbuild.json';

/** Debian's snapshot archive and the locked files to ask it for (debian-snapshot.ts). */
export interface SnapshotFiles {
  /** An http(s) base URL, or a directory in the snapshot archive's layout. */
  base: string;
  files: readonly LockedFile[];
}

export type DebianFetchOptions = PrivateAptOptions & {
  /** The locked files and Debian's snapshot archive, for a version the archive no longer has. */
  snapshot?: SnapshotFiles;
};

/**
 * The download machinery shared by the debian-source and debian-binary kinds:
 * version look-ups, resolving and downloading through the private apt
 * configuration, verified caching, and unpacking into the source tree.
 */

/**
 * The versions of `pkg` the configured archive has (`apt-cache madison`),
 * source or binary (of `opts.arch`, default armhf), as apt lists them (newest
 * first per suite). Fetches the lists when they are not current.
 */
export async function availableVersions(
  ctx: ActionContext,
  pkg: string,
  kind: 'source' | 'binary',
  opts: DebianFetchOptions & { arch?: string } = {},
): Promise<string[]> {
  const apt = privateApt(ctx, checkArch(opts.arch ?? DEFAULT_DEBIAN_ARCH), opts);
  return apt.locked(async () => {
    if (!apt.listsCurrent()) await apt.update();
    return versionsIn(ctx, apt, checkPackage(pkg), kind);
  });
}

async function versionsIn(ctx: ActionContext, apt: PrivateApt, pkg: string, kind: 'source' | 'binary'): Promise<string[]> {
  const out = (await query(ctx, apt, apt.argv('apt-cache', 'madison', pkg))) ?? '';
  const versions: string[] = [];
  for (const line of out.split('\n')) {
    const [name, version, where] = line.split('|').map((s) => s.trim());
    if (name !== pkg || !version || !where?.endsWith(kind === 'source' ? 'Sources' : 'Packages')) continue;
    if (!versions.includes(version)) versions.push(version);
  }
  return versions;
}

// ---------------------------------------------------------------- shared steps

export interface DownloadJob<R, T> {
  label: string;
  pkg: string;
  version: string;
  kind: 'source' | 'binary';
  /** The index record of the pinned version, or undefined when the lists lack it. */
  find(): Promise<R | undefined>;
  download(record: R): Promise<T>;
  /** What to do when the archive lacks the version (Debian's snapshot archive), if anything. */
  fallback?: () => Promise<T>;
}

/**
 * Look the version up and download it. The lists are fetched first when they
 * are not current for the sources; fetched again (once) when the version is
 * missing or the download fails, as lists go stale when the archive moves on.
 * An `apt-get update` that fetches only some indexes is not fatal by itself.
 */
export async function resolveAndDownload<R, T>(ctx: ActionContext, apt: PrivateApt, job: DownloadJob<R, T>): Promise<T> {
  let refreshed = false;
  let updateProblem: string | undefined;
  const refresh = async () => {
    refreshed = true;
    updateProblem = undefined;
    try {
      await apt.update();
    } catch (err) {
      if (!(err instanceof TaskFailure) || err.failure.reason !== 'fetch-failed') throw err;
      updateProblem = err.failure.message;
      ctx.log(`${err.message}; going on with the lists apt has`);
    }
  };
  if (!apt.listsCurrent()) await refresh();
  for (;;) {
    let record = await job.find();
    if (record === undefined && !refreshed) {
      await refresh();
      record = await job.find();
    }
    if (record === undefined) {
      const versions = await versionsIn(ctx, apt, job.pkg, job.kind);
      const has = versions.length > 0 ? `has ${versions.join(', ')}` : `has no ${job.kind} package ${job.pkg}`;
      const note = updateProblem ? ` (${updateProblem}, so the lists may be incomplete)` : '';
      if (job.fallback) {
        ctx.log(`${job.label}: not in the archive ${describeSources(apt.sources)}, which ${has}; fetching the locked files from Debian's snapshot archive`);
        return job.fallback();
      }
      throw new TaskFailure({
        reason: 'fetch-failed',
        url: job.label,
        message: `version ${job.version} is not available: the archive ${describeSources(apt.sources)} ${has}${note}`,
      });
    }
    try {
      return await job.download(record);
    } catch (err) {
      if (refreshed || !(err instanceof TaskFailure) || err.failure.reason !== 'fetch-failed') throw err;
      ctx.log(`${err.message}; the lists may be out of date: fetching them again`);
      await refresh();
    }
  }
}

/** Run an apt query, returning its stdout, or undefined when it exits non-zero (e.g. "No packages found"). */
export async function query(ctx: ActionContext, apt: PrivateApt, argv: string[]): Promise<string | undefined> {
  try {
    return await ctx.exec(argv, { cwd: apt.paths.root, capture: true, quiet: true });
  } catch (err) {
    if (err instanceof TaskFailure && err.failure.reason === 'exit-non-zero') return undefined;
    throw err;
  }
}

/** apt-get `args` in `cwd`; a non-zero exit becomes 'fetch-failed'. Symlinks it leaves (file: mirrors) become copies. */
export async function aptGet(ctx: ActionContext, apt: PrivateApt, label: string, cwd: string, args: string[]): Promise<void> {
  try {
    await ctx.exec(apt.argv('apt-get', ...args), { cwd, env: proxyEnv() });
  } catch (err) {
    if (err instanceof TaskFailure && err.failure.reason === 'exit-non-zero') {
      throw new TaskFailure({ reason: 'fetch-failed', url: label, message: `apt-get ${args[0]} failed (see the task log)` });
    }
    throw err;
  }
  for (const name of readdirSync(cwd)) {
    const file = path.join(cwd, name);
    if (!lstatSync(file).isSymbolicLink()) continue;
    await copyFile(file, `${file}.copy`);
    await rename(`${file}.copy`, file);
  }
}

/** Fill a fresh directory next to `dir` with `fill`, write the stamp it returns, then move it to `dir`. */
export async function downloadInto<T extends object>(ctx: ActionContext, dir: string, fill: (partial: string) => Promise<T>): Promise<T> {
  const partial = `${dir}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  await mkdir(partial, { recursive: true });
  try {
    const stamp = await fill(partial);
    await writeFile(path.join(partial, STAMP), JSON.stringify(stamp, null, 2) + '\n');
    if (ctx.signal.aborted) throw new TaskFailure({ reason: 'cancelled' });
    await rm(dir, { recursive: true, force: true });
    await rename(partial, dir);
    return stamp;
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
}

export async function readStamp<T>(ctx: ActionContext, dir: string): Promise<T | undefined> {
  const file = path.join(dir, STAMP);
  if (!existsSync(file)) {
    if (existsSync(dir)) await rm(dir, { recursive: true, force: true });
    return undefined;
  }
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    ctx.log(`${file} is unreadable; fetching again`);
    await rm(dir, { recursive: true, force: true });
    return undefined;
  }
}

/** Unpack next to ctx.srcDir with `unpack(root)` (which creates root), then swap it into place. */
export async function intoSrcDir(ctx: ActionContext, unpack: (root: string) => Promise<unknown>): Promise<void> {
  const dest = ctx.srcDir;
  const work = path.join(path.dirname(dest), `.${path.basename(dest)}.unpack`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    const root = path.join(work, 'root');
    await unpack(root);
    if (ctx.signal.aborted) throw new TaskFailure({ reason: 'cancelled' });
    await replaceTree(root, dest, path.join(work, 'old'));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** A file name as listed in an index or .dsc, refused if it could leave its directory. */
export function safeName(name: string): string {
  if (name === '' || name.includes('/') || name === '.' || name === '..')
    throw new TaskFailure({ reason: 'fetch-failed', url: name, message: 'not a plain file name' });
  return name;
}

/** Check `dir/name` against a sha256 (and size, when given): 'fetch-failed' if absent, 'checksum-mismatch' if different. */
export async function verifyFile(dir: string, f: { name: string; sha256: string; size?: number }): Promise<void> {
  const file = path.join(dir, safeName(f.name));
  if (!existsSync(file)) throw new TaskFailure({ reason: 'fetch-failed', url: f.name, message: `${file} is missing` });
  const actual = await sha256File(file);
  if (actual !== f.sha256) throw new TaskFailure({ reason: 'checksum-mismatch', file, expected: f.sha256, actual });
  const size = lstatSync(file).size;
  if (f.size !== undefined && size !== f.size)
    throw new TaskFailure({ reason: 'checksum-mismatch', file, expected: `${f.sha256} (${f.size} bytes)`, actual: `${actual} (${size} bytes)` });
}

// ---------------------------------------------------------------- checks

export function checkPackage(name: string): string {
  if (!DEBIAN_PACKAGE_PATTERN.test(name)) throw new Error(`Internal error: ${JSON.stringify(name)} is not a Debian package name`);
  return name;
}

export function checkVersion(version: string): string {
  if (!DEBIAN_VERSION_PATTERN.test(version)) throw new Error(`Internal error: ${JSON.stringify(version)} is not a Debian version`);
  return version;
}

export function checkArch(arch: string): string {
  if (!DEBIAN_ARCH_PATTERN.test(arch)) throw new Error(`Internal error: ${JSON.stringify(arch)} is not a Debian architecture`);
  return arch;
}

export function checkPin(sha256: string | undefined): string | undefined {
  if (sha256 === undefined) return undefined;
  if (!/^[0-9a-fA-F]{64}$/.test(sha256)) throw new Error(`Internal error: ${JSON.stringify(sha256)} is not a sha256`);
  return sha256.toLowerCase();
}

// ---------------------------------------------------------------- --dry-run
