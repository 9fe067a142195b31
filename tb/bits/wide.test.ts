import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toBigIntBE, toBigIntLE, toBufferBE, toBufferLE } from '../../src/bits/wide.ts';
import { checkProperty } from '../lib/pbt.ts';

describe('wide values (bigint-buffer replacement)', () => {
  it('converts known vectors both ways', () => {
    expect(toBigIntBE(Uint8Array.of(0x01, 0x02))).toBe(0x0102n);
    expect(toBigIntLE(Uint8Array.of(0x01, 0x02))).toBe(0x0201n);
    expect(toBigIntLE(new Uint8Array(0))).toBe(0n);
    expect(Array.from(toBufferBE(0x0102n, 4))).toEqual([0, 0, 1, 2]);
    expect(Array.from(toBufferLE(0x0102n, 4))).toEqual([2, 1, 0, 0]);
    expect(Array.from(toBufferLE(0n, 3))).toEqual([0, 0, 0]);
  });

  it('rejects values that do not fit and negative values', () => {
    expect(() => toBufferBE(0x10000n, 2)).toThrow(/does not fit in 2 bytes/);
    expect(() => toBufferLE(-1n, 2)).toThrow(/non-negative/);
  });

  it('agrees with a byte-by-byte reference for any bytes', () => {
    checkProperty(
      'wide.reference',
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        let le = 0n;
        for (let i = bytes.length - 1; i >= 0; i--) le = le * 256n + BigInt(bytes[i]!);
        let be = 0n;
        for (const x of bytes) be = be * 256n + BigInt(x);
        expect(toBigIntLE(bytes)).toBe(le);
        expect(toBigIntBE(bytes)).toBe(be);
        expect(Array.from(toBufferLE(le, bytes.length))).toEqual(Array.from(bytes));
        expect(Array.from(toBufferBE(be, bytes.length))).toEqual(Array.from(bytes));
      }),
    );
  });
});
