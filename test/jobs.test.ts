import { describe, expect, it } from 'vitest';
import { JobBudget } from '../src/engine/jobs.js';

describe('job budget', () => {
  it('splits the free jobs among shared tasks waiting together and never hands out more than the total', async () => {
    const budget = new JobBudget(4);
    const [a, b] = await Promise.all([budget.acquire(true), budget.acquire(true)]);
    expect([a, b]).toEqual([2, 2]);
    expect(budget.available).toBe(0);
    let third: number | undefined;
    const pending = budget.acquire(false).then((n) => (third = n));
    await new Promise((r) => setImmediate(r));
    expect(third).toBeUndefined();
    budget.release(a);
    await pending;
    expect(third).toBe(1);
    expect(budget.available).toBe(1);
  });

  it('gives a lone shared task everything, and plain tasks one job each', async () => {
    const budget = new JobBudget(3);
    expect(await budget.acquire(true)).toBe(3);
    budget.release(3);
    const got = await Promise.all([budget.acquire(false), budget.acquire(false), budget.acquire(false)]);
    expect(got).toEqual([1, 1, 1]);
  });

  it('leaves one job for each plain task waiting behind a shared one', async () => {
    const budget = new JobBudget(4);
    const got = await Promise.all([budget.acquire(true), budget.acquire(false)]);
    expect(got).toEqual([3, 1]);
  });

  it('refuses to release more than it holds', () => {
    expect(() => new JobBudget(2).release(1)).toThrow(/Internal error/);
  });
});
