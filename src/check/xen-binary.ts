/**
 * What a Xen binary shows of how its secondary CPUs reach HYP mode on
 * OMAP5/DRA7, read from its bytes. There Xen wakes CPU1 itself (AuxCoreBoot1),
 * in non-secure SVC mode, and the only way into HYP is the ROM's service 0x102
 * (Linux's omap5_secondary_hyp_startup, U-Boot v2016.11's switch_to_hypervisor):
 *
 *     r12 = 0x102          movw r12, #0x102   or   ldr r12, [pc, #n] with a literal 0x102
 *     r0  = return address
 *     smc #0
 *
 * The scan looks at every 4-byte-aligned A32 word (Xen is A32, little-endian)
 * for `smc #0` and, a few instructions before it, the last write of 0x102 to r12.
 */

const SMC_0 = 0xe1600070;
/** How far before the smc the r12 set-up may be, in instructions. */
const WINDOW = 8;
const SERVICE = 0x102;

/** movw r12, #imm16 (A1, cond AL): its immediate, else undefined. */
function movwR12(word: number): number | undefined {
  if ((word & 0xfff0f000) >>> 0 !== 0xe300c000) return undefined;
  return ((word >>> 4) & 0xf000) | (word & 0xfff);
}

/** ldr r12, [pc, #±imm12] (A1, cond AL): the offset from the instruction's pc (its address + 8), else undefined. */
function ldrR12Literal(word: number): number | undefined {
  const masked = (word & 0xff7ff000) >>> 0;
  if (masked !== 0xe51fc000) return undefined;
  const imm = word & 0xfff;
  return word & 0x00800000 ? imm : -imm;
}

/** Any other instruction whose destination register is r12 ends the look-back: r12 was overwritten. */
function writesR12(word: number): boolean {
  const cond = word >>> 28;
  if (cond !== 0xe) return false;
  const op = (word >>> 25) & 0x7;
  // Data processing and loads (single register) with Rd/Rt = r12.
  return (op === 0 || op === 1 || op === 2 || op === 3) && ((word >>> 12) & 0xf) === 12;
}

/** Byte offsets of each `smc #0` that calls ROM service 0x102, in file order. */
export function romHypCalls(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const words = Math.floor(bytes.byteLength / 4);
  const word = (i: number) => view.getUint32(i * 4, true);
  const found: number[] = [];
  for (let i = 0; i < words; i++) {
    if (word(i) !== SMC_0) continue;
    for (let j = i - 1; j >= Math.max(0, i - WINDOW); j--) {
      const w = word(j);
      const imm = movwR12(w);
      if (imm !== undefined) {
        if (imm === SERVICE) found.push(i * 4);
        break;
      }
      const offset = ldrR12Literal(w);
      if (offset !== undefined) {
        const literal = j * 4 + 8 + offset;
        if (literal >= 0 && literal + 4 <= bytes.byteLength && literal % 4 === 0 && view.getUint32(literal, true) === SERVICE) found.push(i * 4);
        break;
      }
      if (writesR12(w)) break;
    }
  }
  return found;
}
