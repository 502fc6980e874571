import { layoutAt } from '../model/board-layout.js';
import { expandMilestones } from '../boot/milestones.js';
import { parseSize } from '../boot/sizes.js';
import { join } from 'node:path';
import type { Settings } from '../config.js';
import { debianPackageFor, isCCompiler, type CompileKind } from '../host/host-tools.js';
import type { BuildGraph, TaskNode } from '../model/graph.js';
import { boardNameProblem } from '../model/names.js';
import { board as boardSchema, recipe as recipeSchema, type Board, type Recipe, type Scalar } from '../model/schema.js';
import type { Diagnostic } from './diagnostics.js';
import { findCycles, topologicalOrder } from '../model/dep-graph.js';
import { findInLayers, loadFile, namesInLayers, type Loaded } from './load.js';
import type { LockFile } from '../model/lock.js';
import { LOCK_FILE, LockError, lockDisagreement, lockPath, readLock, sourceKey } from './lockfile.js';
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

/** What every phase of one analysis shares: the settings, what was read, and the diagnostics so far. */
interface Session {
  settings: Settings;
  texts: Map<string, string>;
  diagnostics: Diagnostic[];
  files: string[];
  error: ErrorFn;
  failed: () => boolean;
  /** xenbuild.lock.json once read (null: there is none). */
  lock?: LockFile | null;
}

type ComponentRefs = Record<string, { ref: Board['components'][string]; path: PathKey[] }>;

/** A board with its profile laid over it: the components and variables it builds with. */
interface ChosenBoard {
  name: string;
  board: Loaded<Board>;
  profileName: string | undefined;
  components: ComponentRefs;
  boardVars: Record<string, Scalar>;
}

/**
 * Turns a board and its recipes into the whole task graph, or into every
 * problem found on the way. Nothing runs and nothing is written. Each phase
 * stops the analysis when it found an error, so later ones never echo it.
 */
export function analyse(settings: Settings, boardName: string, profileOverride?: string): Analysis {
  const diagnostics: Diagnostic[] = [];
  const session: Session = {
    settings,
    texts: new Map(),
    diagnostics,
    files: [],
    error: (file, path, message, hint, span) =>
      diagnostics.push({ severity: 'error', file: file.path, span: span ?? file.spanAt(path), message, ...(hint ? { hint } : {}) }),
    failed: () => diagnostics.some((d) => d.severity === 'error'),
  };
  const done = (graph?: BuildGraph): Analysis => {
    const { texts, files } = session;
    return graph && !session.failed() ? { graph, diagnostics, texts, files } : { diagnostics, texts, files };
  };
  const chosen = chooseBoard(session, boardName, profileOverride);
  if (!chosen) return done();
  const boardDir = join(settings.workdir, boardName);
  const resolved = resolveComponents(session, chosen, boardDir);
  if (session.failed()) return done();
  const definitions = new Map<string, { file: YamlFile; afterPath: PathKey[]; after: string[] }>();
  const tasks = allTasks(session, chosen, resolved, boardDir, definitions);
  if (!tasks) return done();
  checkDependencies(session, tasks, definitions);
  if (session.failed()) return done();
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const b = chosen.board.value;
  const graph: BuildGraph = {
    board: boardName,
    components: resolved.map((c) => ({
      name: c.name,
      recipe: c.recipe.value.recipe,
      ...(c.version !== undefined ? { version: c.version } : {}),
      ...(c.source ? { source: c.source } : {}),
    })),
    boardDir,
    workdir: settings.workdir,
    cacheDir: settings.cacheDir,
    mirrors: settings.mirrors,
    tasks: topologicalOrder(new Map(tasks.map((t) => [t.id, t.deps]))).map((id) => byId.get(id)!),
    tools: hostTools(tasks, b.qemu?.command[0]),
  };
  if (chosen.profileName !== undefined) graph.profile = chosen.profileName;
  if (b.qemu) {
    // The sizes were read (and refused when bad) with the board's tasks, so they parse here.
    const ramMiB = b.memory ? Math.ceil(b.memory.ram.reduce((sum, r) => sum + parseSize(r.size), 0) / 2 ** 20) : undefined;
    const memoryMiB = b.qemu.memory ?? ramMiB;
    graph.qemu = {
      command: b.qemu.command,
      timeoutSeconds: b.qemu.timeout ?? 120,
      smp: b.qemu.smp ?? 1,
      ...(memoryMiB !== undefined ? { memoryMiB } : {}),
      ...(ramMiB !== undefined ? { ramMiB } : {}),
      milestones: expandMilestones(b.qemu.milestones),
    };
  }
  return done(graph);
}

/** The board file, found and loaded, with its profile (the one asked for, or its default) laid over it. */
function chooseBoard(session: Session, boardName: string, profileOverride: string | undefined): ChosenBoard | undefined {
  const { settings, diagnostics, error } = session;
  const badName = boardNameProblem(boardName);
  if (badName) {
    diagnostics.push({ severity: 'error', ...badName });
    return undefined;
  }
  const found = findInLayers(settings.boardDirs, boardName);
  if (!found) {
    const known = namesInLayers(settings.boardDirs);
    diagnostics.push({
      severity: 'error',
      message: `unknown board "${boardName}"${didYouMean(boardName, known)}`,
      hint: `boards: ${known.join(', ') || '(none)'}; a board is a file configs/boards/<name>.yaml`,
    });
    return undefined;
  }
  session.files.push(found.path);
  const loaded = loadFile<Board>(boardSchema, found.path, found.root, 'board', session.texts, diagnostics);
  if (!loaded) return undefined;
  // Profile: a named set of components, variables and section keys laid over the board's own.
  const profileName = profileOverride ?? loaded.value['default-profile'];
  const chain = profileName !== undefined && loaded.value.profiles?.[profileName] ? profileChain(loaded, profileName, diagnostics) : [];
  const board = chain && chain.length > 0 ? withProfile(loaded, chain, diagnostics) : loaded;
  if (!chain || !board) return undefined;
  const b = board.value;
  const components: ComponentRefs = {};
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
      return undefined;
    }
    // What a profile extends first, its own entries over them.
    for (const layer of [...chain].reverse()) {
      const p = b.profiles![layer]!;
      for (const [name, ref] of Object.entries(p.components ?? {})) components[name] = { ref, path: ['profiles', layer, 'components', name] };
      boardVars = { ...boardVars, ...p.variables };
    }
  }
  return { name: boardName, board, profileName, components, boardVars };
}

/** Each component's recipe, loaded once, at the version the board asks for. */
function resolveComponents(session: Session, chosen: ChosenBoard, boardDir: string): Component[] {
  const { settings, error } = session;
  const recipes = new Map<string, Loaded<Recipe> | undefined>();
  const resolved: Component[] = [];
  for (const [name, { ref, path }] of Object.entries(chosen.components)) {
    const recipeName = typeof ref === 'string' ? ref.split('@')[0]! : ref.recipe;
    const version = typeof ref === 'string' ? ref.split('@')[1] : ref.version;
    if (!recipes.has(recipeName)) {
      const at = findInLayers(settings.recipeDirs, recipeName);
      if (!at) {
        const known = namesInLayers(settings.recipeDirs);
        error(chosen.board.file, path, `unknown recipe "${recipeName}"${didYouMean(recipeName, known)}`, `recipes: ${known.join(', ') || '(none)'}`);
        recipes.set(recipeName, undefined);
        continue;
      }
      session.files.push(at.path);
      recipes.set(recipeName, loadFile<Recipe>(recipeSchema, at.path, at.root, 'recipe', session.texts, session.diagnostics));
    }
    const recipe = recipes.get(recipeName);
    if (!recipe) continue;
    const component = selectVersion(name, recipe, version, { file: chosen.board.file, path }, boardDir, error);
    if (!component) continue;
    applyLock(session, chosen, component);
    component.variables = { ...component.variables, ...(typeof ref === 'string' ? {} : ref.variables) };
    resolved.push(component);
  }
  return resolved;
}

/**
 * The component's entry in xenbuild.lock.json, when it agrees with the recipe
 * (its Debian files then pin the fetch). With --frozen, a source missing from
 * the lock or disagreeing with it is an error at the recipe's source;
 * without, a disagreement is a warning and the recipe wins.
 */
function applyLock(session: Session, chosen: ChosenBoard, component: Component): void {
  const { settings, error, diagnostics } = session;
  if (!component.source) return;
  if (session.lock === undefined) {
    session.files.push(lockPath(settings.root));
    try {
      session.lock = readLock(settings.root) ?? null;
    } catch (err) {
      if (!(err instanceof LockError)) throw err;
      diagnostics.push({ severity: 'error', message: err.message });
      session.lock = null;
    }
  }
  const recipe = component.recipe;
  const at = [...component.versionPath, 'source'];
  const key = sourceKey(recipe.value.recipe, component.version);
  const locked = session.lock?.sources[key];
  const update = `xenbuild lock --update ${component.name} --board ${chosen.name}${chosen.profileName !== undefined ? ` --profile ${chosen.profileName}` : ''}`;
  if (!locked) {
    if (settings.frozen) error(recipe.file, at, `--frozen: ${key} is not in ${LOCK_FILE}`, `run ${update} and commit ${LOCK_FILE}`);
    return;
  }
  const why = lockDisagreement(component.source, locked);
  if (why === undefined) {
    component.locked = locked;
    return;
  }
  const message = `${settings.frozen ? '--frozen: ' : ''}this source and its entry "${key}" in ${LOCK_FILE} disagree: ${why}`;
  const hint = settings.frozen ? `move the lock on purpose with ${update}, and commit it` : `building from the recipe; ${update} moves the lock`;
  if (settings.frozen) error(recipe.file, at, message, hint);
  else diagnostics.push({ severity: 'warning', file: recipe.file.path, span: recipe.file.spanAt(at), message, hint });
}

/** The components' tasks, then the board's boot and image tasks; undefined when any has an error. */
function allTasks(
  session: Session,
  chosen: ChosenBoard,
  resolved: Component[],
  boardDir: string,
  definitions: Map<string, { file: YamlFile; afterPath: PathKey[]; after: string[] }>,
): TaskNode[] | undefined {
  const { settings, error, files } = session;
  const { board, boardVars, profileName } = chosen;
  const byName = new Map(resolved.map((c) => [c.name, c]));
  const tasks: TaskNode[] = [];
  const outputs = new Map<string, string>();
  const boardName = chosen.name;
  for (const component of resolved) {
    tasks.push(...componentTasks(component, { settings, boardName, boardDir, boardVars, byName, error, files, definitions, outputs }));
  }
  const reserved = (name: string, what: string) =>
    error(
      board.file,
      ['components', name],
      `component name "${name}" is reserved for the board's ${what} tasks`,
      'choose another name',
      board.file.spanAt(['components', name], 'key'),
    );
  if (byName.has(BOOT)) reserved(BOOT, 'boot');
  else tasks.push(...bootTasks(board, boardDir, tasks, error));
  // The image names boot files: after an error in the boot sections, its errors would only echo it.
  if (session.failed()) return undefined;
  if (byName.has(IMAGE)) reserved(IMAGE, 'image');
  else {
    const components = resolved.map((c) => ({
      component: c.name,
      recipe: c.recipe.value.recipe,
      ...(c.version !== undefined ? { version: c.version } : {}),
      ...(c.recipe.value.description ? { description: c.recipe.value.description.replace(/\s+/g, ' ').trim() } : {}),
    }));
    tasks.push(...imageTasks(board, boardDir, tasks, error, { ...(profileName !== undefined ? { profile: profileName } : {}), components }));
  }
  return session.failed() ? undefined : tasks;
}

/** Every dependency names a task, and none forms a cycle: each problem at the `after` entry that makes it. */
function checkDependencies(session: Session, tasks: TaskNode[], definitions: Map<string, { file: YamlFile; afterPath: PathKey[]; after: string[] }>): void {
  const { error, diagnostics } = session;
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
  if (session.failed()) return;
  for (const cycle of findCycles(new Map(tasks.map((t) => [t.id, t.deps])))) {
    const closing = cycle[cycle.length - 2]!;
    const def = definitions.get(closing) ?? definitions.get(cycle[0]!);
    const message = `dependency cycle: ${cycle.join(' → ')}`;
    const index = def ? def.after.indexOf(cycle[cycle.length - 1]!) : -1;
    if (def) error(def.file, index >= 0 ? [...def.afterPath, index] : def.afterPath, message, 'a task cannot depend on itself, directly or through others');
    else diagnostics.push({ severity: 'error', message });
  }
}

/** Every host program the board runs, with its Debian package and, for a C compiler, what doctor must prove it builds. */
function hostTools(tasks: readonly TaskNode[], emulator: string | undefined): BuildGraph['tools'] {
  const toolUsers = new Map<string, { package?: string; usedBy: string[]; compiles?: CompileKind }>();
  if (emulator && !emulator.includes('/')) {
    const pkg = debianPackageFor(emulator);
    toolUsers.set(emulator, { usedBy: ['xenbuild boot'], ...(pkg ? { package: pkg } : {}) });
  }
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
  return [...toolUsers].sort(([a], [b]) => a.localeCompare(b)).map(([tool, v]) => ({ tool, ...v }));
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
    srcDir: layoutAt(boardDir).src(name),
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
