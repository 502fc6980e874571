import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { board, recipe } from '../src/model/schema.js';
import { fixtureBoard } from './util/fixture-board.js';
import { Rig, XENBUILD } from './util/rig.js';

describe('commands', () => {
  const rig = new Rig();
  beforeAll(() => {
    fixtureBoard(rig);
    expect(rig.xenbuild(['all', '--board', 'fx']).status).toBe(0);
  });
  afterAll(() => rig.dispose());

  it('list shows every task in run order with its dependencies', () => {
    const r = rig.xenbuild(['list', '--board', 'fx']);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.map((l) => l.split(' ')[0])).toEqual([
      'hello:fetch',
      'hello:patch',
      'hello:build',
      'hello:check',
      'hello:deploy',
      'notes:fetch',
      'notes:build',
      'notes:deploy',
    ]);
    expect(r.stdout).toMatch(/hello:build\s+make CC=arm-linux-gnueabihf-gcc GREETING="xen" hello {2}← hello:patch/);
  });

  it('graph prints DOT and Mermaid', () => {
    const dot = rig.xenbuild(['graph', '--board', 'fx']);
    expect(dot.stdout).toContain('digraph "fx" {');
    expect(dot.stdout).toContain('"hello:patch" -> "hello:build";');
    expect(dot.stdout).toContain('subgraph "cluster_notes"');
    // dot itself accepts it, when installed.
    const mermaid = rig.xenbuild(['graph', '--board', 'fx', '--format', 'mermaid']);
    expect(mermaid.stdout.split('\n')[0]).toBe('flowchart LR');
    expect(mermaid.stdout).toContain('  hello_patch --> hello_build');
  });

  it('status --json lists every task', () => {
    const r = rig.xenbuild(['status', '--board', 'fx', '--json']);
    const json = JSON.parse(r.stdout) as { tasks: { id: string; status: string }[] };
    expect(json.tasks).toHaveLength(8);
    expect(json.tasks.every((t) => t.status === 'fresh')).toBe(true);
  });

  it('doctor lists each tool with its version and Debian package, and names the missing ones', () => {
    let r = rig.xenbuild(['doctor', '--board', 'fx']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^git\s+ok\s+git version [\d.]+\s+\[git\]$/m);
    expect(r.stdout).toMatch(/^make\s+ok\s+GNU Make [\d.]+\s+\[make\]$/m);
    expect(r.stdout).toMatch(/^cp\s+ok/m);
    rig.write(
      'recipes/notes.yaml',
      rig
        .read('recipes/notes.yaml')
        .replace('run: [cp, notes.txt, NOTES]', 'run: [xenbuild-no-such-tool, notes.txt, NOTES]')
        .replace('source:', 'tools: { xenbuild-no-such-tool: some-package }\nsource:'),
    );
    r = rig.xenbuild(['doctor', '--board', 'fx']);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^xenbuild-no-such-tool\s+MISSING\s+\[some-package\]\s+needed by notes:build$/m);
    expect(r.stdout).toContain('1 missing: apt-get install some-package');
    const run = rig.xenbuild(['run', 'notes:build', '--board', 'fx']);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('xenbuild-no-such-tool is not installed (apt-get install some-package)');
    rig.write(
      'recipes/notes.yaml',
      rig
        .read('recipes/notes.yaml')
        .replace('xenbuild-no-such-tool, notes.txt', 'cp, notes.txt')
        .replace('tools: { xenbuild-no-such-tool: some-package }\n', ''),
    );
  });

  it('doctor proves each compiler by building a program for its target, and names the C library package when it cannot', () => {
    let r = rig.xenbuild(['doctor', '--board', 'fx']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^arm-linux-gnueabihf-gcc\s+ok .*\n\s+compiles and links a hosted C program for arm-linux-gnueabihf \(ELF ARM\)$/m);
    expect(r.stdout).toContain('every compiler builds for its target');
    // The real cross compiler on a machine without its C library headers (installed with --no-install-recommends):
    // the headers hidden by an empty tmpfs, in a mount namespace of the doctor's own.
    const noLibc = () => {
      const script = 'mount -t tmpfs none /usr/arm-linux-gnueabihf/include && exec "$0" "$@"';
      const out = spawnSync('unshare', ['--mount', '--map-root-user', 'sh', '-c', script, process.execPath, XENBUILD, 'doctor', '--board', 'fx'], {
        cwd: rig.project,
        encoding: 'utf8',
      });
      return { status: out.status ?? -1, stdout: out.stdout + out.stderr, stderr: out.stderr };
    };
    r = noLibc();
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      /^\s+CANNOT BUILD a hosted C program for arm-linux-gnueabihf: .*bits\/libc-header-start\.h: No such file or directory {2}\[apt-get install libc6-dev-armhf-cross\]$/m,
    );
    expect(r.stdout).toContain('\n1 missing: apt-get install libc6-dev-armhf-cross; 1 compiler cannot build for its target\n');
    // A recipe that compiles freestanding code only (a hypervisor, a boot loader) needs no C library.
    const hello = rig.read('recipes/hello.yaml');
    rig.write(
      'recipes/hello.yaml',
      hello.replace(
        'tools: { arm-linux-gnueabihf-gcc: gcc-arm-linux-gnueabihf }',
        'tools: { arm-linux-gnueabihf-gcc: { package: gcc-arm-linux-gnueabihf, freestanding: true } }',
      ),
    );
    r = noLibc();
    expect(r.stdout).toMatch(/^\s+compiles and links a freestanding C program for arm-linux-gnueabihf \(ELF ARM\)$/m);
    expect(r.status).toBe(0);
    rig.write('recipes/hello.yaml', hello);
  });

  it("clean removes a task's results, or the whole board", () => {
    let r = rig.xenbuild(['clean', 'hello:deploy', '--board', 'fx']);
    expect(r.stdout).toBe('cleaned hello:deploy\n');
    expect(existsSync(rig.path('build/fx/deploy/hello-arm'))).toBe(false);
    r = rig.xenbuild(['clean', 'notes:fetch', '--board', 'fx']);
    expect(r.stdout).toBe('cleaned notes:fetch (removed build/fx/src/notes)\n');
    r = rig.xenbuild(['all', '--board', 'fx']);
    expect(rig.statuses('fx')).toMatchObject({ 'hello:deploy': 'ran', 'notes:fetch': 'ran', 'hello:build': 'fresh' });
    r = rig.xenbuild(['clean', '--board', 'fx']);
    expect(r.stdout).toBe('removed build/fx\n');
    expect(existsSync(rig.path('build/fx/src'))).toBe(false);
  });

  it('reports plain lines with ::group:: folding under GitHub Actions, and NDJSON with --reporter json', () => {
    const gha = rig.xenbuild(['run', 'hello:build', '--force', '--board', 'fx'], { GITHUB_ACTIONS: 'true' });
    expect(gha.status).toBe(0);
    expect(gha.stdout).toMatch(/^::group::hello:build/m);
    expect(gha.stdout).toMatch(/^::endgroup::$/m);
    const json = rig.xenbuild(['all', '--board', 'fx', '--reporter', 'json']);
    const events = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string });
    expect(events[0]!.type).toBe('run-start');
    expect(events.at(-1)!.type).toBe('run-end');
  });

  it('writes report.json in the documented shape', () => {
    const report = JSON.parse(rig.read('build/fx/report.json')) as Record<string, unknown>;
    expect(Object.keys(report)).toEqual(expect.arrayContaining(['board', 'startedAt', 'durationMs', 'ok', 'tasks']));
    const task = (report.tasks as Record<string, unknown>[]).find((t) => t.id === 'hello:build')!;
    expect(task).toMatchObject({
      id: 'hello:build',
      status: expect.stringMatching(/^(ran|fresh)$/),
      durationMs: expect.any(Number),
      fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/),
      log: 'logs/hello:build.log',
    });
  });

  it('runs make tasks with the jobserver instead of -j', () => {
    rig.write('recipes/twin.yaml', 'recipe: twin\ntasks:\n  a:\n    make: [--version]\n  b:\n    make: [--version]\n');
    rig.write('configs/boards/twins.yaml', 'board: twins\ncomponents:\n  twin: twin\n');
    const r = rig.xenbuild(['all', '--board', 'twins', '--jobs', '4']);
    expect(r.status).toBe(0);
    expect(rig.read('build/twins/logs/twin:a.log')).toContain('$ make --version');
    expect(rig.read('build/twins/logs/twin:b.log')).toContain('$ make --version');
  });

  it('takes settings from xenbuild.config.yaml or package.json#xenbuild; the command line wins', () => {
    rmSync(rig.path('xenbuild.config.json'));
    rig.write('xenbuild.config.yaml', 'cacheDir: ../cache\nmirror: ../mirror\nworkdir: out\nboard: fx\n');
    let r = rig.xenbuild(['all']);
    expect(r.status).toBe(0);
    expect(existsSync(rig.path('out/fx/report.json'))).toBe(true);
    r = rig.xenbuild(['list', '--workdir', 'elsewhere']);
    expect(r.status).toBe(0);
    rmSync(rig.path('xenbuild.config.yaml'));
    rig.write('package.json', JSON.stringify({ name: 'p', xenbuild: { cacheDir: '../cache', mirror: ['../mirror'], workdir: 'pkgout', jobs: 1 } }));
    r = rig.xenbuild(['all', '--board', 'fx']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('board   fx: 8 tasks, 1 job');
    rig.write('package.json', JSON.stringify({ name: 'p', xenbuild: { cacheDir: '../cache', jobs: 'many', wrokdir: 'x' } }));
    r = rig.xenbuild(['all', '--board', 'fx']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('package.json: invalid xenbuild configuration:');
    expect(r.stderr).toContain('jobs: Invalid input: expected number, received string');
    expect(r.stderr).toContain('Unrecognized key: "wrokdir"');
    rmSync(rig.path('package.json'));
    writeFileSync(rig.path('xenbuild.config.json'), JSON.stringify({ cacheDir: '../cache', mirror: '../mirror' }));
  });

  it('unknown task names get a suggestion and exit 2', () => {
    const r = rig.xenbuild(['run', 'hello:biuld', '--board', 'fx']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('xenbuild: error: no task or component "hello:biuld" on board fx (did you mean "hello:build"?)');
  });
});

describe('published JSON Schemas', () => {
  it('are generated from the validator and up to date', () => {
    const root = join(import.meta.dirname, '..');
    const recipeSchema = JSON.parse(readFileSync(join(root, 'schema/recipe.schema.json'), 'utf8'));
    const boardSchema = JSON.parse(readFileSync(join(root, 'schema/board.schema.json'), 'utf8'));
    expect(recipeSchema).toEqual({ title: 'xenbuild recipe', ...z.toJSONSchema(recipe, { io: 'input' }) });
    expect(boardSchema).toEqual({ title: 'xenbuild board', ...z.toJSONSchema(board, { io: 'input' }) });
    expect(recipeSchema.properties.tasks.additionalProperties.anyOf.map((o: { required: string[] }) => o.required[0])).toEqual([
      'run',
      'make',
      'busybox-root',
      'kconfig',
    ]);
    void execFileSync;
  });
});
