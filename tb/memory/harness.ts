/**
 * Testbench helpers for rtl/memory. The test code itself acts as the requester: between two
 * `sim.step()` calls it pushes into the channels the DUT consumes and pops the ones it produces,
 * exactly as a producer/consumer module would during a cycle (a push made before step k is
 * visible to the DUT in the cycle after, a pop frees space the cycle after).
 */
import { Module, SimContext } from '../../src/sim/index.ts';
import { memMsgChannel, type MemMsgChannel } from '../../rtl/cxl/MemMsg.ts';
import { DramOp, type DramReqChannel, type DramRspChannel } from '../../rtl/memory/DramMsg.ts';

export class Top extends Module {
  constructor(clockGHz = 1) {
    super(null, 'top', new SimContext(clockGHz));
  }
}

/** Owner of the four link-side CXL.mem channels a RemoteMemoryController is wired to (stands for the CxlPort). */
export class LinkStub extends Module {
  readonly m2sReq: MemMsgChannel;
  readonly m2sRwd: MemMsgChannel;
  readonly s2mNdr: MemMsgChannel;
  readonly s2mDrs: MemMsgChannel;
  constructor(parent: Module, name: string, depth: number) {
    super(parent, name);
    this.m2sReq = memMsgChannel(this, 'm2sReq', depth);
    this.m2sRwd = memMsgChannel(this, 'm2sRwd', depth);
    this.s2mNdr = memMsgChannel(this, 's2mNdr', depth);
    this.s2mDrs = memMsgChannel(this, 's2mDrs', depth);
  }
}

export const BE_ALL = 0xffffffff;

/** A deterministic 64-byte pattern for line `n` (distinct per n and seed). */
export function pattern(n: number, seed = 0): Uint8Array {
  const b = new Uint8Array(64);
  for (let i = 0; i < 64; i++) b[i] = (n * 131 + i * 7 + seed * 29 + 1) & 0xff;
  return b;
}

export function pushDramReq(ch: DramReqChannel, id: number, op: DramOp, pa: number, data?: Uint8Array, beLo = BE_ALL, beHi = BE_ALL): void {
  const s = ch.push();
  ch.col.id[s] = id;
  ch.col.op[s] = op;
  ch.col.pa[s] = pa;
  ch.col.beLo[s] = op === DramOp.Write ? beLo : 0;
  ch.col.beHi[s] = op === DramOp.Write ? beHi : 0;
  for (let i = 0; i < 64; i++) ch.bytes[s * 64 + i] = data ? data[i]! : 0;
}

export interface DramRsp {
  id: number;
  op: number;
  pa: number;
  data: Uint8Array;
  /** Cycle at which the response was visible (popped). */
  cycle: number;
}

export function popDramRsp(ch: DramRspChannel, cycle: number): DramRsp {
  const s = ch.pop();
  return { id: ch.col.id[s]!, op: ch.col.op[s]!, pa: ch.col.pa[s]!, data: ch.bytes.slice(s * 64, s * 64 + 64), cycle };
}

export interface MemMsg {
  opcode: number;
  tag: number;
  addr: number;
  ldId: number;
  spid: number;
  dpid: number;
  poison: number;
  devLoad: number;
  metaField: number;
  metaValue: number;
  beLo: number;
  beHi: number;
  data: Uint8Array;
  cycle: number;
}

export function pushMemMsg(ch: MemMsgChannel, m: Partial<MemMsg> & { opcode: number; tag: number; addr: number }): void {
  const s = ch.push();
  const c = ch.col;
  for (const f of ch.fields) c[f][s] = 0;
  c.opcode[s] = m.opcode;
  c.tag[s] = m.tag;
  c.addr[s] = m.addr;
  c.ldId[s] = m.ldId ?? 0;
  c.spid[s] = m.spid ?? 0;
  c.dpid[s] = m.dpid ?? 0;
  c.metaField[s] = m.metaField ?? 0b11;
  c.beLo[s] = m.beLo ?? 0;
  c.beHi[s] = m.beHi ?? 0;
  c.poison[s] = m.poison ?? 0;
  for (let i = 0; i < 64; i++) ch.bytes[s * 64 + i] = m.data ? m.data[i]! : 0;
}

export function popMemMsg(ch: MemMsgChannel, cycle: number): MemMsg {
  const s = ch.pop();
  const c = ch.col;
  return {
    opcode: c.opcode[s]!,
    tag: c.tag[s]!,
    addr: c.addr[s]!,
    ldId: c.ldId[s]!,
    spid: c.spid[s]!,
    dpid: c.dpid[s]!,
    poison: c.poison[s]!,
    devLoad: c.devLoad[s]!,
    metaField: c.metaField[s]!,
    metaValue: c.metaValue[s]!,
    beLo: c.beLo[s]!,
    beHi: c.beHi[s]!,
    data: ch.bytes.slice(s * 64, s * 64 + 64),
    cycle,
  };
}

/** Independent reference memory: one Map entry per written byte address; unwritten bytes read 0. */
export class ByteMapMemory {
  readonly bytes = new Map<number, number>();
  /** A 64-byte line write with byte enables. */
  write(pa: number, data: ArrayLike<number>, beLo = BE_ALL, beHi = BE_ALL): void {
    for (let i = 0; i < 64; i++) {
      const enabled = i < 32 ? Math.floor(beLo / 2 ** i) % 2 === 1 : Math.floor(beHi / 2 ** (i - 32)) % 2 === 1;
      if (enabled) this.bytes.set(pa + i, data[i]!);
    }
  }
  /** Every byte written (backdoor poke of any length). */
  poke(pa: number, data: ArrayLike<number>): void {
    for (let i = 0; i < data.length; i++) this.bytes.set(pa + i, data[i]!);
  }
  read(pa: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    for (let i = 0; i < len; i++) out[i] = this.bytes.get(pa + i) ?? 0;
    return out;
  }
  /** Distinct 4 KiB pages holding at least one written byte. */
  pages(): Set<number> {
    const s = new Set<number>();
    for (const a of this.bytes.keys()) s.add(Math.floor(a / 4096));
    return s;
  }
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
