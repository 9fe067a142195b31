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

// The record helpers below name every field: a field added to a list must be added there too.
if (HOST_REQ_FIELDS.length !== 8 || HOST_RSP_FIELDS.length !== 9) throw new Error('HostMsg: update HostReqAt / HostRspAt and the record helpers for the changed field lists');

/** The columns of HostReq entries: a HostReqChannel's `col`. */
export type HostReqColumns = { readonly [K in HostReqField]: Float64Array };
/** The columns of HostRsp entries. */
export type HostRspColumns = { readonly [K in HostRspField]: Float64Array };

/**
 * Where each field sits in a record of a StageRing built with HOST_REQ_FIELDS / HOST_RSP_FIELDS
 * (its position in the list): field f of slot s is `stage.rec[s * stage.stride + HostReqAt.f]`.
 */
export const HostReqAt = { hostTag: 0, src: 1, vm: 2, op: 3, addr: 4, beLo: 5, beHi: 6, issueCycle: 7 } as const;
export const HostRspAt = { hostTag: 0, src: 1, vm: 2, op: 3, addr: 4, status: 5, poison: 6, route: 7, issueCycle: 8 } as const;
for (const [list, at] of [
  [HOST_REQ_FIELDS, HostReqAt],
  [HOST_RSP_FIELDS, HostRspAt],
] as const) {
  list.forEach((f, i) => {
    if ((at as Record<string, number>)[f] !== i) throw new Error(`HostMsg: record index of ${f} is not its place in the field list`);
  });
}

/**
 * Copy HostReq entry i of a channel into the record at `base` of a stage (HostReqAt). Every field
 * by name: V8 turns each into a fixed-offset load, where a loop over a list of columns costs about
 * 1.5× more per copy (measured; this runs several times per command).
 */
export function hostReqToRecord(a: HostReqColumns, i: number, r: Float64Array, base: number): void {
  r[base] = a.hostTag[i]!;
  r[base + 1] = a.src[i]!;
  r[base + 2] = a.vm[i]!;
  r[base + 3] = a.op[i]!;
  r[base + 4] = a.addr[i]!;
  r[base + 5] = a.beLo[i]!;
  r[base + 6] = a.beHi[i]!;
  r[base + 7] = a.issueCycle[i]!;
}

/** Copy the HostReq record at `base` of a stage into entry j of a channel (as hostReqToRecord). */
export function hostReqFromRecord(r: Float64Array, base: number, b: HostReqColumns, j: number): void {
  b.hostTag[j] = r[base]!;
  b.src[j] = r[base + 1]!;
  b.vm[j] = r[base + 2]!;
  b.op[j] = r[base + 3]!;
  b.addr[j] = r[base + 4]!;
  b.beLo[j] = r[base + 5]!;
  b.beHi[j] = r[base + 6]!;
  b.issueCycle[j] = r[base + 7]!;
}

/** Copy HostRsp entry i of a channel into the record at `base` of a stage (HostRspAt). */
export function hostRspToRecord(a: HostRspColumns, i: number, r: Float64Array, base: number): void {
  r[base] = a.hostTag[i]!;
  r[base + 1] = a.src[i]!;
  r[base + 2] = a.vm[i]!;
  r[base + 3] = a.op[i]!;
  r[base + 4] = a.addr[i]!;
  r[base + 5] = a.status[i]!;
  r[base + 6] = a.poison[i]!;
  r[base + 7] = a.route[i]!;
  r[base + 8] = a.issueCycle[i]!;
}

/** Copy the HostRsp record at `base` of a stage into entry j of a channel. */
export function hostRspFromRecord(r: Float64Array, base: number, b: HostRspColumns, j: number): void {
  b.hostTag[j] = r[base]!;
  b.src[j] = r[base + 1]!;
  b.vm[j] = r[base + 2]!;
  b.op[j] = r[base + 3]!;
  b.addr[j] = r[base + 4]!;
  b.status[j] = r[base + 5]!;
  b.poison[j] = r[base + 6]!;
  b.route[j] = r[base + 7]!;
  b.issueCycle[j] = r[base + 8]!;
}
