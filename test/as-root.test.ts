import { chownSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runAsRoot, treeOwners, userNamespaces } from '../src/image/as-root.js';
import { makeTempDir, removeTempDirs, writeFiles } from './util/tmp.js';

afterAll(removeTempDirs);

const asRoot = process.getuid?.() === 0;

describe('treeOwners', () => {
  it('tells a tree of root from a tree of the builder from a mixed one', () => {
    const dir = makeTempDir('xenbuild-owners-');
    writeFiles(dir, { 'a/b/c.txt': 'x', 'd.txt': 'y' });
    const me = { uid: process.geteuid!(), gid: process.getegid!() };
    expect(treeOwners([dir], me)).toBe(asRoot ? 'root' : 'builder');
    expect(treeOwners([dir], { uid: 4242, gid: 4242 })).toBe(asRoot ? 'root' : 'mixed');
    if (asRoot) {
      chownSync(path.join(dir, 'a/b/c.txt'), 1000, 1000);
      expect(treeOwners([dir])).toBe('mixed');
      for (const p of ['', 'a', 'a/b', 'd.txt']) chownSync(path.join(dir, p), 1000, 1000);
      expect(treeOwners([dir], { uid: 1000, gid: 1000 })).toBe('builder');
      // The same owner but another group is not the builder's own: the user namespace maps only the builder's group to 0.
      chownSync(path.join(dir, 'd.txt'), 1000, 100);
      expect(treeOwners([dir], { uid: 1000, gid: 1000 })).toBe('mixed');
    }
  });
});

describe('runAsRoot', () => {
  it('runs the program as it is when every file is root:root, under fakeroot when not', async () => {
    const dir = makeTempDir('xenbuild-asroot-');
    writeFiles(dir, { 'etc/hostname': 'x\n' });
    const file = path.join(dir, 'etc/hostname');
    const seen: string[] = [];
    const run = { cwd: dir, env: {}, onLine: (l: string) => seen.push(l) };
    const first = await runAsRoot(['stat', '-c', '%u:%g', file], [dir], run);
    expect(first).toBe(asRoot ? 'as-is' : (await userNamespaces()) ? 'user-namespace' : 'fakeroot');
    expect(seen).toEqual(['0:0']);
    if (asRoot) {
      chownSync(file, 1000, 1000);
      seen.length = 0;
      expect(await runAsRoot(['stat', '-c', '%u:%g', file], [dir], run)).toBe('fakeroot');
      expect(seen).toEqual(['0:0']);
    }
  });
});
