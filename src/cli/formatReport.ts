import { formatTable } from '../stats/report.ts';
import type { RunReport } from './runScenario.ts';

const f1 = (x: number) => x.toFixed(1);
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

/** The text report of `cxlfab run`. */
export function formatRunReport(r: RunReport): string {
  const out: string[] = [];
  out.push(`cxlfab run: scenario '${r.scenario}', ${r.cycles} cycles at ${r.clockGHz} GHz (${f1(r.cycles / r.clockGHz / 1000)} us simulated)`);
  out.push(`simulated in ${r.wallSeconds.toFixed(2)} s: ${Math.round(r.cyclesPerSecond).toLocaleString('en-US')} cycles/s; ${r.drainCycles} cycles to drain`);
  if (r.vcd) out.push(`waves: ${r.vcd} (layout ${r.gtkw}): gtkwave ${r.vcd} ${r.gtkw}`);
  out.push('');
  const q = r.requests;
  out.push(`requests: ${q.issued} issued, ${q.completed} completed; ${q.local} local, ${q.remote} remote, ${q.errors} errors (${q.nxm} NXM answers, ${q.pageFaults} page faults)`);
  out.push('');
  out.push('latency by class (ns; cycles in brackets)');
  const rows = Object.entries(r.latencyNs)
    .filter(([, s]) => s.count > 0)
    .map(([k, s]) => {
      const c = r.latencyCycles[k]!;
      return [k, s.count, `${f1(s.min)} [${c.min}]`, `${f1(s.mean)} [${f1(c.mean)}]`, `${f1(s.p50)} [${c.p50}]`, `${f1(s.p99)} [${c.p99}]`, `${f1(s.max)} [${c.max}]`];
    });
  out.push(formatTable(['class', 'count', 'min', 'mean', 'p50', 'p99', 'max'], rows).trimEnd());
  out.push('');
  out.push('links (per direction)');
  out.push(
    formatTable(
      ['direction', 'flits', 'payload B', 'utilization', 'efficiency', 'payload GB/s', 'raw GB/s', 'CRC errors', 'retries'],
      r.links.map((l) => [l.name, l.flits, l.payloadBytes, pct(l.utilization), pct(l.efficiency), l.payloadGBps.toFixed(2), l.rawGBps.toFixed(1), l.crcErrors, l.retries]),
    ).trimEnd(),
  );
  out.push('');
  out.push(`DRAM: ${r.dram.map((d) => `node ${d.node} data bus ${pct(d.utilization)} (${d.reads} reads, ${d.writes} writes)`).join('; ')}`);
  out.push(`back-pressure and credit stalls: ${Object.entries(r.stalls).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  out.push('');
  const c = r.check;
  if (c.enabled) {
    const bad = c.mismatches + c.lost + c.duplicated;
    out.push(`check against golden memory: ${bad === 0 ? 'PASS' : 'FAIL'}: ${c.readsChecked} reads checked, ${c.mismatches} mismatches, ${c.lost} lost, ${c.duplicated} duplicated`);
    for (const e of c.firstErrors) out.push(`  ${e}`);
  } else {
    out.push('check against golden memory: off (--no-check)');
  }
  out.push('');
  out.push(`idle remote read, stage by stage (${f1(r.idleRemoteReadNs)} ns in all; from the parameters, pinned by a test against a measured read):`);
  const w = Math.max(...r.breakdownNs.map((s) => s.stage.length));
  for (const s of r.breakdownNs) out.push(`  ${s.stage.padEnd(w)}  ${f1(s.ns ?? 0).padStart(7)} ns  (${s.cycles} cycles)`);
  return `${out.join('\n')}\n`;
}
