import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bitsAreZero, getBits, setBits } from '../../src/bits/bitfield.ts';
import { checkProperty } from '../lib/pbt.ts';

/** Reference: the whole buffer as one BigInt (LSB-first: byte 0 is least significant). */
function asBig(buf: Uint8Array): bigint {
  let v = 0n;
  for (let i = buf.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[i]!);
  return v;
}
function fromBig(v: bigint, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Number((v >> BigInt(8 * i)) & 0xffn);
  return b;
}

describe('bit fields (LSB-first)', () => {
  it('places bit i of a field at byte (p+i)>>3, bit (p+i)&7', () => {
    const b = new Uint8Array(4);
    setBits(b, 0, 5, 6, 0b101101);
    // bits 5..10: 1,0,1,1,0,1 → byte0 bits 5,7 ; byte1 bits 0,2
    expect(Array.from(b)).toEqual([0b10100000, 0b00000101, 0, 0]);
    expect(getBits(b, 0, 5, 6)).toBe(0b101101);
  });

  it('handles 52-bit fields above 2^32 exactly', () => {
    const b = new Uint8Array(10);
    const v = 2 ** 52 - 3;
    setBits(b, 1, 3, 52, v);
    expect(getBits(b, 1, 3, 52)).toBe(v);
    expect(b[0]).toBe(0);
  });

  it('setBits matches a BigInt reference and leaves other bits alone', () => {
    checkProperty(
      'bitfield.setBits.reference',
      fc.property(fc.uint8Array({ minLength: 10, maxLength: 10 }), fc.integer({ min: 0, max: 27 }), fc.integer({ min: 1, max: 52 }), fc.bigInt({ min: 0n, max: 2n ** 52n - 1n }), (init, pos, width, val) => {
          const b = Uint8Array.from(init);
          const v = val & ((1n << BigInt(width)) - 1n);
          setBits(b, 0, pos, width, Number(v));
          const mask = ((1n << BigInt(width)) - 1n) << BigInt(pos);
          const want = (asBig(init) & ~mask) | (v << BigInt(pos));
          expect(Array.from(b)).toEqual(Array.from(fromBig(want, 10)));
          expect(getBits(b, 0, pos, width)).toBe(Number(v));
          expect(bitsAreZero(b, 0, pos, width)).toBe(v === 0n);
        }),
    );
  });
});
