/**
 * The analysis diagnostics, case by case. Each directory under
 * test/fixtures/analysis/ is a tiny project (recipes/, configs/boards/,
 * patches/…) whose board `fx` is broken in one way; its expected.txt holds the
 * exact rendered output of the analysis, paths relative to the fixture.
 *
 * Optional case.json in a fixture:
 *   { "board": "other" }       analyse this board instead of "fx"
 *   { "profile": "p" }         pass a profile, as --profile does
 *   { "knownBad": "why" }      the analysis prints something wrong today; the
 *                              expected.txt holds what it SHOULD print (written
 *                              by hand) and the case runs as it.fails until the
 *                              analysis is fixed (then drop "knownBad").
 *
 * UPDATE_FIXTURES=1 npx vitest run test/analysis-errors.test.ts rewrites every
 * expected.txt except those of knownBad cases. Read each rewritten file before
 * keeping it: an expected.txt asserts that the diagnostic is a good one.
 *
 * 00-valid-verbatim-argv is the one fixture that must analyse cleanly.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { renderDiagnostics } from '../src/analysis/diagnostics.js';
import { analyse } from '../src/analysis/resolve.js';
import type { Settings } from '../src/config.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'analysis');
const UPDATE = process.env.UPDATE_FIXTURES === '1';
const BOARD = 'fx';
const VALID = '00-valid-verbatim-argv';

interface CaseOptions {
  board?: string;
  profile?: string;
  knownBad?: string;
}

/** Where analysis could write if it wrongly did: under the OS temp dir, never created by the test. */
const scratch = path.join(tmpdir(), `xenbuild-analysis-fixtures-${process.pid}`);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function settingsFor(dir: string, name: string): Settings {
  return {
    root: dir,
    workdir: path.join(scratch, name, 'build'),
    cacheDir: path.join(scratch, name, 'cache'),
    mirrors: [],
    taskCache: [],
    jobs: 4,
    recipeDirs: [{ dir: path.join(dir, 'recipes'), root: dir }],
    boardDirs: [{ dir: path.join(dir, 'configs', 'boards'), root: dir }],
  };
}

function caseOptions(dir: string): CaseOptions {
  const file = path.join(dir, 'case.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as CaseOptions) : {};
}

/** Every file and directory under `dir` with its size and mtime, to prove analysis wrote nothing. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, entry.name);
      const st = statSync(p);
      out.push(`${path.relative(dir, p)} ${entry.isDirectory() ? 'dir' : `${st.size} ${st.mtimeMs}`}`);
      if (entry.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

/** Runs the analysis of one fixture, checking that it touched nothing on disk. */
function run(name: string) {
  const dir = path.join(FIXTURES, name);
  const options = caseOptions(dir);
  const settings = settingsFor(dir, name);
  const before = snapshot(dir);
  const analysis = analyse(settings, options.board ?? BOARD, options.profile);
  expect(snapshot(dir), 'analysis must not write into the project').toEqual(before);
  expect(existsSync(settings.workdir), 'analysis must not create the workdir').toBe(false);
  expect(existsSync(settings.cacheDir), 'analysis must not create the cache dir').toBe(false);
  return { dir, options, settings, analysis };
}

const cases = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((e) => e.isDirectory() && e.name !== VALID)
  .map((e) => e.name)
  .sort();

describe('analysis diagnostics (test/fixtures/analysis)', () => {
  it('has at least 30 broken fixtures whose output is good, each case with an expected.txt', () => {
    expect(cases.filter((name) => !caseOptions(path.join(FIXTURES, name)).knownBad).length).toBeGreaterThanOrEqual(30);
    if (!UPDATE) for (const name of cases) expect(existsSync(path.join(FIXTURES, name, 'expected.txt')), `${name}/expected.txt`).toBe(true);
  });

  for (const name of cases) {
    const options = caseOptions(path.join(FIXTURES, name));
    const test = options.knownBad ? it.fails : it;
    test(options.knownBad ? `${name} (known bad: ${options.knownBad})` : name, () => {
      const { dir, analysis } = run(name);
      expect(analysis.graph).toBeUndefined();
      expect(analysis.diagnostics.filter((d) => d.severity === 'error').length).toBeGreaterThan(0);
      for (const d of analysis.diagnostics) {
        if (d.file !== undefined) expect(d.file.startsWith(dir + path.sep), `${d.file} lies in the fixture`).toBe(true);
      }
      const rendered = renderDiagnostics(analysis.diagnostics, analysis.texts, dir);
      const expectedFile = path.join(dir, 'expected.txt');
      if (UPDATE && !options.knownBad) {
        writeFileSync(expectedFile, rendered);
        return;
      }
      expect(rendered).toBe(readFileSync(expectedFile, 'utf8'));
    });
  }
});

describe('a valid project analyses cleanly', () => {
  it(`${VALID}: graph, no diagnostics, values reach argv verbatim`, () => {
    const { settings, analysis } = run(VALID);
    expect(analysis.diagnostics).toEqual([]);
    const graph = analysis.graph;
    expect(graph).toBeDefined();
    if (!graph) return;
    const boardDir = path.join(settings.workdir, BOARD);
    const srcDir = path.join(boardDir, 'src', 'hello');
    expect(graph.board).toBe(BOARD);
    expect(graph.tasks.map((t) => t.id)).toEqual(['hello:fetch', 'hello:configure', 'hello:build', 'hello:deploy']);
    const task = (id: string) => graph.tasks.find((t) => t.id === id)!;

    const configure = task('hello:configure');
    expect(configure.action).toEqual({
      kind: 'run',
      jobs: 'one',
      argv: [
        './configure',
        `--prefix=${path.join(boardDir, 'build', 'hello')}`,
        '--literal=${prefix}',
        '$(rm -rf /)',
        '`reboot`; echo pwned && rm -rf ~',
        '$(rm -rf /)',
        'a;b&&c||d|e>f<g',
        '$$HOME $HOME',
        '42',
      ],
    });
    expect(configure.deps).toEqual(['hello:fetch']);
    expect(configure.cwd).toBe(srcDir);
    // The fingerprint keeps machine paths symbolic, and the escape resolved.
    expect((configure.basis.action as { argv: string[] }).argv.slice(1, 3)).toEqual(['--prefix=${builddir}', '--literal=${prefix}']);

    const build = task('hello:build');
    expect(build.action).toEqual({
      kind: 'run',
      jobs: 'make',
      argv: ['make', 'CROSS_COMPILE=aarch64-linux-gnu-', 'MSG=hi; `id` && $(whoami) | tee /etc/passwd', 'NAME=hello-hello@fx'],
    });
    expect(build.deps).toEqual(['hello:fetch', 'hello:configure']);
    expect(build.outputs).toEqual([{ path: path.join(srcDir, 'hello'), name: path.join('src', 'hello', 'hello') }]);

    const deploy = task('hello:deploy');
    expect(deploy.deps).toEqual(['hello:build']);
    expect(deploy.outputs).toEqual([{ path: path.join(boardDir, 'deploy', 'hello'), name: path.join('deploy', 'hello') }]);
  });
});
