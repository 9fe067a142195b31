import { readFileSync } from 'node:fs';
import { checkCrc16Flit68, checkFlit256, Flit256Check, writeCrc16Flit68, writeCrcFec256 } from '../../bits/crc.ts';
import { getBits } from '../../bits/bitfield.ts';
import { Module, SimContext } from '../../sim/index.ts';
import { memMsgChannel, type MemMsgChannel } from '../../../rtl/cxl/MemMsg.ts';
import { compiledTable, decodeWireFields, type FlitMode } from '../../../rtl/cxl/MemFields.ts';
import { opcodeByName, opcodeName } from '../../../rtl/cxl/opcodeNames.ts';
import { M2SRwDOp, MSG_CLASS_NAMES, MsgClass } from '../../../rtl/cxl/opcodes.ts';
import { F68_BYTES, F68_FLIT_OFF, getHdr68, getLlCtrl68, getProtocolId68, getSubType68, HDR68_AK, HDR68_BE, HDR68_DATACRD, HDR68_DIR, HDR68_REQCRD, HDR68_RSPCRD, HDR68_SLOT_FMT, HDR68_SZ } from '../../../rtl/flit/Flit68.ts';
import { fmtName68 } from '../../../rtl/flit/Flit68Slots.ts';
import { Flit68Assembler } from '../../../rtl/flit/Flit68Assembler.ts';
import { Flit68Parser } from '../../../rtl/flit/Flit68Parser.ts';
import { F256_BYTES, getCrd256 } from '../../../rtl/flit/Flit256.ts';
import { Flit256Assembler } from '../../../rtl/flit/Flit256Assembler.ts';
import { Flit256Parser } from '../../../rtl/flit/Flit256Parser.ts';
import { FLAG_NAMES, type FlitAssembler, FlitKind, type FlitParser } from '../../../rtl/flit/FlitFormat.ts';
import { parseFlags } from '../args.ts';
import { type Command, UsageError } from '../command.ts';

const KIND_NAMES = ['protocol', 'all-data', 'control'];
/** JSON keys each class accepts (besides class, opcode, tag), with their bit widths. */
const KEYS: Record<string, Record<string, number>> = {
  M2SReq: { addr: 52, snpType: 3, metaField: 2, metaValue: 2, ldId: 4 },
  M2SRwD: { addr: 52, snpType: 3, metaField: 2, metaValue: 2, ldId: 4, poison: 1 },
  S2MNDR: { metaField: 2, metaValue: 2, ldId: 4, devLoad: 2 },
  S2MDRS: { metaField: 2, metaValue: 2, ldId: 4, devLoad: 2, poison: 1 },
};
const OPCODE_BITS = [4, 4, 3, 3];

export interface MsgJson {
  class: string;
  opcode: string;
  tag: number;
  [k: string]: string | number;
}

class Holder extends Module {}

function makeChannels(n: number): MemMsgChannel[] {
  const h = new Holder(null, 'flit', new SimContext(1));
  return [0, 1, 2, 3].map((c) => memMsgChannel(h, `c${c}`, n));
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function parseHexInput(arg: string, flitBytes: number): Uint8Array {
  let text = arg;
  if (arg.startsWith('@')) {
    try {
      text = readFileSync(arg.slice(1), 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read ${arg.slice(1)}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const clean = text.replace(/0x/gi, '').replace(/[\s,_:]/g, '');
  if (!/^[0-9a-fA-F]*$/.test(clean)) throw new UsageError(`input is not hex (offending character '${/[^0-9a-fA-F]/.exec(clean)![0]}')`);
  if (clean.length % 2 !== 0) throw new UsageError(`odd number of hex digits (${clean.length}): bytes need two digits each`);
  const n = clean.length / 2;
  if (n === 0 || n % flitBytes !== 0) throw new UsageError(`${n} bytes is not a whole number of ${flitBytes}-byte flits`);
  return new Uint8Array(Buffer.from(clean, 'hex'));
}

function modeOf(v: string | undefined): FlitMode {
  if (v === undefined || v === '68') return 68;
  if (v === '256') return 256;
  throw new UsageError(`--mode must be 68 or 256, got '${v}'`);
}

/** Analyse a sequence of flits: every header's wire fields, every completed message, flags, credits, CRC. */
export function decodeFlits(bytes: Uint8Array, mode: FlitMode) {
  const fb = mode === 68 ? F68_BYTES : F256_BYTES;
  const parser: FlitParser = mode === 68 ? new Flit68Parser() : new Flit256Parser();
  const chans = makeChannels(256);
  const messages: MsgJson[] = [];
  const pendingByClass: MsgJson[][] = [[], [], [], []];
  const flits: Record<string, unknown>[] = [];
  let headers: Record<string, unknown>[] = [];
  parser.onHeader = (cls, buf, base, bit, slot) => {
    const fields = Object.fromEntries(decodeWireFields(compiledTable(mode, cls as MsgClass), buf, base, bit));
    headers.push({ slot, class: MSG_CLASS_NAMES[cls], fields });
    const m = toJson(cls, fields, mode);
    messages.push(m);
    pendingByClass[cls]!.push(m);
  };
  for (let i = 0; i * fb < bytes.length; i++) {
    const buf = new Uint8Array(256);
    buf.set(bytes.subarray(i * fb, (i + 1) * fb));
    headers = [];
    let crc: string;
    if (mode === 68) crc = checkCrc16Flit68(buf, F68_FLIT_OFF) ? 'ok' : 'bad';
    else {
      const copy = Uint8Array.from(buf);
      const r = checkFlit256(copy, 0);
      crc = r === Flit256Check.Clean ? 'ok' : r === Flit256Check.Corrected ? 'corrected' : 'bad';
    }
    const owedBefore = parser.owed;
    parser.parse(buf, 0, chans);
    const info: Record<string, unknown> = { index: i, kind: KIND_NAMES[parser.kind], crc };
    if (mode === 68) {
      info.protocolId = `0x${getProtocolId68(buf, 0).toString(16).padStart(4, '0')}`;
      if (parser.kind !== FlitKind.AllData) {
        const dir = getHdr68(buf, 0, HDR68_DIR, 1);
        info.header = {
          Ak: getHdr68(buf, 0, HDR68_AK, 1), BE: getHdr68(buf, 0, HDR68_BE, 1), Sz: getHdr68(buf, 0, HDR68_SZ, 1),
          direction: dir === 1 ? 'S2M' : 'M2S',
          slots: HDR68_SLOT_FMT.map((p, s) => fmtName68(s > 0, getHdr68(buf, 0, p, 3))),
          RspCrd: getHdr68(buf, 0, HDR68_RSPCRD, 4), ReqCrd: getHdr68(buf, 0, HDR68_REQCRD, 4), DataCrd: getHdr68(buf, 0, HDR68_DATACRD, 4),
        };
        if (parser.kind === FlitKind.Control) info.control = { LLCTRL: getLlCtrl68(buf, 0), SubType: getSubType68(buf, 0) };
      }
    } else {
      info.flitType = buf[0]! >> 6;
      info.slotFormats = Array.from({ length: 15 }, (_, s) => getBits(buf, s === 0 ? 2 : 16 * s, 0, 4));
      info.crd = [0, 1, 2].map((f) => getCrd256(buf, 0, f));
    }
    info.dataOwedBefore = owedBefore;
    info.credits = Object.fromEntries(MSG_CLASS_NAMES.map((n, c) => [n, parser.credits[c]!]));
    info.flags = FLAG_NAMES.filter((_, b) => (parser.flags & (1 << b)) !== 0);
    info.headers = headers;
    flits.push(info);
    // Completed messages come out per class in header order: attach their data.
    for (let c = 0; c < 4; c++) {
      const ch = chans[c]!;
      ch.commit();
      while (ch.valid()) {
        const s = ch.pop();
        const m = pendingByClass[c]!.shift();
        if (!m) continue;
        if (c === MsgClass.M2SRwD || c === MsgClass.S2MDRS) {
          m.data = hex(ch.bytes.subarray(s * 64, s * 64 + 64));
          if (c === MsgClass.M2SRwD && ch.col.opcode[s] === M2SRwDOp.MemWrPtl) m.be = beHex(ch.col.beLo[s]!, ch.col.beHi[s]!);
        }
      }
      ch.commit();
    }
  }
  const incomplete = pendingByClass.flat().filter((m) => m.data === undefined && (m.class === 'M2SRwD' || m.class === 'S2MDRS')).length;
  return { mode, messages, flits, incomplete };
}

function beHex(lo: number, hi: number): string {
  return `0x${hi.toString(16).padStart(8, '0')}${lo.toString(16).padStart(8, '0')}`;
}

function toJson(cls: number, f: Record<string, number>, mode: FlitMode): MsgJson {
  const name = MSG_CLASS_NAMES[cls]!;
  const m: MsgJson = { class: name, opcode: opcodeName(cls as MsgClass, (f.MemOpcode ?? f.Opcode)!), tag: f.Tag! };
  if (f.Address !== undefined) m.addr = `0x${(f.Address * 64 + (f.Addr5 ?? 0) * 32).toString(16)}`;
  if (f.SnpType !== undefined) m.snpType = f.SnpType;
  m.metaField = f.MetaField!;
  m.metaValue = f.MetaValue!;
  m.ldId = f.LdId!;
  if (f.DevLoad !== undefined) m.devLoad = f.DevLoad;
  if (f.Poison !== undefined) m.poison = f.Poison;
  void mode;
  return m;
}

/** Validate one JSON message; returns [class, columns, data, beLo, beHi]. Throws UsageError naming the message and field. */
function fromJson(raw: unknown, i: number, mode: FlitMode) {
  const where = `messages[${i}]`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UsageError(`${where}: must be an object`);
  const o = raw as Record<string, unknown>;
  const cls = MSG_CLASS_NAMES.indexOf(o.class as (typeof MSG_CLASS_NAMES)[number]);
  if (cls < 0) throw new UsageError(`${where}.class: must be one of ${MSG_CLASS_NAMES.join(', ')}, got ${JSON.stringify(o.class)}`);
  const keys = KEYS[o.class as string]!;
  const hasData = cls === MsgClass.M2SRwD || cls === MsgClass.S2MDRS;
  const cols: Record<string, number> = {};
  for (const k of Object.keys(o)) {
    if (k === 'class' || k === 'opcode' || k === 'tag' || k in keys) continue;
    if (hasData && k === 'data') continue;
    if (cls === MsgClass.M2SRwD && k === 'be') continue;
    throw new UsageError(`${where}.${k}: unknown field for ${o.class}`);
  }
  let opcode: number | undefined;
  if (typeof o.opcode === 'string') opcode = opcodeByName(cls as MsgClass, o.opcode);
  else if (Number.isInteger(o.opcode) && (o.opcode as number) >= 0 && (o.opcode as number) < 2 ** OPCODE_BITS[cls]!) opcode = o.opcode as number;
  if (opcode === undefined) throw new UsageError(`${where}.opcode: unknown ${o.class} opcode ${JSON.stringify(o.opcode)}`);
  cols.opcode = opcode;
  const num = (k: string, bits: number): number => {
    const v = o[k];
    if (v === undefined) return 0;
    const n = typeof v === 'string' && /^0x[0-9a-f]+$/i.test(v) ? Number.parseInt(v.slice(2), 16) : typeof v === 'number' ? v : Number.NaN;
    if (!Number.isInteger(n) || n < 0 || n >= 2 ** bits) throw new UsageError(`${where}.${k}: must be an integer 0..2^${bits}-1, got ${JSON.stringify(v)}`);
    return n;
  };
  cols.tag = num('tag', 16);
  for (const [k, bits] of Object.entries(keys)) cols[k] = num(k, bits);
  if (cols.addr !== undefined) {
    const align = mode === 68 && cls === MsgClass.M2SReq ? 32 : 64;
    if (cols.addr % align !== 0) throw new UsageError(`${where}.addr: must be a multiple of ${align} in ${mode}B ${o.class}`);
  }
  const data = new Uint8Array(64);
  if (hasData && o.data !== undefined) {
    const d = typeof o.data === 'string' ? o.data.replace(/^0x/i, '') : '';
    if (!/^[0-9a-fA-F]{128}$/.test(d)) throw new UsageError(`${where}.data: must be 64 bytes of hex (128 digits)`);
    data.set(Buffer.from(d, 'hex'));
  }
  let beLo = 0;
  let beHi = 0;
  if (o.be !== undefined) {
    if (opcode !== M2SRwDOp.MemWrPtl) throw new UsageError(`${where}.be: byte enables belong to MemWrPtl only`);
    const d = typeof o.be === 'string' ? o.be.replace(/^0x/i, '') : '';
    if (!/^[0-9a-fA-F]{16}$/.test(d)) throw new UsageError(`${where}.be: must be 8 bytes of hex (16 digits, byte 63 first)`);
    beHi = Number.parseInt(d.slice(0, 8), 16);
    beLo = Number.parseInt(d.slice(8), 16);
  }
  return { cls, cols, data, beLo, beHi };
}

/** Pack a message list into flits (in list order; per-class order kept), CRC/FEC filled. */
export function encodeMessages(list: unknown[], mode: FlitMode): Uint8Array[] {
  const msgs = list.map((m, i) => fromJson(m, i, mode));
  const chans = makeChannels(Math.max(1, msgs.length));
  msgs.forEach((m, i) => {
    const ch = chans[m.cls]!;
    for (const [k, v] of Object.entries(m.cols)) (ch.col as Record<string, Float64Array>)[k]![i] = v;
    ch.col.beLo[i] = m.beLo;
    ch.col.beHi[i] = m.beHi;
    if (mode === 256 && m.cls === MsgClass.M2SRwD && m.cols.opcode === M2SRwDOp.MemWrPtl) ch.col.trp[i] = 1;
    ch.bytes.set(m.data, i * 64);
  });
  const asm: FlitAssembler = mode === 68 ? new Flit68Assembler() : new Flit256Assembler();
  const fb = mode === 68 ? F68_BYTES : F256_BYTES;
  const out: Uint8Array[] = [];
  let next = 0;
  const sent = new Array<boolean>(msgs.length).fill(false);
  while (next < msgs.length || asm.owed > 0) {
    const buf = new Uint8Array(256);
    asm.begin(buf, 0);
    const blocked = [false, false, false, false];
    for (let i = next; i < msgs.length; i++) {
      const c = msgs[i]!.cls;
      if (sent[i] || blocked[c]) continue;
      if (asm.canAdd(c as MsgClass, chans[c]!, i)) {
        asm.add(c as MsgClass, chans[c]!, i);
        sent[i] = true;
      } else blocked[c] = true; // keep per-class order
    }
    while (next < msgs.length && sent[next]) next++;
    if (asm.count === 0 && asm.owed === 0 && next < msgs.length) throw new Error('encode: a message fits no flit');
    asm.finish(0, 0, 0, 0);
    if (mode === 68) writeCrc16Flit68(buf, F68_FLIT_OFF);
    else writeCrcFec256(buf, 0);
    out.push(buf.slice(0, fb));
  }
  return out;
}

function printText(r: ReturnType<typeof decodeFlits>, out: (t: string) => void): void {
  for (const f of r.flits) {
    const fl = f.flags as string[];
    out(`flit ${f.index}: ${f.kind}  crc ${f.crc}${fl.length ? `  ILLEGAL: ${fl.join(', ')}` : ''}\n`);
    if (f.protocolId) out(`  protocol ID ${f.protocolId}\n`);
    if (f.header) out(`  header ${JSON.stringify(f.header)}\n`);
    if (f.control) out(`  control ${JSON.stringify(f.control)}\n`);
    if (f.slotFormats) out(`  flit type ${f.flitType}  slot formats ${(f.slotFormats as number[]).map((x) => x.toString(2).padStart(4, '0')).join(' ')}  CRD ${JSON.stringify(f.crd)}\n`);
    out(`  data owed before: ${f.dataOwedBefore}  credits returned: ${JSON.stringify(f.credits)}\n`);
    for (const h of f.headers as { slot: number; class: string; fields: Record<string, number> }[]) {
      const fields = Object.entries(h.fields).map(([k, v]) => `${k}=${k === 'Address' ? `0x${(v * 64).toString(16)}` : k.endsWith('Opcode') || k === 'Opcode' ? `${v}(${opcodeName(MSG_CLASS_NAMES.indexOf(h.class as never) as MsgClass, v)})` : v}`);
      out(`  slot ${h.slot} ${h.class}: ${fields.join(' ')}\n`);
    }
  }
  if (r.incomplete > 0) out(`${r.incomplete} data message(s) still waiting for data at the end\n`);
}

export const command: Command = {
  name: 'flit',
  summary: 'decode flits like a protocol analyser, or encode messages into flits (68B / 256B)',
  usage: [
    'usage: cxlfab flit decode <hex|@file> [--json] [--mode 68|256]',
    '       cxlfab flit encode <json|@file> [--mode 68|256]',
    '',
    'decode: hex bytes of one or more whole flits (68 bytes each: protocol ID, flit, CRC; or 256).',
    '  Prints every field of every message, the header, credits, CRC check and packing violations.',
    '  --json prints { mode, messages: [...], flits: [...] }; its `messages` is what encode takes.',
    'encode: a JSON list of messages, or { "mode": 68|256, "messages": [...] }; prints one flit per',
    '  line in hex with CRC (and FEC) filled. Message fields: class (M2SReq|M2SRwD|S2MNDR|S2MDRS),',
    '  opcode (name, e.g. MemRd, MemWrPtl, Cmp-E, MemData-NXM, or number), tag, addr (hex string),',
    '  snpType, metaField, metaValue, ldId, poison, devLoad, data (128 hex digits), be (16 hex digits).',
    '  --mode  flit format (default 68; a JSON "mode" wins when --mode is not given)',
  ].join('\n'),
  async run(args, io) {
    const { values, positionals } = parseFlags(args, { json: { type: 'boolean' }, mode: { type: 'string' } });
    const [sub, input, ...rest] = positionals;
    if (sub !== 'decode' && sub !== 'encode') throw new UsageError(`expected 'decode' or 'encode', got ${sub === undefined ? 'nothing' : `'${sub}'`}`);
    if (input === undefined) throw new UsageError(`${sub}: missing input (hex/JSON text or @file)`);
    if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`);
    if (sub === 'decode') {
      const mode = modeOf(values.mode);
      const bytes = parseHexInput(input, mode === 68 ? F68_BYTES : F256_BYTES);
      const r = decodeFlits(bytes, mode);
      if (values.json) io.out(`${JSON.stringify({ mode: r.mode, messages: r.messages, flits: r.flits }, null, 2)}\n`);
      else printText(r, io.out);
      return 0;
    }
    let text = input;
    if (input.startsWith('@')) {
      try {
        text = readFileSync(input.slice(1), 'utf8');
      } catch (e) {
        throw new UsageError(`cannot read ${input.slice(1)}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new UsageError(`input is not JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
    let list: unknown;
    let mode = modeOf(values.mode);
    if (Array.isArray(doc)) list = doc;
    else if (typeof doc === 'object' && doc !== null && Array.isArray((doc as { messages?: unknown }).messages)) {
      list = (doc as { messages: unknown[] }).messages;
      const jm = (doc as { mode?: unknown }).mode;
      if (values.mode === undefined && jm !== undefined) mode = modeOf(String(jm));
    } else throw new UsageError('expected a JSON array of messages or an object with a "messages" array');
    for (const f of encodeMessages(list as unknown[], mode)) io.out(`${hex(f)}\n`);
    return 0;
  },
};
