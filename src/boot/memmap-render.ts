/**
 * Pictures of a memory plan: a self-contained SVG (each RAM bank a bar drawn
 * to scale, every region a labelled box), and the regions as both pictures
 * see them (memmap-table.ts draws the text table). Pure and deterministic: the
 * same plan gives the same bytes.
 */
import { bankHolding, byText, rangeEnd, rangesOverlap } from './memmap.js';
import { formatSize, hex } from '../util/units.js';
import type { MemoryPlan, PlanError, Range } from '../model/boot.js';

/** The fill of a region that conflicts with another (or lies outside RAM). */
export const CONFLICT_FILL = '#d62728';

type ItemKind = 'planned' | 'fixed' | 'relocated' | 'dom0' | 'reserved' | 'loader';
export interface Item extends Range {
  kind: ItemKind;
  name: string;
  /** The board key that places it (modules only). */
  key?: string;
  conflict: boolean;
}

export const STYLE: Record<ItemKind, { fill: string; legend: string; marker: string }> = {
  planned: { fill: '#4e79a7', legend: 'module (planned address)', marker: '' },
  fixed: { fill: '#1f3f66', legend: 'module (address fixed by the board)', marker: '' },
  relocated: { fill: '#f28e2b', legend: 'where Xen relocates itself', marker: 'R' },
  dom0: { fill: '#59a14f', legend: 'dom0 memory', marker: '0' },
  reserved: { fill: 'url(#hatch)', legend: 'reserved', marker: '#' },
  loader: { fill: 'url(#hatch-light)', legend: 'taken only while U-Boot runs', marker: '~' },
};
export const BAND_ORDER: ItemKind[] = ['loader', 'reserved', 'dom0', 'relocated'];
export const MODULE_MARKERS: Record<string, string> = { xen: 'X', dtb: 'D', kernel: 'K', initrd: 'I', script: 'S' };

/** The board keys a conflict asks to change: its key and those in its "change a or b" clause. */
function conflictKeys(conflicts: PlanError[]): Set<string> {
  const keys = new Set<string>();
  for (const c of conflicts) {
    keys.add(c.key);
    const clause = /change ([^:;()]+)$/.exec(c.message)?.[1];
    for (const k of clause?.split(' or ') ?? []) keys.add(k.trim());
  }
  return keys;
}

/** Every region of the plan, with conflicts marked: overlaps the plan itself shows, regions outside RAM, and modules the errors name. */
export function planItems(plan: MemoryPlan, conflicts: PlanError[]): Item[] {
  const items: Item[] = [
    ...plan.reserved.map((r): Item => ({ kind: r.loaderOnly ? 'loader' : 'reserved', name: r.name, start: r.start, size: r.size, conflict: false })),
    ...(plan.dom0 ?? []).map((r, i): Item => ({
      kind: 'dom0',
      name: i ? `dom0 memory #${i + 1}` : 'dom0 memory',
      start: r.start,
      size: r.size,
      conflict: false,
    })),
    ...(plan.xenRelocated ? [{ kind: 'relocated' as const, name: 'xen (relocated)', ...plan.xenRelocated, conflict: false }] : []),
    ...plan.placements.map((p): Item => ({ kind: p.fixed ? 'fixed' : 'planned', name: p.name, key: p.key, start: p.start, size: p.size, conflict: false })),
  ];
  const keys = conflictKeys(conflicts);
  // As check sees it: reserved regions may overlap each other; a loader-only one is gone once Xen runs, so
  // only what U-Boot loads (the modules) can collide with it, not Xen's relocation or dom0's memory.
  const isModule = (it: Item): boolean => it.kind === 'planned' || it.kind === 'fixed';
  const isReserved = (it: Item): boolean => it.kind === 'reserved' || it.kind === 'loader';
  const clash = (a: Item, b: Item): boolean =>
    !(isReserved(a) && isReserved(b)) && (a.kind !== 'loader' || isModule(b)) && (b.kind !== 'loader' || isModule(a));
  items.forEach((a, i) => {
    if ((a.key !== undefined && keys.has(a.key)) || (!isReserved(a) && !bankHolding(plan.ram, a))) a.conflict = true;
    for (const b of items.slice(i + 1)) {
      if (clash(a, b) && rangesOverlap(a, b)) a.conflict = b.conflict = true;
    }
  });
  return items.sort((a, b) => a.start - b.start || byText(a.name, b.name));
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const px = (v: number): string => String(Math.round(v * 10) / 10);
const label = (it: Item): string => `${it.name} ${hex(it.start)} ${formatSize(it.size)}`;

const FONT = 11;
const CHAR_W = 6.7; // a monospace advance at 11px, rounded up
const MIN_W = 6;
const LANE_H = 18;
const ROW_H = 15;
const LEFT = 20;

/** Greedy interval packing: the first row whose last occupant ends before `from` (by `gap`). */
function packRow(rowEnds: number[], from: number, to: number, gap: number): number {
  let r = rowEnds.findIndex((end) => end + gap <= from);
  if (r < 0) r = rowEnds.push(to) - 1;
  rowEnds[r] = to;
  return r;
}

/** A label below a bar: the box's centre `cx`, where its leader drops (`xv`), and its text's span [lx, lx + w). */
interface Label {
  cx: number;
  xv: number;
  lx: number;
  w: number;
  text: string;
}

/**
 * Lays out the labels of one bar between `left` and `right`. Leaders fan out
 * from the boxes to drop columns at least 8 px apart (in box order, so they
 * never cross); a label starts at its column, or ends there when it would
 * run off the right. Rows: a label whose text covers another's column goes
 * below it, so no leader drops through a label (a cycle, possible only with
 * labels of both kinds overlapping, gives up one such edge); labels in a row
 * never overlap.
 */
function layoutLabels<T extends { cx: number; text: string }>(items: T[], left: number, right: number): (T & Label & { row: number })[] {
  const GAP = 8;
  const sorted = [...items].sort((a, b) => a.cx - b.cx || byText(a.text, b.text));
  const xs = sorted.map((l) => Math.min(Math.max(l.cx, left + 2), right - 2));
  for (let i = 1; i < xs.length; i++) xs[i] = Math.max(xs[i]!, xs[i - 1]! + GAP);
  for (let i = xs.length - 1; i >= 0; i--) xs[i] = Math.max(left + 2, Math.min(xs[i]!, i === xs.length - 1 ? right - 2 : xs[i + 1]! - GAP));
  const labels = sorted.map((l, i) => {
    const xv = xs[i]!;
    const w = Math.ceil(l.text.length * CHAR_W);
    const lx = xv - 2 + w <= right ? xv - 2 : Math.max(left, xv + 2 - w);
    return { ...l, xv, lx, w, row: -1 };
  });
  const covers = (x: number, l: Label): boolean => x >= l.lx - 3 && x <= l.lx + l.w + 3;
  // before[a] = the labels that must sit above a: those whose leader a's text covers.
  const before = labels.map((a) => new Set(labels.filter((b) => b !== a && covers(b.xv, a))));
  const pending = new Set(labels);
  while (pending.size) {
    const ready = [...pending].find((l) => [...before[labels.indexOf(l)]!].every((b) => !pending.has(b))) ?? [...pending][0]!;
    let row = Math.max(-1, ...[...before[labels.indexOf(ready)]!].map((b) => b.row)) + 1;
    while (labels.some((o) => o.row === row && o.lx < ready.lx + ready.w + 10 && ready.lx < o.lx + o.w + 10)) row++;
    ready.row = row;
    pending.delete(ready);
  }
  return labels;
}

/** One bar of the picture: a RAM bank (with the window a zoomed bar below shows), or that window. */
interface Row {
  title: string;
  range: Range;
  items: Item[];
  zoomed?: Range;
}

const MiB = 1024 * 1024;

/**
 * Where a bank's modules are, in whole MiB, when they take less than an
 * eighth of it: on a 1 GiB bar, 12 MiB of modules are a few pixels wide, so
 * the picture draws that window again, to its own scale.
 */
export function zoomWindow(bank: Range, items: readonly Item[]): Range | undefined {
  const modules = items.filter((it) => (it.kind === 'planned' || it.kind === 'fixed') && rangesOverlap(it, bank));
  if (modules.length === 0) return undefined;
  let from = Math.min(...modules.map((m) => m.start));
  let to = Math.max(...modules.map((m) => rangeEnd(m)));
  // Reserved regions among or next to the modules (the firmware's DTB, U-Boot's script) belong in the picture too.
  const span = to - from;
  for (const r of items.filter((it) => (it.kind === 'reserved' || it.kind === 'loader') && it.start >= from - span && rangeEnd(it) <= to + span)) {
    from = Math.min(from, r.start);
    to = Math.max(to, rangeEnd(r));
  }
  from = Math.max(bank.start, Math.floor(from / MiB) * MiB);
  to = Math.min(rangeEnd(bank), Math.ceil(to / MiB) * MiB);
  return (to - from) * 8 < bank.size ? { start: from, size: to - from } : undefined;
}

/** A tick step (a power of two) that gives at most eight ticks over `size` bytes. */
function tickStep(size: number): number {
  let step = 1;
  while (size / step > 8) step *= 2;
  return step;
}

/**
 * Draws the plan as a self-contained SVG: one to-scale bar per RAM bank (and
 * one for regions outside RAM, if any) with hex axis labels; modules as boxes
 * in lanes, never narrower than a few pixels; Xen's relocation area, dom0's
 * memory and reserved regions (hatched) as bands; anything in `conflicts` or
 * overlapping in red; labels (name, hex start, size) on staggered rows; a legend
 * and the conflict messages below. One function on purpose: the SVG is written
 * in document order, each layer on top of the one before.
 */
export function renderMemoryMapSvg(plan: MemoryPlan, conflicts: PlanError[] = []): string {
  const items = planItems(plan, conflicts);
  const width = Math.max(960, ...conflicts.map((c) => Math.ceil(c.message.length * CHAR_W) + 2 * LEFT));
  const barW = width - 2 * LEFT;
  const body: string[] = [];
  let y = 16;

  let lx = LEFT;
  for (const [fill, text] of [...Object.values(STYLE).map((s) => [s.fill, s.legend] as const), [CONFLICT_FILL, 'conflict'] as const]) {
    if (lx + 14 + text.length * CHAR_W > width - LEFT) {
      lx = LEFT;
      y += 16;
    }
    body.push(`<rect x="${lx}" y="${y - 9}" width="10" height="10" fill="${fill}" stroke="#333" stroke-width="0.5"/>`);
    body.push(`<text x="${lx + 14}" y="${y}">${esc(text)}</text>`);
    lx += 14 + Math.ceil(text.length * CHAR_W) + 16;
  }
  y += 22;

  const rows: Row[] = plan.ram
    .slice()
    .sort((a, b) => a.start - b.start)
    .flatMap((b, i) => {
      const bank: Row = {
        title: `RAM bank ${i} ${hex(b.start)}–${hex(rangeEnd(b) - 1)} (${formatSize(b.size)})`,
        range: b,
        items: items.filter((it) => rangesOverlap(it, b)),
      };
      const window = zoomWindow(b, bank.items);
      if (!window) return [bank];
      const title = `bank ${i} where the modules are: ${hex(window.start)}–${hex(rangeEnd(window) - 1)} (${formatSize(window.size)}), to scale`;
      return [
        { ...bank, zoomed: window },
        { title, range: window, items: items.filter((it) => rangesOverlap(it, window)) },
      ];
    });
  const outside = items.filter((it) => !plan.ram.some((b) => rangesOverlap(it, b)));
  if (outside.length) {
    const start = Math.min(...outside.map((o) => o.start));
    const end = Math.max(...outside.map((o) => rangeEnd(o)));
    rows.push({ title: 'outside RAM', range: { start, size: Math.max(end - start, 1) }, items: outside });
  }

  for (const row of rows) {
    const { start, size } = row.range;
    const end = start + size;
    const x = (a: number): number => LEFT + ((Math.min(Math.max(a, start), end) - start) / size) * barW;
    const box = (it: Item): { x: number; w: number } => {
      const w = Math.max(MIN_W, x(rangeEnd(it)) - x(it.start));
      return { x: Math.min(x(it.start), LEFT + barW - w), w };
    };
    body.push(`<text x="${LEFT}" y="${y}" font-weight="bold">${esc(row.title)}</text>`);
    y += 16;
    // Axis: the ends and power-of-two ticks that leave room for their labels.
    const tickY = y;
    body.push(`<text x="${LEFT}" y="${tickY}">${hex(start)}</text>`, `<text x="${LEFT + barW}" y="${tickY}" text-anchor="end">${hex(end)}</text>`);
    const step = tickStep(size);
    const labelW = 10 * CHAR_W;
    let lastRight = LEFT + labelW;
    for (let t = start - (start % step) + step; t < end; t += step) {
      const tx = x(t);
      if (tx - labelW / 2 < lastRight + 8 || tx + labelW / 2 > LEFT + barW - labelW - 8) continue;
      body.push(
        `<line x1="${px(tx)}" y1="${tickY + 3}" x2="${px(tx)}" y2="${tickY + 9}" stroke="#555"/>`,
        `<text x="${px(tx)}" y="${tickY}" text-anchor="middle">${hex(t)}</text>`,
      );
      lastRight = tx + labelW / 2;
    }
    y += 8;
    // Modules in lanes so boxes widened to the minimum never hide each other.
    const modules = row.items.filter((it) => it.kind === 'planned' || it.kind === 'fixed');
    const laneEnds: number[] = [];
    const lanes = modules.map((it) => {
      const b = box(it);
      return { it, ...b, lane: packRow(laneEnds, b.x, b.x + b.w, 1) };
    });
    const barH = Math.max(1, laneEnds.length) * LANE_H + 6;
    body.push(`<rect x="${LEFT}" y="${y}" width="${barW}" height="${barH}" fill="#f4f4f4" stroke="#333"/>`);
    const placed: { it: Item; x: number; w: number; top: number }[] = [];
    for (const it of row.items.filter((i) => i.kind !== 'planned' && i.kind !== 'fixed')) {
      const b = box(it);
      const fill = it.conflict ? CONFLICT_FILL : STYLE[it.kind].fill;
      const dash = it.kind === 'relocated' ? ' stroke-dasharray="4 2"' : '';
      body.push(
        `<rect x="${px(b.x)}" y="${y}" width="${px(b.w)}" height="${barH}" fill="${fill}" fill-opacity="${(it.kind === 'reserved' || it.kind === 'loader') && !it.conflict ? 1 : 0.45}" stroke="${it.conflict ? CONFLICT_FILL : '#555'}"${dash} data-region="${esc(it.name)}"><title>${esc(label(it))}</title></rect>`,
      );
      placed.push({ it, ...b, top: y });
    }
    for (const l of lanes) {
      const top = y + 3 + l.lane * LANE_H;
      const fill = l.it.conflict ? CONFLICT_FILL : STYLE[l.it.kind].fill;
      body.push(
        `<rect x="${px(l.x)}" y="${top}" width="${px(l.w)}" height="${LANE_H - 2}" fill="${fill}" stroke="#222" stroke-width="0.5" data-region="${esc(l.it.name)}"><title>${esc(label(l.it))}</title></rect>`,
      );
      placed.push({ it: l.it, x: l.x, w: l.w, top });
    }
    if (row.zoomed) {
      // The window the next bar draws to scale; its modules are labelled there.
      const z = { x: x(row.zoomed.start), w: Math.max(MIN_W, x(rangeEnd(row.zoomed)) - x(row.zoomed.start)) };
      body.push(`<rect x="${px(z.x - 1)}" y="${y - 2}" width="${px(z.w + 2)}" height="${barH + 4}" fill="none" stroke="#000" stroke-dasharray="3 2"/>`);
    }
    y += barH;
    // Labels on staggered rows below the bar, each tied to its box by a leader line.
    // A zoomed bank labels only what lies beyond its window: the window's bar labels the rest.
    const window = row.zoomed;
    const shown = window ? placed.filter((p) => p.it.start < window.start || rangeEnd(p.it) > rangeEnd(window)) : placed;
    const labels = layoutLabels(
      shown.map((p) => ({ p, text: label(p.it), cx: p.x + p.w / 2 })),
      LEFT,
      LEFT + barW,
    );
    // Leaders first, so each label's white halo masks any line behind it.
    const ly = (row: number): number => y + 24 + row * ROW_H;
    for (const l of labels)
      body.push(`<polyline points="${px(l.cx)},${y} ${px(l.xv)},${y + 8} ${px(l.xv)},${ly(l.row) - 10}" fill="none" stroke="#999" stroke-width="0.6"/>`);
    for (const l of labels) {
      const color = l.p.it.conflict ? CONFLICT_FILL : '#111';
      body.push(`<text x="${px(l.lx)}" y="${ly(l.row)}" fill="${color}" stroke="#fff" stroke-width="3" paint-order="stroke">${esc(l.text)}</text>`);
    }
    y += 24 + (Math.max(-1, ...labels.map((l) => l.row)) + 1) * ROW_H + 8;
  }

  for (const c of conflicts) {
    body.push(`<text x="${LEFT}" y="${y}" fill="${CONFLICT_FILL}">${esc(c.message)}</text>`);
    y += ROW_H;
  }
  const height = y + 6;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace" font-size="${FONT}">`,
    `<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#ddd"/><line x1="0" y1="0" x2="0" y2="6" stroke="#888" stroke-width="2"/></pattern>` +
      `<pattern id="hatch-light" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(-45)"><rect width="6" height="6" fill="#f7f7f7"/><line x1="0" y1="0" x2="0" y2="6" stroke="#bbb" stroke-width="1"/></pattern></defs>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
