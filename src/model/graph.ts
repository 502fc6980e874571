import type { Milestone, ModuleRef } from './boot.js';
import type { Recipe } from './schema.js';

/** Stands for the task's job share in a resolved command until the task starts (the runner fills it in). */
export const JOBS_PLACEHOLDER = '\u{F8FF}jobs\u{F8FF}';

/** A file the task reads or writes: where it is, and the name it has in fingerprints and reports. */
export interface FileRef {
  /** Absolute path. */
  path: string;
  /** Machine-independent name: relative to the project root (inputs) or the board directory (outputs). */
  name: string;
}

/**
 * What each kind of action needs to know, fully resolved, by kind. The union is
 * open: each kind's module under src/actions/kinds/ adds its own member,
 *
 *   declare module '../../model/graph.js' { interface ActionSpecs { uimage: { input: FileRef; … } } }
 *
 * so a new kind is its module and its line in the registry (actions/registry.ts),
 * which TypeScript refuses to compile while a kind lacks one.
 *
 * @public (used by the kinds' `declare module` blocks, which knip does not count)
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by each kind's module
export interface ActionSpecs {}

/** What a task does: one kind's spec, tagged with its kind. */
export type ActionSpec = { [K in keyof ActionSpecs]: { kind: K } & ActionSpecs[K] }[keyof ActionSpecs];

/** The spec of one kind. */
export type SpecOf<K extends ActionSpec['kind']> = Extract<ActionSpec, { kind: K }>;

/** A boot module the memory planner places: the file it is, and what the board says about its address. */
export interface PlannedModule extends ModuleRef {
  file: FileRef;
  fixed?: number;
  growRoom?: number;
  /** The board key that sets its address, named in errors. */
  key: string;
}

/** A file the boot script loads from the boot medium. */
export interface BootMediumFile extends ModuleRef {
  /** Where it is in deploy/ (its size decides nothing here; the plan has it). */
  file: FileRef;
  /** Its name on the boot medium. */
  name: string;
}

export interface TaskNode {
  /** "xen:build" */
  id: string;
  component: string;
  name: string;
  /** A short line saying what the task does ("make dist-xen …"). */
  title: string;
  deps: string[];
  action: ActionSpec;
  /** Absolute working directory. */
  cwd: string;
  env: Record<string, string>;
  /** The component's source tree. */
  srcDir: string;
  /**
   * The task works on the source tree as it is: edits to files git tracks there
   * (a fix tried by hand) count in its fingerprint. Tasks of a recipe with a source.
   */
  readsTree?: boolean;
  /**
   * The task leaves the source tree at a commit, and stays fresh only while the
   * tree is still there: the last of a component's fetch and patch tasks.
   */
  keepsHead?: boolean;
  inputs: FileRef[];
  outputs: FileRef[];
  /** Host programs the task runs (for tool versions in the fingerprint and for doctor). */
  tools: string[];
  /** Tool → Debian package hints from the recipe. */
  packages: Record<string, string>;
  /** C compilers the task uses for freestanding code only (the recipe says so); every other compiler must build hosted programs. */
  freestanding?: string[];
  /**
   * Everything static that decides the task's result, machine-independent:
   * resolved command with symbolic paths, env, the recipe text defining it.
   */
  basis: Record<string, unknown>;
  /** Where the task is defined, for messages: "recipes/xen.yaml". */
  definedIn: string;
}

/** A component of the board: the recipe (at a version) it is built from, and the source as the recipe pins it. */
export interface GraphComponent {
  name: string;
  recipe: string;
  version?: string;
  source?: Recipe['source'];
}

export interface BuildGraph {
  board: string;
  profile?: string;
  /** The board's components, in the board's order. */
  components: GraphComponent[];
  /** <workdir>/<board> */
  boardDir: string;
  workdir: string;
  cacheDir: string;
  mirrors: string[];
  /** Every task, in a stable topological order. */
  tasks: TaskNode[];
  /**
   * Every host tool the board's tasks run, with the Debian package when known;
   * for a C compiler, what doctor must prove it builds (hosted unless every user builds freestanding code only).
   */
  tools: { tool: string; package?: string; usedBy: string[]; compiles?: 'hosted' | 'freestanding' }[];
  /** How to boot the board's image under an emulator (xenbuild boot), when the board can be. */
  qemu?: {
    command: string[];
    timeoutSeconds: number;
    smp: number;
    /** The emulated RAM in MiB: qemu.memory, or the board's memory.ram; none when the board says neither. */
    memoryMiB?: number;
    /** The board's memory.ram in MiB, where its boot files are planned: the least RAM that boots it. */
    ramMiB?: number;
    /** The presets expanded. */
    milestones: Milestone[];
  };
}
