import { rm } from 'node:fs/promises';
import { parseSize } from '../boot/sizes.js';
import { directoryEntries } from '../host/task-cache.js';
import { formatSize } from '../util/units.js';
import { CommandError, settingsFor, type GlobalOptions } from './context.js';

/** The task cache's directories and servers, as the settings give them. */
async function where(opts: GlobalOptions): Promise<{ dirs: string[]; urls: string[] }> {
  const settings = await settingsFor(opts);
  const isUrl = (w: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(w);
  return { dirs: settings.taskCache.filter((w) => !isUrl(w)), urls: settings.taskCache.filter(isUrl) };
}

/**
 * `xenbuild cache stats`: each directory's entries, their size and when the
 * oldest and newest were last used; a server is named (its own tools keep it).
 */
export async function cacheStatsCommand(opts: GlobalOptions & { json?: boolean }): Promise<number> {
  const { dirs, urls } = await where(opts);
  const stats = [];
  for (const dir of dirs) {
    const entries = await directoryEntries(dir);
    const bytes = entries.reduce((n, e) => n + e.size, 0);
    stats.push({
      directory: dir,
      entries: entries.length,
      bytes,
      ...(entries.length ? { oldestUse: new Date(entries[0]!.usedMs).toISOString(), newestUse: new Date(entries.at(-1)!.usedMs).toISOString() } : {}),
    });
  }
  if (opts.json) {
    process.stdout.write(JSON.stringify({ directories: stats, servers: urls }, null, 2) + '\n');
    return 0;
  }
  if (dirs.length === 0 && urls.length === 0) process.stdout.write('the task cache is off (--no-task-cache, XENBUILD_TASK_CACHE=off or taskCache: false)\n');
  for (const s of stats) {
    const span = s.oldestUse ? `, last used ${s.oldestUse.slice(0, 10)} … ${s.newestUse!.slice(0, 10)}` : '';
    process.stdout.write(`${s.directory}: ${s.entries} ${s.entries === 1 ? 'entry' : 'entries'}, ${formatSize(s.bytes)}${span}\n`);
  }
  for (const url of urls) process.stdout.write(`${url}: a server (its size and expiry are the server's to keep)\n`);
  return 0;
}

/**
 * `xenbuild cache prune --max-size SIZE`: removes the least recently used
 * entries of each directory until it holds at most SIZE. A hit counts as a use.
 */
export async function cachePruneCommand(opts: GlobalOptions & { maxSize: string }): Promise<number> {
  let max: number;
  try {
    max = parseSize(opts.maxSize);
  } catch {
    throw new CommandError(`--max-size ${JSON.stringify(opts.maxSize)} is not a size: give bytes or a number with K, M, G or T (e.g. 10G)`);
  }
  const { dirs } = await where(opts);
  if (dirs.length === 0) throw new CommandError('there is no task cache directory to prune (the task cache is off, or only a server)');
  for (const dir of dirs) {
    const entries = await directoryEntries(dir);
    let total = entries.reduce((n, e) => n + e.size, 0);
    const before = total;
    let removed = 0;
    for (const e of entries) {
      if (total <= max) break;
      await rm(e.file, { force: true });
      total -= e.size;
      removed++;
    }
    process.stdout.write(
      `${dir}: removed ${removed} of ${entries.length} entries, ${formatSize(before)} → ${formatSize(total)} (at most ${formatSize(max)})\n`,
    );
  }
  return 0;
}
