import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { TaskFailure } from './failure.js';
import { debianPackageFor } from './host-tools.js';

export interface ExecOptions {
  cwd: string;
  /** Declared variables, laid over the clean base environment. */
  env?: Readonly<Record<string, string>>;
  /** Each line of output (stdout and stderr interleaved). */
  onLine?: (line: string) => void;
  /** Told the process group id as soon as the process exists (running), and again when it is gone. */
  onGroup?: (pgid: number, running: boolean) => void;
  /** Cancels the process group: SIGTERM, then SIGKILL after `killGraceMs`. */
  signal?: AbortSignal;
  /** Collect stdout and return it (for small queries such as git rev-parse). */
  capture?: boolean;
  /** How long a cancelled group gets between SIGTERM and SIGKILL (default 3 s). Stdin is always closed. */
  killGraceMs?: number;
  /** A file the child reads as its standard input (otherwise stdin is closed). */
  inputFile?: string;
  /** Open file descriptors the child gets as fd 3, 4, … (the make jobserver's pipe). */
  extraFds?: readonly number[];
  /** Extra tool → package hints for the missing-tool failure. */
  packages?: Readonly<Record<string, string>>;
}

/**
 * The environment every task starts from: enough to find programs and a home,
 * nothing that makes a build depend on who runs it.
 */
function baseEnvironment(): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    LC_ALL: 'C',
    TZ: 'UTC',
    TERM: 'dumb',
  };
  for (const key of ['TMPDIR', 'USER', 'LOGNAME']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

/**
 * Run argv (never through a shell) in its own process group. Resolves with the
 * captured stdout; rejects with a TaskFailure for every expected failure.
 */
export async function exec(argv: readonly string[], opts: ExecOptions): Promise<string> {
  if (argv.length === 0) throw new Error('Internal error: exec with an empty argv');
  if (opts.signal?.aborted) throw new TaskFailure({ reason: 'cancelled' });
  const { execa } = await import('execa');
  const command = [...argv];
  const child = execa(argv[0]!, argv.slice(1), {
    cwd: opts.cwd,
    env: { ...baseEnvironment(), ...opts.env },
    extendEnv: false,
    detached: true,
    // Extra descriptors become the child's fd 3, 4, …: the make jobserver's pipe.
    // (execa's types allow only the literals 3–9 as extra descriptors; any open fd works at run time.)
    stdio: [opts.inputFile ? { file: opts.inputFile } : 'ignore', 'pipe', 'pipe', ...((opts.extraFds ?? []) as readonly 3[])],
    all: true,
    buffer: { stdout: opts.capture === true, stderr: false, all: false },
    stripFinalNewline: false,
    reject: false,
  });
  if (child.pid !== undefined) opts.onGroup?.(child.pid, true);
  let cancelled = false;
  let killTimer: NodeJS.Timeout | undefined;
  const killGroup = (sig: NodeJS.Signals) => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, sig);
    } catch {
      /* the group is already gone */
    }
  };
  const onAbort = () => {
    cancelled = true;
    killGroup('SIGTERM');
    killTimer = setTimeout(() => killGroup('SIGKILL'), opts.killGraceMs ?? 3000);
    killTimer.unref();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const lines = (async () => {
      // Always drained, even when nobody listens: an unread pipe would stall a chatty program.
      for await (const line of child.iterable({ from: 'all', preserveNewlines: false })) {
        if (opts.onLine) for (const part of String(line).split('\r')) opts.onLine(part);
      }
    })();
    const [result] = await Promise.all([child, lines.catch(() => undefined)]);
    // Whatever the leader did, nothing of its group may outlive the task.
    if (cancelled) {
      killGroup('SIGKILL');
      throw new TaskFailure({ reason: 'cancelled' });
    }
    const code = (result.cause as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOENT' && !existsSync(opts.cwd)) throw new Error(`Internal error: the working directory ${opts.cwd} of ${argv[0]} does not exist`);
    if (code === 'ENOENT' || (result.failed && result.exitCode === undefined && /ENOENT/.test(result.message ?? ''))) {
      const pkg = debianPackageFor(argv[0]!, opts.packages);
      throw new TaskFailure(pkg ? { reason: 'missing-tool', tool: argv[0]!, package: pkg } : { reason: 'missing-tool', tool: argv[0]! });
    }
    if (result.signal) throw new TaskFailure({ reason: 'killed', command, signal: result.signal });
    if (result.exitCode !== 0) throw new TaskFailure({ reason: 'exit-non-zero', command, status: result.exitCode ?? -1 });
    return opts.capture ? String(result.stdout) : '';
  } finally {
    if (child.pid !== undefined) opts.onGroup?.(child.pid, false);
    opts.signal?.removeEventListener('abort', onAbort);
    if (killTimer) clearTimeout(killTimer);
  }
}

/** A task log: every line appended, the last `keep` lines remembered for the failure report. */
export class TaskLog {
  private readonly stream: WriteStream;
  private readonly tail: string[] = [];
  constructor(
    readonly path: string,
    private readonly keep = 40,
  ) {
    this.stream = createWriteStream(path, { flags: 'w' });
  }
  line(text: string): void {
    this.stream.write(text + '\n');
    this.tail.push(text);
    if (this.tail.length > this.keep) this.tail.shift();
  }
  lastLines(): string[] {
    return [...this.tail];
  }
  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.stream.end(resolve));
  }
}
