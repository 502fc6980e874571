import { createHash } from 'node:crypto';
import { canonicalJson } from '../util/fs.js';
import type { StaleReason } from './events.js';

/** A fingerprint is the sha256 of the canonical JSON of everything that decides a task's result. */
export function fingerprintOf(basis: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(basis)).digest('hex');
}

/**
 * Why two bases differ, as `ninja -d explain` would say it: the first
 * difference, in the order a person would look for it.
 */
export function explainChange(was: Record<string, unknown>, now: Record<string, unknown>, definedIn: string): StaleReason {
  const before = flatten(was);
  const after = flatten(now);
  const keys = [...new Set([...before.keys(), ...after.keys()])].filter((k) => before.get(k) !== after.get(k));
  const rank = (k: string) => ['deps.', 'inputs.', 'tree.', 'definition', 'action', 'env', 'cwd', 'outputs', 'tools.'].findIndex((p) => k.startsWith(p));
  keys.sort((a, b) => (rank(a) === -1 ? 99 : rank(a)) - (rank(b) === -1 ? 99 : rank(b)) || a.localeCompare(b));
  const key = keys[0];
  if (key === undefined) return { reason: 'changed', what: "xenbuild's task format" };
  const short = (v: string | undefined) => (v === undefined ? undefined : /^[0-9a-f]{16,}$/.test(v) ? v.slice(0, 8) : v);
  const was_ = short(before.get(key));
  const now_ = short(after.get(key));
  const pair = { ...(was_ !== undefined ? { was: was_ } : {}), ...(now_ !== undefined ? { now: now_ } : {}) };
  if (key.startsWith('deps.')) return { reason: 'dependency', id: key.slice('deps.'.length) };
  if (key.startsWith('inputs.')) return { reason: 'changed', what: key.slice('inputs.'.length), ...pair };
  if (key.startsWith('tree.')) return { reason: 'changed', what: `the source tree: ${key.slice('tree.'.length)}`, ...pair };
  if (key.startsWith('tools.')) return { reason: 'changed', what: `tool ${key.slice('tools.'.length)}`, ...pair };
  if (key === 'definition') return { reason: 'changed', what: `its definition in ${definedIn}` };
  if (key === 'code') return { reason: 'changed', what: "xenbuild's code for it", ...pair };
  if (key.startsWith('action')) {
    // Name the setting inside the action that changed, not the whole action.
    const inner = firstDifference(was.action, now.action);
    if (inner) return { reason: 'changed', what: inner.path ? `the command's ${inner.path}` : 'the command', was: clip(inner.was), now: clip(inner.now) };
    return { reason: 'changed', what: 'the command', ...pair };
  }
  if (key.startsWith('env')) return { reason: 'changed', what: `environment ${key.slice(4)}`, ...pair };
  return { reason: 'changed', what: key, ...pair };
}

/** { a: { b: 1 }, c: [x] } → "a.b" → "1", "c" → "[x]" (lists stay whole: a changed argv is one change). */
function flatten(value: Record<string, unknown>, prefix = '', out = new Map<string, string>()): Map<string, string> {
  for (const [k, v] of Object.entries(value)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(prefix === '' && k === 'action')) {
      flatten(v as Record<string, unknown>, key, out);
    } else {
      out.set(key, typeof v === 'string' ? v : canonicalJson(v));
    }
  }
  return out;
}

/** The first place two values differ, as a dotted path (lists whole: a changed argv is one change). */
function firstDifference(a: unknown, b: unknown, path = ''): { path: string; was: string; now: string } | undefined {
  const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isMap(a) && isMap(b)) {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      const d = firstDifference(a[k], b[k], path ? `${path}.${k}` : k);
      if (d) return d;
    }
    return undefined;
  }
  const text = (v: unknown) =>
    v === undefined ? 'absent' : typeof v === 'string' ? v : Array.isArray(v) && v.every((x) => typeof x === 'string') ? v.join(' ') : canonicalJson(v);
  return canonicalJson(a) === canonicalJson(b) ? undefined : { path, was: text(a), now: text(b) };
}

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}…` : s;
}
