import { rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Simulator } from '../../src/sim/index.ts';
import { VcdTracer } from '../../src/vcd/Tracer.ts';
import { VcdWriter } from '../../src/vcd/VcdWriter.ts';
import { Pipeline } from '../sim/designs.ts';
import { type Bench, medianOf, timeIt } from './bench.ts';

/**
 * VCD writer throughput (reference/performance.md §2.3 rule 5): a traced design-like mix of
 * variables (1-bit valids, 8/16/32/52-bit registers, 512-bit data lines), most changing every
 * cycle, written to a real file in the temp directory through the writer's byte buffer.
 * Figures: MB of VCD written per second, and value changes per second.
 */
const CYCLES = 40_000;
const WIDTHS = [1, 1, 1, 1, 8, 8, 16, 16, 32, 32, 52, 52, 3, 3, 4, 512];
const COPIES = 4; // 64 variables

function writeOnce(path: string): { seconds: number; bytes: number; changes: number } {
  const w = VcdWriter.toFile(path, { date: 'bench' });
  const vars: number[] = [];
  for (let c = 0; c < COPIES; c++) WIDTHS.forEach((width, k) => vars.push(w.addVar(['top', `m${c}`], `s${k}`, 'reg', width)));
  const widths = Int32Array.from(vars.map((i) => w.varWidth(i)));
  // Precomputed values: the bench measures the writer, not a random number generator.
  const table = new Float64Array(1024);
  let x = 12345;
  for (let i = 0; i < table.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    table[i] = x * 1048576 + (x >>> 12);
  }
  const line = new Uint8Array(64);
  const seconds = timeIt(() => {
    for (let cyc = 0; cyc < CYCLES; cyc++) {
      w.setTime(cyc * 1000);
      for (let i = 0; i < vars.length; i++) {
        const wd = widths[i]!;
        if (wd > 52) {
          line[cyc & 63] = cyc & 255;
          w.changeBytes(vars[i]!, line, 0);
        } else {
          const v = table[(cyc * 7 + i) & 1023]!;
          w.changeNumber(vars[i]!, wd === 52 ? v % 4503599627370496 : v % 2 ** wd);
        }
      }
    }
    w.close();
  });
  const changes = w.changeCount;
  const { size } = statSync(path);
  const bytes = size;
  return { seconds, bytes, changes };
}


export const benches: Bench[] = [
  {
    figures: ['vcd.writeMBps', 'vcd.changesPerSecond'],
    run() {
      const path = join(tmpdir(), `cxlfab-vcd-bench-${process.pid}.vcd`);
      let last = { seconds: 0, bytes: 0, changes: 0 };
      try {
        // Every run writes the same bytes and changes; the median is taken over the time.
        const seconds = medianOf(5, () => {
          last = writeOnce(path);
          return last.seconds;
        });
        return {
          'vcd.writeMBps': { value: last.bytes / 1e6 / seconds, unit: 'MB/s', note: `target ≥ 50; ${CYCLES} cycles × 64 vars to a file` },
          'vcd.changesPerSecond': { value: last.changes / seconds, unit: 'changes/s' },
        };
      } finally {
        rmSync(path, { force: true });
      }
    },
  },
  {
    figures: ['vcd.tracedPipeline16.cyclesPerSecond'],
    run() {
      // The tracer's sample() on the kernel bench's 16-stage pipeline, output discarded (a sink
      // that drops the bytes): the cost tracing adds per cycle, to compare with kernel.pipeline16.
      const cycles = 200_000;
      const v = medianOf(5, () => {
        const top = new Pipeline(16);
        const sim = new Simulator(top);
        const tracer = new VcdTracer(sim, new VcdWriter(() => {}, { date: 'bench' }));
        sim.attach(tracer);
        const s = timeIt(() => {
          for (let c = 0; c < cycles; c++) {
            if ((c & 3) === 0) {
              top.src.fire = 1;
              top.src.nextData = c & 0xffff;
            }
            sim.step(1);
          }
        });
        tracer.close();
        return cycles / s;
      });
      return { 'vcd.tracedPipeline16.cyclesPerSecond': { value: v, unit: 'cycles/s', note: 'tracer + writer, output discarded' } };
    },
  },
];
