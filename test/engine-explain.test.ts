import { describe, expect, it } from 'vitest';
import { explainChange, fingerprintOf } from '../src/engine/fingerprint.js';

const H1 = 'a'.repeat(64);
const H2 = 'b'.repeat(64);
const base = {
  action: { kind: 'run', argv: ['make', '-C', '${srcdir}', 'dist-xen'], jobs: 'make' },
  cwd: '${srcdir}',
  env: { KCFLAGS: '-O2' },
  outputs: ['src/xen/xen/xen'],
  definition: H1,
  inputs: { 'configs/xen.config': H1 },
  tools: { 'arm-linux-gnueabihf-gcc': 'arm-linux-gnueabihf-gcc (Debian 12.2.0-14) 12.2.0' },
  deps: { 'xen:patch': H1 },
};
const explain = (change: (b: typeof base) => Record<string, unknown>) => explainChange(base, change(structuredClone(base)), 'recipes/xen.yaml');

/** Why a task is stale, as `ninja -d explain` says it: the first difference, in the order a person looks. */
describe('explaining a changed fingerprint', () => {
  it('a fingerprint is the sha256 of canonical JSON: key order does not matter, values do', () => {
    expect(fingerprintOf({ a: 1, b: [2, 3] })).toBe(fingerprintOf({ b: [2, 3], a: 1 }));
    expect(fingerprintOf({ a: 1, b: [2, 3] })).not.toBe(fingerprintOf({ a: 1, b: [3, 2] }));
    expect(fingerprintOf({})).toMatch(/^[0-9a-f]{64}$/);
  });

  it('names a dependency before an input, an input before the tree, the tree before the definition, the definition before the command', () => {
    const all = (b: typeof base): Record<string, unknown> => ({
      ...b,
      deps: { 'xen:patch': H2 },
      inputs: { 'configs/xen.config': H2 },
      tree: { 'xen/Makefile': H2 },
      definition: H2,
      action: { ...b.action, argv: ['make'] },
      env: { KCFLAGS: '-O3' },
      cwd: '${builddir}',
      outputs: ['other'],
      tools: { 'arm-linux-gnueabihf-gcc': 'gcc 13' },
      aaa: 1,
    });
    expect(explain(all)).toEqual({ reason: 'dependency', id: 'xen:patch' });
    expect(explain((b) => ({ ...all(b), deps: b.deps }))).toEqual({ reason: 'changed', what: 'configs/xen.config', was: 'aaaaaaaa', now: 'bbbbbbbb' });
    expect(explain((b) => ({ ...all(b), deps: b.deps, inputs: b.inputs }))).toEqual({
      reason: 'changed',
      what: 'the source tree: xen/Makefile',
      now: 'bbbbbbbb',
    });
    const noTree = (b: typeof base) => {
      const { tree: _, ...rest } = all(b);
      return { ...rest, deps: b.deps, inputs: b.inputs };
    };
    expect(explain(noTree)).toEqual({ reason: 'changed', what: 'its definition in recipes/xen.yaml' });
    expect(explain((b) => ({ ...noTree(b), definition: b.definition }))).toEqual({
      reason: 'changed',
      what: "the command's argv",
      was: 'make -C ${srcdir} dist-xen',
      now: 'make',
    });
    expect(explain((b) => ({ ...noTree(b), definition: b.definition, action: b.action }))).toEqual({
      reason: 'changed',
      what: 'environment KCFLAGS',
      was: '-O2',
      now: '-O3',
    });
    expect(explain((b) => ({ ...noTree(b), definition: b.definition, action: b.action, env: b.env }))).toEqual({
      reason: 'changed',
      what: 'cwd',
      was: '${srcdir}',
      now: '${builddir}',
    });
    expect(explain((b) => ({ ...noTree(b), definition: b.definition, action: b.action, env: b.env, cwd: b.cwd }))).toEqual({
      reason: 'changed',
      what: 'outputs',
      was: '["src/xen/xen/xen"]',
      now: '["other"]',
    });
    expect(explain((b) => ({ ...noTree(b), definition: b.definition, action: b.action, env: b.env, cwd: b.cwd, outputs: b.outputs }))).toEqual({
      reason: 'changed',
      what: 'tool arm-linux-gnueabihf-gcc',
      was: 'arm-linux-gnueabihf-gcc (Debian 12.2.0-14) 12.2.0',
      now: 'gcc 13',
    });
    expect(explain((b) => ({ ...noTree(b), definition: b.definition, action: b.action, env: b.env, cwd: b.cwd, outputs: b.outputs, tools: b.tools }))).toEqual({
      reason: 'changed',
      what: 'aaa',
      now: '1',
    });
    // A key xenbuild does not rank comes last, by name.
    expect(explain((b) => ({ ...b, zzz: 1, yyy: 2 }))).toEqual({ reason: 'changed', what: 'yyy', now: '2' });
  });

  it('an edit undone in the tree, an input removed, a new environment variable: was or now is absent', () => {
    expect(explainChange({ ...base, tree: { 'a.c': H1 } }, base, 'r')).toEqual({ reason: 'changed', what: 'the source tree: a.c', was: 'aaaaaaaa' });
    expect(explain((b) => ({ ...b, inputs: {} }))).toEqual({ reason: 'changed', what: 'configs/xen.config', was: 'aaaaaaaa' });
    expect(explain((b) => ({ ...b, env: { ...b.env, CC: 'clang' } }))).toEqual({ reason: 'changed', what: 'environment CC', now: 'clang' });
    // Short hex-looking values and ordinary text stay whole; a digest is cut to 8 digits only when it is all digest.
    expect(explain((b) => ({ ...b, env: { KCFLAGS: 'deadbeef' } }))).toStrictEqual({
      reason: 'changed',
      what: 'environment KCFLAGS',
      was: '-O2',
      now: 'deadbeef',
    });
    expect(explain((b) => ({ ...b, env: { KCFLAGS: `v${H1}` } }))).toMatchObject({ now: `v${H1}` });
    expect(explain((b) => ({ ...b, env: { KCFLAGS: `${H1}v` } }))).toMatchObject({ now: `${H1}v` });
    expect(explain((b) => ({ ...b, inputs: {} }))).toStrictEqual({ reason: 'changed', what: 'configs/xen.config', was: 'aaaaaaaa' });
    expect(explain((b) => ({ ...b, env: { ...b.env, CC: 'clang' } }))).toStrictEqual({ reason: 'changed', what: 'environment CC', now: 'clang' });
  });

  it('inside the command, names the setting that changed, in full lists and clipped values', () => {
    expect(explain((b) => ({ ...b, action: { ...b.action, jobs: 'one' } }))).toEqual({
      reason: 'changed',
      what: "the command's jobs",
      was: 'make',
      now: 'one',
    });
    expect(explain((b) => ({ ...b, action: { ...b.action, extra: { load: 0x80200000 } } }))).toEqual({
      reason: 'changed',
      what: "the command's extra",
      was: 'absent',
      now: '{"load":2149580800}',
    });
    const nested = (load: number) => ({ ...base, action: { ...base.action, extra: { load, name: 'xen' } } });
    expect(explainChange(nested(1), nested(2), 'r')).toEqual({ reason: 'changed', what: "the command's extra.load", was: '1', now: '2' });
    const long = 'x'.repeat(100);
    expect(explain((b) => ({ ...b, action: { ...b.action, argv: [long] } }))).toEqual({
      reason: 'changed',
      what: "the command's argv",
      was: 'make -C ${srcdir} dist-xen',
      now: `${'x'.repeat(77)}…`,
    });
    const exactly80 = 'y'.repeat(80);
    expect(explain((b) => ({ ...b, action: { ...b.action, argv: [exactly80] } }))).toMatchObject({ now: exactly80 });
    // A list of non-strings is shown as JSON; a whole new kind of action is "the command".
    expect(explain((b) => ({ ...b, action: { ...b.action, argv: [1, 2] } }))).toMatchObject({ now: '[1,2]' });
    expect(explain((b) => ({ ...b, action: 'opaque' }))).toEqual({ reason: 'changed', what: 'the command', was: clipJson(base.action), now: 'opaque' });
  });

  it('two bases that differ nowhere it can name: the task format itself changed', () => {
    expect(explainChange(base, structuredClone(base), 'recipes/xen.yaml')).toEqual({ reason: 'changed', what: "xenbuild's task format" });
  });
});

function clipJson(v: unknown): string {
  const s = JSON.stringify(v, Object.keys(v as object).sort());
  return s.length > 80 ? `${s.slice(0, 77)}…` : s;
}
