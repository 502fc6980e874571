import { chmodSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256File } from '../src/host/hasher.js';
import { Rig } from './util/rig.js';
import { debugStat, run } from './util/rootfs.js';

/**
 * Root file systems as recipes, through the whole engine: a vendor's pinned
 * rootfs tarball kept whole (`unpack: false`), and a directory a task makes,
 * each filling the ext4 partition of a card image.
 */
const MiB = 1024 * 1024;
const debugfs = (img: string, request: string) => run(['debugfs', '-R', request, `${img}?offset=${2 * MiB}`]);
const statOf = (img: string, file: string) => debugStat(img, 2 * MiB, file);

const BOARD = (name: string, component: string, recipe: string, from: string) => `board: ${name}
components:
  ${component}: ${recipe}
image:
  table: mbr
  partitions:
    - { name: root, type: ext4, size: 16M, offset: 2M, from: ${from} }
`;

let rig: Rig;
let tarballSha: string;

beforeAll(async () => {
  rig = new Rig('xenbuild-rootfs-');
  // A vendor's root file system: absolute symlinks, a setuid binary, files of uid 1000, gzip'd by tar.
  const tree = join(rig.dir, 'vendor-tree');
  mkdirSync(join(tree, 'bin'), { recursive: true });
  mkdirSync(join(tree, 'etc'), { recursive: true });
  writeFileSync(join(tree, 'bin', 'busybox'), 'busybox\n');
  chmodSync(join(tree, 'bin', 'busybox'), 0o4755);
  symlinkSync('/bin/busybox', join(tree, 'bin', 'sh'));
  symlinkSync('/proc/mounts', join(tree, 'etc', 'mtab'));
  writeFileSync(join(tree, 'etc', 'issue'), 'TI GLSDK 7.00.00.04\n');
  run(['tar', '--owner=1000', '--group=1000', '-C', tree, '-czf', join(rig.dir, 'tisdk-rootfs.tar.gz'), '.']);
  tarballSha = await sha256File(join(rig.dir, 'tisdk-rootfs.tar.gz'));
  rig.write(
    'recipes/vendor-rootfs.yaml',
    `recipe: vendor-rootfs
source:
  tarball: ${join(rig.dir, 'tisdk-rootfs.tar.gz')}
  sha256: ${tarballSha}
  unpack: false
exports:
  tisdk-rootfs.tar.gz: tisdk-rootfs.tar.gz
`,
  );
  rig.write('configs/boards/vendor.yaml', BOARD('vendor', 'rootfs', 'vendor-rootfs', 'tisdk-rootfs.tar.gz'));

  // A root tree a task assembles from a project directory (its input).
  rig.write('overlay/etc/motd', 'hello from xenbuild\n');
  rig.write('overlay/sbin/init', '#!/bin/sh\nexec /bin/sh\n');
  chmodSync(rig.path('overlay/sbin/init'), 0o755);
  rig.write(
    'recipes/overlay-rootfs.yaml',
    `recipe: overlay-rootfs
tasks:
  assemble:
    run: [cp, -a, "\${root}/overlay", "\${builddir}/rootfs"]
    inputs: [overlay]
    outputs: ["\${builddir}/rootfs"]
exports:
  rootfs: "\${builddir}/rootfs"
`,
  );
  rig.write('configs/boards/overlay.yaml', BOARD('overlay', 'rootfs', 'overlay-rootfs', 'rootfs'));
});
afterAll(() => rig.dispose());

describe('a vendor rootfs tarball (unpack: false)', () => {
  it('is fetched sha256-checked, kept whole, and unpacked into the ext4 root:root with its links and modes', () => {
    const r = rig.xenbuild(['all', '--board', 'vendor']);
    expect(r.stderr + r.stdout).not.toMatch(/error/i);
    expect(r.status).toBe(0);
    const deploy = rig.path('build/vendor/deploy');
    expect(existsSync(join(deploy, 'tisdk-rootfs.tar.gz'))).toBe(true);
    const img = join(deploy, 'vendor.img');
    expect(debugfs(img, 'cat /etc/issue')).toBe('TI GLSDK 7.00.00.04\n');
    expect(debugfs(img, 'stat /bin/sh')).toMatch(/Fast link dest: "\/bin\/busybox"/);
    expect(debugfs(img, 'stat /etc/mtab')).toMatch(/Fast link dest: "\/proc\/mounts"/);
    expect(statOf(img, '/bin/busybox')).toEqual({ uid: 0, gid: 0, mode: '04755' });
    expect(statOf(img, '/etc/issue')).toMatchObject({ uid: 0, gid: 0 });
    // The release lists the tarball it was made from.
    expect(run(['sha256sum', '-c', 'SHA256SUMS'], deploy)).toContain('tisdk-rootfs.tar.gz: OK');
  });

  it('refuses a tarball whose sha256 differs, naming both', () => {
    rig.write('configs/boards/vendor-bad.yaml', BOARD('vendor-bad', 'rootfs', 'vendor-rootfs-bad', 'tisdk-rootfs.tar.gz'));
    rig.write(
      'recipes/vendor-rootfs-bad.yaml',
      rig.read('recipes/vendor-rootfs.yaml').replace('recipe: vendor-rootfs', 'recipe: vendor-rootfs-bad').replace(tarballSha, 'f'.repeat(64)),
    );
    const r = rig.xenbuild(['all', '--board', 'vendor-bad']);
    expect(r.status).not.toBe(0);
    expect(r.stderr + r.stdout).toContain(tarballSha);
    expect(r.stderr + r.stdout).toContain('f'.repeat(64));
    expect(existsSync(rig.path('build/vendor-bad/deploy/vendor-bad.img'))).toBe(false);
  });
});

describe('a directory made by a task', () => {
  it('fills the ext4 partition, root:root, with its modes', () => {
    const r = rig.xenbuild(['all', '--board', 'overlay']);
    expect(r.status).toBe(0);
    const img = rig.path('build/overlay/deploy/overlay.img');
    expect(debugfs(img, 'cat /etc/motd')).toBe('hello from xenbuild\n');
    expect(statOf(img, '/sbin/init')).toEqual({ uid: 0, gid: 0, mode: '0755' });
    // The directory is an artifact in deploy/, but not a release file (SHA256SUMS lists files).
    expect(existsSync(rig.path('build/overlay/deploy/rootfs/etc/motd'))).toBe(true);
    expect(rig.read('build/overlay/deploy/SHA256SUMS')).not.toMatch(/ rootfs$/m);
  });

  it('is up to date when nothing changed, and a changed file inside it rebuilds the image', () => {
    let r = rig.xenbuild(['all', '--board', 'overlay']);
    expect(r.status).toBe(0);
    expect(Object.values(rig.statuses('overlay')).every((s) => s === 'fresh')).toBe(true);

    rig.write('overlay/etc/motd', 'changed\n');
    r = rig.xenbuild(['all', '--board', 'overlay']);
    expect(r.status).toBe(0);
    const statuses = rig.statuses('overlay');
    expect(statuses['rootfs:assemble']).toBe('ran');
    expect(statuses['rootfs:deploy']).toBe('ran');
    expect(statuses['image:sdcard']).toBe('ran');
    expect(debugfs(rig.path('build/overlay/deploy/overlay.img'), 'cat /etc/motd')).toBe('changed\n');
  });

  it('a changed mode inside the tree counts as a change too', () => {
    chmodSync(rig.path('overlay/etc/motd'), 0o600);
    const r = rig.xenbuild(['all', '--board', 'overlay']);
    expect(r.status).toBe(0);
    expect(rig.statuses('overlay')['image:sdcard']).toBe('ran');
    expect(statOf(rig.path('build/overlay/deploy/overlay.img'), '/etc/motd').mode).toBe('0600');
  });
});
