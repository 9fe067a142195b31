import type { SystemConfig } from '../config/system.ts';
import { Simulator } from '../sim/index.ts';
import { openVcd } from '../vcd/Tracer.ts';
import { writeStoryGtkw } from './storyLayout.ts';
import { mergedLatencyByClass } from '../../rtl/host/HostStats.ts';
import { LATENCY_CLASS_NAMES, LatencyClass } from '../../rtl/host/VcpuPort.ts';
import type { TrafficGenerator } from '../../rtl/host/TrafficGenerator.ts';
import { TwoNodeFabric } from '../../rtl/system/TwoNodeFabric.ts';
import { idleRemoteReadBreakdown, type BreakdownStage } from '../../rtl/system/idlePath.ts';
import { Scoreboard } from '../check/Scoreboard.ts';
import { accessOracle } from '../check/systemOracle.ts';

/** Bits on the wire per flit: 68B flit incl. its 2-byte protocol ID; 256B flit (reference §7.1). */
const FLIT_WIRE_BITS = { '68B': 68 * 8, '256B': 256 * 8 } as const;
/** Cycles allowed for in-flight commands to drain after the run before they count as lost. */
export const DRAIN_LIMIT_CYCLES = 200_000;
const CHUNK = 4096;

export interface RunOptions {
  /** Write waves to this path (.vcd; the .gtkw goes next to it). */
  readonly vcd?: string;
  readonly trace?: readonly string[];
  /** Golden-memory check of every answer (default true). */
  readonly check?: boolean;
  /** Called every few thousand cycles with (cycles done, cycles total). */
  readonly progress?: (done: number, total: number) => void;
}

export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p99: number;
  max: number;
}

export interface LinkSummary {
  name: string;
  flits: number;
  payloadBytes: number;
  /** Fraction of the run's time the wire carried flits. */
  utilization: number;
  /** Payload bytes / bytes on the wire. */
  efficiency: number;
  payloadGBps: number;
  rawGBps: number;
  crcErrors: number;
  retries: number;
  replayedFlits: number;
}

export interface RunReport {
  scenario: string;
  cycles: number;
  clockGHz: number;
  wallSeconds: number;
  cyclesPerSecond: number;
  drainCycles: number;
  requests: { issued: number; completed: number; local: number; remote: number; errors: number; pageFaults: number; nxm: number };
  latencyNs: Record<string, LatencySummary>;
  latencyCycles: Record<string, LatencySummary>;
  links: LinkSummary[];
  dram: Array<{ node: string; utilization: number; reads: number; writes: number }>;
  stalls: Record<string, number>;
  check: { enabled: boolean; mismatches: number; lost: number; duplicated: number; readsChecked: number; firstErrors: string[] };
  breakdownNs: BreakdownStage[];
  idleRemoteReadNs: number;
  vcd?: string;
  gtkw?: string;
}

function summarize(h: { count: number; min: number; mean: number; p50: number; p99: number; max: number }, scale: number): LatencySummary {
  if (h.count === 0) return { count: 0, min: 0, mean: 0, p50: 0, p99: 0, max: 0 };
  return { count: h.count, min: h.min * scale, mean: h.mean * scale, p50: h.p50 * scale, p99: h.p99 * scale, max: h.max * scale };
}

/** Build the two-node fabric of `cfg`, run it for cfg.cycles, drain, check and report. */
export function runScenario(cfg: SystemConfig, opts: RunOptions = {}): RunReport {
  const fabric = new TwoNodeFabric(cfg);
  const check = opts.check ?? true;
  const boards = check ? fabric.nodes.map((n) => new Scoreboard({ expect: accessOracle(cfg, n.cfg), throwOnError: false }).watch(...n.vcpus)) : [];
  const sim = new Simulator(fabric);
  // openVcd attaches the tracer itself.
  const tracer = opts.vcd ? openVcd(sim, opts.vcd.replace(/\.vcd$/, ''), opts.trace && opts.trace.length > 0 ? { trace: opts.trace } : {}) : null;

  const total = cfg.cycles;
  const t0 = process.hrtime.bigint();
  try {
    for (let done = 0; done < total; ) {
      const n = Math.min(CHUNK, total - done);
      sim.step(n);
      done += n;
      opts.progress?.(done, total);
    }
  } catch (e) {
    // The waves up to the failure are the first thing to look at: finish the file and its layout
    // (this also ends the VCD writer thread).
    tracer?.close();
    throw e;
  }
  const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;

  // Snapshot throughput counters at the end of the measured window, before draining.
  const link = fabric.link;
  const wireNs = FLIT_WIRE_BITS[cfg.link.flitMode] / (cfg.link.lanes * cfg.link.gtps);
  const runNs = total / cfg.clockGHz;
  const dirs = [
    { name: `${cfg.nodes[0]!.name}->${cfg.nodes[1]!.name}`, phy: link.phyAB, rx: link.b, tx: link.a },
    { name: `${cfg.nodes[1]!.name}->${cfg.nodes[0]!.name}`, phy: link.phyBA, rx: link.a, tx: link.b },
  ];
  const links: LinkSummary[] = dirs.map((d) => {
    const flits = d.phy.flitsSent;
    const payloadBytes = (d.rx.rxRwD.totalPushed + d.rx.rxDrs.totalPushed) * 64;
    const wireBytes = flits * (FLIT_WIRE_BITS[cfg.link.flitMode] / 8);
    const l = d.rx.link as unknown as { crcErrors?: number; retries?: number; replayedFlits?: number };
    const lt = d.tx.link as unknown as { replayedFlits?: number };
    return {
      name: d.name,
      flits,
      payloadBytes,
      utilization: (flits * wireNs) / runNs,
      efficiency: wireBytes > 0 ? payloadBytes / wireBytes : 0,
      payloadGBps: payloadBytes / runNs,
      rawGBps: (cfg.link.lanes * cfg.link.gtps) / 8,
      crcErrors: l.crcErrors ?? 0,
      retries: l.retries ?? 0,
      replayedFlits: lt.replayedFlits ?? 0,
    };
  });
  const dram = fabric.nodes.map((n) => ({
    node: n.cfg.name,
    utilization: n.mem.dram.busBusyCycles / total,
    reads: n.mem.dram.reads,
    writes: n.mem.dram.writes,
  }));
  const stalls: Record<string, number> = {};
  for (const n of fabric.nodes) {
    const k = n.cfg.name;
    stalls[`node${k}.vcpuIssueStallCycles`] = n.vcpus.reduce((a, p) => a + p.issueStallCycles, 0);
    stalls[`node${k}.decoderTagStalls`] = n.dev.decoder.tagStalls;
    stalls[`node${k}.decoderQueueStalls`] = n.dev.decoder.queueStalls;
    stalls[`node${k}.controllerQueueFullStalls`] = n.dev.rmc.queueFullStalls;
  }
  stalls['link.a.packerCreditStalls'] = link.a.packer.creditStalls;
  stalls['link.b.packerCreditStalls'] = link.b.packer.creditStalls;

  // Drain: no new commands; what is in flight must complete within the bound or counts as lost.
  for (const n of fabric.nodes) for (const g of n.generators) (g as TrafficGenerator).stop();
  const ports = fabric.vcpus;
  let drainCycles = 0;
  try {
    while (drainCycles < DRAIN_LIMIT_CYCLES && ports.some((p) => p.inflight > 0)) {
      sim.step(64);
      drainCycles += 64;
    }
  } catch (e) {
    tracer?.close();
    throw e;
  }
  for (const b of boards) b.finish();
  if (tracer && opts.vcd) {
    tracer.close();
    writeStoryGtkw(opts.vcd.replace(/\.vcd$/, '.gtkw'), opts.vcd, tracer, cfg.nodes[0]!.name, cfg.nodes[1]!.name);
  }

  const lat = mergedLatencyByClass(ports);
  const latencyNs: Record<string, LatencySummary> = {};
  const latencyCycles: Record<string, LatencySummary> = {};
  for (const [name, h] of lat) {
    latencyNs[name] = summarize(h, 1 / cfg.clockGHz);
    latencyCycles[name] = summarize(h, 1);
  }
  const count = (c: number) => lat[c]![1].count;
  const breakdown = idleRemoteReadBreakdown(cfg);
  return {
    scenario: cfg.name,
    cycles: total,
    clockGHz: cfg.clockGHz,
    wallSeconds,
    cyclesPerSecond: total / wallSeconds,
    drainCycles,
    requests: {
      issued: ports.reduce((a, p) => a + p.issued, 0),
      completed: ports.reduce((a, p) => a + p.completed, 0),
      local: count(LatencyClass.LocalRead) + count(LatencyClass.LocalWrite),
      remote: count(LatencyClass.RemoteRead) + count(LatencyClass.RemoteWrite),
      errors: count(LatencyClass.Error),
      pageFaults: ports.reduce((a, p) => a + p.pageFaults, 0),
      nxm: ports.reduce((a, p) => a + p.nxmAnswers, 0),
    },
    latencyNs,
    latencyCycles,
    links,
    dram,
    stalls,
    check: {
      enabled: check,
      mismatches: boards.reduce((a, b) => a + b.counts.mismatch, 0),
      lost: boards.reduce((a, b) => a + b.counts.lost, 0),
      duplicated: boards.reduce((a, b) => a + b.counts.duplicated, 0),
      readsChecked: boards.reduce((a, b) => a + b.readsChecked, 0),
      firstErrors: boards.flatMap((b) => b.errors).slice(0, 5),
    },
    breakdownNs: breakdown.stages.map((s) => ({ ...s, ns: s.cycles / cfg.clockGHz })),
    idleRemoteReadNs: breakdown.totalCycles / cfg.clockGHz,
    ...(opts.vcd ? { vcd: opts.vcd, gtkw: opts.vcd.replace(/\.vcd$/, '.gtkw') } : {}),
  };
}

export { LATENCY_CLASS_NAMES };
