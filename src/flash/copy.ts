/**
 * Writing an image without bmaptool: only the ranges its bmap maps, checked
 * against the bmap's checksums as they are read from the image (as bmaptool
 * does). A regular-file target is truncated to the image size first, so its
 * holes read as zeros; on a disk the unmapped blocks are left alone, which is
 * the point of a bmap (file systems never read them).
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { TaskFailure } from '../host/failure.js';
import { rangeBytes, type Bmap } from './bmap.js';
import { imageMismatch as mismatch } from './target.js';

const CHUNK = 4 * 1024 * 1024;

export interface CopyOptions {
  /** The target is a regular file (created or truncated), not a disk. */
  isFile: boolean;
  signal?: AbortSignal;
  /** Called after each range with the bytes written so far. */
  onProgress?: (written: number) => void;
}

/** Copies the mapped ranges of `image` to `target`; returns the bytes written. */
export async function copyMappedRanges(image: string, target: string, bmap: Bmap, opts: CopyOptions): Promise<number> {
  const src = await open(image, 'r');
  const flags = opts.isFile ? constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC : constants.O_WRONLY;
  const dst = await open(target, flags, 0o644);
  const buffer = Buffer.allocUnsafe(CHUNK);
  let written = 0;
  try {
    if (opts.isFile) await dst.truncate(bmap.imageSize);
    for (const r of bmap.ranges) {
      const { start, end } = rangeBytes(bmap, r);
      const hash = createHash(bmap.checksumType);
      for (let pos = start; pos < end;) {
        if (opts.signal?.aborted) throw new TaskFailure({ reason: 'cancelled' });
        const { bytesRead } = await src.read(buffer, 0, Math.min(CHUNK, end - pos), pos);
        if (bytesRead === 0) throw mismatch(image, target, `it ends at byte ${pos}, but its bmap maps data up to byte ${end}`);
        hash.update(buffer.subarray(0, bytesRead));
        let done = 0;
        while (done < bytesRead) done += (await dst.write(buffer, done, bytesRead - done, pos + done)).bytesWritten;
        pos += bytesRead;
        written += bytesRead;
      }
      if (hash.digest('hex') !== r.checksum) {
        throw mismatch(image, target, `blocks ${r.first}-${r.last} differ from the bmap's checksum`);
      }
      opts.onProgress?.(written);
    }
    await dst.sync();
  } finally {
    await dst.close();
    await src.close();
  }
  return written;
}
