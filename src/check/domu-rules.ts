/**
 * dom0less guests: what Xen needs to build each one at boot, and what each
 * needs to be seen. Xen takes a guest's memory from its heap after placing
 * the boot modules and itself, alongside dom0's; a guest that does not fit
 * stops the boot before dom0 runs.
 */
import { freeRuns } from '../boot/memmap.js';
import { parseDom0Mem } from '../boot/sizes.js';
import type { CheckInput, CheckRule, Finding } from './types.js';

/** Xen's own heap (its page tables, the domains' structures): kept free beyond what the domains are given. */
const MiB = 1024 * 1024;
const XEN_HEAP_MARGIN = 16 * MiB;

/** Memory as whole MiB: shares and totals add up as written (a rounded "1.5 GiB" would not). */
const mib = (bytes: number): string => `${Math.round(bytes / MiB)} MiB`;

/**
 * XB-DOMU-001: the guests' memory, with dom0's (dom0_mem), must fit in the
 * RAM the plan leaves free; a guest bigger than all of RAM is named as such.
 */
function checkOvercommit(input: CheckInput): Finding[] {
  const domus = input.domus ?? [];
  const plan = input.plan;
  if (domus.length === 0 || !plan) return [];
  const ram = plan.ram.reduce((sum, b) => sum + b.size, 0);
  const findings: Finding[] = [];
  domus.forEach((d, i) => {
    if (d.memory >= ram) {
      findings.push({
        id: 'XB-DOMU-001',
        severity: 'error',
        message: `dom0less guest ${d.name} asks for ${mib(d.memory)}, beyond all of RAM (${mib(ram)})`,
        fix: `lower domus[${i}].memory`,
        where: `domus.${i}.memory`,
      });
    }
  });
  if (findings.length > 0) return findings;
  // What Xen's heap has once the modules, Xen itself (where it relocates) and the reserved regions are taken.
  const taken = [...plan.placements, ...plan.reserved, ...(plan.xenRelocated ? [plan.xenRelocated] : [])];
  const free = freeRuns(plan.ram, taken, 4096).reduce((sum, r) => sum + r.size, 0);
  const dom0 = parseDom0Mem(input.xenBootargs);
  const guests = domus.reduce((sum, d) => sum + d.memory, 0);
  const asked = guests + (dom0 ?? 0) + XEN_HEAP_MARGIN;
  if (asked <= free) return [];
  const parts = [...(dom0 !== undefined ? [`dom0 ${mib(dom0)}`] : []), ...domus.map((d) => `${d.name} ${mib(d.memory)}`)];
  return [
    {
      id: 'XB-DOMU-001',
      severity: 'error',
      message: `the domains ask for ${mib(guests + (dom0 ?? 0))} (${parts.join(', ')}) and Xen needs about ${mib(XEN_HEAP_MARGIN)} of its own, but only ${mib(free)} of RAM is free after the boot modules and Xen: Xen would fail to allocate a guest's memory`,
      fix: `lower the guests' memory (domus[].memory)${dom0 !== undefined ? ' or dom0_mem in xen.bootargs' : ''}`,
      where: 'domus',
    },
  ];
}

/** XB-DOMU-002: a guest whose kernel writes to ttyAMA0 needs the vpl011 Xen emulates, or its console goes nowhere. */
function checkConsole(input: CheckInput): Finding[] {
  return (input.domus ?? []).flatMap((d, i): Finding[] => {
    const consoles = [...(d.bootargs ?? '').matchAll(/(?:^|\s)console=([^\s,]+)/g)].map((m) => m[1]!);
    if (d.vpl011 || !consoles.some((c) => c.startsWith('ttyAMA'))) return [];
    return [
      {
        id: 'XB-DOMU-002',
        severity: 'error',
        message: `dom0less guest ${d.name} has console=${consoles.find((c) => c.startsWith('ttyAMA'))} but no vpl011: Xen gives it no PL011, so nothing it prints is seen`,
        fix: `set domus[${i}].vpl011: true (Xen prints its console as "(XEN) DOMn: …"), or give it console=hvc0 with a toolstack in dom0`,
        where: `domus.${i}.vpl011`,
      },
    ];
  });
}

export const DOMU_MEMORY: CheckRule = {
  id: 'XB-DOMU-001',
  title: "dom0less guests' memory",
  checks: [checkOvercommit],
};

export const DOMU_CONSOLE: CheckRule = {
  id: 'XB-DOMU-002',
  title: "a dom0less guest's console",
  checks: [checkConsole],
};
