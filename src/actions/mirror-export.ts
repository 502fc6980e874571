/**
 * `xenbuild mirror`: the sources a board's fetch tasks left in the cache,
 * written out as a mirror directory that `--mirror DIR` reads back, so that a
 * later build needs no network (Buildroot's `make source`, for xenbuild's kinds):
 *
 *   git             DIR/<host>/<path>  a bare repository: the pinned commit, and the recipe's ref
 *   tarball         DIR/<file name>    the archive, as checked against its sha256
 *   debian-source   DIR/debian/pool/main/<p>/<package>/  .dsc, .orig and .debian tarballs
 *   debian-binary   DIR/debian/pool/main/<p>/<package>/  the .deb
 *                   DIR/debian/dists/bookworm/…          indexes of the whole pool (apt-repo.ts)
 *
 * Each function reads what the fetch left in the cache and fails when it is
 * not there: the command runs the fetch tasks first.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { DebianBinarySpecYaml, DebianSourceSpecYaml, GitSourceSpec, TarballSourceSpec } from '../model/schema.js';
import { poolDir, writeAptIndexes } from './apt-repo.js';
import { debianBinaryCacheDir, debianSourceCacheDir } from './debian.js';
import { STAMP } from './debian-fetch.js';
import { cacheRepoPath, mirrorCandidates } from './git.js';
import { archiveName } from './tarball.js';

const execFileP = promisify(execFile);

async function git(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await execFileP('git', args, { cwd, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' }, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

async function refName(cache: string, ref: string): Promise<string | undefined> {
  for (const name of ref.startsWith('refs/') ? [ref] : [`refs/tags/${ref}`, `refs/heads/${ref}`]) {
    try {
      await git(cache, ['rev-parse', '--verify', '--quiet', name]);
      return name;
    } catch {
      /* not this one */
    }
  }
  return undefined;
}

/** A copy that appears under its name only when complete. */
async function copyInto(from: string, dir: string, name: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const dest = path.join(dir, name);
  const part = `${dest}.part-${process.pid}`;
  try {
    await copyFile(from, part);
    await rename(part, dest);
  } finally {
    await rm(part, { force: true });
  }
  return dest;
}

/** DIR/<host>/<path>: a bare repository holding the pinned commit (and the ref, as a tag or branch of the same name). */
export async function exportGit(cacheDir: string, src: GitSourceSpec, dir: string): Promise<string> {
  const cache = cacheRepoPath(cacheDir, src.git);
  const dest = mirrorCandidates(src.git, [dir])[0];
  if (!dest) throw new Error(`cannot place a mirror of ${src.git}`);
  if (!existsSync(path.join(dest, 'objects'))) {
    await mkdir(dest, { recursive: true });
    await git(dest, ['init', '--bare', '--quiet', '.']);
  }
  // A branch of xenbuild's keeps a commit that no tag or branch names within reach of a fetch of heads and tags.
  const refspecs = [`${src.commit}:refs/heads/xenbuild/pinned/${src.commit}`];
  if (src.ref !== undefined) {
    const name = await refName(cache, src.ref);
    if (!name) throw new Error(`${src.git}: the cache has no ref ${src.ref}; fetch it first`);
    refspecs.push(`+${name}:${name}`);
  }
  await git(cache, ['push', '--quiet', '--force', dest, ...refspecs]);
  return dest;
}

/** DIR/<file name>: the archive the fetch checked against its sha256. */
export async function exportTarball(cacheDir: string, src: TarballSourceSpec, dir: string): Promise<string> {
  const name = archiveName(src.tarball);
  const cached = path.join(cacheDir, 'downloads', src.sha256.toLowerCase(), name);
  if (!existsSync(cached)) throw new Error(`${src.tarball} is not in the cache (${cached}); fetch it first`);
  return copyInto(cached, dir, name);
}

/** The package's files in DIR/debian/pool; the indexes are written once, by `indexDebianMirror`. */
export async function exportDebian(cacheDir: string, src: DebianSourceSpecYaml | DebianBinarySpecYaml, dir: string): Promise<string[]> {
  const [pkg, cached] =
    'debian-source' in src
      ? [src['debian-source'], debianSourceCacheDir(cacheDir, src['debian-source'], src.version)]
      : [src['debian-binary'], debianBinaryCacheDir(cacheDir, src['debian-binary'], src.version, src.arch ?? 'armhf')];
  const files = existsSync(cached) ? readdirSync(cached).filter((f) => f !== STAMP && !f.startsWith('.')) : [];
  if (files.length === 0) throw new Error(`${pkg} ${src.version} is not in the cache (${cached}); fetch it first`);
  const pool = poolDir(path.join(dir, 'debian'), pkg);
  // Named as in Debian's pool: without the epoch that apt's download names carry (busybox-static_1%3a1.35…).
  return Promise.all(files.map((f) => copyInto(path.join(cached, f), pool, f.replace(/_[0-9]+%3a/i, '_'))));
}

/** DIR/debian/dists/bookworm: indexes of every package in the mirror's pool, this board's and earlier ones'. */
export function indexDebianMirror(dir: string, archs: readonly string[]): void {
  writeAptIndexes(path.join(dir, 'debian'), 'bookworm', [...new Set(['armhf', ...archs.filter((a) => a !== 'all')])].sort());
}
