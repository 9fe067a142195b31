import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compiledTable, decodeMsg, encodeMsg, tableBits, wireTable, type FlitMode } from '../../rtl/cxl/MemFields.ts';
import { opcodeByName, opcodeName } from '../../rtl/cxl/opcodeNames.ts';
import { M2SRwDOp, MsgClass } from '../../rtl/cxl/opcodes.ts';
import { memMsgSlots } from '../../rtl/flit/FlitFormat.ts';
import { checkProperty } from '../lib/pbt.ts';

const { M2SReq, M2SRwD, S2MNDR, S2MDRS } = MsgClass;

describe('CXL.mem wire tables', () => {
  it('have the spec sizes (CXL 3.1 T3-34/3-40/3-49/3-52: Req 87/100, RwD 87/104, NDR 30/40, DRS 40/40)', () => {
    const bits = (m: FlitMode, c: MsgClass) => tableBits(wireTable(m, c));
    expect([bits(68, M2SReq), bits(68, M2SRwD), bits(68, S2MNDR), bits(68, S2MDRS)]).toEqual([87, 87, 30, 40]);
    expect([bits(256, M2SReq), bits(256, M2SRwD), bits(256, S2MNDR), bits(256, S2MDRS)]).toEqual([100, 104, 40, 40]);
  });

  it('puts a 256B DRS bit-exactly as CXL 3.1 Fig. 4-66', () => {
    const src = memMsgSlots(1);
    src.col.opcode[0] = 0b001;
    src.col.metaField[0] = 0b11;
    src.col.metaValue[0] = 0b10;
    src.col.tag[0] = 0xbeef;
    src.col.poison[0] = 1;
    src.col.devLoad[0] = 0b10;
    src.col.ldId[0] = 0b1011;
    const b = new Uint8Array(5);
    encodeMsg(compiledTable(256, S2MDRS), src, 0, b, 0, 0);
    // Valid[0] Opcode[3:1] MetaField[5:4] MetaValue[7:6] Tag[23:8] Poison[24] DevLoad[26:25] LD-ID[30:27] TRP[31] RSVD[39:32]
    const word = b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! * 2 ** 24);
    const want = 1 | (0b001 << 1) | (0b11 << 4) | (0b10 << 6) | (0xbeef << 8) | (1 << 24) | (0b10 << 25) | (0b1011 << 27);
    expect(word >>> 0).toBe(want >>> 0);
    expect(b[4]).toBe(0);
  });

  it('carries Addr[5] only in the 68B M2S Req, Addr[51:6] everywhere', () => {
    const src = memMsgSlots(1);
    const dst = memMsgSlots(1);
    src.col.addr[0] = 2 ** 51 + 0x1234500 + 32;
    const b = new Uint8Array(16);
    encodeMsg(compiledTable(68, M2SReq), src, 0, b, 0, 0);
    decodeMsg(compiledTable(68, M2SReq), b, 0, 0, dst, 0);
    expect(dst.col.addr[0]).toBe(src.col.addr[0]);
    encodeMsg(compiledTable(256, M2SReq), src, 0, b, 0, 0);
    decodeMsg(compiledTable(256, M2SReq), b, 0, 0, dst, 0);
    expect(dst.col.addr[0]).toBe(src.col.addr[0]! - 32);
  });

  it('derives TRP from MemWrPtl in 256B RwD', () => {
    const src = memMsgSlots(1);
    const dst = memMsgSlots(1);
    src.col.opcode[0] = M2SRwDOp.MemWrPtl;
    const b = new Uint8Array(16);
    encodeMsg(compiledTable(256, M2SRwD), src, 0, b, 0, 4);
    decodeMsg(compiledTable(256, M2SRwD), b, 0, 4, dst, 0);
    expect(dst.col.trp[0]).toBe(1);
  });

  it('names opcodes both ways', () => {
    expect(opcodeName(S2MNDR, 1)).toBe('Cmp-S');
    expect(opcodeName(S2MDRS, 1)).toBe('MemData-NXM');
    expect(opcodeName(M2SReq, 0b0111)).toBe('rsvd(0b111)');
    for (const [c, n] of [[M2SReq, 'MemRd'], [M2SReq, 'MemRdData'], [M2SReq, 'MemInv'], [M2SReq, 'MemInvNT'], [M2SReq, 'MemSpecRd'], [M2SRwD, 'MemWr'], [M2SRwD, 'MemWrPtl'], [S2MNDR, 'Cmp'], [S2MNDR, 'Cmp-E'], [S2MDRS, 'MemData']] as const) {
      expect(opcodeName(c, opcodeByName(c, n)!)).toBe(n);
    }
    expect(opcodeByName(S2MDRS, 'Bogus')).toBeUndefined();
  });

  it('encode then decode at any bit offset gives the message back (fields within their widths)', () => {
    checkProperty(
      'memfields.roundtrip',
      fc.property(
        fc.constantFrom<FlitMode>(68, 256),
        fc.constantFrom(M2SReq, M2SRwD, S2MNDR, S2MDRS),
        fc.integer({ min: 0, max: 40 }),
        fc.record({ opcode: fc.integer({ min: 0, max: 7 }), tag: fc.integer({ min: 0, max: 0xffff }), line: fc.integer({ min: 0, max: 2 ** 46 - 1 }), a5: fc.integer({ min: 0, max: 1 }), snp: fc.integer({ min: 0, max: 7 }), mf: fc.integer({ min: 0, max: 3 }), mv: fc.integer({ min: 0, max: 3 }), ld: fc.integer({ min: 0, max: 15 }), poison: fc.integer({ min: 0, max: 1 }), dl: fc.integer({ min: 0, max: 3 }) }),
        fc.uint8Array({ minLength: 24, maxLength: 24 }),
        (mode, cls, bit, m, junk) => {
          const src = memMsgSlots(1);
          const c = src.col;
          c.opcode[0] = m.opcode; c.tag[0] = m.tag; c.metaField[0] = m.mf; c.metaValue[0] = m.mv; c.ldId[0] = m.ld;
          const isM2S = cls === M2SReq || cls === M2SRwD;
          if (isM2S) { c.addr[0] = m.line * 64 + (mode === 68 && cls === M2SReq ? m.a5 * 32 : 0); c.snpType[0] = m.snp; }
          else c.devLoad[0] = m.dl;
          if (cls === M2SRwD || cls === S2MDRS) c.poison[0] = m.poison;
          if (mode === 256 && cls === M2SRwD && m.opcode === M2SRwDOp.MemWrPtl) c.trp[0] = 1;
          const buf = Uint8Array.from(junk);
          const t = compiledTable(mode, cls);
          encodeMsg(t, src, 0, buf, 0, bit);
          const dst = memMsgSlots(1);
          dst.col.beLo[0] = 99; // stale value must be cleared
          decodeMsg(t, buf, 0, bit, dst, 0);
          for (const k of Object.keys(c) as (keyof typeof c)[]) expect([k, dst.col[k][0]]).toEqual([k, c[k][0]]);
          // bits outside the message are untouched
          const before = Uint8Array.from(junk);
          for (let p = 0; p < 24 * 8; p++) {
            if (p >= bit && p < bit + t.bits) continue;
            expect(((buf[p >> 3]! >> (p & 7)) & 1)).toBe((before[p >> 3]! >> (p & 7)) & 1);
          }
        },
      ),
    );
  });
});
