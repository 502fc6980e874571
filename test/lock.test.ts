import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireLock } from '../src/host/lock.js';

describe('build directory lock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xenbuild-lock-'));

  it('is exclusive, names its holder and is released', () => {
    const path = join(dir, 'a', '.lock');
    const first = acquireLock(path, 'xenbuild all');
    expect(first.ok).toBe(true);
    const second = acquireLock(path, 'xenbuild run x');
    expect(second).toMatchObject({ ok: false, holder: { pid: process.pid, command: 'xenbuild all', host: hostname() } });
    if (first.ok) first.release();
    expect(existsSync(path)).toBe(false);
    const third = acquireLock(path, 'xenbuild all');
    expect(third.ok).toBe(true);
    if (third.ok) third.release();
  });

  it('takes over a lock whose holder is dead', () => {
    const path = join(dir, 'b.lock');
    writeFileSync(path, JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), command: 'xenbuild all', since: 'then' }));
    const lock = acquireLock(path, 'xenbuild all');
    expect(lock.ok).toBe(true);
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.pid);
  });
});
