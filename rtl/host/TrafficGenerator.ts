import { LINE_BYTES } from '../cxl/opcodes.ts';
import { ConfigError, Rng } from '../../src/sim/index.ts';
import { HostOp } from './HostMsg.ts';
import type { VcpuCommand, VcpuCommandSource } from './VcpuCommand.ts';

/** Address patterns. */
export const TrafficPattern = {
  /** Line after line from the start of the range, wrapping at its end. */
  Sequential: 0,
  /** Uniform over the lines of the range. */
  Random: 1,
  /** A fixed set of `hotLines` lines takes `hotFraction` of the accesses; the rest are uniform. */
  HotSet: 2,
  /**
   * A dependent chain of reads: each address is computed from the data the previous read returned
   * (mixed with the seed so an all-zero memory still walks), so the next read issues only after
   * the previous answer.
   */
  PointerChase: 3,
} as const;
export type TrafficPattern = (typeof TrafficPattern)[keyof typeof TrafficPattern];
export const TRAFFIC_PATTERN_NAMES = ['sequential', 'random', 'hotSet', 'pointerChase'] as const;

export interface TrafficGeneratorParams {
  readonly seed: number;
  readonly pattern: TrafficPattern;
  /** VM address range the traffic stays in: [vmBase, vmBase + bytes), line aligned. */
  readonly vmBase: number;
  readonly bytes: number;
  /** Fraction of commands that read (0..1); the rest write. Pointer chase always reads. */
  readonly readFraction: number;
  /** Fraction of writes that are partial (random byte enables). Default 0. */
  readonly partialWriteFraction?: number;
  /**
   * Open loop: commands offered per cycle (0 < rate ≤ 1), by a fractional accumulator, so over N
   * cycles the count is within one of rate × N. Cycles in which the port cannot take a command
   * (back-pressure) do not accumulate: the offered rate is an upper bound under back-pressure.
   */
  readonly rate?: number;
  /** Closed loop: keep this many commands outstanding (offer whenever fewer are). */
  readonly closedLoopOutstanding?: number;
  /** HotSet: the number of hot lines (default 16) and the share of accesses to them (default 0.9). */
  readonly hotLines?: number;
  readonly hotFraction?: number;
  /** Stop after this many commands (default: never). */
  readonly count?: number;
}

/**
 * Draws are 30-bit integers: always a V8 small integer, so passing one around never allocates.
 * The numbers of the per-command code are `const enum` members, which the TypeScript transform
 * writes as literals (a module-level constant is loaded and type-checked at every use under V8).
 */
const enum Draw {
  bits = 30,
  range = 1073741824,
}
/** A line's bytes, and the end of its whole 3-byte groups of write data (the rest takes one more draw). */
const enum Line {
  bytes = 64,
  triplesEnd = 63,
}
if (Draw.range !== 2 ** Draw.bits || Line.bytes !== LINE_BYTES || Line.triplesEnd !== LINE_BYTES - (LINE_BYTES % 3)) throw new Error('TrafficGenerator: Draw / Line constants disagree');
/** Mirrors of TrafficPattern and HostOp for the per-cycle code, as const enums too (checked at load). */
const enum Pat { Sequential = 0, Random = 1, HotSet = 2, PointerChase = 3 }
const enum Op { Read = 0, Write = 1, WritePartial = 2 }
if (
  TrafficPattern.Sequential !== Pat.Sequential || TrafficPattern.Random !== Pat.Random || TrafficPattern.HotSet !== Pat.HotSet || TrafficPattern.PointerChase !== Pat.PointerChase ||
  HostOp.Read !== Op.Read || HostOp.Write !== Op.Write || HostOp.WritePartial !== Op.WritePartial
) {
  throw new Error('TrafficGenerator: Pat / Op disagree with TrafficPattern / HostOp');
}

/**
 * A seeded synthetic vCPU workload (a VcpuCommandSource). The command stream is a function of the
 * parameters and seed only (and, for a pointer chase, of the data read); nothing is allocated per
 * command.
 *
 * Randomness: src/sim Rng seeds a private xorshift128 whose state lives in a Uint32Array and
 * whose draws are 30-bit integers. Measured (V8 sampling heap profiler): drawing from Rng directly,
 * whose 32-bit results and floats are heap numbers whenever the call is not inlined, allocated
 * ~250 bytes per command in this method; the 30-bit draws allocate nothing.
 */
export class TrafficGenerator implements VcpuCommandSource {
  readonly params: TrafficGeneratorParams;
  /** params.pattern and params.vmBase as own fields: offer() reads them every call. */
  private readonly pattern: TrafficPattern;
  private readonly vmBase: number;
  /** xorshift128 state, seeded from src/sim Rng. */
  private readonly st = new Uint32Array(4);
  private readonly lines: number;
  /** Probabilities as thresholds on a 30-bit draw. */
  private readonly readThreshold: number;
  private readonly partialThreshold: number;
  private readonly hotThreshold: number;
  private readonly hot: Float64Array;
  private readonly rate: number;
  private readonly closedLoop: number;
  private readonly count: number;
  private stopped = false;
  private readonly hotFraction: number;
  private acc = 0;
  private seqLine = 0;
  /** Pointer chase: line of the next read, valid when `chaseReady`. */
  private chaseLine = 0;
  private chaseReady = true;
  /** Commands offered / answered. */
  offered = 0;
  answered = 0;

  /** `where` names this generator in errors (a config path such as `nodes[0].vcpus[1].traffic`). */
  constructor(params: TrafficGeneratorParams, where = 'trafficGenerator') {
    const need = (ok: boolean, what: string): void => {
      if (!ok) throw new ConfigError(where, what);
    };
    need(Number.isInteger(params.seed), `seed must be an integer, got ${params.seed}`);
    need(params.pattern >= 0 && params.pattern <= 3 && Number.isInteger(params.pattern), `pattern must be a TrafficPattern, got ${params.pattern}`);
    need(Number.isInteger(params.vmBase) && params.vmBase >= 0 && params.vmBase % LINE_BYTES === 0, `vmBase ${params.vmBase} must be a multiple of ${LINE_BYTES}`);
    need(Number.isInteger(params.bytes) && params.bytes >= LINE_BYTES && params.bytes % LINE_BYTES === 0, `bytes ${params.bytes} must be a positive multiple of ${LINE_BYTES}`);
    need(params.readFraction >= 0 && params.readFraction <= 1, `readFraction must be in [0, 1], got ${params.readFraction}`);
    const pf = params.partialWriteFraction ?? 0;
    need(pf >= 0 && pf <= 1, `partialWriteFraction must be in [0, 1], got ${pf}`);
    const hasRate = params.rate !== undefined;
    const hasClosed = params.closedLoopOutstanding !== undefined;
    need(hasRate !== hasClosed, 'give exactly one of rate (open loop) and closedLoopOutstanding (closed loop)');
    if (hasRate) need(params.rate! > 0 && params.rate! <= 1, `rate must be in (0, 1] commands per cycle, got ${params.rate}`);
    if (hasClosed) need(Number.isInteger(params.closedLoopOutstanding) && params.closedLoopOutstanding! >= 1, `closedLoopOutstanding must be an integer ≥ 1, got ${params.closedLoopOutstanding}`);
    const count = params.count ?? Infinity;
    need(count === Infinity || (Number.isInteger(count) && count >= 0), `count must be an integer ≥ 0, got ${count}`);
    this.params = params;
    this.pattern = params.pattern;
    this.vmBase = params.vmBase;
    const seeder = new Rng(params.seed);
    for (let i = 0; i < 4; i++) this.st[i] = seeder.nextU32();
    if ((this.st[0]! | this.st[1]! | this.st[2]! | this.st[3]!) === 0) this.st[0] = 1;
    this.lines = params.bytes / LINE_BYTES;
    this.rate = params.rate ?? 0;
    this.closedLoop = params.closedLoopOutstanding ?? 0;
    this.count = count;
    this.hotFraction = params.hotFraction ?? 0.9;
    need(this.hotFraction >= 0 && this.hotFraction <= 1, `hotFraction must be in [0, 1], got ${this.hotFraction}`);
    this.readThreshold = Math.round(params.readFraction * Draw.range);
    this.partialThreshold = Math.round(pf * Draw.range);
    this.hotThreshold = Math.round(this.hotFraction * Draw.range);
    const hotLines = params.pattern === TrafficPattern.HotSet ? (params.hotLines ?? 16) : 0;
    need(Number.isInteger(hotLines) && hotLines <= this.lines, `hotLines ${hotLines} must be an integer ≤ the ${this.lines} lines of the range`);
    if (params.pattern === TrafficPattern.HotSet) need(hotLines >= 1, 'hotLines must be ≥ 1');
    // Distinct hot lines drawn once, at construction.
    const chosen = new Set<number>();
    while (chosen.size < hotLines) chosen.add(this.below(this.lines));
    this.hot = Float64Array.from([...chosen].sort((a, b) => a - b));
    if (params.pattern === TrafficPattern.PointerChase) this.chaseLine = this.below(this.lines);
  }

  /** Next 30-bit draw (xorshift128, Marsaglia 2003). */
  private draw(): number {
    const st = this.st;
    let t = st[0]!;
    t ^= t << 11;
    st[0] = st[1]!;
    st[1] = st[2]!;
    st[2] = st[3]!;
    const w = st[3]!;
    st[3] = w ^ (w >>> 19) ^ t ^ (t >>> 8);
    return st[3]! >>> (32 - Draw.bits);
  }

  /** Uniform integer in [0, n), n ≤ 2^30. */
  private below(n: number): number {
    return Math.floor((this.draw() / Draw.range) * n);
  }

  /** The hot set's VM line addresses (tests, reports). */
  hotSet(): number[] {
    return Array.from(this.hot, (l) => this.params.vmBase + l * LINE_BYTES);
  }

  /** End of a run: offer nothing more, so what is in flight can drain and be checked. */
  stop(): void {
    this.stopped = true;
  }

  isDone(): boolean {
    return this.stopped === true || this.offered >= this.count;
  }

  offer(cmd: VcpuCommand, _cycle: number): boolean {
    if (this.stopped === true || this.offered >= this.count) return false;
    const pattern = this.pattern;
    if (pattern === Pat.PointerChase) {
      if (this.chaseReady === false) return false;
    } else if (this.closedLoop > 0) {
      if (this.offered - this.answered >= this.closedLoop) return false;
    } else {
      this.acc += this.rate;
      if (this.acc < 1) return false;
      this.acc -= 1;
    }
    this.generate(cmd);
    return true;
  }

  /**
   * After a refusal: every refusal but the open-loop one (whose accumulator grows each call) lasts,
   * unchanged, until onComplete() frees a closed-loop place or a chase link (or for good, when stopped).
   */
  waitsForAnswer(): boolean {
    return this.pattern === Pat.PointerChase || this.closedLoop > 0 || this.stopped === true || this.offered >= this.count;
  }

  /**
   * Fill `cmd` with the next command, once offer() has decided there is one. Kept out of offer() so
   * that offer() stays small enough for V8 to inline into the port: in most cycles a port asks and
   * the generator refuses, and such a cycle then makes no call.
   */
  private generate(cmd: VcpuCommand): void {
    const pattern = this.pattern;
    let line: number;
    if (pattern === Pat.Sequential) {
      line = this.seqLine;
      this.seqLine = this.seqLine + 1 === this.lines ? 0 : this.seqLine + 1;
    } else if (pattern === Pat.Random) {
      line = this.below(this.lines);
    } else if (pattern === Pat.HotSet) {
      line = this.draw() < this.hotThreshold ? this.hot[this.below(this.hot.length)]! : this.below(this.lines);
    } else {
      line = this.chaseLine;
      this.chaseReady = false;
    }
    cmd.vmAddr = this.vmBase + line * Line.bytes;
    cmd.waitForPrevious = pattern === Pat.PointerChase;
    if (pattern === Pat.PointerChase || this.draw() < this.readThreshold) {
      cmd.op = Op.Read;
      cmd.beLo = 0;
      cmd.beHi = 0;
    } else {
      if (this.draw() < this.partialThreshold) {
        cmd.op = Op.WritePartial;
        // 30 random enable bits per half plus 2 more from a third draw: all 64 bytes can be enabled.
        const extra = this.draw();
        cmd.beLo = (this.draw() + (extra & 3) * Draw.range) >>> 0;
        cmd.beHi = (this.draw() + ((extra >>> 2) & 3) * Draw.range) >>> 0;
        if (cmd.beLo === 0 && cmd.beHi === 0) cmd.beLo = 1;
      } else {
        cmd.op = Op.Write;
        cmd.beLo = 0xffffffff;
        cmd.beHi = 0xffffffff;
      }
      this.fillData(cmd.data);
    }
    this.offered++;
  }

  /**
   * A write's line: three data bytes per 30-bit draw, whole triples, then the line's last bytes
   * from one more draw. The 22 draws are draw()'s xorshift steps on the state held in locals and
   * stored back once: the same numbers, without four loads and four stores of `st` per draw.
   */
  private fillData(d: Uint8Array): void {
    const st = this.st;
    let s0 = st[0]!;
    let s1 = st[1]!;
    let s2 = st[2]!;
    let s3 = st[3]!;
    // Three bytes per draw; the last draw's line ends after one byte (64 = 21 x 3 + 1).
    for (let b = 0; b < Line.bytes; b += 3) {
      let t = s0;
      t ^= t << 11;
      s0 = s1;
      s1 = s2;
      s2 = s3;
      s3 = (s3 ^ (s3 >>> 19) ^ t ^ (t >>> 8)) >>> 0;
      const x = s3 >>> (32 - Draw.bits);
      d[b] = x & 0xff;
      if (b < Line.triplesEnd) {
        d[b + 1] = (x >>> 8) & 0xff;
        d[b + 2] = (x >>> 16) & 0xff;
      } else if (b + 1 < Line.bytes) {
        d[b + 1] = (x >>> 8) & 0xff;
      }
    }
    st[0] = s0;
    st[1] = s1;
    st[2] = s2;
    st[3] = s3;
  }

  onComplete(_seq: number, op: HostOp, _vmAddr: number, _status: number, data: Uint8Array, dataOff: number): void {
    this.answered++;
    if (this.pattern === Pat.PointerChase && op === Op.Read) {
      // The next link: the first 30 bits of the line just read, mixed with the seed's stream.
      const word = (data[dataOff]! | (data[dataOff + 1]! << 8) | (data[dataOff + 2]! << 16) | ((data[dataOff + 3]! & 0x3f) << 24)) >>> 0;
      const mixed = (word ^ this.draw()) >>> 0;
      this.chaseLine = Math.floor((mixed / Draw.range) * this.lines);
      this.chaseReady = true;
    }
  }
}
