import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HostOp, HostRoute, HostStatus, type HostRspChannel } from '../../rtl/host/HostMsg.ts';
import { VcpuProgram, type ProgramStep } from '../../rtl/host/VcpuProgram.ts';
import { LatencyClass, VcpuPort } from '../../rtl/host/VcpuPort.ts';
import { VmPageTable } from '../../rtl/host/VmPageTable.ts';
import { Module, Simulator } from '../../src/sim/index.ts';
import { checkProperty } from '../lib/pbt.ts';
import { traceTo, withWaves } from '../lib/waves.ts';
import { buildNode, DEV_BASE, Top } from './standins.ts';

const R = HostOp.Read;
const W = HostOp.Write;

interface Lat {
  pt: number;
  req: number;
  rsp: number;
  dram: number;
  dev: number;
}

/** VM 0: pages 0..3 local at HPA 0x10000, pages 4..7 in the device window; VM page 8 maps outside both ranges. */
function latencyBench(l: Lat, steps: ProgramStep[]) {
  const prog = new VcpuProgram(steps);
  const node = buildNode({
    ports: [{ vm: 0, maxOutstanding: 4, source: prog }],
    mappings: [
      [0, 0x0000, 0x10000, 4],
      [0, 0x4000, DEV_BASE + 0x8000, 4],
      [0, 0x8000, 0x40000000, 1],
    ],
    pageTableLatencyCycles: l.pt,
    router: { requestLatencyCycles: l.req, responseLatencyCycles: l.rsp },
    dram: { latencyCycles: l.dram },
    dev: { latencyCycles: l.dev },
  });
  return { ...node, prog };
}

const IDLE_STEPS: ProgramStep[] = [
  { op: R, vmAddr: 0x40, waitForPrevious: true }, // local read
  { op: W, vmAddr: 0x4080, waitForPrevious: true, data: [1, 2, 3] }, // remote write
  { op: R, vmAddr: 0x4080, waitForPrevious: true }, // remote read
  { op: W, vmAddr: 0x100, waitForPrevious: true }, // local write
  { op: R, vmAddr: 0xc000, waitForPrevious: true }, // unmapped: page fault
  { op: W, vmAddr: 0x8000, waitForPrevious: true }, // mapped outside every range: Nxm
];

function checkIdle(l: Lat, b: ReturnType<typeof latencyBench>): void {
  b.sim.runUntil(() => b.prog.finished, 1000);
  const h = b.ports[0]!.latency;
  const local = l.pt + l.req + l.dram + l.rsp;
  const remote = l.pt + l.req + l.dev + l.rsp;
  // Each class saw exactly the samples expected, at exactly the sum of the named stages.
  expect([h[LatencyClass.LocalRead]!.count, h[LatencyClass.LocalRead]!.min, h[LatencyClass.LocalRead]!.max]).toEqual([1, local, local]);
  expect([h[LatencyClass.LocalWrite]!.count, h[LatencyClass.LocalWrite]!.min]).toEqual([1, local]);
  expect([h[LatencyClass.RemoteRead]!.count, h[LatencyClass.RemoteRead]!.min]).toEqual([1, remote]);
  expect([h[LatencyClass.RemoteWrite]!.count, h[LatencyClass.RemoteWrite]!.min]).toEqual([1, remote]);
  const err = h[LatencyClass.Error]!;
  expect([err.count, err.min, err.max]).toEqual([2, l.pt, l.pt + l.req + l.rsp]);
  expect([b.prog.status(4), b.prog.status(5)]).toEqual([HostStatus.PageFault, HostStatus.Nxm]);
  expect(Array.from(b.prog.readData(2).slice(0, 4))).toEqual([1, 2, 3, 0]);
}

describe('VcpuPort: latency accounting', () => {
  it('directed (waves): idle latency of each class = page table + router request + target + router response', () => {
    const l = { pt: 2, req: 3, rsp: 2, dram: 7, dev: 20 };
    const b = latencyBench(l, IDLE_STEPS);
    withWaves('host_vcpu_idle_latency', b.sim, () => checkIdle(l, b));
  });

  it('property: idle latency is exactly the sum of the named stages for any stage lengths', () => {
    const lat = fc.record({ pt: fc.integer({ min: 1, max: 6 }), req: fc.integer({ min: 1, max: 6 }), rsp: fc.integer({ min: 1, max: 6 }), dram: fc.integer({ min: 1, max: 30 }), dev: fc.integer({ min: 1, max: 60 }) });
    checkProperty(
      'host_vcpu_idle_latency_sum',
      fc.property(lat, (l) => checkIdle(l, latencyBench(l, IDLE_STEPS))),
      {
        numRuns: 60,
        rerunTraced: ([l], base) => {
          const b = latencyBench(l, IDLE_STEPS);
          const w = traceTo(base, b.sim);
          try {
            checkIdle(l, b);
          } finally {
            w.close();
          }
        },
      },
    );
  });

  it('issued/completed/inflight counters and per-port probes add up', () => {
    const b = latencyBench({ pt: 1, req: 1, rsp: 1, dram: 5, dev: 9 }, IDLE_STEPS);
    b.sim.runUntil(() => b.prog.finished, 1000);
    const p = b.ports[0]!;
    expect([p.issued, p.completed, p.inflight, p.pageFaults, p.nxmAnswers]).toEqual([6, 6, 0, 1, 1]);
    expect(p.quiescent).toBe(true);
  });
});

describe('VcpuPort: page faults', () => {
  it('an unmapped access is answered PageFault by the port itself and never reaches the router', () => {
    const steps: ProgramStep[] = [0xc000, 0xd040, 0x40, 0xe000].map((a) => ({ op: a === 0x40 ? W : R, vmAddr: a }));
    const b = latencyBench({ pt: 3, req: 2, rsp: 2, dram: 4, dev: 4 }, steps);
    b.sim.runUntil(() => b.prog.finished, 1000);
    expect([0, 1, 2, 3].map((i) => b.prog.status(i))).toEqual([HostStatus.PageFault, HostStatus.PageFault, HostStatus.Ok, HostStatus.PageFault]);
    expect(b.router.acceptedFrom[0]).toBe(1); // only the mapped write
    expect(b.dram.log.map((e) => e.pa)).toEqual([0x10040]);
    expect(b.dev.log).toEqual([]);
    expect(b.ports[0]!.pageFaults).toBe(3);
    expect(b.ports[0]!.latency[LatencyClass.Error]!.max).toBe(3);
  });

  it('back-to-back faults with a 1-cycle page table and every tag in use: the fault path never overflows', () => {
    // A fault popped in cycle t frees its tag in t; the reissued command faults in t too, while
    // the popped slot of faultRsp is free only from t+1 on.
    const prog = new VcpuProgram([0xc000, 0xc040, 0xc080, 0xc0c0].map((a) => ({ op: R, vmAddr: a })));
    const b = buildNode({
      ports: [{ vm: 0, maxOutstanding: 1, source: prog }],
      mappings: [[0, 0x0000, 0x10000, 4]],
      pageTableLatencyCycles: 1,
      router: { requestLatencyCycles: 1, responseLatencyCycles: 1 },
      dram: { latencyCycles: 1 },
      dev: { latencyCycles: 1 },
    });
    b.sim.runUntil(() => prog.finished, 100);
    expect([0, 1, 2, 3].map((i) => prog.status(i))).toEqual([HostStatus.PageFault, HostStatus.PageFault, HostStatus.PageFault, HostStatus.PageFault]);
    expect(b.ports[0]!.latency[LatencyClass.Error]!.max).toBe(1);
  });
});

describe('VcpuPort: outstanding limit and ordering', () => {
  it('property: inflight never exceeds maxOutstanding and reaches it under load', () => {
    checkProperty(
      'host_vcpu_outstanding_limit',
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 5, max: 40 }), fc.double({ min: 0.2, max: 1, noNaN: true }), fc.nat(1000), (maxOut, dramLat, accept, seed) => {
        const steps: ProgramStep[] = Array.from({ length: 24 }, (_, i) => ({ op: i % 3 === 0 ? W : R, vmAddr: (i % 8) * 0x200 }));
        const prog = new VcpuProgram(steps);
        const b = buildNode({
          ports: [{ vm: 0, maxOutstanding: maxOut, source: prog, orderSameLine: false }],
          mappings: [[0, 0, 0x10000, 4]],
          pageTableLatencyCycles: 1,
          router: { requestLatencyCycles: 1, responseLatencyCycles: 1 },
          dram: { latencyCycles: dramLat, acceptProbability: accept, seed },
          dev: { latencyCycles: 1 },
        });
        let peak = 0;
        const p = b.ports[0]!;
        b.sim.runUntil(() => {
          peak = Math.max(peak, p.inflight);
          return prog.finished;
        }, 20000);
        expect(peak).toBeLessThanOrEqual(maxOut);
        // With a DRAM latency ≥ 5 cycles the port must fill its window at least once.
        expect(peak).toBe(maxOut);
        expect(p.completed).toBe(24);
      }),
      { numRuns: 40 },
    );
  });

  it('waitForPrevious issues only after every earlier command is answered', () => {
    const steps: ProgramStep[] = [
      { op: R, vmAddr: 0x0 },
      { op: R, vmAddr: 0x40 },
      { op: R, vmAddr: 0x80, waitForPrevious: true },
    ];
    const prog = new VcpuProgram(steps);
    const issues: number[] = [];
    const answers: number[] = [];
    const b = buildNode({
      ports: [{ vm: 0, maxOutstanding: 4, source: prog }],
      mappings: [[0, 0, 0x10000, 1]],
      pageTableLatencyCycles: 1,
      router: { requestLatencyCycles: 1, responseLatencyCycles: 1 },
      dram: { latencyCycles: 10 },
      dev: { latencyCycles: 1 },
    });
    b.ports[0]!.observer = {
      onIssue: (_p, _s, _c, cycle) => issues.push(cycle),
      onComplete: (_p, _s, _o, _a, _st, _po, _r, _i, cycle) => answers.push(cycle),
    };
    b.sim.runUntil(() => prog.finished, 1000);
    expect(issues[0]).toBe(0);
    expect(issues[1]).toBe(1);
    // Idle local latency is 1 + 1 + 10 + 1 = 13; the second answer is seen at 14, and the fenced
    // read issues in that same cycle (the port retires answers before it issues).
    expect(answers.slice(0, 2)).toEqual([13, 14]);
    expect(issues[2]).toBe(14);
  });

  it('same-line order: a command to a line with an unanswered write waits for it (reads and writes may reorder on CXL)', () => {
    const data = Array.from({ length: 64 }, (_, i) => i + 1);
    const steps: ProgramStep[] = [
      { op: W, vmAddr: 0x4000, data },
      { op: R, vmAddr: 0x4000 },
      { op: HostOp.WritePartial, vmAddr: 0x4000, data: new Array(64).fill(0xee), beLo: 0b101, beHi: 1 << 31 },
      { op: R, vmAddr: 0x4000 },
      { op: R, vmAddr: 0x4040 }, // another line: not held
    ];
    const run = (orderSameLine: boolean) => {
      const prog = new VcpuProgram(steps);
      const b = buildNode({
        ports: [{ vm: 0, maxOutstanding: 8, source: prog, orderSameLine }],
        mappings: [[0, 0x4000, DEV_BASE, 1]],
        pageTableLatencyCycles: 1,
        router: { requestLatencyCycles: 1, responseLatencyCycles: 1 },
        dram: { latencyCycles: 1 },
        dev: { latencyCycles: 6 },
      });
      const issue: number[] = [];
      const answer: number[] = [];
      b.ports[0]!.observer = {
        onIssue: (_p, seq, _c, cycle) => (issue[seq] = cycle),
        onComplete: (_p, seq, _o, _a, _st, _po, _r, _i, cycle) => (answer[seq] = cycle),
      };
      b.sim.runUntil(() => prog.finished, 1000);
      return { prog, issue, answer };
    };
    const held = run(true);
    expect(held.issue[1]).toBe(held.answer[0]);
    expect(held.issue[2]).toBe(held.answer[1]); // a write after a read of the same line waits too
    expect(held.issue[3]).toBe(held.answer[2]);
    expect(held.issue[4]).toBe(held.issue[3]! + 1);
    expect(Array.from(held.prog.readData(1))).toEqual(data);
    const merged = [...data];
    merged[0] = 0xee;
    merged[2] = 0xee;
    merged[63] = 0xee;
    expect(Array.from(held.prog.readData(3))).toEqual(merged);
    // Without the rule the same program issues back to back: the check above has teeth.
    const free = run(false);
    expect(free.issue.slice(0, 5)).toEqual([0, 1, 2, 3, 4]);
  });
});

/** Pushes one answer into a port's rsp in a chosen cycle: a faulty router. */
class Injector extends Module {
  constructor(
    parent: Module,
    private readonly ch: HostRspChannel,
    private readonly at: number,
    private readonly tag: number,
  ) {
    super(parent, 'injector');
  }
  override evaluate(): void {
    if (this.ctx.cycle !== this.at) return;
    const s = this.ch.push();
    const c = this.ch.col;
    c.hostTag[s] = this.tag;
    c.src[s] = 0;
    c.vm[s] = 0;
    c.op[s] = HostOp.Read;
    c.status[s] = HostStatus.Ok;
    c.route[s] = HostRoute.Local;
  }
}

describe('VcpuPort: answers it never asked for', () => {
  it('an answer for a tag that is not outstanding stops the simulation naming the port and the cycle', () => {
    const top = new Top();
    const pt = new VmPageTable(top, 'pt', { vm: 0 });
    const port = new VcpuPort(top, 'vcpu0', { vm: 0, portIndex: 0, maxOutstanding: 2, pageTableLatencyCycles: 1 }, pt);
    new Injector(top, port.rsp, 3, 1);
    const sim = new Simulator(top);
    expect(() => sim.step(10)).toThrow(/cycle 4: top\.vcpu0: answer with host tag 1, which is not outstanding/);
  });
});
