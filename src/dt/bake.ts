/**
 * Applying operations to a DTB at build time with fdtput, on a copy: the
 * result appears at outPath only when every edit succeeded.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { exec } from '../host/process.js';
import { assertWritable, type DtOp } from './ops.js';

export interface BakeOptions {
  /** Each line dtc and fdtput print (their error messages), for the task log. */
  onLine?: (line: string) => void;
  signal?: AbortSignal;
  /** Free space added to the blob before editing (dtc -p); fdtput grows it further when needed. */
  padding?: number;
}

/** The fdtput argv for one op on `file`; `--` keeps values such as "-v" from being read as options. */
function fdtputArgv(file: string, op: DtOp): string[] {
  assertWritable(op);
  switch (op.op) {
    case 'add-node':
      // -p creates missing parents and makes an existing node a no-op.
      return ['fdtput', '-c', '-p', '--', file, op.path];
    case 'delete-node':
      return ['fdtput', '-r', '--', file, op.path];
    case 'delete-prop':
      return ['fdtput', '-d', '--', file, op.path, op.prop];
    case 'set': {
      const v = op.value;
      const base = [file, op.path, op.prop];
      if ('strings' in v && v.strings.length > 0) return ['fdtput', '-t', 's', '--', ...base, ...v.strings];
      if ('cells' in v && v.cells.length > 0) return ['fdtput', '-t', 'x', '--', ...base, ...v.cells.map((c) => c.toString(16))];
      if ('bytes' in v && v.bytes.length > 0) return ['fdtput', '-t', 'bx', '--', ...base, ...v.bytes.map((b) => b.toString(16))];
      // No values: an empty property (`interrupt-controller;`).
      return ['fdtput', '--', ...base];
    }
  }
}

/**
 * Copy `dtbPath` with room to grow (dtc -I dtb -O dtb -p), apply `ops` in order
 * with fdtput, and rename the result onto `outPath`. On any failure the
 * temporary copy is removed and `outPath` is left as it was (absent or old);
 * the failure is the TaskFailure of the command that failed, whose message
 * fdtput printed through `onLine`.
 */
export async function bakeEdits(dtbPath: string, outPath: string, ops: readonly DtOp[], opts: BakeOptions = {}): Promise<void> {
  const out = path.resolve(outPath);
  const dir = path.dirname(out);
  const tmp = path.join(dir, `.${path.basename(out)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const execOpts = {
    cwd: dir,
    // Always consume output, so an error message can never fill a pipe and stall the tool.
    onLine: opts.onLine ?? (() => undefined),
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
  try {
    const argvs = ops.map((op) => fdtputArgv(tmp, op)); // validate every op before touching anything
    await exec(['dtc', '-q', '-I', 'dtb', '-O', 'dtb', '-p', String(opts.padding ?? 4096), '-o', tmp, path.resolve(dtbPath)], execOpts);
    for (const argv of argvs) await exec(argv, execOpts);
    await rename(tmp, out);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
