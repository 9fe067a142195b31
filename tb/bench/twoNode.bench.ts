import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSystemConfig } from '../../src/config/system.ts';
import { Simulator } from '../../src/sim/index.ts';
import { openVcd } from '../../src/vcd/Tracer.ts';
import { TwoNodeFabric } from '../../rtl/system/TwoNodeFabric.ts';
import { runScenario } from '../../src/cli/runScenario.ts';
import { ANALYTIC } from '../flit/efficiency.ts';
import type { Bench } from './bench.ts';


/** Every traffic generator off: what the design costs per cycle with nothing to do. */
const IDLE = [0, 1].flatMap((n) => [0, 1].map((v) => `nodes[${n}].vms[${v}].traffic.pattern="none"`));

/** Simulated cycles per second of the default scenario (its own closed-loop traffic keeps it busy). */
function cyclesPerSecond(cycles: number, traced: boolean, overrides: readonly string[] = []): number {
  const fabric = new TwoNodeFabric(loadSystemConfig(JSON.parse(readFileSync('scenarios/two-node.json', 'utf8')), overrides));
  const sim = new Simulator(fabric);
  const base = join(tmpdir(), `cxlfab-bench-${process.pid}`);
  const tracer = traced ? openVcd(sim, base) : null; // attaches itself
  // Warm-up (JIT and caches) with the tracer already attached, so its code is compiled too.
  sim.step(5000);
  const t0 = process.hrtime.bigint();
  sim.step(cycles);
  // Traced, the time runs until the VCD is complete on disk: closing waits for the writer thread
  // to format and write what it still holds (and for the last buffer's write).
  if (tracer) tracer.close();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (tracer) {
    rmSync(`${base}.vcd`, { force: true });
    rmSync(`${base}.gtkw`, { force: true });
  }
  return cycles / s;
}

/**
 * Remote-read bandwidth at saturation: every VM of node A reads node B's memory only (random lines,
 * closed loop, 16 outstanding per vCPU), node B idle. Measured as read-data payload arriving at A.
 */
function remoteReadGBps(cycles: number): { gbps: number; linkCeiling: number; dramCeiling: number } {
  const cfg = loadSystemConfig(JSON.parse(readFileSync('scenarios/two-node.json', 'utf8')), [
    'nodes[0].vms[0].vcpus=4',
    'nodes[0].vms[0].outstanding=16',
    'nodes[0].vms[0].map=[{"vmBase":0,"hpa":"0x4000000000","pages":4096}]',
    'nodes[0].vms[0].traffic.readFraction=1',
    'nodes[0].vms[1].traffic.pattern="none"',
    'nodes[1].vms[0].traffic.pattern="none"',
    'nodes[1].vms[1].traffic.pattern="none"',
  ]);
  const fabric = new TwoNodeFabric(cfg);
  const sim = new Simulator(fabric);
  sim.step(3000);
  const before = fabric.link.a.rxDrs.totalPushed;
  sim.step(cycles);
  const bytes = (fabric.link.a.rxDrs.totalPushed - before) * 64;
  const ns = cycles / cfg.clockGHz;
  const raw = (cfg.link.lanes * cfg.link.gtps) / 8;
  const d = cfg.nodes[1]!.dram;
  // DRAM data-bus ceiling of the far node: one 64 B burst per ceil(burst time) cycles.
  const burstCycles = Math.max(1, Math.ceil(((64 / d.busBytes) * 1000) / d.dataRateMTs * cfg.clockGHz - 1e-9));
  return { gbps: bytes / ns, linkCeiling: raw * ANALYTIC.flit68.read, dramCeiling: (64 / burstCycles) * cfg.clockGHz };
}

/** What `cxlfab run` reports: the same scenario with the golden-memory check of every answer and the statistics. */
function runCommandCyclesPerSecond(cycles: number): number {
  runScenario(loadSystemConfig(JSON.parse(readFileSync('scenarios/two-node.json', 'utf8')), ['cycles=20000'])); // warm-up
  return runScenario(loadSystemConfig(JSON.parse(readFileSync('scenarios/two-node.json', 'utf8')), [`cycles=${cycles}`])).cyclesPerSecond;
}

export const benches: Bench[] = [
  {
    figures: ['twoNode.cyclesPerSecond', 'twoNode.traced.cyclesPerSecond', 'twoNode.peakRssMB'],
    run() {
      const plain = [cyclesPerSecond(100_000, false), cyclesPerSecond(100_000, false), cyclesPerSecond(100_000, false)].sort((a, b) => a - b)[1]!;
      // A discarded traced run first: the tracer's own code (sampler, writer) is compiled on it,
      // as the untraced runs above compiled the model (reference/performance.md §2.3 rule 6).
      cyclesPerSecond(10_000, true);
      const traced = [cyclesPerSecond(30_000, true), cyclesPerSecond(30_000, true), cyclesPerSecond(30_000, true)].sort((a, b) => a - b)[1]!;
      return {
        'twoNode.cyclesPerSecond': { value: Math.round(plain), unit: 'cycles/s', note: 'default scenario, no tracing, median of 3; target ≥ 2,000,000' },
        'twoNode.traced.cyclesPerSecond': { value: Math.round(traced), unit: 'cycles/s', note: 'every signal traced to VCD, median of 3; target ≥ 300,000' },
        'twoNode.peakRssMB': { value: Math.round(process.resourceUsage().maxRSS / 1024), unit: 'MB', note: 'peak RSS of the process running the two-node benches (each bench file runs in its own)' },
      };
    },
  },
  {
    figures: ['twoNode.idle.cyclesPerSecond', 'twoNode.run.cyclesPerSecond'],
    run() {
      const idle = [cyclesPerSecond(300_000, false, IDLE), cyclesPerSecond(300_000, false, IDLE), cyclesPerSecond(300_000, false, IDLE)].sort((a, b) => a - b)[1]!;
      return {
        'twoNode.idle.cyclesPerSecond': { value: Math.round(idle), unit: 'cycles/s', note: 'default system, all traffic off: the fixed cost per cycle' },
        'twoNode.run.cyclesPerSecond': { value: Math.round(runCommandCyclesPerSecond(100_000)), unit: 'cycles/s', note: 'cxlfab run: default scenario with its golden-memory check and statistics' },
      };
    },
  },
  {
    figures: ['twoNode.remoteRead.GBps', 'twoNode.remoteRead.ceilingGBps'],
    run() {
      const r = remoteReadGBps(50_000);
      const ceiling = Math.min(r.linkCeiling, r.dramCeiling);
      return {
        'twoNode.remoteRead.GBps': { value: r.gbps, unit: 'GB/s', note: 'node A reads node B only, 4 vCPUs x 16 outstanding' },
        'twoNode.remoteRead.ceilingGBps': {
          value: ceiling,
          unit: 'GB/s',
          note: `min(link ${r.linkCeiling.toFixed(1)} = raw x 68B read efficiency, far DRAM ${r.dramCeiling.toFixed(1)})`,
        },
      };
    },
  },
];
