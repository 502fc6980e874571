import { defineConfig } from 'vitest/config';

/**
 * The tests that drive src/engine/ and src/host/ in-process, for `npm run mutate` (StrykerJS):
 * a CLI subprocess runs the built dist/, which mutants never reach.
 */
export default defineConfig({
  test: {
    include: ['test/engine-*.test.ts', 'test/host-*.test.ts', 'test/lock.test.ts', 'test/report.test.ts', 'test/vars.test.ts'],
    exclude: ['test/engine-e2e.test.ts', 'test/engine-robustness.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
