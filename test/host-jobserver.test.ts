import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Jobserver } from '../src/host/jobserver.js';

describe('jobserver', () => {
  it('hands out exactly N slots: the implicit one and N-1 tokens', async () => {
    const server = await Jobserver.open(mkdtempSync(join(tmpdir(), 'xenbuild-js-')), 3);
    const a = await server.acquire();
    const b = await server.acquire();
    const c = await server.acquire();
    expect([a.implicit, b.implicit, c.implicit]).toEqual([true, false, false]);
    let fourth = false;
    const pending = server.acquire().then(() => (fourth = true));
    await new Promise((r) => setTimeout(r, 60));
    expect(fourth).toBe(false);
    expect(server.tryTakeExtra(5)).toBe(0);
    server.release(b);
    await pending;
    expect(fourth).toBe(true);
    server.close();
  });

  it('lends free tokens to a task that runs its own parallel jobs, and takes them back', async () => {
    const server = await Jobserver.open(mkdtempSync(join(tmpdir(), 'xenbuild-js-')), 4);
    const slot = await server.acquire();
    const extra = server.tryTakeExtra(10);
    expect(extra).toBe(3);
    server.release(slot, extra);
    expect(server.tryTakeExtra(10)).toBe(3);
    server.close();
  });
});
