import { type Channel, ConfigError, Module, type Reg } from '../../src/sim/index.ts';
import { type MemMsgChannel, memMsgChannel } from '../cxl/MemMsg.ts';
import type { FlitMode } from '../cxl/MemFields.ts';
import { MsgClass } from '../cxl/opcodes.ts';
import { Flit256Parser } from './Flit256Parser.ts';
import { Flit68Parser } from './Flit68Parser.ts';
import { FLAG_NAMES, FLIT_FIELDS, FLIT_SLOT_BYTES, FlitFlag, type FlitParser, type MsgOut } from './FlitFormat.ts';

export interface FlitUnpackerParams {
  readonly mode: FlitMode;
  /** Depth of flitIn (good, in-order flits from the link layer). */
  readonly flitInDepth: number;
  /** Depths of rxReq/rxRwD/rxNdr/rxDrs = the credits this side advertises to the peer packer. */
  readonly rxDepth: { readonly req: number; readonly rwd: number; readonly ndr: number; readonly drs: number };
  /**
   * Port id of the link partner. The 68B and 256B HBR formats carry no SPID (only PBR messages do,
   * CXL 3.1 Table 3-34), so on a point-to-point link the sender is implied by the port a message
   * arrived on; the unpacker writes it into every received message's `spid` (the target-side
   * export check needs it). Default: leave `spid` as decoded (0).
   */
  readonly peerPortId?: number;
}

/** Credits one flit can return per class: 64 (68B) or 16 (256B) fit in 8 bits. */
export const CRD_RET_BITS = 8;

/**
 * Mirrors of FLIT_SLOT_BYTES, FlitFlag.RxOverflow and MsgClass as `const enum`s, checked at load:
 * the TypeScript transform writes their members as literals, where another file's constant or enum
 * object is loaded and type-checked at each use in V8's optimized code.
 */
const enum Up { slotBytes = 256, rxOverflow = 64 }
const enum Cls { M2SReq = 0, M2SRwD = 1, S2MNDR = 2, S2MDRS = 3 }
if (
  FLIT_SLOT_BYTES !== Up.slotBytes || FlitFlag.RxOverflow !== Up.rxOverflow ||
  MsgClass.M2SReq !== Cls.M2SReq || MsgClass.M2SRwD !== Cls.M2SRwD || MsgClass.S2MNDR !== Cls.S2MNDR || MsgClass.S2MDRS !== Cls.S2MDRS
) {
  throw new Error('FlitUnpacker: a const enum mirror disagrees with the constant it mirrors');
}

/**
 * Flit unpacker (RX side of a CxlPort): consumes one flit per cycle from `flitIn` (a channel it
 * owns; the link layer pushes only CRC-good, in-order flits), pushes the messages into
 * rxReq/rxRwD/rxNdr/rxDrs, and exposes the credit returns found in the flit for one cycle in
 * crdRet* (read by the local FlitPacker). Freed rx buffers are counted by the packer from the rx
 * channels' lastPopped. A message arriving at a full rx channel means the peer sent without a
 * credit: SimulationError (credit overflow). Illegal packing is counted and flagged, not fatal.
 * Latency: a flit visible in flitIn at cycle t has its messages visible in rx* at t+1
 * (UNPACK_STAGES = 1); a data message completes with its last chunk.
 */
export class FlitUnpacker extends Module {
  static readonly UNPACK_STAGES = 1;
  readonly flitIn: Channel<'kind' | 'seq'>;
  readonly rxReq: MemMsgChannel;
  readonly rxRwD: MemMsgChannel;
  readonly rxNdr: MemMsgChannel;
  readonly rxDrs: MemMsgChannel;
  readonly crdRetM2SReq: Reg;
  readonly crdRetM2SRwD: Reg;
  readonly crdRetS2MNDR: Reg;
  readonly crdRetS2MDRS: Reg;
  /** FlitFlag bits of the last flit parsed. */
  readonly lastFlags: Reg;
  readonly lastKind: Reg;
  readonly illegalFlits: Reg;
  readonly flitsParsed: Reg;
  private readonly parser: FlitParser;
  private readonly outs: readonly MemMsgChannel[];

  constructor(parent: Module, name: string, readonly params: FlitUnpackerParams) {
    super(parent, name);
    if (params.mode !== 68 && params.mode !== 256) throw new ConfigError(`${this.path}.mode`, 'must be 68 or 256');
    this.flitIn = this.channel('flitIn', params.flitInDepth, FLIT_FIELDS, FLIT_SLOT_BYTES);
    this.rxReq = memMsgChannel(this, 'rxReq', params.rxDepth.req);
    this.rxRwD = memMsgChannel(this, 'rxRwD', params.rxDepth.rwd);
    this.rxNdr = memMsgChannel(this, 'rxNdr', params.rxDepth.ndr);
    this.rxDrs = memMsgChannel(this, 'rxDrs', params.rxDepth.drs);
    this.crdRetM2SReq = this.reg('crdRetM2SReq', CRD_RET_BITS, 0);
    this.crdRetM2SRwD = this.reg('crdRetM2SRwD', CRD_RET_BITS, 0);
    this.crdRetS2MNDR = this.reg('crdRetS2MNDR', CRD_RET_BITS, 0);
    this.crdRetS2MDRS = this.reg('crdRetS2MDRS', CRD_RET_BITS, 0);
    this.lastFlags = this.reg('lastFlags', 8, 0);
    this.lastKind = this.reg('lastKind', 2, 0);
    this.illegalFlits = this.reg('illegalFlits', 32, 0);
    this.flitsParsed = this.reg('flitsParsed', 32, 0);
    this.parser = params.mode === 68 ? new Flit68Parser() : new Flit256Parser();
    this.parser.setPeerSpid(params.peerPortId);
    this.outs = [this.rxReq, this.rxRwD, this.rxNdr, this.rxDrs];
    this.probe('rolloverOwed', 8, () => this.parser.owed);
  }

  override onReset(): void {
    this.parser.clear();
  }

  /**
   * Elaboration: name the link partner's port id (see FlitUnpackerParams.peerPortId), for a composer
   * that builds the link before it knows which node sits at the other end.
   */
  setPeerPortId(id: number): void {
    if (!(Number.isInteger(id) && id >= 0 && id < 4096)) throw new RangeError(`${this.path}: port id must be 0..4095, got ${id}`);
    this.parser.setPeerSpid(id);
  }

  override evaluate(): void {
    const p = this.parser;
    if (!this.flitIn.valid()) {
      this.crdRetM2SReq.d = 0;
      this.crdRetM2SRwD.d = 0;
      this.crdRetS2MNDR.d = 0;
      this.crdRetS2MDRS.d = 0;
      return;
    }
    const slot = this.flitIn.pop();
    // The parser writes the peer's port id into every message it delivers (setPeerSpid).
    p.parse(this.flitIn.bytes, slot * Up.slotBytes, this.outs);
    if ((p.flags & Up.rxOverflow) !== 0) {
      this.fail('credit overflow: a message arrived for a full rx channel (the peer sent without a credit)');
    }
    this.crdRetM2SReq.d = p.credits[Cls.M2SReq]!;
    this.crdRetM2SRwD.d = p.credits[Cls.M2SRwD]!;
    this.crdRetS2MNDR.d = p.credits[Cls.S2MNDR]!;
    this.crdRetS2MDRS.d = p.credits[Cls.S2MDRS]!;
    this.lastFlags.d = p.flags;
    this.lastKind.d = p.kind;
    this.flitsParsed.d = this.flitsParsed.q + 1;
    if (p.flags !== 0) this.illegalFlits.d = this.illegalFlits.q + 1;
  }

  /** Names of the flag bits (for messages). */
  static flagNames(flags: number): string {
    return FLAG_NAMES.filter((_, i) => (flags & (1 << i)) !== 0).join(',');
  }
}
