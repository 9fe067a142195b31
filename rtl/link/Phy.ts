import { recordViews } from '../../src/bits/views.ts';
import { ConfigError, Module, Rng, nsToCycles, type Channel, type Reg } from '../../src/sim/index.ts';
import { FLIT_SLOT_BYTES } from '../flit/FlitFormat.ts';

/**
 * One direction of a CXL physical link: a serializer that moves one flit at a time at
 * lanes × GT/s, a fixed pipeline latency, and seeded fault injection.
 *
 * Timing (reference/cxl-protocol.md §7.1). A flit of `flitBits` bits occupies the wire for
 * flitBits / (lanes × GT/s) ns: 68B = 544 bits (protocol ID + 64-byte flit + CRC) = 1.0625 ns on
 * x16 @ 32 GT/s; 256B = 2048 bits = 2.0 ns on x16 @ 64 GT/s. Sync headers are not modelled
 * (latency-optimised "sync header bypass", CXL 1.1 §6.2.1; 256B flit mode has none). Wire time is
 * kept exactly as a rational number of clock cycles in `wireDebt` (units of 1/den cycle), so the
 * long-run flit rate is exact even when a flit time is not a whole number of cycles.
 *
 * Idle latency of one flit pushed into `txIn` in cycle t: visible to the PHY at t+1 (channel
 * register), serialised for ceil(flit time) cycles, then `latencyCycles` of PHY/channel pipeline,
 * pushed into `rxOut` at t+1+serializationCycles+latencyCycles and visible to the RX one cycle later.
 *
 * A PHY cannot back-pressure its receiver: the link-layer RX must drain `rxOut` every cycle.
 * `rxOut` carries a `phyStatus` beside each flit: a flit the PHY lost (framing / protocol-ID
 * failure, CXL 1.1 §6.2.2: "drop flit, link-layer retry") arrives as a Lost marker; after a
 * retrain the RX gets one Retrained marker (a PHY retrain forces a link-layer retry, CXL 3.1 T4-12).
 *
 * A flit in which the PHY flipped no bit arrives as Intact rather than Flit. That is model
 * sideband, not a wire signal: the bytes are exactly what the link-layer TX pushed, with the CRC it
 * wrote, so the RX's CRC check would pass and is skipped (half the CRC work of a fault-free run;
 * the TX still writes every CRC, so the flits on the wire stay bit-exact). Under ctx.fullEvaluate
 * the RX checks every flit; tb/link/crcShortcut.test.ts runs traffic both ways and requires the same
 * waves, messages and flit bytes.
 */

/**
 * The per-cycle code's numbers as `const enum`s: the TypeScript transform writes their members as
 * literals, where a module-level constant or enum object is loaded and type-checked at each use in
 * V8's optimized code. They mirror the exported PhyStatus / PhyState objects (checked at load).
 */
const enum Status { Flit = 0, Lost = 1, Retrained = 2, Intact = 3 }
const enum State { Up = 0, Down = 1, Training = 2 }
/** Mirror of FLIT_SLOT_BYTES (FlitFormat.ts), checked at load. */
const enum Slot { bytes = 256 }
if (FLIT_SLOT_BYTES !== Slot.bytes) throw new Error('Phy: Slot.bytes disagrees with FLIT_SLOT_BYTES');

export const PhyStatus = { Flit: 0, Lost: 1, Retrained: 2, Intact: 3 } as const;
export const PHY_OUT_FIELDS = ['kind', 'seq', 'phyStatus'] as const;
export const PHY_IN_FIELDS = ['kind', 'seq'] as const;

/** Link state (register `linkState`). */
export const PhyState = { Up: 0, Down: 1, Training: 2 } as const;
if (
  PhyStatus.Flit !== Status.Flit || PhyStatus.Lost !== Status.Lost || PhyStatus.Retrained !== Status.Retrained || PhyStatus.Intact !== Status.Intact ||
  PhyState.Up !== State.Up || PhyState.Down !== State.Down || PhyState.Training !== State.Training
) {
  throw new Error('Phy: the Status / State const enums disagree with PhyStatus / PhyState');
}

/** Bits on the wire per flit. */
export const FLIT68_WIRE_BITS = 68 * 8;
export const FLIT256_WIRE_BITS = 256 * 8;

export interface LinkDownWindow {
  /** When the link drops, ns from reset. */
  readonly atNs: number;
  /** How long it stays down before retraining starts, ns. */
  readonly forNs: number;
}

export interface PhyFaults {
  /** Probability that any one bit on the wire is flipped (independent errors). */
  readonly bitErrorRate?: number;
  /** Probability per flit that a burst error hits it. */
  readonly burstRate?: number;
  /** Length of a burst, bits (consecutive bits flipped). */
  readonly burstLength?: number;
  /** Probability per flit that the PHY loses it (delivered as a Lost marker). */
  readonly dropRate?: number;
  /** Windows in which the link is down; everything in flight is lost, the transmitter stalls. */
  readonly linkDown?: readonly LinkDownWindow[];
}

export interface PhyParams {
  readonly flitMode: '68B' | '256B';
  readonly lanes: number;
  readonly gtps: number;
  /** Fixed pipeline latency after serialization (PHY logic, SerDes, channel), ns. */
  readonly latencyNs: number;
  /** Time to retrain after a link-down window or a link-layer re-init request, ns. */
  readonly retrainNs: number;
  readonly faults?: PhyFaults;
  /** Seed of the fault-injection Rng. */
  readonly seed: number;
}

/** Fixed-point scale for GHz and GT/s: both must be whole multiples of 1 MHz / 1 MT/s. */
const RATE_SCALE = 1000;

function scaled(value: number, field: string): number {
  const s = Math.round(value * RATE_SCALE);
  if (!(value > 0) || Math.abs(s - value * RATE_SCALE) > 1e-6) throw new ConfigError(field, `must be > 0 and a multiple of 0.001, got ${value}`);
  return s;
}

export class Phy extends Module {
  /** Transmit side: the link layer's TX pushes flits here. */
  readonly txIn: Channel<(typeof PHY_IN_FIELDS)[number]>;
  /** Receive side: the far end's link-layer RX pops flits and markers here. */
  readonly rxOut: Channel<(typeof PHY_OUT_FIELDS)[number]>;

  readonly flitBytes: number;
  readonly flitBits: number;
  /** Flit time = num / den cycles. */
  readonly num: number;
  readonly den: number;
  /** Whole cycles an idle flit spends being serialised: ceil(flit time). */
  readonly serializationCycles: number;
  /** serializationCycles whole cycles of wire time, 1/den cycle units. */
  private readonly serializationDebt: number;
  readonly latencyCycles: number;
  readonly retrainCycles: number;

  readonly linkState: Reg;
  /** Cycles left in the Down or Training state. */
  readonly stateLeft: Reg;
  /** Wire time still owed by flits already started, 1/den cycle units, from the start of this cycle. */
  readonly wireDebt: Reg;
  /** Index of the next link-down window. */
  private readonly nextWindow: Reg;

  // Fault counters (stats; also probes in waveforms).
  bitErrors = 0;
  bursts = 0;
  drops = 0;
  linkDowns = 0;
  reinits = 0;
  lostInFlight = 0;
  flitsSent = 0;

  private readonly rng: Rng;
  private readonly ber: number;
  private readonly logOneMinusBer: number;
  private readonly burstRate: number;
  private readonly burstLength: number;
  private readonly dropRate: number;
  private readonly windowStart: Float64Array;
  private readonly windowLen: Float64Array;
  /** Bits still to pass before the next independent bit error. */
  private bitsToNextError = Infinity;
  /** Registers whose q = 1 asks for a re-init (the link layers' escalation after MAX_NUM_RETRY). */
  private reinitSources: Reg[] = [];

  // In-flight ring (flits on the wire / in the PHY pipeline).
  private readonly cap: number;
  private readonly flArrive: Float64Array;
  private readonly flKind: Float64Array;
  private readonly flSeq: Float64Array;
  private readonly flStatus: Uint8Array;
  private readonly flBytes: Uint8Array;
  private flHead = 0;
  private flCount = 0;
  // Views of each ring entry and of the flit bytes of each txIn slot, made at elaboration, so a flit
  // moves with one set() call; the channel columns are cached so per-flit code does no keyed lookups.
  private readonly flFlits: readonly Uint8Array[];
  private readonly txInFlits: readonly Uint8Array[];
  private readonly txInKind: Float64Array;
  private readonly txInSeq: Float64Array;
  private readonly rxOutKind: Float64Array;
  private readonly rxOutSeq: Float64Array;
  private readonly rxOutStatus: Float64Array;

  constructor(parent: Module, name: string, readonly params: PhyParams) {
    super(parent, name);
    const p = params;
    if (!(Number.isInteger(p.lanes) && [1, 2, 4, 8, 16].includes(p.lanes))) throw new ConfigError(`${this.path}.lanes`, `must be 1, 2, 4, 8 or 16, got ${p.lanes}`);
    this.flitBits = p.flitMode === '68B' ? FLIT68_WIRE_BITS : FLIT256_WIRE_BITS;
    this.flitBytes = this.flitBits / 8;
    this.num = this.flitBits * scaled(this.ctx.clockGHz, 'clockGHz');
    this.den = p.lanes * scaled(p.gtps, `${this.path}.gtps`);
    this.serializationCycles = Math.ceil(this.num / this.den);
    this.serializationDebt = this.serializationCycles * this.den;
    this.latencyCycles = nsToCycles(p.latencyNs, this.ctx);
    this.retrainCycles = nsToCycles(p.retrainNs, this.ctx);

    const f = p.faults ?? {};
    const rate = (v: number | undefined, field: string): number => {
      const x = v ?? 0;
      if (!(x >= 0 && x <= 1)) throw new ConfigError(`${this.path}.faults.${field}`, `must be a probability in [0, 1], got ${v}`);
      return x;
    };
    this.ber = rate(f.bitErrorRate, 'bitErrorRate');
    this.logOneMinusBer = Math.log1p(-this.ber);
    this.burstRate = rate(f.burstRate, 'burstRate');
    this.dropRate = rate(f.dropRate, 'dropRate');
    this.burstLength = f.burstLength ?? 0;
    if (!(Number.isInteger(this.burstLength) && this.burstLength >= 0)) throw new ConfigError(`${this.path}.faults.burstLength`, `must be an integer ≥ 0 bits`);
    if (this.burstRate > 0 && this.burstLength < 1) throw new ConfigError(`${this.path}.faults.burstLength`, 'must be ≥ 1 when burstRate > 0');
    const wins = f.linkDown ?? [];
    this.windowStart = new Float64Array(wins.length);
    this.windowLen = new Float64Array(wins.length);
    let prevEnd = -1;
    wins.forEach((w, i) => {
      const s = nsToCycles(w.atNs, this.ctx);
      if (s <= prevEnd) throw new ConfigError(`${this.path}.faults.linkDown[${i}]`, 'windows must be in time order and not overlap (including retrain time)');
      this.windowStart[i] = s;
      this.windowLen[i] = Math.max(1, nsToCycles(w.forNs, this.ctx));
      prevEnd = s + this.windowLen[i]! + this.retrainCycles;
    });
    this.rng = new Rng(p.seed);

    this.txIn = this.channel('txIn', 2, PHY_IN_FIELDS, Slot.bytes);
    // The RX drains every cycle; room for the most flits one cycle can complete, plus a marker.
    const perCycle = Math.ceil(this.den / this.num) + 1;
    this.rxOut = this.channel('rxOut', perCycle + 2, PHY_OUT_FIELDS, Slot.bytes);
    this.cap = (this.serializationCycles + this.latencyCycles + 3) * perCycle + 2;
    this.flArrive = new Float64Array(this.cap);
    this.flKind = new Float64Array(this.cap);
    this.flSeq = new Float64Array(this.cap);
    this.flStatus = new Uint8Array(this.cap);
    this.flBytes = new Uint8Array(this.cap * this.flitBytes);
    this.flFlits = recordViews(this.flBytes, this.cap, this.flitBytes, this.flitBytes);
    this.txInFlits = recordViews(this.txIn.bytes, this.txIn.depth, Slot.bytes, this.flitBytes);
    this.txInKind = this.txIn.col.kind;
    this.txInSeq = this.txIn.col.seq;
    this.rxOutKind = this.rxOut.col.kind;
    this.rxOutSeq = this.rxOut.col.seq;
    this.rxOutStatus = this.rxOut.col.phyStatus;

    this.linkState = this.reg('linkState', 2, State.Up);
    this.stateLeft = this.reg('stateLeft', 32, 0);
    this.wireDebt = this.reg('wireDebt', 48, 0);
    this.nextWindow = this.reg('nextWindow', 16, 0);
    // One fill for all of this module's probes: the tracer calls it once per cycle, not a closure per probe.
    this.probeGroup(['bitErrorsInjected', 'burstsInjected', 'dropsInjected', 'linkDownEvents', 'inFlight'], [32, 32, 32, 16, 16], (v) => {
      v[0] = this.bitErrors;
      v[1] = this.bursts;
      v[2] = this.drops;
      v[3] = this.linkDowns;
      v[4] = this.flCount;
    });
  }

  /** Re-init (retrain) the link when any of these registers reads 1 (one end's LRSM escalation). */
  watchReinit(req: Reg): void {
    this.reinitSources.push(req);
  }

  override onReset(): void {
    this.bitErrors = this.bursts = this.drops = this.linkDowns = this.reinits = this.lostInFlight = this.flitsSent = 0;
    this.flHead = this.flCount = 0;
    this.bitsToNextError = this.drawGap();
  }

  private drawGap(): number {
    if (this.ber <= 0) return Infinity;
    // Geometric number of error-free bits before the next error: one draw per error, not per bit.
    return Math.floor(Math.log(1 - this.rng.nextFloat()) / this.logOneMinusBer);
  }

  override evaluate(): void {
    const cycle = this.ctx.cycle;
    let state = this.linkState.q;
    let left = this.stateLeft.q;
    let debt = this.wireDebt.q;

    // ---- link state: down windows, re-init requests, retraining ----
    const w = this.nextWindow.q;
    const goDown = w < this.windowStart.length && cycle >= this.windowStart[w]!;
    let reinit = false;
    if (state === State.Up) {
      for (let i = 0; i < this.reinitSources.length; i++) {
        if (this.reinitSources[i]!.q === 1) {
          reinit = true;
          break;
        }
      }
    }
    // Quiet cycle: the link is up and stays up, nothing waits in txIn and nothing is due to arrive.
    // The code below would then only pay off this cycle's share of the wire debt (the tail of the
    // last flit started), writing every other register back unchanged.
    if (this.ctx.fullEvaluate === false && state === State.Up && !goDown && !reinit && !this.txIn.valid() && (this.flCount === 0 || this.flArrive[this.flHead]! > cycle)) {
      if (debt !== 0) this.wireDebt.d = debt > this.den ? debt - this.den : 0;
      return;
    }
    if (goDown) {
      this.nextWindow.d = w + 1;
      this.linkDowns++;
      this.flushInFlight();
      state = State.Down;
      left = this.windowLen[w]!;
      debt = 0;
    } else if (reinit) {
      this.reinits++;
      this.flushInFlight();
      state = State.Training;
      left = this.retrainCycles;
      debt = 0;
    } else if (state !== State.Up) {
      left--;
      if (left <= 0) {
        if (state === State.Down) {
          state = State.Training;
          left = this.retrainCycles;
        }
        if (left <= 0) {
          state = State.Up;
          left = 0;
          this.enqueueMarker(cycle + this.latencyCycles, Status.Retrained);
        }
      }
    }

    // ---- transmit: start as many flits as the wire frees this cycle ----
    if (state === State.Up) {
      const txIn = this.txIn;
      while (debt < this.den && txIn.valid()) {
        const s = txIn.pop();
        // debt was below den, so it is now in [num, num + den): the flit's last bit leaves in
        // ceil(debt / den) = serializationCycles or one more cycles (integers only, no division).
        debt += this.num;
        const arrive = cycle + (debt > this.serializationDebt ? this.serializationCycles + 1 : this.serializationCycles) + this.latencyCycles;
        this.startFlit(s, arrive);
      }
    }
    debt = debt > this.den ? debt - this.den : 0;

    // ---- deliver what has arrived ----
    const out = this.rxOut;
    while (this.flCount > 0 && this.flArrive[this.flHead]! <= cycle) {
      if (!out.canPush()) this.fail('the link-layer RX did not drain rxOut: a PHY cannot back-pressure');
      const o = out.push();
      const h = this.flHead;
      this.rxOutKind[o] = this.flKind[h]!;
      this.rxOutSeq[o] = this.flSeq[h]!;
      this.rxOutStatus[o] = this.flStatus[h]!;
      out.bytes.set(this.flFlits[h]!, o * Slot.bytes);
      this.flHead = h + 1 === this.cap ? 0 : h + 1;
      this.flCount--;
    }

    this.linkState.d = state;
    this.stateLeft.d = left;
    this.wireDebt.d = debt;
  }

  private flushInFlight(): void {
    this.lostInFlight += this.flCount;
    this.flCount = 0;
  }

  private reserve(arrive: number): number {
    if (this.flCount >= this.cap) this.fail('PHY in-flight ring overflow (internal sizing error)');
    // flHead < cap and flCount < cap: one conditional subtract replaces %.
    let t = this.flHead + this.flCount;
    if (t >= this.cap) t -= this.cap;
    this.flCount++;
    this.flArrive[t] = arrive;
    return t;
  }

  private enqueueMarker(arrive: number, status: number): void {
    const t = this.reserve(arrive);
    this.flKind[t] = 0;
    this.flSeq[t] = 0;
    this.flStatus[t] = status;
    const b0 = t * this.flitBytes;
    for (let i = 0; i < this.flitBytes; i++) this.flBytes[b0 + i] = 0;
  }

  private startFlit(slot: number, arrive: number): void {
    this.flitsSent++;
    const t = this.reserve(arrive);
    this.flKind[t] = this.txInKind[slot]!;
    this.flSeq[t] = this.txInSeq[slot]!;
    const buf = this.flBytes;
    const b0 = t * this.flitBytes;
    buf.set(this.txInFlits[slot]!, b0);
    const bits = this.flitBits;

    // Independent bit errors.
    let status: number = this.bitsToNextError < bits ? Status.Flit : Status.Intact;
    while (this.bitsToNextError < bits) {
      const bit = this.bitsToNextError;
      buf[b0 + (bit >> 3)] = buf[b0 + (bit >> 3)]! ^ (1 << (bit & 7));
      this.bitErrors++;
      this.bitsToNextError += 1 + this.drawGap();
    }
    this.bitsToNextError -= bits;
    // Burst errors: every bit of the burst flipped (a worst-case burst), clipped at the flit's end.
    if (this.burstRate > 0 && this.rng.nextFloat() < this.burstRate) {
      this.bursts++;
      status = Status.Flit;
      const start = this.rng.below(bits);
      const end = Math.min(bits, start + this.burstLength);
      for (let bit = start; bit < end; bit++) buf[b0 + (bit >> 3)] = buf[b0 + (bit >> 3)]! ^ (1 << (bit & 7));
    }
    if (this.dropRate > 0 && this.rng.nextFloat() < this.dropRate) {
      this.drops++;
      status = Status.Lost;
    }
    this.flStatus[t] = status;
  }
}
