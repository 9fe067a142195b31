import { AddressRangeTable, LookupResult, type DecoderConfig } from '../../rtl/decode/AddressRangeTable.ts';
import { Rng } from '../../src/sim/index.ts';
import { medianOf, timeIt, type Bench } from './bench.ts';

/**
 * AddressRangeTable lookups per second, the decoder's per-request cost: 16 committed decoders
 * (mixed 1..16 and 3/6/12-way), grants checked, with 16 and with 1024 page overrides in force.
 * Half the addresses fall in overridden pages, so the override Map is hit as well as probed.
 */
const GiB = 2 ** 30;
const WAYS = [1, 2, 4, 8, 16, 3, 6, 12];
const LOOKUPS_PER_RUN = 2_000_000;
const ADDRS = 1 << 16;

function buildTable(overrides: number, rng: Rng): { table: AddressRangeTable; hpas: Float64Array; vms: Int32Array } {
  const decoders: DecoderConfig[] = [];
  for (let i = 0; i < 16; i++) {
    const ways = WAYS[i % WAYS.length]!;
    decoders.push({ base: 256 * GiB + i * 16 * GiB, size: 12 * GiB, ways, granularity: 256 << i % 7, targets: Array.from({ length: ways }, (_, k) => k + 1), readers: [0, 1, 2], writers: [0, 1] });
  }
  const table = AddressRangeTable.fromConfig({ decoders }, { maxOverrides: Math.max(overrides, 1) });
  const pages: number[] = [];
  for (let i = 0; i < overrides; i++) {
    const hpa = 256 * GiB + rng.below(16) * 16 * GiB + rng.below(3 * 2 ** 18) * 4096;
    pages.push(hpa);
    table.stageOverrideRemote(hpa, 9, i * 4096, 0);
    if (!table.canStage() || i === overrides - 1) table.applyStagedOverrides(1);
  }
  const hpas = new Float64Array(ADDRS);
  const vms = new Int32Array(ADDRS);
  for (let i = 0; i < ADDRS; i++) {
    hpas[i] = i % 2 === 0 && pages.length > 0 ? pages[rng.below(pages.length)]! + rng.below(64) * 64 : 256 * GiB + rng.below(16) * 16 * GiB + rng.below(2 ** 30) * 12;
    vms[i] = rng.below(4);
  }
  return { table, hpas, vms };
}

function lookupsPerSecond(overrides: number): number {
  const { table, hpas, vms } = buildTable(overrides, new Rng(42));
  const out = new LookupResult();
  let sink = 0;
  const secs = medianOf(5, () =>
    timeIt(() => {
      for (let i = 0; i < LOOKUPS_PER_RUN; i++) {
        const k = i & (ADDRS - 1);
        table.lookup(hpas[k]!, vms[k]!, (i & 3) === 0, out);
        sink += out.status;
      }
    }),
  );
  if (sink < 0) throw new Error('unreachable');
  return LOOKUPS_PER_RUN / secs;
}

export const benches: Bench[] = [
  {
    figures: ['decode.lookupsPerSecond'],
    run() {
      const with16 = lookupsPerSecond(16);
      const with1024 = lookupsPerSecond(1024);
      return {
        'decode.lookupsPerSecond': {
          value: Math.round(with1024),
          unit: 'lookups/s',
          note: `16 decoders, 1024 page overrides; with 16 overrides: ${(with16 / 1e6).toFixed(1)} M/s`,
        },
      };
    },
  },
];
