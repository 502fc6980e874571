/**
 * `xenbuild check`: every rule over one input, before anything is flashed.
 * Rules are pure; the caller reads the DTB (readDtb) and the kernel .config.
 */
import { checkDom0Console, checkHyp } from './boot-rules.js';
import { checkDom0Interrupts, checkDtuart, checkGic, checkPsci, checkTimer } from './dt-rules.js';
import { checkKernelConfig } from './kconfig.js';
import { checkKernelReserves, checkPlanErrors, checkReservedMemory } from './mem-rules.js';
import type { CheckInput, Finding, Rule } from './types.js';

export type { CheckInput, Finding, HypEntry, Rule, Severity } from './types.js';
export { formatFindings } from './format.js';

/** The rules in report order. */
export const RULES: readonly Rule[] = [
  checkHyp,
  checkPsci,
  checkTimer,
  checkDtuart,
  checkGic,
  checkDom0Interrupts,
  checkPlanErrors,
  checkReservedMemory,
  checkKernelReserves,
  checkDom0Console,
  checkKernelConfig,
];

/** All findings for a board, errors first, otherwise in rule order. */
export function checkBoard(input: CheckInput): Finding[] {
  const findings = RULES.flatMap((rule) => rule(input));
  return [...findings.filter((f) => f.severity === 'error'), ...findings.filter((f) => f.severity === 'warning')];
}
