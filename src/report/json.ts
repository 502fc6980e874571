/**
 * The JSON reporter: one JSON object per line (NDJSON), each the event itself
 * plus a `time` field (ISO 8601), task output included. For tools and CI
 * dashboards that want the whole stream.
 */
import type { Reporter, RunEvent } from '../engine/events.js';
import { LineWriter } from './format.js';

/** Knobs for {@link createJsonReporter}. */
export interface JsonReporterOptions {
  /** Clock used for the `time` field; tests pin it. Default: `new Date()`. */
  now?: () => Date;
}

/** One NDJSON record: the event plus when the reporter received it. */
export type JsonRecord = RunEvent & { time: string };

/** Creates the NDJSON reporter writing to `out`. */
export function createJsonReporter(out: NodeJS.WritableStream, options: JsonReporterOptions = {}): Reporter {
  const writer = new LineWriter(out);
  const now = options.now ?? (() => new Date());
  return {
    event(e: RunEvent): void {
      const record: JsonRecord = { ...e, time: now().toISOString() };
      writer.lines([JSON.stringify(record)]);
    },
    close: () => writer.flushed(),
  };
}
