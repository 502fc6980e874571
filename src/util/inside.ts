import { existsSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';

/**
 * Where `path` really is: the real path of its deepest existing ancestor
 * (symlinks followed), with the rest of it appended. What a write, an
 * emptying or a removal of `path` would touch.
 */
export function realLocation(path: string): string {
  let existing = resolve(path);
  const rest: string[] = [];
  while (!existsSync(existing)) {
    const parent = dirname(existing);
    if (parent === existing) break;
    rest.unshift(existing.slice(parent.length).replace(/^\//, ''));
    existing = parent;
  }
  return resolve(realpathSync(existing), ...rest);
}

/** Whether `path`, symlinks followed, lies inside (or is) `root`, symlinks followed. */
export function staysInside(path: string, root: string): boolean {
  const rel = relative(realLocation(root), realLocation(path));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}
