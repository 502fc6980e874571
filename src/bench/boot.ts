/**
 * `npm run bench:boot`: how long an emulated boot takes to each milestone,
 * as the median of N boots (default 5), against a baseline booted in the
 * same run: the same image with Xen's boot scrub back on (its boot script
 * without `bootscrub=off`), which is what the board's one boot-speed setting
 * that lives in the image saves. The other one, U-Boot's autoboot countdown
 * (CONFIG_BOOTDELAY=0), is in the firmware both boots share.
 *
 *   npm run bench:boot -- [--board qemu-arm32] [--profile P] [--runs 5] [--workdir build]
 *
 * It needs the board built (`xenbuild all`). Boots alternate, tuned and
 * baseline, so that a machine that gets busier slows both alike. Each boot's
 * milestones come from logs/boot.json, which `xenbuild boot` writes.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { BootSummary } from '../commands/boot.js';
import { stats, timeProcess } from './timing.js';

const SCRUB_OFF = / bootscrub=off\b/g;

function main(): number {
  const { values } = parseArgs({
    options: {
      board: { type: 'string', default: 'qemu-arm32' },
      profile: { type: 'string' },
      runs: { type: 'string', default: '5' },
      workdir: { type: 'string', default: 'build' },
    },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a whole number of at least 1, not "${values.runs}"`);
  const board = values.board;
  const workdir = resolve(values.workdir);
  const deploy = join(workdir, board, 'deploy');
  const image = join(deploy, `${board}.img`);
  const cmd = join(deploy, 'boot', 'boot.cmd');
  if (!existsSync(image) || !existsSync(cmd)) throw new Error(`${image} or its boot.cmd is not built: run xenbuild all --board ${board} first`);
  const script = readFileSync(cmd, 'utf8');
  if (!SCRUB_OFF.test(script)) throw new Error(`${cmd} has no bootscrub=off: there is no baseline to boot against`);

  const scratch = mkdtempSync(join(tmpdir(), 'xenbuild-bench-boot-'));
  try {
    const baseline = baselineImage(image, script, scratch);
    const cli = resolve(import.meta.dirname, '..', 'cli.js');
    const boot = (img: string): BootSummary => {
      const argv = [process.execPath, cli, 'boot', '--board', board, '--image', img, '--workdir', workdir, '--reporter', 'plain'];
      if (values.profile) argv.push('--profile', values.profile);
      const { result } = timeProcess(argv, process.cwd(), process.env);
      const summary = JSON.parse(readFileSync(join(workdir, board, 'logs', 'boot.json'), 'utf8')) as BootSummary;
      if (result.status !== 0 || !summary.ok) throw new Error(`a boot of ${img} failed:\n${result.stdout}${result.stderr}`);
      return summary;
    };
    const tuned: BootSummary[] = [];
    const base: BootSummary[] = [];
    for (let i = 0; i < runs; i++) {
      tuned.push(boot(image));
      base.push(boot(baseline));
      process.stderr.write(`boot ${i + 1}/${runs}: ${last(tuned.at(-1)!)} ms, baseline ${last(base.at(-1)!)} ms\n`);
    }
    process.stdout.write(report(board, runs, tuned, base));
    return 0;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function last(s: BootSummary): number {
  return s.reached.at(-1)?.atMs ?? NaN;
}

/** A copy of the image whose boot script boots Xen with its default boot scrub. */
function baselineImage(image: string, script: string, dir: string): string {
  const copy = join(dir, 'baseline.img');
  copyFileSync(image, copy);
  writeFileSync(join(dir, 'boot.cmd'), script.replace(SCRUB_OFF, ''));
  execFileSync(
    'mkimage',
    ['-A', 'arm', '-O', 'linux', '-T', 'script', '-C', 'none', '-n', 'bench baseline', '-d', join(dir, 'boot.cmd'), join(dir, 'boot.scr')],
    {
      stdio: 'ignore',
    },
  );
  const table = JSON.parse(execFileSync('sfdisk', ['--json', copy], { encoding: 'utf8' })) as { partitiontable: { partitions: { start: number }[] } };
  const offset = table.partitiontable.partitions[0]!.start * 512;
  execFileSync('mcopy', ['-o', '-i', `${copy}@@${offset}`, join(dir, 'boot.scr'), '::/boot.scr']);
  return copy;
}

/** The table: each milestone's median (min–max) for both, and the tuned/baseline ratio. */
function report(board: string, runs: number, tuned: BootSummary[], base: BootSummary[]): string {
  const names = tuned[0]!.reached.map((m) => m.name);
  const at = (list: BootSummary[], name: string) => stats(list.map((s) => s.reached.find((m) => m.name === name)?.atMs ?? NaN));
  const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const rows = names.map((name) => {
    const t = at(tuned, name);
    const b = at(base, name);
    return `| ${name} | ${sec(t.median)} (${sec(t.min)}–${sec(Math.max(...t.samples))}) | ${sec(b.median)} | ${(t.median / b.median).toFixed(2)} |`;
  });
  return [
    `boot milestones of ${board}, median of ${runs} boots each (min–max), against the same image with Xen's boot scrub on`,
    '',
    '| milestone | this board | baseline: boot scrub on | ratio |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

try {
  process.exitCode = main();
} catch (err) {
  process.stderr.write(`bench:boot: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
