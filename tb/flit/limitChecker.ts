/**
 * An independent, deliberately simple reading of a flit stream that counts message headers per
 * flit (68B) or per rolling 128-byte group (256B) and reports any count above the spec limits
 * (CXL 3.1 §4.2.5 / Table 4-18). Written from the spec numbers, not from rtl/flit's tables, so the
 * round-trip property checks the packer's limits without trusting the parser under test.
 */
const bitAt = (b: Uint8Array, byte: number, p: number) => (b[byte + (p >> 3)]! >> (p & 7)) & 1;
const field = (b: Uint8Array, byte: number, p: number, w: number) => {
  let v = 0;
  for (let i = 0; i < w; i++) v += bitAt(b, byte, p + i) << i;
  return v;
};

// 68B: [class, bit offset] of the memory messages per (direction, H/G, format); sizes Req/RwD 87, NDR 30, DRS 40.
const P68: Record<string, [number, number][]> = {
  'M2S.H.4': [[1, 0]], 'M2S.H.5': [[0, 0]], 'M2S.G.4': [[0, 0]], 'M2S.G.5': [[1, 0]],
  'S2M.H.3': [[3, 0], [2, 40]], 'S2M.H.4': [[2, 0], [2, 30]], 'S2M.H.5': [[3, 0], [3, 40]],
  'S2M.G.4': [[3, 0], [2, 40], [2, 70]], 'S2M.G.5': [[2, 0], [2, 30]], 'S2M.G.6': [[3, 0], [3, 40], [3, 80]],
};
const LIMIT68 = [2, 1, 2, 3];

export class Limit68Checker {
  private owed = 0;
  readonly violations: string[] = [];
  flits = 0;
  feed(b: Uint8Array, off: number): void {
    const n = this.flits++;
    const f = off + 2;
    if (this.owed >= 4) {
      this.owed -= 4;
      return;
    }
    if (bitAt(b, f, 0) === 1) return; // control
    const dir = bitAt(b, f, 17) ? 'S2M' : 'M2S';
    const be = bitAt(b, f, 3);
    const count = [0, 0, 0, 0];
    let drsSlots = 0;
    for (let s = 0; s < 4; s++) {
      if (s > 0 && this.owed > 0) {
        this.owed--;
        continue;
      }
      const fmt = field(b, f, [5, 8, 11, 14][s]!, 3);
      const base = s === 0 ? 32 : 128 * s;
      let drsHere = 0;
      for (const [c, p] of P68[`${dir}.${s === 0 ? 'H' : 'G'}.${fmt}`] ?? []) {
        if (!bitAt(b, f, base + p)) continue;
        count[c]!++;
        if (c === 3) drsHere++;
        if (c === 1 || c === 3) this.owed += 4 + (c === 1 && be === 1 && field(b, f, base + p + 1, 4) === 2 ? 1 : 0);
      }
      if (drsHere > 0) drsSlots++;
    }
    for (let c = 0; c < 4; c++) if (count[c]! > LIMIT68[c]!) this.violations.push(`flit ${n}: ${count[c]} messages of class ${c} > ${LIMIT68[c]}`);
    if (drsSlots > 1) this.violations.push(`flit ${n}: DRS headers in ${drsSlots} slots (one data message may start per flit unless MDH)`);
    if (count[1]! + (count[3]! > 0 ? 1 : 0) > 1) this.violations.push(`flit ${n}: more than one data slot group`);
  }
}

// 256B: SlotFmt → class; per-slot capacity H/G; message sizes; group limits per rolling 128B window.
const FMT256: Record<number, number> = { 0b0100: 0, 0b1110: 1, 0b0111: 2, 0b1111: 3 };
const SIZE256 = [100, 104, 40, 40];
const CAP256 = [[1, 1], [1, 1], [2, 3], [2, 3]];
const LIMIT256 = [4, 2, 6, 3];

export class Limit256Checker {
  private owed = 0;
  private prevD = [0, 0, 0, 0];
  readonly violations: string[] = [];
  flits = 0;
  feed(b: Uint8Array, off: number): void {
    const n = this.flits++;
    const grp = [0, 1, 2, 3].map(() => [0, 0, 0, 0]);
    const owedIn = this.owed;
    for (let s = 0; s < 15; s++) {
      const byte = off + (s === 0 ? 2 : 16 * s);
      if (s > 0 && this.owed > 0) {
        this.owed--;
        continue;
      }
      const c = FMT256[field(b, byte, 0, 4)];
      if (c === undefined) continue;
      const g = s < 12 ? s >> 2 : 3;
      for (let k = 0; k < CAP256[c]![s === 0 ? 0 : 1]!; k++) {
        const p = 4 + k * SIZE256[c]!;
        if (!bitAt(b, byte, p)) continue;
        grp[g]![c]!++;
        if (c === 1 || c === 3) {
          if (s === 0 && owedIn > 16) this.violations.push(`flit ${n}: data header in the H slot with ${owedIn} owed`);
          // RwD TRP sits after Valid..Tag (28), Address (46), Poison (1)
          this.owed += 4 + (c === 1 && bitAt(b, byte, p + 28 + 46 + 1) ? 1 : 0);
        }
      }
    }
    for (let g = 0; g < 4; g++) {
      for (let c = 0; c < 4; c++) {
        const w = (g === 0 ? this.prevD[c]! : grp[g - 1]![c]!) + grp[g]![c]!;
        if (w > LIMIT256[c]!) this.violations.push(`flit ${n}: ${w} messages of class ${c} in the window ending at group ${g} > ${LIMIT256[c]}`);
      }
    }
    this.prevD = grp[3]!;
  }
}
