import { describe, expect, it } from 'vitest';
import { readVcd } from '../../src/vcd/VcdReader.ts';
import { sanitizeVcdName, vcdIdentifier, VcdWriter, VcdWriterError } from '../../src/vcd/VcdWriter.ts';

function collecting(): { w: VcdWriter; text: () => string; flushes: () => number } {
  const chunks: string[] = [];
  const w = new VcdWriter((b, n) => chunks.push(Buffer.from(b.subarray(0, n)).toString('latin1')), { date: 'fixed' });
  return { w, text: () => chunks.join(''), flushes: () => chunks.length };
}

describe('VcdWriter output', () => {
  it('writes the exact expected file for a small design (#0 before $dumpvars, lazy timestamps, trimmed vectors)', () => {
    const { w, text } = collecting();
    const clk = w.addVar(['top'], 'clk', 'wire', 1);
    const d = w.addVar(['top', 'u'], 'data', 'reg', 8);
    const n = w.addVar(['top', 'u'], 'n', 'integer', 4);
    const r = w.addVar(['top', 'u'], 'r', 'real', 64);
    w.setTime(0);
    w.changeNumber(clk, 1);
    w.changeNumber(d, 0x81);
    w.setTime(5);
    w.changeNumber(clk, 0);
    w.setTime(10);
    w.changeNumber(d, 0x81); // unchanged: nothing written, and #10 not written either
    w.setTime(20);
    w.changeNumber(n, 9);
    w.changeReal(r, -1.5);
    w.close();
    expect(text()).toBe(
      [
        '$date', '  fixed', '$end', '$version', '  cxlfab', '$end', '$timescale 1ps $end',
        '$scope module top $end', '$var wire 1 ! clk $end',
        '$scope module u $end', '$var reg 8 " data [7:0] $end', '$var integer 4 # n $end', '$var real 64 $ r $end', '$upscope $end',
        '$upscope $end', '$enddefinitions $end',
        '#0', '$dumpvars', '1!', 'b10000001 "', 'b0 #', 'r0 $', '$end',
        '#5', '0!',
        '#20', 'b1001 #', 'r-1.5 $', '',
      ].join('\n'),
    );
  });

  it('writes every time in decimal exactly, across the 9-digit split and up to 2^53 - 1', () => {
    const { w, text } = collecting();
    const a = w.addVar(['top'], 'a', 'wire', 1);
    const times = [1, 9, 10, 999_999_999, 1_000_000_000, 1_000_000_001, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 7, 1_234_567_890_123, 1e15 + 1, 2 ** 53 - 1];
    let bit = 0;
    w.changeNumber(a, bit);
    for (const t of times) {
      w.setTime(t);
      bit ^= 1;
      w.changeNumber(a, bit);
    }
    w.close();
    const written = text().split('\n').filter((l) => l.startsWith('#')).map((l) => l.slice(1));
    expect(written).toEqual(['0', ...times.map((t) => BigInt(t).toString())]);
  });

  it('base-94 identifiers use only printable characters and are unique', () => {
    expect([0, 1, 93, 94, 95, 94 + 94 * 94].map(vcdIdentifier)).toEqual(['!', '"', '~', '!!', '"!', '!!!']);
    const seen = new Set<string>();
    for (let i = 0; i < 20000; i++) {
      const id = vcdIdentifier(i);
      expect(id).toMatch(/^[!-~]+$/);
      seen.add(id);
    }
    expect(seen.size).toBe(20000);
  });

  it('maps names GTKWave misreads by one rule, with collision suffixes', () => {
    expect(sanitizeVcdName('a:b[3] c')).toBe('a_b_3__c');
    expect(sanitizeVcdName('')).toBe('_');
    expect(sanitizeVcdName('ok_$1')).toBe('ok_$1');
    const { w } = collecting();
    const a = w.addVar(['top', 'x:y'], 'v_1', 'wire', 1);
    const b = w.addVar(['top', 'x:y'], 'v:1', 'wire', 1);
    const c = w.addVar(['top', 'x y'], 'v[1]', 'wire', 4);
    expect([a, b, c].map((i) => w.varPath(i))).toEqual(['top.x_y.v_1', 'top.x_y.v_1_2', 'top.x_y_2.v_1_']);
    expect(w.facilityName(c)).toBe('top.x_y_2.v_1_[3:0]');
  });

  it('writes 4096-bit values byte-exact and flushes through the sink in big chunks', () => {
    const { w, text, flushes } = collecting();
    const v = w.addVar(['top'], 'wide', 'wire', 4096);
    const bytes = new Uint8Array(512);
    for (let t = 1; t <= 400; t++) {
      w.setTime(t);
      bytes[t % 512] = t & 255;
      bytes[511] = 0x80 | t;
      w.changeBytes(v, bytes, 0);
    }
    w.close();
    expect(flushes()).toBeLessThanOrEqual(2); // 400 × 4 KiB lines = 1.6 MB: one full buffer + the rest
    const d = readVcd(text());
    const last = d.changes[d.changes.length - 1]!;
    let bits = '';
    for (let k = 511; k >= 0; k--) bits += bytes[k]!.toString(2).padStart(8, '0');
    expect(last).toEqual({ time: 400, var: 0, value: bits });
  });
});

describe('VcdWriter refusals', () => {
  const err = (f: () => void, re: RegExp) => expect(f).toThrow(re);

  it('refuses a variable added after the header was written', () => {
    const { w } = collecting();
    w.addVar(['top'], 'a', 'wire', 1);
    w.setTime(10);
    err(() => w.addVar(['top'], 'b', 'wire', 1), /declared before the header is written/);
  });
  it('refuses a variable added after a flush (header out)', () => {
    const { w } = collecting();
    w.addVar(['top'], 'a', 'wire', 1);
    w.flush();
    err(() => w.addVar(['top'], 'b', 'wire', 1), /before the header/);
  });
  it('refuses time going backwards', () => {
    const { w } = collecting();
    w.addVar(['top'], 'a', 'wire', 1);
    w.setTime(10);
    err(() => w.setTime(9), /setTime\(9\): time must be an integer ≥ the current time 10/);
  });
  it('refuses a number wider than declared', () => {
    const { w } = collecting();
    const a = w.addVar(['top'], 'a', 'reg', 4);
    err(() => w.changeNumber(a, 16), /top.a: value 16 is wider than the declared 4 bits/);
  });
  it('refuses bytes wider than declared', () => {
    const { w } = collecting();
    const a = w.addVar(['top'], 'a', 'wire', 100);
    const b = new Uint8Array(13);
    b[12] = 0x10; // bit 100
    err(() => w.changeBytes(a, b, 0), /top.a: value \(bytes\) is wider than the declared 100 bits/);
  });
  it('refuses non-integer or negative numbers, and numbers into reals', () => {
    const { w } = collecting();
    const a = w.addVar(['top'], 'a', 'reg', 8);
    const r = w.addVar(['top'], 'r', 'real', 64);
    err(() => w.changeNumber(a, 1.5), /not an unsigned integer/);
    err(() => w.changeNumber(a, -1), /not an unsigned integer/);
    err(() => w.changeNumber(r, 3), /real variable, use changeReal/);
    err(() => w.changeReal(a, 3), /not a real variable/);
    err(() => w.changeReal(r, Number.NaN), /not a finite number/);
  });
  it('refuses bad declarations: width, type, duplicate name, no scope, bad timescale', () => {
    const { w } = collecting();
    err(() => w.addVar(['top'], 'a', 'wire', 0), /width must be an integer 1..4096/);
    err(() => w.addVar(['top'], 'a', 'wire', 4097), /width must be an integer 1..4096/);
    err(() => w.addVar(['top'], 'a', 'real', 32), /a real variable is 64 bits wide/);
    err(() => w.addVar(['top'], 'a', 'logic' as never, 1), /type 'logic' is not wire, reg, integer or real/);
    err(() => w.addVar([], 'a', 'wire', 1), /needs at least one enclosing scope/);
    w.addVar(['top'], 'a', 'wire', 1);
    err(() => w.addVar(['top'], 'a', 'wire', 1), /'top.a' is already declared/);
    expect(() => new VcdWriter(() => {}, { timescale: '5ns' })).toThrow(VcdWriterError);
  });
  it('refuses changes after close', () => {
    const { w } = collecting();
    const a = w.addVar(['top'], 'a', 'reg', 8);
    w.close();
    err(() => w.changeNumber(a, 3), /after close/);
    err(() => w.setTime(5), /closed/);
  });
});
