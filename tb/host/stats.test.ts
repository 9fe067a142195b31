import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Counter, formatCyclesNs, formatLatencyTable, formatTable, LatencyHistogram } from '../../src/stats/index.ts';
import { checkProperty } from '../lib/pbt.ts';

/** Independent reference: nearest-rank percentile of a sorted copy. */
function refPercentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[rank - 1]!;
}

describe('LatencyHistogram', () => {
  it('percentiles, min, max, mean match a sorted-array reference', () => {
    checkProperty(
      'stats_histogram_vs_sorted',
      fc.property(fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 300 }), fc.double({ min: 0, max: 100, noNaN: true }), (xs, p) => {
        const h = new LatencyHistogram('h', 4096);
        for (const x of xs) h.record(x);
        expect(h.count).toBe(xs.length);
        expect(h.min).toBe(Math.min(...xs));
        expect(h.max).toBe(Math.max(...xs));
        expect(h.mean).toBeCloseTo(xs.reduce((a, b) => a + b, 0) / xs.length, 9);
        expect(h.percentile(p)).toBe(refPercentile(xs, p));
        expect(h.p50).toBe(refPercentile(xs, 50));
        expect(h.p99).toBe(refPercentile(xs, 99));
      }),
      { numRuns: 200 },
    );
  });

  it('directed: p50 of 1..100 is 50, p99 is 99, p100 is 100, p0 is the minimum', () => {
    const h = new LatencyHistogram('h', 1000);
    for (let i = 100; i >= 1; i--) h.record(i);
    expect([h.percentile(0), h.p50, h.p99, h.percentile(100)]).toEqual([1, 50, 99, 100]);
  });

  it('empty histogram reports NaN, not zeros', () => {
    const h = new LatencyHistogram('h', 10);
    expect([h.min, h.max, h.mean, h.p50]).toEqual([NaN, NaN, NaN, NaN]);
  });

  it('values above maxExactCycles go to the overflow bucket; percentiles there report the max', () => {
    const h = new LatencyHistogram('h', 100);
    for (const x of [5, 6, 7, 500, 900]) h.record(x);
    expect(h.overflow).toBe(2);
    expect(h.count).toBe(5);
    expect(h.p50).toBe(7);
    expect(h.percentile(100)).toBe(900);
    expect(h.percentile(80)).toBe(900); // rank 4 lands in the overflow bucket: upper bound = max
    expect(h.mean).toBe((5 + 6 + 7 + 500 + 900) / 5);
  });

  it('merge equals recording both sample sets into one histogram', () => {
    checkProperty(
      'stats_histogram_merge',
      fc.property(fc.array(fc.nat(200)), fc.array(fc.nat(200)), (a, b) => {
        const ha = new LatencyHistogram('a', 150);
        const hb = new LatencyHistogram('b', 150);
        const hab = new LatencyHistogram('ab', 150);
        for (const x of a) (ha.record(x), hab.record(x));
        for (const x of b) (hb.record(x), hab.record(x));
        ha.merge(hb);
        expect([ha.count, ha.min, ha.max, ha.overflow, ha.total]).toEqual([hab.count, hab.min, hab.max, hab.overflow, hab.total]);
        for (const p of [0, 10, 50, 90, 99, 100]) expect(ha.percentile(p)).toEqual(hab.percentile(p));
      }),
      { numRuns: 50 },
    );
  });

  it('rejects bad percentiles and mismatched merges', () => {
    const h = new LatencyHistogram('h', 10);
    expect(() => h.percentile(101)).toThrow(/percentile must be in \[0, 100\]/);
    expect(() => h.merge(new LatencyHistogram('g', 11))).toThrow(/maxExactCycles/);
  });
});

describe('report helpers', () => {
  it('formatTable aligns columns (numbers right, text left) and rejects ragged rows', () => {
    const t = formatTable(['name', 'n'], [
      ['a', 1],
      ['long', 12.5],
    ]);
    expect(t).toBe('name      n\n----  -----\na         1\nlong  12.50\n');
    expect(() => formatTable(['a', 'b'], [['x']])).toThrow(/row 0 has 1 cells/);
  });

  it('cycles to ns uses the clock', () => {
    expect(formatCyclesNs(42, { clockGHz: 2 })).toBe('42 (21.00 ns)');
    expect(formatCyclesNs(NaN, { clockGHz: 2 })).toBe('-');
  });

  it('latency table has one row per histogram with ns columns', () => {
    const h = new LatencyHistogram('h', 100);
    [10, 20, 30].forEach((x) => h.record(x));
    const t = formatLatencyTable([['localRead', h]], { clockGHz: 1 });
    expect(t.split('\n')[2]).toBe('localRead      3   10    20   20   30   30    20.00   30.00');
  });

  it('Counter counts', () => {
    const c = new Counter('x');
    c.inc();
    c.add(4);
    expect(c.value).toBe(5);
    c.reset();
    expect(c.value).toBe(0);
  });
});
