import { describe, expect, it } from 'vitest';
import { HostOp } from '../../rtl/host/HostMsg.ts';
import { mergedLatencyByClass, portCounters } from '../../rtl/host/HostStats.ts';
import { hostTimingCycles } from '../../rtl/host/HostTiming.ts';
import { VcpuProgram } from '../../rtl/host/VcpuProgram.ts';
import { ConfigError } from '../../src/sim/index.ts';
import { formatLatencyTable } from '../../src/stats/index.ts';
import { buildNode, DEV_BASE } from './standins.ts';

describe('host timing from ns', () => {
  it('rounds up at the clock and never gives a zero-cycle stage', () => {
    expect(hostTimingCycles({ pageTableNs: 1.2, routerRequestNs: 5, routerResponseNs: 0 }, { clockGHz: 2 })).toEqual({
      pageTableLatencyCycles: 3,
      requestLatencyCycles: 10,
      responseLatencyCycles: 1,
    });
  });
  it('names the field of a bad value', () => {
    expect(() => hostTimingCycles({ pageTableNs: -1, routerRequestNs: 5, routerResponseNs: 1 }, { clockGHz: 2 }, 'nodes[0].host')).toThrow(ConfigError);
    expect(() => hostTimingCycles({ pageTableNs: 1, routerRequestNs: NaN, routerResponseNs: 1 }, { clockGHz: 2 }, 'nodes[0].host')).toThrow(/nodes\[0\]\.host\.routerRequestNs: must be a finite number of ns/);
  });
});

describe('host statistics views', () => {
  it('merges per-class histograms over ports and reports counters', () => {
    const mk = (addr: number) => new VcpuProgram([{ op: HostOp.Read, vmAddr: addr, waitForPrevious: true }, { op: HostOp.Read, vmAddr: addr + 64, waitForPrevious: true }]);
    const p0 = mk(0);
    const p1 = mk(0x1000);
    const b = buildNode({
      ports: [
        { vm: 0, maxOutstanding: 2, source: p0 },
        { vm: 0, maxOutstanding: 2, source: p1 },
      ],
      mappings: [
        [0, 0, 0x10000, 1],
        [0, 0x1000, DEV_BASE, 1],
      ],
      pageTableLatencyCycles: 1,
      router: { requestLatencyCycles: 1, responseLatencyCycles: 1 },
      dram: { latencyCycles: 4 },
      dev: { latencyCycles: 10 },
    });
    b.sim.runUntil(() => p0.finished && p1.finished, 200);
    const m = new Map(mergedLatencyByClass(b.ports, 'node0.'));
    expect([...m.keys()]).toEqual(['node0.localRead', 'node0.remoteRead', 'node0.localWrite', 'node0.remoteWrite', 'node0.error']);
    expect([m.get('node0.localRead')!.count, m.get('node0.localRead')!.max]).toEqual([2, 7]);
    expect([m.get('node0.remoteRead')!.count, m.get('node0.remoteRead')!.min]).toEqual([2, 13]);
    expect(portCounters(b.ports[1]!)).toMatchObject({ path: 'top.vcpu1', issued: 2, completed: 2, inflight: 0 });
    expect(formatLatencyTable([...m.entries()], { clockGHz: 2 })).toContain('node0.remoteRead');
  });
});
