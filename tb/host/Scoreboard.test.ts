import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HostOp, HostRoute, HostStatus } from '../../rtl/host/HostMsg.ts';
import { VcpuCommand } from '../../rtl/host/VcpuCommand.ts';
import { VcpuProgram, type ProgramStep } from '../../rtl/host/VcpuProgram.ts';
import type { VcpuPort } from '../../rtl/host/VcpuPort.ts';
import { GoldenMemory } from '../../src/check/GoldenMemory.ts';
import { checkProperty } from '../lib/pbt.ts';
import { Scoreboard } from '../../src/check/Scoreboard.ts';
import { buildNode, DEV_BASE, type StandInParams } from './standins.ts';

const line = (v: number): Uint8Array => new Uint8Array(64).fill(v);
const ALL = 0xffffffff;

describe('GoldenMemory: ordering rules', () => {
  it('one writer: a read after a completed write must return exactly that write', () => {
    const g = new GoldenMemory();
    const w = g.writeIssued(0, 0x40, 0, ALL, ALL, line(7));
    g.writeCompleted(w, 10);
    expect(g.checkRead(0, 0x40, 10, 20, line(7))).toBeNull();
    expect(g.checkRead(0, 0x40, 10, 20, line(0))).toMatch(/byte 0: read 0x00, expected 0x07/);
    // A read issued before the write completed may see either.
    expect(g.checkRead(0, 0x40, 5, 12, line(0))).toBeNull();
    expect(g.checkRead(0, 0x40, 5, 12, line(7))).toBeNull();
    // A read answered before the write was issued cannot see it.
    const w2 = g.writeIssued(0, 0x40, 30, ALL, ALL, line(9));
    expect(g.checkRead(0, 0x40, 25, 30, line(9))).toMatch(/expected 0x07/);
    g.writeCompleted(w2, 40);
  });

  it('concurrent writers: any overlapping write may win, a certainly-older one may not', () => {
    const g = new GoldenMemory();
    const a = g.writeIssued(0, 0, 0, ALL, ALL, line(1));
    const b = g.writeIssued(0, 0, 5, ALL, ALL, line(2));
    g.writeCompleted(a, 10);
    g.writeCompleted(b, 15);
    expect(g.checkRead(0, 0, 20, 25, line(1))).toBeNull();
    expect(g.checkRead(0, 0, 20, 25, line(2))).toBeNull();
    expect(g.checkRead(0, 0, 20, 25, line(0))).not.toBeNull(); // the initial value is certainly overwritten
    const c = g.writeIssued(0, 0, 16, ALL, ALL, line(3)); // after both completed: hides both once done
    g.writeCompleted(c, 18);
    expect(g.checkRead(0, 0, 20, 25, line(3))).toBeNull();
    expect(g.checkRead(0, 0, 20, 25, line(1))).toMatch(/expected 0x03/);
  });

  it('partial writes merge byte by byte; a dropped (error-answered) write never counts', () => {
    const g = new GoldenMemory();
    const full = g.writeIssued(0, 0, 0, ALL, ALL, line(0xaa));
    g.writeCompleted(full, 3);
    const p = g.writeIssued(0, 0, 4, 0b11, 1 << 31, line(0x55));
    g.writeCompleted(p, 8);
    const want = line(0xaa);
    want[0] = 0x55;
    want[1] = 0x55;
    want[63] = 0x55;
    expect(g.checkRead(0, 0, 9, 12, want)).toBeNull();
    expect(g.checkRead(0, 0, 9, 12, line(0xaa))).toMatch(/byte 0/);
    const bad = g.writeIssued(0, 0, 13, ALL, ALL, line(0x99));
    g.writeDropped(bad);
    expect(g.checkRead(0, 0, 14, 16, line(0x99))).not.toBeNull();
  });

  it('property: a sequential single-writer history accepts exactly the reference value and rejects any one-byte change', () => {
    const op = fc.record({ addr: fc.nat(3).map((x) => x * 64), write: fc.boolean(), be: fc.tuple(fc.nat(0xffffffff), fc.nat(0xffffffff)), fill: fc.nat(255), flip: fc.nat(63) });
    checkProperty(
      'host_golden_sequential_exact',
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const g = new GoldenMemory();
        const ref = new Map<number, Uint8Array>();
        let t = 0;
        for (const o of ops) {
          const cur = ref.get(o.addr) ?? new Uint8Array(64);
          if (o.write) {
            const data = new Uint8Array(64).map((_, i) => (o.fill + i) & 0xff);
            const w = g.writeIssued(0, o.addr, t, o.be[0], o.be[1], data);
            g.writeCompleted(w, t + 3);
            const next = Uint8Array.from(cur);
            for (let i = 0; i < 64; i++) if ((i < 32 ? (o.be[0] >>> i) & 1 : (o.be[1] >>> (i - 32)) & 1) === 1) next[i] = data[i]!;
            ref.set(o.addr, next);
          } else {
            expect(g.checkRead(0, o.addr, t, t + 3, cur)).toBeNull();
            const wrong = Uint8Array.from(cur);
            wrong[o.flip] ^= 0x80;
            expect(g.checkRead(0, o.addr, t, t + 3, wrong)).not.toBeNull();
          }
          t += 4; // strictly after the previous answer: program order, no overlap
          if (t % 40 === 0) g.prune(t);
        }
        for (const a of [0, 64, 128, 192]) expect(g.historyLength(0, a)).toBeLessThanOrEqual(66);
      }),
      { numRuns: 100 },
    );
  });

  it('property: checkRead accepts a read exactly when every byte is one of candidates() (concurrent writers, partial enables)', () => {
    // checkRead decides membership in loops without building the candidate sets; candidates() is
    // the statement of the ordering rule. Small value and time ranges make overlaps and ties common.
    // Every answer comes at least one cycle after its issue (a port sees its answer a cycle later at
    // the earliest), as the rule assumes: a zero-length write and read at the same cycle would be
    // 'certainly before' the read and yet 'not visible' to it (CI's first run of this property,
    // CXLFAB_SEED=143877475, shrank to exactly that and stopped in candidates()' checker-bug guard).
    const write = fc.record({ issue: fc.nat(20), len: fc.integer({ min: 1, max: 12 }), inFlight: fc.boolean(), be: fc.tuple(fc.nat(0xffffffff), fc.nat(0xffffffff)), value: fc.nat(3) });
    const read = fc.record({ issue: fc.nat(30), len: fc.integer({ min: 1, max: 10 }), bytes: fc.array(fc.nat(3), { minLength: 64, maxLength: 64 }) });
    checkProperty(
      'host_golden_checkread_matches_candidates',
      fc.property(fc.array(write, { maxLength: 8 }), fc.array(read, { minLength: 1, maxLength: 6 }), (writes, reads) => {
        const g = new GoldenMemory(() => new Uint8Array(64).fill(1));
        for (const w of writes) {
          const r = g.writeIssued(0, 0, w.issue, w.be[0], w.be[1], line(w.value));
          if (!w.inFlight) g.writeCompleted(r, w.issue + w.len);
        }
        for (const r of reads) {
          const got = Uint8Array.from(r.bytes);
          const complete = r.issue + r.len;
          let firstBad = -1;
          for (let b = 0; b < 64 && firstBad < 0; b++) if (!g.candidates(0, 0, b, r.issue, complete).has(got[b]!)) firstBad = b;
          const verdict = g.checkRead(0, 0, r.issue, complete, got);
          if (firstBad < 0) expect(verdict).toBeNull();
          else expect(verdict).toMatch(new RegExp(`byte ${firstBad}: `));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('pruning keeps history short without changing the verdicts', () => {
    const g = new GoldenMemory();
    for (let i = 0; i < 200; i++) {
      const w = g.writeIssued(0, 0, i * 2, ALL, ALL, line(i & 0xff));
      g.writeCompleted(w, i * 2 + 1);
      g.prune(i * 2 + 1);
    }
    expect(g.historyLength(0, 0)).toBeLessThanOrEqual(4);
    expect(g.checkRead(0, 0, 400, 402, line(199))).toBeNull();
    expect(g.checkRead(0, 0, 400, 402, line(198))).not.toBeNull();
  });
});

/** A fake port identity for driving the scoreboard's API directly. */
const fakePort = { vm: 0, path: 'top.fake' } as unknown as VcpuPort;

function issue(sb: Scoreboard, seq: number, op: HostOp, addr: number, cycle: number, fill = 0): void {
  const c = new VcpuCommand();
  c.op = op;
  c.vmAddr = addr;
  c.data.fill(fill);
  sb.onIssue(fakePort, seq, c, cycle);
}

describe('Scoreboard catches injected faults (API level)', () => {
  const opts = { expect: (_vm: number, a: number) => (a < 0x1000 ? 'ok' : a < 0x2000 ? 'nxm' : 'fault') as 'ok' | 'nxm' | 'fault', throwOnError: false };

  it('a duplicate answer, a lost answer, a wrong status, a late answer', () => {
    const sb = new Scoreboard({ ...opts, latencyBound: () => 10 });
    issue(sb, 0, HostOp.Read, 0x40, 0);
    sb.onComplete(fakePort, 0, HostOp.Read, 0x40, HostStatus.Ok, 0, HostRoute.Local, 0, 5, line(0), 0);
    expect(sb.errors).toEqual([]);
    sb.onComplete(fakePort, 0, HostOp.Read, 0x40, HostStatus.Ok, 0, HostRoute.Local, 0, 6, line(0), 0);
    expect(sb.errors[0]).toMatch(/#0: answer with no outstanding command \(duplicate/);
    issue(sb, 1, HostOp.Write, 0x80, 10);
    sb.onComplete(fakePort, 1, HostOp.Write, 0x80, HostStatus.Nxm, 0, HostRoute.Error, 10, 30, line(0), 0);
    expect(sb.errors[1]).toMatch(/answered status 1, expected 0/);
    expect(sb.errors[2]).toMatch(/answered after 20 cycles, bound 10/);
    issue(sb, 2, HostOp.Read, 0x40, 40);
    sb.checkTimeouts(45, 10);
    expect(sb.errors.length).toBe(3);
    sb.checkTimeouts(51, 10);
    expect(sb.errors[3]).toMatch(/#2: no answer 11 cycles after issue/);
    sb.finish();
    expect(sb.errors[4]).toMatch(/#2: op 0 VM 0 0x40 issued at 40 was never answered \(lost\)/);
    expect(() => sb.assertClean()).toThrow(/5 error\(s\)/);
  });

  it('isolation: an Nxm read must be poisoned all-ones; a real value is an error; a fault must be a fault', () => {
    const sb = new Scoreboard(opts);
    issue(sb, 0, HostOp.Read, 0x1040, 0);
    sb.onComplete(fakePort, 0, HostOp.Read, 0x1040, HostStatus.Nxm, 1, HostRoute.Error, 0, 4, line(0xff), 0);
    expect(sb.errors).toEqual([]);
    issue(sb, 1, HostOp.Read, 0x1040, 5);
    sb.onComplete(fakePort, 1, HostOp.Read, 0x1040, HostStatus.Nxm, 0, HostRoute.Error, 5, 9, line(0x12), 0);
    expect(sb.errors).toEqual([expect.stringMatching(/Nxm read answer without poison/), expect.stringMatching(/byte 0 is 0x12, must be all ones \(isolation\)/)]);
    issue(sb, 2, HostOp.Read, 0x2000, 10);
    sb.onComplete(fakePort, 2, HostOp.Read, 0x2000, HostStatus.Ok, 0, HostRoute.Local, 10, 12, line(0), 0);
    expect(sb.errors[2]).toMatch(/answered status 0, expected 2 \(fault\)/);
  });

  it('a write to an un-granted address never enters the golden memory', () => {
    const sb = new Scoreboard(opts);
    issue(sb, 0, HostOp.Write, 0x1000, 0, 0x77);
    sb.onComplete(fakePort, 0, HostOp.Write, 0x1000, HostStatus.Nxm, 0, HostRoute.Error, 0, 3, line(0), 0);
    expect(sb.golden.touchedLines()).toEqual([]);
  });
});

function faultyRun(dram: StandInParams, dev: StandInParams, steps: ProgramStep[]) {
  const prog = new VcpuProgram(steps);
  const b = buildNode({
    ports: [{ vm: 0, maxOutstanding: 4, source: prog }],
    mappings: [
      [0, 0, 0x10000, 1],
      [0, 0x1000, DEV_BASE, 1],
    ],
    pageTableLatencyCycles: 1,
    router: { requestLatencyCycles: 1, responseLatencyCycles: 1 },
    dram,
    dev,
  });
  const sb = new Scoreboard({ expect: () => 'ok' }).watch(...b.ports);
  return { b, sb, prog };
}

const WR: ProgramStep[] = [
  { op: HostOp.Write, vmAddr: 0x40, data: [5, 6, 7] },
  { op: HostOp.Read, vmAddr: 0x40 },
  { op: HostOp.Write, vmAddr: 0x1040, data: [8] },
  { op: HostOp.Read, vmAddr: 0x1040 },
];

describe('Scoreboard catches injected faults (in a simulation)', () => {
  it('control: the same program on fault-free stand-ins passes', () => {
    const { b, sb, prog } = faultyRun({ latencyCycles: 3 }, { latencyCycles: 5 }, WR);
    b.sim.runUntil(() => prog.finished, 500);
    sb.finish();
    expect(sb.errors).toEqual([]);
    expect(sb.readsChecked).toBe(2);
  });

  it('a wrong read value stops the run with the byte, the expected value and the cycle', () => {
    const { b, prog } = faultyRun({ latencyCycles: 3, corruptAnswer: 1 }, { latencyCycles: 5 }, WR);
    expect(() => b.sim.runUntil(() => prog.finished, 500)).toThrow(/cycle 12: top\.vcpu0: scoreboard: top\.vcpu0 #1: VM 0 line 0x40 byte 0: read 0x04, expected 0x05 \(read issued 6, answered 12\)/);
  });

  it('a lost answer is reported by finish() (and the port never drains)', () => {
    const { b, sb, prog } = faultyRun({ latencyCycles: 3, dropAnswer: 0 }, { latencyCycles: 5 }, WR);
    expect(() => b.sim.runUntil(() => prog.finished, 300)).toThrow(/condition not reached within 300 cycles/);
    expect(() => sb.finish()).toThrow(/#0: op 1 VM 0 0x40 issued at 0 was never answered \(lost\)/);
  });

  // The duplicate arrives after its tag was reused by the next command, so the port sees an answer
  // that does not match the command its tag now names (or, without reuse, a tag not outstanding).
  it('a duplicate answer from the device is stopped by the vCPU port', () => {
    const { b, prog } = faultyRun({ latencyCycles: 3 }, { latencyCycles: 5, duplicateAnswer: 0 }, WR);
    expect(() => b.sim.runUntil(() => prog.finished, 500)).toThrow(/top\.vcpu0: answer (with host tag \d+, which is not outstanding|for tag \d+ has op \d, the command was op \d)/);
  });

  it('a write that landed in the wrong place is caught by checkBacking', () => {
    const { b, sb, prog } = faultyRun({ latencyCycles: 3 }, { latencyCycles: 5 }, WR);
    b.sim.runUntil(() => prog.finished, 500);
    b.dram.mem.get(0x10040)![2] = 0xbb; // a stray write behind the VM's back
    const errs: string[] = [];
    try {
      sb.checkBacking(b.sim.cycle, (_vm, a) => (a < 0x1000 ? b.dram.mem.get(0x10000 + a)! : b.dev.mem.get(DEV_BASE + a - 0x1000)!));
    } catch (e) {
      errs.push(String(e));
    }
    expect(errs[0]).toMatch(/backing store: VM 0 line 0x40 byte 2: read 0xbb, expected 0x07/);
  });
});
