import { Channel, type Module } from '../../src/sim/index.ts';
import { LINE_BYTES } from '../cxl/opcodes.ts';

/**
 * One DRAM port transaction: a 64-byte line read or (masked) write at a physical address.
 * - id: requester-local id, echoed in the response (responses may return out of order across banks)
 * - op: DramOp
 * - pa: physical address of the line (multiple of 64), up to 2^52
 * - beLo, beHi: byte enables for writes (all ones = full line write)
 * A read request's line is don't-care: the Dram reads a request's line only for a write, so a
 * stage that forwards a read need not copy it.
 */
export const DramOp = { Read: 0, Write: 1 } as const;
export type DramOp = (typeof DramOp)[keyof typeof DramOp];

export const DRAM_REQ_FIELDS = ['id', 'op', 'pa', 'beLo', 'beHi'] as const;
export type DramReqField = (typeof DRAM_REQ_FIELDS)[number];
export type DramReqChannel = Channel<DramReqField>;

/** Read responses carry the line; write responses (completion) carry a line of zeros. */
export const DRAM_RSP_FIELDS = ['id', 'op', 'pa'] as const;
export type DramRspField = (typeof DRAM_RSP_FIELDS)[number];
export type DramRspChannel = Channel<DramRspField>;

export function dramReqChannel(owner: Module, name: string, depth: number): DramReqChannel {
  return new Channel<DramReqField>(owner, name, depth, DRAM_REQ_FIELDS, LINE_BYTES);
}

export function dramRspChannel(owner: Module, name: string, depth: number): DramRspChannel {
  return new Channel<DramRspField>(owner, name, depth, DRAM_RSP_FIELDS, LINE_BYTES);
}

// copyDramReq / copyDramRsp below name every field: a field added to a list must be added there too.
if (DRAM_REQ_FIELDS.length !== 5 || DRAM_RSP_FIELDS.length !== 3) throw new Error('DramMsg: update copyDramReq / copyDramRsp for the changed field lists');

/** The columns of DramReq entries (a DramReqChannel's `col`). */
export type DramReqColumns = { readonly [K in DramReqField]: Float64Array };
/** The columns of DramRsp entries. */
export type DramRspColumns = { readonly [K in DramRspField]: Float64Array };

/**
 * Copy DramReq entry i of one column set to entry j of another, every field by name (fixed-offset
 * loads, as HostMsg's copyHostReq). The line is the caller's to move (not for a read, see above).
 */
export function copyDramReq(a: DramReqColumns, i: number, b: DramReqColumns, j: number): void {
  b.id[j] = a.id[i]!;
  b.op[j] = a.op[i]!;
  b.pa[j] = a.pa[i]!;
  b.beLo[j] = a.beLo[i]!;
  b.beHi[j] = a.beHi[i]!;
}

/**
 * Copy DramRsp entry i of one column set to entry j of another (every field, as copyDramReq). The
 * line is the caller's to move (a write's zeros may be written instead of copied).
 */
export function copyDramRsp(a: DramRspColumns, i: number, b: DramRspColumns, j: number): void {
  b.id[j] = a.id[i]!;
  b.op[j] = a.op[i]!;
  b.pa[j] = a.pa[i]!;
}
