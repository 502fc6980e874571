import { existsSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeFetchGit, fetchGit, gitCacheKey, mirrorCandidates } from '../src/actions/git.js';
import { readHead } from '../src/host/git-refs.js';
import { commit, failureOf, git, makeContext, makeRepo, makeTempDir, removeTempDirs } from './util/tmp.js';

afterAll(removeTempDirs);

/** An origin repository with two commits; tag v1 on the first, branch main on the second. */
function setup() {
  const root = makeTempDir();
  const origin = path.join(root, 'origin');
  const c1 = makeRepo(origin, { 'hello.c': 'int main(void) { return 0; }\n', README: 'one\n' });
  git(origin, 'tag', '-a', '-m', 'release 1', 'v1');
  const c2 = commit(origin, { 'hello.c': 'int main(void) { return 1; }\n' }, 'second');
  const srcDir = path.join(root, 'board', 'src', 'xen');
  const cacheDir = path.join(root, 'cache');
  return { root, origin, c1, c2, srcDir, cacheDir, ctx: makeContext({ srcDir, cacheDir }) };
}

describe('gitCacheKey', () => {
  it('is readable for remote URLs', () => {
    expect(gitCacheKey('git://xenbits.xen.org/xen.git')).toBe('xenbits.xen.org/xen.git');
    expect(gitCacheKey('https://GitHub.com/u-boot/u-boot')).toBe('github.com/u-boot/u-boot');
    expect(gitCacheKey('git@github.com:torvalds/linux.git')).toBe('github.com/torvalds/linux.git');
  });
  it('is safe for local paths and odd URLs', () => {
    expect(gitCacheKey('/srv/git/xen.git')).toBe('_local/srv/git/xen.git');
    expect(gitCacheKey('file:///srv/git/xen.git')).toBe('_local/srv/git/xen.git');
    for (const url of ['https://h/a/../../etc', 'git://h/%2e%2e/x', '../../x', 'ssh://h/a b/-c', 'https://h/..']) {
      const key = gitCacheKey(url);
      expect(key.split('/')).not.toContain('..');
      expect(key.split('/').every((s) => s !== '' && s !== '.' && !s.startsWith('-'))).toBe(true);
      expect(gitCacheKey(url)).toBe(key);
    }
    expect(gitCacheKey('https://h/a b')).not.toBe(gitCacheKey('https://h/a_b'));
  });
});

describe('mirrorCandidates', () => {
  it('lists host/path then basename forms, exact spelling first, per mirror dir', () => {
    expect(mirrorCandidates('git://xenbits.xen.org/people/xen.git', ['/m1', '/m2'])).toEqual([
      '/m1/xenbits.xen.org/people/xen.git',
      '/m1/xenbits.xen.org/people/xen',
      '/m1/xen.git',
      '/m1/xen',
      '/m2/xenbits.xen.org/people/xen.git',
      '/m2/xenbits.xen.org/people/xen',
      '/m2/xen.git',
      '/m2/xen',
    ]);
    expect(mirrorCandidates('/srv/u-boot', ['/m'])).toEqual(['/m/u-boot', '/m/u-boot.git']);
    for (const url of ['https://h/../../etc/x', 'git://h/%2e%2e/%2E%2E/x', 'git://h/a%2F..%2F..%2Fx', '..:../x', 'ssh://../x']) {
      expect(mirrorCandidates(url, ['/m']).every((p) => p.startsWith('/m/'))).toBe(true);
      expect(gitCacheKey(url).split('/')).not.toContain('..');
    }
  });
});

describe('fetchGit', () => {
  it('clones the pinned commit and verifies the tag', async () => {
    const { origin, c1, srcDir, ctx } = setup();
    expect(await fetchGit(ctx, { git: origin, ref: 'v1', commit: c1 })).toEqual({ commit: c1 });
    expect(readFileSync(path.join(srcDir, 'hello.c'), 'utf8')).toContain('return 0');
    expect(git(srcDir, 'rev-parse', 'HEAD')).toBe(c1);
    expect(readFileSync(path.join(srcDir, '.git', 'HEAD'), 'utf8').trim()).toBe(c1); // detached
    expect(readHead(srcDir)).toBe(c1);
    expect(existsSync(path.join(path.dirname(srcDir), '.xen.partial'))).toBe(false);
  });

  it('works offline once the cache holds the commit', async () => {
    const { origin, c1, c2, srcDir, ctx } = setup();
    await fetchGit(ctx, { git: origin, ref: 'main', commit: c2 });
    rmSync(origin, { recursive: true, force: true });
    rmSync(srcDir, { recursive: true, force: true });
    await fetchGit(ctx, { git: origin, ref: 'main', commit: c2 });
    expect(readHead(srcDir)).toBe(c2);
    await fetchGit(ctx, { git: origin, ref: 'v1', commit: c1 });
    expect(readHead(srcDir)).toBe(c1);
  });

  it('uses a --mirror directory instead of an unreachable URL', async () => {
    const { root, origin, c1, srcDir, cacheDir } = setup();
    const mirror = path.join(root, 'mirror');
    git(root, 'clone', '-q', '--bare', origin, path.join(mirror, 'foo.git'));
    const ctx = makeContext({ srcDir, cacheDir, mirrorDirs: [mirror] });
    await fetchGit(ctx, { git: 'https://example.invalid/foo.git', ref: 'v1', commit: c1 });
    expect(readHead(srcDir)).toBe(c1);
    expect(existsSync(path.join(cacheDir, 'git', 'example.invalid', 'foo.git', 'HEAD'))).toBe(true);
  });

  it('takes the pinned commit from a shallow mirror (a depth-1 clone of the tag)', async () => {
    const { root, origin, c1, srcDir, cacheDir } = setup();
    const mirror = path.join(root, 'mirror');
    git(root, 'clone', '-q', '--bare', '--depth', '1', '--branch', 'v1', `file://${origin}`, path.join(mirror, 'example.invalid', 'foo.git'));
    expect(existsSync(path.join(mirror, 'example.invalid', 'foo.git', 'shallow'))).toBe(true);
    const ctx = makeContext({ srcDir, cacheDir, mirrorDirs: [mirror] });
    await fetchGit(ctx, { git: 'https://example.invalid/foo.git', ref: 'v1', commit: c1 });
    expect(readHead(srcDir)).toBe(c1);
  });

  it('finds a non-bare mirror under DIR/<host>/<path> without the .git suffix', async () => {
    const { root, origin, c2, srcDir, cacheDir } = setup();
    const mirror = path.join(root, 'mirror');
    git(root, 'clone', '-q', origin, path.join(mirror, 'example.invalid', 'group', 'foo'));
    const ctx = makeContext({ srcDir, cacheDir, mirrorDirs: [mirror] });
    await fetchGit(ctx, { git: 'https://example.invalid/group/foo.git', commit: c2 });
    expect(readHead(srcDir)).toBe(c2);
  });

  it('fails with ref-moved when the tag points elsewhere', async () => {
    const { origin, c1, c2, ctx } = setup();
    git(origin, 'tag', '-f', '-a', '-m', 'moved', 'v1', c2);
    expect(await failureOf(fetchGit(ctx, { git: origin, ref: 'v1', commit: c1 }))).toEqual({
      reason: 'ref-moved',
      url: origin,
      ref: 'v1',
      pinned: c1,
      actual: c2,
    });
    const branch = await failureOf(fetchGit(ctx, { git: origin, ref: 'main', commit: c1 }));
    expect(branch).toMatchObject({ reason: 'ref-moved', ref: 'main', actual: c2 });
    const missing = await failureOf(fetchGit(ctx, { git: origin, ref: 'nope', commit: c1 }));
    expect(missing).toMatchObject({ reason: 'ref-moved', ref: 'nope' });
  });

  it('fails with commit-missing for a commit the repository lacks', async () => {
    const { origin, ctx, srcDir } = setup();
    const bogus = 'deadbeef'.repeat(5);
    expect(await failureOf(fetchGit(ctx, { git: origin, commit: bogus }))).toEqual({
      reason: 'commit-missing',
      url: origin,
      commit: bogus,
      from: origin,
    });
    expect(existsSync(srcDir)).toBe(false);
  });

  it("fails with fetch-failed carrying git's message", async () => {
    const { root, c1, ctx } = setup();
    const nowhere = path.join(root, 'no-such-repo');
    const failure = await failureOf(fetchGit(ctx, { git: nowhere, commit: c1 }));
    expect(failure).toMatchObject({ reason: 'fetch-failed', url: nowhere });
    expect(failure.reason === 'fetch-failed' && failure.message).toMatch(/does not appear to be a git repository/);
  });

  it('refuses a tree with modified tracked files', async () => {
    const { origin, c1, c2, srcDir, ctx } = setup();
    await fetchGit(ctx, { git: origin, commit: c1 });
    writeFileSync(path.join(srcDir, 'hello.c'), 'local edit\n');
    expect(await failureOf(fetchGit(ctx, { git: origin, commit: c2 }))).toEqual({ reason: 'dirty-tree', dir: srcDir, files: ['hello.c'] });
    expect(readFileSync(path.join(srcDir, 'hello.c'), 'utf8')).toBe('local edit\n');
    expect(readHead(srcDir)).toBe(c1);
  });

  it('refuses to replace a directory that is not a git checkout', async () => {
    const { origin, c1, srcDir, ctx } = setup();
    mkdirSync(srcDir, { recursive: true });
    writeFileSync(path.join(srcDir, 'mine.txt'), 'x');
    expect(await failureOf(fetchGit(ctx, { git: origin, commit: c1 }))).toMatchObject({ reason: 'dirty-tree', files: ['mine.txt'] });
  });

  it('keeps untracked files and untouched mtimes across a re-checkout', async () => {
    const { origin, c1, c2, srcDir, ctx } = setup();
    await fetchGit(ctx, { git: origin, commit: c1 });
    mkdirSync(path.join(srcDir, 'build'));
    writeFileSync(path.join(srcDir, 'build', 'hello.o'), 'object');
    const old = new Date('2001-01-01T00:00:00Z');
    utimesSync(path.join(srcDir, 'README'), old, old);
    await fetchGit(ctx, { git: origin, commit: c2 });
    expect(readHead(srcDir)).toBe(c2);
    expect(readFileSync(path.join(srcDir, 'build', 'hello.o'), 'utf8')).toBe('object');
    expect(readFileSync(path.join(srcDir, 'hello.c'), 'utf8')).toContain('return 1');
    expect(statSync(path.join(srcDir, 'README')).mtime.getTime()).toBe(old.getTime());
  });

  it('updates an existing checkout that lacks the pinned commit', async () => {
    const { root, origin, c1 } = setup();
    const srcDir = path.join(root, 'plain-clone');
    git(root, 'clone', '-q', '--no-local', origin, srcDir);
    const c3 = commit(origin, { 'new.c': 'x\n' }, 'third');
    const ctx = makeContext({ srcDir, cacheDir: path.join(root, 'cache') });
    await fetchGit(ctx, { git: origin, commit: c3 });
    expect(readHead(srcDir)).toBe(c3);
    expect(existsSync(path.join(srcDir, 'new.c'))).toBe(true);
    await fetchGit(ctx, { git: origin, ref: 'v1', commit: c1 });
    expect(existsSync(path.join(srcDir, 'new.c'))).toBe(false);
  });

  it('describes the commands for --dry-run', () => {
    const { origin, c1, srcDir, cacheDir } = setup();
    const lines = describeFetchGit({ git: origin, ref: 'v1', commit: c1 }, { srcDir, cacheDir, mirrorDirs: [] });
    expect(lines.some((l) => l.startsWith('git init --bare '))).toBe(true);
    expect(lines.some((l) => l.includes(' fetch ') && l.includes(origin))).toBe(true);
    expect(lines.some((l) => l.includes('clone --shared --no-checkout'))).toBe(true);
    expect(lines.at(-1)).toBe(`mv ${path.join(path.dirname(srcDir), '.xen.partial')} ${srcDir}`);
  });
});

describe('readHead', () => {
  it('reads detached, attached, packed and worktree HEADs without git', () => {
    const root = makeTempDir();
    const repo = path.join(root, 'repo');
    const c1 = makeRepo(repo, { a: '1' });
    const c2 = commit(repo, { a: '2' }, 'two');
    expect(readHead(repo)).toBe(c2); // attached, loose ref
    git(repo, 'checkout', '-q', '--detach', c1);
    expect(readHead(repo)).toBe(c1); // detached
    git(repo, 'checkout', '-q', 'main');
    git(repo, 'pack-refs', '--all', '--prune');
    expect(existsSync(path.join(repo, '.git', 'refs', 'heads', 'main'))).toBe(false);
    expect(readHead(repo)).toBe(c2); // packed-refs
    const wt = path.join(root, 'wt');
    git(repo, 'worktree', 'add', '-q', '--detach', wt, c1);
    expect(readHead(wt)).toBe(c1); // .git file + commondir
    git(repo, 'checkout', '-q', '--orphan', 'unborn');
    expect(readHead(repo)).toBeUndefined();
    expect(readHead(path.join(root, 'nothing'))).toBeUndefined();
  });
});
