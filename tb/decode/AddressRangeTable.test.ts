import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AddressRangeTable,
  CTRL_COMMIT,
  CTRL_COMMITTED,
  CTRL_ERROR_NOT_COMMITTED,
  CTRL_LOCK_ON_COMMIT,
  DEC_BASE_HIGH,
  DEC_BASE_LOW,
  DEC_CONTROL,
  DEC_DPA_SKIP_HIGH,
  DEC_DPA_SKIP_LOW,
  DEC_SIZE_HIGH,
  DEC_SIZE_LOW,
  EXT_READ_GRANT_LOW,
  EXT_TARGETS,
  EXT_WRITE_GRANT_LOW,
  GLOBAL_HDM_DECODER_ENABLE,
  LookupResult,
  LookupStatus,
  REG_CAPABILITY,
  REG_GLOBAL_CONTROL,
  TARGET_LOCAL,
  type DecoderConfig,
} from '../../rtl/decode/AddressRangeTable.ts';
import { ConfigError } from '../../src/sim/index.ts';
import { refDecode, refDpaToHpa } from '../lib/hdmReference.ts';
import { checkProperty } from '../lib/pbt.ts';
import { hpaArb, legalSetArb } from './hdmArb.ts';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

function look(t: AddressRangeTable, hpa: number, vm = -1, write = false): LookupResult {
  const r = new LookupResult();
  t.lookup(hpa, vm, write, r);
  return r;
}

/** Program decoder n through the registers only (no config object), without committing. */
function program(t: AddressRangeTable, n: number, f: { base: number; size: number; iw: number; ig: number; targets: number[]; skip?: number; rd?: number; wr?: number; lock?: boolean }): void {
  const R = (r: number) => AddressRangeTable.decoderReg(n, r);
  const X = (r: number) => AddressRangeTable.extReg(n, r);
  t.writeReg(R(DEC_BASE_LOW), f.base % 2 ** 32);
  t.writeReg(R(DEC_BASE_HIGH), Math.floor(f.base / 2 ** 32));
  t.writeReg(R(DEC_SIZE_LOW), f.size % 2 ** 32);
  t.writeReg(R(DEC_SIZE_HIGH), Math.floor(f.size / 2 ** 32));
  t.writeReg(R(DEC_DPA_SKIP_LOW), (f.skip ?? 0) % 2 ** 32);
  t.writeReg(R(DEC_DPA_SKIP_HIGH), Math.floor((f.skip ?? 0) / 2 ** 32));
  for (let k = 0; k < 4; k++) {
    let w = 0;
    for (let b = 0; b < 4; b++) w += (f.targets[4 * k + b] ?? 0) * 2 ** (8 * b);
    t.writeReg(X(EXT_TARGETS + 4 * k), w);
  }
  t.writeReg(X(EXT_READ_GRANT_LOW), f.rd ?? 1);
  t.writeReg(X(EXT_WRITE_GRANT_LOW), f.wr ?? 1);
  t.writeReg(R(DEC_CONTROL), f.ig | (f.iw << 4) | (f.lock ? CTRL_LOCK_ON_COMMIT : 0));
}

function commit(t: AddressRangeTable, n: number): number {
  const R = AddressRangeTable.decoderReg(n, DEC_CONTROL);
  t.writeReg(R, t.readReg(R) | CTRL_COMMIT);
  return t.readReg(R);
}

describe('AddressRangeTable: spec worked examples (§5.4)', () => {
  it('4-way at 512 B: HPA 129 GB + 1028 in a 128 GB base, 4 GB decoder -> way 2', () => {
    const t = AddressRangeTable.fromConfig({ decoders: [{ base: '128G', size: '4G', ways: 4, granularity: 512, targets: [10, 11, 12, 13] }] });
    const r = look(t, 129 * GiB + 1028);
    expect(r.status).toBe(LookupStatus.Hit);
    expect(r.way).toBe(2);
    expect(r.target).toBe(12);
  });

  it('8-way at 512 B, decoder 1 with DPABase 4 GB: HPA 129 GB + 1028 -> DPA 1_0800_0004h', () => {
    // Decoder 0 holds 4 GB of DPA (1-way), so DPABase[1] = 0 + 4 GB / 1 (§5.4 accumulation).
    const t = AddressRangeTable.fromConfig({
      decoders: [
        { base: '64G', size: '4G', ways: 1, granularity: 256, targets: [9] },
        { base: '128G', size: '8G', ways: 8, granularity: 512, targets: [1, 2, 3, 4, 5, 6, 7, 8] },
      ],
    });
    const r = look(t, 129 * GiB + 1028);
    expect(r.status).toBe(LookupStatus.Hit);
    expect(r.entry).toBe(1);
    expect(r.dpa).toBe(0x1_0800_0004);
    expect(t.dpaToHpa(1, r.way, 0x1_0800_0004)).toBe(129 * GiB + 1028);
  });

  it('12-way at 512 B, DPABase 4 GB (via DPA skip): HPA 128 GB + 24920 -> DPAOffset 958h, DPA 1_0000_0958h', () => {
    const t = AddressRangeTable.fromConfig({
      decoders: [{ base: '128G', size: '12G', ways: 12, granularity: 512, targets: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], dpaSkip: '4G' }],
    });
    const r = look(t, 128 * GiB + 24920);
    expect(r.status).toBe(LookupStatus.Hit);
    expect(r.dpa).toBe(0x1_0000_0958);
    expect(t.dpaToHpa(0, r.way, r.dpa)).toBe(128 * GiB + 24920);
  });
});

describe('AddressRangeTable vs the independent reference (tb/lib/hdmReference.ts)', () => {
  it('HPA -> (entry, way, target, DPA) agrees, and DPA -> HPA round-trips', () => {
    checkProperty(
      'decode.table.matchesReference',
      fc.property(
        legalSetArb.chain((set) => fc.tuple(fc.constant(set), fc.array(hpaArb(set), { minLength: 1, maxLength: 20 }))),
        ([set, hpas]) => {
          const t = AddressRangeTable.fromConfig({ decoders: set.decoders });
          for (const hpa of hpas) {
            const r = look(t, hpa, 0, false);
            const ref = refDecode(set.ref, BigInt(hpa));
            if (ref === null || set.ref[ref.index]!.size === 0n) {
              expect(r.status === LookupStatus.NoEntry, `hpa ${hpa.toString(16)}`).toBe(true);
              continue;
            }
            expect(r.status).toBe(LookupStatus.Hit);
            expect({ entry: r.entry, way: r.way, target: r.target, dpa: r.dpa }).toEqual({ entry: ref.index, way: ref.way, target: ref.target, dpa: Number(ref.dpa) });
            expect(t.dpaToHpa(r.entry, r.way, r.dpa)).toBe(hpa);
            expect(refDpaToHpa(set.ref, ref.index, ref.way, ref.dpa)).toBe(BigInt(hpa));
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('AddressRangeTable: register interface (§5.1, §5.3)', () => {
  it('advertises 16 decoders and 3/6/12/16-way support, and reads back what was written', () => {
    const t = new AddressRangeTable();
    const cap = t.readReg(REG_CAPABILITY);
    expect(cap & 0xf).toBe(0x8); // 8h = 16 decoders
    expect((cap >>> 11) & 1).toBe(1);
    expect((cap >>> 12) & 1).toBe(1);
    expect((cap >>> 20) & 1).toBe(1); // MemData-NXM capable
    program(t, 0, { base: 0x12_3000_0000, size: 0x1_0000_0000, iw: 1, ig: 2, targets: [3, 7] });
    expect(t.readReg(AddressRangeTable.decoderReg(0, DEC_BASE_LOW))).toBe(0x3000_0000);
    expect(t.readReg(AddressRangeTable.decoderReg(0, DEC_BASE_HIGH))).toBe(0x12);
    expect(t.readReg(AddressRangeTable.extReg(0, EXT_TARGETS))).toBe(0x0703);
    // Bits 27:0 of the low registers are not storage: 256 MB granule.
    t.writeReg(AddressRangeTable.decoderReg(0, DEC_SIZE_LOW), 0x1234_5678);
    expect(t.readReg(AddressRangeTable.decoderReg(0, DEC_SIZE_LOW))).toBe(0x1000_0000);
  });

  it('commits, decodes only once HDM Decoder Enable is set, decommits on Commit 1 -> 0', () => {
    const t = new AddressRangeTable();
    program(t, 0, { base: 4 * GiB, size: GiB, iw: 0, ig: 0, targets: [5] });
    expect(look(t, 4 * GiB).status).toBe(LookupStatus.Disabled);
    t.writeReg(REG_GLOBAL_CONTROL, GLOBAL_HDM_DECODER_ENABLE);
    expect(look(t, 4 * GiB).status).toBe(LookupStatus.NotCommitted);
    expect(look(t, 4 * GiB).entry).toBe(0);
    const ctrl = commit(t, 0);
    expect(ctrl & CTRL_COMMITTED).toBe(CTRL_COMMITTED);
    expect(ctrl & CTRL_ERROR_NOT_COMMITTED).toBe(0);
    expect(look(t, 4 * GiB + 64).target).toBe(5);
    expect(look(t, 5 * GiB).status).toBe(LookupStatus.NoEntry);
    const R = AddressRangeTable.decoderReg(0, DEC_CONTROL);
    t.writeReg(R, t.readReg(R) & ~CTRL_COMMIT);
    expect(t.readReg(R) & CTRL_COMMITTED).toBe(0);
    expect(look(t, 4 * GiB).status).toBe(LookupStatus.NotCommitted);
  });

  it('Lock On Commit makes every field read-only, Commit included', () => {
    const t = new AddressRangeTable();
    t.writeReg(REG_GLOBAL_CONTROL, GLOBAL_HDM_DECODER_ENABLE);
    program(t, 0, { base: 4 * GiB, size: GiB, iw: 0, ig: 0, targets: [5], lock: true });
    commit(t, 0);
    const before = [DEC_BASE_LOW, DEC_BASE_HIGH, DEC_SIZE_LOW, DEC_SIZE_HIGH, DEC_CONTROL].map((r) => t.readReg(AddressRangeTable.decoderReg(0, r)));
    program(t, 0, { base: 8 * GiB, size: 2 * GiB, iw: 1, ig: 3, targets: [1, 2] });
    const R = AddressRangeTable.decoderReg(0, DEC_CONTROL);
    t.writeReg(R, 0);
    expect([DEC_BASE_LOW, DEC_BASE_HIGH, DEC_SIZE_LOW, DEC_SIZE_HIGH, DEC_CONTROL].map((r) => t.readReg(AddressRangeTable.decoderReg(0, r)))).toEqual(before);
    expect(t.readReg(AddressRangeTable.extReg(0, EXT_TARGETS))).toBe(5);
    expect(look(t, 4 * GiB).target).toBe(5);
    expect(t.ignoredWrites).toBeGreaterThan(0);
  });
});

describe('AddressRangeTable: every commit rule refuses with Error Not Committed and a reason (§5.3)', () => {
  const ok = { base: 4 * GiB, size: GiB, iw: 0, ig: 0, targets: [5] };
  const cases: Array<[string, (t: AddressRangeTable) => number, RegExp]> = [
    ['reserved IG (7)', (t) => (program(t, 0, { ...ok, ig: 7 }), 0), /IG=7 is reserved/],
    ['reserved IW (5)', (t) => (program(t, 0, { ...ok, iw: 5 }), 0), /IW=5 is reserved/],
    ['previous decoder not committed', (t) => (program(t, 0, ok), program(t, 1, { ...ok, base: 8 * GiB }), 1), /decoder 0 is not committed/],
    ['wrap past the address space', (t) => (program(t, 0, { ...ok, base: 2 ** 52 - GiB, size: 2 * GiB }), 0), /wraps/],
    ['3-way size not a multiple of 3 x 256 MB', (t) => (program(t, 0, { ...ok, iw: 8, targets: [1, 2, 3] }), 0), /not a multiple of 3 × 256 MB/],
    ['12-way size not a multiple of 3 x 256 MB', (t) => (program(t, 0, { ...ok, size: 4 * GiB, iw: 10, targets: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] }), 0), /not a multiple of 3 × 256 MB/],
    ['not ascending (below the previous end)', (t) => (program(t, 0, ok), commit(t, 0), program(t, 1, { ...ok, base: 4 * GiB + 256 * MiB }), 1), /must be ascending/],
    ['descending (below the previous base)', (t) => (program(t, 0, ok), commit(t, 0), program(t, 1, { ...ok, base: 0 }), 1), /must be ascending/],
    [
      'overlaps a later committed decoder',
      (t) => {
        program(t, 0, ok);
        commit(t, 0);
        program(t, 1, { ...ok, base: 8 * GiB });
        commit(t, 1);
        const R = AddressRangeTable.decoderReg(0, DEC_CONTROL);
        t.writeReg(R, t.readReg(R) & ~CTRL_COMMIT);
        program(t, 0, { ...ok, size: 5 * GiB });
        return 0;
      },
      /overlaps committed decoder 1/,
    ],
    ['targets not distinct', (t) => (program(t, 0, { ...ok, size: 2 * GiB, iw: 2, targets: [1, 2, 1, 3] }), 0), /not distinct: ways 0 and 2/],
  ];
  for (const [name, setup, reason] of cases) {
    it(name, () => {
      const t = new AddressRangeTable();
      t.writeReg(REG_GLOBAL_CONTROL, GLOBAL_HDM_DECODER_ENABLE);
      const n = setup(t);
      const ctrl = commit(t, n);
      expect(ctrl & CTRL_ERROR_NOT_COMMITTED).toBe(CTRL_ERROR_NOT_COMMITTED);
      expect(ctrl & CTRL_COMMITTED).toBe(0);
      expect(t.decoderError(n)).toMatch(reason);
      // The refused decoder decodes nothing (its base may still belong to an earlier decoder).
      const r = look(t, t.info(n).base);
      expect(r.status === LookupStatus.Hit && r.entry === n).toBe(false);
    });
  }

  it('a random legal set with one rule broken on its last decoder is refused, with that rule as the reason', () => {
    type Mut = { name: string; apply: (f: Parameters<typeof program>[2], prevEnd: number) => Parameters<typeof program>[2]; reason: RegExp };
    const muts: Mut[] = [
      { name: 'ig', apply: (f) => ({ ...f, ig: 7 + (f.ig % 9) }), reason: /IG=\d+ is reserved/ },
      { name: 'iw', apply: (f) => ({ ...f, iw: [5, 6, 7, 11, 12, 13, 14, 15][f.ig % 8]! }), reason: /IW=\d+ is reserved/ },
      { name: 'overlap', apply: (f, prevEnd) => ({ ...f, base: prevEnd - 256 * MiB }), reason: /must be ascending/ },
      { name: 'dupTargets', apply: (f) => ({ ...f, iw: 1, targets: [f.targets[0]!, f.targets[0]!] }), reason: /not distinct/ },
      { name: 'size3', apply: (f) => ({ ...f, iw: 8, targets: [1, 2, 3], size: (3 * Math.max(1, f.size / (3 * 256 * MiB) | 0) + 1) * 256 * MiB }), reason: /multiple of 3 × 256 MB/ },
      { name: 'wrap', apply: (f) => ({ ...f, base: 2 ** 52 - 256 * MiB, size: 512 * MiB }), reason: /wraps/ },
    ];
    checkProperty(
      'decode.table.illegalRefused',
      fc.property(legalSetArb.filter((s) => s.decoders.length >= 2 && Number(s.ref[s.ref.length - 2]!.size) > 0), fc.integer({ min: 0, max: muts.length - 1 }), (set, mi) => {
        const t = new AddressRangeTable();
        t.writeReg(REG_GLOBAL_CONTROL, GLOBAL_HDM_DECODER_ENABLE);
        const fields = set.ref.map((r) => ({ base: Number(r.base), size: Number(r.size), iw: r.iw, ig: r.ig, targets: r.targets, skip: Number(r.dpaSkip) }));
        const last = fields.length - 1;
        for (let n = 0; n < last; n++) {
          program(t, n, fields[n]!);
          expect(commit(t, n) & CTRL_COMMITTED).toBe(CTRL_COMMITTED);
        }
        const prevEnd = fields[last - 1]!.base + fields[last - 1]!.size;
        const m = muts[mi]!;
        program(t, last, m.apply({ ...fields[last]!, size: Math.max(fields[last]!.size, 768 * MiB) }, prevEnd));
        const ctrl = commit(t, last);
        expect(ctrl & CTRL_ERROR_NOT_COMMITTED, m.name).toBe(CTRL_ERROR_NOT_COMMITTED);
        expect(ctrl & CTRL_COMMITTED).toBe(0);
        expect(t.decoderError(last), m.name).toMatch(m.reason);
      }),
      { numRuns: 150 },
    );
  });
});

describe('AddressRangeTable: config object validation names decoders[i].field and the rule', () => {
  const good: DecoderConfig = { base: '4G', size: '1G', ways: 1, granularity: 256, targets: [1] };
  const bad: Array<[string, DecoderConfig[], string, RegExp]> = [
    ['base not 256 MB aligned', [{ ...good, base: 4 * GiB + 4096 }], 'decoders[0].base', /multiple of 256 MB/],
    ['ways 5', [{ ...good, ways: 5 }], 'decoders[0].ways', /must be 1, 2, 4, 8, 16, 3, 6 or 12/],
    ['granularity 100', [{ ...good, granularity: 100 }], 'decoders[0].granularity', /256, 512/],
    ['targets length', [{ ...good, ways: 2 }], 'decoders[0].targets', /one node id per way/],
    ['VM id 64', [{ ...good, readers: [64] }], 'decoders[0].readers[0]', /0\.\.63/],
    ['unknown field', [{ ...good, colour: 1 } as unknown as DecoderConfig], 'decoders[0].colour', /unknown field/],
    ['overlap at commit', [good, { ...good, base: '4G' }], 'decoders[1].base', /commit refused \(Error Not Committed\).*ascending/],
    ['12-way size at commit', [{ ...good, size: '4G', ways: 12, targets: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] }], 'decoders[0].size', /multiple of 3 × 256 MB/],
    ['bad address text', [{ ...good, base: '12 apples' }], 'decoders[0].base', /not an address/],
  ];
  for (const [name, decoders, field, rule] of bad) {
    it(name, () => {
      try {
        AddressRangeTable.fromConfig({ decoders });
        expect.unreachable('config accepted');
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as ConfigError).field).toBe(field);
        expect((e as ConfigError).rule).toMatch(rule);
      }
    });
  }

  it('rejects a table size that is not a capability encoding', () => {
    expect(() => new AddressRangeTable({ entries: 3 })).toThrow(/entries: must be one of 1, 2, 4, 6, 8/);
  });
});

describe('AddressRangeTable: grants and page overrides', () => {
  const cfg = { decoders: [{ base: '4G', size: '1G', ways: 2, granularity: 4096, targets: [1, 2], readers: [0, 3, 40], writers: [3, 63] }] };

  it('checks read and write grants per VM (ids above 31 use the high grant word)', () => {
    const t = AddressRangeTable.fromConfig(cfg);
    expect(look(t, 4 * GiB, 0, false).status).toBe(LookupStatus.Hit);
    expect(look(t, 4 * GiB, 0, true).status).toBe(LookupStatus.WriteDenied);
    expect(look(t, 4 * GiB, 3, true).status).toBe(LookupStatus.Hit);
    expect(look(t, 4 * GiB, 40, false).status).toBe(LookupStatus.Hit);
    expect(look(t, 4 * GiB, 40, true).status).toBe(LookupStatus.WriteDenied);
    expect(look(t, 4 * GiB, 63, false).status).toBe(LookupStatus.ReadDenied);
    expect(look(t, 4 * GiB, 63, true).status).toBe(LookupStatus.Hit);
    expect(look(t, 4 * GiB, 1, false).status).toBe(LookupStatus.ReadDenied);
    // Denied lookups still say where the line is.
    expect(look(t, 4 * GiB + 4096, 1, false).target).toBe(2);
  });

  it('an override staged in cycle t is invisible until the boundary after t, then relocates the whole 4 KiB page', () => {
    const t = AddressRangeTable.fromConfig(cfg);
    const hpa = 4 * GiB + 5 * 4096 + 192;
    const before = look(t, hpa, 0);
    t.stageOverrideLocal(hpa, 0x7000_0000, 10);
    t.applyStagedOverrides(10); // same cycle: not yet
    expect(look(t, hpa, 0)).toEqual(before);
    t.applyStagedOverrides(11);
    const after = look(t, hpa, 0);
    expect(after.overridden).toBe(true);
    expect(after.target).toBe(TARGET_LOCAL);
    expect(after.dpa).toBe(0x7000_0000 + 192);
    expect(look(t, hpa - 192, 0).dpa).toBe(0x7000_0000);
    expect(look(t, hpa - 193, 0).overridden).toBe(false); // previous page untouched
    t.stageOverrideRemote(hpa, 9, 0x100_0000, 11);
    t.applyStagedOverrides(12);
    expect([look(t, hpa, 0).target, look(t, hpa, 0).dpa]).toEqual([9, 0x100_0000 + 192]);
    t.stageOverrideClear(hpa, 12);
    t.applyStagedOverrides(13);
    expect(look(t, hpa, 0)).toEqual(before);
    expect(t.overrideCount).toBe(0);
  });

  it('refuses overrides outside every committed decoder, unaligned PAs, and local ones without DRAM', () => {
    const t = AddressRangeTable.fromConfig(cfg);
    expect(() => t.stageOverrideLocal(64 * GiB, 0, 0)).toThrow(/no committed decoder claims this page/);
    expect(() => t.stageOverrideLocal(4 * GiB, 100, 0)).toThrow(/4 KiB-aligned/);
    t.localOverridesAllowed = false;
    expect(() => t.stageOverrideLocal(4 * GiB, 0, 0)).toThrow(/needs a local DRAM port/);
  });
});
