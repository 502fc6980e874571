/** Boot rules: how secondary cores reach HYP mode, and dom0's console. */
import { argValues } from './bootargs.js';
import { cpuCount } from './dt-rules.js';
import type { CheckInput, Finding } from './types.js';

/**
 * XB-HYP-001: Xen must be entered in non-secure HYP mode on every core. In the
 * seed, U-Boot switched only CPU0; CPU1 stopped with "Xen must be entered in
 * NS Hyp mode" — or, with a half fix, hung without a word.
 */
export function checkHyp(input: CheckInput): Finding[] {
  const cpus = cpuCount(input);
  if (cpus <= 1 || input.hyp !== 'unknown') return [];
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
export function checkDom0Console(input: CheckInput): Finding[] {
  if (argValues(input.dom0Bootargs, 'console').some((c) => /^hvc0(,|$)/.test(c))) return [];
  return [
    {
      id: 'XB-BOOT-001',
      severity: 'warning',
      message: `dom0's bootargs have no console=hvc0 ("${input.dom0Bootargs}"): dom0's kernel will print nothing on Xen's console`,
      fix: 'add console=hvc0 to dom0\'s bootargs (and earlyprintk=xen to see early messages)',
      where: 'dom0.bootargs',
    },
  ];
}
