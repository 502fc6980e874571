import type { ExecOptions } from '../host/process.js';
import type { ActionSpec, SpecOf, TaskNode } from '../model/graph.js';
import type { StaleReason } from './events.js';

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
   * Records a process group a task's action starts without exec() (a library
   * such as buildImage), so that if xenbuild is killed the next run stops it.
   */
  onGroup(pgid: number, running: boolean): void;
  /**
   * Run a program (argv, never a shell) in its own process group; output goes
   * to the task log. Rejects with a TaskFailure. Returns stdout when `capture`.
   */
  exec(argv: readonly string[], opts?: Partial<Pick<ExecOptions, 'cwd' | 'env' | 'capture' | 'extraFds' | 'inputFile'>> & { quiet?: boolean }): Promise<string>;
}

/** Where a dry run says the commands would run. */
type DescribeContext = Pick<ActionContext, 'cacheDir' | 'srcDir' | 'mirrorDirs'>;

/** The jobs a task was given: how many, and for make the jobserver's pipe. */
export interface JobGrant {
  jobs: number;
  /** The jobserver pipe, passed to make as fd 3. */
  jobserverFd?: number;
}

interface ActionResult {
  /** For source tasks: the commit the tree is at when the task is done. */
  head?: string;
}

/** How a task takes jobs: one, what is free when it starts (as ${jobs}), or a share of make's jobserver. */
export type JobsMode = 'one' | 'shared' | 'make';

/**
 * One kind of action, in one module under src/actions/kinds/: how it runs, how
 * a dry run describes it, and what the scheduler needs to know of it. The
 * scheduler knows kinds only through a registry of these.
 */
export interface ActionKind<S extends ActionSpec = ActionSpec> {
  /** Runs the task; expected failures are thrown as TaskFailure. */
  run(spec: S, task: TaskNode, ctx: ActionContext, grant: JobGrant): Promise<ActionResult>;
  /** The commands it would run, resolved, for --dry-run. */
  describe(spec: S, task: TaskNode, where: DescribeContext, jobs: number): string[];
  /**
   * Its outputs are worth keeping in the shared task cache (a compile: they
   * cost more to make than to fetch). Cheap kinds (copies, device trees, the
   * image) are made again instead.
   */
  cacheable?: boolean;
  /** How it takes jobs ('one' when absent). */
  jobs?(spec: S): JobsMode;
  /** Why its result is gone though its stamp says otherwise (a source tree deleted by hand), or undefined. */
  gone?(spec: S, task: TaskNode): StaleReason | undefined;
}

/** Every kind of action, by name: TypeScript refuses a registry that lacks one. */
export type ActionRegistry = { readonly [K in ActionSpec['kind']]: ActionKind<SpecOf<K>> };

/** The module of a task's kind (the one place a spec meets its kind, so the union needs no switch). */
export function kindOf(registry: ActionRegistry, spec: ActionSpec): ActionKind {
  return registry[spec.kind] as ActionKind;
}
