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
  /**
   * Where q and d live. A register starts with its own one-entry arrays; a Simulator gathers all
   * its registers into one bank (`bindTo`), so the clock edge commits every register with a
   * single `q.set(d)` copy and the tracer compares contiguous memory instead of visiting ~100
   * objects scattered over the heap.
   */
  private qs: Float64Array<ArrayBufferLike> = new Float64Array(1);
  private ds: Float64Array<ArrayBufferLike> = new Float64Array(1);
  private at = 0;
  /** Set by the tracer: index of this register's VCD variable, -1 if not traced. */
  traceIndex = -1;

  /** Current value (register output). */
  get q(): number {
    return this.qs[this.at]!;
  }
  set q(v: number) {
    this.qs[this.at] = v;
  }

  /** Next value (register input), committed at the clock edge. */
  get d(): number {
    return this.ds[this.at]!;
  }
  set d(v: number) {
    this.ds[this.at] = v;
  }

  /** Move this register into entry `at` of a simulator's register bank, keeping its values. */
  bindTo(qs: Float64Array<ArrayBufferLike>, ds: Float64Array<ArrayBufferLike>, at: number): void {
    qs[at] = this.q;
    ds[at] = this.d;
    this.qs = qs;
    this.ds = ds;
    this.at = at;
  }

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
