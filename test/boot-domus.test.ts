/**
 * dom0less guests: planned like dom0's modules, written as /chosen/<name>
 * nodes (baked with fdtput, or as U-Boot fdt commands), loaded by the boot
 * script, and checked. (CI boots qemu-arm32's dom0less profile under QEMU to
 * the guest's own marker.)
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planMemory } from '../src/boot/memmap.js';
import { bootScript } from '../src/boot/uboot-script.js';
import { checkBoard } from '../src/check/rules.js';
import { bakeEdits, chosenOps, ubootFdtCommands } from '../src/dt/edits.js';
import type { BootConfig, DomU, MemoryPlan, Placement } from '../src/model/boot.js';
import { compileFixture } from './fixtures/dts/compile.js';
import { makeTempDir, removeTempDirs } from './util/tmp.js';

afterAll(removeTempDirs);

const fdtget = (...args: string[]) => execFileSync('fdtget', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const MiB = 1024 * 1024;
const CMDLINES = { xen: 'console=dtuart dtuart=/pl011@9000000 dom0_mem=512M', dom0: 'console=hvc0 root=/dev/vda2' };
const DOMU: DomU = { name: 'domU0', memory: 128 * MiB, vcpus: 2, bootargs: 'console=ttyAMA0', vpl011: true, ramdisk: true };

function plan(domus: { name: string; kernel: number; ramdisk?: number }[] = [{ name: 'domU0', kernel: 0x532200, ramdisk: 0xd7cb2 }]) {
  return planMemory(
    { ram: [{ start: 0x40000000, size: 1024 * MiB }], align: 2 * MiB, reserved: [{ name: 'firmware DTB', start: 0x40000000, size: MiB }] },
    [
      { kind: 'xen', size: 0x116290, key: 'xen.load' },
      { kind: 'kernel', size: 0x532200, key: 'dom0.load' },
      { kind: 'initrd', size: 0x14eedb, key: 'dom0.initrd-load' },
      ...domus.flatMap((d, i) => [
        { kind: 'domu-kernel' as const, domain: d.name, size: d.kernel, key: `domus.${i}.kernel` },
        ...(d.ramdisk ? [{ kind: 'domu-ramdisk' as const, domain: d.name, size: d.ramdisk, key: `domus.${i}.ramdisk` }] : []),
      ]),
    ],
    { xenRelocates: true, dom0Mem: 512 * MiB },
  );
}

function placed(): Placement[] {
  const r = plan();
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('; '));
  return r.plan.placements;
}

describe('dom0less guests', () => {
  it("are planned after dom0's modules, each module named by its guest, none overlapping", () => {
    const p = placed();
    expect(p.map((x) => [x.name, x.kind, x.domain, '0x' + x.start.toString(16)])).toEqual([
      ['kernel', 'kernel', undefined, '0x40200000'],
      ['initrd', 'initrd', undefined, '0x40800000'],
      ['domU0 kernel', 'domu-kernel', 'domU0', '0x40a00000'],
      ['domU0 ramdisk', 'domu-ramdisk', 'domU0', '0x41000000'],
      ['xen', 'xen', undefined, '0x41200000'],
    ]);
  });

  it('get a /chosen/<name> node with xen,domain, 2/2 cells, memory in KiB, cpus, vpl011 and their modules (baked by fdtput)', async () => {
    const dir = makeTempDir();
    const src = compileFixture('good', dir);
    const out = path.join(dir, 'baked.dtb');
    const p = placed();
    await bakeEdits(src, out, chosenOps({ placements: p, cmdlines: CMDLINES, domus: [DOMU] }));
    expect(fdtget('-t', 's', out, '/chosen/domU0', 'compatible')).toBe('xen,domain');
    expect(fdtget('-t', 'x', out, '/chosen/domU0', '#address-cells')).toBe('2');
    expect(fdtget('-t', 'x', out, '/chosen/domU0', '#size-cells')).toBe('2');
    expect(fdtget('-t', 'u', out, '/chosen/domU0', 'memory')).toBe('0 131072');
    expect(fdtget('-t', 'u', out, '/chosen/domU0', 'cpus')).toBe('2');
    expect(fdtget('-t', 'x', out, '/chosen/domU0', 'vpl011')).toBe('');
    // (libfdt adds a node before its siblings: the order is fdtput's, and means nothing to Xen.)
    expect(fdtget('-l', out, '/chosen/domU0').split('\n').sort()).toEqual(['module@40a00000', 'module@41000000']);
    expect(fdtget('-t', 's', out, '/chosen/domU0/module@40a00000', 'compatible')).toBe('multiboot,kernel multiboot,module');
    expect(fdtget('-t', 'x', out, '/chosen/domU0/module@40a00000', 'reg')).toBe('0 40a00000 0 532200');
    expect(fdtget('-t', 's', out, '/chosen/domU0/module@40a00000', 'bootargs')).toBe('console=ttyAMA0');
    expect(fdtget('-t', 's', out, '/chosen/domU0/module@41000000', 'compatible')).toBe('multiboot,ramdisk multiboot,module');
    expect(fdtget('-t', 'x', out, '/chosen/domU0/module@41000000', 'reg')).toBe('0 41000000 0 d7cb2');
    // dom0's modules stay where they were, directly under /chosen.
    expect(fdtget('-l', out, '/chosen').split('\n').sort()).toEqual(['domU0', 'module@40200000', 'module@40800000']);
  });

  it('are the same nodes as U-Boot fdt commands, and a guest without vpl011 gets no vpl011 property', () => {
    const lines = ubootFdtCommands(chosenOps({ placements: placed(), cmdlines: CMDLINES, domus: [{ ...DOMU, vpl011: false, bootargs: 'console=hvc0' }] }));
    const domu = lines.filter((l) => l.includes('domU0'));
    expect(domu).toEqual([
      'fdt mknode /chosen domU0',
      'fdt set /chosen/domU0 compatible "xen,domain"',
      'fdt set /chosen/domU0 "#address-cells" "<0x2>"',
      'fdt set /chosen/domU0 "#size-cells" "<0x2>"',
      'fdt set /chosen/domU0 memory "<0x0 0x20000>"',
      'fdt set /chosen/domU0 cpus "<0x2>"',
      'fdt mknode /chosen/domU0 module@40a00000',
      'fdt set /chosen/domU0/module@40a00000 compatible "multiboot,kernel" "multiboot,module"',
      'fdt set /chosen/domU0/module@40a00000 reg "<0x0 0x40a00000 0x0 0x532200>"',
      'fdt set /chosen/domU0/module@40a00000 bootargs "console=hvc0"',
      'fdt mknode /chosen/domU0 module@41000000',
      'fdt set /chosen/domU0/module@41000000 compatible "multiboot,ramdisk" "multiboot,module"',
      'fdt set /chosen/domU0/module@41000000 reg "<0x0 0x41000000 0x0 0xd7cb2>"',
    ]);
  });

  it("are loaded by the boot script after dom0's files, each checked for its size", () => {
    const cfg: BootConfig = { firmware: 'u-boot', medium: 'virtio 0:1', command: 'bootz', dtMode: 'runtime' };
    const files = placed().map((p) => ({
      kind: p.kind,
      ...(p.domain ? { domain: p.domain } : {}),
      file: { xen: 'xen', kernel: 'vmlinuz', initrd: 'initrd.img', 'domu-kernel': 'vmlinuz', 'domu-ramdisk': 'domu-initrd.img' }[p.kind as string]!,
      start: p.start,
      size: p.size,
    }));
    const text = bootScript(cfg, files, CMDLINES, { board: 'qemu-arm32' });
    const loads = text.split('\n').filter((l) => l.startsWith('if load'));
    expect(loads).toEqual([
      'if load virtio 0:1 0x41200000 xen && itest.l ${filesize} -eq 0x116290; then',
      'if load virtio 0:1 0x40200000 vmlinuz && itest.l ${filesize} -eq 0x532200; then',
      'if load virtio 0:1 0x40800000 initrd.img && itest.l ${filesize} -eq 0x14eedb; then',
      'if load virtio 0:1 0x40a00000 vmlinuz && itest.l ${filesize} -eq 0x532200; then',
      'if load virtio 0:1 0x41000000 domu-initrd.img && itest.l ${filesize} -eq 0xd7cb2; then',
    ]);
    expect(text).toContain('echo "xenbuild: loading domU0 ramdisk: domu-initrd.img from virtio 0:1 to 0x41000000, 0xd7cb2 bytes"');
  });

  describe('xenbuild check', () => {
    const planned = (): MemoryPlan => {
      const r = plan();
      if (!r.ok) throw new Error('plan failed');
      return r.plan;
    };
    const ids = (domus: DomU[], xen = CMDLINES.xen) =>
      checkBoard({ xenBootargs: xen, dom0Bootargs: CMDLINES.dom0, hyp: 'firmware', plan: planned(), domus })
        .filter((f) => f.id.startsWith('XB-DOMU'))
        .map((f) => `${f.id} ${f.message}`);

    it('passes guests that fit beside dom0', () => {
      expect(ids([DOMU])).toEqual([]);
    });

    it("refuses guests that, with dom0's memory, over-commit the free RAM, naming every share", () => {
      const found = ids([DOMU, { ...DOMU, name: 'domU1', memory: 400 * MiB }]);
      expect(found).toHaveLength(1);
      expect(found[0]).toMatch(/^XB-DOMU-001 the domains ask for 1040 MiB \(dom0 512 MiB, domU0 128 MiB, domU1 400 MiB\)/);
      expect(found[0]).toContain('of RAM is free after the boot modules and Xen');
      // The same guests fit when dom0 takes less.
      expect(ids([DOMU, { ...DOMU, name: 'domU1', memory: 400 * MiB }], 'console=dtuart dom0_mem=256M')).toEqual([]);
    });

    it('names a guest bigger than all of RAM', () => {
      expect(ids([{ ...DOMU, memory: 2048 * MiB }])).toEqual(['XB-DOMU-001 dom0less guest domU0 asks for 2048 MiB, beyond all of RAM (1024 MiB)']);
    });

    it('refuses a console on ttyAMA0 without the vpl011 that would carry it', () => {
      expect(ids([{ ...DOMU, vpl011: false }])).toEqual([
        'XB-DOMU-002 dom0less guest domU0 has console=ttyAMA0 but no vpl011: Xen gives it no PL011, so nothing it prints is seen',
      ]);
      expect(ids([{ ...DOMU, vpl011: false, bootargs: 'console=hvc0' }])).toEqual([]);
    });
  });
});
