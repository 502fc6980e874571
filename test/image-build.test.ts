import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { c as createTar } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, type BuiltImage } from '../src/image/build.js';
import { ImageError } from '../src/image/error.js';
import { stableId32, stableUuid } from '../src/image/genimage-config.js';
import type { ImageLayout } from '../src/image/layout.js';
import { debugStat, DEVICE_TAR, expectDeviceNodes, gnuDeviceTar, rawTar, run, type RawEntry } from './util/rootfs.js';
import { failureOf, makeTempDir, removeTempDirs, writeFiles } from './util/tmp.js';

const MiB = 1024 * 1024;
const BOOT_FILES = ['MLO', 'u-boot.img', 'uEnv.txt', 'xen-uImage', 'zImage', 'dra7-evm.dtb'];

/** A deploy dir with small fake boot files and a root file system tree; one file owned by uid 1000, one 0755. */
function makeInputs(base: string): { deploy: string; rootfs: string } {
  const deploy = path.join(base, 'deploy');
  const rootfs = path.join(base, 'rootfs');
  writeFiles(deploy, Object.fromEntries(BOOT_FILES.map((f) => [f, `fake ${f}\n`])));
  writeFiles(rootfs, { 'etc/hostname': 'dra7\n', 'bin/hello': '#!/bin/sh\necho hi\n', 'home/user/notes.txt': 'mine\n' });
  chmodSync(path.join(rootfs, 'bin/hello'), 0o755);
  writeFiles(rootfs, { 'bin/su': 'setuid\n', 'tmp/.keep': '' });
  chmodSync(path.join(rootfs, 'bin/su'), 0o4755);
  chmodSync(path.join(rootfs, 'tmp'), 0o1777);
  // Running as root (as here): make the file belong to someone else. As anyone else, every file already does.
  if (process.getuid?.() === 0) chownSync(path.join(rootfs, 'home/user/notes.txt'), 1000, 1000);
  return { deploy, rootfs };
}

export function dra7Layout(deploy: string, rootfs: ImageLayout['partitions'][number]['from']): ImageLayout {
  return {
    table: 'mbr',
    partitions: [
      { name: 'boot', type: 'fat32', size: 64 * MiB, bootable: true, files: BOOT_FILES.map((f) => ({ from: path.join(deploy, f) })) },
      { name: 'root', type: 'ext4', size: 256 * MiB, from: rootfs! },
    ],
  };
}

let base: string;
let inputs: { deploy: string; rootfs: string };
let built: BuiltImage;

beforeAll(async () => {
  base = makeTempDir('xenbuild-image-');
  inputs = makeInputs(base);
  built = await buildImage({
    layout: dra7Layout(inputs.deploy, { dir: inputs.rootfs }),
    name: 'sdcard',
    workDir: path.join(base, 'work'),
    outDir: path.join(base, 'out'),
  });
});
afterAll(removeTempDirs);

describe('buildImage (dra7-evm layout)', () => {
  it('writes an MBR with a bootable FAT32 boot partition and a Linux root partition', () => {
    expect(built.path).toBe(path.join(base, 'out', 'sdcard.img'));
    const table = JSON.parse(run(['sfdisk', '--json', built.path])).partitiontable;
    expect(table.label).toBe('dos');
    expect(table.partitions.map((p: Record<string, unknown>) => ({ start: p.start, size: p.size, type: p.type, bootable: p.bootable ?? false }))).toEqual([
      { start: 2048, size: 131072, type: 'c', bootable: true },
      { start: 133120, size: 524288, type: '83', bootable: false },
    ]);
    expect(built.partitions).toEqual([
      { name: 'boot', offset: MiB, size: 64 * MiB },
      { name: 'root', offset: 65 * MiB, size: 256 * MiB },
    ]);
    expect(built.size).toBe(321 * MiB);
    expect(readdirSync(path.join(base, 'work'))).toEqual([]); // the temp dir is gone
  });

  it('copies the boot files in the declared order, MLO first, with their contents', () => {
    const listing = run(['mdir', '-b', '-i', `${built.path}@@${MiB}`, '::'])
      .trim()
      .split('\n');
    expect(listing).toEqual(BOOT_FILES.map((f) => `::/${f}`));
    expect(
      run(['mdir', '-i', `${built.path}@@${MiB}`, '::'])
        .split('\n')
        .find((l) => /\d+ \d{4}-/.test(l)),
    ).toMatch(/^MLO\s/);
    for (const f of BOOT_FILES) expect(run(['mtype', '-i', `${built.path}@@${MiB}`, `::${f}`])).toBe(`fake ${f}\n`);
  });

  it('makes every file of the root file system root:root, keeping modes', () => {
    const offset = 65 * MiB;
    expect(debugStat(built.path, offset, '/home/user/notes.txt')).toEqual({ uid: 0, gid: 0, mode: '0644' });
    expect(debugStat(built.path, offset, '/bin/hello')).toEqual({ uid: 0, gid: 0, mode: '0755' });
    expect(debugStat(built.path, offset, '/bin/su')).toEqual({ uid: 0, gid: 0, mode: '04755' });
    expect(debugStat(built.path, offset, '/tmp')).toEqual({ uid: 0, gid: 0, mode: '01777' });
    for (const dir of ['/', '/home', '/home/user', '/etc']) expect(debugStat(built.path, offset, dir)).toMatchObject({ uid: 0, gid: 0 });
    expect(run(['debugfs', '-R', 'cat /etc/hostname', `${built.path}?offset=${offset}`])).toBe('dra7\n');
    const ls = run(['debugfs', '-R', 'ls -l /home/user', `${built.path}?offset=${offset}`]);
    expect(ls).toMatch(/100644 \(1\)\s+0\s+0\s+5 .* notes\.txt/);
    run(['e2fsck', '-fn', `${built.path}?offset=${offset}`]); // throws unless clean
  });

  it('gives a rebuilt card the same identifiers and the same boot partition, byte for byte', async () => {
    // The same boot files, written again with other times, as a rebuild would.
    const again = path.join(base, 'again');
    writeFiles(path.join(again, 'deploy'), Object.fromEntries(BOOT_FILES.map((f) => [f, `fake ${f}\n`])));
    for (const f of BOOT_FILES) utimesSync(path.join(again, 'deploy', f), 2_000_000_000, 2_000_000_000);
    const rebuilt = await buildImage({
      layout: dra7Layout(path.join(again, 'deploy'), { dir: inputs.rootfs }),
      name: 'sdcard',
      workDir: path.join(again, 'work'),
      outDir: path.join(again, 'out'),
    });
    const fat = (img: string) => readFileSync(img).subarray(MiB, 65 * MiB);
    expect(fat(rebuilt.path).equals(fat(built.path))).toBe(true);
    const labelId = (img: string) => (JSON.parse(run(['sfdisk', '--json', img])) as { partitiontable: { id: string } }).partitiontable.id;
    expect(labelId(rebuilt.path)).toBe(`0x${stableId32('sdcard').toLowerCase()}`);
    expect(labelId(built.path)).toBe(labelId(rebuilt.path));
    const fsUuid = (img: string) => /Filesystem UUID:\s+(\S+)/.exec(run(['debugfs', '-R', 'stats', `${img}?offset=${65 * MiB}`]))?.[1];
    expect(fsUuid(rebuilt.path)).toBe(stableUuid('sdcard/root'));
    expect(fsUuid(built.path)).toBe(stableUuid('sdcard/root'));
    expect(run(['mdir', '-i', `${rebuilt.path}@@${MiB}`, '::'])).toContain(
      `Volume Serial Number is ${stableId32('sdcard/boot').slice(0, 4)}-${stableId32('sdcard/boot').slice(4)}`,
    );
  });

  it('writes a GPT with a raw image at its fixed offset, when asked', async () => {
    const dir = path.join(base, 'gpt');
    const firmware = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 251));
    writeFiles(dir, { 'fw.bin': '' });
    writeFileSync(path.join(dir, 'fw.bin'), firmware);
    const layout: ImageLayout = {
      table: 'gpt',
      partitions: [
        { name: 'boot', type: 'fat16', size: 32 * MiB, bootable: true, files: [{ from: path.join(inputs.deploy, 'MLO') }] },
        { name: 'fw', type: 'raw', offset: 40 * MiB, size: 2 * MiB, image: path.join(dir, 'fw.bin') },
        { name: 'data', type: 'ext4', size: 8 * MiB },
      ],
    };
    const img = await buildImage({ layout, name: 'gpt', workDir: dir, outDir: dir });
    const table = (
      JSON.parse(run(['sfdisk', '--json', img.path])) as { partitiontable: { label: string; id: string; partitions: Record<string, string | number>[] } }
    ).partitiontable;
    expect(table.label).toBe('gpt');
    expect(table.id.toLowerCase()).toBe(stableUuid('gpt'));
    expect(
      table.partitions.map((p) => ({ start: p.start, size: p.size, type: p.type, uuid: String(p.uuid).toLowerCase(), name: p.name, attrs: p.attrs })),
    ).toEqual([
      { start: 2048, size: 65536, type: 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7', uuid: stableUuid('gpt/boot'), name: 'boot', attrs: 'LegacyBIOSBootable' },
      { start: 81920, size: 4096, type: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', uuid: stableUuid('gpt/fw'), name: 'fw', attrs: undefined },
      { start: 86016, size: 16384, type: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', uuid: stableUuid('gpt/data'), name: 'data', attrs: undefined },
    ]);
    expect(
      readFileSync(img.path)
        .subarray(40 * MiB, 40 * MiB + firmware.length)
        .equals(firmware),
    ).toBe(true);
    expect(run(['mtype', '-i', `${img.path}@@${MiB}`, '::MLO'])).toBe('fake MLO\n');
    run(['e2fsck', '-fn', `${img.path}?offset=${42 * MiB}`]); // an empty, clean file system
  });

  // As root, the build runs as nobody, who must be able to read this checkout's dist/ (any clone under a 0755 path).
  const asRoot = process.getuid?.() === 0;
  const distBuild = path.resolve('dist/image/build.js');
  const nobodyReads =
    !asRoot || spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(distBuild)})`], { uid: 65534, gid: 65534 }).status === 0;
  const FAKEROOT_LINE = "genimage saw the root file system trees as root's under fakeroot (files of more than one owner, or no user namespaces here)";
  /** Builds a card from a tree of its own as nobody (as itself when not root); returns its uid and what the build said. */
  function buildAsNobody(name: string, opts: { extraPath?: string; tarball?: Buffer } = {}): { uid: number; lines: string[]; img: string } {
    const dir = path.join(base, name);
    mkdirSync(dir);
    if (opts.tarball) writeFileSync(path.join(dir, 'rootfs.tar'), opts.tarball);
    const from = opts.tarball ? `{ tarball: dir + '/rootfs.tar' }` : `{ dir: dir + '/rootfs' }`;
    chmodSync(base, 0o755); // a temp dir is 0700: let the other user reach its own directory
    chmodSync(dir, 0o777);
    const script = path.join(dir, 'build.mjs');
    writeFileSync(
      script,
      `import { buildImage } from ${JSON.stringify(distBuild)};
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
const dir = ${JSON.stringify(dir)};
mkdirSync(dir + '/rootfs/bin', { recursive: true });
mkdirSync(dir + '/rootfs/tmp');
writeFileSync(dir + '/rootfs/bin/su', 'su');
chmodSync(dir + '/rootfs/bin/su', 0o4755);
chmodSync(dir + '/rootfs/tmp', 0o1777);
const lines = [];
await buildImage({ layout: { table: 'mbr', partitions: [{ name: 'root', type: 'ext4', size: ${16 * MiB}, from: ${from} }] }, name: 'card', workDir: dir + '/work', outDir: dir + '/out', onLine: (l) => lines.push(l) });
console.log(JSON.stringify({ uid: process.getuid(), lines }));
`,
    );
    const env = { ...process.env, ...(opts.extraPath ? { PATH: `${opts.extraPath}:${process.env.PATH}` } : {}) };
    const out = execFileSync(process.execPath, [script], { encoding: 'utf8', cwd: dir, env, ...(asRoot ? { uid: 65534, gid: 65534 } : {}) });
    return { ...(JSON.parse(out) as { uid: number; lines: string[] }), img: path.join(dir, 'out', 'card.img') };
  }

  it.runIf(nobodyReads)('builds rootless: as an ordinary user, in a user namespace, the root file system is still root:root with its modes', () => {
    // The built xenbuild (dist/, made by `npm test` before the tests) in a process of its own, as nobody when the tests run as root.
    const { uid, lines, img } = buildAsNobody('rootless');
    expect(uid).not.toBe(0);
    expect(lines).toContain("genimage saw the root file system trees as root's in a user namespace where the builder is root (unshare --map-root-user)");
    expect(debugStat(img, MiB, '/bin/su')).toEqual({ uid: 0, gid: 0, mode: '04755' });
    expect(debugStat(img, MiB, '/tmp')).toEqual({ uid: 0, gid: 0, mode: '01777' });
  });

  it.runIf(nobodyReads)('builds rootless under fakeroot where user namespaces are refused', () => {
    const bin = path.join(base, 'no-userns-bin');
    writeFiles(bin, { unshare: '#!/bin/sh\necho "unshare: unshare failed: Operation not permitted" >&2\nexit 1\n' });
    chmodSync(path.join(bin, 'unshare'), 0o755);
    chmodSync(bin, 0o755);
    const { lines, img } = buildAsNobody('rootless-fakeroot', { extraPath: bin });
    expect(lines).toContain(FAKEROOT_LINE);
    expect(debugStat(img, MiB, '/bin/su')).toEqual({ uid: 0, gid: 0, mode: '04755' });
    expect(debugStat(img, MiB, '/tmp')).toEqual({ uid: 0, gid: 0, mode: '01777' });
  });

  it.runIf(nobodyReads)('makes the device nodes of a rootfs tarball as an ordinary user, under fakeroot in a user namespace', () => {
    // A GNU-format, xz-compressed tarball when the tests run as root (who can make one from real nodes).
    const { lines, img } = buildAsNobody('rootless-devices', { tarball: asRoot ? gnuDeviceTar(path.join(base)) : DEVICE_TAR });
    expect(lines).toContain(
      "genimage saw the root file system trees as root's under fakeroot, in a user namespace where the builder is root (files of more than one owner, or device nodes to make)",
    );
    expectDeviceNodes(img, MiB);
  });

  it('keeps the image sparse', () => {
    const blocks = Number(run(['stat', '-c', '%b', built.path]).trim());
    expect(blocks * 512).toBeLessThan(built.size / 4);
  });

  it('fills the root from a compressed rootfs tarball, owned by root:root', async () => {
    const tarDir = path.join(base, 'tar');
    mkdirSync(tarDir);
    const tarball = path.join(tarDir, 'rootfs.tar');
    await createTar({ file: tarball, cwd: inputs.rootfs, portable: false }, ['.']);
    run(['xz', '-T0', tarball]);
    const out = path.join(tarDir, 'out');
    const img = await buildImage({ layout: dra7Layout(inputs.deploy, { tarball: `${tarball}.xz` }), name: 'card', workDir: tarDir, outDir: out });
    expect(debugStat(img.path, 65 * MiB, '/home/user/notes.txt')).toEqual({ uid: 0, gid: 0, mode: '0644' });
    expect(debugStat(img.path, 65 * MiB, '/bin/hello')).toEqual({ uid: 0, gid: 0, mode: '0755' });
    expect(debugStat(img.path, 65 * MiB, '/bin/su')).toEqual({ uid: 0, gid: 0, mode: '04755' });
    expect(debugStat(img.path, 65 * MiB, '/tmp')).toEqual({ uid: 0, gid: 0, mode: '01777' });
    expect(readdirSync(out)).toEqual(['card.img']);
  });

  /** A rootfs tarball of `entries` is refused for `entry`, and no image is made. */
  async function expectRefused(dir: string, entries: RawEntry[], entry: string, why: string): Promise<void> {
    const tarball = path.join(dir, 'rootfs.tar');
    writeFileSync(tarball, rawTar(entries));
    const failure = await failureOf(buildImage({ layout: dra7Layout(inputs.deploy, { tarball }), name: 'refused', workDir: dir, outDir: dir }));
    expect(failure).toEqual({ reason: 'unsafe-archive-entry', archive: 'rootfs.tar', entry, why });
    expect(existsSync(path.join(dir, 'refused.img'))).toBe(false);
  }

  it('makes the device nodes and FIFOs of a rootfs tarball, ustar and GNU format, and refuses entries that escape it', async () => {
    const dir = path.join(base, 'special');
    mkdirSync(dir);
    const tarball = path.join(dir, 'rootfs.tar');
    const formats: [string, Buffer][] = [['ustar', DEVICE_TAR], ...(asRoot ? [['gnu', gnuDeviceTar(dir)] as [string, Buffer]] : [])];
    expect(formats).toHaveLength(asRoot ? 2 : 1);
    for (const [format, archive] of formats) {
      writeFileSync(tarball, archive);
      const lines: string[] = [];
      const img = await buildImage({
        layout: dra7Layout(inputs.deploy, { tarball }),
        name: `special-${format}`,
        workDir: dir,
        outDir: dir,
        onLine: (l) => lines.push(l),
      });
      expect(lines.find((l) => l.includes('device nodes'))).toMatch(
        /^4 device nodes and FIFOs of rootfs\.tar for partition root: (\.\/(dev\/console|dev\/null|dev\/mmcblk0|run\/initctl) ?){4}$/,
      );
      expectDeviceNodes(img.path, 65 * MiB);
      expect(debugStat(img.path, 65 * MiB, '/etc/hostname')).toEqual({ uid: 0, gid: 0, mode: '0644' });
    }

    await expectRefused(dir, [{ path: '../evil', type: 'File', body: 'x' }], '../evil', 'has a ".." path component');
  });

  it('keeps the absolute and outward symlinks of a root file system, but never writes through one', async () => {
    const dir = path.join(base, 'links');
    mkdirSync(dir);
    const tarball = path.join(dir, 'rootfs.tar');
    writeFileSync(
      tarball,
      rawTar([
        { path: './bin/', type: 'Directory' },
        { path: './bin/busybox', type: 'File', body: 'bb\n' },
        { path: './bin/sh', type: 'SymbolicLink', linkpath: '/bin/busybox' },
        { path: './usr/lib/libc.so', type: 'SymbolicLink', linkpath: '../../../lib/libc.so.6' },
      ]),
    );
    const img = await buildImage({ layout: dra7Layout(inputs.deploy, { tarball }), name: 'links', workDir: dir, outDir: dir });
    expect(run(['debugfs', '-R', 'stat /bin/sh', `${img.path}?offset=${65 * MiB}`])).toMatch(/Fast link dest: "\/bin\/busybox"/);
    expect(run(['debugfs', '-R', 'stat /usr/lib/libc.so', `${img.path}?offset=${65 * MiB}`])).toMatch(/Fast link dest: "..\/..\/..\/lib\/libc.so.6"/);

    const through: RawEntry[] = [
      { path: './lib', type: 'SymbolicLink', linkpath: '/usr/lib' },
      { path: './lib/evil.so', type: 'File', body: 'x' },
    ];
    await expectRefused(dir, through, './lib/evil.so', 'would be written through the symlink lib');
  });

  it('makes thousands of files root:root', async () => {
    const tree = path.join(base, 'many');
    mkdirSync(path.join(tree, 'lib'), { recursive: true });
    for (let i = 0; i < 2500; i++) {
      writeFileSync(path.join(tree, 'lib', `f${i}`), '');
      if (process.getuid?.() === 0) chownSync(path.join(tree, 'lib', `f${i}`), 1000, 1000);
    }
    const layout: ImageLayout = { table: 'mbr', partitions: [{ name: 'root', type: 'ext4', size: 32 * MiB, from: { dir: tree } }] };
    const img = await buildImage({ layout, name: 'many', workDir: tree + '-work', outDir: tree + '-out' });
    expect(debugStat(img.path, MiB, '/lib/f0')).toEqual({ uid: 0, gid: 0, mode: '0644' });
    expect(debugStat(img.path, MiB, '/lib/f2499')).toEqual({ uid: 0, gid: 0, mode: '0644' });
  });

  it('names every missing input before running anything', async () => {
    const layout = dra7Layout(path.join(base, 'nowhere'), { dir: path.join(base, 'no-rootfs') });
    const err = await buildImage({ layout, name: 'x', workDir: path.join(base, 'work'), outDir: path.join(base, 'out') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageError);
    expect((err as ImageError).problems).toHaveLength(7);
    expect((err as ImageError).problems[0]).toBe(`partition boot: ${path.join(base, 'nowhere', 'MLO')} does not exist (was the task that makes it run?)`);
    expect((err as ImageError).problems[6]).toBe(`partition root: ${path.join(base, 'no-rootfs')} is not a directory`);
  });

  it('leaves no image in outDir when interrupted mid-genimage', async () => {
    const outDir = path.join(base, 'out-interrupted');
    const workDir = path.join(base, 'work-interrupted');
    mkdirSync(outDir);
    writeFileSync(path.join(outDir, 'sdcard.img'), 'an image of an earlier build');
    // Enough data that genimage is still working when its first line arrives.
    const big = path.join(base, 'bigroot');
    mkdirSync(big);
    for (let i = 0; i < 8; i++) writeFileSync(path.join(big, `blob${i}`), Buffer.alloc(8 * MiB, i + 1));
    const controller = new AbortController();
    const lines: string[] = [];
    const failure = await failureOf(
      buildImage({
        layout: dra7Layout(inputs.deploy, { dir: big }),
        name: 'sdcard',
        workDir,
        outDir,
        signal: controller.signal,
        onLine: (line) => {
          lines.push(line);
          if (line.startsWith('INFO')) controller.abort(); // genimage is running
        },
      }),
    );
    expect(failure).toEqual({ reason: 'cancelled' });
    expect(lines.some((l) => l.startsWith('INFO'))).toBe(true);
    expect(existsSync(path.join(outDir, 'sdcard.img'))).toBe(false);
    expect(readdirSync(outDir)).toEqual([]);
    expect(readdirSync(workDir)).toEqual([]);
  });
});
