import { MsgClass } from '../cxl/opcodes.ts';
import { F68_SLOTS, M2S_G4, M2S_G5, M2S_H4, M2S_H5, S2M_G4, S2M_G5, S2M_G6, S2M_H3, S2M_H4, S2M_H5, G0 } from './Flit68.ts';
import { EMPTY_G68, EMPTY_H68 } from './Flit68Slots.ts';
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
 * feasibility test of the packer is one table read, and load() points at the row instead of
 * laying out again; for other inputs load() runs compute().
 */
export class Flit68Layout {
  /**
   * The layout of the last load(): a row of LAYOUT68 (shared: read only) or, for an input outside
   * the table, this object's own arrays below, which compute() fills.
   */
  fmt: Int32Array;
  isData: Uint8Array;
  alloc: Int32Array;
  private readonly ownFmt = new Int32Array(F68_SLOTS);
  private readonly ownIsData = new Uint8Array(F68_SLOTS);
  private readonly ownAlloc = new Int32Array(F68_SLOTS * 4);
  private readonly left = new Int32Array(4);

  constructor() {
    this.fmt = this.ownFmt;
    this.isData = this.ownIsData;
    this.alloc = this.ownAlloc;
  }

  /** Lay out `counts` (per MsgClass) in a flit of direction `role` after `owed` chunks; true if all fit. */
  load(role: number, counts: Int32Array, owed: number): boolean {
    const k = layoutIndex68(role, counts, owed);
    if (k < 0) {
      this.fmt = this.ownFmt;
      this.isData = this.ownIsData;
      this.alloc = this.ownAlloc;
      return this.compute(role, counts, owed);
    }
    const t = LAYOUT68;
    this.fmt = t.fmt[k]!;
    this.isData = t.isData[k]!;
    this.alloc = t.alloc[k]!;
    return t.ok[k] === 1;
  }

  /** Would `counts` fit? Same answer as load(); the current layout stays unless the input is outside the table. */
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
    this.ownFmt[0] = EMPTY_H68[role]!;
    this.fillG(role, owed);
    return true;
  }

  private reset(counts: Int32Array): void {
    const alloc = this.ownAlloc;
    for (let i = 0; i < alloc.length; i++) alloc[i] = 0;
    const isData = this.ownIsData;
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
      this.ownFmt[0] = M2S_H4;
      this.ownAlloc[M2SRwD] = 1;
      L[M2SRwD]!--;
      owed += LINE_CHUNKS;
    } else {
      if (L[M2SReq] === 0) return false;
      this.ownFmt[0] = M2S_H5;
      this.ownAlloc[M2SReq] = 1;
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
      this.ownFmt[0] = S2M_H5;
      this.ownAlloc[S2MDRS] = 2;
    } else if (k === 1) {
      if (d !== 1 || n === 0) return false;
      this.ownFmt[0] = S2M_H3;
      this.ownAlloc[S2MDRS] = 1;
      this.ownAlloc[S2MNDR] = 1;
    } else if (k === 2) {
      if (n === 0) return false;
      this.ownFmt[0] = S2M_H4;
      this.ownAlloc[S2MNDR] = n < 2 ? n : 2;
    } else {
      if (d !== 1) return false;
      this.ownFmt[0] = S2M_H3;
      this.ownAlloc[S2MDRS] = 1;
    }
    L[S2MDRS]! -= this.ownAlloc[S2MDRS]!;
    L[S2MNDR]! -= this.ownAlloc[S2MNDR]!;
    owed += this.ownAlloc[S2MDRS]! * LINE_CHUNKS;
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
        this.ownIsData[s] = 1;
        this.ownFmt[s] = G0;
        owed--;
        continue;
      }
      if (role === Role.M2S) {
        if (L[M2SReq]! > 0) {
          this.ownFmt[s] = M2S_G4;
          this.ownAlloc[a + M2SReq] = 1;
          L[M2SReq]!--;
        } else if (L[M2SRwD]! > 0) {
          this.ownFmt[s] = M2S_G5;
          this.ownAlloc[a + M2SRwD] = 1;
          L[M2SRwD]!--;
          owed += LINE_CHUNKS;
        } else this.ownFmt[s] = EMPTY_G68[role]!;
      } else {
        const d = L[S2MDRS]!;
        const n = L[S2MNDR]!;
        if (d >= 2) {
          this.ownFmt[s] = S2M_G6;
          this.ownAlloc[a + S2MDRS] = d;
          L[S2MDRS] = 0;
          owed += d * LINE_CHUNKS;
        } else if (d === 1) {
          this.ownFmt[s] = S2M_G4;
          this.ownAlloc[a + S2MDRS] = 1;
          this.ownAlloc[a + S2MNDR] = n < 2 ? n : 2;
          L[S2MDRS] = 0;
          L[S2MNDR]! -= this.ownAlloc[a + S2MNDR]!;
          owed += LINE_CHUNKS;
        } else if (n > 0) {
          this.ownFmt[s] = S2M_G5;
          this.ownAlloc[a + S2MNDR] = n < 2 ? n : 2;
          L[S2MNDR]! -= this.ownAlloc[a + S2MNDR]!;
        } else this.ownFmt[s] = EMPTY_G68[role]!;
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

/** Index of (role, counts, owed) in LAYOUT68, or -1 outside the tabulated range. */
export function layoutIndex68(role: number, counts: Int32Array, owed: number): number {
  const c0 = counts[0]!;
  const c1 = counts[1]!;
  const c2 = counts[2]!;
  const c3 = counts[3]!;
  if (
    (role !== 0 && role !== 1) || c0 < 0 || c0 >= SPAN[0] || c1 < 0 || c1 >= SPAN[1] || c2 < 0 || c2 >= SPAN[2] ||
    c3 < 0 || c3 >= SPAN[3] || owed < 0 || owed >= OWED_SPAN
  ) return -1;
  return ((((role * SPAN[0] + c0) * SPAN[1] + c1) * SPAN[2] + c2) * SPAN[3] + c3) * OWED_SPAN + owed;
}

/** compute()'s result for every tabulated input, indexed by layoutIndex68: one row (array) per input. */
const LAYOUT68 = (() => {
  const ok = new Uint8Array(ENTRIES);
  const fmt: Int32Array[] = [];
  const isData: Uint8Array[] = [];
  const alloc: Int32Array[] = [];
  const l = new Flit68Layout(); // never loaded: its fmt/isData/alloc are the arrays compute() fills
  const counts = new Int32Array(4);
  for (let role = 0; role < 2; role++) {
    for (counts[0] = 0; counts[0] < SPAN[0]; counts[0]++) {
      for (counts[1] = 0; counts[1] < SPAN[1]; counts[1]++) {
        for (counts[2] = 0; counts[2] < SPAN[2]; counts[2]++) {
          for (counts[3] = 0; counts[3] < SPAN[3]; counts[3]++) {
            for (let owed = 0; owed < OWED_SPAN; owed++) {
              const k = layoutIndex68(role, counts, owed);
              ok[k] = l.compute(role, counts, owed) ? 1 : 0;
              fmt[k] = Int32Array.from(l.fmt);
              isData[k] = Uint8Array.from(l.isData);
              alloc[k] = Int32Array.from(l.alloc);
            }
          }
        }
      }
    }
  }
  return { ok, fmt, isData, alloc };
})();
