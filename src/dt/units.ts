/** How addresses and sizes read in messages: 0x99000000, 64 MiB, 0xa8000000–0xb0000000. */
import type { Range } from '../boot/types.js';

export function hex(n: number): string {
  return '0x' + n.toString(16);
}

/** A size in the largest binary unit that divides it exactly, else in hex bytes. */
export function sizeText(n: number): string {
  for (const [unit, bytes] of [
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ] as const) {
    if (n >= bytes && n % bytes === 0) return `${n / bytes} ${unit}`;
  }
  return `${hex(n)} bytes`;
}

/** "0x99000000+64 MiB" */
export function regionText(r: Range): string {
  return `${hex(r.start)}+${sizeText(r.size)}`;
}

/** "0xa8000000–0xb0000000" (end exclusive) for each range, comma separated. */
export function spanText(ranges: readonly Range[]): string {
  return ranges.map((r) => `${hex(r.start)}–${hex(r.start + r.size)}`).join(', ');
}

/** Whether `inner` lies wholly inside one of `outer`. */
export function insideAny(inner: Range, outer: readonly Range[]): boolean {
  return outer.some((o) => inner.start >= o.start && inner.start + inner.size <= o.start + o.size);
}
