import fc from 'fast-check';
import type { FlitMode } from '../../rtl/cxl/MemFields.ts';
import { M2SReqOp, M2SRwDOp, MsgClass, S2MDRSOp } from '../../rtl/cxl/opcodes.ts';
import type { MsgRec } from './harness.ts';

const u = (bits: number) => fc.integer({ min: 0, max: 2 ** bits - 1 });
const base = { snpType: fc.constant(0), ldId: u(4), metaField: u(2), metaValue: u(2), tag: u(16), poison: fc.constant(0), devLoad: fc.constant(0), beLo: fc.constant(0), beHi: fc.constant(0), trp: fc.constant(0), spid: fc.constant(0), dpid: fc.constant(0), addr: fc.constant(0), data: fc.constant([] as number[]) };
const line = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 64, maxLength: 64 });

/** A message of class `cls` whose every field fits the wire form of `mode` (so it must come back unchanged). */
export function msgArb(mode: FlitMode, cls: MsgClass): fc.Arbitrary<MsgRec> {
  switch (cls) {
    case MsgClass.M2SReq:
      return fc.record({ ...base, opcode: fc.constantFrom(...Object.values(M2SReqOp)), snpType: u(3), addr: fc.tuple(u(46), mode === 68 ? u(1) : fc.constant(0)).map(([l, a5]) => l * 64 + a5 * 32) });
    case MsgClass.M2SRwD:
      return fc
        .record({ ...base, opcode: fc.constantFrom(M2SRwDOp.MemWr, M2SRwDOp.MemWrPtl), snpType: u(3), poison: u(1), addr: u(46).map((l) => l * 64), beLo: u(32), beHi: u(32), data: line })
        .map((m) => (m.opcode === M2SRwDOp.MemWrPtl ? { ...m, trp: mode === 256 ? 1 : 0 } : { ...m, beLo: 0, beHi: 0 }));
    case MsgClass.S2MNDR:
      return fc.record({ ...base, opcode: u(3), devLoad: u(2) });
    default:
      return fc.record({ ...base, opcode: fc.constantFrom(S2MDRSOp.MemData, S2MDRSOp.MemDataNXM), poison: u(1), devLoad: u(2), data: line });
  }
}

/** Messages on all four channels, up to `max` per class. */
export function trafficArb(mode: FlitMode, max: number): fc.Arbitrary<MsgRec[][]> {
  return fc.tuple(...([0, 1, 2, 3] as MsgClass[]).map((c) => fc.array(msgArb(mode, c), { maxLength: max })));
}
