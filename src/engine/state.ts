import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isRecord, readJsonState, writeFileAtomic } from '../util/fs.js';

/** What a successful run of a task leaves behind; its absence means "never ran, or did not finish". */
export interface Stamp {
  id: string;
  fingerprint: string;
  /** The fingerprint's input, kept to explain why a task became stale. */
  basis: Record<string, unknown>;
  outputs: { name: string; size: number; mtimeMs: number; sha256: string }[];
  /** Hash of the outputs' contents; dependents fingerprint this, not the run. */
  outputDigest: string;
  /** For source tasks: the commit the tree must be at. */
  head?: string;
  finishedAt: string;
  durationMs: number;
}

/** Stamps live in <boardDir>/state/<task>.json, written only after success, atomically. */
export class StampStore {
  constructor(readonly dir: string) {}

  path(id: string): string {
    return join(this.dir, `${id}.json`);
  }

  /** The stamp, or undefined when there is none or it is not one (cut short, edited, of another version). */
  read(id: string): Stamp | undefined {
    return readJsonState(this.path(id), isStamp);
  }

  /** Called before a task runs: a killed run must never look fresh. */
  async invalidate(id: string): Promise<void> {
    await rm(this.path(id), { force: true });
  }

  async write(stamp: Stamp): Promise<void> {
    await writeFileAtomic(this.path(stamp.id), JSON.stringify(stamp, null, 1) + '\n');
  }
}

function isStamp(v: unknown): v is Stamp {
  return (
    isRecord(v) &&
    typeof v.id === 'string' &&
    typeof v.fingerprint === 'string' &&
    typeof v.outputDigest === 'string' &&
    isRecord(v.basis) &&
    (v.head === undefined || typeof v.head === 'string') &&
    Array.isArray(v.outputs) &&
    v.outputs.every(
      (o) => isRecord(o) && typeof o.name === 'string' && typeof o.size === 'number' && typeof o.mtimeMs === 'number' && typeof o.sha256 === 'string',
    )
  );
}
