import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Channel, Module, type Reg, SimContext, SimulationError, Simulator } from '../../src/sim/index.ts';
import { VcdTracer } from '../../src/vcd/Tracer.ts';
import { readVcd, readVcdFile } from '../../src/vcd/VcdReader.ts';
import { VcdWriter } from '../../src/vcd/VcdWriter.ts';
import { gtkwaveCheck } from '../lib/gtkwave.ts';
import { checkProperty } from '../lib/pbt.ts';
import { traceTo, withWaves } from '../lib/waves.ts';
import { MixedDesign, Pipeline, ProducerConsumer } from './designs.ts';

/** The whole VCD of `cycles` cycles of `sim` as text (fixed date, so equal runs give equal bytes). */
function vcdText(sim: Simulator, cycles: number): string {
  const chunks: string[] = [];
  const writer = new VcdWriter((b, n) => chunks.push(Buffer.from(b.subarray(0, n)).toString('latin1')), { date: 'fixed' });
  const tracer = new VcdTracer(sim, writer);
  sim.attach(tracer);
  sim.step(cycles);
  tracer.close();
  return chunks.join('');
}

describe('pipeline latency', () => {
  /** Inject items at the given cycles; return (latency, data) of each as seen at the last stage. */
  function run(stages: number, injectAt: number[], sim: Simulator, top: Pipeline): Array<{ latency: number; data: number }> {
    const srcSeen: Array<{ cycle: number; data: number }> = [];
    const out: Array<{ latency: number; data: number }> = [];
    const end = Math.max(...injectAt) + stages + 3;
    while (sim.cycle < end) {
      if (injectAt.includes(sim.cycle)) {
        top.src.fire = 1;
        top.src.nextData = 0x1000 + sim.cycle;
      }
      sim.step();
      if (top.src.valid.q) srcSeen.push({ cycle: sim.cycle, data: top.src.data.q });
      if (top.last.valid.q) {
        const s = srcSeen.shift()!;
        out.push({ latency: sim.cycle - s.cycle, data: top.last.data.q - s.data });
      }
    }
    expect(srcSeen).toEqual([]);
    return out;
  }

  for (const n of [1, 2, 3, 5, 8, 16]) {
    it(`an ${n}-stage pipeline delivers every item exactly ${n} cycles after the source register`, () => {
      const top = new Pipeline(n);
      const sim = new Simulator(top);
      const inject = [2, 3, 7, 8, 9, 20];
      const got = withWaves(`kernel_pipeline${n}`, sim, () => run(n, inject, sim, top));
      expect(got).toEqual(inject.map(() => ({ latency: n, data: 0 })));
    });
  }
});

describe('channels', () => {
  it('a full channel back-pressures a faster producer and loses nothing: every item arrives, in order', () => {
    interface Case {
      depth: number;
      period: number;
      total: number;
    }
    const runCase = (c: Case, sim: Simulator, top: ProducerConsumer) => {
      // Registered valid and registered ready: an item's slot frees 2 cycles after its push, so a
      // channel of depth D moves at most D items per 2 cycles (depth 1: every other cycle).
      const limit = c.total * Math.max(c.period, Math.ceil(2 / c.depth)) + c.depth + 4;
      let maxOcc = 0;
      for (let k = 0; k < limit && top.cons.received.length < c.total; k++) {
        sim.step();
        maxOcc = Math.max(maxOcc, top.prod.out.occupancy);
      }
      return { maxOcc };
    };
    const check = (c: Case, top = new ProducerConsumer(c.depth, c.period, c.total), sim = new Simulator(top)) => {
      const { maxOcc } = runCase(c, sim, top);
      expect(top.cons.received).toEqual(Array.from({ length: c.total }, (_, i) => i));
      expect(maxOcc).toBeLessThanOrEqual(c.depth);
      // Consumer at most every 2nd cycle: occupancy grows by ≥ 1/2 per cycle while the producer
      // pushes, so with ≥ 2(depth+1)+1 items the producer must have found the channel full.
      if (c.period >= 2 && c.total >= 2 * c.depth + 3) expect(top.prod.out.fullStalls).toBeGreaterThan(0);
    };
    checkProperty(
      'kernel_backpressure',
      fc.property(fc.record({ depth: fc.integer({ min: 1, max: 6 }), period: fc.integer({ min: 1, max: 5 }), total: fc.integer({ min: 1, max: 60 }) }), (c) => check(c)),
      {
        numRuns: 60,
        rerunTraced: ([c], base) => {
          const top = new ProducerConsumer(c.depth, c.period, c.total);
          const sim = new Simulator(top);
          const w = traceTo(base, sim);
          try {
            check(c, top, sim);
          } finally {
            w.close();
          }
        },
      },
    );
    // One directed case with waves: depth 2, consumer every 3rd cycle.
    const top = new ProducerConsumer(2, 3, 12);
    const sim = new Simulator(top);
    withWaves('kernel_backpressure', sim, () => runCase({ depth: 2, period: 3, total: 12 }, sim, top));
    expect(top.cons.received).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(top.prod.out.fullStalls).toBeGreaterThan(0);
  });
});

describe('channel activity (the edge commits only channels that moved)', () => {
  it('push/pop counts show for exactly the cycle after a move; pushes and pops made between steps commit at the next edge', () => {
    class Box extends Module {
      readonly q: Channel<'v'>;
      constructor() {
        super(null, 'top', new SimContext(1));
        this.q = this.channel('q', 4, ['v'] as const);
      }
    }
    const box = new Box();
    const sim = new Simulator(box);
    const q = box.q;
    const seen = (): [number, number, number] => [q.occupancy, q.lastPushed, q.lastPopped];
    q.col.v[q.push()] = 1;
    q.col.v[q.push()] = 2;
    sim.step();
    expect(seen()).toEqual([2, 2, 0]);
    sim.step();
    expect(seen()).toEqual([2, 0, 0]); // nothing moved: the counts fall back at the next edge
    q.pop();
    q.col.v[q.push()] = 3;
    sim.step();
    expect(seen()).toEqual([2, 1, 1]);
    q.pop();
    sim.step();
    expect(seen()).toEqual([1, 0, 1]);
    sim.step(3);
    expect(seen()).toEqual([1, 0, 0]);
    expect(q.col.v[q.peek()]).toBe(3);
  });

  it('refuses a second Simulator over the same module tree (each commits only the channels it owns)', () => {
    const top = new ProducerConsumer(2, 2, 5);
    new Simulator(top);
    expect(() => new Simulator(top)).toThrow(/already belongs to another Simulator/);
  });
});

describe('evaluation order', () => {
  it('two evaluation orders give bit-identical VCD traces (channels, back-pressure, cross-module registers)', () => {
    const cycles = 300;
    checkProperty(
      'kernel_eval_order',
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer(), fc.integer(), (seed, orderA, orderB) => {
        const a = vcdText(new Simulator(new MixedDesign(seed), { evalOrderSeed: orderA }), cycles);
        const b = vcdText(new Simulator(new MixedDesign(seed), { evalOrderSeed: orderB }), cycles);
        expect(a === b).toBe(true);
      }),
      {
        numRuns: 25,
        rerunTraced: ([seed, orderA, orderB], base) => {
          for (const [suffix, order] of [['', orderA], ['_orderB', orderB]] as const) {
            const sim = new Simulator(new MixedDesign(seed), { evalOrderSeed: order });
            const w = traceTo(`${base}${suffix}`, sim);
            sim.step(cycles);
            w.close();
          }
        },
      },
    );
  });

  it('the trace is not trivial: data flows through and channels fill (so equal traces mean something)', () => {
    const d = readVcd(vcdText(new Simulator(new MixedDesign(12345)), 300));
    const changed = new Set(d.changes.filter((c) => c.time > 0).map((c) => d.vars[c.var]!.path));
    for (const p of ['top.sink.sum', 'top.addA.out_count', 'top.addB.out_pop', 'top.prod.out_push', 'top.pipe2.data']) expect(changed, p).toContain(p);
  });

  it('negative control: a module reading another module\'s d gives order-dependent traces, and the comparison sees it', () => {
    const base = vcdText(new Simulator(new MixedDesign(777, true), { evalOrderSeed: 0 }), 200);
    let differs = 0;
    for (let s = 1; s <= 12; s++) if (vcdText(new Simulator(new MixedDesign(777, true), { evalOrderSeed: s }), 200) !== base) differs++;
    expect(differs).toBeGreaterThan(0);
  });

  it('a traced eval-order run passes GTKWave', () => {
    const sim = new Simulator(new MixedDesign(99), { evalOrderSeed: 5 });
    withWaves('kernel_eval_order_sample', sim, () => sim.step(200));
  });
});

class ResetMix extends Module {
  readonly a: Reg;
  readonly b: Reg;
  readonly hold: Reg;
  readonly noReset32: Reg;
  readonly noReset20: Reg;
  readonly q: Channel<'v'>;
  constructor() {
    super(null, 'top', new SimContext(1));
    this.a = this.reg('a', 8, 5);
    this.b = this.reg('b', 16, 0x1234);
    this.hold = this.reg('hold', 4, 7);
    this.noReset32 = this.reg('noReset32', 32, null);
    this.noReset20 = this.reg('noReset20', 20, null);
    this.q = this.channel('q', 4, ['v'] as const);
  }
  override evaluate(): void {
    this.a.d = (this.a.q + 1) & 0xff;
    this.b.d = (this.b.q * 3) & 0xffff;
    this.noReset32.d = (this.noReset32.q + 1) >>> 0;
    this.noReset20.d = (this.noReset20.q + 2) & 0xfffff;
    if (this.q.canPush()) this.q.col.v[this.q.push()] = this.a.q;
  }
}

describe('reset and random initial values', () => {
  it('reset puts every register at its reset value, empties channels, and unwritten registers hold it', () => {
    const top = new ResetMix();
    const sim = new Simulator(top);
    withWaves('kernel_reset', sim, () => {
      sim.step(10);
      expect([top.a.q, top.b.q, top.noReset32.q, top.q.occupancy]).toEqual([15, (0x1234 * 3 ** 10) % 0x10000, 10, 4]);
      sim.reset();
      expect(sim.cycle).toBe(0);
      expect([top.a.q, top.b.q, top.hold.q, top.noReset32.q, top.noReset20.q, top.q.occupancy]).toEqual([5, 0x1234, 7, 0, 0, 0]);
      sim.step(20);
      expect(top.hold.q).toBe(7);
    });
  });

  it('random-init mode changes only the registers declared without a reset value', () => {
    checkProperty(
      'kernel_random_init',
      fc.property(fc.integer(), fc.integer(), (s1, s2) => {
        fc.pre(s1 !== s2);
        const vals = (seed?: number) => {
          const top = new ResetMix();
          new Simulator(top, seed === undefined ? {} : { randomInitSeed: seed });
          return { reset: [top.a.q, top.b.q, top.hold.q], free: [top.noReset32.q, top.noReset20.q] };
        };
        const plain = vals();
        const r1 = vals(s1);
        const r1again = vals(s1);
        const r2 = vals(s2);
        expect(plain).toEqual({ reset: [5, 0x1234, 7], free: [0, 0] });
        expect(r1.reset).toEqual([5, 0x1234, 7]);
        expect(r2.reset).toEqual([5, 0x1234, 7]);
        expect(r1again).toEqual(r1); // seeded: reproducible
        expect(r1.free).not.toEqual(r2.free); // 52 random bits: equal by chance with probability 2^-52
        expect(r1.free[0]!).toBeLessThan(2 ** 32);
        expect(r1.free[1]!).toBeLessThan(2 ** 20);
      }),
      { numRuns: 50 },
    );
  });
});

class EmptyPopper extends Module {
  readonly count: Reg;
  readonly src: Channel<'v'>;
  constructor(private readonly failAt: number) {
    super(null, 'top', new SimContext(1));
    this.count = this.reg('count', 16, 0);
    this.src = this.channel('src', 2, ['v'] as const);
  }
  override evaluate(): void {
    this.count.d = this.count.q + 1;
    if (this.count.q === this.failAt) this.src.pop();
  }
}

describe('SimulationError', () => {
  it('names cycle and path of a pop from an empty channel, and the VCD is flushed up to that cycle', () => {
    const top = new EmptyPopper(5);
    const sim = new Simulator(top);
    const base = 'waves/kernel_simulation_error';
    const w = traceTo(base, sim);
    let err: unknown;
    try {
      sim.step(100);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SimulationError);
    const se = err as SimulationError;
    expect([se.cycle, se.path, se.message]).toEqual([5, 'top.src', 'cycle 5: top.src: pop from empty channel']);
    // Read the file as the simulator left it (flushed, not yet closed).
    const d = readVcdFile(`${base}.vcd`);
    const count = d.vars.findIndex((v) => v.path === 'top.count');
    const last = d.changes.filter((c) => c.var === count).pop()!;
    expect(last).toEqual({ time: 5 * 1000, var: count, value: (5).toString(2).padStart(16, '0') });
    expect(d.endTime).toBe(5 * 1000 + 500);
    w.close(); // writes the .gtkw and validates both files with the reader and GTKWave
    const g = gtkwaveCheck(`${base}.vcd`, `${base}.gtkw`);
    if (!g.skipped) expect(g.displayed).toContain('top.count[15:0]');
  });
});
