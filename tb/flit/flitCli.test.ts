import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { checkAsyncProperty } from '../lib/pbt.ts';

async function cli(args: string[]) {
  let out = '';
  let err = '';
  const code = await main(args, { out: (t) => void (out += t), err: (t) => void (err += t), isTTY: false });
  return { code, out, err };
}

const u = (bits: number) => fc.integer({ min: 0, max: 2 ** bits - 1 });
const hexOf = (n: number) => fc.array(fc.integer({ min: 0, max: 255 }), { minLength: n, maxLength: n }).map((b) => Buffer.from(b).toString('hex'));
/** Messages in the canonical form decode --json prints (every field of the class, addr as lowercase hex). */
function msgJson(mode: 68 | 256) {
  const common = { tag: u(16), metaField: u(2), metaValue: u(2), ldId: u(4) };
  return fc.oneof(
    fc.record({ class: fc.constant('M2SReq'), opcode: fc.constantFrom('MemInv', 'MemRd', 'MemRdData', 'MemSpecRd', 'MemInvNT'), ...common, snpType: u(3), addr: fc.tuple(u(46), mode === 68 ? u(1) : fc.constant(0)).map(([l, a]) => `0x${(l * 64 + a * 32).toString(16)}`) }),
    fc.record({ class: fc.constant('M2SRwD'), opcode: fc.constant('MemWr'), ...common, snpType: u(3), poison: u(1), addr: u(46).map((l) => `0x${(l * 64).toString(16)}`), data: hexOf(64) }),
    fc.record({ class: fc.constant('M2SRwD'), opcode: fc.constant('MemWrPtl'), ...common, snpType: u(3), poison: u(1), addr: u(46).map((l) => `0x${(l * 64).toString(16)}`), data: hexOf(64), be: hexOf(8).map((h) => `0x${h}`) }),
    fc.record({ class: fc.constant('S2MNDR'), opcode: fc.constantFrom('Cmp', 'Cmp-S', 'Cmp-E', 'Cmp-M'), ...common, devLoad: u(2) }),
    fc.record({ class: fc.constant('S2MDRS'), opcode: fc.constantFrom('MemData', 'MemData-NXM'), ...common, devLoad: u(2), poison: u(1), data: hexOf(64) }),
  );
}

/** Per-class order is what the wire keeps; compare messages grouped by class. */
const byClass = (ms: { class: string }[]) => ['M2SReq', 'M2SRwD', 'S2MNDR', 'S2MDRS'].map((c) => ms.filter((m) => m.class === c));

describe.each([68, 256] as const)('cxlfab flit (%iB)', (mode) => {
  it('encode → decode --json gives the same messages (per-class order kept), CRC ok, no flags', async () => {
    await checkAsyncProperty(
      `flit${mode}.cli.roundtrip`,
      fc.asyncProperty(fc.array(msgJson(mode), { minLength: 1, maxLength: 12 }), async (msgs) => {
        const enc = await cli(['flit', 'encode', JSON.stringify({ mode, messages: msgs })]);
        expect(enc.code).toBe(0);
        const dec = await cli(['flit', 'decode', enc.out, '--json', '--mode', String(mode)]);
        expect(dec.code).toBe(0);
        const r = JSON.parse(dec.out) as { messages: { class: string }[]; flits: { crc: string; flags: string[] }[] };
        expect(byClass(r.messages)).toEqual(byClass(msgs));
        for (const f of r.flits) expect([f.crc, f.flags]).toEqual(['ok', []]);
        // and decode's output is accepted by encode as is (its message order may pack differently)
        const again = await cli(['flit', 'encode', dec.out]);
        expect(again.code).toBe(0);
        const dec2 = await cli(['flit', 'decode', again.out, '--json', '--mode', String(mode)]);
        expect(byClass((JSON.parse(dec2.out) as { messages: { class: string }[] }).messages)).toEqual(byClass(msgs));
      }),
      { numRuns: 25 },
    );
  });

  it('flags a bad CRC and prints every field in text mode', async () => {
    const enc = await cli(['flit', 'encode', JSON.stringify([{ class: 'M2SReq', opcode: 'MemRd', tag: 42, addr: '0x1000' }]), '--mode', String(mode)]);
    const good = await cli(['flit', 'decode', enc.out, '--mode', String(mode)]);
    expect(good.out).toMatch(/crc ok/);
    expect(good.out).toMatch(/M2SReq: Valid=1 MemOpcode=1\(MemRd\) SnpType=0 MetaField=0 MetaValue=0 Tag=42 .*Address=0x1000 LdId=0/);
    const bad = enc.out.trim().slice(0, 40) + (enc.out[40] === '0' ? '1' : '0') + enc.out.trim().slice(41);
    const r = await cli(['flit', 'decode', bad, '--mode', String(mode)]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/crc (bad|corrected)/);
  });
});

describe('cxlfab flit: bad input exits 2 with one clear message', () => {
  const cases: [string, string[], RegExp][] = [
    ['odd hex', ['flit', 'decode', 'abc'], /odd number of hex digits/],
    ['not hex', ['flit', 'decode', 'zz'], /not hex/],
    ['wrong length', ['flit', 'decode', '00'.repeat(67)], /67 bytes is not a whole number of 68-byte flits/],
    ['wrong mode', ['flit', 'decode', '00'.repeat(68), '--mode', '128'], /--mode must be 68 or 256/],
    ['unknown opcode', ['flit', 'encode', '[{"class":"M2SReq","opcode":"MemFly","tag":1}]'], /messages\[0\]\.opcode: unknown M2SReq opcode "MemFly"/],
    ['bad field value', ['flit', 'encode', '[{"class":"S2MNDR","opcode":"Cmp","tag":70000}]'], /messages\[0\]\.tag: must be an integer 0\.\.2\^16-1/],
    ['misaligned address', ['flit', 'encode', '[{"class":"M2SRwD","opcode":"MemWr","tag":1,"addr":"0x20"}]'], /messages\[0\]\.addr: must be a multiple of 64/],
    ['unknown field', ['flit', 'encode', '[{"class":"S2MNDR","opcode":"Cmp","tag":1,"addr":"0x40"}]'], /messages\[0\]\.addr: unknown field for S2MNDR/],
    ['not JSON', ['flit', 'encode', '{nope'], /input is not JSON/],
    ['missing file', ['flit', 'decode', '@/nonexistent/x.hex'], /cannot read \/nonexistent\/x\.hex/],
    ['no subcommand', ['flit'], /expected 'decode' or 'encode'/],
  ];
  it.each(cases)('%s', async (_, args, msg) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(msg);
    expect(r.out).toBe('');
  });

  it('reports illegal packing as flags rather than failing', async () => {
    // 68B flit: H5 with a Req, G4 Req, G4 Req, G4 Req = 4 M2S Req (limit 2)
    const b = new Uint8Array(68);
    b[0] = 0x55;
    b[1] = 0x55;
    const set = (p: number) => (b[2 + (p >> 3)]! |= 1 << (p & 7));
    for (const p of [5, 7, 10, 13, 16]) set(p); // fmts: slot0 = 101, slots 1-3 = 100
    for (const p of [32, 128, 256, 384]) set(p);
    const r = await cli(['flit', 'decode', Buffer.from(b).toString('hex'), '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { flits: { flags: string[]; crc: string }[]; messages: unknown[] };
    expect(j.flits[0]!.flags).toContain('limit');
    expect(j.flits[0]!.crc).toBe('bad');
    expect(j.messages.length).toBe(4);
  });
});
