import { LINE_BYTES } from '../../rtl/cxl/opcodes.ts';
import { HostOp, HostRoute, HostStatus, hostReqChannel, hostRspChannel, type HostReqChannel, type HostRspChannel } from '../../rtl/host/HostMsg.ts';
import { HostRouter, type HostRouterParams } from '../../rtl/host/HostRouter.ts';
import { StageRing } from '../../rtl/host/StageRing.ts';
import type { VcpuCommandSource } from '../../rtl/host/VcpuCommand.ts';
import { VcpuPort } from '../../rtl/host/VcpuPort.ts';
import { VmPageTable } from '../../rtl/host/VmPageTable.ts';
import { DramOp, dramReqChannel, dramRspChannel, type DramReqChannel, type DramRspChannel } from '../../rtl/memory/DramMsg.ts';
import { Module, Rng, SimContext, Simulator } from '../../src/sim/index.ts';

/**
 * Stand-ins for the modules the host side talks to, for host testbenches only: a DRAM port and a
 * device request decoder that answer after a fixed latency from a plain Map, optionally refusing
 * to accept in random cycles (back-pressure). Latency L: a request visible to the stand-in in
 * cycle a is answered visibly in cycle a + L (when not back-pressured).
 */

const DRAM_FIELDS = ['id', 'op', 'pa', 'beLo', 'beHi'] as const;
const DEC_FIELDS = ['hostTag', 'src', 'vm', 'op', 'addr', 'beLo', 'beHi', 'issueCycle'] as const;

function applyWrite(mem: Map<number, Uint8Array>, key: number, src: Uint8Array, off: number, beLo: number, beHi: number): void {
  let line = mem.get(key);
  if (!line) {
    line = new Uint8Array(LINE_BYTES);
    mem.set(key, line);
  }
  for (let b = 0; b < LINE_BYTES; b++) {
    const en = b < 32 ? (beLo >>> b) & 1 : (beHi >>> (b - 32)) & 1;
    if (en) line[b] = src[off + b]!;
  }
}

export interface StandInParams {
  readonly latencyCycles: number;
  /** Probability of accepting a waiting request in a cycle (1 = always). */
  readonly acceptProbability?: number;
  readonly seed?: number;
  readonly depth?: number;
  /** Keep the access log (default true; benches turn it off so the stand-ins allocate nothing per cycle). */
  readonly log?: boolean;
  /** Fault injection (to prove the checkers can fail): the n-th answer (0-based) ... */
  readonly corruptAnswer?: number; // ... has byte 0 of its data flipped (reads)
  readonly dropAnswer?: number; // ... is never sent
  readonly duplicateAnswer?: number; // ... is sent twice (device stand-in only)
}

export class FakeDram extends Module {
  readonly req: DramReqChannel;
  readonly rsp: DramRspChannel;
  /** Local PA (line address) → line. */
  readonly mem = new Map<number, Uint8Array>();
  /** Every access performed, in order. */
  readonly log: Array<{ op: number; pa: number; cycle: number }> = [];
  private readonly ring: StageRing<'id' | 'op' | 'pa' | 'beLo' | 'beHi'>;
  private readonly rng: Rng;
  private answers = 0;

  constructor(
    parent: Module,
    name: string,
    readonly p: StandInParams,
  ) {
    super(parent, name);
    this.req = dramReqChannel(this, 'req', p.depth ?? 4);
    this.rsp = dramRspChannel(this, 'rsp', p.depth ?? 4);
    this.ring = new StageRing(`${this.path}.ring`, 256, ['id', 'op', 'pa', 'beLo', 'beHi']);
    this.rng = new Rng(p.seed ?? 1);
  }

  override evaluate(): void {
    const cycle = this.ctx.cycle;
    if (this.req.valid() && this.ring.canAccept() && ((this.p.acceptProbability ?? 1) >= 1 || this.rng.nextFloat() < this.p.acceptProbability!)) {
      const k = this.req.pop();
      const s = this.ring.accept(cycle + this.p.latencyCycles - 1);
      for (const f of DRAM_FIELDS) this.ring.set(s, f, this.req.col[f][k]!);
      this.ring.copyLineIn(s, this.req.bytes, k * LINE_BYTES);
    }
    const s = this.ring.readyHead(cycle);
    if (s >= 0 && this.answers === this.p.dropAnswer) {
      this.answers++;
      this.ring.release();
      return;
    }
    if (s >= 0 && this.rsp.canPush()) {
      const ring = this.ring;
      const o = this.rsp.push();
      this.rsp.col.id[o] = ring.get(s, 'id');
      this.rsp.col.op[o] = ring.get(s, 'op');
      this.rsp.col.pa[o] = ring.get(s, 'pa');
      if (this.p.log !== false) this.log.push({ op: ring.get(s, 'op'), pa: ring.get(s, 'pa'), cycle });
      if (ring.get(s, 'op') === DramOp.Write) applyWrite(this.mem, ring.get(s, 'pa'), this.ring.bytes, s * LINE_BYTES, ring.get(s, 'beLo'), ring.get(s, 'beHi'));
      else {
        const line = this.mem.get(ring.get(s, 'pa'));
        for (let b = 0; b < LINE_BYTES; b++) this.rsp.bytes[o * LINE_BYTES + b] = line ? line[b]! : 0;
        if (this.answers === this.p.corruptAnswer) this.rsp.bytes[o * LINE_BYTES]! ^= 0x01;
      }
      this.answers++;
      this.ring.release();
    }
  }
}

export class FakeDecoder extends Module {
  readonly hostIn: HostReqChannel;
  readonly hostOut: HostRspChannel;
  /** HPA (line address) → line. */
  readonly mem = new Map<number, Uint8Array>();
  readonly log: Array<{ op: number; hpa: number; src: number; cycle: number }> = [];
  private readonly ring: StageRing<'hostTag' | 'src' | 'vm' | 'op' | 'addr' | 'beLo' | 'beHi' | 'issueCycle'>;
  private readonly rng: Rng;
  private answers = 0;
  private repeat = false;

  constructor(
    parent: Module,
    name: string,
    readonly p: StandInParams,
  ) {
    super(parent, name);
    this.hostIn = hostReqChannel(this, 'hostIn', p.depth ?? 4);
    this.hostOut = hostRspChannel(this, 'hostOut', p.depth ?? 4);
    this.ring = new StageRing(`${this.path}.ring`, 256, ['hostTag', 'src', 'vm', 'op', 'addr', 'beLo', 'beHi', 'issueCycle']);
    this.rng = new Rng(p.seed ?? 2);
  }

  override evaluate(): void {
    const cycle = this.ctx.cycle;
    if (this.hostIn.valid() && this.ring.canAccept() && ((this.p.acceptProbability ?? 1) >= 1 || this.rng.nextFloat() < this.p.acceptProbability!)) {
      const k = this.hostIn.pop();
      const s = this.ring.accept(cycle + this.p.latencyCycles - 1);
      for (const f of DEC_FIELDS) this.ring.set(s, f, this.hostIn.col[f][k]!);
      this.ring.copyLineIn(s, this.hostIn.bytes, k * LINE_BYTES);
    }
    const s = this.ring.readyHead(cycle);
    if (s >= 0 && this.hostOut.canPush()) {
      const ring = this.ring;
      const o = this.hostOut.push();
      const r = this.hostOut.col;
      r.hostTag[o] = ring.get(s, 'hostTag');
      r.src[o] = ring.get(s, 'src');
      r.vm[o] = ring.get(s, 'vm');
      r.op[o] = ring.get(s, 'op');
      r.addr[o] = ring.get(s, 'addr');
      r.status[o] = HostStatus.Ok;
      r.poison[o] = 0;
      r.route[o] = HostRoute.Remote;
      r.issueCycle[o] = ring.get(s, 'issueCycle');
      if (this.p.log !== false) this.log.push({ op: ring.get(s, 'op'), hpa: ring.get(s, 'addr'), src: ring.get(s, 'src'), cycle });
      if (ring.get(s, 'op') !== HostOp.Read) applyWrite(this.mem, ring.get(s, 'addr'), this.ring.bytes, s * LINE_BYTES, ring.get(s, 'beLo'), ring.get(s, 'beHi'));
      else {
        const line = this.mem.get(ring.get(s, 'addr'));
        for (let b = 0; b < LINE_BYTES; b++) this.hostOut.bytes[o * LINE_BYTES + b] = line ? line[b]! : 0;
      }
      if (this.answers === this.p.duplicateAnswer && !this.repeat) {
        this.repeat = true; // answer the same entry again next cycle
        return;
      }
      this.answers++;
      this.ring.release();
    }
  }
}

export class Top extends Module {
  constructor(clockGHz = 2) {
    super(null, 'top', new SimContext(clockGHz));
  }
}

export interface PortSpec {
  readonly vm: number;
  readonly maxOutstanding: number;
  readonly source?: VcpuCommandSource;
  readonly orderSameLine?: boolean;
  readonly reqDepth?: number;
  readonly rspDepth?: number;
}

export interface NodeBenchParams {
  readonly ports: readonly PortSpec[];
  /** [vm, vmAddr, hpa, pages] */
  readonly mappings: ReadonlyArray<readonly [number, number, number, number]>;
  readonly pageTableLatencyCycles: number;
  readonly router: Omit<HostRouterParams, 'dramBase' | 'dramBytes' | 'deviceBase' | 'deviceBytes'> & Partial<HostRouterParams>;
  readonly dram: StandInParams;
  readonly dev: StandInParams;
  readonly evalOrderSeed?: number;
}

/** Default address map of the host testbenches: DRAM at 0 (1 MiB), device window at 16 MiB (1 MiB). */
export const DRAM_BASE = 0;
export const DRAM_BYTES = 1 << 20;
export const DEV_BASE = 16 << 20;
export const DEV_BYTES = 1 << 20;

/** One node's host side wired to stand-ins. */
export function buildNode(p: NodeBenchParams) {
  const top = new Top();
  const vms = [...new Set(p.ports.map((s) => s.vm).concat(p.mappings.map((m) => m[0])))].sort((a, b) => a - b);
  const tables = new Map<number, VmPageTable>();
  for (const vm of vms) tables.set(vm, new VmPageTable(top, `vm${vm}_pt`, { vm }));
  for (const [vm, v, h, n] of p.mappings) tables.get(vm)!.map(v, h, n);
  const ports = p.ports.map(
    (s, i) =>
      new VcpuPort(
        top,
        `vcpu${i}`,
        {
          vm: s.vm,
          portIndex: i,
          maxOutstanding: s.maxOutstanding,
          pageTableLatencyCycles: p.pageTableLatencyCycles,
          ...(s.orderSameLine !== undefined ? { orderSameLine: s.orderSameLine } : {}),
          ...(s.reqDepth !== undefined ? { reqDepth: s.reqDepth } : {}),
          ...(s.rspDepth !== undefined ? { rspDepth: s.rspDepth } : {}),
        },
        tables.get(s.vm)!,
        s.source,
      ),
  );
  const dram = new FakeDram(top, 'dram', p.dram);
  const dev = new FakeDecoder(top, 'dev', p.dev);
  const router = new HostRouter(
    top,
    'router',
    { dramBase: DRAM_BASE, dramBytes: DRAM_BYTES, deviceBase: DEV_BASE, deviceBytes: DEV_BYTES, ...p.router },
    {
      vcpuReq: ports.map((x) => x.req),
      vcpuRsp: ports.map((x) => x.rsp),
      dramReq: dram.req,
      dramRsp: dram.rsp,
      devReq: dev.hostIn,
      devRsp: dev.hostOut,
    },
  );
  const sim = new Simulator(top, p.evalOrderSeed !== undefined ? { evalOrderSeed: p.evalOrderSeed } : {});
  return { top, sim, tables, ports, dram, dev, router };
}
