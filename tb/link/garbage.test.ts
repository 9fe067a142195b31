import { describe, expect, it } from 'vitest';
import { F68_FLIT_OFF } from '../../rtl/flit/Flit68.ts';
import { FLIT_SLOT_BYTES } from '../../rtl/flit/FlitFormat.ts';
import type { CxlLink } from '../../rtl/link/CxlLink.ts';
import { PhyStatus } from '../../rtl/link/Phy.ts';
import { ReplayLink256 } from '../../rtl/link/ReplayLink256.ts';
import { Lrsm, RetryLink68 } from '../../rtl/link/RetryLink68.ts';
import { writeCrc16Flit68, writeCrcFec256 } from '../../src/bits/crc.ts';
import { Module, Rng } from '../../src/sim/index.ts';
import { buildLink } from './linkHarness.ts';

/**
 * Pushes garbage into the PHY output that port a's link-layer RX drains, every cycle: random bytes,
 * random kind and PHY status; with probability `validFrac` the garbage gets a correct protocol ID
 * and CRC (68B) / CRC+FEC (256B), so it passes the checks and exercises what lies behind them.
 */
class GarbageInjector extends Module {
  injected = 0;
  validInjected = 0;
  private readonly rng: Rng;
  constructor(parent: Module, readonly link: CxlLink, seed: number, readonly validFrac: number) {
    super(parent, 'garbage');
    this.rng = new Rng(seed);
  }
  override evaluate(): void {
    const ch = this.link.phyBA.rxOut;
    if (!ch.canPush()) return;
    const s = ch.push();
    const off = s * FLIT_SLOT_BYTES;
    for (let i = 0; i < FLIT_SLOT_BYTES; i++) ch.bytes[off + i] = this.rng.below(256);
    ch.col.kind[s] = this.rng.below(3);
    ch.col.seq[s] = this.rng.below(1024);
    ch.col.phyStatus[s] = this.rng.nextFloat() < 0.9 ? PhyStatus.Flit : this.rng.below(3);
    this.injected++;
    if (this.rng.nextFloat() < this.validFrac) {
      this.validInjected++;
      if (this.link.params.flitMode === '68B') {
        ch.bytes[off] = 0x55;
        ch.bytes[off + 1] = 0x55;
        writeCrc16Flit68(ch.bytes, off + F68_FLIT_OFF);
      } else {
        writeCrcFec256(ch.bytes, off);
      }
    }
  }
}

describe('garbage at the link-layer RX', () => {
  for (const mode of ['68B', '256B'] as const) {
    for (const validFrac of [0, 0.5, 1]) {
      it(`${mode}, ${validFrac * 100}% with a valid CRC: never crashes; bad flits rejected and counted`, () => {
        const deep = { req: 32, rwd: 32, ndr: 32, drs: 32 };
        const b = buildLink(
          { flitMode: mode, lanes: 16, gtps: mode === '68B' ? 32 : 64, phyLatencyNs: 10, retryBufferEntries: 32, rxDepth: deep, txQueueDepth: 4, seed: 5, retry: { retryTimeoutCycles: 200 } },
          [[], [], [], []],
          [[], [], [], []],
        );
        // Garbage that passes the CRC may carry credit returns the peer never sent: credit bounds are not the point here.
        b.sim.detach(b.credits);
        const g = new GarbageInjector(b.top, b.link, 77 + validFrac * 10, validFrac);
        // The injector was added after the Simulator was built: drive it by hand each cycle.
        for (let c = 0; c < 5000; c++) {
          g.evaluate();
          b.sim.step(1);
        }
        const rx = b.link.a.link;
        expect(g.injected).toBeGreaterThan(4000);
        if (validFrac < 1) expect(rx.crcErrors + rx.phyLost + rx.retrains).toBeGreaterThan(0);
        // Everything delivered to the unpacker passed the checks: never more than the valid garbage.
        expect(rx.flitsDelivered).toBeLessThanOrEqual(g.validInjected);
        if (rx instanceof RetryLink68) expect([Lrsm.Normal, Lrsm.LlrReq, Lrsm.LocalIdle, Lrsm.PhyReinit, Lrsm.Abort]).toContain(rx.lrsm.q);
        if (validFrac === 1 && rx instanceof ReplayLink256) expect(rx.duplicates + rx.gaps + rx.flitsDelivered).toBeGreaterThan(0);
        if (rx.flitsDelivered > 0) expect(b.link.a.unpacker.illegalFlits.q).toBeGreaterThan(0);
      });
    }
  }
});
