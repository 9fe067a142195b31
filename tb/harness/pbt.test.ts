import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readVcdFile } from '../../src/vcd/VcdReader.ts';

/** Run the probe in a child process (the harness reads its environment once, at load). */
function probe(env: Record<string, string>): Record<string, string> {
  const text = execFileSync(process.execPath, ['--import', 'tsx', 'tb/harness/replayProbe.ts'], {
    env: { ...process.env, CXLFAB_WAVES: 'fail', ...env },
    encoding: 'utf8',
  });
  return JSON.parse(text.trim().split('\n').pop()!) as Record<string, string>;
}

const counterexample = (msg: string) => /Counterexample: (.*)/.exec(msg)?.[1];

describe('property harness (tb/lib/pbt.ts)', () => {
  it('a failure prints seed and path, leaves a replay file and the waves of the shrunk case, and CXLFAB_REPLAY reproduces it', () => {
    for (const f of ['harness-probe-counter', 'harness-probe-commands']) {
      for (const ext of ['.replay.json', '.vcd', '.gtkw']) rmSync(`waves/${f}${ext}`, { force: true });
    }
    const first = probe({ CXLFAB_SEED: '12345' });
    const c = first['harness-probe-counter']!;
    expect(c).toMatch(/seed: -?\d+, path: "[\d:]+"/);
    expect(c).toContain('CXLFAB_SEED=12345');
    // The shrunk case is the smallest failing input: n = 700 (k = 1).
    expect(counterexample(c)).toBe('[700,1]');
    const replay = JSON.parse(readFileSync('waves/harness-probe-counter.replay.json', 'utf8'));
    expect(replay).toMatchObject({ name: 'harness-probe-counter' });
    expect(typeof replay.seed).toBe('number');
    expect(typeof replay.path).toBe('string');
    // Waves come from one re-run of the shrunk case and pass the strict reader.
    expect(existsSync('waves/harness-probe-counter.gtkw')).toBe(true);
    const vcd = readVcdFile('waves/harness-probe-counter.vcd');
    expect(vcd.vars.some((v) => v.path === 'top.value')).toBe(true);
    // Commands: the replay file carries the replayPath.
    const cmds = JSON.parse(readFileSync('waves/harness-probe-commands.replay.json', 'utf8'));
    expect(typeof cmds.replayPath).toBe('string');
    expect(counterexample(first['harness-probe-commands']!)).toContain('add(13)');

    // Replay with a different regression seed: the same counterexample comes back.
    const again = probe({ CXLFAB_SEED: '999', CXLFAB_REPLAY: 'waves/harness-probe-counter.replay.json' });
    expect(counterexample(again['harness-probe-counter']!)).toBe(counterexample(c));
    const againCmds = probe({ CXLFAB_SEED: '999', CXLFAB_REPLAY: 'waves/harness-probe-commands.replay.json' });
    expect(counterexample(againCmds['harness-probe-commands']!)?.replace(/\/\*.*\*\//, '').trim()).toBe(
      counterexample(first['harness-probe-commands']!)?.replace(/\/\*.*\*\//, '').trim(),
    );
  });

  it('CXLFAB_WAVES=off writes no waves', () => {
    rmSync('waves/harness-probe-counter.vcd', { force: true });
    probe({ CXLFAB_SEED: '12345', CXLFAB_WAVES: 'off' });
    expect(existsSync('waves/harness-probe-counter.vcd')).toBe(false);
  });
});
