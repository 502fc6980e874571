/** Pure graph algorithms over `id → ids it depends on`. */
export type DepGraph = ReadonlyMap<string, readonly string[]>;

/**
 * Every cycle, one per strongly connected component (Tarjan), each given as a
 * path that starts and ends at the same node: ["a", "b", "a"].
 */
export function findCycles(graph: DepGraph): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      components.push(component);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  const cycles: string[][] = [];
  for (const component of components) {
    const members = new Set(component);
    const start = [...component].sort()[0]!;
    if (component.length === 1 && !(graph.get(start) ?? []).includes(start)) continue;
    cycles.push(cyclePath(graph, start, members));
  }
  return cycles.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** A shortest path start → … → start inside one strongly connected component (BFS). */
function cyclePath(graph: DepGraph, start: string, members: ReadonlySet<string>): string[] {
  const parent = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of [...(graph.get(v) ?? [])].sort()) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let at = v; at !== start; at = parent.get(at)!) path.splice(1, 0, at);
        return [...path, start];
      }
      if (!parent.has(w)) {
        parent.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/** Dependencies before dependents; ties in name order, so the order is stable. Assumes no cycles. */
export function topologicalOrder(graph: DepGraph): string[] {
  const order: string[] = [];
  const done = new Set<string>();
  const visit = (v: string) => {
    if (done.has(v)) return;
    done.add(v);
    for (const w of [...(graph.get(v) ?? [])].sort()) if (graph.has(w)) visit(w);
    order.push(v);
  };
  for (const v of [...graph.keys()].sort()) visit(v);
  return order;
}

/** The targets and everything they depend on, transitively. */
export function dependencyClosure(graph: DepGraph, targets: Iterable<string>): Set<string> {
  const seen = new Set<string>();
  const stack = [...targets];
  while (stack.length) {
    const v = stack.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    stack.push(...(graph.get(v) ?? []));
  }
  return seen;
}

/** The sources and everything that depends on them, transitively. */
export function dependentClosure(graph: DepGraph, sources: Iterable<string>): Set<string> {
  const reverse = new Map<string, string[]>();
  for (const [v, deps] of graph) for (const d of deps) reverse.set(d, [...(reverse.get(d) ?? []), v]);
  return dependencyClosure(reverse, sources);
}
