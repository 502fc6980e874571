/**
 * `xenbuild mirror DIR`: every source a board needs goes into DIR, and a
 * build from nothing (no cache, no upstream, another workdir) then needs DIR
 * alone. Real git, tarballs and a real local Debian repository.
 */
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAptRepo, type AptRepo } from './util/apt-repo.js';
import { fixtureBoard } from './util/fixture-board.js';
import { git, Rig } from './util/rig.js';
import { makeTempDir, removeTempDirs } from './util/tmp.js';

afterAll(removeTempDirs);

describe('xenbuild mirror', () => {
  const rig = new Rig();
  let helloCommit: string;
  beforeAll(() => {
    ({ helloCommit } = fixtureBoard(rig));
  });
  afterAll(() => rig.dispose());

  it('puts the git repositories and tarballs of a board into DIR, and a build from DIR alone needs nothing else', () => {
    const dir = join(rig.dir, 'offline');
    const r = rig.xenbuild(['mirror', '--board', 'fx', dir]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^mirrored hello:fetch +.*offline\/hello {2}[0-9a-f]{12} \(v1\.0\)$/m);
    expect(r.stdout).toMatch(/^mirrored notes:fetch +.*offline\/notes-1\.0\.tar\.gz$/m);
    expect(r.stdout).toContain('2 sources of fx in ');
    // A bare repository with the tag and the pinned commit.
    expect(git(join(dir, 'hello'), 'rev-parse', 'v1.0^{commit}')).toBe(helloCommit);
    expect(git(join(dir, 'hello'), 'rev-parse', `refs/heads/xenbuild/pinned/${helloCommit}`)).toBe(helloCommit);

    // Nothing else left: no upstream repository, no cache, no earlier build; only the mirror.
    renameSync(join(rig.dir, 'upstream'), join(rig.dir, 'upstream-gone'));
    rmSync(join(rig.dir, 'cache'), { recursive: true, force: true });
    rmSync(join(rig.dir, 'mirror'), { recursive: true, force: true });
    const built = rig.xenbuild(['all', '--board', 'fx', '--mirror', dir, '--workdir', join(rig.dir, 'other-build')]);
    expect(built.status, built.stdout + built.stderr).toBe(0);
    expect(existsSync(join(rig.dir, 'other-build', 'fx', 'deploy', 'hello-arm'))).toBe(true);
    expect(readFileSync(join(rig.dir, 'other-build', 'fx', 'deploy', 'NOTES'), 'utf8')).toBe('release notes\n');
    renameSync(join(rig.dir, 'upstream-gone'), join(rig.dir, 'upstream'));
  });

  it('adds to the same DIR on a second run, and fails naming the source when a fetch fails', () => {
    const dir = join(rig.dir, 'offline');
    const again = rig.xenbuild(['mirror', '--board', 'fx', dir]);
    expect(again.status, again.stdout + again.stderr).toBe(0);
    rig.write('recipes/notes.yaml', rig.read('recipes/notes.yaml').replace(/sha256: [0-9a-f]+/, `sha256: ${'ab'.repeat(32)}`));
    const bad = rig.xenbuild(['mirror', '--board', 'fx', join(rig.dir, 'offline-2')]);
    expect(bad.status, bad.stdout + bad.stderr).toBe(1);
    expect(bad.stdout).toMatch(/FAILED +notes:fetch/);
    expect(existsSync(join(rig.dir, 'offline-2'))).toBe(false);
  });
});

describe('xenbuild mirror with Debian packages', () => {
  const rig = new Rig();
  let repo: AptRepo;
  beforeAll(() => {
    repo = makeAptRepo(makeTempDir('xenbuild-apt-repo-'), {
      binaries: [{ name: 'hello-static', version: '1:1.0-1', files: { 'bin/hello': 'hello 1.0\n' } }],
      sources: [{ name: 'demo', upstream: '1.0', revision: '1', files: { 'greeting.txt': 'hello\n' }, patches: {} }],
    });
    rig.write(
      'recipes/hello-deb.yaml',
      'recipe: hello-deb\nsource: { debian-binary: hello-static, version: "1:1.0-1", arch: armhf }\nexports: { hello: bin/hello }\n',
    );
    rig.write('recipes/demo-src.yaml', 'recipe: demo-src\nsource: { debian-source: demo, version: 1.0-1 }\nexports: { greeting.txt: greeting.txt }\n');
    rig.write('configs/boards/deb.yaml', 'board: deb\ncomponents:\n  hello: hello-deb\n  demo: demo-src\n');
  });
  afterAll(() => rig.dispose());

  it('writes a Debian repository (pool and indexes) that a build from nothing reads', () => {
    const dir = join(rig.dir, 'offline');
    const r = rig.xenbuild(['mirror', '--board', 'deb', '--mirror', repo.mirrorDir, dir]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(existsSync(join(dir, 'debian/pool/main/h/hello-static/hello-static_1.0-1_armhf.deb'))).toBe(true);
    expect(existsSync(join(dir, 'debian/pool/main/d/demo/demo_1.0-1.dsc'))).toBe(true);
    expect(readFileSync(join(dir, 'debian/dists/bookworm/main/binary-armhf/Packages'), 'utf8')).toContain('Package: hello-static\nVersion: 1:1.0-1\n');
    expect(readFileSync(join(dir, 'debian/dists/bookworm/main/source/Sources'), 'utf8')).toContain('Package: demo\n');

    rmSync(repo.mirrorDir, { recursive: true, force: true });
    rmSync(join(rig.dir, 'cache'), { recursive: true, force: true });
    const built = rig.xenbuild(['all', '--board', 'deb', '--mirror', dir, '--workdir', join(rig.dir, 'other-build')]);
    expect(built.status, built.stdout + built.stderr).toBe(0);
    expect(readFileSync(join(rig.dir, 'other-build/deb/deploy/hello'), 'utf8')).toBe('hello 1.0\n');
    expect(readFileSync(join(rig.dir, 'other-build/deb/deploy/greeting.txt'), 'utf8')).toBe('hello\n');
  });
});
