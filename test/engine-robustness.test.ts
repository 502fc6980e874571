import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rig } from './util/rig.js';

/**
 * A board whose tasks are slow or fail on purpose: "slow" writes half of its
 * output, sleeps, then finishes it; "bad" fails; "indep" is independent of both.
 */
function slowBoard(rig: Rig): void {
  const src = rig.upstream('slow', { README: 'slow\n' });
  rig.write(
    'recipes/slow.yaml',
    `recipe: slow
source: { git: "${src.url}", commit: ${src.commit} }
variables: { seconds: "3" }
tasks:
  work:
    run: [python3, -c, "import sys, time; open('out','w').write('partial'); print('started', flush=True); time.sleep(float(sys.argv[1])); open('out','w').write('complete')", "\${seconds}"]
    outputs: [out]
  after:
    after: [work]
    run: [cp, out, out2]
    outputs: [out2]
`,
  );
  rig.write(
    'recipes/bad.yaml',
    `recipe: bad
tasks:
  fail:
    run: [python3, -c, "import time; print('about to fail'); time.sleep(0.5); raise SystemExit(3)"]
  later:
    after: [fail]
    run: ["true"]
`,
  );
  rig.write(
    'recipes/literal.yaml',
    `recipe: literal
tasks:
  echo:
    run: [printf, "%s\\n", "$(touch PWNED1)", "\`touch PWNED2\`", "a; touch PWNED3", "b && touch PWNED4", "$HOME", "$\${notavar}"]
    cwd: "\${boarddir}"
`,
  );
  rig.write('configs/boards/slowb.yaml', 'board: slowb\ncomponents:\n  slow: slow\n');
  rig.write('configs/boards/badb.yaml', 'board: badb\ncomponents:\n  bad: bad\n  slow: { recipe: slow, variables: { seconds: "2" } }\n');
  rig.write('configs/boards/lit.yaml', 'board: lit\ncomponents:\n  literal: literal\n');
}

async function waitFor(predicate: () => boolean, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('robustness', () => {
  const rig = new Rig();
  beforeAll(() => slowBoard(rig));
  afterAll(() => rig.dispose());

  it('a run killed with SIGKILL mid-task is not fresh afterwards, and the rerun completes', async () => {
    const child = rig.spawn(['all', '--board', 'slowb']);
    const log = rig.path('build/slowb/logs/slow:work.log');
    await waitFor(() => existsSync(log) && /^started$/m.test(readFileSync(log, 'utf8')));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(readFileSync(rig.path('build/slowb/src/slow/out'), 'utf8')).toBe('partial');
    const status = rig.xenbuild(['status', '--board', 'slowb']);
    expect(status.stdout).toMatch(/slow:work\s+stale\s+never ran/);
    const r = rig.xenbuild(['all', '--board', 'slowb']);
    expect(r.status).toBe(0);
    expect(rig.statuses('slowb')).toEqual({ 'slow:fetch': 'fresh', 'slow:work': 'ran', 'slow:after': 'ran' });
    expect(readFileSync(rig.path('build/slowb/src/slow/out2'), 'utf8')).toBe('complete');
    // The killed run's orphaned child was stopped before the rerun, not left writing into the tree.
    expect(readdirSync(rig.path('build/slowb/state/running'))).toEqual([]);
  });

  it('a second concurrent run refuses and names the holder; --wait queues behind it', async () => {
    rig.xenbuild(['clean', 'slow:work', '--board', 'slowb']);
    rmSync(rig.path('build/slowb/logs/slow:work.log'), { force: true });
    const first = rig.spawn(['all', '--board', 'slowb']);
    const log = rig.path('build/slowb/logs/slow:work.log');
    await waitFor(() => existsSync(log) && /^started$/m.test(readFileSync(log, 'utf8')));
    const second = rig.xenbuild(['all', '--board', 'slowb']);
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(
      /build\/slowb\/\.lock is held by another xenbuild \(pid \d+ on .*, "xenbuild all", since .*\); wait for it to finish, or pass --wait/,
    );
    const third = rig.spawn(['all', '--board', 'slowb', '--wait']);
    const [code1, code3] = await Promise.all([new Promise((r) => first.once('exit', r)), new Promise((r) => third.once('exit', r))]);
    expect(code1).toBe(0);
    expect(code3).toBe(0);
    expect(Object.values(rig.statuses('slowb'))).toEqual(['fresh', 'fresh', 'fresh']);
  });

  it('Ctrl-C stops every child process group and leaves nothing looking fresh', async () => {
    rig.xenbuild(['clean', 'slow:work', '--board', 'slowb']);
    rmSync(rig.path('build/slowb/logs/slow:work.log'), { force: true });
    const child = rig.spawn(['all', '--board', 'slowb']);
    const log = rig.path('build/slowb/logs/slow:work.log');
    await waitFor(() => existsSync(log) && /^started$/m.test(readFileSync(log, 'utf8')));
    const t0 = Date.now();
    child.kill('SIGINT');
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(130);
    expect(Date.now() - t0).toBeLessThan(2500);
    const report = rig.report('slowb');
    expect(report.ok).toBe(false);
    expect(rig.statuses('slowb')['slow:work']).toBe('cancelled');
    expect(rig.statuses('slowb')['slow:after']).toBe('skipped');
    await new Promise((r) => setTimeout(r, 3500));
    // The python child was killed: it never finished its output.
    expect(readFileSync(rig.path('build/slowb/src/slow/out'), 'utf8')).toBe('partial');
    expect(existsSync(rig.path('build/slowb/.lock'))).toBe(false);
  });

  it('fails fast by default, cancelling running siblings; --keep-going finishes independent work', () => {
    let r = rig.xenbuild(['all', '--board', 'badb']);
    expect(r.status).toBe(1);
    let s = rig.statuses('badb');
    expect(s['bad:fail']).toBe('failed');
    expect(s['bad:later']).toBe('skipped');
    expect(s['slow:work']).toBe('cancelled');
    expect(r.stdout).toContain('FAILED  bad:fail: python3 -c');
    expect(r.stdout).toContain('exited with status 3');
    expect(r.stdout).toContain('about to fail');
    r = rig.xenbuild(['all', '--board', 'badb', '--keep-going']);
    expect(r.status).toBe(1);
    s = rig.statuses('badb');
    expect(s['bad:fail']).toBe('failed');
    expect(s['bad:later']).toBe('skipped');
    expect(s['slow:work']).toBe('ran');
    expect(s['slow:after']).toBe('ran');
  });

  it('passes $(…), backticks, ; and && to the program literally, never through a shell', () => {
    const r = rig.xenbuild(['all', '--board', 'lit']);
    expect(r.status).toBe(0);
    const log = rig.read('build/lit/logs/literal:echo.log').split('\n');
    expect(log).toContain('$(touch PWNED1)');
    expect(log).toContain('`touch PWNED2`');
    expect(log).toContain('a; touch PWNED3');
    expect(log).toContain('b && touch PWNED4');
    expect(log).toContain('$HOME');
    expect(log).toContain('${notavar}');
    for (const dir of [rig.project, rig.path('build/lit')]) {
      expect(readdirSync(dir).filter((f) => f.startsWith('PWNED'))).toEqual([]);
    }
  });
});
