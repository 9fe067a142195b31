import { AddressRangeTable, type AddressRangeTableConfig } from '../../rtl/decode/AddressRangeTable.ts';
import { RequestDecoder } from '../../rtl/decode/RequestDecoder.ts';
import { memMsgChannel, type MemMsgChannel } from '../../rtl/cxl/MemMsg.ts';
import { LINE_BYTES, M2SReqOp, M2SRwDOp, S2MDRSOp, S2MNDROp } from '../../rtl/cxl/opcodes.ts';
import { HostOp } from '../../rtl/host/HostMsg.ts';
import { DramOp, dramReqChannel, dramRspChannel, type DramReqChannel, type DramRspChannel } from '../../rtl/memory/DramMsg.ts';
import { Module, SimContext, Simulator } from '../../src/sim/index.ts';

/**
 * Testbench for RequestDecoder: a host driver, a stand-in for the packer/unpacker + remote memory
 * (FabricStub), and a stand-in for the local DRAM port (DramStub). Testbench code, so it may
 * allocate freely; it talks to the decoder only through channels, like the real neighbours.
 */

/** Initial content of every line: a function of where it is, so reads can be checked. */
export function initialByte(node: number, addr: number, k: number): number {
  return (node * 31 + Math.floor(addr / LINE_BYTES) * 7 + k) & 0xff;
}

export interface HostCmd {
  hostTag: number;
  vm: number;
  op: number;
  addr: number;
  beLo?: number;
  beHi?: number;
  data?: Uint8Array;
}

export interface HostAnswer {
  hostTag: number;
  status: number;
  poison: number;
  route: number;
  addr: number;
  data: Uint8Array;
  cycle: number;
  issueCycle: number;
}

export class Top extends Module {
  constructor() {
    super(null, 'top', new SimContext(1));
  }
}

/** Pushes scripted host commands as fast as hostIn accepts them (or at set cycles); collects answers. */
export class HostDriver extends Module {
  readonly queue: HostCmd[] = [];
  readonly answers: HostAnswer[] = [];
  /** Cycle in which each hostTag was pushed. */
  readonly pushedAt = new Map<number, number>();
  /** Cycles in which a command was waiting but hostIn was full. */
  blockedCycles = 0;
  /** When set, push nothing before this cycle. */
  startAt = 0;
  constructor(
    parent: Module,
    private readonly dec: RequestDecoder,
  ) {
    super(parent, 'host');
  }
  override evaluate(): void {
    const now = this.ctx.cycle;
    const out = this.dec.hostOut;
    while (out.valid()) {
      const s = out.pop();
      const c = out.col;
      this.answers.push({
        hostTag: c.hostTag[s]!,
        status: c.status[s]!,
        poison: c.poison[s]!,
        route: c.route[s]!,
        addr: c.addr[s]!,
        data: out.bytes.slice(s * LINE_BYTES, (s + 1) * LINE_BYTES),
        cycle: now,
        issueCycle: c.issueCycle[s]!,
      });
    }
    if (now < this.startAt || this.queue.length === 0) return;
    const inp = this.dec.hostIn;
    if (!inp.canPush()) {
      this.blockedCycles++;
      return;
    }
    const cmd = this.queue.shift()!;
    const s = inp.push();
    const c = inp.col;
    c.hostTag[s] = cmd.hostTag;
    c.src[s] = 0;
    c.vm[s] = cmd.vm;
    c.op[s] = cmd.op;
    c.addr[s] = cmd.addr;
    c.beLo[s] = cmd.beLo ?? 0;
    c.beHi[s] = cmd.beHi ?? 0;
    c.issueCycle[s] = now;
    inp.bytes.set(cmd.data ?? new Uint8Array(LINE_BYTES), s * LINE_BYTES);
    this.pushedAt.set(cmd.hostTag, now);
  }
}

export interface SeenM2S {
  cls: 'req' | 'rwd';
  opcode: number;
  tag: number;
  addr: number;
  spid: number;
  dpid: number;
  metaField: number;
  beLo: number;
  beHi: number;
  data: Uint8Array;
  cycle: number;
}

/** Packer input queues + unpacker output queues + the remote nodes' memory, with a fixed latency. */
export class FabricStub extends Module {
  readonly m2sReq: MemMsgChannel;
  readonly m2sRwd: MemMsgChannel;
  readonly s2mNdr: MemMsgChannel;
  readonly s2mDrs: MemMsgChannel;
  readonly seen: SeenM2S[] = [];
  /** Lines written so far, by `${node}:${addr}`. */
  readonly mem = new Map<string, Uint8Array>();
  accepting = true;
  /** Answer reads with MemData-NXM (a remote decode failure). */
  answerNxm = false;
  private readonly pending: { due: number; cls: 'drs' | 'ndr'; tag: number; data: Uint8Array; nxm: boolean }[] = [];
  maxInFlight = 0;
  constructor(
    parent: Module,
    readonly latency: number,
    depth = 4,
  ) {
    super(parent, 'fabric');
    this.m2sReq = memMsgChannel(this, 'txReq', depth);
    this.m2sRwd = memMsgChannel(this, 'txRwD', depth);
    this.s2mNdr = memMsgChannel(this, 'rxNdr', depth);
    this.s2mDrs = memMsgChannel(this, 'rxDrs', depth);
  }
  line(node: number, addr: number): Uint8Array {
    const key = `${node}:${addr}`;
    let l = this.mem.get(key);
    if (!l) {
      l = new Uint8Array(LINE_BYTES);
      for (let k = 0; k < LINE_BYTES; k++) l[k] = initialByte(node, addr, k);
      this.mem.set(key, l);
    }
    return l;
  }
  override evaluate(): void {
    const now = this.ctx.cycle;
    if (this.accepting) {
      for (const [cls, ch] of [['req', this.m2sReq], ['rwd', this.m2sRwd]] as const) {
        if (!ch.valid()) continue;
        const s = ch.pop();
        const c = ch.col;
        const m: SeenM2S = {
          cls,
          opcode: c.opcode[s]!,
          tag: c.tag[s]!,
          addr: c.addr[s]!,
          spid: c.spid[s]!,
          dpid: c.dpid[s]!,
          metaField: c.metaField[s]!,
          beLo: c.beLo[s]!,
          beHi: c.beHi[s]!,
          data: ch.bytes.slice(s * LINE_BYTES, (s + 1) * LINE_BYTES),
          cycle: now,
        };
        this.seen.push(m);
        const line = this.line(m.dpid, m.addr - (m.addr % LINE_BYTES));
        if (cls === 'req') {
          if (m.opcode !== M2SReqOp.MemRd) throw new Error(`unexpected M2S Req opcode ${m.opcode}`);
          this.pending.push({ due: now + this.latency, cls: 'drs', tag: m.tag, data: line.slice(), nxm: this.answerNxm });
        } else {
          for (let k = 0; k < LINE_BYTES; k++) {
            const en = m.opcode === M2SRwDOp.MemWr || (k < 32 ? (m.beLo >>> k) & 1 : (m.beHi >>> (k - 32)) & 1) === 1;
            if (en) line[k] = m.data[k]!;
          }
          this.pending.push({ due: now + this.latency, cls: 'ndr', tag: m.tag, data: new Uint8Array(0), nxm: false });
        }
      }
    }
    this.maxInFlight = Math.max(this.maxInFlight, this.pending.length);
    let sentDrs = false;
    let sentNdr = false;
    for (let i = 0; i < this.pending.length; i++) {
      const p = this.pending[i]!;
      if (p.due > now) break;
      const ch = p.cls === 'drs' ? this.s2mDrs : this.s2mNdr;
      if ((p.cls === 'drs' ? sentDrs : sentNdr) || !ch.canPush()) break;
      const s = ch.push();
      for (const f of ch.fields) ch.col[f][s] = 0;
      ch.col.tag[s] = p.tag;
      if (p.cls === 'drs') {
        ch.col.opcode[s] = p.nxm ? S2MDRSOp.MemDataNXM : S2MDRSOp.MemData;
        ch.col.poison[s] = p.nxm ? 1 : 0;
        ch.bytes.set(p.nxm ? new Uint8Array(LINE_BYTES).fill(0xff) : p.data, s * LINE_BYTES);
        sentDrs = true;
      } else {
        ch.col.opcode[s] = S2MNDROp.Cmp;
        sentNdr = true;
      }
      this.pending.splice(i, 1);
      i--;
    }
  }
}

/** Local DRAM port stand-in: fixed latency, sparse lines keyed by PA. */
export class DramStub extends Module {
  readonly req: DramReqChannel;
  readonly rsp: DramRspChannel;
  readonly seen: { op: number; pa: number; id: number; cycle: number }[] = [];
  readonly mem = new Map<number, Uint8Array>();
  private readonly pending: { due: number; id: number; op: number; pa: number; data: Uint8Array }[] = [];
  constructor(
    parent: Module,
    readonly latency: number,
    readonly nodeId: number,
  ) {
    super(parent, 'dram');
    this.req = dramReqChannel(this, 'req', 4);
    this.rsp = dramRspChannel(this, 'rsp', 4);
  }
  line(pa: number): Uint8Array {
    let l = this.mem.get(pa);
    if (!l) {
      l = new Uint8Array(LINE_BYTES);
      for (let k = 0; k < LINE_BYTES; k++) l[k] = initialByte(this.nodeId, pa, k) ^ 0x5a;
      this.mem.set(pa, l);
    }
    return l;
  }
  override evaluate(): void {
    const now = this.ctx.cycle;
    if (this.req.valid()) {
      const s = this.req.pop();
      const c = this.req.col;
      const op = c.op[s]!;
      const pa = c.pa[s]!;
      this.seen.push({ op, pa, id: c.id[s]!, cycle: now });
      const line = this.line(pa);
      if (op === DramOp.Write) {
        for (let k = 0; k < LINE_BYTES; k++) if ((k < 32 ? (c.beLo[s]! >>> k) & 1 : (c.beHi[s]! >>> (k - 32)) & 1) === 1) line[k] = this.req.bytes[s * LINE_BYTES + k]!;
      }
      this.pending.push({ due: now + this.latency, id: c.id[s]!, op, pa, data: line.slice() });
    }
    const p = this.pending[0];
    if (p && p.due <= now && this.rsp.canPush()) {
      const s = this.rsp.push();
      this.rsp.col.id[s] = p.id;
      this.rsp.col.op[s] = p.op;
      this.rsp.col.pa[s] = p.pa;
      this.rsp.bytes.set(p.data, s * LINE_BYTES);
      this.pending.shift();
    }
  }
}

/** Stages page overrides from inside the simulation, in a chosen cycle (as the migration engine will). */
export class OverrideStager extends Module {
  readonly plan: { cycle: number; hpa: number; local: boolean; node: number; pa: number }[] = [];
  constructor(
    parent: Module,
    private readonly table: AddressRangeTable,
  ) {
    super(parent, 'migrate');
  }
  override evaluate(): void {
    for (const p of this.plan) {
      if (p.cycle !== this.ctx.cycle) continue;
      if (p.local) this.table.stageOverrideLocal(p.hpa, p.pa, this.ctx.cycle);
      else this.table.stageOverrideRemote(p.hpa, p.node, p.pa, this.ctx.cycle);
    }
  }
}

export interface BenchOptions {
  config: AddressRangeTableConfig;
  nodeId?: number;
  lookupLatencyCycles?: number;
  tagPoolSize?: number;
  remoteLatency?: number;
  dram?: boolean;
  dramLatency?: number;
  fabricDepth?: number;
  hostInDepth?: number;
  evalOrderSeed?: number;
}

export interface DecoderBench {
  sim: Simulator;
  top: Top;
  table: AddressRangeTable;
  dec: RequestDecoder;
  host: HostDriver;
  fabric: FabricStub;
  dram: DramStub | null;
  stager: OverrideStager;
  /** Step until every queued command is answered (or fail after `limit` cycles). */
  drain(expected: number, limit?: number): void;
}

export function buildDecoderBench(o: BenchOptions): DecoderBench {
  const top = new Top();
  const table = AddressRangeTable.fromConfig(o.config);
  const nodeId = o.nodeId ?? 0;
  const fabric = new FabricStub(top, o.remoteLatency ?? 0, o.fabricDepth ?? 4);
  const dram = o.dram ? new DramStub(top, o.dramLatency ?? 0, nodeId) : null;
  const dec = new RequestDecoder(top, 'decoder', {
    nodeId,
    table,
    lookupLatencyCycles: o.lookupLatencyCycles ?? 2,
    tagPoolSize: o.tagPoolSize ?? 16,
    hostInDepth: o.hostInDepth ?? 2,
    m2sReq: fabric.m2sReq,
    m2sRwd: fabric.m2sRwd,
    s2mNdr: fabric.s2mNdr,
    s2mDrs: fabric.s2mDrs,
    ...(dram ? { dramReq: dram.req, dramRsp: dram.rsp } : {}),
  });
  const host = new HostDriver(top, dec);
  const stager = new OverrideStager(top, table);
  const sim = new Simulator(top, o.evalOrderSeed !== undefined ? { evalOrderSeed: o.evalOrderSeed } : {});
  return {
    sim,
    top,
    table,
    dec,
    host,
    fabric,
    dram,
    stager,
    drain(expected, limit = 10_000) {
      sim.runUntil(() => host.answers.length >= expected, limit);
    },
  };
}

export const Op = HostOp;
