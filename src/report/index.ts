/**
 * Picks and loads a reporter. Each reporter lives in its own module and is
 * imported only when chosen, so `--reporter plain` never loads listr2.
 */
import type { Reporter } from '../engine/events.js';
import { unreachable } from '../util/unreachable.js';

/** The reporters `--reporter` accepts. */
export type ReporterName = 'tty' | 'plain' | 'json';

/**
 * The reporter to use when none is asked for: `plain` when `stream` is not a
 * terminal or `env.CI` is set (to anything but "", "0" or "false"), else `tty`.
 */
export function defaultReporterName(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): ReporterName {
  const ci = env.CI !== undefined && !['', '0', 'false'].includes(env.CI.toLowerCase());
  return stream.isTTY === true && !ci ? 'tty' : 'plain';
}

/** Loads the named reporter's module and creates a reporter writing to `out`. */
export async function createReporter(name: ReporterName, out: NodeJS.WritableStream, env: NodeJS.ProcessEnv): Promise<Reporter> {
  switch (name) {
    case 'plain':
      return (await import('./plain.js')).createPlainReporter(out, env);
    case 'json':
      return (await import('./json.js')).createJsonReporter(out);
    case 'tty':
      return (await import('./tty.js')).createTtyReporter(out, env);
    default:
      return unreachable(name);
  }
}
