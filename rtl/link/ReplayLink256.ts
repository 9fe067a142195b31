import { checkFlit256, F256_BYTES, Flit256Check, writeCrcFec256 } from '../../src/bits/crc.ts';
import { recordViews } from '../../src/bits/views.ts';
import { ConfigError, Module, nsToCycles, type Channel, type Reg } from '../../src/sim/index.ts';
import { FLIT_SLOT_BYTES, FlitKind } from '../flit/FlitFormat.ts';
import { PhyState, PhyStatus, type Phy } from './Phy.ts';
import type { RetryLinkParams } from './RetryLink68.ts';

/**
 * 256B flit mode: reliability lives in the physical layer (CXL 3.1 §4.3.1, CXL 3.2 §6.2.3.1;
 * reference/cxl-protocol.md §3.1): every flit carries an explicit 10-bit Flit Sequence Number in
 * its 2-byte header, is protected by FEC then CRC (src/bits/crc.ts), and kept in a replay buffer
 * until acknowledged. This is a simplified PCIe-6-style Ack/Nak protocol, one module per link end:
 *
 * - Header (bytes 0-1, PHY-owned): byte 0 [7:6] Flit Type, [3:2] Replay Command, [1:0] seq[9:8];
 *   byte 1 seq[7:0] (CXL 3.2 T6-5/T6-6). The packer writes Flit Type; this TX writes the rest.
 * - Acks ride in the header of a new payload flit, as in PCIe 6 flit mode: Replay Command 01 = Ack,
 *   sequence field = the last sequence number received in order; such a flit's own sequence number
 *   is implicit (the previous payload flit's + 1). The RX can only trust an implicit number while it
 *   has seen every flit since the last explicit one (no bad flit, PHY marker or overrun since);
 *   otherwise it drops the flit and Naks. Replays always go out with an explicit number (the buffer
 *   keeps that form). With no payload flit to carry a due Ack, and for every Nak (Replay Command
 *   10), the TX sends a NOP flit (Flit Type 00); NOPs are never put in the replay buffer nor handed
 *   to the unpacker (CXL 3.2 T6-6: NOP/IDLE flits are not replayed).
 *   DIFFERENCE from PCIe 6: PCIe has further replay commands and sequence-number rules (e.g. explicit
 *   numbers at fixed intervals); this keeps only what an Ack/Nak protocol needs.
 * - RX: FEC-correct, CRC-check; a bad flit, a PHY Lost/Retrained marker, a sequence gap or no room in
 *   the unpacker's flitIn → one Nak (until the next in-order flit); a duplicate (behind ESeq) is
 *   dropped; an in-order flit is delivered and counted towards the next Ack.
 * - TX: Nak(s) → replay from s+1; Ack(s) frees up to s; no ack progress for retryTimeoutCycles →
 *   replay everything unacked (REPLAY_TIMER); maxNumRetry timeouts in a row → PHY re-init.
 * - Priority: Ack/Nak NOP > replay > new flit. Only a payload flit needs replay-buffer space.
 */

export const SEQ256_BITS = 10;
export const SEQ256_MOD = 1 << SEQ256_BITS;
/** Replay-buffer ceiling: half the sequence space, so "behind" and "ahead" never alias. */
export const MAX_REPLAY_ENTRIES = SEQ256_MOD / 2 - 1;
export const FlitType256 = { Nop: 0b00, CacheMem: 0b10 } as const;
export const ReplayCmd = { None: 0b00, Ack: 0b01, Nak: 0b10 } as const;
const TYPE_SHIFT = 6;
const CMD_SHIFT = 2;

type FlitChannel = Channel<'kind' | 'seq'>;

export class ReplayLink256 extends Module {
  readonly eseq: Reg;
  readonly nakSent: Reg;
  readonly pendingAcks: Reg;
  readonly ackIdle: Reg;
  readonly ackOut: Reg;
  readonly nakOut: Reg;
  readonly wrPtr: Reg;
  readonly ackPtr: Reg;
  readonly rdPtr: Reg;
  readonly wrIdx: Reg;
  readonly replayTimer: Reg;
  readonly numRetry: Reg;
  readonly phyReinitReq: Reg;
  /** RX: the previous payload flit was received good, so `lastRxSeq` + 1 is the next implicit number. */
  readonly lastRxValid: Reg;
  readonly lastRxSeq: Reg;
  /** TX: a payload flit went out before, so the next new flit may carry an Ack (implicit number). */
  readonly txStarted: Reg;

  flitsSent = 0;
  flitsDelivered = 0;
  crcErrors = 0;
  fecCorrected = 0;
  phyLost = 0;
  retrains = 0;
  overruns = 0;
  naksSent = 0;
  acksSent = 0;
  /** Acks carried in payload-flit headers (no NOP needed). */
  acksPiggybacked = 0;
  duplicates = 0;
  gaps = 0;
  replayedFlits = 0;
  timeouts = 0;
  phyReinits = 0;
  badAcks = 0;

  readonly depth: number;
  readonly ackTimerCycles: number;
  private readonly buf: Uint8Array;
  private readonly bufKind: Uint8Array;
  private readonly scratch = new Uint8Array(F256_BYTES);
  // Views of each replay-buffer entry and of each channel slot's flit, made at elaboration, so a
  // flit moves with one set() call; and the channel columns this module uses, cached.
  private readonly bufFlits: readonly Uint8Array[];
  private readonly srcFlits: readonly Uint8Array[];
  private readonly srcKind: Float64Array;
  private readonly rxInFlits: readonly Uint8Array[];
  private readonly rxInKind: Float64Array;
  private readonly rxInStatus: Float64Array;
  private readonly rxDstKind: Float64Array;
  private readonly rxDstSeq: Float64Array;
  private readonly txInKind: Float64Array;
  private readonly txInSeq: Float64Array;

  constructor(
    parent: Module,
    name: string,
    readonly params: RetryLinkParams,
    readonly txSrc: FlitChannel,
    readonly rxDst: FlitChannel,
    readonly phyTx: Phy,
    readonly phyRx: Phy,
  ) {
    super(parent, name);
    const p = params;
    if (!(Number.isInteger(p.retryBufferEntries) && p.retryBufferEntries >= 2 && p.retryBufferEntries <= MAX_REPLAY_ENTRIES)) {
      throw new ConfigError(`${this.path}.retryBufferEntries`, `must be an integer in 2..${MAX_REPLAY_ENTRIES} (half the 10-bit sequence space)`);
    }
    if (phyTx.params.flitMode !== '256B' || phyRx.params.flitMode !== '256B') throw new ConfigError(this.path, 'ReplayLink256 needs 256B PHYs');
    this.depth = p.retryBufferEntries;
    this.ackTimerCycles = Math.max(1, nsToCycles(p.ackTimerNs, this.ctx));
    this.buf = new Uint8Array(this.depth * F256_BYTES);
    this.bufKind = new Uint8Array(this.depth);
    this.bufFlits = recordViews(this.buf, this.depth, F256_BYTES, F256_BYTES);
    this.srcFlits = recordViews(txSrc.bytes, txSrc.depth, FLIT_SLOT_BYTES, F256_BYTES);
    this.srcKind = txSrc.col.kind;
    this.rxInFlits = recordViews(phyRx.rxOut.bytes, phyRx.rxOut.depth, FLIT_SLOT_BYTES, F256_BYTES);
    this.rxInKind = phyRx.rxOut.col.kind;
    this.rxInStatus = phyRx.rxOut.col.phyStatus;
    this.rxDstKind = rxDst.col.kind;
    this.rxDstSeq = rxDst.col.seq;
    this.txInKind = phyTx.txIn.col.kind;
    this.txInSeq = phyTx.txIn.col.seq;
    this.eseq = this.reg('eseq', SEQ256_BITS, 0);
    this.nakSent = this.reg('nakSent', 1, 0);
    this.pendingAcks = this.reg('pendingAcks', 16, 0);
    this.ackIdle = this.reg('ackIdle', 16, 0);
    this.ackOut = this.reg('ackOut', 1, 0);
    this.nakOut = this.reg('nakOut', 1, 0);
    this.wrPtr = this.reg('wrPtr', SEQ256_BITS, 0);
    this.ackPtr = this.reg('ackPtr', SEQ256_BITS, 0);
    this.rdPtr = this.reg('rdPtr', SEQ256_BITS, 0);
    this.wrIdx = this.reg('wrIdx', SEQ256_BITS, 0);
    this.replayTimer = this.reg('replayTimer', 32, 0);
    this.numRetry = this.reg('numRetry', 8, 0);
    this.phyReinitReq = this.reg('phyReinitReq', 1, 0);
    this.lastRxValid = this.reg('lastRxValid', 1, 0);
    this.lastRxSeq = this.reg('lastRxSeq', SEQ256_BITS, 0);
    this.txStarted = this.reg('txStarted', 1, 0);
    // One fill for all of this module's probes: the tracer calls it once per cycle, not a closure per probe.
    this.probeGroup(['replayOccupancy', 'crcErrors', 'naksSent', 'replayedFlits'], [SEQ256_BITS, 32, 32, 32], (v) => {
      v[0] = (this.wrPtr.q - this.ackPtr.q) & (SEQ256_MOD - 1);
      v[1] = this.crcErrors;
      v[2] = this.naksSent;
      v[3] = this.replayedFlits;
    });
  }

  override onReset(): void {
    this.flitsSent = this.flitsDelivered = this.crcErrors = this.fecCorrected = this.phyLost = this.retrains = this.overruns = 0;
    this.naksSent = this.acksSent = this.acksPiggybacked = this.duplicates = this.gaps = this.replayedFlits = this.timeouts = this.phyReinits = this.badAcks = 0;
  }

  /** Replays this end asked for (Naks sent). */
  get retries(): number {
    return this.naksSent;
  }

  private es = 0;
  private ns = 0;
  private pa = 0;
  private ao = 0;
  private no = 0;
  private wp = 0;
  private ap = 0;
  private rp = 0;
  private wi = 0;
  private rt = 0;
  private nr = 0;
  private progress = false;
  private lv = 0;
  private ls = 0;

  override evaluate(): void {
    // A quiet cycle: nothing arrived or waits to be sent, nothing unacked (so no replay timer), no
    // Ack/Nak or re-init pulse pending and no Ack due yet. The full path would only advance the ack
    // idle timer.
    const pa = this.pendingAcks.q;
    if (
      !this.ctx.fullEvaluate &&
      this.wrPtr.q === this.ackPtr.q &&
      this.rdPtr.q === this.wrPtr.q &&
      this.replayTimer.q === 0 &&
      this.nakOut.q === 0 &&
      this.ackOut.q === 0 &&
      this.phyReinitReq.q === 0 &&
      pa < this.params.ackForceThreshold &&
      (pa === 0 || this.ackIdle.q < this.ackTimerCycles) &&
      !this.phyRx.rxOut.valid() &&
      !this.txSrc.valid()
    ) {
      this.ackIdle.d = pa === 0 ? 0 : Math.min(this.ackIdle.q + 1, 0xffff);
      return;
    }
    this.es = this.eseq.q;
    this.ns = this.nakSent.q;
    this.pa = this.pendingAcks.q;
    this.ao = this.ackOut.q;
    this.no = this.nakOut.q;
    this.wp = this.wrPtr.q;
    this.ap = this.ackPtr.q;
    this.rp = this.rdPtr.q;
    this.wi = this.wrIdx.q;
    this.rt = this.replayTimer.q;
    this.nr = this.numRetry.q;
    this.progress = false;
    this.lv = this.lastRxValid.q;
    this.ls = this.lastRxSeq.q;
    let reinit = 0;

    this.receive();

    // REPLAY_TIMER: unacked flits and no ack progress for too long → replay all of them.
    const occ = (this.wp - this.ap) & (SEQ256_MOD - 1);
    // The timer holds while either direction is down or retraining (as PCIe's REPLAY_TIMER in Recovery).
    const linkUp = this.phyTx.linkState.q === PhyState.Up && this.phyRx.linkState.q === PhyState.Up;
    if (occ === 0 || this.progress || !linkUp) this.rt = 0;
    else if (++this.rt >= this.params.retryTimeoutCycles) {
      this.rt = 0;
      this.timeouts++;
      this.rp = this.ap;
      if (++this.nr > this.params.maxNumRetry) {
        this.nr = 0;
        this.phyReinits++;
        reinit = 1;
      }
    }

    this.transmit();

    this.eseq.d = this.es;
    this.nakSent.d = this.ns;
    this.pendingAcks.d = this.pa;
    this.ackOut.d = this.ao;
    this.nakOut.d = this.no;
    this.wrPtr.d = this.wp;
    this.ackPtr.d = this.ap;
    this.rdPtr.d = this.rp;
    this.wrIdx.d = this.wi;
    this.replayTimer.d = this.rt;
    this.numRetry.d = this.nr;
    this.phyReinitReq.d = reinit;
    this.lastRxValid.d = this.lv;
    this.lastRxSeq.d = this.ls;
  }

  private bad(): void {
    this.lv = 0;
    if (this.ns === 0) {
      this.ns = 1;
      this.no = 1;
    }
  }

  private receive(): void {
    const inCh = this.phyRx.rxOut;
    while (inCh.valid()) {
      const s = inCh.pop();
      const st = this.rxInStatus[s]!;
      if (st === PhyStatus.Lost) {
        this.phyLost++;
        this.bad();
        continue;
      }
      if (st === PhyStatus.Retrained) {
        this.retrains++;
        this.bad();
        continue;
      }
      const b = inCh.bytes;
      const off = s * FLIT_SLOT_BYTES;
      // An Intact flit carries the bytes, CRC and FEC our peer's TX wrote: the check would find it Clean (Phy.ts).
      const chk = st === PhyStatus.Intact && !this.ctx.fullEvaluate ? Flit256Check.Clean : checkFlit256(b, off);
      if (chk === Flit256Check.Bad) {
        this.crcErrors++;
        this.bad();
        continue;
      }
      if (chk === Flit256Check.Corrected) this.fecCorrected++;
      const type = b[off]! >> TYPE_SHIFT;
      const cmd = (b[off]! >> CMD_SHIFT) & 3;
      const field = ((b[off]! & 3) << 8) | b[off + 1]!;
      if (type === FlitType256.Nop) {
        if (cmd === ReplayCmd.Ack || cmd === ReplayCmd.Nak) this.ackNak(cmd, field);
        continue;
      }
      let seq = field;
      if (cmd === ReplayCmd.Ack) {
        this.ackNak(cmd, field);
        if (this.lv === 0) {
          // Implicit number after a flit we did not see: cannot place it.
          this.gaps++;
          this.bad();
          continue;
        }
        seq = (this.ls + 1) & (SEQ256_MOD - 1);
      }
      this.lv = 1;
      this.ls = seq;
      if (seq !== this.es) {
        const behind = (this.es - seq) & (SEQ256_MOD - 1);
        if (behind > 0 && behind <= MAX_REPLAY_ENTRIES) this.duplicates++;
        else {
          this.gaps++;
          this.bad();
        }
        continue;
      }
      const out = this.rxDst;
      if (!out.canPush()) {
        this.overruns++;
        this.bad();
        continue;
      }
      const o = out.push();
      this.rxDstKind[o] = this.rxInKind[s]!;
      this.rxDstSeq[o] = seq;
      out.bytes.set(this.rxInFlits[s]!, o * FLIT_SLOT_BYTES);
      this.flitsDelivered++;
      this.es = (this.es + 1) & (SEQ256_MOD - 1);
      this.ns = 0;
      if (this.pa < 0xffff) this.pa++;
    }
  }

  /** Ack(s) / Nak(s): s = last flit the peer received in order. */
  private ackNak(cmd: number, s: number): void {
    const occ = (this.wp - this.ap) & (SEQ256_MOD - 1);
    const n = (s + 1 - this.ap) & (SEQ256_MOD - 1); // flits this (n)ack covers
    if (n > occ) {
      // Older than our ack point (a late ack): nothing new. Anything else cannot happen.
      if (((this.ap - (s + 1)) & (SEQ256_MOD - 1)) > MAX_REPLAY_ENTRIES) this.badAcks++;
      if (cmd === ReplayCmd.Nak) this.rp = this.ap;
      return;
    }
    if (n > 0) {
      this.progress = true;
      this.nr = 0;
    }
    const rdAhead = (this.rp - this.ap) & (SEQ256_MOD - 1);
    this.ap = (s + 1) & (SEQ256_MOD - 1);
    if (cmd === ReplayCmd.Nak || rdAhead < n) this.rp = this.ap;
  }

  private transmit(): void {
    const ch = this.phyTx.txIn;
    let sentAck = false;
    if (ch.canPush()) {
      const ackDue = this.ao === 1 || this.pa >= this.params.ackForceThreshold || (this.pa > 0 && this.ackIdle.q >= this.ackTimerCycles);
      const canNew = this.rp === this.wp && this.txSrc.valid() && ((this.wp - this.ap) & (SEQ256_MOD - 1)) < this.depth;
      const piggyback = ackDue && canNew && this.txStarted.q === 1;
      if (this.no === 1 || (ackDue && !piggyback)) {
        const b = this.scratch;
        b.fill(0);
        const last = (this.es - 1) & (SEQ256_MOD - 1);
        const cmd = this.no === 1 ? ReplayCmd.Nak : ReplayCmd.Ack;
        b[0] = (FlitType256.Nop << TYPE_SHIFT) | (cmd << CMD_SHIFT) | (last >> 8);
        b[1] = last & 0xff;
        writeCrcFec256(b, 0);
        this.send(b, FlitKind.Control, -1);
        if (cmd === ReplayCmd.Nak) this.naksSent++;
        else this.acksSent++;
        this.no = 0;
        this.ao = 0;
        this.pa = 0;
        sentAck = true;
      } else if (this.rp !== this.wp) {
        const i = this.index(this.rp);
        this.send(this.bufFlits[i]!, this.bufKind[i]!, this.rp);
        this.rp = (this.rp + 1) & (SEQ256_MOD - 1);
        this.replayedFlits++;
      } else if (canNew) {
        const src = this.txSrc;
        const s = src.pop();
        const i = this.wi;
        const off = i * F256_BYTES;
        this.buf.set(this.srcFlits[s]!, off);
        this.buf[off] = (this.buf[off]! & 0xf0) | (ReplayCmd.None << CMD_SHIFT) | (this.wp >> 8);
        this.buf[off + 1] = this.wp & 0xff;
        writeCrcFec256(this.buf, off);
        this.bufKind[i] = this.srcKind[s]!;
        if (piggyback) {
          // Same flit, header carrying the Ack instead of its own (now implicit) number.
          const b = this.scratch;
          b.set(this.bufFlits[i]!, 0);
          const last = (this.es - 1) & (SEQ256_MOD - 1);
          b[0] = (b[0]! & 0xf0) | (ReplayCmd.Ack << CMD_SHIFT) | (last >> 8);
          b[1] = last & 0xff;
          writeCrcFec256(b, 0);
          this.send(b, this.bufKind[i]!, this.wp);
          this.acksPiggybacked++;
          this.ao = 0;
          this.pa = 0;
          sentAck = true;
        } else {
          this.send(this.bufFlits[i]!, this.bufKind[i]!, this.wp);
        }
        this.txStarted.d = 1;
        this.wp = (this.wp + 1) & (SEQ256_MOD - 1);
        this.wi = this.wi + 1 === this.depth ? 0 : this.wi + 1;
        this.rp = this.wp;
      }
    }
    this.ackIdle.d = this.pa === 0 || sentAck ? 0 : Math.min(this.ackIdle.q + 1, 0xffff);
  }

  private index(seq: number): number {
    const back = (this.wp - seq) & (SEQ256_MOD - 1);
    return (this.wi - back + this.depth) % this.depth;
  }

  /** Push a 256B flit (the scratch buffer or a view made at elaboration) into the PHY. */
  private send(flit: Uint8Array, kind: number, seq: number): void {
    const txIn = this.phyTx.txIn;
    const o = txIn.push();
    this.txInKind[o] = kind;
    this.txInSeq[o] = seq;
    txIn.bytes.set(flit, o * FLIT_SLOT_BYTES);
    this.flitsSent++;
  }
}
