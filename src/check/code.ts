/**
 * The rule book's own code, as a digest: the check task's fingerprint includes
 * it, so a xenbuild with new or changed rules checks a built board again
 * (an image once "checked" is not trusted by rules it never met).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The files of src/check (as built: dist/check/*.js). */
export function checkCodeFiles(): string[] {
  const dir = dirname(fileURLToPath(import.meta.url));
  return readdirSync(dir)
    .filter((f) => /\.(js|ts)$/.test(f) && !f.endsWith('.d.ts'))
    .sort()
    .map((f) => join(dir, f));
}

export function checkCodeDigest(): string {
  const hash = createHash('sha256');
  for (const file of checkCodeFiles())
    hash
      .update(file.slice(file.lastIndexOf('/') + 1))
      .update('\0')
      .update(readFileSync(file))
      .update('\0');
  return hash.digest('hex').slice(0, 16);
}
