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

export const SEQ_MOD = 256;
/** RETRY.Frame flits the TX sends before a RETRY.Req or RETRY.Ack (CXL 3.1 §4.2.8.4, Fig. 4-40). */
export const RETRY_FRAMES = 5;
/**
 * Good RETRY.Frame flits that must directly precede a RETRY.Req/Ack for the RX to act on it. The
 * spec's 5 frames exist so a receiver that lost track of all-data flits after a CRC error (up to 4
 * back-to-back ADFs) still finds a header flit; this model carries the flit kind beside the bytes,
 * so one good frame is enough to frame the sequence. Requiring all 5 made recovery at high error
 * rates needlessly slow (6 + 6 flits all clean per attempt). Model choice, not spec text.
 */
export const RETRY_FRAMES_TO_ACCEPT = 1;
/** Minimum LLRB depth in CXL 3.x (16 forced-ack + 4 back-to-back all-data + 2; reference §4.2). */
export const MIN_LLRB_ENTRIES = 22;
/** LLCRD Full_Ack is 8 bits (Full_Ack = {Ack[7:4], hdr.Ak, Ack[2:0]}, CXL 3.1 T4-10). */
export const MAX_FULL_ACK = 255;
/** One Ak bit in a flit header acknowledges 8 flits (CXL 3.1 §4.2.2). */
export const ACKS_PER_AK = 8;

/** Local retry state machine states (register `lrsm`). */
export const Lrsm = { Normal: 0, LlrReq: 1, LocalIdle: 2, PhyReinit: 3, Abort: 4 } as const;
/** TX control sequence in progress (register `ctlSeq`). */
export const CtlSeq = { None: 0, Ack: 1, Req: 2 } as const;

// RETRY.Req payload fields (CXL 3.1 T4-10): [7:0] ESeq, [20:16] NUM_RETRY, [25:21] NUM_PHY_REINIT.
const REQ_ESEQ = 0, REQ_NUM_RETRY = 16, REQ_NUM_PHY_REINIT = 21;
// RETRY.Ack payload fields: [0] Empty, [7:3] NUM_RETRY echo, [15:8] WrPtr, [23:16] ESeq echo, [31:24] NumFreeBuf.
const ACK_EMPTY = 0, ACK_NUM_RETRY = 3, ACK_WRPTR = 8, ACK_ESEQ = 16, ACK_FREEBUF = 24;
const NUM_RETRY_BITS = 5;
// LLCRD Ack payload: Ack[2:0] at [2:0], Ack[7:4] at [7:4]; Ack[3] is the header Ak bit.
const LLCRD_ACK_LO = 0, LLCRD_ACK_HI = 4;
/** Header credit-return fields RspCrd/ReqCrd/DataCrd: bits [31:20] (CXL 3.1 Fig. 4-7; reference §2.2). */
const HDR68_CRD_FIRST = HDR68_RSPCRD;
const HDR68_CRD_BITS = 12;
/** Protocol ID byte for CXL.cache/mem (0x55 sent twice, CXL 1.1 §6.2.2). */
const PID_CACHEMEM_BYTE = 0x55;

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
  private readonly scratch = new Uint8Array(FLIT_SLOT_BYTES);
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
    if (!(Number.isInteger(p.maxNumRetry) && p.maxNumRetry >= 1 && p.maxNumRetry < 2 ** NUM_RETRY_BITS)) throw new ConfigError(`${this.path}.maxNumRetry`, 'must be an integer in 1..31');
    if (!(Number.isInteger(p.maxNumPhyReinit) && p.maxNumPhyReinit >= 1 && p.maxNumPhyReinit < 2 ** NUM_RETRY_BITS)) throw new ConfigError(`${this.path}.maxNumPhyReinit`, 'must be an integer in 1..31');
    if (!(Number.isInteger(p.retryTimeoutCycles) && p.retryTimeoutCycles >= 1)) throw new ConfigError(`${this.path}.retryTimeoutCycles`, 'must be an integer ≥ 1');
    if (!(Number.isInteger(p.ackForceThreshold) && p.ackForceThreshold >= ACKS_PER_AK && p.ackForceThreshold <= Math.min(MAX_FULL_ACK, p.retryBufferEntries - 2))) {
      throw new ConfigError(`${this.path}.ackForceThreshold`, `must be an integer in ${ACKS_PER_AK}..retryBufferEntries-2`);
    }
    if (phyTx.params.flitMode !== '68B' || phyRx.params.flitMode !== '68B') throw new ConfigError(`${this.path}`, 'RetryLink68 needs 68B PHYs');
    this.depth = p.retryBufferEntries;
    this.ackTimerCycles = Math.max(1, nsToCycles(p.ackTimerNs, this.ctx));
    this.ackForceThreshold = p.ackForceThreshold;
    this.llrb = new Uint8Array(this.depth * F68_BYTES);
    this.llrbKind = new Uint8Array(this.depth);
    this.llrbSeq = new Int16Array(this.depth);
    this.llrbFlits = recordViews(this.llrb, this.depth, F68_BYTES, F68_BYTES);
    this.scratchFlit = this.scratch.subarray(0, F68_BYTES);
    this.srcFlits = recordViews(txSrc.bytes, txSrc.depth, FLIT_SLOT_BYTES, F68_BYTES);
    this.srcKind = txSrc.col.kind;
    this.rxDstKind = rxDst.col.kind;
    this.rxDstSeq = rxDst.col.seq;
    this.txInKind = phyTx.txIn.col.kind;
    this.txInSeq = phyTx.txIn.col.seq;
    this.rxIn = phyRx.rxOut;
    this.rxInFlits = recordViews(phyRx.rxOut.bytes, phyRx.rxOut.depth, FLIT_SLOT_BYTES, F68_BYTES);
    this.rxInKind = phyRx.rxOut.col.kind;
    this.rxInSeq = phyRx.rxOut.col.seq;
    this.rxInStatus = phyRx.rxOut.col.phyStatus;

    this.lrsm = this.reg('lrsm', 3, Lrsm.Normal);
    this.eseq = this.reg('eseq', 8, 0);
    this.numRetry = this.reg('numRetry', NUM_RETRY_BITS, 0);
    this.numPhyReinit = this.reg('numPhyReinit', NUM_RETRY_BITS, 0);
    this.timeout = this.reg('timeout', 32, 0);
    this.framesSeen = this.reg('framesSeen', 3, 0);
    this.phyReinitReq = this.reg('phyReinitReq', 1, 0);
    this.wrPtr = this.reg('wrPtr', 8, 0);
    this.ackPtr = this.reg('ackPtr', 8, 0);
    this.rdPtr = this.reg('rdPtr', 8, 0);
    this.wrIdx = this.reg('wrIdx', 8, 0);
    this.ctlSeq = this.reg('ctlSeq', 2, CtlSeq.None);
    this.ctlIdx = this.reg('ctlIdx', 3, 0);
    this.ackPending = this.reg('ackPending', 1, 0);
    this.ackEseq = this.reg('ackEseq', 8, 0);
    this.ackEcho = this.reg('ackEcho', NUM_RETRY_BITS, 0);
    this.pendingAcks = this.reg('pendingAcks', 9, 0);
    this.ackIdle = this.reg('ackIdle', 16, 0);
    // One fill for all of this module's probes: the tracer calls it once per cycle, not a closure per probe.
    this.probeGroup(['llrbOccupancy', 'crcErrors', 'retryReqsSent', 'replayedFlits'], [8, 32, 32, 32], (v) => {
      v[0] = (this.wrPtr.q - this.ackPtr.q) & (SEQ_MOD - 1);
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
    this.settled = this.lrsm.q === Lrsm.Normal && this.rdPtr.q === this.wrPtr.q && this.ctlSeq.q === CtlSeq.None && this.ackPending.q === 0 && this.phyReinitReq.q === 0;
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
    if (!this.ctx.fullEvaluate && this.settled && pa < this.ackForceThreshold && (pa < 2 || this.ackIdle.q < this.ackTimerCycles) && !this.rxIn.valid() && !this.txSrc.valid()) {
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
    this.settled = this.lr === Lrsm.Normal && this.rp === this.wp && this.ctlSeq.d === CtlSeq.None && this.ackReq === 0 && this.reinitPulse === 0;
  }

  // ------------------------------------------------------------------------------------------------
  // RX
  // ------------------------------------------------------------------------------------------------

  private receive(): void {
    const inCh = this.rxIn;
    while (inCh.valid()) {
      const s = inCh.pop();
      const status = this.rxInStatus[s]!;
      if (status === PhyStatus.Lost) {
        this.phyLost++;
        this.badFlit();
        continue;
      }
      if (status === PhyStatus.Retrained) {
        this.retrains++;
        this.retrained();
        continue;
      }
      const buf = inCh.bytes;
      const off = s * FLIT_SLOT_BYTES;
      // Protocol ID: an 8-bit code sent twice; one good copy is enough (CXL 1.1 §6.2.2).
      if (buf[off] !== PID_CACHEMEM_BYTE && buf[off + 1] !== PID_CACHEMEM_BYTE) {
        this.crcErrors++;
        this.badFlit();
        continue;
      }
      // One bad copy is corrected, not retried; counted so an injected fault is never invisible.
      if (buf[off] !== PID_CACHEMEM_BYTE || buf[off + 1] !== PID_CACHEMEM_BYTE) this.protocolIdCorrected++;
      // An Intact flit carries the bytes and CRC our peer's TX wrote: the check would pass (Phy.ts).
      if ((status !== PhyStatus.Intact || this.ctx.fullEvaluate) && !checkCrc16Flit68(buf, off + F68_FLIT_OFF)) {
        this.crcErrors++;
        this.badFlit();
        continue;
      }
      const kind = this.rxInKind[s]!;
      if (kind === FlitKind.Control && getLlCtrl68(buf, off) === LlCtrl.RETRY) {
        this.retryFlit(buf, off);
        continue;
      }
      this.fs = 0;
      if (this.lr === Lrsm.Normal && this.rxInSeq[s] !== this.es) {
        if (this.seqMismatches++ === 0) this.firstSeqMismatchCycle = this.ctx.cycle;
      }
      this.retryable(kind, s, buf, off);
    }
    // TIMEOUT counts only while both directions are up: a retraining PHY is not a lost RETRY.Ack.
    if (this.lr === Lrsm.LocalIdle && this.phyTx.linkState.q === PhyState.Up && this.phyRx.linkState.q === PhyState.Up) {
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
    if (this.lr === Lrsm.Normal) this.requestRetry();
  }

  private retrained(): void {
    this.fs = 0;
    if (this.lr === Lrsm.Normal || this.lr === Lrsm.PhyReinit || this.lr === Lrsm.LocalIdle) this.requestRetry();
  }

  /** Enter LLRREQ (NUM_RETRY + 1), or escalate to a PHY re-init / ABORT past the limits. */
  private requestRetry(): void {
    if (this.lr === Lrsm.Abort) return;
    this.to = 0;
    if (this.nr >= this.params.maxNumRetry) {
      this.nr = 0;
      if (this.npr >= this.params.maxNumPhyReinit) {
        this.lr = Lrsm.Abort;
        return;
      }
      this.npr++;
      this.phyReinits++;
      this.reinitPulse = 1;
      this.lr = Lrsm.PhyReinit;
      return;
    }
    this.nr++;
    this.retryRequests++;
    this.lr = Lrsm.LlrReq;
  }

  private retryFlit(buf: Uint8Array, off: number): void {
    const sub = getSubType68(buf, off);
    if (sub === RetrySub.Frame) {
      if (this.fs < RETRY_FRAMES) this.fs++;
      return;
    }
    const framed = this.fs >= RETRY_FRAMES_TO_ACCEPT;
    this.fs = 0;
    if (!framed) return;
    if (sub === RetrySub.Req) {
      const e = getCtlPayload68(buf, off, REQ_ESEQ, 8);
      const occ = (this.wp - this.ap) & (SEQ_MOD - 1);
      if (((e - this.ap) & (SEQ_MOD - 1)) > occ) {
        this.badRetryReqs++;
        return;
      }
      // Flits before ESeq reached the peer; their acks come in order with its traffic. Answer and replay from ESeq.
      this.ackReq = 1;
      this.ackReqEseq = e;
      this.ackReqEcho = getCtlPayload68(buf, off, REQ_NUM_RETRY, NUM_RETRY_BITS);
    } else if (sub === RetrySub.Ack) {
      const echo = getCtlPayload68(buf, off, ACK_NUM_RETRY, NUM_RETRY_BITS);
      const e = getCtlPayload68(buf, off, ACK_ESEQ, 8);
      if (this.lr === Lrsm.LocalIdle) {
        if (echo === this.nr && e === this.es) {
          this.lr = Lrsm.Normal;
          this.to = 0;
        }
      } else if (this.lr === Lrsm.Normal) {
        this.staleAcks++;
        this.requestRetry();
      }
    }
  }

  /** A CRC-good retryable flit in rxOut slot `slot` (bytes buf[off..]). */
  private retryable(kind: number, slot: number, buf: Uint8Array, off: number): void {
    if (this.lr !== Lrsm.Normal) {
      this.discarded++;
      return;
    }
    const isLlcrd = kind === FlitKind.Control && getLlCtrl68(buf, off) === LlCtrl.LLCRD && getSubType68(buf, off) === LLCRD_ACK_SUB;
    // An LLCRD that returns no credits only carries acks: it ends here. The unpacker never sees it,
    // so it cannot disturb the unpacker's all-data (rollover) tracking.
    const forUnpacker = !isLlcrd || getHdr68(buf, off, HDR68_CRD_FIRST, HDR68_CRD_BITS) !== 0;
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
      const d0 = o * FLIT_SLOT_BYTES;
      dst.set(this.rxInFlits[slot]!, d0);
      // Repair a single bad protocol-ID copy so the unpacker sees a clean flit.
      dst[d0] = PID_CACHEMEM_BYTE;
      dst[d0 + 1] = PID_CACHEMEM_BYTE;
      this.flitsDelivered++;
    } else {
      this.llcrdConsumed++;
    }
    this.es = (this.es + 1) & (SEQ_MOD - 1);
    this.nr = 0;
    this.npr = 0;
    if (this.pa < MAX_FULL_ACK * 2) this.pa++;
    // Acks the peer sent us (exactly once: only for flits accepted in order).
    let acks = 0;
    if (isLlcrd) {
      acks = getCtlPayload68(buf, off, LLCRD_ACK_LO, 3) | (getAk68(buf, off) ? ACKS_PER_AK : 0) | (getCtlPayload68(buf, off, LLCRD_ACK_HI, 4) << 4);
    } else if (kind !== FlitKind.AllData && getAk68(buf, off)) {
      acks = ACKS_PER_AK;
    }
    if (acks > 0) {
      const occ = (this.wp - this.ap) & (SEQ_MOD - 1);
      if (acks > occ) {
        this.ackOverflows++;
        acks = occ;
      }
      // A replay in progress never restarts below the acked point.
      const rdAhead = (this.rp - this.ap) & (SEQ_MOD - 1);
      this.ap = (this.ap + acks) & (SEQ_MOD - 1);
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
    if (seq === CtlSeq.None && this.ackReq === 1) {
      seq = CtlSeq.Ack;
      idx = 0;
    } else if (seq === CtlSeq.None && this.lr === Lrsm.LlrReq) {
      seq = CtlSeq.Req;
      idx = 0;
    }
    if (seq !== CtlSeq.None) {
      const b = this.scratch;
      if (idx < RETRY_FRAMES) {
        buildControl68(b, 0, LlCtrl.RETRY, RetrySub.Frame);
        idx++;
      } else if (seq === CtlSeq.Ack) {
        buildControl68(b, 0, LlCtrl.RETRY, RetrySub.Ack);
        const occ = (this.wp - this.ap) & (SEQ_MOD - 1);
        setCtlPayload68(b, 0, ACK_EMPTY, 1, occ === 0 ? 1 : 0);
        setCtlPayload68(b, 0, ACK_NUM_RETRY, NUM_RETRY_BITS, this.ackReqEcho);
        setCtlPayload68(b, 0, ACK_WRPTR, 8, this.wp);
        setCtlPayload68(b, 0, ACK_ESEQ, 8, this.ackReqEseq);
        setCtlPayload68(b, 0, ACK_FREEBUF, 8, this.depth - occ);
        // Replay from the peer's ESeq (checked against the LLRB window when the Req arrived; acks since
        // then only cover flits before it, so this guard only matters for CRC-valid garbage).
        this.rp = ((this.ackReqEseq - this.ap) & (SEQ_MOD - 1)) <= occ ? this.ackReqEseq : this.ap;
        this.ackReq = 0;
        this.retryAcksSent++;
        seq = CtlSeq.None;
        idx = 0;
      } else {
        buildControl68(b, 0, LlCtrl.RETRY, RetrySub.Req);
        setCtlPayload68(b, 0, REQ_ESEQ, 8, this.es);
        setCtlPayload68(b, 0, REQ_NUM_RETRY, NUM_RETRY_BITS, this.nr);
        setCtlPayload68(b, 0, REQ_NUM_PHY_REINIT, NUM_RETRY_BITS, this.npr);
        this.retryReqsSent++;
        // The Req is out: wait for the Ack (TIMEOUT runs from here). A new error meanwhile restarts it.
        if (this.lr === Lrsm.LlrReq) {
          this.lr = Lrsm.LocalIdle;
          this.to = 0;
        }
        seq = CtlSeq.None;
        idx = 0;
      }
      writeCrc16Flit68(b, F68_FLIT_OFF);
      this.send(this.scratchFlit, FlitKind.Control, -1);
    } else if (this.rp !== this.wp) {
      const i = this.llrbIndex(this.rp);
      if (this.llrbSeq[i] !== this.rp) this.fail(`LLRB entry ${i} holds seq ${this.llrbSeq[i]}, replay wants ${this.rp} (WrPtr ${this.wp}, AckPtr ${this.ap})`);
      this.send(this.llrbFlits[i]!, this.llrbKind[i]!, this.rp);
      this.rp = (this.rp + 1) & (SEQ_MOD - 1);
      this.replayedFlits++;
    } else {
      const free = this.depth - ((this.wp - this.ap) & (SEQ_MOD - 1));
      const src = this.txSrc;
      // Control flits may not interleave with all-data flits (CXL 3.1 §4.2.5): while the packer is
      // in the middle of a rollover, a forced LLCRD waits, unless the LLRB has only the reserved entry.
      const midRollover = src.valid() && this.srcKind[src.peek()] === FlitKind.AllData;
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
    const back = (this.wp - seq) & (SEQ_MOD - 1);
    return (this.wi - back + this.depth) % this.depth;
  }

  /** Append the flit in llrb[wrIdx] (already built, CRC written) and send it. */
  private commitNew(kind: number): void {
    const i = this.wi;
    this.llrbKind[i] = kind;
    this.llrbSeq[i] = this.wp;
    writeCrc16Flit68(this.llrb, i * F68_BYTES + F68_FLIT_OFF);
    this.send(this.llrbFlits[i]!, kind, this.wp);
    this.wp = (this.wp + 1) & (SEQ_MOD - 1);
    this.wi = this.wi + 1 === this.depth ? 0 : this.wi + 1;
    this.rp = this.wp;
  }

  private sendNew(src: FlitChannel): boolean {
    const s = src.pop();
    const kind = this.srcKind[s]!;
    const b = this.llrb;
    const off = this.wi * F68_BYTES;
    b.set(this.srcFlits[s]!, off);
    let acked = false;
    if (kind === FlitKind.Control && getLlCtrl68(b, off) === LlCtrl.LLCRD && getSubType68(b, off) === LLCRD_ACK_SUB) {
      acked = this.fillFullAck(b, off);
    } else if (kind !== FlitKind.AllData) {
      const ak = this.pa >= ACKS_PER_AK;
      setAk68(b, off, ak);
      if (ak) {
        this.pa -= ACKS_PER_AK;
        acked = true;
      }
    }
    this.commitNew(kind);
    return acked;
  }

  private fillFullAck(b: Uint8Array, off: number): boolean {
    const n = this.pa < MAX_FULL_ACK ? this.pa : MAX_FULL_ACK;
    setCtlPayload68(b, off, LLCRD_ACK_LO, 3, n & 7);
    setHdr68(b, off, HDR68_AK, 1, (n >> 3) & 1);
    setCtlPayload68(b, off, LLCRD_ACK_HI, 4, n >> 4);
    this.pa -= n;
    return n > 0;
  }

  private sendLlcrd(): void {
    const off = this.wi * F68_BYTES;
    buildControl68(this.llrb, off, LlCtrl.LLCRD, LLCRD_ACK_SUB);
    this.fillFullAck(this.llrb, off);
    this.llcrdSent++;
    this.commitNew(FlitKind.Control);
  }

  /** Push a 68B flit (a view made at elaboration) into the PHY. */
  private send(flit: Uint8Array, kind: number, seq: number): void {
    const txIn = this.phyTx.txIn;
    const o = txIn.push();
    this.txInKind[o] = kind;
    this.txInSeq[o] = seq;
    txIn.bytes.set(flit, o * FLIT_SLOT_BYTES);
    this.flitsSent++;
  }
}
