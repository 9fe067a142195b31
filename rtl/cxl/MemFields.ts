import { getBits, POW2, setBits } from '../../src/bits/bitfield.ts';
import type { MemMsgField } from './MemMsg.ts';
import { M2SRwDOp, MsgClass } from './opcodes.ts';

/**
 * Bit-exact wire layouts of the four CXL.mem messages, one table per message per flit format,
 * each a list of [name, width] in wire order (bit 0 first, LSB-first packing).
 *
 * Sources: CXL 3.1 Tables 3-34 (M2S Req), 3-40 (RwD), 3-49 (NDR), 3-52 (DRS) and Fig. 4-66 (the
 * verified bit order of a 256B DRS); reference/cxl-protocol.md §1.2-1.6. Sizes: Req 87/100,
 * RwD 87/104, NDR 30/40, DRS 40/40 bits (68B/256B).
 *
 * Simplification (noted): the 68B slot formats H4/G4/G5 of CXL 2.0+ split the NDR's DevLoad bits
 * away from the rest of the message for 1.1 compatibility (CXL 3.1 §4.2.3.2); this model keeps
 * every message contiguous. Field order inside the 68B tables follows the tables' row order.
 */
export type WireField = readonly [name: string, width: number];
export type WireTable = readonly WireField[];

export const FlitMode = { F68: 68, F256: 256 } as const;
export type FlitMode = 68 | 256;

/** M2S Req, 68B (2.0/3.x): Addr[5] sits below Addr[51:6] (critical-chunk hint). 87 bits. */
export const M2S_REQ_68: WireTable = [
  ['Valid', 1], ['MemOpcode', 4], ['SnpType', 3], ['MetaField', 2], ['MetaValue', 2], ['Tag', 16],
  ['Addr5', 1], ['Address', 46], ['LdId', 4], ['Rsvd', 6], ['TC', 2],
];
/** M2S Req, 256B HBR: 100 bits. */
export const M2S_REQ_256: WireTable = [
  ['Valid', 1], ['MemOpcode', 4], ['SnpType', 3], ['MetaField', 2], ['MetaValue', 2], ['Tag', 16],
  ['Address', 46], ['LdId', 4], ['CKID', 13], ['Rsvd', 7], ['TC', 2],
];
/** M2S RwD header, 68B: 87 bits. */
export const M2S_RWD_68: WireTable = [
  ['Valid', 1], ['MemOpcode', 4], ['SnpType', 3], ['MetaField', 2], ['MetaValue', 2], ['Tag', 16],
  ['Address', 46], ['Poison', 1], ['LdId', 4], ['Rsvd', 6], ['TC', 2],
];
/** M2S RwD header, 256B HBR: 104 bits (TRP = a byte-enable trailer follows the data). */
export const M2S_RWD_256: WireTable = [
  ['Valid', 1], ['MemOpcode', 4], ['SnpType', 3], ['MetaField', 2], ['MetaValue', 2], ['Tag', 16],
  ['Address', 46], ['Poison', 1], ['TRP', 1], ['LdId', 4], ['CKID', 13], ['Rsvd', 9], ['TC', 2],
];
/** S2M NDR, 68B (2.0/3.x): 30 bits. */
export const S2M_NDR_68: WireTable = [
  ['Valid', 1], ['Opcode', 3], ['MetaField', 2], ['MetaValue', 2], ['Tag', 16], ['LdId', 4], ['DevLoad', 2],
];
/** S2M NDR, 256B HBR: 40 bits. */
export const S2M_NDR_256: WireTable = [
  ['Valid', 1], ['Opcode', 3], ['MetaField', 2], ['MetaValue', 2], ['Tag', 16], ['LdId', 4], ['DevLoad', 2], ['Rsvd', 10],
];
/** S2M DRS header, 68B (2.0/3.x): 40 bits. */
export const S2M_DRS_68: WireTable = [
  ['Valid', 1], ['Opcode', 3], ['MetaField', 2], ['MetaValue', 2], ['Tag', 16], ['Poison', 1], ['LdId', 4], ['DevLoad', 2], ['Rsvd', 9],
];
/** S2M DRS header, 256B HBR: 40 bits, order as CXL 3.1 Fig. 4-66. */
export const S2M_DRS_256: WireTable = [
  ['Valid', 1], ['Opcode', 3], ['MetaField', 2], ['MetaValue', 2], ['Tag', 16], ['Poison', 1], ['DevLoad', 2], ['LdId', 4], ['TRP', 1], ['Rsvd', 8],
];

/** WIRE_TABLES[mode === 256 ? 1 : 0][MsgClass]. */
export const WIRE_TABLES: readonly (readonly WireTable[])[] = [
  [M2S_REQ_68, M2S_RWD_68, S2M_NDR_68, S2M_DRS_68],
  [M2S_REQ_256, M2S_RWD_256, S2M_NDR_256, S2M_DRS_256],
];

export function wireTable(mode: FlitMode, cls: MsgClass): WireTable {
  return WIRE_TABLES[mode === 256 ? 1 : 0]![cls]!;
}

/** Total bits of a table. */
export function tableBits(t: WireTable): number {
  let n = 0;
  for (const f of t) n += f[1];
  return n;
}

// How each wire field maps onto a MemMsg channel slot. One kind per column, so encode/decode name
// the column directly (a `col[name]` lookup per field cost more than the field itself). A `const
// enum`: the TypeScript transform writes its members as literals, so the per-field switches compare
// with constants (module-level constants are loaded and type-checked at each use under V8).
const enum K {
  valid = 0, // always 1 on encode; decode ignores it (the slot parser checks it first)
  zero = 1, // reserved, TC, CKID: written 0 (not modelled), read and ignored
  addrHi = 2, // Addr[51:6] <-> addr / 64
  addr5 = 3, // Addr[5] <-> bit 5 of addr
  trp = 4, // written from the opcode (a MemWrPtl carries its byte enables in a trailer)
  // The same value in a MemMsg column:
  opcode = 5,
  snpType = 6,
  metaField = 7,
  metaValue = 8,
  tag = 9,
  ldId = 10,
  poison = 11,
  devLoad = 12,
}

const COLUMN_OF: Readonly<Record<string, MemMsgField>> = {
  MemOpcode: 'opcode', Opcode: 'opcode', SnpType: 'snpType', MetaField: 'metaField', MetaValue: 'metaValue',
  Tag: 'tag', LdId: 'ldId', Poison: 'poison', DevLoad: 'devLoad',
};
const KIND_OF_COLUMN: Readonly<Partial<Record<MemMsgField, number>>> = {
  opcode: K.opcode, snpType: K.snpType, metaField: K.metaField, metaValue: K.metaValue, tag: K.tag, ldId: K.ldId,
  poison: K.poison, devLoad: K.devLoad,
};

/** A table compiled to flat arrays so encode/decode run without allocation. */
export interface CompiledTable {
  readonly cls: MsgClass;
  readonly bits: number;
  readonly widths: Int32Array;
  readonly offsets: Int32Array;
  readonly kinds: Int32Array;
  /** 2^width of each field (what a column value wraps at). */
  readonly mods: Float64Array;
  readonly cols: readonly (MemMsgField | null)[];
  readonly names: readonly string[];
}

export function compileTable(cls: MsgClass, t: WireTable): CompiledTable {
  const n = t.length;
  const widths = new Int32Array(n);
  const offsets = new Int32Array(n);
  const kinds = new Int32Array(n);
  const mods = new Float64Array(n);
  const cols: (MemMsgField | null)[] = [];
  let off = 0;
  for (let i = 0; i < n; i++) {
    const [name, w] = t[i]!;
    widths[i] = w;
    mods[i] = POW2[w]!;
    offsets[i] = off;
    off += w;
    const col = COLUMN_OF[name] ?? null;
    cols.push(col);
    kinds[i] =
      name === 'Valid' ? K.valid
      : name === 'Address' ? K.addrHi
      : name === 'Addr5' ? K.addr5
      : name === 'TRP' ? K.trp
      : col !== null ? KIND_OF_COLUMN[col]!
      : K.zero;
  }
  return { cls, bits: off, widths, offsets, kinds, mods, cols, names: t.map((f) => f[0]) };
}

/** COMPILED[mode === 256 ? 1 : 0][MsgClass]. */
export const COMPILED: readonly (readonly CompiledTable[])[] = WIRE_TABLES.map((ts) => ts.map((t, c) => compileTable(c as MsgClass, t)));

export function compiledTable(mode: FlitMode, cls: MsgClass): CompiledTable {
  return COMPILED[mode === 256 ? 1 : 0]![cls]!;
}

/** The columns of a MemMsg channel slot (a Channel satisfies this, so does a parser's staging area). */
export interface MemMsgSlots {
  readonly col: { readonly [K in MemMsgField]: Float64Array };
  readonly bytes: Uint8Array;
}

/** 2^24, the piece size of wide fields (a const enum member: a literal in the per-field code). */
const enum Piece { two24 = 16777216 }
/** MsgClass.M2SRwD and M2SRwDOp.MemWrPtl (opcodes.ts) as literals, checked at load. */
const enum Rwd { cls = 1, memWrPtl = 0b0010 }
if (MsgClass.M2SRwD !== Rwd.cls || M2SRwDOp.MemWrPtl !== Rwd.memWrPtl || Piece.two24 !== 2 ** 24) throw new Error('MemFields: a const enum disagrees with the constant it stands for');

/** Value of field `f` of table `t` for the message in slot `slot`, before truncation to the field. */
function fieldValue(t: CompiledTable, f: number, c: MemMsgSlots['col'], slot: number): number {
  const m = t.mods[f]!;
  switch (t.kinds[f]) {
    case K.valid: return 1;
    case K.addrHi: return wrapToField(Math.floor(c.addr[slot]! / 64), m);
    case K.addr5: return bit0(Math.floor(c.addr[slot]! / 32));
    case K.trp: return t.cls === Rwd.cls && c.opcode[slot] === Rwd.memWrPtl ? 1 : 0;
    case K.opcode: return wrapToField(c.opcode[slot]!, m);
    case K.snpType: return wrapToField(c.snpType[slot]!, m);
    case K.metaField: return wrapToField(c.metaField[slot]!, m);
    case K.metaValue: return wrapToField(c.metaValue[slot]!, m);
    case K.tag: return wrapToField(c.tag[slot]!, m);
    case K.ldId: return wrapToField(c.ldId[slot]!, m);
    case K.poison: return wrapToField(c.poison[slot]!, m);
    case K.devLoad: return wrapToField(c.devLoad[slot]!, m);
    default: return 0;
  }
}

/**
 * Write one message (slot `slot` of `src`) at bit `bitPos` of `buf` from byte `byteOff`, Valid = 1.
 * Column values wider than their field are truncated to the field (the caller validates at the edge).
 *
 * The fields are contiguous and together cover the message's bits, so they are streamed LSB-first
 * through a small accumulator and stored a whole byte at a time; only the bits of the first and last
 * byte outside the message are kept, as a field-by-field setBits would.
 */
export function encodeMsg(t: CompiledTable, src: MemMsgSlots, slot: number, buf: Uint8Array, byteOff: number, bitPos: number): void {
  const c = src.col;
  const widths = t.widths;
  // `acc` holds `n` (< 8 between fields) bits not yet stored, destined for byte `i`; it starts with
  // the bits of that byte below the message.
  let i = byteOff + (bitPos >> 3);
  let n = bitPos & 7;
  let acc = buf[i]! & ((1 << n) - 1);
  for (let f = 0; f < widths.length; f++) {
    let v = fieldValue(t, f, c, slot);
    if (!(v >= 0 && Math.floor(v) === v)) {
      // A negative, fractional or NaN column value (never produced by the model): keep the exact
      // field-by-field result for it. That rewrites every bit of the message, including any
      // bytes stored above.
      encodeByField(t, src, slot, buf, byteOff, bitPos);
      return;
    }
    // 0 ≤ v < 2^width here. Pieces of ≤ 24 bits keep acc below 2^31 (n ≤ 7).
    let left = widths[f]!;
    while (left > 24) {
      const hi = Math.floor(v / Piece.two24);
      acc |= (v - hi * Piece.two24) << n;
      n += 24;
      v = hi;
      left -= 24;
      while (n >= 8) {
        buf[i++] = acc & 0xff;
        acc >>>= 8;
        n -= 8;
      }
    }
    acc |= v << n;
    n += left;
    while (n >= 8) {
      buf[i++] = acc & 0xff;
      acc >>>= 8;
      n -= 8;
    }
  }
  if (n > 0) buf[i] = (buf[i]! & (0xff << n)) | acc;
}

/** encodeMsg as a setBits per field (the reference behaviour, for values the fast path does not take). */
function encodeByField(t: CompiledTable, src: MemMsgSlots, slot: number, buf: Uint8Array, byteOff: number, bitPos: number): void {
  const c = src.col;
  for (let f = 0; f < t.widths.length; f++) setBits(buf, byteOff, bitPos + t.offsets[f]!, t.widths[f]!, fieldValue(t, f, c, slot));
}

/**
 * `x % 2` of an integer-valued double (a Math.floor result) without the floating-point remainder
 * call, which is slow, for x ≥ 0 (x / 2, its floor and the product are exact); other values take `%`.
 */
function bit0(x: number): number {
  return x >= 0 ? x - 2 * Math.floor(x / 2) : x % 2;
}

/**
 * `x % m`, without the floating-point remainder call when |x| < m (then x % m is x itself, sign and
 * -0 included; NaN takes the `%` path): almost every column value already fits its field.
 */
function wrapToField(x: number, m: number): number {
  return x < m && x > -m ? x : x % m;
}

/**
 * Read one message at bit `bitPos` into slot `slot` of `dst`. Every MemMsg column is written
 * (columns the format lacks become 0), so a reused slot never keeps stale values.
 *
 * The fields are contiguous, so they are streamed LSB-first from a small accumulator that is topped
 * up a byte at a time (only the bytes the message covers are read, as with getBits per field).
 */
export function decodeMsg(t: CompiledTable, buf: Uint8Array, byteOff: number, bitPos: number, dst: MemMsgSlots, slot: number): void {
  let opcode = 0, tag = 0, addr = 0, snpType = 0, metaField = 0, metaValue = 0, ldId = 0, poison = 0, devLoad = 0, trp = 0;
  const kinds = t.kinds;
  const widths = t.widths;
  // `acc` holds the next `n` bits of the message; pieces of ≤ 24 bits keep it below 2^31.
  let i = byteOff + (bitPos >> 3);
  let acc = buf[i++]! >>> (bitPos & 7);
  let n = 8 - (bitPos & 7);
  for (let f = 0; f < kinds.length; f++) {
    // Wide fields (the address) in 24-bit pieces, low piece first.
    let left = widths[f]!;
    let v = 0;
    let scale = 1;
    while (left > 24) {
      while (n < 24) {
        acc |= buf[i++]! << n;
        n += 8;
      }
      v += (acc & 0xffffff) * scale;
      acc >>>= 24;
      n -= 24;
      scale *= Piece.two24;
      left -= 24;
    }
    while (n < left) {
      acc |= buf[i++]! << n;
      n += 8;
    }
    v += (acc & ((1 << left) - 1)) * scale;
    acc >>>= left;
    n -= left;
    switch (kinds[f]) {
      case K.addrHi: addr += v * 64; break;
      case K.addr5: addr += v * 32; break;
      case K.trp: trp = v; break;
      case K.opcode: opcode = v; break;
      case K.snpType: snpType = v; break;
      case K.metaField: metaField = v; break;
      case K.metaValue: metaValue = v; break;
      case K.tag: tag = v; break;
      case K.ldId: ldId = v; break;
      case K.poison: poison = v; break;
      case K.devLoad: devLoad = v; break;
      default: break; // Valid (the slot parser checked it), reserved
    }
  }
  const c = dst.col;
  c.opcode[slot] = opcode; c.tag[slot] = tag; c.addr[slot] = addr; c.snpType[slot] = snpType; c.metaField[slot] = metaField;
  c.metaValue[slot] = metaValue; c.ldId[slot] = ldId; c.poison[slot] = poison; c.devLoad[slot] = devLoad; c.beLo[slot] = 0;
  c.beHi[slot] = 0; c.trp[slot] = trp; c.spid[slot] = 0; c.dpid[slot] = 0;
}

/** Valid bit (bit 0 of every message). */
export function msgValid(buf: Uint8Array, byteOff: number, bitPos: number): boolean {
  return ((buf[byteOff + (bitPos >> 3)]! >> (bitPos & 7)) & 1) === 1;
}

/** Every wire field of one message as name → value (display/JSON edge; allocates). */
export function decodeWireFields(t: CompiledTable, buf: Uint8Array, byteOff: number, bitPos: number): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (let i = 0; i < t.widths.length; i++) out.push([t.names[i]!, getBits(buf, byteOff, bitPos + t.offsets[i]!, t.widths[i]!)]);
  return out;
}
