/**
 * Kernel-config rules (XB-KCONF-…): options dom0's kernel must be built with,
 * checked in the built .config rather than in the fragments that asked for them.
 */
import { cpuCount } from './dt-rules.js';
import type { CheckInput, CheckRule, Finding } from './types.js';

/** A .config as option → value ("y", "m", "\"…\"", or null for "# CONFIG_X is not set"). */
export function parseKconfig(text: string): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (const line of text.split('\n')) {
    const set = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line.trim());
    if (set) out.set(set[1]!, set[2]!);
    const unset = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(line.trim());
    if (unset) out.set(unset[1]!, null);
  }
  return out;
}

interface Requirement {
  id: string;
  option: string;
  why: string;
  /** Only when this holds. */
  when: (input: CheckInput, config: Map<string, string | null>) => boolean;
}

const arm64 = (c: Map<string, string | null>) => c.get('CONFIG_ARM64') === 'y';

const REQUIREMENTS: Requirement[] = [
  { id: 'XB-KCONF-001', option: 'CONFIG_XEN', why: 'without it the kernel cannot run as dom0', when: () => true },
  { id: 'XB-KCONF-002', option: 'CONFIG_HVC_XEN', why: "dom0's console=hvc0 needs it", when: () => true },
  {
    id: 'XB-KCONF-003',
    option: 'CONFIG_ARM_PSCI',
    why: 'dom0 starts its secondary vCPUs through PSCI',
    when: (input, c) => cpuCount(input) > 1 && !arm64(c),
  },
  {
    id: 'XB-KCONF-003',
    option: 'CONFIG_ARM_PSCI_FW',
    why: 'dom0 starts its secondary vCPUs through PSCI',
    when: (input, c) => cpuCount(input) > 1 && arm64(c),
  },
  { id: 'XB-KCONF-004', option: 'CONFIG_ARM_LPAE', why: 'this board needs an LPAE kernel', when: (input, c) => input.needsLpae === true && !arm64(c) },
  // Only kernels that have the option (3.x–6.x on ARM, where it follows CONFIG_XEN) mention it.
  { id: 'XB-KCONF-005', option: 'CONFIG_XEN_DOM0', why: 'it is what lets the kernel be the control domain', when: (_, c) => c.has('CONFIG_XEN_DOM0') },
];

/** XB-KCONF-001…005: each required option that the built .config does not set to y. */
function checkKernelConfig(input: CheckInput): Finding[] {
  if (input.kernelConfig === undefined) return [];
  const config = parseKconfig(input.kernelConfig);
  const out: Finding[] = [];
  for (const req of REQUIREMENTS) {
    if (!req.when(input, config)) continue;
    const value = config.get(req.option);
    if (value === 'y') continue;
    const state =
      value === undefined ? `does not have ${req.option}` : value === null ? `has "# ${req.option} is not set"` : `has ${req.option}=${value}, not =y`;
    out.push({
      id: req.id,
      severity: 'error',
      message: `the kernel .config ${state}; ${req.why}`,
      fix: `add ${req.option}=y to the kernel config fragment (and what it depends on), then rebuild the kernel`,
      where: req.option,
    });
  }
  return out;
}

export const KERNEL_CONFIG: CheckRule = { id: 'XB-KCONF-001', title: "dom0's kernel configuration", checks: [checkKernelConfig] };
