/**
 * `npm run bench`: how long a no-op `xenbuild all` takes, and whether that
 * depends on how big the source trees are.
 *
 * A no-op run is the command people type most: "is everything up to date?".
 * xenbuild answers it from fingerprints — the recipes and board, the patch
 * and input files, tool versions, each source tree's HEAD, one `git status`
 * per source tree for hand edits (git compares its index's stat data; only
 * the files it reports changed are hashed) and the declared outputs' (size,
 * mtime) — and never hashes a source tree. So its time should be start-up
 * plus a small amount of work, about the same for a toy tree as for a 10 GB
 * kernel tree. This benchmark checks exactly that:
 *
 *   1. it makes a throwaway project (fixture.ts): 6 components × fetch, patch,
 *      configure, build, deploy = 30 tasks, and builds it for real;
 *   2. it grows the source trees to ≥ 1 GB (grow.ts: thousands of small real
 *      files plus sparse giants) and times N no-op runs, each a separate
 *      process, checking that report.json says every task was fresh;
 *   3. it grows the trees 10× in bytes and in files (3× the files with
 *      --quick) and times them again: the ratio of the medians should be
 *      about 1;
 *   4. for scale it times `node -e 0` (Node's own start-up, between the
 *      no-op runs, so that a machine busy with other work shows up as such)
 *      and `xenbuild --help` (start-up plus loading the CLI).
 *
 * The target is a median under 300 ms at both sizes, and no slower at 10×
 * than at 1× (beyond noise). Missing it prints FAIL but still exits 0: this
 * is a measurement, not a test. Setup errors (the fixture does not build)
 * exit 1.
 *
 *   npm run bench -- [--runs N] [--keep] [--quick]
 *
 * --keep leaves the fixture in os.tmpdir() for a look; --quick writes 3×
 * rather than 10× the small files in step 3 (about 1 GB of real data instead of 4).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BOARD, COMPONENTS, createFixture, type Fixture } from './fixture.js';
import { growTrees, prng, type GrowPlan, type TreeSize } from './grow.js';
import { count, gb, ms, stats, timeProcess, type Stats } from './timing.js';

const XENBUILD = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'xenbuild.js');
const TARGET_MS = 300;
/** "No slower at 10×": the 10× median may exceed the 1× median by this factor, for noise. */
const SLOWER_TOLERANCE = 1.15;
const ONE_X_BYTES = 1.05e9;
const SMALL_FILES_1X = 2000;

interface Options {
  runs: number;
  keep: boolean;
  quick: boolean;
}

interface Series {
  size: TreeSize;
  warmupMs: number;
  stats: Stats;
  /** `node -e 0`, timed between the no-op runs: shows how loaded the machine was meanwhile. */
  node: Stats;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '15' },
      keep: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
    },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a whole number of at least 1, not "${values.runs}"`);
  return { runs, keep: values.keep ?? false, quick: values.quick ?? false };
}

const say = (line = '') => process.stdout.write(`${line}\n`);

const xenbuildEnv = (): NodeJS.ProcessEnv => ({ ...process.env, CI: 'true' });

function runXenbuild(fx: Fixture, args: string[]) {
  return timeProcess([process.execPath, XENBUILD, ...args], fx.project, xenbuildEnv());
}

interface Report {
  ok: boolean;
  startedAt: string;
  tasks: { id: string; status: string }[];
}

/** Reads report.json and says what is wrong with it, if anything: it must be new, ok, and every task `want`. */
function checkReport(fx: Fixture, notBefore: number, want: 'ran' | 'fresh'): string | undefined {
  const path = join(fx.boardDir, 'report.json');
  if (!existsSync(path)) return 'no report.json';
  const report = JSON.parse(readFileSync(path, 'utf8')) as Report;
  if (Date.parse(report.startedAt) < notBefore) return 'report.json was not rewritten';
  if (!report.ok) return 'report.json says the run failed';
  if (report.tasks.length !== fx.taskCount) return `report.json lists ${report.tasks.length} tasks, expected ${fx.taskCount}`;
  const wrong = report.tasks.filter((t) => t.status !== want);
  if (wrong.length) return `not ${want}: ${wrong.map((t) => `${t.id} (${t.status})`).join(', ')}`;
  return undefined;
}

/** One `xenbuild all`, checked; returns its wall time. Throws when it fails or does not do what `want` says. */
function checkedRun(fx: Fixture, want: 'ran' | 'fresh'): number {
  const before = Date.now();
  const { ms: took, result } = runXenbuild(fx, ['all', '--board', BOARD, '--reporter', 'plain']);
  if (result.status !== 0) throw new Error(`xenbuild all exited with ${result.status ?? result.signal}:\n${result.stdout}${result.stderr}`);
  const problem = checkReport(fx, before, want);
  if (problem) throw new Error(`xenbuild all: ${problem}\n${result.stdout}${result.stderr}`);
  return took;
}

/** The first, real build of the fixture. */
function buildFixture(fx: Fixture): void {
  const took = checkedRun(fx, 'ran');
  say(`built the fixture for real: ${fx.taskCount} tasks in ${ms(took)} ms`);
}

/** Wall time of one run of a command that must exit 0. */
function timeOnce(argv: string[], cwd: string): number {
  const { ms: took, result } = timeProcess(argv, cwd, xenbuildEnv());
  if (result.status !== 0) throw new Error(`${argv.join(' ')} exited with ${result.status ?? result.signal}:\n${result.stderr}`);
  return took;
}

const NODE_NOOP = [process.execPath, '-e', '0'];

/**
 * One untimed warm-up run, then `runs` timed no-op runs, each checked for
 * all-fresh. A `node -e 0` before each one measures Node's start-up under the
 * same load, so a busy machine shows as such rather than as a slow xenbuild.
 */
function timeNoops(fx: Fixture, size: TreeSize, runs: number): Series {
  const warmupMs = checkedRun(fx, 'fresh');
  const samples: number[] = [];
  const nodeSamples: number[] = [];
  for (let i = 0; i < runs; i++) {
    nodeSamples.push(timeOnce(NODE_NOOP, fx.project));
    samples.push(checkedRun(fx, 'fresh'));
  }
  const s = stats(samples);
  const node = stats(nodeSamples);
  say(`  warm-up ${ms(warmupMs)} ms (not counted); ${runs} runs: ${samples.map(ms).join(' ')}`);
  say(`  median ${ms(s.median)} ms (min ${ms(s.min)}, p90 ${ms(s.p90)});  node -e 0 meanwhile: median ${ms(node.median)} ms`);
  return { size, warmupMs, stats: s, node };
}

/** `runs` timings of a command that must exit 0. */
function timeBaseline(argv: string[], cwd: string, runs: number): Stats {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(timeOnce(argv, cwd));
  return stats(samples);
}

/** Grows the trees, then flushes the writes, so background writeback does not slow the timed runs. */
function grow(fx: Fixture, label: string, plan: GrowPlan, random: () => number): TreeSize {
  const start = process.hrtime.bigint();
  const size = growTrees(fx.srcDirs, plan, random);
  timeOnce(['sync'], fx.project);
  const took = Number(process.hrtime.bigint() - start) / 1e9;
  say(`${label}: ${gb(size.bytes)} apparent in ${count(size.files)} files (${gb(size.diskBytes)} on disk), written in ${took.toFixed(1)} s`);
  return size;
}

function seriesLine(s: Series): string {
  const head = `sources ${gb(s.size.bytes)} in ${count(s.size.files)} files:`;
  return `${head.padEnd(36)} median ${ms(s.stats.median)} ms (min ${ms(s.stats.min)}, p90 ${ms(s.stats.p90)})`;
}

function summary(fx: Fixture, one: Series, ten: Series, help: Stats): void {
  const node = stats([...one.node.samples, ...ten.node.samples]);
  const ratio = ten.stats.median / one.stats.median;
  const fast = one.stats.median < TARGET_MS && ten.stats.median < TARGET_MS;
  const flat = ratio <= SLOWER_TOLERANCE;
  say();
  say(`no-op \`xenbuild all\`, ${fx.taskCount} tasks (${COMPONENTS.length} components)`);
  say(`  ${seriesLine(one)}`);
  say(`  ${seriesLine(ten)}   ratio ${ratio.toFixed(2)}`);
  say(`  node -e 0: ${ms(node.median)} ms (1x: ${ms(one.node.median)}, 10x: ${ms(ten.node.median)});  xenbuild --help: ${ms(help.median)} ms`);
  const verdict = fast && flat ? 'PASS' : 'FAIL';
  say(`  target: < ${TARGET_MS} ms median, no slower at 10x (ratio ≤ ${SLOWER_TOLERANCE})  →  ${verdict}`);
  if (!fast) say(`  FAIL: a median is ${TARGET_MS} ms or more`);
  if (!flat) say(`  FAIL: the 10x trees are ${ratio.toFixed(2)}× slower than the 1x trees`);
  const load = ten.node.median / one.node.median;
  if (load > SLOWER_TOLERANCE || load < 1 / SLOWER_TOLERANCE) {
    say(`  note: node -e 0 itself took ${load.toFixed(2)}× as long during the 10x runs as during the 1x runs:`);
    say("        the machine's load changed between the series, so the ratio says little; rerun when it is quiet");
  }
}

function main(): void {
  const opts = parseOptions();
  const fx = createFixture();
  say(`fixture in ${fx.dir}${opts.keep ? ' (kept)' : ''}`);
  try {
    buildFixture(fx);
    const random = prng(1);

    const size1 = grow(fx, 'sources grown', { batch: 'grown-1x', smallFilesPerTree: SMALL_FILES_1X, totalBytes: ONE_X_BYTES, sparseFilesPerTree: 4 }, random);
    const one = timeNoops(fx, size1, opts.runs);

    // 10× the bytes, and 10× the small files (3× with --quick).
    const extraFiles = SMALL_FILES_1X * (opts.quick ? 2 : 9);
    const size10 = grow(
      fx,
      'sources grown 10x',
      { batch: 'grown-10x', smallFilesPerTree: extraFiles, totalBytes: 10 * size1.bytes, sparseFilesPerTree: 8 },
      random,
    );
    const ten = timeNoops(fx, size10, opts.runs);

    const help = timeBaseline([process.execPath, XENBUILD, '--help'], fx.project, opts.runs);
    say(`xenbuild --help: median ${ms(help.median)} ms (min ${ms(help.min)}, p90 ${ms(help.p90)})`);

    summary(fx, one, ten, help);
  } finally {
    if (!opts.keep) rmSync(fx.dir, { recursive: true, force: true });
  }
}

try {
  main();
} catch (err) {
  process.stderr.write(`bench: error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
