/**
 * CXL.mem credit arithmetic and the two on-wire credit-return encodings.
 *
 * - 68B flits: a 4-bit nibble per credit field of the flit header (RspCrd, ReqCrd, DataCrd);
 *   bit 3 = 1 for CXL.mem (0 = CXL.cache), bits [2:0] index 0,1,2,4,8,16,32,64 credits
 *   (CXL 3.1 Table 4-4; reference/cxl-protocol.md §2.2).
 * - 256B flits: 5-bit codes in the 2-byte CRD field; 00h = none, then per channel group
 *   base+0..4 = 1,4,8,12,16 credits; base 14h = memory downstream channels (M2S Req/RwD/BIRsp),
 *   19h = memory upstream channels (S2M BISnp/DRS/NDR) (CXL 3.1 Table 4-19; reference §3.4).
 *
 * A sender returns the largest encodable amount not above what it owes (the rest waits for the
 * next flit); credit counters saturate (CXL 3.1 §4.2.7, reference §4.1).
 */

/** Credits each 3-bit 68B code stands for. */
export const CRD68_AMOUNTS: readonly number[] = [0, 1, 2, 4, 8, 16, 32, 64];
/** 68B credit nibble bit 3: the credits are CXL.mem credits. */
export const CRD68_MEM_BIT = 0b1000;

/**
 * The 68B encoding for the per-flit functions below, as a `const enum` (literals, where a
 * module-level constant or array element is loaded and checked at each use in V8's optimized code):
 * the mem bit, and the largest amount. Amounts are 0 and 2^(c-1), checked against CRD68_AMOUNTS at load.
 */
const enum Crd68 { memBit = 0b1000, maxAmount = 64 }
if (Crd68.memBit !== CRD68_MEM_BIT || Crd68.maxAmount !== CRD68_AMOUNTS[7] || CRD68_AMOUNTS.some((a, c) => a !== (c === 0 ? 0 : 1 << (c - 1)))) {
  throw new Error('Credits: Crd68 disagrees with CRD68_MEM_BIT / CRD68_AMOUNTS');
}

/** 3-bit code of the largest 68B-encodable amount ≤ owed. */
export function crd68Code(owed: number): number {
  // Amounts are 0 and 2^(c-1): the code is the bit length of owed, capped at 7 (also for
  // fractions, whose integer part has the same bit length; NaN and < 1 give 0).
  if (owed >= Crd68.maxAmount) return 7;
  if (!(owed >= 1)) return 0;
  return 32 - Math.clz32(owed);
}

/** Amount carried by a 68B credit nibble: 0 unless the mem bit is set (CRD68_AMOUNTS[c] = 2^(c-1), 0 for c = 0). */
export function crd68Amount(nibble: number): number {
  const c = nibble & 7;
  return (nibble & Crd68.memBit) !== 0 && c !== 0 ? 1 << (c - 1) : 0;
}

/** 4-bit 68B credit nibble returning the largest encodable amount ≤ owed (0 when owed is 0). */
export function crd68Nibble(owed: number): number {
  const c = crd68Code(owed);
  return c === 0 ? 0 : Crd68.memBit | c;
}

/** Credits each 256B step stands for (step 0 = code 00h = none). */
export const CRD256_AMOUNTS: readonly number[] = [0, 1, 4, 8, 12, 16];
/** 256B CRD code base for memory downstream channels (M2S Req, M2S RwD, M2S BIRsp). */
export const CRD256_MEM_DOWN = 0x14;
/** 256B CRD code base for memory upstream channels (S2M BISnp, S2M DRS, S2M NDR). */
export const CRD256_MEM_UP = 0x19;
/** CRD[4:0] = 01h marks an Empty flit (no valid slot, no control message, no credits). */
export const CRD256_EMPTY = 0x01;

/** CRD256_STEP_OF[n] = largest step whose amount is ≤ n, for n below the largest amount. */
const CRD256_STEP_OF = (() => {
  const t = new Uint8Array(CRD256_AMOUNTS[5]!);
  for (let n = 0; n < t.length; n++) {
    let s = 0;
    while (s < 5 && CRD256_AMOUNTS[s + 1]! <= n) s++;
    t[n] = s;
  }
  return t;
})();

/** Step (0..5) of the largest 256B-encodable amount ≤ owed. */
export function crd256Step(owed: number): number {
  if (owed >= CRD256_AMOUNTS[5]!) return 5;
  if (!(owed >= 1)) return 0;
  // Thresholds are whole numbers, so the integer part of owed (1..15) picks the step.
  return CRD256_STEP_OF[owed | 0]!;
}

/** 5-bit CRD code returning the largest encodable amount ≤ owed in the group at `base`. */
export function crd256Code(owed: number, base: number): number {
  const s = crd256Step(owed);
  return s === 0 ? 0 : base + s - 1;
}

/** Amount a 5-bit CRD code carries if it belongs to the group at `base`, else 0. */
export function crd256Amount(code: number, base: number): number {
  return code >= base && code <= base + 4 ? CRD256_AMOUNTS[code - base + 1]! : 0;
}

/** True when a non-zero CRD code is none of the memory codes (cache credits or reserved). */
export function crd256IsForeign(code: number): boolean {
  return code !== 0 && !(code >= CRD256_MEM_DOWN && code <= CRD256_MEM_UP + 4);
}

/** a + b, clamped at max (credit counters saturate rather than wrap). */
export function satAdd(a: number, b: number, max: number): number {
  const s = a + b;
  return s > max ? max : s;
}
