/**
 * From what a board declares (DtEdit[], the memory plan, Xen's command lines)
 * to ONE list of concrete operations (DtOp[]), which bake.ts applies with
 * fdtput and uboot.ts renders as U-Boot `fdt` commands.
 */
import type { DomU, DtEdit, Placement, Range, XenCommandLines } from '../model/boot.js';
import type { DtTree } from './model.js';
import type { DtOp, PrunedRegion } from './ops.js';
import { pruneReservedMemory } from './reserved.js';
import { hexShort as hex } from '../util/units.js';

export type { DtOp } from './ops.js';
export { bakeEdits } from './bake.js';
export { ubootFdtCommands } from './uboot.js';
export interface ResolveContext {
  /** The DTB the edits apply to; needed by prune-reserved-memory. */
  tree?: DtTree;
  /** dom0's memory; needed by prune-reserved-memory. */
  dom0?: readonly Range[];
}

export interface Resolved {
  ops: DtOp[];
  /** What prune-reserved-memory removed, for the caller to log. */
  pruned: PrunedRegion[];
  /** Edits that could not be resolved (say why); their ops are missing from `ops`. */
  problems: string[];
}

/** Turn the board's declared edits into concrete operations, in order. */
export function resolveEdits(edits: readonly DtEdit[], ctx: ResolveContext = {}): Resolved {
  const ops: DtOp[] = [];
  const pruned: PrunedRegion[] = [];
  const problems: string[] = [];
  for (const edit of edits) {
    switch (edit.op) {
      case 'set':
        ops.push({ op: 'set', path: edit.path, prop: edit.prop, value: edit.value, why: 'dtb fixup' });
        break;
      case 'set-phandle': {
        const target = ctx.tree?.nodeAt(edit.target);
        const phandle = target?.u32('phandle') ?? target?.u32('linux,phandle');
        if (!ctx.tree) problems.push(`set ${edit.path} ${edit.prop} to the phandle of ${edit.target} needs the DTB (dtb.mode: bake), so it was not set`);
        else if (!target) problems.push(`set ${edit.path} ${edit.prop}: the DTB has no node ${edit.target}`);
        else if (phandle === undefined) problems.push(`set ${edit.path} ${edit.prop}: ${edit.target} has no phandle (nothing refers to it)`);
        else ops.push({ op: 'set', path: edit.path, prop: edit.prop, value: { cells: [phandle] }, why: `dtb fixup: phandle of ${edit.target}` });
        break;
      }
      case 'delete-prop':
        ops.push({ op: 'delete-prop', path: edit.path, prop: edit.prop, why: 'dtb fixup' });
        break;
      case 'add-node':
        ops.push({ op: 'add-node', path: edit.path, why: 'dtb fixup' });
        break;
      case 'delete-node':
        ops.push({ op: 'delete-node', path: edit.path, why: 'dtb fixup' });
        break;
      case 'enable':
      case 'disable':
        ops.push({
          op: 'set',
          path: edit.path,
          prop: 'status',
          value: { strings: [edit.op === 'enable' ? 'okay' : 'disabled'] },
          why: `dtb fixup: ${edit.op}`,
        });
        break;
      case 'prune-reserved-memory': {
        if (!ctx.tree || !ctx.dom0 || ctx.dom0.length === 0) {
          problems.push("prune-reserved-memory needs the DTB and dom0's memory (pin dom0 with dom0_mem and its memory range), so nothing was pruned");
          break;
        }
        const result = pruneReservedMemory(ctx.tree, ctx.dom0);
        ops.push(...result.ops);
        pruned.push(...result.pruned);
        break;
      }
    }
  }
  return { ops, pruned, problems };
}

export interface ChosenInput {
  /** The planned modules; those of kind kernel and initrd become module nodes, and each domU's under its node. */
  placements: readonly Placement[];
  cmdlines: XenCommandLines;
  /** dom0less guests: one /chosen/<name> node each. */
  domus?: readonly DomU[];
  /** The DTB being edited, when known: /chosen is created only if it lacks one. */
  tree?: DtTree;
}

/** `#address-cells`/`#size-cells` written on /chosen, and so the encoding of each module's `reg`. */
export interface ChosenCells {
  address: 1 | 2;
  size: 1 | 2;
}

const MODULE_COMPATIBLE: Partial<Record<Placement['kind'], string[]>> = {
  kernel: ['xen,linux-zimage', 'xen,multiboot-module'],
  initrd: ['xen,linux-initrd', 'xen,multiboot-module'],
};

/**
 * What Xen reads from /chosen (docs/misc/arm/device-tree/booting.txt): its own
 * and dom0's command lines, and one node per boot module.
 *
 * Layout decision: module nodes go directly under /chosen as
 * `/chosen/module@<addr>` (not in a /chosen/modules container as in the
 * seed). Xen 4.5's bootfdt.c accepts a `xen,multiboot-module` node at any
 * depth, today's accepts it at depth 2 or 3 (`depth <= 3`), and booting.txt
 * has documented modules as children of /chosen since 4.4. Xen reads each module's
 * `reg` with the cells of its parent, so /chosen gets `#address-cells` and
 * `#size-cells` and no intermediate node can get in the way. The compatibles
 * are the 4.4-era "xen,linux-zimage"/"xen,linux-initrd" + "xen,multiboot-module",
 * which 4.4 requires and every later Xen still accepts.
 *
 * With no `cells` given, 1 is used unless some address or size needs 2.
 * Throws if a module does not fit the given cells (a planner bug).
 */
export function chosenOps(input: ChosenInput, cells?: ChosenCells): DtOp[] {
  const modules = input.placements
    .filter((p) => MODULE_COMPATIBLE[p.kind] !== undefined)
    .sort((a, b) => (a.kind === b.kind ? a.start - b.start : a.kind === 'kernel' ? -1 : 1));
  const needs2 = (n: number) => n > 0xffffffff;
  const c: ChosenCells = cells ?? {
    address: modules.some((m) => needs2(m.start)) ? 2 : 1,
    size: modules.some((m) => needs2(m.size)) ? 2 : 1,
  };
  const why = 'xen /chosen';
  const ops: DtOp[] = [];
  if (input.tree && !input.tree.nodeAt('/chosen')) ops.push({ op: 'add-node', path: '/chosen', why });
  ops.push(
    { op: 'set', path: '/chosen', prop: '#address-cells', value: { cells: [c.address] }, why },
    { op: 'set', path: '/chosen', prop: '#size-cells', value: { cells: [c.size] }, why },
    { op: 'set', path: '/chosen', prop: 'xen,xen-bootargs', value: { strings: [input.cmdlines.xen] }, why },
    { op: 'set', path: '/chosen', prop: 'xen,dom0-bootargs', value: { strings: [input.cmdlines.dom0] }, why },
  );
  for (const m of modules) {
    const path = `/chosen/module@${m.start.toString(16)}`;
    const mwhy = `xen boot module: ${m.kind} (${m.name})`;
    ops.push(
      { op: 'add-node', path, why: mwhy },
      { op: 'set', path, prop: 'compatible', value: { strings: MODULE_COMPATIBLE[m.kind]! }, why: mwhy },
      { op: 'set', path, prop: 'reg', value: { cells: [...toCells(m.start, c.address, m.key), ...toCells(m.size, c.size, m.key)] }, why: mwhy },
    );
  }
  for (const d of input.domus ?? []) ops.push(...domuOps(d, input.placements));
  return ops;
}

const DOMU_COMPATIBLE: Partial<Record<Placement['kind'], string[]>> = {
  'domu-kernel': ['multiboot,kernel', 'multiboot,module'],
  'domu-ramdisk': ['multiboot,ramdisk', 'multiboot,module'],
};

/**
 * A dom0less guest's node, /chosen/<name> (booting.txt, "Creating Multiple
 * Domains directly from Xen"): `compatible = "xen,domain"`, 2 address and 2
 * size cells for its modules, `memory` in KiB as a 64-bit number, `cpus`,
 * `vpl011` when it has that console, and a module node for its kernel (with
 * its `bootargs`) and its ramdisk.
 */
function domuOps(d: DomU, placements: readonly Placement[]): DtOp[] {
  const node = `/chosen/${d.name}`;
  const why = `dom0less guest ${d.name}`;
  const kib = Math.ceil(d.memory / 1024);
  const ops: DtOp[] = [
    { op: 'add-node', path: node, why },
    { op: 'set', path: node, prop: 'compatible', value: { strings: ['xen,domain'] }, why },
    { op: 'set', path: node, prop: '#address-cells', value: { cells: [2] }, why },
    { op: 'set', path: node, prop: '#size-cells', value: { cells: [2] }, why },
    { op: 'set', path: node, prop: 'memory', value: { cells: toCells(kib, 2, `${d.name}.memory`) }, why },
    { op: 'set', path: node, prop: 'cpus', value: { cells: [d.vcpus] }, why },
  ];
  if (d.vpl011) ops.push({ op: 'set', path: node, prop: 'vpl011', value: { empty: true }, why });
  const mine = placements.filter((p) => p.domain === d.name && DOMU_COMPATIBLE[p.kind] !== undefined).sort((a, b) => byKernelFirst(a, b));
  if (!mine.some((p) => p.kind === 'domu-kernel')) throw new Error(`Internal error: the plan has no kernel for ${d.name}`);
  for (const m of mine) {
    const path = `${node}/module@${m.start.toString(16)}`;
    const mwhy = `${why}: ${m.name}`;
    ops.push(
      { op: 'add-node', path, why: mwhy },
      { op: 'set', path, prop: 'compatible', value: { strings: DOMU_COMPATIBLE[m.kind]! }, why: mwhy },
      { op: 'set', path, prop: 'reg', value: { cells: [...toCells(m.start, 2, m.key), ...toCells(m.size, 2, m.key)] }, why: mwhy },
    );
    if (m.kind === 'domu-kernel' && d.bootargs !== undefined) ops.push({ op: 'set', path, prop: 'bootargs', value: { strings: [d.bootargs] }, why: mwhy });
  }
  return ops;
}

function byKernelFirst(a: Placement, b: Placement): number {
  return a.kind === b.kind ? a.start - b.start : a.kind === 'domu-kernel' ? -1 : 1;
}

/** A number as `n` big-endian cells. */
function toCells(value: number, n: 1 | 2, key: string): number[] {
  if (!Number.isSafeInteger(value) || value < 0 || (n === 1 && value > 0xffffffff)) {
    throw new Error(`Internal error: ${key}: ${hex(value)} does not fit in ${n} cell(s)`);
  }
  return n === 1 ? [value] : [Math.floor(value / 0x1_0000_0000), value % 0x1_0000_0000];
}
