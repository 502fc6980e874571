import { describe, expect, it } from 'vitest';
import { interpolate, mapScope } from '../src/analysis/vars.js';
import { explainChange, fingerprintOf } from '../src/engine/fingerprint.js';

const scope = mapScope({
  'toolchain.prefix': { value: 'arm-linux-gnueabihf-' },
  srcdir: { value: '/home/me/build/b/src/xen', symbolic: '${srcdir}' },
});

describe('variables', () => {
  it('resolves for running and keeps machine paths symbolic for fingerprints', () => {
    expect(interpolate('CROSS_COMPILE=${toolchain.prefix}', scope)).toEqual({
      ok: true,
      result: { value: 'CROSS_COMPILE=arm-linux-gnueabihf-', symbolic: 'CROSS_COMPILE=arm-linux-gnueabihf-' },
    });
    expect(interpolate('O=${srcdir}/out', scope)).toEqual({ ok: true, result: { value: 'O=/home/me/build/b/src/xen/out', symbolic: 'O=${srcdir}/out' } });
  });

  it('keeps $${ literal and reports unknown and unterminated references', () => {
    expect(interpolate('$${HOME} $(x) `y` a;b', scope)).toEqual({ ok: true, result: { value: '${HOME} $(x) `y` a;b', symbolic: '${HOME} $(x) `y` a;b' } });
    expect(interpolate('${toolchain.prefx}gcc ${nope}', scope)).toEqual({ ok: false, unknown: ['toolchain.prefx', 'nope'], malformed: false });
    expect(interpolate('${toolchain.prefix', scope)).toEqual({ ok: false, unknown: [], malformed: true });
  });
});

describe('fingerprints', () => {
  it('do not depend on key order', () => {
    expect(fingerprintOf({ a: 1, b: { c: 2, d: 3 } })).toBe(fingerprintOf({ b: { d: 3, c: 2 }, a: 1 }));
    expect(fingerprintOf({ a: 1 })).not.toBe(fingerprintOf({ a: 2 }));
  });

  it('explain the first change a person would look for', () => {
    const was = { action: { argv: ['make'] }, inputs: { 'patches/x.patch': 'a'.repeat(64) }, tools: { make: '4.3' }, deps: { 'x:fetch': 'd1' } };
    expect(explainChange(was, { ...was, inputs: { 'patches/x.patch': 'b'.repeat(64) } }, 'recipes/x.yaml')).toEqual({
      reason: 'changed',
      what: 'patches/x.patch',
      was: 'aaaaaaaa',
      now: 'bbbbbbbb',
    });
    expect(explainChange(was, { ...was, deps: { 'x:fetch': 'd2' } }, 'recipes/x.yaml')).toEqual({ reason: 'dependency', id: 'x:fetch' });
    expect(explainChange(was, { ...was, tools: { make: '4.4' } }, 'recipes/x.yaml')).toEqual({ reason: 'changed', what: 'tool make', was: '4.3', now: '4.4' });
    expect(explainChange(was, { ...was, action: { argv: ['make', 'V=1'] } }, 'recipes/x.yaml')).toEqual({
      reason: 'changed',
      what: "the command's argv",
      was: 'make',
      now: 'make V=1',
    });
    const boot = { action: { kind: 'boot-script', cmdlines: { dom0: 'console=hvc0', xen: 'dom0_mem=512M' } } };
    expect(explainChange(boot, { action: { kind: 'boot-script', cmdlines: { dom0: 'console=hvc0 quiet', xen: 'dom0_mem=512M' } } }, 'b.yaml')).toEqual({
      reason: 'changed',
      what: "the command's cmdlines.dom0",
      was: 'console=hvc0',
      now: 'console=hvc0 quiet',
    });
  });
});
