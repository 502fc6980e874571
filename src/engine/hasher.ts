import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../util/fs.js';

interface Entry {
  size: number;
  mtimeMs: number;
  ino: number;
  sha256: string;
}

export interface FileState {
  size: number;
  mtimeMs: number;
  sha256: string;
}

/**
 * sha256 of files, remembered by (size, mtime, inode) so a no-op run reads no
 * file twice across runs — as lage's FileHasher does, but saved atomically.
 */
export class FileHasher {
  private entries: Record<string, Entry>;
  private dirty = false;

  constructor(private readonly cachePath: string) {
    try {
      this.entries = JSON.parse(readFileSync(cachePath, 'utf8')) as Record<string, Entry>;
    } catch {
      this.entries = {};
    }
  }

  /** The file's state, or undefined when it is not a regular file. */
  async hash(path: string): Promise<FileState | undefined> {
    let st;
    try {
      st = statSync(path);
    } catch {
      return undefined;
    }
    if (!st.isFile()) return undefined;
    const known = this.entries[path];
    if (known && known.size === st.size && known.mtimeMs === st.mtimeMs && known.ino === st.ino) {
      return { size: known.size, mtimeMs: known.mtimeMs, sha256: known.sha256 };
    }
    const sha256 = await sha256File(path);
    this.entries[path] = { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, sha256 };
    this.dirty = true;
    return { size: st.size, mtimeMs: st.mtimeMs, sha256 };
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    await writeFileAtomic(this.cachePath, JSON.stringify(this.entries));
  }
}

/** sha256 of a file, streamed in large chunks (holes in sparse files read as zeros). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
