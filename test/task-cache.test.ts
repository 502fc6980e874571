import { chmodSync, cpSync, existsSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIONS } from '../src/actions/registry.js';
import { analyse } from '../src/analysis/resolve.js';
import type { RunEvent } from '../src/engine/events.js';
import { runGraph } from '../src/engine/runner.js';
import { DirectoryStore, HttpStore, TaskCache, type CacheStore } from '../src/host/task-cache.js';
import { Nginx } from './util/nginx.js';
import { Rig } from './util/rig.js';
import { projectSettings } from './util/settings.js';

/**
 * The shared task cache, in-process through runGraph: a compile task's outputs
 * are stored under its fingerprint, and a clean checkout elsewhere restores
 * them instead of running it — from a directory, or from a real nginx with
 * WebDAV on loopback. Damaged entries are never restored; a server that is
 * down costs one warning.
 */
describe('the shared task cache', () => {
  const rig = new Rig('xenbuild-taskcache-');
  const savedPath = process.env.PATH;
  const counter = join(rig.dir, 'compiles.log');
  let checkout = 0;

  /** A fresh copy of the project in a directory of its own, with a workdir of its own. */
  const fresh = () => {
    const dir = join(rig.dir, `checkout-${++checkout}`);
    cpSync(rig.project, join(dir, 'project'), { recursive: true });
    return dir;
  };

  /** Builds the board of checkout `dir` with the given stores; returns each task's status, the warnings, and the report. */
  const build = async (dir: string, stores: CacheStore[]) => {
    const events: RunEvent[] = [];
    const a = analyse(projectSettings(join(dir, 'project'), dir), 'tb');
    if (!a.graph) throw new Error(`analysis failed: ${a.diagnostics.map((d) => d.message).join('; ')}`);
    const warnings: string[] = [];
    const cache = new TaskCache(stores, (m) => warnings.push(m));
    const report = await runGraph(a.graph, { actions: ACTIONS, jobs: 2, signal: new AbortController().signal, emit: (e) => events.push(e), cache });
    expect(report.ok).toBe(true);
    const status = Object.fromEntries(report.tasks.map((t) => [t.id, t.status]));
    return { status, warnings, report, events, deploy: (f: string) => readFileSync(join(dir, 'build', 'tb', 'deploy', f), 'utf8') };
  };
  const compiles = () => (existsSync(counter) ? readFileSync(counter, 'utf8').split('\n').filter(Boolean).length : 0);

  beforeAll(() => {
    rig.write('../bin/.keep', '');
    // A "compiler" that says each time it runs.
    writeFileSync(
      join(rig.dir, 'bin', 'cc-fake'),
      `#!/bin/sh\nif [ "$1" = --version ]; then echo "cc-fake 1.0"; exit 0; fi\necho "$1" >> ${counter}\ncat "$1" | tr a-z A-Z > "$2"\n`,
    );
    chmodSync(join(rig.dir, 'bin', 'cc-fake'), 0o755);
    process.env.PATH = `${join(rig.dir, 'bin')}:${savedPath}`;
    const up = rig.upstream('lib', { 'main.c': 'int main;\n', 'util.c': 'int util;\n' }, 'v1');
    rig.write(
      'recipes/lib.yaml',
      `recipe: lib
source: { git: "${up.url}", ref: v1, commit: ${up.commit} }
tools: { cc-fake: cc-fake-package }
tasks:
  compile:
    run: [cc-fake, main.c, main.o]
    outputs: [main.o]
  tree:
    after: [compile]
    run: [sh, -c, 'mkdir -p "$0/sub" && cc-fake util.c "$0/sub/util.o" && cp main.o "$0/"', "\${builddir}/out"]
    outputs: ["\${builddir}/out"]
exports:
  main.o: main.o
  out: \${builddir}/out
`,
    );
    rig.write('configs/boards/tb.yaml', 'board: tb\ncomponents:\n  lib: lib\n');
  });
  afterAll(() => {
    process.env.PATH = savedPath;
    rig.dispose();
  });

  it('a clean checkout in another directory restores every compile task from a directory cache', async () => {
    const store = new DirectoryStore(join(rig.dir, 'cache-dir'));
    const first = await build(fresh(), [store]);
    expect(first.status).toMatchObject({ 'lib:compile': 'ran', 'lib:tree': 'ran' });
    expect(compiles()).toBe(2);
    expect(readdirSync(store.where).filter((f) => f.endsWith('.tar.zst'))).toHaveLength(2);

    const second = await build(fresh(), [store]);
    expect(second.status).toMatchObject({ 'lib:fetch': 'ran', 'lib:compile': 'restored', 'lib:tree': 'restored', 'lib:deploy': 'ran' });
    expect(compiles()).toBe(2);
    expect(second.warnings).toEqual([]);
    expect(second.report.tasks.find((t) => t.id === 'lib:compile')?.from).toBe(store.where);
    expect(second.deploy('main.o')).toBe('INT MAIN;\n');
    expect(second.deploy('out/sub/util.o')).toBe('INT UTIL;\n');
    expect(second.events.filter((e) => e.type === 'task-restored').map((e) => e.id)).toEqual(['lib:compile', 'lib:tree']);
    // The fingerprints did not depend on where the checkouts were.
    const fp = (r: typeof first, id: string) => r.report.tasks.find((t) => t.id === id)?.fingerprint;
    expect(fp(second, 'lib:compile')).toBe(fp(first, 'lib:compile'));
    expect(fp(second, 'lib:tree')).toBe(fp(first, 'lib:tree'));
  });

  it('a restored task is fresh on the next run, and a changed source misses the cache', async () => {
    const store = new DirectoryStore(join(rig.dir, 'cache-dir'));
    const dir = fresh();
    await build(dir, [store]);
    expect((await build(dir, [store])).status['lib:compile']).toBe('fresh');
    const before = compiles();
    writeFileSync(join(dir, 'build', 'tb', 'src', 'lib', 'main.c'), 'int changed;\n');
    const third = await build(dir, [store]);
    expect(third.status['lib:compile']).toBe('ran');
    expect(compiles()).toBe(before + 2);
  });

  it('a truncated entry is detected, never restored, and the task is rebuilt', async () => {
    const storeDir = join(rig.dir, 'cache-truncated');
    const store = new DirectoryStore(storeDir);
    await build(fresh(), [store]);
    const compileEntry = readdirSync(storeDir)
      .map((f) => join(storeDir, f))
      .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs)[0]!;
    truncateSync(compileEntry, Math.floor(statSync(compileEntry).size / 2));
    const before = compiles();
    const again = await build(fresh(), [store]);
    expect(again.status['lib:compile']).toBe('ran');
    expect(again.warnings).toHaveLength(1);
    expect(again.warnings[0]).toMatch(/the task cache entry of lib:compile in .* is damaged \(it cannot be read: .*\): building lib:compile instead/);
    expect(again.deploy('main.o')).toBe('INT MAIN;\n');
    expect(compiles()).toBeGreaterThan(before);
  });

  it('an entry whose output does not match its sha256 is refused', async () => {
    const storeDir = join(rig.dir, 'cache-forged');
    const store = new DirectoryStore(storeDir);
    await build(fresh(), [store]);
    // Re-pack every entry with main.o changed but the entry's sha256 list kept.
    const { execFileSync } = await import('node:child_process');
    for (const f of readdirSync(storeDir)) {
      const work = join(rig.dir, `forge-${f}`);
      execFileSync('mkdir', ['-p', work]);
      execFileSync('tar', ['--zstd', '-xf', join(storeDir, f), '-C', work]);
      const mainO = join(work, 'src', 'lib', 'main.o');
      if (existsSync(mainO)) writeFileSync(mainO, 'FORGED\n');
      execFileSync('tar', ['--zstd', '-cf', join(storeDir, f), '-C', work, '.']);
    }
    const again = await build(fresh(), [store]);
    expect(again.status['lib:compile']).toBe('ran');
    expect(again.warnings.join('\n')).toMatch(/src\/lib\/main\.o does not match its sha256/);
    expect(again.deploy('main.o')).toBe('INT MAIN;\n');
  });

  describe('on a real HTTP server (nginx with WebDAV on loopback)', () => {
    const nginx = new Nginx(join(rig.dir, 'nginx'), 's3cret');
    beforeAll(() => nginx.start());
    afterAll(() => nginx.stop());

    it('stores with PUT, restores with GET in a clean checkout, sending the token', async () => {
      const remote = new HttpStore(nginx.url, 's3cret');
      const first = await build(fresh(), [remote]);
      expect(first.status['lib:compile']).toBe('ran');
      expect(first.warnings).toEqual([]);
      expect(readdirSync(join(nginx.store, 'cache')).filter((f) => /^[0-9a-f]{64}\.tar\.zst$/.test(f))).toHaveLength(2);
      const before = compiles();
      const second = await build(fresh(), [remote]);
      expect(second.status).toMatchObject({ 'lib:compile': 'restored', 'lib:tree': 'restored' });
      expect(second.report.tasks.find((t) => t.id === 'lib:tree')?.from).toBe(nginx.url);
      expect(compiles()).toBe(before);
      expect(second.deploy('out/main.o')).toBe('INT MAIN;\n');
    });

    it('a wrong token is one warning and a normal build', async () => {
      const before = compiles();
      const r = await build(fresh(), [new HttpStore(nginx.url, 'wrong')]);
      expect(r.status['lib:compile']).toBe('ran');
      expect(compiles()).toBe(before + 2);
      expect(r.warnings).toEqual([expect.stringMatching(/the task cache http:\/\/127\.0\.0\.1:\d+\/cache cannot be used \(reading: GET answered 401 /)]);
    });

    it('a server that is down is one warning and a normal build, whose outputs still go to the local cache', async () => {
      const url = nginx.url;
      await nginx.stop();
      const local = new DirectoryStore(join(rig.dir, 'cache-beside-down'));
      const before = compiles();
      const r = await build(fresh(), [local, new HttpStore(url, 's3cret')]);
      expect(r.status).toMatchObject({ 'lib:compile': 'ran', 'lib:tree': 'ran' });
      expect(compiles()).toBe(before + 2);
      expect(r.warnings).toHaveLength(1);
      expect(r.warnings[0]).toMatch(
        /^the task cache http:\/\/127\.0\.0\.1:\d+\/cache cannot be used \(reading: fetch failed: connect ECONNREFUSED .*\); building without it$/,
      );
      expect(readdirSync(local.where).filter((f) => f.endsWith('.tar.zst'))).toHaveLength(2);
    });
  });

  it('refuses a URL with credentials in it, and one that is not http', () => {
    expect(() => new HttpStore('http://user:pw@127.0.0.1/cache')).toThrow(/must not hold credentials: give a token in XENBUILD_TASK_CACHE_TOKEN/);
    expect(() => new HttpStore('ftp://127.0.0.1/cache')).toThrow(/is not an http or https URL/);
  });
});

describe('the task cache from the command line', () => {
  const rig = new Rig('xenbuild-taskcache-cli-');
  /** The CLI with the task cache as a user has it: on, in <cacheDir>/tasks. */
  const xb = (args: string[], env: Record<string, string> = {}) => rig.xenbuild([...args, '--reporter', 'plain'], { XENBUILD_TASK_CACHE: '', ...env });
  beforeAll(() => {
    const up = rig.upstream('lib', { 'main.c': 'int main;\n' }, 'v1');
    rig.write(
      'recipes/lib.yaml',
      `recipe: lib\nsource: { git: "${up.url}", ref: v1, commit: ${up.commit} }\ntasks:\n  compile:\n    run: [sh, -c, 'tr a-z A-Z < main.c > main.o']\n    outputs: [main.o]\nexports:\n  main.o: main.o\n`,
    );
    rig.write('configs/boards/tb.yaml', 'board: tb\ncomponents:\n  lib: lib\n');
  });
  afterAll(() => rig.dispose());

  it('stores by default; clean and build again restores; stats counts the entries; prune empties it', () => {
    const first = xb(['all', '--board', 'tb']);
    expect(first.status, first.stdout + first.stderr).toBe(0);
    expect(rig.statuses('tb')['lib:compile']).toBe('ran');
    expect(xb(['clean', '--board', 'tb']).status).toBe(0);
    const again = xb(['all', '--board', 'tb']);
    expect(again.status, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^restored lib:compile from .*cache\/tasks \d+ms$/m);
    expect(again.stdout).toMatch(/^ok: 2 ran, 1 restored, 0 fresh in /m);
    expect(rig.report('tb').tasks.find((t) => t.id === 'lib:compile')).toMatchObject({ status: 'restored', from: join(rig.dir, 'cache', 'tasks') });
    expect(rig.read('build/tb/deploy/main.o')).toBe('INT MAIN;\n');

    const stats = xb(['cache', 'stats']);
    expect(stats.status).toBe(0);
    expect(stats.stdout).toMatch(/cache\/tasks: 1 entry, [\d.]+ (B|KiB), last used \d{4}-\d\d-\d\d … \d{4}-\d\d-\d\d$/m);
    const json = JSON.parse(xb(['cache', 'stats', '--json']).stdout) as { directories: { entries: number; bytes: number }[] };
    expect(json.directories[0]!.entries).toBe(1);

    const pruned = xb(['cache', 'prune', '--max-size', '0']);
    expect(pruned.status, pruned.stderr).toBe(0);
    expect(pruned.stdout).toMatch(/removed 1 of 1 entries/);
    expect(xb(['clean', '--board', 'tb']).status).toBe(0);
    expect(xb(['all', '--board', 'tb']).status).toBe(0);
    expect(rig.statuses('tb')['lib:compile']).toBe('ran');
  });

  it('--no-task-cache neither restores nor stores; a bad size or URL is a usage error', () => {
    expect(xb(['clean', '--board', 'tb']).status).toBe(0);
    expect(xb(['all', '--board', 'tb', '--no-task-cache']).status).toBe(0);
    expect(rig.statuses('tb')['lib:compile']).toBe('ran');
    const badSize = xb(['cache', 'prune', '--max-size', 'lots']);
    expect(badSize.status).toBe(2);
    expect(badSize.stderr).toMatch(/--max-size "lots" is not a size: give bytes or a number with K, M, G or T/);
    const badUrl = xb(['all', '--board', 'tb', '--task-cache', 'ftp://example.invalid/cache']);
    expect(badUrl.status).toBe(2);
    expect(badUrl.stderr).toMatch(/the task cache ftp:\/\/example\.invalid\/cache is not an http or https URL/);
  });
});
