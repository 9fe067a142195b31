import { describe, expect, it } from 'vitest';
import { M2SReqOp, M2SRwDOp, MsgClass, S2MDRSOp } from '../../rtl/cxl/opcodes.ts';
import { Flit256Assembler } from '../../rtl/flit/Flit256Assembler.ts';
import { Flit256Parser } from '../../rtl/flit/Flit256Parser.ts';
import { FlitFlag, FlitKind } from '../../rtl/flit/FlitFormat.ts';
import { bitsOf, msgs, parserOuts } from './flitTestUtil.ts';

const { M2SReq, M2SRwD, S2MNDR, S2MDRS } = MsgClass;
/** SlotFmt of slot s, read by hand: H slot at byte 2, G slot s at byte 16 s, low nibble. */
const fmtOf = (b: Uint8Array, s: number) => b[s === 0 ? 2 : 16 * s]! & 0xf;

describe('256B flit assembler: layout', () => {
  it('one MemRd: flit type cachemem, H slot SlotFmt 0100 + the Req after it; CRC/FEC bytes untouched', () => {
    const a = new Flit256Assembler();
    const out = new Uint8Array(256).fill(0xee);
    a.begin(out, 0);
    a.add(M2SReq, msgs(1, M2SReqOp.MemRd), 0);
    expect(a.finish(0, 0, 0, 0)).toBe(FlitKind.Protocol);
    expect(out[0]! >> 6).toBe(0b10);
    expect(fmtOf(out, 0)).toBe(0b0100);
    expect(bitsOf(out, 2, 4, 1)).toBe(1); // Valid
    expect(bitsOf(out, 2, 5, 4)).toBe(M2SReqOp.MemRd);
    expect(Array.from(out.subarray(242, 256))).toEqual(new Array(14).fill(0));
  });

  it('two DRS in the H slot (1111), their 8 data slots follow in G slots 1-8, then a G header slot', () => {
    const a = new Flit256Assembler();
    const p = new Flit256Parser();
    const { outs, take } = parserOuts();
    const out = new Uint8Array(256);
    const m = msgs(5, S2MDRSOp.MemData);
    a.begin(out, 0);
    for (let i = 0; i < 5; i++) {
      expect(a.canAdd(S2MDRS, m, i)).toBe(true);
      a.add(S2MDRS, m, i);
    }
    expect(a.canAdd(S2MDRS, m, 0)).toBe(false); // group C holds 3 DRS headers; no header slot is left
    a.finish(0, 0, 0, 0);
    expect(fmtOf(out, 0)).toBe(0b1111);
    expect(Array.from(out.subarray(16, 16 + 128))).toEqual(Array.from(m.bytes.subarray(0, 128)));
    expect(fmtOf(out, 9)).toBe(0b1111); // 3 DRS, group C
    p.parse(out, 0, outs);
    expect(p.flags).toBe(0);
    expect(p.owed).toBe(12 - 5);
    expect(take()[S2MDRS]!.map((g) => g.tag)).toEqual([0, 1, 2]); // slot 9's first line completes in slots 10-13
  });

  it('writes: 3 RwD per flit (H, G5, G10), each followed by its 4 data slots; a 4th does not fit', () => {
    const a = new Flit256Assembler();
    const out = new Uint8Array(256);
    const m = msgs(4, M2SRwDOp.MemWr);
    a.begin(out, 0);
    for (let i = 0; i < 3; i++) a.add(M2SRwD, m, i);
    expect(a.canAdd(M2SRwD, m, 3)).toBe(false);
    a.finish(0, 0, 0, 0);
    expect([0, 5, 10].map((s) => fmtOf(out, s))).toEqual([0b1110, 0b1110, 0b1110]);
    expect(a.owed).toBe(0);
  });

  it('group limits: at most 2 RwD headers in any two adjacent 128-byte groups', () => {
    const a = new Flit256Assembler();
    const out = new Uint8Array(256);
    const m = msgs(8, M2SRwDOp.MemWrPtl); // 5 slots each: headers at 0, 6, 12
    a.begin(out, 0);
    for (let i = 0; i < 3; i++) a.add(M2SRwD, m, i);
    a.finish(0, 0, 0, 0);
    expect([0, 6, 12].map((s) => fmtOf(out, s))).toEqual([0b1110, 0b1110, 0b1110]);
  });

  it('MemWrPtl: TRP=1 and a byte-enable trailer after the 4 data slots', () => {
    const a = new Flit256Assembler();
    const p = new Flit256Parser();
    const { outs, take } = parserOuts();
    const out = new Uint8Array(256);
    const m = msgs(1, M2SRwDOp.MemWrPtl);
    m.col.beLo[0] = 0xdeadbeef;
    m.col.beHi[0] = 0x01020304;
    a.begin(out, 0);
    a.add(M2SRwD, m, 0);
    a.finish(0, 0, 0, 0);
    expect(bitsOf(out, 2, 4 + 1 + 4 + 3 + 2 + 2 + 16 + 46 + 1, 1)).toBe(1); // TRP after Poison
    expect(bitsOf(out, 16 * 5, 0, 32)).toBe(0xdeadbeef);
    expect(bitsOf(out, 16 * 5, 32, 32)).toBe(0x01020304);
    p.parse(out, 0, outs);
    expect(p.flags).toBe(0);
    expect(take()[M2SRwD]!.map((g) => [g.beLo, g.beHi])).toEqual([[0xdeadbeef, 0x01020304]]);
  });

  it('CRD: Req and NDR fields always, the data field for whichever of RwD/DRS is owed more', () => {
    const a = new Flit256Assembler();
    const p = new Flit256Parser();
    const { outs } = parserOuts();
    const out = new Uint8Array(256);
    a.begin(out, 0);
    a.finish(5, 3, 17, 9);
    const crd = out[240]! | (out[241]! << 8);
    expect([crd & 31, (crd >> 5) & 31, (crd >> 10) & 31]).toEqual([0x15, 0x1b, 0x1d]);
    expect(Array.from(a.sent)).toEqual([4, 0, 16, 8]);
    p.parse(out, 0, outs);
    expect(Array.from(p.credits)).toEqual([4, 0, 16, 8]);
  });
});

describe('256B parser flags', () => {
  const { outs } = parserOuts();
  it('an Empty flit (CRD[4:0]=01h) carries nothing', () => {
    const b = new Uint8Array(256);
    b[0] = 0x80;
    b[240] = 0x01;
    const p = new Flit256Parser();
    p.parse(b, 0, outs);
    expect([p.empty, p.flags]).toEqual([true, 0]);
  });
  it('an H8 control message makes a control flit', () => {
    const b = new Uint8Array(256);
    b[0] = 0x80;
    b[2] = 0b1000;
    const p = new Flit256Parser();
    p.parse(b, 0, outs);
    expect(p.kind).toBe(FlitKind.Control);
  });
  it('more than 6 NDR headers in one 128-byte group break the group limit; 6 do not', () => {
    const b = new Uint8Array(256);
    b[0] = 0x80;
    const valid = (byte: number, bitInSlot: number) => (b[byte + (bitInSlot >> 3)]! |= 1 << (bitInSlot & 7));
    b[2] = 0x07; // H: 2 NDR
    valid(2, 4);
    valid(2, 44);
    b[16] = 0x07; // slot 1: NDR format
    for (const k of [0, 1, 2]) valid(16, 4 + 40 * k);
    b[32] = 0x07; // slot 2: one NDR (6 in group A so far)
    valid(32, 4);
    const p = new Flit256Parser();
    p.parse(b, 0, outs);
    expect([p.flags, p.found[S2MNDR]]).toEqual([0, 6]);
    valid(32, 44); // a 7th
    const q = new Flit256Parser();
    q.parse(b, 0, outs);
    expect(q.flags & FlitFlag.Limit).toBe(FlitFlag.Limit);
  });
  it('a DRS header in the next H slot with 12 data slots owed is legal (≤16), but the DA window spans flits', () => {
    const b = new Uint8Array(256);
    b[0] = 0x80;
    const p = new Flit256Parser();
    b[2] = 0x07; // H: empty NDR format
    b[16 * 14] = 0x1f; // slot 14: 3 DRS
    b[16 * 14 + 5] = 0x10;
    b[16 * 14 + 10] = 0x10;
    p.parse(b, 0, outs);
    expect(p.owed).toBe(12);
    const c = new Uint8Array(256);
    c[0] = 0x80;
    c[2] = 0x1f; // H: a DRS header while 12 are owed: legal (≤16)
    p.parse(c, 0, outs);
    expect(p.flags & FlitFlag.Packing).toBe(0);
    expect(p.flags & FlitFlag.Limit).toBe(FlitFlag.Limit); // D(3) + A(1) > 3 across flits
  });
});
