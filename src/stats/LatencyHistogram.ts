/**
 * Latency histogram in whole cycles, exact up to `maxExactCycles` and with one overflow bucket
 * beyond it. `record()` is allocation-free (one typed-array increment and a few number updates),
 * so it may be called from a module's evaluate().
 *
 * Percentiles use the nearest-rank definition: percentile(p) is the smallest recorded value v
 * such that at least ceil(p/100 · count) samples are ≤ v (p = 0 gives the minimum). Below the
 * overflow bucket this is exact. A percentile that lands in the overflow bucket is reported as
 * the largest recorded value (an upper bound; `overflow` says how many samples were there).
 */
export class LatencyHistogram {
  /** buckets[c] = samples of exactly c cycles, for c ≤ maxExactCycles. */
  private readonly buckets: Uint32Array;
  private overflowCount = 0;
  private n = 0;
  private sum = 0;
  private lo = Infinity;
  private hi = -Infinity;

  constructor(
    readonly name: string,
    /** Largest latency counted exactly; larger ones go to the overflow bucket. */
    readonly maxExactCycles = 65536,
  ) {
    if (!(Number.isInteger(maxExactCycles) && maxExactCycles >= 0)) {
      throw new RangeError(`${name}: maxExactCycles must be an integer ≥ 0, got ${maxExactCycles}`);
    }
    this.buckets = new Uint32Array(maxExactCycles + 1);
  }

  /** Add one sample (a whole, non-negative number of cycles). */
  record(cycles: number): void {
    if (cycles <= this.maxExactCycles) this.buckets[cycles]!++;
    else this.overflowCount++;
    this.n++;
    this.sum += cycles;
    if (cycles < this.lo) this.lo = cycles;
    if (cycles > this.hi) this.hi = cycles;
  }

  get count(): number {
    return this.n;
  }
  /** Samples above maxExactCycles. */
  get overflow(): number {
    return this.overflowCount;
  }
  /** Smallest sample, NaN when empty. */
  get min(): number {
    return this.n === 0 ? NaN : this.lo;
  }
  /** Largest sample, NaN when empty. */
  get max(): number {
    return this.n === 0 ? NaN : this.hi;
  }
  /** Arithmetic mean (exact sum of all samples, overflow included), NaN when empty. */
  get mean(): number {
    return this.n === 0 ? NaN : this.sum / this.n;
  }
  get total(): number {
    return this.sum;
  }

  /** Nearest-rank percentile, p in [0, 100]; NaN when empty. Scans the buckets: report time only. */
  percentile(p: number): number {
    if (!(p >= 0 && p <= 100)) throw new RangeError(`${this.name}: percentile must be in [0, 100], got ${p}`);
    if (this.n === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.n));
    let seen = 0;
    const b = this.buckets;
    for (let c = 0; c < b.length; c++) {
      seen += b[c]!;
      if (seen >= rank) return c;
    }
    return this.hi;
  }

  get p50(): number {
    return this.percentile(50);
  }
  get p99(): number {
    return this.percentile(99);
  }

  /** Samples of exactly `cycles` cycles (0 above maxExactCycles). */
  bucket(cycles: number): number {
    return cycles <= this.maxExactCycles ? this.buckets[cycles]! : 0;
  }

  /** Add another histogram's samples (e.g. summing per-port histograms into a node total). */
  merge(other: LatencyHistogram): void {
    if (other.maxExactCycles !== this.maxExactCycles) {
      throw new RangeError(`${this.name}: cannot merge ${other.name} (maxExactCycles ${other.maxExactCycles} ≠ ${this.maxExactCycles})`);
    }
    for (let c = 0; c < this.buckets.length; c++) this.buckets[c]! += other.buckets[c]!;
    this.overflowCount += other.overflowCount;
    this.n += other.n;
    this.sum += other.sum;
    if (other.n > 0) {
      if (other.lo < this.lo) this.lo = other.lo;
      if (other.hi > this.hi) this.hi = other.hi;
    }
  }

  reset(): void {
    this.buckets.fill(0);
    this.overflowCount = 0;
    this.n = 0;
    this.sum = 0;
    this.lo = Infinity;
    this.hi = -Infinity;
  }
}
