import { Session } from 'node:inspector/promises';
import { TrafficGenerator, TrafficPattern } from '../../rtl/host/TrafficGenerator.ts';
import { PAGE_BYTES } from '../../rtl/host/VmPageTable.ts';
import { LatencyHistogram } from '../../src/stats/LatencyHistogram.ts';
import { buildNode, DEV_BASE } from '../host/standins.ts';
import { medianOf, timeIt, type Bench } from './bench.ts';

/**
 * Host side of one node: 4 vCPU ports (random traffic, rate 0.5, half local half remote pages,
 * 30 % partial writes) → page tables → host router → stand-in DRAM / device (fixed latency, no
 * logs). Figures: simulated cycles per second and commands completed per second, stand-ins
 * included. And LatencyHistogram.record() calls per second.
 */
const CYCLES = 100_000;

function node() {
  return buildNode({
    ports: [0, 1, 2, 3].map((i) => ({
      vm: i % 2,
      maxOutstanding: 16,
      source: new TrafficGenerator({ seed: i, pattern: TrafficPattern.Random, vmBase: 0, bytes: 16 * PAGE_BYTES, readFraction: 0.6, partialWriteFraction: 0.3, rate: 0.5 }),
    })),
    mappings: [
      [0, 0, 0x10000, 8],
      [0, 8 * PAGE_BYTES, DEV_BASE, 8],
      [1, 0, 0x40000, 8],
      [1, 8 * PAGE_BYTES, DEV_BASE + 0x40000, 8],
    ],
    pageTableLatencyCycles: 2,
    router: { requestLatencyCycles: 4, responseLatencyCycles: 4, maxLocalOutstanding: 64 },
    dram: { latencyCycles: 80, depth: 8, log: false },
    dev: { latencyCycles: 300, depth: 8, log: false },
  });
}

function nodeRun(): { seconds: number; commands: number } {
  const b = node();
  b.sim.step(1000); // warm up to steady state
  const before = b.ports.reduce((a, p) => a + p.completed, 0);
  const seconds = timeIt(() => b.sim.step(CYCLES));
  return { seconds, commands: b.ports.reduce((a, p) => a + p.completed, 0) - before };
}

interface SampleNode {
  selfSize: number;
  callFrame: { url: string };
  children: SampleNode[];
}

/**
 * Bytes allocated by rtl/ code per 1000 simulated cycles, from V8's sampling heap profiler
 * (64-byte sampling interval, objects later collected included). Target 0: per-cycle code
 * allocates nothing (design.md §3).
 */
async function rtlBytesPerKCycles(): Promise<number> {
  const b = node();
  b.sim.step(20_000);
  const s = new Session();
  s.connect();
  await s.post('HeapProfiler.enable');
  await s.post('HeapProfiler.startSampling', { samplingInterval: 64, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  const cycles = 50_000;
  b.sim.step(cycles);
  const { profile } = await s.post('HeapProfiler.stopSampling');
  s.disconnect();
  let bytes = 0;
  const walk = (n: SampleNode): void => {
    if (n.callFrame.url.includes('/rtl/')) bytes += n.selfSize;
    for (const c of n.children) walk(c);
  };
  walk(profile.head as unknown as SampleNode);
  return (bytes / cycles) * 1000;
}

export const benches: Bench[] = [
  {
    figures: ['host.rtlBytesPerKCycles'],
    async run() {
      return { 'host.rtlBytesPerKCycles': { value: Math.round(await rtlBytesPerKCycles()), unit: 'B/1000 cycles', note: 'target 0 (sampled)' } };
    },
  },
  {
    figures: ['host.nodeCyclesPerSecond', 'host.commandsPerSecond'],
    run() {
      let commands = 0;
      const s = medianOf(3, () => {
        const r = nodeRun();
        commands = r.commands;
        return r.seconds;
      });
      return {
        'host.nodeCyclesPerSecond': { value: Math.round(CYCLES / s), unit: 'cycles/s', note: '4 vCPU ports + router + stand-ins' },
        'host.commandsPerSecond': { value: Math.round(commands / s), unit: 'commands/s', note: `${commands} commands in ${CYCLES} cycles` },
      };
    },
  },
  {
    figures: ['stats.histogramRecordsPerSecond'],
    run() {
      const h = new LatencyHistogram('bench', 65536);
      const n = 5_000_000;
      const s = medianOf(3, () =>
        timeIt(() => {
          for (let i = 0; i < n; i++) h.record((i * 2654435761) % 4000);
        }),
      );
      return { 'stats.histogramRecordsPerSecond': { value: Math.round(n / s), unit: 'records/s' } };
    },
  },
];
