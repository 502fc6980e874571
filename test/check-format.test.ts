import { describe, expect, it } from 'vitest';
import { formatFindings } from '../src/check/rules.js';

describe('formatFindings', () => {
  it('aligns severity, id and message, puts the fix under the message, and counts', () => {
    const text = formatFindings([
      {
        id: 'XB-MEM-004',
        severity: 'error',
        message:
          "/reserved-memory/dsp1-memory@99000000 (0x99000000+64 MiB) lies outside dom0's memory 0xa8000000–0xb0000000; dom0 will panic in reserve_bootmem",
        fix: 'dtb fixup: prune-reserved-memory (keep: inside-dom0)',
      },
      { id: 'XB-KCONF-002', severity: 'error', message: 'the kernel .config does not have CONFIG_HVC_XEN', fix: 'add CONFIG_HVC_XEN=y' },
      { id: 'XB-BOOT-001', severity: 'warning', message: "dom0's bootargs have no console=hvc0", fix: 'add console=hvc0' },
    ]);
    expect(text).toBe(
      [
        "error    XB-MEM-004    /reserved-memory/dsp1-memory@99000000 (0x99000000+64 MiB) lies outside dom0's memory 0xa8000000–0xb0000000; dom0 will panic in reserve_bootmem",
        '                       fix: dtb fixup: prune-reserved-memory (keep: inside-dom0)',
        'error    XB-KCONF-002  the kernel .config does not have CONFIG_HVC_XEN',
        '                       fix: add CONFIG_HVC_XEN=y',
        "warning  XB-BOOT-001   dom0's bootargs have no console=hvc0",
        '                       fix: add console=hvc0',
        '',
        '2 errors, 1 warning',
      ].join('\n'),
    );
  });

  it('says so when there is nothing to report', () => {
    expect(formatFindings([])).toBe('no problems found');
    expect(formatFindings([{ id: 'XB-BOOT-001', severity: 'warning', message: 'm', fix: 'f' }])).toBe(
      'warning  XB-BOOT-001  m\n                      fix: f\n\n0 errors, 1 warning',
    );
  });
});
