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

// How each wire field maps onto a MemMsg channel slot.
const K_VALID = 0; // always 1 on encode; decode ignores it (the slot parser checks it first)
const K_COL = 1; // a MemMsg column, same value
const K_ADDR_HI = 2; // Addr[51:6] <-> addr / 64
const K_ADDR5 = 3; // Addr[5] <-> bit 5 of addr
const K_ZERO = 4; // reserved, TC, CKID: written 0 (not modelled), read and ignored
const K_TRP = 5; // written from the opcode (a MemWrPtl carries its byte enables in a trailer)

const COLUMN_OF: Readonly<Record<string, MemMsgField>> = {
  MemOpcode: 'opcode', Opcode: 'opcode', SnpType: 'snpType', MetaField: 'metaField', MetaValue: 'metaValue',
  Tag: 'tag', LdId: 'ldId', Poison: 'poison', DevLoad: 'devLoad',
};

/** A table compiled to flat arrays so encode/decode run without allocation. */
export interface CompiledTable {
  readonly cls: MsgClass;
  readonly bits: number;
  readonly widths: Int32Array;
  readonly offsets: Int32Array;
  readonly kinds: Int32Array;
  readonly cols: readonly (MemMsgField | null)[];
  readonly names: readonly string[];
}

export function compileTable(cls: MsgClass, t: WireTable): CompiledTable {
  const n = t.length;
  const widths = new Int32Array(n);
  const offsets = new Int32Array(n);
  const kinds = new Int32Array(n);
  const cols: (MemMsgField | null)[] = [];
  let off = 0;
  for (let i = 0; i < n; i++) {
    const [name, w] = t[i]!;
    widths[i] = w;
    offsets[i] = off;
    off += w;
    const col = COLUMN_OF[name] ?? null;
    cols.push(col);
    kinds[i] =
      name === 'Valid' ? K_VALID
      : name === 'Address' ? K_ADDR_HI
      : name === 'Addr5' ? K_ADDR5
      : name === 'TRP' ? K_TRP
      : col !== null ? K_COL
      : K_ZERO;
  }
  return { cls, bits: off, widths, offsets, kinds, cols, names: t.map((f) => f[0]) };
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

/**
 * Write one message (slot `slot` of `src`) at bit `bitPos` of `buf` from byte `byteOff`, Valid = 1.
 * Column values wider than their field are truncated to the field (the caller validates at the edge).
 */
export function encodeMsg(t: CompiledTable, src: MemMsgSlots, slot: number, buf: Uint8Array, byteOff: number, bitPos: number): void {
  const c = src.col;
  for (let i = 0; i < t.widths.length; i++) {
    const w = t.widths[i]!;
    const p = bitPos + t.offsets[i]!;
    let v = 0;
    switch (t.kinds[i]) {
      case K_VALID: v = 1; break;
      case K_COL: v = wrapToField(c[t.cols[i]!][slot]!, POW2[w]!); break;
      case K_ADDR_HI: v = wrapToField(Math.floor(c.addr[slot]! / 64), POW2[w]!); break;
      case K_ADDR5: v = Math.floor(c.addr[slot]! / 32) % 2; break;
      case K_TRP: v = t.cls === MsgClass.M2SRwD && c.opcode[slot] === M2SRwDOp.MemWrPtl ? 1 : 0; break;
      default: v = 0;
    }
    setBits(buf, byteOff, p, w, v);
  }
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
 */
export function decodeMsg(t: CompiledTable, buf: Uint8Array, byteOff: number, bitPos: number, dst: MemMsgSlots, slot: number): void {
  const c = dst.col;
  c.opcode[slot] = 0; c.tag[slot] = 0; c.addr[slot] = 0; c.snpType[slot] = 0; c.metaField[slot] = 0;
  c.metaValue[slot] = 0; c.ldId[slot] = 0; c.poison[slot] = 0; c.devLoad[slot] = 0; c.beLo[slot] = 0;
  c.beHi[slot] = 0; c.trp[slot] = 0; c.spid[slot] = 0; c.dpid[slot] = 0;
  let addr = 0;
  for (let i = 0; i < t.widths.length; i++) {
    const k = t.kinds[i]!;
    if (k === K_VALID || k === K_ZERO) continue;
    const v = getBits(buf, byteOff, bitPos + t.offsets[i]!, t.widths[i]!);
    if (k === K_COL) c[t.cols[i]!][slot] = v;
    else if (k === K_ADDR_HI) addr += v * 64;
    else if (k === K_ADDR5) addr += v * 32;
    else c.trp[slot] = v;
  }
  c.addr[slot] = addr;
}

/** Valid bit (bit 0 of every message). */
export function msgValid(buf: Uint8Array, byteOff: number, bitPos: number): boolean {
  return getBits(buf, byteOff, bitPos, 1) === 1;
}

/** Every wire field of one message as name → value (display/JSON edge; allocates). */
export function decodeWireFields(t: CompiledTable, buf: Uint8Array, byteOff: number, bitPos: number): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (let i = 0; i < t.widths.length; i++) out.push([t.names[i]!, getBits(buf, byteOff, bitPos + t.offsets[i]!, t.widths[i]!)]);
  return out;
}
