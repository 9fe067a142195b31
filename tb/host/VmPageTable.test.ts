import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NOT_MAPPED, PAGE_BYTES, VmPageTable } from '../../rtl/host/VmPageTable.ts';
import { Module, Simulator } from '../../src/sim/index.ts';
import { checkProperty } from '../lib/pbt.ts';
import { Top } from './standins.ts';

describe('VmPageTable: immediate mapping', () => {
  it('translates within a page, faults outside, maps contiguously', () => {
    const top = new Top();
    const pt = new VmPageTable(top, 'pt', { vm: 3 });
    pt.mapContiguous(0x10000, 0x200000, 3);
    expect(pt.lookup(0x10000)).toBe(0x200000);
    expect(pt.lookup(0x10000 + 0x40)).toBe(0x200040);
    expect(pt.lookup(0x12fc0)).toBe(0x202fc0);
    expect(pt.lookup(0x13000)).toBe(NOT_MAPPED);
    expect(pt.lookup(0xffc0)).toBe(NOT_MAPPED);
    expect(pt.mappedPages).toBe(3);
    pt.unmap(0x11000);
    expect(pt.lookup(0x11000)).toBe(NOT_MAPPED);
    expect(pt.mappings()).toEqual([
      [0x10000, 0x200000],
      [0x12000, 0x202000],
    ]);
  });

  it('high addresses above 2^32 translate exactly', () => {
    const top = new Top();
    const pt = new VmPageTable(top, 'pt', { vm: 0 });
    const hpa = 2 ** 45 + 7 * PAGE_BYTES;
    pt.map(2 ** 40, hpa);
    expect(pt.lookup(2 ** 40 + 0xfc0)).toBe(hpa + 0xfc0);
  });

  it('rejects unaligned addresses, double maps and unmapping holes with the rule named', () => {
    const top = new Top();
    const pt = new VmPageTable(top, 'pt', { vm: 0 });
    expect(() => pt.map(0x100, 0)).toThrow(/top\.pt\.vmAddr: 0x100 must be a 4096-byte aligned address/);
    expect(() => pt.map(0, 0x10)).toThrow(/top\.pt\.hpa: 0x10 must be a 4096-byte aligned/);
    pt.map(0, 0, 2);
    expect(() => pt.map(0x1000, 0x5000)).toThrow(/VM page 0x1000 is already mapped/);
    expect(() => pt.unmap(0x2000)).toThrow(/VM page 0x2000 is not mapped/);
  });

  it('property: lookups agree with a plain reference map after random map/unmap', () => {
    type Op = { kind: 'map' | 'unmap'; vPage: number; hPage: number; n: number };
    const op = fc.record({ kind: fc.constantFrom<'map' | 'unmap'>('map', 'unmap'), vPage: fc.nat(40), hPage: fc.nat(1 << 20), n: fc.integer({ min: 1, max: 4 }) });
    checkProperty(
      'host_pagetable_vs_reference',
      fc.property(fc.array(op, { maxLength: 40 }), fc.array(fc.nat(48 * PAGE_BYTES - 1), { maxLength: 60 }), (ops: Op[], probes) => {
        const top = new Top();
        const pt = new VmPageTable(top, 'pt', { vm: 1 });
        const ref = new Map<number, number>();
        for (const o of ops) {
          const pages = Array.from({ length: o.n }, (_, i) => o.vPage + i);
          if (o.kind === 'map') {
            const clash = pages.some((v) => ref.has(v));
            if (clash) expect(() => pt.map(o.vPage * PAGE_BYTES, o.hPage * PAGE_BYTES, o.n)).toThrow(/already mapped/);
            else {
              pt.map(o.vPage * PAGE_BYTES, o.hPage * PAGE_BYTES, o.n);
              pages.forEach((v, i) => ref.set(v, o.hPage + i));
            }
          } else {
            const hole = pages.some((v) => !ref.has(v));
            if (hole) expect(() => pt.unmap(o.vPage * PAGE_BYTES, o.n)).toThrow(/not mapped/);
            else {
              pt.unmap(o.vPage * PAGE_BYTES, o.n);
              pages.forEach((v) => ref.delete(v));
            }
          }
        }
        for (const a of probes) {
          const h = ref.get(Math.floor(a / PAGE_BYTES));
          expect(pt.lookup(a)).toBe(h === undefined ? NOT_MAPPED : h * PAGE_BYTES + (a % PAGE_BYTES));
        }
      }),
      { numRuns: 100 },
    );
  });
});

/** Stages remaps of two pages in one cycle (a migration engine's flip). */
class Flipper extends Module {
  constructor(
    parent: Module,
    private readonly pt: VmPageTable,
    private readonly atCycle: number,
  ) {
    super(parent, 'flipper');
  }
  override evaluate(): void {
    if (this.ctx.cycle === this.atCycle) {
      this.pt.stageRemap(0x0000, 0x900000);
      this.pt.stageRemap(0x1000, 0x901000);
    }
  }
}

/** Looks both pages up every cycle and records what it saw. */
class Reader extends Module {
  readonly seen: Array<[number, number, number]> = [];
  constructor(
    parent: Module,
    name: string,
    private readonly pt: VmPageTable,
  ) {
    super(parent, name);
  }
  override evaluate(): void {
    this.seen.push([this.ctx.cycle, this.pt.lookup(0x40), this.pt.lookup(0x1080)]);
  }
}

describe('VmPageTable: staged remap flips at a cycle boundary', () => {
  function run(evalOrderSeed: number | undefined) {
    const top = new Top();
    const pt = new VmPageTable(top, 'pt', { vm: 0 });
    pt.map(0, 0x100000, 2);
    const r1 = new Reader(top, 'r1', pt);
    new Flipper(top, pt, 5);
    const r2 = new Reader(top, 'r2', pt);
    const sim = new Simulator(top, evalOrderSeed === undefined ? {} : { evalOrderSeed });
    sim.step(10);
    return { r1: r1.seen, r2: r2.seen, pt };
  }

  it('lookups in the staging cycle see the old mapping, from the next cycle the new one, both pages together', () => {
    const { r1, r2, pt } = run(undefined);
    const want = Array.from({ length: 10 }, (_, c) => (c <= 5 ? [c, 0x100040, 0x101080] : [c, 0x900040, 0x901080]));
    expect(r1).toEqual(want);
    expect(r2).toEqual(want);
    expect(pt.remapsApplied).toBe(2);
  });

  it('the result does not depend on module evaluation order', () => {
    const base = run(undefined);
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const r = run(seed);
      expect(r.r1).toEqual(base.r1);
      expect(r.r2).toEqual(base.r2);
    }
  });

  it('stageUnmap makes the page fault from the next cycle; too many staged changes is a SimulationError', () => {
    const top = new Top();
    const pt = new VmPageTable(top, 'pt', { vm: 0, maxStagedRemaps: 2 });
    pt.map(0, 0x100000, 3);
    const sim = new Simulator(top);
    pt.stageUnmap(0x1000);
    expect(pt.lookup(0x1000)).toBe(0x101000);
    expect(pt.pendingRemaps).toBe(1);
    sim.step(1);
    expect(pt.lookup(0x1000)).toBe(NOT_MAPPED);
    pt.stageRemap(0, 0);
    pt.stageRemap(0x2000, 0);
    expect(() => pt.stageRemap(0x1000, 0)).toThrow(/cycle 1: top\.pt: more than maxStagedRemaps=2/);
  });
});
