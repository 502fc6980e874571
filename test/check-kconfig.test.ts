import { describe, expect, it } from 'vitest';
import { parseKconfig } from '../src/check/kconfig.js';
import { checkBoard, type CheckInput } from '../src/check/rules.js';

const BASE: CheckInput = { xenBootargs: 'console=dtuart', dom0Bootargs: 'console=hvc0', hyp: 'u-boot-patch', cpus: 2 };

const GOOD = `#
# Automatically generated file; DO NOT EDIT.
#
CONFIG_ARM=y
CONFIG_ARM_LPAE=y
CONFIG_ARM_PSCI=y
CONFIG_XEN_DOM0=y
CONFIG_XEN=y
CONFIG_HVC_XEN=y
CONFIG_CMDLINE=""
`;

const check = (config: string, extra: Partial<CheckInput> = {}) => checkBoard({ ...BASE, kernelConfig: config, ...extra });

describe('kernel .config rules', () => {
  it('reads set, module, string and "is not set" lines', () => {
    const c = parseKconfig('CONFIG_A=y\nCONFIG_B=m\nCONFIG_C="x y"\n# CONFIG_D is not set\n# a comment\n');
    expect([...c]).toEqual([
      ['CONFIG_A', 'y'],
      ['CONFIG_B', 'm'],
      ['CONFIG_C', '"x y"'],
      ['CONFIG_D', null],
    ]);
  });

  it('accepts a dom0 config', () => {
    expect(check(GOOD, { needsLpae: true })).toEqual([]);
  });

  it('names each missing option exactly', () => {
    const config = GOOD.replace('CONFIG_XEN=y', '# CONFIG_XEN is not set')
      .replace('CONFIG_HVC_XEN=y', 'CONFIG_HVC_XEN=m')
      .replace('CONFIG_ARM_PSCI=y\n', '')
      .replace('CONFIG_ARM_LPAE=y', '# CONFIG_ARM_LPAE is not set')
      .replace('CONFIG_XEN_DOM0=y', '# CONFIG_XEN_DOM0 is not set');
    const found = check(config, { needsLpae: true });
    expect(found.map((f) => [f.id, f.where, f.message])).toEqual([
      ['XB-KCONF-001', 'CONFIG_XEN', 'the kernel .config has "# CONFIG_XEN is not set"; without it the kernel cannot run as dom0'],
      ['XB-KCONF-002', 'CONFIG_HVC_XEN', "the kernel .config has CONFIG_HVC_XEN=m, not =y; dom0's console=hvc0 needs it"],
      ['XB-KCONF-003', 'CONFIG_ARM_PSCI', 'the kernel .config does not have CONFIG_ARM_PSCI; dom0 starts its secondary vCPUs through PSCI'],
      ['XB-KCONF-004', 'CONFIG_ARM_LPAE', 'the kernel .config has "# CONFIG_ARM_LPAE is not set"; this board needs an LPAE kernel'],
      ['XB-KCONF-005', 'CONFIG_XEN_DOM0', 'the kernel .config has "# CONFIG_XEN_DOM0 is not set"; it is what lets the kernel be the control domain'],
    ]);
    expect(found[0]!.fix).toBe('add CONFIG_XEN=y to the kernel config fragment (and what it depends on), then rebuild the kernel');
  });

  it('asks for PSCI only with several CPUs, LPAE only when needed, XEN_DOM0 only where it exists, ARM_PSCI_FW on arm64', () => {
    const minimal = 'CONFIG_XEN=y\nCONFIG_HVC_XEN=y\n';
    expect(check(minimal, { cpus: 1 })).toEqual([]);
    expect(check(minimal).map((f) => f.where)).toEqual(['CONFIG_ARM_PSCI']);
    expect(check('CONFIG_ARM64=y\n' + minimal, { needsLpae: true }).map((f) => f.where)).toEqual(['CONFIG_ARM_PSCI_FW']);
  });

  it("XB-MEM-004: TI 3.14's remoteproc CMA pools, reserved by board code outside dom0's memory, as in the thread", () => {
    // GLSDK's omap2plus_defconfig + ipc.cfg: the four DRA7 carve-outs of arch/arm/mach-omap2/remoteproc.c.
    const ti = `${GOOD}CONFIG_SOC_DRA7XX=y\nCONFIG_OMAP_REMOTEPROC=y\nCONFIG_OMAP_REMOTEPROC_IPU=y\nCONFIG_OMAP_REMOTEPROC_DSP=y\nCONFIG_OMAP_REMOTEPROC_IPU1=y\nCONFIG_OMAP_REMOTEPROC_DSP2=m\n`;
    const dom0Range = [{ start: 0xa8000000, size: 0x8000000 }];
    const found = check(ti, { dom0Range });
    expect(found.map((f) => `${f.id} ${f.where}`)).toEqual([
      'XB-MEM-004 CONFIG_OMAP_REMOTEPROC_IPU',
      'XB-MEM-004 CONFIG_OMAP_REMOTEPROC_DSP',
      'XB-MEM-004 CONFIG_OMAP_REMOTEPROC_IPU1',
      'XB-MEM-004 CONFIG_OMAP_REMOTEPROC_DSP2',
    ]);
    expect(found[0]!.message).toBe(
      "the dom0 kernel's .config has CONFIG_OMAP_REMOTEPROC_IPU: its board code reserves the IPU2 CMA pool 0x95800000+56 MiB at a fixed address, outside dom0's memory 0xa8000000–0xb0000000; dom0 will panic in reserve_bootmem, and no device-tree fixup can remove it",
    );
    expect(found[0]!.fix).toContain('# CONFIG_OMAP_REMOTEPROC is not set');
    // xenbuild's dom0 fragment turns the carve-outs off; a dom0 over them is fine too; mainline has no such options.
    expect(check(ti.replace('CONFIG_OMAP_REMOTEPROC=y', '# CONFIG_OMAP_REMOTEPROC is not set'), { dom0Range })).toEqual([]);
    expect(check(ti, { dom0Range: [{ start: 0x90000000, size: 0x10000000 }] })).toEqual([]);
    expect(check(ti.replace('CONFIG_SOC_DRA7XX=y', '# CONFIG_SOC_DRA7XX is not set'), { dom0Range })).toEqual([]);
    // Unknown dom0 memory: a warning that names every pool.
    const unknown = check(ti);
    expect(unknown.map((f) => `${f.severity} ${f.id}`)).toEqual(['warning XB-MEM-005']);
    expect(unknown[0]!.message).toContain('the DSP2 CMA pool 0x9f000000+8 MiB (CONFIG_OMAP_REMOTEPROC_DSP2)');
  });
});
