import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Simulator } from '../../src/sim/Simulator.ts';
import { openVcd, type VcdTracer } from '../../src/vcd/Tracer.ts';
import { readVcdFile } from '../../src/vcd/VcdReader.ts';
import { env } from './env.ts';
import { gtkwaveCheck } from './gtkwave.ts';

/**
 * Waveforms for testbenches. Every VCD a test writes is validated twice before the test may
 * pass: by our strict reader (src/vcd/VcdReader.ts) and by headless GTKWave (tb/lib/gtkwave.ts,
 * skipped outside CI when GTKWave is not installed).
 *
 *   withWaves('decoder_basic', sim, () => { ...drive sim... });   // waves/decoder_basic.vcd + .gtkw
 *   checkProperty(name, prop, { rerunTraced: (v, base) => { const w = traceTo(base, sim); try {...} finally { w.close(); } } });
 *
 * CXLFAB_WAVES=off turns withWaves into a plain call of body (nothing written or checked).
 */

export interface WavesOptions {
  /** Globs over signal paths (Tracer.ts); default everything. */
  readonly trace?: readonly string[];
}

/** Validate a VCD (and its .gtkw) with the strict reader and GTKWave; throws naming the file. */
export function validateWaves(vcdPath: string, gtkwPath?: string): void {
  try {
    readVcdFile(vcdPath, { collectChanges: false });
  } catch (e) {
    throw new Error(`${vcdPath}: ${e instanceof Error ? e.message : String(e)}`);
  }
  gtkwaveCheck(vcdPath, gtkwPath);
}

/**
 * Trace `sim` into `${base}.vcd` + `${base}.gtkw` (for pbt rerunTraced). close() closes the files
 * and validates them; it throws if either validator rejects them.
 */
export function traceTo(base: string, sim: Simulator, opts: WavesOptions = {}): { close(): void; readonly tracer: VcdTracer } {
  mkdirSync(dirname(base), { recursive: true });
  const tracer = openVcd(sim, base, opts.trace ? { trace: opts.trace } : {});
  let closed = false;
  return {
    tracer,
    close(): void {
      if (closed) return;
      closed = true;
      tracer.close();
      validateWaves(`${base}.vcd`, `${base}.gtkw`);
    },
  };
}

/**
 * Run `body` with `sim` traced into waves/<name>.vcd + .gtkw (unless CXLFAB_WAVES=off), close the
 * files even when body throws (a failing testbench leaves its waves), then validate them. Body's
 * own error wins over a validation error; the result of body is returned.
 */
export function withWaves<T>(name: string, sim: Simulator, body: () => T, opts: WavesOptions = {}): T {
  if (env.waves === 'off') return body();
  if (!/^[A-Za-z0-9_.\-/]+$/.test(name)) throw new Error(`withWaves: name '${name}' must be a file name (letters, digits, _ . - /)`);
  const w = traceTo(`waves/${name}`, sim, opts);
  let result: T;
  try {
    result = body();
  } catch (e) {
    try {
      w.close();
    } catch {
      // The testbench failure is the news; a broken VCD behind it is reported when re-run.
    }
    throw e;
  }
  w.close();
  return result;
}
