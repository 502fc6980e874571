/**
 * Reads a serial console log of a boot (U-Boot, Xen, dom0 Linux) against the
 * rule book: how far the boot got, and each known failure as the rule that
 * would have caught it before flashing, with the line that shows it and the fix.
 * A DRA7 EVM cannot be emulated; on the board, this is the evidence there is.
 *
 * Milestones are matched each on its own (a pasted excerpt may start after
 * U-Boot). The reader's one rule of its own is XB-LOG-001: a boot log that
 * got into Xen and then stops with no error (the thread's "After this nothing
 * happens on the console"): a hang, or output that went nowhere.
 */
import type { Milestone } from '../model/boot.js';
import { parseConsoleLog, type ConsoleLine } from './console.js';
import { RULE_BOOK } from './rules.js';
import type { Finding } from './types.js';

export interface LogMilestone {
  name: string;
  /** A regular expression, or text the line must contain (a board's qemu milestones). */
  match: RegExp | string;
  /** Reached by Xen or later: a log that reached it and stops silently is XB-LOG-001's. */
  xen?: boolean;
  /** Not every image prints it: the log is complete without it. */
  optional?: boolean;
}

/** What `xenbuild boot` follows, for a real board's console. */
export const DEFAULT_MILESTONES: readonly LogMilestone[] = [
  { name: 'U-Boot', match: /^U-Boot (SPL )?20\d\d\.\d\d/ },
  { name: 'Xen banner', match: /^Xen version \S+|^- Xen starting in Hyp mode -$/, xen: true },
  { name: 'dom0 kernel started', match: /Booting Linux on physical CPU/, xen: true },
  { name: 'dom0 userspace reached', match: /xenbuild: dom0 userspace reached|Run \/\S*init as init process|Freeing unused kernel memory|login:/, xen: true },
];

/** A board's emulator milestones (the qemu section) as log milestones: those after U-Boot and its script are Xen's or later. */
export function boardMilestones(milestones: readonly Milestone[]): LogMilestone[] {
  return milestones.map((m) => ({
    name: m.name,
    match: typeof m.match === 'string' ? m.match : new RegExp(m.match.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')),
    xen: !/u-boot|script/i.test(m.name),
    ...(m.optional ? { optional: true } : {}),
  }));
}

interface LogFinding extends Finding {
  /** The line that shows it. */
  line: ConsoleLine;
  /** Further lines of the same failure. */
  also: ConsoleLine[];
  /** The board key the fix changes. */
  boardKey?: string;
  /** The rule chose its evidence lines: later matches add nothing. */
  closed?: boolean;
}

export interface LogReading {
  lines: number;
  reached: { name: string; line: ConsoleLine }[];
  missing: string[];
  /** The last line of the log, where it stops. */
  last?: ConsoleLine;
  /** The Xen version its banner names ("Xen version 4.5.1-rc1 (…)"). */
  xenVersion?: string;
  findings: LogFinding[];
  /** The last milestone was reached and no failure shows. */
  ok: boolean;
}

/** The end of a boot that says why it ended: then the log is not silent. */
const LOUD_END = /panic|Boot failed|BUG|Oops|Internal error|FATAL|reboot|Resetting|Power down|Halting|error/i;

const SILENT_STOP_FIX =
  'to see more: boot Xen with sync_console (xen.bootargs), build it with debug=y and CONFIG_EARLY_PRINTK=<platform> (dra7 on DRA7) for its early messages, and give dom0 earlyprintk=xen or earlycon=xenboot';

function matches(m: LogMilestone, text: string): boolean {
  return typeof m.match === 'string' ? text.includes(m.match) : m.match.test(text);
}

/** Reads `log` (the bytes of a console capture) with the rule book; see the file comment. */
export function readConsoleLog(input: Uint8Array | string, milestones: readonly LogMilestone[] = DEFAULT_MILESTONES): LogReading {
  const log = parseConsoleLog(input);
  const findings = new Map<string, LogFinding>();
  log.lines.forEach((line, index) => {
    for (const rule of RULE_BOOK) {
      for (const sig of rule.console ?? []) {
        const m = sig.match.exec(line.text);
        if (!m) continue;
        const known = findings.get(rule.id);
        if (known) {
          if (!known.closed && known.also.length < 3 && known.line !== line) known.also.push(line);
          continue;
        }
        const why = sig.explain(m, log, index);
        if (!why) continue;
        const [first, ...more] = (why.evidence ?? [index]).map((i) => log.lines[i]!);
        findings.set(rule.id, {
          id: rule.id,
          severity: 'error',
          message: why.message,
          fix: why.fix,
          where: `line ${first!.no}`,
          line: first!,
          // Evidence the rule chose is complete: no further matches are added to it.
          also: why.evidence ? more : [],
          ...(why.boardKey ? { boardKey: why.boardKey } : {}),
          ...(why.evidence ? { closed: true } : {}),
        });
      }
    }
  });

  const reached: LogReading['reached'] = [];
  for (const m of milestones) {
    const line = log.lines.find((l) => matches(m, l.text));
    if (line) reached.push({ name: m.name, line });
    // Each CPU Xen brings up, after its banner.
    if (m.xen && m.name === 'Xen banner') {
      for (const l of log.lines) {
        const cpu = /^CPU (\d+) booted\.?$/.exec(l.text);
        if (cpu) reached.push({ name: `CPU${cpu[1]} up`, line: l });
      }
    }
  }
  const names = new Set(reached.map((r) => r.name));
  const missing = milestones.filter((m) => !m.optional && !names.has(m.name)).map((m) => m.name);
  const last = log.lines.at(-1);
  const sorted = [...findings.values()].sort((a, b) => a.line.no - b.line.no);

  // The last required milestone: an excerpt that starts after U-Boot is complete when it gets there.
  const finalMilestone = milestones.filter((m) => !m.optional).at(-1);
  const complete = finalMilestone !== undefined && names.has(finalMilestone.name);
  const inXen = milestones.some((m) => m.xen && names.has(m.name));
  const explainedEnd = sorted.some((f) => last !== undefined && last.no - [f.line, ...f.also].at(-1)!.no <= 3);
  if (!complete && inXen && last && !LOUD_END.test(last.text) && !explainedEnd) {
    const lastReached = Math.max(...milestones.map((m, i) => (names.has(m.name) ? i : -1)));
    const next = milestones.slice(lastReached + 1)[0]?.name;
    const mute = findings.has('XB-DT-003') ? '; Xen had no console (XB-DT-003), so whatever it said next went nowhere' : '';
    sorted.push({
      id: 'XB-LOG-001',
      severity: 'error',
      message: `the log stops after "${last.text}" (line ${last.no}) with no error${next ? `, before ${next}` : ''}: a hang, or output that went nowhere${mute}`,
      fix: SILENT_STOP_FIX,
      where: `line ${last.no}`,
      line: last,
      also: [],
      boardKey: 'xen.bootargs',
    });
  }
  const xenVersion = log.lines.map((l) => /^Xen version (\S+)/.exec(l.text)?.[1]).find((v) => v !== undefined);
  return {
    lines: log.lines.length,
    reached,
    missing,
    ...(last ? { last } : {}),
    ...(xenVersion ? { xenVersion } : {}),
    findings: sorted,
    ok: complete && sorted.length === 0,
  };
}

/** The reading as text: how far the boot got, where the log stops, each failure with its line and fix. */
export function formatReading(r: LogReading, opts: { name: string; boardFile?: string }): string {
  const out: string[] = [`console log ${opts.name}: ${r.lines} line${r.lines === 1 ? '' : 's'}`];
  const version = (name: string) => (name === 'Xen banner' && r.xenVersion ? `, Xen ${r.xenVersion}` : '');
  out.push(r.reached.length ? `reached:   ${r.reached.map((m) => `${m.name} (line ${m.line.no}${version(m.name)})`).join(', ')}` : 'reached:   no milestone');
  if (r.missing.length) out.push(`not seen:  ${r.missing.join(', ')}`);
  if (r.last) out.push(`stops at line ${r.last.no}: ${r.last.raw.trim()}`);
  out.push('');
  if (r.findings.length === 0) {
    out.push(r.ok ? 'no failure: the boot reached its last milestone' : 'no rule matched: xenbuild knows no failure that explains where this log stops');
    return out.join('\n') + '\n';
  }
  const idWidth = Math.max(...r.findings.map((f) => f.id.length));
  const indent = ' '.repeat(7 + idWidth + 2);
  for (const f of r.findings) {
    out.push(`error  ${f.id.padEnd(idWidth)}  ${f.message}`);
    for (const l of [f.line, ...f.also]) out.push(`${indent}line ${l.no}: ${l.raw.trim()}`);
    const where = opts.boardFile && f.boardKey ? ` (${opts.boardFile}: ${f.boardKey})` : '';
    out.push(`${indent}fix: ${f.fix}${where}`);
  }
  out.push('', `${r.findings.length} failure${r.findings.length === 1 ? '' : 's'} named`);
  return out.join('\n') + '\n';
}
