import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { layoutAt } from '../model/board-layout.js';
import { moduleClosure } from '../util/module-files.js';
import { parseSize } from '../boot/sizes.js';
import type { FileRef, TaskNode } from '../model/graph.js';
import type { ErrorFn } from './context.js';
import type { PathKey, YamlFile } from './yaml-file.js';

/** What the board-level task builders (boot, image) share. */

/** A file under <boardDir>/deploy/. */
export function deployFile(boardDir: string, name: string): FileRef {
  return { path: join(layoutAt(boardDir).deploy, name), name: `deploy/${name}` };
}

/**
 * The action as fingerprints see it: machine-independent. A file is its name
 * (relative to the project or the board directory), never its absolute path;
 * any other string under the board directory is written from ${boarddir}.
 */
function symbolic(action: TaskNode['action'], boardDir: string): unknown {
  const isFileRef = (v: unknown): v is FileRef =>
    typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).sort().join() === 'name,path' && typeof (v as FileRef).name === 'string';
  return JSON.parse(
    JSON.stringify(action, (_key, value: unknown) => {
      if (isFileRef(value)) return { file: value.name };
      return typeof value === 'string' && value.startsWith(boardDir) ? '${boarddir}' + value.slice(boardDir.length) : value;
    }),
  );
}

export interface BoardTaskSpec {
  name: string;
  title: string;
  deps: string[];
  action: TaskNode['action'];
  outputs: FileRef[];
  tools: string[];
  inputs?: FileRef[];
}

/** A task a board's own sections make (component "boot" or "image"), defined in the board file. */
export function boardTask(component: string, boardDir: string, board: string, spec: BoardTaskSpec): TaskNode {
  return {
    id: `${component}:${spec.name}`,
    component,
    name: spec.name,
    title: spec.title,
    deps: [...new Set(spec.deps)].sort(),
    action: spec.action,
    cwd: boardDir,
    env: {},
    srcDir: layoutAt(boardDir).deploy,
    inputs: spec.inputs ?? [],
    outputs: spec.outputs,
    tools: spec.tools,
    packages: {},
    basis: { action: symbolic(spec.action, boardDir), code: kindCodeDigest(spec.action.kind) },
    definedIn: `configs/boards/${board}.yaml`,
  };
}

/**
 * The built files of an action kind's module and everything it imports
 * (actions/kinds/<kind>.js). A board task's result is xenbuild's own work (a
 * plan, a picture, a device tree, an image), so a xenbuild whose code for it
 * changed makes it again; a compile's result is its recipe's, and is not tied
 * to xenbuild's code.
 */
export function kindCodeFiles(kind: string): string[] {
  return moduleClosure(join(dirname(fileURLToPath(import.meta.url)), '..', 'actions', 'kinds', `${kind}.js`));
}

const kindDigests = new Map<string, string>();

/** A digest of kindCodeFiles(kind), by file name and content (never by path: checkouts share fingerprints). */
function kindCodeDigest(kind: string): string {
  let digest = kindDigests.get(kind);
  if (digest === undefined) {
    const root = join(dirname(fileURLToPath(import.meta.url)), '..');
    const hash = createHash('sha256');
    for (const file of kindCodeFiles(kind)) {
      // Run from the TypeScript sources (the tests), the entry is a .ts file and no closure is found: its text still counts.
      const text = [file, file.replace(/\.js$/, '.ts')].flatMap((f) => (existsSync(f) ? [readFileSync(f)] : []))[0];
      if (text) hash.update(file.slice(root.length)).update('\0').update(text).update('\0');
    }
    digest = hash.digest('hex').slice(0, 16);
    kindDigests.set(kind, digest);
  }
  return digest;
}

/**
 * A size or address parser that reports what it cannot parse at its place in
 * the board file and remembers that something failed.
 */
export function sizeReader(file: YamlFile, error: ErrorFn): { num: (value: number | string, at: PathKey[]) => number; failed: () => boolean } {
  let failed = false;
  return {
    num: (value, at) => {
      try {
        return parseSize(value);
      } catch (err) {
        failed = true;
        error(file, at, (err as Error).message);
        return 0;
      }
    },
    failed: () => failed,
  };
}

/** The artifacts the components export, by name, with the deploy task that makes each. */
export function exportedArtifacts(tasks: readonly TaskNode[]): Map<string, Artifact> {
  const artifacts = new Map<string, Artifact>();
  for (const t of tasks) {
    if (t.action.kind !== 'artifact') continue;
    for (const f of t.action.files) artifacts.set(f.to.name.slice(f.to.name.lastIndexOf('/') + 1), { producer: t.id, file: f.to });
  }
  return artifacts;
}

/** An artifact a component exports: its file in deploy/ and the task that puts it there. */
export type Artifact = { producer: string; file: FileRef };
