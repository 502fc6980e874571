import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const DEPCRUISE = join(ROOT, 'node_modules', '.bin', 'depcruise');

/** The floors of src/ (ARCHITECTURE.md), checked by dependency-cruiser with .dependency-cruiser.cjs. */
describe('the layers of src/', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'xenbuild-arch-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  const cruise = (dir: string) =>
    spawnSync(DEPCRUISE, ['src', '--config', join(ROOT, '.dependency-cruiser.cjs'), '--output-type', 'err'], { cwd: dir, encoding: 'utf8' });

  /** A copy of src/ with `edit` applied, as a project of its own. */
  const copy = (name: string, edit: (dir: string) => void) => {
    const dir = join(scratch, name);
    cpSync(join(ROOT, 'src'), join(dir, 'src'), { recursive: true });
    cpSync(join(ROOT, 'tsconfig.json'), join(dir, 'tsconfig.json'));
    edit(dir);
    return dir;
  };

  it('hold on the tree as it is', () => {
    const r = cruise(ROOT);
    expect(r.stdout + r.stderr).toContain('no dependency violations found');
    expect(r.status).toBe(0);
  });

  it('refuse an engine that imports an action kind, naming the rule and the import', () => {
    const dir = copy('engine-up', (d) => appendFileSync(join(d, 'src/engine/runner.ts'), "\nimport '../actions/kinds/run.js';\n"));
    const r = cruise(dir);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toMatch(/error floor-engine: src\/engine\/runner\.ts → src\/actions\/kinds\/run\.ts/);
  });

  it('refuse the domain reaching up into the commands, and an import circle', () => {
    const dir = copy('circle', (d) => {
      appendFileSync(join(d, 'src/boot/sizes.ts'), "\nimport '../commands/exit.js';\n");
      appendFileSync(join(d, 'src/util/units.ts'), "\nimport './shell.js';\n");
      appendFileSync(join(d, 'src/util/shell.ts'), "\nimport './units.js';\n");
    });
    const r = cruise(dir);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toMatch(/error floor-domain: src\/boot\/sizes\.ts → src\/commands\/exit\.ts/);
    expect(r.stdout).toMatch(/error no-circular: src\/util\/(units|shell)\.ts/);
  });
});

/** A new kind of action is one module under src/actions/kinds/ and one line in the registry (issue 13). */
describe('adding an action kind', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'xenbuild-kind-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  const TSC = join(ROOT, 'node_modules', '.bin', 'tsc');

  /** A kind that touches a file: its spec, how it runs and how a dry run shows it, in its own module. */
  const TOUCH = `import { writeFile } from 'node:fs/promises';
import type { ActionKind } from '../../engine/action.js';
import type { SpecOf } from '../../model/graph.js';

declare module '../../model/graph.js' {
  interface ActionSpecs {
    touch: { output: FileRef };
  }
}

export const touchKind: ActionKind<SpecOf<'touch'>> = {
  async run(spec) {
    await writeFile(spec.output.path, '');
    return {};
  },
  describe: (spec) => ['touch ' + spec.output.path],
};
`;
  const project = (name: string, registered: boolean) => {
    const dir = join(scratch, name);
    cpSync(join(ROOT, 'src'), join(dir, 'src'), { recursive: true });
    cpSync(join(ROOT, 'tsconfig.json'), join(dir, 'tsconfig.json'));
    cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    writeFileSync(join(dir, 'src/actions/kinds/touch.ts'), TOUCH);
    if (registered) {
      const registry = join(dir, 'src/actions/registry.ts');
      const text = readFileSync(registry, 'utf8')
        .replace(
          "import { uimageKind } from './kinds/uimage.js';",
          "import { uimageKind } from './kinds/uimage.js';\nimport { touchKind } from './kinds/touch.js';",
        )
        .replace('  uimage: uimageKind,', '  uimage: uimageKind,\n  touch: touchKind,');
      expect(text).toContain('touch: touchKind');
      writeFileSync(registry, text);
    }
    return spawnSync(TSC, ['--noEmit', '-p', dir], { cwd: dir, encoding: 'utf8' });
  };

  it('compiles with the module and its registry line, and nothing else touched', () => {
    const r = project('registered', true);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('is refused by the compiler while the registry lacks its line, naming the kind', () => {
    const r = project('unregistered', false);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toMatch(/src\/actions\/registry\.ts.*Property 'touch' is missing/s);
  });
});
