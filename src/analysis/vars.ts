/**
 * `${…}` variables. Values resolve at analysis time, twice: once for running
 * (real paths, the job share) and once for the fingerprint, where anything
 * that depends on the machine (absolute paths, --jobs) stays symbolic so that
 * a fingerprint means the same on every machine.
 */

import { JOBS_PLACEHOLDER } from '../model/graph.js';

export { JOBS_PLACEHOLDER };

export interface VarValue {
  /** What the running task sees. */
  value: string;
  /** What the fingerprint records, when it must differ from `value`. */
  symbolic?: string;
}

export interface VarScope {
  lookup(name: string): VarValue | undefined;
  /** Every name the scope knows, for "did you mean". */
  names(): string[];
}

interface Interpolated {
  value: string;
  symbolic: string;
}

export type InterpolateResult = { ok: true; result: Interpolated } | { ok: false; unknown: string[]; malformed: boolean };

const VARIABLE = /\$\$\{|\$\{([^}]*)\}|\$\{/g;

/** Replaces every `${name}`; `$${` stands for a literal `${`. */
export function interpolate(template: string, scope: VarScope): InterpolateResult {
  const unknown: string[] = [];
  let malformed = false;
  let value = '';
  let symbolic = '';
  let last = 0;
  for (const match of template.matchAll(VARIABLE)) {
    const before = template.slice(last, match.index);
    value += before;
    symbolic += before;
    last = match.index + match[0].length;
    if (match[0] === '$${') {
      value += '${';
      symbolic += '${';
      continue;
    }
    if (match[1] === undefined) {
      malformed = true;
      continue;
    }
    const name = match[1].trim();
    const found = scope.lookup(name);
    if (!found) {
      unknown.push(name);
      continue;
    }
    value += found.value;
    symbolic += found.symbolic ?? found.value;
  }
  value += template.slice(last);
  symbolic += template.slice(last);
  if (unknown.length || malformed) return { ok: false, unknown, malformed };
  return { ok: true, result: { value, symbolic } };
}

/** A scope over nested maps of names. */
export function mapScope(entries: Record<string, VarValue>): VarScope {
  return {
    lookup: (name) => (Object.hasOwn(entries, name) ? entries[name] : undefined),
    names: () => Object.keys(entries),
  };
}
