import { getBits, setBits, zeroBytes } from '../../src/bits/bitfield.ts';

/**
 * 68-byte flit layout (CXL 1.1/2.0, 68B mode of 3.x) as it sits in a 256-byte flit-channel slot:
 * bytes 0-1 protocol ID, bytes 2-65 the 64-byte link-layer flit (32-bit header + 96-bit H slot,
 * then three 128-bit G slots), bytes 66-67 CRC-16 (filled by the link layer's TX, src/bits/crc.ts).
 * Sources: CXL 3.1 §4.2.2-4.2.6, Tables 4-1..4-10, §6.2.2; reference/cxl-protocol.md §2.
 */
export const F68_BYTES = 68;
export const F68_PID_OFF = 0;
/** First byte of the 64-byte link-layer flit inside the slot. */
export const F68_FLIT_OFF = 2;
export const F68_CRC_OFF = 66;
/** Bytes 2-65: what the CRC covers (flit bits [511:0]). */
export const F68_FLIT_BYTES = 64;
export const F68_SLOTS = 4;
export const F68_CHUNK_BYTES = 16;

/** Protocol IDs: an 8-bit code sent twice (CXL 1.1 §6.2.2 Table 51). */
export const ProtocolId = {
  CXLio: 0xffff,
  CXLioEds: 0xd2d2,
  CacheMem: 0x5555,
  CacheMemEds: 0x8787,
  Null: 0x9999,
  NullEds: 0x4b4b,
  Almp: 0xcccc,
  AlmpEds: 0x1e1e,
} as const;

// Flit header bit positions within the 64-byte flit (CXL 3.1 Fig. 4-7 / Table 4-1; [0] and [19:17]
// are inferred from the field widths: reference §2.2, DERIVED).
export const HDR68_TYPE = 0;
export const HDR68_AK = 2;
export const HDR68_BE = 3;
export const HDR68_SZ = 4;
/** Slot s format at bits [7:5], [10:8], [13:11], [16:14]. */
export const HDR68_SLOT_FMT = [5, 8, 11, 14] as const;
/**
 * Model extension in reserved header bit 17: 1 = the flit uses the S2M (device→host) slot formats.
 * A real link is one-directional per role; every cxlfab device is initiator and target at once, so
 * a flit says which direction's formats its slots use. A spec host→device flit has it 0.
 */
export const HDR68_DIR = 17;
export const HDR68_RSPCRD = 20;
export const HDR68_REQCRD = 24;
export const HDR68_DATACRD = 28;

/** Bit position (within the 64-byte flit) where slot s's message space begins. */
export function slotBit68(s: number): number {
  return s === 0 ? 32 : 128 * s;
}
/** Message space of slot 0 (H) and slots 1-3 (G), bits. */
export const H68_BITS = 96;
export const G68_BITS = 128;

/** Slot-format codes (3 bits). M2S: H4 RwD, H5 Req, G4 Req (+cache DH), G5 RwD (+cache Rsp). */
export const M2S_H4 = 4, M2S_H5 = 5, M2S_G4 = 4, M2S_G5 = 5;
/** S2M: H3 DRS+NDR, H4 2 NDR, H5 2 DRS (MDH), G4 DRS+2 NDR, G5 2 NDR, G6 3 DRS (MDH). */
export const S2M_H3 = 3, S2M_H4 = 4, S2M_H5 = 5, S2M_G4 = 4, S2M_G5 = 5, S2M_G6 = 6;
/** G0: a 16-byte data chunk (or the byte-enable slot). */
export const G0 = 0;
/** 111 is reserved in every slot. */
export const FMT68_RSVD = 7;

/** Per-flit message limits (CXL 3.1 §4.2.5; reference §2.4): M2S Req, M2S RwD header, S2M NDR, S2M DRS header. */
export const F68_LIMITS: readonly number[] = [2, 1, 2, 3];

/**
 * The byte places and masks the per-flit helpers below use, as a `const enum`: the TypeScript
 * transform writes its members as literals, where a module-level constant is loaded and
 * type-checked at each use in V8's optimized code (these helpers are inlined into the link layer,
 * packer and parser). Checked at load against the constants above.
 */
const enum At {
  bytes = 68,
  pidOff = 0,
  flitOff = 2,
  /** Slot byte of {SubType, LLCTRL} (flitOff + CTL68_BYTE) and of the control payload (flitOff + CTL68_PAYLOAD_BYTE). */
  ctl = 6,
  ctlPayload = 10,
  /** Ak and Type: byte and mask in the slot (both in the header's first byte). */
  akByte = 2,
  akMask = 4,
  typeByte = 2,
  typeMask = 1,
  pidCacheMem = 0x5555,
}
/** Write a 16-bit protocol ID at the start of a 68B slot. */
export function setProtocolId68(buf: Uint8Array, off: number, pid: number): void {
  buf[off + At.pidOff] = pid & 0xff;
  buf[off + At.pidOff + 1] = (pid >> 8) & 0xff;
}
export function getProtocolId68(buf: Uint8Array, off: number): number {
  return buf[off + At.pidOff]! | (buf[off + At.pidOff + 1]! << 8);
}

/** Read/write a header field (bit position within the 64-byte flit). */
export function getHdr68(buf: Uint8Array, off: number, bit: number, width: number): number {
  return getBits(buf, off + At.flitOff, bit, width);
}
export function setHdr68(buf: Uint8Array, off: number, bit: number, width: number, v: number): void {
  setBits(buf, off + At.flitOff, bit, width, v);
}

/**
 * Write several header fields at once: the header bits set in `mask` take their value from
 * `value` (bit i = header bit i, as the HDR68_* positions), the others keep theirs. Same result as
 * one setHdr68 per field, with four byte stores.
 */
export function setHdr68Fields(buf: Uint8Array, off: number, mask: number, value: number): void {
  const at = off + At.flitOff;
  for (let b = 0; b < 4; b++) {
    const m = (mask >>> (8 * b)) & 0xff;
    buf[at + b] = (buf[at + b]! & ~m) | ((value >>> (8 * b)) & m);
  }
}

// Ak and Type are read or written for every flit the link layer sends or receives: one byte and a
// mask each (both sit in the header's first byte), not a general setBits/getBits.
const AK_BYTE = F68_FLIT_OFF + (HDR68_AK >> 3);
const AK_MASK = 1 << (HDR68_AK & 7);
const TYPE_BYTE = F68_FLIT_OFF + (HDR68_TYPE >> 3);
const TYPE_MASK = 1 << (HDR68_TYPE & 7);

/** Set or clear the Ak bit (acknowledges 8 CRC-good flits, CXL 3.1 §4.2.2) — used by the link layer's TX. */
export function setAk68(buf: Uint8Array, off: number, on: boolean): void {
  const at = off + At.akByte;
  buf[at] = on ? buf[at]! | At.akMask : buf[at]! & ~At.akMask;
}
export function getAk68(buf: Uint8Array, off: number): boolean {
  return (buf[off + At.akByte]! & At.akMask) !== 0;
}
/** True for a control flit (header Type = 1). Meaningless for an all-data flit, which has no header. */
export function isControl68(buf: Uint8Array, off: number): boolean {
  return (buf[off + At.typeByte]! & At.typeMask) !== 0;
}

// ---- link-layer control flits (Type = 1; only slot 0 is valid; CXL 3.1 Tables 4-9/4-10, Fig. 4-35) ----

/** LLCTRL (4 bits) and SubType (4 bits), together in flit byte 4. */
export const LlCtrl = {
  LLCRD: 0b0000,
  RETRY: 0b0001,
  IDE: 0b0010,
  INIT: 0b1100,
} as const;
export const RetrySub = { Idle: 0b0000, Req: 0b0001, Ack: 0b0010, Frame: 0b0011 } as const;
export const LLCRD_ACK_SUB = 0b0001;
export const INIT_PARAM_SUB = 0b1000;
/** Flit byte holding {SubType, LLCTRL}, and the first payload byte (payload = flit bytes 8-15). */
export const CTL68_BYTE = 4;
export const CTL68_PAYLOAD_BYTE = 8;
if (
  At.bytes !== F68_BYTES || At.pidOff !== F68_PID_OFF || At.flitOff !== F68_FLIT_OFF || At.ctl !== F68_FLIT_OFF + CTL68_BYTE ||
  At.ctlPayload !== F68_FLIT_OFF + CTL68_PAYLOAD_BYTE || At.akByte !== AK_BYTE || At.akMask !== AK_MASK || At.typeByte !== TYPE_BYTE ||
  At.typeMask !== TYPE_MASK || At.pidCacheMem !== ProtocolId.CacheMem
) {
  throw new Error('Flit68: the At const enum disagrees with the layout constants');
}

/** Start a control flit: zero it, protocol ID, Type = 1, LLCTRL/SubType. Credits may be added with setHdr68. */
export function buildControl68(buf: Uint8Array, off: number, llctrl: number, subType: number): void {
  zeroBytes(buf, off, At.bytes);
  setProtocolId68(buf, off, At.pidCacheMem);
  buf[off + At.typeByte] = buf[off + At.typeByte]! | At.typeMask;
  buf[off + At.ctl] = (llctrl & 0xf) | ((subType & 0xf) << 4);
}
export function getLlCtrl68(buf: Uint8Array, off: number): number {
  return buf[off + At.ctl]! & 0xf;
}
export function getSubType68(buf: Uint8Array, off: number): number {
  return buf[off + At.ctl]! >> 4;
}
/** Control payload field: bits counted from flit byte 8. */
export function setCtlPayload68(buf: Uint8Array, off: number, bit: number, width: number, v: number): void {
  setBits(buf, off + At.ctlPayload, bit, width, v);
}
export function getCtlPayload68(buf: Uint8Array, off: number, bit: number, width: number): number {
  return getBits(buf, off + At.ctlPayload, bit, width);
}

/**
 * LLCRD Acknowledge carrying `fullAck` (0-255) acknowledgements: Full_Ack = {Ack[7:4], hdr.Ak, Ack[2:0]}
 * (payload bits [2:0] and [7:4], header Ak for bit 3). Credit nibbles go in the header as in protocol flits.
 */
export function buildLlcrd68(buf: Uint8Array, off: number, fullAck: number, rspCrd: number, reqCrd: number, dataCrd: number, s2mDir: boolean): void {
  buildControl68(buf, off, LlCtrl.LLCRD, LLCRD_ACK_SUB);
  setCtlPayload68(buf, off, 0, 3, fullAck & 7);
  setCtlPayload68(buf, off, 4, 4, (fullAck >> 4) & 0xf);
  setAk68(buf, off, ((fullAck >> 3) & 1) === 1);
  setHdr68(buf, off, HDR68_RSPCRD, 4, rspCrd);
  setHdr68(buf, off, HDR68_REQCRD, 4, reqCrd);
  setHdr68(buf, off, HDR68_DATACRD, 4, dataCrd);
  setHdr68(buf, off, HDR68_DIR, 1, s2mDir ? 1 : 0);
}
export function llcrdFullAck68(buf: Uint8Array, off: number): number {
  return getCtlPayload68(buf, off, 0, 3) | ((getAk68(buf, off) ? 1 : 0) << 3) | (getCtlPayload68(buf, off, 4, 4) << 4);
}

export function buildRetryIdle68(buf: Uint8Array, off: number): void {
  buildControl68(buf, off, LlCtrl.RETRY, RetrySub.Idle);
}
export function buildRetryFrame68(buf: Uint8Array, off: number): void {
  buildControl68(buf, off, LlCtrl.RETRY, RetrySub.Frame);
}
/** RETRY.Req: [7:0] Eseq, [20:16] NUM_RETRY, [25:21] NUM_PHY_REINIT. */
export function buildRetryReq68(buf: Uint8Array, off: number, eseq: number, numRetry: number, numPhyReinit: number): void {
  buildControl68(buf, off, LlCtrl.RETRY, RetrySub.Req);
  setCtlPayload68(buf, off, 0, 8, eseq);
  setCtlPayload68(buf, off, 16, 5, numRetry);
  setCtlPayload68(buf, off, 21, 5, numPhyReinit);
}
export const RetryReqField = { eseq: [0, 8], numRetry: [16, 5], numPhyReinit: [21, 5] } as const;
/** RETRY.Ack: [0] Empty, [1] Viral, [7:3] NUM_RETRY echo, [15:8] WrPtr, [23:16] Eseq echo, [31:24] NumFreeBuf, [47:32] Viral LD-ID vector. */
export function buildRetryAck68(buf: Uint8Array, off: number, empty: boolean, viral: boolean, numRetry: number, wrPtr: number, eseq: number, numFreeBuf: number, viralLdIds: number): void {
  buildControl68(buf, off, LlCtrl.RETRY, RetrySub.Ack);
  setCtlPayload68(buf, off, 0, 1, empty ? 1 : 0);
  setCtlPayload68(buf, off, 1, 1, viral ? 1 : 0);
  setCtlPayload68(buf, off, 3, 5, numRetry);
  setCtlPayload68(buf, off, 8, 8, wrPtr);
  setCtlPayload68(buf, off, 16, 8, eseq);
  setCtlPayload68(buf, off, 24, 8, numFreeBuf);
  setCtlPayload68(buf, off, 32, 16, viralLdIds);
}
export const RetryAckField = { empty: [0, 1], viral: [1, 1], numRetry: [3, 5], wrPtr: [8, 8], eseq: [16, 8], numFreeBuf: [24, 8], viralLdIds: [32, 16] } as const;
/** INIT.Param: [3:0] version (0001 = 1.x, 0010 = 2.0+), [31:24] LLR wrap value. */
export function buildInitParam68(buf: Uint8Array, off: number, version: number, llrWrap: number): void {
  buildControl68(buf, off, LlCtrl.INIT, INIT_PARAM_SUB);
  setCtlPayload68(buf, off, 0, 4, version);
  setCtlPayload68(buf, off, 24, 8, llrWrap);
}
export const InitParamField = { version: [0, 4], llrWrap: [24, 8] } as const;
/** Read one of the [bit, width] pairs above. */
export function ctlField68(buf: Uint8Array, off: number, f: readonly [number, number]): number {
  return getCtlPayload68(buf, off, f[0], f[1]);
}
