/**
 * A board as one of its profiles sees it. A profile names components and
 * variables (laid over the board's in resolve.ts) and may also carry any of the
 * board's boot sections: each key it gives replaces the board's key of the same
 * name in that section, so a profile says only what differs (dra7-evm's
 * `debian12` boots a zImage with boot.scr where `glsdk7` boots a uImage with
 * uEnv.txt, on the same memory).
 *
 * A profile may extend another (`extends: glsdk7`): the one it extends is laid
 * first, its own keys over it, for components, variables and sections alike.
 *
 * The merged board keeps pointing into the file: a diagnostic about a key the
 * profile gave is shown at the profile's line, one about a key it did not give
 * at the board's.
 */
import { z } from 'zod';
import { board as boardSchema, type Board } from '../model/schema.js';
import type { Diagnostic } from './diagnostics.js';
import type { Loaded } from './load.js';
import { didYouMean } from './suggest.js';
import { validate } from './validate.js';
import type { PathKey, YamlFile } from './yaml-file.js';

/** The board sections a profile may carry. */
const PROFILE_SECTIONS = ['memory', 'xen', 'dom0', 'dtb', 'boot', 'image', 'qemu', 'domus'] as const;

/** The same file, with every path looked up through `remap` first. */
function remappedFile(file: YamlFile, remap: (path: readonly PathKey[]) => PathKey[]): YamlFile {
  const view = Object.create(file) as YamlFile;
  view.spanAt = (path, prefer) => file.spanAt(remap(path), prefer);
  view.spanWithin = (path, needle) => file.spanWithin(remap(path), needle);
  view.nodeAt = (path) => file.nodeAt(remap(path));
  view.keyAt = (path) => file.keyAt(remap(path));
  view.keysAt = (path) => file.keysAt(remap(path));
  view.definitionText = (path) => file.definitionText(remap(path));
  return view;
}

/**
 * The profiles `name` is made of, itself first, then what it extends, and so
 * on; undefined (with a diagnostic at the `extends` key) for a profile it
 * extends that does not exist, or a loop.
 */
export function profileChain(board: Loaded<Board>, name: string, diagnostics: Diagnostic[]): string[] | undefined {
  const profiles = board.value.profiles ?? {};
  const chain = [name];
  for (let parent = profiles[name]?.extends; parent !== undefined; parent = profiles[parent]?.extends) {
    const child = chain[chain.length - 1]!;
    const at = board.file.spanAt(['profiles', child, 'extends']);
    if (!profiles[parent]) {
      diagnostics.push({
        severity: 'error',
        file: board.file.path,
        span: at,
        message: `profile ${child} extends unknown profile "${parent}"${didYouMean(parent, Object.keys(profiles))}`,
        hint: `profiles of ${board.value.board}: ${Object.keys(profiles).join(', ')}`,
      });
      return undefined;
    }
    if (chain.includes(parent)) {
      diagnostics.push({
        severity: 'error',
        file: board.file.path,
        span: at,
        message: `profiles extend each other in a loop: ${[...chain, parent].join(' → ')}`,
        hint: 'a profile extends one that does not extend it back',
      });
      return undefined;
    }
    chain.push(parent);
  }
  return chain;
}

/**
 * The board with the sections of the profiles in `chain` (profileChain: the
 * chosen one first) laid over its own, the chosen profile's keys last, or
 * undefined (with diagnostics) when a merged section is incomplete or wrong.
 */
export function withProfile(board: Loaded<Board>, chain: readonly string[], diagnostics: Diagnostic[]): Loaded<Board> | undefined {
  const profiles = chain.map((name) => ({ name, profile: board.value.profiles?.[name] ?? {} }));
  if (!profiles.some(({ profile }) => PROFILE_SECTIONS.some((s) => (profile as Record<string, unknown>)[s] !== undefined))) return board;
  /** The profile that gives `key` of `section` (or, for the whole section, the first that has it when the board has not). */
  const owner = (section: string, key: PathKey | undefined): string | undefined => {
    for (const { name, profile } of profiles) {
      const given = (profile as Record<string, unknown>)[section] as Record<string, unknown> | undefined;
      if (!given) continue;
      if (key === undefined ? (board.value as Record<string, unknown>)[section] === undefined : Object.hasOwn(given, String(key))) return name;
    }
    return undefined;
  };
  const remap = (path: readonly PathKey[]): PathKey[] => {
    const name = path.length > 0 ? owner(String(path[0]), path[1]) : undefined;
    return name === undefined ? [...path] : ['profiles', name, ...path];
  };
  const file = remappedFile(board.file, remap);

  const value: Board = { ...board.value };
  let ok = true;
  for (const section of PROFILE_SECTIONS) {
    const layers = [...profiles].reverse().map(({ profile }) => (profile as Record<string, unknown>)[section] as object | undefined);
    if (layers.every((l) => l === undefined)) continue;
    const given = layers.filter((l) => l !== undefined);
    // A list (domus) is replaced whole by the last profile that gives it; a section is merged key by key.
    const merged = Array.isArray(given.at(-1)) ? given.at(-1) : Object.assign({}, board.value[section] as object | undefined, ...given);
    // Validated as `{ section: merged }`, so that messages and positions name the section.
    const schema = z.strictObject({ [section]: boardSchema.shape[section].unwrap() }) as z.ZodType<Record<string, unknown>>;
    const checked = validate(schema, file, { [section]: merged });
    if (checked.value === undefined) {
      diagnostics.push(...checked.diagnostics.map((d) => ({ ...d, message: `${d.message} (board ${board.value.board} with profile ${chain[0]})` })));
      ok = false;
      continue;
    }
    (value as Record<string, unknown>)[section] = checked.value[section];
  }
  return ok ? { ...board, value, file } : undefined;
}
