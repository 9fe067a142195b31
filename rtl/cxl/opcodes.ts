/**
 * CXL.mem message classes and opcode encodings.
 * Sources: CXL 3.1 Tables 3-35 (M2S Req MemOpcode), 3-41 (RwD), 3-50 (NDR), 3-53 (DRS);
 * reference/cxl-protocol.md §1.3-1.6. Plain objects, not `enum`, so tsx/esbuild and tsc agree.
 */

/** The four CXL.mem channels a Type-3 memory device uses (BISnp/BIRsp are not modelled). */
export const MsgClass = {
  M2SReq: 0,
  M2SRwD: 1,
  S2MNDR: 2,
  S2MDRS: 3,
} as const;
export type MsgClass = (typeof MsgClass)[keyof typeof MsgClass];
export const MSG_CLASS_NAMES = ['M2SReq', 'M2SRwD', 'S2MNDR', 'S2MDRS'] as const;

/** M2S Req MemOpcode, 4 bits (CXL 3.1 Table 3-35). */
export const M2SReqOp = {
  MemInv: 0b0000,
  MemRd: 0b0001,
  MemRdData: 0b0010,
  MemRdFwd: 0b0011,
  MemWrFwd: 0b0100,
  MemSpecRd: 0b1000,
  MemInvNT: 0b1001,
  MemClnEvct: 0b1010,
} as const;

/** M2S RwD MemOpcode, 4 bits (CXL 3.1 Table 3-41). */
export const M2SRwDOp = {
  MemWr: 0b0001,
  MemWrPtl: 0b0010,
  BIConflict: 0b0100,
} as const;

/** S2M NDR opcode, 3 bits (CXL 3.1 Table 3-50). */
export const S2MNDROp = {
  Cmp: 0b000,
  CmpS: 0b001,
  CmpE: 0b010,
  CmpM: 0b011,
  BIConflictAck: 0b100,
} as const;

/** S2M DRS opcode, 3 bits (CXL 3.1 Table 3-53). MemData-NXM: no decoder claimed the address. */
export const S2MDRSOp = {
  MemData: 0b000,
  MemDataNXM: 0b001,
} as const;

/** MetaField encodings (2 bits); a device that stores no metadata answers No-Op (CXL 3.1 T3-49/3-52). */
export const MetaField = { Meta0State: 0b00, ExtendedMetaState: 0b01, NoOp: 0b11 } as const;

/** SnpType (3 bits, CXL 3.1 Table 3-38). */
export const SnpType = { NoOp: 0b000, SnpData: 0b001, SnpCur: 0b010, SnpInv: 0b011 } as const;

/** A cache line is the unit of every CXL.mem data transfer. */
export const LINE_BYTES = 64;
