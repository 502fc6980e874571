import { join } from 'node:path';
import type { Settings } from '../config.js';
import { debianPackageFor, isCCompiler, type CompileKind } from '../host/host-tools.js';
import type { BuildGraph, TaskNode } from '../model/graph.js';
import { boardNameProblem } from '../model/names.js';
import { board as boardSchema, recipe as recipeSchema, type Board, type Recipe, type Scalar } from '../model/schema.js';
import type { Diagnostic } from './diagnostics.js';
import { findCycles, topologicalOrder } from '../model/dep-graph.js';
import { findInLayers, loadFile, namesInLayers, type Loaded } from './load.js';
import { profileChain, withProfile } from './profile.js';
import { didYouMean } from './suggest.js';
import { BOOT, bootTasks } from './board-tasks.js';
import { IMAGE, imageTasks } from './image-tasks.js';
import { componentTasks, type Component, type ErrorFn } from './tasks.js';
import type { PathKey, YamlFile } from './yaml-file.js';

export interface Analysis {
  graph?: BuildGraph;
  diagnostics: Diagnostic[];
  /** Texts of every file read, for rendering diagnostics. */
  texts: Map<string, string>;
  /** Every file the analysis read, for the analysis cache. */
  files: string[];
}

/**
 * Turns a board and its recipes into the whole task graph, or into every
 * problem found on the way. Nothing runs and nothing is written.
 */
export function analyse(settings: Settings, boardName: string, profileOverride?: string): Analysis {
  const texts = new Map<string, string>();
  const diagnostics: Diagnostic[] = [];
  const files: string[] = [];
  const done = (graph?: BuildGraph): Analysis =>
    graph && !diagnostics.some((d) => d.severity === 'error') ? { graph, diagnostics, texts, files } : { diagnostics, texts, files };

  const badName = boardNameProblem(boardName);
  if (badName) {
    diagnostics.push({ severity: 'error', ...badName });
    return done();
  }
  const found = findInLayers(settings.boardDirs, boardName);
  if (!found) {
    const known = namesInLayers(settings.boardDirs);
    diagnostics.push({
      severity: 'error',
      message: `unknown board "${boardName}"${didYouMean(boardName, known)}`,
      hint: `boards: ${known.join(', ') || '(none)'}; a board is a file configs/boards/<name>.yaml`,
    });
    return done();
  }
  files.push(found.path);
  const loaded = loadFile<Board>(boardSchema, found.path, found.root, 'board', texts, diagnostics);
  if (!loaded) return done();
  const error = (file: YamlFile, path: readonly PathKey[], message: string, hint?: string, span?: [number, number]) =>
    diagnostics.push({ severity: 'error', file: file.path, span: span ?? file.spanAt(path), message, ...(hint ? { hint } : {}) });

  // Profile: a named set of components, variables and section keys laid over the board's own.
  const profileName = profileOverride ?? loaded.value['default-profile'];
  const chain = profileName !== undefined && loaded.value.profiles?.[profileName] ? profileChain(loaded, profileName, diagnostics) : [];
  const board = chain && chain.length > 0 ? withProfile(loaded, chain, diagnostics) : loaded;
  if (!chain || !board) return done();
  const b = board.value;
  let components: Record<string, { ref: Board['components'][string]; path: PathKey[] }> = {};
  for (const [name, ref] of Object.entries(b.components)) components[name] = { ref, path: ['components', name] };
  let boardVars: Record<string, Scalar> = { ...b.variables };
  if (profileName !== undefined) {
    const profile = b.profiles?.[profileName];
    if (!profile) {
      const known = Object.keys(b.profiles ?? {});
      const message = `unknown profile "${profileName}"${didYouMean(profileName, known)}`;
      const hint = known.length ? `profiles of ${boardName}: ${known.join(', ')}` : `${boardName} has no profiles`;
      if (profileOverride !== undefined) diagnostics.push({ severity: 'error', message, hint });
      else error(board.file, ['default-profile'], message, hint);
      return done();
    }
    components = { ...components };
    // What a profile extends first, its own entries over them.
    for (const layer of [...chain].reverse()) {
      const p = b.profiles![layer]!;
      for (const [name, ref] of Object.entries(p.components ?? {})) components[name] = { ref, path: ['profiles', layer, 'components', name] };
      boardVars = { ...boardVars, ...p.variables };
    }
  }

  const boardDir = join(settings.workdir, boardName);
  const recipes = new Map<string, Loaded<Recipe> | undefined>();
  const resolved: Component[] = [];
  for (const [name, { ref, path }] of Object.entries(components)) {
    const recipeName = typeof ref === 'string' ? ref.split('@')[0]! : ref.recipe;
    const version = typeof ref === 'string' ? ref.split('@')[1] : ref.version;
    if (!recipes.has(recipeName)) {
      const at = findInLayers(settings.recipeDirs, recipeName);
      if (!at) {
        const known = namesInLayers(settings.recipeDirs);
        error(board.file, path, `unknown recipe "${recipeName}"${didYouMean(recipeName, known)}`, `recipes: ${known.join(', ') || '(none)'}`);
        recipes.set(recipeName, undefined);
        continue;
      }
      files.push(at.path);
      recipes.set(recipeName, loadFile<Recipe>(recipeSchema, at.path, at.root, 'recipe', texts, diagnostics));
    }
    const recipe = recipes.get(recipeName);
    if (!recipe) continue;
    const component = selectVersion(name, recipe, version, { file: board.file, path }, boardDir, error);
    if (!component) continue;
    component.variables = { ...component.variables, ...(typeof ref === 'string' ? {} : ref.variables) };
    resolved.push(component);
  }
  if (diagnostics.some((d) => d.severity === 'error')) return done();

  const byName = new Map(resolved.map((c) => [c.name, c]));
  const tasks: TaskNode[] = [];
  const definitions = new Map<string, { file: YamlFile; afterPath: PathKey[]; after: string[] }>();
  const outputs = new Map<string, string>();
  for (const component of resolved) {
    tasks.push(...componentTasks(component, { settings, boardName, boardDir, boardVars, byName, error, files, definitions, outputs }));
  }
  if (byName.has(BOOT))
    error(
      board.file,
      ['components', BOOT],
      `component name "${BOOT}" is reserved for the board's boot tasks`,
      'choose another name',
      board.file.spanAt(['components', BOOT], 'key'),
    );
  else tasks.push(...bootTasks(board, boardDir, tasks, error));
  // The image names boot files: after an error in the boot sections, its errors would only echo it.
  if (diagnostics.some((d) => d.severity === 'error')) return done();
  if (byName.has(IMAGE))
    error(
      board.file,
      ['components', IMAGE],
      `component name "${IMAGE}" is reserved for the board's image tasks`,
      'choose another name',
      board.file.spanAt(['components', IMAGE], 'key'),
    );
  else {
    const components = resolved.map((c) => ({
      component: c.name,
      recipe: c.recipe.value.recipe,
      ...(c.version !== undefined ? { version: c.version } : {}),
      ...(c.recipe.value.description ? { description: c.recipe.value.description.replace(/\s+/g, ' ').trim() } : {}),
    }));
    tasks.push(...imageTasks(board, boardDir, tasks, error, { ...(profileName !== undefined ? { profile: profileName } : {}), components }));
  }
  if (diagnostics.some((d) => d.severity === 'error')) return done();

  // Dependencies must exist and form no cycle.
  const ids = new Set(tasks.map((t) => t.id));
  for (const task of tasks) {
    const def = definitions.get(task.id);
    task.deps.forEach((dep) => {
      if (ids.has(dep)) return;
      const message = `${task.id} runs after unknown task "${dep}"${didYouMean(dep, ids)}`;
      if (def)
        error(
          def.file,
          [...def.afterPath, def.after.indexOf(dep)],
          message,
          `tasks: ${[...ids].filter((id) => id.startsWith(`${dep.split(':')[0]}:`)).join(', ') || [...ids].join(', ')}`,
        );
      else diagnostics.push({ severity: 'error', message });
    });
  }
  if (diagnostics.some((d) => d.severity === 'error')) return done();
  const depGraph = new Map(tasks.map((t) => [t.id, t.deps]));
  for (const cycle of findCycles(depGraph)) {
    const closing = cycle[cycle.length - 2]!;
    const def = definitions.get(closing) ?? definitions.get(cycle[0]!);
    const message = `dependency cycle: ${cycle.join(' → ')}`;
    const index = def ? def.after.indexOf(cycle[cycle.length - 1]!) : -1;
    if (def) error(def.file, index >= 0 ? [...def.afterPath, index] : def.afterPath, message, 'a task cannot depend on itself, directly or through others');
    else diagnostics.push({ severity: 'error', message });
  }
  if (diagnostics.some((d) => d.severity === 'error')) return done();

  const order = topologicalOrder(depGraph);
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const toolUsers = new Map<string, { package?: string; usedBy: string[]; compiles?: CompileKind }>();
  if (b.qemu && !b.qemu.command[0]!.includes('/'))
    toolUsers.set(b.qemu.command[0]!, {
      usedBy: ['xenbuild boot'],
      ...(debianPackageFor(b.qemu.command[0]!) ? { package: debianPackageFor(b.qemu.command[0]!)! } : {}),
    });
  for (const t of tasks) {
    for (const tool of t.tools) {
      const entry = toolUsers.get(tool) ?? { usedBy: [] };
      const pkg = debianPackageFor(tool, t.packages);
      if (pkg) entry.package = pkg;
      if (isCCompiler(tool)) entry.compiles = entry.compiles === 'hosted' || !t.freestanding?.includes(tool) ? 'hosted' : 'freestanding';
      entry.usedBy.push(t.id);
      toolUsers.set(tool, entry);
    }
  }
  const graph: BuildGraph = {
    board: boardName,
    boardDir,
    workdir: settings.workdir,
    cacheDir: settings.cacheDir,
    mirrors: settings.mirrors,
    tasks: order.map((id) => byId.get(id)!),
    tools: [...toolUsers].sort(([a], [b]) => a.localeCompare(b)).map(([tool, v]) => ({ tool, ...v })),
  };
  if (profileName !== undefined) graph.profile = profileName;
  if (b.qemu) graph.qemu = { command: b.qemu.command, timeoutSeconds: b.qemu.timeout ?? 120, smp: b.qemu.smp ?? 1, milestones: b.qemu.milestones };
  return done(graph);
}

function selectVersion(
  name: string,
  recipe: Loaded<Recipe>,
  version: string | undefined,
  ref: { file: YamlFile; path: PathKey[] },
  boardDir: string,
  error: ErrorFn,
): Component | undefined {
  const r = recipe.value;
  const base = {
    name,
    recipe,
    variables: { ...r.variables },
    srcDir: join(boardDir, 'src', name),
    ref,
  };
  if (r.source && r.versions) {
    error(
      recipe.file,
      ['versions'],
      'a recipe has either "source" or "versions", not both',
      'move the source into a version entry',
      recipe.file.spanAt(['versions'], 'key'),
    );
    return undefined;
  }
  if (!r.versions) {
    if (version !== undefined) {
      error(ref.file, ref.path, `recipe "${r.recipe}" has no versions, so "@${version}" cannot be chosen`, `write "${r.recipe}" alone`);
      return undefined;
    }
    if (r['default-version'] !== undefined) {
      error(recipe.file, ['default-version'], '"default-version" needs a "versions" map');
      return undefined;
    }
    return { ...base, versionPath: [], ...(r.source ? { source: r.source } : {}), patchEntries: { entries: r.patches ?? [], path: ['patches'] } };
  }
  const chosen = version ?? r['default-version'];
  const known = Object.keys(r.versions);
  if (chosen === undefined) {
    error(
      ref.file,
      ref.path,
      `recipe "${r.recipe}" has several versions; choose one`,
      `write "${r.recipe}@${known[0]}" (versions: ${known.join(', ')}) or give the recipe a default-version`,
    );
    return undefined;
  }
  const entry = r.versions[chosen];
  if (!entry) {
    // No "did you mean" here: a near version number is another version, not a typo.
    if (version !== undefined) error(ref.file, ref.path, `recipe "${r.recipe}" has no version "${chosen}"`, `versions: ${known.join(', ')}`);
    else error(recipe.file, ['default-version'], `default-version "${chosen}" is not one of the versions`, `versions: ${known.join(', ')}`);
    return undefined;
  }
  if (r.patches) {
    error(recipe.file, ['patches'], 'with "versions", patches belong in each version entry', `move them under versions.${chosen}.patches`);
    return undefined;
  }
  return {
    ...base,
    version: chosen,
    versionPath: ['versions', chosen],
    source: entry.source,
    variables: { ...base.variables, ...entry.variables },
    patchEntries: { entries: entry.patches ?? [], path: ['versions', chosen, 'patches'] },
  };
}
