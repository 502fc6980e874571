import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { evaluateCheck } from '../actions/boot.js';
import { buildTasks } from './build-tasks.js';
import { analysedBoard, CommandError, EXIT, type GlobalOptions } from './context.js';

/**
 * `xenbuild check`: builds what the check needs (as far as it can), then
 * prints every finding, what could not be checked, and the memory map.
 * Exit 0 when nothing would stop the board from booting, 1 otherwise.
 */
export async function checkCommand(opts: GlobalOptions): Promise<number> {
  const { settings, graph } = await analysedBoard(opts);
  const task = graph.tasks.find((t) => t.action.kind === 'boot-check');
  if (!task || task.action.kind !== 'boot-check') {
    throw new CommandError(`board ${graph.board} has no boot sections (memory, xen, dom0, boot), so there is nothing to check`);
  }
  const action = task.action;
  const report = await buildTasks(graph, settings, opts, 'xenbuild check', { targets: [task.id], keepGoing: true });
  if (report.cancelled) return EXIT.interrupted;
  const { report: text, findings } = await evaluateCheck(action);
  const status = report.tasks.find((t) => t.id === task.id)?.status;
  process.stdout.write(`\n${text}`);
  const svg = graph.tasks.find((t) => t.action.kind === 'boot-plan');
  if (svg?.action.kind === 'boot-plan' && existsSync(svg.action.svg.path))
    process.stdout.write(`memory map: ${relative(process.cwd(), svg.action.svg.path)}\n`);
  if (status !== 'ran' && status !== 'fresh' && !findings.some((f) => f.severity === 'error')) {
    const failed = report.tasks.filter((t) => t.status === 'failed').map((t) => t.id);
    process.stdout.write(
      `\nthe check is incomplete: ${failed.length ? `${failed.join(', ')} failed` : 'its inputs were not built'}; what exists was checked\n`,
    );
    return EXIT.failed;
  }
  return findings.some((f) => f.severity === 'error') ? EXIT.failed : EXIT.ok;
}

/**
 * `xenbuild check --log FILE`: a real board's serial console read against the
 * rule book (check/read-log.ts). `--board` makes each fix name the board file
 * and key, and takes the board's milestones when it has an emulator's.
 * Exit 0 when the log reached its last milestone, 1 when it names a failure or
 * stops short, 2 when the log cannot be read.
 */
export async function checkLogCommand(file: string, opts: GlobalOptions): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const { boardMilestones, DEFAULT_MILESTONES, formatReading, readConsoleLog } = await import('../check/read-log.js');
  let bytes: Buffer;
  try {
    bytes = file === '-' ? await readStdin() : await readFile(file);
  } catch (err) {
    throw new CommandError(
      `xenbuild: error: cannot read the console log ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      EXIT.usage,
    );
  }
  if (bytes.includes(0)) throw new CommandError(`xenbuild: error: ${file} holds NUL bytes: it is not a console log (a capture saved as text is)`, EXIT.usage);
  let milestones = DEFAULT_MILESTONES;
  let boardFile: string | undefined;
  if (opts.board) {
    const { graph } = await analysedBoard(opts);
    boardFile = `configs/boards/${graph.board}.yaml`;
    if (graph.qemu) milestones = boardMilestones(graph.qemu.milestones);
  }
  const reading = readConsoleLog(bytes, milestones);
  process.stdout.write(formatReading(reading, { name: file === '-' ? 'standard input' : file, ...(boardFile ? { boardFile } : {}) }));
  return reading.ok ? EXIT.ok : EXIT.failed;
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
