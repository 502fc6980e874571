import type { Reporter, TestModule } from 'vitest/node';

/**
 * Ends the run with one plain line, "N passed, N failed[, N skipped]", that
 * any CI reads the same way whatever the test runner is. A hook that failed
 * (beforeAll, afterAll) is a failure, and so is a file that did not load,
 * though no test of theirs failed.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, errors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of modules) {
      for (const holder of [module, ...module.children.allSuites()]) failed += holder.errors().length;
      const tests = [...module.children.allTests()];
      if (module.state() === 'failed' && tests.length === 0 && module.errors().length === 0) failed++;
      for (const test of tests) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
    }
    failed += errors.length;
    process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  }
}
