import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkCrc16Flit68,
  checkFlit256,
  crc16Flit68,
  crc64,
  crc64Out,
  F256_CRC_COVER,
  F256_FEC_COVER,
  Flit256Check,
  writeCrc16Flit68,
  writeCrcFec256,
} from '../../src/bits/crc.ts';
import { Rng } from '../../src/sim/Rng.ts';
import { checkProperty } from '../lib/pbt.ts';
import { specCrc16 } from './crcSpecMasks.ts';

/** Independent bitwise CRC-16: polynomial long division of M(x)·x^16 by 0x1F053, M(x) = Σ flit[j]·x^j. */
function bitwiseCrc16(buf: Uint8Array, off: number): number {
  let rem = 0;
  for (let j = 511; j >= 0; j--) {
    const bit = (buf[off + (j >> 3)]! >> (j & 7)) & 1;
    rem = (rem << 1) | bit;
    if (rem & 0x10000) rem ^= 0x1f053;
  }
  for (let k = 0; k < 16; k++) {
    rem <<= 1;
    if (rem & 0x10000) rem ^= 0x1f053;
  }
  return rem;
}

/** Independent bitwise CRC-64 (ECMA-182, non-reflected, seed 0) with BigInt: bytes in order, MSB first. */
function bitwiseCrc64(buf: Uint8Array, off: number, n: number): bigint {
  const poly = 0x42f0e1eba9ea3693n;
  const mask = (1n << 64n) - 1n;
  let crc = 0n;
  for (let i = 0; i < n; i++) {
    crc ^= BigInt(buf[off + i]!) << 56n;
    for (let k = 0; k < 8; k++) crc = crc & (1n << 63n) ? ((crc << 1n) ^ poly) & mask : (crc << 1n) & mask;
  }
  return crc;
}

function randomFlit(rng: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rng.below(256);
  return b;
}

function flip(buf: Uint8Array, bit: number): void {
  buf[bit >> 3] = buf[bit >> 3]! ^ (1 << (bit & 7));
}

describe('68B CRC-16 (poly 0x1F053)', () => {
  it('matches the spec XOR-tree masks and an independent bitwise division on known vectors', () => {
    const zero = new Uint8Array(64);
    expect(crc16Flit68(zero, 0)).toBe(0);
    // Single-bit flits: the spec's mask columns, bit by bit (512 known vectors).
    for (let j = 0; j < 512; j++) {
      const b = new Uint8Array(64);
      flip(b, j);
      expect(crc16Flit68(b, 0)).toBe(specCrc16(b, 0));
    }
    const rng = new Rng(0xc0ffee);
    for (let k = 0; k < 200; k++) {
      const b = randomFlit(rng, 70);
      const want = specCrc16(b, 3);
      expect(bitwiseCrc16(b, 3)).toBe(want);
      expect(crc16Flit68(b, 3)).toBe(want);
    }
    // Pinned values (from the spec masks) so a regression in the masks file is seen too.
    const ramp = new Uint8Array(64);
    for (let i = 0; i < 64; i++) ramp[i] = (i * 37 + 11) & 255;
    expect(specCrc16(ramp, 0)).toBe(0x23e0);
    expect(crc16Flit68(new Uint8Array(64).fill(0xff), 0)).toBe(specCrc16(new Uint8Array(64).fill(0xff), 0));
  });

  it('detects every 1-bit error over all 528 positions (flit + CRC), exhaustively', () => {
    const rng = new Rng(528);
    const b = randomFlit(rng, 66);
    writeCrc16Flit68(b, 0);
    expect(checkCrc16Flit68(b, 0)).toBe(true);
    for (let bit = 0; bit < 528; bit++) {
      flip(b, bit);
      expect(checkCrc16Flit68(b, 0), `bit ${bit}`).toBe(false);
      flip(b, bit);
    }
    expect(checkCrc16Flit68(b, 0)).toBe(true);
  });

  it('detects every 2- and 3-bit error exhaustively (by linearity over the 528 single-bit syndromes)', () => {
    // Syndrome of an error pattern e = CRC(flit^e) ^ stored^e; the code is linear, so it is the XOR
    // of the single-bit syndromes. Measured by real flips on the implementation.
    const b = new Uint8Array(66);
    writeCrc16Flit68(b, 0);
    const syn = new Int32Array(528);
    for (let bit = 0; bit < 528; bit++) {
      flip(b, bit);
      syn[bit] = crc16Flit68(b, 0) ^ (b[64]! | (b[65]! << 8));
      flip(b, bit);
    }
    const seen = new Int32Array(65536).fill(-1);
    for (let i = 0; i < 528; i++) {
      expect(syn[i]).not.toBe(0);
      expect(seen[syn[i]!], `bits ${seen[syn[i]!]} and ${i} share a syndrome`).toBe(-1);
      seen[syn[i]!] = i;
    }
    let bad3 = 0;
    for (let a = 0; a < 528; a++) for (let c = a + 1; c < 528; c++) if (seen[syn[a]! ^ syn[c]!]! >= 0) bad3++;
    expect(bad3).toBe(0);
  });

  it('detects random 2- and 3-bit errors by real flips (property)', () => {
    checkProperty(
      'crc16_multibit',
      fc.property(
        fc.uint8Array({ minLength: 66, maxLength: 66 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 527 }), { minLength: 2, maxLength: 3 }),
        (data, bits) => {
          const b = Uint8Array.from(data);
          writeCrc16Flit68(b, 0);
          for (const x of bits) flip(b, x);
          return !checkCrc16Flit68(b, 0);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('256B CRC-64 + FEC', () => {
  it('CRC-64 matches an independent BigInt bitwise implementation', () => {
    const rng = new Rng(64);
    for (let k = 0; k < 50; k++) {
      const b = randomFlit(rng, 256);
      crc64(b, 0, F256_CRC_COVER);
      const got = (BigInt(crc64Out[0]!) << 32n) | BigInt(crc64Out[1]!);
      expect(got).toBe(bitwiseCrc64(b, 0, F256_CRC_COVER));
    }
    // Check value of the ECMA-182 code ("CRC-64/ECMA-182", init 0, no reflect, xorout 0) on "123456789".
    const s = new TextEncoder().encode('123456789');
    crc64(s, 0, s.length);
    expect(((BigInt(crc64Out[0]!) << 32n) | BigInt(crc64Out[1]!)).toString(16)).toBe('6c40df5f0b497347');
  });

  it('FEC corrects every single-byte error at every position (exhaustive over positions, sampled values)', () => {
    const rng = new Rng(256);
    const orig = randomFlit(rng, 256);
    writeCrcFec256(orig, 0);
    const b = new Uint8Array(256);
    for (let pos = 0; pos < 256; pos++) {
      for (const e of [1, 0x80, 0xff, 1 + rng.below(255)]) {
        b.set(orig);
        b[pos] = b[pos]! ^ e;
        expect(checkFlit256(b, 0), `byte ${pos} ^ ${e}`).toBe(Flit256Check.Corrected);
        expect(b).toEqual(orig);
      }
    }
    b.set(orig);
    expect(checkFlit256(b, 0)).toBe(Flit256Check.Clean);
  });

  it('FEC corrects any burst within 3 consecutive bytes; heavier damage is caught (property)', () => {
    checkProperty(
      'fec256_bursts',
      fc.property(
        fc.uint8Array({ minLength: 256, maxLength: 256 }),
        fc.integer({ min: 0, max: 253 }),
        fc.uint8Array({ minLength: 3, maxLength: 3 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 2047 }), { minLength: 4, maxLength: 12 }),
        (data, start, burst, scatter) => {
          const orig = Uint8Array.from(data);
          writeCrcFec256(orig, 0);
          const b = Uint8Array.from(orig);
          for (let i = 0; i < 3; i++) b[start + i] = b[start + i]! ^ burst[i]!;
          const r = checkFlit256(b, 0);
          if (burst.some((x) => x !== 0) ? r !== Flit256Check.Corrected : r !== Flit256Check.Clean) return false;
          if (b.some((x, i) => x !== orig[i])) return false;
          // Scattered bit errors (≥ 4 bits): either corrected exactly or reported Bad, never passed wrong.
          const c = Uint8Array.from(orig);
          for (const x of scatter) flip(c, x);
          const r2 = checkFlit256(c, 0);
          if (r2 === Flit256Check.Bad) return true;
          for (let i = 0; i < F256_FEC_COVER; i++) if (c[i] !== orig[i]) return false;
          return true;
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('never throws on garbage', () => {
    const rng = new Rng(99);
    for (let k = 0; k < 300; k++) {
      const b = randomFlit(rng, 256);
      const r = checkFlit256(b, 0);
      expect([Flit256Check.Clean, Flit256Check.Corrected, Flit256Check.Bad]).toContain(r);
    }
  });
});
