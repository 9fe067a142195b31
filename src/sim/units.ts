/**
 * Unit conversion done once, at elaboration: parameters are written in ns and GB/s, the model
 * runs in cycles of one clock. Rounding is always up: a stage that needs 1.2 cycles of time
 * holds its result for 2 cycles, as a synchronous pipeline would.
 */
export interface ClockSpec {
  /** Clock frequency of the whole simulation, GHz (one clock per simulation). */
  readonly clockGHz: number;
}

/** Tolerance for floating-point noise in ns × GHz products (0.3 ns × 10 GHz must give 3, not 4). */
const EPS = 1e-9;

export function nsToCycles(ns: number, clock: ClockSpec): number {
  if (!(ns >= 0) || !Number.isFinite(ns)) throw new RangeError(`latency must be a finite number of ns ≥ 0, got ${ns}`);
  return Math.ceil(ns * clock.clockGHz - EPS);
}

export function cyclesToNs(cycles: number, clock: ClockSpec): number {
  return cycles / clock.clockGHz;
}

/** Clock period in picoseconds, rounded to an integer (VCD time unit is 1 ps). */
export function periodPs(clock: ClockSpec): number {
  return Math.round(1000 / clock.clockGHz);
}
