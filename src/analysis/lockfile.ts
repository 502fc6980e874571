import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LockFile, LockedFile, LockedSource } from '../model/lock.js';
import type { Recipe } from '../model/schema.js';
import { isRecord } from '../util/fs.js';

/**
 * xenbuild.lock.json, at the project root: every source of every board and
 * profile locked, resolved down to the bytes. Recipes pin what a person
 * chooses (a commit, a tarball's sha256, a Debian version); the lock adds
 * what the archive answered (each Debian file's name, size, sha256 and sha1,
 * the last for Debian's snapshot archive, which serves files by their sha1).
 * One file, keys sorted, one source per key: a change reads as a small diff.
 */
export const LOCK_FILE = 'xenbuild.lock.json';

/** Where the lock is for a project. */
export function lockPath(root: string): string {
  return join(root, LOCK_FILE);
}

/** The key of a recipe's source at a version: the recipe's name, and "@version" when the recipe has versions. */
export function sourceKey(recipe: string, version: string | undefined): string {
  return version === undefined ? recipe : `${recipe}@${version}`;
}

/** The lock as read, undefined when there is none; a lock that is not one is an error naming the file. */
export function readLock(root: string): LockFile | undefined {
  const path = lockPath(root);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new LockError(`${path}: not JSON (${(err as Error).message}): restore it from version control, or delete it and run xenbuild lock`);
  }
  if (!isRecord(value) || value.lockfileVersion !== 1 || !isRecord(value.sources)) {
    throw new LockError(`${path}: not a lock file of this xenbuild (lockfileVersion 1): delete it and run xenbuild lock`);
  }
  for (const [key, source] of Object.entries(value.sources)) {
    if (!isLockedSource(source)) throw new LockError(`${path}: the entry "${key}" is not a source xenbuild locks: run xenbuild lock --update`);
  }
  return value as unknown as LockFile;
}

export class LockError extends Error {}

/** The lock as text: keys sorted at every level, two-space indents, one trailing newline. */
export function renderLock(lock: LockFile): string {
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted);
    if (isRecord(v))
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sorted(v[k])]),
      );
    return v;
  };
  return JSON.stringify(sorted(lock), null, 2) + '\n';
}

type Source = NonNullable<Recipe['source']>;

/**
 * What differs between a recipe's source and its locked entry, in words
 * ("version 4.17.5 in the recipe, 4.17.7 in the lock"), or undefined when
 * the lock holds exactly what the recipe pins.
 */
export function lockDisagreement(source: Source, locked: LockedSource): string | undefined {
  const differ = (what: string, recipe: string | undefined, lock: string | undefined) =>
    recipe === lock ? undefined : `${what} ${recipe ?? '(none)'} in the recipe, ${lock ?? '(none)'} in the lock`;
  if ('git' in source) {
    if (!('git' in locked)) return 'the recipe fetches with git, the lock something else';
    return differ('commit', source.commit, locked.commit) ?? differ('URL', source.git, locked.git) ?? differ('ref', source.ref, locked.ref);
  }
  if ('tarball' in source) {
    if (!('tarball' in locked)) return 'the recipe fetches a tarball, the lock something else';
    return differ('sha256', source.sha256, locked.sha256) ?? differ('URL', source.tarball, locked.tarball);
  }
  if ('debian-source' in source) {
    if (!('debian-source' in locked)) return 'the recipe fetches a Debian source package, the lock something else';
    const dsc = locked.files.find((f) => f.name === locked.dsc);
    return (
      differ('package', source['debian-source'], locked['debian-source']) ??
      differ('version', source.version, locked.version) ??
      (source.sha256 !== undefined ? differ('.dsc sha256', source.sha256, dsc?.sha256) : undefined)
    );
  }
  if ('debian-packages' in source) {
    if (!('debian-packages' in locked)) return 'the recipe fetches a set of Debian packages, the lock something else';
    const names = [...new Set([...Object.keys(source['debian-packages']), ...Object.keys(locked['debian-packages'])])].sort();
    return (
      names.map((p) => differ(`package ${p}: version`, source['debian-packages'][p], locked['debian-packages'][p])).find((d) => d !== undefined) ??
      differ('architecture', source.arch ?? 'armhf', locked.arch)
    );
  }
  if (!('debian-binary' in locked)) return 'the recipe fetches a Debian binary package, the lock something else';
  return (
    differ('package', source['debian-binary'], locked['debian-binary']) ??
    differ('version', source.version, locked.version) ??
    differ('architecture', source.arch ?? 'armhf', locked.arch) ??
    (source.sha256 !== undefined ? differ('.deb sha256', source.sha256, locked.files[0]?.sha256) : undefined)
  );
}

/** The sha256 pin a locked Debian entry gives its fetch: the .dsc's (which pins every other file) or the .deb's. */
export function lockedPin(locked: LockedSource): string | undefined {
  if ('debian-source' in locked) return locked.files.find((f) => f.name === locked.dsc)?.sha256;
  if ('debian-binary' in locked) return locked.files[0]?.sha256;
  return undefined;
}

const HEX = (n: number) => new RegExp(`^[0-9a-f]{${n}}$`);

function isLockedFile(v: unknown): v is LockedFile {
  return (
    isRecord(v) &&
    typeof v.name === 'string' &&
    /^[A-Za-z0-9][A-Za-z0-9._+~%-]*$/.test(v.name) &&
    typeof v.size === 'number' &&
    typeof v.sha256 === 'string' &&
    HEX(64).test(v.sha256) &&
    typeof v.sha1 === 'string' &&
    HEX(40).test(v.sha1)
  );
}

function isLockedSource(v: unknown): v is LockedSource {
  if (!isRecord(v)) return false;
  if (typeof v.git === 'string') return typeof v.commit === 'string' && HEX(40).test(v.commit) && (v.ref === undefined || typeof v.ref === 'string');
  if (typeof v.tarball === 'string') return typeof v.sha256 === 'string' && HEX(64).test(v.sha256);
  const files = Array.isArray(v.files) && v.files.length > 0 && v.files.every(isLockedFile);
  if (typeof v['debian-source'] === 'string') return typeof v.version === 'string' && typeof v.dsc === 'string' && files;
  if (typeof v['debian-binary'] === 'string') return typeof v.version === 'string' && typeof v.arch === 'string' && files;
  if (isRecord(v['debian-packages'])) return Object.values(v['debian-packages']).every((x) => typeof x === 'string') && typeof v.arch === 'string' && files;
  return false;
}
