/**
 * Turns a built image into a release in the deploy directory:
 *
 *   <name>.img.bmap   `bmaptool create`: the mapped ranges and their sha256
 *                     (bmaptool finds it from <name>.img and <name>.img.zst alike)
 *   <name>.img.zst    `zstd -10 -T0 --long` (or <name>.img.xz, `xz -6 -T0`; the level is
 *                     image.compress-level); the .img stays
 *   manifest.json     what went into it (ReleaseManifest), artifacts hashed here
 *   SHA256SUMS        `sha256sum -c` format, names relative to the deploy dir:
 *                     the image, the bmap, the compressed copy, the other
 *                     artifacts passed in, and manifest.json
 *
 * Each file is written next to its final name and renamed into place, so a
 * reader sees the old file or the new one. The image is never copied when it
 * is already in outDir; otherwise it is copied with `cp --sparse=always`, so
 * its holes stay holes.
 */
import { mkdir, mkdtemp, rename, rm, stat, symlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { sha256File } from '../host/hasher.js';
import { exec } from '../host/process.js';
import { canonicalJson, writeFileAtomic } from '../util/fs.js';
import { ImageError } from './error.js';
import type { ManifestComponent, ManifestSource } from '../model/image.js';

export type { ManifestComponent, ManifestSource } from '../model/image.js';

interface ManifestArtifact {
  /** Relative to the deploy directory. */
  path: string;
  size: number;
  sha256: string;
}

/** manifest.json: everything that went into a release, enough to rebuild it and check it. */
export interface ReleaseManifest {
  board: string;
  /** The board's profile the release was built with, if it has profiles. */
  profile?: string;
  xenbuildVersion: string;
  /**
   * Every component and the recipe (and version) it came from, sources or not:
   * the toolchain choice too (debian-armhf: Debian's cross gcc; a pinned tarball would be a source).
   */
  components: ManifestComponent[];
  sources: ManifestSource[];
  /** Patch files applied (relative to the project), and their hashes. */
  patches: { path: string; sha256: string }[];
  /** Host tools and their versions (`genimage --version`, the cross compiler, …). */
  tools: { name: string; version: string }[];
  artifacts: ManifestArtifact[];
  /** The boot plan's memory map, as the caller has it; stored as given. */
  memoryMap: unknown;
}

export interface ReleaseOptions {
  /** The built image, `<name>.img`. */
  image: string;
  /** The deploy directory the release is written to. */
  outDir: string;
  compress: 'zst' | 'xz';
  /** The compression level (zstd 1–19, xz 1–9); default 10 for zstd, 6 for xz. */
  level?: number;
  /** Everything but the artifacts, which release() hashes itself. */
  manifest: Omit<ReleaseManifest, 'artifacts'>;
  /** Other deploy files to hash into the manifest and SHA256SUMS (absolute or relative to outDir; inside outDir). */
  artifacts?: string[];
  signal?: AbortSignal;
  onLine?: (line: string) => void;
}

export interface ReleaseResult {
  image: string;
  bmap: string;
  compressed: string;
  manifest: string;
  sums: string;
  /** What manifest.json lists (and SHA256SUMS, which adds manifest.json). */
  artifacts: ManifestArtifact[];
}

export { sha256File };

/** The release files of `image` in `outDir` (see the file comment). */
export async function release(opts: ReleaseOptions): Promise<ReleaseResult> {
  const outDir = resolve(opts.outDir);
  await mkdir(outDir, { recursive: true });
  const imgName = basename(opts.image);
  const run = (argv: string[], cwd: string) => exec(argv, { cwd, onLine: opts.onLine ?? (() => undefined), ...(opts.signal ? { signal: opts.signal } : {}) });
  const extras = (opts.artifacts ?? []).map((a) => {
    const abs = isAbsolute(a) ? a : join(outDir, a);
    const rel = relative(outDir, abs);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw new ImageError(`artifact ${a} is not inside the deploy directory ${outDir}`);
    if (/[\\\n\r]/.test(rel)) throw new ImageError(`artifact ${a}: a name with a backslash or line break cannot be listed in SHA256SUMS`);
    return rel;
  });

  const tmp = await mkdtemp(join(outDir, '.release-'));
  try {
    const image = join(outDir, imgName);
    if (resolve(dirname(opts.image)) !== outDir) {
      await run(['cp', '--sparse=always', resolve(opts.image), join(tmp, imgName)], tmp);
      await rename(join(tmp, imgName), image);
    }
    const bmap = join(outDir, `${imgName}.bmap`);
    await run(['bmaptool', 'create', '-o', join(tmp, `${imgName}.bmap`), image], tmp);
    await rename(join(tmp, `${imgName}.bmap`), bmap);

    const compressed = join(outDir, `${imgName}.${opts.compress}`);
    const packed = join(tmp, `${imgName}.${opts.compress}`);
    if (opts.compress === 'zst') {
      await run(['zstd', `-${opts.level ?? 10}`, '-T0', '--long', '--quiet', '--force', '-o', packed, image], tmp);
    } else {
      // xz cannot name its output: compress a link placed where the output should go.
      await symlink(image, join(tmp, imgName));
      await run(['xz', `-${opts.level ?? 6}`, '-T0', '--keep', '--force', '--quiet', join(tmp, imgName)], tmp);
    }
    await rename(packed, compressed);

    const artifacts: ManifestArtifact[] = [];
    for (const rel of [imgName, `${imgName}.bmap`, `${imgName}.${opts.compress}`, ...extras]) {
      const file = join(outDir, rel);
      const size = await stat(file).then(
        (s) => s.size,
        () => {
          throw new ImageError(`artifact ${rel} does not exist in ${outDir}`);
        },
      );
      artifacts.push({ path: rel, size, sha256: await sha256File(file) });
    }
    const manifestPath = join(outDir, 'manifest.json');
    const manifest: ReleaseManifest = { ...opts.manifest, artifacts };
    await writeFileAtomic(manifestPath, JSON.stringify(JSON.parse(canonicalJson(manifest)), null, 2) + '\n');
    const sums = [...artifacts, { path: 'manifest.json', sha256: await sha256File(manifestPath) }];
    const sumsPath = join(outDir, 'SHA256SUMS');
    await writeFileAtomic(sumsPath, sums.map((a) => `${a.sha256}  ${a.path}\n`).join(''));
    return { image, bmap, compressed, manifest: manifestPath, sums: sumsPath, artifacts };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
