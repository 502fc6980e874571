/**
 * A serial console log as the check rules read it: the other end of the same
 * knowledge. A rule (rules.ts) has its pre-flight check and, here, the console
 * lines by which the failure it prevents shows itself on a real board; the
 * log reader (read-log.ts) runs every rule's signatures over a log.
 *
 * Lines are cleaned first: CR/LF, bytes that are not UTF-8, the mojibake a
 * copy through a Latin-1 mailer adds ("Â" before no-break spaces), ANSI
 * colours, kernel timestamps ("[    0.000000] ") and Xen's "(XEN) " prefix.
 */

export interface ConsoleLine {
  /** 1-based line number in the log as given. */
  no: number;
  /** The line as it was (without CR/LF), for quoting. */
  raw: string;
  /** The cleaned text the signatures match. */
  text: string;
}

export interface ConsoleLog {
  lines: ConsoleLine[];
}

/** What a signature says about a match: the failure, in the rule's words. */
export interface ConsoleExplanation {
  message: string;
  fix: string;
  /** The board key the fix changes, for `--board` (e.g. "dtb.fixups"). */
  boardKey?: string;
  /** The lines (indexes) that show it, when not the matching line and the rule's next matches. */
  evidence?: number[];
}

/** One way a rule's failure shows on the console. */
export interface ConsoleSignature {
  match: RegExp;
  /** The failure for the line at `index` of the log (which matched), or undefined when the context says it is not one. */
  explain(m: RegExpExecArray, log: ConsoleLog, index: number): ConsoleExplanation | undefined;
}

const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
/**
 * "Â" (U+00C2), alone or before a no-break space: a no-break space's UTF-8 bytes read as Latin-1
 * and encoded again, as mail archives show the thread's logs. A console log is ASCII: every "Â" is this.
 */
const MOJIBAKE = /\u00c2+\u00a0?/g;

/** Reads a log's bytes: UTF-8 where it is, each other byte as U+FFFD, then line by line, cleaned. */
export function parseConsoleLog(bytes: Uint8Array | string): ConsoleLog {
  const text = typeof bytes === 'string' ? bytes : new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  const lines = text.split(/\r?\n|\r/).map((raw, i) => ({ no: i + 1, raw: raw.replace(/\r/g, ''), text: cleanLine(raw) }));
  while (lines.length > 0 && lines[lines.length - 1]!.text === '') lines.pop();
  return { lines };
}

function cleanLine(raw: string): string {
  return raw
    .replace(ANSI, '')
    .replace(MOJIBAKE, ' ')
    .replace(/[\u00a0\ufffd]/g, ' ')
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '')
    .replace(/^\s*\[\s*\d+\.\d+\]\s?/, '')
    .replace(/^\s*\(XEN\)\s?/, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The last line before `index` whose text matches `re`, searching back at most `limit` lines. */
export function lineBefore(log: ConsoleLog, index: number, re: RegExp, limit = 40): RegExpExecArray | undefined {
  for (let i = index - 1; i >= Math.max(0, index - limit); i--) {
    const m = re.exec(log.lines[i]!.text);
    if (m) return m;
  }
  return undefined;
}

/** Every match of `re` in the log, with its line index. */
export function allMatches(log: ConsoleLog, re: RegExp): { m: RegExpExecArray; index: number }[] {
  const out: { m: RegExpExecArray; index: number }[] = [];
  log.lines.forEach((l, index) => {
    const m = re.exec(l.text);
    if (m) out.push({ m, index });
  });
  return out;
}
