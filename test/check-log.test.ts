/**
 * `xenbuild check --log`: a serial console read against the rule book. The
 * fixtures are the three logs of the DRA7 bring-up thread
 * (../shared/seeds/000_5624cba17ff024c7.txt), byte for byte, mojibake included,
 * and qemu-arm32's own boot logs: a good boot and the two broken on purpose
 * by scripts/boot-checks.sh.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readConsoleLog, type LogReading } from '../src/check/read-log.js';
import { XENBUILD } from './util/rig.js';
import { makeTempDir, removeTempDirs } from './util/tmp.js';

afterAll(removeTempDirs);

const LOGS = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures', 'logs');
const ROOT = path.resolve(path.dirname(XENBUILD), '..');
const fixture = (name: string) => readFileSync(path.join(LOGS, name));
const ids = (r: LogReading) => r.findings.map((f) => f.id);
const QEMU_MILESTONES = [
  { name: 'U-Boot banner', match: 'U-Boot 20' },
  { name: 'boot script found', match: 'xenbuild: loading xen' },
  { name: 'Xen banner', match: 'Xen version', xen: true },
  { name: 'dom0 kernel started', match: 'Booting Linux on physical CPU', xen: true },
  { name: 'dom0 userspace reached', match: 'xenbuild: dom0 userspace reached', xen: true },
];

function cli(args: string[], input?: string | Buffer) {
  const r = spawnSync(process.execPath, [XENBUILD, 'check', ...args], { cwd: ROOT, encoding: 'utf8', input, env: { ...process.env, CI: 'true' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("the thread's three logs, with the thread's diagnoses in order", () => {
  it('1: the timer at 0 KHz, then CPU1 not in HYP mode', () => {
    const r = readConsoleLog(fixture('seed-1-cpu1-not-hyp.txt'));
    expect(ids(r)).toEqual(['XB-DT-002', 'XB-HYP-001']);
    expect(r.findings[0]!.line.raw).toBe('(XEN) Using generic timer at 0 KHz');
    expect(r.findings[1]!.message).toMatch(/^CPU1 was started outside HYP mode and stopped/);
    expect(r.last!.raw).toBe('- Boot failed -');
    expect(r.ok).toBe(false);
  });

  it('2: no console (dtuart=serial2 has no IRQ), the timer at 0 KHz, then silence after CPU 1 booted', () => {
    const r = readConsoleLog(fixture('seed-2-no-console-hang.txt'));
    expect(ids(r)).toEqual(['XB-DT-003', 'XB-DT-002', 'XB-LOG-001']);
    const [uart, , hang] = r.findings;
    expect(uart!.message).toBe(
      'Xen has no console: dtuart=serial2 names a UART without an interrupt Xen can use ("omap-uart: Unable to retrieve the IRQ"); nothing more from Xen reaches this serial line',
    );
    expect([uart!.line, ...uart!.also].map((l) => l.raw)).toEqual(['(XEN) omap-uart: Unable to retrieve the IRQ', "(XEN) Bad console= option 'dtuart'"]);
    expect(hang!.message).toBe(
      'the log stops after "CPU 1 booted." (line 92) with no error, before dom0 kernel started: a hang, or output that went nowhere; Xen had no console (XB-DT-003), so whatever it said next went nowhere',
    );
    expect(hang!.fix).toContain('sync_console');
    expect(hang!.fix).toContain('debug=y and CONFIG_EARLY_PRINTK=');
    // The mojibake of the mail archive ("ÂXen 4.5.1-rc1", "(XEN)Â RESVD") is read through.
    expect(r.reached.map((m) => `${m.name} ${m.line.no}`)).toEqual(['Xen banner 33', 'CPU1 up 92']);
    expect(r.xenVersion).toBe('4.5.1-rc1');
  });

  it('3: /psci with hvc, then dom0 panics in reserve_bootmem on CMA pools outside its bank', () => {
    const r = readConsoleLog(fixture('seed-3-dom0-cma-panic.txt'));
    expect(ids(r)).toEqual(['XB-DT-001', 'XB-MEM-004']);
    const cma = r.findings[1]!;
    expect(cma.message).toBe(
      "dom0's kernel reserves 4 CMA pools outside its memory 0xa8000000–0xb0000000 (Xen's BANK lines): 0x99000000+64 MiB, 0x95800000+56 MiB, 0x9f000000+8 MiB, 0x9d000000+32 MiB; it panicked in reserve_bootmem",
    );
    // The evidence: the four pools outside (not the 24 MiB one inside) and the panic.
    expect([cma.line, ...cma.also].map((l) => l.raw.trim())).toEqual([
      'cma: CMA: reserved 64 MiB at 99000000',
      'cma: CMA: reserved 56 MiB at 95800000',
      'cma: CMA: reserved 8 MiB at 9f000000',
      'cma: CMA: reserved 32 MiB at 9d000000',
      'LR is at reserve_bootmem+0x2c/0x30',
    ]);
    expect(r.reached.map((m) => m.name)).toEqual(['Xen banner', 'CPU1 up', 'dom0 kernel started']);
    expect(r.last!.raw).toBe('Kernel panic - not syncing: Attempted to kill the idle task!');
  });

  it('reads the same through CR/LF, kernel timestamps, colours and bytes that are not UTF-8', () => {
    const plain = fixture('seed-1-cpu1-not-hyp.txt').toString('utf8').split('\n');
    const noisy = plain.map((l, i) => `${i % 2 ? '[    0.000000] ' : '\x1b[0m'}${l}\xff\r`).join('\n');
    const r = readConsoleLog(Buffer.concat([Buffer.from(noisy, 'latin1')]));
    expect(ids(r)).toEqual(['XB-DT-002', 'XB-HYP-001']);
  });

  it('a log with nothing known in it says where it stops and that no rule matched, without guessing', () => {
    const r = readConsoleLog('Booting from ROM...\nLoading stage 2\nwaiting for card\n');
    expect(r.findings).toEqual([]);
    expect(r.reached).toEqual([]);
    expect(r.last!.raw).toBe('waiting for card');
    const out = cli(['--log', '-'], 'Booting from ROM...\nLoading stage 2\nwaiting for card\n');
    expect(out.status).toBe(1);
    expect(out.stdout).toContain('stops at line 3: waiting for card\n');
    expect(out.stdout).toContain('no rule matched: xenbuild knows no failure that explains where this log stops');
  });
});

describe('qemu-arm32 boot logs', () => {
  it('a good boot reaches every milestone and names no failure', () => {
    const r = readConsoleLog(fixture('qemu-arm32-good.txt'), QEMU_MILESTONES);
    expect(r.reached.map((m) => m.name)).toEqual(QEMU_MILESTONES.map((m) => m.name));
    expect(r.findings).toEqual([]);
    expect(r.ok).toBe(true);
  });

  it('a wrong Xen address: U-Boot runs, Xen never starts, and U-Boot says why', () => {
    const r = readConsoleLog(fixture('qemu-arm32-wrong-xen-address.txt'), QEMU_MILESTONES);
    expect(r.reached.map((m) => m.name)).toEqual(['U-Boot banner', 'boot script found']);
    expect(ids(r)).toEqual(['XB-MEM-001']);
    expect(r.findings[0]!.line.raw).toBe('zimage: Bad magic!');
    expect(r.ok).toBe(false);
  });

  it('no dom0 module: Xen starts, dom0 never does, and Xen says why', () => {
    const r = readConsoleLog(fixture('qemu-arm32-no-dom0-module.txt'), QEMU_MILESTONES);
    expect(r.reached.map((m) => m.name)).toEqual(['U-Boot banner', 'boot script found', 'Xen banner']);
    expect(r.missing).toEqual(['dom0 kernel started', 'dom0 userspace reached']);
    expect(ids(r)).toEqual(['XB-BOOT-002']);
    expect(r.findings[0]!.line.raw).toBe('(XEN) Missing kernel boot module?');
  });
});

describe('xenbuild check --log', () => {
  it('prints the reading, exits 1 on a failure, and names the board file and key with --board', () => {
    const r = cli(['--log', path.join(LOGS, 'seed-1-cpu1-not-hyp.txt'), '--board', 'dra7-evm', '--workdir', makeTempDir()]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^error {2}XB-DT-002 {3}Xen read the arch timer's frequency as 0/m);
    expect(r.stdout).toMatch(/^ +line 1: \(XEN\) Using generic timer at 0 KHz$/m);
    expect(r.stdout).toMatch(/^ +fix: .* \(configs\/boards\/dra7-evm\.yaml: dtb\.fixups\)$/m);
    expect(r.stdout).toMatch(/^ +fix: .* \(configs\/boards\/dra7-evm\.yaml: xen\.hyp\)$/m);
    expect(r.stdout).toContain('2 failures named\n');
  });

  it('exits 0 for a boot that reached its last milestone, and 2 for a log it cannot read', () => {
    expect(cli(['--log', '-'], 'U-Boot 2023.01\n(XEN) Xen version 4.17.5\nBooting Linux on physical CPU 0x0\nRun /sbin/init as init process\n').status).toBe(0);
    const missing = cli(['--log', path.join(LOGS, 'no-such.txt')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('cannot read the console log');
    const binary = cli(['--log', '-'], Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 1]));
    expect(binary.status).toBe(2);
    expect(binary.stderr).toContain('holds NUL bytes: it is not a console log');
  });
});
