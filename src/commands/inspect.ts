import { ACTIONS } from '../actions/registry.js';
import { runGraph } from '../engine/runner.js';
import type { BuildGraph } from '../model/graph.js';
import { unreachable } from '../util/unreachable.js';
import { analysedBoard, CommandError, type GlobalOptions } from './context.js';

/** `xenbuild list`: every task, in the order it would run, with what it needs. */
export async function listCommand(opts: GlobalOptions): Promise<number> {
  const { graph } = await analysedBoard(opts);
  const width = Math.max(...graph.tasks.map((t) => t.id.length));
  for (const t of graph.tasks) {
    process.stdout.write(`${t.id.padEnd(width)}  ${t.title}${t.deps.length ? `  ← ${t.deps.join(', ')}` : ''}\n`);
  }
  return 0;
}

/** `xenbuild status`: fresh or stale for every task, and why, like `ninja -d explain`. */
export async function statusCommand(opts: GlobalOptions & { json?: boolean }): Promise<number> {
  const { graph } = await analysedBoard(opts);
  const rows = await explain(graph);
  if (opts.json) {
    process.stdout.write(JSON.stringify({ board: graph.board, tasks: rows }, null, 2) + '\n');
    return 0;
  }
  const width = Math.max(...rows.map((r) => r.id.length));
  const stale = rows.filter((r) => r.status === 'stale');
  for (const r of stale) process.stdout.write(`${r.id.padEnd(width)}  stale   ${r.why}\n`);
  for (const r of rows.filter((r) => r.status === 'fresh')) process.stdout.write(`${r.id.padEnd(width)}  fresh\n`);
  process.stdout.write(`${stale.length} stale, ${rows.length - stale.length} fresh\n`);
  return 0;
}

export interface StatusRow {
  id: string;
  status: 'fresh' | 'stale';
  why?: string;
}

/**
 * The freshness of every task without running anything: a dry run of the
 * scheduler itself, so `status` and `all` judge each task the same way (a
 * stale task makes its dependents stale), as ninja's -d explain does.
 */
export async function explain(graph: BuildGraph): Promise<StatusRow[]> {
  const report = await runGraph(graph, { actions: ACTIONS, dryRun: true, jobs: 1, signal: new AbortController().signal, emit: () => {} });
  return report.tasks.map((t) => (t.status === 'fresh' ? { id: t.id, status: 'fresh' } : { id: t.id, status: 'stale', why: t.why ?? t.status }));
}

/** `xenbuild graph`: the task graph as Graphviz DOT or a Mermaid flowchart. */
export async function graphCommand(opts: GlobalOptions & { format?: string }): Promise<number> {
  const format = opts.format ?? 'dot';
  if (format !== 'dot' && format !== 'mermaid') throw new CommandError(`unknown graph format "${format}": use dot or mermaid`);
  const { graph } = await analysedBoard(opts);
  process.stdout.write(renderGraph(graph, format));
  return 0;
}

export function renderGraph(graph: BuildGraph, format: 'dot' | 'mermaid'): string {
  const lines: string[] = [];
  switch (format) {
    case 'dot': {
      lines.push(`digraph "${graph.board}" {`, '  rankdir=LR;', '  node [shape=box, fontname="monospace"];');
      const components = [...new Set(graph.tasks.map((t) => t.component))];
      for (const c of components) {
        lines.push(`  subgraph "cluster_${c}" {`, `    label="${c}";`);
        for (const t of graph.tasks.filter((t) => t.component === c)) lines.push(`    "${t.id}" [label="${t.name}"];`);
        lines.push('  }');
      }
      for (const t of graph.tasks) for (const d of t.deps) lines.push(`  "${d}" -> "${t.id}";`);
      lines.push('}');
      break;
    }
    case 'mermaid': {
      const node = (id: string) => id.replace(/[^A-Za-z0-9_]/g, '_');
      lines.push('flowchart LR');
      for (const t of graph.tasks) lines.push(`  ${node(t.id)}["${t.id}"]`);
      for (const t of graph.tasks) for (const d of t.deps) lines.push(`  ${node(d)} --> ${node(t.id)}`);
      break;
    }
    default:
      return unreachable(format);
  }
  return lines.join('\n') + '\n';
}
