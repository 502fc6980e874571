/**
 * Running a program as if it were root, without being root: fakeroot.
 *
 * The way genimage sees a tree as root's when no cheaper way fits
 * (as-root.ts): under fakeroot every file reads as root:root (faked's
 * "unknown-is-root" mode), and nothing on the host changes: no chown ever
 * reaches a real file. That is how Buildroot and Yocto run genimage too.
 *
 * The `fakeroot` script is not used: it starts faked as a daemon in a session
 * of its own, which a cancelled build would leave behind (its trap does not
 * run on SIGTERM). Instead `faked-sysv --foreground` runs as an ordinary child
 * in its own process group (src/host/process.ts): it prints `KEY:PID`, the
 * program runs with FAKEROOTKEY and the preload library in its environment,
 * and faked is stopped (SIGTERM: it removes its IPC objects) whatever happens.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { TaskFailure } from '../host/failure.js';
import { exec, type ExecOptions } from '../host/process.js';

const FAKED = 'faked-sysv';
const PRELOAD = 'libfakeroot-sysv.so';

/** The directory holding fakeroot's preload library (/usr/lib/<multiarch>/libfakeroot on Debian). */
function preloadDir(libRoots: readonly string[] = ['/usr/lib', '/usr/lib64']): string | undefined {
  for (const root of libRoots) {
    const candidates = [join(root, 'libfakeroot'), ...safeList(root).map((d) => join(root, d, 'libfakeroot'))];
    const found = candidates.find((dir) => existsSync(join(dir, PRELOAD)));
    if (found) return found;
  }
  return undefined;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

export interface FakerootOptions {
  cwd: string;
  signal?: AbortSignal;
  /** Told faked's process group (see ExecOptions), so a killed xenbuild's next run can stop it. */
  onGroup?: ExecOptions['onGroup'];
}

/**
 * Starts faked, calls `body` with the environment that makes a program see
 * itself as root (pass it to exec), and stops faked when `body` settles.
 */
export async function withFakeroot<T>(
  opts: FakerootOptions,
  body: (env: Record<string, string>, faked: { key: string; pid: number }) => Promise<T>,
): Promise<T> {
  const dir = preloadDir();
  if (dir === undefined) throw new TaskFailure({ reason: 'missing-tool', tool: PRELOAD, package: 'fakeroot' });
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let announce: (line: string) => void = () => undefined;
  const announced = new Promise<string>((resolve) => (announce = resolve));
  // Settles when faked ends: an error if it could not start, undefined once it was stopped.
  const daemon = exec([FAKED, '--foreground'], {
    cwd: opts.cwd,
    signal: stop.signal,
    killGraceMs: 1000,
    onLine: (line) => announce(line),
    ...(opts.onGroup ? { onGroup: opts.onGroup } : {}),
  }).then(
    () => new Error(`${FAKED} exited before it printed its key`),
    (err: unknown) => (stop.signal.aborted ? undefined : err),
  );
  try {
    const first = await Promise.race([announced, daemon]);
    if (typeof first !== 'string') throw first ?? new TaskFailure({ reason: 'cancelled' });
    const [, key, pid] = /^(\d+):(\d+)$/.exec(first.trim()) ?? [];
    if (key === undefined || pid === undefined) throw new Error(`${FAKED} printed "${first}" instead of KEY:PID`);
    return await body({ FAKEROOTKEY: key, FAKED_MODE: 'unknown-is-root', LD_LIBRARY_PATH: dir, LD_PRELOAD: PRELOAD }, { key, pid: Number(pid) });
  } finally {
    stop.abort();
    opts.signal?.removeEventListener('abort', onAbort);
    await daemon;
  }
}
