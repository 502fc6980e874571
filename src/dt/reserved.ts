/**
 * Reserved memory against dom0's memory: which /reserved-memory pools have a
 * fixed address, and the operations that prune those dom0 cannot own.
 */
import type { Range } from '../model/boot.js';
import type { DtNode, DtTree } from './model.js';
import type { DtOp, PrunedRegion } from './ops.js';
import { insideAny, regionText, spanText } from './units.js';

/** The /reserved-memory children with a fixed `reg` and their ranges (dynamic pools are left out). */
export function fixedReservedMemory(tree: DtTree): { node: DtNode; ranges: Range[] }[] {
  const parent = tree.nodeAt('/reserved-memory');
  if (!parent) return [];
  return parent.children.flatMap((node) => {
    const ranges = tree.reg(node);
    return ranges && ranges.length > 0 ? [{ node, ranges }] : [];
  });
}

/**
 * Delete every /reserved-memory child whose fixed `reg` does not lie wholly
 * inside dom0's memory (a CMA pool at 0x99000000 while dom0 owns
 * 0xa8000000–0xb0000000 makes dom0 panic in reserve_bootmem).
 *
 * Enabled nodes whose `memory-region` points at a pruned pool (the IPU/DSP
 * remote processors on DRA7) are disabled as well: their carve-out is gone,
 * and a dangling phandle would only make them fail to probe in dom0.
 */
export function pruneReservedMemory(tree: DtTree, dom0: readonly Range[]): { ops: DtOp[]; pruned: PrunedRegion[] } {
  const ops: DtOp[] = [];
  const pruned: PrunedRegion[] = [];
  const users = tree.findNodes((n) => n.has('memory-region') && n.isEnabled());
  const disabledAlready = new Set<string>();
  for (const { node, ranges } of fixedReservedMemory(tree)) {
    if (ranges.every((r) => insideAny(r, dom0))) continue;
    const phandle = node.u32('phandle') ?? node.u32('linux,phandle');
    const disabled = phandle === undefined ? [] : users.filter((u) => u.cells('memory-region')?.includes(phandle)).map((u) => u.path);
    const why = `prune-reserved-memory: ${node.path} (${ranges.map(regionText).join(', ')}) is outside dom0's ${spanText(dom0)}`;
    ops.push({ op: 'delete-node', path: node.path, why });
    for (const path of disabled) {
      if (disabledAlready.has(path)) continue;
      disabledAlready.add(path);
      ops.push({ op: 'set', path, prop: 'status', value: { strings: ['disabled'] }, why: `prune-reserved-memory: its memory-region ${node.path} was removed` });
    }
    pruned.push({ path: node.path, ranges, disabled });
  }
  return { ops, pruned };
}
