/** A point a boot must pass, recognised by text on the console. */
export interface Milestone {
  name: string;
  match: string;
}

export interface Reached {
  name: string;
  /** Milliseconds since the emulator started. */
  atMs: number;
  line: string;
}

/**
 * Follows a console line by line and says which milestones were reached, in
 * order: a milestone counts only after the one before it, so "Xen did not
 * start" is told apart from "dom0 hung". Pure: the caller feeds lines and times.
 */
export class MilestoneTracker {
  readonly reached: Reached[] = [];

  constructor(readonly milestones: readonly Milestone[]) {
    if (milestones.length === 0) throw new Error('Internal error: no milestones');
  }

  /** Feeds one console line; returns the milestones it reached (usually none). */
  feed(line: string, atMs: number): Reached[] {
    const now: Reached[] = [];
    while (!this.done) {
      const next = this.milestones[this.reached.length]!;
      if (!line.includes(next.match)) break;
      const r = { name: next.name, atMs, line };
      this.reached.push(r);
      now.push(r);
    }
    return now;
  }

  get done(): boolean {
    return this.reached.length === this.milestones.length;
  }

  get last(): Reached | undefined {
    return this.reached.at(-1);
  }

  get next(): Milestone | undefined {
    return this.milestones[this.reached.length];
  }
}
