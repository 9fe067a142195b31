import { MsgClass } from '../cxl/opcodes.ts';
import {
  F68_FLIT_OFF, F68_SLOTS, HDR68_SLOT_FMT, M2S_G4, M2S_G5, M2S_H4, M2S_H5, S2M_G4, S2M_G5, S2M_G6, S2M_H3, S2M_H4, S2M_H5, G0, slotBit68,
} from './Flit68.ts';
import { EMPTY_G68, EMPTY_H68, POS68 } from './Flit68Slots.ts';
import { Role } from './FlitFormat.ts';

const { M2SReq, M2SRwD, S2MNDR, S2MDRS } = MsgClass;
/** Chunks of one 64-byte line. */
const LINE_CHUNKS = 4;

/**
 * Where the messages of one 68B flit go: the slot formats, which slots carry data chunks, and how
 * many messages of each class each slot holds (alloc[slot * 4 + class]). Deterministic: it depends
 * only on the flit's direction, its message counts per class and the chunks owed by earlier flits.
 *
 * compute() tries H-slot contents in a fixed preference order; G slots are filled greedily after
 * any owed data. Every input the packer can produce (counts within the per-flit limits, fewer than
 * 4 chunks owed) is tabulated once at load with compute() itself (LAYOUT68), so the per-message
 * feasibility test of the packer is one table read. What the assembler needs to write a flit is
 * tabulated with it, as a Layout68Plan: load() names the row (`plan`, `row`) instead of laying out
 * again; for other inputs load() runs compute() and plans it in this object's own one-row plan.
 */
export class Flit68Layout {
  /** The plan of the last load(): LAYOUT68 (shared: read only) or, outside the table, `ownPlan`. */
  plan: Layout68Plan;
  /** Its row in `plan`. */
  row = 0;
  /** compute()'s result (the table is made of these). */
  readonly fmt = new Int32Array(F68_SLOTS);
  readonly isData = new Uint8Array(F68_SLOTS);
  readonly alloc = new Int32Array(F68_SLOTS * 4);
  private readonly left = new Int32Array(4);
  private readonly ownPlan = new Layout68Plan(1);

  constructor() {
    this.plan = this.ownPlan;
  }

  /** Lay out `counts` (per MsgClass) in a flit of direction `role` after `owed` chunks; true if all fit. */
  load(role: number, counts: Int32Array, owed: number): boolean {
    const k = layoutIndex68(role, counts, owed);
    if (k >= 0) {
      this.plan = LAYOUT68;
      this.row = k;
      return LAYOUT68.ok[k] === 1;
    }
    const ok = this.compute(role, counts, owed);
    this.ownPlan.record(0, role, this, ok);
    this.plan = this.ownPlan;
    this.row = 0;
    return ok;
  }

  /** Would `counts` fit? Same answer as load(); the loaded plan stays. */
  fits(role: number, counts: Int32Array, owed: number): boolean {
    const k = layoutIndex68(role, counts, owed);
    return k >= 0 ? LAYOUT68.ok[k] === 1 : this.compute(role, counts, owed);
  }

  /** The layout itself, into this object's own arrays (the table is made of its results). */
  compute(role: number, counts: Int32Array, owed: number): boolean {
    const cand = role === Role.M2S ? 2 : 4;
    for (let k = 0; k < cand; k++) {
      if (role === Role.M2S ? this.tryM2S(k, counts, owed) : this.tryS2M(k, counts, owed)) return true;
    }
    // No header at all: an empty (credit-only) flit.
    const any = counts[0]! + counts[1]! + counts[2]! + counts[3]!;
    if (any !== 0) return false;
    this.reset(counts);
    this.fmt[0] = EMPTY_H68[role]!;
    this.fillG(role, owed);
    return true;
  }

  private reset(counts: Int32Array): void {
    const alloc = this.alloc;
    for (let i = 0; i < alloc.length; i++) alloc[i] = 0;
    const isData = this.isData;
    for (let i = 0; i < isData.length; i++) isData[i] = 0;
    for (let c = 0; c < 4; c++) this.left[c] = counts[c]!;
  }

  /** M2S H-slot candidates: 0 = H4 (the RwD), 1 = H5 (a Req). */
  private tryM2S(k: number, counts: Int32Array, owedIn: number): boolean {
    this.reset(counts);
    const L = this.left;
    let owed = owedIn;
    if (k === 0) {
      if (L[M2SRwD] === 0) return false;
      this.fmt[0] = M2S_H4;
      this.alloc[M2SRwD] = 1;
      L[M2SRwD]!--;
      owed += LINE_CHUNKS;
    } else {
      if (L[M2SReq] === 0) return false;
      this.fmt[0] = M2S_H5;
      this.alloc[M2SReq] = 1;
      L[M2SReq]!--;
    }
    this.fillG(Role.M2S, owed);
    return L[0] === 0 && L[1] === 0 && L[2] === 0 && L[3] === 0;
  }

  /** S2M H-slot candidates: 0 = H5 (2 DRS, MDH), 1 = H3 (DRS + NDR), 2 = H4 (NDRs), 3 = H3 (DRS only). */
  private tryS2M(k: number, counts: Int32Array, owedIn: number): boolean {
    this.reset(counts);
    const L = this.left;
    const d = L[S2MDRS]!;
    const n = L[S2MNDR]!;
    let owed = owedIn;
    if (k === 0) {
      if (d !== 2) return false;
      this.fmt[0] = S2M_H5;
      this.alloc[S2MDRS] = 2;
    } else if (k === 1) {
      if (d !== 1 || n === 0) return false;
      this.fmt[0] = S2M_H3;
      this.alloc[S2MDRS] = 1;
      this.alloc[S2MNDR] = 1;
    } else if (k === 2) {
      if (n === 0) return false;
      this.fmt[0] = S2M_H4;
      this.alloc[S2MNDR] = n < 2 ? n : 2;
    } else {
      if (d !== 1) return false;
      this.fmt[0] = S2M_H3;
      this.alloc[S2MDRS] = 1;
    }
    L[S2MDRS]! -= this.alloc[S2MDRS]!;
    L[S2MNDR]! -= this.alloc[S2MNDR]!;
    owed += this.alloc[S2MDRS]! * LINE_CHUNKS;
    this.fillG(Role.S2M, owed);
    return L[0] === 0 && L[1] === 0 && L[2] === 0 && L[3] === 0;
  }

  /** Slots 1-3: owed data first, then headers greedily; a data header makes the following slots data. */
  private fillG(role: number, owedIn: number): void {
    const L = this.left;
    let owed = owedIn;
    for (let s = 1; s < F68_SLOTS; s++) {
      const a = s * 4;
      if (owed > 0) {
        this.isData[s] = 1;
        this.fmt[s] = G0;
        owed--;
        continue;
      }
      if (role === Role.M2S) {
        if (L[M2SReq]! > 0) {
          this.fmt[s] = M2S_G4;
          this.alloc[a + M2SReq] = 1;
          L[M2SReq]!--;
        } else if (L[M2SRwD]! > 0) {
          this.fmt[s] = M2S_G5;
          this.alloc[a + M2SRwD] = 1;
          L[M2SRwD]!--;
          owed += LINE_CHUNKS;
        } else this.fmt[s] = EMPTY_G68[role]!;
      } else {
        const d = L[S2MDRS]!;
        const n = L[S2MNDR]!;
        if (d >= 2) {
          this.fmt[s] = S2M_G6;
          this.alloc[a + S2MDRS] = d;
          L[S2MDRS] = 0;
          owed += d * LINE_CHUNKS;
        } else if (d === 1) {
          this.fmt[s] = S2M_G4;
          this.alloc[a + S2MDRS] = 1;
          this.alloc[a + S2MNDR] = n < 2 ? n : 2;
          L[S2MDRS] = 0;
          L[S2MNDR]! -= this.alloc[a + S2MNDR]!;
          owed += LINE_CHUNKS;
        } else if (n > 0) {
          this.fmt[s] = S2M_G5;
          this.alloc[a + S2MNDR] = n < 2 ? n : 2;
          L[S2MNDR]! -= this.alloc[a + S2MNDR]!;
        } else this.fmt[s] = EMPTY_G68[role]!;
      }
    }
  }
}

/**
 * Tabulated range: per-flit limits (2 Req, 1 RwD, 2 NDR, 3 DRS; F68_LIMITS) and 0-3 owed chunks
 * (4 or more make an all-data flit, which has no layout). 2 × 3 × 2 × 3 × 4 × 4 = 576 entries.
 */
const SPAN = [3, 2, 3, 4] as const;
const OWED_SPAN = LINE_CHUNKS;
const ENTRIES = 2 * SPAN[0] * SPAN[1] * SPAN[2] * SPAN[3] * OWED_SPAN;
/**
 * SPAN and OWED_SPAN for layoutIndex68, which runs for every message the packer offers: as `const
 * enum` members they are literals, where a module-level array element or constant is loaded (and
 * bounds- and type-checked) at each use in V8's optimized code. Checked at load.
 */
const enum Span { c0 = 3, c1 = 2, c2 = 3, c3 = 4, owed = 4 }
if (Span.c0 !== SPAN[0] || Span.c1 !== SPAN[1] || Span.c2 !== SPAN[2] || Span.c3 !== SPAN[3] || Span.owed !== OWED_SPAN) {
  throw new Error('Flit68Layout: Span disagrees with SPAN / OWED_SPAN');
}

/** Index of (role, counts, owed) in LAYOUT68, or -1 outside the tabulated range. */
export function layoutIndex68(role: number, counts: Int32Array, owed: number): number {
  const c0 = counts[0]!;
  const c1 = counts[1]!;
  const c2 = counts[2]!;
  const c3 = counts[3]!;
  if (
    (role !== 0 && role !== 1) || c0 < 0 || c0 >= Span.c0 || c1 < 0 || c1 >= Span.c1 || c2 < 0 || c2 >= Span.c2 ||
    c3 < 0 || c3 >= Span.c3 || owed < 0 || owed >= Span.owed
  ) return -1;
  return ((((role * Span.c0 + c0) * Span.c1 + c1) * Span.c2 + c2) * Span.c3 + c3) * Span.owed + owed;
}

/** Most messages one flit carries: 2 M2S Req + 1 RwD, or 2 S2M NDR + 3 DRS. */
const MAX_MSGS = 5;
/** Data slots (G slots) of a flit. */
const MAX_DATA = F68_SLOTS - 1;

/**
 * A layout as the assembler writes it, for `rows` inputs (struct of arrays, one row per input): the
 * header's slot-format bits, every message's class and place in slot order (per slot, the positions
 * of the format in POS68 order that its counts take), and the data slots in slot order.
 */
export class Layout68Plan {
  /** 1 when the input fits (otherwise the rest of the row is empty). */
  readonly ok: Uint8Array;
  /** Slot formats, one nibble per slot (slot 0 lowest): the packer's lastSlotFormats. */
  readonly formats: Int32Array;
  /** The same formats at their header bit positions (HDR68_SLOT_FMT). */
  readonly hdrFmtBits: Int32Array;
  readonly nMsgs: Uint8Array;
  /** Message j of row k at [k * MAX_MSGS + j]: class, byte of its slot's message space in the 68B slot, bit there. */
  readonly msgCls: Uint8Array;
  readonly msgByte: Uint8Array;
  readonly msgBit: Uint8Array;
  readonly nData: Uint8Array;
  /** Data slot j of row k at [k * MAX_DATA + j]: its byte in the 68B slot. */
  readonly dataByte: Uint8Array;
  private readonly taken = new Int32Array(4);

  constructor(rows: number) {
    this.ok = new Uint8Array(rows);
    this.formats = new Int32Array(rows);
    this.hdrFmtBits = new Int32Array(rows);
    this.nMsgs = new Uint8Array(rows);
    this.msgCls = new Uint8Array(rows * MAX_MSGS);
    this.msgByte = new Uint8Array(rows * MAX_MSGS);
    this.msgBit = new Uint8Array(rows * MAX_MSGS);
    this.nData = new Uint8Array(rows);
    this.dataByte = new Uint8Array(rows * MAX_DATA);
  }

  /** Plan row `k` from a layout compute() just made for direction `role`. */
  record(k: number, role: number, l: Flit68Layout, ok: boolean): void {
    this.ok[k] = ok ? 1 : 0;
    if (!ok) {
      // Never written (the assembler only writes what fits).
      this.nMsgs[k] = 0;
      this.nData[k] = 0;
      return;
    }
    let formats = 0;
    let hdrFmtBits = 0;
    let nMsgs = 0;
    let nData = 0;
    for (let s = 0; s < F68_SLOTS; s++) {
      const fmt = l.fmt[s]!;
      formats |= fmt << (4 * s);
      hdrFmtBits |= (fmt & 7) << HDR68_SLOT_FMT[s]!;
      const byte = F68_FLIT_OFF + (slotBit68(s) >> 3);
      if (l.isData[s]) {
        this.dataByte[k * MAX_DATA + nData++] = byte;
        continue;
      }
      // The first alloc[s * 4 + c] positions of class c in the slot's format take messages of class c.
      const pos = POS68[role]![s === 0 ? 0 : 1]![fmt]!;
      const taken = this.taken;
      taken.fill(0);
      for (let p = 0; p < pos.length; p += 2) {
        const c = pos[p]!;
        if (taken[c]! >= l.alloc[s * 4 + c]!) continue;
        taken[c]!++;
        if (nMsgs >= MAX_MSGS) throw new Error('Layout68Plan: more messages than a flit carries');
        const j = k * MAX_MSGS + nMsgs++;
        this.msgCls[j] = c;
        this.msgByte[j] = byte;
        this.msgBit[j] = pos[p + 1]!;
      }
    }
    this.formats[k] = formats;
    this.hdrFmtBits[k] = hdrFmtBits;
    this.nMsgs[k] = nMsgs;
    this.nData[k] = nData;
  }
}
export { MAX_DATA as PLAN68_MAX_DATA, MAX_MSGS as PLAN68_MAX_MSGS };

/** compute()'s result for every tabulated input, planned, indexed by layoutIndex68. */
const LAYOUT68 = (() => {
  const t = new Layout68Plan(ENTRIES);
  const l = new Flit68Layout(); // never loaded: compute() fills its fmt/isData/alloc
  const counts = new Int32Array(4);
  for (let role = 0; role < 2; role++) {
    for (counts[0] = 0; counts[0] < SPAN[0]; counts[0]++) {
      for (counts[1] = 0; counts[1] < SPAN[1]; counts[1]++) {
        for (counts[2] = 0; counts[2] < SPAN[2]; counts[2]++) {
          for (counts[3] = 0; counts[3] < SPAN[3]; counts[3]++) {
            for (let owed = 0; owed < OWED_SPAN; owed++) {
              const k = layoutIndex68(role, counts, owed);
              t.record(k, role, l, l.compute(role, counts, owed));
            }
          }
        }
      }
    }
  }
  return t;
})();
