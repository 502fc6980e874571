/**
 * bmap files (bmaptool's block maps, format 2.x): which blocks of an image
 * hold data, with a checksum per range, and a checksum of the bmap itself.
 *
 *   <bmap version="2.0">
 *     <ImageSize> 84934656 </ImageSize>   <BlockSize> 4096 </BlockSize>
 *     <BlocksCount> 20736 </BlocksCount>  <MappedBlocksCount> 1134 </MappedBlocksCount>
 *     <ChecksumType> sha256 </ChecksumType>
 *     <BmapFileChecksum> (sha256 of this file with this value set to all "0") </BmapFileChecksum>
 *     <BlockMap> <Range chksum="…"> 0 </Range> <Range chksum="…"> 256-269 </Range> … </BlockMap>
 *   </bmap>
 *
 * The format is fixed and simple, so it is read with patterns rather than an
 * XML library. verifyRanges() reads each mapped range back from a written
 * device or file and compares its checksum: what proves a flash worked.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

export interface BmapRange {
  first: number;
  last: number;
  checksum: string;
}

export interface Bmap {
  version: string;
  imageSize: number;
  blockSize: number;
  blocksCount: number;
  mappedBlocksCount: number;
  checksumType: 'sha256' | 'sha1';
  ranges: BmapRange[];
}

/** A bmap that cannot be used, and why. */
export class BmapError extends Error {
  override name = 'BmapError';
}

function field(text: string, tag: string): string {
  const m = new RegExp(`<${tag}>\\s*([^<]*?)\\s*</${tag}>`).exec(text);
  if (!m) throw new BmapError(`the bmap has no <${tag}>`);
  return m[1]!;
}

function integer(text: string, tag: string): number {
  const v = field(text, tag);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new BmapError(`the bmap's <${tag}> is not a number: "${v}"`);
  return Number(v);
}

/** Parses and checks a bmap: version 2.x, sha256 or sha1 checksums, its own checksum right, ranges in order and inside the image. */
export function parseBmap(text: string): Bmap {
  const version = /<bmap\s+version="([^"]+)"/.exec(text)?.[1];
  if (!version) throw new BmapError('not a bmap file (no <bmap version="…">)');
  if (!version.startsWith('2.')) throw new BmapError(`bmap format ${version} is not supported (only 2.x); recreate it with a current bmaptool`);
  const checksumType = field(text, 'ChecksumType');
  if (checksumType !== 'sha256' && checksumType !== 'sha1') throw new BmapError(`bmap checksum type "${checksumType}" is not supported`);
  const own = field(text, 'BmapFileChecksum');
  const zeroed = text.replace(/(<BmapFileChecksum>\s*)[0-9a-fA-F]+(\s*<\/BmapFileChecksum>)/, (_, a: string, b: string) => `${a}${'0'.repeat(own.length)}${b}`);
  if (createHash(checksumType).update(zeroed).digest('hex') !== own.toLowerCase()) {
    throw new BmapError('the bmap file is corrupt (its BmapFileChecksum does not match its contents)');
  }
  const bmap: Bmap = {
    version,
    imageSize: integer(text, 'ImageSize'),
    blockSize: integer(text, 'BlockSize'),
    blocksCount: integer(text, 'BlocksCount'),
    mappedBlocksCount: integer(text, 'MappedBlocksCount'),
    checksumType,
    ranges: [],
  };
  if (bmap.blockSize === 0) throw new BmapError('the bmap has a block size of 0');
  const range = /<Range(?:\s+chksum="([0-9a-fA-F]+)")?\s*>\s*(\d+)(?:\s*-\s*(\d+))?\s*<\/Range>/g;
  let previous = -1;
  let mapped = 0;
  for (const m of text.matchAll(range)) {
    const first = Number(m[2]);
    const last = m[3] === undefined ? first : Number(m[3]);
    if (!m[1]) throw new BmapError(`bmap range ${m[2]}${m[3] ? `-${m[3]}` : ''} has no checksum`);
    if (first <= previous || last < first || last >= bmap.blocksCount) throw new BmapError(`bmap range ${first}-${last} is out of order or outside the image`);
    bmap.ranges.push({ first, last, checksum: m[1].toLowerCase() });
    mapped += last - first + 1;
    previous = last;
  }
  if (mapped !== bmap.mappedBlocksCount) throw new BmapError(`the bmap maps ${mapped} blocks but says ${bmap.mappedBlocksCount}`);
  return bmap;
}

/** The byte span of a range: whole blocks, the last one cut at the image's end. */
export function rangeBytes(bmap: Bmap, r: BmapRange): { start: number; end: number } {
  return { start: r.first * bmap.blockSize, end: Math.min((r.last + 1) * bmap.blockSize, bmap.imageSize) };
}

/** Bytes of data the bmap maps. */
export const mappedBytes = (bmap: Bmap) => bmap.ranges.reduce((n, r) => n + rangeBytes(bmap, r).end - rangeBytes(bmap, r).start, 0);

export interface BadRange {
  range: BmapRange;
  start: number;
  end: number;
  actual: string;
}

const CHUNK = 8 * 1024 * 1024;

/**
 * Reads every mapped range of `bmap` from `path` (the written device or
 * file) and returns those whose checksum differs; none means the write is good.
 */
export async function verifyRanges(path: string, bmap: Bmap, signal?: AbortSignal): Promise<BadRange[]> {
  const bad: BadRange[] = [];
  const handle = await open(path, 'r');
  const buffer = Buffer.allocUnsafe(CHUNK);
  try {
    for (const r of bmap.ranges) {
      if (signal?.aborted) throw new BmapError('verification was cancelled');
      const { start, end } = rangeBytes(bmap, r);
      const hash = createHash(bmap.checksumType);
      for (let pos = start; pos < end;) {
        const { bytesRead } = await handle.read(buffer, 0, Math.min(CHUNK, end - pos), pos);
        if (bytesRead === 0) break; // the target ends early: the checksum will say so
        hash.update(buffer.subarray(0, bytesRead));
        pos += bytesRead;
      }
      const actual = hash.digest('hex');
      if (actual !== r.checksum) bad.push({ range: r, start, end, actual });
    }
  } finally {
    await handle.close();
  }
  return bad;
}
