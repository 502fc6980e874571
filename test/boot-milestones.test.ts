import { describe, expect, it } from 'vitest';
import { consoleOf, expandMilestones, MilestoneTracker, type Milestone } from '../src/boot/milestones.js';
import { boardMilestones, readConsoleLog } from '../src/check/read-log.js';

const QEMU: Milestone[] = [
  { name: 'U-Boot banner', match: 'U-Boot 20' },
  { name: 'boot script found', match: 'xenbuild: loading xen', optional: true },
  { name: 'Xen banner', match: 'Xen version', timeout: 30 },
  { name: 'dom0 kernel started', match: 'Booting Linux on physical CPU' },
  { name: 'dom0 userspace reached', match: 'xenbuild: dom0 userspace reached' },
];

function feedAll(t: MilestoneTracker, lines: string[]): string[] {
  return lines.flatMap((l, i) => t.feed(l, i * 1000).map((r) => r.name));
}

describe('milestones', () => {
  it('are reached in order on a console: a later text seen first does not count', () => {
    const t = new MilestoneTracker(QEMU);
    expect(feedAll(t, ['Booting Linux on physical CPU 0x0', 'U-Boot 2023.01', 'xenbuild: loading xen: xen', '(XEN) Xen version 4.17.5'])).toEqual([
      'U-Boot banner',
      'boot script found',
      'Xen banner',
    ]);
    expect(t.done).toBe(false);
    expect(t.next?.name).toBe('dom0 kernel started');
  });

  it('pass over an optional milestone a foreign boot script never prints, and succeed without it', () => {
    const t = new MilestoneTracker(QEMU);
    const reached = feedAll(t, [
      'U-Boot 2023.01',
      '884744 bytes read in 8 ms',
      '(XEN) Xen version 4.17.5',
      'Booting Linux on physical CPU 0x0',
      'xenbuild: dom0 userspace reached',
    ]);
    expect(reached).toEqual(['U-Boot banner', 'Xen banner', 'dom0 kernel started', 'dom0 userspace reached']);
    expect(t.skipped).toEqual(['boot script found']);
    expect(t.done).toBe(true);
  });

  it('never pass over a required milestone', () => {
    const t = new MilestoneTracker(QEMU);
    expect(feedAll(t, ['U-Boot 2023.01', 'Booting Linux on physical CPU 0x0', 'xenbuild: dom0 userspace reached'])).toEqual(['U-Boot banner']);
    expect(t.next?.name).toBe('Xen banner');
  });

  it("follow a dom0less domU's console apart from the host's, so its Linux is not taken for dom0's", () => {
    const t = new MilestoneTracker([
      ...QEMU,
      { name: 'domU kernel started', match: 'Booting Linux', domain: 1 },
      { name: 'domU marker', match: 'xenbuild: domU reached', domain: 1 },
    ]);
    const reached = feedAll(t, [
      'U-Boot 2023.01',
      '(XEN) Xen version 4.17.5',
      '(XEN) DOM1: Booting Linux on physical CPU 0x0',
      '(XEN) DOM1: xenbuild: domU reached',
      'Booting Linux on physical CPU 0x0',
      'xenbuild: dom0 userspace reached',
    ]);
    expect(reached).toEqual(['U-Boot banner', 'Xen banner', 'domU kernel started', 'domU marker', 'dom0 kernel started', 'dom0 userspace reached']);
    expect(t.done).toBe(true);
    expect(consoleOf('(d1) early message')).toEqual({ domain: 1, text: 'early message' });
    expect(consoleOf('(XEN) [    1.234] DOM2: hello')).toEqual({ domain: 2, text: 'hello' });
    expect(consoleOf('(XEN) Xen version')).toEqual({ domain: 0, text: '(XEN) Xen version' });
  });

  it('match any text of a list', () => {
    const t = new MilestoneTracker([{ name: 'userspace', match: ['xenbuild: dom0 userspace reached', 'Run /init as init process'] }]);
    expect(feedAll(t, ['Run /init as init process'])).toEqual(['userspace']);
  });

  it('time out one by one, counted from the milestone before on the same console', () => {
    const t = new MilestoneTracker(QEMU);
    t.feed('U-Boot 2023.01', 5_000);
    expect(t.overdue(34_000)).toBeUndefined();
    expect(t.overdue(35_001)).toEqual({ milestone: QEMU[2], since: 'U-Boot banner' });
    t.feed('(XEN) Xen version', 35_500);
    // dom0 kernel started has no timeout of its own: only the boot's whole timeout applies.
    expect(t.overdue(1_000_000)).toBeUndefined();
    const first = new MilestoneTracker([{ name: 'banner', match: 'x', timeout: 2 }]);
    expect(first.overdue(2_001)).toEqual({ milestone: { name: 'banner', match: 'x', timeout: 2 } });
  });

  it('expand presets in place: xen-ci is the criteria of Xen own CI', () => {
    const list = expandMilestones([{ name: 'U-Boot banner', match: 'U-Boot 20' }, 'xen-ci']);
    expect(list.map((m) => m.name)).toEqual(['U-Boot banner', 'Xen banner', 'dom0 userspace reached', 'Domain-0 listed', 'guest shell']);
  });

  it('read the same way in a saved log: an optional milestone missing is not missing', () => {
    const log = 'U-Boot 2023.01\n(XEN) Xen version 4.17.5\nBooting Linux on physical CPU 0x0\nxenbuild: dom0 userspace reached\n';
    const reading = readConsoleLog(log, boardMilestones(QEMU));
    expect(reading.missing).toEqual([]);
    expect(reading.ok).toBe(true);
  });
});
