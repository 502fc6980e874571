/**
 * The job budget (--jobs N) shared by every task of a run. A plain task takes
 * one job; a "shared" task (make) takes a share of what is free, split evenly
 * among the shared tasks waiting, and learns its share as ${jobs}. The sum of
 * what is handed out never exceeds N, so concurrent makes never oversubscribe
 * the machine.
 */
export class JobBudget {
  private free: number;
  private readonly waiters: { shared: boolean; grant: (jobs: number) => void }[] = [];
  private pumping = false;

  constructor(readonly total: number) {
    if (!Number.isInteger(total) || total < 1) throw new Error(`Internal error: job budget ${total}`);
    this.free = total;
  }

  /** Resolves with the number of jobs granted (at least 1). Waiters are served in arrival order. */
  acquire(shared: boolean): Promise<number> {
    return new Promise((grant) => {
      this.waiters.push({ shared, grant });
      this.schedulePump();
    });
  }

  release(jobs: number): void {
    this.free += jobs;
    if (this.free > this.total) throw new Error('Internal error: more jobs released than acquired');
    this.schedulePump();
  }

  /** Jobs not handed out. */
  get available(): number {
    return this.free;
  }

  /** Let every task that becomes ready in this turn queue up before shares are computed. */
  private schedulePump(): void {
    if (this.pumping) return;
    this.pumping = true;
    setImmediate(() => {
      this.pumping = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.free > 0 && this.waiters.length > 0) {
      const waiter = this.waiters.shift()!;
      let jobs = 1;
      if (waiter.shared) {
        const sharedWaiting = 1 + this.waiters.filter((w) => w.shared).length;
        const plainWaiting = this.waiters.length + 1 - sharedWaiting;
        jobs = Math.max(1, Math.floor(Math.max(1, this.free - plainWaiting) / sharedWaiting));
      }
      this.free -= jobs;
      waiter.grant(jobs);
    }
  }
}
