/**
 * The tty reporter: a listr2 tree with one row per task of the run, in the
 * order run-start lists them. listr2 only draws; the runner decides what runs
 * when. Each listr2 task waits for the runner's events through deferred
 * promises: it stays WAITING until task-start (or an ending event) arrives,
 * then spins until the event that ends it. After run-end the failure tails and
 * the summary line are printed below the tree, as the plain reporter does.
 */
import { DefaultRenderer, Listr, ListrLogger, ProcessOutput, type ListrTask } from 'listr2';

import { describeStale, type Reporter, type RunEvent, type TaskSummary } from '../engine/events.js';
import { describeFailure } from '../host/failure.js';
import { unreachable } from '../util/unreachable.js';
import { LineWriter, Tally, failureHeadline, formatDuration, formatElapsed, formatJobs, tailBlock, type TaskFailedEvent } from './format.js';

/** listr2 renderers the tty reporter can draw with. */
export type TtyRendererName = 'default' | 'simple' | 'verbose' | 'test';

/** Knobs for {@link createTtyReporter}; the defaults are right outside tests. */
export interface TtyReporterOptions {
  /**
   * Force one listr2 renderer (tests use 'test' or 'simple'). Default: the
   * live 'default' renderer, falling back to 'simple' when `out` is not a
   * terminal, TERM is "dumb" or the terminal has no width.
   */
  renderer?: TtyRendererName;
  /**
   * How often the live tree refreshes running tasks' elapsed time and latest
   * output line, in ms. Output arriving faster is coalesced. Default 100;
   * 0 redraws on every event and shows no elapsed time.
   */
  refreshMs?: number;
}

/** Creates the listr2-tree reporter writing to `out` (normally process.stdout). */
export function createTtyReporter(out: NodeJS.WritableStream, env: NodeJS.ProcessEnv, options: TtyReporterOptions = {}): Reporter {
  return new TtyReporter(out, env, options);
}

/** An event after which a task's row no longer changes. */
type Ending =
  | Extract<RunEvent, { type: 'task-fresh' | 'task-done' | 'task-restored' | 'task-failed' | 'task-skipped' | 'task-cancelled' | 'task-would-run' }>
  /** Settled by run-end (or close) without the runner saying anything. */
  | { type: 'not-run'; id: string };

/** The parts of listr2's TaskWrapper a row uses. */
interface TaskHandle {
  title: string;
  output: string;
  skip(message?: string): void;
}

/** Sets a row's title only when it changes: every change redraws the tree. */
function retitle(handle: TaskHandle, title: string): void {
  if (handle.title !== title) handle.title = title;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** One task's row: what the runner said about it, and the listr2 task showing it. */
class Row {
  /** Set by task-start. */
  started: { at: number; jobs: number } | undefined;
  /** The listr2 task, while its task function runs and the row is not ended. */
  handle: TaskHandle | undefined;
  /**
   * Output lines not yet shown: only the latest for the live tree, which
   * shows one line anyway; all of them for renderers that print every line.
   */
  readonly pendingOutput: string[] = [];
  private settled = false;
  private checks = 0;
  private readonly gate = deferred<void>();
  private readonly end = deferred<Ending>();

  constructor(readonly id: string) {}

  /** The runner started the task: let listr2 start its row. */
  start(jobs: number, why: string): void {
    if (this.settled || this.started) return;
    this.started = { at: Date.now(), jobs };
    this.pendingOutput.push(why);
    this.gate.resolve();
  }

  /** Queues an output line; `latestOnly` drops the ones not yet shown. */
  output(line: string, latestOnly: boolean): void {
    if (latestOnly) this.pendingOutput.length = 0;
    this.pendingOutput.push(line);
  }

  /** The task ended (first ending wins). */
  settle(ending: Ending): void {
    if (this.settled) return;
    this.settled = true;
    this.gate.resolve();
    this.end.resolve(ending);
  }

  /** Resolves with the event that ends the task. */
  ended(): Promise<Ending> {
    return this.end.promise;
  }

  /**
   * listr2's `enabled` hook. listr2 evaluates it for every task before any
   * task starts, then again just before starting each one; holding the second
   * evaluation until the runner starts the task keeps the row WAITING instead
   * of spinning. Were listr2 to ask only once, rows would merely spin early.
   */
  readonly enabled = (): boolean | Promise<boolean> => {
    this.checks++;
    return this.checks === 1 ? true : this.gate.promise.then(() => true);
  };
}

class TtyReporter implements Reporter {
  private readonly writer: LineWriter;
  private readonly tally = new Tally();
  private readonly rows = new Map<string, Row>();
  private readonly failures: TaskFailedEvent[] = [];
  private readonly refreshMs: number;
  /**
   * Whether rows update on a timer (the live renderer: elapsed time ticks,
   * output is coalesced) or on every event (renderers that print lines).
   */
  private ticking = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private renderError: unknown;
  private finishing: Promise<void> | undefined;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly env: NodeJS.ProcessEnv,
    private readonly options: TtyReporterOptions,
  ) {
    this.writer = new LineWriter(out);
    this.refreshMs = options.refreshMs ?? 100;
  }

  event(e: RunEvent): void {
    if (this.finishing) return;
    this.tally.add(e);
    switch (e.type) {
      case 'run-start':
        this.begin(e.tasks, e.dryRun);
        return;
      case 'task-start': {
        const row = this.rows.get(e.id);
        if (!row) return;
        row.start(e.jobs, describeStale(e.why));
        if (!this.ticking) this.show(row);
        return;
      }
      case 'task-output': {
        const row = this.rows.get(e.id);
        if (!row) return;
        row.output(e.line, this.ticking);
        if (!this.ticking) this.show(row);
        return;
      }
      case 'task-failed':
        this.failures.push(e);
        this.rows.get(e.id)?.settle(e);
        return;
      case 'task-fresh':
      case 'task-done':
      case 'task-restored':
      case 'task-skipped':
      case 'task-cancelled':
      case 'task-would-run':
        this.rows.get(e.id)?.settle(e);
        return;
      case 'warning':
        return;
      case 'run-end':
        this.finishing = this.finish();
        return;
      default:
        unreachable(e);
    }
  }

  async close(): Promise<void> {
    this.finishing ??= this.finish();
    await this.finishing;
    if (this.renderError !== undefined) throw this.renderError;
  }

  /** run-start: build the tree and let listr2 draw it. */
  private begin(tasks: TaskSummary[], dryRun: boolean): void {
    if (this.running) return;
    for (const t of tasks) if (!this.rows.has(t.id)) this.rows.set(t.id, new Row(t.id));
    const listr = this.createListr([...this.rows.values()], dryRun);
    this.ticking = listr.rendererClass === DefaultRenderer && this.refreshMs > 0;
    this.running = listr.run().then(
      () => undefined,
      (err: unknown) => {
        this.renderError = err;
      },
    );
    if (this.ticking) {
      this.timer = setInterval(() => {
        for (const row of this.rows.values()) this.show(row);
      }, this.refreshMs);
      this.timer.unref();
    }
  }

  private createListr(rows: Row[], dryRun: boolean): Listr<undefined, TtyRendererName, TtyRendererName> {
    const forced = this.options.renderer;
    const renderer: TtyRendererName = forced ?? 'default';
    const stderr = this.out === process.stdout ? process.stderr : this.out;
    const processOutput = new ProcessOutput(this.out as NodeJS.WriteStream, stderr as NodeJS.WriteStream);
    const logger = new ListrLogger({ useIcons: renderer !== 'test', processOutput });
    const tasks: ListrTask<undefined>[] = rows.map((row) => ({
      title: row.id,
      enabled: row.enabled,
      task: (_ctx, wrapper) => this.runRow(row, wrapper),
      // Dry runs list the commands under each task and keep them.
      rendererOptions: dryRun ? { outputBar: Infinity, persistentOutput: true } : { outputBar: true },
    }));
    return new Listr<undefined, TtyRendererName, TtyRendererName>(tasks, {
      concurrent: true,
      exitOnError: false,
      registerSignalListeners: false,
      renderer,
      fallbackRenderer: forced ?? 'simple',
      fallbackRendererCondition: forced === undefined && !this.canDrawLive(),
      rendererOptions: { logger, collapseSubtasks: false, formatOutput: 'truncate' },
      fallbackRendererOptions: { logger },
    });
  }

  /**
   * Whether the live renderer can work here: `out` is a terminal that moves
   * the cursor, and has a width (listr2 sizes rows by process.stdout.columns;
   * a pty without a size reports 0 and would draw nothing).
   */
  private canDrawLive(): boolean {
    return (this.out as { isTTY?: boolean }).isTTY === true && this.env.TERM !== 'dumb' && process.stdout.columns !== 0;
  }

  /** The task function of one row: mirror the runner until the row ends. */
  private async runRow(row: Row, handle: TaskHandle): Promise<void> {
    row.handle = handle;
    this.show(row);
    const ending = await row.ended();
    row.handle = undefined;
    const id = row.id;
    switch (ending.type) {
      case 'task-done':
        retitle(handle, `${id} ${formatDuration(ending.durationMs)}`);
        return;
      case 'task-fresh':
        retitle(handle, `${id} fresh`);
        return;
      case 'task-restored':
        retitle(handle, `${id} restored ${formatDuration(ending.durationMs)}`);
        return;
      case 'task-would-run':
        retitle(handle, `${id} would run (${describeStale(ending.why)})`);
        for (const command of ending.commands) handle.output = command;
        return;
      // The row's text replaces the title in the live tree (collapseErrors,
      // collapseSkips), so it names the task; the title is reset for renderers
      // that print both.
      case 'task-failed':
        retitle(handle, id);
        throw new Error(`${id}: ${describeFailure(ending.failure)}`);
      case 'task-skipped':
        retitle(handle, id);
        handle.skip(`${id} skipped (${ending.because})`);
        return;
      case 'task-cancelled':
        retitle(handle, id);
        handle.skip(`${id} cancelled`);
        return;
      case 'not-run':
        retitle(handle, id);
        handle.skip(`${id} not run`);
        return;
      default:
        unreachable(ending);
    }
  }

  /** Pushes a running row's title (job share, elapsed time) and latest output to listr2. */
  private show(row: Row): void {
    const handle = row.handle;
    if (!handle || !row.started) return;
    const elapsed = this.ticking ? ` ${formatElapsed(Date.now() - row.started.at)}` : '';
    retitle(handle, `${row.id} ${formatJobs(row.started.jobs)}${elapsed}`);
    for (const line of row.pendingOutput.splice(0)) handle.output = line;
  }

  /** Settles every row, waits for listr2 to finish drawing, then prints tails and the summary. */
  private async finish(): Promise<void> {
    for (const row of this.rows.values()) row.settle({ type: 'not-run', id: row.id });
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    // A blank line between blocks once a tree is above them.
    const gap = (): string[] => (lines.length > 0 || this.running ? [''] : []);
    const lines: string[] = [];
    if (this.tally.warnings.length > 0) lines.push(...gap(), ...this.tally.warnings.map((w) => `warning: ${w}`));
    for (const f of this.failures) lines.push(...gap(), ...failureHeadline(f), ...tailBlock(f));
    const summary = this.tally.summary();
    if (summary !== undefined) lines.push(...gap(), summary);
    this.writer.lines(lines);
    await this.writer.flushed();
  }
}
