import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+\.js)['"]/g;

/**
 * `entry` and every module of ours it imports, directly or not (relative
 * imports, static and dynamic, read from the built files): the code whose
 * change must invalidate what `entry` computed. Sorted absolute paths.
 */
export function moduleClosure(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return;
    }
    for (const m of text.matchAll(IMPORT)) visit(resolve(dirname(file), m[1]!));
  };
  visit(resolve(entry));
  return [...seen].sort();
}
