import { setBits, zeroBytes } from '../../src/bits/bitfield.ts';
import { COMPILED, encodeMsg, type MemMsgSlots } from '../cxl/MemFields.ts';
import { M2SRwDOp, MsgClass } from '../cxl/opcodes.ts';
import { crd68Amount, crd68Nibble } from '../link/Credits.ts';
import {
  F68_BYTES, F68_CHUNK_BYTES, F68_FLIT_OFF, F68_LIMITS, F68_SLOTS, HDR68_BE, HDR68_DATACRD, HDR68_DIR, HDR68_REQCRD,
  HDR68_RSPCRD, HDR68_SLOT_FMT, HDR68_SZ, ProtocolId, setHdr68Fields, setProtocolId68,
} from './Flit68.ts';
import { Flit68Layout, PLAN68_MAX_DATA, PLAN68_MAX_MSGS } from './Flit68Layout.ts';
import { ChunkCopier, type FlitAssembler, FlitKind, FlitZeroer, Role, roleOf, zeroInts } from './FlitFormat.ts';

/** Wire tables of the 68B messages, by MsgClass. */
const TABLES68 = COMPILED[0]!;

/**
 * The per-flit code's numbers as `const enum`s: the TypeScript transform writes their members as
 * literals, where a module-level constant or another file's enum object is loaded and type-checked
 * at each use in V8's optimized code. Mirrors of other files' constants are checked at load.
 */
const enum A68 {
  /** Chunks of one 64-byte line. */
  lineChunks = 4,
  /** Upper bound on messages in one flit: 2 Req + 1 RwD or 2 NDR + 3 DRS. */
  maxAdds = 8,
  /** Rollover ring: ≤3 owed + 3 DRS × 4 chunks, or 1 RwD × 5 chunks; 32 leaves margin. */
  ringChunks = 32,
  // Flit68.ts: layout and header bit positions.
  bytes = 68,
  slots = 4,
  flitOff = 2,
  chunkBytes = 16,
  hdrBe = 3,
  hdrSz = 4,
  hdrDir = 17,
  hdrRspCrd = 20,
  hdrReqCrd = 24,
  hdrDataCrd = 28,
  /** Header bits a protocol flit writes: BE, Sz, the 4 slot formats, direction, the 3 credit nibbles (as an int32). */
  protocolFields = -786440,
  pidCacheMem = 0x5555,
  // opcodes.ts M2SRwDOp.MemWrPtl
  memWrPtl = 0b0010,
}
/** Mirrors of MsgClass (opcodes.ts), Role and FlitKind (FlitFormat.ts). */
const enum Cls { M2SReq = 0, M2SRwD = 1, S2MNDR = 2, S2MDRS = 3 }
const enum Rl { M2S = 0, S2M = 1 }
const enum Kind { Protocol = 0, AllData = 1, Control = 2 }
if (
  F68_BYTES !== A68.bytes || F68_SLOTS !== A68.slots || F68_FLIT_OFF !== A68.flitOff || F68_CHUNK_BYTES !== A68.chunkBytes ||
  HDR68_BE !== A68.hdrBe || HDR68_SZ !== A68.hdrSz || HDR68_DIR !== A68.hdrDir || HDR68_RSPCRD !== A68.hdrRspCrd || HDR68_REQCRD !== A68.hdrReqCrd || HDR68_DATACRD !== A68.hdrDataCrd ||
  A68.protocolFields !== ((1 << HDR68_BE) | (1 << HDR68_SZ) | (0xfff << HDR68_SLOT_FMT[0]) | (1 << HDR68_DIR) | (0xf << HDR68_RSPCRD) | (0xf << HDR68_REQCRD) | (0xf << HDR68_DATACRD)) ||
  ProtocolId.CacheMem !== A68.pidCacheMem || M2SRwDOp.MemWrPtl !== A68.memWrPtl ||
  MsgClass.M2SReq !== Cls.M2SReq || MsgClass.M2SRwD !== Cls.M2SRwD || MsgClass.S2MNDR !== Cls.S2MNDR || MsgClass.S2MDRS !== Cls.S2MDRS ||
  Role.M2S !== Rl.M2S || Role.S2M !== Rl.S2M || FlitKind.Protocol !== Kind.Protocol || FlitKind.AllData !== Kind.AllData || FlitKind.Control !== Kind.Control
) {
  throw new Error('Flit68Assembler: a const enum mirror disagrees with the constant it mirrors');
}

/**
 * Packs CXL.mem messages into 68B flits (CXL 3.1 §4.2.5 rules; reference/cxl-protocol.md §2.4):
 * - slot 0 is a header slot; data chunks (G0) only in slots 1-3, in line order, right after their
 *   header and after any chunks still owed by earlier flits;
 * - more than 3 chunks owed at the start of a flit → an all-data flit (4 chunks, no header);
 * - per flit ≤2 M2S Req, ≤1 RwD header, ≤2 NDR, ≤3 DRS headers; at most one data message starts
 *   per flit unless all its data headers share one multi-data-header slot (S2M H5 / G6);
 * - tight packing: the H slot is never left empty while the flit carries a header;
 * - MemWrPtl: Sz=1, BE=1, and the byte-enable chunk follows the four data chunks.
 * A flit uses one direction's formats (header bit 17, see Flit68.ts); data owed by earlier
 * flits forces the next flit's direction.
 *
 * Feasibility (canAdd) asks the deterministic layout (Flit68Layout) about the would-be message
 * counts, so what canAdd accepts, finish() lays out identically.
 */
export class Flit68Assembler implements FlitAssembler {
  readonly sent = new Int32Array(4);
  lastFormats = 0;
  private readonly ring = new Uint8Array(A68.ringChunks * A68.chunkBytes);
  private ringHead = 0;
  private ringCount = 0;
  private ringRole = 0;
  /**
   * Chunk copies into the ring and straight into the flit, one copier per class (each class comes
   * from its own tx queue), and out of the ring.
   */
  private readonly intoRing = [new ChunkCopier(), new ChunkCopier(), new ChunkCopier(), new ChunkCopier()];
  private readonly intoFlit = [new ChunkCopier(), new ChunkCopier(), new ChunkCopier(), new ChunkCopier()];
  private readonly outOfRing = new ChunkCopier();

  private out: Uint8Array = new Uint8Array(0);
  private readonly zeroer = new FlitZeroer();
  private off = 0;
  private role = -1;
  private allData = false;
  private readonly counts = new Int32Array(4);
  private nAdds = 0;
  private readonly addCls = new Int8Array(A68.maxAdds);
  private readonly addSlot = new Int32Array(A68.maxAdds);
  private readonly addSrc: (MemMsgSlots | null)[] = new Array<MemMsgSlots | null>(A68.maxAdds).fill(null);
  /** The adds of class c in add order: addsOf[c * A68.maxAdds + n] is the index of the n-th. */
  private readonly addsOf = new Int32Array(4 * A68.maxAdds);
  /** Messages of each class written so far (finish). */
  private readonly cursor = new Int32Array(4);

  private readonly layout = new Flit68Layout();

  get owed(): number {
    return this.ringCount;
  }
  get count(): number {
    return this.nAdds;
  }
  forcedRole(): number {
    return this.ringCount > 0 ? this.ringRole : -1;
  }
  allDataNext(): boolean {
    return this.ringCount >= A68.lineChunks;
  }

  clear(): void {
    this.ringHead = 0;
    this.ringCount = 0;
    this.ringRole = 0;
    this.nAdds = 0;
    this.lastFormats = 0;
    this.sent.fill(0);
  }

  begin(out: Uint8Array, off: number): void {
    this.out = out;
    this.off = off;
    this.allData = this.ringCount >= A68.lineChunks;
    this.role = this.ringCount > 0 ? this.ringRole : -1;
    this.nAdds = 0;
    zeroInts(this.counts);
    this.zeroer.zero(out, off, A68.bytes);
  }

  canAdd(cls: MsgClass): boolean {
    if (this.allData === true || this.nAdds >= A68.maxAdds) return false;
    const r = roleOf(cls);
    if (this.role >= 0 && this.role !== r) return false;
    if (this.counts[cls]! + 1 > F68_LIMITS[cls]!) return false;
    this.counts[cls]!++;
    const ok = this.layout.fits(r, this.counts, this.ringCount);
    this.counts[cls]!--;
    return ok;
  }

  add(cls: MsgClass, src: MemMsgSlots, slot: number): void {
    const i = this.nAdds++;
    this.addCls[i] = cls;
    this.addSrc[i] = src;
    this.addSlot[i] = slot;
    this.addsOf[cls * A68.maxAdds + this.counts[cls]!] = i;
    this.counts[cls]!++;
    this.role = roleOf(cls);
  }

  finish(owedReq: number, owedRwD: number, owedNdr: number, owedDrs: number): FlitKind {
    const out = this.out;
    const off = this.off;
    zeroInts(this.sent);
    setProtocolId68(out, off, A68.pidCacheMem);
    if (this.allData === true) {
      for (let s = 0; s < A68.slots; s++) this.popChunk(out, off + A68.flitOff + s * A68.chunkBytes);
      this.lastFormats = 0;
      return Kind.AllData;
    }
    // A flit with no message still carries credits; its direction picks which data credit it can return.
    const role = this.role >= 0 ? this.role : owedRwD > owedDrs ? Rl.S2M : Rl.M2S;
    const lay = this.layout;
    if (!lay.load(role, this.counts, this.ringCount)) throw new Error('Flit68Assembler: layout failed for counts canAdd accepted');
    const plan = lay.plan;
    const row = lay.row;

    // Data slots, in slot order: the chunks owed by earlier flits first, then the new data messages'
    // chunks in header order (= add order: at most one data slot per flit carries data headers).
    // A new chunk that finds a data slot left goes straight into it; the rest roll over into the
    // ring, behind the older chunks.
    const nData = plan.nData[row]!;
    const d0 = row * PLAN68_MAX_DATA;
    let d = 0;
    while (d < nData && this.ringCount > 0) this.popChunk(out, off + plan.dataByte[d0 + d++]!);
    let be = 0;
    let sz = 0;
    for (let i = 0; i < this.nAdds; i++) {
      const c = this.addCls[i]!;
      if (c !== Cls.M2SRwD && c !== Cls.S2MDRS) continue;
      sz = 1;
      const src = this.addSrc[i]!;
      const slot = this.addSlot[i]!;
      for (let k = 0; k < A68.lineChunks; k++) {
        const from = slot * 64 + k * A68.chunkBytes;
        if (d < nData) this.intoFlit[c]!.copy(src.bytes, from, out, off + plan.dataByte[d0 + d++]!, A68.chunkBytes);
        else this.pushChunk(c, src.bytes, from);
      }
      if (c === Cls.M2SRwD && src.col.opcode[slot] === A68.memWrPtl) {
        be = 1;
        if (d < nData) setBeChunk(out, off + plan.dataByte[d0 + d++]!, src.col.beLo[slot]!, src.col.beHi[slot]!);
        else this.pushBeChunk(src.col.beLo[slot]!, src.col.beHi[slot]!);
      }
    }
    this.lastFormats = plan.formats[row]!;
    // Credit returns: ReqCrd = M2S Req, RspCrd = S2M NDR, DataCrd = M2S RwD in an S2M flit (the
    // device returns them), S2M DRS in an M2S flit (CXL 3.1 Table 4-5).
    const reqN = crd68Nibble(owedReq);
    const rspN = crd68Nibble(owedNdr);
    const dataN = crd68Nibble(role === Rl.S2M ? owedRwD : owedDrs);
    setHdr68Fields(
      out, off, A68.protocolFields,
      (be << A68.hdrBe) | (sz << A68.hdrSz) | plan.hdrFmtBits[row]! | ((role & 1) << A68.hdrDir) |
        ((rspN & 0xf) << A68.hdrRspCrd) | ((reqN & 0xf) << A68.hdrReqCrd) | ((dataN & 0xf) << A68.hdrDataCrd),
    );
    this.sent[Cls.M2SReq] = crd68Amount(reqN);
    this.sent[Cls.S2MNDR] = crd68Amount(rspN);
    this.sent[role === Rl.S2M ? Cls.M2SRwD : Cls.S2MDRS] = crd68Amount(dataN);

    // The plan's message places, in slot order, take the messages of their class in add order.
    zeroInts(this.cursor);
    const m0 = row * PLAN68_MAX_MSGS;
    const m1 = m0 + plan.nMsgs[row]!;
    for (let j = m0; j < m1; j++) {
      const c = plan.msgCls[j]!;
      const i = this.addsOf[c * A68.maxAdds + this.cursor[c]!++]!;
      encodeMsg(TABLES68[c]!, this.addSrc[i]!, this.addSlot[i]!, out, off + plan.msgByte[j]!, plan.msgBit[j]!);
    }
    if (this.ringCount > 0) this.ringRole = role;
    for (let i = 0; i < this.nAdds; i++) this.addSrc[i] = null;
    return Kind.Protocol;
  }

  /** Ring index of the next chunk pushed (head < A68.ringChunks and count ≤ A68.ringChunks: one wrap at most). */
  private ringTail(): number {
    const t = this.ringHead + this.ringCount;
    return t < A68.ringChunks ? t : t - A68.ringChunks;
  }

  private pushChunk(cls: number, src: Uint8Array, from: number): void {
    if (this.ringCount >= A68.ringChunks) throw new Error('Flit68Assembler: rollover ring overflow');
    const at = this.ringTail() * A68.chunkBytes;
    this.intoRing[cls]!.copy(src, from, this.ring, at, A68.chunkBytes);
    this.ringCount++;
  }

  private pushBeChunk(beLo: number, beHi: number): void {
    const at = this.ringTail() * A68.chunkBytes;
    zeroBytes(this.ring, at, A68.chunkBytes);
    setBeChunk(this.ring, at, beLo, beHi);
    this.ringCount++;
  }

  private popChunk(dst: Uint8Array, at: number): void {
    this.outOfRing.copy(this.ring, this.ringHead * A68.chunkBytes, dst, at, A68.chunkBytes);
    this.ringHead = this.ringHead + 1 < A68.ringChunks ? this.ringHead + 1 : 0;
    this.ringCount--;
  }
}

/**
 * Byte-enable slot: 64 enable bits (bit i = byte i of the line), then 64 reserved bits. Into a zeroed
 * chunk (a ring chunk zeroed first, or a data slot of a flit begin() zeroed).
 */
function setBeChunk(buf: Uint8Array, at: number, beLo: number, beHi: number): void {
  setBits(buf, at, 0, 32, beLo);
  setBits(buf, at, 32, 32, beHi);
}
