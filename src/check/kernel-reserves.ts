/**
 * Memory a dom0 kernel reserves from its board code rather than from the
 * device tree, at fixed addresses: pruning /reserved-memory cannot remove it,
 * only the kernel's configuration can. TI's 3.1x trees (GLSDK 6 and 7) reserve
 * the IPU and DSP remoteproc CMA pools this way (arch/arm/mach-omap2/
 * remoteproc.c: omap_rproc_reserve_cma(RPROC_CMA_DRA7), called from
 * dra7_reserve()), each when its option is set, and only when
 * CONFIG_OMAP_REMOTEPROC is: the thread's dom0 panic in reserve_bootmem, with
 * "CMA: reserved 56 MiB at 0x95800000" while dom0 owned 0xa8000000-0xb0000000.
 * Mainline kernels have none of these options, so nothing here applies to them.
 */
import type { Range } from '../model/boot.js';

export interface KernelReserve {
  /** The option that makes the kernel reserve it. */
  option: string;
  name: string;
  range: Range;
}

const TI_DRA7_REMOTEPROC_CMA: readonly KernelReserve[] = [
  { option: 'CONFIG_OMAP_REMOTEPROC_IPU', name: 'IPU2 CMA pool', range: { start: 0x95800000, size: 0x3800000 } },
  { option: 'CONFIG_OMAP_REMOTEPROC_DSP', name: 'DSP1 CMA pool', range: { start: 0x99000000, size: 0x4000000 } },
  { option: 'CONFIG_OMAP_REMOTEPROC_IPU1', name: 'IPU1 CMA pool', range: { start: 0x9d000000, size: 0x2000000 } },
  { option: 'CONFIG_OMAP_REMOTEPROC_DSP2', name: 'DSP2 CMA pool', range: { start: 0x9f000000, size: 0x800000 } },
];

const on = (v: string | null | undefined) => v === 'y' || v === 'm';

/** The fixed regions a kernel built with `config` reserves from board code. */
export function kernelReserves(config: ReadonlyMap<string, string | null>): KernelReserve[] {
  if (config.get('CONFIG_SOC_DRA7XX') !== 'y' || !on(config.get('CONFIG_OMAP_REMOTEPROC'))) return [];
  return TI_DRA7_REMOTEPROC_CMA.filter((r) => on(config.get(r.option)));
}
