/**
 * The benchmark contract. Each area has a file tb/bench/<area>.bench.ts that exports
 * `benches: Bench[]`; `cxlfab bench` discovers them, runs those whose figures match `--only`,
 * and prints a table (or, with --json, one object mapping each figure name to {value, unit}).
 * Timing lives here and only here: unit tests never assert on wall-clock speed.
 */
export interface Figure {
  readonly value: number;
  readonly unit: string;
  /** Optional context shown in the table (e.g. "analytic 0.886", "target ≥ 50"). */
  readonly note?: string;
}
export type Figures = Record<string, Figure>;

export interface Bench {
  /** The figure names it produces (e.g. ['vcd.writeMBps', 'vcd.changesPerSecond']), for --only. */
  readonly figures: readonly string[];
  run(): Figures | Promise<Figures>;
}

/** Median of several timed runs after one warm-up (the machine is shared: ±20 % per run). */
export function medianOf(runs: number, fn: () => number): number {
  fn();
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) xs.push(fn());
  xs.sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)]!;
}

/** Seconds elapsed while running fn once. */
export function timeIt(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}
