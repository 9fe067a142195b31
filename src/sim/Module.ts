import { Channel } from './Channel.ts';
import { Reg } from './Reg.ts';
import { SimulationError } from './SimulationError.ts';

/**
 * What every module of one simulation shares: the cycle counter (for error messages and stats)
 * and the clock. Created by the root module, inherited by children.
 */
export class SimContext {
  cycle = 0;
  /**
   * Testbench switch: modules take none of their quiet-cycle shortcuts (early returns and wake-up
   * bounds that skip work which would change nothing) and run their full path every cycle. A
   * property test runs the system both ways and requires identical waves and answers.
   */
  fullEvaluate = false;
  constructor(readonly clockGHz: number) {}
}

/** A probe: a value that is not a register but should be visible in waveforms (e.g. a counter). */
export interface Probe {
  readonly owner: Module;
  readonly name: string;
  readonly width: number;
  readonly read: () => number;
  /** Set when the probe belongs to a group: its value is `group.values[slot]` after `group.fill()`. */
  readonly group?: ProbeGroup;
  readonly slot?: number;
}

/**
 * Probes computed together by one function (a DRAM's state and open row of every bank): the
 * tracer calls `fill` once per cycle instead of one closure per probe, which cost ~7 ns each.
 */
export interface ProbeGroup {
  readonly values: Float64Array;
  readonly fill: (values: Float64Array) => void;
}

/**
 * A wide value for waveforms (a flit, a data line): `widthBits` bits read little-endian from
 * `bytes[offset..]` after each clock edge. The bytes are the module's own buffer, not a copy.
 */
export interface WideProbe {
  readonly owner: Module;
  readonly name: string;
  readonly widthBits: number;
  readonly bytes: Uint8Array;
  readonly offset: number;
}

/**
 * A hardware module instance: a name in a hierarchy (`top.nodeA.dev.decoder`), registers,
 * channels it owns, and an `evaluate()` that computes next state from current state only.
 *
 * Rules that make evaluation order irrelevant (checked by a test that shuffles the order):
 * read `reg.q`, write `reg.d` of your own registers; pop/peek channels you consume, push channels
 * you produce; never read another module's `d`. Memories (sparse DRAM storage, table entries)
 * that are read and written in the same cycle by the same module only are the module's own business.
 */
export abstract class Module {
  readonly path: string;
  readonly children: Module[] = [];
  readonly regs: Reg[] = [];
  readonly channels: Channel[] = [];
  readonly probes: Probe[] = [];
  readonly wideProbes: WideProbe[] = [];
  readonly ctx: SimContext;

  constructor(
    readonly parent: Module | null,
    readonly name: string,
    ctx?: SimContext,
  ) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new RangeError(`module name '${name}' must be an identifier (letters, digits, _)`);
    }
    this.path = parent ? `${parent.path}.${name}` : name;
    if (parent) {
      this.ctx = parent.ctx;
      if (parent.children.some((c) => c.name === name)) throw new RangeError(`${this.path}: duplicate module name`);
      parent.children.push(this);
    } else {
      if (!ctx) throw new RangeError(`root module '${name}' needs a SimContext`);
      this.ctx = ctx;
    }
  }

  /** Declare a register. `reset = null` leaves it unreset (random in random-initial-value mode). */
  protected reg(name: string, width: number, reset: number | null = 0): Reg {
    this.checkLocalName(name);
    const r = new Reg(this, name, width, reset);
    this.regs.push(r);
    return r;
  }

  /** Declare a channel owned (and therefore traced) by this module. */
  protected channel<F extends string>(name: string, depth: number, fields: readonly F[], bytesPerSlot = 0): Channel<F> {
    return new Channel<F>(this, name, depth, fields, bytesPerSlot);
  }

  /** Declare a read-only probe for waveforms: computed after each clock edge. */
  protected probe(name: string, width: number, read: () => number): void {
    this.checkLocalName(name);
    this.probes.push({ owner: this, name, width, read });
  }

  /**
   * Declare several probes at once, computed by one `fill(values)` that writes values[i] for
   * names[i] (same rules as probe(): after each clock edge, from committed state).
   */
  protected probeGroup(names: readonly string[], widths: readonly number[], fill: (values: Float64Array) => void): void {
    if (names.length !== widths.length) throw new RangeError(`${this.path}: probeGroup needs one width per name (${names.length} names, ${widths.length} widths)`);
    const group: ProbeGroup = { values: new Float64Array(names.length), fill };
    names.forEach((name, slot) => {
      this.checkLocalName(name);
      const read = (): number => {
        fill(group.values);
        return group.values[slot]!;
      };
      this.probes.push({ owner: this, name, width: widths[slot]!, read, group, slot });
    });
  }

  /** Declare a wide waveform value (up to 4096 bits) backed by a byte buffer of this module. */
  protected wideProbe(name: string, widthBits: number, bytes: Uint8Array, offset = 0): void {
    this.checkLocalName(name);
    if (offset + Math.ceil(widthBits / 8) > bytes.length) throw new RangeError(`${this.path}.${name}: probe runs past its buffer`);
    this.wideProbes.push({ owner: this, name, widthBits, bytes, offset });
  }

  /** Called by Channel's constructor (a channel may also be built by a helper such as memMsgChannel). */
  addChannel(ch: Channel): void {
    this.checkLocalName(ch.name);
    this.channels.push(ch);
  }

  /** Compute next state. The default does nothing: pure containers are not called per cycle. */
  evaluate(): void {}

  /** Called once after registers and channels are reset: clear memories, counters, tables. */
  onReset(): void {}

  /** Throw a SimulationError naming this module and the current cycle. */
  fail(detail: string): never {
    throw new SimulationError(detail, this.ctx.cycle, this.path);
  }

  /** Walk the hierarchy, parents before children. */
  *walk(): Generator<Module> {
    yield this;
    for (const c of this.children) yield* c.walk();
  }

  private checkLocalName(name: string): void {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new RangeError(`${this.path}: signal name '${name}' must be an identifier`);
    if (this.regs.some((r) => r.name === name) || this.channels.some((c) => c.name === name) || this.probes.some((p) => p.name === name) || this.wideProbes.some((p) => p.name === name)) {
      throw new RangeError(`${this.path}.${name}: duplicate signal name`);
    }
  }
}
