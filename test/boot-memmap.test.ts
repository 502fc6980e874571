import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyse } from '../src/analysis/resolve.js';
import { projectSettings } from './util/settings.js';
import { makeTempDir, removeTempDirs } from './util/tmp.js';
import { prng } from '../src/util/prng.js';
import { PLAN_KEYS, bankHolding, freeRuns, planMemory, rangeEnd, rangesOverlap, xenRelocationArea } from '../src/boot/memmap.js';
import { CONFLICT_FILL, renderMemoryMapSvg } from '../src/boot/memmap-render.js';
import { renderMemoryMapTable } from '../src/boot/memmap-table.js';
import { MIB2, alignDown, alignUp, memoryFootprint, parseDom0Mem, parseSize } from '../src/boot/sizes.js';
import { formatSize, hex } from '../src/util/units.js';
import type { BootMemory, MemoryPlan, ModuleKind, ModuleRequest, NamedRange, Range } from '../src/model/boot.js';

const M = 1024 * 1024;
// The seed (dra7 EVM, Xen 4.5.1-rc1): RAM 0x80000000–0xdfffffff, Xen's uImage loads at 0x80200000.
afterAll(removeTempDirs);

const DRA7: BootMemory = { ram: [{ start: 0x80000000, size: 1536 * M }], align: MIB2, reserved: [] };
const XEN: ModuleRequest = { kind: 'xen', size: 689004, fixed: 0x80200000, key: 'xen.load' };
const DTB: ModuleRequest = { kind: 'dtb', size: 0x17000, key: 'dtb.load' };
const KERNEL: ModuleRequest = { kind: 'kernel', size: 0x4b0000, key: 'dom0.load' };

function plan(result: ReturnType<typeof planMemory>): MemoryPlan {
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.plan;
}
function errors(result: ReturnType<typeof planMemory>): string[] {
  if (result.ok) throw new Error('expected errors');
  return result.errors.map((e) => e.message);
}
const where = (p: MemoryPlan): Record<string, string> => Object.fromEntries(p.placements.map((x) => [x.name, `${hex(x.start)}+${x.size.toString(16)}`]));

describe('sizes', () => {
  it('parses board sizes and addresses exactly', () => {
    const cases: [string | number, number][] = [
      ['1536M', 0x60000000],
      ['64K', 65536],
      ['2G', 0x80000000],
      ['1T', 2 ** 40],
      ['0x20000', 0x20000],
      ['0XDFE00000', 0xdfe00000],
      [4096, 4096],
      ['4096', 4096],
      [' 128m ', 128 * M],
      ['64KiB', 65536],
      ['64kb', 65536],
      ['17B', 17],
      ['1.5G', 1536 * M],
      ['0.5K', 512],
      ['0', 0],
    ];
    for (const [text, bytes] of cases) expect(parseSize(text), String(text)).toBe(bytes);
  });

  it('rejects what is not a whole, safe number of bytes', () => {
    for (const bad of ['', 'M', '12Q', '-1', '1.3', '0.1K', '0x', '0xg', '1e3', '12 MB extra', '9007199254740992', '8192T']) {
      expect(() => parseSize(bad), bad).toThrow(RangeError);
    }
    for (const bad of [-1, 1.5, Number.NaN, Infinity, 2 ** 53]) expect(() => parseSize(bad), String(bad)).toThrow(RangeError);
    expect(() => parseSize('12Q')).toThrow('size "12Q" is not a size');
    expect(() => parseSize('1.3')).toThrow('not a whole number of bytes');
  });

  it('formats sizes short, and bare numbers only when exact', () => {
    const cases: [number, string][] = [
      [1536 * M, '1.5 GiB'],
      [128 * M, '128 MiB'],
      [689004, '672.9 KiB'],
      [17, '17 B'],
      [0, '0 B'],
      [1023, '1023 B'],
      [1024, '1 KiB'],
      [0x17000, '92 KiB'],
      [0x4b0000, '4.7 MiB'],
      [1.25 * M, '1.25 MiB'],
      [M - 1, '1.0 MiB'],
      [M + 1, '1.0 MiB'],
      [2 ** 40, '1 TiB'],
      [-2048, '-2 KiB'],
    ];
    for (const [bytes, text] of cases) expect(formatSize(bytes), String(bytes)).toBe(text);
  });

  it('prints addresses as lower-case hex of at least 8 digits', () => {
    expect(hex(0x80200000)).toBe('0x80200000');
    expect(hex(0x1000)).toBe('0x00001000');
    expect(hex(0)).toBe('0x00000000');
    expect(hex(0x1_2345_6789a)).toBe('0x123456789a');
    expect(() => hex(-1)).toThrow(RangeError);
    expect(() => hex(1.5)).toThrow(RangeError);
  });

  it('aligns exactly, for powers of two and others', () => {
    expect(alignUp(0x802a836c, MIB2)).toBe(0x80400000);
    expect(alignUp(0x80400000, MIB2)).toBe(0x80400000);
    expect(alignDown(0xdfffffff, MIB2)).toBe(0xdfe00000);
    expect(alignUp(10, 3)).toBe(12);
    expect(alignDown(10, 3)).toBe(9);
    expect(alignUp(2 ** 52 + 1, 2 ** 20)).toBe(2 ** 52 + 2 ** 20);
    expect(alignDown(2 ** 53 - 1, 4096)).toBe(2 ** 53 - 4096);
    expect(() => alignUp(5, 0)).toThrow(RangeError);
  });

  it('reads dom0_mem as Xen does (no unit is KiB; the last one wins)', () => {
    const cases: [string, number | undefined][] = [
      ['sync_console console=dtuart dtuart=serial0 dom0_mem=128M', 128 * M],
      ['dom0_mem=512M,max:512M', 512 * M],
      ['dom0_mem=max:1G', 1024 * M],
      ['dom0_mem=min:64M,max:256M,128M', 128 * M],
      ['dom0_mem=131072', 128 * M],
      ['dom0_mem=0x20000', 128 * M],
      ['dom0_mem=128B', 128],
      ['dom0_mem=1g', 1024 * M],
      ['dom0_mem=0x8000000B', 0x8000000b * 1024], // B is a hex digit here, as in Xen
      ['dom0_mem=64M dom0_mem=256M', 256 * M],
      ['console=dtuart', undefined],
      ['dom0_mem=', undefined],
      ['dom0_mem=-1G', undefined],
      ['dom0_mem=10%', undefined],
      ['dom0_mem=128MB', undefined],
      ['xdom0_mem=128M', undefined],
    ];
    for (const [args, bytes] of cases) expect(parseDom0Mem(args), args).toBe(bytes);
  });
});

/** The first 0x70 bytes of an image: a zImage header with `end` at 0x2c, behind a uImage header when `uimage`. */
function imageHead(end: number, uimage = false): Uint8Array {
  const head = new Uint8Array(0x70);
  const view = new DataView(head.buffer);
  const at = uimage ? 64 : 0;
  if (uimage) view.setUint32(0, 0x27051956, false);
  view.setUint32(at + 0x24, 0x016f2818, true);
  view.setUint32(at + 0x2c, end, true);
  return head;
}

describe('memoryFootprint', () => {
  it("takes Xen's in-memory size from its zImage header (qemu-arm32's Xen 4.17: 0xd8008 in the file, 0x116290 with BSS)", () => {
    expect(memoryFootprint(imageHead(0x116290), 0xd8008)).toEqual({ inPlace: 0x116290 });
  });
  it("keeps the file size when the header's end is within the file (Linux's zImage) or there is no header", () => {
    expect(memoryFootprint(imageHead(0x4b0000), 0x4b0000)).toEqual({ inPlace: 0x4b0000 });
    expect(memoryFootprint(new Uint8Array(0x70), 0x1000)).toEqual({ inPlace: 0x1000 });
    expect(memoryFootprint(new Uint8Array(3), 3)).toEqual({ inPlace: 3 });
  });
  it("gives what bootm copies out of a uImage: the payload's in-memory size, or the payload's file size", () => {
    expect(memoryFootprint(imageHead(0x116290, true), 0xd8008 + 64)).toEqual({ inPlace: 0xd8008 + 64, payload: 0x116290 });
    const plain = imageHead(0, true);
    new DataView(plain.buffer).setUint32(64 + 0x24, 0, true);
    expect(memoryFootprint(plain, 0x10000 + 64)).toEqual({ inPlace: 0x10000 + 64, payload: 0x10000 });
  });
});

describe("qemu-arm32's plan", () => {
  it("keeps U-Boot's scriptaddr (0x40200000, where boot.scr is loaded and runs) free of every module", () => {
    const dir = path.resolve(import.meta.dirname, '..');
    const graph = analyse(projectSettings(dir, path.join(makeTempDir(), 'w')), 'qemu-arm32').graph!;
    const action = graph.tasks.find((t) => t.id === 'boot:plan')!.action;
    if (action.kind !== 'boot-plan') throw new Error('boot:plan is not a plan');
    const script = action.memory.reserved.find((r) => r.start <= 0x40200000 && rangeEnd(r) > 0x40200000);
    expect(script).toMatchObject({ name: 'boot script', loaderOnly: true });
    // Today's files: Xen 0x116290 in memory, the kernel 5.2 MiB, the initrd 1.3 MiB.
    const sizes: Partial<Record<ModuleKind, number>> = { xen: 0x116290, kernel: 0x532200, initrd: 0x14eedb };
    const p = plan(
      planMemory(
        action.memory,
        action.modules.map((m) => ({ kind: m.kind, size: sizes[m.kind]!, key: m.key })),
        { xenRelocates: true },
      ),
    );
    for (const placement of p.placements) expect(rangesOverlap(placement, script!), placement.name).toBe(false);
  });
});

describe('planMemory on the seed board', () => {
  it('places dtb and kernel 2 MiB-aligned around the fixed Xen, clear of where Xen relocates itself', () => {
    const p = plan(planMemory(DRA7, [XEN, DTB, KERNEL], { xenRelocates: true, dom0Mem: 128 * M, dom0: [{ start: 0xa8000000, size: 128 * M }] }));
    expect(p.placements).toEqual([
      { name: 'dtb', kind: 'dtb', start: 0x80000000, size: 0x17000, fixed: false, key: 'dtb.load' },
      { name: 'xen', kind: 'xen', start: 0x80200000, size: 689004, fixed: true, key: 'xen.load' },
      { name: 'kernel', kind: 'kernel', start: 0x80400000, size: 0x4b0000, fixed: false, key: 'dom0.load' },
    ]);
    // "(XEN) Placing Xen at 0x00000000dfe00000-0x00000000e0000000", as in the seed's log.
    expect(p.xenRelocated).toEqual({ start: 0xdfe00000, size: MIB2 });
    expect(p.dom0).toEqual([{ start: 0xa8000000, size: 128 * M }]);
  });

  it('counts grow room and places a boot script first', () => {
    const p = plan(
      planMemory(
        DRA7,
        [
          XEN,
          KERNEL,
          { ...DTB, growRoom: 64 * 1024 },
          { kind: 'script', size: 3000, key: 'boot.script' },
          { kind: 'initrd', size: 5 * M, key: 'dom0.initrd-load' },
        ],
        { xenRelocates: true },
      ),
    );
    expect(where(p)).toEqual({
      script: '0x80000000+bb8',
      xen: '0x80200000+a836c',
      dtb: '0x80400000+27000',
      kernel: '0x80600000+4b0000',
      initrd: '0x80c00000+500000',
    });
  });

  it("accepts the seed's hand-placed layout (DTB 0x825f0000, kernel 0xa0000000) and dom0 at 0xa8000000", () => {
    const result = planMemory(DRA7, [XEN, { ...DTB, fixed: 0x825f0000 }, { ...KERNEL, fixed: 0xa0000000 }], {
      xenRelocates: true,
      dom0Mem: 128 * M,
      dom0: [{ start: 0xa8000000, size: 128 * M }],
    });
    expect(result.ok).toBe(true);
  });

  it('places a Xen without a fixed address last, and keeps the default alignment when align is 0', () => {
    const p = plan(planMemory({ ...DRA7, align: 0 }, [{ ...XEN, fixed: undefined } as ModuleRequest, KERNEL, DTB], { xenRelocates: true }));
    expect(where(p)).toEqual({ dtb: '0x80000000+17000', kernel: '0x80200000+4b0000', xen: '0x80800000+a836c' });
  });
});

describe('planMemory errors', () => {
  it('names both overlapping modules, in hex with sizes, and the keys to change', () => {
    const r = planMemory(DRA7, [XEN, { ...DTB, fixed: 0x80200000 }, KERNEL], {});
    expect(errors(r)).toEqual(['xen (0x80200000, 672.9 KiB) overlaps dtb (0x80200000–0x80217000, 92 KiB): change dtb.load or xen.load']);
    expect(r.ok ? [] : r.errors.map((e) => e.key)).toEqual(['dtb.load']);
    // The partial plan keeps both fixed modules (to draw them) and the kernel that could be placed.
    expect(r.ok ? {} : where(r.partial)).toEqual({ xen: '0x80200000+a836c', dtb: '0x80200000+17000', kernel: '0x80400000+4b0000' });
  });

  it('reports a module outside RAM or running past a bank', () => {
    expect(errors(planMemory(DRA7, [XEN, { ...KERNEL, fixed: 0xe0000000 }], {}))).toEqual([
      'kernel at 0xe0000000 (4.7 MiB) lies outside RAM (0x80000000–0xdfffffff): change dom0.load',
    ]);
    expect(errors(planMemory(DRA7, [XEN, { ...KERNEL, fixed: 0xdfc00000 }], {}))).toEqual([
      'kernel at 0xdfc00000 (4.7 MiB) runs 704 KiB past the end of RAM bank 0x80000000–0xdfffffff (to 0xe00b0000): change dom0.load',
    ]);
  });

  it('reports a module in the area Xen relocates itself to', () => {
    expect(errors(planMemory(DRA7, [{ ...XEN, fixed: 0xdfe80000 }, DTB, KERNEL], { xenRelocates: true }))).toEqual([
      'xen at 0xdfe80000 (672.9 KiB) lies in the area Xen relocates itself to (0xdfe00000–0xe0000000, 2 MiB): change xen.load',
    ]);
    expect(planMemory(DRA7, [{ ...XEN, fixed: 0xdfe80000 }], { xenRelocates: false }).ok).toBe(true);
  });

  it('reports reserved regions in the way, and in the relocation area', () => {
    const uboot: NamedRange = { name: 'u-boot', start: 0xdf000000, size: 0x800000 };
    const tee: NamedRange = { name: 'tee', start: 0xdff00000, size: 0x100000 };
    expect(errors(planMemory({ ...DRA7, reserved: [uboot, tee] }, [XEN, { ...KERNEL, fixed: 0xdf400000 }], { xenRelocates: true }))).toEqual([
      'reserved tee at 0xdff00000 (1 MiB) lies in the area Xen relocates itself to (0xdfe00000–0xe0000000, 2 MiB): change memory.reserved',
      'kernel (0xdf400000, 4.7 MiB) overlaps reserved u-boot (0xdf000000–0xdf800000, 8 MiB): change dom0.load',
    ]);
  });

  it('reports no room, with what was placed and the largest free run', () => {
    const small: BootMemory = { ram: [{ start: 0x80000000, size: 256 * M }], align: MIB2, reserved: [{ name: 'u-boot', start: 0x8e000000, size: 16 * M }] };
    const r = planMemory(small, [XEN, DTB, KERNEL, { kind: 'initrd', size: 300 * M, key: 'initrd.load' }], { xenRelocates: true });
    expect(errors(r)).toEqual([
      "no room for initrd (300 MiB) in RAM (0x80000000–0x8fffffff) after placing dtb, xen, kernel, Xen's relocation area, reserved u-boot: largest free run 0x80a00000–0x8e000000 (214 MiB); give it an address (initrd.load) or shrink it",
    ]);
    expect(r.ok ? {} : where(r.partial)).toEqual({ dtb: '0x80000000+17000', xen: '0x80200000+a836c', kernel: '0x80400000+4b0000' });
  });

  it('reports every problem at once', () => {
    const r = planMemory(
      DRA7,
      [
        { ...XEN, fixed: 0xdfe80000 },
        { ...DTB, fixed: 0x70000000 },
        { ...KERNEL, fixed: 0xdfe00000 },
      ],
      { xenRelocates: true },
    );
    expect(errors(r)).toEqual([
      'xen at 0xdfe80000 (672.9 KiB) lies in the area Xen relocates itself to (0xdfe00000–0xe0000000, 2 MiB): change xen.load',
      'dtb at 0x70000000 (92 KiB) lies outside RAM (0x80000000–0xdfffffff): change dtb.load',
      'kernel at 0xdfe00000 (4.7 MiB) runs 2.7 MiB past the end of RAM bank 0x80000000–0xdfffffff (to 0xe02b0000): change dom0.load',
      'kernel at 0xdfe00000 (4.7 MiB) lies in the area Xen relocates itself to (0xdfe00000–0xe0000000, 2 MiB): change dom0.load',
      'xen (0xdfe80000, 672.9 KiB) overlaps kernel (0xdfe00000–0xe02b0000, 4.7 MiB): change dom0.load or xen.load',
    ]);
  });

  it("checks dom0's memory against modules, RAM and dom0_mem", () => {
    const opts = {
      xenRelocates: true,
      dom0Mem: 256 * M,
      dom0: [
        { start: 0x80000000, size: 128 * M },
        { start: 0xdf000000, size: 32 * M },
      ],
    };
    expect(errors(planMemory(DRA7, [XEN], opts))).toEqual([
      'dom0 memory (0x80000000, 128 MiB) overlaps xen (0x80200000–0x802a836c, 672.9 KiB): change xen.load or dom0.memory',
      'dom0 memory at 0xdf000000 (32 MiB) runs 16 MiB past the end of RAM bank 0x80000000–0xdfffffff (to 0xe1000000): change dom0.memory',
      'dom0 memory at 0xdf000000 (32 MiB) lies in the area Xen relocates itself to (0xdfe00000–0xe0000000, 2 MiB): change dom0.memory',
      'dom0 memory (0x80000000–0x88000000, 0xdf000000–0xe1000000) totals 160 MiB but dom0_mem=256 MiB: change dom0_mem in xen.bootargs or dom0.memory',
    ]);
    expect(errors(planMemory(DRA7, [XEN, DTB, KERNEL], { xenRelocates: true, dom0Mem: 1536 * M }))).toEqual([
      'dom0_mem=1.5 GiB does not fit in the RAM left free (largest free run 0x80a00000–0xdfe00000 (1.5 GiB)): lower dom0_mem in xen.bootargs',
    ]);
  });

  it('rejects broken inputs without arithmetic on them', () => {
    expect(errors(planMemory({ ram: [], align: MIB2, reserved: [] }, [XEN], {}))).toEqual([
      'no RAM banks (a bank is 0x80000000 + 1536M, for example): set memory.ram',
    ]);
    expect(errors(planMemory({ ...DRA7, ram: [...DRA7.ram, { start: 0xc0000000, size: 1024 * M }] }, [XEN], {}))).toEqual([
      'RAM bank 0xc0000000–0xffffffff overlaps RAM bank 0x80000000–0xdfffffff: change memory.ram',
    ]);
    expect(errors(planMemory({ ...DRA7, align: -4 }, [{ ...KERNEL, size: 1.5 }], {}))).toEqual([
      'memory.align -4 is not a whole number of bytes: change memory.align (0x00200000 is usual)',
      'kernel has a size (1.5), room or address that is not whole bytes: change dom0.load',
    ]);
    expect(errors(planMemory({ ...DRA7, reserved: [{ name: 'x', start: 0.5, size: 1 }] }, [XEN], { dom0: [{ start: -1, size: 1 }], dom0Mem: 0 }))).toEqual([
      'reserved region (0.5, size 0x00000001) is not a range of whole bytes: change memory.reserved',
      'dom0 memory range (-1, size 0x00000001) is not a range of whole bytes: change dom0.memory',
      'dom0_mem (0x00000000) is not a positive whole number of bytes: change dom0_mem in xen.bootargs',
    ]);
  });
});

describe('planMemory helpers', () => {
  it('models Xen relocation as the top 2 MiB-aligned area of the highest bank', () => {
    expect(xenRelocationArea(DRA7.ram, 689004)).toEqual({ start: 0xdfe00000, size: MIB2 });
    expect(xenRelocationArea(DRA7.ram, 3 * M)).toEqual({ start: 0xdfc00000, size: 4 * M });
    expect(
      xenRelocationArea(
        [
          { start: 0x40000000, size: 0x20100000 },
          { start: 0x0, size: 64 * M },
        ],
        1,
      ),
    ).toEqual({ start: 0x5fe00000, size: MIB2 });
    expect(xenRelocationArea([{ start: 0x40100000, size: MIB2 }], 1)).toBeUndefined();
  });

  it('finds free aligned runs that never cross a bank', () => {
    const ram = [
      { start: 0x100000, size: 8 * M },
      { start: 0x1000000, size: 4 * M },
    ];
    expect(freeRuns(ram, [{ start: 0x300000, size: 0x1000 }], MIB2).map((r) => `${hex(r.start)}+${r.size.toString(16)}`)).toEqual([
      '0x00200000+100000',
      '0x00400000+500000',
      '0x01000000+400000',
    ]);
  });
});

describe('planMemory property', () => {
  it('gives a valid plan or hex-and-key errors for 500 random boards', () => {
    const rnd = prng(0x5624cba1);
    const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
    const kinds: ModuleKind[] = ['xen', 'kernel', 'dtb', 'initrd', 'script'];
    let oks = 0;
    for (let n = 0; n < 500; n++) {
      const ram: Range[] = [];
      let cursor = int(0, 512) * MIB2;
      for (let b = int(1, 3); b > 0; b--) {
        const start = cursor + (rnd() < 0.3 ? 0 : int(1, 128) * MIB2);
        ram.push({ start, size: int(1, 160) * MIB2 });
        cursor = rangeEnd(ram.at(-1)!);
      }
      if (rnd() < 0.3) ram.reverse();
      const lo = Math.min(...ram.map((b) => b.start));
      const hi = Math.max(...ram.map(rangeEnd));
      const addr = (): number => (rnd() < 0.5 ? alignDown(int(lo, hi), MIB2) : int(Math.max(0, lo - 8 * M), hi + 8 * M));
      const modules: ModuleRequest[] = Array.from({ length: int(1, 5) }, (_, i) => {
        const kind = kinds[int(0, kinds.length - 1)]!;
        const size = Math.max(1, Math.floor(2 ** (rnd() * 26)));
        return { kind, size, key: `${kind}${i}.load`, ...(rnd() < 0.3 ? { fixed: addr() } : {}), ...(rnd() < 0.2 ? { growRoom: int(0, M) } : {}) };
      });
      const reserved: NamedRange[] = Array.from({ length: int(0, 2) }, (_, i) => ({ name: `r${i}`, start: addr(), size: int(1, 16 * M) }));
      const align = [MIB2, MIB2, 4096, M][int(0, 3)]!;
      const memory: BootMemory = { ram, align, reserved };
      const xenRelocates = rnd() < 0.5;
      const result = planMemory(memory, modules, { xenRelocates });
      expect(planMemory(memory, modules, { xenRelocates })).toEqual(result);
      const keys = new Set<string>([...modules.map((m) => m.key), ...Object.values(PLAN_KEYS)]);
      const p = result.ok ? result.plan : result.partial;
      // Planned modules are always sound, even in a partial plan.
      const occupied: Range[] = [...reserved, ...(p.xenRelocated ? [p.xenRelocated] : []), ...p.placements.filter((x) => x.fixed)];
      for (const x of p.placements.filter((x) => !x.fixed)) {
        expect(x.start % align, `case ${n}`).toBe(0);
        expect(bankHolding(ram, x), `case ${n}`).toBeDefined();
        for (const o of occupied) expect(rangesOverlap(x, o), `case ${n}: ${x.name} vs ${hex(o.start)}`).toBe(false);
        occupied.push(x);
      }
      if (result.ok) {
        oks++;
        expect(p.placements).toHaveLength(modules.length);
        const all: Range[] = [...p.placements, ...(p.xenRelocated ? [p.xenRelocated] : [])];
        all.forEach((a, i) => {
          expect(bankHolding(ram, a), `case ${n}`).toBeDefined();
          for (const b of [...all.slice(i + 1), ...reserved]) expect(rangesOverlap(a, b), `case ${n}`).toBe(false);
        });
        if (xenRelocates && modules.some((m) => m.kind === 'xen')) expect(p.xenRelocated, `case ${n}`).toBeDefined();
      } else {
        expect(result.errors.length).toBeGreaterThan(0);
        for (const e of result.errors) {
          expect(e.message, `case ${n}`).toMatch(/0x[0-9a-f]{8,}/);
          expect(keys.has(e.key), `case ${n}: ${e.key}`).toBe(true);
          expect(e.message, `case ${n}`).toContain(e.key);
        }
      }
      // Nothing fixed, reserved or relocating, and the modules fit packed in the lowest bank: it must succeed.
      const low = [...ram].sort((a, b) => a.start - b.start)[0]!;
      const need = modules.reduce((s, m) => s + alignUp(m.size + (m.growRoom ?? 0), align), 0);
      if (!modules.some((m) => m.fixed !== undefined) && !reserved.length && !xenRelocates && alignUp(low.start, align) + need <= rangeEnd(low)) {
        expect(result.ok, `case ${n}`).toBe(true);
      }
    }
    expect(oks).toBeGreaterThan(100);
    expect(oks).toBeLessThan(500);
  });
});

/** Checks that tags nest and close; returns the element names in document order. */
function wellFormed(svg: string): string[] {
  const stack: string[] = [];
  const names: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)((?:\s+[\w:-]+="[^"<>]*")*)\s*(\/?)>/g)) {
    const [, close, name, , self] = m;
    if (close) expect(stack.pop()).toBe(name);
    else {
      names.push(name!);
      if (!self) stack.push(name!);
    }
  }
  expect(stack).toEqual([]);
  expect(svg.replace(/<(\/?)([a-zA-Z]+)((?:\s+[\w:-]+="[^"<>]*")*)\s*(\/?)>/g, '')).not.toMatch(/[<>]/);
  return names;
}

describe('memory map pictures', () => {
  const seed = plan(
    planMemory({ ...DRA7, reserved: [{ name: 'u-boot', start: 0xdf000000, size: 0x800000 }] }, [XEN, DTB, KERNEL], {
      xenRelocates: true,
      dom0: [{ start: 0xa8000000, size: 128 * M }],
    }),
  );

  it("says what check says of U-Boot's own copy: under Xen's relocation area it is no conflict, under a module it is", () => {
    // qemu-arm32: U-Boot relocates itself to the top of RAM, where Xen later moves itself; U-Boot is gone by then.
    const qemu: BootMemory = {
      ram: [{ start: 0x40000000, size: 1024 * M }],
      align: MIB2,
      reserved: [
        { name: 'firmware DTB', start: 0x40000000, size: M },
        { name: 'u-boot', start: 0x7f000000, size: 16 * M, loaderOnly: true },
      ],
    };
    const ok = planMemory(qemu, [{ kind: 'xen', size: 0x116290, key: 'xen.load' }, KERNEL], { xenRelocates: true });
    if (!ok.ok) throw new Error(ok.errors.map((e) => e.message).join('; '));
    const svg = renderMemoryMapSvg(ok.plan);
    expect(svg).toContain('data-region="u-boot"');
    expect(svg).toContain('taken only while U-Boot runs');
    // The legend wraps rather than run off the picture.
    const width = Number(/^<svg [^>]*width="(\d+)"/.exec(svg)![1]);
    for (const m of svg.matchAll(/<text x="([\d.]+)"([^>]*)>([^<]*)</g)) {
      if (!m[2]!.includes('text-anchor')) expect(Number(m[1]) + m[3]!.length * 6.7, m[3]).toBeLessThanOrEqual(width);
    }
    // The window the zoomed bar shows takes in the reserved regions among the modules.
    expect(svg).toContain('bank 0 where the modules are: 0x40000000');
    expect(svg).not.toMatch(new RegExp(`fill="${CONFLICT_FILL}"[^>]*data-region`));
    expect(renderMemoryMapTable(ok.plan)).toMatch(/u-boot +0x7f000000 +0x80000000 +16 MiB +reserved while U-Boot runs/);
    // A module U-Boot would load over its own copy is a conflict, in the plan and in the picture.
    const bad = planMemory(qemu, [{ ...KERNEL, fixed: 0x7f200000 }], { xenRelocates: false });
    if (bad.ok) throw new Error('expected a conflict');
    expect(renderMemoryMapSvg(bad.partial, bad.errors)).toMatch(new RegExp(`fill="${CONFLICT_FILL}"[^>]*data-region="kernel"`));
  });

  it('draws where the modules are again, to scale, when they are a sliver of the bank', () => {
    const svg = renderMemoryMapSvg(seed);
    expect(svg).toContain('bank 0 where the modules are: 0x80000000–0x808fffff (9 MiB), to scale');
    expect(svg).toMatch(/stroke-dasharray="3 2"/);
    // On the 1.5 GiB bar the kernel is a few pixels; on the 9 MiB window, about half the width.
    const widths = [...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)"[^>]*data-region="kernel"/g)].map((m) => Number(m[1]));
    expect(widths).toHaveLength(2);
    expect(Math.min(...widths)).toBeLessThan(10);
    expect(Math.max(...widths)).toBeGreaterThan(400);
    // Each module is labelled once, in the window.
    expect(svg.match(/paint-order="stroke">kernel 0x/g)).toHaveLength(1);
  });

  it('draws a well-formed, self-contained SVG with every placement', () => {
    const svg = renderMemoryMapSvg(seed);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    const names = wellFormed(svg);
    expect(names.filter((n) => n === 'rect').length).toBeGreaterThan(5);
    for (const p of seed.placements) {
      expect(svg).toContain(`data-region="${p.name}"`);
      expect(svg).toContain(`${p.name} ${hex(p.start)} ${formatSize(p.size)}`);
    }
    expect(svg).toContain('xen (relocated) 0xdfe00000 2 MiB');
    expect(svg).toContain('dom0 memory 0xa8000000 128 MiB');
    expect(svg).toContain('u-boot 0xdf000000 8 MiB');
    expect(svg).toContain('RAM bank 0 0x80000000–0xdfffffff (1.5 GiB)');
    expect(svg).not.toMatch(new RegExp(`fill="${CONFLICT_FILL}"[^>]*data-region`));
    expect(svg).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  it('gives tiny regions a visible width and labels that never overlap', () => {
    const reserved = Array.from({ length: 8 }, (_, i): NamedRange => ({ name: `carve${i}`, start: 0x80a00000 + i * 0x10000, size: 0x1000 }));
    const crowded = plan(planMemory({ ...DRA7, reserved }, [XEN, DTB, KERNEL, { kind: 'script', size: 300, key: 'boot.script' }], { xenRelocates: true }));
    const svg = renderMemoryMapSvg(crowded);
    wellFormed(svg);
    for (const m of svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)"[^>]*data-region/g)) expect(Number(m[1])).toBeGreaterThanOrEqual(6);
    const labels = [...svg.matchAll(/<text x="([\d.]+)" y="([\d.]+)" fill="[^"]+" stroke="#fff"[^>]*>([^<]*)<\/text>/g)].map((m) => ({
      x: Number(m[1]),
      y: Number(m[2]),
      w: m[3]!.length * 6.7,
    }));
    expect(labels).toHaveLength(reserved.length + 5);
    expect(new Set(labels.map((l) => l.y)).size).toBeGreaterThan(1);
    labels.forEach((a, i) => {
      for (const b of labels.slice(i + 1)) if (a.y === b.y) expect(a.x + a.w <= b.x || b.x + b.w <= a.x, `${a.x} ${b.x}`).toBe(true);
    });
    // No leader line drops through a label.
    const leaders = [...svg.matchAll(/<polyline points="[\d.]+,[\d.]+ ([\d.]+),([\d.]+) [\d.]+,([\d.]+)"/g)].map((m) => ({
      x: Number(m[1]),
      y1: Number(m[2]),
      y2: Number(m[3]),
    }));
    expect(leaders).toHaveLength(labels.length);
    for (const l of leaders)
      for (const t of labels)
        expect(l.x >= t.x && l.x <= t.x + t.w && l.y1 < t.y + 3 && l.y2 > t.y - 10, `leader at ${l.x} crosses label at ${t.x},${t.y}`).toBe(false);
  });

  it('draws conflicting regions in red and lists the conflicts', () => {
    const r = planMemory(DRA7, [XEN, { ...DTB, fixed: 0x80200000 }, { ...KERNEL, fixed: 0xe0000000 }], {});
    if (r.ok) throw new Error('expected conflicts');
    const svg = renderMemoryMapSvg(r.partial, r.errors);
    wellFormed(svg);
    for (const name of ['xen', 'dtb', 'kernel']) expect(svg).toMatch(new RegExp(`<rect [^>]*fill="${CONFLICT_FILL}"[^>]*data-region="${name}"`));
    expect(svg).toContain('outside RAM');
    expect(svg).toContain('xen (0x80200000, 672.9 KiB) overlaps dtb (0x80200000–0x80217000, 92 KiB): change dtb.load or xen.load');
  });

  it('is byte-identical for the same input', () => {
    expect(renderMemoryMapSvg(seed)).toBe(renderMemoryMapSvg(structuredClone(seed)));
    expect(renderMemoryMapTable(seed)).toBe(renderMemoryMapTable(structuredClone(seed)));
  });

  it('prints a table sorted by address and an ASCII bar', () => {
    expect(renderMemoryMapTable(seed)).toBe(
      [
        'region           start       end         size       note',
        'RAM bank 0       0x80000000  0xe0000000  1.5 GiB    RAM',
        'dtb              0x80000000  0x80017000  92 KiB     planned',
        'xen              0x80200000  0x802a836c  672.9 KiB  fixed by xen.load',
        'kernel           0x80400000  0x808b0000  4.7 MiB    planned',
        'dom0 memory      0xa8000000  0xb0000000  128 MiB    dom0 memory (1:1)',
        'u-boot           0xdf000000  0xdf800000  8 MiB      reserved',
        'xen (relocated)  0xdfe00000  0xe0000000  2 MiB      Xen relocates itself here',
        '',
        ' RAM 0x80000000 DXK───────────────────────000000──────────────────────────────#R 0xdfffffff',
        // The modules take 9 MiB of a 1.5 GiB bank: the same place again, to scale.
        ' zoom 0x80000000 D─────────────X─────────────K─────────────────────────────────── 0x808fffff',
        " markers: X xen  D dtb  K kernel  I initrd  S script  U a domU's module  R Xen relocated  0 dom0  # reserved  ~ while U-Boot runs",
        '',
      ].join('\n'),
    );
  });
});

describe('reserved regions and Xen relocation', () => {
  const M = 1024 * 1024;
  const ram = { ram: [{ start: 0x80000000, size: 1536 * M }], align: 2 * M };
  const xen = { kind: 'xen' as const, size: 689004, key: 'xen' };
  it("lets Xen relocate over U-Boot's relocated copy (loader-only), but not over a firmware carve-out", () => {
    const uboot = { name: 'u-boot', start: 0xdf000000, size: 16 * M };
    expect(planMemory({ ...ram, reserved: [{ ...uboot, loaderOnly: true }] }, [xen], { xenRelocates: true }).ok).toBe(true);
    const carveOut = planMemory({ ...ram, reserved: [uboot] }, [xen], { xenRelocates: true });
    expect(carveOut.ok).toBe(false);
    if (!carveOut.ok) expect(carveOut.errors[0]!.message).toContain('lies in the area Xen relocates itself to (0xdfe00000');
    // Either way nothing is loaded into it.
    const placed = planMemory({ ...ram, ram: [{ start: 0xde000000, size: 34 * M }], reserved: [{ ...uboot, loaderOnly: true }] }, [xen], {
      xenRelocates: true,
    });
    expect(placed.ok).toBe(true);
    const placements = placed.ok ? placed.plan.placements : [];
    expect(placements.map((p) => p.kind)).toEqual(['xen']);
    expect(placements.every((p) => p.start + p.size <= uboot.start || p.start >= uboot.start + uboot.size)).toBe(true);
  });
});
