import type { Module } from './Module.ts';

/**
 * A clocked register holding an unsigned value of up to 52 bits (exact in a double).
 *
 * Two-phase semantics, as Hardcaml's Cyclesim and Verilator: during evaluation every module reads
 * `q` (the value since the last edge) and writes `d` (the value after the next edge); the simulator
 * then commits all registers at once (`q = d`). `d` starts each cycle equal to `q`, so a register that
 * is not written holds its value. Reading another module's `d` is a design error: it would make the
 * result depend on evaluation order.
 */
export class Reg {
  /** Current value (register output). */
  q = 0;
  /** Next value (register input), committed at the clock edge. */
  d = 0;
  /** Set by the tracer: index of this register's VCD variable, -1 if not traced. */
  traceIndex = -1;

  constructor(
    readonly owner: Module,
    readonly name: string,
    readonly width: number,
    /** Value after reset; null = no reset (0, or random in random-initial-value mode). */
    readonly resetValue: number | null,
  ) {
    if (!(width >= 1 && width <= 52)) throw new RangeError(`${owner.path}.${name}: register width must be 1..52 bits, got ${width}`);
  }

  get path(): string {
    return `${this.owner.path}.${this.name}`;
  }

  /** Mask to the declared width; used by the tracer and random init, not per write. */
  get max(): number {
    return 2 ** this.width - 1;
  }
}
