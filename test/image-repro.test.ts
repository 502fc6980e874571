import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildImage } from '../src/image/build.js';
import { release, sha256File, type ReleaseManifest } from '../src/image/release.js';
import { makeTempDir, removeTempDirs, writeFiles } from './util/tmp.js';

afterAll(removeTempDirs);

const MiB = 1024 * 1024;
const MANIFEST: Omit<ReleaseManifest, 'artifacts'> = {
  board: 'repro',
  xenbuildVersion: '0.1.0',
  components: [{ component: 'xen', recipe: 'xen-debian', version: '4.17' }],
  sources: [],
  patches: [],
  tools: [{ name: 'genimage', version: '16' }],
  memoryMap: { ram: [{ start: 0x40000000, size: 0x40000000 }], xen: 0x40200000 },
};

/**
 * One build of a card in its own directory, at its own time: boot files with
 * file times of their own, and the same root file system tarball made anew
 * (directories, a symlink and a FIFO: what extraction and mknod date "now").
 */
async function buildIn(base: string, fileTime: Date) {
  const deploy = path.join(base, 'deploy');
  writeFiles(deploy, { 'boot.scr': 'script\n', xen: 'x'.repeat(70_000), vmlinuz: 'k'.repeat(200_000) });
  for (const f of ['boot.scr', 'xen', 'vmlinuz']) utimesSync(path.join(deploy, f), fileTime, fileTime);
  const tree = path.join(base, 'tree');
  writeFiles(tree, { 'bin/busybox': 'busybox\n', 'etc/inittab': '::sysinit:/etc/init\n', 'usr/share/doc/x': 'doc\n' });
  mkdirSync(path.join(tree, 'dev'), { recursive: true });
  symlinkSync('busybox', path.join(tree, 'bin', 'sh'));
  mkdirSync(path.join(tree, 'tmp'), { recursive: true });
  const tarball = path.join(base, 'rootfs.tar');
  // The same root file system (a FIFO in dev/; its members' times fixed, as busybox-root makes it), made anew here.
  execFileSync('mkfifo', [path.join(tree, 'dev', 'initctl')]);
  execFileSync('tar', ['--create', '--file', tarball, '--sort=name', '--mtime=@1700000000', '--numeric-owner', '--owner=0', '--group=0', '-C', tree, '.']);
  const built = await buildImage({
    layout: {
      table: 'mbr',
      partitions: [
        { name: 'boot', type: 'fat32', size: 34 * MiB, bootable: true, files: ['boot.scr', 'xen', 'vmlinuz'].map((f) => ({ from: path.join(deploy, f) })) },
        { name: 'root', type: 'ext4', size: 32 * MiB, from: { tarball } },
      ],
    },
    name: 'repro',
    workDir: path.join(base, 'work'),
    outDir: deploy,
  });
  const r = await release({ image: built.path, outDir: deploy, compress: 'zst', manifest: MANIFEST, artifacts: ['xen'] });
  return { image: await sha256File(r.image), zst: await sha256File(r.compressed), manifest: await sha256File(r.manifest), imagePath: r.image };
}

describe('reproducible images', () => {
  it('two builds in different directories, at different times, give the same image, compressed image and manifest', async () => {
    const a = await buildIn(makeTempDir('xenbuild-repro-a-'), new Date('2026-01-02T03:04:05Z'));
    // Another second for everything the tools would date "now".
    await new Promise((r) => setTimeout(r, 1100));
    const b = await buildIn(makeTempDir('xenbuild-repro-other-place-'), new Date('2026-06-07T08:09:10Z'));
    expect(b.image).toBe(a.image);
    expect(b.zst).toBe(a.zst);
    expect(b.manifest).toBe(a.manifest);
    // Not by accident: the inodes on the card carry the fixed time, not the build's.
    const start = Number(
      /start=\s*(\d+)/.exec(
        execFileSync('sfdisk', ['-d', a.imagePath], { encoding: 'utf8' })
          .split('\n')
          .find((l) => l.includes('type=83'))!,
      )![1],
    );
    const ext4 = path.join(makeTempDir('xenbuild-repro-ext4-'), 'root.ext4');
    execFileSync('dd', [`if=${a.imagePath}`, `of=${ext4}`, 'bs=512', `skip=${start}`, 'count=65536', 'status=none']);
    const stat = execFileSync('debugfs', ['-R', 'stat /dev', ext4], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    for (const field of ['ctime', 'atime']) expect(stat).toMatch(new RegExp(`${field}: 0x12cea600:00000000 -- Tue Jan  1 00:00:00 1980`));
  });
});
