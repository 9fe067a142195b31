import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Simulator, nsToCycles } from '../../src/sim/index.ts';
import { DramOp } from '../../rtl/memory/DramMsg.ts';
import { DDR5_4800 } from '../../rtl/memory/DramParams.ts';
import { DramSubsystem } from '../../rtl/memory/DramSubsystem.ts';
import { checkProperty } from '../lib/pbt.ts';
import { traceTo, withWaves } from '../lib/waves.ts';
import { ByteMapMemory, hex, pattern, popDramRsp, pushDramReq, Top } from './harness.ts';

function build(ports: number, portDepth = 2, rspDepth = 4, evalOrderSeed?: number): { sim: Simulator; mem: DramSubsystem } {
  const top = new Top(1);
  const mem = new DramSubsystem(top, 'mem', { dram: DDR5_4800, arbiter: { ports, portDepth, rspDepth } });
  return { sim: new Simulator(top, evalOrderSeed === undefined ? {} : { evalOrderSeed }), mem };
}

const clk = { clockGHz: 1 };

describe('DramPortArbiter', () => {
  it('idle latency through a port = 2 arbiter hops + the Dram stages (closed bank)', () => {
    const { sim, mem } = build(3);
    const p = mem.port(2);
    const t0 = sim.cycle;
    pushDramReq(p.req, 5, DramOp.Read, 0);
    sim.step();
    sim.runUntil(() => p.rsp.valid(), 500);
    const r = popDramRsp(p.rsp, sim.cycle);
    const tBurst = nsToCycles(64 / 38.4, clk);
    // port req → arbiter → dram.req → [ACT, RD, burst] → dram.rsp → arbiter → port rsp
    expect(r.cycle - t0).toBe(4 + nsToCycles(16, clk) + nsToCycles(16, clk) + tBurst);
    expect(r.id).toBe(5);
  });

  it('round robin: with every port backlogged, grants never differ by more than one', () => {
    const { sim, mem } = build(3);
    const next = [0, 0, 0];
    const got: number[][] = [[], [], []];
    withWaves(
      'memory_arbiter_fair',
      sim,
      () => {
        for (let c = 0; c < 600; c++) {
          for (let p = 0; p < 3; p++) {
            const port = mem.port(p);
            while (port.req.canPush()) pushDramReq(port.req, next[p]!, DramOp.Read, (p * 1000 + next[p]!++) * 64 * 97);
            while (port.rsp.valid()) got[p]!.push(popDramRsp(port.rsp, sim.cycle).id);
          }
          sim.step();
          const g = [...mem.arbiter.granted];
          expect(Math.max(...g) - Math.min(...g)).toBeLessThanOrEqual(1);
        }
      },
      { trace: ['top.mem.arb.*', 'top.mem.dram.queueOccupancy', 'top.mem.dram.ch0_dataBusBusy'] },
    );
    for (let p = 0; p < 3; p++) {
      expect(got[p]!.length).toBeGreaterThan(20);
      // every id answered at most once, and only ids that were sent
      expect(new Set(got[p]).size).toBe(got[p]!.length);
      for (const id of got[p]!) expect(id).toBeLessThan(next[p]!);
    }
  });

  it('a lone requester gets every grant (no slot wasted on idle ports)', () => {
    const { sim, mem } = build(4);
    let n = 0;
    for (let c = 0; c < 100; c++) {
      const port = mem.port(3);
      while (port.req.canPush()) pushDramReq(port.req, n, DramOp.Read, n++ * 64);
      while (port.rsp.valid()) popDramRsp(port.rsp, sim.cycle);
      sim.step();
    }
    expect([...mem.arbiter.granted].slice(0, 3)).toEqual([0, 0, 0]);
    expect(mem.arbiter.granted[3]).toBeGreaterThan(20);
  });

  it('rejects fewer than two ports, naming the field', () => {
    expect(() => build(1)).toThrow(/top\.mem\.arb\.ports: must be an integer ≥ 2/);
  });

  interface PortOp {
    write: boolean;
    line: number;
    data: Uint8Array;
    gap: number;
  }
  /** Port p's private lines: same banks as the other ports' lines, different rows (region per port). */
  const lineAddr = (p: number, line: number): number => p * 2 ** 24 + line * 64 * 129;

  /** null when every request came back once, on its own port, reads matching the port's reference. */
  function runPorts(prog: { ports: PortOp[][]; drainEvery: number; evalOrderSeed?: number }, trace?: string): string | null {
    const n = prog.ports.length;
    const { sim, mem } = build(n, 2, 2, prog.evalOrderSeed);
    const w = trace ? traceTo(trace, sim) : null;
    try {
      const refs = prog.ports.map(() => new ByteMapMemory());
      const expected = prog.ports.map(() => new Map<number, string>());
      const seen = prog.ports.map(() => new Set<number>());
      const next = prog.ports.map(() => 0);
      const wait = prog.ports.map((ops) => ops[0]?.gap ?? 0);
      const total = prog.ports.reduce((a, o) => a + o.length, 0);
      let done = 0;
      for (let c = 0; done < total; c++) {
        if (c > 100 * total + 500) return `only ${done}/${total} responses`;
        for (let p = 0; p < n; p++) {
          const port = mem.port(p);
          const ops = prog.ports[p]!;
          if (next[p]! < ops.length && wait[p]!-- <= 0 && port.req.canPush()) {
            const i = next[p]!;
            const o = ops[i]!;
            const pa = lineAddr(p, o.line);
            if (o.write) {
              pushDramReq(port.req, i, DramOp.Write, pa, o.data);
              refs[p]!.write(pa, o.data);
            } else {
              pushDramReq(port.req, i, DramOp.Read, pa);
              expected[p]!.set(i, hex(refs[p]!.read(pa, 64)));
            }
            next[p] = i + 1;
            wait[p] = ops[i + 1]?.gap ?? 0;
          }
          // Requesters drain their rsp only every few cycles: exercises full rsp channels.
          if (c % prog.drainEvery !== p % prog.drainEvery) continue;
          while (port.rsp.valid()) {
            const r = popDramRsp(port.rsp, sim.cycle);
            if (seen[p]!.has(r.id) || r.id >= ops.length) return `port ${p}: unexpected id ${r.id}`;
            seen[p]!.add(r.id);
            done++;
            const o = ops[r.id]!;
            if (r.pa !== lineAddr(p, o.line)) return `port ${p} id ${r.id}: pa ${r.pa}, sent ${lineAddr(p, o.line)}`;
            if (!o.write && hex(r.data) !== expected[p]!.get(r.id)) return `port ${p} read id ${r.id}: wrong data`;
          }
        }
        sim.step();
      }
      return null;
    } finally {
      w?.close();
    }
  }

  const progArb = fc.record({
    ports: fc.array(
      fc.array(
        fc.record({
          write: fc.boolean(),
          line: fc.integer({ min: 0, max: 3 }),
          data: fc.uint8Array({ minLength: 64, maxLength: 64 }),
          gap: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 6 })),
        }),
        { maxLength: 25 },
      ),
      { minLength: 2, maxLength: 4 },
    ),
    drainEvery: fc.integer({ min: 1, max: 5 }),
  });

  it('property: no loss, no duplication, each response on its own port with its data', () => {
    checkProperty(
      'memory_arbiter_no_loss',
      fc.property(progArb, (prog) => runPorts(prog) === null),
      {
        numRuns: 50,
        rerunTraced: ([prog], base) => {
          const why = runPorts(prog, base);
          if (why) throw new Error(why);
        },
      },
    );
  });

  it('evaluation order does not change the result (arbiter and Dram shuffled)', () => {
    const prog = fc.sample(progArb, { seed: 42, numRuns: 1 })[0]!;
    for (const seed of [1, 2, 3]) expect(runPorts({ ...prog, evalOrderSeed: seed })).toBeNull();
    // And cycle-exact equality of the response times across orders:
    const times = (seed: number): string => {
      const { sim, mem } = build(2, 2, 2, seed);
      const log: string[] = [];
      let pushed = 0;
      for (let c = 0; c < 3000; c++) {
        for (let p = 0; p < 2; p++) {
          const port = mem.port(p);
          if (c < 300 && port.req.canPush()) {
            pushDramReq(port.req, c, c % 3 === 0 ? DramOp.Write : DramOp.Read, lineAddr(p, c % 5), pattern(c));
            pushed++;
          }
          while (port.rsp.valid()) {
            const r = popDramRsp(port.rsp, sim.cycle);
            log.push(`${r.cycle}:${p}:${r.id}:${hex(r.data)}`);
          }
        }
        sim.step();
      }
      if (log.length !== pushed) throw new Error(`${log.length} responses to ${pushed} requests`);
      return log.join('\n');
    };
    const a = times(11);
    expect(a.split('\n').length).toBeGreaterThan(50);
    expect(times(12)).toBe(a);
    expect(times(13)).toBe(a);
  });
});
