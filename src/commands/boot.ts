import { createWriteStream, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { MilestoneTracker, type Milestone } from '../boot/milestones.js';
import { boardMilestones, readConsoleLog } from '../check/read-log.js';
import { TaskFailure } from '../host/failure.js';
import { exec } from '../host/process.js';
import { writeFileAtomic } from '../util/fs.js';
import { layoutOf } from '../model/board-layout.js';
import { formatDuration } from '../report/format.js';
import { buildTasks } from './build-tasks.js';
import { analysedBoard, CommandError, EXIT, withInterrupts, type GlobalOptions } from './context.js';

export interface BootOptions extends GlobalOptions {
  /** Boot this image file as it is (a release, or one broken on purpose) instead of building the board's. */
  image?: string;
  timeout?: number;
  smp?: number;
  /** The emulated RAM in MiB, instead of the board's. */
  memory?: number;
  interactive?: boolean;
}

const TAIL = 40;

/** logs/boot.json: what the last boot reached, and when (milliseconds after the emulator started). */
export interface BootSummary {
  /** The image booted, relative to the board directory. */
  image: string;
  ok: boolean;
  reached: { name: string; atMs: number }[];
  /** Optional milestones not seen. */
  notSeen: string[];
  /** The first required milestone not reached. */
  missing?: string;
}

/**
 * `xenbuild boot`: brings the image up to date, starts the board's emulator
 * on it, records the console to logs/boot.log and reports each milestone with
 * its time. Succeeds only when the last milestone appears; otherwise says
 * which was the last one reached and shows the console's tail. The emulator
 * is always stopped: on success, on a timeout and on Ctrl-C.
 */
export async function bootCommand(opts: BootOptions): Promise<number> {
  const { settings, graph } = await analysedBoard(opts);
  if (!graph.qemu) throw new CommandError(`board ${graph.board} has no qemu section, so it cannot be booted here; flash it with xenbuild flash`);
  const layout = layoutOf(graph);
  const imageTask = graph.tasks.find((t) => t.outputs.some((o) => o.path === layout.image));
  if (!imageTask) throw new CommandError(`board ${graph.board} makes no ${relative(graph.boardDir, layout.image)} to boot (it has no image section)`);
  const image = opts.image ? resolve(opts.image) : layout.image;
  if (opts.image && !existsSync(image)) throw new CommandError(`--image ${opts.image} does not exist`);

  const memory = emulatedMemory(graph.board, graph.qemu, opts.memory);

  // The image (unless one is given), and whatever else of deploy/ the emulator's command line names (the firmware).
  const named = graph.qemu.command.flatMap((arg) => [...arg.matchAll(/\$\{deploydir\}\/([^,\s]+)/g)].map((m) => `deploy/${m[1]}`));
  const targets = [...(opts.image ? [] : [imageTask.id]), ...graph.tasks.filter((t) => t.outputs.some((o) => named.includes(o.name))).map((t) => t.id)];
  const built = await buildTasks(graph, settings, opts, 'xenbuild boot', { targets });
  if (built.cancelled) return EXIT.interrupted;
  if (!built.ok || !existsSync(image)) return EXIT.failed;

  const argv = emulatorArgv(graph.board, graph.qemu.command, {
    image,
    deploydir: layout.deploy,
    smp: String(opts.smp ?? graph.qemu.smp),
    ...(memory !== undefined ? { memory: String(memory) } : {}),
  });
  if (opts.interactive) {
    const { execa } = await import('execa');
    process.stdout.write(`boot    ${argv.join(' ')}\n        (interactive: the console is yours; QEMU's escape is Ctrl-A X)\n`);
    const r = await execa(argv[0]!, argv.slice(1), { stdio: 'inherit', reject: false });
    return r.exitCode ?? EXIT.failed;
  }

  const logPath = layout.log('boot');
  const log = createWriteStream(logPath);
  const tail: string[] = [];
  const tracker = new MilestoneTracker(graph.qemu.milestones);
  const timeoutMs = (opts.timeout ?? graph.qemu.timeoutSeconds) * 1000;
  const shown = relative(process.cwd(), logPath) || logPath;
  process.stdout.write(`boot    ${argv.join(' ')}\n        console: ${shown}\n`);
  const started = Date.now();
  const stop = new AbortController();
  let timedOut: string | undefined;
  let settleTimer: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    timedOut = `not reached within ${formatDuration(timeoutMs)}`;
    stop.abort();
  }, timeoutMs);
  // A milestone's own timeout counts from the one before it on its console.
  const watch = setInterval(() => {
    const late = tracker.overdue(Date.now() - started);
    if (!late || timedOut) return;
    const limit = formatDuration(late.milestone.timeout! * 1000);
    timedOut = `not reached within ${limit} ${late.since ? `of ${late.since}` : 'of the start'} (its timeout)`;
    stop.abort();
  }, 100);
  const outcome = await withInterrupts(async (signal) => {
    signal.addEventListener('abort', () => stop.abort(), { once: true });
    try {
      await exec(argv, {
        cwd: graph.boardDir,
        signal: stop.signal,
        killGraceMs: 1000,
        onLine: (line) => {
          log.write(line + '\n');
          tail.push(line);
          if (tail.length > TAIL) tail.shift();
          for (const r of tracker.feed(line, Date.now() - started)) {
            process.stdout.write(`  ${formatDuration(r.atMs).padStart(6)}  ${r.name}\n`);
            // The last required milestone: give the guest a few seconds to power off by itself.
            if (tracker.done && !settleTimer) settleTimer = setTimeout(() => stop.abort(), 5000);
          }
        },
      });
      return signal.aborted ? 'interrupted' : 'exited';
    } catch (err) {
      if (!(err instanceof TaskFailure)) throw err;
      if (signal.aborted) return 'interrupted';
      return err.failure.reason === 'cancelled' ? 'stopped' : 'failed';
    } finally {
      clearTimeout(timer);
      clearInterval(watch);
      if (settleTimer) clearTimeout(settleTimer);
      await new Promise<void>((resolve) => log.end(resolve));
    }
  });
  if (outcome === 'interrupted') return EXIT.interrupted;
  const notSeen = [...tracker.skipped, ...tracker.unseen];
  // The milestones as data, beside the console: for CI artifacts and the boot benchmark (src/bench/boot.ts).
  const summary: BootSummary = {
    image: relative(graph.boardDir, image),
    ok: tracker.done,
    reached: tracker.reached.map((r) => ({ name: r.name, atMs: r.atMs })),
    notSeen,
    ...(tracker.done ? {} : { missing: tracker.next!.name }),
  };
  await writeFileAtomic(layout.log('boot').replace(/\.log$/, '.json'), JSON.stringify(summary, null, 1) + '\n');
  if (notSeen.length > 0) process.stdout.write(`  ${'-'.padStart(6)}  not seen (optional): ${notSeen.join(', ')}\n`);
  if (tracker.done) {
    const every = notSeen.length > 0 ? 'every required milestone reached' : 'every milestone reached';
    process.stdout.write(`ok: ${every}, the last (${tracker.last!.name}) after ${formatDuration(tracker.last!.atMs)}\n`);
    return EXIT.ok;
  }
  const why = timedOut ?? `not reached: the emulator ${outcome === 'failed' ? 'failed' : 'exited'} after ${formatDuration(Date.now() - started)}`;
  await reportShortfall(tracker, why, tail, logPath, graph.qemu.milestones);
  return EXIT.failed;
}

/**
 * The RAM to emulate: --memory, else the board's. Less than the board's RAM
 * would put planned modules (and dom0's memory) outside the machine.
 */
function emulatedMemory(board: string, qemu: { memoryMiB?: number; ramMiB?: number }, asked: number | undefined): number | undefined {
  if (asked === undefined) return qemu.memoryMiB;
  const boardMiB = qemu.ramMiB;
  if (!Number.isSafeInteger(asked) || asked <= 0) throw new CommandError(`--memory ${asked} is not a whole number of MiB`, EXIT.usage);
  if (boardMiB !== undefined && asked < boardMiB) {
    throw new CommandError(
      `--memory ${asked} is less than board ${board}'s RAM (${boardMiB} MiB in memory.ram), where the boot files are planned; ` +
        'give at least that, or a profile whose memory.ram is smaller',
      EXIT.usage,
    );
  }
  return asked;
}

/** The emulator's command line with ${image}, ${deploydir}, ${smp} and ${memory} filled in; any other name is the board's mistake. */
function emulatorArgv(board: string, command: readonly string[], vars: Record<string, string>): string[] {
  return command.map((arg) =>
    arg.replace(/\$\{([^}]*)\}/g, (_, name: string) => {
      const value = vars[name];
      if (name === 'memory' && value === undefined) {
        throw new CommandError(`qemu.command of board ${board} uses \${memory}, but the board has no memory.ram and no qemu.memory: set one, or give --memory`);
      }
      if (value === undefined) {
        throw new CommandError(`qemu.command of board ${board} uses \${${name}}; only \${image}, \${deploydir}, \${smp} and \${memory} are known`);
      }
      return value;
    }),
  );
}

/** Says which milestone was not reached and shows the console's tail, with the rule of the check that explains where it stopped. */
async function reportShortfall(
  tracker: MilestoneTracker,
  why: string,
  tail: readonly string[],
  logPath: string,
  milestones: readonly Milestone[],
): Promise<void> {
  const shown = relative(process.cwd(), logPath) || logPath;
  const last = tracker.last;
  process.stdout.write(
    `FAILED: ${tracker.next!.name} ${why}; last milestone reached: ${last ? `${last.name} (${formatDuration(last.atMs)})` : 'none'}\n` +
      `--- last ${tail.length} lines of ${shown} ---\n${tail.join('\n')}\n--- end of boot.log ---\n`,
  );
  // The same reader as `xenbuild check --log`: the rule that explains where the console stopped, when one does.
  const reading = readConsoleLog(await readFile(logPath), boardMilestones(milestones));
  for (const f of reading.findings) process.stdout.write(`explained by ${f.id}: ${f.message}\n  line ${f.line.no}: ${f.line.raw.trim()}\n  fix: ${f.fix}\n`);
  if (reading.findings.length === 0) process.stdout.write('no rule of xenbuild check explains where the console stopped\n');
}
