/** The branches of each rule beyond the seed's fixtures, on small trees compiled with dtc. */
import { afterAll, describe, expect, it } from 'vitest';
import { checkBoard, type CheckInput, type Finding } from '../src/check/rules.js';
import { readDtb } from '../src/dt/read.js';
import type { DtTree } from '../src/dt/model.js';
import { compileText } from './fixtures/dts/compile.js';
import { makeTempDir, removeTempDirs } from './util/tmp.js';

afterAll(removeTempDirs);

const BASE: Omit<CheckInput, 'dtb'> = {
  xenBootargs: 'console=dtuart dtuart=serial0',
  dom0Bootargs: 'console=hvc0',
  dom0Range: [{ start: 0xa8000000, size: 0x8000000 }],
  hyp: 'u-boot-patch',
};

let n = 0;
/** The good DRA7 tree with `overlay` (dts source after the include) applied. */
async function dra7(overlay: string): Promise<DtTree> {
  return readDtb(compileText(`/include/ "dra7-base.dtsi"\n${overlay}\n`, `t${n++}`, makeTempDir()));
}
const run = (dtb: DtTree | undefined, extra: Partial<CheckInput> = {}): Finding[] => checkBoard({ ...BASE, ...(dtb ? { dtb } : {}), ...extra });
const ids = (fs: Finding[]) => fs.map((f) => `${f.severity} ${f.id}`);

describe('XB-HYP-001', () => {
  it('is an error with several CPUs and no known HYP entry, naming both ways out', async () => {
    const tree = await dra7('');
    const [f, ...rest] = run(tree, { hyp: 'unknown' });
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ id: 'XB-HYP-001', severity: 'error' });
    expect(f!.message).toMatch(/^2 CPUs, .*hangs silently/);
    expect(f!.fix).toMatch(/hyp: u-boot-patch.*hyp: xen-fallback/);
    expect(run(tree, { hyp: 'unknown', cpus: 1 })).toEqual([]);
    expect(run(tree, { hyp: 'xen-fallback' })).toEqual([]);
  });
});

describe('XB-DT-001', () => {
  it('warns when no /psci and no platform code can start the secondary CPUs', async () => {
    const tree = await dra7('/ { compatible = "acme,board"; }; /delete-node/ &psci;');
    const found = run(tree);
    expect(ids(found)).toEqual(['warning XB-DT-001']);
    expect(found[0]!.message).toMatch(/no \/psci node, .*acme,board.*CPU0 only/);
    expect(run(tree, { platformSmp: true })).toEqual([]);
    expect(run(tree, { cpus: 1 })).toEqual([]);
    expect(run(await dra7('/delete-node/ &psci;'))).toEqual([]); // DRA7: Xen's platform code starts CPU1
  });

  it('flags a psci node without a method', async () => {
    expect(run(await dra7('&psci { /delete-property/ method; };'))[0]!.message).toMatch(/^\/psci has no method;/);
  });
});

describe('XB-DT-002', () => {
  it('warns about a disabled timer, and errors when there is none', async () => {
    const disabled = run(await dra7('&timer { status = "disabled"; };'));
    expect(ids(disabled)).toEqual(['warning XB-DT-002']);
    expect(disabled[0]!.message).toBe('/timer has status "disabled" (mainline DRA7 disables it for erratum i940); Xen and dom0 both run on the arch timer');
    expect(disabled[0]!.fixup).toEqual([{ op: 'enable', path: '/timer' }]);
    const none = run(await dra7('/delete-node/ &timer;'));
    expect(ids(none)).toEqual(['error XB-DT-002']);
    expect(none[0]!.message).toContain('Unable to find a compatible timer');
  });
});

describe('XB-DT-003', () => {
  it('names an alias that does not exist, and the ones that do', async () => {
    const f = run(await dra7(''), { xenBootargs: 'console=dtuart dtuart=serial5' });
    expect(ids(f)).toEqual(['error XB-DT-003']);
    expect(f[0]!.message).toBe('dtuart=serial5: /aliases has no serial5 (it has serial0, serial2); Xen finds no console UART');
  });

  it('flags a disabled UART, accepting paths and options', async () => {
    const tree = await dra7('&uart3 { status = "disabled"; };');
    const f = run(tree, { xenBootargs: 'dtuart=/ocp/serial@48020000:115200n8' });
    expect(f[0]!.message).toBe('dtuart=/ocp/serial@48020000:115200n8 → /ocp/serial@48020000 has status "disabled"; Xen will not use a disabled UART');
    expect(f[0]!.fixup).toEqual([{ op: 'enable', path: '/ocp/serial@48020000' }]);
    expect(run(tree, { xenBootargs: 'console=com1 dtuart=serial2' })).toEqual([]); // dtuart is not Xen's console
  });

  it('falls back to /chosen/stdout-path, and says when nothing names a UART', async () => {
    const tree = await dra7('&uart1 { /delete-property/ interrupts; };');
    expect(run(tree, { xenBootargs: 'console=dtuart' })[0]!.message).toMatch(
      /^\/chosen\/stdout-path "\/ocp\/serial@4806a000" → \/ocp\/serial@4806a000 has no interrupts/,
    );
    const bare = await dra7('/ { chosen { /delete-property/ stdout-path; }; };');
    expect(run(bare, { xenBootargs: 'sync_console' })[0]!.message).toMatch(/neither dtuart= nor \/chosen\/stdout-path names a UART/);
  });

  it('flags interrupts routed to another controller than the GIC (the DRA7 crossbar)', async () => {
    const tree = await dra7(`/ { ocp {
		crossbar_mpu: crossbar@4a002a48 { compatible = "ti,irq-crossbar"; interrupt-controller; #interrupt-cells = <3>; reg = <0x4a002a48 0x130>; interrupt-parent = <&gic>; };
	}; };
	&uart1 { interrupt-parent = <&crossbar_mpu>; };`);
    const f = run(tree);
    expect(ids(f)).toEqual(['error XB-DT-003']);
    expect(f[0]!.message).toContain('its interrupts go to /ocp/crossbar@4a002a48, not the GIC /ocp/interrupt-controller@48211000');
  });

  it('flags a UART none of Xen\'s drivers takes, as Linux 6.1\'s DRA7 UARTs without "ti,omap4-uart"', async () => {
    const tree = await dra7('&uart1 { compatible = "ti,dra742-uart"; };');
    const f = run(tree);
    expect(ids(f)).toEqual(['error XB-DT-003']);
    expect(f[0]!.message).toBe(
      'dtuart=serial0 → /ocp/serial@4806a000 is "ti,dra742-uart", which none of Xen\'s UART drivers takes; Xen has no console ("Unable to initialize dtuart")',
    );
    expect(f[0]!.fixup).toEqual([{ op: 'set', path: '/ocp/serial@4806a000', prop: 'compatible', value: { strings: ['ti,dra742-uart', 'ti,omap4-uart'] } }]);
  });
});

describe('XB-DT-005', () => {
  it("warns about the devices dom0 owns behind a router Xen does not know, not those behind a GPIO bank, nor Xen's console", async () => {
    const tree = await dra7(`/ { ocp {
		crossbar_mpu: crossbar@4a002a48 { compatible = "ti,irq-crossbar"; interrupt-controller; #interrupt-cells = <3>; reg = <0x4a002a48 0x130>; interrupt-parent = <&gic>; };
		mmc@4809c000 { compatible = "ti,dra7-sdhci"; reg = <0x4809c000 0x400>; interrupt-parent = <&crossbar_mpu>; interrupts = <0 78 4>; };
		mmc@480b4000 { compatible = "ti,dra7-sdhci"; reg = <0x480b4000 0x400>; interrupt-parent = <&crossbar_mpu>; interrupts = <0 81 4>; status = "disabled"; };
		gpio1: gpio@4ae10000 { compatible = "ti,omap4-gpio"; reg = <0x4ae10000 0x200>; interrupt-controller; #interrupt-cells = <2>; interrupt-parent = <&crossbar_mpu>; interrupts = <0 24 4>; };
		pmic@58 { compatible = "ti,tps659038"; reg = <0x58 0x1>; interrupt-parent = <&gpio1>; interrupts = <0 8>; };
	}; };
	&uart1 { interrupt-parent = <&gic>; };
	&uart3 { interrupt-parent = <&crossbar_mpu>; };`);
    const f = run(tree);
    expect(ids(f)).toEqual(['warning XB-DT-005']);
    expect(f[0]!.message).toBe(
      '3 enabled devices take their interrupts through /ocp/crossbar@4a002a48, not the GIC: Xen routes none of them to dom0, so there they get no interrupts (/ocp/serial@48020000, /ocp/mmc@4809c000, /ocp/gpio@4ae10000)',
    );
    expect(f[0]!.where).toBe('/ocp/crossbar@4a002a48');
    // Xen's own console, behind the router, is XB-DT-003's (an error), not dom0's.
    expect(ids(run(tree, { xenBootargs: 'console=dtuart dtuart=serial2' }))).toEqual(['error XB-DT-003', 'warning XB-DT-005']);
  });
});

describe('XB-DT-004', () => {
  it('names the GIC regions that are missing', async () => {
    const f = run(await dra7('&gic { reg = <0x48211000 0x1000>, <0x48212000 0x2000>; };'));
    expect(ids(f)).toEqual(['error XB-DT-004']);
    expect(f[0]!.message).toBe(
      '/ocp/interrupt-controller@48211000 has 2 reg regions; Xen needs 4, and the hypervisor interface (GICH) and the virtual CPU interface (GICV) are missing',
    );
    expect(f[0]!.fix).toContain('0x48214000');
  });
});

describe('memory and boot rules', () => {
  it('turns planner errors into XB-MEM-001 with the key to change', () => {
    const f = run(undefined, { planErrors: [{ message: 'zImage (0xa0000000+4.7 MiB) overlaps the initrd', key: 'dom0.load' }] });
    expect(f).toEqual([
      {
        id: 'XB-MEM-001',
        severity: 'error',
        message: 'zImage (0xa0000000+4.7 MiB) overlaps the initrd',
        fix: 'change dom0.load in the board file',
        where: 'dom0.load',
      },
    ]);
  });

  it("uses plan.dom0 when no range is given, and warns when dom0's memory is unknown", async () => {
    const tree = await dra7('&reserved { pool@99000000 { reg = <0x99000000 0x4000000>; }; };');
    const { dom0Range: _, ...noRange } = BASE;
    const plan = { ram: [], placements: [], reserved: [], dom0: [{ start: 0x90000000, size: 0x20000000 }] };
    expect(checkBoard({ ...noRange, dtb: tree, plan })).toEqual([]);
    const f = checkBoard({ ...noRange, dtb: tree });
    expect(ids(f)).toEqual(['warning XB-MEM-005']);
    expect(f[0]!.message).toContain('2 /reserved-memory regions have a fixed address (0xa9000000+8 MiB; 0x99000000+64 MiB)');
  });

  it('warns when dom0 has no console=hvc0', () => {
    expect(ids(run(undefined, { dom0Bootargs: 'console=ttyO0,115200n8 root=/dev/mmcblk0p2' }))).toEqual(['warning XB-BOOT-001']);
    expect(run(undefined, { dom0Bootargs: 'console=tty0 console=hvc0' })).toEqual([]);
  });
});
