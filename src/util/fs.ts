import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Writes through a temp file and a rename: readers see the old file or the new one, never half of one. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export function writeFileAtomicSync(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Canonical JSON: keys sorted at every level, so equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

/**
 * Puts a freshly built tree `root` where `dest` is, replacing an old `dest`
 * only once the new one is in place (the old one is moved to `aside` first and
 * moved back if the swap fails).
 */
export async function replaceTree(root: string, dest: string, aside: string): Promise<void> {
  if (existsSync(dest)) await rename(dest, aside);
  try {
    await rename(root, dest);
  } catch (err) {
    if (existsSync(aside)) await rename(aside, dest);
    throw err;
  }
}

/**
 * A JSON state file xenbuild wrote, or undefined when it is missing, cut
 * short, or not of the shape `isShape` accepts: state that cannot be trusted
 * counts as absent (the task is stale), never as a crash.
 */
export function readJsonState<T>(path: string, isShape: (value: unknown) => value is T): T | undefined {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
  return isShape(value) ? value : undefined;
}

/** A plain JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A JSON object of objects, with the entries that are not objects left out (a per-file cache). */
export function recordsOf<T>(value: unknown): Record<string, T> {
  if (!isRecord(value)) return {};
  return Object.fromEntries(Object.entries(value).filter(([, v]) => isRecord(v))) as Record<string, T>;
}
