/**
 * Fingerprints are machine-independent: the same project in two directories,
 * building into two workdirs, gives every task of every board the same
 * basis, and no basis holds a path of either place. (The shared task cache
 * depends on it: another checkout finds the entries under the same names.)
 */
import { cpSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyse } from '../src/analysis/resolve.js';
import { canonicalJson } from '../src/util/fs.js';
import { projectSettings } from './util/settings.js';
import { makeTempDir, removeTempDirs } from './util/tmp.js';

afterAll(removeTempDirs);

const ROOT = path.resolve(import.meta.dirname, '..');

/** The repository's boards, recipes, patches and lock, copied to a directory of its own. */
function checkout(prefix: string): string {
  const dir = makeTempDir(prefix);
  for (const part of ['configs', 'recipes', 'patches', 'xenbuild.lock.json']) cpSync(path.join(ROOT, part), path.join(dir, part), { recursive: true });
  return dir;
}

describe('fingerprints', () => {
  const a = checkout('xenbuild-place-a-');
  const b = checkout('xenbuild-somewhere-else-entirely-');

  it.each([
    ['qemu-arm32', undefined],
    ['dra7-evm', 'debian12'],
    ['dra7-evm', 'glsdk7'],
  ])('of %s (%s) are the same from two checkouts in different directories', (board, profile) => {
    const bases = [a, b].map((dir) => {
      const analysis = analyse({ ...projectSettings(dir, path.join(dir, 'scratch')), frozen: true }, board, profile);
      expect(analysis.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      return new Map(analysis.graph!.tasks.map((t) => [t.id, canonicalJson(t.basis)]));
    });
    expect([...bases[1]!.keys()]).toEqual([...bases[0]!.keys()]);
    for (const [id, basis] of bases[0]!) {
      expect(bases[1]!.get(id), id).toBe(basis);
      for (const place of [a, b, ROOT]) expect(basis, `${id} names ${place}`).not.toContain(place);
    }
  });
});
