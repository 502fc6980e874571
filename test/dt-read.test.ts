import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DtError, parseDts, readDtb, type DtTree } from '../src/dt/read.js';
import { compileFixture, compileText } from './fixtures/dts/compile.js';
import { makeTempDir, removeTempDirs } from './util/tmp.js';

afterAll(removeTempDirs);

describe('readDtb (dtc decompiles, parse.ts reads the text)', () => {
  let dir: string;
  let tree: DtTree;
  beforeAll(async () => {
    dir = makeTempDir();
    tree = await readDtb(compileFixture('good', dir, ['-@']));
  });

  it('gives nodes with full paths and typed property views', () => {
    const uart = tree.nodeAt('/ocp/serial@4806a000')!;
    expect(uart.path).toBe('/ocp/serial@4806a000');
    expect(uart.baseName).toBe('serial');
    expect(uart.unitAddress).toBe('4806a000');
    expect(uart.strings('compatible')).toEqual(['ti,dra742-uart', 'ti,omap4-uart']);
    expect(uart.string('status')).toBe('okay');
    expect(uart.cells('interrupts')).toEqual([0, 67, 4]);
    expect(uart.isEnabled()).toBe(true);
    expect(tree.nodeAt('/ocp/interrupt-controller@48211000')!.prop('interrupt-controller')!.isEmpty).toBe(true);
    expect(tree.root.string('model')).toBe('xenbuild fixture: TI DRA742');
  });

  it('looks paths up as libfdt does (unit address optional) and finds nodes by predicate', () => {
    expect(tree.nodeAt('/ocp/serial')?.path).toBe('/ocp/serial@4806a000');
    expect(tree.nodeAt('/memory')?.path).toBe('/memory@80000000');
    expect(tree.nodeAt('/nosuch')).toBeUndefined();
    expect(tree.findNodes((n) => n.isCompatible('ti,omap4-uart')).map((n) => n.path)).toEqual(['/ocp/serial@4806a000', '/ocp/serial@48020000']);
  });

  it('resolves aliases, phandles, labels (from __symbols__) and interrupt parents', () => {
    expect(tree.aliases().get('serial2')).toBe('/ocp/serial@48020000');
    expect(tree.resolve('serial0').node?.path).toBe('/ocp/serial@4806a000');
    expect(tree.resolve('/ocp/serial@48020000').node?.path).toBe('/ocp/serial@48020000');
    expect(tree.resolve('serial5')).toEqual({ alias: 'serial5' });
    const gic = tree.nodeAt('/ocp/interrupt-controller@48211000')!;
    expect(gic.labels).toContain('gic');
    expect(tree.byLabel('uart1')?.path).toBe('/ocp/serial@4806a000');
    expect(tree.byPhandle(gic.u32('phandle')!)).toBe(gic);
    expect(tree.interruptParent(tree.nodeAt('/ocp/serial@4806a000')!)).toBe(gic);
  });

  it("decodes reg with the parent's cells", () => {
    expect(tree.reg(tree.nodeAt('/ocp/interrupt-controller@48211000')!)).toEqual([
      { start: 0x48211000, size: 0x1000 },
      { start: 0x48212000, size: 0x2000 },
      { start: 0x48214000, size: 0x2000 },
      { start: 0x48216000, size: 0x2000 },
    ]);
    expect(tree.reg(tree.nodeAt('/reserved-memory/dynamic-pool')!)).toBeUndefined();
  });

  it('reads 64-bit addresses, /memreserve/ and every value form', async () => {
    const blob = compileText(
      `/dts-v1/;
/memreserve/ 0x8ffe6000 0x17000;
/ {
	#address-cells = <2>;
	#size-cells = <2>;
	memory@880000000 { device_type = "memory"; reg = <0x8 0x80000000 0x0 0x80000000>; };
	props {
		escaped = "tab\\there \\"quoted\\" back\\\\slash";
		list = "a", "", "c";
		mac = [00 11 22 33 44 55];
		odd = [01 02 03];
		wide = /bits/ 64 <0x100000000>;
		empty;
	};
};
`,
      'forms',
      makeTempDir(),
    );
    const t = await readDtb(blob);
    expect(t.memreserve).toEqual([{ start: 0x8ffe6000, size: 0x17000 }]);
    expect(t.reg(t.nodeAt('/memory@880000000')!)).toEqual([{ start: 0x880000000, size: 0x80000000 }]);
    const p = t.nodeAt('/props')!;
    expect(p.string('escaped')).toBe('tab\there "quoted" back\\slash');
    expect(p.strings('list')).toEqual(['a', '', 'c']);
    expect([...p.prop('mac')!.bytes]).toEqual([0, 0x11, 0x22, 0x33, 0x44, 0x55]);
    expect([...p.prop('odd')!.bytes]).toEqual([1, 2, 3]);
    expect(p.cells('odd')).toBeUndefined();
    expect(p.strings('odd')).toBeUndefined();
    expect(p.cells('wide')).toEqual([1, 0]);
    expect(p.prop('empty')!.isEmpty).toBe(true);
    expect(p.strings('empty')).toEqual([]);
  });

  it('says a file that is not a DTB is not one', async () => {
    const file = path.join(makeTempDir(), 'not.dtb');
    writeFileSync(file, 'hello, world\n');
    await expect(readDtb(file)).rejects.toThrow(DtError);
    await expect(readDtb(file)).rejects.toThrow(/is not a device tree blob/);
    await expect(readDtb(file + '.missing')).rejects.toThrow(/not\.dtb\.missing does not exist/);
  });
});

describe('parseDts', () => {
  it('reads labels, comments and octal/hex/decimal cells', () => {
    const t = parseDts(`/dts-v1/;
// a comment
/ { /* another */
	lbl: node@1 { v = <0x10 010 10>; phandle = <1>; };
	ref { interrupt-parent = <1>; x = "y"; };
};`);
    const n = t.nodeAt('/node@1')!;
    expect(n.labels).toEqual(['lbl']);
    expect(n.cells('v')).toEqual([16, 8, 10]);
    expect(t.interruptParent(t.nodeAt('/ref')!)).toBe(n);
  });

  it('rejects what dtc never writes, with a line number', () => {
    expect(() => parseDts('/dts-v1/;\n/ {\n\tp = <&label>;\n};')).toThrow(/dts line 3: .*not a number/);
    expect(() => parseDts('/dts-v1/;\n/ {\n\tp = "open;\n};')).toThrow(/unterminated string/);
    expect(() => parseDts('/dts-v1/;\n/ {\n\tn { };')).toThrow(DtError);
  });
});
