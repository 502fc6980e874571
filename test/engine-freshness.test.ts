import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ACTIONS } from '../src/actions/registry.js';
import { analyse } from '../src/analysis/resolve.js';
import type { RunEvent } from '../src/engine/events.js';
import { runGraph } from '../src/engine/runner.js';
import type { BuildGraph } from '../src/model/graph.js';
import { git, Rig } from './util/rig.js';
import { projectSettings } from './util/settings.js';

/**
 * Each freshness guarantee, driven in-process through runGraph: a change makes
 * exactly the right tasks stale, each for the reason named, and nothing else.
 * (In-process, so that mutation testing of src/engine/ sees these tests.)
 */
const ALL = ['lib:fetch', 'lib:patch', 'lib:gen', 'lib:use', 'lib:deploy', 'other:fetch', 'other:stamp', 'other:solo'];

const TOOL = (version: string) => `#!/bin/sh
if [ "$1" = --version ]; then echo "mytool ${version}"; exit 0; fi
echo "made by mytool"
`;

describe('freshness: each change makes exactly the right tasks stale', () => {
  const rig = new Rig('xenbuild-fresh-');
  const savedPath = process.env.PATH;
  let upstream: { url: string; commit: string };
  let otherUpstream: { url: string; commit: string };

  const graph = (): BuildGraph => {
    const a = analyse(projectSettings(rig.project, rig.dir), 'tb');
    if (!a.graph) throw new Error(`analysis failed: ${a.diagnostics.map((d) => d.message).join('; ')}`);
    return a.graph;
  };
  /** Runs the whole board; returns each task's status and, for those that ran, why. */
  const run = async (opts: { force?: string[] } = {}) => {
    const events: RunEvent[] = [];
    const report = await runGraph(graph(), { actions: ACTIONS, jobs: 2, signal: new AbortController().signal, emit: (e) => events.push(e), ...opts });
    expect(report.ok).toBe(true);
    const status = Object.fromEntries(report.tasks.map((t) => [t.id, t.status]));
    const why = Object.fromEntries(events.flatMap((e) => (e.type === 'task-start' ? [[e.id, e.why]] : [])));
    return { status, why, ran: ALL.filter((id) => status[id] === 'ran') };
  };
  const src = (...p: string[]) => join(rig.dir, 'build', 'tb', 'src', ...p);
  const writeTool = (version: string) => {
    writeFileSync(join(rig.dir, 'bin', 'mytool'), TOOL(version));
    chmodSync(join(rig.dir, 'bin', 'mytool'), 0o755);
  };

  beforeAll(async () => {
    rig.write('../bin/.keep', '');
    writeTool('1.0');
    process.env.PATH = `${join(rig.dir, 'bin')}:${savedPath}`;
    upstream = rig.upstream('lib', { 'data.txt': 'data v1\n', README: 'lib\n' }, 'v1');
    rig.write(
      'patches/lib/0001-readme.patch',
      `--- a/README
+++ b/README
@@ -1 +1 @@
-lib
+lib, patched
`,
    );
    rig.write('configs/lib/input.txt', 'input one\n');
    rig.write(
      'recipes/lib.yaml',
      `recipe: lib
source: { git: "${upstream.url}", ref: v1, commit: ${upstream.commit} }
patches: [patches/lib/]
tools: { mytool: mytool-package }
variables: { greeting: hello }
tasks:
  gen:
    run: [sh, -c, 'mytool > gen.txt && cat data.txt "$0" >> gen.txt && echo \${greeting} >> gen.txt', "\${root}/configs/lib/input.txt"]
    inputs: [configs/lib/input.txt]
    outputs: [gen.txt]
  use:
    after: [gen]
    run: [cp, gen.txt, use.txt]
    outputs: [use.txt]
exports:
  lib.txt: use.txt
`,
    );
    // other: a git source without patches, a task without outputs, and a directory output after it.
    otherUpstream = rig.upstream('other', { 'seed.txt': 'seed\n' }, 'v1');
    rig.write(
      'recipes/other.yaml',
      `recipe: other
source: { git: "${otherUpstream.url}", ref: v1, commit: ${otherUpstream.commit} }
tasks:
  stamp:
    run: ["true"]
  solo:
    after: [stamp]
    run: [sh, -c, 'mkdir -p "$0" && cp seed.txt "$0/a.txt"', "\${builddir}/solo"]
    outputs: ["\${builddir}/solo"]
`,
    );
    rig.write('configs/boards/tb.yaml', 'board: tb\ncomponents:\n  lib: lib\n  other: other\n');
    const first = await run();
    expect(first.ran).toEqual(ALL);
    expect(readFileSync(join(rig.dir, 'build', 'tb', 'deploy', 'lib.txt'), 'utf8')).toBe('made by mytool\ndata v1\ninput one\nhello\n');
  });
  afterAll(() => {
    process.env.PATH = savedPath;
    rig.dispose();
  });
  beforeEach(async () => {
    // Every case starts from a board that is entirely up to date.
    const again = await run();
    expect(again.ran).toEqual([]);
  });

  it('a second run runs nothing', async () => {
    expect((await run()).status).toEqual(Object.fromEntries(ALL.map((id) => [id, 'fresh'])));
  });

  it('a new version of a tool the recipe declares reruns the tasks that use it; an unchanged output stops there', async () => {
    writeTool('2.0');
    const r = await run();
    // fetch and patch run git, not mytool; gen and use declare the recipe's tools; deploy copies.
    expect(r.ran).toEqual(['lib:gen', 'lib:use']);
    expect(r.why['lib:gen']).toEqual({ reason: 'changed', what: 'tool mytool', was: 'mytool 1.0', now: 'mytool 2.0' });
  });

  it('a changed input reruns its task and, through its new output, everything after it', async () => {
    writeFileSync(rig.path('configs/lib/input.txt'), 'input two\n');
    const r = await run();
    expect(r.ran).toEqual(['lib:gen', 'lib:use', 'lib:deploy']);
    expect(r.why['lib:gen']).toMatchObject({ reason: 'changed', what: 'configs/lib/input.txt' });
    expect(r.why['lib:use']).toEqual({ reason: 'dependency', id: 'lib:gen' });
  });

  it('a changed variable reruns the tasks that use it', async () => {
    writeFileSync(rig.path('recipes/lib.yaml'), readFileSync(rig.path('recipes/lib.yaml'), 'utf8').replace('greeting: hello', 'greeting: bonjour'));
    const r = await run();
    expect(r.ran).toEqual(['lib:gen', 'lib:use', 'lib:deploy']);
    expect(r.why['lib:gen']).toMatchObject({ reason: 'changed', what: "the command's argv" });
    expect(readFileSync(join(rig.dir, 'build', 'tb', 'deploy', 'lib.txt'), 'utf8')).toContain('bonjour');
  });

  it('a changed patch reapplies the series and rebuilds what follows; the fetch stays', async () => {
    const patch = rig.path('patches/lib/0001-readme.patch');
    writeFileSync(patch, readFileSync(patch, 'utf8').replace('lib, patched', 'lib, patched twice'));
    const r = await run();
    // Every task of the component works on the new tree; their outputs are the same, so deploy stays fresh.
    expect(r.ran).toEqual(['lib:patch', 'lib:gen', 'lib:use']);
    expect(r.why['lib:patch']).toMatchObject({ reason: 'changed', what: 'patches/lib/0001-readme.patch' });
    expect(r.why['lib:gen']).toEqual({ reason: 'dependency', id: 'lib:patch' });
    expect(readFileSync(src('lib', 'README'), 'utf8')).toBe('lib, patched twice\n');
  });

  it("an output edited by hand reruns its task; one edited keeping size and mtime is trusted (make's rule)", async () => {
    const out = src('lib', 'use.txt');
    const before = readFileSync(out, 'utf8');
    writeFileSync(out, before.toUpperCase());
    let r = await run();
    expect(r.ran).toEqual(['lib:use']);
    expect(r.why['lib:use']).toEqual({ reason: 'output-changed', path: 'src/lib/use.txt' });
    expect(readFileSync(out, 'utf8')).toBe(before);
    // Same size, same mtime (to the nanosecond): not even hashed, as in make and ninja.
    const ref = join(rig.dir, 'mtime-ref');
    execFileSync('cp', ['--preserve=timestamps', out, ref]);
    writeFileSync(out, before.toUpperCase());
    execFileSync('touch', ['-r', ref, out]);
    r = await run();
    expect(r.ran).toEqual([]);
    writeFileSync(out, before);
    execFileSync('touch', ['-r', ref, out]);
  });

  it('an output touched, its bytes the same, reruns nothing', async () => {
    execFileSync('touch', ['-d', '2030-01-01', src('lib', 'gen.txt'), join(rig.dir, 'build', 'tb', 'deploy', 'lib.txt')]);
    expect((await run()).ran).toEqual([]);
  });

  it('a file edited inside a directory output reruns its task (a directory is judged by its tree)', async () => {
    writeFileSync(join(rig.dir, 'build', 'tb', 'build', 'other', 'solo', 'a.txt'), 'edited\n');
    const r = await run();
    expect(r.ran).toEqual(['other:solo']);
    expect(r.why['other:solo']).toEqual({ reason: 'output-changed', path: 'build/other/solo' });
  });

  it('a task without outputs passes a change on to what follows it (its fingerprint stands for its result)', async () => {
    writeFileSync(rig.path('recipes/other.yaml'), readFileSync(rig.path('recipes/other.yaml'), 'utf8').replace('run: ["true"]', 'run: ["true", again]'));
    const r = await run();
    expect(r.ran).toEqual(['other:stamp', 'other:solo']);
    expect(r.why['other:solo']).toEqual({ reason: 'dependency', id: 'other:stamp' });
  });

  it('a source fetched again from a new address at the same commit rebuilds nothing after it', async () => {
    const clone = join(rig.dir, 'upstream', 'other-moved');
    execFileSync('git', ['clone', '-q', '--mirror', otherUpstream.url, clone]);
    writeFileSync(rig.path('recipes/other.yaml'), readFileSync(rig.path('recipes/other.yaml'), 'utf8').replace(otherUpstream.url, clone));
    const r = await run();
    expect(r.ran).toEqual(['other:fetch']);
    expect(r.why['other:fetch']).toMatchObject({ reason: 'changed', what: "the command's source.git" });
  });

  it('a source tree deleted by hand is fetched, patched and built again', async () => {
    rmSync(src('lib'), { recursive: true, force: true });
    rmSync(src('other'), { recursive: true, force: true });
    const r = await run();
    // lib's fetch knows its tree by the base it left (the patch task keeps HEAD); other's by its HEAD.
    expect(r.ran).toEqual(['lib:fetch', 'lib:patch', 'lib:gen', 'lib:use', 'other:fetch']);
    expect(r.why['lib:fetch']).toEqual({ reason: 'output-missing', path: src('lib') });
    expect(r.why['other:fetch']).toMatchObject({ reason: 'output-changed' });
  });

  it('a deleted output reruns its task only', async () => {
    rmSync(join(rig.dir, 'build', 'tb', 'deploy', 'lib.txt'));
    const r = await run();
    expect(r.ran).toEqual(['lib:deploy']);
    expect(r.why['lib:deploy']).toEqual({ reason: 'output-missing', path: 'deploy/lib.txt' });
  });

  it('a source tree moved to another commit is fetched and patched again', async () => {
    git(src('lib'), 'checkout', '-q', '--detach', upstream.commit);
    const r = await run();
    expect(r.ran).toEqual(['lib:patch']);
    const patched = JSON.parse(readFileSync(join(rig.dir, 'build', 'tb', 'state', 'lib:patch.json'), 'utf8')).head as string;
    expect(r.why['lib:patch']).toEqual({ reason: 'output-changed', path: `the source tree (HEAD is no longer ${patched.slice(0, 12)})` });
    expect(readFileSync(src('lib', 'README'), 'utf8')).toMatch(/^lib, patched/);
  });

  it('a source tree edited by hand rebuilds the tasks that read it, and the edit is kept', async () => {
    writeFileSync(src('lib', 'data.txt'), 'data edited\n');
    const r = await run();
    expect(r.ran).toEqual(['lib:gen', 'lib:use', 'lib:deploy']);
    expect(r.why['lib:gen']).toMatchObject({ reason: 'changed', what: 'the source tree: data.txt' });
    expect(readFileSync(join(rig.dir, 'build', 'tb', 'deploy', 'lib.txt'), 'utf8')).toContain('data edited');
    // Undoing the edit counts as a change too.
    git(src('lib'), 'checkout', '-q', '--', 'data.txt');
    expect((await run()).ran).toEqual(['lib:gen', 'lib:use', 'lib:deploy']);
    // A tracked file deleted is an edit; the other component's tasks do not read this tree.
    rmSync(src('lib', 'README'));
    const gone = await run();
    expect(gone.ran).toEqual(['lib:gen', 'lib:use']);
    expect(gone.why['lib:gen']).toEqual({ reason: 'changed', what: 'the source tree: README', now: 'deleted' });
    git(src('lib'), 'checkout', '-q', '--', 'README');
    expect((await run()).ran).toEqual(['lib:gen', 'lib:use']);
    // A tracked file replaced by a link to / is known by the link, never walked.
    rmSync(src('lib', 'README'));
    symlinkSync('/', src('lib', 'README'));
    const linked = await run();
    expect(linked.why['lib:gen']).toEqual({ reason: 'changed', what: 'the source tree: README', now: 'link:/' });
    rmSync(src('lib', 'README'));
    git(src('lib'), 'checkout', '-q', '--', 'README');
    expect((await run()).ran).toEqual(['lib:gen', 'lib:use']);
  });

  it("a dependency's new output reruns its dependents; --force of a task whose output is the same reruns only it", async () => {
    let r = await run({ force: ['lib:gen'] });
    expect(r.ran).toEqual(['lib:gen']);
    expect(r.why['lib:gen']).toEqual({ reason: 'forced' });
    writeTool('3.0');
    // A tool that makes different bytes: gen's new output reaches use and deploy.
    writeFileSync(join(rig.dir, 'bin', 'mytool'), TOOL('3.0').replace('made by mytool', 'made by mytool 3'));
    r = await run();
    expect(r.ran).toEqual(['lib:gen', 'lib:use', 'lib:deploy']);
    expect(r.why['lib:use']).toEqual({ reason: 'dependency', id: 'lib:gen' });
  });

  it('a changed task definition reruns that task alone', async () => {
    writeFileSync(
      rig.path('recipes/other.yaml'),
      readFileSync(rig.path('recipes/other.yaml'), 'utf8').replace('solo:\n', 'solo:\n    description: writes solo\n'),
    );
    const r = await run();
    expect(r.ran).toEqual(['other:solo']);
    expect(r.why['other:solo']).toEqual({ reason: 'changed', what: 'its definition in recipes/other.yaml' });
  });

  it('a stamp that is gone (a killed run) reruns its task', async () => {
    rmSync(join(rig.dir, 'build', 'tb', 'state', 'other:solo.json'));
    const r = await run();
    expect(r.ran).toEqual(['other:solo']);
    expect(r.why['other:solo']).toEqual({ reason: 'never-ran' });
  });
});

describe('stamps: a run that did not finish never looks fresh', () => {
  const rig = new Rig('xenbuild-stamps-');
  afterAll(() => rig.dispose());

  it('reads back what it wrote, forgets on invalidate, and takes anything of the wrong shape for absent', async () => {
    const { StampStore } = await import('../src/engine/state.js');
    const store = new StampStore(join(rig.dir, 'state'));
    const stamp = {
      id: 'x:build',
      fingerprint: 'f',
      basis: { a: 1 },
      outputs: [{ name: 'o', size: 1, mtimeMs: 2, sha256: 'h' }],
      outputDigest: 'd',
      head: 'c',
      finishedAt: 'now',
      durationMs: 1,
    };
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(rig.dir, 'state'), { recursive: true });
    await store.write(stamp);
    expect(store.read('x:build')).toEqual(stamp);
    expect(readFileSync(store.path('x:build'), 'utf8').endsWith('}\n')).toBe(true);
    await store.invalidate('x:build');
    expect(store.read('x:build')).toBeUndefined();
    const bad: unknown[] = [
      [],
      null,
      'text',
      { ...stamp, id: 1 },
      { ...stamp, fingerprint: null },
      { ...stamp, outputDigest: 3 },
      { ...stamp, basis: [] },
      { ...stamp, head: 5 },
      { ...stamp, outputs: {} },
      { ...stamp, outputs: [null] },
      { ...stamp, outputs: [{ ...stamp.outputs[0], name: 1 }] },
      { ...stamp, outputs: [{ ...stamp.outputs[0], size: '1' }] },
      { ...stamp, outputs: [{ ...stamp.outputs[0], mtimeMs: '2' }] },
      { ...stamp, outputs: [{ ...stamp.outputs[0], sha256: 0 }] },
    ];
    for (const value of bad) {
      writeFileSync(store.path('x:build'), JSON.stringify(value));
      expect(store.read('x:build'), JSON.stringify(value)).toBeUndefined();
    }
    const { head: _, ...noHead } = stamp;
    writeFileSync(store.path('x:build'), JSON.stringify(noHead));
    expect(store.read('x:build')).toEqual(noHead);
  });

  it('a task that failed is run again even when its change is undone (its old stamp went when it started)', async () => {
    const upstream = rig.upstream('one', { 'f.txt': 'f\n' });
    rig.write(
      'recipes/one.yaml',
      `recipe: one\nsource: { git: "${upstream.url}", ref: main, commit: ${upstream.commit} }\ntasks:\n  build:\n    run: [cp, f.txt, out.txt]\n    outputs: [out.txt]\n`,
    );
    rig.write('configs/boards/one.yaml', 'board: one\ncomponents:\n  one: one\n');
    const go = async () => {
      const a = analyse(projectSettings(rig.project, rig.dir), 'one');
      const report = await runGraph(a.graph!, { actions: ACTIONS, jobs: 1, signal: new AbortController().signal, emit: () => {} });
      return Object.fromEntries(report.tasks.map((t) => [t.id, t.status]));
    };
    expect(await go()).toEqual({ 'one:fetch': 'ran', 'one:build': 'ran' });
    const recipe = rig.read('recipes/one.yaml');
    writeFileSync(rig.path('recipes/one.yaml'), recipe.replace('[cp, f.txt, out.txt]', '[cp, no-such-file, out.txt]'));
    expect(await go()).toEqual({ 'one:fetch': 'fresh', 'one:build': 'failed' });
    writeFileSync(rig.path('recipes/one.yaml'), recipe);
    expect(await go()).toEqual({ 'one:fetch': 'fresh', 'one:build': 'ran' });
  });
});
