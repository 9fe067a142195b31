import { ConfigError, Module, type Reg } from '../../src/sim/index.ts';
import { MEM_MSG_FIELDS, type MemMsgChannel } from '../cxl/MemMsg.ts';
import { LINE_BYTES, M2SReqOp, M2SRwDOp, MetaField, S2MDRSOp, S2MNDROp, SnpType } from '../cxl/opcodes.ts';
import { HostOp, HostRoute, HostStatus, hostReqChannel, hostRspChannel, type HostReqChannel, type HostRspChannel } from '../host/HostMsg.ts';
import { copyLine, fillLine, lineWords } from '../cxl/LineWords.ts';
import { DramOp, type DramReqChannel, type DramRspChannel } from '../memory/DramMsg.ts';
import { AddressRangeTable, LookupResult, LookupStatus, TARGET_LOCAL } from './AddressRangeTable.ts';

/** Device tags are 16 bits on the wire (M2S/S2M Tag field, reference/cxl-protocol.md §1); the
 * pool is further bounded by the waveform bitmap of outstanding tags (4096 bits). */
export const MAX_TAG_POOL = 4096;
/** Node ids are 12-bit SPID/DPID port ids (rtl/cxl/MemMsg.ts). */
export const MAX_NODE_ID = 4095;
// sendM2S writes every M2S column by name: a field added to the list must be added there too.
if (MEM_MSG_FIELDS.length !== 14) throw new Error('RequestDecoder: update sendM2S for the changed MEM_MSG_FIELDS');

/**
 * A lookup-pipeline entry and an outstanding request are records of numbers next to each other in
 * one Float64Array (one or two cache lines per message instead of one typed array per field). The
 * places are `const enum`s, which the TypeScript transform writes into the code as literal numbers:
 * a module-level constant or a constant object's field is loaded and type-checked at every use.
 */
const enum Pipe { hostTag = 0, src = 1, vm = 2, op = 3, addr = 4, beLo = 5, beHi = 6, issueCycle = 7, ready = 8, stride = 9 }
const enum Out { valid = 0, local = 1, hostTag = 2, src = 3, vm = 4, op = 5, addr = 6, issueCycle = 7, stride = 8 }
/**
 * The per-message code's other numbers, const enums for the same reason: LOOKUP_NONE (below) and
 * mirrors of HostOp, HostStatus, HostRoute, DramOp, LookupStatus, TARGET_LOCAL and the CXL opcodes
 * the decoder writes or checks (checked at load).
 */
const enum Dec {
  /** Byte-enable word with all 32 bytes enabled (a full-line write on the DRAM port). */
  allBytesEnabled = 0xffffffff,
  /** Data of an unclaimed read: all ones (§5.6). */
  nxmDataByte = 0xff,
  lookupNone = 7,
  targetLocal = -1,
}
const enum Op { Read = 0, Write = 1, WritePartial = 2 }
const enum Status { Ok = 0, Nxm = 1 }
const enum Route { Local = 0, Remote = 1, Error = 2 }
const enum DOp { Read = 0, Write = 1 }
const enum Lookup { Hit = 0, ReadDenied = 3, WriteDenied = 4 }
const enum Cxl { memRd = 0b0001, memWr = 0b0001, memWrPtl = 0b0010, snpNoOp = 0b000, metaNoOp = 0b11, drsMemDataNXM = 0b001, ndrCmp = 0b000 }

/** Value of the `lastLookup` waveform register when no lookup finished this cycle. */
export const LOOKUP_NONE = 7;
if (
  Dec.lookupNone !== LOOKUP_NONE || Dec.targetLocal !== TARGET_LOCAL ||
  HostOp.Read !== Op.Read || HostOp.Write !== Op.Write || HostOp.WritePartial !== Op.WritePartial || HostStatus.Ok !== Status.Ok || HostStatus.Nxm !== Status.Nxm ||
  HostRoute.Local !== Route.Local || HostRoute.Remote !== Route.Remote || HostRoute.Error !== Route.Error || DramOp.Read !== DOp.Read || DramOp.Write !== DOp.Write ||
  LookupStatus.Hit !== Lookup.Hit || LookupStatus.ReadDenied !== Lookup.ReadDenied || LookupStatus.WriteDenied !== Lookup.WriteDenied ||
  M2SReqOp.MemRd !== Cxl.memRd || M2SRwDOp.MemWr !== Cxl.memWr || M2SRwDOp.MemWrPtl !== Cxl.memWrPtl || SnpType.NoOp !== Cxl.snpNoOp || MetaField.NoOp !== Cxl.metaNoOp ||
  S2MDRSOp.MemDataNXM !== Cxl.drsMemDataNXM || S2MNDROp.Cmp !== Cxl.ndrCmp
) {
  throw new Error('RequestDecoder: a const enum mirror disagrees with the constant it mirrors');
}

/**
 * Named pipeline stages, so tests and the latency report can add them up:
 * - HOST_IN_STAGE: hostIn is a registered channel, a request pushed in cycle c is popped in c+1;
 * - lookup stage: `lookupLatencyCycles` (a parameter, from ns via nsToCycles by the composer);
 * - ISSUE_STAGE: the M2S/DRAM/error push is registered, seen by the next module one cycle later.
 * Idle issue latency (host push -> message visible at the packer) = HOST_IN_STAGE + lookup + ISSUE_STAGE.
 * Return path: S2M pushed in cycle r is popped in r+1 (S2M_IN_STAGE) and the HostRsp pushed then
 * is seen in r+2 (HOST_OUT_STAGE).
 */
export const HOST_IN_STAGE_CYCLES = 1;
export const ISSUE_STAGE_CYCLES = 1;
export const S2M_IN_STAGE_CYCLES = 1;
export const HOST_OUT_STAGE_CYCLES = 1;

export interface RequestDecoderParams {
  /** This node's id: SPID of every M2S message; a decoder target equal to it means local DRAM. */
  readonly nodeId: number;
  readonly table: AddressRangeTable;
  /** Cycles a request spends in the lookup stage (≥ 0). */
  readonly lookupLatencyCycles: number;
  /** Device tags available for outstanding requests (1..4096). */
  readonly tagPoolSize: number;
  readonly hostInDepth?: number;
  readonly hostOutDepth?: number;
  /** FlitPacker input queues (owned by the packer): M2S Req and RwD. */
  readonly m2sReq: MemMsgChannel;
  readonly m2sRwd: MemMsgChannel;
  /** FlitUnpacker output queues (owned by the unpacker), popped here: S2M NDR and DRS. */
  readonly s2mNdr: MemMsgChannel;
  readonly s2mDrs: MemMsgChannel;
  /** Optional local DRAM port, for pages a page override made local. */
  readonly dramReq?: DramReqChannel;
  readonly dramRsp?: DramRspChannel;
}

/**
 * The device's request decoder: takes host requests whose HPA falls in the device window, looks
 * them up in the AddressRangeTable, sends hits to the owning node as CXL.mem M2S Req (MemRd) or
 * RwD (MemWr/MemWrPtl) with a device tag, and turns the S2M answer back into a host response.
 * Misses and refused requests get the CXL error answer (§5.6) and send nothing.
 *
 * Per cycle (order inside one evaluate() does not affect other modules):
 * 1. apply page-override changes staged in earlier cycles (the table's commit point);
 * 2. retire at most one S2M DRS, one S2M NDR and one DRAM response into hostOut;
 * 3. accept one host request into the lookup pipeline when it has room (else hostIn fills:
 *    back-pressure, nothing lost);
 * 4. issue the oldest request whose lookup is done: it needs a free tag and room in the target
 *    queue (or room in hostOut for an error answer), else it waits and the pipeline fills.
 * The table is read at issue, so a page flip committed at a cycle boundary governs every request
 * issued after it.
 */
export class RequestDecoder extends Module {
  readonly hostIn: HostReqChannel;
  readonly hostOut: HostRspChannel;
  readonly table: AddressRangeTable;
  readonly nodeId: number;
  readonly lookupLatencyCycles: number;
  readonly tagPoolSize: number;

  // Statistics (plain counters, cleared at reset).
  /** Requests that decoded to a location (remote or local). */
  hits = 0;
  /** Requests no committed decoder claimed (answered Nxm). */
  misses = 0;
  /** Requests a decoder claimed but the requester was not granted (answered Nxm). */
  refused = 0;
  /** Hits served by local DRAM because of a page override (or a decoder targeting this node). */
  localHits = 0;
  /** Cycles the head request waited for a free tag. */
  tagStalls = 0;
  /** Cycles the head request waited for room in the packer (or DRAM) queue. */
  queueStalls = 0;

  private readonly m2sReq: MemMsgChannel;
  private readonly m2sRwd: MemMsgChannel;
  private readonly s2mNdr: MemMsgChannel;
  private readonly s2mDrs: MemMsgChannel;
  private readonly dramReq: DramReqChannel | null;
  private readonly dramRsp: DramRspChannel | null;
  private readonly res = new LookupResult();

  // Lookup pipeline: an in-order queue, capacity lookup+1 so it accepts one request per cycle.
  private readonly pCap: number;
  /** Entry records (Pipe places, Pipe.stride numbers each): the request and the cycle its lookup is done. */
  private readonly pipe: Float64Array;
  private readonly pData: Uint8Array;
  /** `pData` as 32-bit words (LINE_WORDS per entry). */
  private readonly pWords: Uint32Array;
  private pHead = 0;
  private pCount = 0;

  // Tag pool (FIFO of free tags: a just-freed tag is reused last, which exposes stale answers).
  private readonly freeTags: Int32Array;
  private fHead = 0;
  private fCount = 0;

  /** Outstanding table: a record (Out places, Out.stride numbers) per device tag. */
  private readonly out: Float64Array;
  /** Bit t = tag t outstanding; shown as one wide waveform signal. */
  private readonly oBitmap: Uint8Array;
  private oCount = 0;

  // Waveform registers: mirrors of the state above, written where that state changes (a register
  // holds its value when not written), not every cycle.
  private readonly rTagsFree: Reg;
  private readonly rOutstanding: Reg;
  private readonly rPipe: Reg;
  private readonly rLastLookup: Reg;
  /** rLastLookup shows a lookup result this cycle; it goes back to Dec.lookupNone next cycle. */
  private lookupShown = false;
  private readonly rLastTag: Reg;

  // Taken once at construction for the per-message code (speed only; the same values move):
  // word views (lineWords) of every line slab a line is copied to or from, so a line moves in 16
  // word steps instead of 64 byte steps.
  private readonly hostInWords: Uint32Array;
  private readonly hostOutWords: Uint32Array;
  private readonly m2sReqWords: Uint32Array;
  private readonly m2sRwdWords: Uint32Array;
  private readonly s2mDrsWords: Uint32Array;
  private readonly dramReqWords: Uint32Array | null;
  private readonly dramRspWords: Uint32Array | null;

  constructor(parent: Module, name: string, p: RequestDecoderParams) {
    super(parent, name);
    if (!(Number.isInteger(p.nodeId) && p.nodeId >= 0 && p.nodeId <= MAX_NODE_ID)) throw new ConfigError(`${this.path}.nodeId`, `must be an integer 0..${MAX_NODE_ID}, got ${p.nodeId}`);
    if (!(Number.isInteger(p.lookupLatencyCycles) && p.lookupLatencyCycles >= 0)) {
      throw new ConfigError(`${this.path}.lookupLatencyCycles`, `must be an integer ≥ 0, got ${p.lookupLatencyCycles}`);
    }
    if (!(Number.isInteger(p.tagPoolSize) && p.tagPoolSize >= 1 && p.tagPoolSize <= MAX_TAG_POOL)) {
      throw new ConfigError(`${this.path}.tagPoolSize`, `must be an integer 1..${MAX_TAG_POOL}, got ${p.tagPoolSize}`);
    }
    if ((p.dramReq === undefined) !== (p.dramRsp === undefined)) throw new ConfigError(`${this.path}.dramReq/dramRsp`, 'give both DRAM channels or neither');
    this.table = p.table;
    this.nodeId = p.nodeId;
    this.lookupLatencyCycles = p.lookupLatencyCycles;
    this.tagPoolSize = p.tagPoolSize;
    this.m2sReq = p.m2sReq;
    this.m2sRwd = p.m2sRwd;
    this.s2mNdr = p.s2mNdr;
    this.s2mDrs = p.s2mDrs;
    this.dramReq = p.dramReq ?? null;
    this.dramRsp = p.dramRsp ?? null;
    // Without a DRAM port nothing may route locally: refuse local overrides, and decoders aiming here.
    p.table.localOverridesAllowed = this.dramReq !== null;
    if (this.dramReq === null) {
      for (let d = 0; d < p.table.entries; d++) {
        const info = p.table.isCommitted(d) ? p.table.info(d) : null;
        if (info && info.targets.includes(p.nodeId)) {
          throw new ConfigError(`${this.path}.table.decoders[${d}].targets`, `names this node (${p.nodeId}) but the decoder has no local DRAM port`);
        }
      }
    }
    this.hostIn = hostReqChannel(this, 'hostIn', p.hostInDepth ?? 4);
    this.hostOut = hostRspChannel(this, 'hostOut', p.hostOutDepth ?? 4);

    const cap = p.lookupLatencyCycles + 1;
    this.pCap = cap;
    this.pipe = new Float64Array(cap * Pipe.stride);
    this.pData = new Uint8Array(cap * LINE_BYTES);
    this.pWords = lineWords(this.pData);
    this.hostInWords = lineWords(this.hostIn.bytes);
    this.hostOutWords = lineWords(this.hostOut.bytes);
    this.m2sReqWords = lineWords(p.m2sReq.bytes);
    this.m2sRwdWords = lineWords(p.m2sRwd.bytes);
    this.s2mDrsWords = lineWords(p.s2mDrs.bytes);
    this.dramReqWords = p.dramReq ? lineWords(p.dramReq.bytes) : null;
    this.dramRspWords = p.dramRsp ? lineWords(p.dramRsp.bytes) : null;

    const t = p.tagPoolSize;
    this.freeTags = new Int32Array(t);
    this.out = new Float64Array(t * Out.stride);
    this.oBitmap = new Uint8Array(Math.ceil(t / 8));

    const countBits = Math.max(1, Math.ceil(Math.log2(t + 1)));
    this.rTagsFree = this.reg('tagsFree', countBits, t);
    this.rOutstanding = this.reg('outstanding', countBits, 0);
    this.rPipe = this.reg('lookupPipe', Math.max(1, Math.ceil(Math.log2(cap + 1))), 0);
    this.rLastLookup = this.reg('lastLookup', 3, Dec.lookupNone);
    this.rLastTag = this.reg('lastIssuedTag', 16, 0);
    // One fill for all of this module's probes: the tracer calls it once per cycle, not a closure per probe.
    this.probeGroup(['hits', 'misses', 'refused', 'tagStallCycles'], [32, 32, 32, 32], (v) => {
      v[0] = this.hits;
      v[1] = this.misses;
      v[2] = this.refused;
      v[3] = this.tagStalls;
    });
    this.wideProbe('outstandingTags', t, this.oBitmap);
    this.resetState();
  }

  /** Requests sent and not yet answered (the migration engine waits for this to drain). */
  get outstandingCount(): number {
    return this.oCount;
  }

  /** Requests accepted from hostIn and still in the lookup stage. */
  get inLookup(): number {
    return this.pCount;
  }

  override onReset(): void {
    this.resetState();
  }

  private resetState(): void {
    this.pHead = 0;
    this.pCount = 0;
    this.lookupShown = false;
    this.fHead = 0;
    this.fCount = this.tagPoolSize;
    for (let i = 0; i < this.tagPoolSize; i++) this.freeTags[i] = i;
    this.out.fill(0);
    this.oBitmap.fill(0);
    this.oCount = 0;
    this.hits = 0;
    this.misses = 0;
    this.refused = 0;
    this.localHits = 0;
    this.tagStalls = 0;
    this.queueStalls = 0;
    this.table.clearOverrides();
  }

  override evaluate(): void {
    const now = this.ctx.cycle;
    this.table.applyStagedOverrides(now);
    // === true, not a truthiness test: see HostRouter.evaluate.
    if (this.lookupShown === true) {
      this.rLastLookup.d = Dec.lookupNone;
      this.lookupShown = false;
    }

    if (this.s2mDrs.valid() && this.hostOut.canPush()) this.retireDrs();
    if (this.s2mNdr.valid() && this.hostOut.canPush()) this.retireNdr();
    const dramRsp = this.dramRsp;
    if (dramRsp !== null && dramRsp.valid() && this.hostOut.canPush()) this.retireDram(dramRsp);

    if (this.hostIn.valid() && this.pCount < this.pCap) this.accept(now);
    if (this.pCount > 0 && this.pipe[this.pHead * Pipe.stride + Pipe.ready]! <= now) this.issue();
  }

  private accept(now: number): void {
    const s = this.hostIn.pop();
    const c = this.hostIn.col;
    // pHead < pCap and pCount < pCap here, so one conditional subtract replaces `%`.
    let i = this.pHead + this.pCount;
    if (i >= this.pCap) i -= this.pCap;
    const p = this.pipe;
    const e = i * Pipe.stride;
    p[e + Pipe.hostTag] = c.hostTag[s]!;
    p[e + Pipe.src] = c.src[s]!;
    p[e + Pipe.vm] = c.vm[s]!;
    p[e + Pipe.op] = c.op[s]!;
    p[e + Pipe.addr] = c.addr[s]!;
    p[e + Pipe.beLo] = c.beLo[s]!;
    p[e + Pipe.beHi] = c.beHi[s]!;
    p[e + Pipe.issueCycle] = c.issueCycle[s]!;
    p[e + Pipe.ready] = now + this.lookupLatencyCycles;
    // A Read's line is don't-care (HostMsg) and sendM2S / sendDram send none: only writes keep theirs.
    if (c.op[s] !== Op.Read) copyLine(this.hostInWords, s, this.pWords, i);
    this.pCount++;
    this.rPipe.d = this.pCount;
  }

  /** Try to send the head of the lookup pipeline on; leaves it in place when something is full. */
  private issue(): void {
    const i = this.pHead;
    const p = this.pipe;
    const e = i * Pipe.stride;
    const op = p[e + Pipe.op]!;
    if (op !== Op.Read && op !== Op.Write && op !== Op.WritePartial) this.fail(`host request with unknown op ${op}`);
    const isWrite = op !== Op.Read;
    const res = this.res;
    this.table.lookupAt(p, e + Pipe.addr, p[e + Pipe.vm]!, isWrite, res);
    if (res.status !== Lookup.Hit) {
      if (!this.hostOut.canPush()) {
        this.hostOut.stall();
        return;
      }
      this.answerError(i, isWrite);
      if (res.status === Lookup.ReadDenied || res.status === Lookup.WriteDenied) this.refused++;
      else this.misses++;
      this.rLastLookup.d = res.status;
      this.lookupShown = true;
      this.popPipe();
      return;
    }
    const local = res.target === Dec.targetLocal || res.target === this.nodeId;
    if (local && this.dramReq === null) this.fail(`HPA ${p[e + Pipe.addr]} decodes to this node but there is no local DRAM port`);
    if (this.fCount === 0) {
      this.tagStalls++;
      return;
    }
    const q = local ? this.dramReq! : isWrite ? this.m2sRwd : this.m2sReq;
    if (!q.canPush()) {
      q.stall();
      this.queueStalls++;
      return;
    }
    const tag = this.freeTags[this.fHead]!;
    this.fHead = this.fHead + 1 === this.tagPoolSize ? 0 : this.fHead + 1;
    this.fCount--;
    const o = this.out;
    const t = tag * Out.stride;
    if (o[t + Out.valid] !== 0) this.fail(`tag ${tag} allocated while still outstanding`);
    o[t + Out.valid] = 1;
    this.oBitmap[tag >>> 3]! |= 1 << (tag & 7);
    this.oCount++;
    this.rTagsFree.d = this.fCount;
    this.rOutstanding.d = this.oCount;
    o[t + Out.local] = local ? 1 : 0;
    o[t + Out.hostTag] = p[e + Pipe.hostTag]!;
    o[t + Out.src] = p[e + Pipe.src]!;
    o[t + Out.vm] = p[e + Pipe.vm]!;
    o[t + Out.op] = op;
    o[t + Out.addr] = p[e + Pipe.addr]!;
    o[t + Out.issueCycle] = p[e + Pipe.issueCycle]!;
    if (local) this.sendDram(i, tag, op, res.dpa);
    else this.sendM2S(i, tag, op, res.dpa, res.target);
    this.hits++;
    if (local) this.localHits++;
    this.rLastLookup.d = Lookup.Hit;
    this.lookupShown = true;
    this.rLastTag.d = tag;
    this.popPipe();
  }

  private popPipe(): void {
    this.pHead = this.pHead + 1 === this.pCap ? 0 : this.pHead + 1;
    this.pCount--;
    this.rPipe.d = this.pCount;
  }

  private sendM2S(i: number, tag: number, op: number, dpa: number, target: number): void {
    const isWrite = op !== Op.Read;
    const ch = isWrite ? this.m2sRwd : this.m2sReq;
    const s = ch.push();
    // Every column of the slot is written (the unused ones 0, as clearMemMsg), so a reused slot
    // carries no stale field; by name, not by a loop over the column list (see the check above).
    // Not clearMemMsg and then the used fields: that stores half the columns twice (measured
    // ~7.5 against ~9-13 ns per message).
    const c = ch.col;
    const partial = op === Op.WritePartial;
    c.opcode[s] = !isWrite ? Cxl.memRd : partial ? Cxl.memWrPtl : Cxl.memWr;
    c.tag[s] = tag;
    c.addr[s] = dpa;
    c.snpType[s] = Cxl.snpNoOp;
    c.metaField[s] = Cxl.metaNoOp;
    c.metaValue[s] = 0;
    c.ldId[s] = 0;
    c.poison[s] = 0;
    c.devLoad[s] = 0;
    c.beLo[s] = partial ? this.pipe[i * Pipe.stride + Pipe.beLo]! : 0;
    c.beHi[s] = partial ? this.pipe[i * Pipe.stride + Pipe.beHi]! : 0;
    c.trp[s] = 0;
    c.spid[s] = this.nodeId;
    c.dpid[s] = target;
    if (isWrite) copyLine(this.pWords, i, this.m2sRwdWords, s);
  }

  private sendDram(i: number, tag: number, op: number, pa: number): void {
    const ch = this.dramReq!;
    const s = ch.push();
    const c = ch.col;
    c.id[s] = tag;
    c.pa[s] = pa;
    if (op === Op.Read) {
      c.op[s] = DOp.Read;
      c.beLo[s] = 0;
      c.beHi[s] = 0;
      return;
    }
    c.op[s] = DOp.Write;
    const partial = op === Op.WritePartial;
    c.beLo[s] = partial ? this.pipe[i * Pipe.stride + Pipe.beLo]! : Dec.allBytesEnabled;
    c.beHi[s] = partial ? this.pipe[i * Pipe.stride + Pipe.beHi]! : Dec.allBytesEnabled;
    copyLine(this.pWords, i, this.dramReqWords!, s);
  }

  /** §5.6: a read gets all-ones data with poison, a write is dropped but completed; both Nxm. */
  private answerError(i: number, isWrite: boolean): void {
    const ch = this.hostOut;
    const s = ch.push();
    const c = ch.col;
    const p = this.pipe;
    const e = i * Pipe.stride;
    c.hostTag[s] = p[e + Pipe.hostTag]!;
    c.src[s] = p[e + Pipe.src]!;
    c.vm[s] = p[e + Pipe.vm]!;
    c.op[s] = p[e + Pipe.op]!;
    c.addr[s] = p[e + Pipe.addr]!;
    c.status[s] = Status.Nxm;
    c.poison[s] = isWrite ? 0 : 1;
    c.route[s] = Route.Error;
    c.issueCycle[s] = p[e + Pipe.issueCycle]!;
    fillLine(this.hostOutWords, s, isWrite ? 0 : Dec.nxmDataByte);
  }

  /** Push the host response for outstanding `tag` and free the tag; returns the hostOut slot. */
  private answerTag(tag: number, status: number, poison: number): number {
    const ch = this.hostOut;
    const s = ch.push();
    const c = ch.col;
    const o = this.out;
    const t = tag * Out.stride;
    c.hostTag[s] = o[t + Out.hostTag]!;
    c.src[s] = o[t + Out.src]!;
    c.vm[s] = o[t + Out.vm]!;
    c.op[s] = o[t + Out.op]!;
    c.addr[s] = o[t + Out.addr]!;
    c.status[s] = status;
    c.poison[s] = poison;
    c.route[s] = o[t + Out.local] ? Route.Local : Route.Remote;
    c.issueCycle[s] = o[t + Out.issueCycle]!;
    o[t + Out.valid] = 0;
    this.oBitmap[tag >>> 3]! &= ~(1 << (tag & 7));
    this.oCount--;
    // fHead < tagPoolSize and fCount < tagPoolSize (this tag was out), so one conditional subtract replaces `%`.
    let free = this.fHead + this.fCount;
    if (free >= this.tagPoolSize) free -= this.tagPoolSize;
    this.freeTags[free] = tag;
    this.fCount++;
    this.rTagsFree.d = this.fCount;
    this.rOutstanding.d = this.oCount;
    return s;
  }

  private checkTag(tag: number, what: string, local: boolean): void {
    if (!(tag >= 0 && tag < this.tagPoolSize) || this.out[tag * Out.stride + Out.valid] === 0) this.fail(`${what} for tag ${tag}, which is not outstanding`);
    if ((this.out[tag * Out.stride + Out.local] === 1) !== local) this.fail(`${what} for tag ${tag}, which was sent ${local ? 'to the fabric' : 'to local DRAM'}`);
  }

  private retireDrs(): void {
    const ch = this.s2mDrs;
    const m = ch.pop();
    const tag = ch.col.tag[m]!;
    this.checkTag(tag, 'S2M DRS', false);
    if (this.out[tag * Out.stride + Out.op] !== Op.Read) this.fail(`S2M DRS for tag ${tag}, which is a write`);
    const nxm = ch.col.opcode[m] === Cxl.drsMemDataNXM;
    const s = this.answerTag(tag, nxm ? Status.Nxm : Status.Ok, nxm ? 1 : ch.col.poison[m]!);
    copyLine(this.s2mDrsWords, m, this.hostOutWords, s);
  }

  private retireNdr(): void {
    const ch = this.s2mNdr;
    const m = ch.pop();
    const tag = ch.col.tag[m]!;
    this.checkTag(tag, 'S2M NDR', false);
    // HDM-H: reads complete with DRS only, writes with NDR Cmp only (§1.8).
    if (this.out[tag * Out.stride + Out.op] === Op.Read) this.fail(`S2M NDR for tag ${tag}, which is a read (HDM-H reads answer with DRS only)`);
    if (ch.col.opcode[m] !== Cxl.ndrCmp) this.fail(`S2M NDR opcode ${ch.col.opcode[m]} for write tag ${tag}; expected Cmp`);
    const s = this.answerTag(tag, Status.Ok, 0);
    fillLine(this.hostOutWords, s, 0);
  }

  private retireDram(ch: DramRspChannel): void {
    const m = ch.pop();
    const tag = ch.col.id[m]!;
    this.checkTag(tag, 'DRAM response', true);
    const s = this.answerTag(tag, Status.Ok, 0);
    if (this.out[tag * Out.stride + Out.op] === Op.Read) copyLine(this.dramRspWords!, m, this.hostOutWords, s);
    else fillLine(this.hostOutWords, s, 0);
  }
}

