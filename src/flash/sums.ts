/**
 * Before a release is flashed: its SHA256SUMS (written by `image:release`,
 * `sha256sum -c` format) says whether the image and the bmap are the files
 * that were released. A download cut short or a file changed afterwards is
 * refused before anything is written.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { sha256File } from '../engine/hasher.js';
import { FlashRefusal } from './target.js';

/** The entries of a SHA256SUMS file: file name → sha256 (`HASH  NAME` or `HASH *NAME`). */
export function parseSums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line.trimEnd());
    if (m) sums.set(m[2]!, m[1]!.toLowerCase());
  }
  return sums;
}

/**
 * Checks `files` against the SHA256SUMS in the directory of the first one, if
 * there is one; returns what was found, one line each, for the user. Throws a
 * FlashRefusal ('image-mismatch') for a file whose sha256 differs.
 */
export async function checkSums(files: readonly string[]): Promise<string[]> {
  const sumsPath = join(dirname(files[0]!), 'SHA256SUMS');
  const text = await readFile(sumsPath, 'utf8').catch(() => undefined);
  if (text === undefined) return [`No SHA256SUMS next to ${basename(files[0]!)}: the files are not checked against a release.`];
  const sums = parseSums(text);
  const found: string[] = [];
  for (const file of files) {
    const name = dirname(file) === dirname(files[0]!) ? basename(file) : undefined;
    const expected = name === undefined ? undefined : sums.get(name);
    if (expected === undefined) {
      found.push(`${basename(file)}: not listed in ${sumsPath}`);
      continue;
    }
    const actual = await sha256File(file);
    if (actual !== expected) {
      throw new FlashRefusal(
        'image-mismatch',
        `${file} does not match ${sumsPath} (sha256 ${actual}, listed ${expected}): the download is incomplete or the file was changed; get it again`,
      );
    }
    found.push(`${basename(file)}: OK (SHA256SUMS)`);
  }
  return found;
}
