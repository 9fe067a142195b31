import { type Channel, Module, type Reg, SimContext } from '../../src/sim/index.ts';

/**
 * Small designs that exercise the kernel (tests in tb/sim, benchmarks in tb/bench/kernel.bench.ts).
 * Each follows the two-phase rules: read `q` (anyone's), write own `d`, push channels it owns,
 * pop channels it consumes.
 */

/** Drives one (valid, data) register pair: item `data` at the cycle the testbench chose. */
export class PipelineSource extends Module {
  readonly valid: Reg;
  readonly data: Reg;
  /** Set by the testbench: emit `nextData` in the coming cycle when `fire` is 1. */
  fire = 0;
  nextData = 0;

  constructor(parent: Module, name: string) {
    super(parent, name);
    this.valid = this.reg('valid', 1, 0);
    this.data = this.reg('data', 32, 0);
  }

  override evaluate(): void {
    this.valid.d = this.fire;
    this.data.d = this.fire ? this.nextData : 0;
    this.fire = 0;
  }
}

/** One register stage of a pipeline: copies its upstream (valid, data) registers, one cycle later. */
export class PipelineStage extends Module {
  readonly valid: Reg;
  readonly data: Reg;

  constructor(
    parent: Module,
    name: string,
    private readonly upValid: Reg,
    private readonly upData: Reg,
  ) {
    super(parent, name);
    this.valid = this.reg('valid', upValid.width, 0);
    this.data = this.reg('data', upData.width, 0);
  }

  override evaluate(): void {
    this.valid.d = this.upValid.q;
    this.data.d = this.upData.q;
  }
}

/** A source followed by `stages` PipelineStages: `last` shows the source's registers `stages` cycles later. */
export class Pipeline extends Module {
  readonly src: PipelineSource;
  readonly stages: PipelineStage[] = [];

  constructor(stages: number, clockGHz = 1) {
    super(null, 'top', new SimContext(clockGHz));
    this.src = new PipelineSource(this, 'src');
    let v = this.src.valid;
    let d = this.src.data;
    for (let i = 0; i < stages; i++) {
      const s = new PipelineStage(this, `stage${i}`, v, d);
      this.stages.push(s);
      v = s.valid;
      d = s.data;
    }
  }

  get last(): PipelineStage | PipelineSource {
    return this.stages[this.stages.length - 1] ?? this.src;
  }
}

/**
 * Producer: pushes 0, 1, 2, ... into the channel it owns whenever there is space (as fast as the
 * channel allows), counting stalls; stops after `total` items.
 */
export class CountingProducer extends Module {
  readonly out: Channel<'seq'>;
  readonly sent: Reg;

  constructor(parent: Module, name: string, depth: number, private readonly total: number) {
    super(parent, name);
    this.out = this.channel('out', depth, ['seq'] as const);
    this.sent = this.reg('sent', 32, 0);
  }

  override evaluate(): void {
    const n = this.sent.q;
    if (n >= this.total) return;
    if (!this.out.canPush()) {
      this.out.stall();
      return;
    }
    this.out.col.seq[this.out.push()] = n;
    this.sent.d = n + 1;
  }
}

/** Consumer: pops at most one item every `period` cycles and records what it received (testbench side). */
export class SlowConsumer extends Module {
  readonly phase: Reg;
  readonly got: Reg;
  readonly received: number[] = [];

  constructor(parent: Module, name: string, private readonly input: Channel<'seq'>, private readonly period: number) {
    super(parent, name);
    this.phase = this.reg('phase', 16, 0);
    this.got = this.reg('got', 32, 0);
  }

  override evaluate(): void {
    const p = this.phase.q;
    this.phase.d = p + 1 >= this.period ? 0 : p + 1;
    if (p === 0 && this.input.valid()) {
      this.received.push(this.input.col.seq[this.input.pop()]!);
      this.got.d = this.got.q + 1;
    }
  }

  override onReset(): void {
    this.received.length = 0;
  }
}

export class ProducerConsumer extends Module {
  readonly prod: CountingProducer;
  readonly cons: SlowConsumer;

  constructor(depth: number, period: number, total: number) {
    super(null, 'top', new SimContext(1));
    this.prod = new CountingProducer(this, 'prod', depth, total);
    this.cons = new SlowConsumer(this, 'cons', this.prod.out, period);
  }
}

/** A trivial module for the empty-design benchmark: one register that counts. */
export class Ticker extends Module {
  readonly n: Reg;
  constructor(parent: Module, name: string) {
    super(parent, name);
    this.n = this.reg('n', 32, 0);
  }
  override evaluate(): void {
    this.n.d = (this.n.q + 1) >>> 0;
  }
}

export class Tickers extends Module {
  constructor(count: number) {
    super(null, 'top', new SimContext(1));
    for (let i = 0; i < count; i++) new Ticker(this, `t${i}`);
  }
}

/** Pseudo-random stream source: a 31-bit LFSR register decides when to push and what. */
export class LfsrProducer extends Module {
  readonly lfsr: Reg;
  readonly out: Channel<'v'>;
  constructor(parent: Module, name: string, seed: number, depth: number) {
    super(parent, name);
    this.lfsr = this.reg('lfsr', 31, (seed % 0x7fffffff) + 1);
    this.out = this.channel('out', depth, ['v'] as const);
  }
  override evaluate(): void {
    const x = this.lfsr.q;
    // Galois LFSR x^31 + x^28 + 1: one step per cycle.
    this.lfsr.d = x & 1 ? (x >>> 1) ^ 0x48000000 : x >>> 1;
    if ((x & 3) !== 0 && this.out.canPush()) this.out.col.v[this.out.push()] = x & 0xffff;
    else if ((x & 3) !== 0) this.out.stall();
  }
}

/** Pops when its own LFSR says so, adds, forwards into its own channel. */
export class AddStage extends Module {
  readonly acc: Reg;
  readonly gate: Reg;
  readonly out: Channel<'v'>;
  constructor(parent: Module, name: string, private readonly input: Channel<'v'>, seed: number, depth: number) {
    super(parent, name);
    this.acc = this.reg('acc', 16, 0);
    this.gate = this.reg('gate', 8, seed & 0xff);
    this.out = this.channel('out', depth, ['v'] as const);
  }
  override evaluate(): void {
    const g = this.gate.q;
    this.gate.d = (g * 5 + 3) & 0xff;
    if ((g & 4) !== 0 && this.input.valid() && this.out.canPush()) {
      const v = this.input.col.v[this.input.pop()]!;
      const s = (this.acc.q + v) & 0xffff;
      this.acc.d = s;
      this.out.col.v[this.out.push()] = s;
    }
  }
}

/** Drains its input into a checksum register. */
export class ChecksumSink extends Module {
  readonly sum: Reg;
  constructor(parent: Module, name: string, private readonly input: Channel<'v'>) {
    super(parent, name);
    this.sum = this.reg('sum', 32, 0);
  }
  override evaluate(): void {
    if (this.input.valid()) this.sum.d = (Math.imul(this.sum.q, 31) + this.input.col.v[this.input.pop()]!) >>> 0;
  }
}

/**
 * Channels, back-pressure, registers read across modules: the design whose trace must not
 * depend on evaluation order. `orderBug` adds a module that reads another module's `d` (a design
 * error), the negative control showing the comparison can see a difference.
 */
export class MixedDesign extends Module {
  constructor(seed: number, orderBug = false) {
    super(null, 'top', new SimContext(1));
    const p = new LfsrProducer(this, 'prod', seed, 3);
    const a = new AddStage(this, 'addA', p.out, seed >>> 8, 2);
    const b = new AddStage(this, 'addB', a.out, seed >>> 16, 4);
    new ChecksumSink(this, 'sink', b.out);
    let v = a.gate;
    let d = a.acc;
    for (let i = 0; i < 3; i++) {
      const s = new PipelineStage(this, `pipe${i}`, v, d);
      v = s.valid;
      d = s.data;
    }
    if (orderBug) new DReader(this, 'bug', a.acc);
  }
}

/** WRONG on purpose: copies another module's `d`, so its value depends on who evaluates first. */
export class DReader extends Module {
  readonly copy: Reg;
  constructor(parent: Module, name: string, private readonly src: Reg) {
    super(parent, name);
    this.copy = this.reg('copy', 16, 0);
  }
  override evaluate(): void {
    this.copy.d = this.src.d;
  }
}
