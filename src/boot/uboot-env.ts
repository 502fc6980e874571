/**
 * U-Boot environments: the `key=value` text, the binary image mkenvimage
 * makes of it, and a decoder for that image (to verify round trips and, in
 * `xenbuild check`, what a board will boot with).
 *
 * The binary layout: a CRC32 (little-endian) of the data area, in the
 * redundant form one flags byte, then `key=value` entries each ended by a
 * NUL, a NUL after the last one, and 0xff up to the end. When U-Boot imports
 * an environment (binary, or uEnv.txt with `env import -t`) a backslash
 * escapes the character after it, so a value's backslashes are written doubled.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ImageFormatError, produceInPlace, type ToolOptions } from './mkimage.js';

export interface EnvImageSpec {
  vars: Readonly<Record<string, string>>;
  /** The environment's size on the medium (CONFIG_ENV_SIZE), header included. */
  size: number;
  /** The form with a flags byte (CONFIG_SYS_REDUNDAND_ENVIRONMENT). */
  redundant: boolean;
  output: string;
}

export interface EnvImage {
  /** The variables as U-Boot sees them after import. */
  vars: Record<string, string>;
  crc: number;
  /** The redundant form's flags byte (mkenvimage writes 1, "active"). */
  flags?: number;
}

/** One `key=value` line as U-Boot imports it (mkenvimage input, uEnv.txt). Throws for what cannot be one. */
export function envLine(key: string, value: string): string {
  if (!/^[^\s=#\\\0][^\s=\\\0]*$/.test(key)) {
    throw new Error(`U-Boot variable name ${JSON.stringify(key)} is empty or holds whitespace, "=", "\\" or a leading "#"`);
  }
  if (value === '') throw new Error(`U-Boot variable ${key} is empty: an empty value deletes the variable on import; leave it out`);
  if (/[\r\n\0]/.test(value)) {
    throw new Error(`U-Boot variable ${key} holds a line break: an environment value is one line; chain commands with ";" or "run"`);
  }
  if (value.endsWith('\\')) throw new Error(`U-Boot variable ${key} ends with "\\", which would join it with the next line`);
  return `${key}=${value.replaceAll('\\', '\\\\')}`;
}

/** The variables as mkenvimage input: sorted `key=value` lines. */
export function envText(vars: Readonly<Record<string, string>>): string {
  return Object.keys(vars)
    .sort()
    .map((key) => envLine(key, vars[key]!) + '\n')
    .join('');
}

/** Bytes before the data area: the CRC, and the flags byte of the redundant form. */
function envHeaderSize(redundant: boolean): number {
  return redundant ? 5 : 4;
}

/** `mkenvimage -s SIZE [-r] -o output input.txt`. */
export function envImageArgv(spec: EnvImageSpec, input: string, output: string = spec.output): string[] {
  if (!Number.isInteger(spec.size) || spec.size <= envHeaderSize(spec.redundant)) {
    throw new RangeError(`environment size ${spec.size} is not a whole number of bytes larger than its header`);
  }
  return ['mkenvimage', '-s', `0x${spec.size.toString(16)}`, ...(spec.redundant ? ['-r'] : []), '-o', output, input];
}

/** Write the environment image with mkenvimage (temp files next to `output`, renamed on success). */
export async function makeEnvImage(spec: EnvImageSpec, opts: ToolOptions = {}): Promise<void> {
  const text = envText(spec.vars);
  // Each line's newline becomes a NUL, and one more NUL ends the list.
  const needed = Buffer.byteLength(text) + 1;
  const room = spec.size - envHeaderSize(spec.redundant);
  if (needed > room) {
    throw new RangeError(`the environment needs ${needed} bytes but ${spec.output} has room for ${room} (size ${spec.size}); raise env.size`);
  }
  const input = join(dirname(spec.output), `.${basename(spec.output)}.in-${process.pid}-${randomBytes(4).toString('hex')}.txt`);
  await mkdir(dirname(spec.output), { recursive: true });
  try {
    await writeFile(input, text);
    await produceInPlace(spec.output, (tmp) => envImageArgv(spec, input, tmp), { signal: opts.signal, onLine: opts.onLine });
  } finally {
    await rm(input, { force: true });
  }
}

/** Read and decode an environment image; throws ImageFormatError on a wrong length or CRC. */
export async function readEnvImage(path: string, size: number, redundant: boolean): Promise<EnvImage> {
  return parseEnvImage(await readFile(path), size, redundant, path);
}

/** Decode an environment image as U-Boot imports it, verifying its length and CRC. */
function parseEnvImage(bytes: Uint8Array, size: number, redundant: boolean, path = '(environment)'): EnvImage {
  if (bytes.length !== size) throw new ImageFormatError(path, `is ${bytes.length} bytes, the environment is ${size}`);
  const data = bytes.subarray(envHeaderSize(redundant));
  const stored = (bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16) | (bytes[3]! << 24)) >>> 0;
  const actual = crc32(data);
  if (stored !== actual) {
    throw new ImageFormatError(path, `environment CRC is 0x${stored.toString(16)}, its data gives 0x${actual.toString(16)}`);
  }
  const vars: Record<string, string> = {};
  let at = 0;
  for (;;) {
    const end = data.indexOf(0, at);
    if (end < 0) throw new ImageFormatError(path, 'environment data has no terminating NUL');
    if (end === at) break;
    // NUL, "=" and backslash never occur inside a UTF-8 sequence, so each entry decodes on its own.
    const entry = Buffer.from(data.subarray(at, end)).toString('utf8');
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new ImageFormatError(path, `environment entry ${JSON.stringify(entry)} is not key=value`);
    vars[entry.slice(0, eq)] = unescapeValue(entry.slice(eq + 1));
    at = end + 1;
  }
  return redundant ? { vars, crc: stored, flags: bytes[4]! } : { vars, crc: stored };
}

/** What U-Boot's import does to a value: a backslash takes the next character literally. */
function unescapeValue(value: string): string {
  return value.replace(/\\([\s\S])/g, '$1');
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3, as zlib and U-Boot compute it). */
export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
