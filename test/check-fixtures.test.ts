/**
 * One fixture per failure of the DRA7 bring-up thread (seeds/000_…), each
 * compiled with the real dtc: the good tree yields nothing, every broken one
 * exactly its rule's error.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBoard, formatFindings, type CheckInput, type Finding } from '../src/check/rules.js';
import { bakeEdits, resolveEdits } from '../src/dt/edits.js';
import { readDtb } from '../src/dt/read.js';
import type { DtTree } from '../src/dt/model.js';
import { compileFixture } from './fixtures/dts/compile.js';
import { makeTempDir, removeTempDirs } from './util/tmp.js';

afterAll(removeTempDirs);

const DOM0 = [{ start: 0xa8000000, size: 0x8000000 }];
const BASE: Omit<CheckInput, 'dtb'> = {
  xenBootargs: 'sync_console console=dtuart dtuart=serial0 dom0_mem=128M',
  dom0Bootargs: 'console=hvc0 earlyprintk=xen debug ignore_loglevel root=/dev/mmcblk0p2 rw rootwait fixrtc',
  dom0Range: DOM0,
  hyp: 'u-boot-patch',
};

let dir: string;
const trees = new Map<string, DtTree>();
const FIXTURES = ['good', 'cma-outside-dom0', 'dtuart-no-irq', 'psci-hvc', 'timer-no-freq', 'gic-no-maint'];

beforeAll(async () => {
  dir = makeTempDir();
  for (const name of FIXTURES) trees.set(name, await readDtb(compileFixture(name, dir)));
});

const check = (name: string, extra: Partial<CheckInput> = {}): Finding[] => checkBoard({ ...BASE, dtb: trees.get(name)!, ...extra });
const summary = (fs: Finding[]) => fs.map((f) => `${f.severity} ${f.id}`);

describe("the seed's failures, one fixture each", () => {
  it('good: a tree Xen boots has no findings', () => {
    expect(check('good')).toEqual([]);
    expect(formatFindings(check('good'))).toBe('no problems found');
  });

  it("cma-outside-dom0: each CMA pool outside dom0 is XB-MEM-004, with address, size and dom0's range", () => {
    const found = check('cma-outside-dom0');
    expect(summary(found)).toEqual(Array(4).fill('error XB-MEM-004'));
    expect(found.map((f) => f.where)).toEqual([
      '/reserved-memory/ipu2-memory@95800000',
      '/reserved-memory/dsp1-memory@99000000',
      '/reserved-memory/ipu1-memory@9d000000',
      '/reserved-memory/dsp2-memory@9f000000',
    ]);
    expect(found[1]!.message).toBe(
      "/reserved-memory/dsp1-memory@99000000 (0x99000000+64 MiB) lies outside dom0's memory 0xa8000000–0xb0000000; dom0 will panic in reserve_bootmem",
    );
    expect(found[0]!.message).toContain('(0x95800000+56 MiB)');
    expect(found[3]!.message).toContain('(0x9f000000+8 MiB)');
    expect(found[0]!.fixup).toEqual([{ op: 'prune-reserved-memory', keep: 'inside-dom0' }]);
  });

  it('cma-outside-dom0: after baking the suggested fixup the tree is clean', async () => {
    const src = path.join(dir, 'cma-outside-dom0.dtb');
    const { ops, pruned } = resolveEdits(check('cma-outside-dom0')[0]!.fixup!, { tree: trees.get('cma-outside-dom0')!, dom0: DOM0 });
    expect(pruned).toHaveLength(4);
    const out = path.join(dir, 'pruned.dtb');
    await bakeEdits(src, out, ops);
    expect(checkBoard({ ...BASE, dtb: await readDtb(out) })).toEqual([]);
  });

  it('dtuart-no-irq: dtuart=serial2 → a UART without interrupts is XB-DT-003', () => {
    const found = check('dtuart-no-irq', { xenBootargs: 'sync_console console=dtuart dtuart=serial2' });
    expect(summary(found)).toEqual(['error XB-DT-003']);
    expect(found[0]!.message).toBe(
      'dtuart=serial2 → /ocp/serial@48020000 has no interrupts; Xen\'s UART driver fails ("omap-uart: Unable to retrieve the IRQ") and Xen has no console',
    );
    expect(found[0]!.where).toBe('/ocp/serial@48020000');
    expect(check('dtuart-no-irq')).toEqual([]); // serial0 is fine
  });

  it('psci-hvc: method "hvc" is XB-DT-001', () => {
    const found = check('psci-hvc');
    expect(summary(found)).toEqual(['error XB-DT-001']);
    expect(found[0]!.message).toBe('/psci has method "hvc"; Xen as the host calls PSCI with SMC and will fail ("/psci method must be smc")');
    expect(found[0]!.fix).toMatch(/delete \/psci .*or set method = "smc"/);
    expect(found[0]!.fixup).toEqual([{ op: 'delete-node', path: '/psci' }]);
  });

  it('timer-no-freq: no clock-frequency, when Xen switches the cores to HYP itself, is XB-DT-002 with the DRA7 frequency as fixup', () => {
    const found = check('timer-no-freq', { hyp: 'xen-fallback' });
    expect(summary(found)).toEqual(['error XB-DT-002']);
    expect(found[0]!.message).toContain('/timer has no clock-frequency');
    expect(found[0]!.message).toContain('"Using generic timer at 0 KHz"');
    expect(found[0]!.fixup).toEqual([{ op: 'set', path: '/timer', prop: 'clock-frequency', value: { cells: [6144000] } }]);
    // Whether U-Boot's HYP switch programs CNTFRQ depends on its build; PSCI firmware always does.
    expect(summary(check('timer-no-freq', { hyp: 'u-boot-patch' }))).toEqual(['warning XB-DT-002']);
    expect(check('timer-no-freq', { hyp: 'firmware' })).toEqual([]);
  });

  it("gic-no-maint: a GIC without the maintenance interrupt is XB-DT-004, fixed by the seed's <1 9 0xf04>", () => {
    const found = check('gic-no-maint');
    expect(summary(found)).toEqual(['error XB-DT-004']);
    expect(found[0]!.message).toBe('/ocp/interrupt-controller@48211000 has no interrupts; Xen needs the GIC maintenance interrupt (a PPI) to run guests');
    expect(found[0]!.fix).toContain('interrupts = <1 9 0xf04>');
    expect(found[0]!.fixup).toEqual([{ op: 'set', path: '/ocp/interrupt-controller@48211000', prop: 'interrupts', value: { cells: [1, 9, 0xf04] } }]);
  });

  it("the seed's whole first attempt: every failure at once, errors first", () => {
    const found = checkBoard({
      ...BASE,
      dtb: trees.get('timer-no-freq')!,
      hyp: 'unknown',
      xenBootargs: 'sync_console console=dtuart dtuart=serial5',
      dom0Bootargs: 'root=/dev/mmcblk0p2 rw',
    });
    expect(summary(found)).toEqual(['error XB-HYP-001', 'error XB-DT-002', 'error XB-DT-003', 'warning XB-BOOT-001']);
  });
});
