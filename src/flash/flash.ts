/**
 * `xenbuild flash`: writes an image to an SD card, safely, fast and verified.
 *
 *   1. reads the bmap (its own checksum checked) and checks it belongs to the image;
 *   2. checks the target (target.ts): a whole, removable, unmounted disk that
 *      does not hold `/` and is big enough, or with allowFile a regular file;
 *   3. says what will be written where and what will be lost (model, size,
 *      partitions with their labels), checks the image and the bmap against
 *      the release's SHA256SUMS when one is next to them (sums.ts: the image's
 *      mapped data, through the listed bmap, not its holes), and asks:
 *      "yes" proceeds (yes: true skips this);
 *   4. writes with `bmaptool copy --no-verify --bmap B IMAGE TARGET`, only the
 *      mapped blocks; without bmaptool it copies the mapped ranges itself
 *      (copy.ts) and says so. (bmaptool's own check of the image as it reads
 *      it is left out: step 6 checks every range anyway, on the target);
 *   5. fsyncs the target (and for a disk asks the kernel to drop its cached
 *      blocks with `blockdev --flushbufs`, so that the check reads the card);
 *   6. reads every mapped range back and compares its checksum with the bmap's:
 *      a corrupt write is reported as such (FlashVerifyError), never as success.
 *      When ranges differ, the same ranges of the image are checked too, to
 *      tell an image that does not match its bmap from a faulty card.
 */
import { readFile, open, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { TaskFailure } from '../host/failure.js';
import { exec } from '../host/process.js';
import { storageSize } from '../util/units.js';
import { BmapError, mappedBytes, parseBmap, verifyRanges, type Bmap } from './bmap.js';
import { copyMappedRanges } from './copy.js';
import { checkRelease } from './sums.js';
import type { DeviceEnv } from './devices.js';
import { checkTarget, diskModel, FlashRefusal, FlashVerifyError, imageMismatch, sizeText, type Target } from './target.js';

export { FlashVerifyError };

export interface FlashOptions {
  /** The image (`.img`; bmaptool also takes `.img.zst` / `.img.xz`). */
  image: string;
  bmap: string;
  /** The disk (/dev/sdX, /dev/mmcblkN, /dev/disk/by-id/…) or, with allowFile, a file. */
  device: string;
  /** Skip the confirmation. */
  yes?: boolean;
  allowFile?: boolean;
  /** Where to look for disks and mounts (tests: a fake tree). */
  env?: Partial<DeviceEnv>;
  /** Asks the question and returns the answer; default: a line from stdin. */
  prompt?: (question: string) => Promise<string>;
  /** Where progress and the description go; default: stderr. */
  print?: (line: string) => void;
  /** The bmaptool program (default "bmaptool"); a missing one makes flash copy by itself. */
  bmaptool?: string;
  signal?: AbortSignal;
  /** Called between writing and verifying (tests corrupt the target here). */
  afterWrite?: (target: string) => void | Promise<void>;
}

export interface FlashResult {
  target: Target;
  method: 'bmaptool' | 'builtin';
  /** Bytes of data written and verified. */
  bytes: number;
  ranges: number;
  writeMs: number;
  verifyMs: number;
}

const COMPRESSED = /\.(zst|xz|gz|bz2|lz4)$/;

/** Reads one line from stdin after printing `question` on stderr; end of input answers "". */
function askOnStdin(question: string): Promise<string> {
  return import('node:readline').then(
    ({ createInterface }) =>
      new Promise<string>((resolve) => {
        const rl = createInterface({ input: process.stdin, terminal: false });
        let answer: string | undefined;
        rl.once('line', (line) => {
          answer = line;
          rl.close();
        });
        rl.once('close', () => resolve(answer ?? ''));
        process.stderr.write(question);
      }),
  );
}

/** What the user is told before anything is written. */
function describeFlash(image: string, bmap: Bmap, target: Target): string[] {
  const lines = [
    `Writing ${basename(image)} (${storageSize(bmap.imageSize)} image, ${storageSize(mappedBytes(bmap))} of data in ${bmap.ranges.length} ranges) to ${target.path}`,
  ];
  if (target.kind === 'file') {
    lines.push(target.exists ? `  ${target.path}: an existing file of ${storageSize(target.size)}; it will be replaced.` : `  ${target.path}: a new file.`);
    return lines;
  }
  const d = target.disk;
  lines.push(`  ${target.path}: ${diskModel(d)}, ${sizeText(d.sizeBytes)}, removable`);
  if (d.partitions.length === 0) {
    lines.push(`  It has no partitions the kernel knows of; whatever it holds will be lost.`);
  } else {
    lines.push(`  Everything on it will be lost:`);
    for (const p of d.partitions) lines.push(`    ${p.path}  ${storageSize(p.sizeBytes)}${p.label !== undefined ? `  "${p.label}"` : ''}`);
  }
  return lines;
}

async function readBmap(path: string, image: string): Promise<Bmap> {
  let bmap: Bmap;
  try {
    bmap = parseBmap(await readFile(path, 'utf8'));
  } catch (err) {
    if (err instanceof BmapError) throw new FlashRefusal('bad-bmap', `${path}: ${err.message}`);
    throw new FlashRefusal('bad-bmap', `${path} cannot be read (${(err as Error).message}); build the release first`);
  }
  const size = await stat(image).then(
    (s) => s.size,
    () => undefined,
  );
  if (size === undefined) throw new FlashRefusal('image-mismatch', `${image} does not exist; build the image first`);
  if (!COMPRESSED.test(image) && size !== bmap.imageSize) {
    throw new FlashRefusal(
      'image-mismatch',
      `${image} is ${size} bytes but ${path} describes an image of ${bmap.imageSize} bytes: they do not belong together; recreate the bmap`,
    );
  }
  return bmap;
}

/** Writes `image` to `device` and verifies it (see the file comment). */
export async function flash(opts: FlashOptions): Promise<FlashResult> {
  const print = opts.print ?? ((line: string) => process.stderr.write(line + '\n'));
  const bmap = await readBmap(opts.bmap, opts.image);
  const target = checkTarget(opts.device, bmap.imageSize, { ...opts.env, allowFile: opts.allowFile ?? false });
  for (const line of describeFlash(opts.image, bmap, target)) print(line);
  const release = { image: opts.image, compressed: COMPRESSED.test(opts.image), bmapPath: opts.bmap, bmap, ...(opts.signal ? { signal: opts.signal } : {}) };
  for (const line of await checkRelease(release)) print(`  ${line}`);
  if (!opts.yes) {
    const answer = await (opts.prompt ?? askOnStdin)(`Type "yes" to write ${target.path}: `);
    if (answer.trim().toLowerCase() !== 'yes') {
      throw new FlashRefusal('not-confirmed', `not confirmed: nothing was written to ${target.path} (answer "yes", or pass --yes)`);
    }
  }

  const started = Date.now();
  let method: FlashResult['method'] = 'bmaptool';
  try {
    await exec([opts.bmaptool ?? 'bmaptool', 'copy', '--no-verify', '--bmap', opts.bmap, opts.image, target.path], {
      cwd: dirname(opts.image),
      onLine: (line) => print(`  ${line}`),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } catch (err) {
    if (!(err instanceof TaskFailure) || err.failure.reason !== 'missing-tool') throw err;
    if (COMPRESSED.test(opts.image)) {
      throw new FlashRefusal(
        'image-mismatch',
        `bmaptool is not installed (apt-get install bmap-tools), and without it only an uncompressed .img can be written`,
      );
    }
    method = 'builtin';
    print(`bmaptool is not installed (apt-get install bmap-tools): copying the ${bmap.ranges.length} mapped ranges (${storageSize(mappedBytes(bmap))}) myself`);
    await copyMappedRanges(opts.image, target.path, bmap, { isFile: target.kind === 'file', ...(opts.signal ? { signal: opts.signal } : {}) });
  }
  await opts.afterWrite?.(target.path);
  const handle = await open(target.path, 'r+');
  await handle.sync().finally(() => handle.close());
  if (target.kind === 'disk') {
    await exec(['blockdev', '--flushbufs', target.path], { cwd: '/', onLine: (line) => print(`  ${line}`) }).catch(() =>
      print(`  (could not drop the kernel's cached blocks of ${target.path}; the check below may read some of them from memory)`),
    );
  }
  const written = Date.now();

  print(`Verifying: reading back ${bmap.ranges.length} ranges (${storageSize(mappedBytes(bmap))}) of ${target.path}`);
  const bad = await verifyRanges(target.path, bmap, opts.signal);
  const verifyMs = Date.now() - written;
  if (bad.length > 0) {
    if (!COMPRESSED.test(opts.image)) {
      const source = await verifyRanges(opts.image, { ...bmap, ranges: bad.map((b) => b.range) }, opts.signal);
      if (source.length > 0)
        throw imageMismatch(opts.image, target.path, `blocks ${source[0]!.range.first}-${source[0]!.range.last} differ from the bmap's checksum`, bad);
    }
    const advice =
      target.kind === 'disk'
        ? 'The card or the reader is faulty, or the card is fake and smaller than it claims: do not boot from it; try another card.'
        : 'The file was changed while it was written, or the storage under it is faulty.';
    const lines = bad
      .slice(0, 5)
      .map((b) => `  blocks ${b.range.first}-${b.range.last} (bytes ${b.start}-${b.end - 1}): ${bmap.checksumType} ${b.actual}, expected ${b.range.checksum}`);
    if (bad.length > 5) lines.push(`  … and ${bad.length - 5} more`);
    throw new FlashVerifyError(
      `verification FAILED: ${bad.length} of ${bmap.ranges.length} written ranges of ${target.path} read back differently from the image:\n${lines.join('\n')}\n${advice}`,
      bad,
    );
  }
  print(`Verified: every written range of ${target.path} matches ${basename(opts.bmap)}.${target.kind === 'disk' ? ' You can remove the card.' : ''}`);
  return { target, method, bytes: mappedBytes(bmap), ranges: bmap.ranges.length, writeMs: written - started, verifyMs };
}
