/**
 * Builds the SD card image of a layout with genimage, rootless.
 *
 *   1. validates the layout and checks every input exists (all missing inputs
 *      reported at once), and removes a previous `<name>.img` from outDir so
 *      that a failed or interrupted build never leaves an image behind that
 *      looks like its result;
 *   2. in a fresh temp dir under workDir: extracts rootfs tarballs (stage.ts;
 *      GNU tar extracts their device nodes and FIFOs just before genimage
 *      runs, in the same way as genimage: as-root.ts), writes genimage's config (genimage-config.ts) and runs
 *      `genimage --config … --rootpath … --tmppath … --inputpath … --outputpath …`,
 *      all four paths inside the temp dir, in the cheapest way that shows
 *      every file of the root trees as root:root (as-root.ts: as it is, in a
 *      user namespace, or under fakeroot), so that every file of an ext4
 *      partition is root:root whoever builds;
 *   3. reads the partition table genimage wrote (`sfdisk --json`) and checks it
 *      is the one the layout describes;
 *   4. punches holes where the image holds only zeros (`fallocate --dig-holes`):
 *      genimage copies each partition by its FIEMAP extents and, on a file
 *      system without FIEMAP (tmpfs), copies every byte, holes included; the
 *      scan skips holes that are there already, so a sparse image costs nothing;
 *   5. renames `<name>.img` into outDir (or, across file systems, copies it
 *      with `cp --sparse=always` next to its final name and renames that):
 *      the image appears there only when complete.
 *
 * The temp dir is removed whatever happens. Cancelling `signal` kills
 * genimage's whole process group (src/host/process.ts) and the build fails
 * with TaskFailure 'cancelled'.
 */
import { storageSize } from '../util/units.js';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { TaskFailure } from '../host/failure.js';
import { exec, type ExecOptions } from '../host/process.js';
import { runAsRoot, type RootView } from './as-root.js';
import { ImageError } from './error.js';
import { buildEnvironment, genimageConfig } from './genimage-config.js';
import { placePartitions, validateLayout, type ImageLayout, type Placement } from './layout.js';
import { extractMembersArgv, extractRootfs } from './stage.js';

export interface BuildImageOptions {
  layout: ImageLayout;
  /** The image is `<outDir>/<name>.img`; letters, digits, `.`, `_`, `+`, `-`. */
  name: string;
  /** Scratch space (a temp dir is made inside); on outDir's file system, the final move is a rename. */
  workDir: string;
  outDir: string;
  signal?: AbortSignal;
  /** Every line genimage and the other tools print, and what this step does. */
  onLine?: (line: string) => void;
  /** Told each process group started (see ExecOptions): the runner records them, to stop them after a kill -9. */
  onGroup?: ExecOptions['onGroup'];
}

export interface BuiltImage {
  /** `<outDir>/<name>.img`. */
  path: string;
  /** Its apparent size in bytes (the file is sparse). */
  size: number;
  /** Where each partition is, as read back from the image's partition table. */
  partitions: Placement[];
}

const VIEWS: Record<RootView, string> = {
  'as-is': 'as they are (every file is root:root already)',
  'user-namespace': 'in a user namespace where the builder is root (unshare --map-root-user)',
  'fakeroot-in-user-namespace': 'under fakeroot, in a user namespace where the builder is root (files of more than one owner, or device nodes to make)',
  fakeroot: 'under fakeroot (files of more than one owner, or no user namespaces here)',
};

/** Every missing or unusable input of the layout, one sentence each. */
async function inputProblems(layout: ImageLayout): Promise<string[]> {
  const problems: string[] = [];
  const kind = async (path: string) => {
    try {
      const s = await stat(path);
      return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : 'other';
    } catch {
      return 'absent';
    }
  };
  for (const p of layout.partitions) {
    for (const f of p.files ?? []) {
      if ((await kind(f.from)) === 'absent') problems.push(`partition ${p.name}: ${f.from} does not exist (was the task that makes it run?)`);
    }
    if (p.from && 'dir' in p.from && (await kind(p.from.dir)) !== 'dir') problems.push(`partition ${p.name}: ${p.from.dir} is not a directory`);
    if (p.from && 'tarball' in p.from && (await kind(p.from.tarball)) !== 'file') problems.push(`partition ${p.name}: ${p.from.tarball} is not a file`);
    if (p.image !== undefined) {
      if ((await kind(p.image)) !== 'file') problems.push(`partition ${p.name}: ${p.image} is not a file`);
      else if ((await stat(p.image)).size > p.size) {
        problems.push(
          `partition ${p.name}: ${p.image} (${storageSize((await stat(p.image)).size)}) does not fit in ${storageSize(p.size)}; enlarge the partition`,
        );
      }
    }
  }
  return problems;
}

/**
 * exec() must always be given onLine: it merges stdout and stderr into one
 * stream that only onLine reads, and a child whose output fills that stream
 * while nobody reads it blocks forever (even with capture).
 */
const drain = () => undefined;

interface SfdiskTable {
  partitiontable: { label: string; sectorsize?: number; partitions?: { start: number; size: number }[] };
}

/** The partitions of `image` as its table says, checked against the layout's placement. */
async function readTable(image: string, layout: ImageLayout, cwd: string): Promise<Placement[]> {
  const json = JSON.parse(await exec(['sfdisk', '--json', image], { cwd, capture: true, onLine: drain })) as SfdiskTable;
  const sector = json.partitiontable.sectorsize ?? 512;
  const found = json.partitiontable.partitions ?? [];
  const expected = placePartitions(layout);
  const actual = expected.map((e, i) => ({ name: e.name, offset: (found[i]?.start ?? -1) * sector, size: (found[i]?.size ?? -1) * sector }));
  const wrong = actual.find((a, i) => a.offset !== expected[i]!.offset || a.size !== expected[i]!.size);
  if (found.length !== expected.length || wrong) {
    throw new ImageError(`genimage wrote a partition table that differs from the layout (${JSON.stringify(found)}); this is a bug in xenbuild`);
  }
  return actual;
}

/**
 * Makes `image` sparse again where genimage wrote zeros (step 4 of the file
 * comment). A file system that cannot punch holes leaves it whole, said so.
 */
async function digHoles(image: string, run: ExecOptions, log: (line: string) => void): Promise<void> {
  const before = await stat(image);
  try {
    await exec(['fallocate', '--dig-holes', image], { ...run, capture: true });
  } catch (err) {
    if (err instanceof TaskFailure && err.failure.reason === 'cancelled') throw err;
    log(
      `the image stays fully allocated (${storageSize(before.blocks * 512)}): this file system cannot punch holes (${err instanceof Error ? err.message : String(err)})`,
    );
    return;
  }
  const after = await stat(image);
  if (after.blocks < before.blocks)
    log(`made the image sparse again: ${storageSize(before.blocks * 512)} → ${storageSize(after.blocks * 512)} allocated of ${storageSize(after.size)}`);
}

/** Moves the finished image to `dest`: a rename, or a sparse copy and a rename across file systems. */
async function publish(from: string, dest: string, cwd: string, signal: AbortSignal | undefined): Promise<void> {
  try {
    await rename(from, dest);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
  }
  const part = `${dest}.part-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await exec(['cp', '--sparse=always', from, part], { cwd, onLine: drain, ...(signal ? { signal } : {}) });
    await rename(part, dest);
  } finally {
    await rm(part, { force: true });
  }
}

/** Builds `<outDir>/<name>.img` from `layout` (see the file comment). */
export async function buildImage(opts: BuildImageOptions): Promise<BuiltImage> {
  const layout = validateLayout(opts.layout);
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(opts.name)) throw new ImageError(`"${opts.name}" is not a usable image name`);
  const log = opts.onLine ?? (() => undefined);
  const dest = join(opts.outDir, `${opts.name}.img`);
  await rm(dest, { force: true });
  const problems = await inputProblems(layout);
  if (problems.length > 0) throw new ImageError(`cannot build ${opts.name}.img:\n  ${problems.join('\n  ')}`, problems);

  await mkdir(opts.workDir, { recursive: true });
  await mkdir(opts.outDir, { recursive: true });
  const tmp = await mkdtemp(join(opts.workDir, `image-${opts.name}-`));
  const track = opts.onGroup ? { onGroup: opts.onGroup } : {};
  const run = { cwd: tmp, onLine: log, ...(opts.signal ? { signal: opts.signal } : {}), ...track };
  try {
    const paths = { root: join(tmp, 'root'), tmp: join(tmp, 'tmp'), input: join(tmp, 'input'), output: join(tmp, 'output') };
    for (const dir of Object.values(paths)) await mkdir(dir);
    const rootDirs: Record<string, string> = {};
    const specials: string[][] = [];
    let devices = false;
    for (const p of layout.partitions) {
      if (!p.from || !('tarball' in p.from)) continue;
      const dir = join(tmp, `rootfs-${p.name}`);
      const unpack = join(tmp, `unpack-${p.name}`);
      await mkdir(dir);
      await mkdir(unpack);
      log(`extracting ${p.from.tarball} for partition ${p.name}`);
      const { special, directories, tarFile } = await extractRootfs(p.from.tarball, dir, {
        workDir: unpack,
        onLine: log,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      if (special.length + directories.length > 0) {
        // GNU tar makes the device nodes and FIFOs just before genimage, and gives the directories
        // their archived times last; the decompressed copy stays (in tmp) until then.
        const list = join(unpack, 'members.list');
        await writeFile(list, [...special, ...directories].map((name) => `${name}\0`).join(''));
        specials.push(extractMembersArgv(tarFile, dir, list));
        devices ||= special.length > 0;
        if (special.length > 0) log(`${special.length} device nodes and FIFOs of ${basename(p.from.tarball)} for partition ${p.name}: ${special.join(' ')}`);
      } else {
        await rm(unpack, { recursive: true, force: true });
      }
      rootDirs[p.name] = dir;
    }
    const config = join(tmp, 'genimage.cfg');
    await writeFile(config, genimageConfig(layout, opts.name, { rootDirs }));
    const genimage = [
      'genimage',
      '--config',
      config,
      '--rootpath',
      paths.root,
      '--tmppath',
      paths.tmp,
      '--inputpath',
      paths.input,
      '--outputpath',
      paths.output,
    ];
    const trees = layout.partitions.flatMap((p) => (p.from === undefined ? [] : ['tarball' in p.from ? rootDirs[p.name]! : p.from.dir]));
    const view = await runAsRoot(genimage, trees, { ...run, env: buildEnvironment() }, specials, devices);
    if (trees.length > 0) log(`genimage saw the root file system trees as root's ${VIEWS[view]}`);
    const built = join(paths.output, `${opts.name}.img`);
    if (!existsSync(built)) throw new TaskFailure({ reason: 'missing-output', path: built });
    const partitions = await readTable(built, layout, tmp);
    await digHoles(built, run, log);
    if (opts.signal?.aborted) throw new TaskFailure({ reason: 'cancelled' });
    await publish(built, dest, tmp, opts.signal);
    return { path: dest, size: (await stat(dest)).size, partitions };
  } finally {
    // Retried: a failed extraction may still be finishing writes into the tree.
    await rm(tmp, { recursive: true, force: true, maxRetries: 5 });
  }
}
