import fc from 'fast-check';
import type { DecoderConfig } from '../../rtl/decode/AddressRangeTable.ts';
import type { RefDecoder } from '../lib/hdmReference.ts';

/** Random legal decoder sets for the table properties, in both the rtl config and reference forms. */

const GRANULE = 2 ** 28;
export const WAYS = [1, 2, 4, 8, 16, 3, 6, 12] as const;
/** Encoded IW per entry of WAYS, restated from §5.2 for the reference model. */
const IW_OF: Record<number, number> = { 1: 0, 2: 1, 4: 2, 8: 3, 16: 4, 3: 8, 6: 9, 12: 10 };

export interface LegalSet {
  readonly decoders: DecoderConfig[];
  readonly ref: RefDecoder[];
}

const decoderArb = fc.record({
  waysIdx: fc.integer({ min: 0, max: WAYS.length - 1 }),
  ig: fc.integer({ min: 0, max: 6 }),
  units: fc.integer({ min: 0, max: 8 }),
  gapUnits: fc.integer({ min: 0, max: 6 }),
  skipUnits: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 4 })),
  targetSeed: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 16, maxLength: 16 }),
});

export const legalSetArb: fc.Arbitrary<LegalSet> = fc
  .record({
    startUnits: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 2 ** 22 })),
    decs: fc.array(decoderArb, { minLength: 1, maxLength: 6 }),
  })
  .map(({ startUnits, decs }) => {
    const decoders: DecoderConfig[] = [];
    const ref: RefDecoder[] = [];
    let at = startUnits;
    for (const d of decs) {
      const ways = WAYS[d.waysIdx]!;
      // Sizes in 256 MB units; 3/6/12-way need a multiple of 3 (§5.3).
      const units = ways % 3 === 0 ? d.units * 3 : d.units;
      const base = (at + d.gapUnits) * GRANULE;
      // Distinct node ids: walk the seed and skip repeats.
      const targets: number[] = [];
      for (let k = 0; targets.length < ways; k++) {
        const t = (d.targetSeed[k % 16]! + Math.floor(k / 16) * 17) % 256;
        if (!targets.includes(t)) targets.push(t);
      }
      decoders.push({ base, size: units * GRANULE, ways, granularity: 256 << d.ig, targets, dpaSkip: d.skipUnits * GRANULE, readers: [0], writers: [0] });
      ref.push({ base: BigInt(base), size: BigInt(units * GRANULE), iw: IW_OF[ways]!, ig: d.ig, targets, dpaSkip: BigInt(d.skipUnits * GRANULE) });
      at = at + d.gapUnits + units;
    }
    return { decoders, ref };
  });

/** An HPA that is usually inside some decoder and sometimes just outside. */
export function hpaArb(set: LegalSet): fc.Arbitrary<number> {
  const inside = fc.integer({ min: 0, max: set.decoders.length - 1 }).chain((i) => {
    const base = Number(set.ref[i]!.base);
    const size = Number(set.ref[i]!.size);
    return size === 0 ? fc.constant(base) : fc.bigInt({ min: 0n, max: BigInt(size - 1) }).map((o) => base + Number(o));
  });
  const lo = Number(set.ref[0]!.base);
  const last = set.ref[set.ref.length - 1]!;
  const hi = Number(last.base + last.size);
  const around = fc.bigInt({ min: BigInt(Math.max(0, lo - GRANULE)), max: BigInt(hi + GRANULE) }).map(Number);
  return fc.oneof({ weight: 4, arbitrary: inside }, { weight: 1, arbitrary: around });
}
