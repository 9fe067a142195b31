import { mkdirSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { env } from './env.ts';

/**
 * The one way property tests run in cxlfab.
 *
 * - The seed is the regression seed combined with the property name, so a property reproduces
 *   alone and independently of which other tests ran (cocotb's per-test seeding).
 * - On failure: the report names seed and path; `waves/<name>.replay.json` is written; then the
 *   shrunk counterexample is re-run ONCE through `rerunTraced`, which writes `waves/<name>.vcd`
 *   and `.gtkw`. The VCD never comes from inside the predicate: shrinking calls it many times
 *   (fast-check#225).
 * - `CXLFAB_REPLAY=waves/<name>.replay.json` re-runs exactly that case.
 */
export interface PropertyOptions<Ts> {
  /** Runs for this property when CXLFAB_RUNS is at its default of 100 (default 100). */
  readonly numRuns?: number;
  /** Fixed regression cases (shrunk counterexamples of fixed bugs) that always run first. */
  readonly examples?: Ts[];
  /** Re-run one case with waveforms on, writing `${base}.vcd` and `${base}.gtkw`. May throw. */
  readonly rerunTraced?: (value: Ts, base: string) => void;
}

/** Stable 32-bit FNV-1a hash of a property name. */
export function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export function propertySeed(name: string): number {
  return (env.seed ^ nameHash(name)) | 0;
}

function params<Ts>(name: string, opts: PropertyOptions<Ts>): fc.Parameters<Ts> {
  const base = opts.numRuns ?? 100;
  const numRuns = Math.max(1, Math.round((base * env.runs) / 100));
  const replay = env.replay?.name === name ? env.replay : null;
  return {
    seed: replay ? replay.seed : propertySeed(name),
    numRuns,
    ...(replay ? { path: replay.path, endOnFailure: true } : {}),
    ...(opts.examples ? { examples: opts.examples } : {}),
    ...(env.propertySeconds > 0 ? { interruptAfterTimeLimit: env.propertySeconds * 1000, markInterruptAsFailure: false } : {}),
  };
}

/** Pull the replayPath fast-check prints inside a commands counterexample (`/*replayPath="..."*\/`). */
function extractReplayPath(counterexample: unknown): string | undefined {
  const m = /replayPath="([^"]*)"/.exec(fc.stringify(counterexample));
  return m?.[1];
}

function onFailure<Ts>(name: string, details: fc.RunDetails<Ts>, opts: PropertyOptions<Ts>): never {
  const report = fc.defaultReportMessage(details) ?? 'property failed';
  const lines = [report];
  const err = details.errorInstance;
  if (err !== null && err !== undefined && !report.includes('Got error')) {
    lines.push(`Got error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }
  if (details.counterexample !== null && details.counterexamplePath !== null) {
    mkdirSync('waves', { recursive: true });
    const replay = {
      name,
      seed: details.seed,
      path: details.counterexamplePath,
      replayPath: extractReplayPath(details.counterexample),
      regressionSeed: env.seed,
    };
    const file = `waves/${name}.replay.json`;
    writeFileSync(file, `${JSON.stringify(replay, null, 2)}\n`);
    lines.push(`replay: CXLFAB_REPLAY=${file} npm test -- <this test file>`);
    if (opts.rerunTraced && env.waves !== 'off') {
      try {
        opts.rerunTraced(details.counterexample, `waves/${name}`);
        lines.push(`waves: waves/${name}.vcd (+ .gtkw) from a re-run of the shrunk case (it passed when re-run: flaky?)`);
      } catch (e) {
        lines.push(`waves: waves/${name}.vcd (+ .gtkw) from a re-run of the shrunk case, which failed again: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
      }
    }
  }
  lines.push(`regression seed CXLFAB_SEED=${env.seed}, property seed ${details.seed}`);
  throw new Error(lines.join('\n'));
}

/** CXLFAB_WAVES=all: a passing property also leaves the waves of its first generated case. */
function tracePassingCase<Ts>(name: string, property: fc.IRawProperty<Ts>, opts: PropertyOptions<Ts>): void {
  if (env.waves !== 'all' || !opts.rerunTraced) return;
  const [first] = fc.sample(property, { seed: propertySeed(name), numRuns: 1 });
  if (first !== undefined) opts.rerunTraced(first, `waves/${name}`);
}

/** Run a synchronous property; throws a report on failure. */
export function checkProperty<Ts>(name: string, property: fc.IProperty<Ts>, opts: PropertyOptions<Ts> = {}): void {
  const details = fc.check(property, params(name, opts));
  if (details.failed) onFailure(name, details, opts);
  tracePassingCase(name, property, opts);
}

/** Run an asynchronous property; rejects with a report on failure. */
export async function checkAsyncProperty<Ts>(name: string, property: fc.IAsyncProperty<Ts>, opts: PropertyOptions<Ts> = {}): Promise<void> {
  const details = await fc.check(property, params(name, opts));
  if (details.failed) onFailure(name, details, opts);
  tracePassingCase(name, property, opts);
}

/** fc.commands with the replayPath of a CXLFAB_REPLAY file for this property, if any. */
export function replayableCommands<Model extends object, Real>(
  name: string,
  arbs: Array<fc.Arbitrary<fc.Command<Model, Real>>>,
  constraints: { maxCommands?: number; size?: fc.SizeForArbitrary } = {},
): fc.Arbitrary<Iterable<fc.Command<Model, Real>>> {
  const replayPath = env.replay?.name === name ? env.replay.replayPath : undefined;
  return fc.commands(arbs, { ...constraints, ...(replayPath ? { replayPath } : {}) });
}
