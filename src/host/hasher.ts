import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonState, recordsOf, writeFileAtomic } from '../util/fs.js';

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
    this.entries = recordsOf<Entry>(readJsonState(cachePath, (v): v is unknown => true));
  }

  /**
   * The state of a regular file or a directory (an output such as a root file
   * system tree), or undefined when it is neither.
   */
  async hash(path: string): Promise<FileState | undefined> {
    let st;
    try {
      st = statSync(path);
    } catch {
      return undefined;
    }
    // A directory's size and mtime say nothing of its files: callers compare the digest.
    if (st.isDirectory()) return { size: st.size, mtimeMs: st.mtimeMs, sha256: await this.treeDigest(path) };
    if (!st.isFile()) return undefined;
    return this.fileState(path, st);
  }

  /**
   * The digest of a tree: every entry by relative path, in byte order, with
   * its type and permission bits, and a file's content hash (cached as above)
   * or a link's target. Owners and times are left out: the same tree built by
   * another user or at another time has the same digest.
   */
  private async treeDigest(root: string): Promise<string> {
    const hash = createHash('sha256');
    const walk = async (dir: string, rel: string): Promise<void> => {
      for (const name of readdirSync(dir).sort()) {
        const path = join(dir, name);
        const entry = rel === '' ? name : `${rel}/${name}`;
        const st = lstatSync(path);
        const mode = (st.mode & 0o7777).toString(8);
        if (st.isDirectory()) {
          hash.update(`d ${mode} ${entry}\0`);
          await walk(path, entry);
        } else if (st.isSymbolicLink()) {
          hash.update(`l ${entry}\0${readlinkSync(path)}\0`);
        } else if (st.isFile()) {
          hash.update(`f ${mode} ${entry}\0${(await this.fileState(path, st)).sha256}\0`);
        } else {
          hash.update(`s ${mode} ${entry}\0${st.rdev}\0`);
        }
      }
    };
    await walk(root, '');
    return hash.digest('hex');
  }

  private async fileState(path: string, st: { size: number; mtimeMs: number; ino: number }): Promise<FileState> {
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
