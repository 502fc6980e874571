import { ACTIONS } from '../actions/registry.js';
import type { Settings } from '../config.js';
import type { RunEvent } from '../engine/events.js';
import { runGraph, type RunOptions, type RunReport } from '../engine/runner.js';
import { DirectoryStore, HttpStore, TaskCache, type CacheStore } from '../host/task-cache.js';
import type { BuildGraph } from '../model/graph.js';
import { createReporter, defaultReporterName } from '../report/index.js';
import { CommandError, withInterrupts, withLock, type GlobalOptions } from './context.js';

/**
 * Brings tasks of an analysed board up to date: the wiring every building
 * command shares (the chosen reporter, the task cache, the board's lock unless
 * a dry run, and Ctrl-C stopping every task).
 */
export async function buildTasks(
  graph: BuildGraph,
  settings: Settings,
  opts: GlobalOptions,
  command: string,
  run: Omit<RunOptions, 'actions' | 'jobs' | 'signal' | 'emit'>,
): Promise<RunReport> {
  const reporter = await createReporter(opts.reporter ?? defaultReporterName(process.stdout, process.env), process.stdout, process.env);
  const emit = (e: RunEvent) => reporter.event(e);
  const cache = run.dryRun ? undefined : taskCache(settings, (message) => emit({ type: 'warning', message }));
  const go = () => withInterrupts((signal) => runGraph(graph, { ...run, actions: ACTIONS, jobs: settings.jobs, signal, emit, ...(cache ? { cache } : {}) }));
  try {
    return run.dryRun ? await go() : await withLock(graph, opts, command, go);
  } finally {
    await reporter.close();
  }
}

/** The run's task cache, from the settings (XENBUILD_TASK_CACHE_TOKEN is the remote's bearer token). */
function taskCache(settings: Settings, warn: (message: string) => void): TaskCache | undefined {
  if (settings.taskCache.length === 0) return undefined;
  const token = process.env.XENBUILD_TASK_CACHE_TOKEN || undefined;
  const stores: CacheStore[] = settings.taskCache.map((where) => {
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(where)) return new DirectoryStore(where);
    try {
      return new HttpStore(where, token);
    } catch (err) {
      throw new CommandError(`${(err as Error).message} (--task-cache, XENBUILD_TASK_CACHE or taskCache in the configuration)`);
    }
  });
  return new TaskCache(stores, warn);
}
