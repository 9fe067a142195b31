import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type Channel, Module, type Reg, SimContext, SimulationError, Simulator } from '../../src/sim/index.ts';
import { gtkwTraceNames } from '../../src/vcd/GtkwWriter.ts';
import { globToRegExp, VcdTracer } from '../../src/vcd/Tracer.ts';
import { readVcd, readVcdFile, type VcdDesign } from '../../src/vcd/VcdReader.ts';
import { VcdWriter } from '../../src/vcd/VcdWriter.ts';
import { env } from '../lib/env.ts';
import { gtkwaveCheck } from '../lib/gtkwave.ts';
import { traceTo, withWaves } from '../lib/waves.ts';

class Leaf extends Module {
  readonly n: Reg;
  readonly q: Channel<'v'>;
  readonly line = new Uint8Array(64);
  constructor(parent: Module, name: string) {
    super(parent, name);
    this.n = this.reg('n', 8, 0);
    this.q = this.channel('q', 5, ['v'] as const);
    this.probe('twice', 9, () => this.n.q * 2);
    this.wideProbe('line', 512, this.line, 0);
  }
  override evaluate(): void {
    const n = this.n.q;
    this.n.d = (n + 1) & 0xff;
    if ((n & 1) === 0 && this.q.canPush()) this.q.col.v[this.q.push()] = n;
    if ((n & 3) === 3 && this.q.valid()) this.q.pop();
    this.line[n & 63] = n; // the module's own buffer, visible to the wide probe after the edge
  }
}

class Top extends Module {
  readonly a: Leaf;
  readonly b: Leaf;
  constructor(clockGHz = 2) {
    super(null, 'top', new SimContext(clockGHz));
    this.a = new Leaf(this, 'a');
    this.b = new Leaf(new Group(this, 'grp'), 'b');
  }
}
class Group extends Module {}

function traced(sim: Simulator, run: () => void, trace?: string[]): { d: VcdDesign; tracer: VcdTracer } {
  const chunks: string[] = [];
  const tracer = new VcdTracer(sim, new VcdWriter((b, n) => chunks.push(Buffer.from(b.subarray(0, n)).toString('latin1')), { date: 'x' }), null, trace ? { trace } : {});
  sim.attach(tracer);
  run();
  tracer.close();
  return { d: readVcd(chunks.join('')), tracer };
}

/** Value of var `path` at each sample time (the last change at or before t). */
function valueAt(d: VcdDesign, path: string, t: number): string | number | undefined {
  const k = d.vars.findIndex((v) => v.path === path);
  let val: string | number | undefined;
  for (const c of d.changes) if (c.var === k && c.time <= t) val = c.value;
  return val;
}

const bin = (v: number, w: number) => v.toString(2).padStart(w, '0');

describe('VcdTracer', () => {
  it('declares regs, channel count/push/pop, probes and wide probes in module scopes, clk at the top', () => {
    const { d } = traced(new Simulator(new Top()), () => {});
    expect(d.vars.map((v) => `${v.path}:${v.type}:${v.width}`)).toEqual([
      'top.clk:wire:1',
      'top.a.n:reg:8',
      'top.a.q_count:integer:3',
      'top.a.q_push:reg:3',
      'top.a.q_pop:reg:3',
      'top.a.twice:wire:9',
      'top.a.line:wire:512',
      'top.grp.b.n:reg:8',
      'top.grp.b.q_count:integer:3',
      'top.grp.b.q_push:reg:3',
      'top.grp.b.q_pop:reg:3',
      'top.grp.b.twice:wire:9',
      'top.grp.b.line:wire:512',
    ]);
  });

  it('writes cycle c at time c × period (500 ps at 2 GHz), clk rising there and falling half a period later', () => {
    const top = new Top(2);
    const sim = new Simulator(top);
    // Reference values computed by hand from Leaf's rules: n counts; q gets even n, loses one when n%4 == 3.
    const { d } = traced(sim, () => sim.step(8));
    for (let c = 0; c <= 8; c++) {
      expect(valueAt(d, 'top.clk', c * 500), `clk at cycle ${c}`).toBe('1');
      expect(valueAt(d, 'top.clk', c * 500 + 250), `clk after cycle ${c}`).toBe('0');
      expect(valueAt(d, 'top.a.n', c * 500)).toBe(bin(c, 8));
      expect(valueAt(d, 'top.a.twice', c * 500)).toBe(bin(2 * c, 9));
    }
    // Pushes at n = 0,2,4,6 (cycles 1,3,5,7 see them committed); pops at n = 3,7 (committed at cycles 4, 8).
    const occ = [0, 1, 1, 2, 1, 2, 2, 3, 2];
    const push = [0, 1, 0, 1, 0, 1, 0, 1, 0];
    const pop = [0, 0, 0, 0, 1, 0, 0, 0, 1];
    for (let c = 0; c <= 8; c++) {
      expect(valueAt(d, 'top.a.q_count', c * 500), `count at ${c}`).toBe(bin(occ[c]!, 3));
      expect(valueAt(d, 'top.a.q_push', c * 500), `push at ${c}`).toBe(bin(push[c]!, 3));
      expect(valueAt(d, 'top.a.q_pop', c * 500), `pop at ${c}`).toBe(bin(pop[c]!, 3));
    }
    // The wide probe: byte k = k for k < 8 after 8 cycles (little-endian, byte 0 lowest).
    const line = valueAt(d, 'top.a.line', 8 * 500) as string;
    expect(line.length).toBe(512);
    for (let k = 0; k < 8; k++) expect(line.slice(512 - 8 * (k + 1), 512 - 8 * k)).toBe(bin(k, 8));
    expect(d.endTime).toBe(8 * 500 + 250);
  });

  it('selects signals by glob: * spans dots, several globs are ORed, a channel glob takes its three vars', () => {
    expect(globToRegExp('top.*.n').test('top.grp.b.n')).toBe(true);
    expect(globToRegExp('top.a').test('top.ab')).toBe(false);
    const { d } = traced(new Simulator(new Top()), () => {}, ['top.grp.*', 'top.a.q']);
    expect(() => traced(new Simulator(new Top()), () => {}, ['top.a.*', 'top.nope*'])).toThrow(/trace: 'top.nope\*' match\(es\) no signal of top/);
    expect(d.vars.map((v) => v.path)).toEqual(['top.clk', 'top.a.q_count', 'top.a.q_push', 'top.a.q_pop', 'top.grp.b.n', 'top.grp.b.q_count', 'top.grp.b.q_push', 'top.grp.b.q_pop', 'top.grp.b.twice', 'top.grp.b.line']);
  });

  it('a probe group writes the same VCD as separate probes, with one fill per traced cycle', () => {
    let fills = 0;
    class Banks extends Module {
      readonly n: Reg;
      constructor(parent: Module, grouped: boolean) {
        super(parent, 'banks');
        this.n = this.reg('n', 8, 0);
        const f = [(n: number) => n & 3, (n: number) => (n >> 2) & 7, (n: number) => (n * 5) & 15];
        const names = ['s0', 's1', 's2'];
        if (grouped) {
          this.probeGroup(names, [2, 3, 4], (v) => {
            fills++;
            for (let i = 0; i < 3; i++) v[i] = f[i]!(this.n.q);
          });
        } else names.forEach((name, i) => this.probe(name, [2, 3, 4][i]!, () => f[i]!(this.n.q)));
      }
      override evaluate(): void {
        this.n.d = (this.n.q + 7) & 0xff;
      }
    }
    const vcdOf = (grouped: boolean, trace?: string[]): string => {
      const top = new Group(null, 'top', new SimContext(1));
      new Banks(top, grouped);
      const sim = new Simulator(top);
      const chunks: string[] = [];
      const tracer = new VcdTracer(sim, new VcdWriter((b, n) => chunks.push(Buffer.from(b.subarray(0, n)).toString('latin1')), { date: 'x' }), null, trace ? { trace } : {});
      sim.attach(tracer);
      sim.step(40);
      tracer.close();
      return chunks.join('');
    };
    const separate = vcdOf(false);
    fills = 0;
    const grouped = vcdOf(true);
    expect(grouped).toBe(separate);
    expect(fills).toBe(41); // attach (cycle 0) + 40 edges
    expect(readVcd(grouped).changes.length).toBeGreaterThan(40 * 2); // the values do move
    // Some members only (the tracer then fills the group's own array and copies the traced slots out).
    for (const trace of [['top.banks.s2', 'top.banks.s0'], ['top.banks.s1'], ['top.banks.s1', 'top.banks.s2']]) {
      fills = 0;
      const part = vcdOf(true, trace);
      expect(part, trace.join()).toBe(vcdOf(false, trace));
      expect(fills, trace.join()).toBe(41);
    }
  });

  it('shows a register a testbench forces between steps (the tracer looks only at registers the edge changed)', () => {
    // A register no module writes holds its value: after the testbench forces q and d to 200, the
    // edge commits d === q. The tracer must still see the change (the edge compares against the
    // value it committed last time, not against q).
    class Holder extends Module {
      readonly h: Reg;
      constructor(parent: Module) {
        super(parent, 'holder');
        this.h = this.reg('h', 8, 0);
      }
    }
    const top = new Top();
    const holder = new Holder(top);
    const sim = new Simulator(top);
    const { d } = traced(sim, () => {
      sim.step(10);
      holder.h.q = 200;
      holder.h.d = 200;
      sim.step(3);
    });
    const period = 500;
    expect(valueAt(d, 'top.holder.h', 9 * period)).toBe(bin(0, 8));
    expect(valueAt(d, 'top.holder.h', 11 * period)).toBe(bin(200, 8));
    expect(valueAt(d, 'top.a.n', 12 * period)).toBe(bin(12, 8)); // the rest keeps running
  });

  it('shows a forced register after step(0) and after a SimulationError on the edge that follows the force', () => {
    class Holder extends Module {
      readonly h: Reg;
      boomAt = -1;
      constructor(parent: Module) {
        super(parent, 'holder');
        this.h = this.reg('h', 8, 0);
      }
      override evaluate(): void {
        if (this.ctx.cycle === this.boomAt) throw new SimulationError('boom', this.ctx.cycle, this.path);
      }
    }
    const period = 500;
    const forceThen = (after: (sim: Simulator, holder: Holder) => void): VcdDesign => {
      const top = new Top();
      const holder = new Holder(top);
      const sim = new Simulator(top);
      return traced(sim, () => {
        sim.step(2);
        holder.h.q = 200;
        holder.h.d = 200;
        after(sim, holder);
        sim.step(3);
      }).d;
    };
    // step(0) runs no edge: the force stays to be found by the next step that runs one.
    expect(valueAt(forceThen((sim) => sim.step(0)), 'top.holder.h', 4 * period)).toBe(bin(200, 8));
    // The first edge after the force stops with an error; the testbench catches it and goes on.
    const afterError = forceThen((sim, holder) => {
      holder.boomAt = 2;
      expect(() => sim.step(1)).toThrow(/boom/);
      holder.boomAt = -1;
    });
    expect(valueAt(afterError, 'top.holder.h', 4 * period)).toBe(bin(200, 8));
  });

  it('a mid-run reset restarts cycles but VCD time keeps going forward', () => {
    const sim = new Simulator(new Top(1));
    const { d } = traced(sim, () => {
      sim.step(3);
      sim.reset();
      sim.step(2);
    });
    // Samples at 0,1000,2000,3000 then reset sample at 4000 (n back to 0), then 5000, 6000.
    expect(valueAt(d, 'top.a.n', 3000)).toBe(bin(3, 8));
    expect(valueAt(d, 'top.a.n', 4000)).toBe(bin(0, 8));
    expect(valueAt(d, 'top.a.n', 6000)).toBe(bin(2, 8));
    expect(d.endTime).toBe(6500);
  });

  it('a reset right after attaching re-samples time 0 (times stay cycle × period)', () => {
    const sim = new Simulator(new Top(1));
    const { d } = traced(sim, () => {
      sim.reset();
      sim.step(3);
    });
    expect(valueAt(d, 'top.a.n', 3000)).toBe(bin(3, 8));
    expect(valueAt(d, 'top.a.n', 2999)).toBe(bin(2, 8));
    expect(d.endTime).toBe(3500);
  });

  it('attached mid-run, the first sample is the initial value and times stay cycle × period', () => {
    const sim = new Simulator(new Top(1));
    sim.step(5);
    const { d } = traced(sim, () => sim.step(2));
    expect(valueAt(d, 'top.a.n', 0)).toBe(bin(5, 8));
    expect(valueAt(d, 'top.a.n', 7000)).toBe(bin(7, 8));
    expect(d.changes.some((c) => c.time > 0 && c.time < 5000)).toBe(false);
  });

  it('writes a .gtkw with clk first, one group per module, names GTKWave resolves; traceTo validates', () => {
    const sim = new Simulator(new Top());
    const w = traceTo('waves/tracer_top', sim);
    sim.step(50);
    w.close();
    const gtkw = readFileSync('waves/tracer_top.gtkw', 'utf8');
    const names = gtkwTraceNames(gtkw);
    expect(names[0]).toBe('top.clk');
    expect(names).toContain('top.a.n[7:0]');
    expect(names).toContain('top.a.q_count');
    expect(names).toContain('top.grp.b.line[511:0]');
    expect(gtkw).toContain('@800200\n-top.a\n');
    expect(gtkw).toContain('@800200\n-top.grp.b\n');
    expect(gtkw).toMatch(/\[dumpfile\] ".*waves\/tracer_top\.vcd"/);
    const r = gtkwaveCheck('waves/tracer_top.vcd', 'waves/tracer_top.gtkw');
    if (!r.skipped) expect(r.displayed).toEqual(names);
    expect(readVcdFile('waves/tracer_top.vcd').endTime).toBe(50 * 500 + 250);
  });

  it.skipIf(env.waves === 'off')('withWaves closes the files when the body throws, and rethrows the body error', () => {
    const sim = new Simulator(new Top());
    expect(() =>
      withWaves('tracer_throws', sim, () => {
        sim.step(4);
        throw new Error('testbench failed');
      }),
    ).toThrow('testbench failed');
    expect(readVcdFile('waves/tracer_throws.vcd').endTime).toBe(4 * 500 + 250);
    expect(readFileSync('waves/tracer_throws.gtkw', 'utf8')).toContain('top.clk');
    // A closed tracer is detached: stepping on writes nothing more and does not throw.
    sim.step(2);
    const w = traceTo('waves/tracer_again', sim);
    sim.step(1);
    w.close();
  });
});
