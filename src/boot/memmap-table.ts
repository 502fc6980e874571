/** The text picture of a memory plan: a table sorted by address, and an ASCII bar per RAM bank. */
import { byText, rangeEnd, rangesOverlap } from './memmap.js';
import { BAND_ORDER, MODULE_MARKERS, planItems, STYLE, zoomWindow, type Item } from './memmap-render.js';
import { formatSize, hex } from '../util/units.js';
import type { MemoryPlan, Range } from '../model/boot.js';

/**
 * The plan as a fixed-width table sorted by address (`region start end size
 * note`; `end` is the first byte after the region), then one ASCII bar per RAM
 * bank (` RAM 0x80000000 DXK──000──#R 0xdfffffff`: bands wider than a cell are
 * drawn to scale; modules and narrow bands are one cell each, in address
 * order, nudged apart when they share a cell) and a key to its markers.
 */
export function renderMemoryMapTable(plan: MemoryPlan): string {
  const items = planItems(plan, []);
  const rows = [
    ...plan.ram.map((b, i) => ({ order: 0, name: `RAM bank ${i}`, r: b, note: 'RAM' })),
    ...items.map((it) => ({ order: 1, name: it.name, r: it as Range, note: note(it) })),
  ].sort((a, b) => a.r.start - b.r.start || a.order - b.order || rangeEnd(b.r) - rangeEnd(a.r) || byText(a.name, b.name));
  const cells = [['region', 'start', 'end', 'size', 'note'], ...rows.map((r) => [r.name, hex(r.r.start), hex(rangeEnd(r.r)), formatSize(r.r.size), r.note])];
  const widths = cells[0]!.map((_, c) => Math.max(...cells.map((row) => row[c]!.length)));
  const lines = cells.map((row) =>
    row
      .map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd(),
  );

  lines.push('');
  for (const b of plan.ram.slice().sort((x, y) => x.start - y.start)) {
    const inBank = items.filter((i) => rangesOverlap(i, b));
    lines.push(` RAM ${hex(b.start)} ${asciiBar(b, inBank)} ${hex(rangeEnd(b) - 1)}`);
    const window = zoomWindow(b, inBank);
    if (window)
      lines.push(
        ` zoom ${hex(window.start)} ${asciiBar(
          window,
          inBank.filter((i) => rangesOverlap(i, window)),
        )} ${hex(rangeEnd(window) - 1)}`,
      );
  }
  lines.push(" markers: X xen  D dtb  K kernel  I initrd  S script  U a domU's module  R Xen relocated  0 dom0  # reserved  ~ while U-Boot runs");
  return `${lines.join('\n')}\n`;
}

/**
 * One bank (or a zoomed window of one) as 64 cells: bands wider than a cell to
 * scale, modules and narrow bands one cell each, in address order, nudged apart.
 */
function asciiBar(b: Range, inBank: readonly Item[]): string {
  const BAR = 64;
  const bar: string[] = new Array<string>(BAR).fill('─');
  const pos = (a: number): number => Math.floor(((Math.min(Math.max(a, b.start), rangeEnd(b)) - b.start) * BAR) / b.size);
  const span = (it: Item): { from: number; to: number } => {
    const from = Math.min(pos(it.start), BAR - 1);
    return { from, to: Math.max(from + 1, Math.ceil(((Math.min(rangeEnd(it), rangeEnd(b)) - b.start) * BAR) / b.size)) };
  };
  const isWide = (it: Item): boolean => STYLE[it.kind].marker !== '' && span(it).to - span(it).from > 1;
  for (const it of inBank.filter(isWide).sort((x, y) => BAND_ORDER.indexOf(x.kind) - BAND_ORDER.indexOf(y.kind))) {
    const { from, to } = span(it);
    bar.fill(STYLE[it.kind].marker, from, Math.min(to, BAR));
  }
  // Modules and one-cell bands are points: each gets its own cell, in address order, nudged apart.
  const points = inBank.filter((it) => !isWide(it));
  const at = points.map((it) => span(it).from);
  for (let i = 1; i < at.length; i++) at[i] = Math.max(at[i]!, at[i - 1]! + 1);
  for (let i = at.length - 1; i >= 0; i--) at[i] = Math.min(at[i]!, i === at.length - 1 ? BAR - 1 : at[i + 1]! - 1);
  points.forEach((it, i) => {
    if (at[i]! >= 0)
      bar[at[i]!] = STYLE[it.kind].marker || (MODULE_MARKERS[it.name.replace(/#\d+$/, '')] ?? (/ (kernel|ramdisk)(#\d+)?$/.test(it.name) ? 'U' : 'M'));
  });
  return bar.join('');
}

function note(it: Item): string {
  switch (it.kind) {
    case 'fixed':
      return `fixed by ${it.key ?? '?'}`;
    case 'planned':
      return 'planned';
    case 'relocated':
      return 'Xen relocates itself here';
    case 'dom0':
      return 'dom0 memory (1:1)';
    case 'reserved':
      return 'reserved';
    case 'loader':
      return 'reserved while U-Boot runs';
  }
}
