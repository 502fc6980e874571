import { ACTIONS } from '../actions/registry.js';
import type { Settings } from '../config.js';
import { runGraph, type RunOptions, type RunReport } from '../engine/runner.js';
import type { BuildGraph } from '../model/graph.js';
import { createReporter, defaultReporterName } from '../report/index.js';
import { withInterrupts, withLock, type GlobalOptions } from './context.js';

/**
 * Brings tasks of an analysed board up to date: the wiring every building
 * command shares (the chosen reporter, the board's lock unless a dry run, and
 * Ctrl-C stopping every task).
 */
export async function buildTasks(
  graph: BuildGraph,
  settings: Settings,
  opts: GlobalOptions,
  command: string,
  run: Omit<RunOptions, 'actions' | 'jobs' | 'signal' | 'emit'>,
): Promise<RunReport> {
  const reporter = await createReporter(opts.reporter ?? defaultReporterName(process.stdout, process.env), process.stdout, process.env);
  const go = () => withInterrupts((signal) => runGraph(graph, { ...run, actions: ACTIONS, jobs: settings.jobs, signal, emit: (e) => reporter.event(e) }));
  try {
    return run.dryRun ? await go() : await withLock(graph, opts, command, go);
  } finally {
    await reporter.close();
  }
}
