import { existsSync, readdirSync } from 'node:fs';
import { shellLine, shellQuote } from '../util/shell.js';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { TaskFailure } from '../host/failure.js';
import type { ActionContext } from '../engine/action.js';
import {
  DebianFetchOptions,
  STAMP,
  aptGet,
  checkArch,
  checkPackage,
  checkPin,
  checkVersion,
  downloadInto,
  intoSrcDir,
  query,
  readStamp,
  resolveAndDownload,
  safeName,
  verifyFile,
  type SnapshotFiles,
} from './debian-fetch.js';
export { availableVersions, type DebianFetchOptions } from './debian-fetch.js';
import { checksumList, DEFAULT_DEBIAN_ARCH, describeSources, parseControl } from './apt-sources.js';
import { aptArgv, aptPaths, chooseSources, privateApt, type PrivateApt } from './apt.js';
import { fetchFromSnapshot } from './debian-snapshot.js';

/**
 * Sources taken from the Debian archive through the private apt configuration
 * of apt.ts: a source package unpacked with Debian's patches applied
 * (`debian-source`) or the contents of one binary package (`debian-binary`).
 * Downloads are cached by package, version (and architecture) under
 * `${cacheDir}/debian/`; a cached download is re-verified and needs no network.
 */

/** `{ debian-source: xen, version: 4.17.5+72-g01140da4e8-1 }`. */
export interface DebianSourceSpec {
  /** Source package name. */
  'debian-source': string;
  /** Exact Debian version, epoch included when it has one. */
  version: string;
  /** Optional pin: sha256 of the .dsc (which pins every other file), e.g. from a lock file. */
  sha256?: string;
}

/** `{ debian-binary: busybox-static, version: 1:1.35.0-4+b3, arch: armhf }`. */
export interface DebianBinarySpec {
  /** Binary package name. */
  'debian-binary': string;
  /** Exact Debian version, epoch included when it has one. */
  version: string;
  /** Debian architecture (default armhf). */
  arch?: string;
  /** Optional pin: sha256 of the .deb, e.g. from a lock file. */
  sha256?: string;
}

/** The paths the describe functions need (a subset of ActionContext). */
export type DebianPaths = Pick<ActionContext, 'cacheDir' | 'srcDir' | 'mirrorDirs'>;

interface FileSum {
  name: string;
  sha256: string;
  size: number;
}

export interface DebianSourceResult {
  version: string;
  /** File name of the .dsc. */
  dsc: string;
  /** sha256 of the .dsc. */
  sha256: string;
  /** Every file of the source package, the .dsc included. */
  files: FileSum[];
}

export interface DebianBinaryResult {
  version: string;
  arch: string;
  /** File name of the .deb. */
  file: string;
  sha256: string;
}

/** Where the files of one source package version are cached. */
export function debianSourceCacheDir(cacheDir: string, pkg: string, version: string): string {
  return path.join(cacheDir, 'debian', 'source', pkg, version.replace(/:/g, '%3a'));
}

/** Where the .deb of one binary package version and architecture is cached. */
export function debianBinaryCacheDir(cacheDir: string, pkg: string, version: string, arch: string): string {
  return path.join(cacheDir, 'debian', 'binary', arch, pkg, version.replace(/:/g, '%3a'));
}

// ---------------------------------------------------------------- debian-source

interface SourceStamp {
  package: string;
  version: string;
  dsc: string;
  sha256: string;
  files: FileSum[];
}

/**
 * Make ctx.srcDir the unpacked source package `src['debian-source']` at
 * `src.version`, Debian's patches applied (`dpkg-source -x`). The files come
 * from the cache or `apt-get source --download-only`; every file is checked
 * against the Sources index (whose Release apt verified) and the .dsc's
 * Checksums-Sha256, so `--no-check` only skips the maintainer signature.
 * Fails with 'fetch-failed' (also when the archive lacks the version: the
 * message names the versions it has), 'checksum-mismatch' or 'missing-tool'.
 */
export async function fetchDebianSource(ctx: ActionContext, src: DebianSourceSpec, opts: DebianFetchOptions = {}): Promise<DebianSourceResult> {
  const pkg = checkPackage(src['debian-source']);
  const version = checkVersion(src.version);
  const pin = checkPin(src.sha256);
  const dir = debianSourceCacheDir(ctx.cacheDir, pkg, version);
  let stamp = await cachedSource(ctx, dir, pkg, version);
  if (!stamp) {
    const apt = privateApt(ctx, DEFAULT_DEBIAN_ARCH, opts);
    stamp = await apt.locked(async () => (await cachedSource(ctx, dir, pkg, version)) ?? (await downloadSource(ctx, apt, dir, pkg, version, opts.snapshot)));
  }
  if (pin !== undefined && stamp.sha256 !== pin)
    throw new TaskFailure({ reason: 'checksum-mismatch', file: path.join(dir, stamp.dsc), expected: pin, actual: stamp.sha256 });
  const dsc = path.join(dir, stamp.dsc);
  await intoSrcDir(ctx, (root) => ctx.exec(['dpkg-source', '--no-check', '--no-copy', '-x', dsc, root], { cwd: path.dirname(root) }));
  return { version, dsc: stamp.dsc, sha256: stamp.sha256, files: stamp.files };
}

/** The verified stamp of a cached source download, or undefined (a damaged one is removed). */
async function cachedSource(ctx: ActionContext, dir: string, pkg: string, version: string): Promise<SourceStamp | undefined> {
  const stamp = await readStamp<SourceStamp>(ctx, dir);
  if (!stamp) return undefined;
  try {
    if (stamp.package !== pkg || stamp.version !== version || !Array.isArray(stamp.files)) throw new Error('stamp of another package');
    for (const f of stamp.files) await verifyFile(dir, f);
    await verifyDsc(dir, stamp.dsc);
  } catch (err) {
    ctx.log(`${dir} is damaged (${(err as Error).message}); fetching it again`);
    await rm(dir, { recursive: true, force: true });
    return undefined;
  }
  ctx.log(`using ${pkg} ${version} from ${dir}`);
  return stamp;
}

async function downloadSource(ctx: ActionContext, apt: PrivateApt, dir: string, pkg: string, version: string, snapshot?: SnapshotFiles): Promise<SourceStamp> {
  const label = `${pkg}=${version} (Debian source)`;
  return resolveAndDownload(ctx, apt, {
    label,
    pkg,
    version,
    kind: 'source',
    find: async () => {
      const out = await query(ctx, apt, apt.argv('apt-cache', 'showsrc', '--only-source', pkg));
      const record = parseControl(out ?? '').find((p) => p.get('package') === pkg && p.get('version') === version);
      return record ? checksumList(record) : undefined;
    },
    download: (files) =>
      downloadInto(ctx, dir, async (partial) => {
        await aptGet(ctx, apt, label, partial, ['source', '--download-only', '--only-source', `${pkg}=${version}`]);
        const dsc = files.find((f) => f.name.endsWith('.dsc'));
        if (!dsc) throw new TaskFailure({ reason: 'fetch-failed', url: label, message: 'the Sources index lists no .dsc' });
        for (const f of files) await verifyFile(partial, f);
        await verifyDsc(partial, dsc.name);
        return { package: pkg, version, dsc: dsc.name, sha256: dsc.sha256, files };
      }),
    ...(snapshot
      ? {
          fallback: () =>
            downloadInto(ctx, dir, async (partial) => {
              await fetchFromSnapshot(ctx, snapshot, partial);
              const dsc = snapshot.files.find((f) => f.name.endsWith('.dsc'));
              if (!dsc) throw new TaskFailure({ reason: 'fetch-failed', url: label, message: 'the lock lists no .dsc' });
              await verifyDsc(partial, dsc.name);
              const files = snapshot.files.map((f) => ({ name: f.name, sha256: f.sha256, size: f.size }));
              return { package: pkg, version, dsc: dsc.name, sha256: dsc.sha256, files };
            }),
        }
      : {}),
  });
}

/** Check every file the .dsc lists (Checksums-Sha256) in `dir`. */
async function verifyDsc(dir: string, dsc: string): Promise<void> {
  const listed = checksumList(parseControl(await readFile(path.join(dir, safeName(dsc)), 'utf8'))[0] ?? new Map());
  if (listed.length === 0) throw new TaskFailure({ reason: 'fetch-failed', url: dsc, message: 'the .dsc has no Checksums-Sha256' });
  for (const f of listed) await verifyFile(dir, f);
}

// ---------------------------------------------------------------- debian-binary

interface BinaryStamp {
  package: string;
  version: string;
  arch: string;
  file: string;
  sha256: string;
}

/**
 * Make ctx.srcDir the contents of the binary package `src['debian-binary']`
 * at `src.version` for `src.arch` (default armhf), unpacked with `dpkg-deb -x`.
 * The .deb comes from the cache or `apt-get download` and is checked against
 * the SHA256 of the Packages index. Fails like fetchDebianSource.
 */
export async function fetchDebianBinary(ctx: ActionContext, src: DebianBinarySpec, opts: DebianFetchOptions = {}): Promise<DebianBinaryResult> {
  const r = await debianBinaryDeb(ctx, src, opts);
  await intoSrcDir(ctx, (root) => ctx.exec(['dpkg-deb', '-x', r.deb, root], { cwd: path.dirname(root) }));
  return { version: r.version, arch: r.arch, file: r.file, sha256: r.sha256 };
}

/**
 * The .deb of one binary package at its version, from the cache or the
 * archive (or Debian's snapshot archive), verified against the Packages
 * index and against `src.sha256` when pinned: its path in the cache.
 */
export async function debianBinaryDeb(ctx: ActionContext, src: DebianBinarySpec, opts: DebianFetchOptions = {}): Promise<DebianBinaryResult & { deb: string }> {
  const pkg = checkPackage(src['debian-binary']);
  const version = checkVersion(src.version);
  const arch = checkArch(src.arch ?? DEFAULT_DEBIAN_ARCH);
  const pin = checkPin(src.sha256);
  const dir = debianBinaryCacheDir(ctx.cacheDir, pkg, version, arch);
  const want = { package: pkg, version, arch };
  let stamp = await cachedBinary(ctx, dir, want);
  if (!stamp) {
    const apt = privateApt(ctx, arch, opts);
    stamp = await apt.locked(async () => (await cachedBinary(ctx, dir, want)) ?? (await downloadBinary(ctx, apt, dir, want, opts.snapshot)));
  }
  if (pin !== undefined && stamp.sha256 !== pin)
    throw new TaskFailure({ reason: 'checksum-mismatch', file: path.join(dir, stamp.file), expected: pin, actual: stamp.sha256 });
  return { version, arch, file: stamp.file, sha256: stamp.sha256, deb: path.join(dir, stamp.file) };
}

type BinaryWant = Pick<BinaryStamp, 'package' | 'version' | 'arch'>;

async function cachedBinary(ctx: ActionContext, dir: string, want: BinaryWant): Promise<BinaryStamp | undefined> {
  const stamp = await readStamp<BinaryStamp>(ctx, dir);
  if (!stamp) return undefined;
  try {
    if (stamp.package !== want.package || stamp.version !== want.version || stamp.arch !== want.arch) throw new Error('stamp of another package');
    await verifyFile(dir, { name: stamp.file, sha256: stamp.sha256 });
  } catch (err) {
    ctx.log(`${dir} is damaged (${(err as Error).message}); fetching it again`);
    await rm(dir, { recursive: true, force: true });
    return undefined;
  }
  ctx.log(`using ${want.package} ${want.version} (${want.arch}) from ${dir}`);
  return stamp;
}

async function downloadBinary(ctx: ActionContext, apt: PrivateApt, dir: string, want: BinaryWant, snapshot?: SnapshotFiles): Promise<BinaryStamp> {
  const { package: pkg, version, arch } = want;
  const label = `${pkg}:${arch}=${version} (Debian package)`;
  return resolveAndDownload(ctx, apt, {
    label,
    pkg,
    version,
    kind: 'binary',
    find: async () => {
      const out = await query(ctx, apt, apt.argv('apt-cache', 'show', `${pkg}:${arch}`));
      const record = parseControl(out ?? '').find(
        (p) => p.get('package') === pkg && p.get('version') === version && [arch, 'all'].includes(p.get('architecture') ?? ''),
      );
      if (!record) return undefined;
      const sha256 = record.get('sha256')?.toLowerCase();
      if (!sha256 || !/^[0-9a-f]{64}$/.test(sha256))
        throw new TaskFailure({ reason: 'fetch-failed', url: label, message: 'the Packages index gives no SHA256 for it' });
      return sha256;
    },
    download: (sha256) =>
      downloadInto(ctx, dir, async (partial) => {
        await aptGet(ctx, apt, label, partial, ['download', `${pkg}:${arch}=${version}`]);
        const debs = readdirSync(partial).filter((f) => f.endsWith('.deb'));
        if (debs.length !== 1) throw new TaskFailure({ reason: 'fetch-failed', url: label, message: `apt-get download left ${debs.length} .deb files` });
        await verifyFile(partial, { name: debs[0]!, sha256 });
        return { ...want, file: debs[0]!, sha256 };
      }),
    ...(snapshot
      ? {
          fallback: () =>
            downloadInto(ctx, dir, async (partial) => {
              const deb = snapshot.files.find((f) => f.name.endsWith('.deb'));
              if (!deb || snapshot.files.length !== 1)
                throw new TaskFailure({ reason: 'fetch-failed', url: label, message: 'the lock does not list one .deb' });
              await fetchFromSnapshot(ctx, snapshot, partial);
              return { ...want, file: deb.name, sha256: deb.sha256 };
            }),
        }
      : {}),
  });
}

// ---------------------------------------------------------------- versions

const cmd = shellLine;
const q = shellQuote;

/** The archive line of a dry run (reads the host's apt sources; writes nothing). */
function archiveLine(paths: DebianPaths, opts: DebianFetchOptions): string {
  try {
    return `# archive: ${describeSources(chooseSources(paths.mirrorDirs, opts.hostRoot))}`;
  } catch (err) {
    return `# ${(err as Error).message}`;
  }
}

function unpackLines(paths: DebianPaths, unpack: (root: string) => string[]): string[] {
  const work = path.join(path.dirname(paths.srcDir), `.${path.basename(paths.srcDir)}.unpack`);
  return [cmd(unpack(path.join(work, 'root'))), cmd(['mv', path.join(work, 'root'), paths.srcDir])];
}

/** The commands fetchDebianSource would run, as human-readable lines for --dry-run. */
export function describeDebianSource(src: DebianSourceSpec, paths: DebianPaths, opts: DebianFetchOptions = {}): string[] {
  const pkg = checkPackage(src['debian-source']);
  const version = checkVersion(src.version);
  const dir = debianSourceCacheDir(paths.cacheDir, pkg, version);
  const arch = DEFAULT_DEBIAN_ARCH;
  const apt = aptPaths(paths.cacheDir, arch);
  const dsc = `${pkg}_${version.replace(/^[0-9]+:/, '')}.dsc`;
  const lines = existsSync(path.join(dir, STAMP))
    ? [`# ${pkg} ${version} is cached in ${dir}: its files are checked again, no network`]
    : [
        archiveLine(paths, opts),
        `${cmd(aptArgv(apt, arch, 'apt-get', 'update'))}   # unless the lists are current`,
        `${cmd(aptArgv(apt, arch, 'apt-cache', 'showsrc', '--only-source', pkg))}   # must list ${version}; gives each file's sha256`,
        `(cd ${q(`${dir}.partial`)} && ${cmd(aptArgv(apt, arch, 'apt-get', 'source', '--download-only', '--only-source', `${pkg}=${version}`))})`,
        `# every file checked against the Sources index and ${dsc}'s Checksums-Sha256, then moved to ${dir}`,
      ];
  return [...lines, ...unpackLines(paths, (root) => ['dpkg-source', '--no-check', '--no-copy', '-x', path.join(dir, dsc), root])];
}

/** The commands fetchDebianBinary would run, as human-readable lines for --dry-run. */
export function describeDebianBinary(src: DebianBinarySpec, paths: DebianPaths, opts: DebianFetchOptions = {}): string[] {
  const pkg = checkPackage(src['debian-binary']);
  const version = checkVersion(src.version);
  const arch = checkArch(src.arch ?? DEFAULT_DEBIAN_ARCH);
  const dir = debianBinaryCacheDir(paths.cacheDir, pkg, version, arch);
  const apt = aptPaths(paths.cacheDir, arch);
  const deb = `${pkg}_${version.replace(/:/g, '%3a')}_${arch}.deb`;
  const lines = existsSync(path.join(dir, STAMP))
    ? [`# ${pkg} ${version} (${arch}) is cached in ${dir}: checked again, no network`]
    : [
        archiveLine(paths, opts),
        `${cmd(aptArgv(apt, arch, 'apt-get', 'update'))}   # unless the lists are current`,
        `${cmd(aptArgv(apt, arch, 'apt-cache', 'show', `${pkg}:${arch}`))}   # must list ${version}; gives its SHA256`,
        `(cd ${q(`${dir}.partial`)} && ${cmd(aptArgv(apt, arch, 'apt-get', 'download', `${pkg}:${arch}=${version}`))})`,
        `# the .deb checked against the Packages index, then moved to ${dir}`,
      ];
  return [...lines, ...unpackLines(paths, (root) => ['dpkg-deb', '-x', path.join(dir, deb), root])];
}
