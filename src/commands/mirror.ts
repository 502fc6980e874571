import { mkdir } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { exportDebian, exportGit, exportTarball, indexDebianMirror } from '../actions/mirror-export.js';
import type { TaskNode } from '../model/graph.js';
import { analysedBoard, CommandError, EXIT, type GlobalOptions } from './context.js';
import { runCommand } from './run.js';

/**
 * `xenbuild mirror DIR`: every source the board (and profile) needs, in a
 * mirror directory a later `--mirror DIR` build reads without a network.
 * The fetch tasks run first, as in any build (from the network, the cache or
 * other --mirror directories); then what they left in the cache is written
 * into DIR (actions/mirror-export.ts). Running it for more boards or profiles
 * adds to the same DIR.
 */
export async function mirrorCommand(dir: string, opts: GlobalOptions): Promise<number> {
  const { settings, graph } = await analysedBoard(opts);
  const fetches = graph.tasks.filter((t) => t.action.kind.startsWith('fetch-'));
  if (fetches.length === 0) {
    process.stdout.write(`${graph.board} has no sources to mirror\n`);
    return EXIT.ok;
  }
  if (opts.dryRun) throw new CommandError('xenbuild mirror has no --dry-run: list the sources with xenbuild list', EXIT.usage);
  const fetched = await runCommand(
    fetches.map((t) => t.id),
    opts,
    `xenbuild mirror ${dir}`,
  );
  if (fetched !== EXIT.ok) return fetched;

  const out = resolve(dir);
  await mkdir(out, { recursive: true });
  const show = (p: string) => {
    const rel = relative(process.cwd(), p);
    return rel === '' || rel.startsWith('..') ? p : rel;
  };
  const archs: string[] = [];
  let debian = 0;
  /** Writes one fetch task's source into DIR; says where. */
  const exportOne = async (a: TaskNode['action']): Promise<string | undefined> => {
    switch (a.kind) {
      case 'fetch-git':
        return `${show(await exportGit(settings.cacheDir, a.source, out))}  ${a.source.commit.slice(0, 12)}${a.source.ref ? ` (${a.source.ref})` : ''}`;
      case 'fetch-tarball':
        return show(await exportTarball(settings.cacheDir, a.source, out));
      case 'fetch-debian-source':
      case 'fetch-debian-binary':
        if (a.kind === 'fetch-debian-binary') archs.push(a.source.arch ?? 'armhf');
        debian++;
        return (await exportDebian(settings.cacheDir, a.source, out)).map(show).join(', ');
      default:
        return undefined;
    }
  };
  for (const task of fetches) {
    let where: string | undefined;
    try {
      where = await exportOne(task.action);
    } catch (err) {
      throw new CommandError(`xenbuild: error: ${task.id}: cannot write it into ${show(out)}: ${(err as Error).message}`, EXIT.failed);
    }
    if (where !== undefined) process.stdout.write(`mirrored ${task.id.padEnd(24)} ${where}\n`);
  }
  if (debian > 0) indexDebianMirror(out, archs);
  process.stdout.write(
    `\n${fetches.length} source${fetches.length === 1 ? '' : 's'} of ${graph.board}${graph.profile ? ` (profile ${graph.profile})` : ''} in ${show(out)}; build offline with --mirror ${show(out)}\n`,
  );
  return EXIT.ok;
}
