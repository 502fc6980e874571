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
    ['qemu-arm32', 'dom0less'],
    ['qemu-arm32', 'toolstack'],
    ['qemu-arm32', 'debug'],
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

describe("xenbuild's own code in fingerprints", () => {
  const dir = checkout('xenbuild-code-');
  it("is part of every board task's basis (a new renderer redraws the map), and of no compile's", () => {
    const graph = analyse({ ...projectSettings(dir, path.join(dir, 'scratch')), frozen: true }, 'qemu-arm32').graph!;
    const byId = new Map(graph.tasks.map((t) => [t.id, t.basis as { code?: string }]));
    for (const id of ['boot:plan', 'boot:script', 'boot:check', 'image:sdcard', 'image:release']) expect(byId.get(id)!.code, id).toMatch(/^[0-9a-f]{16}$/);
    expect(byId.get('boot:plan')!.code).not.toBe(byId.get('image:sdcard')!.code);
    for (const id of ['xen:build', 'u-boot:build', 'xen:configure']) expect(byId.get(id)!.code, id).toBeUndefined();
  });
});
