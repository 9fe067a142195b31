import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Simulator, nsToCycles } from '../../src/sim/index.ts';
import { LINE_BYTES, M2SReqOp, M2SRwDOp, MetaField, S2MDRSOp, S2MNDROp } from '../../rtl/cxl/opcodes.ts';
import { DDR5_4800, type DramParams } from '../../rtl/memory/DramParams.ts';
import { DramSubsystem } from '../../rtl/memory/DramSubsystem.ts';
import { ExportPerm, ExportTable, type ExportEntry } from '../../rtl/memory/ExportTable.ts';
import { REMOTE_MEMORY_CONTROLLER_DEFAULTS, RemoteMemoryController, type RemoteMemoryControllerParams } from '../../rtl/memory/RemoteMemoryController.ts';
import { checkProperty } from '../lib/pbt.ts';
import { traceTo, withWaves } from '../lib/waves.ts';
import { BE_ALL, ByteMapMemory, hex, LinkStub, pattern, popMemMsg, pushMemMsg, Top, type MemMsg } from './harness.ts';

const NODE = 2;
const REQUESTER = 1;
const OTHER = 3;
const MiB = 2 ** 20;

interface Bench {
  sim: Simulator;
  link: LinkStub;
  mem: DramSubsystem;
  ctrl: RemoteMemoryController;
}

function build(
  opts: { ctrl?: Partial<RemoteMemoryControllerParams>; dram?: Partial<DramParams>; exports?: ExportEntry[]; linkDepth?: number; evalOrderSeed?: number; randomInitSeed?: number } = {},
): Bench {
  const top = new Top(1);
  const dram = { ...DDR5_4800, ...opts.dram };
  const link = new LinkStub(top, 'link', opts.linkDepth ?? 8);
  const mem = new DramSubsystem(top, 'mem', { dram, arbiter: { ports: 3, portDepth: 2, rspDepth: 4 } });
  const table = new ExportTable(16, dram.capacityBytes, 'top.rmc.exports');
  for (const e of opts.exports ?? [{ spid: REQUESTER, base: 0, size: 16 * MiB, perm: ExportPerm.ReadWrite }]) table.add(e);
  const ctrl = new RemoteMemoryController(
    top,
    'rmc',
    { ...REMOTE_MEMORY_CONTROLLER_DEFAULTS, nodeId: NODE, localBytes: dram.capacityBytes, ...opts.ctrl },
    { m2sReq: link.m2sReq, m2sRwd: link.m2sRwd, s2mNdr: link.s2mNdr, s2mDrs: link.s2mDrs, dram: mem.port(1) },
    table,
  );
  const simOpts = { ...(opts.evalOrderSeed !== undefined ? { evalOrderSeed: opts.evalOrderSeed } : {}), ...(opts.randomInitSeed !== undefined ? { randomInitSeed: opts.randomInitSeed } : {}) };
  return { sim: new Simulator(top, simOpts), link, mem, ctrl };
}

interface Answers {
  ndr: MemMsg[];
  drs: MemMsg[];
}

/** Step `n` cycles, popping every answer as it becomes visible. */
function collect(b: Bench, n: number, into: Answers = { ndr: [], drs: [] }): Answers {
  for (let i = 0; i < n; i++) {
    while (b.link.s2mNdr.valid()) into.ndr.push(popMemMsg(b.link.s2mNdr, b.sim.cycle));
    while (b.link.s2mDrs.valid()) into.drs.push(popMemMsg(b.link.s2mDrs, b.sim.cycle));
    b.sim.step();
  }
  return into;
}

/** Push one message at the current cycle and return it with the cycles until its only answer is visible. */
function single(b: Bench, ch: 'req' | 'rwd', m: Parameters<typeof pushMemMsg>[1]): { cycles: number; a: MemMsg; kind: 'ndr' | 'drs' } {
  const t0 = b.sim.cycle;
  pushMemMsg(ch === 'req' ? b.link.m2sReq : b.link.m2sRwd, m);
  const got = collect(b, 400);
  const all = [...got.ndr.map((a) => ({ a, kind: 'ndr' as const })), ...got.drs.map((a) => ({ a, kind: 'drs' as const }))];
  if (all.length !== 1) throw new Error(`expected exactly one answer, got ${all.length}`);
  return { cycles: all[0]!.a.cycle - t0, ...all[0]! };
}

const clk = { clockGHz: 1 };
const P = nsToCycles(REMOTE_MEMORY_CONTROLLER_DEFAULTS.pipelineNs, clk);
const tRCD = nsToCycles(DDR5_4800.tRCDns, clk);
const tCL = nsToCycles(DDR5_4800.tCLns, clk);
const tCWL = nsToCycles(DDR5_4800.tCWLns, clk);
const tBurst = nsToCycles(64 / 38.4, clk);
/** Registered channels on the DRAM path: m2s rx, ctrl→arb, arb→dram, dram→arb, arb→ctrl, s2m tx. */
const HOPS_DRAM = 6;
/** Registered channels of an answer that needs no DRAM: m2s rx, s2m tx. */
const HOPS_LOCAL = 2;

describe('RemoteMemoryController: answers per opcode (Type-3 HDM-H)', () => {
  it('MemRd / MemRdData → one DRS MemData with the line; fields echoed', () => {
    const b = build();
    b.mem.memory.poke(4096, pattern(4));
    withWaves('memory_rmc_opcodes', b.sim, () => {
      for (const op of [M2SReqOp.MemRd, M2SReqOp.MemRdData]) {
        const r = single(b, 'req', { opcode: op, tag: 0xbeef, addr: 4096, ldId: 5, spid: REQUESTER });
        expect(r.kind).toBe('drs');
        expect(r.a.opcode).toBe(S2MDRSOp.MemData);
        expect(hex(r.a.data)).toBe(hex(pattern(4)));
        expect([r.a.tag, r.a.ldId, r.a.metaField, r.a.metaValue, r.a.poison, r.a.spid, r.a.dpid]).toEqual([0xbeef, 5, MetaField.NoOp, 0, 0, NODE, REQUESTER]);
      }
      // MemWr → one NDR Cmp, line written
      const w = single(b, 'rwd', { opcode: M2SRwDOp.MemWr, tag: 17, addr: 8192, ldId: 3, spid: REQUESTER, data: pattern(8) });
      expect([w.kind, w.a.opcode, w.a.tag, w.a.ldId, w.a.metaField, w.a.dpid, w.a.spid]).toEqual(['ndr', S2MNDROp.Cmp, 17, 3, MetaField.NoOp, REQUESTER, NODE]);
      expect(hex(b.mem.memory.peek(8192, 64))).toBe(hex(pattern(8)));
      // MemWrPtl → only enabled bytes change
      const ptl = new Uint8Array(64).fill(0xee);
      const p = single(b, 'rwd', { opcode: M2SRwDOp.MemWrPtl, tag: 18, addr: 8192, spid: REQUESTER, data: ptl, beLo: 0b101, beHi: 0x80000000 });
      expect([p.kind, p.a.opcode]).toEqual(['ndr', S2MNDROp.Cmp]);
      const want = pattern(8);
      want[0] = 0xee;
      want[2] = 0xee;
      want[63] = 0xee;
      expect(hex(b.mem.memory.peek(8192, 64))).toBe(hex(want));
      // MemInv / MemInvNT → NDR Cmp, memory untouched
      for (const op of [M2SReqOp.MemInv, M2SReqOp.MemInvNT]) {
        const i = single(b, 'req', { opcode: op, tag: 40 + op, addr: 8192, spid: REQUESTER });
        expect([i.kind, i.a.opcode, i.a.tag]).toEqual(['ndr', S2MNDROp.Cmp, 40 + op]);
      }
      expect(hex(b.mem.memory.peek(8192, 64))).toBe(hex(want));
      // MemSpecRd → nothing at all
      const reads = b.mem.dram.reads;
      pushMemMsg(b.link.m2sReq, { opcode: M2SReqOp.MemSpecRd, tag: 99, addr: 4096, spid: REQUESTER });
      const none = collect(b, 300);
      expect(none.ndr.length + none.drs.length).toBe(0);
      expect(b.ctrl.specReads).toBe(1);
      expect(b.mem.dram.reads).toBe(reads);
    });
    expect([b.ctrl.reads, b.ctrl.writes, b.ctrl.nxm, b.ctrl.invalidates]).toEqual([2, 2, 0, 2]);
  });

  it('read outside every export → MemData-NXM, all ones, Poison per poisonOnDecodeError, no DRAM access', () => {
    for (const poisonOn of [true, false]) {
      const b = build({ ctrl: { poisonOnDecodeError: poisonOn } });
      b.mem.memory.poke(32 * MiB, pattern(1));
      const r = single(b, 'req', { opcode: M2SReqOp.MemRd, tag: 7, addr: 32 * MiB, ldId: 2, spid: REQUESTER });
      expect([r.kind, r.a.opcode, r.a.poison, r.a.tag, r.a.ldId, r.a.dpid]).toEqual(['drs', S2MDRSOp.MemDataNXM, poisonOn ? 1 : 0, 7, 2, REQUESTER]);
      expect(hex(r.a.data)).toBe('ff'.repeat(64));
      expect(b.mem.dram.reads).toBe(0);
      expect([b.ctrl.nxm, b.ctrl.unclaimed, b.ctrl.refused]).toEqual([1, 1, 0]);
    }
  });

  it('refused: another node\'s range, or a read-only range written → error answer, DRAM untouched', () => {
    const b = build({
      exports: [
        { spid: OTHER, base: 0, size: MiB, perm: ExportPerm.ReadWrite },
        { spid: REQUESTER, base: MiB, size: MiB, perm: ExportPerm.Read },
      ],
    });
    b.mem.memory.poke(0, pattern(1));
    b.mem.memory.poke(MiB, pattern(2));
    const r = single(b, 'req', { opcode: M2SReqOp.MemRd, tag: 1, addr: 0, spid: REQUESTER });
    expect([r.a.opcode, hex(r.a.data)]).toEqual([S2MDRSOp.MemDataNXM, 'ff'.repeat(64)]);
    const w = single(b, 'rwd', { opcode: M2SRwDOp.MemWr, tag: 2, addr: MiB, spid: REQUESTER, data: pattern(9) });
    expect([w.kind, w.a.opcode, w.a.tag]).toEqual(['ndr', S2MNDROp.Cmp, 2]);
    const ok = single(b, 'req', { opcode: M2SReqOp.MemRd, tag: 3, addr: MiB, spid: REQUESTER });
    expect([ok.a.opcode, hex(ok.a.data)]).toEqual([S2MDRSOp.MemData, hex(pattern(2))]);
    expect(hex(b.mem.memory.peek(0, 64))).toBe(hex(pattern(1)));
    expect(hex(b.mem.memory.peek(MiB, 64))).toBe(hex(pattern(2)));
    expect(b.mem.dram.writes).toBe(0);
    expect([b.ctrl.refused, b.ctrl.droppedWrites, b.ctrl.nxm]).toEqual([2, 1, 1]);
  });

  it('rejects an opcode an HDM-H device never receives, naming module, cycle and opcode', () => {
    const b = build();
    pushMemMsg(b.link.m2sReq, { opcode: M2SReqOp.MemRdFwd, tag: 1, addr: 0, spid: REQUESTER });
    b.sim.step();
    expect(() => b.sim.step()).toThrow(/cycle 1: top\.rmc: M2S Req opcode 3/);
  });
});

describe('RemoteMemoryController: idle latency = sum of named stages', () => {
  it('MemRd to a closed bank: rx + pipeline + arbiter/DRAM hops + tRCD + tCL + burst = 80 ns (spec pin target)', () => {
    const b = build();
    const r = single(b, 'req', { opcode: M2SReqOp.MemRd, tag: 1, addr: 0, spid: REQUESTER });
    expect(r.cycles).toBe(HOPS_DRAM + P + tRCD + tCL + tBurst);
    // reference/cxl-protocol.md §7.2: MemRd → MemData 80 ns at the device pins (1 GHz: 1 cycle = 1 ns)
    expect(r.cycles).toBe(80);
    // the same line again: row hit, tRCD cheaper
    b.sim.step(10);
    const h = single(b, 'req', { opcode: M2SReqOp.MemRd, tag: 2, addr: 64, spid: REQUESTER });
    expect(h.cycles).toBe(HOPS_DRAM + P + tCL + tBurst);
  });

  it('MemWr to a closed bank: Cmp after the DRAM write (non-posted)', () => {
    const b = build();
    const w = single(b, 'rwd', { opcode: M2SRwDOp.MemWr, tag: 1, addr: 0, spid: REQUESTER, data: pattern(1) });
    expect(w.cycles).toBe(HOPS_DRAM + P + tRCD + tCWL + tBurst);
  });

  it('answers that need no DRAM: rx + pipeline + tx', () => {
    const b = build({ ctrl: { pipelineNs: 12.5 } });
    const p = nsToCycles(12.5, clk);
    expect(p).toBe(13);
    expect(single(b, 'req', { opcode: M2SReqOp.MemRd, tag: 1, addr: 64 * MiB, spid: REQUESTER }).cycles).toBe(HOPS_LOCAL + p);
    expect(single(b, 'req', { opcode: M2SReqOp.MemInv, tag: 2, addr: 0, spid: REQUESTER }).cycles).toBe(HOPS_LOCAL + p);
    expect(single(b, 'rwd', { opcode: M2SRwDOp.MemWr, tag: 3, addr: 64 * MiB, spid: REQUESTER }).cycles).toBe(HOPS_LOCAL + p);
  });
});

describe('RemoteMemoryController: bounded queue, credits, DevLoad', () => {
  it('with one entry and both link channels flooded, reads and writes alternate (neither starves)', () => {
    const b = build({ ctrl: { queueDepth: 1 }, linkDepth: 4 });
    let nReq = 0;
    let nRwd = 0;
    const got: Answers = { ndr: [], drs: [] };
    for (let c = 0; c < 3000; c++) {
      while (b.link.m2sReq.canPush()) pushMemMsg(b.link.m2sReq, { opcode: M2SReqOp.MemRd, tag: nReq++, addr: 0, spid: REQUESTER });
      while (b.link.m2sRwd.canPush()) pushMemMsg(b.link.m2sRwd, { opcode: M2SRwDOp.MemWr, tag: 1000 + nRwd++, addr: 64, spid: REQUESTER, data: pattern(1) });
      collect(b, 1, got);
    }
    expect(got.drs.length).toBeGreaterThan(20);
    expect(Math.abs(got.drs.length - got.ndr.length)).toBeLessThanOrEqual(1);
  });

  it('takes messages off the link only when an entry is free; counts queue-full stalls', () => {
    const Q = 2;
    const b = build({ ctrl: { queueDepth: Q } });
    for (let i = 0; i < 8; i++) pushMemMsg(b.link.m2sReq, { opcode: M2SReqOp.MemRd, tag: i, addr: i * 64 * 129, spid: REQUESTER });
    let popped = 0;
    let maxOcc = 0;
    const got: Answers = { ndr: [], drs: [] };
    withWaves(
      'memory_rmc_backpressure',
      b.sim,
      () => {
        for (let c = 0; c < 600; c++) {
          collect(b, 1, got);
          popped += b.link.m2sReq.lastPopped;
          maxOcc = Math.max(maxOcc, b.ctrl.queueOccupancy);
          // every message left the rx channel only into a free entry: taken = answered + in the tx channel + held
          expect(popped).toBe(got.drs.length + b.link.s2mDrs.occupancy + b.ctrl.queueOccupancy);
        }
      },
      { trace: ['top.link.*', 'top.rmc.*', 'top.mem.dram.queueOccupancy'] },
    );
    expect(maxOcc).toBe(Q);
    expect(got.drs.map((a) => a.tag).sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(b.ctrl.queueFullStalls).toBeGreaterThan(0);
  });

  it('DevLoad in each answer = the level of the queue occupancy in the cycle it was sent', () => {
    // The test's own reading of the documented thresholds: <25 % light, <60 % optimal, <90 % moderate, else severe.
    const level = (occ: number, q: number): number => (occ / q < 0.25 ? 0 : occ / q < 0.6 ? 1 : occ / q < 0.9 ? 2 : 3);
    const Q = 10;
    const b = build({ ctrl: { queueDepth: Q, pipelineNs: 1 }, linkDepth: 16 });
    // 14 reads in one bank, different rows: they drain slowly, so the queue fills up and empties.
    for (let i = 0; i < 14; i++) pushMemMsg(b.link.m2sReq, { opcode: M2SReqOp.MemRd, tag: i, addr: i * 8192 * 32, spid: REQUESTER });
    const seen = new Set<number>();
    let answers = 0;
    for (let c = 0; c < 2000 && answers < 14; c++) {
      const occ = b.ctrl.queueOccupancy; // what the controller sees at the start of this cycle
      b.sim.step();
      while (b.link.s2mDrs.valid()) {
        const a = popMemMsg(b.link.s2mDrs, b.sim.cycle);
        expect(a.devLoad).toBe(level(occ, Q));
        seen.add(a.devLoad);
        answers++;
      }
    }
    expect(answers).toBe(14);
    expect([...seen].sort()).toEqual([0, 1, 2, 3]);
  });
});

// ---- isolation property -------------------------------------------------------------------------

interface Msg {
  kind: 'rd' | 'rddata' | 'wr' | 'ptl' | 'inv' | 'spec';
  spid: number;
  line: number;
  data: Uint8Array;
  beLo: number;
  beHi: number;
  gap: number;
}

/** Lines the property uses: inside and around the exported ranges below. */
const LINES = [0, 64, MiB - 64, MiB, MiB + 64, 2 * MiB - 64, 2 * MiB, 3 * MiB, 3 * MiB + 8192, 5 * MiB];
const EXPORTS: ExportEntry[] = [
  { spid: REQUESTER, base: 0, size: MiB, perm: ExportPerm.ReadWrite },
  { spid: REQUESTER, base: MiB, size: MiB, perm: ExportPerm.Read },
  { spid: OTHER, base: MiB, size: MiB, perm: ExportPerm.Write },
  { spid: OTHER, base: 3 * MiB, size: 64, perm: ExportPerm.ReadWrite },
];
/** The test's own export check: is this (spid, addr) granted this permission by any entry? */
function allowed(spid: number, addr: number, write: boolean): boolean {
  return EXPORTS.some((e) => e.spid === spid && addr >= e.base && addr < e.base + e.size && (e.perm & (write ? 2 : 1)) !== 0);
}

/** null if the run matched the reference; else the first difference. */
function runIsolation(msgs: Msg[], queueDepth: number, trace?: string): string | null {
  const b = build({ ctrl: { queueDepth }, exports: EXPORTS, linkDepth: 4 });
  const w = trace ? traceTo(trace, b.sim) : null;
  try {
    // Preload every line, then keep a shadow copy: the reference memory.
    const ref = new ByteMapMemory();
    LINES.forEach((a, i) => {
      b.mem.memory.poke(a, pattern(i, 3));
      ref.poke(a, pattern(i, 3));
    });
    const expectRead = new Map<number, string>();
    const answered = new Set<number>();
    let next = 0;
    let wait = msgs[0]?.gap ?? 0;
    const needAnswer = msgs.filter((m) => m.kind !== 'spec').length;
    for (let c = 0; answered.size < needAnswer || c < 50; c++) {
      if (c > 300 * msgs.length + 600) return `${answered.size}/${needAnswer} answers`;
      // One message per cycle, and never into one channel while the other still holds one: the
      // controller then receives them in exactly the order the reference applies them.
      if (next < msgs.length && wait-- <= 0) {
        const m = msgs[next]!;
        const isRwd = m.kind === 'wr' || m.kind === 'ptl';
        const ch = isRwd ? b.link.m2sRwd : b.link.m2sReq;
        const other = isRwd ? b.link.m2sReq : b.link.m2sRwd;
        if (ch.canPush() && other.occupancy === 0) {
          const addr = LINES[m.line]!;
          const opcode = { rd: M2SReqOp.MemRd, rddata: M2SReqOp.MemRdData, inv: M2SReqOp.MemInv, spec: M2SReqOp.MemSpecRd, wr: M2SRwDOp.MemWr, ptl: M2SRwDOp.MemWrPtl }[m.kind];
          const beLo = m.kind === 'ptl' ? m.beLo : 0;
          const beHi = m.kind === 'ptl' ? m.beHi : 0;
          pushMemMsg(ch, { opcode, tag: next, addr, spid: m.spid, ldId: next % 16, data: m.data, beLo, beHi });
          if (isRwd && allowed(m.spid, addr, true)) ref.write(addr, m.data, m.kind === 'wr' ? BE_ALL : beLo, m.kind === 'wr' ? BE_ALL : beHi);
          if (m.kind === 'rd' || m.kind === 'rddata') expectRead.set(next, allowed(m.spid, addr, false) ? hex(ref.read(addr, 64)) : 'nxm');
          next++;
          wait = msgs[next]?.gap ?? 0;
        }
      }
      for (const [ch, isDrs] of [
        [b.link.s2mNdr, false],
        [b.link.s2mDrs, true],
      ] as const) {
        while (ch.valid()) {
          const a = popMemMsg(ch, b.sim.cycle);
          const m = msgs[a.tag];
          if (!m || answered.has(a.tag)) return `unexpected or duplicate answer tag ${a.tag}`;
          answered.add(a.tag);
          if (a.dpid !== m.spid || a.ldId !== a.tag % 16 || a.spid !== NODE || a.metaField !== MetaField.NoOp) return `tag ${a.tag}: header fields not echoed`;
          const isRead = m.kind === 'rd' || m.kind === 'rddata';
          if (m.kind === 'spec') return `MemSpecRd tag ${a.tag} was answered`;
          if (isRead !== isDrs) return `tag ${a.tag} (${m.kind}) answered on the wrong channel`;
          if (!isRead && a.opcode !== S2MNDROp.Cmp) return `tag ${a.tag}: NDR opcode ${a.opcode}`;
          if (isRead) {
            const want = expectRead.get(a.tag)!;
            if (want === 'nxm') {
              if (a.opcode !== S2MDRSOp.MemDataNXM || a.poison !== 1 || hex(a.data) !== 'ff'.repeat(64)) return `tag ${a.tag}: refused read not answered NXM/poison/all-ones`;
            } else if (a.opcode !== S2MDRSOp.MemData || a.poison !== 0 || hex(a.data) !== want) return `tag ${a.tag}: read data differs from the reference`;
          }
        }
      }
      b.sim.step();
    }
    // Isolation: every byte the requests could reach equals the shadow copy (only granted writes applied).
    for (const a of LINES) if (hex(b.mem.memory.peek(a, 64)) !== hex(ref.read(a, 64))) return `line ${a} differs from the reference`;
    if (b.mem.memory.pagesAllocated !== ref.pages().size) return `pages ${b.mem.memory.pagesAllocated} vs reference ${ref.pages().size}`;
    return null;
  } finally {
    w?.close();
  }
}

describe('RemoteMemoryController: isolation', () => {
  const msgArb = fc.record({
    kind: fc.constantFrom('rd', 'rddata', 'wr', 'ptl', 'inv', 'spec', 'rd', 'wr') as fc.Arbitrary<Msg['kind']>,
    spid: fc.constantFrom(REQUESTER, OTHER, 7),
    line: fc.integer({ min: 0, max: LINES.length - 1 }),
    data: fc.uint8Array({ minLength: LINE_BYTES, maxLength: LINE_BYTES }),
    beLo: fc.integer({ min: 0, max: BE_ALL }),
    beHi: fc.integer({ min: 0, max: BE_ALL }),
    gap: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 30 })),
  });

  it('property: outside the exports nothing changes and the error answer comes back; inside, reads see the latest write', () => {
    checkProperty(
      'memory_rmc_isolation',
      fc.property(fc.array(msgArb, { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 6 }), (msgs, q) => runIsolation(msgs, q) === null),
      {
        numRuns: 60,
        rerunTraced: ([msgs, q], base) => {
          const why = runIsolation(msgs, q, base);
          if (why) throw new Error(why);
        },
      },
    );
  });
});

describe('RemoteMemoryController: scale', () => {
  it('1 TiB of DRAM exported: accesses across the whole range work; pages follow what was written', () => {
    const TiB = 2 ** 40;
    const b = build({ dram: { capacityBytes: TiB }, exports: [{ spid: REQUESTER, base: 0, size: TiB, perm: ExportPerm.ReadWrite }] });
    const addrs = [0, TiB / 4 + 4096, TiB / 2, TiB - 64, 777 * 4096 * 1024];
    addrs.forEach((a, i) => expect(single(b, 'rwd', { opcode: M2SRwDOp.MemWr, tag: i, addr: a, spid: REQUESTER, data: pattern(i) }).a.opcode).toBe(S2MNDROp.Cmp));
    addrs.forEach((a, i) => expect(hex(single(b, 'req', { opcode: M2SReqOp.MemRd, tag: i, addr: a, spid: REQUESTER }).a.data)).toBe(hex(pattern(i))));
    // reads of untouched lines allocate nothing
    expect(hex(single(b, 'req', { opcode: M2SReqOp.MemRd, tag: 9, addr: TiB - 2 * 4096, spid: REQUESTER }).a.data)).toBe('00'.repeat(64));
    expect(b.mem.memory.pagesAllocated).toBe(addrs.length);
    // and beyond the DRAM: unclaimed
    expect(single(b, 'req', { opcode: M2SReqOp.MemRd, tag: 10, addr: TiB, spid: REQUESTER }).a.opcode).toBe(S2MDRSOp.MemDataNXM);
  });

  it('an export past the local DRAM is a configuration error naming the entry', () => {
    expect(() => build({ dram: { capacityBytes: 2 ** 30 }, exports: [{ spid: 1, base: 2 ** 30 - 64, size: 128, perm: ExportPerm.Read }] })).toThrow(/top\.rmc\.exports\[0\]: range .* runs past the local memory/);
  });
});

describe('RemoteMemoryController: determinism', () => {
  /** Cycle-stamped log of every answer to a fixed mixed workload with a small queue. */
  function answerLog(opts: { evalOrderSeed?: number; randomInitSeed?: number }): string {
    const b = build({ ctrl: { queueDepth: 3 }, exports: EXPORTS, linkDepth: 4, ...opts });
    const log: string[] = [];
    let n = 0;
    for (let c = 0; c < 20000 && log.length < 200; c++) {
      if (n < 200 && c % 2 === 0) {
        const isWrite = n % 3 === 0;
        const ch = isWrite ? b.link.m2sRwd : b.link.m2sReq;
        if (ch.canPush()) {
          pushMemMsg(ch, { opcode: isWrite ? M2SRwDOp.MemWr : M2SReqOp.MemRd, tag: n, addr: LINES[n % LINES.length]!, spid: n % 5 === 0 ? OTHER : REQUESTER, data: pattern(n) });
          n++;
        }
      }
      for (const ch of [b.link.s2mNdr, b.link.s2mDrs]) {
        while (ch.valid()) {
          const a = popMemMsg(ch, b.sim.cycle);
          log.push(`${a.cycle} ${a.opcode} ${a.tag} ${a.devLoad} ${a.poison} ${hex(a.data)}`);
        }
      }
      b.sim.step();
    }
    if (log.length !== 200) throw new Error(`${log.length} answers to 200 requests`);
    return log.join('\n');
  }

  it('answers are cycle-identical under shuffled evaluation order and random initial register values', () => {
    const base = answerLog({});
    for (const seed of [1, 2, 3]) expect(answerLog({ evalOrderSeed: seed })).toBe(base);
    expect(answerLog({ randomInitSeed: 99 })).toBe(base);
  });
});
