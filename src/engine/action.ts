import type { ExecOptions } from '../engine/process.js';

/** What the runner hands an action while it runs one task. */
export interface ActionContext {
  /** e.g. "xen:build" */
  readonly taskId: string;
  /** Absolute path of the component's source tree (<workdir>/<board>/src/<component>). */
  readonly srcDir: string;
  /** Absolute path of <workdir>/<board>. */
  readonly boardDir: string;
  /** Absolute path of the download/git cache shared by every board. */
  readonly cacheDir: string;
  /** Directories looked in for sources before the network (--mirror). */
  readonly mirrorDirs: readonly string[];
  /** Cancelled on Ctrl-C, SIGTERM or fail-fast. */
  readonly signal: AbortSignal;
  /** Write one line to the task's log (and to the reporter). */
  log(line: string): void;
  /**
   * Run a program (argv, never a shell) in its own process group; output goes
   * to the task log. Rejects with a TaskFailure. Returns stdout when `capture`.
   */
  /**
   * Records a process group a task's action starts without exec() (a library
   * such as buildImage), so that if xenbuild is killed the next run stops it.
   */
  onGroup(pgid: number, running: boolean): void;
  exec(argv: readonly string[], opts?: Partial<Pick<ExecOptions, 'cwd' | 'env' | 'capture' | 'extraFds' | 'inputFile'>> & { quiet?: boolean }): Promise<string>;
}
