import { mkdirSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gtkwText } from '../../src/vcd/GtkwWriter.ts';
import { readVcd } from '../../src/vcd/VcdReader.ts';
import { type VcdVarType, VcdWriter } from '../../src/vcd/VcdWriter.ts';
import { gtkwaveCheck } from '../lib/gtkwave.ts';
import { checkProperty, propertySeed } from '../lib/pbt.ts';

/**
 * Round trip: random hierarchies, types, widths 1..512 and value sequences go through VcdWriter
 * and come back through the strict reader as exactly the changes an independent model predicts.
 *
 * The model (below, written without the writer's code): at time 0 every write only sets the
 * initial value and the file reports every variable once with it; after that, a write produces a
 * change (time, var, full-width binary value) if and only if it differs from the variable's last
 * value. Values are compared as full-width binary strings built with BigInt.
 */

interface VarSpec {
  readonly scope: string[];
  readonly name: string;
  readonly type: VcdVarType;
  readonly width: number;
}

/** A write: a number (any var ≤ 53 bits or a small value for a wide one), bytes (wide), or a real. */
type Value = { kind: 'num'; v: number } | { kind: 'bytes'; b: Uint8Array } | { kind: 'real'; v: number };

interface Step {
  readonly dt: number;
  readonly writes: Array<{ var: number; value: Value }>;
}

interface Case {
  readonly vars: VarSpec[];
  readonly steps: Step[];
}

// Scope and variable names include characters GTKWave misreads, so the name mapping is exercised.
const scopeName = fc.constantFrom('top', 'dev', 'a:b', 'x[1]', 's p', 'dec');
const varName = fc.constantFrom('q', 'count', 'v:1', 'v_1', 'v[2]', 'data', 'v 1', 'valid');

const varSpec: fc.Arbitrary<VarSpec> = fc
  .record({
    scope: fc.array(scopeName, { minLength: 1, maxLength: 3 }),
    name: varName,
    type: fc.constantFrom<VcdVarType>('wire', 'reg', 'integer', 'real'),
    width: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 512 })),
  })
  .map((s) => ({ ...s, scope: ['v', ...s.scope], name: `n${s.name}`, width: s.type === 'real' ? 64 : s.width }));

function valueArb(spec: VarSpec): fc.Arbitrary<Value> {
  if (spec.type === 'real') {
    return fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => ({ kind: 'real' as const, v: v === 0 ? 0 : v }));
  }
  const w = spec.width;
  const small = fc.constantFrom(0, 1).map((v) => ({ kind: 'num' as const, v }));
  if (w <= 53) {
    return fc.oneof(small, fc.bigInt({ min: 0n, max: (1n << BigInt(w)) - 1n }).map((v) => ({ kind: 'num' as const, v: Number(v) })));
  }
  const nb = Math.ceil(w / 8);
  const bytes = fc.uint8Array({ minLength: nb, maxLength: nb }).map((b) => {
    if (w % 8 !== 0) b[nb - 1]! &= (1 << (w % 8)) - 1;
    return { kind: 'bytes' as const, b };
  });
  return fc.oneof(small, bytes, fc.maxSafeNat().map((v) => ({ kind: 'num' as const, v })));
}

const caseArb: fc.Arbitrary<Case> = fc
  .uniqueArray(varSpec, { minLength: 1, maxLength: 12, selector: (s) => `${s.scope.join('\u0000')}\u0001${s.name}` })
  .chain((vars) => {
    const write = fc.integer({ min: 0, max: vars.length - 1 }).chain((i) => valueArb(vars[i]!).map((value) => ({ var: i, value })));
    const step = fc.record({ dt: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1000 })), writes: fc.array(write, { maxLength: 8 }) });
    return fc.record({ vars: fc.constant(vars), steps: fc.array(step, { maxLength: 25 }) });
  });

function toBinary(spec: VarSpec, value: Value): string | number {
  if (value.kind === 'real') return value.v;
  let big: bigint;
  if (value.kind === 'num') big = BigInt(value.v);
  else {
    big = 0n;
    for (let k = value.b.length - 1; k >= 0; k--) big = (big << 8n) | BigInt(value.b[k]!);
  }
  return big.toString(2).padStart(spec.width, '0');
}

interface ModelChange {
  time: number;
  var: number;
  value: string | number;
}

/** The independent model: changes the file must contain, in order. */
function model(c: Case): ModelChange[] {
  const last = c.vars.map((v) => (v.type === 'real' ? 0 : '0'.repeat(v.width)) as string | number);
  const out: ModelChange[] = [];
  let t = 0;
  let headerDone = false;
  const header = () => {
    if (!headerDone) c.vars.forEach((_, i) => out.push({ time: 0, var: i, value: last[i]! }));
    headerDone = true;
  };
  for (const s of c.steps) {
    t += s.dt;
    if (t > 0) header();
    for (const w of s.writes) {
      const v = toBinary(c.vars[w.var]!, w.value);
      if (v === last[w.var]) continue;
      last[w.var] = v;
      if (headerDone) out.push({ time: t, var: w.var, value: v });
    }
  }
  header();
  return out;
}

function write(c: Case): { text: string; writer: VcdWriter } {
  const chunks: string[] = [];
  const w = new VcdWriter((b, n) => chunks.push(Buffer.from(b.subarray(0, n)).toString('latin1')), { date: 'test' });
  const idx = c.vars.map((v) => w.addVar(v.scope, v.name, v.type, v.width));
  let t = 0;
  for (const s of c.steps) {
    t += s.dt;
    w.setTime(t);
    for (const wr of s.writes) {
      const i = idx[wr.var]!;
      const val = wr.value;
      if (val.kind === 'real') w.changeReal(i, val.v);
      else if (val.kind === 'num') w.changeNumber(i, val.v);
      else w.changeBytes(i, val.b, 0);
    }
  }
  w.close();
  return { text: chunks.join(''), writer: w };
}

describe('VCD writer -> strict reader round trip', () => {
  it('gives back exactly the changed values, at their times, with declared widths and types', () => {
    checkProperty(
      'vcd_roundtrip',
      fc.property(caseArb, (c) => {
        const { text, writer } = write(c);
        const d = readVcd(text);
        expect(d.vars.length).toBe(c.vars.length);
        // Writer index -> reader index through the id code (the file's own link between the two).
        const byId = new Map(d.vars.map((v, k) => [v.id, k]));
        const toWriter = new Map<number, number>();
        c.vars.forEach((spec, i) => {
          const k = byId.get(writer.varId(i))!;
          expect(d.vars[k]!.width).toBe(spec.width);
          expect(d.vars[k]!.type).toBe(spec.type);
          expect(d.vars[k]!.path).toMatch(/^[A-Za-z0-9_$.]+$/);
          toWriter.set(k, i);
        });
        const got = d.changes.map((ch) => ({ time: ch.time, var: toWriter.get(ch.var)!, value: ch.value }));
        const want = model(c);
        // Initial values come in header order; the rest in write order: compare the time-0 block as a set.
        const split = (xs: ModelChange[]) => {
          const n = c.vars.length;
          return { init: xs.slice(0, n).sort((a, b) => a.var - b.var), rest: xs.slice(n) };
        };
        expect(split(got)).toEqual(split(want));
        expect(d.endTime).toBe(want.length > c.vars.length ? want[want.length - 1]!.time : 0);
      }),
      { numRuns: 150 },
    );
  });

  it('a sample of written files (with their .gtkw) also loads cleanly in GTKWave', () => {
    mkdirSync('waves', { recursive: true });
    const cases = fc.sample(caseArb, { seed: propertySeed('vcd_roundtrip_gtkwave'), numRuns: 3 });
    cases.forEach((c, k) => {
      const { text, writer } = write(c);
      const base = `waves/vcd_roundtrip_sample${k}`;
      writeFileSync(`${base}.vcd`, text);
      const traces = c.vars.map((_, i) => ({ facility: writer.facilityName(i), group: writer.varPath(i).split('.').slice(0, -1).join('.'), type: writer.varType(i), width: writer.varWidth(i) }));
      writeFileSync(`${base}.gtkw`, gtkwText(`${base}.vcd`, traces, { periodTicks: 1000 }));
      const r = gtkwaveCheck(`${base}.vcd`, `${base}.gtkw`);
      if (!r.skipped) {
        expect(r.facilities).toBe(c.vars.length);
        expect([...r.displayed].sort()).toEqual(traces.map((t) => t.facility).sort());
      }
    });
  });
});
