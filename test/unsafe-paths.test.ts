/**
 * Paths a project declares never reach outside the build directory: not
 * through a symlink in a source tree, not through a board name.
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, Rig } from './util/rig.js';
import { makeTempDir, removeTempDirs } from './util/tmp.js';

afterAll(removeTempDirs);

describe('an output reached through a symlink that leaves the build directory', () => {
  const rig = new Rig();
  let victim: string;
  beforeAll(() => {
    // Somebody else's directory, and a source tree whose "out" points at it.
    victim = makeTempDir('xenbuild-victim-');
    mkdirSync(join(victim, 'data'));
    writeFileSync(join(victim, 'data', 'precious'), 'keep me\n');
    const up = rig.upstream('tricky', { README: 'tricky\n' });
    symlinkSync(victim, join(up.url, 'out'));
    git(up.url, 'add', 'out');
    git(up.url, 'commit', '-q', '-m', 'out is a symlink');
    const commit = git(up.url, 'rev-parse', 'HEAD');
    rig.write(
      'recipes/tricky.yaml',
      `recipe: tricky\nsource: { git: "${up.url}", commit: ${commit} }\ntasks:\n  build:\n    run: [sh, -c, "echo x > out/data/new"]\n    outputs: [out/data]\n`,
    );
    rig.write('configs/boards/tb.yaml', 'board: tb\ncomponents:\n  tricky: tricky\n');
  });
  afterAll(() => rig.dispose());

  it('is never emptied nor written: the task fails and says where the output really is', () => {
    const r = rig.xenbuild(['all', '--board', 'tb']);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(
      `the declared output src/tricky/out/data resolves to ${join(victim, 'data')}, outside the board's build directory (a symlink in the way)`,
    );
    expect(readFileSync(join(victim, 'data', 'precious'), 'utf8')).toBe('keep me\n');
    expect(existsSync(join(victim, 'data', 'new'))).toBe(false);
  });

  it('is left alone by xenbuild clean', () => {
    const r = rig.xenbuild(['clean', 'tricky:build', '--board', 'tb']);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`src/tricky/out/data resolves to ${join(victim, 'data')}`);
    expect(readFileSync(join(victim, 'data', 'precious'), 'utf8')).toBe('keep me\n');
  });
});

describe('a board name that is a path', () => {
  const rig = new Rig();
  afterAll(() => rig.dispose());

  it('is refused before anything is read or written', () => {
    mkdirSync(join(rig.dir, 'outside'), { recursive: true });
    writeFileSync(join(rig.dir, 'outside.yaml'), 'board: outside\ncomponents: {}\n');
    for (const name of ['../outside', '../../outside', '/etc/passwd', 'a/b', '..']) {
      const r = rig.xenbuild(['all', '--board', name]);
      expect(r.status, name).toBe(2);
      expect(r.stderr).toContain(`"${name}" is not a board name`);
    }
    expect(existsSync(rig.path('build'))).toBe(false);
    expect(existsSync(join(rig.dir, 'outside', 'state'))).toBe(false);
  });
});
