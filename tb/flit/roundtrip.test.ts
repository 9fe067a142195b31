import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FlitMode } from '../../rtl/cxl/MemFields.ts';
import { Flit256Parser } from '../../rtl/flit/Flit256Parser.ts';
import { Flit68Parser } from '../../rtl/flit/Flit68Parser.ts';
import { FlitUnpacker } from '../../rtl/flit/FlitUnpacker.ts';
import { memMsgChannel } from '../../rtl/cxl/MemMsg.ts';
import { Module, Simulator } from '../../src/sim/index.ts';
import { checkProperty } from '../lib/pbt.ts';
import { traceTo } from '../lib/waves.ts';
import { trafficArb } from './arbitraries.ts';
import { buildPair, type MsgRec, Top } from './harness.ts';
import { Limit256Checker, Limit68Checker } from './limitChecker.ts';

interface Case {
  a: MsgRec[][];
  b: MsgRec[][];
  rxDepth: number;
  txDepth: number;
  popRate: number;
  seed: number;
}

/** Run both ports until every message arrived (or a cycle bound passes). */
function runToCompletion(p: ReturnType<typeof buildPair>, c: Case): void {
  const total = (m: MsgRec[][]) => m.reduce((n, l) => n + l.length, 0);
  const want = total(c.a) + total(c.b);
  const got = () => total(p.sinkA.got) + total(p.sinkB.got);
  // Bound: every message needs at most a few flits; slow sinks stretch it by 1/popRate.
  const limit = 200 + Math.ceil((want * 12) / c.popRate);
  for (let i = 0; i < limit && got() < want; i++) p.sim.step();
}

/** The property: both directions deliver exactly what was sent, legally packed, and credits all come back. */
function checkCase(mode: FlitMode, c: Case, base?: string): void {
  // Independent limit checkers on both wires (not the parser under test).
  const mk = () => (mode === 68 ? new Limit68Checker() : new Limit256Checker());
  const chkAB = mk();
  const chkBA = mk();
  const p = buildPair(c.a, c.b, { mode, rxDepth: c.rxDepth, txDepth: c.txDepth, popRate: c.popRate, seed: c.seed, tapAB: (b, off) => chkAB.feed(b, off), tapBA: (b, off) => chkBA.feed(b, off) });
  const w = base ? traceTo(base, p.sim) : null;
  try {
    runToCompletion(p, c);
    // Reference model: each channel is a FIFO; what the far side pops is exactly what was sent.
    expect(p.sinkB.got).toEqual(c.a);
    expect(p.sinkA.got).toEqual(c.b);
    expect(p.a.unpacker.illegalFlits.q).toBe(0);
    expect(p.b.unpacker.illegalFlits.q).toBe(0);
    expect(chkAB.violations).toEqual([]);
    expect(chkBA.violations).toEqual([]);
    expect(chkAB.flits).toBe(p.wireAB.flits);
    // Credits come back: once idle, each packer holds exactly the peer's buffer count again.
    p.sim.step(60);
    for (const side of [p.a, p.b]) {
      expect([side.packer.creditsM2SReq.q, side.packer.creditsM2SRwD.q, side.packer.creditsS2MNDR.q, side.packer.creditsS2MDRS.q]).toEqual([c.rxDepth, c.rxDepth, c.rxDepth, c.rxDepth]);
    }
  } finally {
    w?.close();
  }
}

function caseArb(mode: FlitMode): fc.Arbitrary<Case> {
  return fc.record({
    a: trafficArb(mode, 10),
    b: trafficArb(mode, 10),
    rxDepth: fc.integer({ min: 1, max: 6 }),
    txDepth: fc.integer({ min: 1, max: 4 }),
    popRate: fc.constantFrom(0.3, 0.7, 1),
    seed: fc.integer({ min: 0, max: 2 ** 30 }),
  });
}

describe.each([68, 256] as const)('%iB packer → unpacker round trip', (mode) => {
  it('delivers every message of both directions, in per-channel order, unchanged, with nothing invented and no illegal flit', () => {
    const name = `flit${mode}.roundtrip`;
    checkProperty(
      name,
      fc.property(caseArb(mode), (c) => checkCase(mode, c)),
      { numRuns: 40, rerunTraced: ([c], base) => checkCase(mode, c, base) },
    );
  });
});

class Holder extends Module {}

describe.each([68, 256] as const)('%iB parser and unpacker on garbage', (mode) => {
  const bytes = mode === 68 ? 68 : 256;
  it('never throw, whatever the bytes', () => {
    checkProperty(
      `flit${mode}.garbage`,
      fc.property(fc.array(fc.uint8Array({ minLength: bytes, maxLength: bytes }), { minLength: 1, maxLength: 12 }), (flits) => {
        // Parser alone, outputs deep enough for any flit's worth of messages.
        const top = new Top();
        const h = new Holder(top, 'h');
        const outs = [0, 1, 2, 3].map((c) => memMsgChannel(h, `o${c}`, 64));
        const parser = mode === 68 ? new Flit68Parser() : new Flit256Parser();
        for (const f of flits) {
          const buf = new Uint8Array(256);
          buf.set(f);
          parser.parse(buf, 0, outs);
          for (const o of outs) o.commit();
          for (const o of outs) while (o.valid()) o.pop();
          for (const o of outs) o.commit();
        }
        // Unpacker in a simulation, its rx channels drained every cycle.
        const top2 = new Top();
        const u = new FlitUnpacker(top2, 'u', { mode, flitInDepth: 16, rxDepth: { req: 64, rwd: 64, ndr: 64, drs: 64 } });
        const drain = new (class extends Module {
          override evaluate(): void {
            for (const ch of [u.rxReq, u.rxRwD, u.rxNdr, u.rxDrs]) while (ch.valid()) ch.pop();
          }
        })(top2, 'drain');
        void drain;
        const sim = new Simulator(top2);
        for (const f of flits) {
          const s = u.flitIn.push();
          u.flitIn.bytes.fill(0, s * 256, s * 256 + 256);
          u.flitIn.bytes.set(f, s * 256);
        }
        u.flitIn.commit();
        sim.step(flits.length + 2);
        expect(u.flitsParsed.q).toBe(flits.length);
      }),
      { numRuns: 200 },
    );
  });
});
