import { getBits } from '../../src/bits/bitfield.ts';
import { COMPILED, decodeMsg, type MemMsgSlots, msgValid } from '../cxl/MemFields.ts';
import { M2SRwDOp, MsgClass } from '../cxl/opcodes.ts';
import { crd68Amount } from '../link/Credits.ts';
import {
  F68_CHUNK_BYTES, F68_FLIT_OFF, F68_LIMITS, F68_SLOTS, FMT68_RSVD, G0, G68_BITS, H68_BITS, HDR68_BE, HDR68_DATACRD,
  HDR68_DIR, HDR68_REQCRD, HDR68_RSPCRD, HDR68_SLOT_FMT, HDR68_SZ, HDR68_TYPE, getProtocolId68, ProtocolId, slotBit68,
} from './Flit68.ts';
import { isMdh68, POS68_FLAT, POS68_START, pos68Index } from './Flit68Slots.ts';
import { ChunkCopier, FlitFlag, FlitKind, type FlitParser, memMsgSlots, type MsgOut, Role, RxDelivery, zeroInts } from './FlitFormat.ts';
import { bitsAreZero } from '../../src/bits/bitfield.ts';

/** Wire tables of the 68B messages, by MsgClass. */
const TABLES68 = COMPILED[0]!;

/**
 * The per-flit code's numbers as `const enum`s: the TypeScript transform writes their members as
 * literals, where a module-level constant or another file's enum object is loaded and type-checked
 * at each use in V8's optimized code. Mirrors of other files' constants are checked at load.
 */
const enum P68 {
  lineChunks = 4,
  /** Data messages waiting for their chunks; a legal stream has ≤ 4 (3 DRS + one partly received). */
  pending = 8,
  // Flit68.ts: layout, header bit positions (slot s format at hdrSlotFmt0 + 3 s), slot formats.
  slots = 4,
  flitOff = 2,
  chunkBytes = 16,
  hBits = 96,
  gBits = 128,
  g0 = 0,
  fmtRsvd = 7,
  hdrType = 0,
  hdrBe = 3,
  hdrSz = 4,
  hdrSlotFmt0 = 5,
  hdrDir = 17,
  hdrRspCrd = 20,
  hdrReqCrd = 24,
  hdrDataCrd = 28,
  pidCacheMem = 0x5555,
  // FlitFormat.ts Role.S2M, opcodes.ts M2SRwDOp.MemWrPtl
  roleS2M = 1,
  memWrPtl = 0b0010,
}
/** Mirrors of MsgClass (opcodes.ts), FlitFlag and FlitKind (FlitFormat.ts). */
const enum Cls { M2SReq = 0, M2SRwD = 1, S2MNDR = 2, S2MDRS = 3 }
const enum Flag { ProtocolId = 1, Format = 2, Limit = 4, DataOrder = 8, Packing = 16, Rollover = 32, RxOverflow = 64, Unsupported = 128 }
const enum Kind { Protocol = 0, AllData = 1, Control = 2 }
if (
  F68_SLOTS !== P68.slots || F68_FLIT_OFF !== P68.flitOff || F68_CHUNK_BYTES !== P68.chunkBytes || H68_BITS !== P68.hBits || G68_BITS !== P68.gBits ||
  G0 !== P68.g0 || FMT68_RSVD !== P68.fmtRsvd || HDR68_TYPE !== P68.hdrType || HDR68_BE !== P68.hdrBe || HDR68_SZ !== P68.hdrSz ||
  HDR68_SLOT_FMT.some((b, s) => b !== P68.hdrSlotFmt0 + 3 * s) || HDR68_SLOT_FMT.length !== P68.slots ||
  HDR68_DIR !== P68.hdrDir || HDR68_RSPCRD !== P68.hdrRspCrd || HDR68_REQCRD !== P68.hdrReqCrd || HDR68_DATACRD !== P68.hdrDataCrd ||
  ProtocolId.CacheMem !== P68.pidCacheMem || Role.S2M !== P68.roleS2M || M2SRwDOp.MemWrPtl !== P68.memWrPtl ||
  MsgClass.M2SReq !== Cls.M2SReq || MsgClass.M2SRwD !== Cls.M2SRwD || MsgClass.S2MNDR !== Cls.S2MNDR || MsgClass.S2MDRS !== Cls.S2MDRS ||
  FlitFlag.ProtocolId !== Flag.ProtocolId || FlitFlag.Format !== Flag.Format || FlitFlag.Limit !== Flag.Limit || FlitFlag.DataOrder !== Flag.DataOrder ||
  FlitFlag.Packing !== Flag.Packing || FlitFlag.Rollover !== Flag.Rollover || FlitFlag.RxOverflow !== Flag.RxOverflow || FlitFlag.Unsupported !== Flag.Unsupported ||
  FlitKind.Protocol !== Kind.Protocol || FlitKind.AllData !== Kind.AllData || FlitKind.Control !== Kind.Control
) {
  throw new Error('Flit68Parser: a const enum mirror disagrees with the constant it mirrors');
}

/**
 * Parses 68B flits in order (CXL 3.1 §4.2): tracks the chunks still owed by earlier flits (so it
 * knows an all-data flit, which has no header, when it sees one), completes data messages as their
 * chunks arrive and pushes every message into the output channel of its class. Checks the packing
 * rules and reports breaks as FlitFlag bits; never throws, whatever the bytes.
 */
export class Flit68Parser implements FlitParser {
  readonly credits = new Int32Array(4);
  flags = 0;
  kind: FlitKind = Kind.Protocol;
  pushed = 0;
  /** Messages of each class found in the last flit (headers, whether or not their data completed). */
  readonly found = new Int32Array(4);
  /**
   * Analyser hook (edge use, e.g. `cxlfab flit decode`): called for every valid header with its
   * class, the byte where its slot's message space starts, its bit offset there, and the slot.
   * Null in simulation.
   */
  onHeader: ((cls: number, buf: Uint8Array, base: number, bit: number, slot: number) => void) | null = null;

  private readonly pend: MemMsgSlots = memMsgSlots(P68.pending);
  private readonly pendCls = new Int8Array(P68.pending);
  private readonly pendGot = new Int8Array(P68.pending);
  private readonly pendNeed = new Int8Array(P68.pending);
  private pendHead = 0;
  private pendCount = 0;
  private owedChunks = 0;
  private readonly delivery = new RxDelivery();
  private readonly intoPending = new ChunkCopier();

  setPeerSpid(spid: number | undefined): void {
    this.delivery.setPeerSpid(spid);
  }

  get owed(): number {
    return this.owedChunks;
  }

  clear(): void {
    this.pendHead = 0;
    this.pendCount = 0;
    this.owedChunks = 0;
    this.flags = 0;
    this.pushed = 0;
    this.credits.fill(0);
  }

  parse(buf: Uint8Array, off: number, outs: readonly MsgOut[]): void {
    this.flags = 0;
    this.pushed = 0;
    zeroInts(this.credits);
    zeroInts(this.found);
    if (getProtocolId68(buf, off) !== P68.pidCacheMem) this.flags |= Flag.ProtocolId;
    if (this.owedChunks >= P68.lineChunks) {
      this.kind = Kind.AllData;
      for (let s = 0; s < P68.slots; s++) this.takeChunk(buf, off + P68.flitOff + s * P68.chunkBytes, outs);
      return;
    }
    // The 32-bit flit header, read once; fields at the HDR68_* bit positions (all within it).
    const at = off + P68.flitOff;
    const hdr = (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24)) >>> 0;
    const dir = (hdr >>> P68.hdrDir) & 1;
    const data = (hdr >>> P68.hdrDataCrd) & 0xf;
    this.credits[Cls.M2SReq] = crd68Amount((hdr >>> P68.hdrReqCrd) & 0xf);
    this.credits[Cls.S2MNDR] = crd68Amount((hdr >>> P68.hdrRspCrd) & 0xf);
    this.credits[dir === P68.roleS2M ? Cls.M2SRwD : Cls.S2MDRS] = crd68Amount(data);
    if (((hdr >>> P68.hdrType) & 1) === 1) {
      // Control flit: only the header credits concern the unpacker; the link layer reads the rest.
      this.kind = Kind.Control;
      return;
    }
    this.kind = Kind.Protocol;
    const be = (hdr >>> P68.hdrBe) & 1;
    const sz = (hdr >>> P68.hdrSz) & 1;
    let dataMsgsStarted = 0;
    let mdhSlots = 0;
    let sawEmptyH = false;
    for (let s = 0; s < P68.slots; s++) {
      const fmt = (hdr >>> (P68.hdrSlotFmt0 + 3 * s)) & 7;
      const base = off + P68.flitOff + (slotBit68(s) >> 3);
      const isG = s > 0;
      if (isG && this.owedChunks > 0) {
        if (fmt !== P68.g0) this.flags |= Flag.DataOrder;
        this.takeChunk(buf, base, outs);
        continue;
      }
      if (fmt === P68.fmtRsvd) {
        this.flags |= Flag.Format;
        continue;
      }
      if (isG && fmt === P68.g0) {
        this.flags |= Flag.DataOrder; // a data chunk nobody owes
        continue;
      }
      const p0 = POS68_START[pos68Index(dir, isG, fmt)]!;
      const p1 = POS68_START[pos68Index(dir, isG, fmt) + 1]!;
      if (p0 === p1) {
        // A format without CXL.mem messages (isForeign68: neither reserved nor G0, checked above).
        if (!bitsAreZero(buf, base, 0, isG ? P68.gBits : P68.hBits)) this.flags |= Flag.Format;
        if (!isG) sawEmptyH = true;
        continue;
      }
      let inSlot = 0;
      let drsInSlot = 0;
      for (let p = p0; p < p1; p += 2) {
        const cls = POS68_FLAT[p]! as MsgClass;
        const bit = POS68_FLAT[p + 1]!;
        if (!msgValid(buf, base, bit)) continue;
        inSlot++;
        this.found[cls]!++;
        if (this.onHeader !== null) this.onHeader(cls, buf, base, bit, s);
        if (cls === Cls.M2SRwD || cls === Cls.S2MDRS) {
          if (cls === Cls.S2MDRS) drsInSlot++;
          if (drsInSlot <= 1) dataMsgsStarted++;
          this.startData(cls, buf, base, bit, be, sz);
        } else {
          this.deliverHeader(cls, buf, base, bit, outs);
        }
      }
      if (isMdh68(dir, isG, fmt) && drsInSlot > 0) {
        mdhSlots++;
        if (drsInSlot < 2) this.flags |= Flag.Packing; // MDH only with more than one header
      }
      if (!isG && inSlot === 0) sawEmptyH = true;
      if (isG && inSlot > 0 && sawEmptyH) this.flags |= Flag.Packing; // not tightly packed
    }
    for (let c = 0; c < 4; c++) if (this.found[c]! > F68_LIMITS[c]!) this.flags |= Flag.Limit;
    if (dataMsgsStarted > 1 || (mdhSlots > 0 && dataMsgsStarted > 1)) this.flags |= Flag.Packing;
  }

  /** A data header: hold it until its 4 chunks (5 with the MemWrPtl byte-enable slot) have arrived. */
  private startData(cls: MsgClass, buf: Uint8Array, base: number, bit: number, be: number, sz: number): void {
    if (sz === 0) this.flags |= Flag.Unsupported; // 32B transfers are not modelled; read as 64B
    if (this.pendCount >= P68.pending) {
      this.flags |= Flag.Rollover;
      return;
    }
    // pendHead < P68.pending and pendCount < P68.pending here: one compare replaces %.
    const t = this.pendHead + this.pendCount;
    const i = t < P68.pending ? t : t - P68.pending;
    decodeMsg(TABLES68[cls]!, buf, base, bit, this.pend, i);
    const ptl = cls === Cls.M2SRwD && this.pend.col.opcode[i] === P68.memWrPtl;
    if (ptl && be === 0) this.flags |= Flag.Packing; // a partial write needs its BE slot
    const need = P68.lineChunks + (ptl && be === 1 ? 1 : 0);
    this.pendCls[i] = cls;
    this.pendGot[i] = 0;
    this.pendNeed[i] = need;
    this.pendCount++;
    this.owedChunks += need;
  }

  private takeChunk(buf: Uint8Array, at: number, outs: readonly MsgOut[]): void {
    if (this.pendCount === 0) {
      this.owedChunks = 0;
      return;
    }
    const i = this.pendHead;
    const k = this.pendGot[i]!;
    const c = this.pend.col;
    if (k < P68.lineChunks) {
      this.intoPending.copy(buf, at, this.pend.bytes, i * 64 + k * P68.chunkBytes, P68.chunkBytes);
    } else {
      c.beLo[i] = getBits(buf, at, 0, 32);
      c.beHi[i] = getBits(buf, at, 32, 32);
      if (!bitsAreZero(buf, at, 64, 64)) this.flags |= Flag.Format;
    }
    this.pendGot[i] = k + 1;
    this.owedChunks--;
    if (k + 1 === this.pendNeed[i]) {
      this.pendHead = i + 1 < P68.pending ? i + 1 : 0;
      this.pendCount--;
      this.deliver(this.pendCls[i]! as MsgClass, this.pend, i, outs);
    }
  }

  /** A message without data (Req, NDR): decoded straight into its rx channel slot. */
  private deliverHeader(cls: MsgClass, buf: Uint8Array, base: number, bit: number, outs: readonly MsgOut[]): void {
    const out = outs[cls]!;
    if (!out.canPush()) {
      this.flags |= Flag.RxOverflow;
      return;
    }
    const d = out.push();
    decodeMsg(TABLES68[cls]!, buf, base, bit, out, d);
    this.delivery.header(cls, out, d);
    this.pushed++;
  }

  /** A data message whose last chunk arrived: from the pending area into its rx channel. */
  private deliver(cls: MsgClass, src: MemMsgSlots, i: number, outs: readonly MsgOut[]): void {
    const out = outs[cls]!;
    if (!out.canPush()) {
      this.flags |= Flag.RxOverflow;
      return;
    }
    this.delivery.data(cls, src, i, out, out.push());
    this.pushed++;
  }
}
