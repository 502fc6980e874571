import { mkdirSync, rmSync, statSync } from 'node:fs';
import { relative } from 'node:path';
import { TaskFailure, type Failure } from '../host/failure.js';
import { FileHasher } from '../host/hasher.js';
import { Jobserver, type Slot } from '../host/jobserver.js';
import { ProcessGroups } from '../host/orphans.js';
import { exec, TaskLog } from '../host/process.js';
import { ToolVersions } from '../host/tools.js';
import { layoutOf } from '../model/board-layout.js';
import { dependencyClosure, dependentClosure } from '../model/dep-graph.js';
import type { BuildGraph, TaskNode } from '../model/graph.js';
import { writeFileAtomic } from '../util/fs.js';
import { realLocation, staysInside } from '../util/inside.js';
import { kindOf, type ActionContext, type ActionRegistry, type JobGrant } from './action.js';
import { describeStale, type RunEvent, type StaleReason } from './events.js';
import { Freshness, outputDigest } from './freshness.js';
import { StampStore, type Stamp } from './state.js';

export interface RunOptions {
  /** What each kind of action does: the scheduler knows no kind itself. */
  actions: ActionRegistry;
  /** Task ids to bring up to date; all tasks when absent. */
  targets?: readonly string[];
  /** Task ids to rerun even if fresh. */
  force?: readonly string[];
  /** Run the targets only, not their dependencies. */
  only?: boolean;
  /** Tasks skipped on purpose (--no-check) whose dependents still run. */
  waive?: readonly string[];
  keepGoing?: boolean;
  dryRun?: boolean;
  jobs: number;
  /** Aborted on Ctrl-C / SIGTERM. */
  signal: AbortSignal;
  emit: (e: RunEvent) => void;
}

const STOPPED = 'the run was stopped';

type TaskStatus = 'ran' | 'fresh' | 'failed' | 'skipped' | 'cancelled' | 'would-run';

interface TaskReport {
  id: string;
  status: TaskStatus;
  durationMs: number;
  fingerprint?: string;
  log?: string;
  why?: string;
}

export interface RunReport {
  board: string;
  profile?: string;
  startedAt: string;
  durationMs: number;
  ok: boolean;
  cancelled: boolean;
  tasks: TaskReport[];
}

/** The freshness machinery for a board, shared by `run` and `status`. */
function openState(graph: BuildGraph, actions: ActionRegistry) {
  const paths = layoutOf(graph);
  const stamps = new StampStore(paths.stamps);
  const hasher = new FileHasher(paths.hashes);
  const tools = new ToolVersions(paths.tools);
  return { paths, stamps, hasher, tools, freshness: new Freshness(stamps, hasher, tools, actions), save: () => Promise.all([hasher.save(), tools.save()]) };
}

/** Tasks a run covers: the targets and (unless --only) what they need, in graph order. */
function selectTasks(graph: BuildGraph, targets: readonly string[] | undefined, only: boolean): TaskNode[] {
  if (!targets) return graph.tasks;
  const deps = new Map(graph.tasks.map((t) => [t.id, t.deps]));
  const chosen = only ? new Set(targets) : dependencyClosure(deps, targets);
  return graph.tasks.filter((t) => chosen.has(t.id));
}

/** `--from X`: X and everything downstream of it. */
export function downstreamOf(graph: BuildGraph, ids: readonly string[]): Set<string> {
  return dependentClosure(new Map(graph.tasks.map((t) => [t.id, t.deps])), ids);
}

/**
 * Brings the selected tasks up to date: independent tasks in parallel within
 * the job budget, each one skipped when fresh. Never prints; emits events.
 * The caller holds the board's lock.
 */
export async function runGraph(graph: BuildGraph, opts: RunOptions): Promise<RunReport> {
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const state = openState(graph, opts.actions);
  // A dry run writes nothing at all: no directories, no caches, no report.
  if (!opts.dryRun) {
    mkdirSync(state.paths.logs, { recursive: true });
    mkdirSync(state.paths.state, { recursive: true });
  }
  const selected = selectTasks(graph, opts.targets, opts.only ?? false);
  const selectedIds = new Set(selected.map((t) => t.id));
  const forced = new Set(opts.force ?? []);
  const waived = new Set(opts.waive ?? []);
  // The jobserver is opened when the first task has to run: a no-op run needs none.
  let jobserver: Promise<Jobserver> | undefined;
  const jobs = () => (jobserver ??= Jobserver.open(state.paths.state, opts.jobs));
  // Fail-fast cancels running siblings; Ctrl-C cancels everything.
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort();
  opts.signal.addEventListener('abort', onOuterAbort, { once: true });
  const groups = new ProcessGroups(state.paths.running);
  if (!opts.dryRun) groups.reapLeftovers();

  opts.emit({
    type: 'run-start',
    board: graph.board,
    tasks: selected.map((t) => ({ id: t.id, component: t.component, name: t.name, title: t.title, deps: t.deps })),
    jobs: opts.jobs,
    dryRun: opts.dryRun ?? false,
  });

  const reports = new Map<string, TaskReport>();
  /** What dependents fingerprint: the output digest of each finished task. */
  const digests = new Map<string, string>();
  const outcome = new Map<string, Promise<TaskStatus>>();

  const settle = (id: string, report: TaskReport): TaskStatus => {
    reports.set(id, report);
    return report.status;
  };
  const skip = (task: TaskNode, because: string): TaskStatus => {
    opts.emit({ type: 'task-skipped', id: task.id, because });
    return settle(task.id, { id: task.id, status: 'skipped', durationMs: 0, why: because });
  };

  const runOne = async (task: TaskNode): Promise<TaskStatus> => {
    const inRun = task.deps.filter((d) => selectedIds.has(d));
    const depStatuses = await Promise.all(inRun.map((d) => outcome.get(d)!));
    const blocked = inRun.find((d, i) => !['ran', 'fresh', 'would-run'].includes(depStatuses[i]!) && !waived.has(d));
    if (blocked) return skip(task, `${blocked} ${reports.get(blocked)?.status ?? 'did not run'}`);
    if (stop.signal.aborted) return skip(task, STOPPED);
    if (waived.has(task.id)) {
      digests.set(task.id, 'waived');
      return skip(task, 'skipped on request (--no-check): nothing proves this image will boot');
    }
    // Dependencies outside the selection (--only) count with what they last produced.
    for (const dep of task.deps) {
      if (digests.has(dep)) continue;
      const stamp = state.stamps.read(dep);
      if (!stamp) return skip(task, `${dep} has never run (run it first, or drop --only)`);
      digests.set(dep, stamp.outputDigest);
    }
    const wouldRunDep = task.deps.find((d) => reports.get(d)?.status === 'would-run');
    const verdict = await state.freshness.check(task, digests, forced.has(task.id));
    if (verdict.fresh && !wouldRunDep) {
      digests.set(task.id, verdict.stamp.outputDigest);
      opts.emit({ type: 'task-fresh', id: task.id });
      return settle(task.id, { id: task.id, status: 'fresh', durationMs: 0, fingerprint: verdict.fingerprint, log: relative(graph.boardDir, state.paths.log(task.id)) });
    }
    const why: StaleReason = wouldRunDep ? { reason: 'dependency', id: wouldRunDep } : verdict.fresh ? { reason: 'forced' } : verdict.why;
    const kind = kindOf(opts.actions, task.action);
    const mode = kind.jobs?.(task.action) ?? 'one';
    if (opts.dryRun) {
      const commands = kind.describe(task.action, task, { cacheDir: graph.cacheDir, srcDir: task.srcDir, mirrorDirs: graph.mirrors }, mode === 'shared' ? opts.jobs : 1);
      opts.emit({ type: 'task-would-run', id: task.id, why, commands });
      digests.set(task.id, 'would-run');
      return settle(task.id, { id: task.id, status: 'would-run', durationMs: 0, fingerprint: verdict.fingerprint, why: describeStale(why) });
    }
    const server = await jobs();
    const slot: Slot = await server.acquire();
    // A 'shared' task takes what is free now, as ${jobs}; make draws from the jobserver as it goes.
    const extra = mode === 'shared' ? server.tryTakeExtra(server.total - 1) : 0;
    const grant = mode === 'make' ? { jobs: server.total, jobserverFd: server.childFd } : { jobs: 1 + extra };
    try {
      if (stop.signal.aborted) return skip(task, STOPPED);
      return await execute(task, why, grant, verdict.fingerprint, verdict.basis);
    } finally {
      server.release(slot, extra);
    }
  };

  const execute = async (task: TaskNode, why: StaleReason, grant: JobGrant, fingerprint: string, basis: Record<string, unknown>): Promise<TaskStatus> => {
    const jobs = grant.jobs;
    const logPath = state.paths.log(task.id);
    const logName = relative(graph.boardDir, logPath);
    const t0 = Date.now();
    await state.stamps.invalidate(task.id);
    const log = new TaskLog(logPath);
    opts.emit({ type: 'task-start', id: task.id, why, jobs, log: logName });
    const line = (text: string) => {
      log.line(text);
      opts.emit({ type: 'task-output', id: task.id, line: text });
    };
    const ctx: ActionContext = {
      taskId: task.id,
      srcDir: task.srcDir,
      boardDir: graph.boardDir,
      cacheDir: graph.cacheDir,
      mirrorDirs: graph.mirrors,
      signal: stop.signal,
      log: line,
      onGroup: (pgid, running) => (running ? groups.record(task.id, pgid) : groups.forget(task.id, pgid)),
      exec: (argv, o = {}) => {
        if (!o.quiet) line(`$ ${argv.join(' ')}`);
        return exec(argv, {
          onGroup: ctx.onGroup,
          cwd: o.cwd ?? task.cwd,
          ...(o.env ? { env: o.env } : {}),
          capture: o.capture ?? false,
          ...(o.extraFds ? { extraFds: o.extraFds } : {}),
          ...(o.inputFile ? { inputFile: o.inputFile } : {}),
          signal: stop.signal,
          onLine: o.quiet ? (l) => log.line(l) : line,
          packages: task.packages,
        });
      },
    };
    line(`# ${task.id}: ${describeStale(why)}; ${grant.jobserverFd !== undefined ? `up to ${jobs} jobs (jobserver)` : `${jobs} job${jobs === 1 ? '' : 's'}`}`);
    try {
      // An output reached through a symlink that leaves the board's directory is never touched (nor anything there deleted).
      for (const out of task.outputs) {
        if (!staysInside(out.path, graph.boardDir)) throw new TaskFailure({ reason: 'output-escapes', path: out.name, resolved: realLocation(out.path) });
      }
      // A directory output is made anew, so that nothing of an earlier run (a file since removed) stays in it.
      for (const out of task.outputs) if (statSync(out.path, { throwIfNoEntry: false })?.isDirectory()) rmSync(out.path, { recursive: true, force: true });
      const result = await kindOf(opts.actions, task.action).run(task.action, task, ctx, grant);
      const outputs: Stamp['outputs'] = [];
      for (const out of task.outputs) {
        const st = await state.hasher.hash(out.path);
        if (!st) throw new TaskFailure({ reason: 'missing-output', path: out.name });
        outputs.push({ name: out.name, ...st });
      }
      const head = task.keepsHead ? result.head : undefined;
      const stamp: Stamp = {
        id: task.id,
        fingerprint,
        basis,
        outputs,
        outputDigest: outputDigest(fingerprint, outputs, result.head),
        ...(head !== undefined ? { head } : {}),
        finishedAt: new Date().toISOString(),
        durationMs: Date.now() - t0,
      };
      await state.stamps.write(stamp);
      digests.set(task.id, stamp.outputDigest);
      await log.close();
      opts.emit({ type: 'task-done', id: task.id, durationMs: Date.now() - t0 });
      return settle(task.id, { id: task.id, status: 'ran', durationMs: Date.now() - t0, fingerprint, log: logName });
    } catch (err) {
      if (!(err instanceof TaskFailure)) {
        log.line(`internal error: ${(err as Error).stack ?? String(err)}`);
        await log.close();
        throw err;
      }
      const failure: Failure = err.failure;
      const durationMs = Date.now() - t0;
      log.line(`# ${task.id} ${failure.reason === 'cancelled' ? 'cancelled' : 'failed'}: ${err.message}`);
      await log.close();
      if (failure.reason === 'cancelled') {
        opts.emit({ type: 'task-cancelled', id: task.id });
        return settle(task.id, { id: task.id, status: 'cancelled', durationMs, fingerprint, log: logName });
      }
      opts.emit({ type: 'task-failed', id: task.id, failure, durationMs, log: logName, tail: log.lastLines() });
      if (!opts.keepGoing) stop.abort();
      return settle(task.id, { id: task.id, status: 'failed', durationMs, fingerprint, log: logName });
    }
  };

  for (const task of selected) outcome.set(task.id, runOne(task));
  try {
    await Promise.all(outcome.values());
  } finally {
    opts.signal.removeEventListener('abort', onOuterAbort);
    if (jobserver) (await jobserver).close();
    if (!opts.dryRun) await state.save();
  }
  const tasks = selected.map((t) => reports.get(t.id)!).filter(Boolean);
  const report: RunReport = {
    board: graph.board,
    ...(graph.profile !== undefined ? { profile: graph.profile } : {}),
    startedAt,
    durationMs: Date.now() - started,
    ok: tasks.every((t) => t.status === 'ran' || t.status === 'fresh' || t.status === 'would-run' || waived.has(t.id)) && !opts.signal.aborted,
    cancelled: opts.signal.aborted,
    tasks,
  };
  if (!opts.dryRun) await writeFileAtomic(state.paths.report, JSON.stringify(report, null, 2) + '\n');
  const reportPath = opts.dryRun ? '' : relative(process.cwd(), state.paths.report) || state.paths.report;
  opts.emit({ type: 'run-end', ok: report.ok, durationMs: report.durationMs, report: reportPath });
  return report;
}
