import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * V8 keeps a class's number fields as small integers (tagged in the object) until one instance
 * is given a number it holds as a double, e.g. one read from a Float64Array in optimized code;
 * from then on that field is a pointer to a boxed double in every instance. For Reg's q and d
 * that makes every register read and every commit at the clock edge go through a box (measured
 * ~7 % slower untraced). Nothing breaks when it happens, so this test watches for it: it runs the
 * two-node system in a child process that may ask V8 (--allow-natives-syntax) whether each
 * register's q and d are small integers. A failure names a register; find what writes a
 * double-typed number into it (or into a value it is copied from) and write `x | 0` there when
 * the value is a small integer by construction.
 */

const ROOT = resolve(import.meta.dirname, '../..');

const SCRIPT = `
const { readFileSync } = await import('node:fs');
const { loadSystemConfig } = await import(${JSON.stringify(`${ROOT}/src/config/system.ts`)});
const { Simulator } = await import(${JSON.stringify(`${ROOT}/src/sim/index.ts`)});
const { TwoNodeFabric } = await import(${JSON.stringify(`${ROOT}/rtl/system/TwoNodeFabric.ts`)});
const isSmi = new Function('v', 'return %IsSmi(v)');
const scenario = JSON.parse(readFileSync(${JSON.stringify(`${ROOT}/scenarios/two-node.json`)}, 'utf8'));
const out = [];
for (const overrides of JSON.parse(process.argv[1])) {
  const sim = new Simulator(new TwoNodeFabric(loadSystemConfig(structuredClone(scenario), overrides)));
  sim.step(20000);
  out.push({ overrides, boxed: sim.regs.filter((r) => !isSmi(r.q) || !isSmi(r.d)).map((r) => r.path) });
}
console.log(JSON.stringify(out));
`;

describe('registers stay small integers in V8 (a speed property, checked structurally)', () => {
  it('two-node system, 68B and 256B flits, with and without link faults: no register is boxed', () => {
    const configs = [[], ['link.flitMode="256B"', 'link.gtps=64'], ['link.faults.bitErrorRate=0.0001', 'link.faults.dropRate=0.002']];
    const stdout = execFileSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', '--input-type=module', '-e', SCRIPT, JSON.stringify(configs)], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
    const runs = JSON.parse(stdout.trim().split('\n').pop()!) as Array<{ overrides: string[]; boxed: string[] }>;
    expect(runs.length).toBe(configs.length);
    for (const r of runs) expect(r.boxed, `boxed registers with ${r.overrides.join(' ') || 'the defaults'}`).toEqual([]);
  });
});
