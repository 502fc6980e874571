/**
 * A real firmware tree: QEMU's arm `virt` machine as the qemu-arm32 board runs it
 * (dumped with dumpdtb). qemu-system-arm comes from scripts/host-packages.txt.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkBoard } from '../src/check/rules.js';
import { bakeEdits, chosenOps } from '../src/dt/edits.js';
import { readDtb } from '../src/dt/read.js';
import { makeTempDir, removeTempDirs } from './util/tmp.js';

afterAll(removeTempDirs);

describe('QEMU virt (virtualization=on, GICv2, 2 CPUs)', () => {
  it("reads, passes the checks as booted by PSCI firmware, and takes Xen's /chosen", async () => {
    const dir = makeTempDir();
    const dtb = path.join(dir, 'virt.dtb');
    execFileSync(
      'qemu-system-arm',
      ['-M', `virt,virtualization=on,gic-version=2,dumpdtb=${dtb}`, '-cpu', 'cortex-a15', '-smp', '2', '-m', '1024', '-nographic', '-nic', 'none'],
      { stdio: 'ignore' },
    );
    const tree = await readDtb(dtb);
    const gic = tree.compatible('arm,cortex-a15-gic')[0]!;
    expect(tree.reg(gic)).toHaveLength(4);
    expect(tree.compatible('arm,psci-0.2', 'arm,psci-1.0')[0]?.string('method')).toBe('smc');
    const input = { xenBootargs: 'console=dtuart dtuart=/pl011@9000000 dom0_mem=512M', dom0Bootargs: 'console=hvc0', hyp: 'firmware' as const };
    expect(checkBoard({ ...input, dtb: tree })).toEqual([]);

    const kernel = { kind: 'kernel' as const, start: 0x40000000, size: 0x4b0000, name: 'zImage', fixed: false, key: 'dom0.load' };
    const out = path.join(dir, 'baked.dtb');
    await bakeEdits(dtb, out, chosenOps({ placements: [kernel], cmdlines: { xen: input.xenBootargs, dom0: input.dom0Bootargs }, tree }));
    const baked = await readDtb(out);
    expect(baked.nodeAt('/chosen')!.string('xen,xen-bootargs')).toBe(input.xenBootargs);
    expect(baked.reg(baked.nodeAt('/chosen/module@40000000')!)).toEqual([{ start: 0x40000000, size: 0x4b0000 }]);
    expect(checkBoard({ ...input, dtb: baked })).toEqual([]);
  });
});
