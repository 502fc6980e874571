/** Memory rules: the planner's errors, and reserved memory that dom0 cannot own. */
import { fixedReservedMemory } from '../dt/reserved.js';
import { insideAny, regionText, spanText } from '../dt/units.js';
import { parseKconfig } from './kconfig.js';
import { kernelReserves } from './kernel-reserves.js';
import { allMatches, type ConsoleExplanation, type ConsoleLog } from './console.js';
import type { CheckInput, CheckRule, Finding } from './types.js';

/** XB-MEM-001: each error of the memory planner (overlaps, modules outside RAM…), with the board key to change. */
function checkPlanErrors(input: CheckInput): Finding[] {
  return (input.planErrors ?? []).map((e) => ({
    id: 'XB-MEM-001',
    severity: 'error' as const,
    message: e.message,
    fix: `change ${e.key} in the board file`,
    where: e.key,
  }));
}

/**
 * XB-MEM-004: a /reserved-memory child with a fixed reg outside dom0's memory
 * (the seed's CMA pools at 0x95800000… while dom0 owns 0xa8000000–0xb0000000)
 * makes dom0's kernel panic in reserve_bootmem.
 * XB-MEM-005: fixed regions exist but dom0's memory is not known, so they cannot be checked.
 */
function checkReservedMemory(input: CheckInput): Finding[] {
  if (!input.dtb) return [];
  const fixed = fixedReservedMemory(input.dtb);
  if (fixed.length === 0) return [];
  const dom0 = input.dom0Range ?? input.plan?.dom0;
  if (!dom0 || dom0.length === 0) {
    return [
      {
        id: 'XB-MEM-005',
        severity: 'warning',
        message: `${fixed.length} /reserved-memory region${fixed.length === 1 ? ' has' : 's have'} a fixed address (${fixed.map((f) => f.ranges.map(regionText).join(', ')).join('; ')}) and dom0's memory is not known: any outside it makes dom0 panic in reserve_bootmem`,
        fix: 'declare dom0\'s memory in the board (Xen logs it as "BANK[0] 0x…-0x…"), then check again or add the prune-reserved-memory fixup',
        where: '/reserved-memory',
      },
    ];
  }
  return fixed
    .filter(({ ranges }) => !ranges.every((r) => insideAny(r, dom0)))
    .map(({ node, ranges }) => ({
      id: 'XB-MEM-004',
      severity: 'error' as const,
      message: `${node.path} (${ranges.map(regionText).join(', ')}) lies outside dom0's memory ${spanText(dom0)}; dom0 will panic in reserve_bootmem`,
      fix: "dtb fixup: prune-reserved-memory (keep: inside-dom0), or move the pool inside dom0's memory",
      where: node.path,
      fixup: [{ op: 'prune-reserved-memory' as const, keep: 'inside-dom0' as const }],
    }));
}

/**
 * XB-MEM-004 for memory the dom0 kernel reserves from board code, read from its
 * built .config (kernel-reserves.ts): a region outside dom0's memory panics dom0
 * just as a /reserved-memory node does, and only the kernel's config can fix it.
 * XB-MEM-005 when dom0's memory is not known.
 */
function checkKernelReserves(input: CheckInput): Finding[] {
  if (input.kernelConfig === undefined) return [];
  const reserves = kernelReserves(parseKconfig(input.kernelConfig));
  if (reserves.length === 0) return [];
  const fix =
    'turn the carve-outs off in the dom0 kernel\'s config fragment ("# CONFIG_OMAP_REMOTEPROC is not set": remoteprocs are not dom0\'s under Xen), or give dom0 memory that covers them';
  const dom0 = input.dom0Range ?? input.plan?.dom0;
  if (!dom0 || dom0.length === 0) {
    return [
      {
        id: 'XB-MEM-005',
        severity: 'warning',
        message: `the dom0 kernel reserves ${reserves.map((r) => `the ${r.name} ${regionText(r.range)} (${r.option})`).join(', ')} from board code, and dom0's memory is not known: any outside it makes dom0 panic in reserve_bootmem`,
        fix: `declare dom0's memory in the board (Xen logs it as "BANK[0] 0x…-0x…"), or ${fix}`,
        where: reserves[0]!.option,
      },
    ];
  }
  return reserves
    .filter((r) => !insideAny(r.range, dom0))
    .map((r) => ({
      id: 'XB-MEM-004',
      severity: 'error' as const,
      message: `the dom0 kernel's .config has ${r.option}: its board code reserves the ${r.name} ${regionText(r.range)} at a fixed address, outside dom0's memory ${spanText(dom0)}; dom0 will panic in reserve_bootmem, and no device-tree fixup can remove it`,
      fix,
      where: r.option,
    }));
}

export const PLAN: CheckRule = {
  id: 'XB-MEM-001',
  title: 'load addresses',
  checks: [checkPlanErrors],
  console: [
    {
      match: /zimage: Bad magic!|Bad Linux ARM zImage magic|Wrong Image Format for bootm command|Bad Magic Number/,
      explain: (m) => ({
        message: `U-Boot found no Xen image at the address it was told to boot ("${m[0]}"): the boot command and the load addresses disagree`,
        fix: 'let xenbuild plan the addresses and write the boot script from the same plan (boot:plan, boot:script); do not edit boot.scr or uEnv.txt by hand',
        boardKey: 'xen.load',
      }),
    },
  ],
};

const MiB = 1024 * 1024;

/**
 * dom0's kernel logs each CMA pool it reserves, Xen each bank of dom0's
 * memory: a pool outside every bank is the thread's reserve_bootmem panic.
 */
function cmaOutsideDom0(log: ConsoleLog): ConsoleExplanation | undefined {
  const banks = allMatches(log, /BANK\[\d+\] 0x([0-9a-f]+)-0x([0-9a-f]+)/i).map(({ m }) => ({
    start: parseInt(m[1]!, 16),
    size: parseInt(m[2]!, 16) - parseInt(m[1]!, 16),
  }));
  if (banks.length === 0) return undefined;
  const pools = allMatches(log, /CMA: reserved (\d+) MiB at (?:0x)?([0-9a-f]+)/i).map(({ m, index }) => ({
    start: parseInt(m[2]!, 16),
    size: Number(m[1]) * MiB,
    index,
  }));
  const outside = pools.filter((p) => !insideAny(p, banks));
  if (outside.length === 0) return undefined;
  const panic = log.lines.findIndex((l) => /reserve_bootmem/.test(l.text));
  const panicked = panic >= 0;
  return {
    message: `dom0's kernel reserves ${outside.length} CMA pool${outside.length === 1 ? '' : 's'} outside its memory ${spanText(banks)} (Xen's BANK lines): ${outside.map(regionText).join(', ')}${panicked ? '; it panicked in reserve_bootmem' : ''}`,
    fix: 'turn the carve-outs off in the dom0 kernel\'s config ("# CONFIG_OMAP_REMOTEPROC is not set" where board code reserves them, as TI\'s 3.14 does), or prune them from /reserved-memory (dtb fixup prune-reserved-memory), or give dom0 memory that covers them',
    boardKey: 'dom0.config',
    evidence: [...outside.map((p) => p.index), ...(panicked ? [panic] : [])],
  };
}

export const RESERVED_MEMORY: CheckRule = {
  id: 'XB-MEM-004',
  title: "reserved memory inside dom0's",
  checks: [checkReservedMemory, checkKernelReserves],
  console: [{ match: /CMA: reserved \d+ MiB at/i, explain: (_m, log) => cmaOutsideDom0(log) }],
};
