/**
 * Text helpers shared by the plain and tty reporters: durations, the failure
 * block, the closing summary line and a line writer that knows when `out`
 * has drained. Deliberately free of heavy imports (see index.ts).
 */
import { basename } from 'node:path';

import type { RunEvent } from '../engine/events.js';
import { describeFailure } from '../host/failure.js';
import { unreachable } from '../util/unreachable.js';

/**
 * A duration as people read it: `850ms`, `12.3s`, `1m02s`, `1h02m03s`.
 * Negative or non-finite input is treated as 0.
 */
export function formatDuration(ms: number): string {
  const t = Number.isFinite(ms) && ms > 0 ? ms : 0;
  if (Math.round(t) < 1000) return `${Math.round(t)}ms`;
  const tenths = Math.round(t / 100);
  if (tenths < 600) return `${(tenths / 10).toFixed(1)}s`;
  return formatClock(Math.round(t / 1000));
}

/** Whole seconds for a clock that ticks: `0s`, `12s`, `1m02s`, `1h02m03s`. */
export function formatElapsed(ms: number): string {
  const s = Number.isFinite(ms) && ms > 0 ? Math.floor(ms / 1000) : 0;
  return s < 60 ? `${s}s` : formatClock(s);
}

function formatClock(totalSeconds: number): string {
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m${ss}s` : `${m}m${ss}s`;
}

/** `[1 job]`, `[4 jobs]`: the share of the job server a running task holds. */
export function formatJobs(jobs: number): string {
  return `[${jobs} ${jobs === 1 ? 'job' : 'jobs'}]`;
}

/** The task-failed event. */
export type TaskFailedEvent = Extract<RunEvent, { type: 'task-failed' }>;

/**
 * Lines that introduce a failure: `FAILED  id: message`, any further lines of
 * a multi-line message indented under it.
 */
export function failureHeadline(e: TaskFailedEvent): string[] {
  const [first = '', ...rest] = describeFailure(e.failure).split('\n');
  return [`FAILED  ${e.id}: ${first}`, ...rest.map((l) => `        ${l}`)];
}

/**
 * The tail of a failed task's log, fenced so it can be found in a long CI log:
 * `--- last 40 lines of <log> ---`, the lines, `--- end of <basename> ---`.
 * `wrap` lets the caller fence the untrusted lines themselves (GitHub Actions).
 */
export function tailBlock(e: TaskFailedEvent, wrap: (lines: string[]) => string[] = (l) => l): string[] {
  if (e.tail.length === 0) return [`--- ${e.log} has no output ---`];
  const n = e.tail.length;
  return [`--- last ${n} ${n === 1 ? 'line' : 'lines'} of ${e.log} ---`, ...wrap(e.tail), `--- end of ${basename(e.log)} ---`];
}

/** Counts what happened to tasks during a run, for the summary line. */
export class Tally {
  dryRun = false;
  ran = 0;
  fresh = 0;
  failed = 0;
  skipped = 0;
  cancelled = 0;
  wouldRun = 0;
  restored = 0;
  /** Warnings, in order (the tty reporter prints them under its tree). */
  readonly warnings: string[] = [];
  /** The run-end event, once seen. */
  end: Extract<RunEvent, { type: 'run-end' }> | undefined;

  /** Records one event. */
  add(e: RunEvent): void {
    switch (e.type) {
      case 'run-start':
        this.dryRun = e.dryRun;
        return;
      case 'task-fresh':
        this.fresh++;
        return;
      case 'task-done':
        this.ran++;
        return;
      case 'task-restored':
        this.restored++;
        return;
      case 'warning':
        this.warnings.push(e.message);
        return;
      case 'task-failed':
        this.failed++;
        return;
      case 'task-skipped':
        this.skipped++;
        return;
      case 'task-cancelled':
        this.cancelled++;
        return;
      case 'task-would-run':
        this.wouldRun++;
        return;
      case 'task-start':
      case 'task-output':
        return;
      case 'run-end':
        this.end = e;
        return;
      default:
        unreachable(e);
    }
  }

  /**
   * The closing line, e.g. `ok: 3 ran, 2 restored, 14 fresh in 12.4s — report build/b/report.json`
   * or `FAILED: 1 failed, 2 skipped, 3 ran, 4 fresh in 1.2s — report …`.
   * Undefined until run-end has been seen.
   */
  summary(): string | undefined {
    const end = this.end;
    if (!end) return undefined;
    const label = end.ok ? (this.dryRun ? 'dry run' : 'ok') : this.failed === 0 && this.cancelled > 0 ? 'CANCELLED' : 'FAILED';
    const parts: string[] = [];
    if (!end.ok || this.failed > 0) parts.push(`${this.failed} failed`);
    if (!end.ok || this.skipped > 0) parts.push(`${this.skipped} skipped`);
    if (this.cancelled > 0) parts.push(`${this.cancelled} cancelled`);
    if (this.dryRun) parts.push(`${this.wouldRun} would run`);
    if (!this.dryRun || this.ran > 0) parts.push(`${this.ran} ran`);
    if (this.restored > 0) parts.push(`${this.restored} restored`);
    parts.push(`${this.fresh} fresh`);
    const report = end.report ? ` — report ${end.report}` : '';
    return `${label}: ${parts.join(', ')} in ${formatDuration(end.durationMs)}${report}`;
  }
}

/**
 * Writes whole lines to a stream and remembers whether the stream asked us to
 * wait, so `flushed()` can resolve once everything written has drained. It
 * never ends `out` (which is usually process.stdout).
 */
export class LineWriter {
  private pending = false;

  constructor(private readonly out: NodeJS.WritableStream) {}

  /** Writes each line followed by a newline. */
  lines(lines: readonly string[]): void {
    if (lines.length === 0) return;
    if (!this.out.write(lines.join('\n') + '\n')) this.pending = true;
  }

  /** Resolves when the stream has drained (or at once if it never filled). */
  async flushed(): Promise<void> {
    const w = this.out as { writableNeedDrain?: boolean; destroyed?: boolean };
    if (!this.pending || w.writableNeedDrain === false || w.destroyed === true) return;
    this.pending = false;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        for (const name of ['drain', 'close', 'error']) this.out.off(name, done);
        resolve();
      };
      for (const name of ['drain', 'close', 'error']) this.out.once(name, done);
    });
  }
}
