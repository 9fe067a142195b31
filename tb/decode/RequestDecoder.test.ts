import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AddressRangeTableConfig, type DecoderConfig } from '../../rtl/decode/AddressRangeTable.ts';
import { HOST_IN_STAGE_CYCLES, HOST_OUT_STAGE_CYCLES, ISSUE_STAGE_CYCLES, S2M_IN_STAGE_CYCLES } from '../../rtl/decode/RequestDecoder.ts';
import { LINE_BYTES, M2SReqOp, M2SRwDOp, MetaField } from '../../rtl/cxl/opcodes.ts';
import { HostRoute, HostStatus } from '../../rtl/host/HostMsg.ts';
import { ConfigError } from '../../src/sim/index.ts';
import { refDecode } from '../lib/hdmReference.ts';
import { checkProperty } from '../lib/pbt.ts';
import { traceTo, withWaves } from '../lib/waves.ts';
import { buildDecoderBench, initialByte, Op, type HostCmd } from './decoderBench.ts';
import { legalSetArb, type LegalSet } from './hdmArb.ts';

const GiB = 2 ** 30;
const BASE = 4 * GiB;
/** 2-way at 4 KiB over nodes 1 and 2; VM 0 reads+writes, VM 1 reads only, VM 2 nothing. */
const CFG: AddressRangeTableConfig = { decoders: [{ base: '4G', size: '1G', ways: 2, granularity: 4096, targets: [1, 2], readers: [0, 1], writers: [0] }] };

function bytes(seed: number): Uint8Array {
  const b = new Uint8Array(LINE_BYTES);
  for (let k = 0; k < LINE_BYTES; k++) b[k] = (seed * 13 + k * 5) & 0xff;
  return b;
}

describe('RequestDecoder: idle latency = named stages exactly', () => {
  for (const L of [0, 1, 3, 7]) {
    it(`lookup ${L} cycles: issue = hostIn(1) + lookup(${L}) + issue register(1); round trip adds S2M in(1) + host out(1) + remote`, () => {
      const R = 5;
      const tb = buildDecoderBench({ config: CFG, lookupLatencyCycles: L, remoteLatency: R });
      tb.host.queue.push({ hostTag: 7, vm: 0, op: Op.Read, addr: BASE + 4096 + 128 });
      withWaves(`decode_latency_L${L}`, tb.sim, () => tb.drain(1));
      const pushed = tb.host.pushedAt.get(7)!;
      const issueStages = HOST_IN_STAGE_CYCLES + L + ISSUE_STAGE_CYCLES;
      expect(issueStages).toBe(L + 2);
      expect(tb.fabric.seen[0]!.cycle - pushed).toBe(L + 2);
      const rsp = tb.host.answers[0]!;
      expect(S2M_IN_STAGE_CYCLES + HOST_OUT_STAGE_CYCLES).toBe(2);
      expect(rsp.cycle - pushed).toBe(L + 2 + R + 2);
    });
  }

  it('a miss is answered after the same issue stages, and a local hit after DRAM latency + 2', () => {
    const tb = buildDecoderBench({ config: CFG, lookupLatencyCycles: 3, dram: true, dramLatency: 4 });
    tb.host.queue.push({ hostTag: 1, vm: 0, op: Op.Read, addr: 64 * GiB });
    withWaves('decode_latency_miss', tb.sim, () => tb.drain(1));
    expect(tb.host.answers[0]!.cycle - tb.host.pushedAt.get(1)!).toBe(3 + 2);
    const hpa = BASE + 3 * 4096;
    tb.table.stageOverrideLocal(hpa, 0x10_0000, tb.sim.cycle);
    tb.sim.step(1);
    tb.host.queue.push({ hostTag: 2, vm: 0, op: Op.Read, addr: hpa });
    tb.drain(2);
    expect(tb.dram!.seen[0]!.cycle - tb.host.pushedAt.get(2)!).toBe(3 + 2);
    expect(tb.host.answers[1]!.cycle - tb.host.pushedAt.get(2)!).toBe(3 + 2 + 4 + 2);
  });
});

describe('RequestDecoder: hits, misses, grants', () => {
  it('reads and writes on a hit become MemRd / MemWr / MemWrPtl to the right node and DPA, tags restored', () => {
    const tb = buildDecoderBench({ config: CFG, nodeId: 0, remoteLatency: 3 });
    const wr = bytes(1);
    const part = bytes(2);
    tb.host.queue.push(
      { hostTag: 100, vm: 0, op: Op.Write, addr: BASE + 4096 + 64, data: wr }, // way 1 -> node 2, DPA 64
      { hostTag: 101, vm: 0, op: Op.Read, addr: BASE + 4096 + 64 },
      { hostTag: 102, vm: 0, op: Op.WritePartial, addr: BASE + 2 * 4096, beLo: 0x0000_00ff, beHi: 0x8000_0000, data: part }, // way 0 -> node 1, DPA 4096
      { hostTag: 103, vm: 1, op: Op.Read, addr: BASE + 2 * 4096 },
    );
    withWaves('decode_hits', tb.sim, () => tb.drain(4));
    const [w, r, p, r2] = tb.fabric.seen;
    expect([w!.cls, w!.opcode, w!.dpid, w!.addr, w!.spid, w!.metaField]).toEqual(['rwd', M2SRwDOp.MemWr, 2, 64, 0, MetaField.NoOp]);
    expect(w!.data).toEqual(wr);
    expect([r!.cls, r!.opcode, r!.dpid, r!.addr]).toEqual(['req', M2SReqOp.MemRd, 2, 64]);
    expect([p!.opcode, p!.dpid, p!.addr, p!.beLo, p!.beHi]).toEqual([M2SRwDOp.MemWrPtl, 1, 4096, 0xff, 0x8000_0000]);
    expect([r2!.dpid, r2!.addr]).toEqual([1, 4096]);
    const byTag = new Map(tb.host.answers.map((a) => [a.hostTag, a]));
    expect(byTag.get(100)!.status).toBe(HostStatus.Ok);
    expect(byTag.get(101)!.data).toEqual(wr);
    expect(byTag.get(101)!.route).toBe(HostRoute.Remote);
    const expected = new Uint8Array(LINE_BYTES);
    for (let k = 0; k < LINE_BYTES; k++) expected[k] = k < 8 || k === 63 ? part[k]! : initialByte(1, 4096, k);
    expect(byTag.get(103)!.data).toEqual(expected);
    expect([tb.dec.hits, tb.dec.misses, tb.dec.refused]).toEqual([4, 0, 0]);
    expect(tb.dec.outstandingCount).toBe(0);
  });

  it('misses and refusals get the CXL error answer and send nothing (§5.6)', () => {
    const tb = buildDecoderBench({ config: CFG });
    tb.host.queue.push(
      { hostTag: 1, vm: 0, op: Op.Read, addr: 64 * GiB },
      { hostTag: 2, vm: 0, op: Op.Write, addr: 64 * GiB, data: bytes(3) },
      { hostTag: 3, vm: 1, op: Op.Write, addr: BASE, data: bytes(4) },
      { hostTag: 4, vm: 2, op: Op.Read, addr: BASE },
    );
    withWaves('decode_errors', tb.sim, () => tb.drain(4));
    expect(tb.fabric.seen).toHaveLength(0);
    const byTag = new Map(tb.host.answers.map((a) => [a.hostTag, a]));
    for (const t of [1, 4]) {
      expect([byTag.get(t)!.status, byTag.get(t)!.poison, byTag.get(t)!.route]).toEqual([HostStatus.Nxm, 1, HostRoute.Error]);
      expect(byTag.get(t)!.data.every((b) => b === 0xff)).toBe(true);
    }
    for (const t of [2, 3]) expect([byTag.get(t)!.status, byTag.get(t)!.poison]).toEqual([HostStatus.Nxm, 0]);
    expect([tb.dec.hits, tb.dec.misses, tb.dec.refused]).toEqual([0, 2, 2]);
  });

  it('a remote MemData-NXM answer reaches the host as Nxm with poison', () => {
    const tb = buildDecoderBench({ config: CFG });
    tb.fabric.answerNxm = true;
    tb.host.queue.push({ hostTag: 9, vm: 0, op: Op.Read, addr: BASE });
    tb.drain(1);
    expect([tb.host.answers[0]!.status, tb.host.answers[0]!.poison]).toEqual([HostStatus.Nxm, 1]);
  });

  it('refuses a decoder that targets this node when there is no local DRAM port', () => {
    expect(() => buildDecoderBench({ config: CFG, nodeId: 2 })).toThrow(ConfigError);
    expect(() => buildDecoderBench({ config: CFG, nodeId: 2, dram: true })).not.toThrow();
  });
});

describe('RequestDecoder: local DRAM through a page override', () => {
  it('writes and reads of an overridden page go to the DRAM port at the override PA, with byte enables', () => {
    const tb = buildDecoderBench({ config: CFG, dram: true, dramLatency: 2 });
    const hpa = BASE + 6 * 4096;
    tb.table.stageOverrideLocal(hpa, 0x40_0000, tb.sim.cycle);
    tb.sim.step(1);
    const full = bytes(7);
    const part = bytes(8);
    tb.host.queue.push(
      { hostTag: 1, vm: 0, op: Op.Write, addr: hpa + 128, data: full },
      { hostTag: 2, vm: 0, op: Op.WritePartial, addr: hpa + 128, beLo: 0, beHi: 0x0000_000f, data: part },
      { hostTag: 3, vm: 0, op: Op.Read, addr: hpa + 128 },
    );
    withWaves('decode_local_override', tb.sim, () => tb.drain(3));
    expect(tb.fabric.seen).toHaveLength(0);
    expect(tb.dram!.seen.map((m) => m.pa)).toEqual([0x40_0080, 0x40_0080, 0x40_0080]);
    const want = full.slice();
    for (let k = 32; k < 36; k++) want[k] = part[k]!;
    const rd = tb.host.answers.find((a) => a.hostTag === 3)!;
    expect([rd.status, rd.route]).toEqual([HostStatus.Ok, HostRoute.Local]);
    expect(rd.data).toEqual(want);
    expect(tb.dec.localHits).toBe(3);
  });
});

describe('RequestDecoder: back-pressure loses nothing', () => {
  it('a 2-tag pool holds back 12 reads: never more than 2 outstanding, all answered once with the right data', () => {
    const tb = buildDecoderBench({ config: CFG, tagPoolSize: 2, remoteLatency: 20 });
    for (let i = 0; i < 12; i++) tb.host.queue.push({ hostTag: i, vm: 0, op: Op.Read, addr: BASE + i * 4096 });
    let maxOut = 0;
    withWaves('decode_tag_backpressure', tb.sim, () => {
      tb.sim.runUntil(() => {
        maxOut = Math.max(maxOut, tb.dec.outstandingCount);
        return tb.host.answers.length >= 12;
      }, 2000);
    });
    expect(maxOut).toBe(2);
    expect(tb.dec.tagStalls).toBeGreaterThan(0);
    expect(tb.host.blockedCycles).toBeGreaterThan(0);
    expect(tb.host.answers.map((a) => a.hostTag).sort((a, b) => a - b)).toEqual([...Array(12).keys()]);
    for (const a of tb.host.answers) {
      const i = a.hostTag;
      const node = i % 2 === 0 ? 1 : 2;
      const dpa = Math.floor(i / 2) * 4096;
      expect(a.data[5]).toBe(initialByte(node, dpa, 5));
    }
  });

  it('a full packer queue stops issue until it drains; nothing is lost', () => {
    const tb = buildDecoderBench({ config: CFG, fabricDepth: 2 });
    tb.fabric.accepting = false;
    for (let i = 0; i < 8; i++) tb.host.queue.push({ hostTag: i, vm: 0, op: Op.Read, addr: BASE + i * 64 });
    tb.sim.step(30);
    expect(tb.fabric.m2sReq.occupancy).toBe(2);
    expect(tb.dec.queueStalls).toBeGreaterThan(0);
    expect(tb.host.answers).toHaveLength(0);
    tb.fabric.accepting = true;
    tb.drain(8);
    expect(tb.host.answers.map((a) => a.hostTag)).toEqual([...Array(8).keys()]);
  });
});

describe('RequestDecoder: page overrides flip at a cycle boundary, whatever the evaluation order', () => {
  it('a request issued in the staging cycle goes remote, one issued the cycle after goes local', () => {
    const outcomes: string[] = [];
    for (const seed of [undefined, 1, 2, 3, 4]) {
      const tb = buildDecoderBench({ config: CFG, lookupLatencyCycles: 1, dram: true, ...(seed !== undefined ? { evalOrderSeed: seed } : {}) });
      const hpa = BASE + 8 * 4096;
      // Two reads of the page pushed in cycles 0 and 1 leave the lookup stage in cycles 2 and 3.
      tb.host.queue.push({ hostTag: 1, vm: 0, op: Op.Read, addr: hpa }, { hostTag: 2, vm: 0, op: Op.Read, addr: hpa + 64 });
      tb.stager.plan.push({ cycle: 2, hpa, local: true, node: 0, pa: 0x20_0000 });
      const run = () => tb.drain(2);
      if (seed === undefined) withWaves('decode_override_flip', tb.sim, run);
      else run();
      const routes = tb.host.answers.map((a) => `${a.hostTag}:${a.route}`).join(',');
      expect(tb.fabric.seen.map((m) => m.addr)).toEqual([4 * 4096]);
      expect(tb.dram!.seen.map((m) => m.pa)).toEqual([0x20_0000 + 64]);
      outcomes.push(`${routes}|${tb.host.answers.map((a) => a.cycle).join(',')}`);
    }
    expect(new Set(outcomes).size).toBe(1);
    expect(outcomes[0]).toMatch(/^1:1,2:0\|/);
  });
});

describe('RequestDecoder: isolation', () => {
  interface Case {
    set: LegalSet;
    grants: { readers: number[]; writers: number[] }[];
    cmds: { vm: number; write: boolean; pick: number; off: number; outside: boolean }[];
  }
  const caseArb: fc.Arbitrary<Case> = legalSetArb
    .filter((s) => s.ref.some((r) => r.size > 0n) && s.decoders.length <= 4)
    .chain((set) =>
      fc.record({
        set: fc.constant(set),
        grants: fc.array(fc.record({ readers: fc.subarray([0, 1, 2, 3]), writers: fc.subarray([0, 1, 2, 3]) }), { minLength: set.decoders.length, maxLength: set.decoders.length }),
        cmds: fc.array(
          fc.record({ vm: fc.integer({ min: 0, max: 3 }), write: fc.boolean(), pick: fc.nat(), off: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), outside: fc.boolean() }),
          { minLength: 1, maxLength: 25 },
        ),
      }),
    );

  function run(c: Case, trace?: string) {
    const decoders: DecoderConfig[] = c.set.decoders.map((d, i) => ({ ...d, readers: c.grants[i]!.readers, writers: c.grants[i]!.writers }));
    // The requester is node 300, above every table target (0..255): every hit goes over the fabric.
    const ref = c.set.ref;
    const tb = buildDecoderBench({ config: { decoders }, nodeId: 300, tagPoolSize: 4, remoteLatency: 2 });
    const last = c.set.ref[c.set.ref.length - 1]!;
    const end = Number(last.base + last.size);
    const cmds: (HostCmd & { expect: { granted: boolean; dpid: number; dpa: number } })[] = c.cmds.map((k, i) => {
      const live = c.set.ref.filter((r) => r.size > 0n);
      const r = live[k.pick % live.length]!;
      const inside = Number(r.base) + Math.floor(k.off * Number(r.size) / 64) * 64;
      const addr = k.outside ? end + Math.floor(k.off * 4 * GiB / 64) * 64 : inside;
      const hit = refDecode(ref, BigInt(addr));
      const g = hit ? decoders[hit.index]! : null;
      const granted = hit !== null && (k.write ? g!.writers! : g!.readers!).includes(k.vm);
      return { hostTag: i, vm: k.vm, op: k.write ? Op.Write : Op.Read, addr, data: bytes(i), expect: { granted, dpid: hit?.target ?? -1, dpa: hit ? Number(hit.dpa) : -1 } };
    });
    tb.host.queue.push(...cmds);
    const body = () => tb.drain(cmds.length, 5000);
    if (trace) {
      const w = traceTo(trace, tb.sim);
      try {
        body();
      } finally {
        w.close();
      }
    } else body();
    return { tb, cmds };
  }

  it('requests outside their VM grants never produce an M2S message and get the error answer', () => {
    checkProperty(
      'decode.decoder.isolation',
      fc.property(caseArb, (c) => {
        const { tb, cmds } = run(c);
        const granted = cmds.filter((k) => k.expect.granted);
        // Exactly the granted requests reach the fabric, in order, at the reference's node and DPA.
        expect(tb.fabric.seen.map((m) => `${m.dpid}:${m.addr}`)).toEqual(granted.map((k) => `${k.expect.dpid}:${k.expect.dpa}`));
        const byTag = new Map(tb.host.answers.map((a) => [a.hostTag, a]));
        expect(byTag.size).toBe(cmds.length);
        for (const k of cmds) {
          const a = byTag.get(k.hostTag)!;
          if (k.expect.granted) expect(a.status).toBe(HostStatus.Ok);
          else {
            expect([a.status, a.route, a.poison]).toEqual([HostStatus.Nxm, HostRoute.Error, k.op === Op.Read ? 1 : 0]);
            if (k.op === Op.Read) expect(a.data.every((b) => b === 0xff)).toBe(true);
          }
        }
        // Data: replay the granted commands in order against a golden memory of the target nodes.
        const golden = new Map<string, Uint8Array>();
        for (const k of granted) {
          const key = `${k.expect.dpid}:${k.expect.dpa}`;
          if (k.op === Op.Write) golden.set(key, k.data!);
          else {
            const want = golden.get(key) ?? Uint8Array.from({ length: LINE_BYTES }, (_, i) => initialByte(k.expect.dpid, k.expect.dpa, i));
            expect(byTag.get(k.hostTag)!.data).toEqual(want);
          }
        }
        expect(tb.dec.hits).toBe(granted.length);
        expect(tb.dec.misses + tb.dec.refused).toBe(cmds.length - granted.length);
      }),
      { numRuns: 60, rerunTraced: ([c], base) => void run(c, base) },
    );
  });

});
