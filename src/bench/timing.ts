import { spawnSync, type SpawnSyncReturns } from 'node:child_process';

/** Wall-clock timing of child processes, and the statistics the benchmark prints. */

export interface Timed {
  ms: number;
  result: SpawnSyncReturns<string>;
}

/** Runs argv (never through a shell) and measures its wall time, spawn included. */
export function timeProcess(argv: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Timed {
  const [program, ...args] = argv;
  if (program === undefined) throw new Error('timeProcess: empty argv');
  const start = process.hrtime.bigint();
  const result = spawnSync(program, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.error) throw result.error;
  return { ms, result };
}

export interface Stats {
  min: number;
  median: number;
  p90: number;
  samples: number[];
}

/** Nearest-rank percentile of sorted samples. */
function percentile(sorted: readonly number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export function stats(samples: readonly number[]): Stats {
  if (samples.length === 0) throw new Error('stats: no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { min: sorted[0]!, median, p90: percentile(sorted, 90), samples: [...samples] };
}

export const ms = (n: number): string => `${Math.round(n)}`;
export const gb = (bytes: number): string => `${(bytes / 1e9).toFixed(2)} GB`;
export const count = (n: number): string => n.toLocaleString('en-US');
