import { closeSync, ftruncateSync, lstatSync, mkdirSync, openSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prng } from '../util/prng.js';
export { prng };

/**
 * Makes the components' source trees big, the way real kernel and Xen trees
 * are: thousands of small files (written for real) plus a few huge ones
 * (sparse, so the bulk costs no disk and no time to write).
 */

export interface TreeSize {
  /** Regular files. */
  files: number;
  /** Sum of file sizes, as `du --apparent-size` counts them. */
  bytes: number;
  /** Blocks actually allocated. */
  diskBytes: number;
}

export interface GrowPlan {
  /** Names the top directory of what this step adds, e.g. "grown-1x". */
  batch: string;
  /** Small files to add to each tree. */
  smallFilesPerTree: number;
  /** After the small files, sparse files are added until all trees together reach this apparent size. */
  totalBytes: number;
  /** Sparse files to spread the remaining bytes over, per tree. */
  sparseFilesPerTree: number;
}

const KiB = 1024;
const MIN_SMALL = 4 * KiB;
const MAX_SMALL = 64 * KiB;
const FILES_PER_DIR = 100;
const AREAS = ['arch', 'drivers', 'lib', 'obj'];

/** Something that looks like C, to fill the small files. */
const FILLER = (() => {
  const lines: string[] = [];
  for (let i = 0; lines.join('').length < MAX_SMALL; i++) lines.push(`static int helper_${i}(int x) { return x * ${i} + ${i % 7}; }\n`);
  return Buffer.from(lines.join(''));
})();

/** Writes `count` files of 4–64 KiB under <tree>/<batch>/<area>/dNNN/, 100 to a directory. */
function addSmallFiles(tree: string, batch: string, count: number, random: () => number): void {
  for (let i = 0; i < count; i++) {
    const d = Math.floor(i / FILES_PER_DIR);
    const dir = join(tree, batch, AREAS[d % AREAS.length]!, `d${String(d).padStart(3, '0')}`);
    if (i % FILES_PER_DIR === 0) mkdirSync(dir, { recursive: true });
    const size = MIN_SMALL + Math.floor(random() * (MAX_SMALL - MIN_SMALL + 1));
    writeFileSync(join(dir, `f${String(i).padStart(5, '0')}.c`), FILLER.subarray(0, size));
  }
}

/** Creates a file of `size` bytes that occupies (almost) no disk. */
function addSparseFile(path: string, size: number): void {
  const fd = openSync(path, 'w');
  try {
    ftruncateSync(fd, size);
  } finally {
    closeSync(fd);
  }
}

/** Adds one growth step to every tree: the small files, then sparse files up to plan.totalBytes. */
export function growTrees(trees: readonly string[], plan: GrowPlan, random: () => number): TreeSize {
  for (const tree of trees) addSmallFiles(tree, plan.batch, plan.smallFilesPerTree, random);
  const after = measureTrees(trees);
  const missing = Math.max(0, plan.totalBytes - after.bytes);
  const pieces = trees.length * plan.sparseFilesPerTree;
  const each = Math.ceil(missing / pieces);
  if (each > 0) {
    for (const tree of trees) {
      const out = join(tree, plan.batch, 'images');
      mkdirSync(out, { recursive: true });
      for (let i = 0; i < plan.sparseFilesPerTree; i++) addSparseFile(join(out, `image-${i}.img`), each);
    }
  }
  return measureTrees(trees);
}

/** Counts every regular file under the trees (including .git), without following symlinks. */
export function measureTrees(trees: readonly string[]): TreeSize {
  const total: TreeSize = { files: 0, bytes: 0, diskBytes: 0 };
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        const st = lstatSync(path);
        total.files++;
        total.bytes += st.size;
        total.diskBytes += st.blocks * 512;
      }
    }
  };
  for (const tree of trees) walk(tree);
  return total;
}
