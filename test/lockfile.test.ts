/**
 * xenbuild.lock.json: `xenbuild lock` records what every source resolved to
 * (Debian files by name, size, sha256 and sha1), `--frozen` refuses a build
 * whose recipes and lock disagree, `--update` moves an entry on purpose, and a
 * locked Debian version that left the archive comes from Debian's snapshot
 * archive (a directory in its layout here), checked against the lock.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAptRepo, type AptRepo } from './util/apt-repo.js';
import { Rig } from './util/rig.js';
import { makeTempDir, removeTempDirs } from './util/tmp.js';

afterAll(removeTempDirs);

const sha = (algo: 'sha256' | 'sha1', file: string) => createHash(algo).update(readFileSync(file)).digest('hex');

interface Lock {
  lockfileVersion: number;
  sources: Record<string, { version?: string; commit?: string; files?: { name: string; size: number; sha256: string; sha1: string }[]; dsc?: string }>;
}

describe('the lock file', () => {
  const rig = new Rig('xenbuild-lockfile-');
  let repo: AptRepo;
  let lib: { url: string; commit: string };
  const lock = (): Lock => JSON.parse(rig.read('xenbuild.lock.json')) as Lock;
  const xb = (args: string[]) => rig.xenbuild([...args, '--mirror', repo.mirrorDir, '--reporter', 'plain']);
  const HELLO = (version: string) =>
    `recipe: hello-deb\nsource: { debian-binary: hello-static, version: "${version}", arch: armhf }\nexports: { hello: bin/hello }\n`;

  beforeAll(() => {
    repo = makeAptRepo(makeTempDir('xenbuild-lock-repo-'), {
      binaries: [
        { name: 'hello-static', version: '1:1.0-1', files: { 'bin/hello': 'hello 1.0\n' } },
        { name: 'hello-static', version: '1:1.1-1', files: { 'bin/hello': 'hello 1.1\n' } },
      ],
      sources: [{ name: 'demo', upstream: '1.0', revision: '1', files: { 'greeting.txt': 'hello\n' }, patches: {} }],
    });
    lib = rig.upstream('lib', { 'lib.txt': 'lib\n' }, 'v1');
    rig.write('recipes/hello-deb.yaml', HELLO('1:1.0-1'));
    rig.write('recipes/demo-src.yaml', 'recipe: demo-src\nsource: { debian-source: demo, version: 1.0-1 }\nexports: { greeting.txt: greeting.txt }\n');
    rig.write('recipes/lib.yaml', `recipe: lib\nsource: { git: "${lib.url}", ref: v1, commit: ${lib.commit} }\nexports: { lib.txt: lib.txt }\n`);
    rig.write('configs/boards/lk.yaml', 'board: lk\ncomponents:\n  hello: hello-deb\n  demo: demo-src\n  lib: lib\n');
  });
  afterAll(() => rig.dispose());

  it('xenbuild lock writes every source resolved to its files, sorted, and a second run changes nothing', () => {
    const r = xb(['lock', '--board', 'lk']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^locked +hello-deb: Debian package hello-static:armhf 1:1\.0-1$/m);
    expect(r.stdout).toMatch(/^locked +demo-src: Debian source demo 1\.0-1, \d files$/m);
    expect(r.stdout).toMatch(/^locked +lib: .*upstream\/lib [0-9a-f]{12}$/m);
    const l = lock();
    expect(Object.keys(l.sources)).toEqual(['demo-src', 'hello-deb', 'lib']);
    const deb = join(repo.mirrorDir, 'debian/pool/main/h/hello-static/hello-static_1.0-1_armhf.deb');
    expect(l.sources['hello-deb']!.files).toEqual([
      { name: 'hello-static_1%3a1.0-1_armhf.deb', size: readFileSync(deb).length, sha256: sha('sha256', deb), sha1: sha('sha1', deb) },
    ]);
    const dsc = join(repo.mirrorDir, 'debian/pool/main/d/demo/demo_1.0-1.dsc');
    expect(l.sources['demo-src']!.dsc).toBe('demo_1.0-1.dsc');
    expect(l.sources['demo-src']!.files).toContainEqual({
      name: 'demo_1.0-1.dsc',
      size: readFileSync(dsc).length,
      sha256: sha('sha256', dsc),
      sha1: sha('sha1', dsc),
    });
    expect(l.sources.lib).toEqual({ git: lib.url, ref: 'v1', commit: lib.commit });
    const text = rig.read('xenbuild.lock.json');
    const again = xb(['lock', '--board', 'lk']);
    expect(again.status, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^kept +hello-deb$/m);
    expect(rig.read('xenbuild.lock.json')).toBe(text);
  });

  it('--frozen builds when the recipes and the lock agree', () => {
    const r = xb(['all', '--board', 'lk', '--frozen']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(rig.read('build/lk/deploy/hello')).toBe('hello 1.0\n');
  });

  it('--frozen fails naming the recipe line when a pin moved; without it the recipe wins with a warning; lock --update moves the entry', () => {
    const before = rig.read('xenbuild.lock.json');
    rig.write('recipes/hello-deb.yaml', HELLO('1:1.1-1'));
    const frozen = xb(['all', '--board', 'lk', '--frozen']);
    expect(frozen.status).toBe(2);
    expect(frozen.stderr).toMatch(
      /recipes\/hello-deb\.yaml:2:\d+: error: --frozen: this source and its entry "hello-deb" in xenbuild\.lock\.json disagree: version 1:1\.1-1 in the recipe, 1:1\.0-1 in the lock/,
    );
    expect(frozen.stderr).toContain('hint: move the lock on purpose with xenbuild lock --update hello --board lk, and commit it');
    expect(existsSync(join(rig.project, 'build/lk/state/hello:fetch.json'))).toBe(true);
    expect(rig.read('build/lk/deploy/hello')).toBe('hello 1.0\n');

    const loose = xb(['all', '--board', 'lk']);
    expect(loose.status, loose.stdout + loose.stderr).toBe(0);
    expect(loose.stderr).toMatch(/recipes\/hello-deb\.yaml:2:\d+: warning: this source and its entry "hello-deb" in xenbuild\.lock\.json disagree/);
    expect(rig.read('build/lk/deploy/hello')).toBe('hello 1.1\n');

    const refused = xb(['lock', '--board', 'lk']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(
      /xenbuild\.lock\.json disagrees with the recipes, and was left as it is:\n {2}hello-deb \(component hello\): version 1:1\.1-1 in the recipe, 1:1\.0-1 in the lock/,
    );
    expect(rig.read('xenbuild.lock.json')).toBe(before);

    const moved = xb(['lock', '--update', 'hello', '--board', 'lk']);
    expect(moved.status, moved.stdout + moved.stderr).toBe(0);
    expect(moved.stdout).toMatch(/^updated hello-deb: Debian package hello-static:armhf 1:1\.1-1$/m);
    expect(moved.stdout).toMatch(/^kept +demo-src$/m);
    expect(lock().sources['hello-deb']!.version).toBe('1:1.1-1');
    expect(xb(['all', '--board', 'lk', '--frozen']).status).toBe(0);
  });

  it('--frozen fails for a source the lock does not have, and for a lock that is not one', () => {
    const l = lock();
    delete l.sources.lib;
    writeFileSync(join(rig.project, 'xenbuild.lock.json'), JSON.stringify(l));
    const missing = xb(['all', '--board', 'lk', '--frozen']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/recipes\/lib\.yaml:2:\d+: error: --frozen: lib is not in xenbuild\.lock\.json/);
    writeFileSync(join(rig.project, 'xenbuild.lock.json'), '{"lockfileVersion": 1, "sources": {"x": {"git": "u", "commit": "HEAD; rm -rf /"}}}');
    const bad = xb(['all', '--board', 'lk', '--frozen']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/xenbuild\.lock\.json: the entry "x" is not a source xenbuild locks: run xenbuild lock --update/);
    expect(xb(['lock', '--board', 'lk']).status).toBe(2);
    rmSync(join(rig.project, 'xenbuild.lock.json'));
    expect(xb(['lock', '--board', 'lk']).status).toBe(0);
  });

  describe("a locked version that left the archive comes from Debian's snapshot archive", () => {
    let snapshot: string;
    let moved: AptRepo;
    beforeAll(() => {
      // The snapshot archive's layout: every file by its sha1 under file/.
      snapshot = makeTempDir('xenbuild-snapshot-');
      mkdirSync(join(snapshot, 'file'));
      const pool = readdirSync(join(repo.mirrorDir, 'debian/pool/main'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
      const bySha1 = new Map(pool.map((e) => [sha('sha1', join(e.parentPath, e.name)), join(e.parentPath, e.name)]));
      for (const f of Object.values(lock().sources).flatMap((s) => s.files ?? [])) copyFileSync(bySha1.get(f.sha1)!, join(snapshot, 'file', f.sha1));
      // The archive moved on: only a newer hello-static and demo.
      moved = makeAptRepo(makeTempDir('xenbuild-lock-moved-'), {
        binaries: [{ name: 'hello-static', version: '1:1.2-1', files: { 'bin/hello': 'hello 1.2\n' } }],
        sources: [{ name: 'demo', upstream: '1.0', revision: '3', files: { 'greeting.txt': 'hello 3\n' }, patches: {} }],
      });
      rmSync(join(rig.dir, 'cache'), { recursive: true, force: true });
      rmSync(join(rig.project, 'build'), { recursive: true, force: true });
    });
    const build = (env: Record<string, string>) =>
      rig.xenbuild(['all', '--board', 'lk', '--frozen', '--mirror', moved.mirrorDir, '--reporter', 'plain', '--no-task-cache'], env);

    it('without a snapshot setting, the fetch fails saying what the archive has', () => {
      const r = build({});
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(/version 1:1\.1-1 is not available: the archive .* has 1:1\.2-1/);
    });

    it('with one, each file comes by its sha1 and is checked against the lock', () => {
      const r = build({ XENBUILD_DEBIAN_SNAPSHOT: snapshot });
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(rig.read('build/lk/deploy/hello')).toBe('hello 1.1\n');
      expect(rig.read('build/lk/deploy/greeting.txt')).toBe('hello\n');
      expect(rig.read('build/lk/logs/hello:fetch.log')).toMatch(/hello-static_1%3a1\.1-1_armhf\.deb: from Debian's snapshot archive, .*\/file\/[0-9a-f]{40}/);
    });

    it('a snapshot file that does not match the lock is refused', () => {
      const deb = lock().sources['hello-deb']!.files![0]!;
      writeFileSync(join(snapshot, 'file', deb.sha1), 'not the package');
      rmSync(join(rig.dir, 'cache'), { recursive: true, force: true });
      rmSync(join(rig.project, 'build'), { recursive: true, force: true });
      const r = build({ XENBUILD_DEBIAN_SNAPSHOT: snapshot });
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(/FAILED +hello:fetch: .*hello-static_1%3a1\.1-1_armhf\.deb/);
      expect(r.stdout).toMatch(/sha256|checksum/i);
      expect(existsSync(join(rig.project, 'build/lk/deploy/hello'))).toBe(false);
    });
  });
});

describe('a set of Debian packages in the lock', () => {
  const rig = new Rig('xenbuild-lockset-');
  let repo: AptRepo;
  const xb = (args: string[]) => rig.xenbuild([...args, '--mirror', repo.mirrorDir, '--reporter', 'plain']);
  const SET = (greeter: string) =>
    `recipe: tools\nsource:\n  arch: armhf\n  debian-packages:\n    greeter: "${greeter}"\n    zlib-ish: "1:1.0-1"\nexports: { greeter: usr/bin/greeter }\n`;

  beforeAll(() => {
    repo = makeAptRepo(makeTempDir('xenbuild-lockset-repo-'), {
      binaries: [
        { name: 'greeter', version: '2.0-1', depends: 'zlib-ish', files: { 'usr/bin/greeter': 'greet 2.0\n' } },
        { name: 'greeter', version: '2.1-1', depends: 'zlib-ish', files: { 'usr/bin/greeter': 'greet 2.1\n' } },
        { name: 'zlib-ish', version: '1:1.0-1', files: { 'usr/lib/libz.so.1': 'z\n' } },
      ],
      sources: [],
    });
    rig.write('recipes/tools.yaml', SET('2.0-1'));
    rig.write('configs/boards/ts.yaml', 'board: ts\ncomponents:\n  tools: tools\n');
  });
  afterAll(() => rig.dispose());

  it('locks each .deb of the set (epochs as apt names them), builds --frozen, and names the package whose pin moved', () => {
    const r = xb(['lock', '--board', 'ts']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^locked +tools: 2 Debian packages \(armhf\)$/m);
    const entry = (JSON.parse(rig.read('xenbuild.lock.json')) as { sources: Record<string, { files: { name: string; sha256: string }[] }> }).sources.tools!;
    expect(entry.files.map((f) => f.name)).toEqual(['greeter_2.0-1_armhf.deb', 'zlib-ish_1%3a1.0-1_armhf.deb']);
    expect(entry.files[1]!.sha256).toBe(repo.sha256['zlib-ish_1.0-1_armhf.deb']);
    const built = xb(['all', '--board', 'ts', '--frozen']);
    expect(built.status, built.stdout + built.stderr).toBe(0);
    expect(rig.read('build/ts/deploy/greeter')).toBe('greet 2.0\n');

    rig.write('recipes/tools.yaml', SET('2.1-1'));
    const frozen = xb(['all', '--board', 'ts', '--frozen']);
    expect(frozen.status).toBe(2);
    expect(frozen.stderr).toContain('disagree: package greeter: version 2.1-1 in the recipe, 2.0-1 in the lock');
    expect(xb(['lock', '--update', 'tools', '--board', 'ts']).status).toBe(0);
    expect(xb(['all', '--board', 'ts', '--frozen']).status).toBe(0);
    expect(rig.read('build/ts/deploy/greeter')).toBe('greet 2.1\n');
  });
});
