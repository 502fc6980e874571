import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Process groups of running tasks, recorded under <boardDir>/state/running/.
 * Children run in their own process groups so that cancelling stops make and
 * every compiler under it; the price is that they outlive a xenbuild killed
 * with SIGKILL. The next run (holding the lock) stops such leftovers before it
 * starts anything, so two builds never write into one tree.
 */
export class ProcessGroups {
  constructor(private readonly dir: string) {}

  record(taskId: string, pgid: number): void {
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(join(this.dir, `${taskId}.${pgid}`), `${pgid} ${startTime(pgid) ?? ''}\n`);
  }

  forget(taskId: string, pgid: number): void {
    rmSync(join(this.dir, `${taskId}.${pgid}`), { force: true });
  }

  /** Kills every group a previous, dead run left behind; returns the task ids they belonged to. */
  reapLeftovers(): string[] {
    let entries: string[];
    try {
      entries = readdirSync(this.dir);
    } catch {
      return [];
    }
    const reaped: string[] = [];
    for (const entry of entries) {
      const file = join(this.dir, entry);
      let record: string;
      try {
        record = readFileSync(file, 'utf8');
      } catch {
        continue; // not a record of ours (a directory, unreadable): left alone
      }
      const [pgidText, started] = record.trim().split(' ');
      const pgid = Number(pgidText);
      // Only the same process (same start time) — a reused pid is someone else's.
      if (Number.isInteger(pgid) && pgid > 1 && started && startTime(pgid) === started) {
        try {
          process.kill(-pgid, 'SIGKILL');
          reaped.push(entry.slice(0, entry.lastIndexOf('.')));
        } catch {
          /* already gone */
        }
      }
      rmSync(file, { force: true });
    }
    return reaped;
  }
}

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
