import { Channel, type Module } from '../../src/sim/index.ts';
import { LINE_BYTES } from './opcodes.ts';

/**
 * How a CXL.mem message travels inside the model between modules: one channel slot with these
 * numeric columns plus a 64-byte data slab (used by RwD and DRS; ignored by Req and NDR).
 * This is the model's internal form; the bit-exact wire form lives in rtl/cxl field tables and
 * rtl/flit. The message class is implied by the channel it travels on.
 *
 * - opcode: class-specific encoding (opcodes.ts)
 * - tag: 16-bit tag chosen by the master, echoed in NDR/DRS
 * - addr: byte address of the line (a multiple of 64; a 68B M2S Req may also carry Addr[5]);
 *   up to 52 bits, exact as a double
 * - snpType, metaField, metaValue: M2S fields; a Type-3 HDM-H device echoes MetaField No-Op
 * - ldId: logical device id (4 bits, 68B and 256B HBR)
 * - poison: RwD/DRS poison bit
 * - devLoad: S2M DevLoad (2 bits): 00 light ... 11 severe overload
 * - beLo, beHi: MemWrPtl byte enables for bytes 0..31 and 32..63 (bit i = byte i); 0 otherwise
 * - trp: 256B RwD/DRS trailer-present bit
 * - spid, dpid: 12-bit port ids for port-based routing (0 when unused)
 */
export const MEM_MSG_FIELDS = [
  'opcode',
  'tag',
  'addr',
  'snpType',
  'metaField',
  'metaValue',
  'ldId',
  'poison',
  'devLoad',
  'beLo',
  'beHi',
  'trp',
  'spid',
  'dpid',
] as const;
export type MemMsgField = (typeof MEM_MSG_FIELDS)[number];
export type MemMsgChannel = Channel<MemMsgField>;

/** Declare a channel, owned by `owner`, that carries CXL.mem messages (with a 64-byte data slab per slot). */
export function memMsgChannel(owner: Module, name: string, depth: number): MemMsgChannel {
  return new Channel<MemMsgField>(owner, name, depth, MEM_MSG_FIELDS, LINE_BYTES);
}

// clearMemMsg below names every field: a field added to the list must be added there too.
if (MEM_MSG_FIELDS.length !== 14) throw new Error('MemMsg: update clearMemMsg for the changed MEM_MSG_FIELDS');

/**
 * Clear every column of a slot (so a reused slot never carries stale fields). Every field by name:
 * V8 turns each into a fixed-offset store, where a loop over the field names looks each column up
 * by key (this runs for every answer the memory controller sends).
 */
export function clearMemMsg(ch: MemMsgChannel, slot: number): void {
  const c = ch.col;
  c.opcode[slot] = 0;
  c.tag[slot] = 0;
  c.addr[slot] = 0;
  c.snpType[slot] = 0;
  c.metaField[slot] = 0;
  c.metaValue[slot] = 0;
  c.ldId[slot] = 0;
  c.poison[slot] = 0;
  c.devLoad[slot] = 0;
  c.beLo[slot] = 0;
  c.beHi[slot] = 0;
  c.trp[slot] = 0;
  c.spid[slot] = 0;
  c.dpid[slot] = 0;
}
