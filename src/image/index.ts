/**
 * SD card images: the public API of src/image, for the engine and the CLI.
 *
 * Wiring (image:sdcard task, then a release step):
 *
 *   import { validateLayout, buildImage, release } from '../image/index.js';
 *
 *   // analysis time: the board's `image:` key, sizes already in bytes and
 *   // file names resolved to absolute paths in the deploy directory.
 *   const layout = validateLayout(board.image);      // LayoutError: .problems, one sentence each
 *
 *   // the task: (re)builds <deploy>/<name>.img; inputs = every files[].from,
 *   // from.dir / from.tarball, image; output = <deploy>/<name>.img
 *   const built = await buildImage({ layout, name: 'sdcard', workDir: <build dir>/tmp,
 *                                    outDir: <deploy>, signal: ctx.signal, onLine: ctx.log });
 *
 *   // the release: <name>.bmap, <name>.img.zst|xz, manifest.json, SHA256SUMS in <deploy>
 *   await release({ image: built.path, outDir: <deploy>, compress: 'zst',
 *                   manifest: { board, xenbuildVersion, sources, patches, tools, memoryMap },
 *                   artifacts: ['MLO', 'u-boot.img', 'xen-uImage', …], signal, onLine });
 *
 * Errors: TaskFailure ('cancelled', 'exit-non-zero', 'missing-tool',
 * 'unsafe-archive-entry', 'missing-output') as everywhere in the engine;
 * ImageError for inputs the user must fix (missing files, a raw image larger
 * than its partition) — the runner should show its message as the failure
 * (the 'bad-artifact' Failure reason would fit); LayoutError should be caught
 * at analysis time. Host tools: genimage, mtools, dosfstools, e2fsprogs
 * (mke2fs, e2fsck, debugfs), sfdisk, bmaptool, zstd or xz, cp.
 */
export { buildImage, type BuildImageOptions, type BuiltImage } from './build.js';
export { ImageError } from './error.js';
export { fsImageName, genimageConfig, genimageSize, type GenimageOptions } from './genimage-config.js';
export {
  ALIGN,
  fatTarget,
  humanSize,
  imageSize,
  layoutProblems,
  LayoutError,
  placePartitions,
  validateLayout,
  type FatFile,
  type FsSource,
  type ImageLayout,
  type Partition,
  type PartitionTable,
  type PartitionType,
  type Placement,
} from './layout.js';
export { release, sha256File, type ManifestArtifact, type ManifestSource, type ReleaseManifest, type ReleaseOptions, type ReleaseResult } from './release.js';
export { extractRootfs } from './stage.js';
