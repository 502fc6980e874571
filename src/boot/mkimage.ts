/**
 * mkimage and dumpimage (u-boot-tools) as thin wrappers. The argv of every
 * command comes from a pure function (so --dry-run can print it); the
 * effectful wrappers write to a temp file next to the output and rename it
 * into place only when the tool succeeded, because mkimage leaves an empty
 * output file behind when it fails.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { exec } from '../host/process.js';
import { BUILD_EPOCH } from '../util/epoch.js';

type ImageArch = 'arm' | 'arm64';

/** How the wrappers run their tool. */
export interface ToolOptions {
  signal?: AbortSignal;
  /** Each line the tool prints (mkimage prints the header it wrote). */
  onLine?: (line: string) => void;
  /** The image timestamp, in seconds since 1970 (mkimage honours SOURCE_DATE_EPOCH; default BUILD_EPOCH): same inputs, same bytes. */
  sourceDateEpoch?: number;
}

/** A legacy uImage around a kernel (Xen, in the seed: `-a 0x80200000 -e 0x80200000`). */
export interface LegacyKernelSpec {
  input: string;
  output: string;
  /** Where bootm copies the payload to, and where it jumps. 32-bit, as the legacy header holds them. */
  load: number;
  entry: number;
  /** At most 32 bytes of printable ASCII (mkimage silently cuts longer names). */
  name: string;
  arch: ImageArch;
  os?: 'linux';
  compression?: 'none';
}

/** A script image (boot.scr) around hush source (boot.cmd). */
export interface ScriptImageSpec {
  input: string;
  output: string;
  name: string;
  arch?: ImageArch;
}

/** What `dumpimage -l` says about a legacy image. */
export interface ImageHeader {
  name: string;
  /** As dumpimage words it: "ARM Linux Kernel Image (uncompressed)", "ARM Linux Script (uncompressed)". */
  type: string;
  created: string;
  dataSize: number;
  load: number;
  entry: number;
  /** Sizes of the parts of a multi-file or script image ("Contents:"); empty for a kernel. */
  contents: number[];
}

/** A file that is not what its reader expected (not a legacy image, a bad environment CRC). */
export class ImageFormatError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'ImageFormatError';
  }
}

/** `0x80200000`: eight hex digits, as the legacy header holds a 32-bit address. */
function hex32(value: number, what: string): string {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`${what} ${value} does not fit the 32-bit field of a legacy U-Boot image`);
  }
  return `0x${value.toString(16).padStart(8, '0')}`;
}

function imageName(name: string): string {
  if (!/^[\x20-\x7e]{1,32}$/.test(name)) {
    throw new RangeError(`image name ${JSON.stringify(name)} must be 1 to 32 printable ASCII characters`);
  }
  return name;
}

/** A path a tool cannot mistake for an option. */
function operand(path: string): string {
  return path.startsWith('-') ? `./${path}` : path;
}

/** `mkimage -A arm -O linux -T kernel -C none -a 0x… -e 0x… -n NAME -d input output`. */
export function legacyKernelArgv(spec: LegacyKernelSpec, output: string = spec.output): string[] {
  return [
    'mkimage',
    ...['-A', spec.arch, '-O', spec.os ?? 'linux', '-T', 'kernel', '-C', spec.compression ?? 'none'],
    ...['-a', hex32(spec.load, 'load address'), '-e', hex32(spec.entry, 'entry point')],
    ...['-n', imageName(spec.name), '-d', operand(spec.input), operand(output)],
  ];
}

/** `mkimage -A arm -O linux -T script -C none -n NAME -d boot.cmd boot.scr`. */
export function scriptImageArgv(spec: ScriptImageSpec, output: string = spec.output): string[] {
  return [
    'mkimage',
    ...['-A', spec.arch ?? 'arm', '-O', 'linux', '-T', 'script', '-C', 'none'],
    ...['-n', imageName(spec.name), '-d', operand(spec.input), operand(output)],
  ];
}

/** `dumpimage -l path`. */
function listImageArgv(path: string): string[] {
  return ['dumpimage', '-l', operand(path)];
}

export async function makeLegacyKernelImage(spec: LegacyKernelSpec, opts: ToolOptions = {}): Promise<void> {
  legacyKernelArgv(spec); // validate before touching the disk
  await produceInPlace(spec.output, (tmp) => legacyKernelArgv(spec, tmp), opts);
}

export async function makeScriptImage(spec: ScriptImageSpec, opts: ToolOptions = {}): Promise<void> {
  scriptImageArgv(spec);
  await produceInPlace(spec.output, (tmp) => scriptImageArgv(spec, tmp), opts);
}

/**
 * Run the tool with its output pointed at a temp file next to `output`, then
 * rename that into place. On any failure the temp file is removed and
 * `output` is as it was.
 */
export async function produceInPlace(output: string, argvFor: (tmp: string) => string[], opts: ToolOptions = {}): Promise<void> {
  await mkdir(dirname(output), { recursive: true });
  const tmp = join(dirname(output), `.${basename(output)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const env: Record<string, string> = {};
  env.SOURCE_DATE_EPOCH = String(opts.sourceDateEpoch ?? BUILD_EPOCH);
  try {
    await exec(argvFor(tmp), { cwd: process.cwd(), env, signal: opts.signal, onLine: opts.onLine });
    await rename(tmp, output);
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Read a legacy image's header with `dumpimage -l`. Throws ImageFormatError for anything else. */
export async function readImageHeader(path: string, opts: Pick<ToolOptions, 'signal'> = {}): Promise<ImageHeader> {
  const text = await exec(listImageArgv(path), { cwd: process.cwd(), capture: true, signal: opts.signal });
  return parseImageHeader(text, path);
}

/** Parse the listing `dumpimage -l` prints for a legacy image. */
function parseImageHeader(text: string, path = '(dumpimage output)'): ImageHeader {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const field = (label: string): string => {
    const line = lines.find((l) => l.startsWith(`${label}:`));
    if (line === undefined) throw new ImageFormatError(path, `not a legacy U-Boot image (dumpimage printed no "${label}")`);
    return line.slice(label.length + 1).replace(/^ +/, '');
  };
  const number = (label: string, re: RegExp, radix: number): number => {
    const m = re.exec(field(label));
    if (!m) throw new ImageFormatError(path, `cannot read "${label}" from dumpimage`);
    return Number.parseInt(m[1]!, radix);
  };
  const contents: number[] = [];
  const start = lines.indexOf('Contents:');
  if (start >= 0) {
    for (const line of lines.slice(start + 1)) {
      const m = /^\s+Image \d+: (\d+) Bytes/.exec(line);
      if (!m) break;
      contents.push(Number(m[1]));
    }
  }
  return {
    name: field('Image Name'),
    type: field('Image Type'),
    created: field('Created'),
    dataSize: number('Data Size', /^(\d+) Bytes/, 10),
    load: number('Load Address', /^([0-9a-fA-F]+)$/, 16),
    entry: number('Entry Point', /^([0-9a-fA-F]+)$/, 16),
    contents,
  };
}

/**
 * Where a legacy uImage file may be loaded, given its header. U-Boot's bootm
 * treats an uncompressed image loaded at its own load address as
 * execute-in-place and jumps to `entry` — into the 64-byte header when entry
 * equals load, as in the seed's `-a 0x80200000 -e 0x80200000` — so the file
 * must go elsewhere (the seed loaded it at 0x90000000). A file overlapping the
 * payload's destination boots (bootm moves it with memmove) but is fragile.
 * Returns what is wrong, or undefined.
 */
export function legacyPlacementProblem(file: { start: number; size: number }, header: Pick<ImageHeader, 'load' | 'entry' | 'dataSize'>): string | undefined {
  const hex = (n: number) => `0x${n.toString(16)}`;
  if (file.start === header.load) {
    if (header.entry === header.load + 64) return undefined; // a deliberate XIP image
    const inHeader = header.entry >= header.load && header.entry < header.load + 64 ? ', inside the image header' : '';
    return `the uImage is loaded at ${hex(file.start)}, its own load address: bootm runs it in place, its payload 64 bytes past where it was built to run, and jumps to ${hex(header.entry)}${inHeader}; load the file elsewhere`;
  }
  if (file.start + 64 === header.load) return undefined; // the payload already sits at its load address
  const fileEnd = file.start + file.size;
  const payloadEnd = header.load + header.dataSize;
  if (file.start < payloadEnd && header.load < fileEnd) {
    return `the uImage file (${hex(file.start)}-${hex(fileEnd)}) overlaps where bootm copies its payload (${hex(header.load)}-${hex(payloadEnd)}); load the file clear of it`;
  }
  return undefined;
}
