import { ConfigError, Module, nsToCycles, type Reg } from '../../src/sim/index.ts';
import { clearMemMsg, type MemMsgChannel } from '../cxl/MemMsg.ts';
import { LINE_BYTES, M2SReqOp, M2SRwDOp, MetaField, S2MDRSOp, S2MNDROp } from '../cxl/opcodes.ts';
import { DramOp, type DramRspChannel } from './DramMsg.ts';
import type { DramPort } from './DramPortArbiter.ts';
import { ExportCheck, ExportPerm, ExportTable } from './ExportTable.ts';
import { copyLine, fillLine, lineWords } from '../cxl/LineWords.ts';
import { BE_HALF_ALL } from './SparseMemory.ts';

/**
 * DevLoad thresholds on request-queue occupancy (CXL 3.1 Table 3-51 names the four levels; the
 * spec leaves the thresholds to the device, so these are this model's choice):
 *   00 light      occupancy <  25 %
 *   01 optimal    25 % ≤ occupancy < 60 %
 *   10 moderate   60 % ≤ occupancy < 90 %
 *   11 severe     occupancy ≥ 90 %
 */
export const DEVLOAD_OPTIMAL_PCT = 25;
export const DEVLOAD_MODERATE_PCT = 60;
export const DEVLOAD_SEVERE_PCT = 90;
export const DevLoad = { Light: 0b00, Optimal: 0b01, Moderate: 0b10, Severe: 0b11 } as const;

export interface RemoteMemoryControllerParams {
  /** This node's port id: the `spid` of every answer. */
  readonly nodeId: number;
  /** Requests held at once (each holds one link rx buffer's worth: credits return when one frees). */
  readonly queueDepth: number;
  /**
   * Controller pipeline latency on top of DRAM, ns: decode, export check, scheduling. Applied
   * once, between taking a message off the link and acting on it (DRAM request or error answer).
   * Default 40 ns: with DDR5_4800 an idle MemRd to a closed bank takes
   *   1 + 40 + 2 + (16 + 16 + 2) + 3 = 80 ns from the unpacker's push to the DRS being visible
   * to the packer: the spec's 80 ns MemRd→MemData pin target (reference/cxl-protocol.md §7.2).
   */
  readonly pipelineNs: number;
  /** "Poison On Decode Error Enable": NXM read answers carry Poison=1 (reference/cxl-protocol.md §5.6). */
  readonly poisonOnDecodeError: boolean;
  /**
   * Size of the local DRAM behind the port, bytes: no export may reach past it (checked when
   * ranges are added), so an address beyond it is always unclaimed and never reaches the DRAM.
   */
  readonly localBytes: number;
}

export const REMOTE_MEMORY_CONTROLLER_DEFAULTS: RemoteMemoryControllerParams = {
  nodeId: 0,
  queueDepth: 16,
  pipelineNs: 40,
  poisonOnDecodeError: true,
  localBytes: 64 * 2 ** 30,
};

/** The channels a controller is wired to; none is owned by it. */
export interface RemoteMemoryControllerIo {
  /** Flit unpacker rx channels (popped here; popping returns link credits). */
  readonly m2sReq: MemMsgChannel;
  readonly m2sRwd: MemMsgChannel;
  /** Flit packer tx channels (pushed here). */
  readonly s2mNdr: MemMsgChannel;
  readonly s2mDrs: MemMsgChannel;
  /** This controller's port on the local DRAM arbiter. */
  readonly dram: DramPort;
}

/**
 * The per-message code's numbers as `const enum`s: the TypeScript transform writes their members as
 * literals, where a module-level constant or another file's enum object is loaded and type-checked
 * at each use in V8's optimized code. The mirrors of other files' constants are checked at load.
 */
/** What a queue entry will answer. */
const enum Ans {
  data = 0, // DRS MemData with the line read from DRAM
  cmp = 1, // NDR Cmp
  nxm = 2, // DRS MemData-NXM, all-ones payload
}
/** Mirrors of opcodes.ts (M2SReqOp, M2SRwDOp, S2MDRSOp, S2MNDROp, MetaField.NoOp, LINE_BYTES), DramOp, ExportPerm, ExportCheck and BE_HALF_ALL. */
const enum ReqOp { MemInv = 0b0000, MemRd = 0b0001, MemRdData = 0b0010, MemSpecRd = 0b1000, MemInvNT = 0b1001, MemClnEvct = 0b1010 }
const enum RwdOp { MemWr = 0b0001, MemWrPtl = 0b0010 }
const enum Answer { drsMemData = 0b000, drsMemDataNXM = 0b001, ndrCmp = 0b000, metaNoOp = 0b11 }
const enum Mem { Read = 0, Write = 1, lineBytes = 64, beHalfAll = 0xffffffff }
const enum Perm { Read = 1, Write = 2 }
const enum Check { Unclaimed = 0, Refused = 1, Allowed = 2 }
if (
  M2SReqOp.MemInv !== ReqOp.MemInv || M2SReqOp.MemRd !== ReqOp.MemRd || M2SReqOp.MemRdData !== ReqOp.MemRdData || M2SReqOp.MemSpecRd !== ReqOp.MemSpecRd ||
  M2SReqOp.MemInvNT !== ReqOp.MemInvNT || M2SReqOp.MemClnEvct !== ReqOp.MemClnEvct || M2SRwDOp.MemWr !== RwdOp.MemWr || M2SRwDOp.MemWrPtl !== RwdOp.MemWrPtl ||
  S2MDRSOp.MemData !== Answer.drsMemData || S2MDRSOp.MemDataNXM !== Answer.drsMemDataNXM || S2MNDROp.Cmp !== Answer.ndrCmp || MetaField.NoOp !== Answer.metaNoOp ||
  DramOp.Read !== Mem.Read || DramOp.Write !== Mem.Write || LINE_BYTES !== Mem.lineBytes || BE_HALF_ALL !== Mem.beHalfAll ||
  ExportPerm.Read !== Perm.Read || ExportPerm.Write !== Perm.Write ||
  ExportCheck.Unclaimed !== Check.Unclaimed || ExportCheck.Refused !== Check.Refused || ExportCheck.Allowed !== Check.Allowed
) {
  throw new Error('RemoteMemoryController: a const enum mirror disagrees with the constant it mirrors');
}

/**
 * Target side of CXL.mem on one node: a Type-3 HDM-H memory device in front of the node's DRAM
 * (reference/cxl-protocol.md §1.8, §5.6).
 *
 *   MemRd, MemRdData      → one DRS MemData with the line (no NDR)
 *   MemWr                 → write the line, then one NDR Cmp
 *   MemWrPtl              → write only the enabled bytes (beLo/beHi), then one NDR Cmp
 *   MemInv, MemInvNT,
 *   MemClnEvct            → one NDR Cmp (no data is held in any cache here; DRAM untouched)
 *   MemSpecRd             → no answer at all; this model ignores the hint (no prefetch), it
 *                           only counts it
 *   read refused/unclaimed → one DRS MemData-NXM, payload all ones, Poison = poisonOnDecodeError;
 *                           no DRAM access
 *   write refused/unclaimed→ dropped (DRAM untouched), one NDR Cmp still
 *   MemRdFwd, MemWrFwd, BIConflict, unknown opcodes: not legal towards an HDM-H device → SimulationError
 *
 * Every answer echoes tag and ldId, MetaField No-Op / MetaValue 0, spid = nodeId,
 * dpid = the request's spid, DevLoad from the queue occupancy at the start of the cycle. RwD poison
 * is not stored (SparseMemory keeps no poison metadata): poisoned write data is written as given.
 *
 * Queue: a message is taken off m2sReq / m2sRwd only when a queue entry is free (alternating
 * priority between the two when both wait), so the link's rx buffers — and therefore its credits —
 * free only as entries do. Entries needing DRAM issue to the DRAM port in arrival order (the DRAM
 * keeps same-line order, so a read after a write to the same line sees the write); answers that
 * need no DRAM leave in arrival order among themselves. Writes are not posted: Cmp follows the
 * DRAM write's completion.
 *
 * Idle latency from the unpacker's push to the answer being visible to the packer:
 *   1 (rx channel) + pipeline + [2 (arbiter in) + DRAM stages + 2 (arbiter out)] + 1 (tx channel)
 * where the bracket is absent for answers that need no DRAM.
 */
export class RemoteMemoryController extends Module {
  readonly params: RemoteMemoryControllerParams;
  readonly exports: ExportTable;
  /** Controller pipeline latency in cycles (from params.pipelineNs). */
  readonly pipelineCycles: number;
  private readonly io: RemoteMemoryControllerIo;
  /** The channels the quiet-cycle test looks at, without going through io each cycle. */
  private readonly m2sReq: MemMsgChannel;
  private readonly m2sRwd: MemMsgChannel;
  private readonly dramRsp: DramRspChannel;
  /** devLoadFor(occupancy) for every occupancy 0..queueDepth, computed once. */
  private readonly devLoadOf: Uint8Array;

  // ---- entries ---------------------------------------------------------------------------------
  private readonly eUsed: Uint8Array;
  private readonly eAnswer: Uint8Array;
  private readonly eTag: Float64Array;
  private readonly eLdId: Float64Array;
  private readonly eSpid: Float64Array;
  private readonly eAddr: Float64Array;
  private readonly eBeLo: Float64Array;
  private readonly eBeHi: Float64Array;
  private readonly eReadyAt: Float64Array;
  private readonly eData: Uint8Array;
  /** eData and the data slabs of the channels used here, as words: lines move 4 bytes a step. */
  private readonly eWords: Uint32Array;
  private readonly rwdWords: Uint32Array;
  private readonly drsWords: Uint32Array;
  private readonly dramReqWords: Uint32Array;
  private readonly dramRspWords: Uint32Array;
  private used = 0;
  /** Arrival-ordered rings of entry indices: to issue to DRAM, and to answer without DRAM. */
  private readonly issueRing: Int32Array;
  private issueHead = 0;
  private issueCount = 0;
  private readonly localRing: Int32Array;
  private localHead = 0;
  private localCount = 0;
  /**
   * nextDueAt() as of the end of the last cycle that did anything: the rings change only in such a
   * cycle, so a quiet cycle compares against this instead of looking at both ring heads.
   */
  private dueAt = Infinity;
  /** 1: take from m2sRwd first this cycle (alternates when both channels wait). */
  private readonly rwdFirst: Reg;

  // ---- stats -----------------------------------------------------------------------------------
  /** Reads performed on DRAM. */
  reads = 0;
  /** Writes (full or partial) performed on DRAM. */
  writes = 0;
  /** Reads answered MemData-NXM (refused or unclaimed). */
  nxm = 0;
  /** Writes dropped (refused or unclaimed), still completed with Cmp. */
  droppedWrites = 0;
  /** Requests a range covers but not for this requester / permission. */
  refused = 0;
  /** Requests no exported range covers at all. */
  unclaimed = 0;
  specReads = 0;
  invalidates = 0;
  /** Cycles in which a message waited on a link rx channel because the queue was full. */
  queueFullStalls = 0;
  /** Cycles in which an answer waited for room in s2mNdr / s2mDrs. */
  txStalls = 0;

  constructor(parent: Module, name: string, params: RemoteMemoryControllerParams, io: RemoteMemoryControllerIo, exports?: ExportTable) {
    super(parent, name);
    if (!(Number.isInteger(params.nodeId) && params.nodeId >= 0 && params.nodeId < 4096)) throw new ConfigError(`${this.path}.nodeId`, `must be an integer in [0, 4095], got ${params.nodeId}`);
    if (!(Number.isInteger(params.queueDepth) && params.queueDepth >= 1)) throw new ConfigError(`${this.path}.queueDepth`, `must be an integer ≥ 1, got ${params.queueDepth}`);
    if (!(Number.isFinite(params.pipelineNs) && params.pipelineNs >= 0)) throw new ConfigError(`${this.path}.pipelineNs`, `must be a finite number of ns ≥ 0, got ${params.pipelineNs}`);
    if (!(Number.isInteger(params.localBytes) && params.localBytes > 0 && params.localBytes <= 2 ** 52)) throw new ConfigError(`${this.path}.localBytes`, `must be an integer in [1, 2^52], got ${params.localBytes}`);
    if (exports && exports.localBytes > params.localBytes) throw new ConfigError(`${this.path}.exports`, `table allows ranges up to ${exports.localBytes} bytes, past localBytes ${params.localBytes}`);
    this.params = params;
    this.io = io;
    this.exports = exports ?? new ExportTable(64, params.localBytes, `${this.path}.exports`);
    this.pipelineCycles = nsToCycles(params.pipelineNs, { clockGHz: this.ctx.clockGHz });
    const q = params.queueDepth;
    this.eUsed = new Uint8Array(q);
    this.eAnswer = new Uint8Array(q);
    this.eTag = new Float64Array(q);
    this.eLdId = new Float64Array(q);
    this.eSpid = new Float64Array(q);
    this.eAddr = new Float64Array(q);
    this.eBeLo = new Float64Array(q);
    this.eBeHi = new Float64Array(q);
    this.eReadyAt = new Float64Array(q);
    this.eData = new Uint8Array(q * Mem.lineBytes);
    this.eWords = lineWords(this.eData);
    this.m2sReq = io.m2sReq;
    this.m2sRwd = io.m2sRwd;
    this.dramRsp = io.dram.rsp;
    this.rwdWords = lineWords(io.m2sRwd.bytes);
    this.drsWords = lineWords(io.s2mDrs.bytes);
    this.dramReqWords = lineWords(io.dram.req.bytes);
    this.dramRspWords = lineWords(io.dram.rsp.bytes);
    this.issueRing = new Int32Array(q);
    this.localRing = new Int32Array(q);
    this.rwdFirst = this.reg('rwdFirst', 1, 0);
    this.devLoadOf = Uint8Array.from({ length: q + 1 }, (_, occupancy) => this.devLoadFor(occupancy));
    // One fill for all of this module's probes: the tracer calls it once per cycle, not a closure per probe.
    this.probeGroup(['queueOccupancy', 'devLoad'], [Math.max(1, Math.ceil(Math.log2(q + 1))), 2], (v) => {
      v[0] = this.used;
      v[1] = this.devLoadOf[this.used]!;
    });
  }

  get queueOccupancy(): number {
    return this.used;
  }

  /** DevLoad encoding for a queue occupancy (thresholds above). */
  devLoadFor(occupancy: number): number {
    const pct100 = occupancy * 100;
    const q = this.params.queueDepth;
    if (pct100 >= DEVLOAD_SEVERE_PCT * q) return DevLoad.Severe;
    if (pct100 >= DEVLOAD_MODERATE_PCT * q) return DevLoad.Moderate;
    if (pct100 >= DEVLOAD_OPTIMAL_PCT * q) return DevLoad.Optimal;
    return DevLoad.Light;
  }

  override onReset(): void {
    this.eUsed.fill(0);
    this.used = 0;
    this.issueHead = 0;
    this.issueCount = 0;
    this.localHead = 0;
    this.localCount = 0;
    this.dueAt = Infinity;
    this.reads = 0;
    this.writes = 0;
    this.nxm = 0;
    this.droppedWrites = 0;
    this.refused = 0;
    this.unclaimed = 0;
    this.specReads = 0;
    this.invalidates = 0;
    this.queueFullStalls = 0;
    this.txStalls = 0;
  }

  override evaluate(): void {
    const now = this.ctx.cycle;
    // Nothing arriving and no held request past its pipeline delay (the rest wait for DRAM):
    // every step below would find nothing to do.
    if (this.ctx.fullEvaluate === false && now < this.dueAt && !this.dramRsp.valid() && !this.m2sReq.valid() && !this.m2sRwd.valid()) return;
    const devLoad = this.devLoadOf[this.used]!;
    this.answerFromDram(devLoad);
    this.intake(now);
    this.answerLocal(now, devLoad);
    this.issueToDram(now);
    this.dueAt = this.nextDueAt();
  }

  /** Earliest cycle at which the head of the issue or the local ring is past its pipeline delay (Infinity: both empty). */
  private nextDueAt(): number {
    let due = Infinity;
    if (this.issueCount > 0) due = this.eReadyAt[this.issueRing[this.issueHead]!]!;
    if (this.localCount > 0) due = Math.min(due, this.eReadyAt[this.localRing[this.localHead]!]!);
    return due;
  }

  /** DRAM responses → DRS MemData (reads) or NDR Cmp (writes), in DRAM completion order. */
  private answerFromDram(devLoad: number): void {
    const rsp = this.dramRsp;
    while (rsp.valid()) {
      const s = rsp.peek(0);
      const e = rsp.col.id[s]!;
      const isData = this.eAnswer[e] === Ans.data;
      const tx = isData ? this.io.s2mDrs : this.io.s2mNdr;
      if (!tx.canPush()) {
        this.txStalls++;
        tx.stall();
        return;
      }
      rsp.pop();
      const t = this.pushAnswer(tx, e, isData ? Answer.drsMemData : Answer.ndrCmp, 0, devLoad);
      if (isData) copyLine(this.dramRspWords, s, this.drsWords, t);
      this.free(e);
    }
  }

  /** Answers that need no DRAM (NXM, dropped-write Cmp, MemInv Cmp), in arrival order. */
  private answerLocal(now: number, devLoad: number): void {
    while (this.localCount > 0) {
      const e = this.localRing[this.localHead]!;
      if (this.eReadyAt[e]! > now) return;
      const isNxm = this.eAnswer[e] === Ans.nxm;
      const tx = isNxm ? this.io.s2mDrs : this.io.s2mNdr;
      if (!tx.canPush()) {
        this.txStalls++;
        tx.stall();
        return;
      }
      if (isNxm) {
        const t = this.pushAnswer(tx, e, Answer.drsMemDataNXM, this.params.poisonOnDecodeError === true ? 1 : 0, devLoad);
        fillLine(this.drsWords, t, 0xff);
      } else {
        this.pushAnswer(tx, e, Answer.ndrCmp, 0, devLoad);
      }
      this.localHead = this.localHead + 1 < this.localRing.length ? this.localHead + 1 : 0;
      this.localCount--;
      this.free(e);
    }
  }

  /** Entries whose pipeline delay has passed → DRAM port, in arrival order. */
  private issueToDram(now: number): void {
    const req = this.io.dram.req;
    while (this.issueCount > 0) {
      const e = this.issueRing[this.issueHead]!;
      if (this.eReadyAt[e]! > now) return;
      if (!req.canPush()) {
        req.stall();
        return;
      }
      const s = req.push();
      const isRead = this.eAnswer[e] === Ans.data;
      req.col.id[s] = e;
      req.col.op[s] = isRead ? Mem.Read : Mem.Write;
      req.col.pa[s] = this.eAddr[e]!;
      req.col.beLo[s] = isRead ? 0 : this.eBeLo[e]!;
      req.col.beHi[s] = isRead ? 0 : this.eBeHi[e]!;
      // A read's line is don't-care on the DRAM port (eData holds no data for it anyway).
      if (isRead) this.reads++;
      else {
        copyLine(this.eWords, e, this.dramReqWords, s);
        this.writes++;
      }
      this.issueHead = this.issueHead + 1 < this.issueRing.length ? this.issueHead + 1 : 0;
      this.issueCount--;
    }
  }

  /** Take at most one message from each link rx channel, when a queue entry is free for it. */
  private intake(now: number): void {
    const rwdFirst = this.rwdFirst.q === 1;
    const tookFirst = rwdFirst ? this.takeRwd(now) : this.takeReq(now);
    const tookSecond = rwdFirst ? this.takeReq(now) : this.takeRwd(now);
    // Alternate only when both channels had a message waiting, so neither can starve the other.
    if (tookFirst && (tookSecond || (rwdFirst ? this.m2sReq.valid() : this.m2sRwd.valid()))) this.rwdFirst.d = rwdFirst ? 0 : 1;
  }

  private takeReq(now: number): boolean {
    const ch = this.m2sReq;
    if (!ch.valid()) return false;
    if (this.used >= this.eUsed.length) {
      this.queueFullStalls++;
      return false;
    }
    const s = ch.pop();
    const op = ch.col.opcode[s]!;
    if (op === ReqOp.MemSpecRd) {
      // A hint with no answer (reference/cxl-protocol.md §1.8): ignored, no entry kept.
      this.specReads++;
      return true;
    }
    const e = this.alloc(ch, s, now);
    if (op === ReqOp.MemRd || op === ReqOp.MemRdData) {
      const c = this.exports.check(this.eSpid[e]!, this.eAddr[e]!, Perm.Read);
      if (c === Check.Allowed) this.toIssue(e, Ans.data);
      else {
        this.countDenied(c);
        this.nxm++;
        this.toLocal(e, Ans.nxm);
      }
    } else if (op === ReqOp.MemInv || op === ReqOp.MemInvNT || op === ReqOp.MemClnEvct) {
      this.invalidates++;
      this.toLocal(e, Ans.cmp);
    } else {
      this.fail(`M2S Req opcode ${op} (tag ${ch.col.tag[s]}) is not accepted by a Type-3 HDM-H device (MemRd, MemRdData, MemSpecRd, MemInv, MemInvNT, MemClnEvct are)`);
    }
    return true;
  }

  private takeRwd(now: number): boolean {
    const ch = this.m2sRwd;
    if (!ch.valid()) return false;
    if (this.used >= this.eUsed.length) {
      this.queueFullStalls++;
      return false;
    }
    const s = ch.pop();
    const op = ch.col.opcode[s]!;
    if (op !== RwdOp.MemWr && op !== RwdOp.MemWrPtl) {
      this.fail(`M2S RwD opcode ${op} (tag ${ch.col.tag[s]}) is not accepted by a Type-3 HDM-H device (MemWr, MemWrPtl are)`);
    }
    const e = this.alloc(ch, s, now);
    if (op === RwdOp.MemWr) {
      this.eBeLo[e] = Mem.beHalfAll;
      this.eBeHi[e] = Mem.beHalfAll;
    }
    copyLine(this.rwdWords, s, this.eWords, e);
    const c = this.exports.check(this.eSpid[e]!, this.eAddr[e]!, Perm.Write);
    if (c === Check.Allowed) this.toIssue(e, Ans.cmp);
    else {
      this.countDenied(c);
      this.droppedWrites++;
      this.toLocal(e, Ans.cmp);
    }
    return true;
  }

  private countDenied(c: ExportCheck): void {
    if (c === Check.Refused) this.refused++;
    else this.unclaimed++;
  }

  private alloc(ch: MemMsgChannel, s: number, now: number): number {
    let e = 0;
    while (this.eUsed[e] === 1) e++;
    this.eUsed[e] = 1;
    this.used++;
    const c = ch.col;
    const addr = c.addr[s]!;
    this.eTag[e] = c.tag[s]!;
    this.eLdId[e] = c.ldId[s]!;
    this.eSpid[e] = c.spid[s]!;
    // A 68B M2S Req may carry Addr[5]; the line is what is accessed (floor, not a double `%`: the
    // same for an address ≥ 0).
    this.eAddr[e] = Math.floor(addr / Mem.lineBytes) * Mem.lineBytes;
    this.eBeLo[e] = c.beLo[s]!;
    this.eBeHi[e] = c.beHi[s]!;
    this.eReadyAt[e] = now + this.pipelineCycles;
    return e;
  }

  private toIssue(e: number, answer: number): void {
    this.eAnswer[e] = answer;
    // head < length and count < length (e is one of the used entries), so one subtract wraps.
    const i = this.issueHead + this.issueCount;
    this.issueRing[i < this.issueRing.length ? i : i - this.issueRing.length] = e;
    this.issueCount++;
  }

  private toLocal(e: number, answer: number): void {
    this.eAnswer[e] = answer;
    const i = this.localHead + this.localCount;
    this.localRing[i < this.localRing.length ? i : i - this.localRing.length] = e;
    this.localCount++;
  }

  private free(e: number): void {
    this.eUsed[e] = 0;
    this.used--;
  }

  /** Push the common fields of an answer for entry e (the other columns cleared); returns the tx slot. */
  private pushAnswer(tx: MemMsgChannel, e: number, opcode: number, poison: number, devLoad: number): number {
    const t = tx.push();
    clearMemMsg(tx, t);
    const c = tx.col;
    c.opcode[t] = opcode;
    c.tag[t] = this.eTag[e]!;
    c.metaField[t] = Answer.metaNoOp;
    c.ldId[t] = this.eLdId[e]!;
    c.poison[t] = poison;
    c.devLoad[t] = devLoad;
    c.spid[t] = this.params.nodeId;
    c.dpid[t] = this.eSpid[e]!;
    return t;
  }
}
