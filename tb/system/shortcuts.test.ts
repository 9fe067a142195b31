import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadSystemConfig } from '../../src/config/system.ts';
import { Simulator } from '../../src/sim/index.ts';
import { VcdTracer } from '../../src/vcd/Tracer.ts';
import { VcdWriter } from '../../src/vcd/VcdWriter.ts';
import { TwoNodeFabric } from '../../rtl/system/TwoNodeFabric.ts';
import { checkProperty } from '../lib/pbt.ts';

/**
 * The modules skip work in quiet cycles (early returns in the packer, link layers, PHY and memory
 * controller; the DRAM's wake-up bounds): speed only, each claimed to skip exactly the work that
 * would change nothing. SimContext.fullEvaluate turns every shortcut off. This runs the whole
 * two-node system both ways, over random link modes, faults, link-down windows, buffer sizes and
 * seeds, with every signal traced, and requires the same VCD byte for byte and the same counters.
 */

const BASE = JSON.parse(readFileSync('scenarios/two-node.json', 'utf8')) as unknown;

interface Run {
  readonly vcd: string;
  readonly counters: number[];
}

function runBothWays(overrides: string[], cycles: number, fullEvaluate: boolean): Run {
  const fabric = new TwoNodeFabric(loadSystemConfig(BASE, overrides));
  fabric.ctx.fullEvaluate = fullEvaluate;
  const sim = new Simulator(fabric);
  const chunks: string[] = [];
  const tracer = new VcdTracer(sim, new VcdWriter((b, n) => chunks.push(Buffer.from(b.subarray(0, n)).toString('latin1')), { date: 'fixed' }));
  sim.attach(tracer);
  sim.step(cycles);
  tracer.close();
  const link = fabric.link;
  const counters = [
    ...fabric.vcpus.flatMap((p) => [p.issued, p.completed, p.issueStallCycles]),
    link.phyAB.flitsSent,
    link.phyBA.flitsSent,
    ...fabric.nodes.flatMap((n) => [n.mem.dram.reads, n.mem.dram.writes, n.mem.dram.rspStalls, n.dev.rmc.queueFullStalls]),
    link.a.packer.creditStalls,
    link.b.packer.creditStalls,
  ];
  return { vcd: chunks.join(''), counters };
}

describe('quiet-cycle shortcuts', () => {
  it('property: the system with every shortcut off writes the same waves and counts as with them on', () => {
    const scenario = fc.record({
      mode: fc.constantFrom('68B', '256B'),
      lanes: fc.constantFrom(4, 8, 16),
      ber: fc.constantFrom(0, 1e-4, 1e-3),
      drop: fc.constantFrom(0, 0.005),
      burst: fc.constantFrom(0, 0.01),
      downAt: fc.constantFrom(-1, 800, 1600),
      downFor: fc.integer({ min: 100, max: 1200 }),
      rxBuffers: fc.integer({ min: 2, max: 32 }),
      txQueueDepth: fc.integer({ min: 1, max: 16 }),
      batch: fc.integer({ min: 1, max: 8 }),
      delayNs: fc.constantFrom(0, 50, 200),
      dramQueue: fc.integer({ min: 1, max: 32 }),
      seed: fc.nat(1000),
    });
    checkProperty(
      'system_shortcuts_change_nothing',
      fc.property(scenario, (s) => {
        const overrides = [
          `link.flitMode="${s.mode}"`,
          `link.gtps=${s.mode === '68B' ? 32 : 64}`,
          `link.lanes=${s.lanes}`,
          `link.faults.bitErrorRate=${s.ber}`,
          `link.faults.dropRate=${s.drop}`,
          `link.faults.burstRate=${s.burst}`,
          `link.faults.downAtNs=${s.downAt}`,
          `link.faults.downForNs=${s.downFor}`,
          `link.rxBuffers=${s.rxBuffers}`,
          `link.txQueueDepth=${s.txQueueDepth}`,
          `link.creditReturnBatch=${s.batch}`,
          `link.creditReturnDelayNs=${s.delayNs}`,
          `nodes[0].dram.queueDepth=${s.dramQueue}`,
          `seed=${s.seed}`,
        ];
        const fast = runBothWays(overrides, 2500, false);
        const full = runBothWays(overrides, 2500, true);
        expect(fast.counters).toEqual(full.counters);
        expect(fast.vcd.length).toBe(full.vcd.length);
        expect(fast.vcd === full.vcd).toBe(true);
      }),
      { numRuns: 12 },
    );
  });
});
