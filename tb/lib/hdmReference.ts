/**
 * Independent reference model of HDM decode (reference/cxl-protocol.md §5.4), written straight from
 * the spec's bit arithmetic with BigInt. It shares no code with rtl/decode: encodings are restated
 * here on purpose, so a wrong table in rtl/ cannot make both sides agree.
 *
 * Forward (device decode logic, §5.4):
 *   DPABase[0] = DPASkip[0]; DPABase[m+1] = DPASkip[m+1] + DPABase[m] + Size[m]/ways[m]
 *   low = HPAOffset & (2^(IG+8) - 1)
 *   IW < 8 : DPAOffset = ((HPAOffset >> (IG+8+IW)) << (IG+8)) | low
 *   IW >= 8: DPAOffset = (((HPAOffset >> (IG+8+IW-8)) / 3) << (IG+8)) | low
 * Way: for 2^IW ways the host-bridge rule (HPA >> (IG+8)) & (2^IW - 1); for 3·2^k ways the
 * position that makes the spec's reverse formula give back the HPA.
 * Reverse (§5.4 reverse):
 *   IW < 8 : HPAOffset = ((DPAOffset & ~(2^(IG+8)-1)) << IW) | (pos << (IG+8)) | low
 *   IW >= 8: HPAOffset = (((((DPAOffset >> (IG+8)) * 3) << (IW-8)) + pos) << (IG+8)) | low
 */

export interface RefDecoder {
  base: bigint;
  size: bigint;
  /** Encoded IW (0..4, 8..10) and IG (0..6). */
  iw: number;
  ig: number;
  targets: number[];
  dpaSkip: bigint;
}

export interface RefHit {
  index: number;
  way: number;
  target: number;
  dpa: bigint;
}

export function refWays(iw: number): number {
  if (iw >= 0 && iw <= 4) return 1 << iw;
  if (iw >= 8 && iw <= 10) return 3 << (iw - 8);
  throw new Error(`reference: IW ${iw} is reserved`);
}

export function refDpaBases(decs: readonly RefDecoder[]): bigint[] {
  const out: bigint[] = [];
  let acc = 0n;
  for (let m = 0; m < decs.length; m++) {
    const d = decs[m]!;
    const base = m === 0 ? d.dpaSkip : d.dpaSkip + acc;
    out.push(base);
    acc = base + d.size / BigInt(refWays(d.iw));
  }
  return out;
}

export function refDecode(decs: readonly RefDecoder[], hpa: bigint): RefHit | null {
  const bases = refDpaBases(decs);
  for (let n = 0; n < decs.length; n++) {
    const d = decs[n]!;
    if (!(d.base <= hpa && hpa < d.base + d.size)) continue;
    const g = BigInt(d.ig + 8);
    const off = hpa - d.base;
    const low = off & ((1n << g) - 1n);
    let dpaOff: bigint;
    let way: number;
    if (d.iw < 8) {
      const iw = BigInt(d.iw);
      dpaOff = ((off >> (g + iw)) << g) | low;
      way = Number((hpa >> g) & ((1n << iw) - 1n));
    } else {
      const k = BigInt(d.iw - 8);
      dpaOff = (((off >> (g + k)) / 3n) << g) | low;
      way = Number((off >> g) - (((dpaOff >> g) * 3n) << k));
    }
    return { index: n, way, target: d.targets[way]!, dpa: bases[n]! + dpaOff };
  }
  return null;
}

export function refDpaToHpa(decs: readonly RefDecoder[], n: number, pos: number, dpa: bigint): bigint {
  const d = decs[n]!;
  const g = BigInt(d.ig + 8);
  const dpaOff = dpa - refDpaBases(decs)[n]!;
  const low = dpaOff & ((1n << g) - 1n);
  let off: bigint;
  if (d.iw < 8) off = ((dpaOff & ~((1n << g) - 1n)) << BigInt(d.iw)) | (BigInt(pos) << g) | low;
  else off = (((((dpaOff >> g) * 3n) << BigInt(d.iw - 8)) + BigInt(pos)) << g) | low;
  return d.base + off;
}
