/** Boot rules: how secondary cores reach HYP mode, and dom0's console. */
import { argValues } from './bootargs.js';
import { cpuCount } from './dt-rules.js';
import { lineBefore } from './console.js';
import type { CheckInput, CheckRule, Finding } from './types.js';

/** SoCs whose secondary CPUs Xen wakes itself in non-secure SVC mode (xen/arch/arm/platforms/omap5.c). */
const OMAP5_FAMILY = ['ti,omap5', 'ti,dra7'];

/**
 * XB-HYP-001: Xen must be entered in non-secure HYP mode on every core. In the
 * seed, U-Boot switched only CPU0; CPU1 stopped with "Xen must be entered in
 * NS Hyp mode" — or, with a half fix, hung without a word.
 *
 * On OMAP5/DRA7 no boot loader can help CPU1: Xen starts it through
 * AuxCoreBoot1, outside HYP. There the evidence is the Xen binary itself: it
 * must call the ROM's HYP-entry service (xen-binary.ts), whatever the board says.
 */
function checkHyp(input: CheckInput): Finding[] {
  const cpus = cpuCount(input);
  if (cpus <= 1 || argValues(input.xenBootargs, 'maxcpus').includes('1')) return [];
  if (input.dtb?.root.isCompatible(...OMAP5_FAMILY) && input.xenRomHypCalls !== undefined) {
    if (input.xenRomHypCalls.length > 0) return [];
    const said = input.hyp === 'unknown' ? '' : ` The board says hyp: ${input.hyp}, but on this SoC only Xen can switch CPU1.`;
    return [
      {
        id: 'XB-HYP-001',
        severity: 'error',
        message: `${input.dtb.root.string('compatible') ?? 'OMAP5/DRA7'}: Xen wakes CPU1 itself (AuxCoreBoot1) in non-secure SVC mode, and this Xen binary never calls the ROM's HYP-entry service (0x102): CPU1 stops with "Xen must be entered in NS Hyp mode".${said}`,
        fix: 'apply the secondary-core patch to the Xen recipe (patches/xen/4.5.1-rc1/ or patches/xen-debian/4.17/0001-xen-arm-omap5-secondary-cpus-enter-hyp.patch) and set xen.hyp: xen-fallback; as a stopgap, boot Xen with maxcpus=1',
        where: 'xen.artifact',
      },
    ];
  }
  if (input.hyp !== 'unknown') return [];
  return [
    {
      id: 'XB-HYP-001',
      severity: 'error',
      message: `${cpus} CPUs, but nothing is known to enter the secondary cores in HYP mode: CPU1 stops ("Xen must be entered in NS Hyp mode") or hangs silently`,
      fix: 'apply a U-Boot patch that switches every core to HYP before starting Xen (hyp: u-boot-patch), or a Xen patch that switches secondary cores itself (hyp: xen-fallback); as a stopgap, boot Xen with maxcpus=1',
      where: 'hyp',
    },
  ];
}

/** XB-BOOT-001: dom0 writes to Xen's console only through hvc0. */
function checkDom0Console(input: CheckInput): Finding[] {
  if (argValues(input.dom0Bootargs, 'console').some((c) => /^hvc0(,|$)/.test(c))) return [];
  return [
    {
      id: 'XB-BOOT-001',
      severity: 'warning',
      message: `dom0's bootargs have no console=hvc0 ("${input.dom0Bootargs}"): dom0's kernel will print nothing on Xen's console`,
      fix: "add console=hvc0 to dom0's bootargs (and earlyprintk=xen to see early messages)",
      where: 'dom0.bootargs',
    },
  ];
}

export const HYP_ENTRY: CheckRule = {
  id: 'XB-HYP-001',
  title: 'every CPU enters Xen in HYP mode',
  checks: [checkHyp],
  console: [
    {
      match: /Xen must be entered in NS Hyp mode/,
      explain: (_m, log, i) => {
        const cpu = lineBefore(log, i, /CPU 0*(\d+) booting/)?.[1] ?? 'a secondary CPU';
        return {
          message: `CPU${cpu === 'a secondary CPU' ? ' ?' : cpu} was started outside HYP mode and stopped ("Xen must be entered in NS Hyp mode"): the boot loader entered only CPU0 in HYP`,
          fix: "enter every CPU in HYP: on OMAP5/DRA7 apply Xen's secondary-CPU patch (patches/xen/4.5.1-rc1/ or patches/xen-debian/4.17/0001-xen-arm-omap5-secondary-cpus-enter-hyp.patch, xen.hyp: xen-fallback); elsewhere a boot loader that switches every core; as a stopgap, boot Xen with maxcpus=1",
          boardKey: 'xen.hyp',
        };
      },
    },
  ],
};

export const DOM0_CONSOLE: CheckRule = { id: 'XB-BOOT-001', title: "dom0's console is hvc0", checks: [checkDom0Console] };

/**
 * XB-BOOT-002: Xen starts dom0 from the kernel module in /chosen. boot:dtb
 * (or the boot script's fdt commands) writes it from the plan, so there is
 * nothing to check before flashing; on the console, its absence is Xen's panic
 * "Missing kernel boot module?" (a hand-edited script or DTB).
 */
export const DOM0_MODULE: CheckRule = {
  id: 'XB-BOOT-002',
  title: "dom0's kernel is a boot module",
  checks: [],
  console: [
    {
      match: /Missing kernel boot module\?/,
      explain: () => ({
        message: 'Xen found no dom0 kernel module in /chosen ("Missing kernel boot module?") and could not set up dom0',
        fix: 'the boot script or DTB must give Xen a /chosen/module node for dom0\'s kernel (compatible "xen,linux-zimage" or "multiboot,kernel") at the address the kernel was loaded to: rebuild boot:dtb and boot:script, and do not edit them by hand',
        boardKey: 'dom0.kernel',
      }),
    },
  ],
};
