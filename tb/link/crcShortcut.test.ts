import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { F68_BYTES, F68_FLIT_OFF } from '../../rtl/flit/Flit68.ts';
import { FLIT_SLOT_BYTES } from '../../rtl/flit/FlitFormat.ts';
import type { CxlLinkParams } from '../../rtl/link/CxlLink.ts';
import { type Phy, type PhyFaults, PhyStatus } from '../../rtl/link/Phy.ts';
import { checkCrc16Flit68, checkFlit256, F256_BYTES, F256_CRC_OFF, Flit256Check } from '../../src/bits/crc.ts';
import type { Channel, CycleObserver } from '../../src/sim/index.ts';
import { VcdTracer } from '../../src/vcd/Tracer.ts';
import { VcdWriter } from '../../src/vcd/VcdWriter.ts';
import { trafficArb } from '../flit/arbitraries.ts';
import type { MsgRec } from '../flit/harness.ts';
import { checkProperty } from '../lib/pbt.ts';
import { buildLink, runToCompletion } from './linkHarness.ts';

/**
 * The CRC shortcut (rtl/link/Phy.ts): a flit the PHY flipped no bit of arrives Intact and the
 * link-layer RX skips its CRC check (68B CRC-16; 256B FEC + CRC-64). ctx.fullEvaluate turns it
 * off. This runs the same traffic both ways over random faults and requires:
 *  - the same waves byte for byte, the same messages delivered, the same link counters;
 *  - every flit the PHYs delivered and every flit the unpackers received the same in both runs,
 *    status and kind and bytes, the CRC field included (the TX seals every flit either way);
 *  - in the run that checks everything, every Intact flit passes the check the other run skips.
 */

interface Flit {
  readonly cycle: number;
  readonly where: string;
  readonly status: number;
  readonly kind: number;
  /** Flit bytes before the CRC field, and the CRC field (68B: CRC-16; 256B: CRC-64 + FEC). */
  readonly body: string;
  readonly crc: string;
}

const hex = (b: Uint8Array, from: number, to: number) => Buffer.from(b.subarray(from, to)).toString('hex');

/** After every edge: the flits each PHY just delivered and each unpacker just received (new entries are the last `lastPushed` visible ones). */
class FlitRecorder implements CycleObserver {
  readonly flits: Flit[] = [];
  /** Intact flits whose CRC did not check (in the run that writes every CRC, must stay 0). */
  intactBad = 0;
  intactSeen = 0;
  constructor(
    readonly mode: '68B' | '256B',
    readonly phys: readonly Phy[],
    readonly flitIns: readonly Channel<'kind' | 'seq'>[],
    readonly checkIntact: boolean,
  ) {}

  private take(where: string, ch: Channel, cycle: number, status: Float64Array | null): void {
    const n = ch.lastPushed;
    for (let k = ch.occupancy - n; k < ch.occupancy; k++) {
      const s = ch.peek(k);
      const off = s * FLIT_SLOT_BYTES;
      const st = status === null ? -1 : status[s]!;
      const crcAt = this.mode === '68B' ? F68_FLIT_OFF + 64 : F256_CRC_OFF;
      const end = this.mode === '68B' ? F68_BYTES : F256_BYTES;
      this.flits.push({ cycle, where, status: st, kind: ch.col.kind![s]!, body: hex(ch.bytes, off, off + crcAt), crc: hex(ch.bytes, off + crcAt, off + end) });
      if (st === PhyStatus.Intact && this.checkIntact) {
        this.intactSeen++;
        const ok = this.mode === '68B' ? checkCrc16Flit68(ch.bytes, off + F68_FLIT_OFF) : checkFlit256(ch.bytes.slice(off, off + F256_BYTES), 0) === Flit256Check.Clean;
        if (!ok) this.intactBad++;
      }
    }
  }

  sample(cycle: number): void {
    this.phys.forEach((p, i) => this.take(`phy${i}`, p.rxOut, cycle, p.rxOut.col.phyStatus));
    this.flitIns.forEach((ch, i) => this.take(`flitIn${i}`, ch, cycle, null));
  }
  flush(): void {}
}

interface Case {
  mode: '68B' | '256B';
  seed: number;
  traffic: [MsgRec[][], MsgRec[][]];
  faults: PhyFaults;
  popRate: number;
}

function run(c: Case, fullEvaluate: boolean) {
  const p: CxlLinkParams = {
    flitMode: c.mode,
    lanes: 16,
    gtps: c.mode === '68B' ? 32 : 64,
    phyLatencyNs: 10,
    retryBufferEntries: 32,
    rxDepth: { req: 8, rwd: 8, ndr: 8, drs: 8 },
    txQueueDepth: 4,
    seed: c.seed,
    retrainNs: 200,
    retry: { retryTimeoutCycles: 400 },
    faults: c.faults,
  };
  const b = buildLink(p, c.traffic[0], c.traffic[1], c.popRate);
  b.top.ctx.fullEvaluate = fullEvaluate;
  const chunks: string[] = [];
  const tracer = new VcdTracer(b.sim, new VcdWriter((buf, n) => chunks.push(Buffer.from(buf.subarray(0, n)).toString('latin1')), { date: 'fixed' }));
  b.sim.attach(tracer);
  const rec = new FlitRecorder(c.mode, [b.link.phyAB, b.link.phyBA], [b.link.a.unpacker.flitIn, b.link.b.unpacker.flitIn], fullEvaluate);
  b.sim.attach(rec);
  runToCompletion(b, c.traffic[0], c.traffic[1], 60_000);
  b.sim.step(1500);
  tracer.close();
  const stats = [b.link.a.link, b.link.b.link].map((l) => [l.flitsSent, l.flitsDelivered, l.crcErrors, l.phyLost, l.retrains, l.retries, l.replayedFlits]);
  return { vcd: chunks.join(''), got: [b.sinkA.got, b.sinkB.got], stats, rec };
}

const faultsArb: fc.Arbitrary<PhyFaults> = fc.oneof(
  fc.constant({}),
  fc.record({ dropRate: fc.constantFrom(0.005, 0.02) }),
  fc.record({ linkDown: fc.record({ atNs: fc.integer({ min: 50, max: 1500 }), forNs: fc.integer({ min: 1, max: 400 }) }).map((w) => [w]) }),
  fc.record({ bitErrorRate: fc.constantFrom(1e-5, 1e-4, 5e-4), dropRate: fc.constantFrom(0, 0.01) }),
  fc.record({ burstRate: fc.constantFrom(0.005, 0.02), burstLength: fc.integer({ min: 1, max: 40 }) }),
);

describe('CRC shortcut (the RX skips the check of Intact flits)', () => {
  for (const mode of ['68B', '256B'] as const) {
    it(`${mode}: property: same waves, messages, counters and flit bytes with the shortcut on and off`, () => {
      let intactChecked = 0;
      checkProperty(
        `crc_shortcut_${mode}`,
        fc.property(
          fc.record({
            mode: fc.constant(mode),
            seed: fc.integer({ min: 0, max: 2 ** 30 }),
            traffic: fc.tuple(trafficArb(mode === '68B' ? 68 : 256, 20), trafficArb(mode === '68B' ? 68 : 256, 20)),
            faults: faultsArb,
            popRate: fc.constantFrom(1, 0.5),
          }),
          (c) => {
            const fast = run(c, false);
            const full = run(c, true);
            expect(full.rec.intactBad).toBe(0);
            intactChecked += full.rec.intactSeen;
            expect(fast.vcd === full.vcd).toBe(true);
            expect(fast.got).toEqual(full.got);
            expect(fast.stats).toEqual(full.stats);
            expect(fast.rec.flits.length).toBe(full.rec.flits.length);
            // The shortcut must not turn a non-intact flit into an intact one or the reverse, nor change a byte.
            for (let i = 0; i < full.rec.flits.length; i++) expect(fast.rec.flits[i]!).toEqual(full.rec.flits[i]!);
            return true;
          },
        ),
        { numRuns: 12 },
      );
      expect(intactChecked).toBeGreaterThan(0);
    });
  }

  it('a PHY without bit or burst errors delivers every flit Intact; one with them marks the flits it flipped', () => {
    const c: Case = { mode: '68B', seed: 3, traffic: fc.sample(fc.tuple(trafficArb(68, 20), trafficArb(68, 20)), { numRuns: 1, seed: 5 })[0]!, faults: {}, popRate: 1 };
    const clean = run(c, false);
    const phyFlits = clean.rec.flits.filter((f) => f.where.startsWith('phy'));
    expect(phyFlits.length).toBeGreaterThan(0);
    expect(phyFlits.every((f) => f.status === PhyStatus.Intact)).toBe(true);
    const noisy = run({ ...c, faults: { bitErrorRate: 1e-3 } }, true);
    const st = noisy.rec.flits.filter((f) => f.where.startsWith('phy')).map((f) => f.status);
    expect(st).toContain(PhyStatus.Intact);
    expect(st).toContain(PhyStatus.Flit);
    expect(noisy.stats.reduce((s, x) => s + x[2]!, 0)).toBeGreaterThan(0);
  });
});
