import { describe, expect, it } from 'vitest';
import { CRD256_MEM_DOWN, CRD256_MEM_UP, crd256Amount, crd256Code, crd68Amount, crd68Nibble, satAdd } from '../../rtl/link/Credits.ts';

describe('credit encodings', () => {
  it('68B: 3-bit exponential codes with the mem bit (CXL 3.1 Table 4-4), largest ≤ owed', () => {
    expect([0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 1000].map(crd68Nibble)).toEqual([0, 0b1001, 0b1010, 0b1010, 0b1011, 0b1011, 0b1100, 0b1100, 0b1101, 0b1101, 0b1110, 0b1110, 0b1111, 0b1111]);
    expect([0b1000, 0b1001, 0b1010, 0b1011, 0b1100, 0b1101, 0b1110, 0b1111].map(crd68Amount)).toEqual([0, 1, 2, 4, 8, 16, 32, 64]);
    expect(crd68Amount(0b0111)).toBe(0); // a CXL.cache credit is not a memory credit
  });

  it('256B: CRD codes 14h-18h / 19h-1Dh = 1,4,8,12,16 (CXL 3.1 Table 4-19)', () => {
    expect([0, 1, 3, 4, 7, 8, 11, 12, 15, 16, 99].map((n) => crd256Code(n, CRD256_MEM_DOWN))).toEqual([0, 0x14, 0x14, 0x15, 0x15, 0x16, 0x16, 0x17, 0x17, 0x18, 0x18]);
    expect(crd256Code(5, CRD256_MEM_UP)).toBe(0x1a);
    expect([0x19, 0x1a, 0x1b, 0x1c, 0x1d].map((c) => crd256Amount(c, CRD256_MEM_UP))).toEqual([1, 4, 8, 12, 16]);
    expect(crd256Amount(0x14, CRD256_MEM_UP)).toBe(0);
    expect(crd256Amount(0x05, CRD256_MEM_DOWN)).toBe(0);
  });

  it('saturates', () => {
    expect(satAdd(65530, 10, 65535)).toBe(65535);
    expect(satAdd(3, 4, 65535)).toBe(7);
  });
});
