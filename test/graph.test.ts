import { describe, expect, it } from 'vitest';
import { dependencyClosure, dependentClosure, findCycles, topologicalOrder } from '../src/model/dep-graph.js';

const g = (edges: Record<string, string[]>) => new Map(Object.entries(edges));

describe('graph algorithms', () => {
  it('finds no cycle in a DAG and orders dependencies first', () => {
    const dag = g({ 'a:build': ['a:fetch'], 'a:fetch': [], 'img:sd': ['a:build', 'b:build'], 'b:build': [] });
    expect(findCycles(dag)).toEqual([]);
    const order = topologicalOrder(dag);
    expect(order.indexOf('a:fetch')).toBeLessThan(order.indexOf('a:build'));
    expect(order.indexOf('a:build')).toBeLessThan(order.indexOf('img:sd'));
    expect(order.indexOf('b:build')).toBeLessThan(order.indexOf('img:sd'));
    expect(topologicalOrder(dag)).toEqual(order);
  });

  it('reports each cycle once, as a closed path', () => {
    expect(findCycles(g({ a: ['b'], b: ['a'] }))).toEqual([['a', 'b', 'a']]);
    expect(findCycles(g({ a: ['a'] }))).toEqual([['a', 'a']]);
    expect(findCycles(g({ x: ['y'], y: ['z'], z: ['x'], p: ['q'], q: ['p'], free: [] }))).toEqual([
      ['p', 'q', 'p'],
      ['x', 'y', 'z', 'x'],
    ]);
  });

  it('ignores edges to unknown nodes (reported elsewhere)', () => {
    expect(findCycles(g({ a: ['ghost'] }))).toEqual([]);
  });

  it('closes over dependencies and dependents', () => {
    const dag = g({ fetch: [], patch: ['fetch'], build: ['patch'], deploy: ['build'], other: [] });
    expect([...dependencyClosure(dag, ['build'])].sort()).toEqual(['build', 'fetch', 'patch']);
    expect([...dependentClosure(dag, ['patch'])].sort()).toEqual(['build', 'deploy', 'patch']);
  });
});
