/**
 * XB-HYP-001 from the Xen binary's own bytes: the ROM's HYP-entry call (service
 * 0x102) that lets OMAP5/DRA7 secondary CPUs reach HYP. The code is assembled
 * with the real cross assembler, in the shapes Xen's patch and Linux use.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkBoard, type CheckInput } from '../src/check/rules.js';
import { romHypCalls } from '../src/check/xen-binary.js';
import { readDtb } from '../src/dt/read.js';
import { compileText } from './fixtures/dts/compile.js';
import { makeTempDir, removeTempDirs } from './util/tmp.js';

afterAll(removeTempDirs);

/** A32 code assembled and flattened to the raw bytes a Xen image holds. */
function assemble(source: string): Buffer {
  const dir = makeTempDir();
  const s = path.join(dir, 'code.s');
  writeFileSync(s, `\t.syntax unified\n\t.arm\n\t.text\n${source}\n`);
  execFileSync('arm-linux-gnueabihf-as', ['-march=armv7-a+sec', '-o', path.join(dir, 'code.o'), s]);
  execFileSync('arm-linux-gnueabihf-objcopy', ['-O', 'binary', '-j', '.text', path.join(dir, 'code.o'), path.join(dir, 'code.bin')]);
  return readFileSync(path.join(dir, 'code.bin'));
}

const PADDING = '\t.rept 64\n\tnop\n\t.endr\n';

describe('romHypCalls', () => {
  it("finds the call in the shape of xenbuild's Xen patch (movw r12, adr r0, smc) at its offset", () => {
    const bin = assemble(`${PADDING}stub:\n\tmovw r12, #0x102\n\tadr r0, 1f\n\tsmc #0\n1:\tb stub\n${PADDING}`);
    expect(romHypCalls(bin)).toEqual([64 * 4 + 8]);
  });

  it("finds Linux's shape (ldr r12, =0x102 from a literal pool)", () => {
    const bin = assemble(`${PADDING}stub:\n\tldr r12, =0x102\n\tadr r0, 1f\n\tdsb\n\tsmc #0\n1:\tb stub\n\t.ltorg\n`);
    expect(romHypCalls(bin)).toEqual([64 * 4 + 12]);
  });

  it('ignores other ROM services, a clobbered r12, and code without smc', () => {
    expect(romHypCalls(assemble('\tmovw r12, #0x101\n\tsmc #0\n'))).toEqual([]);
    expect(romHypCalls(assemble('\tmovw r12, #0x102\n\tmov r12, #0\n\tsmc #0\n'))).toEqual([]);
    expect(romHypCalls(assemble('\tldr r12, =0x103\n\tsmc #0\n\t.ltorg\n'))).toEqual([]);
    expect(romHypCalls(assemble(`${PADDING}\tmovw r12, #0x102\n${PADDING}`))).toEqual([]);
    expect(romHypCalls(Buffer.from([1, 2, 3]))).toEqual([]);
  });
});

describe('XB-HYP-001 on OMAP5/DRA7', () => {
  const input = async (extra: Partial<CheckInput>): Promise<CheckInput> => ({
    dtb: await readDtb(compileText('/include/ "dra7-base.dtsi"\n', 'hyp', makeTempDir())),
    xenBootargs: 'console=dtuart dtuart=serial0',
    dom0Bootargs: 'console=hvc0',
    dom0Range: [{ start: 0xa8000000, size: 0x8000000 }],
    hyp: 'xen-fallback',
    ...extra,
  });

  it('is an error when the Xen binary never calls the ROM, whatever the board says', async () => {
    for (const hyp of ['xen-fallback', 'u-boot-patch', 'firmware'] as const) {
      const [f, ...rest] = checkBoard(await input({ hyp, xenRomHypCalls: [] }));
      expect(rest).toEqual([]);
      expect(f).toMatchObject({ id: 'XB-HYP-001', severity: 'error', where: 'xen.artifact' });
      expect(f!.message).toMatch(
        /^ti,dra7-evm: Xen wakes CPU1 itself \(AuxCoreBoot1\) in non-secure SVC mode, and this Xen binary never calls the ROM's HYP-entry service \(0x102\): CPU1 stops with "Xen must be entered in NS Hyp mode"/,
      );
      expect(f!.fix).toContain('0001-xen-arm-omap5-secondary-cpus-enter-hyp.patch');
    }
  });

  it("passes with the call in the binary, or with maxcpus=1; without the binary the board's word stands", async () => {
    expect(checkBoard(await input({ xenRomHypCalls: [0x57cd0] }))).toEqual([]);
    expect(checkBoard(await input({ xenRomHypCalls: [], xenBootargs: 'console=dtuart dtuart=serial0 maxcpus=1' }))).toEqual([]);
    expect(checkBoard(await input({}))).toEqual([]);
    expect(checkBoard(await input({ hyp: 'unknown' })).map((f) => f.id)).toEqual(['XB-HYP-001']);
  });
});
