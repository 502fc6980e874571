/**
 * The image layout of a board: which partitions an SD card holds and what
 * goes into each. Plain data, already parsed from the board's `image:` key
 * (sizes in bytes, paths absolute); `validateLayout` checks it and says
 * everything that is wrong at once, `placePartitions` computes where each
 * partition lands, exactly as genimage will place it.
 *
 *   { table: 'mbr',
 *     partitions: [
 *       { name: 'boot', type: 'fat32', size: 64 MiB, bootable: true,
 *         files: [{ from: '/…/deploy/MLO' }, { from: '/…/deploy/u-boot.img' }, …] },
 *       { name: 'root', type: 'ext4', size: 1 GiB, from: { tarball: '/…/rootfs.tar.xz' } } ] }
 *
 * Every string that ends up in genimage's configuration is restricted to
 * characters that need no quoting there nor in the shell commands genimage
 * builds from it (no quotes, backslashes, `$`, backquotes or control characters).
 */

/** Partitions start and end on 1 MiB boundaries: the SD card erase-block convention, and genimage's `align`. */
const ALIGN = 1024 * 1024;

export type { FatFile, ImageLayout, Partition } from '../model/image.js';
import { storageSize } from '../util/units.js';
import type { FatFile, ImageLayout, PartitionType } from '../model/image.js';

/** A layout that cannot be built; `problems` lists every reason, one sentence each. */
export class LayoutError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid image layout:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'LayoutError';
  }
}

/** Where a partition lands on the disk. */
export interface Placement {
  name: string;
  offset: number;
  size: number;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** Below this many clusters a "FAT32" is a FAT16 to every reader that follows the specification. */
const FAT_LIMITS: Record<'fat32' | 'fat16', { min: number; max: number }> = {
  fat32: { min: 33 * MiB, max: 2048 * GiB },
  fat16: { min: 16 * MiB, max: 4095 * MiB },
};
const TYPES: readonly PartitionType[] = ['fat32', 'fat16', 'ext4', 'raw'];
const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,35}$/;
/** Characters that cannot be put into genimage's config or its shell commands without quoting trouble. */
const UNSAFE = /['"\\$`\x00-\x1f\x7f]/;
/** Characters FAT long names cannot hold (besides the unsafe ones). */
const FAT_FORBIDDEN = /[*:<>?|]/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/** Why a path is unusable, or undefined. */
function pathProblem(where: string, p: unknown): string | undefined {
  if (typeof p !== 'string' || p === '') return `${where} must be a non-empty path`;
  if (!p.startsWith('/')) return `${where} must be an absolute path (got "${p}")`;
  if (UNSAFE.test(p)) return `${where} "${p}" contains a quote, backslash, $, backquote or control character`;
  return undefined;
}

/** The name a FAT file gets on the partition. */
export function fatTarget(file: FatFile): string {
  return file.to ?? file.from.slice(file.from.lastIndexOf('/') + 1);
}

function fatFileProblems(where: string, files: unknown): string[] {
  if (!Array.isArray(files)) return [`${where} must be a list of files`];
  const problems: string[] = [];
  const seen = new Map<string, number>();
  files.forEach((f, j) => {
    const at = `${where}[${j}]`;
    if (!isObject(f)) return void problems.push(`${at} must be { from, to? }`);
    const p = pathProblem(`${at}.from`, f.from);
    if (p) problems.push(p);
    if (f.to !== undefined && typeof f.to !== 'string') return void problems.push(`${at}.to must be a string`);
    if (p) return;
    const target = fatTarget(f as unknown as FatFile);
    const parts = target.split('/');
    if (parts.some((s) => s === '' || s === '.' || s === '..')) problems.push(`${at}: "${target}" is not a valid name on the partition`);
    else if (UNSAFE.test(target) || FAT_FORBIDDEN.test(target)) problems.push(`${at}: "${target}" has a character FAT names cannot hold`);
    const key = target.toUpperCase(); // FAT names are case-insensitive
    if (seen.has(key)) problems.push(`${at}: "${target}" is also the name of file ${seen.get(key)}; FAT names are case-insensitive`);
    else seen.set(key, j);
  });
  return problems;
}

function partitionProblems(where: string, p: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const type = p.type as PartitionType;
  if (typeof p.name !== 'string' || !NAME.test(p.name)) problems.push(`${where}.name must be a letter then letters, digits, "_" or "-" (at most 36)`);
  if (!TYPES.includes(type)) problems.push(`${where}.type must be one of ${TYPES.join(', ')}`);
  if (!isPosInt(p.size) || p.size % ALIGN !== 0) problems.push(`${where}.size must be a positive multiple of 1 MiB`);
  else if (type === 'fat32' || type === 'fat16') {
    const { min, max } = FAT_LIMITS[type];
    if (p.size < min || p.size > max)
      problems.push(`${where}: a ${type} partition must be ${storageSize(min)} to ${storageSize(max)} (got ${storageSize(p.size)})`);
  }
  if (p.offset !== undefined && (!Number.isSafeInteger(p.offset) || (p.offset as number) < ALIGN || (p.offset as number) % ALIGN !== 0)) {
    problems.push(`${where}.offset must be a multiple of 1 MiB, at least 1 MiB (the partition table lives below)`);
  }
  if (p.bootable !== undefined && typeof p.bootable !== 'boolean') problems.push(`${where}.bootable must be true or false`);
  if (p.label !== undefined) {
    const max = type === 'ext4' ? 16 : 11;
    if (typeof p.label !== 'string' || p.label === '' || p.label.length > max || UNSAFE.test(p.label) || /[^\x20-\x7e]/.test(p.label)) {
      problems.push(`${where}.label must be 1 to ${max} printable ASCII characters without quotes, backslashes or $`);
    } else if (type === 'raw') problems.push(`${where}.label: a raw partition has no file system to label`);
  }
  const isFat = type === 'fat32' || type === 'fat16';
  if (p.files !== undefined) {
    if (isFat) problems.push(...fatFileProblems(`${where}.files`, p.files));
    else problems.push(`${where}.files: only fat16/fat32 partitions take a file list`);
  }
  if (p.from !== undefined) {
    if (type !== 'ext4') problems.push(`${where}.from: only ext4 partitions are filled from a directory or tarball`);
    else if (isObject(p.from) && Object.keys(p.from).length === 1 && ('dir' in p.from || 'tarball' in p.from)) {
      const problem = pathProblem(`${where}.from.${'dir' in p.from ? 'dir' : 'tarball'}`, p.from.dir ?? p.from.tarball);
      if (problem) problems.push(problem);
    } else problems.push(`${where}.from must be { dir: PATH } or { tarball: PATH }`);
  }
  if (type === 'raw') {
    const problem = pathProblem(`${where}.image`, p.image);
    if (problem) problems.push(`${problem} (a raw partition is written from an image file)`);
  } else if (p.image !== undefined) problems.push(`${where}.image: only raw partitions are written from an image file`);
  return problems;
}

/** Every problem of `value` as an image layout (empty: it is valid). */
export function layoutProblems(value: unknown): string[] {
  if (!isObject(value)) return ['image: must be { table, partitions }'];
  const problems: string[] = [];
  if (value.table !== 'mbr' && value.table !== 'gpt') problems.push('image.table must be "mbr" or "gpt"');
  if (!Array.isArray(value.partitions) || value.partitions.length === 0) {
    return [...problems, 'image.partitions must be a non-empty list'];
  }
  if (value.table === 'mbr' && value.partitions.length > 4) problems.push('image.partitions: an MBR holds at most 4 (primary) partitions; use table: gpt');
  const names = new Set<string>();
  value.partitions.forEach((p, i) => {
    const where = `image.partitions[${i}]`;
    if (!isObject(p)) return void problems.push(`${where} must be { name, type, size, … }`);
    problems.push(...partitionProblems(where, p));
    if (typeof p.name === 'string') {
      if (names.has(p.name)) problems.push(`${where}.name "${p.name}" is used twice`);
      names.add(p.name);
    }
  });
  if (problems.length === 0) problems.push(...overlapProblems(value as unknown as ImageLayout));
  return problems;
}

function overlapProblems(layout: ImageLayout): string[] {
  const placed = placePartitions(layout);
  const problems: string[] = [];
  placed.forEach((a, i) => {
    for (const b of placed.slice(0, i)) {
      if (a.offset < b.offset + b.size && b.offset < a.offset + a.size) {
        problems.push(`image.partitions[${i}] "${a.name}" (${storageSize(a.offset)} + ${storageSize(a.size)}) overlaps "${b.name}"`);
      }
    }
  });
  return problems;
}

/** `value` as a layout, or a LayoutError with every problem. */
export function validateLayout(value: unknown): ImageLayout {
  const problems = layoutProblems(value);
  if (problems.length > 0) throw new LayoutError(problems);
  return value as ImageLayout;
}

/**
 * Where genimage puts each partition: at its `offset`, or after the end of
 * every partition before it (the first at 1 MiB, past the partition table).
 */
export function placePartitions(layout: ImageLayout): Placement[] {
  let end = ALIGN;
  return layout.partitions.map((p) => {
    const offset = p.offset ?? Math.ceil(end / ALIGN) * ALIGN;
    end = Math.max(end, offset + p.size);
    return { name: p.name, offset, size: p.size };
  });
}

/**
 * The size of the disk the image describes: the end of the last partition; for
 * GPT, plus genimage's backup table (33 sectors), rounded up to 4 KiB. (With
 * MBR the file can be shorter when the last partition is a raw image smaller
 * than the partition.)
 */
export function imageSize(layout: ImageLayout): number {
  const end = Math.max(...placePartitions(layout).map((p) => p.offset + p.size));
  return layout.table === 'gpt' ? Math.ceil((end + 33 * 512) / 4096) * 4096 : end;
}
