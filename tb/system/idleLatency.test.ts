import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadSystemConfig } from '../../src/config/system.ts';
import { DEFAULT_RETRY_LINK } from '../../rtl/link/RetryLink68.ts';
import { idleRemoteReadBreakdown } from '../../rtl/system/idlePath.ts';
import { measureIdleRemoteRead } from '../lib/idleMeasure.ts';
import { checkProperty } from '../lib/pbt.ts';
import { traceTo } from '../lib/waves.ts';
import { smallSystem } from '../lib/systemConfigs.ts';

const scenario = () => JSON.parse(readFileSync('scenarios/two-node.json', 'utf8'));

describe('idle remote read = sum of its named stages', () => {
  it('default scenario: 149 cycles, and the breakdown names every stage the report promises', () => {
    const cfg = loadSystemConfig(scenario());
    const b = idleRemoteReadBreakdown(cfg);
    // The waveform of one idle remote read: the request entering, the flits, the far DRAM, the answer.
    const measured = measureIdleRemoteRead(cfg, (sim) => {
      const t = traceTo('waves/system-idle-remote-read', sim);
      return () => t.close();
    }).cycles;
    expect(measured).toBe(b.totalCycles);
    // Hand-computed from the scenario (asic profile, Gen5 x16, DDR5-4800 16-16-16, 1 GHz):
    // 2+2+3 | 1+1+2+21+1+1 | 46+1+35+1+1 | 1+1+2+21+1+1+1 | 1+2 = 149.
    expect(b.totalCycles).toBe(149);
    const names = b.stages.map((s) => s.stage).join(' | ');
    for (const part of ['page table', 'router', 'decoder', 'packer', 'PHY', 'link-layer', 'unpacker', 'controller', 'DRAM']) expect(names).toContain(part);
  });

  it('256B flits on Gen6 x16: measured = breakdown (no rollover flit: header and data fit one flit)', () => {
    const cfg = loadSystemConfig(scenario(), ['link.flitMode="256B"', 'link.gtps=64']);
    const b = idleRemoteReadBreakdown(cfg);
    expect(b.stages.some((s) => s.stage.includes('rollover'))).toBe(false);
    expect(measureIdleRemoteRead(cfg).cycles).toBe(b.totalCycles);
  });

  it('property: for random timing parameters the measured idle read equals the breakdown total', () => {
    const params = fc.record({
      clock: fc.constantFrom(0.5, 1, 1.25, 2),
      link: fc.constantFrom(
        ['link.flitMode="68B"', 'link.gtps=32'],
        ['link.flitMode="68B"', 'link.gtps=16'],
        ['link.flitMode="68B"', 'link.gtps=8'],
        ['link.flitMode="256B"', 'link.gtps=64'],
        ['link.flitMode="256B"', 'link.gtps=32'],
      ),
      lanes: fc.constantFrom(1, 2, 4, 8, 16),
      phy: fc.integer({ min: 0, max: 60 }),
      ctrl: fc.integer({ min: 0, max: 200 }),
      lookup: fc.integer({ min: 0, max: 20 }),
      pt: fc.integer({ min: 0, max: 10 }),
      router: fc.integer({ min: 0, max: 10 }),
      trcd: fc.integer({ min: 5, max: 30 }),
      tcl: fc.integer({ min: 5, max: 30 }),
      rate: fc.constantFrom(3200, 4800, 6400),
    });
    const toOverrides = (p: Record<string, unknown>): string[] => {
      const o = [`clockGHz=${p.clock}`, ...(p.link as string[]), `link.lanes=${p.lanes}`, `link.phyLatencyNs=${p.phy}`];
      for (const n of [0, 1]) {
        o.push(`nodes[${n}].device.controllerNs=${p.ctrl}`, `nodes[${n}].device.lookupNs=${p.lookup}`, `nodes[${n}].host.pageTableNs=${p.pt}`, `nodes[${n}].host.routerNs=${p.router}`);
        o.push(`nodes[${n}].dram.tRCDns=${p.trcd}`, `nodes[${n}].dram.tCLns=${p.tcl}`, `nodes[${n}].dram.dataRateMTs=${p.rate}`);
      }
      return o;
    };
    checkProperty(
      'system-idle-latency',
      fc.property(params, (p) => {
        const cfg = smallSystem(toOverrides(p));
        // "Idle" needs the wire free when the answer leaves: the link layer's own flits sent when
        // the request arrives (a credit return, a 256B ack NOP) must be off the wire by then. Where a
        // flit takes as long as the controller + DRAM, the answer waits behind them (idlePath.ts).
        const b = idleRemoteReadBreakdown(cfg);
        const targetSide = b.stages.filter((s) => /controller|DRAM/.test(s.stage)).reduce((a, s) => a + s.cycles, 0);
        const flit = b.stages.find((s) => s.stage === 'S2M: PHY serialization')!.cycles;
        fc.pre(targetSide >= 3 * flit);
        // The far packer returns the request's credit on its own flit only after the coalescing
        // delay; the read is idle if that flit goes after the answer (which then carries the credit)
        // or is off the wire before the answer is ready.
        // The timers start a few registered hops before the controller (PHY out, link RX, unpacker)
        // and the answer needs a few after it (packer, link TX) to claim the wire first.
        const HOPS = 6;
        const delay = Math.ceil(cfg.link.creditReturnDelayNs * cfg.clockGHz - 1e-9);
        fc.pre(targetSide + HOPS < delay || targetSide >= delay + 3 * flit);
        // Likewise the far link layer's acknowledgement: it rides on the answer unless the ack timer
        // fires first and sends it alone (an LLCRD in 68B, a NOP in 256B).
        const ackDelay = Math.max(1, Math.ceil(DEFAULT_RETRY_LINK.ackTimerNs * cfg.clockGHz - 1e-9));
        fc.pre(targetSide + HOPS < ackDelay || targetSide >= ackDelay + 3 * flit);
        expect(measureIdleRemoteRead(cfg).cycles).toBe(idleRemoteReadBreakdown(cfg).totalCycles);
      }),
      {
        numRuns: 25,
        rerunTraced: ([p], base) => {
          const cfg = smallSystem(toOverrides(p));
          const cycles = measureIdleRemoteRead(cfg, (sim) => {
            const t = traceTo(base, sim);
            return () => t.close();
          }).cycles;
          expect(cycles).toBe(idleRemoteReadBreakdown(cfg).totalCycles);
        },
      },
    );
  });
});
