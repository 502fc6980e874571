/**
 * The YAML reader is bounded: an alias bomb, nesting that would exhaust the
 * parser's stack and megabyte lines each get one diagnostic at their place,
 * printed with the source line cut to a window, never a stack trace.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderDiagnostics } from '../src/analysis/diagnostics.js';
import { analyse } from '../src/analysis/resolve.js';
import type { Settings } from '../src/config.js';
import { projectSettings } from './util/settings.js';
import { makeTempDir, removeTempDirs, writeFiles } from './util/tmp.js';

afterAll(removeTempDirs);

function project(recipe: string): { dir: string; settings: Settings } {
  const dir = makeTempDir();
  writeFiles(dir, { 'configs/boards/fx.yaml': 'board: fx\ncomponents:\n  hello: hello\n', 'recipes/.keep': '' });
  writeFileSync(path.join(dir, 'recipes', 'hello.yaml'), recipe);
  return { dir, settings: projectSettings(dir, dir, 1) };
}

function rendered(recipe: string): string {
  const { dir, settings } = project(recipe);
  const a = analyse(settings, 'fx');
  expect(a.graph).toBeUndefined();
  return renderDiagnostics(a.diagnostics, a.texts, dir);
}

describe('bounded YAML', () => {
  it('an alias bomb is one diagnostic naming the file', () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++)
      levels.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)}]`,
      );
    const out = rendered(`recipe: hello\nvariables:\n  ${levels.join('\n  ')}\n`);
    expect(out).toMatch(/^recipes\/hello\.yaml:1:1: error: the file's aliases expand more than 100 times \(.*\): a YAML alias bomb/m);
    expect(out.endsWith('1 error\n')).toBe(true);
  });

  it('nesting 50,000 deep is refused at the level that goes too deep, before the parser runs out of stack', () => {
    const out = rendered(`recipe: hello\nvariables: { x: ${'['.repeat(50_000)}${']'.repeat(50_000)} }\n`);
    expect(out).toContain('recipes/hello.yaml:2:80: error: the collections here are nested more than 64 levels deep');
    expect(out.split('\n').every((l) => l.length < 400)).toBe(true);
  });

  it('a 6 MB line gets its diagnostic with a window of the line, not the line twice', () => {
    const out = rendered(`recipe: hello\ndescription: ${'x'.repeat(6 * 1024 * 1024)}\n`);
    expect(out).toContain('recipes/hello.yaml:2:1: error: line 2 is 6144 KiB long; a recipe or board line is never longer than 64 KiB');
    expect(out.length).toBeLessThan(2000);
  });

  it('a diagnostic deep in a long (but allowed) line shows a window around its place', () => {
    const out = rendered(`recipe: hello\ntasks: { build: { run: [make], outputs: [${'"x",'.repeat(5000)} "../../../../escape"] } }\n`);
    const [head, source, marks] = out.split('\n');
    expect(head).toMatch(/^recipes\/hello\.yaml:2:\d+: error: output "\.\.\/\.\.\/\.\.\/\.\.\/escape" lies outside the board's build directory$/);
    expect(source!.length).toBeLessThan(200);
    expect(source).toContain('"../../../../escape"');
    expect(source!.indexOf('"../../../../escape"')).toBe(marks!.indexOf('~'));
  });

  it('a UTF-16 file is told to be saved as UTF-8', () => {
    const { dir, settings } = project('');
    writeFileSync(path.join(dir, 'recipes', 'hello.yaml'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('recipe: hello\n', 'utf16le')]));
    const a = analyse(settings, 'fx');
    expect(renderDiagnostics(a.diagnostics, a.texts, dir)).toBe('recipes/hello.yaml: error: the file is UTF-16: save it as UTF-8\n1 error\n');
  });
});

describe('variables that refer to others', () => {
  it('expand on use, their paths staying symbolic in the fingerprint, and $${ stays literal', () => {
    const { settings } = project(
      'recipe: hello\nvariables:\n  arch: arm\n  prefix: "${arch}-linux-gnueabihf-"\n  out: "${builddir}/${arch}"\n  lit: "$${HOME}"\ntasks:\n  build:\n    run: [echo, "${prefix}gcc", "${out}", "${lit}"]\n',
    );
    const a = analyse(settings, 'fx');
    expect(a.diagnostics).toEqual([]);
    const build = a.graph!.tasks.find((t) => t.id === 'hello:build')!;
    expect(build.action.kind === 'run' && build.action.argv).toEqual([
      'echo',
      'arm-linux-gnueabihf-gcc',
      path.join(settings.workdir, 'fx', 'build', 'hello', 'arm'),
      '${HOME}',
    ]);
    expect(JSON.stringify(build.basis)).toContain('${builddir}/arm');
  });
});
