/** How addresses and sizes read in messages: 0x99000000, 64 MiB, 0xa8000000–0xb0000000. */
import type { Range } from '../model/boot.js';
import { exactSize, hexShort as hex } from '../util/units.js';

/** "0x99000000+64 MiB" */
export function regionText(r: Range): string {
  return `${hex(r.start)}+${exactSize(r.size)}`;
}

/** "0xa8000000–0xb0000000" (end exclusive) for each range, comma separated. */
export function spanText(ranges: readonly Range[]): string {
  return ranges.map((r) => `${hex(r.start)}–${hex(r.start + r.size)}`).join(', ');
}

/** Whether `inner` lies wholly inside one of `outer`. */
export function insideAny(inner: Range, outer: readonly Range[]): boolean {
  return outer.some((o) => inner.start >= o.start && inner.start + inner.size <= o.start + o.size);
}
