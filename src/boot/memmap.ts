/**
 * The memory planner: checks the load addresses a board fixes and chooses the
 * others, so that U-Boot's copies, Xen's self-relocation and dom0's memory
 * never collide. Pure; exact integer arithmetic; every problem is reported,
 * each naming both regions (hex, size) and the board key to change.
 */
import { formatSize, hex } from '../util/units.js';
import { MIB2, alignDown, alignUp } from './sizes.js';
import {
  moduleId,
  type BootMemory,
  type MemoryPlan,
  type ModuleKind,
  type ModuleRequest,
  type NamedRange,
  type Placement,
  type PlanError,
  type PlanResult,
  type Range,
} from '../model/boot.js';

/** Options of {@link planMemory}. */
export interface PlanOptions {
  /** Xen 4.x on arm32 moves itself to the top of the highest RAM bank: keep that area free. */
  xenRelocates?: boolean;
  /** dom0_mem in bytes (see parseDom0Mem): checked against the free RAM and against `dom0`. */
  dom0Mem?: number;
  /** dom0's memory when known (the board pins it, or Xen printed it): copied into the plan and checked. */
  dom0?: Range[];
}

/** Board keys named by errors that are not a module's own key. */
export const PLAN_KEYS = {
  ram: 'memory.ram',
  align: 'memory.align',
  reserved: 'memory.reserved',
  dom0Memory: 'dom0.memory',
  dom0Mem: 'xen.bootargs',
} as const;

/** The order non-fixed modules are placed in, lowest address first. */
const PLACE_ORDER: readonly ModuleKind[] = ['script', 'dtb', 'kernel', 'initrd', 'domu-kernel', 'domu-ramdisk', 'xen'];

/** A region being checked: its label in messages and the board key that moves it, if any. */
interface Region extends Range {
  label: string;
  key?: string;
}

/** Orders strings by UTF-16 code units: the same on every machine, unlike localeCompare. */
export function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The first address after a range. */
export function rangeEnd(r: Range): number {
  return r.start + r.size;
}

/** Whether two ranges share a byte; an empty range counts as its first byte, so nothing lands inside another region unseen. */
export function rangesOverlap(a: Range, b: Range): boolean {
  return a.start < b.start + Math.max(b.size, 1) && b.start < a.start + Math.max(a.size, 1);
}

/** The RAM bank that holds all of `r`, if one does. */
export function bankHolding(ram: Range[], r: Range): Range | undefined {
  return ram.find((b) => r.start >= b.start && r.start + Math.max(r.size, 1) <= rangeEnd(b));
}

/**
 * Where Xen 4.x (arm32) relocates itself: the top 2 MiB-aligned area of
 * alignUp(xenSize, 2 MiB) bytes in the RAM bank that ends highest. Undefined
 * when that bank is too small.
 */
export function xenRelocationArea(ram: Range[], xenSize: number): Range | undefined {
  if (ram.length === 0) return undefined;
  const top = ram.reduce((a, b) => (rangeEnd(b) > rangeEnd(a) ? b : a));
  const size = alignUp(Math.max(xenSize, 1), MIB2);
  const start = rangeEnd(top) - size < 0 ? -1 : alignDown(rangeEnd(top) - size, MIB2);
  return start >= top.start ? { start, size } : undefined;
}

const num = (n: number): string => (Number.isSafeInteger(n) && n >= 0 ? hex(n) : String(n));
const span = (r: Range): string => `${hex(r.start)}–${hex(rangeEnd(r))}`;
const bank = (r: Range): string => `${hex(r.start)}–${hex(rangeEnd(r) - 1)}`;
const banks = (ram: Range[]): string => ram.map(bank).join(', ');

/** "a (start, size) overlaps b (start–end, size): change b.key or a.key" (or only the keys that exist). */
function overlapError(a: Region, b: Region): PlanError {
  const keys = [b.key, a.key].filter((k): k is string => k !== undefined);
  const key = keys[0] ?? PLAN_KEYS.reserved;
  return {
    message: `${a.label} (${hex(a.start)}, ${formatSize(a.size)}) overlaps ${b.label} (${span(b)}, ${formatSize(b.size)}): change ${keys.length ? keys.join(' or ') : key}`,
    key,
  };
}

/** Checks that `r` lies inside one RAM bank. */
function ramError(ram: Range[], r: Region, key: string): PlanError | undefined {
  if (bankHolding(ram, r)) return undefined;
  const at = `${r.label} at ${hex(r.start)} (${formatSize(r.size)})`;
  const b = ram.find((x) => r.start >= x.start && r.start < rangeEnd(x));
  if (!b) return { message: `${at} lies outside RAM (${banks(ram)}): change ${key}`, key };
  const over = rangeEnd(r) - rangeEnd(b);
  return { message: `${at} runs ${formatSize(over)} past the end of RAM bank ${bank(b)} (to ${hex(rangeEnd(r))}): change ${key}`, key };
}

function relocationError(area: Range, r: Region, key: string): PlanError {
  return {
    message: `${r.label} at ${hex(r.start)} (${formatSize(r.size)}) lies in the area Xen relocates itself to (${span(area)}, ${formatSize(area.size)}): change ${key}`,
    key,
  };
}

/** Validates the inputs that arithmetic depends on; returns the errors and the effective alignment. */
function validate(memory: BootMemory, modules: ModuleRequest[], dom0: Range[] | undefined): { errors: PlanError[]; align: number } {
  const errors: PlanError[] = [];
  const whole = (n: number | undefined): boolean => n === undefined || (Number.isSafeInteger(n) && n >= 0);
  const given = memory.align as number | undefined;
  const align = given === undefined || given === 0 ? MIB2 : given;
  if (!Number.isSafeInteger(align) || align <= 0) {
    errors.push({
      message: `memory.align ${num(align)} is not a whole number of bytes: change ${PLAN_KEYS.align} (0x00200000 is usual)`,
      key: PLAN_KEYS.align,
    });
  }
  if (memory.ram.length === 0) errors.push({ message: `no RAM banks (a bank is 0x80000000 + 1536M, for example): set ${PLAN_KEYS.ram}`, key: PLAN_KEYS.ram });
  memory.ram.forEach((b, i) => {
    if (!whole(b.start) || !Number.isSafeInteger(b.size) || b.size <= 0 || !Number.isSafeInteger(b.start + b.size)) {
      errors.push({
        message: `RAM bank ${i} (${num(b.start)}, size ${num(b.size)}) is not a range of whole bytes: change ${PLAN_KEYS.ram}`,
        key: PLAN_KEYS.ram,
      });
    }
    for (const o of memory.ram.slice(0, i)) {
      if (rangesOverlap(b, o)) errors.push({ message: `RAM bank ${bank(b)} overlaps RAM bank ${bank(o)}: change ${PLAN_KEYS.ram}`, key: PLAN_KEYS.ram });
    }
  });
  const ranges: [Range[], string, string][] = [
    [memory.reserved, 'reserved region', PLAN_KEYS.reserved],
    [dom0 ?? [], 'dom0 memory range', PLAN_KEYS.dom0Memory],
  ];
  for (const [list, what, key] of ranges) {
    for (const r of list.filter((r) => !whole(r.start) || !whole(r.size) || !Number.isSafeInteger(r.start + r.size))) {
      errors.push({ message: `${what} (${num(r.start)}, size ${num(r.size)}) is not a range of whole bytes: change ${key}`, key });
    }
  }
  for (const m of modules) {
    if (!whole(m.size) || !whole(m.growRoom) || !whole(m.fixed) || (m.fixed !== undefined && !Number.isSafeInteger(m.fixed + m.size + (m.growRoom ?? 0)))) {
      errors.push({ message: `${moduleId(m)} has a size (${num(m.size)}), room or address that is not whole bytes: change ${m.key}`, key: m.key });
    }
  }
  return { errors, align };
}

/** Module names: the kind (with its domU's name), with "#2", "#3" for repeats (two initrds are "initrd" and "initrd#2"). */
function moduleNames(modules: ModuleRequest[]): string[] {
  const seen = new Map<string, number>();
  return modules.map((m) => {
    const id = moduleId(m);
    const n = (seen.get(id) ?? 0) + 1;
    seen.set(id, n);
    return n === 1 ? id : `${id}#${n}`;
  });
}

/** Free runs of `ram` not touching `taken`, each starting at an `align` boundary and never crossing a bank end, lowest first. */
export function freeRuns(ram: Range[], taken: Range[], align: number): Range[] {
  const runs: Range[] = [];
  for (const b of [...ram].sort((x, y) => x.start - y.start)) {
    const end = rangeEnd(b);
    let at = alignUp(b.start, align);
    for (const t of taken.filter((t) => rangesOverlap(t, b)).sort((x, y) => x.start - y.start)) {
      if (t.start > at) runs.push({ start: at, size: Math.min(t.start, end) - at });
      at = Math.max(at, alignUp(t.start + Math.max(t.size, 1), align));
    }
    if (end > at) runs.push({ start: at, size: end - at });
  }
  return runs;
}

/** The lowest aligned address in one bank where `size` bytes touch nothing in `taken`. */
function firstFit(ram: Range[], taken: Range[], size: number, align: number): number | undefined {
  return freeRuns(ram, taken, align).find((r) => r.size >= Math.max(size, 1))?.start;
}

/**
 * Plans where the boot modules go. Checks every fixed address (inside one RAM
 * bank with its grow room; clear of the reserved regions, of the other fixed
 * modules and, with `xenRelocates`, of the area Xen moves itself to), then
 * places the others lowest-first at `memory.align` (script, dtb, kernel,
 * initrd, then others), never across a bank boundary. A placement's `size` is
 * the region it claims: the module's size plus its growRoom. On errors the
 * partial plan holds every fixed module (even conflicting ones, so they can be
 * drawn) and every module that could be placed.
 */
export function planMemory(memory: BootMemory, modules: ModuleRequest[], opts: PlanOptions = {}): PlanResult {
  const { errors, align } = validate(memory, modules, opts.dom0);
  const ram = memory.ram;
  const reserved = memory.reserved;
  if (opts.dom0Mem !== undefined && !(Number.isSafeInteger(opts.dom0Mem) && opts.dom0Mem > 0)) {
    errors.push({
      message: `dom0_mem (${num(opts.dom0Mem)}) is not a positive whole number of bytes: change dom0_mem in ${PLAN_KEYS.dom0Mem}`,
      key: PLAN_KEYS.dom0Mem,
    });
  }
  if (errors.length) return { ok: false, errors, partial: { ram, placements: [], reserved } };

  const names = moduleNames(modules);
  const region = (m: ModuleRequest, i: number, start: number): Region => ({ start, size: m.size + (m.growRoom ?? 0), label: names[i]!, key: m.key });
  const reservedRegions: Region[] = reserved.map((r) => ({ ...r, label: `reserved ${r.name}` }));

  let xenRelocated: Range | undefined;
  const xen = modules.findIndex((m) => m.kind === 'xen');
  if (opts.xenRelocates && xen >= 0) {
    const xenBytes = region(modules[xen]!, xen, 0).size;
    xenRelocated = xenRelocationArea(ram, xenBytes);
    if (!xenRelocated) {
      errors.push({
        message: `no RAM bank (${banks(ram)}) can hold Xen (${formatSize(xenBytes)}) when it relocates itself: change ${PLAN_KEYS.ram}`,
        key: PLAN_KEYS.ram,
      });
    } else {
      const heldByXenToo = reservedRegions.filter((x, i) => !memory.reserved[i]?.loaderOnly);
      for (const r of heldByXenToo.filter((x) => rangesOverlap(x, xenRelocated!))) {
        errors.push(relocationError(xenRelocated, r, PLAN_KEYS.reserved));
      }
    }
  }

  const placements: Placement[] = [];
  const fixedRegions: Region[] = [];
  modules.forEach((m, i) => {
    if (m.fixed === undefined) return;
    const r = region(m, i, m.fixed);
    const inRam = ramError(ram, r, m.key);
    if (inRam) errors.push(inRam);
    for (const x of reservedRegions.filter((x) => rangesOverlap(r, x))) errors.push(overlapError(r, x));
    if (xenRelocated && rangesOverlap(r, xenRelocated)) errors.push(relocationError(xenRelocated, r, m.key));
    for (const x of fixedRegions.filter((x) => rangesOverlap(x, r))) errors.push(overlapError(x, r));
    fixedRegions.push(r);
    placements.push({ name: r.label, kind: m.kind, ...domainOf(m), start: r.start, size: r.size, fixed: true, key: m.key });
  });

  const taken: Range[] = [...reserved, ...fixedRegions, ...(xenRelocated ? [xenRelocated] : [])];
  const order = modules
    .map((m, i) => ({ m, i }))
    .filter(({ m }) => m.fixed === undefined)
    .sort((a, b) => PLACE_ORDER.indexOf(a.m.kind) - PLACE_ORDER.indexOf(b.m.kind) || a.i - b.i);
  for (const { m, i } of order) {
    const size = region(m, i, 0).size;
    const start = firstFit(ram, taken, size, align);
    if (start === undefined) {
      errors.push(noRoomError(ram, taken, placements, xenRelocated, reserved, { label: names[i]!, size, key: m.key, start: 0 }, align));
      continue;
    }
    taken.push({ start, size });
    placements.push({ name: names[i]!, kind: m.kind, ...domainOf(m), start, size, fixed: false, key: m.key });
  }
  placements.sort((a, b) => a.start - b.start || byText(a.name, b.name));

  const dom0 = opts.dom0?.map((r) => ({ start: r.start, size: r.size }));
  errors.push(...checkDom0(ram, placements, reservedRegions, xenRelocated, dom0, opts.dom0Mem, align));

  const plan: MemoryPlan = { ram, placements, reserved, ...(xenRelocated ? { xenRelocated } : {}), ...(dom0 ? { dom0 } : {}) };
  return errors.length ? { ok: false, errors, partial: plan } : { ok: true, plan };
}

function domainOf(m: ModuleRequest): { domain?: string } {
  return m.domain !== undefined ? { domain: m.domain } : {};
}

function largestRun(ram: Range[], taken: Range[], align: number): string {
  const best = freeRuns(ram, taken, align).reduce<Range | undefined>((a, r) => (!a || r.size > a.size ? r : a), undefined);
  return best ? `largest free run ${span(best)} (${formatSize(best.size)})` : 'no free RAM left';
}

function noRoomError(
  ram: Range[],
  taken: Range[],
  placements: Placement[],
  relocated: Range | undefined,
  reserved: NamedRange[],
  r: Region,
  align: number,
): PlanError {
  const after = [
    ...[...placements].sort((a, b) => a.start - b.start).map((p) => p.name),
    ...(relocated ? ["Xen's relocation area"] : []),
    ...reserved.map((x) => `reserved ${x.name}`),
  ];
  const placing = after.length ? ` after placing ${after.join(', ')}` : '';
  return {
    message: `no room for ${r.label} (${formatSize(r.size)}) in RAM (${banks(ram)})${placing}: ${largestRun(ram, taken, align)}; give it an address (${r.key}) or shrink it`,
    key: r.key!,
  };
}

/** dom0's pinned ranges: inside RAM, clear of modules, reserved regions, Xen and each other, and as large as dom0_mem; or dom0_mem alone fits. */
function checkDom0(
  ram: Range[],
  placements: Placement[],
  reserved: Region[],
  relocated: Range | undefined,
  dom0: Range[] | undefined,
  dom0Mem: number | undefined,
  align: number,
): PlanError[] {
  const errors: PlanError[] = [];
  const key = PLAN_KEYS.dom0Memory;
  const regions: Region[] = (dom0 ?? []).map((r) => ({ ...r, label: 'dom0 memory', key }));
  regions.forEach((d, i) => {
    const inRam = ramError(ram, d, key);
    if (inRam) errors.push(inRam);
    for (const p of placements.filter((p) => rangesOverlap(p, d))) errors.push(overlapError(d, { ...p, label: p.name }));
    for (const r of reserved.filter((r) => rangesOverlap(r, d))) errors.push(overlapError(d, r));
    if (relocated && rangesOverlap(d, relocated)) errors.push(relocationError(relocated, d, key));
    for (const o of regions.slice(0, i).filter((o) => rangesOverlap(o, d))) errors.push(overlapError(o, d));
  });
  if (dom0Mem === undefined) return errors;
  const mem = `dom0_mem=${formatSize(dom0Mem)}`;
  if (regions.length) {
    const total = regions.reduce((s, r) => s + r.size, 0);
    if (total !== dom0Mem) {
      errors.push({
        message: `dom0 memory (${regions.map(span).join(', ')}) totals ${formatSize(total)} but ${mem}: change dom0_mem in ${PLAN_KEYS.dom0Mem} or ${key}`,
        key: PLAN_KEYS.dom0Mem,
      });
    }
    return errors;
  }
  const taken: Range[] = [...placements, ...reserved, ...(relocated ? [relocated] : [])];
  if (!freeRuns(ram, taken, align).some((r) => r.size >= dom0Mem)) {
    errors.push({
      message: `${mem} does not fit in the RAM left free (${largestRun(ram, taken, align)}): lower dom0_mem in ${PLAN_KEYS.dom0Mem}`,
      key: PLAN_KEYS.dom0Mem,
    });
  }
  return errors;
}
