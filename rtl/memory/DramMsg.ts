import { Channel, type Module } from '../../src/sim/index.ts';
import { LINE_BYTES } from '../cxl/opcodes.ts';

/**
 * One DRAM port transaction: a 64-byte line read or (masked) write at a physical address.
 * - id: requester-local id, echoed in the response (responses may return out of order across banks)
 * - op: DramOp
 * - pa: physical address of the line (multiple of 64), up to 2^52
 * - beLo, beHi: byte enables for writes (all ones = full line write)
 */
export const DramOp = { Read: 0, Write: 1 } as const;
export type DramOp = (typeof DramOp)[keyof typeof DramOp];

export const DRAM_REQ_FIELDS = ['id', 'op', 'pa', 'beLo', 'beHi'] as const;
export type DramReqField = (typeof DRAM_REQ_FIELDS)[number];
export type DramReqChannel = Channel<DramReqField>;

/** Read responses carry the line; write responses (completion) carry nothing. */
export const DRAM_RSP_FIELDS = ['id', 'op', 'pa'] as const;
export type DramRspField = (typeof DRAM_RSP_FIELDS)[number];
export type DramRspChannel = Channel<DramRspField>;

export function dramReqChannel(owner: Module, name: string, depth: number): DramReqChannel {
  return new Channel<DramReqField>(owner, name, depth, DRAM_REQ_FIELDS, LINE_BYTES);
}

export function dramRspChannel(owner: Module, name: string, depth: number): DramRspChannel {
  return new Channel<DramRspField>(owner, name, depth, DRAM_RSP_FIELDS, LINE_BYTES);
}
