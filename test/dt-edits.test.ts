import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Placement } from '../src/model/boot.js';
import { bakeEdits, chosenOps, resolveEdits, ubootFdtCommands, type DtOp } from '../src/dt/edits.js';
import { readDtb } from '../src/dt/read.js';
import { TaskFailure } from '../src/host/failure.js';
import { compileFixture } from './fixtures/dts/compile.js';
import { makeTempDir, removeTempDirs } from './util/tmp.js';

afterAll(removeTempDirs);

const fdtget = (...args: string[]) => execFileSync('fdtget', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

const place = (kind: Placement['kind'], start: number, size: number): Placement => ({ kind, start, size, name: kind, fixed: false, key: `${kind}.load` });
const PLACEMENTS = [
  place('xen', 0x80200000, 0xf2000),
  place('initrd', 0xa2000000, 0x123456),
  place('kernel', 0xa0000000, 0x4b0000),
  place('dtb', 0x825f0000, 0x17000),
];
const CMDLINES = {
  xen: 'sync_console console=dtuart dtuart=serial0 dom0_mem=128M',
  dom0: 'console=hvc0 earlyprintk=xen root=/dev/mmcblk0p2 rw rootwait fixrtc',
};
const DOM0 = [{ start: 0xa8000000, size: 0x8000000 }];

describe('chosenOps', () => {
  it('writes the command lines, the cells and one module node per kernel and initrd', () => {
    const text = chosenOps({ placements: PLACEMENTS, cmdlines: CMDLINES }).map((op) =>
      op.op === 'set' ? [op.op, op.path, op.prop, op.value] : [op.op, op.path],
    );
    expect(text).toEqual([
      ['set', '/chosen', '#address-cells', { cells: [1] }],
      ['set', '/chosen', '#size-cells', { cells: [1] }],
      ['set', '/chosen', 'xen,xen-bootargs', { strings: [CMDLINES.xen] }],
      ['set', '/chosen', 'xen,dom0-bootargs', { strings: [CMDLINES.dom0] }],
      ['add-node', '/chosen/module@a0000000'],
      ['set', '/chosen/module@a0000000', 'compatible', { strings: ['xen,linux-zimage', 'xen,multiboot-module'] }],
      ['set', '/chosen/module@a0000000', 'reg', { cells: [0xa0000000, 0x4b0000] }],
      ['add-node', '/chosen/module@a2000000'],
      ['set', '/chosen/module@a2000000', 'compatible', { strings: ['xen,linux-initrd', 'xen,multiboot-module'] }],
      ['set', '/chosen/module@a2000000', 'reg', { cells: [0xa2000000, 0x123456] }],
    ]);
  });

  it('encodes reg in two cells when asked or needed, and refuses what does not fit', () => {
    const two = chosenOps({ placements: [place('kernel', 0x880000000, 0x4b0000)], cmdlines: CMDLINES });
    expect(two.find((op) => op.op === 'set' && op.prop === 'reg')).toMatchObject({
      path: '/chosen/module@880000000',
      value: { cells: [8, 0x80000000, 0x4b0000] },
    });
    expect(two[0]).toMatchObject({ prop: '#address-cells', value: { cells: [2] } });
    const forced = chosenOps({ placements: [place('kernel', 0xa0000000, 0x4b0000)], cmdlines: CMDLINES }, { address: 2, size: 2 });
    expect(forced.at(-1)).toMatchObject({ value: { cells: [0, 0xa0000000, 0, 0x4b0000] } });
    expect(() => chosenOps({ placements: [place('kernel', 0x880000000, 1)], cmdlines: CMDLINES }, { address: 1, size: 1 })).toThrow(
      /kernel.load: 0x880000000 does not fit in 1 cell/,
    );
  });
});

describe('resolveEdits', () => {
  it('turns enable/disable into status and keeps the order', () => {
    const { ops, problems } = resolveEdits([
      { op: 'enable', path: '/timer' },
      { op: 'disable', path: '/ocp/serial@48020000' },
      { op: 'delete-prop', path: '/psci', prop: 'cpu_on' },
    ]);
    expect(problems).toEqual([]);
    expect(ops.map((o) => [o.op, o.path, o.op === 'set' ? o.value : undefined])).toEqual([
      ['set', '/timer', { strings: ['okay'] }],
      ['set', '/ocp/serial@48020000', { strings: ['disabled'] }],
      ['delete-prop', '/psci', undefined],
    ]);
  });

  it('prunes fixed reserved memory outside dom0, disables its users and says what it pruned', async () => {
    const tree = await readDtb(compileFixture('cma-outside-dom0', makeTempDir()));
    const { ops, pruned } = resolveEdits([{ op: 'prune-reserved-memory', keep: 'inside-dom0' }], { tree, dom0: DOM0 });
    expect(pruned.map((p) => [p.path, p.ranges, p.disabled])).toEqual([
      ['/reserved-memory/ipu2-memory@95800000', [{ start: 0x95800000, size: 0x3800000 }], ['/ocp/ipu@55020000']],
      ['/reserved-memory/dsp1-memory@99000000', [{ start: 0x99000000, size: 0x4000000 }], ['/ocp/dsp@40800000']],
      ['/reserved-memory/ipu1-memory@9d000000', [{ start: 0x9d000000, size: 0x2000000 }], []],
      ['/reserved-memory/dsp2-memory@9f000000', [{ start: 0x9f000000, size: 0x800000 }], []],
    ]);
    expect(ops.filter((o) => o.op === 'delete-node')).toHaveLength(4);
    expect(ops.find((o) => o.path === '/reserved-memory/vpe-memory@a9000000')).toBeUndefined();
  });

  it("cannot prune without the tree and dom0's memory, and says so", () => {
    const r = resolveEdits([{ op: 'prune-reserved-memory', keep: 'inside-dom0' }]);
    expect(r.ops).toEqual([]);
    expect(r.problems).toEqual([expect.stringMatching(/prune-reserved-memory needs the DTB and dom0's memory/)]);
  });
});

describe('ubootFdtCommands', () => {
  it('renders the same operations as fdt commands, quoted for hush', () => {
    const ops: DtOp[] = [
      ...chosenOps({
        placements: [place('kernel', 0x40000000, 0x4b0000)],
        cmdlines: { xen: 'console=dtuart dtuart=/pl011@9000000 dom0_mem=512M', dom0: 'console=hvc0 root=/dev/vda2' },
      }),
      { op: 'set', path: '/timer', prop: 'status', value: { strings: ['okay'] } },
      { op: 'set', path: '/ocp/mac', prop: 'local-mac-address', value: { bytes: [0, 0x11, 0xab] } },
      { op: 'set', path: '/ocp/gic', prop: 'interrupt-controller', value: { empty: true } },
      { op: 'delete-prop', path: '/psci', prop: 'cpu_on' },
      { op: 'delete-node', path: '/reserved-memory/dsp1-memory@99000000' },
    ];
    expect(ubootFdtCommands(ops, { fdtAddrVar: 'fdt_addr' })).toEqual([
      'fdt addr ${fdt_addr}',
      'fdt resize 8192',
      'fdt set /chosen "#address-cells" "<0x1>"',
      'fdt set /chosen "#size-cells" "<0x1>"',
      'fdt set /chosen xen,xen-bootargs "console=dtuart dtuart=/pl011@9000000 dom0_mem=512M"',
      'fdt set /chosen xen,dom0-bootargs "console=hvc0 root=/dev/vda2"',
      'fdt mknode /chosen module@40000000',
      'fdt set /chosen/module@40000000 compatible "xen,linux-zimage" "xen,multiboot-module"',
      'fdt set /chosen/module@40000000 reg "<0x40000000 0x4b0000>"',
      'fdt set /timer status "okay"',
      'fdt set /ocp/mac local-mac-address "[00 11 ab]"',
      'fdt set /ocp/gic interrupt-controller',
      'fdt rm /psci cpu_on',
      'fdt rm /reserved-memory/dsp1-memory@99000000',
    ]);
  });

  it('writes strings hush would alter as bytes, and creates /chosen only when the tree lacks it', async () => {
    const [, , line] = ubootFdtCommands([{ op: 'set', path: '/chosen', prop: 'bootargs', value: { strings: ['root=$rootdev "x"'] } }], {
      fdtAddrVar: 'fdtcontroladdr',
    });
    expect(line).toBe('fdt set /chosen bootargs "[72 6f 6f 74 3d 24 72 6f 6f 74 64 65 76 20 22 78 22 00]"');
    expect(ubootFdtCommands([{ op: 'set', path: '/a', prop: 'p', value: { strings: ['<1>'] } }], { resize: false })).toEqual([
      'fdt addr ${fdt_addr}',
      'fdt set /a p "[3c 31 3e 00]"',
    ]);
    const withChosen = await readDtb(compileFixture('good', makeTempDir()));
    const rootOnly = await readDtb(compileNoChosen());
    expect(chosenOps({ placements: [], cmdlines: CMDLINES, tree: withChosen })[0]).toMatchObject({ op: 'set', path: '/chosen' });
    expect(ubootFdtCommands(chosenOps({ placements: [], cmdlines: CMDLINES, tree: rootOnly }), { resize: false })[1]).toBe('fdt mknode / chosen');
  });
});

/** A blob with no /chosen at all. */
function compileNoChosen(): string {
  const dir = makeTempDir();
  writeFileSync(path.join(dir, 'n.dts'), '/dts-v1/;\n/ { #address-cells = <1>; #size-cells = <1>; };\n');
  execFileSync('dtc', ['-q', '-I', 'dts', '-O', 'dtb', '-o', path.join(dir, 'n.dtb'), path.join(dir, 'n.dts')]);
  return path.join(dir, 'n.dtb');
}

describe('bakeEdits', () => {
  it('applies the operations to a copy, read back with fdtget', async () => {
    const dir = makeTempDir();
    const src = compileFixture('cma-outside-dom0', dir);
    const before = readFileSync(src);
    const tree = await readDtb(src);
    const fixups = resolveEdits(
      [
        { op: 'disable', path: '/ocp/serial@48020000' },
        { op: 'delete-prop', path: '/psci', prop: 'cpu_on' },
        { op: 'set', path: '/timer', prop: 'clock-frequency', value: { cells: [6144000] } },
        { op: 'prune-reserved-memory', keep: 'inside-dom0' },
      ],
      { tree, dom0: DOM0 },
    );
    const out = path.join(dir, 'baked.dtb');
    const lines: string[] = [];
    await bakeEdits(src, out, [...fixups.ops, ...chosenOps({ placements: PLACEMENTS, cmdlines: CMDLINES, tree })], { onLine: (l) => lines.push(l) });
    expect(lines).toEqual([]);
    expect(readFileSync(src).equals(before)).toBe(true);
    expect(fdtget('-t', 's', out, '/chosen', 'xen,xen-bootargs')).toBe(CMDLINES.xen);
    expect(fdtget('-t', 's', out, '/chosen', 'xen,dom0-bootargs')).toBe(CMDLINES.dom0);
    expect(fdtget('-t', 'x', out, '/chosen', '#address-cells')).toBe('1');
    expect(fdtget('-t', 'bx', out, '/chosen/module@a0000000', 'compatible')).toBe(hexBytes('xen,linux-zimage\0xen,multiboot-module\0'));
    expect(fdtget('-t', 'x', out, '/chosen/module@a0000000', 'reg')).toBe('a0000000 4b0000');
    expect(fdtget('-t', 'x', out, '/chosen/module@a2000000', 'reg')).toBe('a2000000 123456');
    expect(fdtget('-t', 's', out, '/chosen', 'stdout-path')).toBe('/ocp/serial@4806a000');
    expect(fdtget('-t', 's', out, '/ocp/serial@48020000', 'status')).toBe('disabled');
    expect(fdtget('-t', 'u', out, '/timer', 'clock-frequency')).toBe('6144000');
    expect(() => fdtget(out, '/psci', 'cpu_on')).toThrow();
    expect(fdtget('-l', out, '/reserved-memory').split('\n')).toEqual(['vpe-memory@a9000000', 'dynamic-pool']);
    expect(fdtget('-t', 's', out, '/ocp/dsp@40800000', 'status')).toBe('disabled');
    const baked = await readDtb(out);
    expect(baked.nodeAt('/chosen/module@a0000000')?.strings('compatible')).toEqual(['xen,linux-zimage', 'xen,multiboot-module']);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('leaves outPath absent, or as it was, when an fdtput fails', async () => {
    const dir = makeTempDir();
    const src = compileFixture('good', dir);
    const out = path.join(dir, 'out.dtb');
    const bad: DtOp[] = [
      { op: 'set', path: '/chosen', prop: 'xen,xen-bootargs', value: { strings: ['console=dtuart'] } },
      { op: 'delete-prop', path: '/ocp/nosuch@0', prop: 'status' },
    ];
    const lines: string[] = [];
    const failure = await bakeEdits(src, out, bad, { onLine: (l) => lines.push(l) }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(TaskFailure);
    expect((failure as TaskFailure).failure).toMatchObject({ reason: 'exit-non-zero', command: expect.arrayContaining(['fdtput', '-d', '/ocp/nosuch@0']) });
    expect(lines.join('\n')).toMatch(/FDT_ERR_NOTFOUND/);
    expect(existsSync(out)).toBe(false);

    writeFileSync(out, 'previous build');
    await expect(bakeEdits(src, out, bad)).rejects.toBeInstanceOf(TaskFailure);
    expect(readFileSync(out, 'utf8')).toBe('previous build');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses a cell fdtput would silently truncate, before touching anything', async () => {
    const dir = makeTempDir();
    const out = path.join(dir, 'out.dtb');
    await expect(bakeEdits(compileFixture('good', dir), out, [{ op: 'set', path: '/', prop: 'x', value: { cells: [0x100000000] } }])).rejects.toThrow(
      /is not a u32/,
    );
    expect(existsSync(out)).toBe(false);
  });
});

function hexBytes(s: string): string {
  return [...Buffer.from(s)].map((b) => b.toString(16)).join(' ');
}

describe('set a phandle (interrupt-parent = <&gic>)', () => {
  it("reads the target's phandle from the DTB being edited, and bakes it", async () => {
    const dir = makeTempDir();
    const dtb = compileFixture('dtuart-no-irq', dir);
    const tree = await readDtb(dtb);
    const gic = tree.nodeAt('/ocp/interrupt-controller@48211000')!;
    const edit = { op: 'set-phandle' as const, path: '/ocp/serial@48020000', prop: 'interrupt-parent', target: gic.path };
    const resolved = resolveEdits([edit], { tree });
    expect(resolved.problems).toEqual([]);
    expect(resolved.ops).toEqual([
      { op: 'set', path: '/ocp/serial@48020000', prop: 'interrupt-parent', value: { cells: [gic.u32('phandle')!] }, why: `dtb fixup: phandle of ${gic.path}` },
    ]);
    const out = path.join(dir, 'out.dtb');
    await bakeEdits(dtb, out, resolved.ops);
    expect((await readDtb(out)).nodeAt('/ocp/serial@48020000')!.u32('interrupt-parent')).toBe(gic.u32('phandle'));
  });

  it('says why when there is no DTB, no such node, or no phandle on it', async () => {
    const tree = await readDtb(compileFixture('good', makeTempDir()));
    const set = (target: string) => ({ op: 'set-phandle' as const, path: '/chosen', prop: 'x', target });
    expect(resolveEdits([set('/ocp/interrupt-controller@48211000')]).problems).toEqual([
      'set /chosen x to the phandle of /ocp/interrupt-controller@48211000 needs the DTB (dtb.mode: bake), so it was not set',
    ]);
    expect(resolveEdits([set('/nowhere')], { tree }).problems).toEqual(['set /chosen x: the DTB has no node /nowhere']);
    expect(resolveEdits([set('/chosen')], { tree }).problems).toEqual(['set /chosen x: /chosen has no phandle (nothing refers to it)']);
  });
});
