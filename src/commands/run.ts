import { didYouMean } from '../analysis/suggest.js';
import { downstreamOf } from '../engine/runner.js';
import type { BuildGraph } from '../model/graph.js';
import { buildTasks } from './build-tasks.js';
import { analysedBoard, CommandError, EXIT, type GlobalOptions } from './context.js';

export interface RunCommandOptions extends GlobalOptions {
  force?: boolean;
  only?: boolean;
  from?: string;
  /** commander's --no-check: false when given. */
  check?: boolean;
}

/** `xenbuild all` and `xenbuild run <task…>`. */
export async function runCommand(selectors: string[] | undefined, opts: RunCommandOptions, command: string): Promise<number> {
  const { settings, graph } = await analysedBoard(opts);
  const targets = selectors?.length ? expandSelectors(graph, selectors) : undefined;
  const force = new Set<string>(opts.force ? (targets ?? graph.tasks.map((t) => t.id)) : []);
  if (opts.from !== undefined) for (const id of downstreamOf(graph, expandSelectors(graph, [opts.from]))) force.add(id);
  if (opts.check === false) process.stderr.write('xenbuild: warning: --no-check: the pre-flight check is skipped; nothing proves this image will boot\n');
  const report = await buildTasks(graph, settings, opts, command, {
    ...(targets ? { targets } : {}),
    force: [...force],
    only: opts.only ?? false,
    ...(opts.check === false ? { waive: graph.tasks.filter((t) => t.action.kind === 'boot-check').map((t) => t.id) } : {}),
    keepGoing: opts.keepGoing ?? false,
    dryRun: opts.dryRun ?? false,
  });
  if (report.cancelled) return EXIT.interrupted;
  return report.ok ? EXIT.ok : EXIT.failed;
}

/** "xen:build" → itself; "xen" → every task of component xen. Unknown names stop with a suggestion. */
export function expandSelectors(graph: BuildGraph, selectors: readonly string[]): string[] {
  const ids = graph.tasks.map((t) => t.id);
  const components = [...new Set(graph.tasks.map((t) => t.component))];
  const out: string[] = [];
  const problems: string[] = [];
  for (const sel of selectors) {
    if (ids.includes(sel)) out.push(sel);
    else if (components.includes(sel)) out.push(...graph.tasks.filter((t) => t.component === sel).map((t) => t.id));
    else problems.push(`xenbuild: error: no task or component "${sel}" on board ${graph.board}${didYouMean(sel, [...ids, ...components])}`);
  }
  if (problems.length) throw new CommandError(`${problems.join('\n')}\n  hint: xenbuild list --board ${graph.board} shows every task`, EXIT.usage, true);
  return [...new Set(out)];
}
