import { copyFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ActionContext } from '../engine/action.js';
import { TaskFailure } from '../host/failure.js';
import type { LockedFile } from '../model/lock.js';
import { verifyFile, type SnapshotFiles } from './debian-fetch.js';

/**
 * Debian's snapshot archive (and each of its mirrors) keeps every
 * file the archive ever had and serves it by its sha1 as `<base>/file/<sha1>`.
 * A Debian version that left the archive (the next point release removes the
 * superseded one) is fetched from it file by file, from what xenbuild.lock.json
 * recorded, and each file is checked against the lock's sha256 and size.
 */

/** What a Debian fetch's spec carries for a version the archive no longer has. */
export interface SnapshotFallback {
  /** The files xenbuild.lock.json has for it: what Debian's snapshot archive is asked for when the archive no longer has the version. */
  locked?: LockedFile[];
  /** Debian's snapshot archive (a base URL or a directory in its layout). */
  snapshot?: string;
}

/** The snapshot fallback a fetch spec allows: the lock's files and a base to ask, both or neither. */
export function snapshotOf(spec: SnapshotFallback): { snapshot?: SnapshotFiles } {
  return spec.locked && spec.snapshot ? { snapshot: { base: spec.snapshot, files: spec.locked } } : {};
}

/** Every locked file into `dir`, under its name, verified. Fails with 'fetch-failed' or 'checksum-mismatch'. */
export async function fetchFromSnapshot(ctx: ActionContext, snap: SnapshotFiles, dir: string): Promise<void> {
  const remote = /^https?:\/\//i.test(snap.base);
  for (const f of snap.files) {
    if (!/^[0-9a-f]{40}$/.test(f.sha1) || path.basename(f.name) !== f.name || f.name.startsWith('.')) {
      throw new TaskFailure({
        reason: 'fetch-failed',
        url: snap.base,
        message: `the lock's entry for ${JSON.stringify(f.name)} is not a file xenbuild fetches`,
      });
    }
    const where = remote ? `${snap.base.replace(/\/+$/, '')}/file/${f.sha1}` : path.join(snap.base, 'file', f.sha1);
    const dest = path.join(dir, f.name);
    ctx.log(`${f.name}: from Debian's snapshot archive, ${where}`);
    try {
      if (remote) {
        const response = await fetch(where, { signal: ctx.signal });
        if (!response.ok || !response.body) throw new Error(`${response.status} ${response.statusText}`);
        await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>), createWriteStream(dest));
      } else {
        await copyFile(where, dest);
      }
    } catch (err) {
      if (ctx.signal.aborted) throw new TaskFailure({ reason: 'cancelled' });
      const cause = (err as { cause?: { message?: string } }).cause?.message;
      throw new TaskFailure({ reason: 'fetch-failed', url: where, message: `${(err as Error).message}${cause ? `: ${cause}` : ''}` });
    }
    await verifyFile(dir, f);
  }
}
