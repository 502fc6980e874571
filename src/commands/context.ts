import { EXIT } from './exit.js';
import { readAnalysisCache, writeAnalysisCache } from '../analysis/cache.js';
import { ConfigError, loadSettings, type CliOptions, type Settings } from '../config.js';
import { acquireLock } from '../host/lock.js';
import { layoutOf } from '../model/board-layout.js';
import { xenbuildVersion } from '../util/install.js';
import type { BuildGraph } from '../model/graph.js';
import { boardNameProblem } from '../model/names.js';

/** Options every command accepts (see cli.ts). */
export interface GlobalOptions extends CliOptions {
  reporter?: 'tty' | 'plain' | 'json';
  dryRun?: boolean;
  keepGoing?: boolean;
  wait?: boolean;
}

export { EXIT };

/** An expected way for a command to stop early: a message and an exit status. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
    /** The message is already rendered (diagnostics): print it as it is, without the "xenbuild: error:" prefix. */
    readonly rendered = false,
  ) {
    super(message);
  }
}

export async function settingsFor(opts: GlobalOptions): Promise<Settings> {
  try {
    return await loadSettings(process.cwd(), opts);
  } catch (err) {
    if (err instanceof ConfigError) throw new CommandError(err.message);
    throw err;
  }
}

/** Loads and analyses the board, or stops with every diagnostic (exit 2). Nothing runs before this succeeds. */
export async function analysedBoard(opts: GlobalOptions): Promise<{ settings: Settings; graph: BuildGraph }> {
  const settings = await settingsFor(opts);
  if (!settings.board) {
    throw new CommandError('no board chosen: pass --board NAME (or set "board" in xenbuild.config.json)');
  }
  // Before the analysis cache is looked up under <workdir>/<board>: a name is never a path.
  const badName = boardNameProblem(settings.board);
  if (badName) throw new CommandError(`xenbuild: error: ${badName.message}\n  hint: ${badName.hint}`, EXIT.usage, true);
  const cached = readAnalysisCache(settings, settings.board, settings.profile, xenbuildVersion());
  if (cached) return { settings, graph: cached };
  const analysis = await analyseFresh(settings, settings.board);
  if (!analysis.graph) {
    throw new CommandError(analysis.rendered.trimEnd(), EXIT.usage, true);
  }
  if (analysis.rendered) process.stderr.write(analysis.rendered);
  else if (!opts.dryRun) await writeAnalysisCache(settings, settings.board, settings.profile, xenbuildVersion(), analysis.graph, analysis.files);
  return { settings, graph: analysis.graph };
}

/** Validates the configuration and analyses the board from its files (loads the YAML parser and the validator). */
async function analyseFresh(settings: Settings, board: string): Promise<{ graph?: BuildGraph; rendered: string; files: string[] }> {
  if (settings.configFile) {
    const { validateProjectConfig } = await import('../config-schema.js');
    try {
      validateProjectConfig(settings.rawConfig, settings.configFile);
    } catch (err) {
      if (err instanceof ConfigError) throw new CommandError(err.message);
      throw err;
    }
  }
  const { analyse } = await import('../analysis/resolve.js');
  const { renderDiagnostics } = await import('../analysis/diagnostics.js');
  const analysis = analyse(settings, board, settings.profile);
  const rendered = analysis.diagnostics.length ? renderDiagnostics(analysis.diagnostics, analysis.texts, process.cwd()) : '';
  return analysis.graph ? { graph: analysis.graph, rendered, files: analysis.files } : { rendered, files: analysis.files };
}

/** Takes the board's lock for the duration of `body`; a second xenbuild waits (--wait) or is told who holds it. */
export async function withLock<T>(graph: BuildGraph, opts: GlobalOptions, command: string, body: () => Promise<T>): Promise<T> {
  const path = layoutOf(graph).lock;
  for (;;) {
    const lock = acquireLock(path, command);
    if (lock.ok) {
      try {
        return await body();
      } finally {
        lock.release();
      }
    }
    const h = lock.holder;
    if (!opts.wait) {
      throw new CommandError(
        `${path} is held by another xenbuild (pid ${h.pid} on ${h.host}, "${h.command}", since ${h.since}); ` +
          'wait for it to finish, or pass --wait to queue behind it',
        EXIT.failed,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** An AbortSignal that fires on Ctrl-C or SIGTERM while `body` runs. */
export async function withInterrupts<T>(body: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    process.stderr.write(`\nxenbuild: ${sig}: stopping every running task…\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await body(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
