import { wordView } from '../../src/bits/views.ts';
import { copyLine, fillLine } from '../cxl/LineWords.ts';
import type { MemMsgChannel } from '../cxl/MemMsg.ts';
import type { MemMsgSlots } from '../cxl/MemFields.ts';
import type { MsgClass } from '../cxl/opcodes.ts';

/**
 * What the 68B and 256B flit formats share: the flit channel contract, flit kinds, parser flags,
 * and the assembler/parser interfaces FlitPacker and FlitUnpacker drive.
 */

/** Every flit travels in a 256-byte channel slot (docs/contracts.md); a 68B flit uses bytes 0-67. */
export const FLIT_SLOT_BYTES = 256;
/** Fields of a flit channel slot. */
export const FLIT_FIELDS = ['kind', 'seq'] as const;

/** Flit kinds in the flit channel's `kind` column (docs/contracts.md). */
export const FlitKind = { Protocol: 0, AllData: 1, Control: 2 } as const;
export type FlitKind = (typeof FlitKind)[keyof typeof FlitKind];

/** Parser findings, OR-ed into `flags`. A flit with any flag is not a legal packing. */
export const FlitFlag = {
  /** 68B protocol ID is not CXL.cache/mem (0x5555), or 256B flit type is not cachemem. */
  ProtocolId: 1 << 0,
  /** Reserved or unsupported slot format (a cache format with content, a MAC, code 111). */
  Format: 1 << 1,
  /** More messages of a class than a flit (68B) or a 128-byte group (256B) may carry. */
  Limit: 1 << 2,
  /** A data slot where a header was due, or a header slot while data was still owed. */
  DataOrder: 1 << 3,
  /** Packing rules: empty H slot before a header, MDH misuse, >1 data message started, H-slot data header while >16 owed. */
  Packing: 1 << 4,
  /** More data owed than any legal sequence can owe (garbage); the excess was dropped. */
  Rollover: 1 << 5,
  /** An rx channel had no space: the peer sent without a credit (credit overflow). */
  RxOverflow: 1 << 6,
  /** Legal but not modelled: 32-byte transfers, EMD trailers, DRS trailers, cache credits. */
  Unsupported: 1 << 7,
} as const;

export const FLAG_NAMES: readonly string[] = ['protocol-id', 'slot-format', 'limit', 'data-order', 'packing', 'rollover', 'rx-overflow', 'unsupported'];

/** Role of a 68B flit: which direction's slot formats it uses. */
export const Role = { M2S: 0, S2M: 1 } as const;

export function roleOf(cls: MsgClass): number {
  return cls < 2 ? Role.M2S : Role.S2M;
}

/** Where a parser puts the messages it completes: a MemMsg channel (or anything shaped like one). */
export interface MsgOut extends MemMsgSlots {
  canPush(): boolean;
  push(): number;
}

/**
 * Builds one flit at a time into a caller's buffer. Reusable, allocation-free:
 * `begin(out, off)`, then `canAdd(cls)`/`add(...)` per message, then `finish(...)`.
 */
export interface FlitAssembler {
  /** Credits carried by the last finish(), per class (M2S Req, M2S RwD, S2M NDR, S2M DRS). */
  readonly sent: Int32Array;
  /** Slot formats of the last finished flit, one nibble per slot (slot 0 lowest), for waveforms. */
  lastFormats: number;
  /** Data (16-byte chunks in 68B, G-slots in 256B) owed by earlier flits. */
  readonly owed: number;
  /**
   * Direction the next flit must use because earlier flits still owe it data (68B: a flit uses one
   * direction's slot formats), or -1 when free. Always -1 in 256B, whose formats mix directions.
   */
  forcedRole(): number;
  /** True when the next flit can carry no header (68B all-data flit). */
  allDataNext(): boolean;
  begin(out: Uint8Array, off: number): void;
  /** Would one more message of `cls` fit? Passing the message lets 256B account a MemWrPtl trailer exactly. */
  canAdd(cls: MsgClass, src?: MemMsgSlots, slot?: number): boolean;
  add(cls: MsgClass, ch: MemMsgChannel | MemMsgSlots, slot: number): void;
  /** Messages added since begin(). */
  readonly count: number;
  /** Lay out and write the flit; carries credit returns up to the amounts owed. Returns the FlitKind. */
  finish(owedReq: number, owedRwD: number, owedNdr: number, owedDrs: number): FlitKind;
  /** Forget all state (reset). */
  clear(): void;
}

/** Parses flits in order; tracks data still owed by earlier flits. Never throws. */
export interface FlitParser {
  /** Credit returns found in the last parsed flit, per class. */
  readonly credits: Int32Array;
  /** FlitFlag bits of the last parsed flit. */
  flags: number;
  /** Kind of the last parsed flit. */
  kind: FlitKind;
  /** Messages completed (pushed) by the last parse. */
  pushed: number;
  readonly owed: number;
  /** Messages of each class found in the last flit (headers, whether or not their data completed). */
  readonly found: Int32Array;
  /** Analyser hook for every valid header (edge use only; null in simulation). */
  onHeader: ((cls: number, buf: Uint8Array, base: number, bit: number, slot: number) => void) | null;
  /** Port id written into every delivered message's `spid`, or undefined to keep the decoded value. */
  setPeerSpid(spid: number | undefined): void;
  parse(buf: Uint8Array, off: number, outs: readonly MsgOut[]): void;
  clear(): void;
}

/** Zero a small per-flit counter array with plain stores: a fill(0) builtin call costs more per flit. */
export function zeroInts(a: Int32Array): void {
  if (a.length === 4) {
    // The per-class counters (most callers): four stores, no loop.
    a[0] = 0; a[1] = 0; a[2] = 0; a[3] = 0;
    return;
  }
  for (let i = 0; i < a.length; i++) a[i] = 0;
}

/**
 * The word view (wordView) of whatever buffer a caller passes, remade only when the buffer changes
 * (in simulation: once, the buffers are channel slabs), or null when the buffer is not whole
 * aligned words (a test's or a tool's buffer may be anything): its users then take a byte loop.
 */
class WordView {
  private bytes: Uint8Array | null = null;
  private words: Uint32Array | null = null;

  of(buf: Uint8Array): Uint32Array | null {
    if (buf !== this.bytes) {
      this.bytes = buf;
      this.words = (buf.byteOffset & 3) === 0 && (buf.length & 3) === 0 ? wordView(buf) : null;
    }
    return this.words;
  }
}

/** A Uint16Array view of a byte buffer, remade only when the buffer changes; null on an odd byteOffset. */
class HalfView {
  private bytes: Uint8Array | null = null;
  private halves: Uint16Array | null = null;

  of(buf: Uint8Array): Uint16Array | null {
    if (buf !== this.bytes) {
      this.bytes = buf;
      this.halves = (buf.byteOffset & 1) === 0 ? new Uint16Array(buf.buffer, buf.byteOffset, buf.length >> 1) : null;
    }
    return this.halves;
  }
}

/**
 * Sizes the per-chunk and per-message copies use, as a `const enum`: the TypeScript transform writes
 * its members as literals, where a module-level constant is loaded and type-checked at each use in
 * V8's optimized code. chunkBytes: a data chunk, a 68B G0 slot or a 256B G slot. msgBytes: the data
 * bytes of a MemMsg slot (LINE_BYTES: lines of a word view are MemMsg slots).
 */
const enum Sz { chunkBytes = 16, msgBytes = 64 }

/**
 * Copies data chunks from one buffer to another two bytes at a time. 68B flit slots start 2 bytes
 * into the flit, so halfwords are the widest unit that both a flit and a line buffer share. One
 * copier per (source, destination) pair keeps its views made once; odd offsets or ranges past
 * either end take the byte loop.
 */
export class ChunkCopier {
  private readonly from = new HalfView();
  private readonly to = new HalfView();

  copy(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number, n: number): void {
    const s = this.from.of(src);
    const d = this.to.of(dst);
    if (s !== null && d !== null && ((srcOff | dstOff | n) & 1) === 0 && srcOff >= 0 && dstOff >= 0 && srcOff + n <= src.length && dstOff + n <= dst.length) {
      const s0 = srcOff >> 1;
      const d0 = dstOff >> 1;
      if (n === Sz.chunkBytes) {
        // Every chunk of both flit formats: the eight moves written out (V8 does not unroll the loop).
        d[d0] = s[s0]!; d[d0 + 1] = s[s0 + 1]!; d[d0 + 2] = s[s0 + 2]!; d[d0 + 3] = s[s0 + 3]!;
        d[d0 + 4] = s[s0 + 4]!; d[d0 + 5] = s[s0 + 5]!; d[d0 + 6] = s[s0 + 6]!; d[d0 + 7] = s[s0 + 7]!;
        return;
      }
      for (let i = 0; i < n >> 1; i++) d[d0 + i] = s[s0 + i]!;
      return;
    }
    for (let i = 0; i < n; i++) dst[dstOff + i] = src[srcOff + i]!;
  }
}

/** Zeroes flit-sized byte ranges a 32-bit word at a time; unaligned ranges take the byte loop. */
export class FlitZeroer {
  private readonly view = new WordView();

  zero(buf: Uint8Array, off: number, n: number): void {
    const w = this.view.of(buf);
    if (w !== null && (off & 3) === 0 && (n & 3) === 0 && off >= 0 && off + n <= buf.length) {
      const end = (off + n) >> 2;
      for (let i = off >> 2; i < end; i++) w[i] = 0;
      return;
    }
    for (let i = 0; i < n; i++) buf[off + i] = 0;
  }
}

/**
 * How a parser fills the rx channel slot of a completed message: every column, the 64 data bytes
 * (zero for a message without data), and, when the unpacker names the link partner
 * (setPeerSpid), `spid` = its port id. Data moves a word at a time through word views of the slabs.
 */
export class RxDelivery {
  private spidSet = false;
  private spid = 0;
  private readonly srcView = new WordView();
  /** One view per class: each class always delivers into the same rx channel. */
  private readonly outViews = [new WordView(), new WordView(), new WordView(), new WordView()];

  setPeerSpid(spid: number | undefined): void {
    this.spidSet = spid !== undefined;
    this.spid = spid ?? 0;
  }

  /** A message without data whose columns are already decoded into `out` slot `d`. */
  header(cls: number, out: MemMsgSlots, d: number): void {
    const o = d * Sz.msgBytes;
    const w = this.outViews[cls]!.of(out.bytes);
    if (w !== null && o + Sz.msgBytes <= out.bytes.length) {
      fillLine(w, d, 0);
    } else {
      for (let i = 0; i < Sz.msgBytes; i++) out.bytes[o + i] = 0;
    }
    if (this.spidSet === true) out.col.spid[d] = this.spid;
  }

  /** A data message: slot `s` of the parser's pending area into `out` slot `d`. */
  data(cls: number, src: MemMsgSlots, s: number, out: MemMsgSlots, d: number): void {
    copyMsg(src, s, out, d, 0);
    const so = s * Sz.msgBytes;
    const o = d * Sz.msgBytes;
    const sw = this.srcView.of(src.bytes);
    const w = this.outViews[cls]!.of(out.bytes);
    if (sw !== null && w !== null && so + Sz.msgBytes <= src.bytes.length && o + Sz.msgBytes <= out.bytes.length) {
      copyLine(sw, s, w, d);
    } else {
      for (let i = 0; i < Sz.msgBytes; i++) out.bytes[o + i] = src.bytes[so + i]!;
    }
    if (this.spidSet === true) out.col.spid[d] = this.spid;
  }
}

/** Copy every column of one slot between MemMsg-shaped holders, plus `nBytes` of its data. */
export function copyMsg(src: MemMsgSlots, s: number, dst: MemMsgSlots, d: number, nBytes: number): void {
  const a = src.col;
  const b = dst.col;
  b.opcode[d] = a.opcode[s]!; b.tag[d] = a.tag[s]!; b.addr[d] = a.addr[s]!; b.snpType[d] = a.snpType[s]!;
  b.metaField[d] = a.metaField[s]!; b.metaValue[d] = a.metaValue[s]!; b.ldId[d] = a.ldId[s]!; b.poison[d] = a.poison[s]!;
  b.devLoad[d] = a.devLoad[s]!; b.beLo[d] = a.beLo[s]!; b.beHi[d] = a.beHi[s]!; b.trp[d] = a.trp[s]!;
  b.spid[d] = a.spid[s]!; b.dpid[d] = a.dpid[s]!;
  const so = s * nBytes;
  const dO = d * nBytes;
  for (let i = 0; i < nBytes; i++) dst.bytes[dO + i] = src.bytes[so + i]!;
}

/** A staging area with MemMsg columns and 64 data bytes per entry (parsers hold pending messages here). */
export function memMsgSlots(n: number): MemMsgSlots {
  const mk = () => new Float64Array(n);
  return {
    col: {
      opcode: mk(), tag: mk(), addr: mk(), snpType: mk(), metaField: mk(), metaValue: mk(), ldId: mk(), poison: mk(),
      devLoad: mk(), beLo: mk(), beHi: mk(), trp: mk(), spid: mk(), dpid: mk(),
    },
    bytes: new Uint8Array(n * 64),
  };
}
