/**
 * Reading a DTB: dtc decompiles it (the real parser of the format), and
 * parse.ts turns dtc's normalised dts text into a DtTree.
 */
import { open } from 'node:fs/promises';
import path from 'node:path';
import { exec } from '../engine/process.js';
import { DtError, type DtTree } from './model.js';
import { parseDts } from './parse.js';

export { DtError, DtNode, DtProperty, DtTree } from './model.js';
export { parseDts } from './parse.js';

const FDT_MAGIC = 0xd00dfeed;

export interface ReadOptions {
  signal?: AbortSignal;
}

/**
 * Read a flattened device tree blob. Throws DtError when the file is not a
 * DTB (checked by its magic, so the message says so rather than dtc's exit
 * status), TaskFailure when dtc is missing or fails.
 */
export async function readDtb(dtbPath: string, opts: ReadOptions = {}): Promise<DtTree> {
  const file = path.resolve(dtbPath);
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    if (bytesRead < 4 || head.readUInt32BE(0) !== FDT_MAGIC) {
      throw new DtError(`${dtbPath} is not a device tree blob (no 0xd00dfeed magic)`);
    }
  } finally {
    await handle.close();
  }
  // -q: dtc's warnings about the tree's style are not ours to print.
  const text = await exec(['dtc', '-q', '-I', 'dtb', '-O', 'dts', file], {
    cwd: path.dirname(file),
    capture: true,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  return parseDts(text);
}
