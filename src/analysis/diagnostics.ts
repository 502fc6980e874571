import { relative } from 'node:path';

/** A problem found while analysing recipes and boards. */
export interface Diagnostic {
  severity: 'error' | 'warning';
  /** Absolute path of the file the problem is in; absent for problems with the command line. */
  file?: string;
  /** Character offsets [start, end) into the file's text; absent when the whole file is meant. */
  span?: readonly [number, number];
  message: string;
  /** What to do about it, when there is something specific to say. */
  hint?: string;
}

/** The most of a source line a diagnostic shows. */
const MAX_SHOWN = 160;

/** Texts of the files diagnostics point into, so they can show the offending line. */
export type SourceTexts = ReadonlyMap<string, string>;

function lineAndColumn(text: string, offset: number): { line: number; column: number; lineStart: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1, lineStart };
}

/**
 * Renders one diagnostic the way compilers do:
 *
 *     recipes/xen.yaml:14:9: error: unknown key "mkimg" (did you mean "mkimage"?)
 *        14 |     mkimg: { arch: arm }
 *           |     ~~~~~
 */
function renderDiagnostic(d: Diagnostic, texts: SourceTexts, cwd: string): string {
  if (d.file === undefined) return `xenbuild: ${d.severity}: ${d.message}${d.hint ? `\n  hint: ${d.hint}` : ''}`;
  const shown = relative(cwd, d.file) || d.file;
  const text = texts.get(d.file);
  if (d.span === undefined || text === undefined) {
    return `${shown}: ${d.severity}: ${d.message}${d.hint ? `\n  hint: ${d.hint}` : ''}`;
  }
  const [start, end] = d.span;
  const { line, column, lineStart } = lineAndColumn(text, start);
  let lineEnd = text.indexOf('\n', lineStart);
  if (lineEnd === -1) lineEnd = text.length;
  const full = text.slice(lineStart, lineEnd).replace(/\r$/, '');
  const width = Math.max(1, Math.min(end, lineStart + full.length) - start);
  // A long line is shown as a window around the span: a 6 MB line is not printed twice.
  const from = full.length <= MAX_SHOWN ? 0 : Math.max(0, Math.min(column - 1 - 40, full.length - MAX_SHOWN));
  const to = Math.min(full.length, from + MAX_SHOWN);
  const source = `${from > 0 ? '…' : ''}${full.slice(from, to)}${to < full.length ? '…' : ''}`;
  const gutter = String(line).length;
  const pad = `${from > 0 ? ' ' : ''}${full.slice(from, column - 1).replace(/[^\t]/g, ' ')}`;
  const out = [
    `${shown}:${line}:${column}: ${d.severity}: ${d.message}`,
    `  ${String(line).padStart(gutter)} | ${source}`,
    `  ${' '.repeat(gutter)} | ${pad}${'~'.repeat(Math.max(1, Math.min(width, to - (column - 1))))}`,
  ];
  if (d.hint) out.push(`  hint: ${d.hint}`);
  return out.join('\n');
}

export function renderDiagnostics(ds: readonly Diagnostic[], texts: SourceTexts, cwd: string): string {
  const sorted = [...ds].sort(
    (a, b) => (a.file ?? '').localeCompare(b.file ?? '') || (a.span?.[0] ?? -1) - (b.span?.[0] ?? -1) || a.message.localeCompare(b.message),
  );
  const errors = ds.filter((d) => d.severity === 'error').length;
  const warnings = ds.length - errors;
  const summary = [errors ? `${errors} error${errors === 1 ? '' : 's'}` : '', warnings ? `${warnings} warning${warnings === 1 ? '' : 's'}` : '']
    .filter(Boolean)
    .join(' and ');
  return sorted.map((d) => renderDiagnostic(d, texts, cwd)).join('\n') + (summary ? `\n${summary}\n` : '\n');
}
