/**
 * The concrete operations on a device tree that both renderings share:
 * bake.ts applies them with fdtput at build time, uboot.ts writes them as
 * U-Boot `fdt` commands for boards whose DTB comes from firmware.
 */
import type { DtValue, Range } from '../model/boot.js';

/** One concrete edit; `why` says where it came from, for logs. */
export type DtOp =
  | { op: 'set'; path: string; prop: string; value: DtValue; why?: string }
  | { op: 'delete-prop'; path: string; prop: string; why?: string }
  /** Create the node (and, when baking, any missing parent); an existing node is left as it is. */
  | { op: 'add-node'; path: string; why?: string }
  | { op: 'delete-node'; path: string; why?: string };

/** A /reserved-memory child removed by prune-reserved-memory. */
export interface PrunedRegion {
  path: string;
  ranges: Range[];
  /** Enabled nodes whose `memory-region` pointed at it; they are disabled too. */
  disabled: string[];
}

/**
 * Check a value can be written exactly: cells are integers 0..0xffffffff
 * (fdtput silently truncates larger ones), bytes 0..255, strings without NUL.
 * Throws an Error naming the op; these come from board data validated earlier,
 * so a bad one here is a bug upstream.
 */
export function assertWritable(op: DtOp): void {
  if (op.op !== 'set') return;
  const v = op.value;
  const where = `${op.path} ${op.prop}`;
  if ('cells' in v) {
    const bad = v.cells.find((c) => !Number.isInteger(c) || c < 0 || c > 0xffffffff);
    if (bad !== undefined) throw new Error(`Internal error: ${where}: cell ${bad} is not a u32`);
  } else if ('bytes' in v) {
    const bad = v.bytes.find((b) => !Number.isInteger(b) || b < 0 || b > 255);
    if (bad !== undefined) throw new Error(`Internal error: ${where}: byte ${bad} is not 0..255`);
  } else if ('strings' in v) {
    if (v.strings.some((s) => s.includes('\0'))) throw new Error(`Internal error: ${where}: a string holds a NUL`);
  }
}

/** Parent path and last component of a node path ("/chosen/module@1" → "/chosen", "module@1"). */
export function splitPath(nodePath: string): { parent: string; name: string } {
  const trimmed = nodePath.replace(/\/+$/, '');
  const slash = trimmed.lastIndexOf('/');
  return { parent: slash <= 0 ? '/' : trimmed.slice(0, slash), name: trimmed.slice(slash + 1) };
}
