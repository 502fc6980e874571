import { linkSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isRecord, readJsonState } from '../util/fs.js';
import { hostname } from 'node:os';
import { dirname } from 'node:path';

interface LockHolder {
  pid: number;
  host: string;
  command: string;
  since: string;
}

export type LockResult = { ok: true; release: () => void } | { ok: false; holder: LockHolder };

/**
 * One xenbuild at a time per build directory. The lock file names its holder;
 * a lock left by a process that no longer exists (on this host) is taken over.
 */
export function acquireLock(path: string, command: string): LockResult {
  mkdirSync(dirname(path), { recursive: true });
  const me: LockHolder = { pid: process.pid, host: hostname(), command, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    // The lock appears whole or not at all: written aside, then hard-linked into place (fails if held).
    const tmp = `${path}.${process.pid}`;
    writeFileSync(tmp, JSON.stringify(me) + '\n');
    try {
      linkSync(tmp, path);
      rmSync(tmp, { force: true });
      let released = false;
      return {
        ok: true,
        release: () => {
          if (released) return;
          released = true;
          if (readHolder(path)?.pid === process.pid) rmSync(path, { force: true });
        },
      };
    } catch (err) {
      rmSync(tmp, { force: true });
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readHolder(path);
    if (holder && (holder.host !== me.host || isAlive(holder.pid))) return { ok: false, holder };
    // Stale: move it aside atomically so two takers cannot both win, then retry.
    try {
      renameSync(path, `${path}.stale-${process.pid}`);
      rmSync(`${path}.stale-${process.pid}`, { force: true });
    } catch {
      /* someone else took it over first; retry */
    }
  }
  const holder = readHolder(path);
  return { ok: false, holder: holder ?? { pid: 0, host: '?', command: '?', since: '?' } };
}

function readHolder(path: string): LockHolder | undefined {
  return readJsonState(path, (v): v is LockHolder => isRecord(v) && typeof v.pid === 'number');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
