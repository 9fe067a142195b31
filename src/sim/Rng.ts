/**
 * Deterministic 32-bit PRNG (xoshiro128**), the only source of randomness inside the model.
 * The built-in JS random source is unseeded and would break seeds, fast-check replay and shrinking,
 * so nothing in rtl/ or src/ draws from it.
 * No objects per draw; note that V8 may box a returned value above 2^30 when the call is not inlined
 * (measured in TrafficGenerator, which therefore keeps its own 30-bit generator seeded from this one).
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    // splitmix32 expands one seed into four non-zero words.
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next() | 1;
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const r = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    this.s3 >>>= 0;
    return r;
  }

  /** Uniform float in [0, 1) with 32 bits of resolution. */
  nextFloat(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n), n ≤ 2^32. */
  below(n: number): number {
    return Math.floor(this.nextFloat() * n);
  }

  /** Uniform integer of `bits` bits (≤ 52), exact as a double. */
  bits(bits: number): number {
    if (bits <= 32) return bits === 32 ? this.nextU32() : this.nextU32() & ((1 << bits) - 1) >>> 0;
    const hi = this.nextU32() & ((1 << (bits - 32)) - 1);
    return hi * 4294967296 + this.nextU32();
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
