import { type Channel, ConfigError, Module, type Reg } from '../../src/sim/index.ts';
import { type MemMsgChannel, memMsgChannel } from '../cxl/MemMsg.ts';
import type { FlitMode } from '../cxl/MemFields.ts';
import { MsgClass } from '../cxl/opcodes.ts';
import { satAdd } from '../link/Credits.ts';
import { Flit256Assembler } from './Flit256Assembler.ts';
import { Flit68Assembler } from './Flit68Assembler.ts';
import { FLIT_FIELDS, FLIT_SLOT_BYTES, type FlitAssembler, roleOf } from './FlitFormat.ts';
import type { FlitUnpacker } from './FlitUnpacker.ts';

/** Parameters of a FlitPacker (all depths in messages/flits). */
export interface FlitPackerParams {
  /** Flit format: 68 (CXL 2.0 / 3.x 68B mode) or 256 (CXL 3.x 256B Standard flit). */
  readonly mode: FlitMode;
  /** Depth of each input queue txReq/txRwD/txNdr/txDrs. */
  readonly txQueueDepth: number;
  /** Depth of flitOut (flits waiting for the link layer). */
  readonly flitOutDepth: number;
  /**
   * Initial TX credits = the PEER unpacker's rx channel depths (its advertised buffers), per class
   * (M2S Req, M2S RwD, S2M NDR, S2M DRS).
   */
  readonly peerRxDepth: { readonly req: number; readonly rwd: number; readonly ndr: number; readonly drs: number };
  /**
   * Credit-return coalescing. Owed credits always ride in the header of any flit that goes out;
   * a flit sent ONLY to return credits waits until `creditReturnBatch` credits are owed or the
   * oldest has waited `creditReturnDelayCycles`. Default 1 and 0: a credit-only flit at once.
   * Without coalescing every freed buffer costs a flit on the wire (a read answer would often
   * queue behind the credit flit its own request caused).
   */
  readonly creditReturnBatch?: number;
  readonly creditReturnDelayCycles?: number;
}

/** Width of the credit registers: credit counters saturate at 2^16 - 1 (CXL 3.1 §4.2.7). */
export const CREDIT_BITS = 16;
/** Width of the flit sequence counter written into flitOut.seq (wraps). */
export const FLIT_SEQ_BITS = 16;
/**
 * The per-cycle code's numbers as `const enum`s: the TypeScript transform writes their members as
 * literals, where a module-level constant or another file's enum object (MsgClass) is loaded and
 * type-checked at each use in V8's optimized code. Checked at load against what they stand for.
 */
const enum Pk {
  /** 2 ** CREDIT_BITS - 1 */
  creditMax = 65535,
  /** 2 ** FLIT_SEQ_BITS */
  flitSeqWrap = 65536,
  /** FLIT_SLOT_BYTES (FlitFormat.ts) */
  slotBytes = 256,
}
/** Mirror of MsgClass (opcodes.ts). */
const enum Cls { M2SReq = 0, M2SRwD = 1, S2MNDR = 2, S2MDRS = 3 }
if (
  Pk.creditMax !== 2 ** CREDIT_BITS - 1 || Pk.flitSeqWrap !== 2 ** FLIT_SEQ_BITS || Pk.slotBytes !== FLIT_SLOT_BYTES ||
  MsgClass.M2SReq !== Cls.M2SReq || MsgClass.M2SRwD !== Cls.M2SRwD || MsgClass.S2MNDR !== Cls.S2MNDR || MsgClass.S2MDRS !== Cls.S2MDRS
) {
  throw new Error('FlitPacker: a const enum disagrees with the constant it stands for');
}

/**
 * Flit packer (TX side of a CxlPort): takes CXL.mem messages from four input queues and emits at
 * most one flit per cycle into `flitOut`, when flitOut has space.
 *
 * - Never sends a message without a TX credit for its class (creditsM2SReq ... creditsS2MDRS,
 *   initialised from peerRxDepth, replenished by the credit returns the local FlitUnpacker found
 *   in the peer's flits last cycle).
 * - Fair: classes are offered round-robin, the starting class rotating every flit; within a flit
 *   the offers repeat until nothing more fits (tight packing).
 * - Returns credits: counts the buffers the local unpacker's rx channels freed (lastPopped) as
 *   owed to the peer and carries as many as encodable in every flit header (68B) / CRD field
 *   (256B). With nothing to send but credits owed, it sends a header-only flit.
 * Latency: a message visible in a tx queue at cycle t is in flitOut (visible to the link layer)
 * at t+1 when credits and space allow (one registered stage: PACK_STAGES = 1).
 */
export class FlitPacker extends Module {
  static readonly PACK_STAGES = 1;
  readonly txReq: MemMsgChannel;
  readonly txRwD: MemMsgChannel;
  readonly txNdr: MemMsgChannel;
  readonly txDrs: MemMsgChannel;
  readonly flitOut: Channel<'kind' | 'seq'>;
  readonly creditsM2SReq: Reg;
  readonly creditsM2SRwD: Reg;
  readonly creditsS2MNDR: Reg;
  readonly creditsS2MDRS: Reg;
  /** Credits owed to the peer (freed rx buffers not yet returned), per class. */
  readonly owedM2SReq: Reg;
  readonly owedM2SRwD: Reg;
  readonly owedS2MNDR: Reg;
  readonly owedS2MDRS: Reg;
  /** Slot formats of the last flit (one nibble per slot, slot 0 lowest; 256B: slots 0-7). */
  readonly lastSlotFormats: Reg;
  readonly lastKind: Reg;
  /** Class offered first in the next flit. */
  readonly rrStart: Reg;
  readonly flitSeq: Reg;
  /** Cycles the oldest owed credit has waited for a flit to ride on (coalescing timer). */
  readonly owedAge: Reg;
  /** Offers of a queued message refused for lack of a TX credit (for stats). */
  creditStalls = 0;

  private readonly asm: FlitAssembler;
  private readonly queues: MemMsgChannel[];
  private readonly cr = new Float64Array(4);
  private unpacker: FlitUnpacker | null = null;
  private readonly creditBatch: number;
  private readonly creditDelay: number;

  constructor(parent: Module, name: string, readonly params: FlitPackerParams) {
    super(parent, name);
    if (params.mode !== 68 && params.mode !== 256) throw new ConfigError(`${this.path}.mode`, 'must be 68 or 256');
    for (const k of ['req', 'rwd', 'ndr', 'drs'] as const) {
      const v = params.peerRxDepth[k];
      if (!(Number.isInteger(v) && v >= 1 && v <= Pk.creditMax)) throw new ConfigError(`${this.path}.peerRxDepth.${k}`, `must be an integer 1..${Pk.creditMax}`);
    }
    this.txReq = memMsgChannel(this, 'txReq', params.txQueueDepth);
    this.txRwD = memMsgChannel(this, 'txRwD', params.txQueueDepth);
    this.txNdr = memMsgChannel(this, 'txNdr', params.txQueueDepth);
    this.txDrs = memMsgChannel(this, 'txDrs', params.txQueueDepth);
    this.flitOut = this.channel('flitOut', params.flitOutDepth, FLIT_FIELDS, Pk.slotBytes);
    this.creditsM2SReq = this.reg('creditsM2SReq', CREDIT_BITS, params.peerRxDepth.req);
    this.creditsM2SRwD = this.reg('creditsM2SRwD', CREDIT_BITS, params.peerRxDepth.rwd);
    this.creditsS2MNDR = this.reg('creditsS2MNDR', CREDIT_BITS, params.peerRxDepth.ndr);
    this.creditsS2MDRS = this.reg('creditsS2MDRS', CREDIT_BITS, params.peerRxDepth.drs);
    this.owedM2SReq = this.reg('owedM2SReq', CREDIT_BITS, 0);
    this.owedM2SRwD = this.reg('owedM2SRwD', CREDIT_BITS, 0);
    this.owedS2MNDR = this.reg('owedS2MNDR', CREDIT_BITS, 0);
    this.owedS2MDRS = this.reg('owedS2MDRS', CREDIT_BITS, 0);
    this.lastSlotFormats = this.reg('lastSlotFormats', 32, 0);
    this.lastKind = this.reg('lastKind', 2, 0);
    this.rrStart = this.reg('rrStart', 2, 0);
    this.flitSeq = this.reg('flitSeq', FLIT_SEQ_BITS, 0);
    this.owedAge = this.reg('owedAge', 16, 0);
    this.creditBatch = params.creditReturnBatch ?? 1;
    this.creditDelay = params.creditReturnDelayCycles ?? 0;
    if (!(Number.isInteger(this.creditBatch) && this.creditBatch >= 1)) throw new ConfigError(`${this.path}.creditReturnBatch`, 'must be an integer ≥ 1');
    if (!(Number.isInteger(this.creditDelay) && this.creditDelay >= 0 && this.creditDelay < 65535)) throw new ConfigError(`${this.path}.creditReturnDelayCycles`, 'must be an integer 0..65534');
    this.asm = params.mode === 68 ? new Flit68Assembler() : new Flit256Assembler();
    this.queues = [this.txReq, this.txRwD, this.txNdr, this.txDrs];
    this.probe('rolloverOwed', 8, () => this.asm.owed);
  }

  /**
   * Wire the local unpacker: its credit-return registers replenish our TX credits, and its rx
   * channels' pops become credits we owe the peer. A packer without one (a testbench driving it
   * alone) neither gains nor returns credits.
   */
  connectUnpacker(u: FlitUnpacker): void {
    this.unpacker = u;
  }

  override onReset(): void {
    this.asm.clear();
    this.creditStalls = 0;
  }

  override evaluate(): void {
    const u = this.unpacker;
    // Fast path (speed only): no credit returns and no freed rx buffers from the unpacker, nothing
    // queued and no data owed by earlier flits. Then the TX credits and the credits owed keep their
    // values, so unless a credit-only flit is due, only the age of the owed credits moves.
    if (
      this.ctx.fullEvaluate === false &&
      this.asm.owed === 0 && !this.txReq.valid() && !this.txRwD.valid() && !this.txNdr.valid() && !this.txDrs.valid() &&
      (u === null || (
        u.crdRetM2SReq.q === 0 && u.crdRetM2SRwD.q === 0 && u.crdRetS2MNDR.q === 0 && u.crdRetS2MDRS.q === 0 &&
        u.rxReq.lastPopped === 0 && u.rxRwD.lastPopped === 0 && u.rxNdr.lastPopped === 0 && u.rxDrs.lastPopped === 0
      ))
    ) {
      const owed = this.owedM2SReq.q + this.owedM2SRwD.q + this.owedS2MNDR.q + this.owedS2MDRS.q;
      if (owed === 0) {
        this.owedAge.d = 0;
        return;
      }
      if (owed < this.creditBatch && this.owedAge.q < this.creditDelay) {
        this.owedAge.d = Math.min(this.owedAge.q + 1, 65535);
        return;
      }
    }
    // TX credits replenished by the peer's returns; credits owed grown by the rx buffers freed last cycle.
    let crReq = this.creditsM2SReq.q;
    let crRwD = this.creditsM2SRwD.q;
    let crNdr = this.creditsS2MNDR.q;
    let crDrs = this.creditsS2MDRS.q;
    let owedReq = this.owedM2SReq.q;
    let owedRwD = this.owedM2SRwD.q;
    let owedNdr = this.owedS2MNDR.q;
    let owedDrs = this.owedS2MDRS.q;
    if (u !== null) {
      crReq = satAdd(crReq, u.crdRetM2SReq.q, Pk.creditMax);
      crRwD = satAdd(crRwD, u.crdRetM2SRwD.q, Pk.creditMax);
      crNdr = satAdd(crNdr, u.crdRetS2MNDR.q, Pk.creditMax);
      crDrs = satAdd(crDrs, u.crdRetS2MDRS.q, Pk.creditMax);
      owedReq = satAdd(owedReq, u.rxReq.lastPopped, Pk.creditMax);
      owedRwD = satAdd(owedRwD, u.rxRwD.lastPopped, Pk.creditMax);
      owedNdr = satAdd(owedNdr, u.rxNdr.lastPopped, Pk.creditMax);
      owedDrs = satAdd(owedDrs, u.rxDrs.lastPopped, Pk.creditMax);
    }
    const asm = this.asm;
    const owedTotal = owedReq + owedRwD + owedNdr + owedDrs;
    const creditFlitDue = owedTotal > 0 && (owedTotal >= this.creditBatch || this.owedAge.q >= this.creditDelay);
    // Idle fast path (speed only): with every tx queue empty, no data owed by earlier flits (so no
    // forced direction and no all-data flit) and no credit-only flit due, the packing below adds
    // nothing and sends nothing; begin() would only reset the assembler's per-flit scratch state,
    // which the next busy cycle resets again before using it. Registers are written as before below.
    const idle = asm.owed === 0 && !creditFlitDue && !this.txReq.valid() && !this.txRwD.valid() && !this.txNdr.valid() && !this.txDrs.valid();
    if (!idle && this.flitOut.canPush()) {
      const cr = this.cr;
      cr[Cls.M2SReq] = crReq;
      cr[Cls.M2SRwD] = crRwD;
      cr[Cls.S2MNDR] = crNdr;
      cr[Cls.S2MDRS] = crDrs;
      // `| 0` on numbers read from typed arrays: credit counts are small integers, and V8 keeps
      // every register's q and d as small integers only as long as no register is ever given a
      // double-typed number; one such store makes them boxed doubles in every register of the
      // design (~7 % slower). tb/sim/smallIntegers.test.ts checks this on the two-node system.
      if (this.packFlit(owedReq, owedRwD, owedNdr, owedDrs, creditFlitDue)) {
        owedReq = (owedReq - asm.sent[Cls.M2SReq]!) | 0;
        owedRwD = (owedRwD - asm.sent[Cls.M2SRwD]!) | 0;
        owedNdr = (owedNdr - asm.sent[Cls.S2MNDR]!) | 0;
        owedDrs = (owedDrs - asm.sent[Cls.S2MDRS]!) | 0;
      }
      crReq = cr[Cls.M2SReq]! | 0;
      crRwD = cr[Cls.M2SRwD]! | 0;
      crNdr = cr[Cls.S2MNDR]! | 0;
      crDrs = cr[Cls.S2MDRS]! | 0;
    }
    this.creditsM2SReq.d = crReq;
    this.creditsM2SRwD.d = crRwD;
    this.creditsS2MNDR.d = crNdr;
    this.creditsS2MDRS.d = crDrs;
    this.owedM2SReq.d = owedReq;
    this.owedM2SRwD.d = owedRwD;
    this.owedS2MNDR.d = owedNdr;
    this.owedS2MDRS.d = owedDrs;
    const stillOwed = owedReq + owedRwD + owedNdr + owedDrs;
    this.owedAge.d = stillOwed > 0 ? Math.min(this.owedAge.q + 1, 65535) : 0;
  }

  /**
   * Offer the queued messages (spending TX credits in `this.cr`) and, if anything goes out, push
   * the flit carrying as many owed credits as encodable (asm.sent). True when a flit was pushed.
   */
  private packFlit(owedReq: number, owedRwD: number, owedNdr: number, owedDrs: number, creditFlitDue: boolean): boolean {
    const out = this.flitOut;
    const asm = this.asm;
    const cr = this.cr;
    const start = this.rrStart.q;
    // Built in place, in the flitOut slot the next push returns, and pushed only if something goes
    // out this cycle. That slot is free (canPush), so no consumer reads it until it is pushed; if
    // nothing goes out, the next flit built there starts by zeroing it again.
    const sl = out.pendingSlot(out.pendingPushes);
    asm.begin(out.bytes, sl * Pk.slotBytes);
    // 68B fairness: data owed by earlier flits forces their direction. When the class whose turn
    // it is needs the other direction, this flit starts no new data message, so the owed data
    // drains and that class gets the next flit (the turn is kept, not advanced).
    let drainOnly = false;
    const forced = asm.forcedRole();
    if (forced >= 0) {
      for (let k = 0; k < 4; k++) {
        const c = (start + k) & 3;
        if (this.queues[c]!.valid() && cr[c]! > 0) {
          drainOnly = roleOf(c as MsgClass) !== forced;
          break;
        }
      }
    }
    if (!asm.allDataNext()) {
      let progress = true;
      while (progress) {
        progress = false;
        for (let k = 0; k < 4; k++) {
          const c = (start + k) & 3;
          const q = this.queues[c]!;
          if (!q.valid()) continue;
          if (drainOnly && (c === Cls.M2SRwD || c === Cls.S2MDRS)) continue;
          if (cr[c]! <= 0) {
            this.creditStalls++;
            continue;
          }
          const s = q.peek();
          if (!asm.canAdd(c as MsgClass, q, s)) continue;
          q.pop();
          asm.add(c as MsgClass, q, s);
          cr[c]!--;
          progress = true;
        }
      }
    }
    if (!(asm.allDataNext() || asm.count > 0 || creditFlitDue || asm.owed > 0)) return false;
    const kind = asm.finish(owedReq, owedRwD, owedNdr, owedDrs);
    out.push(); // returns sl: the packer is flitOut's only producer
    out.col.kind[sl] = kind;
    out.col.seq[sl] = this.flitSeq.q;
    const seq = this.flitSeq.q + 1;
    this.flitSeq.d = seq < Pk.flitSeqWrap ? seq : 0;
    this.lastSlotFormats.d = asm.lastFormats >>> 0;
    this.lastKind.d = kind;
    this.rrStart.d = drainOnly ? start : (start + 1) & 3;
    return true;
  }
}
