import type { LockedSource } from '../model/lock.js';
import type { Settings } from '../config.js';
import type { Recipe, Scalar } from '../model/schema.js';
import type { Loaded } from './load.js';
import type { PathKey, YamlFile } from './yaml-file.js';

/* What the task makers of analysis share: a board's components and where errors go. */

/** A board's component: a recipe at a chosen version, with its variables merged. */
export interface Component {
  name: string;
  recipe: Loaded<Recipe>;
  version?: string;
  /** Path of the version's entry in the recipe, for diagnostics: ["versions", "1.0"] or []. */
  versionPath: PathKey[];
  source?: Recipe['source'];
  /** The source's entry in xenbuild.lock.json, when the lock has one that agrees with the recipe. */
  locked?: LockedSource;
  patchEntries: { entries: string[]; path: PathKey[] };
  variables: Record<string, Scalar>;
  srcDir: string;
  /** Where the board refers to it, for diagnostics. */
  ref: { file: YamlFile; path: PathKey[] };
}

export type ErrorFn = (file: YamlFile, path: readonly PathKey[], message: string, hint?: string, span?: [number, number]) => void;

export interface TaskContext {
  settings: Settings;
  boardName: string;
  boardDir: string;
  boardVars: Record<string, Scalar>;
  byName: Map<string, Component>;
  error: ErrorFn;
  files: string[];
  definitions: Map<string, { file: YamlFile; afterPath: PathKey[]; after: string[] }>;
  /** Every declared output of the board so far (absolute path → task id): one file, one writer. */
  outputs: Map<string, string>;
}
