import { type Channel, Module, Rng, SimContext, Simulator } from '../../src/sim/index.ts';
import { clearMemMsg, type MemMsgChannel } from '../../rtl/cxl/MemMsg.ts';
import type { FlitMode } from '../../rtl/cxl/MemFields.ts';
import { FlitPacker } from '../../rtl/flit/FlitPacker.ts';
import { FlitUnpacker } from '../../rtl/flit/FlitUnpacker.ts';

/** One message as the testbench sees it: the model's columns plus its 64-byte line (RwD/DRS). */
export interface MsgRec {
  opcode: number; tag: number; addr: number; snpType: number; metaField: number; metaValue: number;
  ldId: number; poison: number; devLoad: number; beLo: number; beHi: number; trp: number; spid: number; dpid: number;
  data: number[];
}
export const REC_FIELDS = ['opcode', 'tag', 'addr', 'snpType', 'metaField', 'metaValue', 'ldId', 'poison', 'devLoad', 'beLo', 'beHi', 'trp', 'spid', 'dpid'] as const;

export function readRec(ch: MemMsgChannel, slot: number, withData: boolean): MsgRec {
  const r = {} as MsgRec;
  for (const f of REC_FIELDS) r[f] = ch.col[f][slot]!;
  r.data = withData ? Array.from(ch.bytes.subarray(slot * 64, slot * 64 + 64)) : [];
  return r;
}
export function writeRec(ch: MemMsgChannel, slot: number, r: MsgRec): void {
  clearMemMsg(ch, slot);
  for (const f of REC_FIELDS) ch.col[f][slot] = r[f];
  for (let i = 0; i < 64; i++) ch.bytes[slot * 64 + i] = r.data[i] ?? 0;
}

/** Feeds scripted messages into a packer's four tx queues, one per class per cycle when there is room. */
export class Source extends Module {
  readonly next = [0, 0, 0, 0];
  constructor(parent: Module, name: string, readonly queues: MemMsgChannel[], readonly msgs: MsgRec[][], readonly perCycle = 1) {
    super(parent, name);
  }
  override onReset(): void {
    this.next.fill(0);
  }
  override evaluate(): void {
    for (let c = 0; c < 4; c++) {
      const q = this.queues[c]!;
      const list = this.msgs[c]!;
      for (let k = 0; k < this.perCycle && this.next[c]! < list.length && q.canPush(); k++) writeRec(q, q.push(), list[this.next[c]!++]!);
    }
  }
  get done(): boolean {
    return this.next.every((n, c) => n === this.msgs[c]!.length);
  }
}

/** Pops the four rx channels (all visible entries when popRate ≥ 1, else one with probability popRate), recording what it got. */
export class Sink extends Module {
  readonly got: MsgRec[][] = [[], [], [], []];
  private readonly rng: Rng;
  constructor(parent: Module, name: string, readonly chans: MemMsgChannel[], readonly popRate: number, seed: number) {
    super(parent, name);
    this.rng = new Rng(seed);
  }
  override evaluate(): void {
    for (let c = 0; c < 4; c++) {
      const ch = this.chans[c]!;
      // popRate ≥ 1: drain everything visible; otherwise at most one pop, with that probability.
      while (ch.valid() && (this.popRate >= 1 || this.rng.nextFloat() < this.popRate)) {
        const s = ch.pop();
        this.got[c]!.push(readRec(ch, s, c === 1 || c === 3));
        if (this.popRate < 1) break;
      }
    }
  }
}

/** A zero-error link stand-in: moves flits from one channel to another, one per cycle. */
export class DirectWire extends Module {
  flits = 0;
  constructor(parent: Module, name: string, readonly from: Channel<'kind' | 'seq'>, readonly to: Channel<'kind' | 'seq'>, readonly tap?: (bytes: Uint8Array, off: number, kind: number) => void) {
    super(parent, name);
  }
  override evaluate(): void {
    if (this.from.valid() && this.to.canPush()) {
      const s = this.from.pop();
      const d = this.to.push();
      this.from.copySlotTo(s, this.to, d);
      this.flits++;
      this.tap?.(this.from.bytes, s * 256, this.from.col.kind[s]!);
    }
  }
}

export class Top extends Module {
  constructor() {
    super(null, 'top', new SimContext(1));
  }
}

export interface PairOptions {
  mode: FlitMode;
  rxDepth?: number;
  txDepth?: number;
  popRate?: number;
  /** Messages per class per cycle the sources may push (default 1). */
  perCycle?: number;
  seed?: number;
  /** Called with every flit A sends (bytes at off, kind). */
  tapAB?: (bytes: Uint8Array, off: number, kind: number) => void;
  /** Called with every flit B sends. */
  tapBA?: (bytes: Uint8Array, off: number, kind: number) => void;
}

/** Two ports (packer + unpacker each) joined by direct wires both ways; a Source and a Sink per side. */
export function buildPair(msgsA: MsgRec[][], msgsB: MsgRec[][], o: PairOptions) {
  const top = new Top();
  const rx = o.rxDepth ?? 8;
  const depths = { req: rx, rwd: rx, ndr: rx, drs: rx };
  const mk = (n: string) => {
    const m = new (class extends Module {})(top, n);
    const unpacker = new FlitUnpacker(m, 'unpacker', { mode: o.mode, flitInDepth: 2, rxDepth: depths });
    const packer = new FlitPacker(m, 'packer', { mode: o.mode, txQueueDepth: o.txDepth ?? 4, flitOutDepth: 2, peerRxDepth: depths });
    packer.connectUnpacker(unpacker);
    return { m, packer, unpacker };
  };
  const a = mk('A');
  const b = mk('B');
  const srcA = new Source(a.m, 'src', [a.packer.txReq, a.packer.txRwD, a.packer.txNdr, a.packer.txDrs], msgsA, o.perCycle ?? 1);
  const srcB = new Source(b.m, 'src', [b.packer.txReq, b.packer.txRwD, b.packer.txNdr, b.packer.txDrs], msgsB, o.perCycle ?? 1);
  const sinkA = new Sink(a.m, 'sink', [a.unpacker.rxReq, a.unpacker.rxRwD, a.unpacker.rxNdr, a.unpacker.rxDrs], o.popRate ?? 1, (o.seed ?? 1) ^ 0x5a5a);
  const sinkB = new Sink(b.m, 'sink', [b.unpacker.rxReq, b.unpacker.rxRwD, b.unpacker.rxNdr, b.unpacker.rxDrs], o.popRate ?? 1, (o.seed ?? 1) ^ 0xa5a5);
  const wireAB = new DirectWire(top, 'wireAB', a.packer.flitOut, b.unpacker.flitIn, o.tapAB);
  const wireBA = new DirectWire(top, 'wireBA', b.packer.flitOut, a.unpacker.flitIn, o.tapBA);
  const sim = new Simulator(top, o.seed !== undefined ? { evalOrderSeed: o.seed } : {});
  return { top, sim, a, b, srcA, srcB, sinkA, sinkB, wireAB, wireBA };
}
