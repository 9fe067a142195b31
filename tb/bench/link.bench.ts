import { clearMemMsg, type MemMsgChannel } from '../../rtl/cxl/MemMsg.ts';
import { LINE_BYTES, M2SRwDOp, M2SReqOp, MsgClass, S2MDRSOp, S2MNDROp } from '../../rtl/cxl/opcodes.ts';
import { CxlLink, type CxlLinkParams } from '../../rtl/link/CxlLink.ts';
import { Module, SimContext, Simulator } from '../../src/sim/index.ts';
import { timeIt, type Bench } from './bench.ts';

/**
 * Link figures. Payload GB/s per direction at saturation: one end streams one message class as
 * fast as credits allow, the far end drains every cycle; delivered 64-byte lines are counted over a
 * window after warm-up and divided by simulated time (1 GHz clock: 1 cycle = 1 ns). Raw link rate
 * = lanes × GT/s / 8 (reference/cxl-protocol.md §7.1). cyclesPerSecond: wall-clock speed of the
 * whole link (two packers, two unpackers, two link layers, two PHYs) under full traffic both ways.
 */

const OPCODE = [M2SReqOp.MemRd, M2SRwDOp.MemWr, S2MNDROp.Cmp, S2MDRSOp.MemData];

/** Pushes messages of the enabled classes whenever there is room; allocation-free. */
class Streamer extends Module {
  private n = 0;
  constructor(parent: Module, name: string, readonly queues: MemMsgChannel[], readonly classes: readonly number[]) {
    super(parent, name);
  }
  override evaluate(): void {
    for (let k = 0; k < this.classes.length; k++) {
      const c = this.classes[k]!;
      const q = this.queues[c]!;
      while (q.canPush()) {
        const s = q.push();
        clearMemMsg(q, s);
        q.col.opcode[s] = OPCODE[c]!;
        q.col.tag[s] = this.n & 0xffff;
        q.col.addr[s] = (this.n % 1_000_000) * LINE_BYTES;
        const b0 = s * LINE_BYTES;
        for (let i = 0; i < LINE_BYTES; i++) q.bytes[b0 + i] = (this.n + i) & 0xff;
        this.n++;
      }
    }
  }
}

/** Pops everything, counting data lines (RwD, DRS) and messages. */
class Drain extends Module {
  lines = 0;
  msgs = 0;
  constructor(parent: Module, name: string, readonly queues: MemMsgChannel[]) {
    super(parent, name);
  }
  override evaluate(): void {
    for (let c = 0; c < 4; c++) {
      const q = this.queues[c]!;
      while (q.valid()) {
        q.pop();
        this.msgs++;
        if (c === MsgClass.M2SRwD || c === MsgClass.S2MDRS) this.lines++;
      }
    }
  }
}

function linkParams(mode: '68B' | '256B', gtps: number): CxlLinkParams {
  // Rx buffers deep enough to cover the credit round trip at full rate (the figure is the link's, not the credits').
  const d = 128;
  return { flitMode: mode, lanes: 16, gtps, phyLatencyNs: 10, retryBufferEntries: 64, rxDepth: { req: d, rwd: d, ndr: d, drs: d }, txQueueDepth: 8, seed: 1 };
}

function build(mode: '68B' | '256B', gtps: number, aClasses: number[], bClasses: number[]) {
  const top = new (class extends Module {})(null, 'top', new SimContext(1));
  const link = new CxlLink(top, 'link', linkParams(mode, gtps));
  const tx = (p: typeof link.a) => [p.txReq, p.txRwD, p.txNdr, p.txDrs];
  const rx = (p: typeof link.a) => [p.rxReq, p.rxRwD, p.rxNdr, p.rxDrs];
  new Streamer(top, 'srcA', tx(link.a), aClasses);
  new Streamer(top, 'srcB', tx(link.b), bClasses);
  const drainA = new Drain(top, 'drainA', rx(link.a));
  const drainB = new Drain(top, 'drainB', rx(link.b));
  return { sim: new Simulator(top), link, drainA, drainB };
}

/** Delivered payload GB/s b → a (DRS reads) or a → b (RwD writes). */
function payloadGBps(mode: '68B' | '256B', gtps: number, dir: 'read' | 'write'): number {
  const { sim, drainA, drainB } = dir === 'read' ? build(mode, gtps, [], [MsgClass.S2MDRS]) : build(mode, gtps, [MsgClass.M2SRwD], []);
  const drain = dir === 'read' ? drainA : drainB;
  sim.step(2000);
  const l0 = drain.lines;
  const N = 50_000;
  sim.step(N);
  return ((drain.lines - l0) * LINE_BYTES) / N; // bytes per ns = GB/s at 1 GHz
}

export const benches: Bench[] = [
  {
    figures: ['link.gen5x16.readGBps', 'link.gen5x16.writeGBps', 'link.gen6x16.readGBps'],
    run() {
      const r5 = payloadGBps('68B', 32, 'read');
      const w5 = payloadGBps('68B', 32, 'write');
      const r6 = payloadGBps('256B', 64, 'read');
      return {
        'link.gen5x16.readGBps': { value: r5, unit: 'GB/s', note: `68B flits, raw 64 GB/s (${((r5 / 64) * 100).toFixed(1)}%); §2.5 ceiling 83.7% with MDH` },
        'link.gen5x16.writeGBps': { value: w5, unit: 'GB/s', note: `68B flits, raw 64 GB/s (${((w5 / 64) * 100).toFixed(1)}%); §2.5 ceiling 75.3%` },
        'link.gen6x16.readGBps': { value: r6, unit: 'GB/s', note: `256B flits, raw 128 GB/s (${((r6 / 128) * 100).toFixed(1)}%); §3.6 ceiling ≈84.6%` },
      };
    },
  },
  {
    figures: ['link.cyclesPerSecond'],
    run() {
      const { sim } = build('68B', 32, [MsgClass.M2SReq, MsgClass.M2SRwD, MsgClass.S2MNDR, MsgClass.S2MDRS], [MsgClass.M2SReq, MsgClass.M2SRwD, MsgClass.S2MNDR, MsgClass.S2MDRS]);
      sim.step(5000);
      const N = 200_000;
      const secs = timeIt(() => sim.step(N));
      return { 'link.cyclesPerSecond': { value: N / secs, unit: 'cycles/s', note: 'gen5 x16 68B, all four classes both ways at saturation (2 packers, 2 unpackers, 2 LLRs, 2 PHYs)' } };
    },
  },
];
