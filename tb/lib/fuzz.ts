/**
 * `npm run fuzz [-- --shard=i/n] [--runs N] [--seconds S]`: the property suites with many more runs.
 *
 * Runs vitest over tb/ with CXLFAB_RUNS raised (default 2000 = 20x the normal count) and a
 * per-property time box (CXLFAB_PROPERTY_SECONDS, default 10 s), so a campaign's length is bounded
 * whatever the run count. The regression seed is printed first; a failure leaves its replay file
 * and waves under waves/ like any test. `--shard=i/n` is passed to vitest so a large campaign
 * splits across machines (each shard runs different test files).
 */
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
let runs = process.env.CXLFAB_RUNS ?? '2000';
let seconds = process.env.CXLFAB_PROPERTY_SECONDS ?? '10';
const passthrough: string[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  if (a === '--runs') runs = args[++i] ?? runs;
  else if (a.startsWith('--runs=')) runs = a.slice(7);
  else if (a === '--seconds') seconds = args[++i] ?? seconds;
  else if (a.startsWith('--seconds=')) seconds = a.slice(10);
  else passthrough.push(a);
}
for (const [name, v] of [['--runs', runs], ['--seconds', seconds]] as const) {
  if (!/^\d+$/.test(v)) {
    process.stderr.write(`fuzz: ${name} must be a whole number, got '${v}'\n`);
    process.exit(2);
  }
}
const seed = process.env.CXLFAB_SEED ?? String(Date.now() % 2 ** 31);
process.stdout.write(`fuzz: CXLFAB_SEED=${seed} CXLFAB_RUNS=${runs} CXLFAB_PROPERTY_SECONDS=${seconds} ${passthrough.join(' ')}\n`);
const r = spawnSync('npx', ['vitest', 'run', ...passthrough], {
  stdio: 'inherit',
  env: { ...process.env, CXLFAB_SEED: seed, CXLFAB_RUNS: runs, CXLFAB_PROPERTY_SECONDS: seconds },
});
process.exit(r.status ?? 1);
