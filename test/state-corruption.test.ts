/**
 * State that cannot be trusted counts as absent: every file under state/ cut
 * short, emptied, or of another shape makes a task stale (or is ignored),
 * never a crash (exit 70).
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureBoard } from './util/fixture-board.js';
import { Rig } from './util/rig.js';

const SHAPES = ['', '{', '{}', '[]', 'null', '"x"', '{"outputs":5,"fingerprint":1}', '{"a":{"path":5},"b":null}', '{"key":"k","files":[1],"graph":{}}'];

describe('corrupt state files', () => {
  const rig = new Rig();
  beforeAll(() => {
    fixtureBoard(rig);
    expect(rig.xenbuild(['all', '--board', 'fx']).status).toBe(0);
  });
  afterAll(() => rig.dispose());

  it('each file of state/, in each broken shape, is treated as absent: the build succeeds again', () => {
    const state = rig.path('build/fx/state');
    const files = readdirSync(state).filter((f) => statSync(join(state, f)).isFile());
    expect(files).toEqual(expect.arrayContaining(['analysis.json', 'hashes.json', 'tools.json', 'hello:build.json']));
    let runs = 0;
    for (const f of files) {
      for (const shape of SHAPES) {
        const saved = readFileSync(join(state, f));
        writeFileSync(join(state, f), shape);
        const r = rig.xenbuild(['all', '--board', 'fx']);
        expect(r.status, `${f} <- ${JSON.stringify(shape)}: ${r.stdout}${r.stderr}`).toBe(0);
        expect(r.stderr).not.toContain('internal error');
        runs++;
        if (readFileSync(join(state, f), 'utf8') === shape) writeFileSync(join(state, f), saved);
      }
    }
    expect(runs).toBe(files.length * SHAPES.length);
    // A stamp that is not one is stale: the task ran again, and the rest of the build still holds.
    writeFileSync(join(state, 'hello:build.json'), '{}');
    rig.xenbuild(['all', '--board', 'fx']);
    expect(rig.statuses('fx')['hello:build']).toBe('ran');
    // A directory where a process-group record should be is left alone.
    mkdirSync(join(state, 'running', 'hello:build.123'), { recursive: true });
    expect(rig.xenbuild(['all', '--board', 'fx']).status).toBe(0);
  });
});
