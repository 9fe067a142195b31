import { Channel, ChannelActivity } from './Channel.ts';
import { Module, type Probe, type WideProbe } from './Module.ts';
import { Reg } from './Reg.ts';
import { Rng } from './Rng.ts';
import { SimulationError } from './SimulationError.ts';

/** Something that watches the design after every clock edge: the VCD tracer, monitors, stats. */
export interface CycleObserver {
  /**
   * Called after reset (cycle 0) and after every clock edge, with the committed state. An observer
   * watches: it must not write registers or channels (a testbench forces values between steps,
   * where the next step() looks for them).
   */
  sample(cycle: number): void;
  /** Called when a SimulationError stops the run, and at close: write out what is buffered. */
  flush(): void;
  /** Set by observers that read `regChanged` (the tracer): the edge then records which registers changed. */
  readonly wantsRegChanges?: boolean;
}

export interface SimulatorOptions {
  /**
   * Random-initial-value mode (Verilator's `--x-initial unique`): registers declared without a reset
   * value start from a seeded random value instead of 0, so logic that relies on never-reset state
   * shows up as a difference between runs.
   */
  readonly randomInitSeed?: number;
  /**
   * Permute the order in which modules are evaluated (seeded). A correct design gives bit-identical
   * results for every order; a test uses this to prove it.
   */
  readonly evalOrderSeed?: number;
}

/**
 * Cycle-based, two-phase simulator (Hardcaml Cyclesim / Verilator style): each `step()` evaluates
 * every module from committed state, then commits every register and channel at once.
 *
 * Speed: the evaluate phase is a generated function with one call site per module instance, so
 * every call site stays monomorphic (a shared polymorphic `m.evaluate()` loop measured 12-14x
 * slower, reference/performance.md §2.1). Commit loops run over arrays of one class each.
 * Nothing is allocated per cycle.
 */
export class Simulator {
  readonly modules: readonly Module[];
  readonly regs: readonly Reg[];
  readonly channels: readonly Channel[];
  readonly probes: readonly Probe[];
  readonly wideProbes: readonly WideProbe[];
  /** The modules whose evaluate() is called, in evaluation order. */
  readonly evaluated: readonly Module[];
  /** Channels that moved this cycle and last cycle (see Channel.enlist). */
  readonly activity: ChannelActivity;
  /**
   * Registers whose committed value changed at the last edge, ascending indices into `regs`
   * (`regChanged[0 .. regChangedCount)`), kept while an observer wants them: the tracer then
   * looks at those instead of at every register. `regCommitted` is each register's value at the
   * last edge, so a testbench writing `q` between steps cannot hide a change.
   */
  readonly regChanged: Int32Array;
  regChangedCount = 0;
  /**
   * True for the first edge of a step() that found registers written from outside since the last
   * step (a testbench forcing `q`): those are not in regChanged, so an observer must look at every
   * register once.
   */
  regChangedAll = false;
  /** Each register's `q` when the last step() returned, to see such writes. */
  private readonly regCommitted: Float64Array;
  private trackRegChanges = false;
  private readonly observers: CycleObserver[] = [];
  private readonly evaluateAll: () => void;

  constructor(
    readonly top: Module,
    readonly options: SimulatorOptions = {},
  ) {
    const modules = [...top.walk()];
    this.modules = modules;
    this.regs = modules.flatMap((m) => m.regs);
    this.channels = modules.flatMap((m) => m.channels);
    this.activity = new ChannelActivity(this.channels.length);
    this.regChanged = new Int32Array(this.regs.length);
    this.regCommitted = new Float64Array(this.regs.length);
    this.probes = modules.flatMap((m) => m.probes);
    this.wideProbes = modules.flatMap((m) => m.wideProbes);
    const evaluated = modules.filter((m) => m.evaluate !== Module.prototype.evaluate);
    if (options.evalOrderSeed !== undefined) shuffle(evaluated, new Rng(options.evalOrderSeed));
    this.evaluated = evaluated;
    this.evaluateAll = compileEvaluate(evaluated);
    this.reset();
  }

  get cycle(): number {
    return this.top.ctx.cycle;
  }

  get clockGHz(): number {
    return this.top.ctx.clockGHz;
  }

  /** Attach an observer (e.g. the VCD tracer); it samples the current state at once. */
  attach(observer: CycleObserver): void {
    this.observers.push(observer);
    if (observer.wantsRegChanges === true && !this.trackRegChanges) {
      this.trackRegChanges = true;
      this.regs.forEach((r, i) => (this.regCommitted[i] = r.q));
      this.regChangedCount = 0;
    }
    observer.sample(this.cycle);
  }

  detach(observer: CycleObserver): void {
    const i = this.observers.indexOf(observer);
    if (i >= 0) this.observers.splice(i, 1);
    this.trackRegChanges = this.observers.some((o) => o.wantsRegChanges === true);
  }

  /** Synchronous reset of the whole design: registers to reset values, channels empty, cycle 0. */
  reset(): void {
    const rng = this.options.randomInitSeed !== undefined ? new Rng(this.options.randomInitSeed) : null;
    this.regs.forEach((r, i) => {
      const v = r.resetValue !== null ? r.resetValue : rng ? rng.bits(r.width) : 0;
      r.q = v;
      r.d = v;
      this.regCommitted[i] = v;
    });
    this.regChangedCount = 0;
    for (const c of this.channels) c.reset();
    // Reset empties the activity lists; pushes made outside a step before the reset are dropped
    // with the channel state they belonged to.
    this.channels.forEach((c, i) => c.attachActivity(this.activity, i));
    this.activity.nowCount = 0;
    this.activity.lastCount = 0;
    this.activity.clearedCount = 0;
    this.activity.resets++;
    for (const m of this.modules) m.onReset();
    this.top.ctx.cycle = 0;
    for (const o of this.observers) o.sample(0);
  }

  /** Advance `n` clock cycles. A SimulationError flushes every observer (the VCD up to that cycle) first. */
  step(n = 1): void {
    // No edge: registers written since the last step stay to be found by the next one that runs.
    if (!(n > 0)) return;
    const regs = this.regs;
    const chans = this.channels;
    const act = this.activity;
    const obs = this.observers;
    const ctx = this.top.ctx;
    const track = this.trackRegChanges;
    if (track) {
      // Inside a step nothing but the edge writes `q`, so the edge finds the registers that changed
      // by comparing d with q. A testbench may have written `q` since the last step, which that
      // compare cannot see: look for it once here.
      const committed = this.regCommitted;
      let forced = false;
      for (let i = 0; i < regs.length && !forced; i++) forced = regs[i]!.q !== committed[i];
      this.regChangedAll = forced;
    }
    try {
      for (let k = 0; k < n; k++) {
        this.evaluateAll();
        if (track) {
          const changed = this.regChanged;
          let nChanged = 0;
          for (let i = 0; i < regs.length; i++) {
            const r = regs[i]!;
            const d = r.d;
            if (d !== r.q) {
              r.q = d;
              changed[nChanged++] = i;
            }
          }
          this.regChangedCount = nChanged;
          if (k === 1) this.regChangedAll = false;
        } else {
          for (let i = 0; i < regs.length; i++) {
            const r = regs[i]!;
            r.q = r.d;
          }
        }
        // Channels that moved last cycle still show that cycle's push/pop counts: clear them,
        // then commit the ones that moved this cycle (which sets their counts again).
        const last = act.last;
        for (let i = 0; i < act.lastCount; i++) {
          const c = chans[last[i]!]!;
          c.lastPushed = 0;
          c.lastPopped = 0;
        }
        const now = act.now;
        const nowCount = act.nowCount;
        for (let i = 0; i < nowCount; i++) chans[now[i]!]!.commitListed();
        // Rotate: this cycle's movers become `last`, last cycle's (just cleared) become `cleared`.
        const spare = act.cleared;
        act.cleared = last;
        act.clearedCount = act.lastCount;
        act.last = now;
        act.lastCount = nowCount;
        act.now = spare;
        act.nowCount = 0;
        ctx.cycle++;
        for (let i = 0; i < obs.length; i++) obs[i]!.sample(ctx.cycle);
      }
      if (track) this.noteCommitted();
    } catch (e) {
      // regCommitted is left as it was: the next step() then finds every register that moved since
      // (an extra full look for observers, never a missed change).
      for (const o of obs) {
        try {
          o.flush();
        } catch {
          // The error that stopped the run is the one to report; a failing observer cannot hide it.
        }
      }
      if (e instanceof SimulationError) throw e;
      // A plain exception inside a module is still a model failure: say where and when.
      throw new SimulationError(e instanceof Error ? `${e.name}: ${e.message}` : String(e), ctx.cycle, this.top.path);
    }
  }

  private noteCommitted(): void {
    const regs = this.regs;
    const committed = this.regCommitted;
    for (let i = 0; i < regs.length; i++) committed[i] = regs[i]!.q;
    this.regChangedAll = false;
  }

  /** Step until `done()` is true or `limit` cycles pass; returns the cycles stepped. */
  runUntil(done: () => boolean, limit: number): number {
    const start = this.cycle;
    while (!done()) {
      if (this.cycle - start >= limit) {
        throw new SimulationError(`condition not reached within ${limit} cycles`, this.cycle, this.top.path);
      }
      this.step(1);
    }
    return this.cycle - start;
  }

  /** Find a module by its full path (`top.nodeA.dev.decoder`). */
  find(path: string): Module | undefined {
    return this.modules.find((m) => m.path === path);
  }
}

function compileEvaluate(mods: readonly Module[]): () => void {
  if (mods.length === 0) return () => {};
  // One call site per instance: `m0.evaluate(); m1.evaluate(); ...`.
  const decl = mods.map((_, i) => `const m${i} = mods[${i}];`).join('\n');
  const body = mods.map((_, i) => `m${i}.evaluate();`).join('\n');
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const factory = new Function('mods', `${decl}\nreturn function evaluateAll() {\n${body}\n};`) as (m: readonly Module[]) => () => void;
  return factory(mods);
}

function shuffle<T>(a: T[], rng: Rng): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
}
