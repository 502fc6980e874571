/**
 * How sizes and addresses read in messages, reports and memory maps, in one
 * place. Three size styles, each with its own promise:
 *   formatSize  memory maps and boot plans: compact, a bare number is exact ("672.9 KiB", "128 MiB");
 *   storageSize cards, partitions and images: whole MiB or GiB when exact ("1089 MiB"), else one decimal;
 *   exactSize   device-tree regions: a binary unit only when exact, else the bytes in hex.
 */

const UNIT_NAMES = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/**
 * Formats a byte count for people: the largest 1024-based unit that keeps the
 * number at least 1; whole numbers print bare ("128 MiB", "17 B"), exact
 * values with up to two decimals ("1.5 GiB", "1.25 MiB"), anything else with
 * one rounded decimal ("672.9 KiB", "4.7 MiB"), so a bare number is always exact.
 */
export function formatSize(bytes: number): string {
  if (bytes < 0) return `-${formatSize(-bytes)}`;
  let u = 0;
  while (u < UNIT_NAMES.length - 1 && bytes >= 1024 ** (u + 1)) u++;
  if (u === 0) return `${bytes} B`;
  let v = bytes / 1024 ** u;
  if (Number.isInteger(v)) return `${v} ${UNIT_NAMES[u]}`;
  if (Number.isInteger(v * 100)) return `${Number(v.toFixed(2))} ${UNIT_NAMES[u]}`;
  if (Math.round(v * 10) >= 10240 && u < UNIT_NAMES.length - 1) {
    u++;
    v = bytes / 1024 ** u;
  }
  return `${v.toFixed(1)} ${UNIT_NAMES[u]}`;
}

/** An address in lower-case hex with at least 8 digits: hex(0x80200000) is "0x80200000", hex(0x1000) is "0x00001000". */
export function hex(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`hex: ${n} is not a non-negative safe integer`);
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** A value in lower-case hex without padding: hexShort(0x99000000) is "0x99000000", hexShort(0x1000) is "0x1000". */
export function hexShort(n: number): string {
  return '0x' + n.toString(16);
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Cards, partitions and images: "64 MiB", "1089 MiB", "2 GiB", "1.5 GiB", "4096 bytes". */
export function storageSize(bytes: number): string {
  if (bytes >= GiB && bytes % GiB === 0) return `${bytes / GiB} GiB`;
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= GiB) return `${(bytes / GiB).toFixed(1)} GiB`;
  if (bytes >= MiB) return `${(bytes / MiB).toFixed(1)} MiB`;
  return `${bytes} bytes`;
}

/** Device-tree regions: the largest binary unit that divides the size exactly, else its bytes in hex. */
export function exactSize(n: number): string {
  for (const [unit, bytes] of [
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ] as const) {
    if (n >= bytes && n % bytes === 0) return `${n / bytes} ${unit}`;
  }
  return `${hexShort(n)} bytes`;
}
