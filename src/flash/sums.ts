/**
 * Before a release is flashed: its SHA256SUMS (written by `image:release`,
 * `sha256sum -c` format) says whether the image and the bmap are the files
 * that were released. A download cut short or a file changed afterwards is
 * refused before anything is written.
 *
 * What is hashed costs what the data costs, not what the image's size does:
 *   - the bmap is checked against its line;
 *   - a compressed image (`.img.zst`, `.img.xz`) is checked against its line;
 *   - an uncompressed `.img` whose bmap is listed is checked range by range
 *     against that bmap: only the mapped data are read (about 150 MB of a
 *     2 GiB card; hashing the whole sparse file takes seconds, for holes
 *     that are never written anyway). Only when the bmap is not listed is the
 *     whole image hashed against its own line.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { sha256File } from '../host/hasher.js';
import { storageSize } from '../util/units.js';
import { mappedBytes, verifyRanges, type Bmap } from './bmap.js';
import { FlashRefusal } from './target.js';

/** The entries of a SHA256SUMS file: file name → sha256 (`HASH  NAME` or `HASH *NAME`). */
function parseSums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line.trimEnd());
    if (m) sums.set(m[2]!, m[1]!.toLowerCase());
  }
  return sums;
}

export interface Release {
  image: string;
  /** Whether `image` is compressed (bmaptool decompresses it as it writes). */
  compressed: boolean;
  bmapPath: string;
  bmap: Bmap;
  signal?: AbortSignal;
}

/**
 * Checks a release against the SHA256SUMS next to its image, if there is one
 * (see the file comment); returns what was found, one line each, for the
 * user. Throws a FlashRefusal ('image-mismatch') for a file that differs.
 */
export async function checkRelease(r: Release): Promise<string[]> {
  const sumsPath = join(dirname(r.image), 'SHA256SUMS');
  const text = await readFile(sumsPath, 'utf8').catch(() => undefined);
  if (text === undefined) return [`No SHA256SUMS next to ${basename(r.image)}: the files are not checked against a release.`];
  const sums = parseSums(text);
  const listed = (file: string) => (dirname(file) === dirname(r.image) ? sums.get(basename(file)) : undefined);
  const differs = (file: string, why: string) =>
    new FlashRefusal('image-mismatch', `${file} does not match ${sumsPath} (${why}): the download is incomplete or the file was changed; get it again`);
  const whole = async (file: string): Promise<string> => {
    const expected = listed(file);
    if (expected === undefined) return `${basename(file)}: not listed in ${sumsPath}`;
    const actual = await sha256File(file);
    if (actual !== expected) throw differs(file, `sha256 ${actual}, listed ${expected}`);
    return `${basename(file)}: OK (SHA256SUMS)`;
  };

  const bmapLine = await whole(r.bmapPath);
  const bmapVouched = listed(r.bmapPath) !== undefined;
  if (r.compressed || !bmapVouched) return [await whole(r.image), bmapLine];
  const bad = await verifyRanges(r.image, r.bmap, r.signal);
  if (bad.length > 0) {
    const b = bad[0]!;
    throw differs(r.image, `${bad.length} of the ${r.bmap.ranges.length} data ranges of its bmap differ, the first at bytes ${b.start}-${b.end - 1}`);
  }
  return [`${basename(r.image)}: OK (its ${storageSize(mappedBytes(r.bmap))} of data match ${basename(r.bmapPath)}, which SHA256SUMS lists)`, bmapLine];
}
