import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureBoard } from './util/fixture-board.js';
import { git, Rig } from './util/rig.js';

const ALL = ['hello:fetch', 'hello:patch', 'hello:build', 'hello:check', 'hello:deploy', 'notes:fetch', 'notes:build', 'notes:deploy'];

describe('xenbuild all on a fixture board', () => {
  const rig = new Rig();
  beforeAll(() => {
    fixtureBoard(rig);
  });
  afterAll(() => rig.dispose());

  it('builds everything from pinned sources and deploys an ARM ELF', () => {
    const r = rig.xenbuild(['all', '--board', 'fx']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const report = rig.report('fx');
    expect(report.ok).toBe(true);
    expect(Object.keys(rig.statuses('fx')).sort()).toEqual([...ALL].sort());
    expect(Object.values(rig.statuses('fx'))).toEqual(ALL.map(() => 'ran'));
    const elf = readFileSync(rig.path('build/fx/deploy/hello-arm'));
    expect(elf.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(elf[4]).toBe(1); // ELFCLASS32
    expect(elf.readUInt16LE(18)).toBe(40); // e_machine EM_ARM
    // The patch series is applied: the binary carries the patched string.
    expect(elf.includes(Buffer.from('greetings from xen'))).toBe(true);
    expect(rig.read('build/fx/deploy/NOTES')).toBe('release notes\n');
    // Every task has its log.
    for (const id of ALL) expect(existsSync(rig.path(`build/fx/logs/${id}.log`))).toBe(true);
  });

  it('runs nothing the second time', () => {
    const r = rig.xenbuild(['all', '--board', 'fx']);
    expect(r.status).toBe(0);
    expect(Object.values(rig.statuses('fx'))).toEqual(ALL.map(() => 'fresh'));
    expect(r.stdout).toContain('0 ran, 8 fresh');
  });

  it('reruns the patch task and exactly what depends on it when one patch changes', () => {
    const patch = rig.path('patches/hello/0002-readme.patch');
    writeFileSync(patch, readFileSync(patch, 'utf8').replace('hello, patched', 'hello, patched again'));
    const status = rig.xenbuild(['status', '--board', 'fx']);
    expect(status.stdout).toMatch(/hello:patch\s+stale\s+patches\/hello\/0002-readme\.patch changed \(was [0-9a-f]{8}, now [0-9a-f]{8}\)/);
    expect(status.stdout).toMatch(/hello:build\s+stale\s+depends on hello:patch/);
    expect(status.stdout).toMatch(/notes:build\s+fresh/);
    const r = rig.xenbuild(['all', '--board', 'fx']);
    expect(r.status).toBe(0);
    const s = rig.statuses('fx');
    expect(s['hello:patch']).toBe('ran');
    // Everything downstream of the tree reruns; the notes branch does not.
    expect(s['hello:build']).toBe('ran');
    expect(s['hello:fetch']).toBe('fresh');
    expect(s['notes:fetch']).toBe('fresh');
    expect(s['notes:build']).toBe('fresh');
    expect(s['notes:deploy']).toBe('fresh');
    expect(rig.read('build/fx/src/hello/README')).toBe('hello, patched again\n');
  });

  it('run X --force reruns X and only what its new output makes stale', () => {
    // hello:build is deterministic: same output, so nothing after it reruns.
    let r = rig.xenbuild(['run', 'hello:deploy', '--force', '--board', 'fx']);
    expect(r.status).toBe(0);
    expect(rig.statuses('fx')).toEqual({ 'hello:fetch': 'fresh', 'hello:patch': 'fresh', 'hello:build': 'fresh', 'hello:deploy': 'ran' });
    r = rig.xenbuild(['run', 'hello:build', '--force', '--board', 'fx']);
    expect(rig.statuses('fx')).toEqual({ 'hello:fetch': 'fresh', 'hello:patch': 'fresh', 'hello:build': 'ran' });
    r = rig.xenbuild(['all', '--board', 'fx']);
    expect(Object.values(rig.statuses('fx')).every((s) => s === 'fresh')).toBe(true);
    // A forced notes:build whose output differs makes notes:deploy stale.
    writeFileSync(rig.path('build/fx/src/notes/notes.txt'), 'edited by hand\n');
    r = rig.xenbuild(['run', 'notes:build', '--force', '--board', 'fx']);
    expect(r.status).toBe(0);
    r = rig.xenbuild(['status', '--board', 'fx']);
    expect(r.stdout).toMatch(/notes:deploy\s+stale\s+depends on notes:build/);
    expect(r.stdout).toMatch(/hello:deploy\s+fresh/);
    r = rig.xenbuild(['all', '--board', 'fx']);
    expect(rig.statuses('fx')['notes:deploy']).toBe('ran');
    expect(rig.statuses('fx')['hello:deploy']).toBe('fresh');
    expect(rig.read('build/fx/deploy/NOTES')).toBe('edited by hand\n');
  });

  it('--only runs the named task and not its stale dependencies; --from reruns a task and all after it', () => {
    git(rig.path('build/fx/src/notes'), 'checkout', '-q', '--', 'notes.txt');
    let r = rig.xenbuild(['run', 'notes:deploy', '--only', '--force', '--board', 'fx']);
    expect(r.status).toBe(0);
    expect(rig.statuses('fx')).toEqual({ 'notes:deploy': 'ran' });
    r = rig.xenbuild(['run', '--from', 'hello:build', 'hello:deploy', '--board', 'fx']);
    expect(r.status).toBe(0);
    expect(rig.statuses('fx')).toEqual({ 'hello:fetch': 'fresh', 'hello:patch': 'fresh', 'hello:build': 'ran', 'hello:deploy': 'ran' });
  });

  it('rebuilds a deleted output and explains why', () => {
    rig.xenbuild(['all', '--board', 'fx']);
    const out = rig.path('build/fx/src/hello/hello');
    rmSync(out);
    const status = rig.xenbuild(['status', '--board', 'fx']);
    expect(status.stdout).toMatch(/hello:build\s+stale\s+output src\/hello\/hello is missing/);
    const r = rig.xenbuild(['all', '--board', 'fx']);
    expect(r.status).toBe(0);
    expect(rig.statuses('fx')['hello:build']).toBe('ran');
    expect(existsSync(out)).toBe(true);
  });

  it('refuses to reset a source tree with local edits, and says how to keep them', () => {
    appendFileSync(rig.path('build/fx/src/hello/hello.c'), '/* local hack */\n');
    const patch = rig.path('patches/hello/0002-readme.patch');
    writeFileSync(patch, readFileSync(patch, 'utf8').replace('hello, patched again', 'hello, patched thrice'));
    const r = rig.xenbuild(['all', '--board', 'fx']);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('has local changes (hello.c)');
    expect(readFileSync(rig.path('build/fx/src/hello/hello.c'), 'utf8')).toContain('/* local hack */');
    git(rig.path('build/fx/src/hello'), 'checkout', '-q', '--', 'hello.c');
    expect(rig.xenbuild(['all', '--board', 'fx']).status).toBe(0);
  });

  it('prints every resolved command on --dry-run and changes nothing', () => {
    const before = readFileSync(rig.path('build/fx/report.json'), 'utf8');
    rig.xenbuild(['clean', 'hello:build', '--board', 'fx']);
    const r = rig.xenbuild(['all', '--board', 'fx', '--dry-run', '--jobs', '3']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('would run hello:build');
    expect(r.stdout).toMatch(/MAKEFLAGS=' -j --jobserver-auth=3,3' make CC=arm-linux-gnueabihf-gcc 'GREETING="xen"' hello/);
    expect(r.stdout).toContain('would run hello:check');
    expect(r.stdout).not.toContain('would run notes:build');
    expect(readFileSync(rig.path('build/fx/report.json'), 'utf8')).toBe(before);
    expect(existsSync(rig.path('build/fx/src/hello/hello'))).toBe(false);
  });
});
