import { mkdirSync, rmSync, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { TaskFailure, type Failure } from '../host/failure.js';
import { FileHasher } from '../host/hasher.js';
import { Jobserver, type Slot } from '../host/jobserver.js';
import { ProcessGroups } from '../host/orphans.js';
import { exec, TaskLog } from '../host/process.js';
import type { TaskCache } from '../host/task-cache.js';
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
  /** The shared task cache: outputs of cacheable tasks are restored from it and stored in it. */
  cache?: TaskCache;
  emit: (e: RunEvent) => void;
}

const STOPPED = 'the run was stopped';

type TaskStatus = 'ran' | 'restored' | 'fresh' | 'failed' | 'skipped' | 'cancelled' | 'would-run';

interface TaskReport {
  id: string;
  status: TaskStatus;
  durationMs: number;
  fingerprint?: string;
  log?: string;
  why?: string;
  /** Restored: the task cache it came from. */
  from?: string;
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
  const stamps = new StampStore(paths.state);
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
  return new Run(graph, opts).all();
}

/** Every task of a dependency that did not succeed is skipped; these statuses let dependents go on. */
const PASSED: readonly TaskStatus[] = ['ran', 'restored', 'fresh', 'would-run'];

/** One run of the scheduler: each selected task is a promise that waits for its dependencies' outcomes. */
class Run {
  private readonly started = Date.now();
  private readonly state: ReturnType<typeof openState>;
  private readonly selected: TaskNode[];
  private readonly selectedIds: Set<string>;
  private readonly forced: Set<string>;
  private readonly waived: Set<string>;
  /** Fail-fast cancels running siblings; Ctrl-C (the caller's signal) cancels everything. */
  private readonly stop = new AbortController();
  private readonly groups: ProcessGroups;
  /** Opened when the first task has to run: a no-op run needs none. */
  private jobserver: Promise<Jobserver> | undefined;
  private readonly reports = new Map<string, TaskReport>();
  /** What dependents fingerprint: the output digest of each finished task. */
  private readonly digests = new Map<string, string>();
  private readonly outcome = new Map<string, Promise<TaskStatus>>();
  /** Entries being written to the task cache; the run waits for them before it ends. */
  private readonly storing: Promise<void>[] = [];

  constructor(
    private readonly graph: BuildGraph,
    private readonly opts: RunOptions,
  ) {
    this.state = openState(graph, opts.actions);
    this.selected = selectTasks(graph, opts.targets, opts.only ?? false);
    this.selectedIds = new Set(this.selected.map((t) => t.id));
    this.forced = new Set(opts.force ?? []);
    this.waived = new Set(opts.waive ?? []);
    this.groups = new ProcessGroups(this.state.paths.running);
  }

  async all(): Promise<RunReport> {
    const { opts, state } = this;
    // A dry run writes nothing at all: no directories, no caches, no report.
    if (!opts.dryRun) {
      mkdirSync(state.paths.logs, { recursive: true });
      mkdirSync(state.paths.state, { recursive: true });
      this.groups.reapLeftovers();
    }
    const onOuterAbort = () => this.stop.abort();
    opts.signal.addEventListener('abort', onOuterAbort, { once: true });
    opts.emit({
      type: 'run-start',
      board: this.graph.board,
      tasks: this.selected.map((t) => ({ id: t.id, component: t.component, name: t.name, title: t.title, deps: t.deps })),
      jobs: opts.jobs,
      dryRun: opts.dryRun ?? false,
    });
    for (const task of this.selected) this.outcome.set(task.id, this.task(task));
    try {
      await Promise.all(this.outcome.values());
      await Promise.all(this.storing);
    } finally {
      opts.signal.removeEventListener('abort', onOuterAbort);
      if (this.jobserver) (await this.jobserver).close();
      if (!opts.dryRun) await state.save();
    }
    return this.finish();
  }

  private async finish(): Promise<RunReport> {
    const { opts, state, graph } = this;
    const tasks = this.selected.map((t) => this.reports.get(t.id)!).filter(Boolean);
    const report: RunReport = {
      board: graph.board,
      ...(graph.profile !== undefined ? { profile: graph.profile } : {}),
      startedAt: new Date(this.started).toISOString(),
      durationMs: Date.now() - this.started,
      ok: tasks.every((t) => PASSED.includes(t.status) || this.waived.has(t.id)) && !opts.signal.aborted,
      cancelled: opts.signal.aborted,
      tasks,
    };
    if (!opts.dryRun) await writeFileAtomic(state.paths.report, JSON.stringify(report, null, 2) + '\n');
    const reportPath = opts.dryRun ? '' : relative(process.cwd(), state.paths.report) || state.paths.report;
    opts.emit({ type: 'run-end', ok: report.ok, durationMs: report.durationMs, report: reportPath });
    return report;
  }

  private settle(report: TaskReport): TaskStatus {
    this.reports.set(report.id, report);
    return report.status;
  }

  private skip(task: TaskNode, because: string): TaskStatus {
    this.opts.emit({ type: 'task-skipped', id: task.id, because });
    return this.settle({ id: task.id, status: 'skipped', durationMs: 0, why: because });
  }

  /** Why a task cannot run at all (a dependency failed, the run stopped, a dependency never made), or undefined. */
  private async blocker(task: TaskNode): Promise<string | undefined> {
    const inRun = task.deps.filter((d) => this.selectedIds.has(d));
    const depStatuses = await Promise.all(inRun.map((d) => this.outcome.get(d)!));
    const blocked = inRun.find((d, i) => !PASSED.includes(depStatuses[i]!) && !this.waived.has(d));
    if (blocked) return `${blocked} ${this.reports.get(blocked)?.status ?? 'did not run'}`;
    if (this.stop.signal.aborted) return STOPPED;
    // Dependencies outside the selection (--only) count with what they last produced.
    for (const dep of task.deps) {
      if (this.digests.has(dep) || this.waived.has(task.id)) continue;
      const stamp = this.state.stamps.read(dep);
      if (!stamp) return `${dep} has never run (run it first, or drop --only)`;
      this.digests.set(dep, stamp.outputDigest);
    }
    return undefined;
  }

  /** One task, once its dependencies are settled: skipped, fresh, described (dry run) or run. */
  private async task(task: TaskNode): Promise<TaskStatus> {
    const { opts, state, digests } = this;
    const blocked = await this.blocker(task);
    if (blocked) return this.skip(task, blocked);
    if (this.waived.has(task.id)) {
      digests.set(task.id, 'waived');
      return this.skip(task, 'skipped on request (--no-check): nothing proves this image will boot');
    }
    const wouldRunDep = task.deps.find((d) => this.reports.get(d)?.status === 'would-run');
    const verdict = await state.freshness.check(task, digests, this.forced.has(task.id));
    if (verdict.fresh && !wouldRunDep) {
      digests.set(task.id, verdict.stamp.outputDigest);
      opts.emit({ type: 'task-fresh', id: task.id });
      return this.settle({
        id: task.id,
        status: 'fresh',
        durationMs: 0,
        fingerprint: verdict.fingerprint,
        log: relative(this.graph.boardDir, state.paths.log(task.id)),
      });
    }
    const why: StaleReason = wouldRunDep ? { reason: 'dependency', id: wouldRunDep } : verdict.fresh ? { reason: 'forced' } : verdict.why;
    const kind = kindOf(opts.actions, task.action);
    const mode = kind.jobs?.(task.action) ?? 'one';
    if (opts.dryRun) {
      const where = { cacheDir: this.graph.cacheDir, srcDir: task.srcDir, mirrorDirs: this.graph.mirrors };
      opts.emit({ type: 'task-would-run', id: task.id, why, commands: kind.describe(task.action, task, where, mode === 'shared' ? opts.jobs : 1) });
      digests.set(task.id, 'would-run');
      return this.settle({ id: task.id, status: 'would-run', durationMs: 0, fingerprint: verdict.fingerprint, why: describeStale(why) });
    }
    const cached = opts.cache && kind.cacheable && task.outputs.length > 0 && why.reason !== 'forced' ? opts.cache : undefined;
    if (cached) {
      const restored = await this.restore(task, cached, verdict.fingerprint, verdict.basis);
      if (restored) return restored;
    }
    const server = await (this.jobserver ??= Jobserver.open(state.paths.state, opts.jobs));
    const slot: Slot = await server.acquire();
    // A 'shared' task takes what is free now, as ${jobs}; make draws from the jobserver as it goes.
    const extra = mode === 'shared' ? server.tryTakeExtra(server.total - 1) : 0;
    const grant = mode === 'make' ? { jobs: server.total, jobserverFd: server.childFd } : { jobs: 1 + extra };
    try {
      if (this.stop.signal.aborted) return this.skip(task, STOPPED);
      return await this.execute(task, why, grant, verdict.fingerprint, verdict.basis, cached);
    } finally {
      server.release(slot, extra);
    }
  }

  /** What an action is handed: the task's places, its log, and exec in its own process group. */
  private context(task: TaskNode, log: TaskLog): ActionContext {
    const line = (text: string) => {
      log.line(text);
      this.opts.emit({ type: 'task-output', id: task.id, line: text });
    };
    const ctx: ActionContext = {
      taskId: task.id,
      srcDir: task.srcDir,
      boardDir: this.graph.boardDir,
      cacheDir: this.graph.cacheDir,
      mirrorDirs: this.graph.mirrors,
      signal: this.stop.signal,
      log: line,
      onGroup: (pgid, running) => (running ? this.groups.record(task.id, pgid) : this.groups.forget(task.id, pgid)),
      exec: (argv, o = {}) => {
        if (!o.quiet) line(`$ ${argv.join(' ')}`);
        return exec(argv, {
          onGroup: ctx.onGroup,
          cwd: o.cwd ?? task.cwd,
          ...(o.env ? { env: o.env } : {}),
          capture: o.capture ?? false,
          ...(o.extraFds ? { extraFds: o.extraFds } : {}),
          ...(o.inputFile ? { inputFile: o.inputFile } : {}),
          signal: this.stop.signal,
          onLine: o.quiet ? (l) => log.line(l) : line,
          packages: task.packages,
        });
      },
    };
    return ctx;
  }

  /** Runs a stale task: its stamp goes first (a killed run never looks fresh) and comes back only on success. */
  private async execute(
    task: TaskNode,
    why: StaleReason,
    grant: JobGrant,
    fingerprint: string,
    basis: Record<string, unknown>,
    cache: TaskCache | undefined,
  ): Promise<TaskStatus> {
    const { opts, state } = this;
    const logPath = state.paths.log(task.id);
    const logName = relative(this.graph.boardDir, logPath);
    const t0 = Date.now();
    await state.stamps.invalidate(task.id);
    const log = new TaskLog(logPath);
    opts.emit({ type: 'task-start', id: task.id, why, jobs: grant.jobs, log: logName });
    const ctx = this.context(task, log);
    ctx.log(
      `# ${task.id}: ${describeStale(why)}; ${grant.jobserverFd !== undefined ? `up to ${grant.jobs} jobs (jobserver)` : `${grant.jobs} job${grant.jobs === 1 ? '' : 's'}`}`,
    );
    try {
      this.clearOutputs(task);
      // Whatever ran may have changed its component's tree.
      const result = await kindOf(opts.actions, task.action)
        .run(task.action, task, ctx, grant)
        .finally(() => state.freshness.treeTouched(task.srcDir));
      const stamp = await this.stampOf(task, fingerprint, basis, result.head, t0);
      await state.stamps.write(stamp);
      this.digests.set(task.id, stamp.outputDigest);
      if (cache) this.storing.push(this.store(task, cache, stamp, log));
      else await log.close();
      opts.emit({ type: 'task-done', id: task.id, durationMs: Date.now() - t0 });
      return this.settle({ id: task.id, status: 'ran', durationMs: Date.now() - t0, fingerprint, log: logName });
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
        return this.settle({ id: task.id, status: 'cancelled', durationMs, fingerprint, log: logName });
      }
      opts.emit({ type: 'task-failed', id: task.id, failure, durationMs, log: logName, tail: log.lastLines() });
      if (!opts.keepGoing) this.stop.abort();
      return this.settle({ id: task.id, status: 'failed', durationMs, fingerprint, log: logName });
    }
  }

  /**
   * Outputs from the task cache instead of a run: put in place only when the
   * entry checks out, then stamped like a run's. Undefined when there is no
   * usable entry (the task then runs).
   */
  private async restore(task: TaskNode, cache: TaskCache, fingerprint: string, basis: Record<string, unknown>): Promise<TaskStatus | undefined> {
    const { opts, state } = this;
    const t0 = Date.now();
    // An output that leaves the board's directory is never written: the task runs, and fails saying so.
    if (task.outputs.some((o) => !staysInside(o.path, this.graph.boardDir))) return undefined;
    const scratch = join(state.paths.tmp, `cache-${process.pid}-${task.id.replace(/[^A-Za-z0-9_.-]/g, '_')}`);
    await rm(scratch, { recursive: true, force: true });
    await mkdir(scratch, { recursive: true });
    try {
      const result = await cache.restore(task.id, fingerprint, task.outputs, scratch);
      if (!result.restored) return undefined;
      await state.stamps.invalidate(task.id);
      const stamp = await this.stampOf(task, fingerprint, basis, undefined, t0);
      await state.stamps.write(stamp);
      this.digests.set(task.id, stamp.outputDigest);
      const logName = relative(this.graph.boardDir, state.paths.log(task.id));
      const log = new TaskLog(state.paths.log(task.id));
      log.line(`# ${task.id}: restored from the task cache ${result.from} (fingerprint ${fingerprint.slice(0, 12)})`);
      await log.close();
      const durationMs = Date.now() - t0;
      opts.emit({ type: 'task-restored', id: task.id, from: result.from, durationMs });
      return this.settle({ id: task.id, status: 'restored', durationMs, fingerprint, log: logName, from: result.from });
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  /** Puts a task's fresh outputs in the task cache, after the task; the run ends when this has. */
  private async store(task: TaskNode, cache: TaskCache, stamp: Stamp, log: TaskLog): Promise<void> {
    const scratch = join(this.state.paths.tmp, `cache-put-${process.pid}-${task.id.replace(/[^A-Za-z0-9_.-]/g, '_')}`);
    try {
      const outputs = task.outputs.map((o, i) => ({ ...o, sha256: stamp.outputs[i]!.sha256 }));
      await cache.store(task.id, stamp.fingerprint, outputs, this.graph.boardDir, scratch);
      log.line(`# stored in the task cache ${cache.describe} (fingerprint ${stamp.fingerprint.slice(0, 12)})`);
    } catch (err) {
      // Packing the entry failed (the outputs changed under it, a full disk): the build stands, the cache goes without.
      this.opts.emit({ type: 'warning', message: `${task.id} could not be stored in the task cache: ${(err as Error).message.split('\n')[0]}` });
    } finally {
      await rm(scratch, { recursive: true, force: true });
      await log.close();
    }
  }

  /**
   * An output reached through a symlink that leaves the board's directory is
   * never touched (nor anything there deleted); a directory output is made
   * anew, so that nothing of an earlier run (a file since removed) stays in it.
   */
  private clearOutputs(task: TaskNode): void {
    for (const out of task.outputs) {
      if (!staysInside(out.path, this.graph.boardDir)) throw new TaskFailure({ reason: 'output-escapes', path: out.name, resolved: realLocation(out.path) });
    }
    for (const out of task.outputs) if (statSync(out.path, { throwIfNoEntry: false })?.isDirectory()) rmSync(out.path, { recursive: true, force: true });
  }

  /** The stamp of a task that succeeded: its outputs as they are now, and the tree's commit when it keeps one. */
  private async stampOf(task: TaskNode, fingerprint: string, basis: Record<string, unknown>, head: string | undefined, t0: number): Promise<Stamp> {
    const outputs: Stamp['outputs'] = [];
    for (const out of task.outputs) {
      const st = await this.state.hasher.hash(out.path);
      if (!st) throw new TaskFailure({ reason: 'missing-output', path: out.name });
      outputs.push({ name: out.name, ...st });
    }
    const kept = task.keepsHead ? head : undefined;
    return {
      id: task.id,
      fingerprint,
      basis,
      outputs,
      outputDigest: outputDigest(fingerprint, outputs, head),
      ...(kept !== undefined ? { head: kept } : {}),
      finishedAt: new Date().toISOString(),
      durationMs: Date.now() - t0,
    };
  }
}
