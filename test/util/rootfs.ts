/**
 * Root file systems in tests: reading an ext4 inside an image with debugfs,
 * and tar archives holding what a file system cannot (device nodes, "../").
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Header } from 'tar';
import { expect } from 'vitest';
import { writeFiles } from './tmp.js';

/** Runs a tool, returns its stdout (throws on a non-zero exit). */
export const run = (argv: string[], cwd?: string) => execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', cwd, stdio: ['ignore', 'pipe', 'pipe'] });

/** `debugfs -R "stat PATH"` of the ext4 at `offset` in `img`: its owner and mode. */
export function debugStat(img: string, offset: number, file: string): { uid: number; gid: number; mode: string } {
  const out = run(['debugfs', '-R', `stat "${file}"`, `${img}?offset=${offset}`]);
  const m = /Mode:\s+(\d+)[\s\S]*User:\s+(\d+)\s+Group:\s+(\d+)/.exec(out);
  if (!m) throw new Error(`no stat for ${file}: ${out}`);
  return { mode: m[1]!, uid: Number(m[2]), gid: Number(m[3]) };
}

/** debugfs `stat` of a special file: its type line and, for a device, its numbers. */
function debugSpecial(img: string, offset: number, file: string): { type: string; mode: string; uid: number; device?: string } {
  const out = run(['debugfs', '-R', `stat "${file}"`, `${img}?offset=${offset}`]);
  const type = /Type: ([A-Za-z ]+?)\s+Mode/.exec(out)?.[1] ?? '?';
  // "Device major/minor number: 179:00 (hex b3:00)": decimal major and minor.
  const numbers = /Device major\/minor number: (\d+):(\d+)/.exec(out);
  const { mode, uid } = debugStat(img, offset, file);
  return { type, mode, uid, ...(numbers ? { device: `${Number(numbers[1])}:${Number(numbers[2])}` } : {}) };
}

/** A tar archive written entry by entry, for entries the file system cannot hold (device nodes, "../" paths). */
export type RawEntry = {
  path: string;
  type: 'File' | 'Directory' | 'CharacterDevice' | 'BlockDevice' | 'FIFO' | 'SymbolicLink';
  body?: string;
  linkpath?: string;
  mode?: number;
  dev?: [number, number];
};
export function rawTar(entries: RawEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const [devmaj, devmin] = e.dev ?? [0, 0];
    const mode = e.mode ?? (e.type === 'Directory' ? 0o755 : 0o644);
    const h = new Header({
      path: e.path,
      type: e.type,
      ...(e.linkpath ? { linkpath: e.linkpath } : {}),
      mode,
      size: body.length,
      uid: 1000,
      gid: 1000,
      mtime: new Date(0),
      devmaj,
      devmin,
    });
    h.encode();
    blocks.push(h.block!, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  return Buffer.concat([...blocks, Buffer.alloc(1024)]);
}

/** A root file system with a console, /dev/null (a file first, then a device), a block device and a FIFO whose /run/ the archive does not list. */
export const DEVICE_TAR = rawTar([
  { path: './dev/', type: 'Directory' },
  { path: './dev/console', type: 'CharacterDevice', mode: 0o600, dev: [5, 1] },
  // Listed twice: the last entry of a path wins, as tar extracts it.
  { path: './dev/null', type: 'File', body: 'not yet a device\n' },
  { path: './dev/null', type: 'CharacterDevice', mode: 0o666, dev: [1, 3] },
  { path: './dev/mmcblk0', type: 'BlockDevice', mode: 0o660, dev: [179, 0] },
  { path: './run/initctl', type: 'FIFO', mode: 0o600 },
  { path: './etc/hostname', type: 'File', body: 'dra7\n' },
  // Unreadable even by its owner, as Fedora ships it: only root (or root of a user namespace) can copy it into the ext4.
  { path: './etc/shadow', type: 'File', body: 'root:*:19000::::::\n', mode: 0o000 },
]);

/**
 * DEVICE_TAR's members as GNU tar writes them by default (the GNU format, whose
 * device numbers the `tar` package does not read), xz-compressed like a vendor's
 * rootfs; made from real device nodes, so only as root.
 */
export function gnuDeviceTar(dir: string): Buffer {
  const tree = path.join(dir, 'gnu-tree');
  writeFiles(tree, { 'etc/hostname': 'dra7\n', 'etc/shadow': 'root:*:19000::::::\n', 'dev/null': 'not yet a device\n' });
  chmodSync(path.join(tree, 'etc/shadow'), 0);
  mkdirSync(path.join(tree, 'run'));
  run(['mknod', '-m', '600', path.join(tree, 'dev/console'), 'c', '5', '1']);
  run(['mknod', '-m', '660', path.join(tree, 'dev/mmcblk0'), 'b', '179', '0']);
  run(['mknod', '-m', '600', path.join(tree, 'run/initctl'), 'p']);
  const tarball = path.join(dir, 'gnu-rootfs.tar');
  run([
    'tar',
    '--format=gnu',
    '--no-recursion',
    '-C',
    tree,
    '-cf',
    tarball,
    './dev/',
    './dev/console',
    './dev/null',
    './dev/mmcblk0',
    './run/initctl',
    './etc/hostname',
    './etc/shadow',
  ]);
  run(['rm', path.join(tree, 'dev/null')]);
  run(['mknod', '-m', '666', path.join(tree, 'dev/null'), 'c', '1', '3']);
  run(['tar', '--format=gnu', '-C', tree, '-rf', tarball, './dev/null']); // listed twice: the device comes last
  run(['xz', tarball]);
  return readFileSync(`${tarball}.xz`);
}

/** The ext4 at `offset` holds DEVICE_TAR's special files, root's, with their modes and numbers. */
export function expectDeviceNodes(img: string, offset: number): void {
  expect(debugSpecial(img, offset, '/dev/console')).toEqual({ type: 'character special', mode: '0600', uid: 0, device: '5:1' });
  expect(debugSpecial(img, offset, '/dev/mmcblk0')).toEqual({ type: 'block special', mode: '0660', uid: 0, device: '179:0' });
  expect(debugSpecial(img, offset, '/run/initctl')).toEqual({ type: 'FIFO', mode: '0600', uid: 0 });
  expect(debugSpecial(img, offset, '/dev/null')).toEqual({ type: 'character special', mode: '0666', uid: 0, device: '1:3' });
  expect(debugStat(img, offset, '/etc/shadow')).toEqual({ uid: 0, gid: 0, mode: '0000' });
  expect(run(['debugfs', '-R', 'cat /etc/shadow', `${img}?offset=${offset}`])).toBe('root:*:19000::::::\n');
}
