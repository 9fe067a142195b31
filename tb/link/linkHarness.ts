import { CxlLink, type CxlLinkParams } from '../../rtl/link/CxlLink.ts';
import { Module, SimContext, Simulator, type CycleObserver } from '../../src/sim/index.ts';
import { type MsgRec, Sink, Source } from '../flit/harness.ts';

/** Root of a link testbench: a CxlLink, a message Source at each end and a Sink at each end. */
export class LinkTop extends Module {
  constructor(clockGHz = 1) {
    super(null, 'top', new SimContext(clockGHz));
  }
}

/** Fails the run (SimulationError via the observer's throw) the first cycle a credit counter leaves [0, peer rx depth]. */
export class CreditBoundsChecker implements CycleObserver {
  worst = { min: Infinity, maxOverDepth: -Infinity };
  constructor(readonly link: CxlLink) {}
  sample(cycle: number): void {
    const d = this.link.params.rxDepth;
    const depths = [d.req, d.rwd, d.ndr, d.drs];
    for (const port of [this.link.a, this.link.b]) {
      const p = port.packer;
      const regs = [p.creditsM2SReq, p.creditsM2SRwD, p.creditsS2MNDR, p.creditsS2MDRS];
      for (let c = 0; c < 4; c++) {
        const v = regs[c]!.q;
        this.worst.min = Math.min(this.worst.min, v);
        this.worst.maxOverDepth = Math.max(this.worst.maxOverDepth, v - depths[c]!);
        if (v < 0 || v > depths[c]!) throw new Error(`cycle ${cycle}: ${regs[c]!.path} = ${v} outside [0, ${depths[c]}]`);
      }
    }
  }
  flush(): void {}
}

export interface LinkBench {
  top: LinkTop;
  sim: Simulator;
  link: CxlLink;
  srcA: Source;
  srcB: Source;
  sinkA: Sink;
  sinkB: Sink;
  credits: CreditBoundsChecker;
}

/** msgsA go a → b (popped by sinkB), msgsB go b → a. popRate < 1 makes the sinks back-pressure. */
export function buildLink(params: CxlLinkParams, msgsA: MsgRec[][], msgsB: MsgRec[][], popRate = 1, opts: { clockGHz?: number; evalOrderSeed?: number } = {}): LinkBench {
  const top = new LinkTop(opts.clockGHz ?? 1);
  const link = new CxlLink(top, 'link', params);
  const q = (p: typeof link.a) => [p.txReq, p.txRwD, p.txNdr, p.txDrs];
  const r = (p: typeof link.a) => [p.rxReq, p.rxRwD, p.rxNdr, p.rxDrs];
  const srcA = new Source(top, 'srcA', q(link.a), msgsA);
  const srcB = new Source(top, 'srcB', q(link.b), msgsB);
  const sinkA = new Sink(top, 'sinkA', r(link.a), popRate, params.seed ^ 0x51);
  const sinkB = new Sink(top, 'sinkB', r(link.b), popRate, params.seed ^ 0x52);
  const sim = new Simulator(top, opts.evalOrderSeed !== undefined ? { evalOrderSeed: opts.evalOrderSeed } : {});
  const credits = new CreditBoundsChecker(link);
  sim.attach(credits);
  return { top, sim, link, srcA, srcB, sinkA, sinkB, credits };
}

export function total(msgs: MsgRec[][]): number {
  return msgs.reduce((s, l) => s + l.length, 0);
}

/** Run until every message arrived (or `limit` cycles). Returns cycles run. */
export function runToCompletion(b: LinkBench, msgsA: MsgRec[][], msgsB: MsgRec[][], limit: number): number {
  const want = total(msgsA) + total(msgsB);
  const got = () => total(b.sinkA.got) + total(b.sinkB.got);
  const start = b.sim.cycle;
  while (got() < want && b.sim.cycle - start < limit) b.sim.step(64);
  return b.sim.cycle - start;
}
