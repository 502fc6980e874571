/**
 * Reading a DTB: dtc decompiles it (the real parser of the format), and
 * parse.ts turns dtc's normalised dts text into a DtTree.
 */
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exec } from '../host/process.js';
import { DtError, type DtTree } from './model.js';
import { parseDts } from './parse.js';

export { DtError, DtTree } from './model.js';
export { parseDts } from './parse.js';

const FDT_MAGIC = 0xd00dfeed;

export interface ReadOptions {
  signal?: AbortSignal;
  /** dtc's error lines, for the task log. */
  onLine?: (line: string) => void;
}

/**
 * Read a flattened device tree blob. Throws DtError when the file is not a
 * DTB (checked by its magic, so the message says so rather than dtc's exit
 * status), TaskFailure when dtc is missing or fails.
 */
export async function readDtb(dtbPath: string, opts: ReadOptions = {}): Promise<DtTree> {
  const file = path.resolve(dtbPath);
  const handle = await open(file, 'r').catch((err: NodeJS.ErrnoException) => {
    throw err.code === 'ENOENT' ? new DtError(`${dtbPath} does not exist`) : err;
  });
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    if (bytesRead < 4 || head.readUInt32BE(0) !== FDT_MAGIC) {
      throw new DtError(`${dtbPath} is not a device tree blob (no 0xd00dfeed magic)`);
    }
  } finally {
    await handle.close();
  }
  // dtc writes the text to a file rather than a pipe: a large tree is megabytes of text,
  // more than exec's captured output is made for. -q: the tree's style is not ours to lint.
  const dir = await mkdtemp(path.join(tmpdir(), 'xenbuild-dtc-'));
  try {
    const out = path.join(dir, 'tree.dts');
    await exec(['dtc', '-q', '-I', 'dtb', '-O', 'dts', '-o', out, file], {
      cwd: dir,
      onLine: opts.onLine ?? (() => undefined),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    return parseDts(await readFile(out, 'utf8'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
