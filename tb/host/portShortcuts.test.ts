import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HostOp, HostStatus } from '../../rtl/host/HostMsg.ts';
import { TrafficGenerator, TrafficPattern, type TrafficGeneratorParams } from '../../rtl/host/TrafficGenerator.ts';
import type { VcpuCommand } from '../../rtl/host/VcpuCommand.ts';
import type { VcpuObserver, VcpuPort } from '../../rtl/host/VcpuPort.ts';
import { checkProperty } from '../lib/pbt.ts';
import { buildNode, DEV_BASE } from './standins.ts';

/**
 * A vCPU port does not ask a source that said it waits for an answer (TrafficGenerator.waitsForAnswer:
 * closed loop at its limit, pointer chase, stopped or used up) until one arrives. That is a quiet-cycle
 * shortcut, so ctx.fullEvaluate turns it off; this runs random workloads both ways, through the
 * page-table stage, the router and stand-ins with back-pressure, over page faults and Nxm answers,
 * and requires every issue and every answer in the same cycle, with the same data, and the same counters.
 */

interface Workload {
  readonly pattern: number;
  readonly closedLoop: number;
  readonly rate: number;
  readonly count: number;
  readonly readFraction: number;
  readonly maxOutstanding: number;
  readonly pt: number;
  readonly accept: number;
  readonly stopAt: number;
  readonly seed: number;
}

function run(w: Workload, fullEvaluate: boolean): string[] {
  const gens: TrafficGenerator[] = [];
  const ports = [0, 1].map((j) => {
    const p: TrafficGeneratorParams = {
      seed: w.seed + j,
      pattern: w.pattern as TrafficPattern,
      // VM pages 0..3 local, 4..7 remote, 8 outside every range (Nxm), 9 unmapped (page fault).
      vmBase: 0,
      bytes: 10 * 4096,
      readFraction: w.readFraction,
      partialWriteFraction: 0.3,
      ...(w.closedLoop > 0 ? { closedLoopOutstanding: w.closedLoop } : { rate: w.rate }),
      ...(w.count >= 0 ? { count: w.count } : {}),
    };
    const g = new TrafficGenerator(p);
    gens.push(g);
    return { vm: 0, maxOutstanding: w.maxOutstanding, source: g };
  });
  const b = buildNode({
    ports,
    mappings: [
      [0, 0x0000, 0x10000, 4],
      [0, 0x4000, DEV_BASE + 0x8000, 4],
      [0, 0x8000, 0x40000000, 1],
    ],
    pageTableLatencyCycles: w.pt,
    router: { requestLatencyCycles: 2, responseLatencyCycles: 1 },
    dram: { latencyCycles: 7, acceptProbability: w.accept, seed: w.seed, log: false },
    dev: { latencyCycles: 13, acceptProbability: w.accept, seed: w.seed + 7, log: false },
  });
  b.top.ctx.fullEvaluate = fullEvaluate;
  const log: string[] = [];
  const observer: VcpuObserver = {
    onIssue(port: VcpuPort, seq: number, cmd: VcpuCommand, cycle: number) {
      log.push(`${cycle} ${port.name} issue ${seq} ${cmd.op} ${cmd.vmAddr} ${cmd.beLo} ${cmd.beHi}`);
    },
    onComplete(port: VcpuPort, seq: number, op: HostOp, vmAddr: number, status: HostStatus, poison: number, route: number, issueCycle: number, cycle: number, data: Uint8Array, off: number) {
      log.push(`${cycle} ${port.name} done ${seq} ${op} ${vmAddr} ${status} ${poison} ${route} ${issueCycle} ${Array.from(data.subarray(off, off + 64)).join(',')}`);
    },
  };
  for (const p of b.ports) p.observer = observer;
  for (let c = 0; c < 600; c++) {
    if (c === w.stopAt) for (const g of gens) g.stop();
    b.sim.step(1);
  }
  log.push(b.ports.map((p) => `${p.issued} ${p.completed} ${p.issueStallCycles} ${p.pageFaults} ${p.nxmAnswers}`).join(' / '));
  return log;
}

describe('VcpuPort: the waiting-source shortcut', () => {
  it('property: ports with the shortcut on issue and complete exactly as with ctx.fullEvaluate', () => {
    const workload = fc.record({
      pattern: fc.constantFrom(TrafficPattern.Sequential, TrafficPattern.Random, TrafficPattern.HotSet, TrafficPattern.PointerChase),
      closedLoop: fc.constantFrom(0, 1, 3, 8),
      rate: fc.constantFrom(0.05, 0.3, 1),
      count: fc.constantFrom(-1, 1, 5, 40),
      readFraction: fc.constantFrom(0, 0.5, 1),
      maxOutstanding: fc.integer({ min: 1, max: 8 }),
      pt: fc.integer({ min: 1, max: 4 }),
      accept: fc.constantFrom(1, 0.5, 0.2),
      stopAt: fc.constantFrom(-1, 100, 300),
      seed: fc.integer({ min: 0, max: 1000 }),
    });
    checkProperty(
      'host_port_waiting_source',
      fc.property(workload, (w) => {
        const fast = run(w, false);
        expect(fast.length).toBeGreaterThan(1);
        expect(fast).toEqual(run(w, true));
      }),
      { numRuns: 60 },
    );
  });
});
