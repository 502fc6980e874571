import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rig } from './util/rig.js';

const ROOT = join(import.meta.dirname, '..');

/**
 * `xenbuild boot` against a stand-in emulator: a script that prints a boot
 * console line by line and then powers off, hangs, or dies, as told. QEMU
 * itself boots the real qemu-arm32 image in CI (scripts/boot-checks.sh).
 */
const EMULATOR = `import sys, time
mode = sys.argv[1]
lines = ["U-Boot 2023.01+dfsg-2 (xenbuild stand-in)", "xenbuild: loading xen: xen from virtio 0:1", "(XEN) Xen version 4.17.5", "Booting Linux on physical CPU 0x0", "xenbuild: dom0 userspace reached"]
stop = {"ok": 5, "no-xen": 2, "dom0-hangs": 4, "dies": 3, "cpu1-not-hyp": 3, "foreign": 5}[mode]
if mode == "ok":
    print("emulated RAM: " + sys.argv[4] + " MiB", flush=True)
if mode == "foreign":
    lines = [l for l in lines if not l.startswith("xenbuild: loading")]
for line in lines[:stop]:
    print(line, flush=True)
    time.sleep(0.05)
if mode == "cpu1-not-hyp":
    for line in ["(XEN) Bringing up CPU1", "- CPU 00000001 booting -", "- Xen must be entered in NS Hyp mode -", "- Boot failed -"]:
        print(line, flush=True)
if mode == "dies":
    print("qemu: fatal: trying to execute code outside RAM", flush=True)
    sys.exit(1)
if mode != "ok":
    time.sleep(60)
`;

function board(rig: Rig, mode: string, timeout = 3, xenTimeout?: number): void {
  rig.write(
    'configs/boards/emu.yaml',
    `board: emu
components:
  disk: disk
image:
  partitions:
    - { name: data, type: raw, size: 1M, image: blob }
qemu:
  command: [python3, "\${deploydir}/../../../emulator.py", ${mode}, "\${image}", "\${smp}", "\${memory}"]
  timeout: ${timeout}
  memory: 256
  milestones:
    - { name: U-Boot banner, match: "U-Boot 20" }
    - { name: boot script found, match: "xenbuild: loading xen", optional: true }
    - { name: Xen banner, match: "Xen version"${xenTimeout !== undefined ? `, timeout: ${xenTimeout}` : ''} }
    - { name: dom0 kernel started, match: "Booting Linux on physical CPU" }
    - { name: dom0 userspace reached, match: "xenbuild: dom0 userspace reached" }
`,
  );
}

describe('xenbuild boot', () => {
  const rig = new Rig();
  beforeAll(() => {
    rig.write('emulator.py', EMULATOR);
    rig.write(
      'recipes/disk.yaml',
      'recipe: disk\ntasks:\n  blob:\n    run: [truncate, -s, 64K, "${builddir}/blob"]\n    outputs: ["${builddir}/blob"]\nexports:\n  blob: "${builddir}/blob"\n',
    );
  });
  afterAll(() => rig.dispose());

  it('builds the image, then reports each milestone with its time and succeeds at the last', () => {
    board(rig, 'ok');
    const r = rig.xenbuild(['boot', '--board', 'emu']);
    expect(r.status).toBe(0);
    expect(rig.statuses('emu')['image:sdcard']).toBe('ran');
    const milestones = r.stdout
      .split('\n')
      .filter((l) => /^\s+\d/.test(l))
      .map((l) => l.trim().replace(/^\S+\s+/, ''));
    expect(milestones).toEqual(['U-Boot banner', 'boot script found', 'Xen banner', 'dom0 kernel started', 'dom0 userspace reached']);
    expect(r.stdout).toContain('ok: every milestone reached, the last (dom0 userspace reached)');
    expect(readFileSync(rig.path('build/emu/logs/boot.log'), 'utf8')).toContain('(XEN) Xen version 4.17.5');
    const summary = JSON.parse(rig.read('build/emu/logs/boot.json')) as { ok: boolean; image: string; reached: { name: string; atMs: number }[] };
    expect(summary.ok).toBe(true);
    expect(summary.image).toBe('deploy/emu.img');
    expect(summary.reached.map((m) => m.name)).toEqual(milestones);
    expect(summary.reached.every((m, i) => m.atMs >= (summary.reached[i - 1]?.atMs ?? 0))).toBe(true);
  });

  it('tells "Xen never started" from "dom0 hung", kills the emulator on timeout and shows the console tail', () => {
    board(rig, 'no-xen');
    let r = rig.xenbuild(['boot', '--board', 'emu']);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('FAILED: Xen banner not reached within 3.0s; last milestone reached: boot script found');
    expect(JSON.parse(rig.read('build/emu/logs/boot.json'))).toMatchObject({ ok: false, missing: 'Xen banner' });
    expect(r.stdout).toContain('--- last 2 lines of build/emu/logs/boot.log ---');
    board(rig, 'dom0-hangs', 2);
    const t0 = Date.now();
    r = rig.xenbuild(['boot', '--board', 'emu']);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('FAILED: dom0 userspace reached not reached within 2.0s; last milestone reached: dom0 kernel started');
    // The same reader as xenbuild check --log: a console that stops without a word is XB-LOG-001's.
    expect(r.stdout).toContain(
      'explained by XB-LOG-001: the log stops after "Booting Linux on physical CPU 0x0" (line 4) with no error, before dom0 userspace reached',
    );
  });

  it('names the rule that explains where the console stopped, or says that none does', () => {
    board(rig, 'cpu1-not-hyp', 2);
    let r = rig.xenbuild(['boot', '--board', 'emu']);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('explained by XB-HYP-001: CPU1 was started outside HYP mode and stopped ("Xen must be entered in NS Hyp mode")');
    expect(r.stdout).toContain('  line 6: - Xen must be entered in NS Hyp mode -');
    board(rig, 'no-xen', 2);
    r = rig.xenbuild(['boot', '--board', 'emu']);
    expect(r.stdout).toContain('no rule of xenbuild check explains where the console stopped');
  });

  it('boots an image whose boot script another tool wrote: the milestones it cannot print are optional, not failures', () => {
    board(rig, 'foreign');
    const r = rig.xenbuild(['boot', '--board', 'emu']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/ {2}- {2}not seen \(optional\): boot script found\n/);
    expect(r.stdout).toContain('ok: every required milestone reached, the last (dom0 userspace reached)');
  });

  it('fails a milestone at its own timeout, counted from the one before it', () => {
    board(rig, 'no-xen', 30, 1);
    const t0 = Date.now();
    const r = rig.xenbuild(['boot', '--board', 'emu']);
    expect(r.status).toBe(1);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(r.stdout).toContain('FAILED: Xen banner not reached within 1.0s of boot script found (its timeout); last milestone reached: boot script found');
  });

  it("emulates the board's RAM unless --memory says more, and refuses less than the plan needs", () => {
    board(rig, 'ok');
    let r = rig.xenbuild(['boot', '--board', 'emu']);
    expect(readFileSync(rig.path('build/emu/logs/boot.log'), 'utf8')).toContain('emulated RAM: 256 MiB');
    r = rig.xenbuild(['boot', '--board', 'emu', '--memory', '512']);
    expect(r.status).toBe(0);
    expect(readFileSync(rig.path('build/emu/logs/boot.log'), 'utf8')).toContain('emulated RAM: 512 MiB');
    // qemu-arm32's boot files are planned in 1 GiB of RAM: less is refused before anything is built.
    for (const part of ['configs', 'recipes', 'patches', 'xenbuild.lock.json']) cpSync(join(ROOT, part), rig.path(part), { recursive: true });
    r = rig.xenbuild(['boot', '--board', 'qemu-arm32', '--memory', '512']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--memory 512 is less than board qemu-arm32's RAM (1024 MiB in memory.ram)");
    expect(existsSync(rig.path('build/qemu-arm32/report.json'))).toBe(false);
  });

  it('reports an emulator that dies, with its last words', () => {
    board(rig, 'dies');
    const r = rig.xenbuild(['boot', '--board', 'emu', '--timeout', '30']);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/FAILED: dom0 kernel started not reached: the emulator failed after [\d.]+m?s; last milestone reached: Xen banner/);
    expect(r.stdout).toContain('qemu: fatal: trying to execute code outside RAM');
  });

  it('stops the emulator on Ctrl-C and exits 130', async () => {
    board(rig, 'dom0-hangs', 60);
    const child = rig.spawn(['boot', '--board', 'emu']);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const until = Date.now() + 20_000;
    while (!out.includes('dom0 kernel started') && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(out).toContain('dom0 kernel started');
    child.kill('SIGINT');
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(130);
    await new Promise((r) => setTimeout(r, 300));
    const left = spawnSync('pgrep', ['-f', rig.path('emulator.py')], { encoding: 'utf8' }).stdout.trim();
    expect(left).toBe('');
  });

  it('refuses a board that has no emulator', () => {
    rig.write('configs/boards/hw.yaml', 'board: hw\ncomponents:\n  disk: disk\n');
    const r = rig.xenbuild(['boot', '--board', 'hw']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('board hw has no qemu section, so it cannot be booted here; flash it with xenbuild flash');
    expect(existsSync(rig.path('build/hw/logs/boot.log'))).toBe(false);
  });
});
