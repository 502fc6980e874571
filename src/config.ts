import { existsSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { INSTALL_ROOT } from './util/install.js';

/** Where xenbuild itself is installed: its recipes/, configs/ and patches/ are the built-in layer. */
/** The options of xenbuild.config.* (validated by config-schema.ts, which is loaded only when needed). */
interface ProjectConfigFile {
  workdir?: string;
  cacheDir?: string;
  mirror?: string | string[];
  jobs?: number;
  board?: string;
  profile?: string;
  recipeDirs?: string[];
  boardDirs?: string[];
  taskCache?: string | false;
  debianSnapshot?: string;
}

/** A directory of recipes or boards, and the root its relative paths (patches, inputs) resolve against. */
export interface LayerDir {
  dir: string;
  root: string;
}

export interface Settings {
  /** The project root: where the config file is, else the current directory. */
  root: string;
  configFile?: string;
  /** The configuration file's content as read, not yet validated (see config-schema.ts). */
  rawConfig?: unknown;
  workdir: string;
  cacheDir: string;
  mirrors: string[];
  jobs: number;
  board?: string;
  profile?: string;
  recipeDirs: LayerDir[];
  boardDirs: LayerDir[];
  /**
   * The shared task cache: a directory (default <cacheDir>/tasks), and an
   * HTTP base URL when one is set; empty when switched off.
   */
  taskCache: string[];
  /** --frozen: every source must be in xenbuild.lock.json and agree with it; nothing may change the lock. */
  frozen?: boolean;
  /**
   * Base URL (or directory) of Debian's snapshot archive, which serves every
   * file it ever had as file/<sha1>: where a locked Debian version that left
   * the archive is fetched from.
   */
  debianSnapshot?: string;
}

export interface CliOptions {
  board?: string;
  profile?: string;
  workdir?: string;
  cacheDir?: string;
  mirror?: string[];
  jobs?: number;
  /** --task-cache DIR|URL (repeatable: exactly these stores, in order), or false for --no-task-cache. */
  taskCache?: string[] | boolean;
  frozen?: boolean;
}

export class ConfigError extends Error {}

/** Finds and reads the project configuration, then lays the command-line options over it. */
export async function loadSettings(cwd: string, cli: CliOptions, env: NodeJS.ProcessEnv = process.env): Promise<Settings> {
  const { cosmiconfig } = await import('cosmiconfig');
  const explorer = cosmiconfig('xenbuild', {
    searchStrategy: 'project',
    searchPlaces: [
      'package.json',
      'xenbuild.config.json',
      'xenbuild.config.yaml',
      'xenbuild.config.yml',
      'xenbuild.config.js',
      'xenbuild.config.mjs',
      'xenbuild.config.ts',
    ],
  });
  let found: { config: unknown; filepath: string; isEmpty?: boolean } | null;
  try {
    found = await explorer.search(cwd);
  } catch (err) {
    throw new ConfigError(`cannot read the xenbuild configuration: ${(err as Error).message}`);
  }
  // Validation (zod) is costly to load; it runs with the analysis, which is skipped while nothing changed.
  // Until then only values of the right type are used.
  const raw = found && !found.isEmpty && isRecord(found.config) ? found.config : {};
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const strs = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : undefined);
  const file: ProjectConfigFile = {};
  for (const key of ['workdir', 'cacheDir', 'board', 'profile', 'debianSnapshot'] as const) {
    const v = str(raw[key]);
    if (v !== undefined) file[key] = v;
  }
  for (const key of ['mirror', 'recipeDirs', 'boardDirs'] as const) {
    const v = strs(raw[key]);
    if (v !== undefined) file[key] = v;
  }
  if (typeof raw.taskCache === 'string' || raw.taskCache === false) file.taskCache = raw.taskCache;
  if (typeof raw.jobs === 'number' && Number.isInteger(raw.jobs) && raw.jobs >= 1) file.jobs = raw.jobs;
  const root = found ? dirname(found.filepath) : cwd;
  const fromFile = (p: string) => resolve(root, p);
  const mirrors = cli.mirror?.length ? cli.mirror.map((m) => resolve(cwd, m)) : [file.mirror ?? []].flat().map(fromFile);
  const cacheDefault = env.XENBUILD_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'xenbuild');
  const layers = (own: string[] | undefined, standard: string) => {
    const dirs: LayerDir[] = (own ?? []).map((d) => ({ dir: fromFile(d), root }));
    const local = join(root, standard);
    if (existsSync(local)) dirs.push({ dir: local, root });
    const builtin = join(INSTALL_ROOT, standard);
    if (!dirs.some((d) => d.dir === builtin)) dirs.push({ dir: builtin, root: INSTALL_ROOT });
    return dirs;
  };
  const settings: Settings = {
    root,
    workdir: cli.workdir ? resolve(cwd, cli.workdir) : fromFile(file.workdir ?? 'build'),
    cacheDir: cli.cacheDir ? resolve(cwd, cli.cacheDir) : file.cacheDir ? fromFile(file.cacheDir) : cacheDefault,
    mirrors,
    jobs: cli.jobs ?? file.jobs ?? availableParallelism(),
    recipeDirs: layers(file.recipeDirs, 'recipes'),
    boardDirs: layers(file.boardDirs, join('configs', 'boards')),
    taskCache: [],
  };
  const isUrl = (w: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(w);
  settings.taskCache = Array.isArray(cli.taskCache)
    ? cli.taskCache.map((w) => (isUrl(w) ? w : resolve(cwd, w)))
    : taskCacheOf(cli.taskCache ?? env.XENBUILD_TASK_CACHE ?? file.taskCache, settings.cacheDir, fromFile);
  const board = cli.board ?? file.board;
  if (board !== undefined) settings.board = board;
  const profile = cli.profile ?? file.profile;
  if (profile !== undefined) settings.profile = profile;
  if (cli.frozen) settings.frozen = true;
  const snapshot = env.XENBUILD_DEBIAN_SNAPSHOT || file.debianSnapshot;
  if (snapshot) settings.debianSnapshot = /^[a-z][a-z0-9+.-]*:\/\//i.test(snapshot) ? snapshot : fromFile(snapshot);
  if (found) {
    settings.configFile = found.filepath;
    settings.rawConfig = found.config;
  }
  return settings;
}

/**
 * Where the task cache is, from XENBUILD_TASK_CACHE or the configuration's
 * taskCache: `<cacheDir>/tasks` by default; a directory given instead of it;
 * a URL (a team's server) used after it; nothing when off
 * (`--no-task-cache`, `XENBUILD_TASK_CACHE=off`, `taskCache: false`).
 * `--task-cache` names the stores exactly instead.
 */
function taskCacheOf(setting: string | boolean | undefined, cacheDir: string, path: (p: string) => string): string[] {
  const local = join(cacheDir, 'tasks');
  if (setting === undefined || setting === true || setting === '') return [local];
  if (setting === false || setting === 'off') return [];
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(setting)) return [local, setting];
  return [path(setting)];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
