import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rig } from './util/rig.js';

/**
 * Two recipes whose make runs four 0.4 s jobs each, recording when each job
 * starts and ends: with --jobs N, never more than N jobs run at once across
 * both makes, and with enough jobs they do run in parallel.
 */
describe('concurrent makes share one job budget', () => {
  const rig = new Rig();
  beforeAll(() => {
    const makefile = ['all: j1 j2 j3 j4', 'j1 j2 j3 j4:', '\tpython3 $(JOURNAL) $(NAME)-$@', ''].join('\n');
    const journal = `import fcntl, sys, time
def log(what):
    with open(${JSON.stringify(rig.path('journal.txt'))}, 'a') as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(f"{time.monotonic():.4f} {what} {sys.argv[1]}\\n")
log('start'); time.sleep(0.4); log('end')
`;
    rig.write('jobs/Makefile', makefile);
    rig.write('jobs/journal.py', journal);
    for (const name of ['left', 'right']) {
      rig.write(
        `recipes/${name}.yaml`,
        `recipe: ${name}\ntasks:\n  build:\n    make: [-f, "\${root}/jobs/Makefile", "JOURNAL=\${root}/jobs/journal.py", NAME=${name}]\n`,
      );
    }
    rig.write('configs/boards/twin.yaml', 'board: twin\ncomponents:\n  left: left\n  right: right\n');
  });
  afterAll(() => rig.dispose());

  const maxConcurrency = (): number => {
    const events = readFileSync(rig.path('journal.txt'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' '))
      .map(([t, what]) => ({ t: Number(t), d: what === 'start' ? 1 : -1 }))
      .sort((a, b) => a.t - b.t || a.d - b.d);
    let now = 0;
    let max = 0;
    for (const e of events) max = Math.max(max, (now += e.d));
    return max;
  };

  it('never runs more than --jobs at once', () => {
    const r = rig.xenbuild(['all', '--board', 'twin', '--jobs', '2']);
    expect(r.status).toBe(0);
    expect(maxConcurrency()).toBeLessThanOrEqual(2);
    expect(rig.read('build/twin/logs/left:build.log')).toContain('up to 2 jobs (jobserver)');
  });

  it('uses the whole budget across both makes', () => {
    rig.write('journal.txt', '');
    const r = rig.xenbuild(['run', 'left:build', 'right:build', '--force', '--board', 'twin', '--jobs', '6']);
    expect(r.status).toBe(0);
    const max = maxConcurrency();
    expect(max).toBeGreaterThan(2);
    expect(max).toBeLessThanOrEqual(6);
  });
});
