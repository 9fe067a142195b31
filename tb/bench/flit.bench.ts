import type { Bench } from './bench.ts';
import { ANALYTIC, measureEfficiency } from '../flit/efficiency.ts';

/**
 * Flit packing efficiency at saturation, measured from the FlitPacker's own output (two ports on a
 * direct wire, deep credits, always-ready sink), next to the analytic bound derived from the slot
 * rules (tb/flit/efficiency.ts explains each). Fractions of the raw flit bandwidth that carry
 * 64-byte line payload.
 */
export const benches: Bench[] = [
  {
    figures: ['flit68.read.efficiency', 'flit68.read.analytic', 'flit68.write.efficiency', 'flit68.write.analytic', 'flit256.read.efficiency', 'flit256.read.analytic', 'flit256.write.efficiency', 'flit256.write.analytic'],
    run() {
      const out: Record<string, { value: number; unit: string; note?: string }> = {};
      for (const mode of [68, 256] as const) {
        const key = mode === 68 ? 'flit68' : 'flit256';
        for (const kind of ['read', 'write'] as const) {
          const m = measureEfficiency(mode, kind, 2160);
          const a = ANALYTIC[key][kind];
          out[`${key}.${kind}.efficiency`] = { value: m.efficiency, unit: 'fraction', note: `${m.lines} lines in ${m.flits} flits; analytic ${a.toFixed(4)}` };
          out[`${key}.${kind}.analytic`] = { value: a, unit: 'fraction' };
        }
      }
      return out;
    },
  },
];
