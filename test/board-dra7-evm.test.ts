/**
 * The project's own dra7-evm board, as a user runs it: both profiles analyse,
 * and the glsdk7 dry run shows the 2015 thread's commands fully resolved.
 * (The debian12 build itself runs in CI: .ci/run, scripts/dra7-checks.sh.)
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyse } from '../src/analysis/resolve.js';
import { checkCodeDigest } from '../src/check/code.js';
import { projectSettings } from './util/settings.js';
import { XENBUILD } from './util/rig.js';
import { makeTempDir, removeTempDirs } from './util/tmp.js';

afterAll(removeTempDirs);

const ROOT = path.resolve(path.dirname(XENBUILD), '..');
const workdir = makeTempDir();
const cacheDir = makeTempDir();

function xenbuild(...args: string[]) {
  const r = spawnSync(process.execPath, [XENBUILD, ...args, '--workdir', workdir, '--cache-dir', cacheDir], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, CI: 'true' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("dra7-evm, profile glsdk7 (the default): the thread's stack", () => {
  it("lists Xen 4.5.1-rc1, TI's U-Boot 2014.07 and Linux 3.14 with their patches, and the boot tasks", () => {
    const r = xenbuild('list', '--board', 'dra7-evm');
    expect(r.status, r.stderr).toBe(0);
    const ids = r.stdout
      .split('\n')
      .map((l) => l.split(/\s+/)[0])
      .filter(Boolean);
    for (const id of [
      'xen:fetch',
      'xen:patch',
      'xen:build',
      'u-boot:patch',
      'u-boot:build',
      'linux:fragments',
      'linux:build',
      'boot:xen-image',
      'boot:dtb',
      'boot:check',
      'boot:script',
      'image:sdcard',
      'image:release',
    ]) {
      expect(ids).toContain(id);
    }
    expect(r.stdout).toMatch(/^xen:fetch +fetch git:\/\/xenbits\.xen\.org\/xen\.git 0c4e0ef608c9$/m);
    expect(r.stdout).toMatch(/^xen:patch +apply 1 patch/m);
    expect(r.stdout).toMatch(/^u-boot:patch +apply 2 patches/m);
    expect(r.stdout).toMatch(/^linux:patch +apply \d+ patches/m);
    expect(r.stdout).toMatch(/^boot:script +write uEnv\.txt/m);
  });

  it("--dry-run prints the thread's make dist-xen and mkimage commands, fully resolved", () => {
    const r = xenbuild('all', '--board', 'dra7-evm', '--dry-run');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('make dist-xen XEN_TARGET_ARCH=arm32 CROSS_COMPILE=arm-linux-gnueabihf- CONFIG_EARLY_PRINTK=dra7 debug=y');
    // In the environment: on make's command line CFLAGS would replace Xen's own.
    expect(r.stdout).toContain("CFLAGS='-Wno-address-of-packed-member -Wno-duplicate-decl-specifier' make dist-xen");
    expect(r.stdout).toMatch(
      /^ {4}mkimage -A arm -O linux -T kernel -C none -a 0x80200000 -e 0x80200000 -n 'Xen for dra7-evm' -d \S+\/deploy\/xen \S+\/deploy\/boot\/xen-uImage$/m,
    );
    expect(r.stdout).toContain('make CROSS_COMPILE=arm-linux-gnueabihf- dra7xx_evm_config');
    expect(r.stdout).toContain("'CC=arm-linux-gnueabihf-gcc -mfloat-abi=soft' KCFLAGS=-fgnu89-inline");
    expect(r.stdout).toContain('make ARCH=arm CROSS_COMPILE=arm-linux-gnueabihf- omap2plus_defconfig');
    expect(r.stdout).toMatch(/merge_config\.sh -m \.config ti_config_fragments\/audio_display\.cfg .* \S+\/configs\/dra7-evm\/xen-dom0\.config/);
  });
});

describe('dra7-evm, profile debian12', () => {
  it("takes Debian 12's packages, bakes the fixups into the kernel's DTB and writes boot.scr with the crossbar setup", () => {
    const r = xenbuild('list', '--board', 'dra7-evm', '--profile', 'debian12');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^xen:fetch +fetch Debian source xen 4\.17/m);
    expect(r.stdout).toMatch(/^xen:patch +apply 1 patch/m);
    expect(r.stdout).toMatch(/^u-boot:fetch +fetch Debian package u-boot-omap:armhf 2023\.01/m);
    expect(r.stdout).toMatch(/^linux:fetch +fetch Debian package linux-image-6\.1\.0-\d+-armmp-lpae:armhf/m);
    expect(r.stdout).toMatch(/^boot:dtb +add \/chosen, modules and \d+ fixups to dra7-evm\.dtb/m);
    expect(r.stdout).toMatch(/^boot:script +write boot\.scr/m);
    expect(r.stdout).not.toMatch(/^boot:xen-image/m);
  });

  it('a profile that does not exist is named with the ones that do', () => {
    const r = xenbuild('list', '--board', 'dra7-evm', '--profile', 'debian');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown profile "debian" (did you mean "debian12"?)');
    expect(r.stderr).toContain('profiles of dra7-evm: glsdk7, glsdk7-debug, debian12, debian12-debug');
  });
});

describe("dra7-evm's debug profiles extend the others", () => {
  const settings = projectSettings(ROOT, makeTempDir());
  const bootArgs = (profile: string) => {
    const a = analyse(settings, 'dra7-evm', profile);
    expect(a.diagnostics).toEqual([]);
    const dtb = a.graph!.tasks.find((t) => t.id === 'boot:dtb')!.action;
    return { cmdlines: dtb.kind === 'boot-dtb' ? dtb.cmdlines : undefined, tasks: a.graph!.tasks.map((t) => t.id) };
  };

  it('glsdk7-debug is glsdk7 with sync_console; debian12-debug is debian12 with it', () => {
    const base = bootArgs('glsdk7');
    const debug = bootArgs('glsdk7-debug');
    expect(debug.tasks).toEqual(base.tasks);
    expect(base.cmdlines!.xen).toBe('console=dtuart dtuart=serial0 dom0_mem=128M');
    expect(debug.cmdlines).toEqual({ ...base.cmdlines, xen: 'sync_console console=dtuart dtuart=serial0 dom0_mem=128M' });
    expect(bootArgs('debian12-debug').cmdlines!.xen).toBe('sync_console console=dtuart dtuart=serial0 dom0_mem=256M');
    expect(bootArgs('debian12-debug').tasks).toEqual(bootArgs('debian12').tasks);
  });

  it('the check task carries a digest of the rule book, so new rules check a built board again', () => {
    const check = analyse(settings, 'dra7-evm', 'debian12').graph!.tasks.find((t) => t.id === 'boot:check')!;
    expect(check.action.kind === 'boot-check' && check.action.rules).toBe(checkCodeDigest());
    expect(JSON.stringify(check.basis)).toContain(checkCodeDigest());
  });
});
