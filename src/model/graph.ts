import type { BootConfig, BootMemory, DtEdit, ModuleKind, Range, XenCommandLines } from './boot.js';
import type { ImageLayout, ManifestComponent, ManifestSource } from './image.js';
import type { DebianBinarySpecYaml, DebianSourceSpecYaml, GitSourceSpec, TarballSourceSpec } from './schema.js';

/** Stands for the task's job share in a resolved command until the task starts (the runner fills it in). */
export const JOBS_PLACEHOLDER = '\u{F8FF}jobs\u{F8FF}';

/** A file the task reads or writes: where it is, and the name it has in fingerprints and reports. */
export interface FileRef {
  /** Absolute path. */
  path: string;
  /** Machine-independent name: relative to the project root (inputs) or the board directory (outputs). */
  name: string;
}

/** What a task does, fully resolved. New kinds of action add a member here and a module in src/actions/. */
export type ActionSpec =
  | { kind: 'fetch-git'; source: GitSourceSpec }
  | { kind: 'fetch-tarball'; source: TarballSourceSpec }
  | { kind: 'fetch-debian-source'; source: DebianSourceSpecYaml }
  | { kind: 'fetch-debian-binary'; source: DebianBinarySpecYaml }
  | { kind: 'patch'; patches: FileRef[] }
  /** jobs: 'one' job, a 'shared' number of jobs as ${jobs}, or 'make' (the run's jobserver). */
  | { kind: 'run'; argv: string[]; jobs: 'one' | 'shared' | 'make' }
  | { kind: 'artifact'; files: { from: FileRef; to: FileRef }[] }
  | { kind: 'busybox-root'; busybox: string; init: FileRef; modules?: { dir: string; load: string[] }; format: 'cpio' | 'tar'; output: FileRef }
  | { kind: 'uimage'; input: FileRef; output: FileRef; load: number; name: string }
  | { kind: 'image'; layout: ImageLayout; name: string; output: FileRef }
  | {
      kind: 'release';
      board: string;
      image: FileRef;
      compress: 'zst' | 'xz';
      level: number;
      outputs: FileRef[];
      profile?: string;
      components: ManifestComponent[];
      sources: ManifestSource[];
      patches: FileRef[];
      tools: string[];
      memoryMap?: FileRef;
      artifacts: FileRef[];
    }
  | {
      kind: 'boot-plan';
      memory: BootMemory;
      modules: PlannedModule[];
      xenRelocates: boolean;
      /** Xen is a uImage: bootm copies its payload to this load address, so that area is taken too. */
      bootmCopy?: { load: number };
      dom0?: Range[];
      dom0Mem?: number;
      json: FileRef;
      svg: FileRef;
    }
  | { kind: 'boot-dtb'; input: FileRef; output: FileRef; plan: FileRef; edits: DtEdit[]; cmdlines: XenCommandLines; dom0?: Range[] }
  | {
      kind: 'boot-script';
      board: string;
      boot: BootConfig;
      plan: FileRef;
      files: BootMediumFile[];
      cmdlines: XenCommandLines;
      edits: DtEdit[];
      fdtAddr?: number;
      cmd: FileRef;
      output: FileRef;
      env?: FileRef;
    }
  | {
      kind: 'boot-check';
      plan: FileRef;
      /** Xen as built (before any mkimage wrapping), for what its bytes show (XB-HYP-001). */
      xen?: FileRef;
      /** A digest of the rule book's code (check/code.ts): new rules check again. */
      rules?: string;
      dtb?: FileRef;
      config?: FileRef;
      cmdlines: XenCommandLines;
      hyp: 'u-boot-patch' | 'xen-fallback' | 'firmware' | 'unknown';
      dom0?: Range[];
      lpae: boolean;
      report: FileRef;
    };

/** A boot module the memory planner places: the file it is, and what the board says about its address. */
export interface PlannedModule {
  kind: ModuleKind;
  file: FileRef;
  fixed?: number;
  growRoom?: number;
  /** The board key that sets its address, named in errors. */
  key: string;
}

/** A file the boot script loads from the boot medium. */
export interface BootMediumFile {
  kind: ModuleKind;
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

export interface BuildGraph {
  board: string;
  profile?: string;
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
  qemu?: { command: string[]; timeoutSeconds: number; smp: number; milestones: { name: string; match: string }[] };
}
