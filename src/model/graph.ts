import type { GitSourceSpec, TarballSourceSpec } from './schema.js';

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
  | { kind: 'patch'; patches: FileRef[] }
  | { kind: 'run'; argv: string[]; jobs: 'one' | 'shared' }
  | { kind: 'artifact'; files: { from: FileRef; to: FileRef }[] };

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
  inputs: FileRef[];
  outputs: FileRef[];
  /** Host programs the task runs (for tool versions in the fingerprint and for doctor). */
  tools: string[];
  /** Tool → Debian package hints from the recipe. */
  packages: Record<string, string>;
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
  /** Every host tool the board's tasks run, with the Debian package when known. */
  tools: { tool: string; package?: string; usedBy: string[] }[];
}
