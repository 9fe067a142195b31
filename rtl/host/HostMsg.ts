import { Channel, type Module } from '../../src/sim/index.ts';
import { LINE_BYTES } from '../cxl/opcodes.ts';

/**
 * The host side of the fabric device: what a vCPU's memory command looks like after the VM page
 * table, on its way through the host router to local DRAM or to the device's request decoder,
 * and the answer that comes back. One channel slot + 64 bytes of line data.
 *
 * A Read command carries no data: its line bytes are don't-care, no consumer reads them (router,
 * request decoder, DRAM, which overwrites them with the line it reads), and the host side does not
 * copy them from stage to stage (they keep whatever the slot held before). Answers always carry
 * their line (read data, or zeros for a write), as observers receive it.
 */

/** A VM memory command on one 64-byte line. */
export const HostOp = {
  Read: 0,
  /** Full-line write. */
  Write: 1,
  /** Partial write: only the bytes enabled in beLo/beHi. */
  WritePartial: 2,
} as const;
export type HostOp = (typeof HostOp)[keyof typeof HostOp];

/** How a command completed. */
export const HostStatus = {
  Ok: 0,
  /**
   * The CXL error answer: no range claimed the address or the requester is not granted it.
   * Reads return all-ones data with poison (MemData-NXM); writes are dropped but completed.
   */
  Nxm: 1,
  /** The VM page table has no mapping: a fault answered to the vCPU; no access was made. */
  PageFault: 2,
} as const;
export type HostStatus = (typeof HostStatus)[keyof typeof HostStatus];

/**
 * - hostTag: requester-chosen tag, echoed in the response (unique among the requester's outstanding commands)
 * - src: requester id within the node (vCPU port index), so answers can be routed back
 * - vm: VM id (for permission checks in the address-range table)
 * - op: HostOp
 * - addr: VM address on the vCPU side; host physical address (HPA) after the page table
 * - beLo, beHi: byte enables for WritePartial (bit i = byte i)
 * - issueCycle: cycle the vCPU issued the command, carried through for latency accounting
 */
export const HOST_REQ_FIELDS = ['hostTag', 'src', 'vm', 'op', 'addr', 'beLo', 'beHi', 'issueCycle'] as const;
export type HostReqField = (typeof HOST_REQ_FIELDS)[number];
export type HostReqChannel = Channel<HostReqField>;

/**
 * - status: HostStatus; poison: 1 when the returned data is poisoned
 * - route: where it was served (HostRoute), for per-class statistics
 */
export const HOST_RSP_FIELDS = ['hostTag', 'src', 'vm', 'op', 'addr', 'status', 'poison', 'route', 'issueCycle'] as const;
export type HostRspField = (typeof HOST_RSP_FIELDS)[number];
export type HostRspChannel = Channel<HostRspField>;

/** Where a command was served. */
export const HostRoute = { Local: 0, Remote: 1, Error: 2 } as const;

export function hostReqChannel(owner: Module, name: string, depth: number): HostReqChannel {
  return new Channel<HostReqField>(owner, name, depth, HOST_REQ_FIELDS, LINE_BYTES);
}

export function hostRspChannel(owner: Module, name: string, depth: number): HostRspChannel {
  return new Channel<HostRspField>(owner, name, depth, HOST_RSP_FIELDS, LINE_BYTES);
}

// copyHostReq / copyHostRsp below name every field: a field added to a list must be added there too.
if (HOST_REQ_FIELDS.length !== 8 || HOST_RSP_FIELDS.length !== 9) throw new Error('HostMsg: update copyHostReq / copyHostRsp for the changed field lists');

/** The columns of HostReq entries: a HostReqChannel's or a stage's `col`. */
export type HostReqColumns = { readonly [K in HostReqField]: Float64Array };
/** The columns of HostRsp entries. */
export type HostRspColumns = { readonly [K in HostRspField]: Float64Array };

/**
 * Copy HostReq entry i of one column set to entry j of another. Every field by name: V8 turns each
 * into a fixed-offset load, where a loop over a list of columns costs about 1.5× more per copy
 * (measured; this runs several times per command).
 */
export function copyHostReq(a: HostReqColumns, i: number, b: HostReqColumns, j: number): void {
  b.hostTag[j] = a.hostTag[i]!;
  b.src[j] = a.src[i]!;
  b.vm[j] = a.vm[i]!;
  b.op[j] = a.op[i]!;
  b.addr[j] = a.addr[i]!;
  b.beLo[j] = a.beLo[i]!;
  b.beHi[j] = a.beHi[i]!;
  b.issueCycle[j] = a.issueCycle[i]!;
}

/** Copy HostRsp entry i of one column set to entry j of another (every field, as copyHostReq). */
export function copyHostRsp(a: HostRspColumns, i: number, b: HostRspColumns, j: number): void {
  b.hostTag[j] = a.hostTag[i]!;
  b.src[j] = a.src[i]!;
  b.vm[j] = a.vm[i]!;
  b.op[j] = a.op[i]!;
  b.addr[j] = a.addr[i]!;
  b.status[j] = a.status[i]!;
  b.poison[j] = a.poison[i]!;
  b.route[j] = a.route[i]!;
  b.issueCycle[j] = a.issueCycle[i]!;
}
