/**
 * The same operations as bake.ts, written as U-Boot `fdt` commands for a boot
 * script, for boards whose DTB comes from firmware (QEMU's `virt` machine).
 *
 * Quoting, for U-Boot's hush (the 2014 one and today's):
 * - a word starting with `#` is a comment to hush, so names such as
 *   `#address-cells` are double-quoted, as is any word outside a plain set;
 * - strings are double-quoted, each string of a list as its own argument
 *   (`fdt set` joins its arguments with NULs); a string hush or `fdt set`
 *   would alter — holding `"`, `\`, `$`, a backtick, a non-printable
 *   character, or a first string starting with `<` or `[` (which `fdt set`
 *   reads as cells or bytes) — makes the whole value go out as `[bytes]`;
 * - cells and bytes are one double-quoted argument, `"<0xa0000000 0x4b0000>"`,
 *   `"[01 ff]"`: `fdt set` skips the spaces inside, and quoting keeps `<`
 *   and `>` away from any shell that would read them as redirections.
 */
import type { DtValue } from '../model/boot.js';
import { assertWritable, splitPath, type DtOp } from './ops.js';

export interface UbootOptions {
  /** The environment variable holding the DTB's address (default "fdt_addr"). */
  fdtAddrVar?: string;
  /** Bytes of room `fdt resize` adds before editing (default 8192); false to omit the command. */
  resize?: number | false;
}

const PLAIN = /^[A-Za-z0-9,._+@/:-]+$/;
const QUOTABLE = /^[\x20-\x7e]*$/;
const HUSH_SPECIAL = /["\\$`]/;

function canQuote(s: string): boolean {
  return QUOTABLE.test(s) && !HUSH_SPECIAL.test(s);
}

/** A path or property name as one hush word. */
function word(s: string): string {
  if (PLAIN.test(s)) return s;
  if (canQuote(s)) return `"${s}"`;
  throw new Error(`Internal error: ${JSON.stringify(s)} cannot be written as a U-Boot script word`);
}

function bytesArg(bytes: readonly number[]): string {
  return `"[${bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ')}]"`;
}

/** The value arguments of `fdt set`, or [] for an empty property. */
function valueArgs(v: DtValue): string[] {
  if ('strings' in v) {
    if (v.strings.length === 0) return [];
    const first = v.strings[0]!;
    if (v.strings.every(canQuote) && !first.startsWith('<') && !first.startsWith('[')) return v.strings.map((s) => `"${s}"`);
    return [bytesArg([...Buffer.from(v.strings.join('\0') + '\0', 'utf8')])];
  }
  if ('cells' in v) return v.cells.length === 0 ? [] : [`"<${v.cells.map((c) => '0x' + c.toString(16)).join(' ')}>"`];
  if ('bytes' in v) return v.bytes.length === 0 ? [] : [bytesArg(v.bytes)];
  return [];
}

/** One `fdt` command for one op. */
function ubootFdtCommand(op: DtOp): string {
  assertWritable(op);
  switch (op.op) {
    case 'set':
      return ['fdt', 'set', word(op.path), word(op.prop), ...valueArgs(op.value)].join(' ');
    case 'delete-prop':
      return `fdt rm ${word(op.path)} ${word(op.prop)}`;
    case 'delete-node':
      return `fdt rm ${word(op.path)}`;
    case 'add-node': {
      const { parent, name } = splitPath(op.path);
      return `fdt mknode ${word(parent)} ${word(name)}`;
    }
  }
}

/**
 * The boot-script lines that select the DTB, give it room and apply `ops`:
 * `fdt addr ${fdt_addr}`, `fdt resize 8192`, then one command per op.
 * (`fdt mknode` of a node that already exists prints FDT_ERR_EXISTS and the
 * script goes on; chosenOps adds /chosen only when the tree it is given lacks it.)
 */
export function ubootFdtCommands(ops: readonly DtOp[], opts: UbootOptions = {}): string[] {
  const variable = opts.fdtAddrVar ?? 'fdt_addr';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable)) throw new Error(`Internal error: ${JSON.stringify(variable)} is not a U-Boot variable name`);
  const lines = [`fdt addr \${${variable}}`];
  if (opts.resize !== false) lines.push(`fdt resize ${opts.resize ?? 8192}`);
  for (const op of ops) lines.push(ubootFdtCommand(op));
  return lines;
}
