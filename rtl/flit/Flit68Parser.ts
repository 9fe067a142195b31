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

const { M2SReq, M2SRwD, S2MNDR, S2MDRS } = MsgClass;
const LINE_CHUNKS = 4;
/** Wire tables of the 68B messages, by MsgClass. */
const TABLES68 = COMPILED[0]!;
/** Data messages waiting for their chunks; a legal stream has ≤ 4 (3 DRS + one partly received). */
const PENDING = 8;

/**
 * Parses 68B flits in order (CXL 3.1 §4.2): tracks the chunks still owed by earlier flits (so it
 * knows an all-data flit, which has no header, when it sees one), completes data messages as their
 * chunks arrive and pushes every message into the output channel of its class. Checks the packing
 * rules and reports breaks as FlitFlag bits; never throws, whatever the bytes.
 */
export class Flit68Parser implements FlitParser {
  readonly credits = new Int32Array(4);
  flags = 0;
  kind: FlitKind = FlitKind.Protocol;
  pushed = 0;
  /** Messages of each class found in the last flit (headers, whether or not their data completed). */
  readonly found = new Int32Array(4);
  /**
   * Analyser hook (edge use, e.g. `cxlfab flit decode`): called for every valid header with its
   * class, the byte where its slot's message space starts, its bit offset there, and the slot.
   * Null in simulation.
   */
  onHeader: ((cls: number, buf: Uint8Array, base: number, bit: number, slot: number) => void) | null = null;

  private readonly pend: MemMsgSlots = memMsgSlots(PENDING);
  private readonly pendCls = new Int8Array(PENDING);
  private readonly pendGot = new Int8Array(PENDING);
  private readonly pendNeed = new Int8Array(PENDING);
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
    if (getProtocolId68(buf, off) !== ProtocolId.CacheMem) this.flags |= FlitFlag.ProtocolId;
    if (this.owedChunks >= LINE_CHUNKS) {
      this.kind = FlitKind.AllData;
      for (let s = 0; s < F68_SLOTS; s++) this.takeChunk(buf, off + F68_FLIT_OFF + s * F68_CHUNK_BYTES, outs);
      return;
    }
    // The 32-bit flit header, read once; fields at the HDR68_* bit positions (all within it).
    const at = off + F68_FLIT_OFF;
    const hdr = (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24)) >>> 0;
    const dir = (hdr >>> HDR68_DIR) & 1;
    const data = (hdr >>> HDR68_DATACRD) & 0xf;
    this.credits[M2SReq] = crd68Amount((hdr >>> HDR68_REQCRD) & 0xf);
    this.credits[S2MNDR] = crd68Amount((hdr >>> HDR68_RSPCRD) & 0xf);
    this.credits[dir === Role.S2M ? M2SRwD : S2MDRS] = crd68Amount(data);
    if (((hdr >>> HDR68_TYPE) & 1) === 1) {
      // Control flit: only the header credits concern the unpacker; the link layer reads the rest.
      this.kind = FlitKind.Control;
      return;
    }
    this.kind = FlitKind.Protocol;
    const be = (hdr >>> HDR68_BE) & 1;
    const sz = (hdr >>> HDR68_SZ) & 1;
    let dataMsgsStarted = 0;
    let mdhSlots = 0;
    let sawEmptyH = false;
    for (let s = 0; s < F68_SLOTS; s++) {
      const fmt = (hdr >>> HDR68_SLOT_FMT[s]!) & 7;
      const base = off + F68_FLIT_OFF + (slotBit68(s) >> 3);
      const isG = s > 0;
      if (isG && this.owedChunks > 0) {
        if (fmt !== G0) this.flags |= FlitFlag.DataOrder;
        this.takeChunk(buf, base, outs);
        continue;
      }
      if (fmt === FMT68_RSVD) {
        this.flags |= FlitFlag.Format;
        continue;
      }
      if (isG && fmt === G0) {
        this.flags |= FlitFlag.DataOrder; // a data chunk nobody owes
        continue;
      }
      const p0 = POS68_START[pos68Index(dir, isG, fmt)]!;
      const p1 = POS68_START[pos68Index(dir, isG, fmt) + 1]!;
      if (p0 === p1) {
        // A format without CXL.mem messages (isForeign68: neither reserved nor G0, checked above).
        if (!bitsAreZero(buf, base, 0, isG ? G68_BITS : H68_BITS)) this.flags |= FlitFlag.Format;
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
        if (cls === M2SRwD || cls === S2MDRS) {
          if (cls === S2MDRS) drsInSlot++;
          if (drsInSlot <= 1) dataMsgsStarted++;
          this.startData(cls, buf, base, bit, be, sz);
        } else {
          this.deliverHeader(cls, buf, base, bit, outs);
        }
      }
      if (isMdh68(dir, isG, fmt) && drsInSlot > 0) {
        mdhSlots++;
        if (drsInSlot < 2) this.flags |= FlitFlag.Packing; // MDH only with more than one header
      }
      if (!isG && inSlot === 0) sawEmptyH = true;
      if (isG && inSlot > 0 && sawEmptyH) this.flags |= FlitFlag.Packing; // not tightly packed
    }
    for (let c = 0; c < 4; c++) if (this.found[c]! > F68_LIMITS[c]!) this.flags |= FlitFlag.Limit;
    if (dataMsgsStarted > 1 || (mdhSlots > 0 && dataMsgsStarted > 1)) this.flags |= FlitFlag.Packing;
  }

  /** A data header: hold it until its 4 chunks (5 with the MemWrPtl byte-enable slot) have arrived. */
  private startData(cls: MsgClass, buf: Uint8Array, base: number, bit: number, be: number, sz: number): void {
    if (sz === 0) this.flags |= FlitFlag.Unsupported; // 32B transfers are not modelled; read as 64B
    if (this.pendCount >= PENDING) {
      this.flags |= FlitFlag.Rollover;
      return;
    }
    // pendHead < PENDING and pendCount < PENDING here: one compare replaces %.
    const t = this.pendHead + this.pendCount;
    const i = t < PENDING ? t : t - PENDING;
    decodeMsg(TABLES68[cls]!, buf, base, bit, this.pend, i);
    const ptl = cls === M2SRwD && this.pend.col.opcode[i] === M2SRwDOp.MemWrPtl;
    if (ptl && be === 0) this.flags |= FlitFlag.Packing; // a partial write needs its BE slot
    const need = LINE_CHUNKS + (ptl && be === 1 ? 1 : 0);
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
    if (k < LINE_CHUNKS) {
      this.intoPending.copy(buf, at, this.pend.bytes, i * 64 + k * F68_CHUNK_BYTES, F68_CHUNK_BYTES);
    } else {
      c.beLo[i] = getBits(buf, at, 0, 32);
      c.beHi[i] = getBits(buf, at, 32, 32);
      if (!bitsAreZero(buf, at, 64, 64)) this.flags |= FlitFlag.Format;
    }
    this.pendGot[i] = k + 1;
    this.owedChunks--;
    if (k + 1 === this.pendNeed[i]) {
      this.pendHead = i + 1 < PENDING ? i + 1 : 0;
      this.pendCount--;
      this.deliver(this.pendCls[i]! as MsgClass, this.pend, i, outs);
    }
  }

  /** A message without data (Req, NDR): decoded straight into its rx channel slot. */
  private deliverHeader(cls: MsgClass, buf: Uint8Array, base: number, bit: number, outs: readonly MsgOut[]): void {
    const out = outs[cls]!;
    if (!out.canPush()) {
      this.flags |= FlitFlag.RxOverflow;
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
      this.flags |= FlitFlag.RxOverflow;
      return;
    }
    this.delivery.data(cls, src, i, out, out.push());
    this.pushed++;
  }
}
