import { chownSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exec } from '../src/host/process.js';
import { withFakeroot } from '../src/image/fakeroot.js';
import { failureOf, makeTempDir, removeTempDirs, writeFiles } from './util/tmp.js';

afterAll(removeTempDirs);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
/** Whether faked's SysV message queues (keyed by its key) still exist. */
const queues = (key: string) =>
  readFileSync('/proc/sysvipc/msg', 'utf8')
    .split('\n')
    .slice(1)
    .filter((l) => l.trim().split(/\s+/)[0] === key);

describe('withFakeroot', () => {
  it('shows every file as root:root to the program, changes nothing on disk, and stops faked afterwards', async () => {
    const dir = makeTempDir('xenbuild-fakeroot-');
    writeFiles(dir, { 'mine.txt': 'x\n' });
    const file = path.join(dir, 'mine.txt');
    if (process.getuid?.() === 0) chownSync(file, 1000, 1000);
    const before = statSync(file);
    expect(before.uid).not.toBe(0);
    let faked = { key: '', pid: 0 };
    const groups: [number, boolean][] = [];
    const seen = await withFakeroot({ cwd: dir, onGroup: (pgid, running) => groups.push([pgid, running]) }, (env, f) => {
      faked = f;
      expect(alive(f.pid)).toBe(true);
      return exec(['stat', '-c', '%u:%g', file], { cwd: dir, env, capture: true, onLine: () => undefined });
    });
    expect(seen.trim()).toBe('0:0');
    expect(statSync(file).uid).toBe(before.uid);
    expect(alive(faked.pid)).toBe(false);
    expect(queues(faked.key)).toEqual([]);
    // Its process group was announced running, then gone (the runner records it, to stop it after a kill -9).
    expect(groups).toEqual([
      [faked.pid, true],
      [faked.pid, false],
    ]);
  });

  it('stops faked when the program is cancelled', async () => {
    const dir = makeTempDir('xenbuild-fakeroot-');
    const controller = new AbortController();
    let pid = 0;
    const failure = await failureOf(
      withFakeroot({ cwd: dir, signal: controller.signal }, (env, f) => {
        pid = f.pid;
        setTimeout(() => controller.abort(), 100);
        return exec(['sleep', '30'], { cwd: dir, env, signal: controller.signal, onLine: () => undefined });
      }),
    );
    expect(failure).toEqual({ reason: 'cancelled' });
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(false);
  });
});
