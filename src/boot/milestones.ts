import type { Milestone, MilestonePreset } from '../model/boot.js';

export type { Milestone };

/** Milestones a board names by preset: the criteria of Xen's own CI for its arm32 QEMU tests. */
const MILESTONE_PRESETS: Readonly<Record<MilestonePreset, readonly Milestone[]>> = {
  'xen-ci': [
    { name: 'Xen banner', match: 'Xen version', timeout: 60 },
    { name: 'dom0 userspace reached', match: ['xenbuild: dom0 userspace reached', 'Run /init as init process', 'Run /sbin/init as init process'] },
    { name: 'Domain-0 listed', match: 'Domain-0' },
    // Xen's CI waits for a busybox prompt; xenbuild's guests print their own marker.
    { name: 'guest shell', match: ['xenbuild: guest userspace reached', '/ #'] },
  ],
};

/** The board's list with each preset's milestones in its place. */
export function expandMilestones(list: readonly (Milestone | string)[]): Milestone[] {
  return list.flatMap((m) => {
    if (typeof m !== 'string') return [m];
    const preset = (MILESTONE_PRESETS as Record<string, readonly Milestone[] | undefined>)[m];
    if (!preset) throw new Error(`Internal error: milestone preset ${m} is not known (the schema admits only ${Object.keys(MILESTONE_PRESETS).join(', ')})`);
    return preset;
  });
}

export interface Reached {
  name: string;
  /** Milliseconds since the emulator started. */
  atMs: number;
  line: string;
}

/** The console a line belongs to (0: the host's) and its text without Xen's relay prefix. */
export function consoleOf(line: string): { domain: number; text: string } {
  const relayed = /^\(XEN\) (?:\[[^\]]*\] )?DOM(\d+): ?(.*)$/.exec(line) ?? /^\(d(\d+)\) ?(.*)$/.exec(line);
  return relayed ? { domain: Number(relayed[1]), text: relayed[2]! } : { domain: 0, text: line };
}

function matchesMilestone(m: Milestone, text: string): boolean {
  return typeof m.match === 'string' ? text.includes(m.match) : m.match.some((t) => text.includes(t));
}

/**
 * Follows a console line by line and says which milestones were reached. On
 * each console, a milestone counts only after the required ones before it, so
 * "Xen did not start" is told apart from "dom0 hung"; an optional one not
 * seen by the time a later one is reached is passed over. Consoles are
 * followed each on its own (a domU boots while dom0 does). Pure: the caller
 * feeds lines and times, and asks for overdue milestones.
 */
export class MilestoneTracker {
  readonly reached: Reached[] = [];
  /** Optional milestones passed over. */
  readonly skipped: string[] = [];
  private readonly hit = new Set<number>();
  /** Per console: the index (in `milestones`) of each of its milestones, in order, and how many are settled. */
  private readonly consoles = new Map<number, { order: number[]; settled: number; lastAtMs: number; lastName?: string }>();

  constructor(readonly milestones: readonly Milestone[]) {
    if (milestones.length === 0) throw new Error('Internal error: no milestones');
    milestones.forEach((m, i) => {
      const c = this.consoles.get(m.domain ?? 0) ?? { order: [], settled: 0, lastAtMs: 0 };
      c.order.push(i);
      this.consoles.set(m.domain ?? 0, c);
    });
  }

  /** Feeds one console line; returns the milestones it reached (usually none). */
  feed(line: string, atMs: number): Reached[] {
    const { domain, text } = consoleOf(line);
    const c = this.consoles.get(domain);
    const now: Reached[] = [];
    if (!c) return now;
    for (;;) {
      let j = c.settled;
      while (j < c.order.length && !matchesMilestone(this.milestones[c.order[j]!]!, text) && this.milestones[c.order[j]!]!.optional) j++;
      if (j >= c.order.length || !matchesMilestone(this.milestones[c.order[j]!]!, text)) break;
      for (let k = c.settled; k < j; k++) this.skipped.push(this.milestones[c.order[k]!]!.name);
      const m = this.milestones[c.order[j]!]!;
      const r = { name: m.name, atMs, line };
      this.reached.push(r);
      this.hit.add(c.order[j]!);
      now.push(r);
      c.settled = j + 1;
      c.lastAtMs = atMs;
      c.lastName = m.name;
    }
    return now;
  }

  /** Every required milestone reached. */
  get done(): boolean {
    return this.milestones.every((m, i) => m.optional || this.hit.has(i));
  }

  get last(): Reached | undefined {
    return this.reached.at(-1);
  }

  /** The first required milestone not reached, in the board's order. */
  get next(): Milestone | undefined {
    return this.milestones.find((m, i) => !m.optional && !this.hit.has(i));
  }

  /** Optional milestones neither reached nor passed over (the boot ended before they could show). */
  get unseen(): string[] {
    return this.milestones.filter((m, i) => m.optional && !this.hit.has(i) && !this.skipped.includes(m.name)).map((m) => m.name);
  }

  /**
   * A required milestone whose own timeout has run out at `nowMs`, with what
   * its time is counted from; undefined when none has.
   */
  overdue(nowMs: number): { milestone: Milestone; since?: string } | undefined {
    for (const c of this.consoles.values()) {
      for (let j = c.settled; j < c.order.length; j++) {
        const m = this.milestones[c.order[j]!]!;
        if (m.optional) continue;
        if (m.timeout !== undefined && nowMs - c.lastAtMs > m.timeout * 1000) {
          return { milestone: m, ...(c.lastName !== undefined ? { since: c.lastName } : {}) };
        }
        break;
      }
    }
    return undefined;
  }
}
