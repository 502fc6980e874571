/**
 * The plain reporter: one line per event, stable and greppable, for CI logs
 * and pipes. Task output is not printed (it is in the task's log file), except
 * under GitHub Actions, where each task's output is folded into a group.
 */
import { randomUUID } from 'node:crypto';

import { describeStale, type Reporter, type RunEvent } from '../engine/events.js';
import { describeFailure } from '../host/failure.js';
import { unreachable } from '../util/unreachable.js';
import { LineWriter, Tally, failureHeadline, formatDuration, formatJobs, tailBlock } from './format.js';

export { formatDuration } from './format.js';

/** Knobs for {@link createPlainReporter}; the defaults are right outside tests. */
export interface PlainReporterOptions {
  /**
   * Makes the `::stop-commands::` token that fences raw task output under
   * GitHub Actions, so a build log cannot issue workflow commands.
   * Default: a random UUID per fence.
   */
  stopCommandsToken?: () => string;
}

/**
 * Creates the plain reporter. GitHub Actions folding (`::group::`, `::error`)
 * is switched on by `env.GITHUB_ACTIONS === 'true'`.
 */
export function createPlainReporter(out: NodeJS.WritableStream, env: NodeJS.ProcessEnv, options: PlainReporterOptions = {}): Reporter {
  return new PlainReporter(out, env.GITHUB_ACTIONS === 'true', options.stopCommandsToken ?? randomUUID);
}

/** `fresh   xen:fetch`: a fixed-width status word, then the task id. */
function line(status: string, rest: string): string {
  return `${status.padEnd(7)} ${rest}`;
}

/**
 * Escapes workflow-command data (the message after `::`), as @actions/core does.
 */
function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Escapes a workflow-command property value (`title=…`), as @actions/core does. */
function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

class PlainReporter implements Reporter {
  private readonly writer: LineWriter;
  private readonly tally = new Tally();
  /** GitHub Actions only: output lines of each task, printed as a group when it ends. */
  private readonly buffered = new Map<string, string[]>();

  constructor(
    out: NodeJS.WritableStream,
    private readonly github: boolean,
    private readonly token: () => string,
  ) {
    this.writer = new LineWriter(out);
  }

  event(e: RunEvent): void {
    this.tally.add(e);
    this.writer.lines(this.format(e));
  }

  async close(): Promise<void> {
    // Output of tasks that never got an ending event (should not happen).
    for (const id of [...this.buffered.keys()]) this.writer.lines(this.group(id));
    await this.writer.flushed();
  }

  private format(e: RunEvent): string[] {
    switch (e.type) {
      case 'run-start': {
        const what = e.dryRun ? 'dry run' : `${e.jobs} ${e.jobs === 1 ? 'job' : 'jobs'}`;
        return [line('board', `${e.board}: ${e.tasks.length} ${e.tasks.length === 1 ? 'task' : 'tasks'}, ${what}`)];
      }
      case 'task-fresh':
        return [line('fresh', e.id)];
      case 'task-start':
        if (this.github) this.buffered.set(e.id, []);
        return [line('run', `${e.id} (${describeStale(e.why)}) ${formatJobs(e.jobs)}`)];
      case 'task-output':
        if (this.github) {
          const lines = this.buffered.get(e.id);
          if (lines) lines.push(e.line);
          else this.buffered.set(e.id, [e.line]);
        }
        return [];
      case 'task-would-run':
        return [line('would run', `${e.id} (${describeStale(e.why)})`), ...e.commands.map((c) => `    ${c}`)];
      case 'task-done':
        return [...this.group(e.id), line('done', `${e.id} ${formatDuration(e.durationMs)}`)];
      case 'task-failed':
        return [
          ...this.group(e.id),
          ...failureHeadline(e),
          ...(this.github ? [`::error title=${escapeProperty(e.id)}::${escapeData(describeFailure(e.failure))}`] : []),
          ...tailBlock(e, (lines) => this.fence(lines)),
        ];
      case 'task-restored':
        return [line('restored', `${e.id} from ${e.from} ${formatDuration(e.durationMs)}`)];
      case 'warning':
        return [...(this.github ? [`::warning::${escapeData(e.message)}`] : []), line('warning', e.message)];
      case 'task-skipped':
        return [...this.group(e.id), line('skipped', `${e.id} (${e.because})`)];
      case 'task-cancelled':
        return [...this.group(e.id), line('cancelled', e.id)];
      case 'run-end': {
        const summary = this.tally.summary();
        return summary === undefined ? [] : [summary];
      }
      default:
        return unreachable(e);
    }
  }

  /**
   * GitHub Actions: the task's buffered output as one collapsed group, printed
   * when the task ends because parallel tasks interleave. Empty otherwise.
   */
  private group(id: string): string[] {
    const lines = this.buffered.get(id);
    this.buffered.delete(id);
    if (!this.github || !lines || lines.length === 0) return [];
    return [`::group::${id} output`, ...this.fence(lines), '::endgroup::'];
  }

  /** GitHub Actions: stops workflow commands inside raw task output. */
  private fence(lines: string[]): string[] {
    if (!this.github) return lines;
    const token = this.token();
    return [`::stop-commands::${token}`, ...lines, `::${token}::`];
  }
}
