import { Module } from '../../src/sim/index.ts';
import { LINE_BYTES } from '../cxl/opcodes.ts';
import { DramOp, dramReqChannel, dramRspChannel, type DramReqChannel, type DramRspChannel } from './DramMsg.ts';
import { dramTiming, validateDramParams, type DramParams, type DramTiming } from './DramParams.ts';
import { copyLine, fillLine, LINE_WORDS, lineWords } from '../cxl/LineWords.ts';
import { BE_HALF_ALL, SparseMemory } from './SparseMemory.ts';

/**
 * The per-cycle code's numbers as `const enum`s: the TypeScript transform writes their members as
 * literals, where a module-level constant or enum object is loaded and type-checked at each use in
 * V8's optimized code. Mirrors of other files' constants (and of BankState) are checked at load.
 */
const enum D {
  /** Bank has no open row (before its first ACT). Rows are ≥ 0, so -1 never matches one. */
  rowClosed = -1,
  /** Probe slot of ch0_dataBusBusy (after queueOccupancy and inFlight); the banks follow the channels. */
  probeFirstChannel = 2,
  /** LINE_BYTES (opcodes.ts) and LINE_WORDS (LineWords.ts). */
  lineBytes = 64,
  lineWords = 16,
}
/** Mirrors of DramOp (DramMsg.ts) and BankState. */
const enum Op { Read = 0, Write = 1 }
const enum Bank { Closed = 0, Activating = 1, Open = 2, Precharging = 3 }

/** What a bank is doing, as shown in waveforms (`bankN_state`). */
export const BankState = { Closed: 0, Activating: 1, Open: 2, Precharging: 3 } as const;
if (
  LINE_BYTES !== D.lineBytes || LINE_WORDS !== D.lineWords || DramOp.Read !== Op.Read || DramOp.Write !== Op.Write ||
  BankState.Closed !== Bank.Closed || BankState.Activating !== Bank.Activating || BankState.Open !== Bank.Open || BankState.Precharging !== Bank.Precharging
) {
  throw new Error('Dram: a const enum mirror disagrees with the constant it mirrors');
}

/**
 * One node's DRAM: timing (banks, row buffers, a shared data bus per channel) and contents
 * (a SparseMemory). Port: `req` (owned here, the requester pushes) and `rsp` (owned here, the
 * requester pops); a response carries the request's `id`.
 *
 * Scheduling, per cycle and per channel (open-page policy):
 *  - Each bank serves its own requests strictly in arrival order ("bank FIFO"); banks proceed
 *    independently, so responses may complete out of order across banks, while two requests to
 *    the same line (same bank) keep their order: a read after a write returns the new data.
 *  - The oldest waiting request of a bank drives it: open row ≠ its row → PRE (tRP), closed →
 *    ACT (tRCD), open row = its row → ready for its column command. PRE/ACT of different banks
 *    overlap freely (tRRD/tFAW/tRAS/tWR/tRTP/refresh are not modelled).
 *  - At most one column command per channel per cycle, the oldest ready one whose burst fits the
 *    data bus: data occupies the bus from issue + tCL (tCWL for writes) for tBurst cycles, bursts
 *    never overlap, so one channel moves at most one line per tBurst cycles (the bandwidth
 *    ceiling). The next column command to the same bank waits tCCD = tBurst.
 *  - The data itself is read from / written to storage at the column command, which is what
 *    orders same-line accesses; the response leaves when the burst has ended.
 *
 * Idle latency from the requester's push to the response being visible to it:
 *   1 (req channel register) + [tRP if another row is open] + [tRCD unless the row is open]
 *   + tCL (tCWL for a write) + tBurst + 1 (rsp channel register).
 */
export class Dram extends Module {
  readonly req: DramReqChannel;
  readonly rsp: DramRspChannel;
  readonly memory: SparseMemory;
  readonly params: DramParams;
  readonly timing: DramTiming;
  readonly banks: number;
  private readonly linesPerRow: number;
  /**
   * The address split by shifts and masks, when channels, lines per row and banks per channel are
   * all powers of two (the usual geometry): log2 of each, or null for the general split.
   */
  private readonly splitShifts: { readonly ch: number; readonly col: number; readonly bank: number } | null;

  // ---- request queue (struct of arrays, queueDepth entries) ------------------------------------
  /**
   * An entry is free (on this stack), waiting (in its bank's list, from accept to its column
   * command) or issued (in its channel's ring, until respond()). Which free entry a request gets
   * is not visible: order comes from qSeq and the lists.
   */
  private readonly freeEntries: Int32Array;
  private nFree = 0;
  private readonly qSeq: Float64Array;
  private readonly qId: Float64Array;
  private readonly qOp: Uint8Array;
  private readonly qPa: Float64Array;
  private readonly qBeLo: Float64Array;
  private readonly qBeHi: Float64Array;
  private readonly qBank: Int32Array;
  private readonly qRow: Float64Array;
  /** CAS latency of the entry's column command (tCL for a read, tCWL for a write). */
  private readonly qLat: Float64Array;
  private readonly qDoneAt: Float64Array;
  private readonly qData: Uint8Array;
  /** qData as words, and the same for the port slabs: lines move 4 bytes a step. */
  private readonly qWords: Uint32Array;
  private readonly reqWords: Uint32Array;
  private readonly rspWords: Uint32Array;
  private used = 0;
  private inFlight = 0;
  /** Earliest doneAt among issued entries (Infinity when none): respond() has nothing to do before it. */
  private earliestDone = Infinity;
  /**
   * First cycle at which schedule() can change anything, a lower bound over the bank heads: a head
   * whose row is open or opening waits for its bank (tRCD, tCCD) and for its burst to fit the data
   * bus; one that needs another row waits for its bank, then PRE. A new bank head lowers it
   * (newHead). It only skips cycles in which schedule() would do nothing: per-cycle bank states,
   * responses and counters were identical to scheduling every cycle over random traffic with
   * equal and unequal tCL/tCWL, zero latencies and 1-3 channels. (An earlier bound took the
   * smallest latency of the candidates left behind a burst, which is late when tCWL ≠ tCL.)
   */
  private schedWakeAt = 0;
  /**
   * Testbench switch: run schedule() in every cycle with waiting requests, ignoring schedWakeAt.
   * The wake-up bound claims to skip only cycles in which schedule() would issue nothing; a
   * property test runs a Dram with this set next to one without and requires identical answers,
   * bank states, open rows and command counters, cycle for cycle (a bound that was too late for
   * tCWL != tCL went unnoticed once). Both share accept()'s PRE/ACT for a new bank head.
   */
  scheduleEveryCycle = false;
  /**
   * First cycle at which respond() or schedule() can act: earliestDone, or schedWakeAt when that is
   * sooner and requests wait. Both change only in evaluate() (and reset), so evaluate() sets this
   * at its end, and before it returns at once while no request arrives (one compare for the three
   * checks of a quiet cycle).
   */
  private wakeAt = 0;
  private nextSeq = 0;

  // ---- banks and channels ----------------------------------------------------------------------
  /**
   * A PRE is issued together with the ACT that follows it (at PRE + tRP): the bank's head cannot
   * change while it precharges (a head leaves only by its column command), so the ACT is known, and
   * schedule() needs no wake-up in between. openRow is therefore the row open or opening, and
   * bankActAt the cycle of the bank's last ACT: waveforms, bankOpenRow() and `activates` show the
   * ACT at that cycle, as if it were issued then.
   */
  private readonly openRow: Float64Array;
  private readonly bankActAt: Float64Array;
  private readonly bankReadyAt: Float64Array;
  /** BankState.Precharging (PRE, then ACT at bankActAt), Activating (ACT alone) or Open (column command). */
  private readonly bankLastCmd: Uint8Array;
  /** Channel of each bank (b / banksPerChannel, rounded down), computed once. */
  private readonly bankChannel: Int32Array;
  private readonly busFreeAt: Float64Array;

  // ---- the queue's order, kept at accept / column command / response, so no cycle scans it -----
  /**
   * Each bank's waiting requests in arrival order, as a linked list through qNext (-1 ends it):
   * bankFirst[b] is the bank's head, the one request that drives the bank. A request enters at
   * accept and leaves at its column command, which is always issued for a bank head.
   */
  private readonly bankFirst: Int32Array;
  private readonly bankLast: Int32Array;
  private readonly qNext: Int32Array;
  /**
   * Each channel's banks with at least one waiting request, at [ch × banksPerChannel ..], unordered
   * (schedule()'s result does not depend on bank order); nActive[ch] of them.
   */
  private readonly activeBanks: Int32Array;
  private readonly nActive: Int32Array;
  /** Index of each active bank in its channel's list, for O(1) removal. */
  private readonly activePos: Int32Array;
  /**
   * Each channel's issued requests in issue order, a ring of queueDepth entries per channel at
   * [ch × queueDepth ..]. A channel's bursts never overlap and each starts at or after the
   * previous one's end, so this is also doneAt order (strictly increasing): the earliest finished
   * request of a channel is its ring's head, and a burst on the bus is the first one not yet ended.
   */
  private readonly issuedRing: Int32Array;
  private readonly issuedHead: Int32Array;
  private readonly issuedCount: Int32Array;

  // ---- waveform probes ---------------------------------------------------------------------------
  /** Per bank, the cycle from which its probe values must be recomputed (0: at once). */
  private readonly bankProbeUntil: Float64Array;
  /**
   * The banks whose probe values can still change without a command (bankProbeUntil finite): a
   * bank joins at its PRE/ACT and leaves once it shows Open for good. Most banks are idle or open
   * at any time, so a fill visits one or two banks, not all.
   */
  private readonly probeBanks: Int32Array;
  private readonly inProbeBanks: Uint8Array;
  private nProbeBanks = 0;
  /** Smallest bankProbeUntil: fills before it only refresh the queue and bus values. */
  private probesUntil = 0;
  /** The array the last fill wrote (the probe group's), whose bank values are kept. */
  private probeValues: Float64Array | null = null;

  // ---- stats -----------------------------------------------------------------------------------
  reads = 0;
  writes = 0;
  /** ACTs issued, including any still due at a precharging bank's bankActAt (see `activates`). */
  private actsIssued = 0;
  precharges = 0;
  /** Cycles in which a finished request could not leave because `rsp` was full. */
  rspStalls = 0;

  constructor(parent: Module, name: string, params: DramParams, memory: SparseMemory = new SparseMemory()) {
    super(parent, name);
    validateDramParams(params, this.path);
    this.params = params;
    this.timing = dramTiming(params, { clockGHz: this.ctx.clockGHz });
    this.memory = memory;
    this.banks = params.channels * params.banksPerChannel;
    this.linesPerRow = params.rowBytes / D.lineBytes;
    const log2 = (n: number): number => (Number.isInteger(Math.log2(n)) ? Math.log2(n) : -1);
    const [chBits, colBits, bankBits] = [log2(params.channels), log2(this.linesPerRow), log2(params.banksPerChannel)];
    // Shifts only while every shift count stays below 32 (JS takes it mod 32: `x >>> 32` is x) and
    // a global bank index fits 30 bits; other geometries take the arithmetic path.
    const shiftsFit = chBits + bankBits <= 30 && colBits + bankBits <= 31;
    this.splitShifts = chBits >= 0 && colBits >= 0 && bankBits >= 0 && shiftsFit ? { ch: chBits, col: colBits, bank: bankBits } : null;
    this.req = dramReqChannel(this, 'req', params.reqDepth);
    this.rsp = dramRspChannel(this, 'rsp', params.rspDepth);

    const q = params.queueDepth;
    this.freeEntries = new Int32Array(q);
    this.freeAll();
    this.qSeq = new Float64Array(q);
    this.qId = new Float64Array(q);
    this.qOp = new Uint8Array(q);
    this.qPa = new Float64Array(q);
    this.qBeLo = new Float64Array(q);
    this.qBeHi = new Float64Array(q);
    this.qBank = new Int32Array(q);
    this.qRow = new Float64Array(q);
    this.qLat = new Float64Array(q);
    this.qDoneAt = new Float64Array(q);
    this.qData = new Uint8Array(q * D.lineBytes);
    this.qWords = lineWords(this.qData);
    this.reqWords = lineWords(this.req.bytes);
    this.rspWords = lineWords(this.rsp.bytes);

    this.openRow = new Float64Array(this.banks).fill(D.rowClosed);
    this.bankActAt = new Float64Array(this.banks).fill(-1);
    this.bankReadyAt = new Float64Array(this.banks);
    this.bankLastCmd = new Uint8Array(this.banks);
    this.bankChannel = new Int32Array(this.banks);
    for (let b = 0; b < this.banks; b++) this.bankChannel[b] = Math.floor(b / params.banksPerChannel);
    this.busFreeAt = new Float64Array(params.channels);
    this.bankFirst = new Int32Array(this.banks).fill(-1);
    this.bankLast = new Int32Array(this.banks).fill(-1);
    this.qNext = new Int32Array(q).fill(-1);
    this.activeBanks = new Int32Array(this.banks);
    this.nActive = new Int32Array(params.channels);
    this.activePos = new Int32Array(this.banks);
    this.issuedRing = new Int32Array(params.channels * q);
    this.issuedHead = new Int32Array(params.channels);
    this.issuedCount = new Int32Array(params.channels);

    // Every probe of this module filled by one call (a closure per probe cost ~7 ns each per traced
    // cycle): queueOccupancy, inFlight, ch<c>_dataBusBusy per channel, then bank<b>_state and
    // bank<b>_openRow per bank (D.probeFirstChannel + channels is the first bank's slot).
    const rowBits = bitsFor(Math.ceil(params.capacityBytes / params.rowBytes / this.banks));
    const names = ['queueOccupancy', 'inFlight'];
    const widths = [bitsFor(q), bitsFor(q)];
    for (let c = 0; c < params.channels; c++) {
      names.push(`ch${c}_dataBusBusy`);
      widths.push(1);
    }
    for (let b = 0; b < this.banks; b++) {
      names.push(`bank${b}_state`, `bank${b}_openRow`);
      widths.push(2, rowBits);
    }
    this.bankProbeUntil = new Float64Array(this.banks);
    this.probeBanks = new Int32Array(this.banks);
    this.inProbeBanks = new Uint8Array(this.banks);
    this.probeGroup(names, widths, (v) => this.fillProbes(v));
  }

  /**
   * The probe group's values (slots as declared above). A bank's two values change only at its
   * PRE/ACT (openRowFor) and at the cycles of its ACT and readiness (a column command leaves an
   * open bank showing Open), so a bank is recomputed only from the cycle it may have changed.
   */
  private fillProbes(v: Float64Array): void {
    v[0] = this.used;
    v[1] = this.inFlight;
    const nCh = this.busFreeAt.length;
    for (let c = 0; c < nCh; c++) v[D.probeFirstChannel + c] = this.dataBusBusy(c);
    // Values kept from the last fill are only ours if it filled this same array.
    if (v !== this.probeValues) {
      this.probeValues = v;
      this.refreshAllBankProbes();
    }
    const now = this.ctx.cycle;
    if (now < this.probesUntil) return;
    const until = this.bankProbeUntil;
    const list = this.probeBanks;
    const first = D.probeFirstChannel + nCh;
    let next = Infinity;
    for (let k = 0; k < this.nProbeBanks; k++) {
      const b = list[k]!;
      if (now >= until[b]!) {
        v[first + 2 * b] = this.bankState(b);
        const row = this.bankOpenRow(b);
        v[first + 2 * b + 1] = row === D.rowClosed ? 0 : row;
        // The next cycle at which bankState / bankOpenRow can read differently without a command.
        const actAt = this.bankActAt[b]!;
        const readyAt = this.bankReadyAt[b]!;
        let at = Infinity;
        if (actAt > now) at = actAt;
        else if (actAt + 1 > now) at = actAt + 1;
        if (readyAt > now && readyAt < at) at = readyAt;
        until[b] = at;
        if (at === Infinity) {
          // Settled: leaves the list (the last one takes its place, visited next).
          this.inProbeBanks[b] = 0;
          list[k--] = list[--this.nProbeBanks]!;
          continue;
        }
      }
      if (until[b]! < next) next = until[b]!;
    }
    this.probesUntil = next;
  }

  /** Bank b's probe values may have changed now (its PRE/ACT). */
  private refreshBankProbes(b: number): void {
    // Before the first fill (no tracer yet: every untraced run) nothing to note: that fill
    // recomputes every bank anyway (refreshAllBankProbes).
    if (this.probeValues === null) return;
    this.bankProbeUntil[b] = 0;
    this.probesUntil = 0;
    if (this.inProbeBanks[b] === 0) {
      this.inProbeBanks[b] = 1;
      this.probeBanks[this.nProbeBanks++] = b;
    }
  }

  /** Every bank's probe values may have changed (reset, or a fill into another array). */
  private refreshAllBankProbes(): void {
    for (let b = 0; b < this.banks; b++) this.refreshBankProbes(b);
  }

  /**
   * BankState of bank b at the current cycle (waveforms, tests). A command issued in cycle t shows
   * from cycle t + 1; a PRE's ACT is issued in cycle bankActAt, so that cycle itself shows the bank
   * precharged and closed, between Precharging and Activating.
   */
  bankState(b: number): number {
    const now = this.ctx.cycle;
    if (now < this.bankReadyAt[b]!) {
      const c = this.bankLastCmd[b]!;
      if (c === Bank.Activating) return c;
      if (c === Bank.Precharging) {
        const actAt = this.bankActAt[b]!;
        return now < actAt ? Bank.Precharging : now > actAt ? Bank.Activating : Bank.Closed;
      }
    }
    return this.bankOpenRow(b) === D.rowClosed ? Bank.Closed : Bank.Open;
  }

  /** 1 when a burst occupies channel ch's data bus in the current cycle (waveforms, tests). */
  dataBusBusy(ch: number): number {
    const now = this.ctx.cycle;
    const q = this.params.queueDepth;
    const n = this.issuedCount[ch]!;
    let i = this.issuedHead[ch]!;
    // Bursts are in time order: the first not yet ended is the only one that can be on the bus now.
    for (let k = 0; k < n; k++) {
      const doneAt = this.qDoneAt[this.issuedRing[ch * q + i]!]!;
      if (doneAt > now) return now >= doneAt - this.timing.tBurst ? 1 : 0;
      i = i + 1 < q ? i + 1 : 0;
    }
    return 0;
  }

  /** Cycles of data-bus occupancy so far, summed over channels (every column command moves one burst). */
  get busBusyCycles(): number {
    return (this.reads + this.writes) * this.timing.tBurst;
  }

  /** Open row of bank b at the current cycle, or -1 when closed (a row opens after its ACT's cycle). */
  bankOpenRow(b: number): number {
    return this.ctx.cycle > this.bankActAt[b]! ? this.openRow[b]! : D.rowClosed;
  }

  /** ACTs issued before the current cycle (a PRE's ACT counts from its own cycle on, see openRow). */
  get activates(): number {
    let due = 0;
    for (let b = 0; b < this.banks; b++) if (this.bankLastCmd[b] === Bank.Precharging && this.bankActAt[b]! >= this.ctx.cycle) due++;
    return this.actsIssued - due;
  }

  /** Requests held by the scheduler (committed view is not needed: the queue is this module's own). */
  get queueOccupancy(): number {
    return this.used;
  }

  /** Global bank index (channel × banksPerChannel + bank) of a line address, per the documented mapping. */
  bankOf(pa: number): number {
    const p = this.params;
    const line = Math.floor(pa / D.lineBytes);
    const ch = umod(line, p.channels);
    const lineInCh = Math.floor(line / p.channels);
    const bank = umod(Math.floor(lineInCh / this.linesPerRow), p.banksPerChannel);
    return ch * p.banksPerChannel + bank;
  }

  /** Row of a line address within its bank, per the documented mapping. */
  rowOf(pa: number): number {
    const p = this.params;
    const lineInCh = Math.floor(Math.floor(pa / D.lineBytes) / p.channels);
    return Math.floor(lineInCh / this.linesPerRow / p.banksPerChannel);
  }

  /** Bank (qBank) and row (qRow) of entry e's line address pa, a multiple of 64 below the capacity. */
  private locate(e: number, pa: number): void {
    const sh = this.splitShifts;
    const line = pa / D.lineBytes; // exact: pa is a multiple of 64
    if (sh !== null && line <= 0x7fffffff) {
      // bankOf and rowOf with shifts: exact for powers of two while the line number fits 31 bits.
      const lineInCh = line >>> sh.ch;
      this.qBank[e] = ((line & ((1 << sh.ch) - 1)) << sh.bank) | ((lineInCh >>> sh.col) & ((1 << sh.bank) - 1));
      this.qRow[e] = lineInCh >>> (sh.col + sh.bank);
    } else {
      this.qBank[e] = this.bankOf(pa);
      this.qRow[e] = this.rowOf(pa);
    }
  }

  /** Every queue entry free (lowest index on top, taken first). */
  private freeAll(): void {
    const q = this.freeEntries.length;
    for (let i = 0; i < q; i++) this.freeEntries[i] = q - 1 - i;
    this.nFree = q;
  }

  override onReset(): void {
    this.freeAll();
    this.used = 0;
    this.inFlight = 0;
    this.nextSeq = 0;
    this.earliestDone = Infinity;
    this.schedWakeAt = 0;
    this.wakeAt = 0;
    this.openRow.fill(D.rowClosed);
    this.bankActAt.fill(-1);
    this.refreshAllBankProbes();
    this.bankReadyAt.fill(0);
    this.bankLastCmd.fill(Bank.Closed);
    this.busFreeAt.fill(0);
    this.bankFirst.fill(-1);
    this.bankLast.fill(-1);
    this.nActive.fill(0);
    this.issuedHead.fill(0);
    this.issuedCount.fill(0);
    this.reads = 0;
    this.writes = 0;
    this.actsIssued = 0;
    this.precharges = 0;
    this.rspStalls = 0;
    // Contents are not cleared: DRAM keeps its data across a logic reset, and testbenches preload
    // it through the backdoor before reset. SparseMemory.clear() empties it explicitly.
  }

  override evaluate(): void {
    const now = this.ctx.cycle;
    // Nothing arriving and neither respond() nor schedule() due: every step would find nothing to do.
    if (now < this.wakeAt && !this.req.valid() && this.ctx.fullEvaluate === false && this.scheduleEveryCycle === false) return;
    // Each step is called only when it has something to do: the checks are the ones each step
    // would start with.
    const full = this.ctx.fullEvaluate === true;
    if (full || now >= this.earliestDone) this.respond(now);
    if (this.req.valid()) this.accept(now);
    if (this.used > this.inFlight && (full || now >= this.schedWakeAt || this.scheduleEveryCycle === true)) this.schedule(now);
    this.wakeAt = this.used > this.inFlight && this.schedWakeAt < this.earliestDone ? this.schedWakeAt : this.earliestDone;
  }

  /** Push finished requests (burst ended) into `rsp`, earliest first; frees their queue entries. */
  private respond(now: number): void {
    const rsp = this.rsp;
    const qDoneAt = this.qDoneAt;
    const qSeq = this.qSeq;
    const ring = this.issuedRing;
    const head = this.issuedHead;
    const count = this.issuedCount;
    const q = this.params.queueDepth;
    const nCh = head.length;
    for (;;) {
      // Each channel's earliest finished request is its ring head; ties across channels go to the older request.
      let best = -1;
      let bestCh = -1;
      for (let ch = 0; ch < nCh; ch++) {
        if (count[ch] === 0) continue;
        const e = ring[ch * q + head[ch]!]!;
        if (qDoneAt[e]! > now) continue;
        if (best < 0 || qDoneAt[e]! < qDoneAt[best]! || (qDoneAt[e] === qDoneAt[best] && qSeq[e]! < qSeq[best]!)) {
          best = e;
          bestCh = ch;
        }
      }
      if (best < 0) break;
      if (!rsp.canPush()) {
        this.rspStalls++;
        rsp.stall();
        break;
      }
      const s = rsp.push();
      rsp.col.id[s] = this.qId[best]!;
      rsp.col.op[s] = this.qOp[best]!;
      rsp.col.pa[s] = this.qPa[best]!;
      if (this.qOp[best] === Op.Read) copyLine(this.qWords, best, this.rspWords, s);
      else fillLine(this.rspWords, s, 0x00);
      const h = head[bestCh]! + 1;
      head[bestCh] = h < q ? h : 0;
      count[bestCh]--;
      this.freeEntries[this.nFree++] = best;
      this.used--;
      this.inFlight--;
    }
    let earliest = Infinity;
    for (let ch = 0; ch < nCh; ch++) {
      if (count[ch] === 0) continue;
      const doneAt = qDoneAt[ring[ch * q + head[ch]!]!]!;
      if (doneAt < earliest) earliest = doneAt;
    }
    this.earliestDone = earliest;
  }

  /** Move requests from the `req` channel into free queue entries. */
  private accept(now: number): void {
    const req = this.req;
    const c = req.col;
    const capacity = this.params.capacityBytes;
    while (this.nFree > 0 && req.valid()) {
      const s = req.pop();
      const pa = c.pa[s]!;
      const op = c.op[s]!;
      if (!(pa >= 0 && pa < capacity) || umod(pa, D.lineBytes) !== 0) {
        this.fail(`request id ${c.id[s]} at pa ${pa}: must be a multiple of ${D.lineBytes} below the capacity ${capacity}`);
      }
      if (op !== Op.Read && op !== Op.Write) this.fail(`request id ${c.id[s]}: unknown DramOp ${op}`);
      const e = this.freeEntries[--this.nFree]!;
      this.qSeq[e] = this.nextSeq++;
      this.qId[e] = c.id[s]!;
      this.qOp[e] = op;
      this.qLat[e] = op === Op.Read ? this.timing.tCL : this.timing.tCWL;
      this.qPa[e] = pa;
      this.qBeLo[e] = c.beLo[s]!;
      this.qBeHi[e] = c.beHi[s]!;
      this.locate(e, pa);
      const b = this.qBank[e]!;
      // A read's line is don't-care: issueColumn fills the entry's line from storage.
      if (op === Op.Write) copyLine(this.reqWords, s, this.qWords, e);
      // Join the bank's waiting list. Only a new bank head can make schedule() act sooner: a request
      // queued behind another one changes nothing until it is the head itself.
      this.qNext[e] = -1;
      if (this.bankFirst[b]! < 0) {
        this.bankFirst[b] = e;
        const ch = this.bankChannel[b]!;
        const n = this.nActive[ch]!;
        this.activePos[b] = n;
        this.activeBanks[ch * this.params.banksPerChannel + n] = b;
        this.nActive[ch] = n + 1;
        this.newHead(b, e, now);
      } else this.qNext[this.bankLast[b]!] = e;
      this.bankLast[b] = e;
      this.used++;
    }
  }

  /**
   * A request became the head of idle bank b: give the bank this cycle's PRE/ACT here, as
   * schedule() would (bank commands touch only their bank), and wake schedule() only when it has
   * something to do for it: a column pick now, or the bank's or the bus's time. Every other bank
   * is already covered by schedWakeAt, so this spares a scan of all banks per arrival.
   */
  private newHead(b: number, e: number, now: number): void {
    let at: number;
    if (now >= this.bankReadyAt[b]!) {
      this.openRowFor(b, e, now);
      at = this.columnAt(b, e);
    } else at = this.openRow[b] === this.qRow[e] ? this.columnAt(b, e) : this.bankReadyAt[b]!;
    if (at < this.schedWakeAt) this.schedWakeAt = at;
  }

  /**
   * Bank b is not busy: if its head e's row is not open, PRE (when another row is open) and ACT
   * for it, the ACT at PRE + tRP (zero-latency parameters fall through in the same cycle).
   */
  private openRowFor(b: number, e: number, now: number): void {
    const row = this.qRow[e]!;
    if (this.openRow[b] === row) return;
    const t = this.timing;
    let actAt = now;
    if (this.openRow[b] !== D.rowClosed) {
      actAt = now + t.tRP;
      this.bankLastCmd[b] = Bank.Precharging;
      this.precharges++;
    } else this.bankLastCmd[b] = Bank.Activating;
    this.openRow[b] = row;
    this.bankActAt[b] = actAt;
    this.bankReadyAt[b] = actAt + t.tRCD;
    this.actsIssued++;
    this.refreshBankProbes(b);
  }

  /**
   * Earliest cycle for head e's column command on bank b, whose row is e's (open or opening): the
   * bank ready (tRCD, tCCD) and the burst fitting behind the data bus's last one. The bus only ever
   * gets busier, so nothing can happen for the bank before then.
   */
  private columnAt(b: number, e: number): number {
    const fit = this.busFreeAt[this.bankChannel[b]!]! - this.qLat[e]!;
    const ready = this.bankReadyAt[b]!;
    return ready > fit ? ready : fit;
  }

  /**
   * Bank commands (PRE/ACT) and one column command per channel for this cycle. Channels are
   * independent (own banks, own bus), so each is scheduled on its own.
   */
  private schedule(now: number): void {
    const active = this.activeBanks;
    const bankFirst = this.bankFirst;
    const bankReadyAt = this.bankReadyAt;
    const openRow = this.openRow;
    const qRow = this.qRow;
    const qLat = this.qLat;
    const qSeq = this.qSeq;
    const perCh = this.params.banksPerChannel;
    let wake = Infinity;
    for (let ch = 0; ch < this.busFreeAt.length; ch++) {
      const busFreeAt = this.busFreeAt[ch]!;
      // The oldest column candidate, how many there are and their largest CAS latency: those not
      // picked fit behind the new burst at busFreeAt - that latency, not before.
      let pick = -1;
      let candidates = 0;
      let candMaxLat = -Infinity;
      // The banks whose head's row is open (or opening) but that cannot take their column command
      // now (bank busy, or burst not fitting): none can act before max(their earliest ready cycle,
      // busFreeAt - their largest latency), taken after this cycle's burst (exact for equal latencies).
      let waitReady = Infinity;
      let waitMaxLat = -Infinity;
      // Bank order does not matter: a bank's commands touch only that bank, and the pick is the oldest candidate.
      const n = this.nActive[ch]!;
      for (let k = ch * perCh; k < ch * perCh + n; k++) {
        const b = active[k]!;
        // The oldest waiting request of each bank is that bank's head.
        const e = bankFirst[b]!;
        if (now >= bankReadyAt[b]!) this.openRowFor(b, e, now);
        else if (openRow[b] !== qRow[e]) {
          // Busy (tCCD) and the head needs another row: its PRE when the bank is ready.
          if (bankReadyAt[b]! < wake) wake = bankReadyAt[b]!;
          continue;
        }
        // e's row is open or opening: a column command once the bank is ready and the burst fits.
        const lat = qLat[e]!;
        if (now >= bankReadyAt[b]! && now + lat >= busFreeAt) {
          candidates++;
          if (lat > candMaxLat) candMaxLat = lat;
          if (pick < 0 || qSeq[e]! < qSeq[pick]!) pick = e;
        } else {
          if (bankReadyAt[b]! < waitReady) waitReady = bankReadyAt[b]!;
          if (lat > waitMaxLat) waitMaxLat = lat;
        }
      }
      if (pick >= 0) {
        const b = this.qBank[pick]!;
        this.issueColumn(pick, ch, now);
        // The other candidates (if any) fit behind this burst at the earliest at busFreeAt - their
        // latency; the bank's next head (if any) waits for tCCD.
        if (candidates > 1) wake = Math.min(wake, this.busFreeAt[ch]! - candMaxLat);
        if (bankFirst[b]! >= 0) wake = Math.min(wake, bankReadyAt[b]!);
      }
      if (waitMaxLat >= 0) wake = Math.min(wake, Math.max(waitReady, this.busFreeAt[ch]! - waitMaxLat));
    }
    this.schedWakeAt = wake;
  }

  /** Column command: the data moves now (which orders same-line accesses); the answer leaves after the burst. */
  private issueColumn(e: number, ch: number, now: number): void {
    const t = this.timing;
    const b = this.qBank[e]!;
    const isRead = this.qOp[e] === Op.Read;
    const dataStart = now + this.qLat[e]!;
    if (isRead) {
      this.memory.readLineWords(this.qPa[e]!, this.qWords, e * D.lineWords);
      this.reads++;
    } else {
      this.memory.writeLineWords(this.qPa[e]!, this.qWords, e * D.lineWords, this.qBeLo[e]!, this.qBeHi[e]!);
      this.writes++;
    }
    this.busFreeAt[ch] = dataStart + t.tBurst;
    this.bankReadyAt[b] = now + t.tBurst; // tCCD: next column command on this bank
    this.bankLastCmd[b] = Bank.Open;
    this.qDoneAt[e] = dataStart + t.tBurst;
    if (this.qDoneAt[e]! < this.earliestDone) this.earliestDone = this.qDoneAt[e]!;
    this.inFlight++;
    // e is its bank's head (only heads are picked): it leaves the bank's waiting list ...
    const next = this.qNext[e]!;
    this.bankFirst[b] = next;
    if (next < 0) {
      const base = ch * this.params.banksPerChannel;
      const n = this.nActive[ch]! - 1;
      const pos = this.activePos[b]!;
      const last = this.activeBanks[base + n]!;
      this.activeBanks[base + pos] = last;
      this.activePos[last] = pos;
      this.nActive[ch] = n;
    }
    // ... and joins the channel's issued ring, behind every earlier burst.
    const q = this.params.queueDepth;
    let tail = this.issuedHead[ch]! + this.issuedCount[ch]!;
    if (tail >= q) tail -= q;
    this.issuedRing[ch * q + tail] = e;
    this.issuedCount[ch]++;
  }
}

/** Full-line byte enables (both halves all ones), for requesters building a DramReq. */
export const DRAM_BE_ALL = BE_HALF_ALL;

/**
 * `x % d` for an integer 0 ≤ x < 2^53 and an integer d ≥ 1, without the library call a double `%`
 * compiles to: floor(x / d) is exact there (the rounding error of x / d is below 1/d, too small to
 * cross an integer). For a non-integer x both are non-zero, so alignment tests agree too.
 */
function umod(x: number, d: number): number {
  return x - Math.floor(x / d) * d;
}

function bitsFor(n: number): number {
  return Math.max(1, Math.min(52, Math.ceil(Math.log2(n + 1))));
}
