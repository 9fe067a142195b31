import { LatencyHistogram } from '../../src/stats/LatencyHistogram.ts';
import { LATENCY_CLASS_NAMES, type VcpuPort } from './VcpuPort.ts';

/**
 * Report-time views of the host side's statistics (allocates; never called per cycle).
 */

/** Per latency class, the histograms of all given ports merged: [className, histogram][]. */
export function mergedLatencyByClass(ports: readonly VcpuPort[], label = ''): Array<[string, LatencyHistogram]> {
  return LATENCY_CLASS_NAMES.map((name, cls) => {
    const first = ports[0]?.latency[cls];
    const h = new LatencyHistogram(`${label}${name}`, first ? first.maxExactCycles : 0);
    for (const p of ports) h.merge(p.latency[cls]!);
    return [`${label}${name}`, h];
  });
}

export interface PortCounters {
  readonly path: string;
  readonly vm: number;
  readonly issued: number;
  readonly completed: number;
  readonly inflight: number;
  readonly pageFaults: number;
  readonly nxmAnswers: number;
  readonly issueStallCycles: number;
}

export function portCounters(p: VcpuPort): PortCounters {
  return {
    path: p.path,
    vm: p.vm,
    issued: p.issued,
    completed: p.completed,
    inflight: p.inflight,
    pageFaults: p.pageFaults,
    nxmAnswers: p.nxmAnswers,
    issueStallCycles: p.issueStallCycles,
  };
}
