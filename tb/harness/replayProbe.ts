/**
 * A deliberately failing pair of properties, run in a child process by pbt.test.ts to check the
 * harness end to end: failure report, replay file, waves of the shrunk case, and CXLFAB_REPLAY.
 * Prints one JSON line: { name: message } per property.
 */
import fc from 'fast-check';
import { Module, SimContext, Simulator } from '../../src/sim/index.ts';
import { checkProperty, replayableCommands } from '../lib/pbt.ts';
import { traceTo } from '../lib/waves.ts';

class Counter extends Module {
  readonly value = this.reg('value', 16, 0);
  add = 0;
  override evaluate(): void {
    this.value.d = (this.value.q + this.add) & 0xffff;
  }
}

/** The "design": a counter that should add `n` per cycle for `k` cycles; it is wrong for n ≥ 700. */
function runCounter(n: number, k: number, base?: string): number {
  const top = new Counter(null, 'top', new SimContext(1));
  top.add = n >= 700 ? n - 1 : n;
  const sim = new Simulator(top);
  const t = base ? traceTo(base, sim) : null;
  try {
    sim.step(k);
  } finally {
    t?.close();
  }
  return top.value.q;
}

const out: Record<string, string> = {};
try {
  checkProperty(
    'harness-probe-counter',
    fc.property(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 20 }), (n, k) => runCounter(n, k) === ((n * k) & 0xffff)),
    { rerunTraced: ([n, k], base) => void runCounter(n, k, base) },
  );
  out['harness-probe-counter'] = 'passed';
} catch (e) {
  out['harness-probe-counter'] = (e as Error).message;
}

interface M {
  total: number;
}
class AddCmd implements fc.Command<M, { sum: number }> {
  constructor(readonly v: number) {}
  check(): boolean {
    return true;
  }
  run(m: M, r: { sum: number }): void {
    m.total += this.v;
    r.sum += this.v === 13 ? 12 : this.v; // the bug
    if (m.total !== r.sum) throw new Error(`sum ${r.sum} != model ${m.total}`);
  }
  toString(): string {
    return `add(${this.v})`;
  }
}
try {
  const name = 'harness-probe-commands';
  checkProperty(name, fc.property(replayableCommands(name, [fc.integer({ min: 0, max: 20 }).map((v) => new AddCmd(v))], { maxCommands: 30 }), (cmds) => {
    fc.modelRun(() => ({ model: { total: 0 }, real: { sum: 0 } }), cmds);
  }));
  out[name] = 'passed';
} catch (e) {
  out['harness-probe-commands'] = (e as Error).message;
}
process.stdout.write(`${JSON.stringify(out)}\n`);
