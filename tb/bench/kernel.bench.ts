import { Simulator } from '../../src/sim/index.ts';
import { Pipeline, Tickers } from '../sim/designs.ts';
import { type Bench, medianOf, timeIt } from './bench.ts';

/**
 * Kernel overhead: cycles per second of the two-phase simulator itself, without tracing.
 * - empty16: 16 modules whose evaluate() increments one register (the per-module call and commit cost);
 * - pipeline16: a source and 16 register stages, each reading its upstream register (two regs per stage),
 *   with an item injected every 4th cycle so values keep moving.
 */
const CYCLES = 2_000_000;

function rate(sim: Simulator, perCycle?: (c: number) => void): number {
  return medianOf(5, () => {
    const s = timeIt(() => {
      if (perCycle) {
        for (let c = 0; c < CYCLES; c++) {
          perCycle(c);
          sim.step(1);
        }
      } else {
        sim.step(CYCLES);
      }
    });
    return CYCLES / s;
  });
}

export const benches: Bench[] = [
  {
    figures: ['kernel.empty16.cyclesPerSecond'],
    run() {
      const sim = new Simulator(new Tickers(16));
      return { 'kernel.empty16.cyclesPerSecond': { value: rate(sim), unit: 'cycles/s', note: '16 trivial modules, no tracing' } };
    },
  },
  {
    figures: ['kernel.pipeline16.cyclesPerSecond'],
    run() {
      const top = new Pipeline(16);
      const sim = new Simulator(top);
      const src = top.src;
      const v = rate(sim, (c) => {
        if ((c & 3) === 0) {
          src.fire = 1;
          src.nextData = c & 0xffff;
        }
      });
      return { 'kernel.pipeline16.cyclesPerSecond': { value: v, unit: 'cycles/s', note: '16 register stages, no tracing' } };
    },
  },
];
