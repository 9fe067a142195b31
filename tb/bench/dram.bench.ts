/**
 * Memory figures (simulated hardware throughput, not host speed, except the last one):
 *   dram.seqRead.GBps          sequential 64-byte reads straight into the Dram (DDR5_4800, 1 GHz)
 *   dram.seqRead.ceilingGBps   analytic data-bus ceiling of the model: channels × 64 B / tBurst
 *   dram.randRead.GBps         random 64-byte MemRd through RemoteMemoryController + arbiter + Dram,
 *                              the link side always full (sustained device read bandwidth)
 *   dram.randRead.simMcyclesPerSec  host speed of that simulation (millions of cycles per second)
 */
import { Module, Rng, SimContext, Simulator, nsToCycles } from '../../src/sim/index.ts';
import { memMsgChannel, type MemMsgChannel } from '../../rtl/cxl/MemMsg.ts';
import { LINE_BYTES, M2SReqOp } from '../../rtl/cxl/opcodes.ts';
import { Dram } from '../../rtl/memory/Dram.ts';
import { DramOp } from '../../rtl/memory/DramMsg.ts';
import { burstNs, DDR5_4800 } from '../../rtl/memory/DramParams.ts';
import { DramSubsystem } from '../../rtl/memory/DramSubsystem.ts';
import { ExportPerm, ExportTable } from '../../rtl/memory/ExportTable.ts';
import { REMOTE_MEMORY_CONTROLLER_DEFAULTS, RemoteMemoryController } from '../../rtl/memory/RemoteMemoryController.ts';
import type { Bench, Figures } from './bench.ts';

const CLOCK_GHZ = 1;

class Top extends Module {
  constructor() {
    super(null, 'top', new SimContext(CLOCK_GHZ));
  }
}

class Link extends Module {
  readonly m2sReq: MemMsgChannel;
  readonly m2sRwd: MemMsgChannel;
  readonly s2mNdr: MemMsgChannel;
  readonly s2mDrs: MemMsgChannel;
  constructor(parent: Module) {
    super(parent, 'link');
    this.m2sReq = memMsgChannel(this, 'm2sReq', 32);
    this.m2sRwd = memMsgChannel(this, 'm2sRwd', 32);
    this.s2mNdr = memMsgChannel(this, 's2mNdr', 32);
    this.s2mDrs = memMsgChannel(this, 's2mDrs', 32);
  }
}

function seqRead(lines: number): number {
  const top = new Top();
  const dram = new Dram(top, 'dram', DDR5_4800);
  const sim = new Simulator(top);
  let sent = 0;
  let got = 0;
  while (got < lines) {
    while (sent < lines && dram.req.canPush()) {
      const s = dram.req.push();
      dram.req.col.id[s] = sent;
      dram.req.col.op[s] = DramOp.Read;
      dram.req.col.pa[s] = sent * LINE_BYTES;
      sent++;
    }
    while (dram.rsp.valid()) {
      dram.rsp.pop();
      got++;
    }
    sim.step();
  }
  return (lines * LINE_BYTES) / (sim.cycle / CLOCK_GHZ); // bytes per ns = GB/s
}

function randRead(reads: number): { gbps: number; cyclesPerSec: number } {
  const top = new Top();
  const link = new Link(top);
  const mem = new DramSubsystem(top, 'mem', { dram: DDR5_4800, arbiter: { ports: 3, portDepth: 2, rspDepth: 4 } });
  const exports = new ExportTable(4, DDR5_4800.capacityBytes);
  exports.add({ spid: 1, base: 0, size: DDR5_4800.capacityBytes, perm: ExportPerm.Read });
  new RemoteMemoryController(top, 'rmc', { ...REMOTE_MEMORY_CONTROLLER_DEFAULTS, localBytes: DDR5_4800.capacityBytes }, { ...link, dram: mem.port(1) }, exports);
  const sim = new Simulator(top);
  const rng = new Rng(12345);
  const lines = DDR5_4800.capacityBytes / LINE_BYTES;
  let sent = 0;
  let got = 0;
  let first = -1;
  const t0 = process.hrtime.bigint();
  while (got < reads) {
    while (sent < reads && link.m2sReq.canPush()) {
      const s = link.m2sReq.push();
      const c = link.m2sReq.col;
      c.opcode[s] = M2SReqOp.MemRd;
      c.tag[s] = sent & 0xffff;
      c.addr[s] = rng.below(lines) * LINE_BYTES;
      c.spid[s] = 1;
      sent++;
    }
    while (link.s2mDrs.valid()) {
      link.s2mDrs.pop();
      if (first < 0) first = sim.cycle;
      got++;
    }
    sim.step();
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  // Sustained: from the first answer on (the pipeline fill is idle latency, not bandwidth).
  return { gbps: ((reads - 1) * LINE_BYTES) / ((sim.cycle - 1 - first) / CLOCK_GHZ), cyclesPerSec: sim.cycle / secs };
}

export const benches: Bench[] = [
  {
    figures: ['dram.seqRead.GBps', 'dram.seqRead.ceilingGBps'],
    run(): Figures {
      const tBurst = Math.max(1, nsToCycles(burstNs(DDR5_4800), { clockGHz: CLOCK_GHZ }));
      const ceiling = (DDR5_4800.channels * LINE_BYTES) / (tBurst / CLOCK_GHZ);
      const pinPeak = (DDR5_4800.dataRateMTps * DDR5_4800.busWidthBits) / 8 / 1000;
      return {
        'dram.seqRead.GBps': { value: seqRead(50_000), unit: 'GB/s', note: `DDR5-4800 x64, 1 ch, ${CLOCK_GHZ} GHz clock` },
        'dram.seqRead.ceilingGBps': { value: ceiling, unit: 'GB/s', note: `64 B per tBurst=${tBurst} cycles; pin peak ${pinPeak} GB/s before rounding the burst to whole cycles` },
      };
    },
  },
  {
    figures: ['dram.randRead.GBps', 'dram.randRead.simMcyclesPerSec'],
    run(): Figures {
      const r = randRead(Number(process.env.CXLFAB_BENCH_READS ?? 30_000));
      return {
        'dram.randRead.GBps': { value: r.gbps, unit: 'GB/s', note: `random 64 B MemRd over ${DDR5_4800.capacityBytes / 2 ** 30} GiB, controller queue ${REMOTE_MEMORY_CONTROLLER_DEFAULTS.queueDepth}` },
        'dram.randRead.simMcyclesPerSec': { value: r.cyclesPerSec / 1e6, unit: 'Mcycles/s', note: 'host speed, controller + arbiter + DRAM' },
      };
    },
  },
];
