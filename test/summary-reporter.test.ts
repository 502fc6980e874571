import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rig } from './util/rig.js';

const ROOT = resolve(import.meta.dirname, '..');

/** The suite's closing line counts what went wrong outside a test: a failed hook, a file that does not load. */
describe('the closing line of a test run', () => {
  const rig = new Rig('xenbuild-summary-');
  afterAll(() => rig.dispose());

  it('counts a failed beforeAll, a failed afterAll and a file that does not load as failures', () => {
    rig.write(
      'hooks.test.ts',
      `import { afterAll, beforeAll, describe, expect, it } from 'vitest';
describe('setup breaks', () => {
  beforeAll(() => { throw new Error('setup broke'); });
  it('never runs', () => expect(1).toBe(1));
  it('never runs either', () => expect(1).toBe(1));
});
describe('teardown breaks', () => {
  afterAll(() => { throw new Error('teardown broke'); });
  it('passes', () => expect(1).toBe(1));
});
it('passes too', () => expect(1).toBe(1));
`,
    );
    rig.write('broken.test.ts', "import { it } from 'vitest';\nimport './no-such-module.js';\nit('x', () => {});\n");
    rig.write(
      'vitest.config.mjs',
      `export default { test: { include: ['*.test.ts'], reporters: [${JSON.stringify(join(ROOT, 'test/util/summary-reporter.ts'))}] } };\n`,
    );
    const r = spawnSync(join(ROOT, 'node_modules/.bin/vitest'), ['run', '--root', rig.project], {
      cwd: rig.project,
      encoding: 'utf8',
      env: { ...process.env, CI: 'true' },
    });
    expect(r.status).toBe(1);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('2 passed, 3 failed, 2 skipped');
  });
});
