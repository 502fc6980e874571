/**
 * Kconfig fragments, as Linux's scripts/kconfig/merge_config.sh does them for
 * any Kconfig tree (Xen's and U-Boot's too): the defconfig's `.config`, each
 * fragment's settings written over it in order, then the tree's own
 * `olddefconfig` resolves what they imply. A setting that does not survive
 * (a dependency is off, or the symbol does not exist in this tree) fails the
 * task, naming the fragment's line: a fragment quietly ignored is how a
 * "debug" build ends up without debug.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { TaskFailure } from '../host/failure.js';
import type { FileRef } from '../model/graph.js';

/** One line of a fragment: a symbol set to a value, or unset (`# CONFIG_X is not set`, or `=n`). */
export interface KconfigSetting {
  symbol: string;
  /** The value as written after "=", or null for "is not set". */
  value: string | null;
  /** Where it was written: "configs/qemu-arm32/xen-debug.config:2". */
  at: string;
}

const SET = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/;
const UNSET = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/;

/** A fragment's settings; any line that is neither a setting, a comment nor blank is refused with its place. */
export function parseFragment(text: string, name: string): KconfigSetting[] {
  const out: KconfigSetting[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    const at = `${name}:${i + 1}`;
    const set = SET.exec(line);
    const unset = UNSET.exec(line);
    if (set) out.push({ symbol: set[1]!, value: set[2] === 'n' ? null : set[2]!, at });
    else if (unset) out.push({ symbol: unset[1]!, value: null, at });
    else if (line !== '' && !line.startsWith('#')) {
      throw new Error(`${at}: "${line}" is not a Kconfig setting (CONFIG_NAME=value, or "# CONFIG_NAME is not set")`);
    }
  });
  return out;
}

/** The symbol a .config line sets or unsets, if any. */
function symbolOf(line: string): string | undefined {
  return SET.exec(line)?.[1] ?? UNSET.exec(line)?.[1];
}

/** `config` with each setting written over its symbol's line (or appended), later settings winning. */
export function mergeSettings(config: string, settings: readonly KconfigSetting[]): string {
  const lines = config.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const index = new Map<string, number>();
  lines.forEach((l, i) => {
    const s = symbolOf(l);
    if (s) index.set(s, i);
  });
  for (const s of settings) {
    const line = s.value === null ? `# ${s.symbol} is not set` : `${s.symbol}=${s.value}`;
    const i = index.get(s.symbol);
    if (i === undefined) index.set(s.symbol, lines.push(line) - 1);
    else lines[i] = line;
  }
  return lines.join('\n') + '\n';
}

/** The settings the resolved .config does not keep: "=y" asked and "is not set" found, for instance. */
export function lostSettings(resolved: string, settings: readonly KconfigSetting[]): { setting: KconfigSetting; found: string | null | undefined }[] {
  const now = new Map<string, string | null>();
  for (const l of resolved.split('\n')) {
    const set = SET.exec(l);
    const unset = UNSET.exec(l);
    if (set) now.set(set[1]!, set[2]!);
    else if (unset) now.set(unset[1]!, null);
  }
  // The last word on each symbol is the one that counts.
  const last = new Map(settings.map((s) => [s.symbol, s]));
  return [...last.values()]
    .filter((s) => (s.value === null ? (now.get(s.symbol) ?? null) !== null : now.get(s.symbol) !== s.value))
    .map((setting) => ({ setting, found: now.get(setting.symbol) }));
}

export interface KconfigRun {
  config: string;
  fragments: readonly FileRef[];
  log: (line: string) => void;
  /** Runs the tree's defconfig, then (after the merge) its olddefconfig. */
  make: (argv: readonly string[]) => Promise<unknown>;
  defconfig: readonly string[];
  olddefconfig: readonly string[];
}

/** defconfig, the fragments, olddefconfig, and the check that every fragment setting held. */
export async function runKconfig(r: KconfigRun): Promise<void> {
  await r.make(r.defconfig);
  const settings: KconfigSetting[] = [];
  for (const f of r.fragments) {
    try {
      settings.push(...parseFragment(await readFile(f.path, 'utf8'), f.name));
    } catch (err) {
      throw new TaskFailure({ reason: 'bad-artifact', path: f.name, message: (err as Error).message });
    }
  }
  let config: string;
  try {
    config = await readFile(r.config, 'utf8');
  } catch {
    throw new TaskFailure({
      reason: 'bad-artifact',
      path: r.config,
      message: 'defconfig wrote no .config here: check kconfig.config against where the tree writes it (O=, -C)',
    });
  }
  await writeFile(r.config, mergeSettings(config, settings));
  await r.make(r.olddefconfig);
  const lost = lostSettings(await readFile(r.config, 'utf8'), settings);
  if (lost.length > 0) {
    const what = lost.map(({ setting: s, found }) => {
      const asked = s.value === null ? `${s.symbol} unset` : `${s.symbol}=${s.value}`;
      const now =
        found === undefined ? 'is not in the resolved .config (not a symbol of this tree, or its menu is off)' : found === null ? 'is not set' : `is ${found}`;
      return `${s.at}: ${asked} did not hold: ${now}`;
    });
    throw new TaskFailure({
      reason: 'bad-artifact',
      path: lost[0]!.setting.at.replace(/:\d+$/, ''),
      message: `${what.join('; ')}; olddefconfig resolved the dependencies differently: set what the option depends on in the fragment too`,
    });
  }
  r.log(
    settings.length === 0
      ? 'no fragment settings: the defconfig as olddefconfig resolves it'
      : `${settings.length} fragment setting${settings.length === 1 ? '' : 's'} from ${r.fragments.map((f) => f.name).join(', ')}: every one held after olddefconfig`,
  );
}
