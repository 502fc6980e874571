import type { Failure } from '../host/failure.js';

/** Why a task has to run; `status` and reporters print it. */
export type StaleReason =
  | { reason: 'never-ran' }
  | { reason: 'forced' }
  | { reason: 'changed'; what: string; was?: string; now?: string }
  | { reason: 'output-changed'; path: string }
  | { reason: 'output-missing'; path: string }
  | { reason: 'dependency'; id: string };

export interface TaskSummary {
  id: string;
  component: string;
  name: string;
  /** one-line description of what the task does, e.g. "make dist-xen …" */
  title: string;
  deps: string[];
}

/**
 * What the runner tells the world. The runner never prints: reporters turn
 * these into a listr2 tree, plain lines or JSON.
 */
export type RunEvent =
  | { type: 'run-start'; board: string; tasks: TaskSummary[]; jobs: number; dryRun: boolean }
  | { type: 'task-fresh'; id: string }
  | { type: 'task-start'; id: string; why: StaleReason; jobs: number; log: string }
  | { type: 'task-output'; id: string; line: string }
  | { type: 'task-would-run'; id: string; why: StaleReason; commands: string[] }
  | { type: 'task-done'; id: string; durationMs: number }
  /** Its outputs came from the task cache (`from`: the store) instead of a run. */
  | { type: 'task-restored'; id: string; from: string; durationMs: number }
  /** Something the user should know that fails nothing (the task cache unreachable). */
  | { type: 'warning'; message: string }
  | { type: 'task-failed'; id: string; failure: Failure; durationMs: number; log: string; tail: string[] }
  | { type: 'task-skipped'; id: string; because: string }
  | { type: 'task-cancelled'; id: string }
  /** `report`: path of report.json, or '' when none was written (dry run). */
  | { type: 'run-end'; ok: boolean; durationMs: number; report: string };

export interface Reporter {
  event(e: RunEvent): void;
  /** Called once after run-end; resolves when everything is flushed. */
  close(): Promise<void>;
}

export function describeStale(why: StaleReason): string {
  switch (why.reason) {
    case 'never-ran':
      return 'never ran';
    case 'forced':
      return 'forced';
    case 'changed':
      return why.was !== undefined || why.now !== undefined
        ? `${why.what} changed (was ${why.was ?? 'absent'}, now ${why.now ?? 'absent'})`
        : `${why.what} changed`;
    case 'output-changed':
      return `output ${why.path} changed since the last run`;
    case 'output-missing':
      return `output ${why.path} is missing`;
    case 'dependency':
      return `depends on ${why.id}`;
  }
}
