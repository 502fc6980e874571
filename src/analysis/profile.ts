/**
 * A board as one of its profiles sees it. A profile names components and
 * variables (laid over the board's in resolve.ts) and may also carry any of the
 * board's boot sections: each key it gives replaces the board's key of the same
 * name in that section, so a profile says only what differs (dra7-evm's
 * `debian12` boots a zImage with boot.scr where `glsdk7` boots a uImage with
 * uEnv.txt, on the same memory).
 *
 * The merged board keeps pointing into the file: a diagnostic about a key the
 * profile gave is shown at the profile's line, one about a key it did not give
 * at the board's.
 */
import { z } from 'zod';
import { board as boardSchema, type Board } from '../model/schema.js';
import type { Diagnostic } from './diagnostics.js';
import type { Loaded } from './load.js';
import { validate } from './validate.js';
import type { PathKey, YamlFile } from './yaml-file.js';

/** The board sections a profile may carry. */
export const PROFILE_SECTIONS = ['memory', 'xen', 'dom0', 'dtb', 'boot', 'image', 'qemu'] as const;
type Section = (typeof PROFILE_SECTIONS)[number];

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
 * The board with profile `name`'s sections laid over its own, or undefined
 * (with diagnostics) when a merged section is incomplete or wrong.
 */
export function withProfile(board: Loaded<Board>, name: string, diagnostics: Diagnostic[]): Loaded<Board> | undefined {
  const profile = board.value.profiles?.[name];
  if (!profile || !PROFILE_SECTIONS.some((s) => profile[s] !== undefined)) return board;
  const fromProfile = (section: string, key: PathKey | undefined): boolean => {
    const given = profile[section as Section] as Record<string, unknown> | undefined;
    if (!given) return false;
    return key === undefined ? (board.value as Record<string, unknown>)[section] === undefined : Object.hasOwn(given, String(key));
  };
  const remap = (path: readonly PathKey[]): PathKey[] =>
    path.length > 0 && fromProfile(String(path[0]), path[1]) ? ['profiles', name, ...path] : [...path];
  const file = remappedFile(board.file, remap);

  const value: Board = { ...board.value };
  let ok = true;
  for (const section of PROFILE_SECTIONS) {
    const given = profile[section];
    if (given === undefined) continue;
    const merged = { ...(board.value[section] as object | undefined), ...given };
    // Validated as `{ section: merged }`, so that messages and positions name the section.
    const schema = z.strictObject({ [section]: boardSchema.shape[section].unwrap() }) as z.ZodType<Record<string, unknown>>;
    const checked = validate(schema, file, { [section]: merged });
    if (checked.value === undefined) {
      diagnostics.push(...checked.diagnostics.map((d) => ({ ...d, message: `${d.message} (board ${board.value.board} with profile ${name})` })));
      ok = false;
      continue;
    }
    (value as Record<string, unknown>)[section] = checked.value[section];
  }
  return ok ? { ...board, value, file } : undefined;
}
