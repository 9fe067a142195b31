import { ConfigError } from '../../src/sim/index.ts';
import {
  DECODER_COUNT_BY_ENCODING,
  HDM_GRANULE_BYTES,
  LEGAL_GRANULARITY_TEXT,
  LEGAL_WAYS_TEXT,
  MAX_WAYS,
  MODEL_ADDR_LIMIT,
  granularityToIg,
  igToGranularity,
  iwToWays,
  waysToIw,
} from './hdmEncodings.ts';
import { hex, parseAddress } from './parseAddress.ts';

/**
 * The device's address-range table: HDM decoders (reference/cxl-protocol.md §5) that say, for a
 * host physical address (HPA) in the device window, which node holds the line and at which
 * device physical address (DPA) there, plus who may read / write through each range, plus 4 KiB
 * page overrides used by VM migration.
 *
 * Two views of each decoder:
 * - the programming registers (what software writes through `writeReg` / `configure`), and
 * - the committed snapshot (what `lookup` decodes with), taken when Commit succeeds (§5.3).
 * A decoder only decodes once committed; its registers are frozen while it is committed (the spec
 * leaves reprogramming a committed decoder undefined, §5.3; we ignore such writes and count them),
 * and stay frozen for good after a commit with Lock On Commit.
 *
 * Lookup is O(log entries): committed, non-empty decoders are kept sorted by base (§5.3 makes them
 * ascending and disjoint) and binary-searched; overrides are one Map probe keyed by page number.
 * It allocates nothing: the answer is written into a caller-owned LookupResult.
 */

// ---- register layout (§5.1; offsets in bytes, 32-bit registers) -----------------------------------

export const REG_CAPABILITY = 0x00;
export const REG_GLOBAL_CONTROL = 0x04;
/** Decoder n's registers start at 10h + 20h·n (§5.1). */
export const REG_DECODER_BASE = 0x10;
export const REG_DECODER_STRIDE = 0x20;
export const DEC_BASE_LOW = 0x00;
export const DEC_BASE_HIGH = 0x04;
export const DEC_SIZE_LOW = 0x08;
export const DEC_SIZE_HIGH = 0x0c;
export const DEC_CONTROL = 0x10;
/** Device decoders: DPA Skip Low/High at the offsets a host bridge uses for its target list (§5.1). */
export const DEC_DPA_SKIP_LOW = 0x14;
export const DEC_DPA_SKIP_HIGH = 0x18;

/**
 * Vendor extension (not in the spec): a fabric device's decoder needs BOTH a DPA (it computes the
 * address at the target, as a device decoder does) AND a target list (the node holding each way,
 * as a host-bridge decoder does), plus the requester grants. They live in a block of their own,
 * past the largest standard decoder block (32 decoders end at 410h), 20h per decoder:
 *   +00h..+0Ch  target node of way 4k..4k+3, one byte each (byte i of dword k = way 4k+i)
 *   +10h/+14h   read grant: bit v = VM v may read (VM 0..31 / 32..63)
 *   +18h/+1Ch   write grant: bit v = VM v may write
 */
export const REG_EXT_BASE = 0x800;
export const REG_EXT_STRIDE = 0x20;
export const EXT_TARGETS = 0x00;
export const EXT_READ_GRANT_LOW = 0x10;
export const EXT_READ_GRANT_HIGH = 0x14;
export const EXT_WRITE_GRANT_LOW = 0x18;
export const EXT_WRITE_GRANT_HIGH = 0x1c;

/** Requesters are VM ids 0..63 on this node (two 32-bit grant words per decoder). */
export const MAX_VMS = 64;
/** Target list bytes hold node ids 0..255. */
export const MAX_TARGET_NODE = 255;

// Control register bits (§5.1).
export const CTRL_IG_SHIFT = 0;
export const CTRL_IW_SHIFT = 4;
export const CTRL_FIELD_MASK = 0xf;
export const CTRL_LOCK_ON_COMMIT = 1 << 8;
export const CTRL_COMMIT = 1 << 9;
export const CTRL_COMMITTED = 1 << 10;
export const CTRL_ERROR_NOT_COMMITTED = 1 << 11;
/** Target Range Type: 1 = HDM-H (host-only coherent), what this device is (§1.8). */
export const CTRL_TARGET_RANGE_TYPE = 1 << 12;
/** Control bits software may write; Committed and Error Not Committed are read-only. */
const CTRL_WRITABLE = 0xff | CTRL_LOCK_ON_COMMIT | CTRL_COMMIT | CTRL_TARGET_RANGE_TYPE;

export const GLOBAL_POISON_ON_DECODE_ERROR = 1 << 0;
export const GLOBAL_HDM_DECODER_ENABLE = 1 << 1;

/** Base/size/skip low registers keep bits 31:28 only (256 MB granule, §5.1). */
const LOW_KEEP_MASK = 0xf000_0000;
const TWO_32 = 2 ** 32;

/** Capability bits this device advertises (§5.1): interleave on A11:8 and A14:12, poison on decode
 * error, 3/6/12-way, 16-way, MemData-NXM, host-only coherent (HDM-H). */
const CAP_A11TO8 = 1 << 8;
const CAP_A14TO12 = 1 << 9;
const CAP_POISON_ON_DECODE_ERROR = 1 << 10;
const CAP_3_6_12_WAY = 1 << 11;
const CAP_16_WAY = 1 << 12;
const CAP_MEMDATA_NXM = 1 << 20;
const CAP_COHERENCY_HOST_ONLY = 0b10 << 21;

/** Page overrides work on 4 KiB pages of HPA. */
export const OVERRIDE_PAGE_BYTES = 4096;
/** Override target meaning "this node's own DRAM". */
export const TARGET_LOCAL = -1;

// ---- lookup answer -----------------------------------------------------------------------------

export const LookupStatus = {
  Hit: 0,
  /** No decoder (committed or not) covers the HPA. */
  NoEntry: 1,
  /** A programmed decoder covers it but is not committed (or its commit failed). */
  NotCommitted: 2,
  ReadDenied: 3,
  WriteDenied: 4,
  /** Global Control's HDM Decoder Enable is 0 (§5.1). */
  Disabled: 5,
} as const;
export type LookupStatus = (typeof LookupStatus)[keyof typeof LookupStatus];
export const LOOKUP_STATUS_NAMES = ['Hit', 'NoEntry', 'NotCommitted', 'ReadDenied', 'WriteDenied', 'Disabled'] as const;

/**
 * What lookupAt (every request the decoder routes) compares with, as `const enum` literals: a
 * module-level constant or enum object is loaded and type-checked at each use in V8's optimized
 * code. Mirrors of LookupStatus, GLOBAL_HDM_DECODER_ENABLE, MAX_WAYS, MAX_VMS and
 * OVERRIDE_PAGE_BYTES, checked at load.
 */
const enum Lk { hdmDecoderEnable = 2, maxWays = 16, maxVms = 64, overridePageBytes = 4096 }
const enum St { Hit = 0, NoEntry = 1, NotCommitted = 2, ReadDenied = 3, WriteDenied = 4, Disabled = 5 }
if (
  Lk.hdmDecoderEnable !== GLOBAL_HDM_DECODER_ENABLE || Lk.maxWays !== MAX_WAYS || Lk.maxVms !== MAX_VMS || Lk.overridePageBytes !== OVERRIDE_PAGE_BYTES ||
  St.Hit !== LookupStatus.Hit || St.NoEntry !== LookupStatus.NoEntry || St.NotCommitted !== LookupStatus.NotCommitted ||
  St.ReadDenied !== LookupStatus.ReadDenied || St.WriteDenied !== LookupStatus.WriteDenied || St.Disabled !== LookupStatus.Disabled
) {
  throw new Error('AddressRangeTable: a const enum mirror disagrees with the constant it mirrors');
}

/** Preallocated answer of `lookup`; every field is written on every call. */
export class LookupResult {
  status: LookupStatus = LookupStatus.NoEntry;
  /** Decoder index that claimed the HPA (also for NotCommitted / denied), else -1. */
  entry = -1;
  /** Interleave position and set size, -1/0 when nothing decoded. */
  way = -1;
  ways = 0;
  /** Node holding the line, or TARGET_LOCAL for a page overridden to this node's DRAM. */
  target = -1;
  /** Byte address at the target: the DPA, or the override's PA. */
  dpa = 0;
  /** True when a page override replaced the decoder's target and DPA. */
  overridden = false;
}

// ---- plain-object configuration ---------------------------------------------------------------

/** One decoder as a config object. Addresses/sizes: numbers or strings ('0x20_0000_0000', '128G'). */
export interface DecoderConfig {
  readonly base: number | string;
  readonly size: number | string;
  /** 1, 2, 4, 8, 16, 3, 6 or 12. */
  readonly ways: number;
  /** Interleave granularity in bytes: 256 .. 16384, a power of two. */
  readonly granularity: number;
  /** Node id of each way, `ways` distinct entries. */
  readonly targets: readonly number[];
  readonly dpaSkip?: number | string;
  /** VM ids (0..63) granted read / write through this decoder. Default: none. */
  readonly readers?: readonly number[];
  readonly writers?: readonly number[];
  /** Set Lock On Commit (default false). */
  readonly lock?: boolean;
}

export interface AddressRangeTableConfig {
  readonly decoders: readonly DecoderConfig[];
}

export interface AddressRangeTableParams {
  /** Number of decoders: 1,2,4,6,8,10,12,14,16,20,24,28,32 (the capability encodings, §5.1). Default 16. */
  readonly entries?: number;
  /** Most page overrides in force at once. Default 4096. */
  readonly maxOverrides?: number;
  /** Override changes that can be staged before the next cycle boundary. Default 64. */
  readonly overrideStageDepth?: number;
}

/** A committed decoder as plain data, for display (allocates: not for per-cycle use). */
export interface DecoderInfo {
  readonly index: number;
  readonly base: number;
  readonly size: number;
  readonly ways: number;
  readonly granularity: number;
  readonly targets: number[];
  readonly dpaBase: number;
  readonly committed: boolean;
  readonly locked: boolean;
  readonly readers: number[];
  readonly writers: number[];
  readonly error: string | null;
}

const OV_KIND_CLEAR = 0;
const OV_KIND_SET = 1;

export class AddressRangeTable {
  readonly entries: number;
  readonly maxOverrides: number;
  readonly overrideStageDepth: number;

  // Programming registers.
  private globalControl = 0;
  private readonly baseLo: Uint32Array;
  private readonly baseHi: Uint32Array;
  private readonly sizeLo: Uint32Array;
  private readonly sizeHi: Uint32Array;
  private readonly control: Uint32Array;
  private readonly skipLo: Uint32Array;
  private readonly skipHi: Uint32Array;
  private readonly targets: Uint8Array;
  private readonly rdLo: Uint32Array;
  private readonly rdHi: Uint32Array;
  private readonly wrLo: Uint32Array;
  private readonly wrHi: Uint32Array;
  private readonly errorText: (string | null)[];
  private readonly errorField: string[];
  private lastErrorField = '';

  // Committed snapshot (what lookup decodes with).
  private readonly cBase: Float64Array;
  private readonly cEnd: Float64Array;
  private readonly cWays: Int32Array;
  private readonly cGran: Float64Array;
  private readonly cDpaBase: Float64Array;
  private readonly cTargets: Int32Array;
  private readonly cRdLo: Uint32Array;
  private readonly cRdHi: Uint32Array;
  private readonly cWrLo: Uint32Array;
  private readonly cWrHi: Uint32Array;
  private readonly sortedIdx: Int32Array;
  private readonly sortedBase: Float64Array;
  private readonly sortedEnd: Float64Array;
  private nSorted = 0;
  /** lookup()'s HPA, handed to lookupAt() as a Float64Array slot. */
  private readonly hpaArg = new Float64Array(1);

  // Page overrides in force: page number -> slot.
  private readonly ovMap = new Map<number, number>();
  private readonly ovNode: Int32Array;
  private readonly ovPa: Float64Array;
  private readonly ovFree: Int32Array;
  private ovFreeCount: number;

  // Staged override changes (a ring), applied at the next cycle boundary.
  private readonly stKind: Uint8Array;
  private readonly stPage: Float64Array;
  private readonly stNode: Int32Array;
  private readonly stPa: Float64Array;
  private readonly stCycle: Float64Array;
  private stHead = 0;
  private stCount = 0;

  /** Writes ignored because the decoder was committed or locked (§5.3 leaves them undefined). */
  ignoredWrites = 0;
  /** Set by the owner: false when no local DRAM port exists, so a local override is refused. */
  localOverridesAllowed = true;

  constructor(params: AddressRangeTableParams = {}) {
    const n = params.entries ?? 16;
    if (!DECODER_COUNT_BY_ENCODING.includes(n) || n < 1) {
      throw new ConfigError('entries', `must be one of ${DECODER_COUNT_BY_ENCODING.filter((x) => x > 0).join(', ')} (the HDM capability decoder counts, §5.1), got ${n}`);
    }
    const maxOv = params.maxOverrides ?? 4096;
    if (!(Number.isInteger(maxOv) && maxOv >= 0)) throw new ConfigError('maxOverrides', `must be an integer ≥ 0, got ${maxOv}`);
    const stDepth = params.overrideStageDepth ?? 64;
    if (!(Number.isInteger(stDepth) && stDepth >= 1)) throw new ConfigError('overrideStageDepth', `must be an integer ≥ 1, got ${stDepth}`);
    this.entries = n;
    this.maxOverrides = maxOv;
    this.overrideStageDepth = stDepth;
    this.baseLo = new Uint32Array(n);
    this.baseHi = new Uint32Array(n);
    this.sizeLo = new Uint32Array(n);
    this.sizeHi = new Uint32Array(n);
    this.control = new Uint32Array(n);
    this.skipLo = new Uint32Array(n);
    this.skipHi = new Uint32Array(n);
    this.targets = new Uint8Array(n * MAX_WAYS);
    this.rdLo = new Uint32Array(n);
    this.rdHi = new Uint32Array(n);
    this.wrLo = new Uint32Array(n);
    this.wrHi = new Uint32Array(n);
    this.errorText = new Array<string | null>(n).fill(null);
    this.errorField = new Array<string>(n).fill('');
    this.cBase = new Float64Array(n);
    this.cEnd = new Float64Array(n);
    this.cWays = new Int32Array(n);
    this.cGran = new Float64Array(n);
    this.cDpaBase = new Float64Array(n);
    this.cTargets = new Int32Array(n * MAX_WAYS);
    this.cRdLo = new Uint32Array(n);
    this.cRdHi = new Uint32Array(n);
    this.cWrLo = new Uint32Array(n);
    this.cWrHi = new Uint32Array(n);
    this.sortedIdx = new Int32Array(n);
    this.sortedBase = new Float64Array(n);
    this.sortedEnd = new Float64Array(n);
    this.ovNode = new Int32Array(maxOv);
    this.ovPa = new Float64Array(maxOv);
    this.ovFree = new Int32Array(maxOv);
    for (let i = 0; i < maxOv; i++) this.ovFree[i] = maxOv - 1 - i;
    this.ovFreeCount = maxOv;
    this.stKind = new Uint8Array(stDepth);
    this.stPage = new Float64Array(stDepth);
    this.stNode = new Int32Array(stDepth);
    this.stPa = new Float64Array(stDepth);
    this.stCycle = new Float64Array(stDepth);
  }

  /** Build a table from a config object (validated; errors name `decoders[i].field`). */
  static fromConfig(cfg: AddressRangeTableConfig, params: AddressRangeTableParams = {}): AddressRangeTable {
    const t = new AddressRangeTable(params);
    t.configure(cfg);
    return t;
  }

  // ---- register interface (§5.1, §5.3) -----------------------------------------------------------

  /** Read a 32-bit register at a byte offset (dword-aligned, §5.1). Unimplemented offsets read 0. */
  readReg(offset: number): number {
    this.checkOffset(offset);
    if (offset === REG_CAPABILITY) {
      return (
        (DECODER_COUNT_BY_ENCODING.indexOf(this.entries) | CAP_A11TO8 | CAP_A14TO12 | CAP_POISON_ON_DECODE_ERROR | CAP_3_6_12_WAY | CAP_16_WAY | CAP_MEMDATA_NXM | CAP_COHERENCY_HOST_ONLY) >>>
        0
      );
    }
    if (offset === REG_GLOBAL_CONTROL) return this.globalControl;
    const d = this.decoderAt(offset);
    if (d >= 0) {
      switch ((offset - REG_DECODER_BASE) % REG_DECODER_STRIDE) {
        case DEC_BASE_LOW: return this.baseLo[d]!;
        case DEC_BASE_HIGH: return this.baseHi[d]!;
        case DEC_SIZE_LOW: return this.sizeLo[d]!;
        case DEC_SIZE_HIGH: return this.sizeHi[d]!;
        case DEC_CONTROL: return this.control[d]!;
        case DEC_DPA_SKIP_LOW: return this.skipLo[d]!;
        case DEC_DPA_SKIP_HIGH: return this.skipHi[d]!;
        default: return 0;
      }
    }
    const e = this.extDecoderAt(offset);
    if (e >= 0) {
      const r = (offset - REG_EXT_BASE) % REG_EXT_STRIDE;
      if (r < EXT_READ_GRANT_LOW) {
        const t = e * MAX_WAYS + (r - EXT_TARGETS);
        const tg = this.targets;
        return (tg[t]! | (tg[t + 1]! << 8) | (tg[t + 2]! << 16) | (tg[t + 3]! << 24)) >>> 0;
      }
      if (r === EXT_READ_GRANT_LOW) return this.rdLo[e]!;
      if (r === EXT_READ_GRANT_HIGH) return this.rdHi[e]!;
      if (r === EXT_WRITE_GRANT_LOW) return this.wrLo[e]!;
      return this.wrHi[e]!;
    }
    return 0;
  }

  /**
   * Write a 32-bit register. Setting Commit (0 -> 1) runs the §5.3 checks at once (the spec allows
   * up to 10 ms; this is a configuration path, not a timed one) and sets Committed or Error Not
   * Committed; `decoderError(n)` then says why. Clearing Commit decommits an unlocked decoder.
   */
  writeReg(offset: number, value: number): void {
    this.checkOffset(offset);
    if (!(Number.isInteger(value) && value >= 0 && value < TWO_32)) throw new ConfigError(`register ${hex(offset)}`, `value must be a 32-bit unsigned integer, got ${value}`);
    if (offset === REG_GLOBAL_CONTROL) {
      this.globalControl = value & (GLOBAL_POISON_ON_DECODE_ERROR | GLOBAL_HDM_DECODER_ENABLE);
      return;
    }
    const d = this.decoderAt(offset);
    if (d >= 0) {
      const r = (offset - REG_DECODER_BASE) % REG_DECODER_STRIDE;
      if (r === DEC_CONTROL) return this.writeControl(d, value);
      if (this.frozen(d)) return;
      switch (r) {
        case DEC_BASE_LOW: this.baseLo[d] = (value & LOW_KEEP_MASK) >>> 0; break;
        case DEC_BASE_HIGH: this.baseHi[d] = value; break;
        case DEC_SIZE_LOW: this.sizeLo[d] = (value & LOW_KEEP_MASK) >>> 0; break;
        case DEC_SIZE_HIGH: this.sizeHi[d] = value; break;
        case DEC_DPA_SKIP_LOW: this.skipLo[d] = (value & LOW_KEEP_MASK) >>> 0; break;
        case DEC_DPA_SKIP_HIGH: this.skipHi[d] = value; break;
        default: break;
      }
      return;
    }
    const e = this.extDecoderAt(offset);
    if (e >= 0) {
      if (this.frozen(e)) return;
      const r = (offset - REG_EXT_BASE) % REG_EXT_STRIDE;
      if (r < EXT_READ_GRANT_LOW) {
        const t = e * MAX_WAYS + (r - EXT_TARGETS);
        this.targets[t] = value & 0xff;
        this.targets[t + 1] = (value >>> 8) & 0xff;
        this.targets[t + 2] = (value >>> 16) & 0xff;
        this.targets[t + 3] = (value >>> 24) & 0xff;
      } else if (r === EXT_READ_GRANT_LOW) this.rdLo[e] = value;
      else if (r === EXT_READ_GRANT_HIGH) this.rdHi[e] = value;
      else if (r === EXT_WRITE_GRANT_LOW) this.wrLo[e] = value;
      else this.wrHi[e] = value;
    }
  }

  /** Byte offset of decoder n's register `reg` (DEC_*). */
  static decoderReg(n: number, reg: number): number {
    return REG_DECODER_BASE + REG_DECODER_STRIDE * n + reg;
  }

  /** Byte offset of decoder n's extension register `reg` (EXT_*). */
  static extReg(n: number, reg: number): number {
    return REG_EXT_BASE + REG_EXT_STRIDE * n + reg;
  }

  /** Which config field decoder n's failed commit is about ('base', 'size', 'ways', ...), '' if none. */
  decoderErrorField(n: number): string {
    return this.errorText[n] ? this.errorField[n]! : '';
  }

  /** Why decoder n's last commit failed (null when it did not fail). */
  decoderError(n: number): string | null {
    return this.errorText[n] ?? null;
  }

  isCommitted(n: number): boolean {
    return (this.control[n]! & CTRL_COMMITTED) !== 0;
  }

  get enabled(): boolean {
    return (this.globalControl & GLOBAL_HDM_DECODER_ENABLE) !== 0;
  }

  private checkOffset(offset: number): void {
    if (!(Number.isInteger(offset) && offset >= 0 && offset % 4 === 0)) {
      throw new ConfigError(`register offset ${offset}`, 'HDM registers are accessed as whole aligned dwords (§5.1)');
    }
  }

  private decoderAt(offset: number): number {
    if (offset < REG_DECODER_BASE) return -1;
    const d = Math.floor((offset - REG_DECODER_BASE) / REG_DECODER_STRIDE);
    return d < this.entries ? d : -1;
  }

  private extDecoderAt(offset: number): number {
    if (offset < REG_EXT_BASE) return -1;
    const d = Math.floor((offset - REG_EXT_BASE) / REG_EXT_STRIDE);
    return d < this.entries ? d : -1;
  }

  /** Committed decoders ignore reprogramming; locked ones stay so after Commit is cleared. */
  private frozen(d: number): boolean {
    if (this.control[d]! & CTRL_COMMITTED) {
      this.ignoredWrites++;
      return true;
    }
    return false;
  }

  private writeControl(d: number, value: number): void {
    const old = this.control[d]!;
    const committed = (old & CTRL_COMMITTED) !== 0;
    if (committed && old & CTRL_LOCK_ON_COMMIT) {
      this.ignoredWrites++;
      return;
    }
    const commitBefore = (old & CTRL_COMMIT) !== 0;
    const commitAfter = (value & CTRL_COMMIT) !== 0;
    if (committed && commitAfter) {
      // Reprogramming IG/IW of a live decoder is undefined (§5.3): keep what is committed.
      if ((value & CTRL_WRITABLE) !== (old & CTRL_WRITABLE)) this.ignoredWrites++;
      return;
    }
    let next = ((old & ~CTRL_WRITABLE) | (value & CTRL_WRITABLE)) >>> 0;
    if (commitBefore && !commitAfter) {
      next &= ~(CTRL_COMMITTED | CTRL_ERROR_NOT_COMMITTED);
      this.errorText[d] = null;
      this.control[d] = next >>> 0;
      this.rebuildSorted();
      return;
    }
    this.control[d] = next >>> 0;
    if (!commitBefore && commitAfter) this.tryCommit(d);
  }

  private regBase(d: number): number {
    return this.baseHi[d]! * TWO_32 + this.baseLo[d]!;
  }

  private regSize(d: number): number {
    return this.sizeHi[d]! * TWO_32 + this.sizeLo[d]!;
  }

  private regSkip(d: number): number {
    return this.skipHi[d]! * TWO_32 + this.skipLo[d]!;
  }

  private regWays(d: number): number {
    return iwToWays((this.control[d]! >>> CTRL_IW_SHIFT) & CTRL_FIELD_MASK);
  }

  /** DPABase[d] = DPASkip[d] + Σ over earlier decoders (DPASkip[m] + Size[m]/ways[m]) (§5.4). */
  private dpaBaseOf(d: number): number {
    let acc = 0;
    for (let m = 0; m < d; m++) {
      const w = this.regWays(m);
      acc += this.regSkip(m) + (w > 0 ? this.regSize(m) / w : 0);
    }
    return acc + this.regSkip(d);
  }

  /** The §5.3 commit checks. Returns null when decoder d may commit, else the rule it breaks. */
  private commitCheck(d: number): string | null {
    const ctrl = this.control[d]!;
    const ig = (ctrl >>> CTRL_IG_SHIFT) & CTRL_FIELD_MASK;
    const iw = (ctrl >>> CTRL_IW_SHIFT) & CTRL_FIELD_MASK;
    const ways = iwToWays(iw);
    const base = this.regBase(d);
    const size = this.regSize(d);
    if (igToGranularity(ig) < 0) return this.why('granularity', `IG=${ig} is reserved: granularity encodings are 0..6 (256 B..16 KB, §5.2)`);
    if (ways < 0) return this.why('ways', `IW=${iw} is reserved: ways encodings are 0..4 (1,2,4,8,16 ways) and 8..10 (3,6,12 ways) (§5.2)`);
    if (d > 0 && !this.isCommitted(d - 1)) return this.why('commit', `decoder ${d - 1} is not committed: decoders commit in order (§5.3)`);
    if (base + size > MODEL_ADDR_LIMIT) return this.why('size', `base ${hex(base)} + size ${hex(size)} wraps past the 52-bit physical address space (§5.3 no wrap)`);
    if (ways % 3 === 0 && size % (3 * HDM_GRANULE_BYTES) !== 0) {
      return this.why('size', `size ${hex(size)} is not a multiple of 3 × 256 MB, required for a ${ways}-way interleave (§5.3)`);
    }
    if (d > 0) {
      const prevEnd = this.cEnd[d - 1]!;
      if (base < prevEnd) return this.why('base', `base ${hex(base)} is below the end ${hex(prevEnd)} of decoder ${d - 1}: decoders must be ascending and must not overlap (§5.3)`);
    }
    for (let m = d + 1; m < this.entries; m++) {
      if (this.isCommitted(m) && this.cEnd[m]! > this.cBase[m]!) {
        if (base + size > this.cBase[m]!) return this.why('size', `range ${hex(base)}..${hex(base + size)} overlaps committed decoder ${m} at ${hex(this.cBase[m]!)} (§5.3)`);
        break;
      }
    }
    const t0 = d * MAX_WAYS;
    for (let i = 0; i < ways; i++) {
      for (let j = i + 1; j < ways; j++) {
        if (this.targets[t0 + i] === this.targets[t0 + j]) return this.why('targets', `target list is not distinct: ways ${i} and ${j} both name node ${this.targets[t0 + i]} (§5.3)`);
      }
    }
    if (this.dpaBaseOf(d) + size / ways > MODEL_ADDR_LIMIT) return this.why('dpaSkip', `DPA range ends past the 52-bit physical address space`);
    return null;
  }

  /** Record which config field a failed check is about (for ConfigError), return the rule text. */
  private why(field: string, rule: string): string {
    this.lastErrorField = field;
    return rule;
  }

  private tryCommit(d: number): void {
    const why = this.commitCheck(d);
    if (why !== null) {
      this.errorText[d] = why;
      this.errorField[d] = this.lastErrorField;
      this.control[d] = ((this.control[d]! | CTRL_ERROR_NOT_COMMITTED) & ~CTRL_COMMITTED) >>> 0;
      return;
    }
    this.errorText[d] = null;
    const ways = this.regWays(d);
    this.cBase[d] = this.regBase(d);
    this.cEnd[d] = this.regBase(d) + this.regSize(d);
    this.cWays[d] = ways;
    this.cGran[d] = igToGranularity((this.control[d]! >>> CTRL_IG_SHIFT) & CTRL_FIELD_MASK);
    this.cDpaBase[d] = this.dpaBaseOf(d);
    for (let i = 0; i < MAX_WAYS; i++) this.cTargets[d * MAX_WAYS + i] = this.targets[d * MAX_WAYS + i]!;
    this.cRdLo[d] = this.rdLo[d]!;
    this.cRdHi[d] = this.rdHi[d]!;
    this.cWrLo[d] = this.wrLo[d]!;
    this.cWrHi[d] = this.wrHi[d]!;
    this.control[d] = ((this.control[d]! | CTRL_COMMITTED) & ~CTRL_ERROR_NOT_COMMITTED) >>> 0;
    this.rebuildSorted();
  }

  /** Committed non-empty decoders by ascending base (they are disjoint, §5.3). */
  private rebuildSorted(): void {
    let k = 0;
    for (let d = 0; d < this.entries; d++) {
      if (!this.isCommitted(d) || this.cEnd[d]! <= this.cBase[d]!) continue;
      let j = k++;
      while (j > 0 && this.sortedBase[j - 1]! > this.cBase[d]!) {
        this.sortedBase[j] = this.sortedBase[j - 1]!;
        this.sortedEnd[j] = this.sortedEnd[j - 1]!;
        this.sortedIdx[j] = this.sortedIdx[j - 1]!;
        j--;
      }
      this.sortedBase[j] = this.cBase[d]!;
      this.sortedEnd[j] = this.cEnd[d]!;
      this.sortedIdx[j] = d;
    }
    this.nSorted = k;
  }

  // ---- config object -----------------------------------------------------------------------------

  /**
   * Program and commit every decoder of `cfg` in order through the register interface, and enable
   * decoding. Values the registers cannot hold are refused first; a failed commit becomes a
   * ConfigError naming the decoder and the §5.3 rule.
   */
  configure(cfg: AddressRangeTableConfig): void {
    if (cfg === null || typeof cfg !== 'object' || !Array.isArray(cfg.decoders)) throw new ConfigError('decoders', 'must be an array of decoder objects');
    if (cfg.decoders.length > this.entries) throw new ConfigError('decoders', `${cfg.decoders.length} decoders given but the table has ${this.entries} entries`);
    cfg.decoders.forEach((dc, i) => this.programDecoder(i, dc));
    this.writeReg(REG_GLOBAL_CONTROL, this.globalControl | GLOBAL_HDM_DECODER_ENABLE);
  }

  private programDecoder(i: number, dc: DecoderConfig): void {
    const f = (name: string) => `decoders[${i}].${name}`;
    if (dc === null || typeof dc !== 'object') throw new ConfigError(`decoders[${i}]`, 'must be an object');
    const known = ['base', 'size', 'ways', 'granularity', 'targets', 'dpaSkip', 'readers', 'writers', 'lock'];
    for (const k of Object.keys(dc)) if (!known.includes(k)) throw new ConfigError(f(k), `unknown field (known: ${known.join(', ')})`);
    const base = parseAddress(dc.base, f('base'));
    const size = parseAddress(dc.size, f('size'));
    const skip = dc.dpaSkip === undefined ? 0 : parseAddress(dc.dpaSkip, f('dpaSkip'));
    for (const [name, v] of [['base', base], ['size', size], ['dpaSkip', skip]] as const) {
      if (v % HDM_GRANULE_BYTES !== 0) throw new ConfigError(f(name), `${hex(v)} is not a multiple of 256 MB (HDM decoders work at 256 MB granularity, §5.1)`);
    }
    const iw = waysToIw(dc.ways);
    if (iw < 0) throw new ConfigError(f('ways'), `must be ${LEGAL_WAYS_TEXT} (§5.2), got ${String(dc.ways)}`);
    const ig = granularityToIg(dc.granularity);
    if (ig < 0) throw new ConfigError(f('granularity'), `must be ${LEGAL_GRANULARITY_TEXT} (§5.2), got ${String(dc.granularity)}`);
    if (!Array.isArray(dc.targets) || dc.targets.length !== dc.ways) {
      throw new ConfigError(f('targets'), `must list one node id per way: ${dc.ways} entries, got ${Array.isArray(dc.targets) ? dc.targets.length : typeof dc.targets}`);
    }
    dc.targets.forEach((t, w) => {
      if (!(Number.isInteger(t) && t >= 0 && t <= MAX_TARGET_NODE)) throw new ConfigError(`${f('targets')}[${w}]`, `node id must be an integer 0..${MAX_TARGET_NODE}, got ${String(t)}`);
    });
    const grant = (name: 'readers' | 'writers'): [number, number] => {
      const list = dc[name] ?? [];
      if (!Array.isArray(list)) throw new ConfigError(f(name), 'must be an array of VM ids');
      let lo = 0;
      let hi = 0;
      list.forEach((vm, k) => {
        if (!(Number.isInteger(vm) && vm >= 0 && vm < MAX_VMS)) throw new ConfigError(`${f(name)}[${k}]`, `VM id must be an integer 0..${MAX_VMS - 1}, got ${String(vm)}`);
        if (vm < 32) lo |= 1 << vm;
        else hi |= 1 << (vm - 32);
      });
      return [lo >>> 0, hi >>> 0];
    };
    const [rLo, rHi] = grant('readers');
    const [wLo, wHi] = grant('writers');
    if (this.isCommitted(i)) throw new ConfigError(`decoders[${i}]`, 'is already committed');
    const reg = (r: number) => AddressRangeTable.decoderReg(i, r);
    const ext = (r: number) => AddressRangeTable.extReg(i, r);
    this.writeReg(reg(DEC_BASE_LOW), base % TWO_32);
    this.writeReg(reg(DEC_BASE_HIGH), Math.floor(base / TWO_32));
    this.writeReg(reg(DEC_SIZE_LOW), size % TWO_32);
    this.writeReg(reg(DEC_SIZE_HIGH), Math.floor(size / TWO_32));
    this.writeReg(reg(DEC_DPA_SKIP_LOW), skip % TWO_32);
    this.writeReg(reg(DEC_DPA_SKIP_HIGH), Math.floor(skip / TWO_32));
    for (let k = 0; k < MAX_WAYS / 4; k++) {
      let word = 0;
      for (let b = 0; b < 4; b++) word += (dc.targets[k * 4 + b] ?? 0) * 2 ** (8 * b);
      this.writeReg(ext(EXT_TARGETS + 4 * k), word);
    }
    this.writeReg(ext(EXT_READ_GRANT_LOW), rLo);
    this.writeReg(ext(EXT_READ_GRANT_HIGH), rHi);
    this.writeReg(ext(EXT_WRITE_GRANT_LOW), wLo);
    this.writeReg(ext(EXT_WRITE_GRANT_HIGH), wHi);
    const ctrl = (ig << CTRL_IG_SHIFT) | (iw << CTRL_IW_SHIFT) | CTRL_TARGET_RANGE_TYPE | (dc.lock ? CTRL_LOCK_ON_COMMIT : 0);
    this.writeReg(reg(DEC_CONTROL), ctrl);
    this.writeReg(reg(DEC_CONTROL), ctrl | CTRL_COMMIT);
    if (!this.isCommitted(i)) throw new ConfigError(f(this.errorField[i]!), `commit refused (Error Not Committed): ${this.decoderError(i)}`);
  }

  // ---- lookup ------------------------------------------------------------------------------------

  /**
   * Decode `hpa` for requester `vm` (a VM id; -1 = skip the grant check, e.g. for the CLI without
   * --requester). Writes the answer into `out`; allocates nothing. Location fields are filled even
   * when the grant check refuses, so a refusal can say where the line would have been.
   */
  lookup(hpa: number, vm: number, isWrite: boolean, out: LookupResult): void {
    this.hpaArg[0] = hpa;
    this.lookupAt(this.hpaArg, 0, vm, isWrite, out);
  }

  /**
   * The per-cycle form of lookup(): decodes the HPA in hpas[index]. An HPA above 2^30 is not a
   * small integer, and passing one to a call that is not inlined (lookup is too large to be) boxes
   * it: a heap number per request (measured with the sampling heap profiler); reading it from the
   * caller's Float64Array allocates nothing.
   */
  lookupAt(hpas: Float64Array, index: number, vm: number, isWrite: boolean, out: LookupResult): void {
    const hpa = hpas[index]!;
    out.entry = -1;
    out.way = -1;
    out.ways = 0;
    out.target = -1;
    out.dpa = 0;
    out.overridden = false;
    if ((this.globalControl & Lk.hdmDecoderEnable) === 0) {
      out.status = St.Disabled;
      return;
    }
    // Largest committed base <= hpa.
    let lo = 0;
    let hi = this.nSorted - 1;
    let found = -1;
    const sb = this.sortedBase;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (sb[mid]! <= hpa) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0 || hpa >= this.sortedEnd[found]!) {
      const pending = this.uncommittedClaim(hpa);
      out.entry = pending;
      out.status = pending >= 0 ? St.NotCommitted : St.NoEntry;
      return;
    }
    const e = this.sortedIdx[found]!;
    out.entry = e;
    // §5.4 device decode, written for exact doubles: chunk = HPAOffset / granularity; the way is the
    // chunk's position in the set and DPAOffset keeps the other chunks back to back. For 2^k ways
    // this is "drop IW bits at IG+8"; for 3·2^k ways "drop k bits, divide by 3" (same quotient).
    const gran = this.cGran[e]!;
    const ways = this.cWays[e]!;
    const off = hpa - this.cBase[e]!;
    const chunk = Math.floor(off / gran);
    const way = chunk % ways;
    out.way = way;
    out.ways = ways;
    out.target = this.cTargets[e * Lk.maxWays + way]!;
    out.dpa = this.cDpaBase[e]! + ((chunk - way) / ways) * gran + (off - chunk * gran);
    if (this.ovMap.size !== 0) {
      const page = Math.floor(hpa / Lk.overridePageBytes);
      const slot = this.ovMap.get(page);
      if (slot !== undefined) {
        out.overridden = true;
        out.target = this.ovNode[slot]!;
        out.dpa = this.ovPa[slot]! + (hpa - page * Lk.overridePageBytes);
      }
    }
    if (vm >= 0) {
      let granted: number;
      if (isWrite === true) granted = vm < 32 ? (this.cWrLo[e]! >>> vm) & 1 : vm < Lk.maxVms ? (this.cWrHi[e]! >>> (vm - 32)) & 1 : 0;
      else granted = vm < 32 ? (this.cRdLo[e]! >>> vm) & 1 : vm < Lk.maxVms ? (this.cRdHi[e]! >>> (vm - 32)) & 1 : 0;
      if (granted === 0) {
        out.status = isWrite === true ? St.WriteDenied : St.ReadDenied;
        return;
      }
    }
    out.status = St.Hit;
  }

  /** A programmed, uncommitted decoder whose range covers hpa (miss path only; ≤ entries steps). */
  private uncommittedClaim(hpa: number): number {
    for (let d = 0; d < this.entries; d++) {
      if (this.isCommitted(d)) continue;
      const b = this.regBase(d);
      if (hpa >= b && hpa < b + this.regSize(d)) return d;
    }
    return -1;
  }

  /**
   * Reverse decode (§5.4 reverse): the HPA whose line sits at `dpa` on the device at interleave
   * position `pos` of committed decoder `entry`.
   */
  dpaToHpa(entry: number, pos: number, dpa: number): number {
    if (!(entry >= 0 && entry < this.entries) || !this.isCommitted(entry)) throw new ConfigError('entry', `decoder ${entry} is not committed`);
    const ways = this.cWays[entry]!;
    if (!(Number.isInteger(pos) && pos >= 0 && pos < ways)) throw new ConfigError('pos', `must be 0..${ways - 1} for a ${ways}-way decoder, got ${pos}`);
    const gran = this.cGran[entry]!;
    const dpaOff = dpa - this.cDpaBase[entry]!;
    const span = (this.cEnd[entry]! - this.cBase[entry]!) / ways;
    if (!(dpaOff >= 0 && dpaOff < span)) throw new ConfigError('dpa', `${hex(dpa)} is outside decoder ${entry}'s DPA range ${hex(this.cDpaBase[entry]!)}..${hex(this.cDpaBase[entry]! + span)}`);
    const dchunk = Math.floor(dpaOff / gran);
    return this.cBase[entry]! + (dchunk * ways + pos) * gran + (dpaOff - dchunk * gran);
  }

  // ---- page overrides ----------------------------------------------------------------------------
  //
  // How the migration engine uses them: when a page has been copied into this node's DRAM it calls
  // `stageOverrideLocal(hpa, pa, cycle)` from its evaluate(); the owner of the table (the request
  // decoder) calls `applyStagedOverrides(cycle)` at the start of its own evaluate(), which applies
  // only changes staged in EARLIER cycles. So a change staged in cycle t is seen by every lookup
  // from cycle t+1 on and by none before, whichever module the simulator evaluates first: an
  // atomic flip at a cycle boundary. The request decoder reads the table when a request leaves its
  // lookup stage, so requests issued before the flip may still be outstanding (remote) after it;
  // the engine must let those drain (RequestDecoder.outstandingCount) before it trusts the copy.

  /** True when another change can be staged before the next boundary. */
  canStage(): boolean {
    return this.stCount < this.overrideStageDepth;
  }

  /** Number of overrides in force. */
  get overrideCount(): number {
    return this.ovMap.size;
  }

  /** Stage "the 4 KiB page holding `hpa` now lives in this node's DRAM at `pa`". */
  stageOverrideLocal(hpa: number, pa: number, cycle: number): void {
    if (!this.localOverridesAllowed) throw new ConfigError(`override ${hex(hpa)}`, 'a local override needs a local DRAM port, and this table\'s owner has none');
    this.stage(OV_KIND_SET, hpa, TARGET_LOCAL, pa, cycle);
  }

  /** Stage "the page holding `hpa` now lives on node `node` at physical address `pa`". */
  stageOverrideRemote(hpa: number, node: number, pa: number, cycle: number): void {
    if (!(Number.isInteger(node) && node >= 0 && node <= MAX_TARGET_NODE)) throw new ConfigError(`override ${hex(hpa)}.node`, `must be an integer 0..${MAX_TARGET_NODE}, got ${node}`);
    this.stage(OV_KIND_SET, hpa, node, pa, cycle);
  }

  /** Stage the removal of the override of the page holding `hpa` (no-op if there is none). */
  stageOverrideClear(hpa: number, cycle: number): void {
    this.stage(OV_KIND_CLEAR, hpa, 0, 0, cycle);
  }

  private stage(kind: number, hpa: number, node: number, pa: number, cycle: number): void {
    const what = `override ${hex(hpa)}`;
    if (this.stCount >= this.overrideStageDepth) throw new ConfigError(what, `more than overrideStageDepth=${this.overrideStageDepth} changes staged in one cycle (check canStage())`);
    if (kind === OV_KIND_SET) {
      if (!(pa >= 0 && pa < MODEL_ADDR_LIMIT && pa % OVERRIDE_PAGE_BYTES === 0)) throw new ConfigError(`${what}.pa`, `must be a 4 KiB-aligned physical address below 2^52, got ${pa}`);
      let claimed = false;
      for (let i = 0; i < this.nSorted; i++) if (hpa >= this.sortedBase[i]! && hpa < this.sortedEnd[i]!) claimed = true;
      if (!claimed) throw new ConfigError(what, 'no committed decoder claims this page: an override only relocates a page of the window');
    }
    const s = (this.stHead + this.stCount) % this.overrideStageDepth;
    this.stKind[s] = kind;
    this.stPage[s] = Math.floor(hpa / OVERRIDE_PAGE_BYTES);
    this.stNode[s] = node;
    this.stPa[s] = pa;
    this.stCycle[s] = cycle;
    this.stCount++;
  }

  /**
   * The commit point: apply, in order, every change staged in a cycle before `cycle`. Called by the
   * table's owner at the start of its evaluate(). Allocation-free except when the Map grows.
   */
  applyStagedOverrides(cycle: number): void {
    while (this.stCount > 0 && this.stCycle[this.stHead]! < cycle) {
      const s = this.stHead;
      const page = this.stPage[s]!;
      const slot = this.ovMap.get(page);
      if (this.stKind[s] === OV_KIND_CLEAR) {
        if (slot !== undefined) {
          this.ovMap.delete(page);
          this.ovFree[this.ovFreeCount++] = slot;
        }
      } else {
        let use = slot;
        if (use === undefined) {
          if (this.ovFreeCount === 0) throw new ConfigError(`override page ${hex(page * OVERRIDE_PAGE_BYTES)}`, `more than maxOverrides=${this.maxOverrides} overrides in force`);
          use = this.ovFree[--this.ovFreeCount]!;
          this.ovMap.set(page, use);
        }
        this.ovNode[use] = this.stNode[s]!;
        this.ovPa[use] = this.stPa[s]!;
      }
      this.stHead = (this.stHead + 1) % this.overrideStageDepth;
      this.stCount--;
    }
  }

  /** Drop every override and staged change (reset). Decoders are configuration and stay. */
  clearOverrides(): void {
    this.ovMap.clear();
    for (let i = 0; i < this.maxOverrides; i++) this.ovFree[i] = this.maxOverrides - 1 - i;
    this.ovFreeCount = this.maxOverrides;
    this.stHead = 0;
    this.stCount = 0;
  }

  // ---- display -----------------------------------------------------------------------------------

  /** Decoder n as plain data (programmed values; dpaBase from the committed snapshot when committed). */
  info(n: number): DecoderInfo {
    const committed = this.isCommitted(n);
    const ways = this.regWays(n);
    const bits = (lo: number, hi: number) => {
      const out: number[] = [];
      for (let v = 0; v < MAX_VMS; v++) if ((v < 32 ? (lo >>> v) & 1 : (hi >>> (v - 32)) & 1) === 1) out.push(v);
      return out;
    };
    return {
      index: n,
      base: this.regBase(n),
      size: this.regSize(n),
      ways,
      granularity: igToGranularity((this.control[n]! >>> CTRL_IG_SHIFT) & CTRL_FIELD_MASK),
      targets: Array.from(this.targets.subarray(n * MAX_WAYS, n * MAX_WAYS + Math.max(ways, 0))),
      dpaBase: committed ? this.cDpaBase[n]! : this.dpaBaseOf(n),
      committed,
      locked: committed && (this.control[n]! & CTRL_LOCK_ON_COMMIT) !== 0,
      readers: bits(this.rdLo[n]!, this.rdHi[n]!),
      writers: bits(this.wrLo[n]!, this.wrHi[n]!),
      error: this.errorText[n] ?? null,
    };
  }
}
