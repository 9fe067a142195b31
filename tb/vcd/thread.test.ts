import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { readVcd } from '../../src/vcd/VcdReader.ts';
import { VcdThread } from '../../src/vcd/VcdThread.ts';
import { type VcdVarType, VcdWriter } from '../../src/vcd/VcdWriter.ts';
import { checkProperty } from '../lib/pbt.ts';

/**
 * The VCD writer thread (src/vcd/VcdThread.ts) must write the same file, byte for byte, as the
 * writer formatting in its own thread (whose exact output writer.test.ts pins), whatever the
 * variables, values and flush points, across its segment and payload boundaries.
 */

const dir = mkdtempSync(join(tmpdir(), 'cxlfab-vcdthread-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

interface Var {
  readonly type: VcdVarType;
  readonly width: number;
}
type Op =
  | { readonly op: 'num'; readonly v: number; readonly value: number }
  | { readonly op: 'bytes'; readonly v: number; readonly seed: number }
  | { readonly op: 'real'; readonly v: number; readonly value: number }
  | { readonly op: 'time'; readonly dt: number }
  | { readonly op: 'flush' };

/** Apply a script to a writer; after each flush, `seen` is told what the file should hold by then. */
function play(w: VcdWriter, vars: readonly Var[], ops: readonly Op[], afterFlush: () => void): void {
  vars.forEach((v, i) => w.addVar(['top', `m${i % 7}`], `v${i}`, v.type, v.width));
  let t = 0;
  for (const o of ops) {
    if (o.op === 'time') w.setTime((t += o.dt));
    else if (o.op === 'flush') {
      w.flush();
      afterFlush();
    } else {
      const v = vars[o.v % vars.length]!;
      const i = o.v % vars.length;
      if (v.type === 'real') {
        if (o.op === 'real') w.changeReal(i, o.value);
      } else if (v.width > 53 || o.op === 'bytes') {
        const nb = (v.width + 7) >> 3;
        const bytes = new Uint8Array(nb);
        let x = o.op === 'bytes' ? o.seed : o.v;
        for (let k = 0; k < nb; k++) bytes[k] = x = (x * 1103515245 + 12345) >>> 8;
        if ((v.width & 7) !== 0) bytes[nb - 1]! &= (1 << (v.width & 7)) - 1;
        w.changeBytes(i, bytes, 0);
      } else if (o.op === 'num') {
        w.changeNumber(i, o.value % 2 ** Math.min(v.width, 53));
      }
    }
  }
  w.close();
}

/** The script's file from both writers: in this thread (collected) and through the writer thread. */
function bothWays(vars: readonly Var[], ops: readonly Op[]): { here: string; threaded: string; atFlush: Array<[string, string]> } {
  const chunks: string[] = [];
  play(new VcdWriter((b, n) => chunks.push(Buffer.from(b.subarray(0, n)).toString('latin1')), { date: 'd' }), vars, ops, () => {});
  const path = join(dir, `t${files++}.vcd`);
  const w = VcdWriter.toFile(path, { date: 'd' });
  const flushed: string[] = [];
  play(w, vars, ops, () => flushed.push(readFileSync(path, 'latin1')));
  const threaded = readFileSync(path, 'latin1');
  rmSync(path);
  const here = chunks.join('');
  // What the file held at each flush must be a prefix of the whole file, ending where a flush of the
  // same script in this thread would end; compare each with the in-thread output at that flush.
  const hereAt: string[] = [];
  const c2: string[] = [];
  play(new VcdWriter((b, n) => c2.push(Buffer.from(b.subarray(0, n)).toString('latin1')), { date: 'd' }), vars, ops, () => hereAt.push(c2.join('')));
  return { here, threaded, atFlush: flushed.map((f, k) => [f, hereAt[k]!]) };
}

const varArb: fc.Arbitrary<Var> = fc.oneof(
  fc.record({ type: fc.constantFrom<VcdVarType>('wire', 'reg'), width: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ type: fc.constant<VcdVarType>('integer'), width: fc.integer({ min: 1, max: 53 }) }),
  fc.record({ type: fc.constant<VcdVarType>('reg'), width: fc.integer({ min: 54, max: 300 }) }),
  fc.constant<Var>({ type: 'real', width: 64 }),
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ op: fc.constant('num' as const), v: fc.nat(1000), value: fc.maxSafeNat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('bytes' as const), v: fc.nat(1000), seed: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('real' as const), v: fc.nat(1000), value: fc.double({ noNaN: true, noDefaultInfinity: true }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('time' as const), dt: fc.integer({ min: 0, max: 2 ** 40 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'flush' as const }) },
);

describe('VCD writer thread', () => {
  it('property: the same file as formatting in this thread, and at every flush the file holds everything so far', () => {
    checkProperty(
      'vcd_thread_same_file',
      fc.property(fc.array(varArb, { minLength: 1, maxLength: 12 }), fc.array(opArb, { maxLength: 300 }), (vars, ops) => {
        const r = bothWays(vars, ops);
        expect(r.threaded === r.here).toBe(true);
        for (const [file, expected] of r.atFlush) expect(file === expected).toBe(true);
        return true;
      }),
      { numRuns: 40 },
    );
  });

  it('crosses segment and payload boundaries: 6000 variables (a header longer than a segment\'s payload), wide values and 200,000 changes', () => {
    const vars: Var[] = Array.from({ length: 6000 }, (_, i) => (i % 50 === 0 ? { type: 'reg', width: 520 } : { type: 'reg', width: 1 + (i % 40) }));
    const ops: Op[] = [];
    for (let k = 0; k < 200_000; k++) {
      if (k % 97 === 0) ops.push({ op: 'time', dt: 1 + (k % 5) });
      ops.push(k % 13 === 0 ? { op: 'bytes', v: (k * 50) % 6000, seed: k } : { op: 'num', v: (k * 7919) % 6000, value: k });
      if (k % 50_000 === 49_999) ops.push({ op: 'flush' });
    }
    const r = bothWays(vars, ops);
    expect(r.here.length).toBeGreaterThan(2_000_000);
    expect(r.threaded === r.here).toBe(true);
    expect(r.atFlush.length).toBe(4);
    for (const [file, expected] of r.atFlush) expect(file === expected).toBe(true);
  });

  it('keeps the order when the simulation thread outruns the writer thread (segments reused as soon as they are written)', () => {
    // A loop that does nothing but change values fills segments faster than the worker formats
    // them, so the simulation thread waits for segments to come free: the path a slow workload
    // like the property above never takes.
    const write = (thread: boolean): string => {
      const path = join(dir, `bp${files++}.vcd`);
      const w = VcdWriter.toFile(path, { date: 'd', thread });
      for (let k = 0; k < 200; k++) w.addVar(['top'], `v${k}`, 'reg', 40);
      for (let t = 1; t <= 3000; t++) {
        w.setTime(t);
        for (let k = 0; k < 200; k++) w.changeNumber(k, (t * 2654435761 + k * 40503) % 2 ** 40);
      }
      w.close();
      const text = readFileSync(path, 'latin1');
      rmSync(path);
      return text;
    };
    const threaded = write(true);
    expect(threaded.length).toBeGreaterThan(20_000_000);
    expect(threaded === write(false)).toBe(true);
  });

  it('works under tsx, as the CLI runs it (the worker runs the formatter from its transpiled text)', () => {
    const root = resolve(import.meta.dirname, '../..');
    const path = join(dir, `cli${files++}.vcd`);
    execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'run', 'scenarios/two-node.json', '--cycles', '2000', '--vcd', path], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    const d = readVcd(readFileSync(path, 'latin1'));
    // 2000 cycles and the drain at 1 GHz: the last sample lies past 2000 cycles, the clock's fall half a period later.
    expect(d.endTime).toBeGreaterThan(2000 * 1000);
    expect(d.vars.length).toBeGreaterThan(400);
  });

  it('reports a failure of the writer thread (here: a write to a closed file) as an error, instead of hanging or losing it silently', () => {
    const meta = { kind: new Uint8Array([0]), width: new Int32Array([1]), idBytes: new Uint8Array([33]), idOff: new Int32Array([0]), idLen: new Uint8Array([1]), idWord: new Int32Array([33 | (10 << 8)]) };
    const t = new VcdThread(meta, 2 ** 30, 1 << 20); // no such file descriptor
    t.ascii('$enddefinitions $end\n');
    t.number(0, 1);
    expect(() => t.flush()).toThrow(/VCD writer thread failed: .*EBADF/);
  });
});
