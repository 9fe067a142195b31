import { getBits, setBits } from '../../src/bits/bitfield.ts';
import { MsgClass } from '../cxl/opcodes.ts';

/**
 * 256-byte flit layout (CXL 3.x Standard 256B flit; CXL 3.1 §4.3.2-4.3.4, CXL 3.2 §6.2.3.1;
 * reference/cxl-protocol.md §3): bytes 0-1 flit header (PHY-owned), 2-15 slot 0 (14-byte H slot),
 * 16-239 slots 1-14 (16-byte G slots), 240-241 CRD, 242-249 CRC, 250-255 FEC. CRC/FEC, sequence
 * number and replay command are filled by the link engineer's TX (rtl/link). Latency-optimized
 * flits are not modelled.
 */
export const F256_BYTES = 256;
export const F256_HDR_OFF = 0;
export const F256_SLOTS = 15;
export const F256_CRD_OFF = 240;
export const F256_CRC_OFF = 242;
export const F256_CRC_BYTES = 8;
export const F256_FEC_OFF = 250;
export const F256_FEC_BYTES = 6;

/** Byte offset of slot s (0 = H slot). */
export function slotByte256(s: number): number {
  return s === 0 ? 2 : 16 * s;
}
/** Each H/G slot begins with a 4-bit SlotFmt; messages follow, nibble aligned. */
export const SLOTFMT_BITS = 4;
/** SlotFmt of the slot whose first byte is `base`: bits [3:0] of that byte. */
export function getSlotFmt256(buf: Uint8Array, base: number): number {
  return buf[base]! & 0xf;
}
export function setSlotFmt256(buf: Uint8Array, base: number, fmt: number): void {
  buf[base] = (buf[base]! & 0xf0) | (fmt & 0xf);
}
export const H256_MSG_BITS = 108;
export const G256_MSG_BITS = 124;

/** Flit header byte 0 bits [7:6] Flit Type: 10 = CXL.cachemem payload or Empty (CXL 3.2 T6-5). */
export const FLIT_TYPE_SHIFT = 6;
export const FLIT_TYPE_CACHEMEM = 0b10;
export function setFlitType256(buf: Uint8Array, off: number, t: number): void {
  buf[off + F256_HDR_OFF] = (buf[off + F256_HDR_OFF]! & 0x3f) | ((t & 3) << FLIT_TYPE_SHIFT);
}
export function getFlitType256(buf: Uint8Array, off: number): number {
  return (buf[off + F256_HDR_OFF]! >> FLIT_TYPE_SHIFT) & 3;
}

/** SlotFmt codes of the HBR memory formats (CXL 3.1 Tables 4-14..4-16), indexed by MsgClass. */
export const SLOTFMT256: readonly number[] = [0b0100, 0b1110, 0b0111, 0b1111];
/** H8: link-layer control message in the H slot. */
export const SLOTFMT256_LLCTRL = 0b1000;
/** An empty slot: the NDR format with every Valid bit 0. */
export const SLOTFMT256_EMPTY = 0b0111;
/** Messages per slot, H and G, by MsgClass: Req 1/1, RwD 1/1, NDR 2/3, DRS 2/3. */
export const CAP_H256: readonly number[] = [1, 1, 2, 2];
export const CAP_G256: readonly number[] = [1, 1, 3, 3];
/** Message stride inside a slot (messages are nibble aligned; all sizes here are multiples of 4). */
export const MSG_BITS256: readonly number[] = [100, 104, 40, 40];
/** Max messages per rolling 128-byte group (AB, BC, CD, DA across flits; CXL 3.1 Table 4-18). */
export const F256_GROUP_LIMITS: readonly number[] = [4, 2, 6, 3];
/** A data header may sit in the H slot only while ≤16 data slots are owed (CXL 3.1 §4.3.4). */
export const H_SLOT_MAX_OWED = 16;
/** Slot groups A=0-3, B=4-7, C=8-11, D=12-14. */
export function group256(s: number): number {
  return s < 12 ? s >> 2 : 3;
}
/** MsgClass of a SlotFmt, or -1. */
export function classOfFmt256(fmt: number): number {
  for (let c = 0; c < 4; c++) if (SLOTFMT256[c] === fmt) return c;
  return -1;
}
export const CLASS_BY_FMT_NAME = MsgClass;

/** CRD subfields (CXL 3.1 Table 4-19): [4:0] request class, [9:5] data class, [14:10] response class. */
export function getCrd256(buf: Uint8Array, off: number, field: number): number {
  // The three subfields lie in the CRD's first two bytes: one 16-bit read instead of getBits.
  if (field >= 0 && field <= 2) {
    const at = off + F256_CRD_OFF;
    return ((buf[at]! | (buf[at + 1]! << 8)) >>> (field * 5)) & 0x1f;
  }
  return getBits(buf, off + F256_CRD_OFF, field * 5, 5);
}
export function setCrd256(buf: Uint8Array, off: number, field: number, code: number): void {
  setBits(buf, off + F256_CRD_OFF, field * 5, 5, code);
}
export const CrdField = { Req: 0, Data: 1, Rsp: 2 } as const;
