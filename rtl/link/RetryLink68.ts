import { checkCrc16Flit68, writeCrc16Flit68 } from '../../src/bits/crc.ts';
import { recordViews } from '../../src/bits/views.ts';
import { ConfigError, Module, nsToCycles, type Channel, type Reg } from '../../src/sim/index.ts';
import {
  buildControl68,
  F68_BYTES,
  F68_FLIT_OFF,
  getAk68,
  getHdr68,
  getCtlPayload68,
  getLlCtrl68,
  getSubType68,
  HDR68_AK,
  HDR68_RSPCRD,
  LLCRD_ACK_SUB,
  LlCtrl,
  RetrySub,
  setAk68,
  setCtlPayload68,
  setHdr68,
} from '../flit/Flit68.ts';
import { FLIT_SLOT_BYTES, FlitKind } from '../flit/FlitFormat.ts';
import { PhyState, PhyStatus, type Phy } from './Phy.ts';

/**
 * 68B Link-Layer Retry (LLR) of one link end: the TX half (retry buffer, Ak insertion, CRC, RETRY
 * sequences, replay) and the RX half (CRC check, implicit sequence numbers, the local retry state
 * machine) in one module, because each half tells the other what to do: the RX counts good flits
 * that the TX acknowledges in outgoing headers, the RX's retry request is sent by the TX, and a
 * RETRY.Req received by the RX makes the TX answer and replay. Source: CXL 3.1 §4.2.8
 * (reference/cxl-protocol.md §4.2); the choices the spec leaves open are named below.
 *
 * TX, one flit per cycle, priority (CXL 3.1 §4.2.8: RETRY.Ack > RETRY.Req > others):
 *  1. a RETRY sequence in progress: RETRY_FRAMES × RETRY.Frame, then RETRY.Ack or RETRY.Req;
 *  2. start a RETRY.Ack sequence (the peer asked), then replay the LLRB from the peer's ESeq;
 *  3. start a RETRY.Req sequence (our RX saw a bad flit) carrying our ESeq;
 *  4. replay; 5. a forced LLCRD when ≥ ackForceThreshold acks are pending (not between a protocol
 *     flit and its all-data flits while the LLRB has room);
 *  6. a new flit from the packer (Ak set when ≥ 8 acks are pending, CRC written, copy kept in the
 *     LLRB), only while ≥ 2 LLRB entries are free: the last one is kept for an ack-carrying LLCRD
 *     (CXL 3.1 §4.2.8: "with 2 free only Ack-bearing flits"), so two full ends can always ack;
 *  7. idle with ≥ 2 acks pending for ackTimerCycles: an LLCRD carrying them (an LLCRD that acks only
 *     one flit, i.e. an LLCRD, is not answered, which stops LLCRD ping-pong).
 *
 * Sequence numbers are implicit (never carried in a flit): TX WrPtr/RdPtr/AckPtr and RX ESeq count
 * retryable flits modulo SEQ_MOD = 256 (the 8-bit ESeq field of RETRY.Req). The spec wraps them at
 * the LLR Wrap Value; a 256 space with an LLRB of ≤ 255 entries keeps "all acked" and "none acked"
 * distinct. The `seq` column the PHY carries is debug sideband only: the RX never reads it.
 *
 * RX local retry state machine (LRSM, CXL 3.1 T4-12): NORMAL → (bad CRC, protocol ID, PHY Lost
 * marker, PHY retrain, or no room in the unpacker's flitIn) → LLRREQ (TX sends the Req sequence) →
 * LOCAL_IDLE (retryable flits discarded until a RETRY.Ack that echoes our ESeq and NUM_RETRY, directly
 * preceded by RETRY_FRAMES_TO_ACCEPT good frames) → NORMAL. TIMEOUT in LOCAL_IDLE → LLRREQ again. NUM_RETRY counts requests
 * since the last good flit; above maxNumRetry → PHY_REINIT (the PHY retrains; its Retrained marker
 * restarts the retry), NUM_PHY_REINIT above maxNumPhyReinit → ABORT (link dead, everything dropped).
 * A RETRY.Ack arriving in NORMAL is stale (its replay would duplicate flits): treated as an error.
 *
 * An LLCRD that returns no credits (the ones this TX makes) is consumed by the RX and never reaches
 * the unpacker; LLCRDs from the packer (credit returns) are passed on after their acks are taken.
 *
 * Acks are exactly-once: an Ak or LLCRD Full_Ack is applied only when its flit is accepted in order,
 * and a replayed flit carries the same bytes (and acks) as the original.
 *
 * Not modelled: INIT.Param exchange (the link starts in NORMAL with ESeq 0 at both ends), viral,
 * IDE, NULL flits (an idle TX sends nothing), RETRY.Idle.
 */

/**
 * The numbers the per-flit code uses, as `const enum`s: the TypeScript transform writes their
 * members as literals, where a module-level constant or another file's enum object is loaded and
 * type-checked at each use in V8's optimized code. The exported constants below are these members;
 * the mirrors of other files' constants are checked against them at load.
 */
const enum Llr {
  seqMod = 256,
  seqMask = 255,
  retryFrames = 5,
  framesToAccept = 1,
  minLlrbEntries = 22,
  maxFullAck = 255,
  acksPerAk = 8,
  numRetryBits = 5,
}
/** Local retry state machine states (register `lrsm`). */
const enum Lr { Normal = 0, LlrReq = 1, LocalIdle = 2, PhyReinit = 3, Abort = 4 }
/** TX control sequence in progress (register `ctlSeq`). */
const enum Ctl { None = 0, Ack = 1, Req = 2 }
/**
 * Control payload fields. RETRY.Req (CXL 3.1 T4-10): [7:0] ESeq, [20:16] NUM_RETRY, [25:21]
 * NUM_PHY_REINIT. RETRY.Ack: [0] Empty, [7:3] NUM_RETRY echo, [15:8] WrPtr, [23:16] ESeq echo,
 * [31:24] NumFreeBuf. LLCRD Ack: Ack[2:0] at [2:0], Ack[7:4] at [7:4]; Ack[3] is the header Ak bit.
 * Header credit-return fields RspCrd/ReqCrd/DataCrd: bits [31:20] (CXL 3.1 Fig. 4-7; reference §2.2).
 */
const enum Fld {
  reqEseq = 0,
  reqNumRetry = 16,
  reqNumPhyReinit = 21,
  ackEmpty = 0,
  ackNumRetry = 3,
  ackWrPtr = 8,
  ackEseq = 16,
  ackFreeBuf = 24,
  llcrdAckLo = 0,
  llcrdAckHi = 4,
  hdrCrdFirst = 20,
  hdrCrdBits = 12,
}
/** Mirrors of the flit format's numbers (FlitFormat.ts, Flit68.ts); protocol ID byte for CXL.cache/mem (0x55 sent twice, CXL 1.1 §6.2.2). */
const enum F68 { slotBytes = 256, bytes = 68, flitOff = 2, hdrAk = 2, pidCacheMemByte = 0x55 }
/** Mirror of FlitKind (FlitFormat.ts). */
const enum Kind { Protocol = 0, AllData = 1, Control = 2 }
/** Mirrors of PhyStatus and PhyState (Phy.ts). */
const enum Status { Flit = 0, Lost = 1, Retrained = 2, Intact = 3 }
const enum LinkState { Up = 0 }
/** Mirrors of LlCtrl, RetrySub and LLCRD_ACK_SUB (Flit68.ts). */
const enum Ctrl { LLCRD = 0, RETRY = 1 }
const enum Sub { retryReq = 1, retryAck = 2, retryFrame = 3, llcrdAck = 1 }
if (
  Llr.seqMask !== Llr.seqMod - 1 || FLIT_SLOT_BYTES !== F68.slotBytes || F68_BYTES !== F68.bytes || F68_FLIT_OFF !== F68.flitOff || HDR68_AK !== F68.hdrAk || HDR68_RSPCRD !== Fld.hdrCrdFirst ||
  FlitKind.Protocol !== Kind.Protocol || FlitKind.AllData !== Kind.AllData || FlitKind.Control !== Kind.Control ||
  PhyStatus.Flit !== Status.Flit || PhyStatus.Lost !== Status.Lost || PhyStatus.Retrained !== Status.Retrained || PhyStatus.Intact !== Status.Intact || PhyState.Up !== LinkState.Up ||
  LlCtrl.LLCRD !== Ctrl.LLCRD || LlCtrl.RETRY !== Ctrl.RETRY || RetrySub.Req !== Sub.retryReq || RetrySub.Ack !== Sub.retryAck || RetrySub.Frame !== Sub.retryFrame || LLCRD_ACK_SUB !== Sub.llcrdAck
) {
  throw new Error('RetryLink68: a const enum mirror disagrees with the constant it mirrors');
}

export const SEQ_MOD: number = Llr.seqMod;
/** RETRY.Frame flits the TX sends before a RETRY.Req or RETRY.Ack (CXL 3.1 §4.2.8.4, Fig. 4-40). */
export const RETRY_FRAMES: number = Llr.retryFrames;
/**
 * Good RETRY.Frame flits that must directly precede a RETRY.Req/Ack for the RX to act on it. The
 * spec's 5 frames exist so a receiver that lost track of all-data flits after a CRC error (up to 4
 * back-to-back ADFs) still finds a header flit; this model carries the flit kind beside the bytes,
 * so one good frame is enough to frame the sequence. Requiring all 5 made recovery at high error
 * rates needlessly slow (6 + 6 flits all clean per attempt). Model choice, not spec text.
 */
export const RETRY_FRAMES_TO_ACCEPT: number = Llr.framesToAccept;
/** Minimum LLRB depth in CXL 3.x (16 forced-ack + 4 back-to-back all-data + 2; reference §4.2). */
export const MIN_LLRB_ENTRIES: number = Llr.minLlrbEntries;
/** LLCRD Full_Ack is 8 bits (Full_Ack = {Ack[7:4], hdr.Ak, Ack[2:0]}, CXL 3.1 T4-10). */
export const MAX_FULL_ACK: number = Llr.maxFullAck;
/** One Ak bit in a flit header acknowledges 8 flits (CXL 3.1 §4.2.2). */
export const ACKS_PER_AK: number = Llr.acksPerAk;

/** Local retry state machine states (register `lrsm`). */
export const Lrsm = { Normal: Lr.Normal, LlrReq: Lr.LlrReq, LocalIdle: Lr.LocalIdle, PhyReinit: Lr.PhyReinit, Abort: Lr.Abort } as const;
/** TX control sequence in progress (register `ctlSeq`). */
export const CtlSeq = { None: Ctl.None, Ack: Ctl.Ack, Req: Ctl.Req } as const;

export interface RetryLinkParams {
  /** LLRB entries (≥ 22, ≤ 255). */
  readonly retryBufferEntries: number;
  /** NUM_RETRY limit before a PHY re-init (spec suggests ≥ 0xA). */
  readonly maxNumRetry: number;
  /** NUM_PHY_REINIT limit before ABORT. */
  readonly maxNumPhyReinit: number;
  /** TIMEOUT while waiting for a RETRY.Ack, cycles (spec counts ≥ 4096 flits). Must exceed a round trip. */
  readonly retryTimeoutCycles: number;
  /** Pending acks that force an LLCRD (spec recommends ≥ 16). */
  readonly ackForceThreshold: number;
  /** Idle time after which ≥ 2 pending acks go out in an LLCRD, ns (spec target: ack ≤ 65 ns, T13-3). */
  readonly ackTimerNs: number;
}

export const DEFAULT_RETRY_LINK: RetryLinkParams = {
  retryBufferEntries: 32,
  maxNumRetry: 10,
  maxNumPhyReinit: 10,
  retryTimeoutCycles: 4096,
  ackForceThreshold: 16,
  ackTimerNs: 32,
};

type FlitChannel = Channel<'kind' | 'seq'>;

export class RetryLink68 extends Module {
  // ---- registers (VCD) ----
  readonly lrsm: Reg;
  readonly eseq: Reg;
  readonly numRetry: Reg;
  readonly numPhyReinit: Reg;
  readonly timeout: Reg;
  readonly framesSeen: Reg;
  readonly phyReinitReq: Reg;
  readonly wrPtr: Reg;
  readonly ackPtr: Reg;
  readonly rdPtr: Reg;
  /** LLRB index of WrPtr (the buffer depth need not divide SEQ_MOD). */
  readonly wrIdx: Reg;
  readonly ctlSeq: Reg;
  readonly ctlIdx: Reg;
  readonly ackPending: Reg;
  readonly ackEseq: Reg;
  readonly ackEcho: Reg;
  readonly pendingAcks: Reg;
  readonly ackIdle: Reg;

  // ---- stats ----
  flitsSent = 0;
  flitsDelivered = 0;
  crcErrors = 0;
  /** Flits whose protocol ID had one bad copy (corrected from the other, CXL 1.1 §6.2.2). */
  protocolIdCorrected = 0;
  phyLost = 0;
  retrains = 0;
  overruns = 0;
  /** Times the LRSM entered LLRREQ (a retry was asked for; the Req sequence follows when the TX can send). */
  retryRequests = 0;
  retryReqsSent = 0;
  retryAcksSent = 0;
  replayedFlits = 0;
  discarded = 0;
  llcrdSent = 0;
  /** Ack-only LLCRDs received and consumed by the link layer (not passed to the unpacker). */
  llcrdConsumed = 0;
  timeouts = 0;
  phyReinits = 0;
  staleAcks = 0;
  /** Protocol violations that only garbage can cause (a RETRY.Req ESeq outside the LLRB window, acks beyond what was sent). */
  badRetryReqs = 0;
  ackOverflows = 0;
  /**
   * Model self-check: the TX writes each flit's sequence number into the PHY's `seq` sideband (never
   * used for decisions); an accepted flit whose sideband differs from ESeq means the implicit
   * numbering went wrong. Tests require 0. First cycle it happened in `firstSeqMismatchCycle`.
   */
  seqMismatches = 0;
  firstSeqMismatchCycle = -1;

  readonly depth: number;
  readonly ackTimerCycles: number;
  private readonly ackForceThreshold: number;
  private readonly llrb: Uint8Array;
  private readonly llrbKind: Uint8Array;
  /** Sequence number each LLRB entry was written with (self-check of the index arithmetic). */
  private readonly llrbSeq: Int16Array;
  private readonly scratch = new Uint8Array(F68.slotBytes);
  // Views of each flit (LLRB entries, the 68 bytes of each channel slot) made at elaboration, so a
  // flit moves with one set() call; and the channel columns this module uses, cached.
  private readonly llrbFlits: readonly Uint8Array[];
  private readonly scratchFlit: Uint8Array;
  private readonly srcFlits: readonly Uint8Array[];
  private readonly srcKind: Float64Array;
  private readonly rxDstKind: Float64Array;
  private readonly rxDstSeq: Float64Array;
  private readonly txInKind: Float64Array;
  private readonly txInSeq: Float64Array;
  /** The PHY's rxOut (drained every cycle). */
  private readonly rxIn: Channel<'kind' | 'seq' | 'phyStatus'>;
  private readonly rxInFlits: readonly Uint8Array[];
  private readonly rxInKind: Float64Array;
  private readonly rxInSeq: Float64Array;
  private readonly rxInStatus: Float64Array;

  constructor(
    parent: Module,
    name: string,
    readonly params: RetryLinkParams,
    /** The packer's flitOut (consumed). */
    readonly txSrc: FlitChannel,
    /** The unpacker's flitIn (produced). */
    readonly rxDst: FlitChannel,
    /** PHY towards the peer (we push its txIn). */
    readonly phyTx: Phy,
    /** PHY from the peer (we drain its rxOut). */
    readonly phyRx: Phy,
  ) {
    super(parent, name);
    const p = params;
    if (!(Number.isInteger(p.retryBufferEntries) && p.retryBufferEntries >= MIN_LLRB_ENTRIES && p.retryBufferEntries < SEQ_MOD)) {
      throw new ConfigError(`${this.path}.retryBufferEntries`, `must be an integer in ${MIN_LLRB_ENTRIES}..${SEQ_MOD - 1} (CXL 3.x LLRB minimum), got ${p.retryBufferEntries}`);
    }
    if (!(Number.isInteger(p.maxNumRetry) && p.maxNumRetry >= 1 && p.maxNumRetry < 2 ** Llr.numRetryBits)) throw new ConfigError(`${this.path}.maxNumRetry`, 'must be an integer in 1..31');
    if (!(Number.isInteger(p.maxNumPhyReinit) && p.maxNumPhyReinit >= 1 && p.maxNumPhyReinit < 2 ** Llr.numRetryBits)) throw new ConfigError(`${this.path}.maxNumPhyReinit`, 'must be an integer in 1..31');
    if (!(Number.isInteger(p.retryTimeoutCycles) && p.retryTimeoutCycles >= 1)) throw new ConfigError(`${this.path}.retryTimeoutCycles`, 'must be an integer ≥ 1');
    if (!(Number.isInteger(p.ackForceThreshold) && p.ackForceThreshold >= Llr.acksPerAk && p.ackForceThreshold <= Math.min(Llr.maxFullAck, p.retryBufferEntries - 2))) {
      throw new ConfigError(`${this.path}.ackForceThreshold`, `must be an integer in ${Llr.acksPerAk}..retryBufferEntries-2`);
    }
    if (phyTx.params.flitMode !== '68B' || phyRx.params.flitMode !== '68B') throw new ConfigError(`${this.path}`, 'RetryLink68 needs 68B PHYs');
    this.depth = p.retryBufferEntries;
    this.ackTimerCycles = Math.max(1, nsToCycles(p.ackTimerNs, this.ctx));
    this.ackForceThreshold = p.ackForceThreshold;
    this.llrb = new Uint8Array(this.depth * F68.bytes);
    this.llrbKind = new Uint8Array(this.depth);
    this.llrbSeq = new Int16Array(this.depth);
    this.llrbFlits = recordViews(this.llrb, this.depth, F68.bytes, F68.bytes);
    this.scratchFlit = this.scratch.subarray(0, F68.bytes);
    this.srcFlits = recordViews(txSrc.bytes, txSrc.depth, F68.slotBytes, F68.bytes);
    this.srcKind = txSrc.col.kind;
    this.rxDstKind = rxDst.col.kind;
    this.rxDstSeq = rxDst.col.seq;
    this.txInKind = phyTx.txIn.col.kind;
    this.txInSeq = phyTx.txIn.col.seq;
    this.rxIn = phyRx.rxOut;
    this.rxInFlits = recordViews(phyRx.rxOut.bytes, phyRx.rxOut.depth, F68.slotBytes, F68.bytes);
    this.rxInKind = phyRx.rxOut.col.kind;
    this.rxInSeq = phyRx.rxOut.col.seq;
    this.rxInStatus = phyRx.rxOut.col.phyStatus;

    this.lrsm = this.reg('lrsm', 3, Lr.Normal);
    this.eseq = this.reg('eseq', 8, 0);
    this.numRetry = this.reg('numRetry', Llr.numRetryBits, 0);
    this.numPhyReinit = this.reg('numPhyReinit', Llr.numRetryBits, 0);
    this.timeout = this.reg('timeout', 32, 0);
    this.framesSeen = this.reg('framesSeen', 3, 0);
    this.phyReinitReq = this.reg('phyReinitReq', 1, 0);
    this.wrPtr = this.reg('wrPtr', 8, 0);
    this.ackPtr = this.reg('ackPtr', 8, 0);
    this.rdPtr = this.reg('rdPtr', 8, 0);
    this.wrIdx = this.reg('wrIdx', 8, 0);
    this.ctlSeq = this.reg('ctlSeq', 2, Ctl.None);
    this.ctlIdx = this.reg('ctlIdx', 3, 0);
    this.ackPending = this.reg('ackPending', 1, 0);
    this.ackEseq = this.reg('ackEseq', 8, 0);
    this.ackEcho = this.reg('ackEcho', Llr.numRetryBits, 0);
    this.pendingAcks = this.reg('pendingAcks', 9, 0);
    this.ackIdle = this.reg('ackIdle', 16, 0);
    // One fill for all of this module's probes: the tracer calls it once per cycle, not a closure per probe.
    this.probeGroup(['llrbOccupancy', 'crcErrors', 'retryReqsSent', 'replayedFlits'], [8, 32, 32, 32], (v) => {
      v[0] = (this.wrPtr.q - this.ackPtr.q) & Llr.seqMask;
      v[1] = this.crcErrors;
      v[2] = this.retryReqsSent;
      v[3] = this.replayedFlits;
    });
  }

  override onReset(): void {
    this.flitsSent = this.flitsDelivered = this.crcErrors = this.protocolIdCorrected = this.phyLost = this.retrains = this.overruns = this.retryRequests = 0;
    this.retryReqsSent = this.retryAcksSent = this.replayedFlits = this.discarded = this.llcrdSent = this.llcrdConsumed = 0;
    this.timeouts = this.phyReinits = this.staleAcks = this.badRetryReqs = this.ackOverflows = this.seqMismatches = 0;
    this.firstSeqMismatchCycle = -1;
    this.settled = this.lrsm.q === Lr.Normal && this.rdPtr.q === this.wrPtr.q && this.ctlSeq.q === Ctl.None && this.ackPending.q === 0 && this.phyReinitReq.q === 0;
  }

  /** Retries this end asked for (entries into LLRREQ, including after TIMEOUT). */
  get retries(): number {
    return this.retryRequests;
  }

  // Per-cycle working copies of registers (written back as d at the end of evaluate()).
  private lr = 0;
  private es = 0;
  private nr = 0;
  private npr = 0;
  private to = 0;
  private fs = 0;
  private wp = 0;
  private ap = 0;
  private rp = 0;
  private wi = 0;
  private pa = 0;
  private ackReq = 0;
  private ackReqEseq = 0;
  private ackReqEcho = 0;
  private reinitPulse = 0;
  /**
   * The registers as committed at the last edge say: LRSM NORMAL, no replay (RdPtr = WrPtr), no
   * control sequence, RETRY.Ack or re-init pulse pending. Only a full evaluate() can change those
   * registers, so it sets this from what it writes (and onReset from the reset values): a quiet
   * cycle then tests one field instead of reading six registers.
   */
  private settled = true;

  override evaluate(): void {
    // A quiet cycle: nothing arrived, nothing to send, replay or answer, no retry under way, and no
    // LLCRD due (forced: ≥ ackForceThreshold acks; timed: ≥ 2 acks idle for ackTimerCycles). Then
    // receive() and transmit() would leave every register as it is except the ack idle timer.
    const pa = this.pendingAcks.q;
    if (this.ctx.fullEvaluate === false && this.settled === true && pa < this.ackForceThreshold && (pa < 2 || this.ackIdle.q < this.ackTimerCycles) && !this.rxIn.valid() && !this.txSrc.valid()) {
      this.ackTimer(pa > 0, false);
      return;
    }
    this.lr = this.lrsm.q;
    this.es = this.eseq.q;
    this.nr = this.numRetry.q;
    this.npr = this.numPhyReinit.q;
    this.to = this.timeout.q;
    this.fs = this.framesSeen.q;
    this.wp = this.wrPtr.q;
    this.ap = this.ackPtr.q;
    this.rp = this.rdPtr.q;
    this.wi = this.wrIdx.q;
    this.pa = this.pendingAcks.q;
    this.ackReq = this.ackPending.q;
    this.ackReqEseq = this.ackEseq.q;
    this.ackReqEcho = this.ackEcho.q;
    this.reinitPulse = 0;

    this.receive();
    this.transmit();

    this.lrsm.d = this.lr;
    this.eseq.d = this.es;
    this.numRetry.d = this.nr;
    this.numPhyReinit.d = this.npr;
    this.timeout.d = this.to;
    this.framesSeen.d = this.fs;
    this.wrPtr.d = this.wp;
    this.ackPtr.d = this.ap;
    this.rdPtr.d = this.rp;
    this.wrIdx.d = this.wi;
    this.pendingAcks.d = this.pa;
    this.ackPending.d = this.ackReq;
    this.ackEseq.d = this.ackReqEseq;
    this.ackEcho.d = this.ackReqEcho;
    this.phyReinitReq.d = this.reinitPulse;
    this.settled = this.lr === Lr.Normal && this.rp === this.wp && this.ctlSeq.d === Ctl.None && this.ackReq === 0 && this.reinitPulse === 0;
  }

  // ------------------------------------------------------------------------------------------------
  // RX
  // ------------------------------------------------------------------------------------------------

  private receive(): void {
    const inCh = this.rxIn;
    while (inCh.valid()) {
      const s = inCh.pop();
      const status = this.rxInStatus[s]!;
      if (status === Status.Lost) {
        this.phyLost++;
        this.badFlit();
        continue;
      }
      if (status === Status.Retrained) {
        this.retrains++;
        this.retrained();
        continue;
      }
      const buf = inCh.bytes;
      const off = s * F68.slotBytes;
      // Protocol ID: an 8-bit code sent twice; one good copy is enough (CXL 1.1 §6.2.2).
      if (buf[off] !== F68.pidCacheMemByte && buf[off + 1] !== F68.pidCacheMemByte) {
        this.crcErrors++;
        this.badFlit();
        continue;
      }
      // One bad copy is corrected, not retried; counted so an injected fault is never invisible.
      if (buf[off] !== F68.pidCacheMemByte || buf[off + 1] !== F68.pidCacheMemByte) this.protocolIdCorrected++;
      // An Intact flit carries the bytes and CRC our peer's TX wrote: the check would pass (Phy.ts).
      if ((status !== Status.Intact || this.ctx.fullEvaluate === true) && !checkCrc16Flit68(buf, off + F68.flitOff)) {
        this.crcErrors++;
        this.badFlit();
        continue;
      }
      const kind = this.rxInKind[s]!;
      if (kind === Kind.Control && getLlCtrl68(buf, off) === Ctrl.RETRY) {
        this.retryFlit(buf, off);
        continue;
      }
      this.fs = 0;
      if (this.lr === Lr.Normal && this.rxInSeq[s] !== this.es) {
        if (this.seqMismatches++ === 0) this.firstSeqMismatchCycle = this.ctx.cycle;
      }
      this.retryable(kind, s, buf, off);
    }
    // TIMEOUT counts only while both directions are up: a retraining PHY is not a lost RETRY.Ack.
    if (this.lr === Lr.LocalIdle && this.phyTx.linkState.q === LinkState.Up && this.phyRx.linkState.q === LinkState.Up) {
      this.to++;
      if (this.to >= this.params.retryTimeoutCycles) {
        this.timeouts++;
        this.requestRetry();
      }
    }
  }

  /** A bad flit: start a retry unless one is already under way. */
  private badFlit(): void {
    this.fs = 0;
    if (this.lr === Lr.Normal) this.requestRetry();
  }

  private retrained(): void {
    this.fs = 0;
    if (this.lr === Lr.Normal || this.lr === Lr.PhyReinit || this.lr === Lr.LocalIdle) this.requestRetry();
  }

  /** Enter LLRREQ (NUM_RETRY + 1), or escalate to a PHY re-init / ABORT past the limits. */
  private requestRetry(): void {
    if (this.lr === Lr.Abort) return;
    this.to = 0;
    if (this.nr >= this.params.maxNumRetry) {
      this.nr = 0;
      if (this.npr >= this.params.maxNumPhyReinit) {
        this.lr = Lr.Abort;
        return;
      }
      this.npr++;
      this.phyReinits++;
      this.reinitPulse = 1;
      this.lr = Lr.PhyReinit;
      return;
    }
    this.nr++;
    this.retryRequests++;
    this.lr = Lr.LlrReq;
  }

  private retryFlit(buf: Uint8Array, off: number): void {
    const sub = getSubType68(buf, off);
    if (sub === Sub.retryFrame) {
      if (this.fs < Llr.retryFrames) this.fs++;
      return;
    }
    const framed = this.fs >= Llr.framesToAccept;
    this.fs = 0;
    if (!framed) return;
    if (sub === Sub.retryReq) {
      const e = getCtlPayload68(buf, off, Fld.reqEseq, 8);
      const occ = (this.wp - this.ap) & Llr.seqMask;
      if (((e - this.ap) & Llr.seqMask) > occ) {
        this.badRetryReqs++;
        return;
      }
      // Flits before ESeq reached the peer; their acks come in order with its traffic. Answer and replay from ESeq.
      this.ackReq = 1;
      this.ackReqEseq = e;
      this.ackReqEcho = getCtlPayload68(buf, off, Fld.reqNumRetry, Llr.numRetryBits);
    } else if (sub === Sub.retryAck) {
      const echo = getCtlPayload68(buf, off, Fld.ackNumRetry, Llr.numRetryBits);
      const e = getCtlPayload68(buf, off, Fld.ackEseq, 8);
      if (this.lr === Lr.LocalIdle) {
        if (echo === this.nr && e === this.es) {
          this.lr = Lr.Normal;
          this.to = 0;
        }
      } else if (this.lr === Lr.Normal) {
        this.staleAcks++;
        this.requestRetry();
      }
    }
  }

  /** A CRC-good retryable flit in rxOut slot `slot` (bytes buf[off..]). */
  private retryable(kind: number, slot: number, buf: Uint8Array, off: number): void {
    if (this.lr !== Lr.Normal) {
      this.discarded++;
      return;
    }
    const isLlcrd = kind === Kind.Control && getLlCtrl68(buf, off) === Ctrl.LLCRD && getSubType68(buf, off) === Sub.llcrdAck;
    // An LLCRD that returns no credits only carries acks: it ends here. The unpacker never sees it,
    // so it cannot disturb the unpacker's all-data (rollover) tracking.
    const forUnpacker = !isLlcrd || getHdr68(buf, off, Fld.hdrCrdFirst, Fld.hdrCrdBits) !== 0;
    const out = this.rxDst;
    if (forUnpacker && !out.canPush()) {
      // The unpacker is not keeping up: drop and have the peer replay (no flit is ever lost).
      this.overruns++;
      this.badFlit();
      return;
    }
    if (forUnpacker) {
      const o = out.push();
      this.rxDstKind[o] = kind;
      this.rxDstSeq[o] = this.es;
      const dst = out.bytes;
      const d0 = o * F68.slotBytes;
      dst.set(this.rxInFlits[slot]!, d0);
      // Repair a single bad protocol-ID copy so the unpacker sees a clean flit.
      dst[d0] = F68.pidCacheMemByte;
      dst[d0 + 1] = F68.pidCacheMemByte;
      this.flitsDelivered++;
    } else {
      this.llcrdConsumed++;
    }
    this.es = (this.es + 1) & Llr.seqMask;
    this.nr = 0;
    this.npr = 0;
    if (this.pa < Llr.maxFullAck * 2) this.pa++;
    // Acks the peer sent us (exactly once: only for flits accepted in order).
    let acks = 0;
    if (isLlcrd) {
      acks = getCtlPayload68(buf, off, Fld.llcrdAckLo, 3) | (getAk68(buf, off) ? Llr.acksPerAk : 0) | (getCtlPayload68(buf, off, Fld.llcrdAckHi, 4) << 4);
    } else if (kind !== Kind.AllData && getAk68(buf, off)) {
      acks = Llr.acksPerAk;
    }
    if (acks > 0) {
      const occ = (this.wp - this.ap) & Llr.seqMask;
      if (acks > occ) {
        this.ackOverflows++;
        acks = occ;
      }
      // A replay in progress never restarts below the acked point.
      const rdAhead = (this.rp - this.ap) & Llr.seqMask;
      this.ap = (this.ap + acks) & Llr.seqMask;
      if (rdAhead < acks) this.rp = this.ap;
    }
  }

  // ------------------------------------------------------------------------------------------------
  // TX
  // ------------------------------------------------------------------------------------------------

  private transmit(): void {
    const phyIn = this.phyTx.txIn;
    const hasAcks = this.pa > 0;
    if (!phyIn.canPush()) {
      this.ackTimer(hasAcks, false);
      return;
    }
    let seq = this.ctlSeq.q;
    let idx = this.ctlIdx.q;
    let sentAck = false;
    if (seq === Ctl.None && this.ackReq === 1) {
      seq = Ctl.Ack;
      idx = 0;
    } else if (seq === Ctl.None && this.lr === Lr.LlrReq) {
      seq = Ctl.Req;
      idx = 0;
    }
    if (seq !== Ctl.None) {
      const b = this.scratch;
      if (idx < Llr.retryFrames) {
        buildControl68(b, 0, Ctrl.RETRY, Sub.retryFrame);
        idx++;
      } else if (seq === Ctl.Ack) {
        buildControl68(b, 0, Ctrl.RETRY, Sub.retryAck);
        const occ = (this.wp - this.ap) & Llr.seqMask;
        setCtlPayload68(b, 0, Fld.ackEmpty, 1, occ === 0 ? 1 : 0);
        setCtlPayload68(b, 0, Fld.ackNumRetry, Llr.numRetryBits, this.ackReqEcho);
        setCtlPayload68(b, 0, Fld.ackWrPtr, 8, this.wp);
        setCtlPayload68(b, 0, Fld.ackEseq, 8, this.ackReqEseq);
        setCtlPayload68(b, 0, Fld.ackFreeBuf, 8, this.depth - occ);
        // Replay from the peer's ESeq (checked against the LLRB window when the Req arrived; acks since
        // then only cover flits before it, so this guard only matters for CRC-valid garbage).
        this.rp = ((this.ackReqEseq - this.ap) & Llr.seqMask) <= occ ? this.ackReqEseq : this.ap;
        this.ackReq = 0;
        this.retryAcksSent++;
        seq = Ctl.None;
        idx = 0;
      } else {
        buildControl68(b, 0, Ctrl.RETRY, Sub.retryReq);
        setCtlPayload68(b, 0, Fld.reqEseq, 8, this.es);
        setCtlPayload68(b, 0, Fld.reqNumRetry, Llr.numRetryBits, this.nr);
        setCtlPayload68(b, 0, Fld.reqNumPhyReinit, Llr.numRetryBits, this.npr);
        this.retryReqsSent++;
        // The Req is out: wait for the Ack (TIMEOUT runs from here). A new error meanwhile restarts it.
        if (this.lr === Lr.LlrReq) {
          this.lr = Lr.LocalIdle;
          this.to = 0;
        }
        seq = Ctl.None;
        idx = 0;
      }
      writeCrc16Flit68(b, F68.flitOff);
      this.send(this.scratchFlit, Kind.Control, -1);
    } else if (this.rp !== this.wp) {
      const i = this.llrbIndex(this.rp);
      if (this.llrbSeq[i] !== this.rp) this.fail(`LLRB entry ${i} holds seq ${this.llrbSeq[i]}, replay wants ${this.rp} (WrPtr ${this.wp}, AckPtr ${this.ap})`);
      this.send(this.llrbFlits[i]!, this.llrbKind[i]!, this.rp);
      this.rp = (this.rp + 1) & Llr.seqMask;
      this.replayedFlits++;
    } else {
      const free = this.depth - ((this.wp - this.ap) & Llr.seqMask);
      const src = this.txSrc;
      // Control flits may not interleave with all-data flits (CXL 3.1 §4.2.5): while the packer is
      // in the middle of a rollover, a forced LLCRD waits, unless the LLRB has only the reserved entry.
      const midRollover = src.valid() && this.srcKind[src.peek()] === Kind.AllData;
      if (free >= 1 && this.pa >= this.ackForceThreshold && (!midRollover || free < 2)) {
        this.sendLlcrd();
        sentAck = true;
      } else if (free >= 2 && src.valid()) {
        sentAck = this.sendNew(src);
      } else if (free >= 1 && this.pa >= 2 && this.ackIdle.q >= this.ackTimerCycles && (!midRollover || free < 2)) {
        this.sendLlcrd();
        sentAck = true;
      }
    }
    this.ctlSeq.d = seq;
    this.ctlIdx.d = idx;
    this.ackTimer(this.pa > 0, sentAck);
  }

  private ackTimer(hasAcks: boolean, sentAck: boolean): void {
    this.ackIdle.d = !hasAcks || sentAck ? 0 : Math.min(this.ackIdle.q + 1, 0xffff);
  }

  private llrbIndex(seq: number): number {
    const back = (this.wp - seq) & Llr.seqMask;
    return (this.wi - back + this.depth) % this.depth;
  }

  /** Append the flit in llrb[wrIdx] (already built, CRC written) and send it. */
  private commitNew(kind: number): void {
    const i = this.wi;
    this.llrbKind[i] = kind;
    this.llrbSeq[i] = this.wp;
    writeCrc16Flit68(this.llrb, i * F68.bytes + F68.flitOff);
    this.send(this.llrbFlits[i]!, kind, this.wp);
    this.wp = (this.wp + 1) & Llr.seqMask;
    this.wi = this.wi + 1 === this.depth ? 0 : this.wi + 1;
    this.rp = this.wp;
  }

  private sendNew(src: FlitChannel): boolean {
    const s = src.pop();
    const kind = this.srcKind[s]!;
    const b = this.llrb;
    const off = this.wi * F68.bytes;
    b.set(this.srcFlits[s]!, off);
    let acked = false;
    if (kind === Kind.Control && getLlCtrl68(b, off) === Ctrl.LLCRD && getSubType68(b, off) === Sub.llcrdAck) {
      acked = this.fillFullAck(b, off);
    } else if (kind !== Kind.AllData) {
      const ak = this.pa >= Llr.acksPerAk;
      setAk68(b, off, ak);
      if (ak) {
        this.pa -= Llr.acksPerAk;
        acked = true;
      }
    }
    this.commitNew(kind);
    return acked;
  }

  private fillFullAck(b: Uint8Array, off: number): boolean {
    const n = this.pa < Llr.maxFullAck ? this.pa : Llr.maxFullAck;
    setCtlPayload68(b, off, Fld.llcrdAckLo, 3, n & 7);
    setHdr68(b, off, F68.hdrAk, 1, (n >> 3) & 1);
    setCtlPayload68(b, off, Fld.llcrdAckHi, 4, n >> 4);
    this.pa -= n;
    return n > 0;
  }

  private sendLlcrd(): void {
    const off = this.wi * F68.bytes;
    buildControl68(this.llrb, off, Ctrl.LLCRD, Sub.llcrdAck);
    this.fillFullAck(this.llrb, off);
    this.llcrdSent++;
    this.commitNew(Kind.Control);
  }

  /** Push a 68B flit (a view made at elaboration) into the PHY. */
  private send(flit: Uint8Array, kind: number, seq: number): void {
    const txIn = this.phyTx.txIn;
    const o = txIn.push();
    this.txInKind[o] = kind;
    this.txInSeq[o] = seq;
    txIn.bytes.set(flit, o * F68.slotBytes);
    this.flitsSent++;
  }
}
