import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ImageFormatError,
  legacyKernelArgv,
  legacyPlacementProblem,
  makeLegacyKernelImage,
  makeScriptImage,
  readImageHeader,
  scriptImageArgv,
} from '../src/boot/mkimage.js';
import { crc32, envImageArgv, envLine, envText, makeEnvImage, readEnvImage } from '../src/boot/uboot-env.js';
import { bootScript, uEnvTxt } from '../src/boot/uboot-script.js';
import type { BootConfig, BootFile, XenCommandLines } from '../src/model/boot.js';
import { failureOf, makeTempDir, removeTempDirs } from './util/tmp.js';

afterAll(removeTempDirs);

/** A stand-in for xen/xen: 689004 bytes, the size of the seed's Xen 4.5.1-rc1. */
function fakeXen(): Buffer {
  const b = Buffer.alloc(689004);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + (i >> 8)) & 0xff;
  return b;
}

// The QEMU board: U-Boot provides its DTB at ${fdt_addr} (0x40000000); the files start 2 MiB above it.
const qemu: BootConfig = { firmware: 'u-boot', medium: 'virtio 0:1', command: 'bootz', dtMode: 'runtime' };
const qemuFiles: BootFile[] = [
  { kind: 'initrd', file: 'initrd.img', start: 0x40c00000, size: 0x1b3f20 },
  { kind: 'kernel', file: 'vmlinuz', start: 0x40600000, size: 0x52a200 },
  { kind: 'xen', file: 'xen', start: 0x40200000, size: 0xf4c48 },
];
const qemuCmdlines: XenCommandLines = {
  xen: 'console=dtuart dtuart=/pl011@9000000 dom0_mem=512M',
  dom0: 'console=hvc0 root=/dev/vda2 rw rootwait',
};
const qemuFdt = [
  'fdt addr ${fdt_addr}',
  'fdt resize 1024',
  'fdt set /chosen \\#address-cells <0x2>',
  'fdt set /chosen xen,xen-bootargs "console=dtuart dtuart=/pl011@9000000 dom0_mem=512M"',
];

// The seed's board: the uImage loaded at 0x90000000 (bootm copies Xen to 0x80200000), zImage at 0xa0000000, DTB at 0x825f0000.
const dra7: BootConfig = { firmware: 'u-boot-2014', medium: 'mmc 0:1', command: 'bootm', dtMode: 'bake' };
const dra7Files: BootFile[] = [
  { kind: 'xen', file: 'xen-uImage', start: 0x90000000, size: 689004 + 64 },
  { kind: 'kernel', file: 'zImage', start: 0xa0000000, size: 0x4aa158 },
  { kind: 'dtb', file: 'dra7-evm-lcd7.dtb', start: 0x825f0000, size: 0x16a2e },
];
const dra7Cmdlines: XenCommandLines = {
  xen: 'sync_console console=dtuart dtuart=serial0',
  dom0: 'console=hvc0 earlyprintk=xen debug ignore_loglevel root=/dev/mmcblk0p2 rw rootwait fixrtc',
};

const QEMU_SCRIPT = `# xenbuild boot script for board qemu-arm32: generated, do not edit; change the board file and rebuild.
# U-Boot runs it with source; it loads the files from virtio 0:1 and starts Xen with bootz.
# Device tree: the firmware's, at \${fdt_addr}, edited by the fdt commands below.
# Xen command line:  console=dtuart dtuart=/pl011@9000000 dom0_mem=512M
# dom0 command line: console=hvc0 root=/dev/vda2 rw rootwait

echo "xenbuild: loading xen: xen from virtio 0:1 to 0x40200000, 0xf4c48 bytes"
if load virtio 0:1 0x40200000 xen && itest.l \${filesize} -eq 0xf4c48; then
\techo "xenbuild: xen loaded"
else
\techo "xenbuild: error: xen did not load or is not 0xf4c48 bytes, filesize=0x\${filesize}, stopping"
\texit
fi

echo "xenbuild: loading dom0 kernel: vmlinuz from virtio 0:1 to 0x40600000, 0x52a200 bytes"
if load virtio 0:1 0x40600000 vmlinuz && itest.l \${filesize} -eq 0x52a200; then
\techo "xenbuild: dom0 kernel loaded"
else
\techo "xenbuild: error: vmlinuz did not load or is not 0x52a200 bytes, filesize=0x\${filesize}, stopping"
\texit
fi

echo "xenbuild: loading dom0 initrd: initrd.img from virtio 0:1 to 0x40c00000, 0x1b3f20 bytes"
if load virtio 0:1 0x40c00000 initrd.img && itest.l \${filesize} -eq 0x1b3f20; then
\techo "xenbuild: dom0 initrd loaded"
else
\techo "xenbuild: error: initrd.img did not load or is not 0x1b3f20 bytes, filesize=0x\${filesize}, stopping"
\texit
fi

echo "xenbuild: editing the device tree at \${fdt_addr}"
fdt addr \${fdt_addr}
fdt resize 1024
fdt set /chosen \\#address-cells <0x2>
fdt set /chosen xen,xen-bootargs "console=dtuart dtuart=/pl011@9000000 dom0_mem=512M"

setenv fdt_high 0xffffffff
setenv initrd_high 0xffffffff
echo "xenbuild: starting xen: bootz 0x40200000 - \${fdt_addr}"
bootz 0x40200000 - \${fdt_addr}
echo "xenbuild: bootz returned, Xen did not start"
`;

const DRA7_UENV = `# xenbuild uEnv.txt for board dra7-evm: generated, do not edit; change the board file and rebuild.
# U-Boot imports it with env import -t and runs uenvcmd; it loads the files from mmc 0:1 and starts Xen with bootm.
# Device tree: dra7-evm-lcd7.dtb, baked by xenbuild with the command lines below.
# Xen command line:  sync_console console=dtuart dtuart=serial0
# dom0 command line: console=hvc0 earlyprintk=xen debug ignore_loglevel root=/dev/mmcblk0p2 rw rootwait fixrtc
xen_load=echo "xenbuild: loading xen: xen-uImage from mmc 0:1 to 0x90000000, 0xa83ac bytes"; if fatload mmc 0:1 0x90000000 xen-uImage && itest.l \${filesize} -eq 0xa83ac; then echo "xenbuild: xen loaded"; else echo "xenbuild: error: xen-uImage did not load or is not 0xa83ac bytes, filesize=0x\${filesize}, stopping"; false; fi
dtb_load=echo "xenbuild: loading device tree: dra7-evm-lcd7.dtb from mmc 0:1 to 0x825f0000, 0x16a2e bytes"; if fatload mmc 0:1 0x825f0000 dra7-evm-lcd7.dtb && itest.l \${filesize} -eq 0x16a2e; then echo "xenbuild: device tree loaded"; else echo "xenbuild: error: dra7-evm-lcd7.dtb did not load or is not 0x16a2e bytes, filesize=0x\${filesize}, stopping"; false; fi
dom0_load=echo "xenbuild: loading dom0 kernel: zImage from mmc 0:1 to 0xa0000000, 0x4aa158 bytes"; if fatload mmc 0:1 0xa0000000 zImage && itest.l \${filesize} -eq 0x4aa158; then echo "xenbuild: dom0 kernel loaded"; else echo "xenbuild: error: zImage did not load or is not 0x4aa158 bytes, filesize=0x\${filesize}, stopping"; false; fi
xen_boot=setenv fdt_high 0xffffffff; setenv initrd_high 0xffffffff; echo "xenbuild: starting xen: bootm 0x90000000 - 0x825f0000"; bootm 0x90000000 - 0x825f0000
uenvcmd=run xen_load && run dtb_load && run dom0_load && run xen_boot; echo "xenbuild: Xen did not start, U-Boot goes on with its own boot"
`;

/** The files of a directory other than `keep`: temp files left behind show up here. */
function leftovers(dir: string, keep: readonly string[]): string[] {
  return readdirSync(dir).filter((f) => !keep.includes(f));
}

describe('mkimage: legacy kernel uImage', () => {
  it('wraps Xen as the seed did and reads back with dumpimage', async () => {
    const dir = makeTempDir();
    const input = path.join(dir, 'xen');
    const output = path.join(dir, 'xen-uImage');
    writeFileSync(input, fakeXen());
    const spec = { input, output, load: 0x80200000, entry: 0x80200000, name: 'Xen-Trial-4.5', arch: 'arm' as const };
    expect(legacyKernelArgv(spec)).toEqual([
      'mkimage',
      '-A',
      'arm',
      '-O',
      'linux',
      '-T',
      'kernel',
      '-C',
      'none',
      '-a',
      '0x80200000',
      '-e',
      '0x80200000',
      '-n',
      'Xen-Trial-4.5',
      '-d',
      input,
      output,
    ]);
    await makeLegacyKernelImage(spec, { sourceDateEpoch: 0 });

    const header = await readImageHeader(output);
    expect(header).toEqual({
      name: 'Xen-Trial-4.5',
      type: 'ARM Linux Kernel Image (uncompressed)',
      created: 'Thu Jan  1 00:00:00 1970',
      dataSize: 689004,
      load: 0x80200000,
      entry: 0x80200000,
      contents: [],
    });
    const bytes = readFileSync(output);
    expect(bytes.length).toBe(64 + 689004);
    expect(bytes.readUInt32BE(0)).toBe(0x27051956);
    expect(bytes.subarray(64).equals(fakeXen())).toBe(true);
    expect(leftovers(dir, ['xen', 'xen-uImage'])).toEqual([]);
  });

  it('is byte-identical when rebuilt with the same SOURCE_DATE_EPOCH', async () => {
    const dir = makeTempDir();
    writeFileSync(path.join(dir, 'xen'), fakeXen());
    const build = async (out: string) => {
      await makeLegacyKernelImage(
        { input: path.join(dir, 'xen'), output: path.join(dir, out), load: 0x80200000, entry: 0x80200000, name: 'xen', arch: 'arm' },
        { sourceDateEpoch: 1_700_000_000 },
      );
      return readFileSync(path.join(dir, out));
    };
    expect((await build('a')).equals(await build('b'))).toBe(true);
  });

  it('leaves no output (and no temp file) when mkimage fails, and keeps an older output intact', async () => {
    const dir = makeTempDir();
    const output = path.join(dir, 'xen-uImage');
    const spec = { input: path.join(dir, 'missing'), output, load: 0x80200000, entry: 0x80200000, name: 'xen', arch: 'arm' as const };
    const failure = await failureOf(makeLegacyKernelImage(spec));
    expect(failure.reason).toBe('exit-non-zero');
    expect(existsSync(output)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);

    writeFileSync(output, 'previous image');
    await failureOf(makeLegacyKernelImage(spec));
    expect(readFileSync(output, 'utf8')).toBe('previous image');
    expect(readdirSync(dir)).toEqual(['xen-uImage']);
  });

  it('refuses what the legacy header cannot hold, before running anything', async () => {
    const dir = makeTempDir();
    const base = { input: 'xen', output: path.join(dir, 'x'), load: 0x80200000, entry: 0x80200000, arch: 'arm' as const };
    expect(() => legacyKernelArgv({ ...base, name: 'x'.repeat(33) })).toThrow(/1 to 32 printable ASCII/);
    expect(() => legacyKernelArgv({ ...base, name: 'xen', load: 0x1_0000_0000 })).toThrow(/32-bit/);
    await expect(makeLegacyKernelImage({ ...base, name: 'x'.repeat(33) })).rejects.toThrow(RangeError);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('says when dumpimage finds no legacy image', async () => {
    const dir = makeTempDir();
    writeFileSync(path.join(dir, 'junk'), 'x'.repeat(256));
    await expect(readImageHeader(path.join(dir, 'junk'))).rejects.toThrow(ImageFormatError);
  });

  it('knows the uImage must not be loaded at its own load address', () => {
    const seed = { load: 0x80200000, entry: 0x80200000, dataSize: 689004 };
    expect(legacyPlacementProblem({ start: 0x90000000, size: 689068 }, seed)).toBeUndefined();
    expect(legacyPlacementProblem({ start: 0x80200000, size: 689068 }, seed)).toMatch(/its own load address.*inside the image header/);
    expect(legacyPlacementProblem({ start: 0x80200000 - 64, size: 689068 }, seed)).toBeUndefined();
    expect(legacyPlacementProblem({ start: 0x80280000, size: 689068 }, seed)).toMatch(/overlaps where bootm copies its payload \(0x80200000-0x802a836c\)/);
  });
});

describe('boot.scr for qemu-arm32 (runtime device tree)', () => {
  it('is this exact script', () => {
    expect(bootScript(qemu, qemuFiles, qemuCmdlines, { board: 'qemu-arm32', fdtCommands: qemuFdt })).toBe(QEMU_SCRIPT);
  });

  it('round-trips through mkimage -T script', async () => {
    const dir = makeTempDir();
    const cmd = path.join(dir, 'boot.cmd');
    const scr = path.join(dir, 'boot.scr');
    writeFileSync(cmd, QEMU_SCRIPT);
    expect(scriptImageArgv({ input: cmd, output: scr, name: 'xenbuild qemu-arm32' })).toEqual([
      'mkimage',
      '-A',
      'arm',
      '-O',
      'linux',
      '-T',
      'script',
      '-C',
      'none',
      '-n',
      'xenbuild qemu-arm32',
      '-d',
      cmd,
      scr,
    ]);
    await makeScriptImage({ input: cmd, output: scr, name: 'xenbuild qemu-arm32' }, { sourceDateEpoch: 0 });

    const header = await readImageHeader(scr);
    const length = Buffer.byteLength(QEMU_SCRIPT);
    expect(header).toMatchObject({ name: 'xenbuild qemu-arm32', type: 'ARM Linux Script (uncompressed)', contents: [length] });
    // The data is a table of part lengths (big-endian, ended by 0), then the parts.
    const bytes = readFileSync(scr);
    expect(bytes.readUInt32BE(64)).toBe(length);
    expect(bytes.readUInt32BE(68)).toBe(0);
    expect(bytes.subarray(72).toString('utf8')).toBe(QEMU_SCRIPT);
    // dumpimage extracts the same text (2023.01 keeps the length table in front of it).
    execFileSync('dumpimage', ['-T', 'script', '-p', '0', '-o', path.join(dir, 'out'), scr], { stdio: 'ignore' });
    expect(readFileSync(path.join(dir, 'out'), 'utf8').endsWith(QEMU_SCRIPT)).toBe(true);
  });

  it('uses the firmware DTB address when given one, and no fdt section without commands', () => {
    const text = bootScript(qemu, qemuFiles, qemuCmdlines, { board: 'qemu-arm32', fdtAddr: 0x40000000 });
    expect(text).toContain("# Device tree: the firmware's, at 0x40000000, used as it is.\n");
    expect(text).toContain('\nbootz 0x40200000 - 0x40000000\n');
    expect(text).not.toContain('fdt ');
  });
});

describe('uEnv.txt for dra7-evm (baked device tree, U-Boot 2014.07)', () => {
  it('is this exact environment', () => {
    expect(uEnvTxt(dra7, dra7Files, dra7Cmdlines, { board: 'dra7-evm' })).toBe(DRA7_UENV);
  });

  it('has one variable per line, each a valid env line, and names the baked DTB when it is renamed', () => {
    const text = uEnvTxt(dra7, dra7Files, dra7Cmdlines, { board: 'dra7-evm', dtbFile: 'dra7-evm-xen.dtb' });
    const vars = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(vars.map((l) => l.slice(0, l.indexOf('=')))).toEqual(['xen_load', 'dtb_load', 'dom0_load', 'xen_boot', 'uenvcmd']);
    expect(text).toContain('fatload mmc 0:1 0x825f0000 dra7-evm-xen.dtb && itest.l ${filesize} -eq 0x16a2e;');
    expect(text).toContain('# Device tree: dra7-evm-xen.dtb, baked by xenbuild');
  });

  it('doubles backslashes, which env import would otherwise eat', () => {
    const text = uEnvTxt(
      { ...dra7, dtMode: 'runtime' },
      dra7Files.filter((f) => f.kind !== 'dtb'),
      dra7Cmdlines,
      {
        board: 'dra7-evm',
        fdtCommands: ['fdt addr ${fdtaddr}', 'fdt set /chosen \\#address-cells <1>'],
      },
    );
    expect(text).toContain('dt_fixup=echo "xenbuild: editing the device tree at ${fdt_addr}"; fdt addr ${fdtaddr}; fdt set /chosen \\\\#address-cells <1>\n');
    expect(text).toContain(
      'xen_boot=setenv fdt_high 0xffffffff; setenv initrd_high 0xffffffff; echo "xenbuild: starting xen: bootm 0x90000000 - ${fdt_addr}"; bootm 0x90000000 - ${fdt_addr}\n',
    );
    expect(text).toContain('uenvcmd=run xen_load && run dom0_load && run dt_fixup && run xen_boot; ');
  });

  it("runs the board's setup commands first, in boot.scr and in uEnv.txt, and refuses one that is not one line", () => {
    const setup = ['mw.w 0x4a002acc 0x43', 'mw.l 0x4ae10000 0x1'];
    const env = uEnvTxt({ ...dra7, setup }, dra7Files, dra7Cmdlines, { board: 'dra7-evm' });
    expect(env).toContain('\nboard_setup=echo "xenbuild: board setup: 2 commands from the board file"; mw.w 0x4a002acc 0x43; mw.l 0x4ae10000 0x1\n');
    expect(env).toContain('uenvcmd=run board_setup && run xen_load && ');
    const script = bootScript({ ...dra7, firmware: 'u-boot', setup: setup.slice(0, 1) }, dra7Files, dra7Cmdlines, { board: 'dra7-evm' });
    const lines = script.split('\n');
    const at = lines.indexOf('mw.w 0x4a002acc 0x43');
    expect(lines[at - 1]).toBe('echo "xenbuild: board setup: 1 command from the board file"');
    expect(at).toBeLessThan(lines.findIndex((l) => l.startsWith('if load ')));
    expect(() => bootScript({ ...dra7, setup: ['mw.w 0x1 0x2\nreset'] }, dra7Files, dra7Cmdlines, { board: 'dra7-evm' })).toThrow(
      'setup command "mw.w 0x1 0x2\\nreset" must be one line',
    );
  });

  it('a boot.scr for the same board loads with fatload', () => {
    const text = bootScript(dra7, dra7Files, dra7Cmdlines, { board: 'dra7-evm' });
    expect(text).toContain('if fatload mmc 0:1 0x90000000 xen-uImage && itest.l ${filesize} -eq 0xa83ac; then\n');
    expect(text).toContain('\nbootm 0x90000000 - 0x825f0000\n');
  });
});

describe('boot script inputs that cannot work', () => {
  const opts = { board: 'dra7-evm' };
  it('are refused with the reason', () => {
    expect(() =>
      bootScript(
        dra7,
        dra7Files.filter((f) => f.kind !== 'dtb'),
        dra7Cmdlines,
        opts,
      ),
    ).toThrow(/bake needs the baked dtb/);
    expect(() => bootScript(qemu, [...qemuFiles, dra7Files[2]!], qemuCmdlines, { board: 'q' })).toThrow(/firmware's device tree, but the plan also loads/);
    expect(() => bootScript(dra7, dra7Files, dra7Cmdlines, { ...opts, fdtCommands: ['fdt print'] })).toThrow(/baked into the DTB/);
    expect(() =>
      bootScript(
        dra7,
        dra7Files.filter((f) => f.kind !== 'xen'),
        dra7Cmdlines,
        opts,
      ),
    ).toThrow(/no xen file/);
    expect(() => bootScript(dra7, [...dra7Files, { ...dra7Files[1]!, file: 'zImage2' }], dra7Cmdlines, opts)).toThrow(/two dom0 kernel files/);
    expect(() => bootScript(dra7, [{ ...dra7Files[0]!, file: 'xen uImage' }, ...dra7Files.slice(1)], dra7Cmdlines, opts)).toThrow(/cannot carry/);
    expect(() => bootScript({ ...dra7, medium: 'mmc 0:1; reset' }, dra7Files, dra7Cmdlines, opts)).toThrow(/boot medium/);
    expect(() => bootScript(dra7, dra7Files, { ...dra7Cmdlines, dom0: 'a\nb' }, opts)).toThrow(/one line/);
    expect(() => bootScript(qemu, qemuFiles, qemuCmdlines, { board: 'q', fdtCommands: ['fdt addr 0\nreset'] })).toThrow(/one line/);
  });
  it('ignore a boot.scr in the file list: U-Boot loads it, not the script', () => {
    const withScript = [...dra7Files, { kind: 'script' as const, file: 'boot.scr', start: 0x82000000, size: 0x800 }];
    expect(uEnvTxt(dra7, withScript, dra7Cmdlines, opts)).toBe(DRA7_UENV);
  });
});

describe('U-Boot environment images', () => {
  const vars = {
    bootdelay: '2',
    xen_load: 'fatload mmc 0:1 0x90000000 xen-uImage',
    bootcmd: 'run xen_load; bootm 0x90000000 - 0x825f0000',
    dt_fixup: 'fdt set /chosen \\#address-cells <1>',
    bootargs: 'console=ttyO0,115200n8 root=/dev/mmcblk0p2 rw',
  };

  it('writes sorted key=value lines, backslashes doubled', () => {
    expect(envText(vars)).toBe(
      'bootargs=console=ttyO0,115200n8 root=/dev/mmcblk0p2 rw\n' +
        'bootcmd=run xen_load; bootm 0x90000000 - 0x825f0000\n' +
        'bootdelay=2\n' +
        'dt_fixup=fdt set /chosen \\\\#address-cells <1>\n' +
        'xen_load=fatload mmc 0:1 0x90000000 xen-uImage\n',
    );
    expect(envImageArgv({ vars, size: 0x20000, redundant: true, output: 'env.bin' }, 'env.txt')).toEqual([
      'mkenvimage',
      '-s',
      '0x20000',
      '-r',
      '-o',
      'env.bin',
      'env.txt',
    ]);
  });

  it('refuses values an environment cannot hold', () => {
    expect(() => envLine('a', 'one\ntwo')).toThrow(/one line/);
    expect(() => envLine('a', 'ends with \\')).toThrow(/join it with the next line/);
    expect(() => envLine('a', '')).toThrow(/deletes the variable/);
    expect(() => envLine('#a', 'x')).toThrow(/variable name/);
    expect(() => envLine('a b', 'x')).toThrow(/variable name/);
  });

  it('computes the CRC-32 U-Boot uses', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  for (const redundant of [false, true]) {
    it(`round-trips through mkenvimage${redundant ? ' -r' : ''}, CRC verified`, async () => {
      const dir = makeTempDir();
      const output = path.join(dir, 'uboot.env');
      const size = 0x4000;
      await makeEnvImage({ vars, size, redundant, output });
      expect(readdirSync(dir)).toEqual(['uboot.env']);

      const env = await readEnvImage(output, size, redundant);
      expect(env.vars).toEqual(vars);
      expect(env.flags).toBe(redundant ? 1 : undefined);
      const bytes = readFileSync(output);
      const start = redundant ? 5 : 4;
      expect(env.crc).toBe(bytes.readUInt32LE(0));
      expect(env.crc).toBe(crc32(bytes.subarray(start)));
      expect(bytes.subarray(start, start + 9).toString()).toBe('bootargs=');

      bytes[size - 1] = 0x00; // flip padding: the data no longer matches its CRC
      writeFileSync(output, bytes);
      await expect(readEnvImage(output, size, redundant)).rejects.toThrow(/CRC/);
      await expect(readEnvImage(output, size * 2, redundant)).rejects.toThrow(ImageFormatError);
    });
  }

  it('refuses an environment larger than its size, writing nothing', async () => {
    const dir = makeTempDir();
    await expect(makeEnvImage({ vars, size: 64, redundant: false, output: path.join(dir, 'env') })).rejects.toThrow(/raise env.size/);
    expect(readdirSync(dir)).toEqual([]);
  });
});
