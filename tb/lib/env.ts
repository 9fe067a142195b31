import { existsSync, readFileSync } from 'node:fs';

/**
 * Every knob a testbench reads from the environment, read here and nowhere else.
 *
 * - CXLFAB_SEED: regression seed (integer). Default: drawn from the clock and printed with every
 *   failure. Each property's own seed is this seed combined with a hash of the property name
 *   (cocotb's scheme), so running one test alone reproduces it.
 * - CXLFAB_RUNS: runs of a standard property (default 100). Heavier properties declare a smaller
 *   base count and are scaled by CXLFAB_RUNS / 100, so `npm run fuzz` raises all of them at once.
 * - CXLFAB_WAVES: fail (default) = directed testbenches write their waves, and a property writes
 *   waves only for its shrunk counterexample; all = a passing property also writes the waves of its
 *   first generated case; off = no waves at all.
 * - CXLFAB_REPLAY: path of a `waves/<test>.replay.json` written by a failure: that property re-runs
 *   exactly the failing case (seed, path, replayPath); other properties run as usual.
 * - CXLFAB_PROPERTY_SECONDS: wall-clock budget per property (default: none). `npm run fuzz` sets it
 *   so a campaign with many runs stays inside its time box; runs cut short count as passed.
 * - CI: when 'true', tests that need GTKWave fail instead of skipping when it is missing.
 */
export type WavesMode = 'fail' | 'all' | 'off';

export interface ReplayFile {
  readonly name: string;
  readonly seed: number;
  readonly path: string;
  readonly replayPath?: string;
}

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new Error(`${name}=${raw}: must be an integer`);
  return n;
}

function wavesEnv(): WavesMode {
  const raw = process.env.CXLFAB_WAVES ?? 'fail';
  if (raw !== 'fail' && raw !== 'all' && raw !== 'off') throw new Error(`CXLFAB_WAVES=${raw}: must be fail, all or off`);
  return raw;
}

function replayEnv(): ReplayFile | null {
  const p = process.env.CXLFAB_REPLAY;
  if (!p) return null;
  if (!existsSync(p)) throw new Error(`CXLFAB_REPLAY=${p}: no such file`);
  const r = JSON.parse(readFileSync(p, 'utf8')) as ReplayFile;
  if (typeof r.name !== 'string' || typeof r.seed !== 'number' || typeof r.path !== 'string') {
    throw new Error(`CXLFAB_REPLAY=${p}: expected {name, seed, path, replayPath?}`);
  }
  return r;
}

export const env = {
  seed: intEnv('CXLFAB_SEED', Date.now() % 2 ** 31),
  runs: intEnv('CXLFAB_RUNS', 100),
  waves: wavesEnv(),
  replay: replayEnv(),
  propertySeconds: intEnv('CXLFAB_PROPERTY_SECONDS', 0),
  ci: process.env.CI === 'true',
} as const;
