import { closeSync, constants, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** A job slot a task holds while it runs. */
export interface Slot {
  /** The run's own implicit job, or a token read from the pipe. */
  implicit: boolean;
}

/**
 * The run's job budget as a GNU make jobserver: a pipe holding N-1 tokens plus
 * one implicit job. Every task takes a slot before it starts. A `make` task
 * gets the pipe as fd 3 and `MAKEFLAGS=-j --jobserver-auth=3,3`, so all the
 * makes of a run — and their sub-makes — share the same N jobs: when one make
 * is idle, another can use its jobs, and the machine is never oversubscribed.
 *
 * The pipe is a FIFO opened read-write and unlinked at once: the run and its
 * children hold it, nothing is left on disk. xenbuild reads it without
 * blocking (it must never stall its event loop); make reads it blocking.
 */
export class Jobserver {
  private implicitFree = true;
  private readonly waiters: ((slot: Slot) => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    readonly total: number,
    /** Blocking descriptor handed to children. */
    readonly childFd: number,
    /** Non-blocking descriptor xenbuild itself reads and writes. */
    private readonly ownFd: number,
  ) {}

  static async open(dir: string, total: number): Promise<Jobserver> {
    if (!Number.isInteger(total) || total < 1) throw new Error(`Internal error: job budget ${total}`);
    const { execa } = await import('execa');
    const path = join(dir, `jobserver-${process.pid}.fifo`);
    rmSync(path, { force: true });
    await execa('mkfifo', ['-m', '600', path]);
    try {
      const childFd = openSync(path, constants.O_RDWR);
      const ownFd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
      if (total > 1) writeSync(ownFd, Buffer.alloc(total - 1, '+'));
      return new Jobserver(total, childFd, ownFd);
    } finally {
      rmSync(path, { force: true });
    }
  }

  /** The environment a make task runs with; its fd 3 must be `childFd`. */
  static makeflags(): string {
    return ' -j --jobserver-auth=3,3';
  }

  /** Waits for a slot; slots are handed out in the order they were asked for. */
  acquire(): Promise<Slot> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.pump();
    });
  }

  /** Takes up to `max` more tokens that are free right now (for a task that runs its own parallel jobs). */
  tryTakeExtra(max: number): number {
    let got = 0;
    while (got < max && this.readToken()) got++;
    return got;
  }

  release(slot: Slot, extra = 0): void {
    if (extra > 0) writeSync(this.ownFd, Buffer.alloc(extra, '+'));
    if (slot.implicit) this.implicitFree = true;
    else writeSync(this.ownFd, Buffer.from('+'));
    this.pump();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    closeSync(this.childFd);
    closeSync(this.ownFd);
  }

  private readToken(): boolean {
    try {
      return readSync(this.ownFd, Buffer.alloc(1), 0, 1, null) === 1;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return false;
      throw err;
    }
  }

  private pump(): void {
    while (this.waiters.length > 0) {
      if (this.implicitFree) {
        this.implicitFree = false;
        this.waiters.shift()!({ implicit: true });
      } else if (this.readToken()) {
        this.waiters.shift()!({ implicit: false });
      } else break;
    }
    // Tokens come back from make processes too, which do not tell us: look again shortly.
    if (this.waiters.length > 0 && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, 25);
    }
  }
}
