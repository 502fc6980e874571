import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyPatchSeries, type PatchFile } from '../src/actions/patch.js';
import { commit, failureOf, git, makeContext, makeRepo, makeTempDir, removeTempDirs } from './util/tmp.js';

afterAll(removeTempDirs);

const HELLO = ['#include <stdio.h>', '', 'int main(void)', '{', '\tputs("hello");', '\treturn 0;', '}', ''].join('\n');

/**
 * A source tree at `base` plus patches made against it: two by git
 * format-patch (the second on top of the first), one by diff -u.
 */
function setup() {
  const root = makeTempDir();
  const srcDir = path.join(root, 'src');
  const base = makeRepo(srcDir, { 'hello.c': HELLO, README: 'hello\n' });
  const patchDir = path.join(root, 'patches');
  mkdirSync(patchDir);

  const work = path.join(root, 'work');
  git(root, 'clone', '-q', srcDir, work);
  commit(work, { 'hello.c': HELLO.replace('hello', 'hello, Xen') }, 'Greet Xen');
  commit(work, { 'lib/util.c': 'int util(void) { return 42; }\n' }, 'Add util.c');
  git(work, 'format-patch', '-q', '-2', '-o', patchDir);
  const [p1, p2] = readdirSync(patchDir).sort();

  const diffRoot = path.join(root, 'diff');
  mkdirSync(path.join(diffRoot, 'a'), { recursive: true });
  mkdirSync(path.join(diffRoot, 'b'));
  writeFileSync(path.join(diffRoot, 'a', 'README'), 'hello\n');
  writeFileSync(path.join(diffRoot, 'b', 'README'), 'hello\nworld\n');
  const diff = spawnSync('diff', ['-u', 'a/README', 'b/README'], { cwd: diffRoot, encoding: 'utf8' });
  writeFileSync(path.join(patchDir, '0003-readme.diff'), diff.stdout);

  const patch = (file: string): PatchFile => ({ path: path.join(patchDir, file), name: `patches/xen/${file}` });
  const series = [patch(p1!), patch(p2!), patch('0003-readme.diff')];
  return { root, srcDir, base, patchDir, series, patch, ctx: makeContext({ srcDir, cacheDir: path.join(root, 'cache') }) };
}

/** Everything that must not change when a series is refused. */
function snapshot(dir: string) {
  const files: Record<string, string> = {};
  for (const name of ['hello.c', 'README', 'lib/util.c', 'untracked.txt']) {
    const p = path.join(dir, name);
    files[name] = existsSync(p) ? readFileSync(p, 'utf8') : '<absent>';
  }
  return {
    head: git(dir, 'rev-parse', 'HEAD'),
    status: git(dir, 'status', '--porcelain'),
    index: readFileSync(path.join(dir, '.git', 'index')).toString('hex'),
    gitFiles: readdirSync(path.join(dir, '.git')).sort(),
    files,
  };
}

describe('applyPatchSeries', () => {
  it('applies format-patch and diff -u patches as deterministic commits', async () => {
    const { srcDir, base, series, ctx, root } = setup();
    const { commit: final } = await applyPatchSeries(ctx, base, series);
    expect(git(srcDir, 'rev-parse', 'HEAD')).toBe(final);
    expect(readFileSync(path.join(srcDir, 'hello.c'), 'utf8')).toContain('hello, Xen');
    expect(readFileSync(path.join(srcDir, 'lib', 'util.c'), 'utf8')).toContain('42');
    expect(readFileSync(path.join(srcDir, 'README'), 'utf8')).toBe('hello\nworld\n');
    expect(git(srcDir, 'log', '--format=%s|%an|%ce|%at', `${base}..${final}`).split('\n')).toEqual(
      [...series].reverse().map((p) => `${p.name}|xenbuild|xenbuild@localhost|0`),
    );
    expect(git(srcDir, 'status', '--porcelain')).toBe('');

    // The same base and series give the same commit anywhere, and re-running is a no-op.
    const other = path.join(root, 'other');
    git(root, 'clone', '-q', srcDir, other);
    git(other, 'checkout', '-q', '--detach', base);
    const again = await applyPatchSeries(makeContext({ srcDir: other, cacheDir: ctx.cacheDir }), base, series);
    expect(again.commit).toBe(final);
    expect((await applyPatchSeries(ctx, base, series)).commit).toBe(final);
  });

  it('names the patch, file and hunk of a conflict and leaves the tree untouched', async () => {
    const { srcDir, base, series, patchDir, patch, ctx } = setup();
    // A patch whose context no longer matches after patch 1 changed the line.
    const bad = HELLO.split('\n');
    bad[4] = '\tputs("goodbye");';
    const stale = [
      '--- a/hello.c',
      '+++ b/hello.c',
      '@@ -3,5 +3,5 @@',
      ...bad.slice(2, 4).map((l) => ` ${l}`),
      '-\tputs("hello");',
      '+\tputs("bye");',
      ...bad.slice(5, 7).map((l) => ` ${l}`),
      '',
    ].join('\n');
    writeFileSync(path.join(patchDir, '0004-stale.patch'), stale);
    writeFileSync(path.join(srcDir, 'untracked.txt'), 'build output\n');
    writeFileSync(path.join(srcDir, 'README'), 'local edit\n'); // even a dirty tree is left alone
    const before = snapshot(srcDir);

    const failure = await failureOf(applyPatchSeries(ctx, base, [series[0]!, patch('0004-stale.patch'), series[1]!]));
    expect(failure).toMatchObject({ reason: 'patch-conflict', patch: 'patches/xen/0004-stale.patch', file: 'hello.c', hunk: 'line 3' });
    expect(failure.reason === 'patch-conflict' && failure.message).toMatch(/error: patch failed: hello\.c:3/);
    expect(snapshot(srcDir)).toEqual(before);
  });

  it('names the file a patch expects but the tree lacks', async () => {
    const { srcDir, base, patchDir, patch, ctx } = setup();
    const diff = ['--- a/missing.c', '+++ b/missing.c', '@@ -1 +1 @@', '-old', '+new', ''].join('\n');
    writeFileSync(path.join(patchDir, 'missing.patch'), diff);
    const before = snapshot(srcDir);
    expect(await failureOf(applyPatchSeries(ctx, base, [patch('missing.patch')]))).toMatchObject({
      reason: 'patch-conflict',
      patch: 'patches/xen/missing.patch',
      file: 'missing.c',
    });
    expect(snapshot(srcDir)).toEqual(before);
  });

  it('refuses a tree with local edits only after the whole series applied', async () => {
    const { srcDir, base, series, ctx } = setup();
    writeFileSync(path.join(srcDir, 'hello.c'), 'edited\n');
    const before = snapshot(srcDir);
    expect(await failureOf(applyPatchSeries(ctx, base, series))).toEqual({ reason: 'dirty-tree', dir: srcDir, files: ['hello.c'] });
    expect(snapshot(srcDir)).toEqual(before);
  });

  it('checks out the base for an empty series, keeping untracked files', async () => {
    const { srcDir, base, series, ctx } = setup();
    await applyPatchSeries(ctx, base, series);
    writeFileSync(path.join(srcDir, 'untracked.txt'), 'keep me\n');
    expect(await applyPatchSeries(ctx, base, [])).toEqual({ commit: base });
    expect(git(srcDir, 'rev-parse', 'HEAD')).toBe(base);
    expect(existsSync(path.join(srcDir, 'lib', 'util.c'))).toBe(false);
    expect(readFileSync(path.join(srcDir, 'untracked.txt'), 'utf8')).toBe('keep me\n');
  });

  it('honours a strip level for patches made without a/ b/ prefixes', async () => {
    const { root, srcDir, base, patchDir, patch, ctx } = setup();
    const plain = path.join(root, 'plain');
    cpSync(srcDir, plain, { recursive: true });
    writeFileSync(path.join(plain, 'README.new'), 'hello\nagain\n');
    const diff = spawnSync('diff', ['-u', 'README', 'README.new'], { cwd: plain, encoding: 'utf8' });
    writeFileSync(path.join(patchDir, 'p0.diff'), diff.stdout.replace('+++ README.new', '+++ README'));
    await applyPatchSeries(ctx, base, [patch('p0.diff')], { strip: 0 });
    expect(readFileSync(path.join(srcDir, 'README'), 'utf8')).toBe('hello\nagain\n');
  });
});
