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
}

export interface CliOptions {
  board?: string;
  profile?: string;
  workdir?: string;
  cacheDir?: string;
  mirror?: string[];
  jobs?: number;
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
  for (const key of ['workdir', 'cacheDir', 'board', 'profile'] as const) {
    const v = str(raw[key]);
    if (v !== undefined) file[key] = v;
  }
  for (const key of ['mirror', 'recipeDirs', 'boardDirs'] as const) {
    const v = strs(raw[key]);
    if (v !== undefined) file[key] = v;
  }
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
  };
  const board = cli.board ?? file.board;
  if (board !== undefined) settings.board = board;
  const profile = cli.profile ?? file.profile;
  if (profile !== undefined) settings.profile = profile;
  if (found) {
    settings.configFile = found.filepath;
    settings.rawConfig = found.config;
  }
  return settings;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
