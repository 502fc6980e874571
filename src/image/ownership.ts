/**
 * Makes every inode of an ext4 file system owned by root:root, whoever built it.
 *
 * genimage (with `use-mke2fs`) runs `mke2fs -d DIR`, which copies each file's
 * owner from the host: built by an ordinary user, the root file system would
 * belong to uid 1000; a tree holding files of other users keeps them. mke2fs's
 * `-E root_owner` covers only the top directory, and genimage is meant to run
 * under fakeroot, which xenbuild does not require. So after genimage, this
 * walks the file system with debugfs and sets uid and gid 0 where they are not:
 *
 *   1. breadth-first, one debugfs run per directory level, `ls -p <INODE>` for
 *      every directory of the level: each output line is
 *      `/inode/mode/uid/gid/name/size/`; addressing directories by inode
 *      number means no file name is ever quoted or parsed;
 *   2. one `debugfs -w` run with `set_inode_field <INODE> uid 0` / `gid 0` for
 *      each inode (hard links counted once) owned by someone else;
 *   3. one more run listing every directory, to check that no inode is left
 *      (debugfs reports its errors on stderr and exits 0 regardless).
 *
 * The file system can sit inside a disk image: debugfs opens `IMAGE?offset=N`
 * (e2fsprogs' unix I/O manager option).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exec } from '../engine/process.js';
import { ImageError } from './error.js';

export interface OwnershipOptions {
  /** A directory for debugfs's command files (and its working directory). */
  tmpDir: string;
  signal?: AbortSignal;
}

/** One entry of `ls -p`: inode, mode (octal), uid, gid; the name is never needed. */
const ENTRY = /^\/(\d+)\/([0-7]+)\/(\d+)\/(\d+)\//;
const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;

/** debugfs's device argument for a file system `offset` bytes into `image`. */
export function debugfsTarget(image: string, offset: number): string {
  if (image.includes('?')) throw new Error(`Internal error: debugfs cannot open a path with "?": ${image}`);
  return offset === 0 ? image : `${image}?offset=${offset}`;
}

/**
 * Runs a debugfs command file and returns its stdout. (Its stderr carries the
 * banner and any error; the outcome is checked by reading the file system again.)
 */
async function debugfs(target: string, commands: string[], write: boolean, opts: OwnershipOptions): Promise<string> {
  const file = join(opts.tmpDir, `debugfs-${write ? 'w' : 'r'}.cmd`);
  await writeFile(file, commands.join('\n') + '\n');
  return exec(['debugfs', ...(write ? ['-w'] : []), '-f', file, target], {
    cwd: opts.tmpDir,
    capture: true,
    onLine: () => undefined, // read the merged output, or a long listing blocks debugfs (see build.ts)
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
}

/** Records the entries of `ls -p` output: foreign-owned inodes, and directories not seen before (returned). */
function scan(out: string, visited: Set<number>, foreign: Set<number>): number[] {
  const dirs: number[] = [];
  for (const line of out.split('\n')) {
    const m = ENTRY.exec(line);
    if (!m) continue;
    const ino = Number(m[1]);
    if (m[3] !== '0' || m[4] !== '0') foreign.add(ino);
    if ((parseInt(m[2]!, 8) & S_IFMT) === S_IFDIR && !visited.has(ino)) {
      visited.add(ino);
      dirs.push(ino);
    }
  }
  return dirs;
}

const listing = (dirs: number[]) => dirs.map((ino) => `ls -p <${ino}>`);

/**
 * Sets uid 0 and gid 0 on every inode of the ext2/3/4 file system at `offset`
 * in `image` that is owned by anyone else, and checks that none is left.
 * Returns how many inodes it changed.
 */
export async function chownAllToRoot(image: string, offset: number, opts: OwnershipOptions): Promise<number> {
  const target = debugfsTarget(image, offset);
  const visited = new Set<number>([2]); // the root directory's inode
  const foreign = new Set<number>();
  for (let level = [2]; level.length > 0; ) level = scan(await debugfs(target, listing(level), false, opts), visited, foreign);
  if (foreign.size === 0) return 0;
  const commands = [...foreign].flatMap((ino) => [`set_inode_field <${ino}> uid 0`, `set_inode_field <${ino}> gid 0`]);
  await debugfs(target, commands, true, opts);
  // Every directory is known now: one run lists them all again.
  const left = new Set<number>();
  scan(await debugfs(target, listing([...visited]), false, opts), new Set(visited), left);
  if (left.size > 0) {
    throw new ImageError(`debugfs could not make ${left.size} inodes of ${target} owned by root:root (inodes ${[...left].slice(0, 5).join(', ')}…)`);
  }
  return foreign.size;
}
