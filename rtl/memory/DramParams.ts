import { ConfigError, nsToCycles, type ClockSpec } from '../../src/sim/index.ts';
import { LINE_BYTES } from '../cxl/opcodes.ts';

/**
 * DRAM timing and geometry, in the units of a datasheet. Converted once to cycles by
 * `dramTiming()`. Defaults (`DDR5_4800`) are a DDR5-4800-like single channel with a 64-bit data
 * bus: 4800 MT/s × 8 B = 38.4 GB/s peak (the device behind "CXL-A" in reference/cxl-protocol.md
 * §7.3), tRCD = tCL = tRP = 16 ns (≈ CL40 at 2400 MHz, JEDEC DDR5-4800B class).
 *
 * Address mapping (line-interleaved channels, then row-buffer-sized chunks across banks):
 *   line      = pa / 64
 *   channel   = line mod channels
 *   lineInCh  = floor(line / channels)
 *   column    = lineInCh mod (rowBytes / 64)         (line within the open row)
 *   bank      = floor(lineInCh / (rowBytes / 64)) mod banksPerChannel
 *   row       = floor(lineInCh / (rowBytes / 64) / banksPerChannel)
 * So a sequential stream hits one row for rowBytes bytes, then moves to the next bank (whose
 * activation overlaps the current bank's bursts), and a random stream spreads over all banks.
 */
export interface DramParams {
  /** ACT → column command (row to column delay), ns. */
  readonly tRCDns: number;
  /** Read column command → first data beat (CAS latency), ns. */
  readonly tCLns: number;
  /** Write column command → first data beat (CAS write latency), ns. */
  readonly tCWLns: number;
  /** PRE → ACT on the same bank (row precharge), ns. */
  readonly tRPns: number;
  /** Data rate of the data bus, mega-transfers per second (DDR5-4800: 4800). */
  readonly dataRateMTps: number;
  /** Data bus width in bits per channel (one DDR5 DIMM: 64 data bits). */
  readonly busWidthBits: number;
  /** Independent channels, each with its own data bus and banks. */
  readonly channels: number;
  /** Banks per channel (DDR5: 8 bank groups × 4 banks = 32 per rank). */
  readonly banksPerChannel: number;
  /** Row buffer (page) size per bank, bytes (DDR5 x8 devices × 8: 8 KiB). */
  readonly rowBytes: number;
  /** Capacity of this node's DRAM, bytes (≤ 2^52). An access at or beyond it is a model error. */
  readonly capacityBytes: number;
  /** Requests the scheduler holds at once (the DRAM controller's bounded request queue). */
  readonly queueDepth: number;
  /** Depth of the `req` input channel (requests waiting to enter the queue). */
  readonly reqDepth: number;
  /** Depth of the `rsp` output channel. */
  readonly rspDepth: number;
}

export const DDR5_4800: DramParams = {
  tRCDns: 16,
  tCLns: 16,
  tCWLns: 16,
  tRPns: 16,
  dataRateMTps: 4800,
  busWidthBits: 64,
  channels: 1,
  banksPerChannel: 32,
  rowBytes: 8192,
  capacityBytes: 64 * 2 ** 30,
  queueDepth: 32,
  reqDepth: 2,
  rspDepth: 4,
};

/** DRAM timing in cycles of the simulation clock, each converted once with nsToCycles (rounded up). */
export interface DramTiming {
  readonly tRCD: number;
  readonly tCL: number;
  readonly tCWL: number;
  readonly tRP: number;
  /** Data-bus time of one 64-byte line, also the minimum spacing of column commands on a bank (tCCD). */
  readonly tBurst: number;
  /** Time of one 64-byte burst in ns before rounding (for the analytic peak at the pins). */
  readonly burstNs: number;
}

/** Time to move one 64-byte line over one channel's data bus, ns. */
export function burstNs(p: Pick<DramParams, 'dataRateMTps' | 'busWidthBits'>): number {
  const bytesPerNs = (p.dataRateMTps * p.busWidthBits) / 8 / 1000;
  return LINE_BYTES / bytesPerNs;
}

export function dramTiming(p: DramParams, clock: ClockSpec): DramTiming {
  const b = burstNs(p);
  return {
    tRCD: nsToCycles(p.tRCDns, clock),
    tCL: nsToCycles(p.tCLns, clock),
    tCWL: nsToCycles(p.tCWLns, clock),
    tRP: nsToCycles(p.tRPns, clock),
    tBurst: Math.max(1, nsToCycles(b, clock)),
    burstNs: b,
  };
}

/** Check every field; throws ConfigError naming `${path}.<field>` and the rule broken. */
export function validateDramParams(p: DramParams, path: string): void {
  for (const f of ['tRCDns', 'tCLns', 'tCWLns', 'tRPns'] as const) {
    if (!(Number.isFinite(p[f]) && p[f] >= 0)) throw new ConfigError(`${path}.${f}`, `must be a finite number of ns ≥ 0, got ${p[f]}`);
  }
  for (const f of ['dataRateMTps', 'busWidthBits'] as const) {
    if (!(Number.isFinite(p[f]) && p[f] > 0)) throw new ConfigError(`${path}.${f}`, `must be a number > 0, got ${p[f]}`);
  }
  for (const f of ['channels', 'banksPerChannel', 'queueDepth', 'reqDepth', 'rspDepth'] as const) {
    if (!(Number.isInteger(p[f]) && p[f] >= 1)) throw new ConfigError(`${path}.${f}`, `must be an integer ≥ 1, got ${p[f]}`);
  }
  if (!(Number.isInteger(p.rowBytes) && p.rowBytes >= LINE_BYTES && p.rowBytes % LINE_BYTES === 0)) {
    throw new ConfigError(`${path}.rowBytes`, `must be a multiple of ${LINE_BYTES} bytes ≥ ${LINE_BYTES}, got ${p.rowBytes}`);
  }
  if (!(Number.isInteger(p.capacityBytes) && p.capacityBytes >= LINE_BYTES && p.capacityBytes <= 2 ** 52 && p.capacityBytes % LINE_BYTES === 0)) {
    throw new ConfigError(`${path}.capacityBytes`, `must be a multiple of ${LINE_BYTES} bytes in [64, 2^52], got ${p.capacityBytes}`);
  }
}
