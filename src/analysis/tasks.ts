import { createHash } from 'node:crypto';
import { isAbsolute, join, relative, resolve as resolvePath, sep } from 'node:path';
import { layoutAt, OWN_DIRS, SHARED_DIRS } from '../model/board-layout.js';
import type { FileRef, TaskNode } from '../model/graph.js';
import type { Recipe, Scalar, Task } from '../model/schema.js';
import { didYouMean } from './suggest.js';
import { resolveInputs, resolvePatches } from './task-files.js';
import { makeScope } from './scope.js';
import { interpolate, type VarScope } from './vars.js';
import { describeSource, fetchAction, fetchTools, taskAction, type Str } from './task-actions.js';
import type { PathKey, YamlFile } from './yaml-file.js';
import type { Component, ErrorFn, TaskContext } from './context.js';

export type { Component, ErrorFn, TaskContext } from './context.js';

/**
 * Turns one component (a recipe at a version, with the board's settings)
 * into its tasks: fetch and patch from the source, the recipe's own tasks,
 * and deploy from its exports. Problems are reported through `ctx.error`.
 */

/** Task names xenbuild makes itself. */
const BUILTIN_TASKS = ['fetch', 'patch', 'deploy'] as const;
/** Variables that depend on the machine or the run: symbolic in fingerprints. */

/** What the task makers of one component share. */
interface Maker {
  c: Component;
  ctx: TaskContext;
  file: YamlFile;
  r: Recipe;
  scope: VarScope;
  /** A task of this component, with what every one of its tasks carries. */
  node: (name: string, fields: Omit<TaskNode, 'id' | 'component' | 'name' | 'srcDir' | 'definedIn' | 'packages'>) => TaskNode;
  /** Each declared output of the component's tasks, by absolute path: what exports may name. */
  declaredOutputs: Map<string, string>;
  /** The task after which the source tree is ready (fetch, or patch), when the recipe has a source. */
  sourceTask?: string;
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

export function componentTasks(c: Component, ctx: TaskContext): TaskNode[] {
  const { file, root } = c.recipe;
  const r = c.recipe.value;
  const definedIn = relative(root, file.path);
  const declared = Object.entries(r.tools ?? {});
  const packages = Object.fromEntries(declared.map(([tool, v]) => [tool, typeof v === 'string' ? v : v.package]));
  const freestanding = declared.filter(([, v]) => typeof v !== 'string' && v.freestanding).map(([tool]) => tool);
  const m: Maker = {
    c,
    ctx,
    file,
    r,
    scope: makeScope(c, ctx),
    declaredOutputs: new Map(),
    node: (name, fields) => ({
      id: `${c.name}:${name}`,
      component: c.name,
      name,
      srcDir: c.srcDir,
      definedIn,
      packages,
      ...(freestanding.length ? { freestanding } : {}),
      ...fields,
    }),
  };
  const tasks = sourceTasks(m);
  if (tasks.length) m.sourceTask = tasks.at(-1)!.id;
  for (const [taskName, t] of Object.entries(r.tasks ?? {})) {
    const task = recipeTask(m, taskName, t);
    if (task) tasks.push(task);
  }
  const deploy = exportTask(m);
  if (deploy) tasks.push(deploy);
  return tasks;
}

/** fetch, and patch when the recipe has patches: the tasks that make the source tree. */
function sourceTasks(m: Maker): TaskNode[] {
  const { c, ctx, file, node } = m;
  const tasks: TaskNode[] = [];
  if (c.source) {
    const action = fetchAction(c.source, c.locked, ctx.settings.debianSnapshot);
    const what = describeSource(c.source);
    const patches = resolvePatches(c, ctx);
    tasks.push(
      node('fetch', {
        title: `fetch ${what}`,
        deps: [],
        action,
        cwd: ctx.boardDir,
        env: {},
        inputs: [],
        outputs: [],
        tools: fetchTools(action),
        basis: { action: { kind: action.kind, source: c.source } },
        // The last task that sets the tree holds it at its commit (a patch task, when there are patches).
        ...(patches.length ? {} : { keepsHead: true }),
      }),
    );
    if (patches.length) {
      tasks.push(
        node('patch', {
          title: `apply ${patches.length} patch${patches.length === 1 ? '' : 'es'}`,
          deps: [`${c.name}:fetch`],
          action: { kind: 'patch', patches },
          cwd: c.srcDir,
          env: {},
          inputs: patches,
          outputs: [],
          tools: ['git'],
          keepsHead: true,
          basis: { action: { kind: 'patch', patches: patches.map((p) => p.name) } },
        }),
      );
    }
  } else if (c.patchEntries.entries.length) {
    ctx.error(
      file,
      c.patchEntries.path,
      'patches need a source to apply to',
      'add a "source" to the recipe or remove "patches"',
      file.spanAt(c.patchEntries.path, 'key'),
    );
  }

  return tasks;
}

/** One task the recipe declares (run, make, busybox-root), or undefined when it has errors. */
function recipeTask(m: Maker, taskName: string, t: Task): TaskNode | undefined {
  const { c, ctx, file, r, scope, node, sourceTask } = m;
  const path: PathKey[] = ['tasks', taskName];
  if ((BUILTIN_TASKS as readonly string[]).includes(taskName)) {
    ctx.error(file, path, `task name "${taskName}" is reserved: xenbuild makes the ${taskName} task itself`, 'choose another name', file.spanAt(path, 'key'));
    return undefined;
  }
  const id = `${c.name}:${taskName}`;
  const after = (t.after ?? []).map((dep) => (dep.includes(':') ? dep : `${c.name}:${dep}`));
  ctx.definitions.set(id, { file, afterPath: [...path, 'after'], after });
  const str = (value: Scalar, at: PathKey[]) => resolveString(String(value), at, file, scope, ctx.error);
  const cwd = t.cwd === undefined ? { value: c.srcDir, symbolic: '${srcdir}' } : str(t.cwd, [...path, 'cwd']);
  const env: Record<string, string> = {};
  const envSymbolic: Record<string, string> = {};
  for (const [key, value] of Object.entries(t.env ?? {})) {
    const v = str(value, [...path, 'env', key]);
    env[key] = v.value;
    envSymbolic[key] = v.symbolic;
  }
  const outputs: FileRef[] = [];
  const addOutput = outputAdder(m, id, str, outputs);
  (t.outputs ?? []).forEach((out, i) => addOutput(out, [...path, 'outputs', i]));
  const inputs = resolveInputs(t.inputs ?? [], [...path, 'inputs'], c, ctx);
  const fail = (at: PathKey[], message: string) => ctx.error(file, at, message, undefined, file.spanAt(at, 'key'));
  const action = taskAction(t, path, str, {
    fail,
    addOutput,
    addInput: (entry, at) => resolveInputs([entry], at.slice(0, -1), c, ctx, at[at.length - 1] as number)[0],
  });
  if (!action) return undefined;
  inputs.push(...action.inputs);
  const deps = sourceTask ? [sourceTask, ...after] : after;
  return node(taskName, {
    title: t.description ?? action.title,
    deps: [...new Set(deps)],
    ...(sourceTask ? { readsTree: true } : {}),
    action: action.spec,
    cwd: cwd.value,
    env,
    inputs,
    outputs,
    // The recipe's declared host programs (the cross compiler make runs) count too: a new compiler rebuilds.
    tools: [...new Set([...action.tools, ...Object.keys(r.tools ?? {})])].sort(),
    basis: {
      action: action.symbolic,
      cwd: cwd.symbolic,
      env: envSymbolic,
      outputs: outputs.map((o) => o.name),
      definition: sha(file.definitionText(path)),
    },
  });
}

/** Makes `addOutput` for one task: each output resolved, checked (inside the board, not reserved, one writer) and recorded. */
function outputAdder(m: Maker, id: string, str: Str, outputs: FileRef[]): (out: string, at: PathKey[]) => FileRef | undefined {
  const { c, ctx, file, declaredOutputs } = m;
  return (out: string, at: PathKey[]) => {
    const v = str(out, at);
    const abs = resolvePath(c.srcDir, v.value);
    const name = relative(ctx.boardDir, abs);
    if (name.startsWith('..') || isAbsolute(name)) {
      ctx.error(file, at, `output "${out}" lies outside the board's build directory`, 'outputs are files under the source tree (or ${builddir}, ${deploydir})');
      return undefined;
    }
    const reserved = reservedOutput(name, ctx);
    if (reserved) {
      ctx.error(
        file,
        at,
        `output "${out}" is ${reserved}: a task's output is emptied before it runs`,
        'declare a file or directory inside it, such as ${builddir}/out',
      );
      return undefined;
    }
    const owner = ctx.outputs.get(abs);
    if (owner !== undefined && owner !== id) {
      ctx.error(
        file,
        at,
        `output "${out}" is also an output of ${owner}: two tasks writing one file race, and the last writer wins`,
        'give each task its own output (${builddir} is per component)',
      );
      return undefined;
    }
    // The same file named twice by one task (in outputs and by its action, as kconfig.config is) is one output.
    const known = outputs.find((o) => o.path === abs);
    if (known) return known;
    ctx.outputs.set(abs, id);
    const ref = { path: abs, name };
    outputs.push(ref);
    declaredOutputs.set(abs, id);
    return ref;
  };
}

/** deploy: the recipe's exports copied into deploy/. */
function exportTask(m: Maker): TaskNode | undefined {
  const { c, ctx, file, r, scope, node, sourceTask, declaredOutputs } = m;
  const exports = Object.entries(r.exports ?? {});
  if (exports.length) {
    const files: { from: FileRef; to: FileRef }[] = [];
    const deps = new Set<string>();
    for (const [artifact, from] of exports) {
      const at: PathKey[] = ['exports', artifact];
      const v = resolveString(from, at, file, scope, ctx.error);
      const abs = resolvePath(c.srcDir, v.value);
      // A declared output of a task, or a file of the source itself (a prebuilt binary in a package).
      const inSource = sourceTask !== undefined && !relative(c.srcDir, abs).startsWith('..');
      const producer = declaredOutputs.get(abs) ?? (inSource ? sourceTask : undefined);
      if (!producer) {
        ctx.error(
          file,
          at,
          `export "${artifact}" is "${from}", which no task of ${r.recipe} declares as an output`,
          'add it to the outputs of the task that makes it',
        );
        continue;
      }
      if (artifact.includes('/') || artifact.startsWith('.')) {
        ctx.error(file, at, `artifact name "${artifact}" must be a plain file name`, undefined, file.spanAt(at, 'key'));
        continue;
      }
      const to = join(layoutAt(ctx.boardDir).deploy, artifact);
      const owner = ctx.outputs.get(to);
      if (owner !== undefined) {
        ctx.error(
          file,
          at,
          `artifact "${artifact}" is also exported by ${owner.replace(/:deploy$/, '')}: both would be deploy/${artifact}, and the last writer wins`,
          'rename one of the exports',
          file.spanAt(at, 'key'),
        );
        continue;
      }
      ctx.outputs.set(to, `${c.name}:deploy`);
      deps.add(producer);
      files.push({ from: { path: abs, name: relative(ctx.boardDir, abs) }, to: { path: to, name: relative(ctx.boardDir, to) } });
    }
    return node('deploy', {
      title: `deploy ${files.map((f) => f.to.name.replace(/^deploy\//, '')).join(', ')}`,
      deps: [...deps].sort(),
      action: { kind: 'artifact', files },
      cwd: ctx.boardDir,
      env: {},
      inputs: [],
      outputs: files.map((f) => f.to),
      tools: [],
      basis: { action: { kind: 'artifact', files: files.map((f) => [f.from.name, f.to.name]) }, definition: sha(file.definitionText(['exports'])) },
    });
  }
  return undefined;
}

function resolveString(template: string, at: PathKey[], file: YamlFile, scope: VarScope, error: ErrorFn): { value: string; symbolic: string } {
  const result = interpolate(template, scope);
  if (result.ok) return result.result;
  if (result.malformed)
    error(file, at, `unterminated variable reference in "${template}"`, 'write ${name}; for a literal "${" write "$${"', file.spanWithin(at, '${'));
  for (const name of result.unknown) {
    error(file, at, `unknown variable "\${${name}}"${didYouMean(name, scope.names())}`, scopeHint(name, scope), file.spanWithin(at, `\${${name}}`));
  }
  return { value: template, symbolic: template };
}

function scopeHint(name: string, scope: VarScope): string {
  const prefix = name.includes('.') ? name.slice(0, name.indexOf('.') + 1) : '';
  const siblings = scope.names().filter((n) => (prefix ? n.startsWith(prefix) : !n.includes('.')));
  return `known here: ${siblings.slice(0, 12).join(', ')}${siblings.length > 12 ? ', …' : ''}`;
}

/** The variables a component's strings may use. */
/**
 * Why an output (relative to the board directory) may not be one, or undefined:
 * the directories xenbuild keeps for itself, and the source trees whole.
 */
function reservedOutput(name: string, ctx: TaskContext): string | undefined {
  const first = name.split(sep)[0]!;
  if (name === '') return "the board's build directory itself";
  if (OWN_DIRS.includes(first)) return `in ${first}/, which xenbuild keeps for itself`;
  if (SHARED_DIRS.includes(name)) return `${name}/, which holds every component's`;
  for (const other of ctx.byName.values()) {
    if (relative(ctx.boardDir, other.srcDir) === name) return `the source tree of ${other.name}`;
  }
  return undefined;
}
