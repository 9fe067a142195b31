import { describe, expect, it } from 'vitest';
import { M2SReqOp, M2SRwDOp, MsgClass, S2MDRSOp, S2MNDROp } from '../../rtl/cxl/opcodes.ts';
import {
  buildInitParam68, buildLlcrd68, buildRetryAck68, buildRetryReq68, ctlField68, getAk68, getLlCtrl68, getSubType68, InitParamField,
  isControl68, llcrdFullAck68, LlCtrl, RetryAckField, RetryReqField, RetrySub, setAk68,
} from '../../rtl/flit/Flit68.ts';
import { Flit68Assembler } from '../../rtl/flit/Flit68Assembler.ts';
import { Flit68Parser } from '../../rtl/flit/Flit68Parser.ts';
import { FlitFlag, FlitKind } from '../../rtl/flit/FlitFormat.ts';
import { bitsOf, msgs, parserOuts } from './flitTestUtil.ts';

const { M2SReq, M2SRwD, S2MNDR, S2MDRS } = MsgClass;
/** Flit bit p (within the 64-byte flit) of a slot buffer. */
const fb = (b: Uint8Array, p: number, w: number) => bitsOf(b, 2, p, w);

describe('68B flit assembler: layout', () => {
  it('one MemRd: protocol ID 5555, header H5 + empty G4 slots, the Req at flit bit 32', () => {
    const a = new Flit68Assembler();
    const out = new Uint8Array(256);
    const m = msgs(1, M2SReqOp.MemRd);
    a.begin(out, 0);
    expect(a.canAdd(M2SReq)).toBe(true);
    a.add(M2SReq, m, 0);
    expect(a.finish(0, 0, 0, 0)).toBe(FlitKind.Protocol);
    expect([out[0], out[1]]).toEqual([0x55, 0x55]);
    expect(fb(out, 0, 1)).toBe(0); // Type = protocol
    expect([fb(out, 5, 3), fb(out, 8, 3), fb(out, 11, 3), fb(out, 14, 3)]).toEqual([5, 4, 4, 4]);
    expect(fb(out, 17, 1)).toBe(0); // M2S formats
    expect(fb(out, 32, 1)).toBe(1); // Valid
    expect(fb(out, 33, 4)).toBe(M2SReqOp.MemRd);
    expect(fb(out, 32 + 28 + 1, 46)).toBe(1); // Address[51:6] after Valid..Tag (28 bits) and Addr[5]
    expect([fb(out, 128, 1), fb(out, 256, 1), fb(out, 384, 1)]).toEqual([0, 0, 0]);
    expect([out[66], out[67]]).toEqual([0, 0]); // CRC left to the link layer
  });

  it('per-flit limits: 2 Req, 1 RwD, 2 NDR; 3 DRS only with the H slot used by NDRs', () => {
    const a = new Flit68Assembler();
    const out = new Uint8Array(256);
    const m = msgs(8, 0);
    a.begin(out, 0);
    a.add(M2SReq, m, 0);
    a.add(M2SReq, m, 1);
    expect(a.canAdd(M2SReq)).toBe(false);
    expect(a.canAdd(M2SRwD)).toBe(true);
    expect(a.canAdd(S2MNDR)).toBe(false); // a flit uses one direction's formats
    a.add(M2SRwD, m, 2);
    expect(a.canAdd(M2SRwD)).toBe(false);
    a.finish(0, 0, 0, 0);
    // H5 Req, G4 Req, G5 RwD, G0 chunk 0
    expect([fb(out, 5, 3), fb(out, 8, 3), fb(out, 11, 3), fb(out, 14, 3)]).toEqual([5, 4, 5, 0]);

    const b = new Flit68Assembler();
    b.begin(out, 0);
    b.add(S2MDRS, m, 0);
    b.add(S2MDRS, m, 1);
    expect(b.canAdd(S2MDRS)).toBe(false); // a 3rd DRS would need G6 and leave H empty (tight packing)
    expect(b.canAdd(S2MNDR)).toBe(true);
    b.add(S2MNDR, m, 2);
    expect(b.canAdd(S2MDRS)).toBe(true); // H4 (NDR) + G6 (3 DRS)
    b.add(S2MDRS, m, 3);
    b.add(S2MNDR, m, 4);
    expect(b.canAdd(S2MNDR)).toBe(false);
    expect(b.canAdd(S2MDRS)).toBe(false);
    b.finish(0, 0, 0, 0);
    expect(fb(out, 17, 1)).toBe(1);
    expect([fb(out, 5, 3), fb(out, 8, 3), fb(out, 11, 3), fb(out, 14, 3)]).toEqual([4, 6, 0, 0]);
  });

  it('a read: H3 + 3 chunks in line order, the 4th chunk rolls into slot 1 of the next flit', () => {
    const a = new Flit68Assembler();
    const p = new Flit68Parser();
    const { outs, take } = parserOuts();
    const out = new Uint8Array(256);
    const m = msgs(1, S2MDRSOp.MemData);
    a.begin(out, 0);
    a.add(S2MDRS, m, 0);
    a.finish(0, 0, 0, 0);
    expect([fb(out, 5, 3), fb(out, 8, 3), fb(out, 11, 3), fb(out, 14, 3), fb(out, 4, 1)]).toEqual([3, 0, 0, 0, 1]);
    expect(Array.from(out.subarray(18, 66))).toEqual(Array.from(m.bytes.subarray(0, 48)));
    p.parse(out, 0, outs);
    expect(p.owed).toBe(1);
    expect(take()[S2MDRS]).toEqual([]);
    expect(a.owed).toBe(1);
    a.begin(out, 0);
    expect(a.canAdd(M2SReq)).toBe(false); // owed S2M data forces this flit's direction
    a.finish(0, 0, 0, 0);
    expect(fb(out, 8, 3)).toBe(0);
    expect(Array.from(out.subarray(18, 34))).toEqual(Array.from(m.bytes.subarray(48, 64)));
    p.parse(out, 0, outs);
    expect(p.flags).toBe(0);
    const got = take()[S2MDRS]!;
    expect(got.length).toBe(1);
    expect(got[0]!.data).toEqual(Array.from(m.bytes.subarray(0, 64)));
  });

  it('two DRS in H5 (MDH): 8 chunks = protocol flit (3), all-data flit (4), protocol flit (1)', () => {
    const a = new Flit68Assembler();
    const p = new Flit68Parser();
    const { outs, take } = parserOuts();
    const out = new Uint8Array(256);
    const m = msgs(2, S2MDRSOp.MemData);
    a.begin(out, 0);
    a.add(S2MDRS, m, 0);
    a.add(S2MDRS, m, 1);
    const kinds = [a.finish(0, 0, 0, 0)];
    expect(fb(out, 5, 3)).toBe(5);
    p.parse(out, 0, outs);
    expect(a.allDataNext()).toBe(true);
    a.begin(out, 0);
    expect(a.canAdd(S2MNDR)).toBe(false);
    kinds.push(a.finish(0, 0, 0, 0));
    // chunks 3 (line 0) and 0,1,2 (line 1), no header
    expect(Array.from(out.subarray(2, 18))).toEqual(Array.from(m.bytes.subarray(48, 64)));
    expect(Array.from(out.subarray(18, 66))).toEqual(Array.from(m.bytes.subarray(64, 112)));
    p.parse(out, 0, outs);
    expect(p.kind).toBe(FlitKind.AllData);
    a.begin(out, 0);
    kinds.push(a.finish(0, 0, 0, 0));
    p.parse(out, 0, outs);
    expect(kinds).toEqual([FlitKind.Protocol, FlitKind.AllData, FlitKind.Protocol]);
    expect(take()[S2MDRS]!.map((g) => g.tag)).toEqual([0, 1]);
  });

  it('MemWrPtl: BE=1 and the byte-enable slot (64 enables, 64 reserved) follows the 4 data chunks', () => {
    const a = new Flit68Assembler();
    const p = new Flit68Parser();
    const { outs, take } = parserOuts();
    const out = new Uint8Array(256);
    const m = msgs(1, M2SRwDOp.MemWrPtl);
    m.col.beLo[0] = 0x80000001;
    m.col.beHi[0] = 0x12345678;
    a.begin(out, 0);
    a.add(M2SRwD, m, 0);
    a.finish(0, 0, 0, 0);
    expect([fb(out, 3, 1), fb(out, 5, 3)]).toEqual([1, 4]); // BE, H4
    p.parse(out, 0, outs);
    a.begin(out, 0);
    a.finish(0, 0, 0, 0); // chunk 3 + BE slot in slots 1-2
    expect(fb(out, 128 * 2, 32)).toBe(0x80000001);
    expect(fb(out, 128 * 2 + 32, 32)).toBe(0x12345678);
    expect(fb(out, 128 * 2 + 64, 64 - 12)).toBe(0);
    p.parse(out, 0, outs);
    expect(p.flags).toBe(0);
    const got = take()[M2SRwD]!;
    expect(got.map((g) => [g.beLo, g.beHi])).toEqual([[0x80000001, 0x12345678]]);
  });

  it('carries credits: ReqCrd = M2S Req, RspCrd = S2M NDR, DataCrd = RwD (S2M flit) or DRS (M2S flit), largest ≤ owed', () => {
    const a = new Flit68Assembler();
    const p = new Flit68Parser();
    const { outs } = parserOuts();
    const out = new Uint8Array(256);
    a.begin(out, 0);
    a.finish(5, 70, 2, 1); // no message: RwD owed more than DRS → an S2M flit returning RwD credits
    expect([fb(out, 24, 4), fb(out, 20, 4), fb(out, 28, 4), fb(out, 17, 1)]).toEqual([0b1011, 0b1010, 0b1111, 1]);
    expect(Array.from(a.sent)).toEqual([4, 64, 2, 0]);
    p.parse(out, 0, outs);
    expect(Array.from(p.credits)).toEqual([4, 64, 2, 0]);
  });
});

describe('68B parser: illegal packing is flagged, not thrown', () => {
  const { outs } = parserOuts();
  function flit(fmts: number[], dir: number, slots: [number, number][]): Uint8Array {
    const b = new Uint8Array(256);
    b[0] = 0x55;
    b[1] = 0x55;
    const set = (p: number, w: number, v: number) => {
      for (let i = 0; i < w; i++) if ((Math.floor(v / 2 ** i) & 1) === 1) b[2 + ((p + i) >> 3)]! |= 1 << ((p + i) & 7);
    };
    fmts.forEach((f, s) => set([5, 8, 11, 14][s]!, 3, f));
    set(17, 1, dir);
    set(4, 1, 1);
    for (const [p] of slots) set(p, 1, 1); // Valid bits
    return b;
  }
  it('reserved format 111', () => {
    const p = new Flit68Parser();
    p.parse(flit([7, 4, 4, 4], 0, []), 0, outs);
    expect(p.flags & FlitFlag.Format).toBeTruthy();
  });
  it('a G0 data slot nobody owes', () => {
    const p = new Flit68Parser();
    p.parse(flit([5, 0, 4, 4], 0, []), 0, outs);
    expect(p.flags & FlitFlag.DataOrder).toBeTruthy();
  });
  it('3 M2S Req in one flit', () => {
    const p = new Flit68Parser();
    p.parse(flit([5, 4, 4, 4], 0, [[32, 1], [128, 1], [256, 1]]), 0, outs);
    expect(p.flags & FlitFlag.Limit).toBeTruthy();
  });
  it('a header format in a slot that owes data (H3 DRS, then G4 instead of G0)', () => {
    const p = new Flit68Parser();
    p.parse(flit([3, 4, 0, 0], 1, [[32, 1], [128, 1]]), 0, outs);
    expect(p.flags & FlitFlag.DataOrder).toBeTruthy();
  });
  it('an MDH slot (H5) carrying a single DRS header', () => {
    const p = new Flit68Parser();
    p.parse(flit([5, 0, 0, 0], 1, [[32, 1]]), 0, outs);
    expect(p.flags & FlitFlag.Packing).toBeTruthy();
  });
  it('a header in a G slot after an empty H slot', () => {
    const p = new Flit68Parser();
    p.parse(flit([4, 5, 4, 4], 1, [[128, 1]]), 0, outs);
    expect(p.flags & FlitFlag.Packing).toBeTruthy();
  });
  it('a legal flit has no flag; a wrong protocol ID is flagged', () => {
    const p = new Flit68Parser();
    const f = flit([5, 4, 4, 4], 0, [[32, 1]]);
    p.parse(f, 0, outs);
    expect(p.flags).toBe(0);
    f[0] = 0xff;
    p.parse(f, 0, outs);
    expect(p.flags).toBe(FlitFlag.ProtocolId);
  });
});

describe('68B control flits (CXL 3.1 Tables 4-9/4-10)', () => {
  it('RETRY.Req, RETRY.Ack, INIT.Param, LLCRD round-trip their fields; Ak is settable', () => {
    const b = new Uint8Array(256);
    buildRetryReq68(b, 0, 0xa5, 7, 3);
    expect([isControl68(b, 0), getLlCtrl68(b, 0), getSubType68(b, 0)]).toEqual([true, LlCtrl.RETRY, RetrySub.Req]);
    expect(b[2 + 4]).toBe(0x11);
    expect([ctlField68(b, 0, RetryReqField.eseq), ctlField68(b, 0, RetryReqField.numRetry), ctlField68(b, 0, RetryReqField.numPhyReinit)]).toEqual([0xa5, 7, 3]);
    buildRetryAck68(b, 0, true, false, 9, 0x33, 0x44, 200, 0xbeef);
    expect(Object.values(RetryAckField).map((f) => ctlField68(b, 0, f))).toEqual([1, 0, 9, 0x33, 0x44, 200, 0xbeef]);
    buildInitParam68(b, 0, 0b0010, 22);
    expect([getLlCtrl68(b, 0), getSubType68(b, 0), ctlField68(b, 0, InitParamField.version), ctlField68(b, 0, InitParamField.llrWrap)]).toEqual([0b1100, 0b1000, 2, 22]);
    buildLlcrd68(b, 0, 0b10111010, 0b1001, 0, 0, false);
    expect([llcrdFullAck68(b, 0), getAk68(b, 0)]).toEqual([0b10111010, true]);
    setAk68(b, 0, false);
    expect(getAk68(b, 0)).toBe(false);
    const p = new Flit68Parser();
    buildLlcrd68(b, 0, 0, 0b1011, 0b1001, 0b1100, true);
    p.parse(b, 0, parserOuts().outs);
    expect(p.kind).toBe(FlitKind.Control);
    expect(Array.from(p.credits)).toEqual([1, 8, 4, 0]);
    void S2MNDROp;
  });
});
