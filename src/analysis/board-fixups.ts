import type { DtEdit, DtValue } from '../model/boot.js';
import type { DtFixupSpec } from '../model/schema.js';
import type { PathKey } from './yaml-file.js';

/** A board's fixup, as written in YAML, as an edit. */
export function fixupEdit(f: DtFixupSpec, at: PathKey[], num: (v: number | string, at: PathKey[]) => number): DtEdit {
  if ('set' in f) {
    const s = f.set;
    if (s.phandle !== undefined) return { op: 'set-phandle', path: s.path, prop: s.prop, target: s.phandle };
    let value: DtValue;
    if (s.cells) value = { cells: s.cells.map((c, i) => num(c, [...at, 'set', 'cells', i])) };
    else if (s.u32 !== undefined) value = { cells: [num(s.u32, [...at, 'set', 'u32'])] };
    else if (s.strings) value = { strings: s.strings };
    else if (s.string !== undefined) value = { strings: [s.string] };
    else value = { empty: true };
    return { op: 'set', path: s.path, prop: s.prop, value };
  }
  if ('delete' in f)
    return f.delete.prop === undefined ? { op: 'delete-node', path: f.delete.path } : { op: 'delete-prop', path: f.delete.path, prop: f.delete.prop };
  if ('enable' in f) return { op: 'enable', path: f.enable };
  if ('disable' in f) return { op: 'disable', path: f.disable };
  if ('add-node' in f) return { op: 'add-node', path: f['add-node'] };
  return { op: 'prune-reserved-memory', keep: 'inside-dom0' };
}
