import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SparseMemory } from '../../rtl/memory/SparseMemory.ts';
import { checkProperty } from '../lib/pbt.ts';
import { BE_ALL, ByteMapMemory, hex, pattern } from './harness.ts';

describe('SparseMemory', () => {
  it('reads a never-written line as zeros and allocates nothing for reads', () => {
    const m = new SparseMemory();
    const out = new Uint8Array(64).fill(0xaa);
    m.readLine(2 ** 40, out, 0);
    m.readLine(2 ** 52 - 64, out, 0);
    expect(hex(out)).toBe('00'.repeat(64));
    expect(m.pagesAllocated).toBe(0);
  });

  it('allocates one 4 KiB page on the first write to it, none for a write with no byte enabled', () => {
    const m = new SparseMemory();
    m.writeLine(4096 * 7 + 64, pattern(1), 0, 0, 0);
    expect(m.pagesAllocated).toBe(0);
    m.writeLine(4096 * 7 + 64, pattern(1), 0, BE_ALL, BE_ALL);
    m.writeLine(4096 * 7 + 128, pattern(2), 0, BE_ALL, BE_ALL);
    expect(m.pagesAllocated).toBe(1);
    m.writeLine(2 ** 52 - 64, pattern(3), 0, 1, 0);
    expect(m.pagesAllocated).toBe(2);
    expect(m.allocatedPages()).toEqual([7, 2 ** 40 - 1]);
  });

  it('writes only the enabled bytes (beLo = bytes 0..31, beHi = bytes 32..63)', () => {
    const m = new SparseMemory();
    m.writeLine(0, new Uint8Array(64).fill(0x11), 0, BE_ALL, BE_ALL);
    const src = new Uint8Array(128).fill(0x22);
    // byte 0, byte 31, byte 32, byte 63 from a source at offset 64
    m.writeLine(0, src, 64, 0x80000001, 0x80000001);
    const out = new Uint8Array(64);
    m.readLine(0, out, 0);
    const want = new Uint8Array(64).fill(0x11);
    want[0] = 0x22;
    want[31] = 0x22;
    want[32] = 0x22;
    want[63] = 0x22;
    expect(hex(out)).toBe(hex(want));
  });

  it('rejects a misaligned or out-of-range line address, naming it', () => {
    const m = new SparseMemory();
    const b = new Uint8Array(64);
    expect(() => m.readLine(32, b, 0)).toThrow(/line address 32 must be a multiple of 64/);
    expect(() => m.writeLine(2 ** 52, b, 0, BE_ALL, BE_ALL)).toThrow(/line address .* \[0, 2\^52\)/);
    expect(() => m.readLine(-64, b, 0)).toThrow(RangeError);
    expect(() => m.peek(2 ** 52 - 1, 2)).toThrow(/byte range/);
  });

  it('peek/poke cross line and page boundaries', () => {
    const m = new SparseMemory();
    m.poke(4096 - 3, [1, 2, 3, 4, 5, 6]);
    expect([...m.peek(4096 - 4, 8)]).toEqual([0, 1, 2, 3, 4, 5, 6, 0]);
    expect(m.pagesAllocated).toBe(2);
  });

  it('property: matches a byte-map reference memory; pages follow the pages written', () => {
    // Addresses: a few pages spread over the 52-bit space, lines anywhere inside them.
    const pageArb = fc.constantFrom(0, 1, 2, 2 ** 20 + 5, 2 ** 28 - 1, 2 ** 40 - 3); // the top line of 2^52 is covered above; peeks run up to 2 pages on
    const lineArb = fc.tuple(pageArb, fc.integer({ min: 0, max: 63 })).map(([p, l]) => p * 4096 + l * 64);
    const be = fc.oneof(fc.constant(BE_ALL), fc.constant(0), fc.integer({ min: 0, max: BE_ALL }));
    const op = fc.oneof(
      fc.record({ k: fc.constant('write' as const), pa: lineArb, data: fc.uint8Array({ minLength: 64, maxLength: 64 }), beLo: be, beHi: be }),
      fc.record({ k: fc.constant('read' as const), pa: lineArb }),
      fc.record({ k: fc.constant('poke' as const), pa: lineArb.map((a) => a + 37), data: fc.uint8Array({ minLength: 0, maxLength: 100 }) }),
      fc.record({ k: fc.constant('peek' as const), pa: lineArb.map((a) => a + 5), len: fc.integer({ min: 0, max: 4200 }) }),
    );
    checkProperty(
      'memory_sparse_vs_bytemap',
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const dut = new SparseMemory();
        const ref = new ByteMapMemory();
        const out = new Uint8Array(64);
        for (const o of ops) {
          if (o.k === 'write') {
            dut.writeLine(o.pa, o.data, 0, o.beLo, o.beHi);
            ref.write(o.pa, o.data, o.beLo, o.beHi);
          } else if (o.k === 'poke') {
            dut.poke(o.pa, o.data);
            ref.poke(o.pa, o.data);
          } else if (o.k === 'read') {
            dut.readLine(o.pa, out, 0);
            if (hex(out) !== hex(ref.read(o.pa, 64))) return false;
          } else if (hex(dut.peek(o.pa, o.len)) !== hex(ref.read(o.pa, o.len))) return false;
        }
        return dut.pagesAllocated === ref.pages().size;
      }),
      { numRuns: 100 },
    );
  });
});

describe('SparseMemory page directory', () => {
  it('property: the word API matches a byte-map reference over many chunks (directory and chunk-table growth), and clear() empties it', () => {
    // Chunks are 2 MiB: pages from up to 40 distinct chunks (more than the first directory and
    // chunk table hold), lines anywhere in them, including the top of the 52-bit space.
    const chunkArb = fc.oneof(fc.integer({ min: 0, max: 39 }), fc.constantFrom(2 ** 31 - 1, 2 ** 20 + 3, 2 ** 30));
    const lineArb = fc.tuple(chunkArb, fc.integer({ min: 0, max: 511 }), fc.integer({ min: 0, max: 63 })).map(([c, p, l]) => c * 2 ** 21 + p * 4096 + l * 64);
    const be = fc.oneof(fc.constant(BE_ALL), fc.constant(0), fc.integer({ min: 0, max: BE_ALL }));
    const op = fc.oneof(
      fc.record({ k: fc.constant('write' as const), pa: lineArb, data: fc.uint8Array({ minLength: 64, maxLength: 64 }), beLo: be, beHi: be }),
      fc.record({ k: fc.constant('read' as const), pa: lineArb }),
      fc.record({ k: fc.constant('poke' as const), pa: lineArb.map((a) => a + 61), data: fc.uint8Array({ minLength: 0, maxLength: 8 }) }),
      fc.record({ k: fc.constant('clear' as const) }),
    );
    checkProperty(
      'memory_sparse_words_vs_bytemap',
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const dut = new SparseMemory();
        let ref = new ByteMapMemory();
        const words = new Uint32Array(3 * 16);
        const bytes = new Uint8Array(words.buffer);
        for (const o of ops) {
          if (o.k === 'write') {
            bytes.set(o.data, 16 * 4);
            dut.writeLineWords(o.pa, words, 16, o.beLo, o.beHi);
            ref.write(o.pa, o.data, o.beLo, o.beHi);
          } else if (o.k === 'poke') {
            dut.poke(o.pa, o.data);
            ref.poke(o.pa, o.data);
          } else if (o.k === 'clear') {
            dut.clear();
            ref = new ByteMapMemory();
          } else {
            words.fill(0xdeadbeef);
            dut.readLineWords(o.pa, words, 32);
            if (hex(bytes.subarray(32 * 4)) !== hex(ref.read(o.pa, 64))) return false;
            // The rest of the buffer is untouched.
            if (words[31] !== 0xdeadbeef) return false;
          }
        }
        const pages = [...ref.pages()].sort((a, b) => a - b);
        return dut.pagesAllocated === pages.length && JSON.stringify(dut.allocatedPages()) === JSON.stringify(pages);
      }),
      { numRuns: 150 },
    );
  });
});
