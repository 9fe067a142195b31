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
 * feasibility test of the packer is one table read; load() gives the same result as compute().
 */
export class Flit68Layout {
  readonly fmt = new Int32Array(F68_SLOTS);
  readonly isData = new Uint8Array(F68_SLOTS);
  readonly alloc = new Int32Array(F68_SLOTS * 4);
  private readonly left = new Int32Array(4);

  /** Lay out `counts` (per MsgClass) in a flit of direction `role` after `owed` chunks; true if all fit. */
  load(role: number, counts: Int32Array, owed: number): boolean {
    const k = layoutIndex68(role, counts, owed);
    if (k < 0) return this.compute(role, counts, owed);
    const t = LAYOUT68;
    for (let s = 0; s < F68_SLOTS; s++) {
      this.fmt[s] = t.fmt[k * F68_SLOTS + s]!;
      this.isData[s] = t.isData[k * F68_SLOTS + s]!;
    }
    for (let i = 0; i < F68_SLOTS * 4; i++) this.alloc[i] = t.alloc[k * F68_SLOTS * 4 + i]!;
    return t.ok[k] === 1;
  }

  /** Would `counts` fit? Same answer as load(), without filling in the layout. */
  fits(role: number, counts: Int32Array, owed: number): boolean {
    const k = layoutIndex68(role, counts, owed);
    return k >= 0 ? LAYOUT68.ok[k] === 1 : this.compute(role, counts, owed);
  }

  /** The layout itself (the table is made of its results). */
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

/** compute()'s result for every tabulated input, indexed by layoutIndex68. */
const LAYOUT68 = (() => {
  const ok = new Uint8Array(ENTRIES);
  const fmt = new Int32Array(ENTRIES * F68_SLOTS);
  const isData = new Uint8Array(ENTRIES * F68_SLOTS);
  const alloc = new Int32Array(ENTRIES * F68_SLOTS * 4);
  const l = new Flit68Layout();
  const counts = new Int32Array(4);
  for (let role = 0; role < 2; role++) {
    for (counts[0] = 0; counts[0] < SPAN[0]; counts[0]++) {
      for (counts[1] = 0; counts[1] < SPAN[1]; counts[1]++) {
        for (counts[2] = 0; counts[2] < SPAN[2]; counts[2]++) {
          for (counts[3] = 0; counts[3] < SPAN[3]; counts[3]++) {
            for (let owed = 0; owed < OWED_SPAN; owed++) {
              const k = layoutIndex68(role, counts, owed);
              ok[k] = l.compute(role, counts, owed) ? 1 : 0;
              fmt.set(l.fmt, k * F68_SLOTS);
              isData.set(l.isData, k * F68_SLOTS);
              alloc.set(l.alloc, k * F68_SLOTS * 4);
            }
          }
        }
      }
    }
  }
  return { ok, fmt, isData, alloc };
})();
