/**
 * Device-tree rules: what Xen 4.5+ needs from the host DTB, each learnt from a
 * failure in the DRA7 bring-up thread (seeds/000_…): PSCI, the arch timer,
 * the dtuart console and the GIC.
 */
import type { DtNode, DtTree } from '../dt/model.js';
import { argValue, cpuNodes, xenUsesDtuart } from './bootargs.js';
import { lineBefore, type ConsoleExplanation, type ConsoleLog } from './console.js';
import type { CheckInput, CheckRule, Finding } from './types.js';

const PSCI = ['arm,psci', 'arm,psci-0.2', 'arm,psci-1.0'];
const TIMERS = ['arm,armv7-timer', 'arm,armv8-timer'];
const GICV2 = ['arm,cortex-a15-gic', 'arm,gic-400', 'arm,cortex-a7-gic'];

/** SoCs whose secondary CPUs Xen starts with platform code (xen/arch/arm/platforms/*: cpu_up), no PSCI needed. */
const XEN_PLATFORM_SMP = ['ti,dra7', 'ti,omap5', 'samsung,exynos5250', 'arm,vexpress', 'brcm,bcm7445d0'];

/** The CPU count the rules use: the input's, else the DTB's /cpus. */
export function cpuCount(input: CheckInput): number {
  return input.cpus ?? (input.dtb ? cpuNodes(input.dtb) : 1);
}

function isDra7(tree: DtTree): boolean {
  return tree.root.isCompatible('ti,dra7');
}

/** XB-DT-001: a host /psci node must use SMC; without one, something else must start secondary CPUs. */
function checkPsci(input: CheckInput): Finding[] {
  const tree = input.dtb;
  if (!tree) return [];
  const nodes = tree.compatible(...PSCI);
  const out: Finding[] = [];
  for (const node of nodes) {
    const method = node.string('method');
    if (method === 'smc') continue;
    out.push({
      id: 'XB-DT-001',
      severity: 'error',
      message: `${node.path} has ${method === undefined ? 'no method' : `method "${method}"`}; Xen as the host calls PSCI with SMC and will fail ("/psci method must be smc")`,
      fix: `delete ${node.path} (Xen gives dom0 its own PSCI node${isDra7(tree) ? ', and starts CPU1 of DRA7 with its platform code' : ''}), or set method = "smc" if the secure firmware implements PSCI`,
      where: node.path,
      fixup: [{ op: 'delete-node', path: node.path }],
    });
  }
  if (nodes.length === 0 && cpuCount(input) > 1) {
    const cpus = tree.nodeAt('/cpus')?.children ?? [];
    const spinTable = cpus.length > 0 && cpus.every((c) => c.string('enable-method') === 'spin-table');
    const platform = input.platformSmp ?? tree.root.isCompatible(...XEN_PLATFORM_SMP);
    if (!spinTable && !platform) {
      out.push({
        id: 'XB-DT-001',
        severity: 'warning',
        message: `no /psci node, and Xen has no platform code to start the secondary CPUs of ${tree.root.string('compatible') ?? 'this board'}: Xen will run on CPU0 only`,
        fix: 'add a psci node (compatible = "arm,psci-0.2", method = "smc") if the secure firmware implements PSCI, or boot with one CPU',
        where: '/psci',
      });
    }
  }
  return out;
}

/**
 * XB-DT-002: Xen needs the arch timer node, and its clock-frequency unless
 * firmware programs CNTFRQ: an error when nothing does, a warning when it
 * depends on how U-Boot was built, nothing when PSCI firmware boots the cores.
 */
function checkTimer(input: CheckInput): Finding[] {
  const tree = input.dtb;
  if (!tree) return [];
  const timer = tree.compatible(...TIMERS)[0];
  if (!timer) {
    return [
      {
        id: 'XB-DT-002',
        severity: 'error',
        message: 'no arch timer node (compatible "arm,armv7-timer" or "arm,armv8-timer"); Xen panics: "Unable to find a compatible timer in the device tree"',
        fix: "add the timer node of the SoC's dtsi, with its four PPIs and clock-frequency",
        where: '/timer',
      },
    ];
  }
  const out: Finding[] = [];
  // CNTFRQ is written only from the secure side: PSCI firmware (TF-A, QEMU) always does it, U-Boot's
  // HYP switch does it when built with CONFIG_TIMER_CLK_FREQ, and nothing does it when Xen switches
  // cores itself — the seed's first attempt, which logged "Using generic timer at 0 KHz".
  if (!timer.has('clock-frequency') && input.hyp !== 'firmware') {
    const hz = isDra7(tree) ? 6144000 : undefined;
    const sure = input.hyp === 'unknown' || input.hyp === 'xen-fallback';
    out.push({
      id: 'XB-DT-002',
      severity: sure ? 'error' : 'warning',
      message: `${timer.path} has no clock-frequency; unless the firmware programs CNTFRQ${sure ? '' : " (U-Boot's HYP switch does when built with CONFIG_TIMER_CLK_FREQ)"}, Xen prints "Using generic timer at 0 KHz" and hangs`,
      fix: `dtb fixup: set ${timer.path} clock-frequency = <${hz ?? 'the timer frequency in Hz'}>${hz ? ' (DRA7: 6.144 MHz, as Xen logs "Using generic timer at 6144 KHz")' : ''}`,
      where: timer.path,
      ...(hz ? { fixup: [{ op: 'set' as const, path: timer.path, prop: 'clock-frequency', value: { cells: [hz] } }] } : {}),
    });
  }
  if (!timer.isEnabled()) {
    out.push({
      id: 'XB-DT-002',
      severity: 'warning',
      message: `${timer.path} has status "${timer.status}"${isDra7(tree) ? ' (mainline DRA7 disables it for erratum i940)' : ''}; Xen and dom0 both run on the arch timer`,
      fix: `dtb fixup: enable ${timer.path}`,
      where: timer.path,
      fixup: [{ op: 'enable', path: timer.path }],
    });
  }
  return out;
}

/** The GICv2 Xen drives: the first enabled GICv2 interrupt controller. */
function primaryGic(tree: DtTree): DtNode | undefined {
  return tree.compatible(...GICV2).find((n) => n.has('interrupt-controller') && n.isEnabled());
}

/** What Xen's serial drivers match (xen/drivers/char/*-uart.c, ns16550.c, pl011.c: their DT_MATCH_COMPATIBLE lists, 4.5 to 4.17). */
const XEN_UART_COMPATIBLES = [
  'ti,omap4-uart',
  'arm,pl011',
  'ns16550',
  'ns16550a',
  'snps,dw-apb-uart',
  'samsung,exynos4210-uart',
  'renesas,scif',
  'renesas,scifa',
  'amlogic,meson-uart',
  'amlogic,meson-gx-uart',
  'marvell,armada-3700-uart',
  'cdns,uart-r1p8',
  'xlnx,xuartps',
  'fsl,imx8qm-lpuart',
  'arm,sbsa-uart',
];

/** Where a node's interrupts are delivered: interrupts-extended's first phandle, else interrupt-parent. */
function interruptTarget(tree: DtTree, node: DtNode): DtNode | undefined {
  const ext = node.cells('interrupts-extended');
  return ext && ext.length > 0 ? tree.byPhandle(ext[0]!) : tree.interruptParent(node);
}

/** XB-DT-003: dtuart= (or /chosen/stdout-path) must name an enabled UART whose interrupts reach the GIC. */
function checkDtuart(input: CheckInput): Finding[] {
  const tree = input.dtb;
  if (!tree || !xenUsesDtuart(input.xenBootargs)) return [];
  const error = (message: string, fix: string, where?: string, fixup?: Finding['fixup']): Finding[] => [
    { id: 'XB-DT-003', severity: 'error', message, fix, ...(where ? { where } : {}), ...(fixup ? { fixup } : {}) },
  ];
  let spec = argValue(input.xenBootargs, 'dtuart');
  let source = spec === undefined ? '' : `dtuart=${spec}`;
  if (spec === undefined) {
    spec = tree.nodeAt('/chosen')?.string('stdout-path');
    source = `/chosen/stdout-path "${spec}"`;
  }
  if (spec === undefined || spec === '') {
    return error(
      "Xen's console is dtuart, but neither dtuart= nor /chosen/stdout-path names a UART: Xen will print nothing",
      "add dtuart=serial0 (an alias of the debug UART) to Xen's bootargs",
    );
  }
  const name = spec.split(':')[0]!; // "serial0:115200n8": options follow a colon
  const { path, node } = tree.resolve(name);
  if (path === undefined) {
    const known = [...tree.aliases().keys()].filter((a) => a.startsWith('serial')).join(', ');
    return error(
      `${source}: /aliases has no ${name}${known ? ` (it has ${known})` : ''}; Xen finds no console UART`,
      `use one of the serial aliases, or a full path: dtuart=/path/to/uart`,
      '/aliases',
    );
  }
  if (!node)
    return error(
      `${source} → ${path}, which is not in the DTB; Xen finds no console UART`,
      'point the alias at the UART node, or use its full path in dtuart=',
      path,
    );
  if (!node.isEnabled()) {
    return error(
      `${source} → ${node.path} has status "${node.status}"; Xen will not use a disabled UART`,
      `dtb fixup: enable ${node.path}, or use an enabled UART`,
      node.path,
      [{ op: 'enable', path: node.path }],
    );
  }
  if (!node.isCompatible(...XEN_UART_COMPATIBLES)) {
    const ti = (node.string('compatible') ?? '').startsWith('ti,');
    return error(
      `${source} → ${node.path} is "${node.strings('compatible')?.join('", "') ?? 'without compatible'}", which none of Xen's UART drivers takes; Xen has no console ("Unable to initialize dtuart")`,
      ti
        ? `dtb fixup: set ${node.path} compatible = [${[...(node.strings('compatible') ?? []), 'ti,omap4-uart'].map((c) => `"${c}"`).join(', ')}] (Linux 5.14 dropped "ti,omap4-uart" from DRA7's UARTs; Xen's omap-uart matches only it)`
        : `use a UART whose compatible one of Xen's drivers takes: ${XEN_UART_COMPATIBLES.join(', ')}`,
      node.path,
      ti ? [{ op: 'set', path: node.path, prop: 'compatible', value: { strings: [...(node.strings('compatible') ?? []), 'ti,omap4-uart'] } }] : undefined,
    );
  }
  if (!node.has('interrupts') && !node.has('interrupts-extended')) {
    return error(
      `${source} → ${node.path} has no interrupts; Xen's UART driver fails ("omap-uart: Unable to retrieve the IRQ") and Xen has no console`,
      `give ${node.path} its interrupts (as in the SoC's dtsi), or pick a UART that has them (the seed's fix: dtuart=serial0)`,
      node.path,
    );
  }
  const gic = primaryGic(tree);
  const target = interruptTarget(tree, node);
  if (gic && target && target !== gic && !target.has('interrupt-map')) {
    return error(
      `${source} → ${node.path}: its interrupts go to ${target.path}, not the GIC ${gic.path}; Xen translates only interrupts wired to the GIC ("Unable to retrieve the IRQ")`,
      `dtb fixup: set ${node.path} interrupt-parent to the GIC's phandle and interrupts to <0 SPI 4> for the SPI the ${target.baseName} routes it to`,
      node.path,
    );
  }
  return [];
}

const GIC_REGIONS = ['distributor (GICD)', 'CPU interface (GICC)', 'hypervisor interface (GICH)', 'virtual CPU interface (GICV)'];

/** XB-DT-004: Xen needs all four GICv2 regions and the maintenance PPI. */
function checkGic(input: CheckInput): Finding[] {
  const tree = input.dtb;
  if (!tree) return [];
  const gic = primaryGic(tree);
  if (!gic) {
    if (tree.compatible('arm,gic-v3').length > 0) return [];
    return [
      {
        id: 'XB-DT-004',
        severity: 'error',
        message: `no GICv2 interrupt controller (${GICV2.join(', ')}) or GICv3 in the DTB; Xen cannot take interrupts`,
        fix: "use the SoC's full DTB, with its interrupt-controller node",
      },
    ];
  }
  const out: Finding[] = [];
  const regions = tree.reg(gic)?.length ?? 0;
  if (regions < 4) {
    out.push({
      id: 'XB-DT-004',
      severity: 'error',
      message: `${gic.path} has ${regions} reg region${regions === 1 ? '' : 's'}; Xen needs 4, and the ${GIC_REGIONS.slice(regions).join(' and the ')} ${4 - regions === 1 ? 'is' : 'are'} missing`,
      fix: `add the missing regions to reg${isDra7(tree) ? ' (DRA7: GICH at 0x48214000 and GICV at 0x48216000, 8 KiB each)' : ' from the SoC manual'}`,
      where: gic.path,
    });
  }
  if (!gic.has('interrupts')) {
    out.push({
      id: 'XB-DT-004',
      severity: 'error',
      message: `${gic.path} has no interrupts; Xen needs the GIC maintenance interrupt (a PPI) to run guests`,
      fix: `dtb fixup: set ${gic.path} interrupts = <1 9 0xf04> (PPI 9, level-high: what made Xen 4.5 boot on the seed's DRA7; mainline DRA7 has <1 9 0x304>)`,
      where: gic.path,
      fixup: [{ op: 'set', path: gic.path, prop: 'interrupts', value: { cells: [1, 9, 0xf04] } }],
    });
  }
  return out;
}

/**
 * XB-DT-005: Xen gives dom0 only the interrupts wired to the GIC in the device
 * tree (4.17's handle_device_interrupts skips any "not connected to the
 * primary controller"). Behind an interrupt router Xen does not know, such as
 * DRA7's IRQ crossbar since Linux 3.17, a device dom0 owns gets no interrupt:
 * an MMC root never appears, a network never answers. Xen's own console UART
 * is XB-DT-003's, and is not dom0's.
 */
function checkDom0Interrupts(input: CheckInput): Finding[] {
  const tree = input.dtb;
  const gic = tree ? primaryGic(tree) : undefined;
  if (!tree || !gic) return [];
  const console = xenUsesDtuart(input.xenBootargs) ? tree.resolve((argValue(input.xenBootargs, 'dtuart') ?? '').split(':')[0]!).node : undefined;
  const hasInterrupts = (n: DtNode) => n.has('interrupts') || n.has('interrupts-extended');
  // A device behind a router: a controller that is not the GIC and has no interrupt line of its own (the
  // crossbar, the wakeup generator). One behind a cascaded controller dom0 drives (a GPIO bank) is judged
  // by that controller's own line instead.
  const stranded = tree.findNodes((n) => {
    if (n === console || !n.isEnabled() || !hasInterrupts(n)) return false;
    const target = interruptTarget(tree, n);
    return target !== undefined && target !== gic && !target.has('interrupt-map') && !hasInterrupts(target);
  });
  if (stranded.length === 0) return [];
  const routers = [...new Set(stranded.map((n) => interruptTarget(tree, n)!.path))];
  const shown = stranded.slice(0, 4).map((n) => n.path);
  return [
    {
      id: 'XB-DT-005',
      severity: 'warning',
      message: `${stranded.length} enabled device${stranded.length === 1 ? ' takes its' : 's take their'} interrupts through ${routers.join(', ')}, not the GIC: Xen routes none of them to dom0, so there they get no interrupts (${shown.join(', ')}${stranded.length > shown.length ? `, and ${stranded.length - shown.length} more` : ''})`,
      fix: "wire the devices dom0 needs (its root device, its network) to the GIC: dtb fixups setting interrupt-parent to the GIC's phandle and interrupts to <0 SPI 4>, as dra7-evm's debian12 profile does for the console UART and mmc1, with the crossbar line kept out of dom0's reach (ti,irqs-skip) and programmed by boot.setup",
      where: routers[0]!,
    },
  ];
}

// ---------------------------------------------------------------- the rules, with their console signatures

export const PSCI_METHOD: CheckRule = {
  id: 'XB-DT-001',
  title: 'PSCI as Xen, the host, calls it',
  checks: [checkPsci],
  console: [
    {
      match: /\/psci method must be smc, but is: "([^"]*)"/,
      explain: (m) => ({
        message: `the host DTB's /psci has method "${m[1]}": Xen, the host, calls PSCI by SMC and ignores the node, so it cannot start CPUs through it (dom0 gets a /psci of Xen's own)`,
        fix: 'dtb fixup: delete /psci (Xen writes dom0\'s), or set its method to "smc" if the secure firmware implements PSCI',
        boardKey: 'dtb.fixups',
      }),
    },
  ],
};

export const TIMER_FREQUENCY: CheckRule = {
  id: 'XB-DT-002',
  title: 'the arch timer has a frequency',
  checks: [checkTimer],
  console: [
    {
      match: /Using generic timer at 0 KHz/,
      explain: () => ({
        message:
          'Xen read the arch timer\'s frequency as 0 ("Using generic timer at 0 KHz"): the firmware did not program CNTFRQ and the timer node has no clock-frequency, so Xen\'s time stands still',
        fix: "dtb fixups: set /timer clock-frequency = <6144000> on DRA7 (the SoC's 6.144 MHz; the frequency of the SoC elsewhere) and enable /timer",
        boardKey: 'dtb.fixups',
      }),
    },
  ],
};

const noConsole = (alias: string | undefined, what: string): ConsoleExplanation => ({
  message: `Xen has no console: ${alias ? `dtuart=${alias}` : 'its dtuart'} ${what}; nothing more from Xen reaches this serial line`,
  fix: "point dtuart= at an alias of an enabled UART whose interrupt is wired to the GIC (the thread's fix: dtuart=serial0), or wire it with dtb fixups as dra7-evm's debian12 profile does",
  boardKey: 'xen.bootargs',
});
const consoleAlias = (log: ConsoleLog, i: number) => lineBefore(log, i, /Looking for UART console (\S+)/)?.[1];

export const XEN_CONSOLE: CheckRule = {
  id: 'XB-DT-003',
  title: "Xen's console UART",
  checks: [checkDtuart],
  console: [
    {
      match: /omap-uart: Unable to retrieve the IRQ/,
      explain: (_m, log, i) => noConsole(consoleAlias(log, i), 'names a UART without an interrupt Xen can use ("omap-uart: Unable to retrieve the IRQ")'),
    },
    {
      match: /Unable to initialize dtuart/,
      explain: (_m, log, i) =>
        noConsole(consoleAlias(log, i), 'names a UART none of Xen\'s drivers takes, or one it cannot set up ("Unable to initialize dtuart")'),
    },
    {
      match: /Bad console= option 'dtuart'/,
      explain: (_m, log, i) => noConsole(consoleAlias(log, i), 'could not be set up ("Bad console= option \'dtuart\'")'),
    },
  ],
};

export const GIC_SETUP: CheckRule = { id: 'XB-DT-004', title: 'the GIC as Xen drives it', checks: [checkGic] };
export const DOM0_INTERRUPTS: CheckRule = { id: 'XB-DT-005', title: "dom0's devices' interrupts reach the GIC", checks: [checkDom0Interrupts] };
