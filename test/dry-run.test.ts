/** `--dry-run` writes nothing at all: no build directory, no state, no caches, no report. */
import { existsSync, readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureBoard } from './util/fixture-board.js';
import { Rig } from './util/rig.js';

describe('xenbuild all --dry-run', () => {
  const rig = new Rig();
  afterAll(() => rig.dispose());

  it('prints what would run and leaves the disk as it was', () => {
    fixtureBoard(rig);
    const before = readdirSync(rig.dir).sort();
    const r = rig.xenbuild(['all', '--board', 'fx', '--dry-run']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/dry run: \d+ would run, 0 fresh/);
    expect(existsSync(rig.path('build'))).toBe(false);
    expect(readdirSync(rig.dir).sort()).toEqual(before);
    expect(existsSync(rig.path('../cache'))).toBe(false);
  });
});
