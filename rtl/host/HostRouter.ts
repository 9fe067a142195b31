import { LINE_BYTES } from '../cxl/opcodes.ts';
import { DramOp, type DramReqChannel, type DramRspChannel } from '../memory/DramMsg.ts';
import { ConfigError, Module } from '../../src/sim/index.ts';
import {
  HOST_REQ_FIELDS,
  HOST_RSP_FIELDS,
  HostOp,
  HostReqAt,
  HostRoute,
  HostRspAt,
  HostStatus,
  hostReqFromRecord,
  hostReqToRecord,
  hostRspFromRecord,
  hostRspToRecord,
  type HostReqChannel,
  type HostRspChannel,
} from './HostMsg.ts';
import { lineWords } from '../cxl/LineWords.ts';
import { StageRing } from './StageRing.ts';

/**
 * The per-message code's other numbers, as `const enum`s for the same reason as the record places
 * below. allBytesHalf: byte enables of a full 32-byte half line. nxmDataByte: data of a read that
 * no range claims, all ones, with poison (CXL MemData-NXM, cxl-protocol.md). Op / Route / Status /
 * DOp mirror HostOp, HostRoute, HostStatus and DramOp, checked below.
 */
const enum Data { allBytesHalf = 0xffffffff, nxmDataByte = 0xff }
const enum Op { Read = 0, Write = 1, WritePartial = 2 }
const enum Route { Local = 0, Remote = 1, Error = 2 }
const enum Status { Ok = 0, Nxm = 1 }
const enum DOp { Read = 0, Write = 1 }
if (
  HostOp.Read !== Op.Read || HostOp.Write !== Op.Write || HostOp.WritePartial !== Op.WritePartial ||
  HostRoute.Local !== Route.Local || HostRoute.Remote !== Route.Remote || HostRoute.Error !== Route.Error ||
  HostStatus.Ok !== Status.Ok || HostStatus.Nxm !== Status.Nxm || DramOp.Read !== DOp.Read || DramOp.Write !== DOp.Write
) {
  throw new Error('HostRouter: a const enum mirror disagrees with HostOp / HostRoute / HostStatus / DramOp');
}
/**
 * Places of the fields in the records this router keeps, as `const enum`s: the TypeScript
 * transform writes them into the code as literal numbers. (A module-level constant, or a field of
 * a constant object such as HostMsg's HostReqAt, is loaded and type-checked at every use: in the
 * per-message code that was about a third of the instructions.) Req / Rsp are HostReqAt /
 * HostRspAt, checked below; Id is a DRAM id's record in `ids`: the command it carries.
 */
const enum Req { hostTag = 0, src = 1, vm = 2, op = 3, addr = 4, beLo = 5, beHi = 6, issueCycle = 7, stride = 8 }
const enum Rsp { hostTag = 0, src = 1, vm = 2, op = 3, addr = 4, status = 5, poison = 6, route = 7, issueCycle = 8, stride = 9 }
const enum Id { hostTag = 0, src = 1, vm = 2, op = 3, addr = 4, issueCycle = 5, busy = 6, stride = 7 }
if (
  Req.stride !== HOST_REQ_FIELDS.length || Rsp.stride !== HOST_RSP_FIELDS.length ||
  Req.hostTag !== HostReqAt.hostTag || Req.src !== HostReqAt.src || Req.vm !== HostReqAt.vm || Req.op !== HostReqAt.op ||
  Req.addr !== HostReqAt.addr || Req.beLo !== HostReqAt.beLo || Req.beHi !== HostReqAt.beHi || Req.issueCycle !== HostReqAt.issueCycle ||
  Rsp.hostTag !== HostRspAt.hostTag || Rsp.src !== HostRspAt.src || Rsp.vm !== HostRspAt.vm || Rsp.op !== HostRspAt.op || Rsp.addr !== HostRspAt.addr ||
  Rsp.status !== HostRspAt.status || Rsp.poison !== HostRspAt.poison || Rsp.route !== HostRspAt.route || Rsp.issueCycle !== HostRspAt.issueCycle
) {
  throw new Error('HostRouter: the record places differ from HostMsg.HostReqAt / HostRspAt');
}

export interface HostRouterParams {
  /** HPA range of this node's DRAM: [dramBase, dramBase + dramBytes). Local PA = HPA − dramBase. */
  readonly dramBase: number;
  readonly dramBytes: number;
  /** HPA window of this node's fabric device: [deviceBase, deviceBase + deviceBytes). */
  readonly deviceBase: number;
  readonly deviceBytes: number;
  /** Router request stage: cycles from a command being visible to the router until it is visible to DRAM / the device (≥ 1). */
  readonly requestLatencyCycles: number;
  /** Router response stage: cycles from an answer being visible to the router until it is visible to the vCPU port (≥ 1). */
  readonly responseLatencyCycles: number;
  /** Local DRAM commands in flight at most (DRAM ids). Default 32. */
  readonly maxLocalOutstanding?: number;
  /** Capacity of the response stage (answers in it at once). Default 4 × responseLatencyCycles. */
  readonly responseStageDepth?: number;
}

/** The channels a router is wired to. Index i of vcpuReq/vcpuRsp is the vCPU port with src = i. */
export interface HostRouterPorts {
  /** Popped: translated commands from each vCPU port (VcpuPort.req). */
  readonly vcpuReq: readonly HostReqChannel[];
  /** Pushed: answers to each vCPU port (VcpuPort.rsp). */
  readonly vcpuRsp: readonly HostRspChannel[];
  /** Pushed / popped: this node's DRAM arbiter port. */
  readonly dramReq: DramReqChannel;
  readonly dramRsp: DramRspChannel;
  /** Pushed: the fabric device's RequestDecoder.hostIn. Popped: its RequestDecoder.hostOut. */
  readonly devReq: HostReqChannel;
  readonly devRsp: HostRspChannel;
}

/**
 * The node's host memory router: takes translated commands from the vCPU ports (round-robin, one
 * per cycle), holds them `requestLatencyCycles` in the `request` stage, then sends each by its HPA:
 * local DRAM (HPA − dramBase, through a DRAM id), the fabric device window (the command as is), or
 * nowhere: an error answer (Nxm; reads all ones + poison; writes dropped and completed).
 * Answers pass the `response` stage (`responseLatencyCycles`) and go to vcpuRsp[src] with `route`:
 * Local for DRAM, Error for the router's own Nxm answers, and for the device's answers the route
 * the RequestDecoder set (Remote, Local for a page it serves from local DRAM, Error for its Nxm).
 *
 * Idle latency seen by a vCPU port: local = pageTable + request + DRAM + response stages; error =
 * pageTable + request + response. Everything is bounded; a full output holds the stage head
 * (in-order per stage), which stops the router popping its inputs: back-pressure, never loss.
 */
export class HostRouter extends Module {
  readonly params: HostRouterParams;
  readonly ports: HostRouterPorts;
  readonly maxLocalOutstanding: number;
  /** Commands routed to each place; commands accepted from each vCPU input. */
  routedLocal = 0;
  routedRemote = 0;
  routedError = 0;
  /** Cycles a local command waited because every DRAM id was in use (maxLocalOutstanding). */
  dramIdStallCycles = 0;
  readonly acceptedFrom: Float64Array;

  private readonly reqStage: StageRing<(typeof HOST_REQ_FIELDS)[number]>;
  private readonly rspStage: StageRing<(typeof HOST_RSP_FIELDS)[number]>;
  private rrNext = 0;
  /** Which answer source goes first this cycle (alternates, so neither starves the other). */
  private devFirst = false;
  /** Per DRAM id, a record (Id places, Id.stride numbers): the command it carries and whether it is in use. */
  private readonly ids: Float64Array;
  private readonly freeIds: Int32Array;
  private freeCount = 0;
  // 32-bit views of the line slabs of every channel a line is copied to or from, taken once here:
  // a line then moves in 16 word steps instead of 64 byte steps (speed only; the same bytes move).
  private readonly vcpuReqWords: readonly Uint32Array[];
  private readonly vcpuRspWords: readonly Uint32Array[];
  private readonly dramReqWords: Uint32Array;
  private readonly dramRspWords: Uint32Array;
  private readonly devReqWords: Uint32Array;
  private readonly devRspWords: Uint32Array;
  // The address ranges and stage latencies from `params`, as plain fields for the per-cycle code.
  private readonly dramBase: number;
  private readonly dramEnd: number;
  private readonly deviceBase: number;
  private readonly deviceEnd: number;
  private readonly requestLatencyCycles: number;
  private readonly responseLatencyCycles: number;
  // The channels of `ports` as plain fields: one load each in the per-cycle code instead of two.
  private readonly vcpuReq: readonly HostReqChannel[];
  private readonly vcpuRsp: readonly HostRspChannel[];
  private readonly dramReq: DramReqChannel;
  private readonly dramRsp: DramRspChannel;
  private readonly devReq: HostReqChannel;
  private readonly devRsp: HostRspChannel;

  constructor(parent: Module, name: string, params: HostRouterParams, ports: HostRouterPorts) {
    super(parent, name);
    const p = `${this.path}`;
    const int = (field: string, v: number, min: number): number => {
      if (!(Number.isInteger(v) && v >= min)) throw new ConfigError(`${p}.${field}`, `must be an integer ≥ ${min}, got ${v}`);
      return v;
    };
    int('dramBase', params.dramBase, 0);
    int('dramBytes', params.dramBytes, 0);
    int('deviceBase', params.deviceBase, 0);
    int('deviceBytes', params.deviceBytes, 0);
    int('requestLatencyCycles', params.requestLatencyCycles, 1);
    int('responseLatencyCycles', params.responseLatencyCycles, 1);
    if (params.dramBase % LINE_BYTES !== 0 || params.deviceBase % LINE_BYTES !== 0) throw new ConfigError(`${p}.dramBase/deviceBase`, `must be multiples of ${LINE_BYTES}`);
    const overlap = params.dramBytes > 0 && params.deviceBytes > 0 && params.dramBase < params.deviceBase + params.deviceBytes && params.deviceBase < params.dramBase + params.dramBytes;
    if (overlap) throw new ConfigError(`${p}.deviceBase`, 'the device window overlaps the local DRAM range');
    if (ports.vcpuReq.length !== ports.vcpuRsp.length || ports.vcpuReq.length === 0) {
      throw new ConfigError(`${p}.ports`, `needs one vcpuRsp per vcpuReq and at least one (got ${ports.vcpuReq.length} / ${ports.vcpuRsp.length})`);
    }
    this.params = params;
    this.ports = ports;
    this.maxLocalOutstanding = int('maxLocalOutstanding', params.maxLocalOutstanding ?? 32, 1);
    const rspDepth = int('responseStageDepth', params.responseStageDepth ?? 4 * params.responseLatencyCycles, 1);
    // A stage of latency L that accepts one command per cycle (before its head leaves) holds at most L.
    this.reqStage = new StageRing(`${this.path}.request`, params.requestLatencyCycles, HOST_REQ_FIELDS);
    this.rspStage = new StageRing(`${this.path}.response`, rspDepth, HOST_RSP_FIELDS);
    const n = this.maxLocalOutstanding;
    this.ids = new Float64Array(n * Id.stride);
    this.freeIds = new Int32Array(n);
    this.acceptedFrom = new Float64Array(ports.vcpuReq.length);
    this.vcpuReqWords = ports.vcpuReq.map((c) => lineWords(c.bytes));
    this.vcpuRspWords = ports.vcpuRsp.map((c) => lineWords(c.bytes));
    this.dramReqWords = lineWords(ports.dramReq.bytes);
    this.dramRspWords = lineWords(ports.dramRsp.bytes);
    this.devReqWords = lineWords(ports.devReq.bytes);
    this.devRspWords = lineWords(ports.devRsp.bytes);
    this.dramBase = params.dramBase;
    this.dramEnd = params.dramBase + params.dramBytes;
    this.deviceBase = params.deviceBase;
    this.deviceEnd = params.deviceBase + params.deviceBytes;
    this.requestLatencyCycles = params.requestLatencyCycles;
    this.responseLatencyCycles = params.responseLatencyCycles;
    this.vcpuReq = ports.vcpuReq;
    this.vcpuRsp = ports.vcpuRsp;
    this.dramReq = ports.dramReq;
    this.dramRsp = ports.dramRsp;
    this.devReq = ports.devReq;
    this.devRsp = ports.devRsp;
    // One fill for all of this module's probes: the tracer calls it once per cycle, not a closure per probe.
    this.probeGroup(['requestOccupancy', 'responseOccupancy', 'localInflight', 'routedLocal', 'routedRemote', 'routedError'], [16, 16, 16, 32, 32, 32], (v) => {
      v[0] = this.reqStage.occupancy;
      v[1] = this.rspStage.occupancy;
      v[2] = this.maxLocalOutstanding - this.freeCount;
      v[3] = this.routedLocal;
      v[4] = this.routedRemote;
      v[5] = this.routedError;
    });
    this.onReset();
  }

  override onReset(): void {
    this.reqStage.reset();
    this.rspStage.reset();
    this.rrNext = 0;
    this.devFirst = false;
    this.ids.fill(0);
    for (let i = 0; i < this.maxLocalOutstanding; i++) this.freeIds[i] = this.maxLocalOutstanding - 1 - i;
    this.freeCount = this.maxLocalOutstanding;
    this.routedLocal = 0;
    this.routedRemote = 0;
    this.routedError = 0;
    this.dramIdStallCycles = 0;
    this.acceptedFrom.fill(0);
  }

  /** Where an HPA goes: HostRoute.Local, Remote or Error. */
  classify(hpa: number): number {
    if (hpa >= this.dramBase && hpa < this.dramEnd) return Route.Local;
    if (hpa >= this.deviceBase && hpa < this.deviceEnd) return Route.Remote;
    return Route.Error;
  }

  override evaluate(): void {
    const cycle = this.ctx.cycle;
    // Each stage takes its input before its output leaves, so a 1-cycle stage passes an entry on
    // in the cycle it arrived (the stage length is then exactly its latency parameter).
    // Each step is skipped when it has nothing to look at (an empty input, or a stage whose head is
    // not due yet): the skipped call would change nothing, and most cycles most of them are idle.
    // Round-robin over the vCPU inputs: the first valid one after the last winner goes in. The
    // scan is here, not in acceptRequest: it runs every cycle, and a call per cycle into a function
    // that mostly finds nothing cost more than the scan itself (its entry was a hot spot under perf).
    const req = this.reqStage;
    if (req.canAccept()) {
      const ins = this.vcpuReq;
      const n = ins.length;
      // rrNext < n, so stepping i with a wrap visits the same inputs in the same order as (rrNext + k) % n.
      let i = this.rrNext;
      for (let k = 0; k < n; k++) {
        if (ins[i]!.valid()) {
          this.acceptRequest(i, cycle);
          break;
        }
        i = i + 1 === n ? 0 : i + 1;
      }
    }
    if (req.occupancy !== 0 && req.headReady <= cycle) this.dispatchRequest(cycle);
    // Flags are tested with === (here and in the vCPU port): V8 compiles `if (flag)` on a boolean
    // field as a general truthiness test, about ten instructions, and `=== true` as one compare.
    if (this.devFirst === true) {
      if (this.devRsp.valid()) this.takeDeviceAnswers(cycle);
      if (this.dramRsp.valid()) this.takeDramAnswers(cycle);
    } else {
      if (this.dramRsp.valid()) this.takeDramAnswers(cycle);
      if (this.devRsp.valid()) this.takeDeviceAnswers(cycle);
    }
    this.devFirst = this.devFirst === false;
    const rsp = this.rspStage;
    if (rsp.occupancy !== 0 && rsp.headReady <= cycle) this.deliverAnswers(cycle);
  }

  /** Take the command at the head of vCPU input i (the round-robin winner) into the request stage. */
  private acceptRequest(i: number, cycle: number): void {
    const ch = this.vcpuReq[i]!;
    const src = ch.pop();
    const s = this.reqStage.accept(cycle + this.requestLatencyCycles - 1);
    hostReqToRecord(ch.col, src, this.reqStage.rec, s * Req.stride);
    // A Read's line is don't-care (HostMsg): only writes carry data on.
    if (ch.col.op[src] !== Op.Read) this.reqStage.copyLineInWords(s, this.vcpuReqWords[i]!, src);
    this.acceptedFrom[i]!++;
    this.rrNext = i + 1 === this.vcpuReq.length ? 0 : i + 1;
  }

  private dispatchRequest(cycle: number): void {
    const s = this.reqStage.readyHead(cycle);
    if (s < 0) return;
    const c = this.reqStage.rec;
    const b = s * Req.stride;
    const hpa = c[b + Req.addr]!;
    const route = this.classify(hpa);
    if (route === Route.Local) {
      const out = this.dramReq;
      if (this.freeCount === 0) {
        this.dramIdStallCycles++;
        return;
      }
      if (!out.canPush()) {
        out.stall();
        return;
      }
      const id = this.freeIds[--this.freeCount]!;
      const op = c[b + Req.op]!;
      const ids = this.ids;
      const e = id * Id.stride;
      ids[e + Id.hostTag] = c[b + Req.hostTag]!;
      ids[e + Id.src] = c[b + Req.src]!;
      ids[e + Id.vm] = c[b + Req.vm]!;
      ids[e + Id.op] = op;
      ids[e + Id.addr] = hpa;
      ids[e + Id.issueCycle] = c[b + Req.issueCycle]!;
      ids[e + Id.busy] = 1;
      const o = out.push();
      const d = out.col;
      d.id[o] = id;
      d.op[o] = op === Op.Read ? DOp.Read : DOp.Write;
      d.pa[o] = hpa - this.dramBase;
      d.beLo[o] = op === Op.Write ? Data.allBytesHalf : op === Op.WritePartial ? c[b + Req.beLo]! : 0;
      d.beHi[o] = op === Op.Write ? Data.allBytesHalf : op === Op.WritePartial ? c[b + Req.beHi]! : 0;
      if (op !== Op.Read) this.reqStage.copyLineOutWords(s, this.dramReqWords, o);
      this.routedLocal++;
    } else if (route === Route.Remote) {
      const out = this.devReq;
      if (!out.canPush()) {
        out.stall();
        return;
      }
      const o = out.push();
      hostReqFromRecord(c, b, out.col, o);
      if (c[b + Req.op] !== Op.Read) this.reqStage.copyLineOutWords(s, this.devReqWords, o);
      this.routedRemote++;
    } else {
      // No range claims the HPA: answer at once, as if from a target with no latency of its own.
      if (!this.rspStage.canAccept()) return;
      const r = this.rspStage.accept(cycle + this.responseLatencyCycles);
      const a = this.rspStage.rec;
      const e = r * Rsp.stride;
      const op = c[b + Req.op]!;
      a[e + Rsp.hostTag] = c[b + Req.hostTag]!;
      a[e + Rsp.src] = c[b + Req.src]!;
      a[e + Rsp.vm] = c[b + Req.vm]!;
      a[e + Rsp.op] = op;
      a[e + Rsp.addr] = hpa;
      a[e + Rsp.status] = Status.Nxm;
      a[e + Rsp.poison] = op === Op.Read ? 1 : 0;
      a[e + Rsp.route] = Route.Error;
      a[e + Rsp.issueCycle] = c[b + Req.issueCycle]!;
      this.rspStage.fillLine(r, op === Op.Read ? Data.nxmDataByte : 0);
      this.routedError++;
    }
    this.reqStage.release();
  }

  private takeDramAnswers(cycle: number): void {
    const inp = this.dramRsp;
    const ready = cycle + this.responseLatencyCycles - 1;
    const ids = this.ids;
    while (inp.valid() && this.rspStage.canAccept()) {
      const k = inp.pop();
      const id = inp.col.id[k]!;
      // As a small integer (a fractional or out-of-range id fails the test, as it always did), so the
      // record arithmetic below is integer arithmetic, not doubles converted back for every index.
      const i = id | 0;
      if (!(i === id && i >= 0 && i < this.maxLocalOutstanding && ids[i * Id.stride + Id.busy] === 1)) this.fail(`DRAM answer with id ${id}, which is not outstanding`);
      const e = i * Id.stride;
      const r = this.rspStage.accept(ready);
      const a = this.rspStage.rec;
      const b = r * Rsp.stride;
      const op = ids[e + Id.op]!;
      a[b + Rsp.hostTag] = ids[e + Id.hostTag]!;
      a[b + Rsp.src] = ids[e + Id.src]!;
      a[b + Rsp.vm] = ids[e + Id.vm]!;
      a[b + Rsp.op] = op;
      a[b + Rsp.addr] = ids[e + Id.addr]!;
      a[b + Rsp.status] = Status.Ok;
      a[b + Rsp.poison] = 0;
      a[b + Rsp.route] = Route.Local;
      a[b + Rsp.issueCycle] = ids[e + Id.issueCycle]!;
      if (op === Op.Read) this.rspStage.copyLineInWords(r, this.dramRspWords, k);
      else this.rspStage.fillLine(r, 0);
      ids[e + Id.busy] = 0;
      this.freeIds[this.freeCount++] = i;
    }
  }

  private takeDeviceAnswers(cycle: number): void {
    const inp = this.devRsp;
    const ready = cycle + this.responseLatencyCycles - 1;
    while (inp.valid() && this.rspStage.canAccept()) {
      const k = inp.pop();
      const r = this.rspStage.accept(ready);
      hostRspToRecord(inp.col, k, this.rspStage.rec, r * Rsp.stride);
      this.rspStage.copyLineInWords(r, this.devRspWords, k);
    }
  }

  /** Answers leave in order; one whose port's channel is full holds the rest (back-pressure). */
  private deliverAnswers(cycle: number): void {
    const outs = this.vcpuRsp;
    for (;;) {
      const s = this.rspStage.readyHead(cycle);
      if (s < 0) return;
      const a = this.rspStage.rec;
      const b = s * Rsp.stride;
      const src = a[b + Rsp.src]!;
      if (!(src >= 0 && src < outs.length)) this.fail(`answer for src ${src}: no such vCPU port (${outs.length} wired)`);
      const out = outs[src]!;
      if (!out.canPush()) {
        out.stall();
        return;
      }
      const o = out.push();
      hostRspFromRecord(a, b, out.col, o);
      this.rspStage.copyLineOutWords(s, this.vcpuRspWords[src]!, o);
      this.rspStage.release();
    }
  }
}
