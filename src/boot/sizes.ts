/**
 * Sizes and addresses as a board file writes them ("1536M", "0x20000") and as
 * people read them ("1.5 GiB", "0x80200000"). Pure, exact integer arithmetic:
 * every value is a non-negative safe integer (< 2^53), every unit a power of 1024.
 */

/** 2 MiB: the alignment Xen and the planner use for modules and Xen's own placement. */
export const MIB2 = 2 * 1024 * 1024;

const UNIT_SHIFT: Record<string, bigint> = { '': 0n, b: 0n, k: 10n, m: 20n, g: 30n, t: 40n };

/**
 * Parses a size or an address: a whole number of bytes (4096), a decimal with a
 * 1024-based unit ("64K", "1536M", "2G", "1T", also "64KiB", "64kb", "1.5G" when
 * that is a whole number of bytes), or a hex string ("0x20000").
 * Throws a RangeError naming the value when it is not a non-negative safe integer.
 */
export function parseSize(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`size ${value} is not a whole, non-negative number of bytes`);
    return value;
  }
  const s = value.trim();
  let bytes: bigint | undefined;
  if (/^0x[0-9a-f]+$/i.test(s)) {
    bytes = BigInt(s);
  } else {
    const m = /^(\d+)(?:\.(\d+))?\s*(?:([kmgt])(?:i?b)?|(b))?$/i.exec(s);
    if (m) {
      const frac = m[2] ?? '';
      const shift = UNIT_SHIFT[(m[3] ?? m[4] ?? '').toLowerCase()] ?? 0n;
      const scaled = BigInt(m[1]! + frac) << shift;
      const denom = 10n ** BigInt(frac.length);
      if (scaled % denom === 0n) bytes = scaled / denom;
      else throw new RangeError(`size "${value}" is not a whole number of bytes`);
    }
  }
  if (bytes === undefined) throw new RangeError(`size "${value}" is not a size: write bytes (4096), hex (0x20000) or K/M/G (64K, 1536M, 2G)`);
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`size "${value}" is too large`);
  return Number(bytes);
}

function checkAlign(a: number): void {
  if (!Number.isSafeInteger(a) || a <= 0) throw new RangeError(`alignment ${a} is not a positive whole number`);
}

/** The smallest multiple of `a` that is >= n (exact for any positive integer `a`). */
export function alignUp(n: number, a: number): number {
  checkAlign(a);
  const r = n % a;
  return r === 0 ? n : n + (a - r);
}

/** The largest multiple of `a` that is <= n (n >= 0). */
export function alignDown(n: number, a: number): number {
  checkAlign(a);
  return n - (n % a);
}

/** Xen's number syntax (simple_strtoull with base 0): hex "0x…", octal "0…", or decimal; the rest of the string after it. */
function xenNumber(s: string): { n: bigint; rest: string } | undefined {
  const m = /^(0x[0-9a-f]+|0[0-7]*|[1-9]\d*)(.*)$/is.exec(s);
  if (!m) return undefined;
  const digits = m[1]!;
  const n = /^0[0-7]+$/.test(digits) ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
  return { n, rest: m[2]! };
}

/** One `dom0_mem` amount, as Xen's parse_size_and_unit reads it: B/K/M/G/T suffix, and no suffix means KiB. */
function xenSize(s: string): number | undefined {
  const num = xenNumber(s);
  if (!num) return undefined;
  const unit = num.rest.charAt(0).toLowerCase();
  const shift = unit === '' ? 10n : UNIT_SHIFT[unit];
  if (shift === undefined || num.rest.length > 1) return undefined;
  const bytes = num.n << shift;
  return bytes > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(bytes);
}

/**
 * dom0's memory from Xen's command line: `dom0_mem=128M` gives 128 MiB. Reads
 * the last `dom0_mem=` (Xen lets a later option win) and of the x86-style list
 * `dom0_mem=512M,max:512M` the plain amount (else `max:`). A number without a
 * unit is KiB, as in Xen. Undefined when absent or not a plain size (`-1G`, `10%`).
 */
export function parseDom0Mem(xenBootargs: string): number | undefined {
  const opts = xenBootargs.split(/\s+/).filter((t) => t.startsWith('dom0_mem='));
  const last = opts.at(-1);
  if (last === undefined) return undefined;
  const items = last.slice('dom0_mem='.length).split(',');
  const plain = items.find((i) => !/^(min|max):/.test(i));
  const chosen = plain ?? items.find((i) => i.startsWith('max:'))?.slice('max:'.length);
  return chosen === undefined || chosen === '' ? undefined : xenSize(chosen);
}

/** The magic of an arm32 zImage header (Linux's and Xen's), a little-endian word at 0x24. */
const ZIMAGE_MAGIC = 0x016f2818;
/** The magic of a legacy U-Boot image (uImage), a big-endian word at 0, before a 64-byte header. */
const UIMAGE_MAGIC = 0x27051956;
const UIMAGE_HEADER = 64;

/**
 * How much memory an image takes where it runs: its file size, or more when
 * an arm32 zImage header says its end lies beyond the file (0x2c: `_end -
 * start`, BSS included, which Xen's header gives and Linux's does not). For a
 * uImage, `payload` is the same of what bootm copies to its load address.
 * `head` is the file's first 0x70 bytes (fewer for a short file).
 */
export function memoryFootprint(head: Uint8Array, fileSize: number): { inPlace: number; payload?: number } {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const zImageEnd = (at: number): number | undefined =>
    view.byteLength >= at + 0x30 && view.getUint32(at + 0x24, true) === ZIMAGE_MAGIC ? view.getUint32(at + 0x2c, true) : undefined;
  if (view.byteLength >= 4 && view.getUint32(0, false) === UIMAGE_MAGIC) {
    const payload = Math.max(0, fileSize - UIMAGE_HEADER);
    return { inPlace: fileSize, payload: Math.max(payload, zImageEnd(UIMAGE_HEADER) ?? 0) };
  }
  return { inPlace: Math.max(fileSize, zImageEnd(0) ?? 0) };
}
