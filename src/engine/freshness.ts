import { lstatSync, readlinkSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { readHead, trackedEdits } from '../host/git-refs.js';
import { kindOf, type ActionRegistry } from './action.js';
import type { TaskNode } from '../model/graph.js';
import type { StaleReason } from './events.js';
import { explainChange, fingerprintOf } from './fingerprint.js';
import type { FileHasher } from '../host/hasher.js';
import type { Stamp, StampStore } from './state.js';
import type { ToolVersions } from '../host/tools.js';

export type Verdict =
  | { fresh: true; stamp: Stamp; fingerprint: string; basis: Record<string, unknown> }
  | { fresh: false; why: StaleReason; fingerprint: string; basis: Record<string, unknown> };

/** Decides whether a task is up to date, and if not, why. Reads files; never writes. */
export class Freshness {
  /** `git status` of each source tree, asked once per run (a kernel tree takes a tenth of a second), forgotten when a task works in it. */
  private readonly treeEdits = new Map<string, Promise<string[]>>();

  constructor(
    private readonly stamps: StampStore,
    private readonly hasher: FileHasher,
    private readonly tools: ToolVersions,
    private readonly actions: ActionRegistry,
  ) {}

  /**
   * The full fingerprint input: the static basis from analysis plus input file
   * hashes, tool versions and what the dependencies produced.
   */
  async basis(task: TaskNode, depDigests: ReadonlyMap<string, string>): Promise<Record<string, unknown>> {
    const inputs: Record<string, string> = {};
    await Promise.all(
      task.inputs.map(async (input) => {
        inputs[input.name] = (await this.hasher.hash(input.path))?.sha256 ?? 'missing';
      }),
    );
    const tools: Record<string, string> = {};
    await Promise.all(task.tools.map(async (tool) => (tools[tool] = await this.tools.version(tool))));
    const deps: Record<string, string> = {};
    for (const dep of task.deps) deps[dep] = depDigests.get(dep) ?? 'unknown';
    // Hand edits in the source tree, by content, asked as the task is checked (an earlier task may have made some).
    // Absent when there are none, so a clean tree's fingerprint is the basis alone.
    const tree: Record<string, string> = {};
    if (task.readsTree) for (const file of await this.edits(task.srcDir)) tree[file] = await this.editState(join(task.srcDir, file));
    return { ...task.basis, inputs, tools, deps, ...(Object.keys(tree).length ? { tree } : {}) };
  }

  /**
   * What a file git reports as edited holds now. A link is its target, never
   * followed: an edit that points a tracked link at / or a device is not walked or read.
   */
  private async editState(path: string): Promise<string> {
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (!st) return 'deleted';
    if (st.isSymbolicLink()) return `link:${readlinkSync(path)}`;
    if (!st.isFile()) return st.isDirectory() ? 'directory' : 'special';
    return (await this.hasher.hash(path))?.sha256 ?? 'deleted';
  }

  private edits(srcDir: string): Promise<string[]> {
    let edits = this.treeEdits.get(srcDir);
    if (!edits) this.treeEdits.set(srcDir, (edits = trackedEdits(srcDir)));
    return edits;
  }

  /** A task ran in this tree: what `git status` said of it may no longer hold. */
  treeTouched(srcDir: string): void {
    this.treeEdits.delete(srcDir);
  }

  async check(task: TaskNode, depDigests: ReadonlyMap<string, string>, forced: boolean): Promise<Verdict> {
    const basis = await this.basis(task, depDigests);
    const fingerprint = fingerprintOf(basis);
    const stale = (why: StaleReason): Verdict => ({ fresh: false, why, fingerprint, basis });
    if (forced) return stale({ reason: 'forced' });
    const stamp = this.stamps.read(task.id);
    if (!stamp) return stale({ reason: 'never-ran' });
    if (stamp.fingerprint !== fingerprint) return stale(explainChange(stamp.basis, basis, task.definedIn));
    if (stamp.head !== undefined && readHead(task.srcDir) !== stamp.head) {
      return stale({ reason: 'output-changed', path: `the source tree (HEAD is no longer ${stamp.head.slice(0, 12)})` });
    }
    const gone = kindOf(this.actions, task.action).gone?.(task.action, task);
    if (gone) return stale(gone);
    for (const [i, out] of stamp.outputs.entries()) {
      const path = task.outputs[i]?.name === out.name ? task.outputs[i]!.path : undefined;
      if (!path) return stale({ reason: 'changed', what: 'the declared outputs' });
      let st;
      try {
        st = statSync(path);
      } catch {
        return stale({ reason: 'output-missing', path: out.name });
      }
      // A directory's own size and time do not change with its files: its tree is walked (file hashes stay cached).
      if (!st.isDirectory() && st.size === out.size && st.mtimeMs === out.mtimeMs) continue;
      const now = await this.hasher.hash(path);
      if (now?.sha256 !== out.sha256) return stale({ reason: 'output-changed', path: out.name });
    }
    return { fresh: true, stamp, fingerprint, basis };
  }
}

/** What dependents see of a task: its outputs' contents (or, without outputs, its fingerprint). */
export function outputDigest(fingerprint: string, outputs: Stamp['outputs'], head: string | undefined): string {
  if (outputs.length === 0 && head === undefined) return fingerprint;
  const hash = createHash('sha256');
  for (const o of outputs) hash.update(`${o.name}\0${o.sha256}\n`);
  if (head !== undefined) hash.update(`HEAD\0${head}\n`);
  return hash.digest('hex');
}
