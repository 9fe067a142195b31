import { ConfigError } from '../../src/sim/index.ts';
import { LINE_BYTES } from '../cxl/opcodes.ts';

/** What a requesting node may do in an exported range (bit set). */
export const ExportPerm = { Read: 1, Write: 2, ReadWrite: 3 } as const;
export type ExportPerm = (typeof ExportPerm)[keyof typeof ExportPerm];

/** Outcome of a check, from the target's point of view. */
export const ExportCheck = {
  /** No exported range covers the address, for anyone: the address is not claimed (CXL "decode error"). */
  Unclaimed: 0,
  /** A range covers the address, but not for this requester or not with this permission. */
  Refused: 1,
  Allowed: 2,
} as const;
export type ExportCheck = (typeof ExportCheck)[keyof typeof ExportCheck];

/** Port ids are 12 bits (SPID/DPID, reference/cxl-protocol.md §1.5-1.6, PBR). */
const PORT_ID_LIMIT = 2 ** 12;

export interface ExportEntry {
  /** Requesting node (message spid) this range is exported to. */
  readonly spid: number;
  /** First local physical address of the range (multiple of 64). */
  readonly base: number;
  /** Bytes (multiple of 64, > 0). */
  readonly size: number;
  readonly perm: ExportPerm;
}

/**
 * The target-side guard of a remote memory controller: which requesting node may read or write
 * which local physical ranges. The requester's own address-range table is not trusted for
 * isolation; this table is checked on every M2S message. Entries may overlap; any entry that
 * grants the access allows it. Lookup is a linear scan over typed arrays (tables are small and
 * set up at elaboration; nothing is allocated per check).
 */
export class ExportTable {
  private readonly spids: Float64Array;
  private readonly bases: Float64Array;
  private readonly limits: Float64Array;
  private readonly perms: Uint8Array;
  private n = 0;

  constructor(
    readonly capacity = 64,
    /** Addresses at or above this are never exportable (the local DRAM size). */
    readonly localBytes = 2 ** 52,
    /** Name used in configuration errors. */
    readonly path = 'exports',
  ) {
    this.spids = new Float64Array(capacity);
    this.bases = new Float64Array(capacity);
    this.limits = new Float64Array(capacity);
    this.perms = new Uint8Array(capacity);
  }

  get size(): number {
    return this.n;
  }

  /** Add a range (elaboration time). Throws ConfigError naming the entry and the rule broken. */
  add(e: ExportEntry): void {
    const where = `${this.path}[${this.n}]`;
    if (this.n >= this.capacity) throw new ConfigError(where, `table is full (capacity ${this.capacity})`);
    if (!(Number.isInteger(e.spid) && e.spid >= 0 && e.spid < PORT_ID_LIMIT)) throw new ConfigError(`${where}.spid`, `must be an integer in [0, 4095], got ${e.spid}`);
    if (!(Number.isInteger(e.base) && e.base >= 0 && e.base % LINE_BYTES === 0)) throw new ConfigError(`${where}.base`, `must be a multiple of ${LINE_BYTES} ≥ 0, got ${e.base}`);
    if (!(Number.isInteger(e.size) && e.size > 0 && e.size % LINE_BYTES === 0)) throw new ConfigError(`${where}.size`, `must be a multiple of ${LINE_BYTES} > 0, got ${e.size}`);
    if (e.base + e.size > this.localBytes) throw new ConfigError(`${where}`, `range [${e.base}, ${e.base + e.size}) runs past the local memory (${this.localBytes} bytes)`);
    if (!(e.perm === ExportPerm.Read || e.perm === ExportPerm.Write || e.perm === ExportPerm.ReadWrite)) throw new ConfigError(`${where}.perm`, `must be Read (1), Write (2) or ReadWrite (3), got ${e.perm}`);
    this.spids[this.n] = e.spid;
    this.bases[this.n] = e.base;
    this.limits[this.n] = e.base + e.size;
    this.perms[this.n] = e.perm;
    this.n++;
  }

  clear(): void {
    this.n = 0;
  }

  /** May requester `spid` perform `need` (ExportPerm.Read or .Write) on the line at `addr`? */
  check(spid: number, addr: number, need: ExportPerm): ExportCheck {
    let claimed = false;
    for (let i = 0; i < this.n; i++) {
      if (addr < this.bases[i]! || addr >= this.limits[i]!) continue;
      if (this.spids[i] === spid && (this.perms[i]! & need) === need) return ExportCheck.Allowed;
      claimed = true;
    }
    return claimed ? ExportCheck.Refused : ExportCheck.Unclaimed;
  }
}
