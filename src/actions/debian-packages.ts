/**
 * A set of Debian binary packages at pinned versions, unpacked together into
 * one tree: a root file system made of Debian's own builds (dom0's Xen
 * toolstack and the libraries it needs). Each .deb is fetched and verified
 * as a `debian-binary` source is; the recipe lists every package it takes, so
 * the set is exactly what it says. Dependencies the set leaves out (a
 * package's Depends that no listed package satisfies) are named in the log:
 * a root may leave out what its programs never load.
 */
import path from 'node:path';
import type { ActionContext } from '../engine/action.js';
import { TaskFailure } from '../host/failure.js';
import type { LockedFile } from '../model/lock.js';
import type { DebianPackagesSpecYaml } from '../model/schema.js';
import { shellLine } from '../util/shell.js';
import { DEFAULT_DEBIAN_ARCH } from './apt-sources.js';
import { aptArgv, aptPaths } from './apt.js';
import { debianBinaryDeb, type DebianFetchOptions, type DebianPaths } from './debian.js';
import { intoSrcDir } from './debian-fetch.js';

/** The .deb file name Debian gives a package version (the epoch's colon escaped). */
function debFileName(pkg: string, version: string, arch: string): string {
  return `${pkg}_${version.replace(/:/g, '%3a')}_${arch}.deb`;
}

/** The locked .deb of one package: the file whose name is the package's and version's, for either architecture. */
function lockedDeb(files: readonly LockedFile[] | undefined, pkg: string, version: string, arch: string): LockedFile | undefined {
  return files?.find((f) => f.name === debFileName(pkg, version, arch) || f.name === debFileName(pkg, version, 'all'));
}

export interface DebianPackagesResult {
  arch: string;
  /** Each package's .deb and its sha256, by package. */
  debs: Record<string, { file: string; sha256: string }>;
}

/** Make ctx.srcDir every package of the set, unpacked in name order; a pin from the lock is checked per .deb. */
export async function fetchDebianPackages(
  ctx: ActionContext,
  src: DebianPackagesSpecYaml,
  locked: readonly LockedFile[] | undefined,
  opts: DebianFetchOptions = {},
): Promise<DebianPackagesResult> {
  const arch = src.arch ?? DEFAULT_DEBIAN_ARCH;
  const debs: DebianPackagesResult['debs'] = {};
  const paths: string[] = [];
  for (const [pkg, version] of Object.entries(src['debian-packages']).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const pin = lockedDeb(locked, pkg, version, arch);
    const snapshot = opts.snapshot && pin ? { snapshot: { base: opts.snapshot.base, files: [pin] } } : {};
    const r = await debianBinaryDeb(ctx, { 'debian-binary': pkg, version, arch, ...(pin ? { sha256: pin.sha256 } : {}) }, { ...opts, ...snapshot });
    debs[pkg] = { file: r.file, sha256: r.sha256 };
    paths.push(r.deb);
  }
  const missing = await unmetDepends(ctx, paths, Object.keys(debs));
  if (missing.length > 0) ctx.log(`not in the set, so not in the tree (what needs them may not run): ${missing.join(', ')}`);
  await intoSrcDir(ctx, async (root) => {
    for (const deb of paths) await ctx.exec(['dpkg-deb', '-x', deb, root], { cwd: path.dirname(root), quiet: true });
  });
  ctx.log(`${paths.length} packages unpacked`);
  return { arch, debs };
}

/** Dependencies (Depends, Pre-Depends) of the .debs that no package of the set is or provides. */
async function unmetDepends(ctx: ActionContext, debs: readonly string[], names: readonly string[]): Promise<string[]> {
  const have = new Set(names);
  const wants: string[][][] = [];
  for (const deb of debs) {
    const fields = await ctx.exec(['dpkg-deb', '-f', deb, 'Depends', 'Pre-Depends', 'Provides'], { capture: true, quiet: true });
    const field = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(fields)?.[1] ?? '';
    for (const p of field('Provides').split(',')) if (p.trim()) have.add(bare(p));
    wants.push(
      [field('Depends'), field('Pre-Depends')]
        .join(',')
        .split(',')
        .filter((d) => d.trim() !== '')
        .map((d) => d.split('|').map(bare)),
    );
  }
  if (ctx.signal.aborted) throw new TaskFailure({ reason: 'cancelled' });
  const unmet = new Set(
    wants
      .flat()
      .filter((alternatives) => !alternatives.some((a) => have.has(a)))
      .map((alternatives) => alternatives.join(' | ')),
  );
  return [...unmet].sort();
}

/** "libc6 (>= 2.34)" and "python3:any" → the package name. */
function bare(dep: string): string {
  return dep
    .trim()
    .replace(/\s*\(.*\)$/, '')
    .replace(/:[a-z0-9-]+$/, '');
}

/** The commands fetchDebianPackages would run, for --dry-run. */
export function describeDebianPackages(src: DebianPackagesSpecYaml, paths: DebianPaths): string[] {
  const arch = src.arch ?? DEFAULT_DEBIAN_ARCH;
  const apt = aptPaths(paths.cacheDir, arch);
  const entries = Object.entries(src['debian-packages']).sort(([a], [b]) => (a < b ? -1 : 1));
  return [
    `${shellLine(aptArgv(apt, arch, 'apt-get', 'download', ...entries.map(([p, v]) => `${p}:${arch}=${v}`)))}   # those not cached; each checked against the Packages index`,
    `# then dpkg-deb -x of each of the ${entries.length} .debs into ${paths.srcDir}`,
  ];
}
