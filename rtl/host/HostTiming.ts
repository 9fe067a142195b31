import { ConfigError, nsToCycles, type ClockSpec } from '../../src/sim/index.ts';

/**
 * Host-side stage latencies as a configuration gives them, in ns. No defaults here: the values
 * come from the scenario / profile (src/config), which cites their source.
 */
export interface HostTimingNs {
  /** VM page-table (TLB) lookup between a vCPU issuing and the router seeing the command. */
  readonly pageTableNs: number;
  /** Host router request stage (on-die fabric from the core to the memory controller or device port). */
  readonly routerRequestNs: number;
  /** Host router response stage (back to the core). */
  readonly routerResponseNs: number;
}

export interface HostTimingCycles {
  readonly pageTableLatencyCycles: number;
  readonly requestLatencyCycles: number;
  readonly responseLatencyCycles: number;
}

/**
 * Convert once, at elaboration: rounded up (nsToCycles), and at least one cycle, because every
 * stage ends in a registered channel (a command cannot cross a stage in zero cycles).
 */
export function hostTimingCycles(t: HostTimingNs, clock: ClockSpec, where = 'host'): HostTimingCycles {
  const cyc = (field: keyof HostTimingNs): number => {
    const ns = t[field];
    if (!(typeof ns === 'number' && Number.isFinite(ns) && ns >= 0)) throw new ConfigError(`${where}.${field}`, `must be a finite number of ns ≥ 0, got ${String(ns)}`);
    return Math.max(1, nsToCycles(ns, clock));
  };
  return {
    pageTableLatencyCycles: cyc('pageTableNs'),
    requestLatencyCycles: cyc('routerRequestNs'),
    responseLatencyCycles: cyc('routerResponseNs'),
  };
}
