import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HostOp, HostStatus } from '../../rtl/host/HostMsg.ts';
import { TrafficGenerator, TrafficPattern, type TrafficGeneratorParams } from '../../rtl/host/TrafficGenerator.ts';
import { VcpuCommand } from '../../rtl/host/VcpuCommand.ts';
import { ConfigError } from '../../src/sim/index.ts';
import { checkProperty } from '../lib/pbt.ts';
import { buildNode } from './standins.ts';

interface Cmd {
  cycle: number;
  op: number;
  addr: number;
  beLo: number;
  beHi: number;
  data: number[];
}

/** Call offer once per cycle for `cycles` cycles, answering every command at once (zero data). */
function drain(g: TrafficGenerator, cycles: number): Cmd[] {
  const cmd = new VcpuCommand();
  const out: Cmd[] = [];
  const zero = new Uint8Array(64);
  for (let c = 0; c < cycles; c++) {
    if (g.offer(cmd, c)) {
      out.push({ cycle: c, op: cmd.op, addr: cmd.vmAddr, beLo: cmd.beLo, beHi: cmd.beHi, data: Array.from(cmd.data) });
      g.onComplete(out.length - 1, cmd.op, cmd.vmAddr, HostStatus.Ok, zero, 0);
    }
  }
  return out;
}

const base = (over: Partial<TrafficGeneratorParams>): TrafficGeneratorParams => ({
  seed: 1,
  pattern: TrafficPattern.Random,
  vmBase: 0x10000,
  bytes: 64 * 1024,
  readFraction: 0.5,
  partialWriteFraction: 0.3,
  rate: 1,
  ...over,
});

describe('TrafficGenerator', () => {
  it('same seed gives the same stream; different seeds differ', () => {
    checkProperty(
      'host_tgen_determinism',
      fc.property(fc.integer(), fc.integer(), fc.constantFrom(0, 1, 2), (s1, s2, pattern) => {
        fc.pre(s1 !== s2);
        const p = { pattern: pattern as TrafficPattern };
        const a = drain(new TrafficGenerator(base({ ...p, seed: s1 })), 200);
        const b = drain(new TrafficGenerator(base({ ...p, seed: s1 })), 200);
        const c = drain(new TrafficGenerator(base({ ...p, seed: s2 })), 200);
        expect(b).toEqual(a);
        expect(c).not.toEqual(a);
      }),
      { numRuns: 30 },
    );
  });

  it('the command stream of a seed is pinned (op, address, enables, data), so a faster data fill must draw the same numbers', () => {
    const g = new TrafficGenerator(base({ seed: 12345, vmBase: 0, bytes: 1 << 20, readFraction: 0.3, partialWriteFraction: 0.5 }));
    const cmd = new VcpuCommand();
    let h = 0x811c9dc5;
    let n = 0;
    for (let c = 0; c < 2000; c++) {
      if (!g.offer(cmd, c)) continue;
      n++;
      for (const v of [cmd.op, cmd.vmAddr, cmd.beLo, cmd.beHi, ...cmd.data]) h = Math.imul(h ^ (v >>> 0), 0x01000193) >>> 0;
    }
    // FNV-1a over the stream, recorded from the generator that drew every data byte through draw().
    expect([n, h.toString(16)]).toEqual([2000, 'ede45581']);
  });

  it('sequential addresses step by one line (64 B) and wrap at the end of the range', () => {
    const g = new TrafficGenerator(base({ pattern: TrafficPattern.Sequential, bytes: 64 * 10 }));
    const a = drain(g, 25).map((c) => c.addr);
    for (let i = 1; i < a.length; i++) expect(a[i]).toBe(i % 10 === 0 ? 0x10000 : a[i - 1]! + 64);
    expect(a[0]).toBe(0x10000);
  });

  it('property: every address is a line inside [vmBase, vmBase + bytes), and a full hot fraction stays in the hot set', () => {
    checkProperty(
      'host_tgen_range_hotset',
      fc.property(fc.integer(), fc.integer({ min: 1, max: 512 }), fc.integer({ min: 1, max: 32 }), fc.constantFrom(0, 1, 2, 3), (seed, lines, hot, pattern) => {
        fc.pre(hot <= lines);
        const g = new TrafficGenerator(base({ seed, pattern: pattern as TrafficPattern, bytes: lines * 64, hotLines: hot, hotFraction: 1 }));
        const cmds = drain(g, 300);
        for (const c of cmds) {
          expect(c.addr % 64).toBe(0);
          expect(c.addr).toBeGreaterThanOrEqual(0x10000);
          expect(c.addr).toBeLessThan(0x10000 + lines * 64);
        }
        if (pattern === TrafficPattern.HotSet) {
          const set = new Set(g.hotSet());
          expect(set.size).toBe(hot);
          for (const c of cmds) expect(set.has(c.addr)).toBe(true);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('hot fraction is honoured statistically (0.7 ± 0.05 over 4000 commands)', () => {
    const g = new TrafficGenerator(base({ pattern: TrafficPattern.HotSet, bytes: 64 * 4096, hotLines: 8, hotFraction: 0.7 }));
    const set = new Set(g.hotSet());
    const cmds = drain(g, 4000);
    const share = cmds.filter((c) => set.has(c.addr)).length / cmds.length;
    expect(share).toBeGreaterThan(0.65);
    expect(share).toBeLessThan(0.75);
  });

  it('property: an open-loop rate r offers within one of r × N commands in N cycles', () => {
    checkProperty(
      'host_tgen_rate',
      fc.property(fc.double({ min: 0.001, max: 1, noNaN: true }), fc.integer({ min: 1, max: 3000 }), (rate, n) => {
        const k = drain(new TrafficGenerator(base({ rate })), n).length;
        expect(k).toBeGreaterThanOrEqual(Math.floor(rate * n) - 1);
        expect(k).toBeLessThanOrEqual(Math.ceil(rate * n) + 1);
      }),
      { numRuns: 100 },
    );
  });

  it('through a vCPU port with no back-pressure the issued count also honours the rate ± 1', () => {
    for (const rate of [0.1, 0.37, 0.5, 0.9]) {
      const g = new TrafficGenerator(base({ rate, vmBase: 0, bytes: 64 * 64 }));
      const b = buildNode({
        ports: [{ vm: 0, maxOutstanding: 64, source: g, orderSameLine: false }],
        mappings: [[0, 0, 0x10000, 1]],
        pageTableLatencyCycles: 1,
        router: { requestLatencyCycles: 1, responseLatencyCycles: 1 },
        dram: { latencyCycles: 2 },
        dev: { latencyCycles: 1 },
      });
      b.sim.step(1000);
      expect(b.ports[0]!.issueStallCycles).toBe(0); // the premise: nothing held the generator back
      expect(Math.abs(b.ports[0]!.issued - rate * 1000)).toBeLessThanOrEqual(1);
    }
  });

  it('read/write mix: readFraction 1 only reads, 0 only writes; partialWriteFraction 1 gives partial writes with enables', () => {
    expect(new Set(drain(new TrafficGenerator(base({ readFraction: 1 })), 100).map((c) => c.op))).toEqual(new Set([HostOp.Read]));
    const w = drain(new TrafficGenerator(base({ readFraction: 0, partialWriteFraction: 1 })), 100);
    expect(new Set(w.map((c) => c.op))).toEqual(new Set([HostOp.WritePartial]));
    for (const c of w) expect(c.beLo !== 0 || c.beHi !== 0).toBe(true);
    const full = drain(new TrafficGenerator(base({ readFraction: 0, partialWriteFraction: 0 })), 50);
    for (const c of full) expect([c.op, c.beLo, c.beHi]).toEqual([HostOp.Write, 0xffffffff, 0xffffffff]);
  });

  it('closed loop keeps exactly K outstanding through a port', () => {
    const g = new TrafficGenerator({ ...base({}), rate: undefined, closedLoopOutstanding: 3 } as TrafficGeneratorParams);
    const b = buildNode({
      ports: [{ vm: 0, maxOutstanding: 8, source: g, orderSameLine: false }],
      mappings: [[0, 0x10000, 0x10000, 16]],
      pageTableLatencyCycles: 1,
      router: { requestLatencyCycles: 1, responseLatencyCycles: 1 },
      dram: { latencyCycles: 20 },
      dev: { latencyCycles: 1 },
    });
    let peak = 0;
    for (let c = 0; c < 500; c++) {
      b.sim.step(1);
      peak = Math.max(peak, b.ports[0]!.inflight);
    }
    expect(peak).toBe(3);
    expect(b.ports[0]!.completed).toBeGreaterThan(50);
  });

  it('pointer chase: one read at a time, the next address depends on the data read', () => {
    const mk = () => new TrafficGenerator(base({ pattern: TrafficPattern.PointerChase, readFraction: 0 }));
    const cmd = new VcpuCommand();
    const g1 = mk();
    const g2 = mk();
    expect(g1.offer(cmd, 0)).toBe(true);
    const first = cmd.vmAddr;
    expect(cmd.op).toBe(HostOp.Read);
    expect(cmd.waitForPrevious).toBe(true);
    expect(g1.offer(cmd, 1)).toBe(false); // waits for the answer
    g2.offer(cmd, 0);
    expect(cmd.vmAddr).toBe(first);
    const d1 = new Uint8Array(64);
    const d2 = new Uint8Array(64);
    d2[0] = 0x5a;
    d2[3] = 0xc3;
    g1.onComplete(0, HostOp.Read, first, HostStatus.Ok, d1, 0);
    g2.onComplete(0, HostOp.Read, first, HostStatus.Ok, d2, 0);
    expect(g1.offer(cmd, 2)).toBe(true);
    const n1 = cmd.vmAddr;
    g2.offer(cmd, 2);
    expect(cmd.vmAddr).not.toBe(n1);
  });

  it('rejects bad parameters naming the rule', () => {
    expect(() => new TrafficGenerator(base({ rate: 1.5 }))).toThrow(/trafficGenerator: rate must be in \(0, 1\]/);
    expect(() => new TrafficGenerator({ ...base({}), closedLoopOutstanding: 2 })).toThrow(/exactly one of rate/);
    expect(() => new TrafficGenerator(base({ bytes: 100 }))).toThrow(/bytes 100 must be a positive multiple of 64/);
    expect(() => new TrafficGenerator(base({ pattern: TrafficPattern.HotSet, bytes: 128, hotLines: 3 }))).toThrow(/hotLines 3/);
    expect(() => new TrafficGenerator(base({ readFraction: 2 }), 'nodes[0].vcpus[1].traffic')).toThrow(ConfigError);
    expect(() => new TrafficGenerator(base({ readFraction: 2 }), 'nodes[0].vcpus[1].traffic')).toThrow(/^nodes\[0\]\.vcpus\[1\]\.traffic: readFraction must be in \[0, 1\]/);
  });
});
