import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where xenbuild is installed: the directory of its package.json (dist/util/ → two up). */
export const INSTALL_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

let version: string | undefined;

/** xenbuild's version, from its package.json: the one place it is read. */
export function xenbuildVersion(): string {
  version ??= (JSON.parse(readFileSync(join(INSTALL_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  return version;
}
