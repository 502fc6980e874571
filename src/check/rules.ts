/**
 * `xenbuild check`: every rule over one input, before anything is flashed.
 * Rules are pure; the caller reads the DTB (readDtb) and the kernel .config.
 * Each rule (types.ts CheckRule) also knows how its failure shows on a serial
 * console: read-log.ts reads a board's log with the same rule book.
 */
import { DOM0_CONSOLE, DOM0_MODULE, HYP_ENTRY } from './boot-rules.js';
import { DOM0_INTERRUPTS, GIC_SETUP, PSCI_METHOD, TIMER_FREQUENCY, XEN_CONSOLE } from './dt-rules.js';
import { KERNEL_CONFIG } from './kconfig.js';
import { PLAN, RESERVED_MEMORY } from './mem-rules.js';
import { DOMU_CONSOLE, DOMU_MEMORY } from './domu-rules.js';
import type { CheckInput, CheckRule, Finding, Rule } from './types.js';

export type { CheckInput, CheckRule, Finding } from './types.js';
export { formatFindings } from './format.js';

/** The rule book, in report order. */
export const RULE_BOOK: readonly CheckRule[] = [
  HYP_ENTRY,
  PSCI_METHOD,
  TIMER_FREQUENCY,
  XEN_CONSOLE,
  GIC_SETUP,
  DOM0_INTERRUPTS,
  PLAN,
  RESERVED_MEMORY,
  DOM0_CONSOLE,
  DOM0_MODULE,
  KERNEL_CONFIG,
  DOMU_MEMORY,
  DOMU_CONSOLE,
];

/** Every pre-flight check, in report order. */
const RULES: readonly Rule[] = RULE_BOOK.flatMap((r) => r.checks);

/** All findings for a board, errors first, otherwise in rule order. */
export function checkBoard(input: CheckInput): Finding[] {
  const findings = RULES.flatMap((rule) => rule(input));
  return [...findings.filter((f) => f.severity === 'error'), ...findings.filter((f) => f.severity === 'warning')];
}
