/**
 * A property of analysis: whatever the files say, it ends in a graph or in
 * diagnostics (exit 0 or 2), never in a thrown error (exit 70, a stack trace),
 * and it writes nothing. The project's own boards and recipes are mutated by a
 * seeded generator, thousands of times; a failure prints the seed and the file.
 */
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderDiagnostics } from '../src/analysis/diagnostics.js';
import { analyse } from '../src/analysis/resolve.js';
import { prng } from '../src/util/prng.js';
import { XENBUILD } from './util/rig.js';
import { projectSettings } from './util/settings.js';
import { makeTempDir, removeTempDirs } from './util/tmp.js';

afterAll(removeTempDirs);

const ROOT = path.resolve(path.dirname(XENBUILD), '..');
const RUNS = 3000;
const SEED = Number(process.env.XENBUILD_FUZZ_SEED ?? Date.now() % 1_000_000);

const TOKENS = [
  '${',
  '}',
  '$${',
  '${board.x}',
  '${nope}',
  '[',
  ']',
  '{',
  '}',
  ':',
  ': ',
  '- ',
  '&a ',
  '*a',
  '<<: *a',
  '..',
  '../',
  '/',
  '\t',
  '"',
  "'",
  '#',
  '0x',
  '0xffffffffff',
  '-1',
  '1e999',
  'null',
  '~',
  'true',
  '@',
  '\u00e9',
  '\u0000',
  '\ufeff',
  '=',
  '|',
  '>',
  '!!binary ',
  'x'.repeat(300),
];

function mutate(text: string, next: () => number): string {
  const lines = text.split('\n');
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!;
  const i = Math.floor(next() * lines.length);
  switch (Math.floor(next() * 7)) {
    case 0:
      lines.splice(i, 1);
      break;
    case 1:
      lines.splice(i, 0, lines[Math.floor(next() * lines.length)] ?? '');
      break;
    case 2: {
      const l = lines[i] ?? '';
      const at = Math.floor(next() * (l.length + 1));
      lines[i] = l.slice(0, at) + pick(TOKENS) + l.slice(at);
      break;
    }
    case 3: {
      const l = lines[i] ?? '';
      const at = Math.floor(next() * l.length);
      lines[i] = l.slice(0, at) + l.slice(at + 1 + Math.floor(next() * 4));
      break;
    }
    case 4:
      lines[i] = (lines[i] ?? '').replace(/\d+/, () => pick(['0', '-1', '4294967296', '0x0', '99999999999999999999', '1.5']));
      break;
    case 5:
      lines[i] = (lines[i] ?? '').replace(/^(\s*)/, (s) => (next() < 0.5 ? s + ' ' : s.slice(1)));
      break;
    default:
      lines[i] = (lines[i] ?? '').replace(/[a-z]+/, () =>
        pick(['recipe', 'tasks', 'run', 'make', 'outputs', 'exports', 'source', 'git', 'xen', 'dtb', 'boot', 'image', 'profiles', 'extends', 'components']),
      );
  }
  return lines.join('\n');
}

describe(`analysis of mutated boards and recipes (seed ${SEED}; XENBUILD_FUZZ_SEED=${SEED} repeats it)`, () => {
  it(`ends in a graph or diagnostics ${RUNS} times out of ${RUNS}, never a throw, and writes nothing`, () => {
    const project = makeTempDir('xenbuild-fuzz-');
    for (const dir of ['recipes', 'configs', 'patches']) cpSync(path.join(ROOT, dir), path.join(project, dir), { recursive: true });
    const files = [
      ...readdirSync(path.join(project, 'recipes')).map((f) => path.join(project, 'recipes', f)),
      ...readdirSync(path.join(project, 'configs', 'boards')).map((f) => path.join(project, 'configs', 'boards', f)),
    ];
    const originals = new Map(files.map((f) => [f, readFileSync(f, 'utf8')]));
    const boards = readdirSync(path.join(project, 'configs', 'boards')).map((f) => f.replace(/\.yaml$/, ''));
    const scratch = makeTempDir('xenbuild-fuzz-build-');
    const settings = projectSettings(project, scratch);
    const next = prng(SEED);
    let graphs = 0;
    for (let run = 0; run < RUNS; run++) {
      const file = files[Math.floor(next() * files.length)]!;
      let text = originals.get(file)!;
      const times = 1 + Math.floor(next() * 3);
      for (let k = 0; k < times; k++) text = mutate(text, next);
      writeFileSync(file, text);
      const board = boards[Math.floor(next() * boards.length)]!;
      const profile = board === 'dra7-evm' ? ['glsdk7', 'debian12', 'glsdk7-debug', undefined][Math.floor(next() * 4)] : undefined;
      let outcome: string;
      try {
        const a = analyse(settings, board, profile);
        if (a.graph) graphs++;
        else expect(a.diagnostics.some((d) => d.severity === 'error')).toBe(true);
        renderDiagnostics(a.diagnostics, a.texts, project);
        outcome = 'ok';
      } catch (err) {
        outcome = (err as Error).stack ?? String(err);
      }
      if (outcome !== 'ok') {
        throw new Error(
          `run ${run} (seed ${SEED}): analysing ${board} threw after mutating ${path.relative(project, file)}:\n${outcome}\n--- the file ---\n${text.slice(0, 2000)}`,
        );
      }
      writeFileSync(file, originals.get(file)!);
    }
    expect(readdirSync(scratch)).toEqual([]);
    // Most mutations break something; some leave a board that still analyses.
    expect(graphs).toBeGreaterThan(0);
  }, 120_000);
});
