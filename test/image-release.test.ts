import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, type BuiltImage } from '../src/image/build.js';
import { ImageError } from '../src/image/error.js';
import { release, sha256File, type ReleaseManifest } from '../src/image/release.js';
import { makeTempDir, removeTempDirs, writeFiles } from './util/tmp.js';

const MiB = 1024 * 1024;
const run = (argv: string[], cwd?: string) => execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', cwd, stdio: ['ignore', 'pipe', 'pipe'] });

const MANIFEST: Omit<ReleaseManifest, 'artifacts'> = {
  board: 'dra7-evm',
  profile: 'glsdk7',
  xenbuildVersion: '0.1.0',
  components: [
    { component: 'toolchain', recipe: 'debian-armhf', description: "Debian 12's cross toolchain" },
    { component: 'xen', recipe: 'xen', version: '4.5.1-rc1' },
  ],
  sources: [
    { component: 'xen', kind: 'git', url: 'git://xenbits.xen.org/xen.git', ref: '4.5.1-rc1', commit: '0c4e0ef608c98abef6220b0b027d9ce8ec65fd5f' },
    { component: 'rootfs', kind: 'debian', url: 'http://archive.example.invalid/debian', version: '1:1.35.0-4', sha256: 'ab'.repeat(32) },
  ],
  patches: [{ path: 'patches/xen/4.5.1-rc1/0001-hyp.patch', sha256: 'cd'.repeat(32) }],
  tools: [{ name: 'genimage', version: '16' }],
  memoryMap: { ram: [{ start: 0x80000000, size: 0x60000000 }], xen: 0x80200000 },
};

let base: string;
let deploy: string;
let built: BuiltImage;

beforeAll(async () => {
  base = makeTempDir('xenbuild-release-');
  deploy = path.join(base, 'deploy');
  writeFiles(deploy, { MLO: 'mlo', 'u-boot.img': 'u-boot', 'xen-uImage': 'xen' });
  writeFiles(path.join(base, 'rootfs'), { 'etc/hostname': 'dra7\n', 'var/data': 'x'.repeat(300_000) });
  built = await buildImage({
    layout: {
      table: 'mbr',
      partitions: [
        {
          name: 'boot',
          type: 'fat32',
          size: 34 * MiB,
          bootable: true,
          files: ['MLO', 'u-boot.img', 'xen-uImage'].map((f) => ({ from: path.join(deploy, f) })),
        },
        { name: 'root', type: 'ext4', size: 48 * MiB, from: { dir: path.join(base, 'rootfs') } },
      ],
    },
    name: 'sdcard',
    workDir: path.join(base, 'work'),
    outDir: deploy,
  });
});
afterAll(removeTempDirs);

describe('release', () => {
  it('writes the bmap, a zstd copy, the manifest and SHA256SUMS next to the image', async () => {
    const before = statSync(built.path);
    const r = await release({ image: built.path, outDir: deploy, compress: 'zst', manifest: MANIFEST, artifacts: ['MLO', path.join(deploy, 'xen-uImage')] });
    expect(readdirSync(deploy).sort()).toEqual([
      'MLO',
      'SHA256SUMS',
      'manifest.json',
      'sdcard.img',
      'sdcard.img.bmap',
      'sdcard.img.zst',
      'u-boot.img',
      'xen-uImage',
    ]);
    expect(statSync(built.path).ino).toBe(before.ino); // never copied
    expect(statSync(built.path).blocks * 512).toBeLessThan(before.size / 4); // still sparse

    // sha256sum -c in the deploy dir checks every listed file.
    const check = run(['sha256sum', '-c', 'SHA256SUMS'], deploy);
    expect(check.trim().split('\n')).toEqual(['sdcard.img', 'sdcard.img.bmap', 'sdcard.img.zst', 'MLO', 'xen-uImage', 'manifest.json'].map((f) => `${f}: OK`));

    const manifest = JSON.parse(readFileSync(r.manifest, 'utf8')) as ReleaseManifest;
    expect(manifest).toEqual({ ...MANIFEST, artifacts: r.artifacts });
    expect(r.artifacts.map((a) => a.path)).toEqual(['sdcard.img', 'sdcard.img.bmap', 'sdcard.img.zst', 'MLO', 'xen-uImage']);
    expect(r.artifacts[0]).toEqual({ path: 'sdcard.img', size: built.size, sha256: await sha256File(built.path) });
    expect(Object.keys(JSON.parse(readFileSync(r.manifest, 'utf8')))).toEqual([
      'artifacts',
      'board',
      'components',
      'memoryMap',
      'patches',
      'profile',
      'sources',
      'tools',
      'xenbuildVersion',
    ]);

    // The compressed copy is the image.
    run(['zstd', '-d', '-q', '--long=27', '-o', path.join(base, 'unpacked.img'), r.compressed]);
    expect(await sha256File(path.join(base, 'unpacked.img'))).toBe(r.artifacts[0]!.sha256);
  });

  it('makes a bmap that bmaptool copies with, and that covers the data', async () => {
    const bmap = readFileSync(path.join(deploy, 'sdcard.img.bmap'), 'utf8');
    expect(bmap).toMatch(/<bmap version="2\.0">/);
    expect(bmap).toMatch(/<ChecksumType> sha256 <\/ChecksumType>/);
    expect(bmap).toContain(`<ImageSize> ${built.size} </ImageSize>`);
    const copy = path.join(base, 'copy.img');
    writeFileSync(copy, Buffer.alloc(MiB, 0xff)); // garbage where the image has holes must not survive
    run(['bmaptool', 'copy', '--bmap', path.join(deploy, 'sdcard.img.bmap'), built.path, copy]);
    expect(await sha256File(copy)).toBe(await sha256File(built.path));
    // bmaptool finds the bmap by itself, also for the compressed copy.
    const fromZst = path.join(base, 'from-zst.img');
    run(['bmaptool', 'copy', path.join(deploy, 'sdcard.img.zst'), fromZst]);
    expect(await sha256File(fromZst)).toBe(await sha256File(built.path));
  });

  it('copies an image from elsewhere sparsely, and compresses with xz', async () => {
    const other = path.join(base, 'other');
    mkdirSync(other);
    const r = await release({ image: built.path, outDir: other, compress: 'xz', manifest: MANIFEST });
    expect(readdirSync(other).sort()).toEqual(['SHA256SUMS', 'manifest.json', 'sdcard.img', 'sdcard.img.bmap', 'sdcard.img.xz']);
    expect(statSync(r.image).blocks).toBeLessThanOrEqual(statSync(built.path).blocks + 64);
    expect(run(['sha256sum', '-c', 'SHA256SUMS'], other)).toMatch(/sdcard\.img\.xz: OK/);
    run(['xz', '-t', r.compressed]); // a sound xz stream
  });

  it('refuses artifacts outside the deploy dir', async () => {
    const err = await release({ image: built.path, outDir: deploy, compress: 'zst', manifest: MANIFEST, artifacts: ['../rootfs/etc/hostname'] }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ImageError);
    expect((err as Error).message).toBe(`artifact ../rootfs/etc/hostname is not inside the deploy directory ${deploy}`);
  });
});
