import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { PassThrough } from 'node:stream';

import { describe, expect, it } from 'vitest';

import type { Reporter, RunEvent } from '../src/engine/events.js';
import { Tally, formatElapsed } from '../src/report/format.js';
import { createReporter, defaultReporterName } from '../src/report/index.js';
import { createJsonReporter, type JsonRecord } from '../src/report/json.js';
import { createPlainReporter, formatDuration } from '../src/report/plain.js';
import { createTtyReporter } from '../src/report/tty.js';

/** A stream that remembers everything written to it. */
function memoryStream(): { out: PassThrough; text: () => Promise<string> } {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  return {
    out,
    async text() {
      out.end();
      await once(out, 'end');
      return Buffer.concat(chunks).toString('utf8');
    },
  };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A run of four tasks: one fresh, one built, one failed, one skipped. */
const events: RunEvent[] = [
  {
    type: 'run-start',
    board: 'rpi4',
    jobs: 4,
    dryRun: false,
    tasks: [
      { id: 'xen:fetch', component: 'xen', name: 'fetch', title: 'git fetch', deps: [] },
      { id: 'xen:build', component: 'xen', name: 'build', title: 'make dist-xen', deps: ['xen:fetch'] },
      { id: 'linux:build', component: 'linux', name: 'build', title: 'make Image', deps: [] },
      { id: 'image:sdcard', component: 'image', name: 'sdcard', title: 'genimage', deps: ['xen:build', 'linux:build'] },
    ],
  },
  { type: 'task-fresh', id: 'xen:fetch' },
  {
    type: 'task-start',
    id: 'xen:build',
    why: { reason: 'changed', what: 'patches/xen/0001-fix.patch', was: 'abc123', now: 'def456' },
    jobs: 2,
    log: 'build/b/logs/xen:build.log',
  },
  { type: 'task-start', id: 'linux:build', why: { reason: 'never-ran' }, jobs: 2, log: 'build/b/logs/linux:build.log' },
  { type: 'task-output', id: 'xen:build', line: 'CC arch/arm/setup.o' },
  { type: 'task-output', id: 'linux:build', line: 'CC kernel/fork.o' },
  { type: 'task-output', id: 'xen:build', line: 'LD xen-syms' },
  { type: 'task-done', id: 'xen:build', durationMs: 12_345 },
  { type: 'task-output', id: 'linux:build', line: 'make: *** [Makefile:1234: vmlinux] Error 2' },
  {
    type: 'task-failed',
    id: 'linux:build',
    failure: { reason: 'exit-non-zero', command: ['make', '-j2', 'Image'], status: 2 },
    durationMs: 850,
    log: 'build/b/logs/linux:build.log',
    tail: ['CC kernel/fork.o', 'make: *** [Makefile:1234: vmlinux] Error 2'],
  },
  { type: 'task-skipped', id: 'image:sdcard', because: 'linux:build failed' },
  { type: 'run-end', ok: false, durationMs: 13_400, report: 'build/b/report.json' },
];

/** Feeds events one by one, letting the event loop turn in between like a real run. */
async function feed(reporter: Reporter, list: RunEvent[] = events): Promise<void> {
  for (const e of list) {
    reporter.event(e);
    await tick();
  }
  await reporter.close();
}

const failureBlock = [
  'FAILED  linux:build: make -j2 Image exited with status 2',
  '--- last 2 lines of build/b/logs/linux:build.log ---',
  'CC kernel/fork.o',
  'make: *** [Makefile:1234: vmlinux] Error 2',
  '--- end of linux:build.log ---',
];
const summary = 'FAILED: 1 failed, 1 skipped, 1 ran, 1 fresh in 13.4s — report build/b/report.json';

describe('formatDuration', () => {
  it('formats milliseconds, seconds and minutes', () => {
    expect(formatDuration(0)).toBe('0ms');
    expect(formatDuration(850)).toBe('850ms');
    expect(formatDuration(999.4)).toBe('999ms');
    expect(formatDuration(999.6)).toBe('1.0s');
    expect(formatDuration(12_345)).toBe('12.3s');
    expect(formatDuration(59_960)).toBe('1m00s');
    expect(formatDuration(62_000)).toBe('1m02s');
    expect(formatDuration(3_723_000)).toBe('1h02m03s');
    expect(formatDuration(-5)).toBe('0ms');
    expect(formatDuration(Number.NaN)).toBe('0ms');
  });

  it('formats a ticking clock in whole seconds', () => {
    expect(formatElapsed(999)).toBe('0s');
    expect(formatElapsed(12_999)).toBe('12s');
    expect(formatElapsed(62_000)).toBe('1m02s');
  });
});

describe('summary line', () => {
  const tally = (list: RunEvent[]): string | undefined => {
    const t = new Tally();
    for (const e of list) t.add(e);
    return t.summary();
  };
  const start: RunEvent = { type: 'run-start', board: 'b', tasks: [], jobs: 1, dryRun: false };

  it('is absent before run-end', () => {
    expect(tally([start, { type: 'task-fresh', id: 'a' }])).toBeUndefined();
  });

  it('reports a good run', () => {
    expect(
      tally([
        start,
        { type: 'task-fresh', id: 'a' },
        { type: 'task-done', id: 'b', durationMs: 1 },
        { type: 'run-end', ok: true, durationMs: 62_000, report: 'build/b/report.json' },
      ]),
    ).toBe('ok: 1 ran, 1 fresh in 1m02s — report build/b/report.json');
  });

  it('reports a cancelled run and a dry run', () => {
    expect(tally([start, { type: 'task-cancelled', id: 'a' }, { type: 'run-end', ok: false, durationMs: 5, report: '' }])).toBe(
      'CANCELLED: 0 failed, 0 skipped, 1 cancelled, 0 ran, 0 fresh in 5ms',
    );
    expect(
      tally([
        { ...start, dryRun: true },
        { type: 'task-would-run', id: 'a', why: { reason: 'forced' }, commands: [] },
        { type: 'task-fresh', id: 'b' },
        { type: 'run-end', ok: true, durationMs: 40, report: 'r.json' },
      ]),
    ).toBe('dry run: 1 would run, 1 fresh in 40ms — report r.json');
  });
});

describe('plain reporter', () => {
  it('prints one stable line per event', async () => {
    const { out, text } = memoryStream();
    await feed(createPlainReporter(out, {}));
    expect(await text()).toBe(
      [
        'board   rpi4: 4 tasks, 4 jobs',
        'fresh   xen:fetch',
        'run     xen:build (patches/xen/0001-fix.patch changed (was abc123, now def456)) [2 jobs]',
        'run     linux:build (never ran) [2 jobs]',
        'done    xen:build 12.3s',
        ...failureBlock,
        'skipped image:sdcard (linux:build failed)',
        summary,
        '',
      ].join('\n'),
    );
  });

  it('prints dry runs, cancellations and multi-line failures', async () => {
    const { out, text } = memoryStream();
    await feed(createPlainReporter(out, {}), [
      { type: 'run-start', board: 'b', tasks: [], jobs: 1, dryRun: true },
      {
        type: 'task-would-run',
        id: 'xen:build',
        why: { reason: 'dependency', id: 'xen:patch' },
        commands: ['make -C src/xen dist-xen', 'cp src/xen/xen/xen out/'],
      },
      { type: 'task-cancelled', id: 'linux:build' },
      {
        type: 'task-failed',
        id: 'xen:patch',
        failure: { reason: 'patch-conflict', patch: '0001.patch', file: 'Makefile', message: 'Hunk #1 FAILED' },
        durationMs: 3,
        log: 'logs/xen:patch.log',
        tail: [],
      },
    ]);
    expect(await text()).toBe(
      [
        'board   b: 0 tasks, dry run',
        'would run xen:build (depends on xen:patch)',
        '    make -C src/xen dist-xen',
        '    cp src/xen/xen/xen out/',
        'cancelled linux:build',
        'FAILED  xen:patch: patch 0001.patch does not apply to Makefile; the tree was left as it was',
        '        Hunk #1 FAILED',
        '--- logs/xen:patch.log has no output ---',
        '',
      ].join('\n'),
    );
  });

  it('folds task output into groups and annotates failures under GitHub Actions', async () => {
    const { out, text } = memoryStream();
    let n = 0;
    await feed(createPlainReporter(out, { GITHUB_ACTIONS: 'true' }, { stopCommandsToken: () => `tok${++n}` }));
    expect(await text()).toBe(
      [
        'board   rpi4: 4 tasks, 4 jobs',
        'fresh   xen:fetch',
        'run     xen:build (patches/xen/0001-fix.patch changed (was abc123, now def456)) [2 jobs]',
        'run     linux:build (never ran) [2 jobs]',
        '::group::xen:build output',
        '::stop-commands::tok1',
        'CC arch/arm/setup.o',
        'LD xen-syms',
        '::tok1::',
        '::endgroup::',
        'done    xen:build 12.3s',
        '::group::linux:build output',
        '::stop-commands::tok2',
        'CC kernel/fork.o',
        'make: *** [Makefile:1234: vmlinux] Error 2',
        '::tok2::',
        '::endgroup::',
        'FAILED  linux:build: make -j2 Image exited with status 2',
        '::error title=linux%3Abuild::make -j2 Image exited with status 2',
        '--- last 2 lines of build/b/logs/linux:build.log ---',
        '::stop-commands::tok3',
        'CC kernel/fork.o',
        'make: *** [Makefile:1234: vmlinux] Error 2',
        '::tok3::',
        '--- end of linux:build.log ---',
        'skipped image:sdcard (linux:build failed)',
        summary,
        '',
      ].join('\n'),
    );
  });

  it('escapes multi-line ::error messages', async () => {
    const { out, text } = memoryStream();
    await feed(createPlainReporter(out, { GITHUB_ACTIONS: 'true' }, { stopCommandsToken: () => 't' }), [
      {
        type: 'task-failed',
        id: 'u-boot:patch',
        failure: { reason: 'patch-conflict', patch: '50%.patch', message: 'a\nb' },
        durationMs: 1,
        log: 'l.log',
        tail: [],
      },
    ]);
    expect((await text()).split('\n')).toContain('::error title=u-boot%3Apatch::patch 50%25.patch does not apply; the tree was left as it was%0Aa%0Ab');
  });
});

describe('json reporter', () => {
  it('writes each event as one NDJSON record with a time', async () => {
    const { out, text } = memoryStream();
    const time = new Date('2024-05-01T12:00:00.000Z');
    await feed(createJsonReporter(out, { now: () => time }));
    const lines = (await text()).split('\n');
    expect(lines.pop()).toBe('');
    const records = lines.map((l) => JSON.parse(l) as JsonRecord);
    expect(records).toEqual(events.map((e) => ({ ...e, time: '2024-05-01T12:00:00.000Z' })));
    expect(records.filter((r) => r.type === 'task-output')).toHaveLength(4);
  });

  it('stamps the real time by default', async () => {
    const { out, text } = memoryStream();
    const reporter = createJsonReporter(out);
    reporter.event({ type: 'task-fresh', id: 'a' });
    await reporter.close();
    const record = JSON.parse(await text()) as JsonRecord;
    expect(Math.abs(Date.parse(record.time) - Date.now())).toBeLessThan(60_000);
  });
});

interface TestRendererLine {
  event: string;
  data: unknown;
  task?: { title?: string; path?: string[] };
}

describe('tty reporter', () => {
  it('drives one listr2 task per run task (test renderer)', async () => {
    const { out, text } = memoryStream();
    await feed(createTtyReporter(out, {}, { renderer: 'test' }));
    const all = (await text()).split('\n');
    const json = all.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as TestRendererLine);
    const of = (id: string): TestRendererLine[] => json.filter((l) => l.task?.path?.[0] === id);
    const states = (id: string): unknown[] =>
      of(id)
        .filter((l) => l.event === 'STATE')
        .map((l) => l.data);

    expect(states('xen:fetch')).toEqual(['STARTED', 'COMPLETED']);
    expect(of('xen:fetch').at(-1)?.task?.title).toBe('xen:fetch fresh');

    expect(states('xen:build')).toEqual(['STARTED', 'COMPLETED']);
    expect(
      of('xen:build')
        .filter((l) => l.event === 'TITLE')
        .map((l) => l.data),
    ).toEqual(['xen:build [2 jobs]', 'xen:build 12.3s']);
    expect(
      of('xen:build')
        .filter((l) => l.event === 'OUTPUT')
        .map((l) => l.data),
    ).toEqual(['patches/xen/0001-fix.patch changed (was abc123, now def456)', 'CC arch/arm/setup.o', 'LD xen-syms']);

    expect(states('linux:build')).toEqual(['STARTED', 'FAILED']);
    expect(
      of('linux:build')
        .filter((l) => l.event === 'TITLE')
        .map((l) => l.data),
    ).toEqual(['linux:build [2 jobs]', 'linux:build']);
    expect(of('linux:build').find((l) => l.event === 'MESSAGE')?.data).toEqual({
      error: 'linux:build: make -j2 Image exited with status 2',
    });

    expect(states('image:sdcard')).toEqual(['STARTED', 'SKIPPED']);
    expect(of('image:sdcard').find((l) => l.event === 'MESSAGE')?.data).toEqual({
      skip: 'image:sdcard skipped (linux:build failed)',
    });

    // Rows wait for the runner: image:sdcard only starts once its skip arrives.
    const firstStart = json.findIndex((l) => l.task?.path?.[0] === 'image:sdcard' && l.data === 'STARTED');
    const linuxFailed = json.findIndex((l) => l.task?.path?.[0] === 'linux:build' && l.data === 'FAILED');
    expect(firstStart).toBeGreaterThan(linuxFailed);

    // Below the tree: the failure tails and the summary, as in plain mode.
    const rest = all.slice(all.findLastIndex((l) => l.startsWith('{')) + 1);
    expect(rest).toEqual(['', ...failureBlock, '', summary, '']);
  });

  it('prints a readable tree with the simple renderer', async () => {
    const { out, text } = memoryStream();
    await feed(createTtyReporter(out, {}, { renderer: 'simple' }));
    const output = await text();
    for (const s of [
      'xen:fetch fresh',
      'xen:build 12.3s',
      'linux:build: make -j2 Image exited with status 2',
      'image:sdcard skipped (linux:build failed)',
      summary,
    ]) {
      expect(output).toContain(s);
    }
  });

  it('draws the live tree with the default renderer', async () => {
    const { out, text } = memoryStream();
    await feed(createTtyReporter(out, {}, { renderer: 'default', refreshMs: 5 }));
    const output = (await text()).replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
    const lines = output.split('\n');
    const tree = lines.slice(lines.indexOf(failureBlock[0]!) - 5, lines.indexOf(failureBlock[0]!) - 1);
    expect(tree.map((l) => l.replace(/^\S+ /, ''))).toEqual([
      'xen:fetch fresh',
      'xen:build 12.3s',
      'linux:build: make -j2 Image exited with status 2',
      'image:sdcard skipped (linux:build failed)',
    ]);
    expect(output.endsWith(`\n${summary}\n`)).toBe(true);
  });

  it('shows dry-run commands', async () => {
    const { out, text } = memoryStream();
    await feed(createTtyReporter(out, {}, { renderer: 'test' }), [
      { type: 'run-start', board: 'b', jobs: 1, dryRun: true, tasks: [{ id: 'a:b', component: 'a', name: 'b', title: '', deps: [] }] },
      { type: 'task-would-run', id: 'a:b', why: { reason: 'forced' }, commands: ['make one', 'make two'] },
      { type: 'run-end', ok: true, durationMs: 40, report: 'r.json' },
    ]);
    const output = await text();
    expect(output).toContain('"title":"a:b would run (forced)"');
    expect(output).toContain('"data":"make one"');
    expect(output).toContain('"data":"make two"');
    expect(output.endsWith('\ndry run: 1 would run, 0 fresh in 40ms — report r.json\n')).toBe(true);
  });

  it('settles tasks that never ended so close() cannot hang', async () => {
    const { out, text } = memoryStream();
    const reporter = createTtyReporter(out, {}, { renderer: 'test' });
    const [start] = events;
    reporter.event(start!);
    reporter.event({ type: 'task-start', id: 'xen:build', why: { reason: 'forced' }, jobs: 1, log: 'l' });
    await tick();
    reporter.event({ type: 'run-end', ok: false, durationMs: 1, report: '' });
    await reporter.close();
    const output = await text();
    for (const id of ['xen:fetch', 'xen:build', 'linux:build', 'image:sdcard']) {
      expect(output).toContain(`"data":{"skip":"${id} not run"}`);
    }
    expect(output.endsWith('\nFAILED: 0 failed, 0 skipped, 0 ran, 0 fresh in 1ms\n')).toBe(true);
  });

  it('closes without run-end too', async () => {
    const { out, text } = memoryStream();
    const reporter = createTtyReporter(out, {}, { renderer: 'test' });
    reporter.event(events[0]!);
    await reporter.close();
    expect(await text()).toContain('"data":{"skip":"xen:fetch not run"}');
  });
});

describe('choosing a reporter', () => {
  it('uses tty only on a terminal outside CI', () => {
    expect(defaultReporterName({ isTTY: true }, {})).toBe('tty');
    expect(defaultReporterName({ isTTY: false }, {})).toBe('plain');
    expect(defaultReporterName({}, {})).toBe('plain');
    expect(defaultReporterName({ isTTY: true }, { CI: 'true' })).toBe('plain');
    expect(defaultReporterName({ isTTY: true }, { CI: '1' })).toBe('plain');
    expect(defaultReporterName({ isTTY: true }, { CI: 'false' })).toBe('tty');
    expect(defaultReporterName({ isTTY: true }, { CI: '' })).toBe('tty');
  });

  it('creates each reporter by name', async () => {
    for (const name of ['plain', 'json', 'tty'] as const) {
      const { out, text } = memoryStream();
      await feed(await createReporter(name, out, {}));
      const output = await text();
      expect(output).toContain('xen:build');
      if (name !== 'json') expect(output.endsWith(`${summary}\n`)).toBe(true);
    }
  });

  it('keeps listr2 out of the modules loaded for plain and json', async () => {
    for (const file of ['index', 'plain', 'json', 'format']) {
      const source = await readFile(new URL(`../src/report/${file}.ts`, import.meta.url), 'utf8');
      expect(source, file).not.toMatch(/from 'listr2'|import\('listr2'\)/);
      expect(source, file).not.toMatch(/from '\.\/tty\.js'/);
    }
  });
});
