/**
 * busybox-root with trees and files: a root made of busybox, a tree of
 * unpacked Debian packages (links kept as links) and single files, as the
 * qemu-arm32 toolstack profile's dom0 root is. (CI boots that root to a guest.)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runBusyboxRoot } from '../src/actions/busybox-root.js';
import { Rig } from './util/rig.js';
import { makeContext, makeTempDir, removeTempDirs } from './util/tmp.js';

afterAll(removeTempDirs);

describe('busybox-root', () => {
  it('copies trees in (links as links, no .git), then files, then its own init over whatever a tree had there', async () => {
    const dir = makeTempDir();
    const tree = path.join(dir, 'debs');
    for (const d of ['lib', 'usr/sbin', 'sbin', '.git']) mkdirSync(path.join(tree, d), { recursive: true });
    writeFileSync(path.join(tree, 'lib/ld-linux-armhf.so.3.real'), 'loader\n');
    symlinkSync('ld-linux-armhf.so.3.real', path.join(tree, 'lib/ld-linux-armhf.so.3'));
    writeFileSync(path.join(tree, 'usr/sbin/xl'), '#!/bin/sh\n');
    writeFileSync(path.join(tree, 'sbin/init'), 'a package init\n');
    writeFileSync(path.join(tree, '.git/HEAD'), 'ref\n');
    writeFileSync(path.join(dir, 'busybox'), 'busybox\n');
    writeFileSync(path.join(dir, 'init'), '#!/bin/sh\necho ours\n');
    writeFileSync(path.join(dir, 'zImage'), 'kernel\n');
    const out = path.join(dir, 'out', 'root.tar');
    const ctx = makeContext({ srcDir: path.join(dir, 'src'), cacheDir: path.join(dir, 'cache') });
    await runBusyboxRoot(
      {
        kind: 'busybox-root',
        busybox: path.join(dir, 'busybox'),
        init: { path: path.join(dir, 'init'), name: 'init' },
        trees: [tree],
        files: [{ from: path.join(dir, 'zImage'), to: 'guest/vmlinuz' }],
        format: 'tar',
        output: { path: out, name: 'root.tar' },
      },
      ctx,
    );
    const listing = execFileSync('tar', ['-tvf', out], { encoding: 'utf8' });
    expect(listing).toMatch(/^l\S+ 0\/0 +0 \S+ \S+ lib\/ld-linux-armhf\.so\.3 -> ld-linux-armhf\.so\.3\.real$/m);
    expect(listing).toMatch(/ usr\/sbin\/xl$/m);
    expect(listing).toMatch(/ guest\/vmlinuz$/m);
    expect(listing).not.toContain('.git');
    expect(execFileSync('tar', ['-xOf', out, 'sbin/init'], { encoding: 'utf8' })).toBe('#!/bin/sh\necho ours\n');
    expect(execFileSync('tar', ['-xOf', out, 'guest/vmlinuz'], { encoding: 'utf8' })).toBe('kernel\n');
  });

  it('refuses, at analysis, a file whose place would leave the root', () => {
    const rig = new Rig();
    try {
      rig.write('init', '#!/bin/sh\n');
      rig.write(
        'recipes/r.yaml',
        'recipe: r\ntasks:\n  root:\n    busybox-root:\n      busybox: /bin/true\n      init: init\n      files: [{ from: /etc/hostname, to: ../../etc/evil }]\n      tar: "${builddir}/r.tar"\n',
      );
      rig.write('configs/boards/b.yaml', 'board: b\ncomponents:\n  r: r\n');
      const r = rig.xenbuild(['list', '--board', 'b']);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/r\.yaml:7:\d+: error: "\.\.\/\.\.\/etc\/evil" is not a relative path inside the root/);
    } finally {
      rig.dispose();
    }
  });
});
