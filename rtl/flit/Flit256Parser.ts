import { bitsAreZero, getBits } from '../../src/bits/bitfield.ts';
import { COMPILED, decodeMsg, type MemMsgSlots, msgValid } from '../cxl/MemFields.ts';
import { M2SRwDOp, MsgClass } from '../cxl/opcodes.ts';
import { CRD256_EMPTY, CRD256_MEM_DOWN, CRD256_MEM_UP, crd256Amount, crd256IsForeign } from '../link/Credits.ts';
import {
  CAP_G256, CAP_H256, classOfFmt256, CrdField, F256_GROUP_LIMITS, F256_SLOTS, FLIT_TYPE_CACHEMEM, G256_MSG_BITS,
  getCrd256, getFlitType256, getSlotFmt256, group256, H_SLOT_MAX_OWED, H256_MSG_BITS, MSG_BITS256, SLOTFMT256_LLCTRL, SLOTFMT_BITS, slotByte256,
} from './Flit256.ts';
import { ChunkCopier, FlitFlag, FlitKind, type FlitParser, memMsgSlots, type MsgOut, RxDelivery, zeroInts } from './FlitFormat.ts';

const { M2SReq, M2SRwD, S2MNDR, S2MDRS } = MsgClass;
const LINE_SLOTS = 4;
/** Wire tables of the 256B messages, by MsgClass. */
const TABLES256 = COMPILED[1]!;
const G_BYTES = 16;
/** A legal stream owes at most ~36 data slots (CXL 3.1 §4.3.4): 12 messages; 24 leaves margin. */
const PENDING = 24;

/**
 * Parses 256B flits in order (CXL 3.1 §4.3): slots with a SlotFmt hold headers; data and trailer
 * slots have none and are known from earlier headers, so the parser tracks the data still owed
 * across flits. Checks group limits, the H-slot ≤16-owed rule, and reports breaks as FlitFlag bits.
 * Never throws, whatever the bytes.
 */
export class Flit256Parser implements FlitParser {
  readonly credits = new Int32Array(4);
  flags = 0;
  kind: FlitKind = FlitKind.Protocol;
  pushed = 0;
  readonly found = new Int32Array(4);
  /**
   * Analyser hook (edge use, e.g. `cxlfab flit decode`): called for every valid header with its
   * class, the byte where its slot's message space starts, its bit offset there, and the slot.
   * Null in simulation.
   */
  onHeader: ((cls: number, buf: Uint8Array, base: number, bit: number, slot: number) => void) | null = null;
  /** True when the last flit was an Empty flit (CRD[4:0] = 01h). */
  empty = false;

  private readonly pend: MemMsgSlots = memMsgSlots(PENDING);
  private readonly pendCls = new Int8Array(PENDING);
  private readonly pendGot = new Int8Array(PENDING);
  private readonly pendNeed = new Int8Array(PENDING);
  private pendHead = 0;
  private pendCount = 0;
  private owedSlots = 0;
  private readonly prevD = new Int32Array(4);
  private readonly grp = new Int32Array(16);
  private readonly delivery = new RxDelivery();
  private readonly intoPending = new ChunkCopier();

  setPeerSpid(spid: number | undefined): void {
    this.delivery.setPeerSpid(spid);
  }

  get owed(): number {
    return this.owedSlots;
  }

  clear(): void {
    this.pendHead = 0;
    this.pendCount = 0;
    this.owedSlots = 0;
    this.prevD.fill(0);
    this.flags = 0;
    this.pushed = 0;
    this.credits.fill(0);
  }

  parse(buf: Uint8Array, off: number, outs: readonly MsgOut[]): void {
    this.flags = 0;
    this.pushed = 0;
    zeroInts(this.credits);
    zeroInts(this.found);
    zeroInts(this.grp);
    this.empty = false;
    this.kind = FlitKind.Protocol;
    if (getFlitType256(buf, off) !== FLIT_TYPE_CACHEMEM) this.flags |= FlitFlag.ProtocolId;
    const rq = getCrd256(buf, off, CrdField.Req);
    const dt = getCrd256(buf, off, CrdField.Data);
    const rs = getCrd256(buf, off, CrdField.Rsp);
    if (rq === CRD256_EMPTY) {
      this.empty = true;
      return;
    }
    this.credits[M2SReq] = crd256Amount(rq, CRD256_MEM_DOWN);
    this.credits[M2SRwD] = crd256Amount(dt, CRD256_MEM_DOWN);
    this.credits[S2MDRS] = crd256Amount(dt, CRD256_MEM_UP);
    this.credits[S2MNDR] = crd256Amount(rs, CRD256_MEM_UP);
    // BISnp (request field, upstream codes) and BIRsp (response field, downstream codes) are not modelled.
    if (crd256IsForeign(rq) || crd256IsForeign(dt) || crd256IsForeign(rs) || crd256Amount(rq, CRD256_MEM_UP) > 0 || crd256Amount(rs, CRD256_MEM_DOWN) > 0) {
      this.flags |= FlitFlag.Unsupported;
    }
    const owedIn = this.owedSlots;
    let sawEmpty = false;
    for (let s = 0; s < F256_SLOTS; s++) {
      const base = off + slotByte256(s);
      if (s > 0 && this.owedSlots > 0) {
        this.takeSlot(buf, base, outs);
        continue;
      }
      const fmt = getSlotFmt256(buf, base);
      if (s === 0 && fmt === SLOTFMT256_LLCTRL) {
        // H8 link-layer control message: later slots are reserved; the link layer reads it.
        this.kind = FlitKind.Control;
        break;
      }
      const c = classOfFmt256(fmt);
      const msgBits = s === 0 ? H256_MSG_BITS : G256_MSG_BITS;
      if (c < 0) {
        if (!bitsAreZero(buf, base, SLOTFMT_BITS, msgBits)) this.flags |= FlitFlag.Format;
        sawEmpty = true;
        continue;
      }
      const cap = s === 0 ? CAP_H256[c]! : CAP_G256[c]!;
      const g = group256(s);
      let inSlot = 0;
      for (let k = 0; k < cap; k++) {
        const bit = SLOTFMT_BITS + k * MSG_BITS256[c]!;
        if (!msgValid(buf, base, bit)) continue;
        inSlot++;
        this.found[c]!++;
        if (this.onHeader !== null) this.onHeader(c, buf, base, bit, s);
        this.grp[g * 4 + c]!++;
        if (c === M2SRwD || c === S2MDRS) {
          if (s === 0 && owedIn > H_SLOT_MAX_OWED) this.flags |= FlitFlag.Packing;
          this.startData(c, buf, base, bit);
        } else {
          this.deliverHeader(c, buf, base, bit, outs);
        }
      }
      if (inSlot === 0) sawEmpty = true;
      else if (sawEmpty && s > 0 && group256(s) === 0) this.flags |= FlitFlag.Packing; // not tight within group A
    }
    for (let g = 0; g < 4; g++) {
      for (let c = 0; c < 4; c++) {
        const before = g === 0 ? this.prevD[c]! : this.grp[(g - 1) * 4 + c]!;
        if (before + this.grp[g * 4 + c]! > F256_GROUP_LIMITS[c]!) this.flags |= FlitFlag.Limit;
      }
    }
    for (let c = 0; c < 4; c++) this.prevD[c] = this.grp[12 + c]!;
  }

  private startData(c: number, buf: Uint8Array, base: number, bit: number): void {
    if (this.pendCount >= PENDING) {
      this.flags |= FlitFlag.Rollover;
      return;
    }
    // pendHead < PENDING and pendCount < PENDING here: one compare replaces %.
    const t = this.pendHead + this.pendCount;
    const i = t < PENDING ? t : t - PENDING;
    decodeMsg(TABLES256[c]!, buf, base, bit, this.pend, i);
    const trp = this.pend.col.trp[i]!;
    let need = LINE_SLOTS;
    if (trp === 1) {
      if (c === M2SRwD) need++;
      // EMD trailers (MemWr with TRP, DRS trailers) are not modelled.
      if (c !== M2SRwD || this.pend.col.opcode[i] !== M2SRwDOp.MemWrPtl) this.flags |= FlitFlag.Unsupported;
    } else if (c === M2SRwD && this.pend.col.opcode[i] === M2SRwDOp.MemWrPtl) {
      this.flags |= FlitFlag.Packing; // a partial write needs its byte-enable trailer
    }
    this.pendCls[i] = c;
    this.pendGot[i] = 0;
    this.pendNeed[i] = need;
    this.pendCount++;
    this.owedSlots += need;
  }

  private takeSlot(buf: Uint8Array, at: number, outs: readonly MsgOut[]): void {
    if (this.pendCount === 0) {
      this.owedSlots = 0;
      return;
    }
    const i = this.pendHead;
    const k = this.pendGot[i]!;
    if (k < LINE_SLOTS) {
      this.intoPending.copy(buf, at, this.pend.bytes, i * 64 + k * G_BYTES, G_BYTES);
    } else {
      this.pend.col.beLo[i] = getBits(buf, at, 0, 32);
      this.pend.col.beHi[i] = getBits(buf, at, 32, 32);
    }
    this.pendGot[i] = k + 1;
    this.owedSlots--;
    if (k + 1 === this.pendNeed[i]) {
      this.pendHead = i + 1 < PENDING ? i + 1 : 0;
      this.pendCount--;
      this.deliver(this.pendCls[i]!, this.pend, i, outs);
    }
  }

  /** A message without data (Req, NDR): decoded straight into its rx channel slot. */
  private deliverHeader(c: number, buf: Uint8Array, base: number, bit: number, outs: readonly MsgOut[]): void {
    const out = outs[c]!;
    if (!out.canPush()) {
      this.flags |= FlitFlag.RxOverflow;
      return;
    }
    const d = out.push();
    decodeMsg(TABLES256[c]!, buf, base, bit, out, d);
    this.delivery.header(c, out, d);
    this.pushed++;
  }

  /** A data message whose last slot arrived: from the pending area into its rx channel. */
  private deliver(c: number, src: MemMsgSlots, i: number, outs: readonly MsgOut[]): void {
    const out = outs[c]!;
    if (!out.canPush()) {
      this.flags |= FlitFlag.RxOverflow;
      return;
    }
    this.delivery.data(c, src, i, out, out.push());
    this.pushed++;
  }
}
