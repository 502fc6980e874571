import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { TaskFailure, type Failure } from '../src/host/failure.js';
import { FileHasher, sha256File } from '../src/host/hasher.js';
import { ProcessGroups } from '../src/host/orphans.js';
import { exec, TaskLog } from '../src/host/process.js';

/** The host floor in-process: running programs, hashing files and trees, stopping what a killed run left. */
const scratch = mkdtempSync(join(tmpdir(), 'xenbuild-host-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const failureOf = async (p: Promise<unknown>): Promise<Failure> => {
  try {
    await p;
  } catch (err) {
    if (err instanceof TaskFailure) return err.failure;
    throw err;
  }
  throw new Error('expected a TaskFailure');
};
/** Running (a zombie waiting for its reaper counts as gone). */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};

describe('exec', () => {
  it('runs argv literally in a clean environment, with stdout captured and every line (stdout, stderr, \\r parts) reported', async () => {
    const lines: string[] = [];
    process.env.SECRET = 'leak';
    const out = await exec(['sh', '-c', 'echo "$0 $1" ; echo err >&2; printf "a\\rb\\n"; echo "[$HOME] [$LC_ALL] [$TZ] [$SECRET] [$MINE]"', '$(id)', ';ls'], {
      cwd: scratch,
      env: { MINE: 'x y' },
      capture: true,
      onLine: (l) => lines.push(l),
    });
    expect(out.split('\n')[0]).toBe('$(id) ;ls');
    expect(out).toContain(`[${process.env.HOME}] [C] [UTC] [] [x y]`);
    expect(lines).toEqual(expect.arrayContaining(['$(id) ;ls', 'err', 'a', 'b']));
    delete process.env.SECRET;
    expect(await exec(['true'], { cwd: scratch })).toBe('');
  });

  it('names each way a program fails: its status, its signal, a missing program and the package that has it', async () => {
    expect(await failureOf(exec(['sh', '-c', 'exit 3'], { cwd: scratch }))).toEqual({ reason: 'exit-non-zero', command: ['sh', '-c', 'exit 3'], status: 3 });
    expect(await failureOf(exec(['sh', '-c', 'kill -TERM $$'], { cwd: scratch }))).toEqual({
      reason: 'killed',
      command: ['sh', '-c', 'kill -TERM $$'],
      signal: 'SIGTERM',
    });
    expect(await failureOf(exec(['mkimage-not-here', '-l'], { cwd: scratch, packages: { 'mkimage-not-here': 'u-boot-tools' } }))).toEqual({
      reason: 'missing-tool',
      tool: 'mkimage-not-here',
      package: 'u-boot-tools',
    });
    expect(await failureOf(exec(['no-such-program-at-all'], { cwd: scratch }))).toEqual({ reason: 'missing-tool', tool: 'no-such-program-at-all' });
    await expect(exec([], { cwd: scratch })).rejects.toThrow(/empty argv/);
    await expect(exec(['true'], { cwd: join(scratch, 'nowhere') })).rejects.toThrow(/working directory .* does not exist/);
  });

  it('closes standard input, or gives it a file', async () => {
    expect(await exec(['sh', '-c', 'if read x; then echo "got $x"; else echo closed; fi'], { cwd: scratch, capture: true })).toBe('closed\n');
    writeFileSync(join(scratch, 'in.txt'), 'hello\n');
    expect(await exec(['cat'], { cwd: scratch, capture: true, inputFile: join(scratch, 'in.txt') })).toBe('hello\n');
  });

  it('cancelling stops the whole process group (a child the program started too), and reports each group running then gone', async () => {
    const controller = new AbortController();
    const groups: [number, boolean][] = [];
    const pidFile = join(scratch, 'grandchild.pid');
    const running = exec(['sh', '-c', `sleep 30 & echo $! > ${pidFile}; wait`], {
      cwd: scratch,
      signal: controller.signal,
      killGraceMs: 200,
      onGroup: (pgid, up) => groups.push([pgid, up]),
    });
    await sleep(300);
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    expect(alive(grandchild)).toBe(true);
    controller.abort();
    expect(await failureOf(running)).toEqual({ reason: 'cancelled' });
    await sleep(100);
    expect(alive(grandchild)).toBe(false);
    expect(groups.map(([, up]) => up)).toEqual([true, false]);
    expect(groups[0]![0]).toBe(groups[1]![0]);
    // Already cancelled: nothing starts.
    expect(await failureOf(exec(['true'], { cwd: scratch, signal: controller.signal }))).toEqual({ reason: 'cancelled' });
  });

  it('a task log keeps every line in its file and the last ones for the report', async () => {
    const log = new TaskLog(join(scratch, 'task.log'), 2);
    for (const l of ['one', 'two', 'three']) log.line(l);
    expect(log.lastLines()).toEqual(['two', 'three']);
    await log.close();
    expect(readFileSync(join(scratch, 'task.log'), 'utf8')).toBe('one\ntwo\nthree\n');
  });
});

describe('file hashes', () => {
  it('hashes a file once while its size, time and inode stay, again when any changes', async () => {
    const f = join(scratch, 'h.txt');
    writeFileSync(f, 'abc');
    const cache = join(scratch, 'hashes.json');
    const hasher = new FileHasher(cache);
    const first = await hasher.hash(f);
    expect(first?.sha256).toBe(await sha256File(f));
    expect(first?.sha256).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    await hasher.save();
    // A later run trusts the cache: same size, time and inode.
    expect((await new FileHasher(cache).hash(f))?.sha256).toBe(first?.sha256);
    writeFileSync(f, 'abd');
    expect((await new FileHasher(cache).hash(f))?.sha256).toBe(await sha256File(f));
    expect(await hasher.hash(join(scratch, 'nothing-here'))).toBeUndefined();
    // Nothing new learnt: nothing written.
    const idle = new FileHasher(join(scratch, 'idle.json'));
    await idle.save();
    expect(() => readFileSync(join(scratch, 'idle.json'))).toThrow();
  });

  it("a tree's digest covers names, contents, modes and links, not times or owners", async () => {
    const tree = join(scratch, 'tree');
    mkdirSync(join(tree, 'sub'), { recursive: true });
    writeFileSync(join(tree, 'a'), 'A');
    writeFileSync(join(tree, 'sub', 'b'), 'B');
    symlinkSync('a', join(tree, 'link'));
    const digest = async () => (await new FileHasher(join(scratch, 'tree-hashes.json')).hash(tree))?.sha256;
    const base = await digest();
    const changes: [string, () => void, () => void][] = [
      ['content', () => writeFileSync(join(tree, 'sub', 'b'), 'C'), () => writeFileSync(join(tree, 'sub', 'b'), 'B')],
      ['mode', () => chmodSync(join(tree, 'a'), 0o755), () => chmodSync(join(tree, 'a'), 0o644)],
      [
        'link target',
        () => (rmSync(join(tree, 'link')), symlinkSync('sub/b', join(tree, 'link'))),
        () => (rmSync(join(tree, 'link')), symlinkSync('a', join(tree, 'link'))),
      ],
      ['a new file', () => writeFileSync(join(tree, 'sub', 'new'), ''), () => rmSync(join(tree, 'sub', 'new'))],
      ['a directory mode', () => chmodSync(join(tree, 'sub'), 0o700), () => chmodSync(join(tree, 'sub'), 0o755)],
    ];
    chmodSync(join(tree, 'a'), 0o644);
    chmodSync(join(tree, 'sub'), 0o755);
    const start = await digest();
    for (const [what, change, undo] of changes) {
      change();
      expect(await digest(), what).not.toBe(start);
      undo();
      expect(await digest(), `${what} undone`).toBe(start);
    }
    expect(base).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('process groups a killed run left behind', () => {
  it('are stopped by the next run, and a record of a pid since reused by someone else is only forgotten', async () => {
    const dir = join(scratch, 'running');
    const groups = new ProcessGroups(dir);
    const orphan = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    orphan.unref();
    groups.record('xen:build', orphan.pid!);
    // A record whose pid now belongs to another process (another start time): left running.
    const other = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    other.unref();
    writeFileSync(join(dir, `linux:build.${other.pid}`), `${other.pid} 1\n`);
    mkdirSync(join(dir, 'not-a-record'));
    expect(new ProcessGroups(dir).reapLeftovers()).toEqual(['xen:build']);
    await sleep(100);
    expect(alive(orphan.pid!)).toBe(false);
    expect(alive(other.pid!)).toBe(true);
    process.kill(-other.pid!, 'SIGKILL');
    // forget() removes a record; an empty or missing directory reaps nothing.
    groups.record('a:b', process.pid);
    groups.forget('a:b', process.pid);
    expect(new ProcessGroups(dir).reapLeftovers()).toEqual([]);
    expect(new ProcessGroups(join(scratch, 'never')).reapLeftovers()).toEqual([]);
  });
});
