import type { Channel } from '../sim/Channel.ts';
import type { Probe, ProbeGroup, WideProbe } from '../sim/Module.ts';
import type { Reg } from '../sim/Reg.ts';
import type { CycleObserver, Simulator } from '../sim/Simulator.ts';
import { periodPs } from '../sim/units.ts';
import { type GtkwTrace, writeGtkw } from './GtkwWriter.ts';
import { VcdWriter, type VcdWriterOptions } from './VcdWriter.ts';

/**
 * The VCD tracer: a CycleObserver that samples the committed state of a Simulator after reset and
 * after every clock edge and writes it through a VcdWriter (timescale 1 ps).
 *
 * What becomes a variable, in the scope of its module's path (`top.dev.decoder`):
 *  - every Reg: `reg` of its width;
 *  - every Channel `q`: `q_count` (integer, occupancy, wide enough for the depth), `q_push` and
 *    `q_pop` (entries pushed / popped in the last cycle: lastPushed / lastPopped);
 *  - every Probe (`wire` of its width) and WideProbe (`wire`, bytes compared as they are).
 *  - `clk` in the top scope: rises at cycle c's time c * period and falls half a period later,
 *    so the value change of cycle c sits on a rising edge in GTKWave.
 * Cycle c's values are written at time c * period (ps). After a mid-run `sim.reset()` cycle numbers
 * restart but VCD time continues one period after the last sample (VCD time never goes back).
 *
 * Selection (`trace` globs, OR'd): matched against the signal path (`top.dev.q` for a channel,
 * giving all three of its variables); `*` matches any run of characters including dots, so
 * `top.dev.*` takes everything under top.dev. The clock is always traced.
 *
 * sample() allocates nothing: the signals are preallocated arrays, one loop per kind.
 */

export interface TraceOptions {
  /** Globs over signal paths; default: everything. */
  readonly trace?: readonly string[];
  /** Writer options (date, version) for reproducible files in tests. */
  readonly writer?: VcdWriterOptions;
}

/** One traced variable, for the .gtkw and for tests. */
export interface TracedSignal extends GtkwTrace {
  /** Signal path in the design (`top.dev.q` for all three variables of channel q). */
  readonly signal: string;
  /** The VCD variable's dotted path (`top.dev.q_count`). */
  readonly path: string;
}

/** `*` = any run of characters (dots included); everything else literal. */
export function globToRegExp(glob: string): RegExp {
  const body = glob.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${body}$`);
}

function bitsFor(maxValue: number): number {
  return Math.max(1, Math.ceil(Math.log2(maxValue + 1)));
}

export class VcdTracer implements CycleObserver {
  readonly writer: VcdWriter;
  readonly traced: TracedSignal[] = [];
  readonly periodPs: number;
  readonly clockFacility: string;
  private readonly halfPs: number;
  private readonly clkVar: number;

  private readonly regs: Reg[] = [];
  private readonly regVar: Int32Array;
  private readonly chans: Channel[] = [];
  /** Variable of `<name>_count`; `_push` and `_pop` follow it (+1, +2). */
  private readonly chanVar: Int32Array;
  private readonly probes: Probe[] = [];
  private readonly probeVar: Int32Array;
  private readonly wides: WideProbe[] = [];
  private readonly wideVar: Int32Array;
  /**
   * Last value handed to the writer per register, channel variable (3 per channel) and probe.
   * NaN at first, so the first sample passes every value on (NaN equals nothing).
   */
  private readonly regLast: Float64Array;
  private readonly chanLast: Float64Array;
  /** Index of each traced channel in sim.channels, and for each of sim.channels its traced index (-1: not traced). */
  private readonly chanAt: Int32Array;
  private readonly chanTr: Int32Array;
  /** Bitmap over sim.channels of the ones to look at this sample (moved, or counts just cleared). */
  private readonly chanDirty: Uint32Array;
  /** sim.activity.resets when last sampled: a reset (or the first sample) means look at every signal. */
  private seenResets = -1;
  /** For each of sim.regs, its index in this tracer's `regs`, or -1 when not traced. */
  private readonly regAt: Int32Array;
  /** Registers are looked at through sim.regChanged (see Simulator) after the first sample. */
  readonly wantsRegChanges = true;
  private readonly probeLast: Float64Array;
  /** This cycle's value of every traced probe, in the order of `probes` (filled by readProbes). */
  private readonly probeNow: Float64Array;
  /** Writes every traced probe's value into probeNow (generated: see compileProbeReader). */
  private readonly readProbes: () => void;

  private lastCycle = -1;
  /** Added to cycle * period: grows when a reset restarts the cycle count. */
  private timeBase = 0;
  private lastTime = -1;
  private fallPending = false;
  private attached = true;

  constructor(
    readonly sim: Simulator,
    writer: VcdWriter,
    readonly onClose: ((t: VcdTracer) => void) | null = null,
    opts: TraceOptions = {},
  ) {
    this.writer = writer;
    this.periodPs = periodPs({ clockGHz: sim.clockGHz });
    if (!(this.periodPs >= 1)) throw new RangeError(`clock of ${sim.clockGHz} GHz has a period below 1 ps: cannot trace at 1 ps`);
    this.halfPs = Math.floor(this.periodPs / 2);
    const patterns = opts.trace ?? ['*'];
    const globs = patterns.map(globToRegExp);
    const used = new Uint8Array(globs.length);
    const wanted = (path: string): boolean => {
      let hit = false;
      for (let g = 0; g < globs.length; g++) {
        if (globs[g]!.test(path)) {
          used[g] = 1;
          hit = true;
        }
      }
      return hit;
    };
    const top = sim.top;
    const taken = (n: string) => top.regs.some((r) => r.name === n) || top.channels.some((c) => c.name === n || c.name === n.replace(/_(count|push|pop)$/, '')) || top.probes.some((p) => p.name === n) || top.wideProbes.some((p) => p.name === n) || top.children.some((c) => c.name === n);
    let clk = 'clk';
    while (taken(clk)) clk = `${clk}_`;
    this.clkVar = this.addVar(top.path, top.path.split('.'), clk, 'wire', 1, `${top.path}.${clk}`);
    this.clockFacility = writer.facilityName(this.clkVar);

    const regVar: number[] = [];
    const chanVar: number[] = [];
    const probeVar: number[] = [];
    const wideVar: number[] = [];
    for (const m of sim.modules) {
      const scope = m.path.split('.');
      for (const r of m.regs) {
        if (!wanted(r.path)) continue;
        this.regs.push(r);
        regVar.push(this.addVar(m.path, scope, r.name, 'reg', r.width, r.path));
      }
      for (const c of m.channels) {
        if (!wanted(c.path)) continue;
        const w = bitsFor(c.depth);
        this.chans.push(c);
        chanVar.push(this.addVar(m.path, scope, `${c.name}_count`, 'integer', w, c.path));
        this.addVar(m.path, scope, `${c.name}_push`, 'reg', w, c.path);
        this.addVar(m.path, scope, `${c.name}_pop`, 'reg', w, c.path);
      }
      for (const p of m.probes) {
        const path = `${m.path}.${p.name}`;
        if (!wanted(path)) continue;
        this.probes.push(p);
        probeVar.push(this.addVar(m.path, scope, p.name, 'wire', p.width, path));
      }
      for (const p of m.wideProbes) {
        const path = `${m.path}.${p.name}`;
        if (!wanted(path)) continue;
        this.wides.push(p);
        wideVar.push(this.addVar(m.path, scope, p.name, 'wire', p.widthBits, path));
      }
    }
    // A glob that selects nothing is almost always a typo: say so instead of tracing only clk.
    const unused = patterns.filter((_, g) => used[g] === 0);
    if (unused.length > 0) throw new RangeError(`trace: ${unused.map((p) => `'${p}'`).join(', ')} match(es) no signal of ${top.path} (signals are paths like ${sim.regs[0]?.path ?? `${top.path}.<name>`})`);
    this.regVar = Int32Array.from(regVar);
    const tracedReg = new Map(this.regs.map((r, i) => [r, i] as const));
    this.regAt = Int32Array.from(sim.regs, (r) => tracedReg.get(r) ?? -1);
    const chanIndex = new Map(sim.channels.map((c, i) => [c, i] as const));
    this.chanAt = Int32Array.from(this.chans, (c) => chanIndex.get(c)!);
    this.chanTr = new Int32Array(sim.channels.length).fill(-1);
    this.chanAt.forEach((at, i) => (this.chanTr[at] = i));
    this.chanDirty = new Uint32Array((sim.channels.length + 31) >> 5);
    this.chanVar = Int32Array.from(chanVar);
    this.probeVar = Int32Array.from(probeVar);
    this.wideVar = Int32Array.from(wideVar);
    this.regLast = new Float64Array(this.regs.length).fill(Number.NaN);
    this.chanLast = new Float64Array(3 * this.chans.length).fill(Number.NaN);
    this.probeLast = new Float64Array(this.probes.length).fill(Number.NaN);
    this.probeNow = new Float64Array(this.probes.length);
    this.readProbes = compileProbeReader(this.probes, this.probeNow);
    for (let i = 0; i < this.regs.length; i++) this.regs[i]!.traceIndex = this.regVar[i]!;
    for (let i = 0; i < this.chans.length; i++) this.chans[i]!.traceIndex = this.chanVar[i]!;
  }

  private addVar(group: string, scope: readonly string[], name: string, type: 'wire' | 'reg' | 'integer', width: number, signal: string): number {
    const i = this.writer.addVar(scope, name, type, width);
    this.traced.push({ facility: this.writer.facilityName(i), group, type, width, signal, path: this.writer.varPath(i) });
    return i;
  }

  sample(cycle: number): void {
    if (!this.attached) return;
    const w = this.writer;
    const first = this.lastCycle < 0;
    if (!first && cycle < this.lastCycle) {
      // A reset restarted the cycle count: continue VCD time one period after the last sample.
      this.timeBase = this.lastTime + this.periodPs - cycle * this.periodPs;
    }
    const t = this.timeBase + cycle * this.periodPs;
    // The same cycle again (a reset right after attaching): re-sample at the same time.
    if (t !== this.lastTime) {
      this.writeFall();
      // Attached mid-run (t > 0): the first sample becomes the initial values shown from #0.
      if (!first) w.setTime(t);
    }
    this.lastCycle = cycle;
    this.lastTime = t;
    w.changeNumber(this.clkVar, 1);
    // Most signals hold their value from one cycle to the next: compare against the tracer's own
    // copy of what it last handed to the writer, so an unchanged signal costs one load and one
    // compare instead of a call (the writer still checks, and validates, every real change).
    const regs = this.regs;
    const regVar = this.regVar;
    const regLast = this.regLast;
    const act = this.sim.activity;
    const all = act.resets !== this.seenResets;
    this.seenResets = act.resets;
    if (all || this.sim.regChangedAll) {
      for (let i = 0; i < regs.length; i++) {
        const q = regs[i]!.q;
        if (q !== regLast[i]) {
          w.changeNumber(regVar[i]!, q);
          regLast[i] = q;
        }
      }
    } else {
      // Only the registers the last edge changed (ascending, so the order of a full scan).
      const changed = this.sim.regChanged;
      const simRegs = this.sim.regs;
      const regAt = this.regAt;
      for (let k = 0; k < this.sim.regChangedCount; k++) {
        const r = changed[k]!;
        const i = regAt[r]!;
        if (i < 0) continue;
        const q = simRegs[r]!.q;
        if (q !== regLast[i]) {
          w.changeNumber(regVar[i]!, q);
          regLast[i] = q;
        }
      }
    }
    // Only channels that moved in the cycle just committed, or whose push/pop counts that edge
    // cleared, can show a new value (sim.activity). Their indices go into a bitmap that is read
    // in ascending order, so the channels are visited in declaration order (traced channels keep
    // sim.channels' order) and the VCD is the same as from a full scan; ~18 of 62 are visited.
    if (all) {
      for (let i = 0; i < this.chans.length; i++) this.sampleChannel(w, i);
    } else {
      const dirty = this.chanDirty;
      const chanTr = this.chanTr;
      for (let k = 0; k < act.lastCount; k++) {
        const at = act.last[k]!;
        dirty[at >> 5]! |= 1 << (at & 31);
      }
      for (let k = 0; k < act.clearedCount; k++) {
        const at = act.cleared[k]!;
        dirty[at >> 5]! |= 1 << (at & 31);
      }
      for (let word = 0; word < dirty.length; word++) {
        let bits = dirty[word]!;
        if (bits === 0) continue;
        dirty[word] = 0;
        do {
          const low = bits & -bits;
          const i = chanTr[(word << 5) + 31 - Math.clz32(low)]!;
          if (i >= 0) this.sampleChannel(w, i);
          bits ^= low;
        } while (bits !== 0);
      }
    }
    // Read every probe, then compare them all in one loop over two flat arrays (in probe order, so
    // the changes are written in the same order as one probe at a time).
    this.readProbes();
    const now = this.probeNow;
    const probeLast = this.probeLast;
    const probeVar = this.probeVar;
    for (let i = 0; i < now.length; i++) {
      const v = now[i]!;
      if (v !== probeLast[i]) {
        w.changeNumber(probeVar[i]!, v);
        probeLast[i] = v;
      }
    }
    const wides = this.wides;
    const wideVar = this.wideVar;
    for (let i = 0; i < wides.length; i++) {
      const p = wides[i]!;
      w.changeBytes(wideVar[i]!, p.bytes, p.offset);
    }
    this.fallPending = true;
  }

  /** Traced channel i's three variables: occupancy, and entries pushed and popped in the last cycle. */
  private sampleChannel(w: VcdWriter, i: number): void {
    const c = this.chans[i]!;
    const v = this.chanVar[i]!;
    const last = this.chanLast;
    const k = 3 * i;
    const o = c.occupancy;
    const pu = c.lastPushed;
    const po = c.lastPopped;
    if (o !== last[k]) {
      w.changeNumber(v, o);
      last[k] = o;
    }
    if (pu !== last[k + 1]) {
      w.changeNumber(v + 1, pu);
      last[k + 1] = pu;
    }
    if (po !== last[k + 2]) {
      w.changeNumber(v + 2, po);
      last[k + 2] = po;
    }
  }

  /**
   * The clock's falling edge half a period after the last sample. Written lazily (at the next
   * sample, flush or close) so that a reset right after a sample can re-sample the same time.
   */
  private writeFall(): void {
    if (!this.fallPending) return;
    this.fallPending = false;
    if (this.halfPs === 0) return;
    this.writer.setTime(this.lastTime + this.halfPs);
    this.writer.changeNumber(this.clkVar, 0);
  }

  /** Write out what is buffered (called by the simulator when a SimulationError stops the run). */
  flush(): void {
    if (this.attached) this.writeFall();
    this.writer.flush();
  }

  /** Detach from the simulator, close the VCD and (through onClose) write the .gtkw. Idempotent. */
  close(): void {
    if (!this.attached) return;
    this.attached = false;
    this.sim.detach(this);
    for (const r of this.regs) r.traceIndex = -1;
    for (const c of this.chans) c.traceIndex = -1;
    this.writeFall();
    this.writer.close();
    this.onClose?.(this);
  }
}

/**
 * Probe reads are closures, a different function for every probe: called from one loop, that call
 * site sees ~160 different targets and V8 treats it as megamorphic (the slowest kind of call). A
 * generated function with one call site per probe or group keeps every site monomorphic, as the
 * simulator's compiled evaluate phase does for modules (reference/performance.md §2.1: 12-14x
 * between the two).
 *
 * A group whose members are all traced, in slot order, fills a view of `out` directly: its values
 * land where the tracer compares them, contiguous, with no copy. Any other group fills its own
 * array and the traced members are copied out.
 */
function compileProbeReader(probes: readonly Probe[], out: Float64Array): () => void {
  const groups: ProbeGroup[] = [];
  const views: Float64Array[] = [];
  const decl: string[] = [];
  const body: string[] = [];
  for (let i = 0; i < probes.length; ) {
    const p = probes[i]!;
    const group = p.group;
    if (group === undefined) {
      decl.push(`const p${i} = probes[${i}].read;`);
      body.push(`out[${i}] = p${i}();`);
      i++;
      continue;
    }
    const size = group.values.length;
    let whole = p.slot === 0 && i + size <= probes.length;
    for (let k = 1; whole && k < size; k++) whole = probes[i + k]!.group === group && probes[i + k]!.slot === k;
    if (whole) {
      const v = views.push(out.subarray(i, i + size)) - 1;
      decl.push(`const f${i} = groups[${groups.push(group) - 1}].fill; const v${i} = views[${v}];`);
      body.push(`f${i}(v${i});`);
      i += size;
      continue;
    }
    let g = groups.indexOf(group);
    if (g < 0) {
      g = groups.push(group) - 1;
      decl.push(`const g${g}fill = groups[${g}].fill; const g${g}v = groups[${g}].values;`);
      body.push(`g${g}fill(g${g}v);`);
    }
    body.push(`out[${i}] = g${g}v[${p.slot}];`);
    i++;
  }
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const factory = new Function('probes', 'groups', 'views', 'out', `${decl.join('\n')}\nreturn function readProbes() {\n${body.join('\n')}\n};`) as (
    p: readonly Probe[],
    g: readonly ProbeGroup[],
    v: readonly Float64Array[],
    o: Float64Array,
  ) => () => void;
  return factory(probes, groups, views, out);
}

/**
 * Trace `sim` into `${base}.vcd` (now) and `${base}.gtkw` (at close). Attaching samples the
 * current state at once, so the VCD starts with the design as it is.
 */
export function openVcd(sim: Simulator, base: string, opts: TraceOptions = {}): VcdTracer {
  const vcdPath = `${base}.vcd`;
  const writer = VcdWriter.toFile(vcdPath, { timescale: '1ps', ...opts.writer });
  let tracer: VcdTracer;
  try {
    tracer = new VcdTracer(sim, writer, (t) => {
      writeGtkw(`${base}.gtkw`, vcdPath, t.traced, { clock: t.clockFacility, periodTicks: t.periodPs });
    }, opts);
  } catch (e) {
    writer.close();
    throw e;
  }
  sim.attach(tracer);
  return tracer;
}
