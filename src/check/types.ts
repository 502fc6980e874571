/**
 * What `xenbuild check` looks at and what it reports. Each rule is a pure
 * function from CheckInput to findings; the rule ids (XB-HYP-001, XB-DT-003…)
 * are stable so users can look them up and tests can assert them.
 */
import type { DomU, DtEdit, MemoryPlan, PlanError, Range } from '../model/boot.js';
import type { DtTree } from '../dt/model.js';
import type { ConsoleSignature } from './console.js';

/** How secondary cores reach HYP mode, which Xen needs on every core. */
type HypEntry = 'u-boot-patch' | 'xen-fallback' | 'firmware' | 'unknown';

export interface CheckInput {
  /** The DTB as it will be booted: after baking, or the firmware's for runtime boards. */
  dtb?: DtTree;
  xenBootargs: string;
  dom0Bootargs: string;
  /** dom0's memory, when the board pins it (else plan.dom0 is used). */
  dom0Range?: Range[];
  plan?: MemoryPlan;
  /** The memory planner's errors, each reported as XB-MEM-001. */
  planErrors?: PlanError[];
  hyp: HypEntry;
  /** Number of CPUs; counted from /cpus in the DTB when absent. */
  cpus?: number;
  /** Text of the dom0 kernel's built .config. */
  kernelConfig?: string;
  /** The kernel must be built with LPAE (arm32 with memory above 4 GiB, or the board says so). */
  needsLpae?: boolean;
  /**
   * Where the Xen binary calls the ROM's HYP-entry service 0x102 (check/xen-binary.ts), when the binary was read:
   * on OMAP5/DRA7 the only way Xen's secondary CPUs reach HYP.
   */
  xenRomHypCalls?: number[];
  /** Whether Xen has platform code to start secondary CPUs; detected from the root compatible when absent. */
  platformSmp?: boolean;
  /** dom0less guests. */
  domus?: DomU[];
}

type Severity = 'error' | 'warning';

export interface Finding {
  /** Stable rule id: "XB-MEM-004". */
  id: string;
  severity: Severity;
  /** One sentence naming the node, property or address at fault. */
  message: string;
  /** What to change. */
  fix: string;
  /** The node path or board key the finding is about. */
  where?: string;
  /** Device-tree fixups that would resolve it, as a board would declare them. */
  fixup?: DtEdit[];
}

/** A rule: input → findings (none when it does not apply). */
export type Rule = (input: CheckInput) => Finding[];

/**
 * One rule of the rule book, in one place: its id, the pre-flight checks that
 * catch its failure in the board's files before flashing, and the console
 * lines by which the same failure shows on a real board (read-log.ts).
 */
export interface CheckRule {
  /** The stable id its findings carry (checks may also report a sibling, such as XB-MEM-005). */
  id: string;
  /** What the rule is about, in a few words. */
  title: string;
  checks: Rule[];
  console?: ConsoleSignature[];
}
