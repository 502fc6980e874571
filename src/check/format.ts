/**
 * Findings as text, in aligned columns:
 *
 *     error    XB-MEM-004  /reserved-memory/dsp1-memory@99000000 (0x99000000+64 MiB) lies outside …
 *                          fix: dtb fixup: prune-reserved-memory (keep: inside-dom0), …
 *
 *     2 errors, 1 warning
 */
import type { Finding } from './types.js';

function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The summary line: "2 errors, 1 warning", or "no problems found". */
function summaryLine(findings: readonly Finding[]): string {
  const errors = findings.filter((f) => f.severity === 'error').length;
  const warnings = findings.length - errors;
  return findings.length === 0 ? 'no problems found' : `${count(errors, 'error')}, ${count(warnings, 'warning')}`;
}

/** Every finding (message, then its fix under the message) and the summary line. */
export function formatFindings(findings: readonly Finding[]): string {
  const sevWidth = Math.max(0, ...findings.map((f) => f.severity.length));
  const idWidth = Math.max(0, ...findings.map((f) => f.id.length));
  const indent = ' '.repeat(sevWidth + 2 + idWidth + 2);
  const lines: string[] = [];
  for (const f of findings) {
    lines.push(`${f.severity.padEnd(sevWidth)}  ${f.id.padEnd(idWidth)}  ${f.message}`);
    lines.push(`${indent}fix: ${f.fix}`);
  }
  if (lines.length > 0) lines.push('');
  lines.push(summaryLine(findings));
  return lines.join('\n');
}
