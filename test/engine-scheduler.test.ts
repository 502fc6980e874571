import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import type { ActionKind, ActionRegistry, JobGrant, JobsMode } from '../src/engine/action.js';
import type { RunEvent } from '../src/engine/events.js';
import { runGraph, type RunOptions } from '../src/engine/runner.js';
import { TaskFailure } from '../src/host/failure.js';
import type { ActionSpec, BuildGraph, TaskNode } from '../src/model/graph.js';

/**
 * The scheduler on synthetic graphs, in-process: a registry whose one kind
 * sleeps, fails or waits on cancellation as each task's script says, and
 * records when each task ran with how many jobs. No CLI, no real program.
 */
interface Script {
  ms?: number;
  fail?: boolean;
  jobs?: JobsMode;
}

class Recorder {
  readonly started: string[] = [];
  readonly ended: string[] = [];
  readonly grants = new Map<string, JobGrant>();
  running = 0;
  peak = 0;
  readonly described: string[] = [];

  registry(scripts: Record<string, Script>): ActionRegistry {
    const kind: ActionKind = {
      run: async (_spec, task, ctx, grant) => {
        const s = scripts[task.id] ?? {};
        this.started.push(task.id);
        this.grants.set(task.id, grant);
        this.running++;
        this.peak = Math.max(this.peak, this.running);
        try {
          await sleep(s.ms ?? 10, undefined, { signal: ctx.signal });
        } catch {
          throw new TaskFailure({ reason: 'cancelled' });
        } finally {
          this.running--;
        }
        this.ended.push(task.id);
        if (s.fail) throw new TaskFailure({ reason: 'exit-non-zero', command: ['fake', task.id], status: 1 });
        return {};
      },
      describe: (_spec, task) => {
        this.described.push(task.id);
        return [`fake ${task.id}`];
      },
      jobs: (spec) => (spec.kind === 'run' ? spec.jobs : 'one'),
    };
    const kinds: ActionSpec['kind'][] = [
      'fetch-git',
      'fetch-tarball',
      'fetch-debian-source',
      'fetch-debian-binary',
      'patch',
      'run',
      'artifact',
      'busybox-root',
      'image',
      'release',
      'uimage',
      'boot-plan',
      'boot-dtb',
      'boot-script',
      'boot-check',
    ];
    return Object.fromEntries(kinds.map((k) => [k, kind])) as unknown as ActionRegistry;
  }
}

const scratch = mkdtempSync(join(tmpdir(), 'xenbuild-sched-'));
let boards = 0;

/** A board of `deps` (task → what it needs), each a 'run' task of its own component. */
function synthetic(deps: Record<string, string[]>, scripts: Record<string, Script> = {}): BuildGraph {
  const board = `b${boards++}`;
  const boardDir = join(scratch, board);
  const tasks: TaskNode[] = Object.entries(deps).map(([id, after]) => ({
    id,
    component: id.split(':')[0]!,
    name: id.split(':')[1]!,
    title: `fake ${id}`,
    deps: after,
    action: { kind: 'run', argv: ['fake', id], jobs: scripts[id]?.jobs ?? 'one' },
    cwd: boardDir,
    env: {},
    srcDir: join(boardDir, 'src', id.split(':')[0]!),
    inputs: [],
    outputs: [],
    tools: [],
    packages: {},
    basis: { action: { argv: ['fake', id] } },
    definedIn: 'synthetic',
  }));
  return { board, boardDir, workdir: scratch, cacheDir: join(scratch, 'cache'), mirrors: [], components: [], tasks, tools: [] };
}

async function run(graph: BuildGraph, rec: Recorder, scripts: Record<string, Script>, opts: Partial<RunOptions> = {}) {
  const events: RunEvent[] = [];
  const report = await runGraph(graph, { actions: rec.registry(scripts), jobs: 2, signal: new AbortController().signal, emit: (e) => events.push(e), ...opts });
  const status = Object.fromEntries(report.tasks.map((t) => [t.id, t.status]));
  return { report, status, events };
}

describe('the scheduler on synthetic graphs', () => {
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('starts a task only after everything it needs has finished; a diamond runs its two sides at once', async () => {
    const deps = { 'a:x': [], 'b:x': ['a:x'], 'c:x': ['a:x'], 'd:x': ['b:x', 'c:x'] };
    const scripts = { 'b:x': { ms: 80 }, 'c:x': { ms: 80 } };
    const rec = new Recorder();
    const { report, status } = await run(synthetic(deps), rec, scripts);
    expect(report.ok).toBe(true);
    expect(status).toEqual({ 'a:x': 'ran', 'b:x': 'ran', 'c:x': 'ran', 'd:x': 'ran' });
    for (const [id, needs] of Object.entries(deps)) {
      for (const need of needs) expect(rec.ended.indexOf(need), `${need} before ${id}`).toBeLessThan(rec.started.indexOf(id));
    }
    expect(rec.started[0]).toBe('a:x');
    expect(rec.started.at(-1)).toBe('d:x');
    expect(rec.peak).toBe(2);
  });

  it('never runs more tasks at once than the job budget', async () => {
    const deps = Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`t${i}:x`, []]));
    const scripts = Object.fromEntries(Object.keys(deps).map((id) => [id, { ms: 40 }]));
    for (const jobs of [1, 3]) {
      const rec = new Recorder();
      const { report } = await run(synthetic(deps), rec, scripts, { jobs });
      expect(report.ok).toBe(true);
      expect(rec.peak).toBe(jobs);
      expect(rec.started).toHaveLength(7);
    }
  });

  it('gives a shared task the jobs free when it starts, a make task the whole jobserver, any other one job', async () => {
    const rec = new Recorder();
    const scripts: Record<string, Script> = { 'shared:x': { jobs: 'shared' }, 'make:x': { jobs: 'make' }, 'one:x': {} };
    const graph = synthetic({ 'one:x': [], 'shared:x': ['one:x'], 'make:x': ['shared:x'] }, scripts);
    await run(graph, rec, scripts, { jobs: 4 });
    expect(rec.grants.get('one:x')).toEqual({ jobs: 1 });
    expect(rec.grants.get('shared:x')).toEqual({ jobs: 4 });
    expect(rec.grants.get('make:x')).toMatchObject({ jobs: 4, jobserverFd: expect.any(Number) });
  });

  it('fail-fast: a failure cancels what is running and skips what has not started', async () => {
    const deps = { 'bad:x': [], 'slow:x': [], 'after-bad:x': ['bad:x'], 'after-slow:x': ['slow:x'] };
    const scripts = { 'bad:x': { ms: 20, fail: true }, 'slow:x': { ms: 5000 } };
    const rec = new Recorder();
    const { report, status, events } = await run(synthetic(deps), rec, scripts);
    expect(report.ok).toBe(false);
    expect(report.cancelled).toBe(false);
    expect(status).toEqual({ 'bad:x': 'failed', 'slow:x': 'cancelled', 'after-bad:x': 'skipped', 'after-slow:x': 'skipped' });
    expect(rec.ended).toEqual(['bad:x']);
    const skipped = Object.fromEntries(events.flatMap((e) => (e.type === 'task-skipped' ? [[e.id, e.because]] : [])));
    expect(skipped['after-bad:x']).toBe('bad:x failed');
    expect(skipped['after-slow:x']).toBe('slow:x cancelled');
  });

  it('--keep-going: a failure skips only what needs it; everything else runs', async () => {
    const deps = { 'bad:x': [], 'good:x': [], 'after-bad:x': ['bad:x'], 'after-good:x': ['good:x'], 'both:x': ['bad:x', 'good:x'] };
    const scripts = { 'bad:x': { fail: true }, 'good:x': { ms: 50 } };
    const rec = new Recorder();
    const { report, status } = await run(synthetic(deps), rec, scripts, { keepGoing: true });
    expect(report.ok).toBe(false);
    expect(status).toEqual({ 'bad:x': 'failed', 'good:x': 'ran', 'after-bad:x': 'skipped', 'after-good:x': 'ran', 'both:x': 'skipped' });
  });

  it('Ctrl-C: the running task is cancelled, nothing else starts, the report says cancelled', async () => {
    const deps = { 'long:x': [], 'next:x': ['long:x'], 'other:x': ['long:x'] };
    const controller = new AbortController();
    const rec = new Recorder();
    const pending = run(synthetic(deps), rec, { 'long:x': { ms: 5000 } }, { signal: controller.signal });
    await sleep(100);
    controller.abort();
    const { report, status } = await pending;
    expect(report.cancelled).toBe(true);
    expect(report.ok).toBe(false);
    expect(status).toEqual({ 'long:x': 'cancelled', 'next:x': 'skipped', 'other:x': 'skipped' });
    expect(rec.started).toEqual(['long:x']);
  });

  it('a second run runs nothing; a dry run describes what is stale and writes nothing', async () => {
    const deps = { 'a:x': [], 'b:x': ['a:x'] };
    const graph = synthetic(deps);
    const rec = new Recorder();
    expect((await run(graph, rec, {})).status).toEqual({ 'a:x': 'ran', 'b:x': 'ran' });
    expect((await run(graph, rec, {})).status).toEqual({ 'a:x': 'fresh', 'b:x': 'fresh' });
    const forced = await run(graph, rec, {}, { force: ['a:x'], dryRun: true });
    // a:x would run; b:x depends on what it would make.
    expect(forced.status).toEqual({ 'a:x': 'would-run', 'b:x': 'would-run' });
    expect(rec.described).toEqual(['a:x', 'b:x']);
    const fresh = synthetic(deps);
    await run(fresh, new Recorder(), {}, { dryRun: true });
    expect(existsSync(fresh.boardDir)).toBe(false);
  });

  it('--only runs just the targets, with what their dependencies last made; one never made skips it', async () => {
    const deps = { 'a:x': [], 'b:x': ['a:x'], 'c:x': ['b:x'] };
    const graph = synthetic(deps);
    const first = await run(graph, new Recorder(), {}, { targets: ['b:x'], only: true });
    expect(first.status).toEqual({ 'b:x': 'skipped' });
    expect(first.report.tasks[0]!.why).toBe('a:x has never run (run it first, or drop --only)');
    await run(graph, new Recorder(), {}, { targets: ['a:x'] });
    const rec = new Recorder();
    const second = await run(graph, rec, {}, { targets: ['c:x'], only: true });
    expect(second.status).toEqual({ 'c:x': 'skipped' });
    const third = await run(graph, rec, {}, { targets: ['b:x'], only: true });
    expect(third.status).toEqual({ 'b:x': 'ran' });
  });

  it('tells the reporter each step, writes one log per task and report.json', async () => {
    const graph = synthetic({ 'a:x': [], 'b:x': ['a:x'] });
    const { report, events } = await run(graph, new Recorder(), {}, { jobs: 3 });
    expect(events.map((e) => `${e.type}${'id' in e ? ` ${e.id}` : ''}`)).toEqual([
      'run-start',
      'task-start a:x',
      'task-output a:x',
      'task-done a:x',
      'task-start b:x',
      'task-output b:x',
      'task-done b:x',
      'run-end',
    ]);
    const start = events.find((e) => e.type === 'run-start');
    expect(start).toMatchObject({
      board: graph.board,
      jobs: 3,
      dryRun: false,
      tasks: [
        { id: 'a:x', component: 'a', name: 'x', title: 'fake a:x', deps: [] },
        { id: 'b:x', deps: ['a:x'] },
      ],
    });
    expect(events.find((e) => e.type === 'task-start')).toEqual({ type: 'task-start', id: 'a:x', why: { reason: 'never-ran' }, jobs: 1, log: 'logs/a:x.log' });
    // The log's first line says why the task ran and with how many jobs; the reporter sees it too.
    expect(events.find((e) => e.type === 'task-output')).toEqual({ type: 'task-output', id: 'a:x', line: '# a:x: never ran; 1 job' });
    const end = events.at(-1)!;
    expect(end).toMatchObject({ type: 'run-end', ok: true });
    expect(readFileSync(join(graph.boardDir, 'logs', 'a:x.log'), 'utf8')).toBe('# a:x: never ran; 1 job\n');
    const written = JSON.parse(readFileSync(join(graph.boardDir, 'report.json'), 'utf8')) as typeof report;
    expect(written.tasks.map((t) => [t.id, t.status, t.log])).toEqual([
      ['a:x', 'ran', 'logs/a:x.log'],
      ['b:x', 'ran', 'logs/b:x.log'],
    ]);
    expect(written.ok).toBe(true);
    expect(written.board).toBe(graph.board);
    expect(Date.parse(written.startedAt)).toBeGreaterThan(0);
    // A fresh task's report names its log too, and says nothing ran.
    const again = await run(graph, new Recorder(), {});
    expect(again.events.map((e) => e.type)).toEqual(['run-start', 'task-fresh', 'task-fresh', 'run-end']);
    expect(again.report.tasks[0]).toMatchObject({ id: 'a:x', status: 'fresh', durationMs: 0, log: 'logs/a:x.log' });
  });

  it('a waived task (--no-check) is skipped, and what needs it still runs', async () => {
    const deps = { 'check:x': [], 'image:x': ['check:x'] };
    const { report, status } = await run(synthetic(deps), new Recorder(), {}, { waive: ['check:x'] });
    expect(status).toEqual({ 'check:x': 'skipped', 'image:x': 'ran' });
    expect(report.ok).toBe(true);
  });
});
