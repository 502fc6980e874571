import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rig } from './util/rig.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'boot');

const FIXUPS = `  fixups:
    - set: { path: /interrupt-controller@48211000, prop: interrupts, cells: [1, 9, 0xf04] }
    - set: { path: /timer, prop: clock-frequency, u32: 6144000 }
    - enable: /timer
    - set: { path: /psci, prop: method, string: smc }
    - prune-reserved-memory: outside-dom0
`;

/**
 * The seed's board, with stand-ins for what takes hours to build: a Xen
 * binary of the seed's size, a zImage, the DTB compiled by dtc from a tree
 * with the seed's problems, and a dom0 .config.
 */
/**
 * Xen's size in the thread (689004 bytes), holding the secondary-CPU HYP entry of
 * patches/xen/…/0001-xen-arm-omap5-secondary-cpus-enter-hyp.patch, as a patched Xen does.
 */
const FAKE_XEN = `\t.arm
\t.text
start:
\t.space 0x60120
hyp_entry:
\tmovw r12, #0x102
\tadr r0, 1f
\tsmc #0
1:\tb start
\t.space 689004 - (. - start)
`;

function seedBoard(rig: Rig, fixups: string, image = ''): void {
  copyFileSync(join(FIXTURES, 'seed-dra7.dts'), rig.write('dts/seed-dra7.dts', ''));
  copyFileSync(join(FIXTURES, 'dom0.config'), rig.write('kconfig/dom0.config', ''));
  rig.write('fake/xen.s', FAKE_XEN);
  rig.write(
    'recipes/fake-xen.yaml',
    `recipe: fake-xen
tasks:
  assemble:
    run: [arm-linux-gnueabihf-as, -march=armv7-a+sec, -o, "\${builddir}/xen.o", "\${root}/fake/xen.s"]
    inputs: [fake/xen.s]
    outputs: ["\${builddir}/xen.o"]
  build:
    after: [assemble]
    run: [arm-linux-gnueabihf-objcopy, -O, binary, "\${builddir}/xen.o", "\${builddir}/xen"]
    outputs: ["\${builddir}/xen"]
exports:
  xen: "\${builddir}/xen"
`,
  );
  rig.write(
    'recipes/fake-linux.yaml',
    `recipe: fake-linux
tasks:
  zimage:
    run: [truncate, -s, "4890968", "\${builddir}/zImage"]
    outputs: ["\${builddir}/zImage"]
  dtbs:
    run: [dtc, -I, dts, -O, dtb, -o, "\${builddir}/dra7-evm.dtb", "\${root}/dts/seed-dra7.dts"]
    inputs: [dts/seed-dra7.dts]
    outputs: ["\${builddir}/dra7-evm.dtb"]
  config:
    run: [cp, "\${root}/kconfig/dom0.config", "\${builddir}/.config"]
    inputs: [kconfig/dom0.config]
    outputs: ["\${builddir}/.config"]
  rootfs:
    run: [tar, --owner=1000, --group=1000, -C, "\${root}/kconfig", -cf, "\${builddir}/rootfs.tar", .]
    outputs: ["\${builddir}/rootfs.tar"]
exports:
  rootfs.tar: "\${builddir}/rootfs.tar"
  zImage: "\${builddir}/zImage"
  dra7-evm.dtb: "\${builddir}/dra7-evm.dtb"
  linux.config: "\${builddir}/.config"
`,
  );
  rig.write(
    'configs/boards/seed.yaml',
    `board: seed
components:
  xen: fake-xen
  linux: fake-linux
memory:
  ram: [{ start: 0x80000000, size: 1536M }]
xen:
  artifact: xen
  image: uimage
  load: 0x80200000
  bootargs: sync_console console=dtuart dtuart=serial0 dom0_mem=128M
  hyp: u-boot-patch
dom0:
  kernel: zImage
  bootargs: console=hvc0 earlyprintk=xen root=/dev/mmcblk0p2 rw rootwait fixrtc
  memory: [{ start: 0xa8000000, size: 128M }]
  config: linux.config
  lpae: true
dtb:
  artifact: dra7-evm.dtb
${fixups}boot:
  firmware: u-boot-2014
  medium: mmc 0:1
  command: bootm
  env: { size: 0x20000, redundant: true }
${image}`,
  );
}

const fdtget = (dtb: string, ...args: string[]) => execFileSync('fdtget', [dtb, ...args], { encoding: 'utf8' }).trim();

describe('boot artifacts for the seed board', () => {
  const rig = new Rig();
  beforeAll(() => seedBoard(rig, FIXUPS));
  afterAll(() => rig.dispose());

  it('builds the uImage, the plan, the baked DTB, uEnv.txt and the env image, and the check passes', () => {
    const r = rig.xenbuild(['all', '--board', 'seed']);
    expect(r.stdout + r.stderr).not.toContain('FAILED');
    expect(r.status).toBe(0);
    const s = rig.statuses('seed');
    for (const id of ['boot:xen-image', 'boot:plan', 'boot:dtb', 'boot:script', 'boot:check']) expect(s[id]).toBe('ran');

    const header = execFileSync('dumpimage', ['-l', rig.path('build/seed/deploy/boot/xen-uImage')], { encoding: 'utf8' });
    expect(header).toContain('Image Name:   Xen for seed');
    expect(header).toMatch(/Load Address: 80200000/);
    expect(header).toMatch(/Entry Point:\s+80200000/);
    expect(header).toContain('Data Size:    689004 Bytes');

    const plan = JSON.parse(rig.read('build/seed/deploy/memory-map.json')) as { plan: { placements: { kind: string; start: number; size: number }[] } };
    const at = Object.fromEntries(plan.plan.placements.map((p) => [p.kind, p]));
    // The uImage is loaded clear of 0x80200000, where bootm copies Xen to.
    expect(at.xen!.start % 0x200000).toBe(0);
    expect(at.xen!.start >= 0x80200000 + 689004 || at.xen!.start + 689004 + 64 <= 0x80200000).toBe(true);

    const dtb = rig.path('build/seed/deploy/boot/dra7-evm.dtb');
    expect(fdtget(dtb, '/chosen', 'xen,xen-bootargs')).toBe('sync_console console=dtuart dtuart=serial0 dom0_mem=128M');
    expect(fdtget(dtb, '/chosen', 'xen,dom0-bootargs')).toBe('console=hvc0 earlyprintk=xen root=/dev/mmcblk0p2 rw rootwait fixrtc');
    const module = `/chosen/module@${at.kernel!.start.toString(16)}`;
    expect(fdtget(dtb, module, 'compatible')).toBe('xen,linux-zimage xen,multiboot-module');
    expect(fdtget(dtb, '-tx', module, 'reg')).toBe(`${at.kernel!.start.toString(16)} 4aa158`);
    expect(fdtget(dtb, '-tx', '/interrupt-controller@48211000', 'interrupts')).toBe('1 9 f04');
    expect(fdtget(dtb, '/timer', 'clock-frequency')).toBe('6144000');
    expect(fdtget(dtb, '/timer', 'status')).toBe('okay');
    expect(execFileSync('fdtget', ['-l', dtb, '/reserved-memory'], { encoding: 'utf8' }).trim()).toBe('');

    const uenv = rig.read('build/seed/deploy/boot/uEnv.txt');
    expect(uenv).toContain(`fatload mmc 0:1 0x${at.xen!.start.toString(16)} xen-uImage`);
    expect(uenv).toContain(`fatload mmc 0:1 0x${at.dtb!.start.toString(16)} dra7-evm.dtb`);
    expect(uenv).toContain(`bootm 0x${at.xen!.start.toString(16)} - 0x${at.dtb!.start.toString(16)}`);
    expect(existsSync(rig.path('build/seed/deploy/boot/uboot.env'))).toBe(true);
    expect(readFileSync(rig.path('build/seed/deploy/memory-map.svg'), 'utf8')).toMatch(/^<svg/);
    expect(rig.read('build/seed/deploy/check.txt')).toContain('no problems found');
  });

  it('changing dom0 bootargs reruns the DTB, script and check tasks only', () => {
    rig.write('configs/boards/seed.yaml', rig.read('configs/boards/seed.yaml').replace('rootwait fixrtc', 'rootwait'));
    const r = rig.xenbuild(['all', '--board', 'seed']);
    expect(r.status).toBe(0);
    const s = rig.statuses('seed');
    expect(s).toMatchObject({
      'boot:xen-image': 'fresh',
      'boot:plan': 'fresh',
      'boot:dtb': 'ran',
      'boot:script': 'ran',
      'boot:check': 'ran',
      'linux:dtbs': 'fresh',
    });
  });
});

describe('xenbuild check catches the seed failure modes before flashing', () => {
  const rig = new Rig();
  beforeAll(() => seedBoard(rig, ''));
  afterAll(() => rig.dispose());

  it('fails the build at boot:check and names each problem', () => {
    const r = rig.xenbuild(['all', '--board', 'seed']);
    expect(r.status).toBe(1);
    expect(rig.statuses('seed')['boot:check']).toBe('failed');
    const check = rig.xenbuild(['check', '--board', 'seed']);
    expect(check.status).toBe(1);
    for (const id of ['XB-DT-001', 'XB-DT-002', 'XB-DT-004', 'XB-MEM-004']) expect(check.stdout).toContain(id);
    expect(check.stdout).toContain('0x99000000');
    expect(check.stdout).toMatch(/RAM 0x80000000/);
  });

  it('names a Xen without the secondary-CPU HYP entry (XB-HYP-001), read from the binary whatever the board says', () => {
    const xen = rig.read('fake/xen.s');
    rig.write('fake/xen.s', xen.replace('movw r12, #0x102', 'movw r12, #0x101'));
    const check = rig.xenbuild(['check', '--board', 'seed']);
    expect(check.status).toBe(1);
    expect(check.stdout).toMatch(
      /error +XB-HYP-001 +ti,dra7-evm: Xen wakes CPU1 itself \(AuxCoreBoot1\) in non-secure SVC mode, and this Xen binary never calls the ROM's HYP-entry service \(0x102\)/,
    );
    expect(check.stdout).toContain('The board says hyp: u-boot-patch, but on this SoC only Xen can switch CPU1.');
    rig.write('fake/xen.s', xen);
    const patched = rig.xenbuild(['check', '--board', 'seed']);
    expect(patched.stdout).not.toContain('XB-HYP-001');
    expect(patched.stdout).toContain("seen: deploy/xen: calls the ROM's HYP-entry service 0x102 (secondary CPUs, OMAP5/DRA7) at offset 0x60128");
  });

  it('--no-check builds anyway, loudly', () => {
    const r = rig.xenbuild(['all', '--board', 'seed', '--no-check']);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('--no-check: the pre-flight check is skipped');
    expect(rig.statuses('seed')['boot:check']).toBe('skipped');
  });
});

const IMAGE = `image:
  partitions:
    - { name: boot, type: fat32, size: 64M, bootable: true, files: [uEnv.txt, xen-uImage, zImage, dra7-evm.dtb, uboot.env] }
    - { name: root, type: ext4, size: 64M, from: rootfs.tar }
`;

describe('the card image and its release', () => {
  const rig = new Rig();
  beforeAll(() => seedBoard(rig, FIXUPS, IMAGE));
  afterAll(() => rig.dispose());

  it('is made after the check, from the baked boot files, and released with bmap, zst, SHA256SUMS and a manifest', () => {
    const r = rig.xenbuild(['all', '--board', 'seed']);
    expect(r.status).toBe(0);
    const list = rig.xenbuild(['list', '--board', 'seed']).stdout;
    expect(list).toMatch(/image:sdcard .*← .*boot:check/);
    const deploy = rig.path('build/seed/deploy');
    const img = join(deploy, 'seed.img');
    const table = JSON.parse(execFileSync('sfdisk', ['--json', img], { encoding: 'utf8' })) as {
      partitiontable: { label: string; partitions: { start: number; bootable?: boolean; type: string }[] };
    };
    expect(table.partitiontable.label).toBe('dos');
    expect(table.partitiontable.partitions[0]!.bootable).toBe(true);
    const offset = table.partitiontable.partitions[0]!.start * 512;
    const names = execFileSync('mdir', ['-b', '-i', `${img}@@${offset}`, '::/'], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((l) => l.replace(/^::\//, ''));
    expect(names).toEqual(['uEnv.txt', 'xen-uImage', 'zImage', 'dra7-evm.dtb', 'uboot.env']);
    // The baked DTB went onto the card, not the component's original.
    const onCard = execFileSync('mtype', ['-i', `${img}@@${offset}`, '::/uEnv.txt'], { encoding: 'utf8' });
    expect(onCard).toBe(rig.read('build/seed/deploy/boot/uEnv.txt'));
    execFileSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: deploy });
    execFileSync('bmaptool', ['copy', join(deploy, 'seed.img.zst'), join(rig.dir, 'copy.img')], { stdio: 'ignore' });
    const manifest = JSON.parse(rig.read('build/seed/deploy/manifest.json')) as {
      board: string;
      components: unknown[];
      artifacts: { path: string }[];
      tools: { name: string }[];
      memoryMap: { plan: unknown };
    };
    expect(manifest.board).toBe('seed');
    // Every component and its recipe, those without a source too.
    expect(manifest.components).toEqual([
      { component: 'xen', recipe: 'fake-xen' },
      { component: 'linux', recipe: 'fake-linux' },
    ]);
    expect(manifest.artifacts.map((a) => a.path)).toEqual(
      expect.arrayContaining(['seed.img', 'seed.img.bmap', 'seed.img.zst', 'boot/uEnv.txt', 'boot/dra7-evm.dtb']),
    );
    expect(manifest.tools.map((t) => t.name)).toEqual(expect.arrayContaining(['dtc', 'mkimage']));
    expect(manifest.memoryMap.plan).toBeDefined();
    // A no-op rerun touches nothing.
    expect(rig.xenbuild(['all', '--board', 'seed']).status).toBe(0);
    expect(Object.values(rig.statuses('seed')).every((s) => s === 'fresh')).toBe(true);
  });
});

describe('dom0less guests of the seed board (a profile)', () => {
  const rig = new Rig();
  const guests = (domus: string) => `profiles:\n  guests:\n    domus:\n${domus}`;
  const GUEST = '      - { name: domU0, kernel: zImage, ramdisk: rootfs.tar, memory: 64M, vcpus: 2, bootargs: "console=ttyAMA0" }\n';
  beforeAll(() => seedBoard(rig, FIXUPS, guests(GUEST)));
  afterAll(() => rig.dispose());

  it('are planned, baked into /chosen/<name>, loaded by uEnv.txt and checked; the board without the profile has none', () => {
    const r = rig.xenbuild(['all', '--board', 'seed', '--profile', 'guests']);
    expect(r.stdout + r.stderr).not.toContain('FAILED');
    expect(r.status).toBe(0);
    const plan = JSON.parse(rig.read('build/seed/deploy/memory-map.json')) as { plan: { placements: { name: string; start: number }[] } };
    const at = Object.fromEntries(plan.plan.placements.map((p) => [p.name, p.start.toString(16)]));
    expect(Object.keys(at).sort()).toEqual(['domU0 kernel', 'domU0 ramdisk', 'dtb', 'kernel', 'xen']);
    const dtb = rig.path('build/seed/deploy/boot/dra7-evm.dtb');
    expect(fdtget(dtb, '/chosen/domU0', 'compatible')).toBe('xen,domain');
    expect(fdtget(dtb, '-tu', '/chosen/domU0', 'memory')).toBe('0 65536');
    expect(fdtget(dtb, `/chosen/domU0/module@${at['domU0 kernel']}`, 'bootargs')).toBe('console=ttyAMA0');
    expect(fdtget(dtb, `/chosen/domU0/module@${at['domU0 ramdisk']}`, 'compatible')).toBe('multiboot,ramdisk multiboot,module');
    const uenv = rig.read('build/seed/deploy/boot/uEnv.txt');
    expect(uenv).toContain(`domu0_kernel_load=echo "xenbuild: loading domU0 kernel: zImage from mmc 0:1 to 0x${at['domU0 kernel']}`);
    expect(uenv).toMatch(/^uenvcmd=run xen_load && run dtb_load && run dom0_load && run domu0_kernel_load && run domu0_ramdisk_load && run xen_boot;/m);
    expect(rig.read('build/seed/deploy/check.txt')).toContain('no problems found');

    expect(rig.xenbuild(['all', '--board', 'seed']).status).toBe(0);
    expect(execFileSync('fdtget', ['-l', dtb, '/chosen'], { encoding: 'utf8' })).not.toContain('domU0');
  });

  it('refuses two guests of one name and an artifact no component exports, where the board says them', () => {
    rig.write(
      'configs/boards/seed.yaml',
      rig.read('configs/boards/seed.yaml').replace(GUEST, GUEST + GUEST.replace('ramdisk: rootfs.tar', 'ramdisk: rootfs.cpio')),
    );
    const r = rig.xenbuild(['list', '--board', 'seed', '--profile', 'guests']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/seed\.yaml:\d+:\d+: error: two dom0less guests are named domU0/);
    expect(r.stderr).toMatch(/seed\.yaml:\d+:\d+: error: no component exports an artifact "rootfs\.cpio"/);
  });

  it('fails the check when the guests and dom0 over-commit RAM', () => {
    seedBoard(rig, FIXUPS, guests(GUEST.replace('memory: 64M', 'memory: 1400M')));
    const r = rig.xenbuild(['all', '--board', 'seed', '--profile', 'guests']);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      /XB-DOMU-001 +the domains ask for 1528 MiB \(dom0 128 MiB, domU0 1400 MiB\) and Xen needs about 16 MiB of its own, but only 15\d\d MiB of RAM is free/,
    );
  });
});

describe('a boot.scr for a board whose firmware provides the DTB', () => {
  const rig = new Rig();
  beforeAll(() => {
    seedBoard(rig, '');
    rig.write(
      'configs/boards/seed.yaml',
      rig
        .read('configs/boards/seed.yaml')
        .replace(/dtb:\n  artifact: dra7-evm.dtb\n/, 'dtb:\n  mode: runtime\n')
        .replace('firmware: u-boot-2014', 'firmware: u-boot')
        .replace('  env: { size: 0x20000, redundant: true }\n', ''),
    );
  });
  afterAll(() => rig.dispose());

  it('decodes with dumpimage and loads each file at its planned address, editing /chosen with fdt commands', () => {
    const r = rig.xenbuild(['all', '--board', 'seed']);
    expect(r.status).toBe(0);
    const scr = rig.path('build/seed/deploy/boot/boot.scr');
    expect(execFileSync('dumpimage', ['-l', scr], { encoding: 'utf8' })).toContain('Image Type:   ARM Linux Script (uncompressed)');
    // A script image: 64-byte header, then a table of part sizes (4 bytes each, ended by 0), then the script.
    const bytes = readFileSync(scr);
    const text = bytes.subarray(64 + 8, 64 + 8 + bytes.readUInt32BE(64)).toString('utf8');
    expect(text).toBe(rig.read('build/seed/deploy/boot/boot.cmd'));
    const plan = JSON.parse(rig.read('build/seed/deploy/memory-map.json')) as { plan: { placements: { kind: string; start: number }[] } };
    const at = Object.fromEntries(plan.plan.placements.map((p) => [p.kind, `0x${p.start.toString(16)}`]));
    expect(text).toContain(`load mmc 0:1 ${at.xen} xen-uImage`);
    expect(text).toContain(`load mmc 0:1 ${at.kernel} zImage`);
    expect(text).toContain(`fdt set /chosen/module@${at.kernel!.slice(2)} reg "<${at.kernel} 0x4aa158>"`);
    expect(text).toContain(`bootm ${at.xen} - \${fdt_addr}`);
  });
});
