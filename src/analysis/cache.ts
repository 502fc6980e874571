import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkCodeFiles } from '../check/code.js';
import { kindCodeFiles } from './board-common.js';
import type { Settings } from '../config.js';
import { boardLayout } from '../model/board-layout.js';
import type { BuildGraph } from '../model/graph.js';
import { canonicalJson, isRecord, readJsonState, writeFileAtomic } from '../util/fs.js';
import { moduleClosure } from '../util/module-files.js';

/**
 * The analysed graph of a board, kept beside its build until any file the
 * analysis read changes (ninja keeps its parsed manifest the same way). A
 * no-op build then needs neither the YAML parser nor the validator.
 */
interface CacheEntry {
  key: string;
  files: [path: string, mtimeMs: number, size: number][];
  graph: BuildGraph;
}

const FORMAT = 2;

/**
 * The code that makes the graph: resolve.js and everything it imports, found
 * by reading the imports (so a new module is never forgotten). A new xenbuild,
 * even at the same version, invalidates the cache.
 */
function analysisCode(): string[] {
  return moduleClosure(join(dirname(fileURLToPath(import.meta.url)), 'resolve.js'));
}

function analysisCachePath(settings: Settings, board: string): string {
  return boardLayout(settings.workdir, board).analysis;
}

function keyOf(settings: Settings, board: string, profile: string | undefined, version: string): string {
  const { rawConfig, ...rest } = settings;
  return createHash('sha256')
    .update(canonicalJson({ FORMAT, version, settings: rest, rawConfig: rawConfig ?? null, board, profile: profile ?? null }))
    .digest('hex');
}

function stamp(path: string): [string, number, number] {
  try {
    const st = statSync(path);
    return [path, st.mtimeMs, st.size];
  } catch {
    return [path, -1, -1];
  }
}

/** The cached graph, if nothing it was made from has changed. */
export function readAnalysisCache(settings: Settings, board: string, profile: string | undefined, version: string): BuildGraph | undefined {
  const entry = readJsonState(
    analysisCachePath(settings, board),
    (v): v is CacheEntry =>
      isRecord(v) &&
      typeof v.key === 'string' &&
      Array.isArray(v.files) &&
      v.files.every((f) => Array.isArray(f) && f.length === 3) &&
      isRecord(v.graph) &&
      Array.isArray(v.graph.tasks),
  );
  if (!entry) return undefined;
  if (entry.key !== keyOf(settings, board, profile, version)) return undefined;
  for (const [path, mtimeMs, size] of entry.files) {
    const [, m, s] = stamp(path);
    if (m !== mtimeMs || s !== size) return undefined;
  }
  return entry.graph;
}

export async function writeAnalysisCache(
  settings: Settings,
  board: string,
  profile: string | undefined,
  version: string,
  graph: BuildGraph,
  files: readonly string[],
): Promise<void> {
  const watched = new Set([
    ...files,
    ...settings.recipeDirs.map((d) => d.dir),
    ...settings.boardDirs.map((d) => d.dir),
    ...analysisCode(),
    ...checkCodeFiles(),
    ...graph.tasks.filter((t) => t.definedIn.startsWith('configs/boards/')).flatMap((t) => kindCodeFiles(t.action.kind)),
  ]);
  const entry: CacheEntry = { key: keyOf(settings, board, profile, version), files: [...watched].sort().map(stamp), graph };
  await writeFileAtomic(analysisCachePath(settings, board), JSON.stringify(entry));
}
