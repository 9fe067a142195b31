import { memMsgChannel, type MemMsgChannel } from '../../rtl/cxl/MemMsg.ts';
import { memMsgSlots } from '../../rtl/flit/FlitFormat.ts';
import type { MemMsgSlots } from '../../rtl/cxl/MemFields.ts';
import { Module } from '../../src/sim/index.ts';
import { Top } from './harness.ts';

class Holder extends Module {}

/** Four deep output channels for a parser, plus a helper that commits and drains them into arrays. */
export function parserOuts(depth = 64) {
  const h = new Holder(new Top(), 'h');
  const outs: MemMsgChannel[] = [0, 1, 2, 3].map((c) => memMsgChannel(h, `o${c}`, depth));
  const take = () =>
    outs.map((o) => {
      o.commit();
      const got: { tag: number; opcode: number; addr: number; beLo: number; beHi: number; data: number[] }[] = [];
      while (o.valid()) {
        const s = o.pop();
        got.push({ tag: o.col.tag[s]!, opcode: o.col.opcode[s]!, addr: o.col.addr[s]!, beLo: o.col.beLo[s]!, beHi: o.col.beHi[s]!, data: Array.from(o.bytes.subarray(s * 64, s * 64 + 64)) });
      }
      o.commit();
      return got;
    });
  return { outs, take };
}

/** A staging area of n messages: slot i has tag i and a line whose byte k is (16 i + k) & 255. */
export function msgs(n: number, opcode: number): MemMsgSlots {
  const m = memMsgSlots(n);
  for (let i = 0; i < n; i++) {
    m.col.tag[i] = i;
    m.col.opcode[i] = opcode;
    m.col.addr[i] = 64 * (i + 1);
    for (let k = 0; k < 64; k++) m.bytes[i * 64 + k] = (16 * i + k) & 255;
  }
  return m;
}

/** Bit `p` of a byte buffer counted from byte `off` (LSB-first), read by hand for directed checks. */
export function bit(buf: Uint8Array, off: number, p: number): number {
  return (buf[off + (p >> 3)]! >> (p & 7)) & 1;
}
export function bitsOf(buf: Uint8Array, off: number, p: number, w: number): number {
  let v = 0;
  for (let i = 0; i < w; i++) v += bit(buf, off, p + i) * 2 ** i;
  return v;
}
