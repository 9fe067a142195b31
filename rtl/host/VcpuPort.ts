import { LINE_BYTES } from '../cxl/opcodes.ts';
import { ConfigError, Module } from '../../src/sim/index.ts';
import { LatencyHistogram } from '../../src/stats/LatencyHistogram.ts';
import { HostOp, HostRoute, HostStatus, hostReqChannel, hostRspChannel, type HostReqChannel, type HostRspChannel } from './HostMsg.ts';
import { copyLine, lineWords } from '../cxl/LineWords.ts';
import { VcpuCommand, type VcpuCommandSource } from './VcpuCommand.ts';
import type { VmPageTable } from './VmPageTable.ts';

/** Latency classes a vCPU port keeps a histogram for. */
export const LatencyClass = { LocalRead: 0, RemoteRead: 1, LocalWrite: 2, RemoteWrite: 3, Error: 4 } as const;
export type LatencyClass = (typeof LatencyClass)[keyof typeof LatencyClass];
export const LATENCY_CLASS_NAMES = ['localRead', 'remoteRead', 'localWrite', 'remoteWrite', 'error'] as const;

/**
 * The per-command code's numbers as `const enum`s: the TypeScript transform writes their members as
 * literals, where a module-level constant or enum object is loaded and type-checked at each use in
 * V8's optimized code. allBytesHalf: byte enables of a full 32-byte half line. The mirrors of
 * LINE_BYTES, HostOp, HostStatus, HostRoute and LatencyClass are checked at load.
 */
const enum Port { lineBytes = 64, allBytesHalf = 0xffffffff }
const enum Op { Read = 0, Write = 1, WritePartial = 2 }
const enum Status { Ok = 0, Nxm = 1, PageFault = 2 }
const enum Route { Local = 0, Remote = 1, Error = 2 }
const enum Lat { LocalRead = 0, RemoteRead = 1, LocalWrite = 2, RemoteWrite = 3, Error = 4 }
if (
  LINE_BYTES !== Port.lineBytes || HostOp.Read !== Op.Read || HostOp.Write !== Op.Write || HostOp.WritePartial !== Op.WritePartial ||
  HostStatus.Ok !== Status.Ok || HostStatus.Nxm !== Status.Nxm || HostStatus.PageFault !== Status.PageFault ||
  HostRoute.Local !== Route.Local || HostRoute.Remote !== Route.Remote || HostRoute.Error !== Route.Error ||
  LatencyClass.LocalRead !== Lat.LocalRead || LatencyClass.RemoteRead !== Lat.RemoteRead || LatencyClass.LocalWrite !== Lat.LocalWrite ||
  LatencyClass.RemoteWrite !== Lat.RemoteWrite || LatencyClass.Error !== Lat.Error
) {
  throw new Error('VcpuPort: a const enum mirror disagrees with the constant it mirrors');
}

/**
 * Watches a port's commands (the golden-memory scoreboard). Called from the port's evaluate():
 * implementations used inside a benchmark must not allocate; testbench checkers may.
 */
export interface VcpuObserver {
  onIssue(port: VcpuPort, seq: number, cmd: VcpuCommand, cycle: number): void;
  onComplete(
    port: VcpuPort,
    seq: number,
    op: HostOp,
    vmAddr: number,
    status: HostStatus,
    poison: number,
    route: number,
    issueCycle: number,
    cycle: number,
    data: Uint8Array,
    dataOff: number,
  ): void;
}

export interface VcpuPortParams {
  /** VM this vCPU belongs to (HostReq.vm). */
  readonly vm: number;
  /** Index of this port among its node's vCPU ports (HostReq.src); answers come back by it. */
  readonly portIndex: number;
  /** Commands issued and not yet answered, at most (also the number of host tags). */
  readonly maxOutstanding: number;
  /** Cycles from issue until the translated command is visible to the host router (≥ 1). */
  readonly pageTableLatencyCycles: number;
  /** Depth of the `req` channel to the router (default 2). */
  readonly reqDepth?: number;
  /** Depth of the `rsp` channel from the router (default 2). */
  readonly rspDepth?: number;
  /**
   * Hold a command while an earlier command of this port to the same line is unanswered and
   * either of them writes (default true): the port's own program order then holds per line even
   * though reads and writes travel on different CXL channels (M2S Req vs RwD) that may reorder.
   */
  readonly orderSameLine?: boolean;
  /** Largest latency counted exactly in the histograms (default 65536). */
  readonly histogramMaxCycles?: number;
}

/**
 * One vCPU of one VM: issues line commands from a source, translates them through the VM page
 * table in the `pageTable` stage, and sends them to the host router.
 *
 * Timing (cycle t = issue, the cycle `onIssue` sees): the page-table stage looks the address up
 * when the command leaves it, in cycle t + pageTableLatencyCycles − 1, and pushes it into `req`,
 * where the router sees it in cycle t + pageTableLatencyCycles. Latency is the cycle the answer is
 * visible in `rsp` (when the port pops it) minus t. A page fault never leaves the port: the stage
 * pushes a PageFault answer into the port's own `faultRsp` channel instead, so a fault's latency is
 * exactly pageTableLatencyCycles.
 *
 * Channels: `req` (HostReq, owned here, the router pops it), `rsp` (HostRsp, owned here, the router
 * pushes it), `faultRsp` (internal).
 */
export class VcpuPort extends Module {
  readonly req: HostReqChannel;
  readonly rsp: HostRspChannel;
  readonly faultRsp: HostRspChannel;
  readonly vm: number;
  readonly portIndex: number;
  readonly maxOutstanding: number;
  readonly pageTableLatencyCycles: number;
  readonly orderSameLine: boolean;
  /** Per-class latency histograms, indexed by LatencyClass. */
  readonly latency: readonly LatencyHistogram[];

  /** The command source (a testbench may replace it between cycles; see `source`). */
  private src: VcpuCommandSource | null = null;
  observer: VcpuObserver | null = null;

  /** Commands issued / answered; page faults and Nxm answers among the answers. */
  issued = 0;
  completed = 0;
  pageFaults = 0;
  nxmAnswers = 0;
  /** Cycles a command waited to issue (outstanding limit, fence or same-line order). */
  issueStallCycles = 0;

  private readonly pageTable: VmPageTable;
  /**
   * The page-table stage, as the host tags of the commands in it, oldest first: everything else a
   * command carries (op, address, enables, data, issue cycle) is already kept per tag, so the stage
   * copies nothing. A command may leave from issueCycle + pageTableLatencyCycles − 1 on, in order.
   */
  private readonly ptTags: Int32Array;
  private ptHead = 0;
  private ptCount = 0;
  /** Entries in faultRsp (pushed, not yet popped): the answer loop looks at faultRsp only when nonzero. */
  private faultsQueued = 0;
  /**
   * The source refused and said it will refuse until an answer (waitsForAnswer): it is not asked
   * again before the next answer (or a new source). A flag, not the source itself: comparing the
   * two objects made V8 load the source's map every cycle (the port's hottest instruction). Never
   * set under ctx.fullEvaluate.
   */
  private sourceParked = false;
  /** Result slot of the page-table lookup (see VmPageTable.lookupInto). */
  private readonly hpaOut = new Float64Array(1);
  /** The command offered by the source and not yet issued. */
  private readonly cmd = new VcpuCommand();
  private cmdValid = false;
  // Per host tag: the outstanding command it names.
  private readonly tagBusy: Uint8Array;
  private readonly tagSeq: Float64Array;
  private readonly tagOp: Uint8Array;
  private readonly tagVmAddr: Float64Array;
  /**
   * The command's VM line number (tagVmAddr / LINE_BYTES, exact: issue checks alignment), for the
   * same-line check; NaN while the tag is free, so that check needs no busy test (NaN equals nothing).
   */
  private readonly tagLine: Float64Array;
  private readonly tagIssueCycle: Float64Array;
  private readonly tagBeLo: Float64Array;
  private readonly tagBeHi: Float64Array;
  /** Write data per tag (a Read's line is don't-care and not copied), and its word view. */
  private readonly tagData: Uint8Array;
  private readonly tagWords: Uint32Array;
  private readonly freeTags: Int32Array;
  private freeCount = 0;
  /** Word views (lineWords) of the command's data and of `req`'s line slab: lines move a word a step. */
  private readonly cmdWords: Uint32Array;
  private readonly reqWords: Uint32Array;

  constructor(parent: Module, name: string, params: VcpuPortParams, pageTable: VmPageTable, source?: VcpuCommandSource) {
    super(parent, name);
    const int = (what: string, v: number, min: number): number => {
      if (!(Number.isInteger(v) && v >= min)) throw new ConfigError(`${this.path}.${what}`, `must be an integer ≥ ${min}, got ${v}`);
      return v;
    };
    this.vm = int('vm', params.vm, 0);
    this.portIndex = int('portIndex', params.portIndex, 0);
    this.maxOutstanding = int('maxOutstanding', params.maxOutstanding, 1);
    this.pageTableLatencyCycles = int('pageTableLatencyCycles', params.pageTableLatencyCycles, 1);
    this.orderSameLine = params.orderSameLine ?? true;
    if (pageTable.vm !== this.vm) throw new ConfigError(`${this.path}.vm`, `the page table ${pageTable.path} is VM ${pageTable.vm}'s, this port is VM ${this.vm}'s`);
    this.pageTable = pageTable;
    this.req = hostReqChannel(this, 'req', int('reqDepth', params.reqDepth ?? 2, 1));
    this.rsp = hostRspChannel(this, 'rsp', int('rspDepth', params.rspDepth ?? 2, 1));
    // One slot per tag is not enough: a fault popped in cycle t frees its tag in t, a 1-cycle page
    // table can fault the reissued tag in t too, and the popped slot is free only from t+1 on.
    this.faultRsp = hostRspChannel(this, 'faultRsp', this.maxOutstanding + 1);
    this.cmdWords = lineWords(this.cmd.data);
    this.reqWords = lineWords(this.req.bytes);
    const n = this.maxOutstanding;
    this.tagBusy = new Uint8Array(n);
    this.tagSeq = new Float64Array(n);
    this.tagOp = new Uint8Array(n);
    this.tagVmAddr = new Float64Array(n);
    this.tagLine = new Float64Array(n);
    this.tagIssueCycle = new Float64Array(n);
    this.tagBeLo = new Float64Array(n);
    this.tagBeHi = new Float64Array(n);
    this.tagData = new Uint8Array(n * LINE_BYTES);
    this.tagWords = lineWords(this.tagData);
    this.ptTags = new Int32Array(n);
    this.freeTags = new Int32Array(n);
    const hmax = params.histogramMaxCycles ?? 65536;
    this.latency = LATENCY_CLASS_NAMES.map((c) => new LatencyHistogram(`${this.path}.${c}`, hmax));
    this.source = source ?? null;
    // One fill for all of this module's probes: the tracer calls it once per cycle, not a closure per probe.
    this.probeGroup(['issued', 'completed', 'inflight', 'pageTableOccupancy', 'cmdPending'], [32, 32, 16, 16, 1], (v) => {
      v[0] = this.issued;
      v[1] = this.completed;
      v[2] = this.inflight;
      v[3] = this.ptCount;
      v[4] = this.cmdValid ? 1 : 0;
    });
    this.onReset();
  }

  get source(): VcpuCommandSource | null {
    return this.src;
  }

  set source(s: VcpuCommandSource | null) {
    this.src = s;
    this.sourceParked = false;
  }

  /** Commands issued and not yet answered. */
  get inflight(): number {
    return this.issued - this.completed;
  }

  /** Nothing in flight, nothing waiting, and the source (if any) has finished. */
  get quiescent(): boolean {
    return this.inflight === 0 && !this.cmdValid && (this.src === null || this.src.isDone());
  }

  override onReset(): void {
    this.ptHead = 0;
    this.ptCount = 0;
    this.faultsQueued = 0;
    this.sourceParked = false;
    this.cmdValid = false;
    this.tagBusy.fill(0);
    this.tagLine.fill(NaN);
    // Tags handed out lowest first: deterministic and easy to read in a waveform.
    for (let i = 0; i < this.maxOutstanding; i++) this.freeTags[i] = this.maxOutstanding - 1 - i;
    this.freeCount = this.maxOutstanding;
    this.issued = 0;
    this.completed = 0;
    this.pageFaults = 0;
    this.nxmAnswers = 0;
    this.issueStallCycles = 0;
    for (const h of this.latency) h.reset();
  }

  override evaluate(): void {
    const cycle = this.ctx.cycle;
    // 1. Answers from the router and from our own page-fault path.
    while (this.rsp.valid()) this.complete(this.rsp, this.rsp.pop(), cycle);
    if (this.faultsQueued !== 0) {
      while (this.faultRsp.valid()) {
        this.faultsQueued--;
        this.complete(this.faultRsp, this.faultRsp.pop(), cycle);
      }
    }
    // 2. Issue (before the stage exit, so a 1-cycle stage passes a command on in its issue cycle).
    // Flags compared with === false / === true: one compare each, where `!flag` on a field is a
    // general truthiness test of about ten instructions under V8 (this runs every cycle).
    if (this.cmdValid === false && this.sourceParked === false) {
      const source = this.src;
      if (source !== null) {
        if (source.offer(this.cmd, cycle)) this.cmdValid = true;
        // A source that will refuse until one of our answers arrives is not asked again before then.
        else if (this.ctx.fullEvaluate === false && source.waitsForAnswer !== undefined && source.waitsForAnswer()) this.sourceParked = true;
      }
    }
    if (this.cmdValid === true) {
      if (this.canIssue()) this.issue(cycle);
      else this.issueStallCycles++;
    }
    // 3. The page-table stage: one command leaves per cycle (nothing to do until its head is due).
    // The head is due pageTableLatencyCycles − 1 after its issue. Most cycles the stage is empty and
    // this reads ptCount only (a port-local small integer).
    if (this.ptCount !== 0 && this.tagIssueCycle[this.ptTags[this.ptHead]!]! + this.pageTableLatencyCycles - 1 <= cycle) this.leavePageTable();
  }

  private canIssue(): boolean {
    if (this.freeCount === 0) return false;
    const cmd = this.cmd;
    if (cmd.waitForPrevious === true && this.issued !== this.completed) return false;
    if (this.orderSameLine === true) {
      const line = Math.floor(cmd.vmAddr / Port.lineBytes);
      const writes = cmd.op !== Op.Read;
      for (let t = 0; t < this.maxOutstanding; t++) {
        if (this.tagLine[t] === line && (writes || this.tagOp[t] !== Op.Read)) return false;
      }
    }
    return true;
  }

  private issue(cycle: number): void {
    const cmd = this.cmd;
    // Dividing a double by 64 is exact, so an integral quotient is the same test as `vmAddr % 64 === 0`
    // (which is a slow floating-point remainder); Infinity / 64 is still Infinity and still fails.
    const line = cmd.vmAddr / Port.lineBytes;
    if (!(line >= 0 && Math.floor(line) === line && line !== Infinity)) this.fail(`command VM address ${cmd.vmAddr} is not a ${Port.lineBytes}-byte line address`);
    if (cmd.op !== Op.Read && cmd.op !== Op.Write && cmd.op !== Op.WritePartial) this.fail(`command op ${cmd.op} is not a HostOp`);
    const tag = this.freeTags[--this.freeCount]!;
    const seq = this.issued++;
    this.tagBusy[tag] = 1;
    this.tagSeq[tag] = seq;
    this.tagOp[tag] = cmd.op;
    this.tagVmAddr[tag] = cmd.vmAddr;
    this.tagLine[tag] = line;
    this.tagIssueCycle[tag] = cycle;
    this.tagBeLo[tag] = cmd.op === Op.Write ? Port.allBytesHalf : cmd.op === Op.WritePartial ? cmd.beLo : 0;
    this.tagBeHi[tag] = cmd.op === Op.Write ? Port.allBytesHalf : cmd.op === Op.WritePartial ? cmd.beHi : 0;
    // A Read's line is don't-care (HostMsg): only writes carry data on.
    if (cmd.op !== Op.Read) copyLine(this.cmdWords, 0, this.tagWords, tag);
    // Enter the page-table stage (it has a place per tag, so it always has room).
    let p = this.ptHead + this.ptCount;
    if (p >= this.maxOutstanding) p -= this.maxOutstanding;
    this.ptTags[p] = tag;
    this.ptCount++;
    this.cmdValid = false;
    if (this.observer !== null) this.observer.onIssue(this, seq, cmd, cycle);
  }

  /** The stage's head is due: translate it, and send it to the router or answer its page fault. */
  private leavePageTable(): void {
    const tag = this.ptTags[this.ptHead]!;
    const vmAddr = this.tagVmAddr[tag]!;
    const op = this.tagOp[tag]!;
    if (!this.pageTable.lookupInto(vmAddr, this.hpaOut, 0)) {
      // faultRsp has a slot per tag plus one for a tag freed by a pop this cycle, so it always has room.
      const o = this.faultRsp.push();
      const r = this.faultRsp.col;
      r.hostTag[o] = tag;
      r.src[o] = this.portIndex;
      r.vm[o] = this.vm;
      r.op[o] = op;
      r.addr[o] = vmAddr;
      r.status[o] = Status.PageFault;
      r.poison[o] = 0;
      r.route[o] = Route.Error;
      r.issueCycle[o] = this.tagIssueCycle[tag]!;
      this.faultsQueued++;
      this.leaveStage();
      return;
    }
    if (!this.req.canPush()) {
      this.req.stall();
      return;
    }
    const o = this.req.push();
    const q = this.req.col;
    q.addr[o] = this.hpaOut[0]!;
    q.hostTag[o] = tag;
    q.src[o] = this.portIndex;
    q.vm[o] = this.vm;
    q.op[o] = op;
    q.beLo[o] = this.tagBeLo[tag]!;
    q.beHi[o] = this.tagBeHi[tag]!;
    q.issueCycle[o] = this.tagIssueCycle[tag]!;
    if (op !== Op.Read) copyLine(this.tagWords, tag, this.reqWords, o);
    this.leaveStage();
  }

  /** Remove the stage's head. */
  private leaveStage(): void {
    const next = this.ptHead + 1;
    this.ptHead = next === this.maxOutstanding ? 0 : next;
    this.ptCount--;
  }

  private complete(ch: HostRspChannel, slot: number, cycle: number): void {
    const r = ch.col;
    const tag = r.hostTag[slot]!;
    if (r.src[slot] !== this.portIndex) this.fail(`answer for src ${r.src[slot]} delivered to port ${this.portIndex}`);
    if (!(tag >= 0 && tag < this.maxOutstanding && this.tagBusy[tag] === 1)) this.fail(`answer with host tag ${tag}, which is not outstanding (lost or duplicate answer)`);
    const op = this.tagOp[tag]! as HostOp;
    if (r.op[slot] !== op) this.fail(`answer for tag ${tag} has op ${r.op[slot]}, the command was op ${op}`);
    const status = r.status[slot]! as HostStatus;
    const route = r.route[slot]!;
    const issueCycle = this.tagIssueCycle[tag]!;
    const seq = this.tagSeq[tag]!;
    const vmAddr = this.tagVmAddr[tag]!;
    let cls: LatencyClass;
    if (status !== Status.Ok) {
      cls = Lat.Error;
      if (status === Status.PageFault) this.pageFaults++;
      else this.nxmAnswers++;
    } else if (op === Op.Read) cls = route === Route.Remote ? Lat.RemoteRead : Lat.LocalRead;
    else cls = route === Route.Remote ? Lat.RemoteWrite : Lat.LocalWrite;
    this.latency[cls]!.record(cycle - issueCycle);
    this.tagBusy[tag] = 0;
    this.tagLine[tag] = NaN;
    this.freeTags[this.freeCount++] = tag;
    this.completed++;
    const dataOff = slot * Port.lineBytes;
    if (this.observer !== null) this.observer.onComplete(this, seq, op, vmAddr, status, r.poison[slot]!, route, issueCycle, cycle, ch.bytes, dataOff);
    this.sourceParked = false;
    if (this.src !== null) this.src.onComplete(seq, op, vmAddr, status, ch.bytes, dataOff);
  }
}
