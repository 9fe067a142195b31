import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';
import type { CliIo } from '../../src/cli/command.ts';
import { readVcdFile } from '../../src/vcd/VcdReader.ts';
import { gtkwaveCheck } from '../lib/gtkwave.ts';

function io(): CliIo & { stdout: string; stderr: string } {
  const o = { stdout: '', stderr: '', isTTY: false, out: (t: string) => void (o.stdout += t), err: (t: string) => void (o.stderr += t) };
  return o;
}

async function run(args: string[]) {
  const b = io();
  const code = await main(args, b);
  return { code, ...b };
}

describe('cxlfab run', () => {
  it('--json has every field the issue names, the check passes, and the numbers add up', async () => {
    const r = await run(['run', '--cycles', '3000', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    for (const k of ['cycles', 'clockGHz', 'wallSeconds', 'cyclesPerSecond', 'requests', 'latencyNs', 'links', 'check', 'breakdownNs']) expect(j).toHaveProperty(k);
    for (const k of ['issued', 'completed', 'local', 'remote', 'errors']) expect(typeof j.requests[k]).toBe('number');
    expect(j.cycles).toBe(3000);
    expect(j.requests.issued).toBeGreaterThan(100);
    // After the drain every issued command has its answer.
    expect(j.requests.completed).toBe(j.requests.issued);
    expect(j.requests.local + j.requests.remote + j.requests.errors).toBe(j.requests.completed);
    expect(j.requests.remote).toBeGreaterThan(0);
    for (const cls of ['localRead', 'remoteRead', 'localWrite', 'remoteWrite']) {
      const s = j.latencyNs[cls];
      expect(s.count).toBeGreaterThan(0);
      expect(s.min).toBeLessThanOrEqual(s.p50);
      expect(s.p50).toBeLessThanOrEqual(s.p99);
      expect(s.p99).toBeLessThanOrEqual(s.max);
    }
    // No remote read beats the idle path, less tRCD when its DRAM row is already open (16 ns here).
    expect(j.latencyNs.remoteRead.min).toBeGreaterThanOrEqual(j.idleRemoteReadNs - 16 - 1e-9);
    expect(j.links).toHaveLength(2);
    for (const l of j.links) for (const k of ['name', 'flits', 'payloadBytes', 'utilization', 'efficiency']) expect(l).toHaveProperty(k);
    expect(j.check).toMatchObject({ mismatches: 0, lost: 0, duplicated: 0 });
    expect(j.check.readsChecked).toBeGreaterThan(0);
    const sum = j.breakdownNs.reduce((a: number, s: { ns: number }) => a + s.ns, 0);
    expect(sum).toBeCloseTo(j.idleRemoteReadNs, 9);
  });

  it('the text report names the sections and the VCD of a run passes the strict reader and GTKWave', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cxlfab-'));
    const vcd = join(dir, 'two-node.vcd');
    const r = await run(['run', '--cycles', '400', '--vcd', vcd]);
    expect(r.code).toBe(0);
    for (const s of ['requests:', 'latency by class', 'links (per direction)', 'DRAM:', 'back-pressure', 'check against golden memory: PASS', 'idle remote read, stage by stage']) expect(r.stdout).toContain(s);
    expect(existsSync(vcd)).toBe(true);
    expect(existsSync(vcd.replace(/\.vcd$/, '.gtkw'))).toBe(true);
    const check = await run(['waves', 'check', vcd]);
    expect(check.code).toBe(0);
    const parsed = readVcdFile(vcd, { collectChanges: false });
    expect(parsed.vars.some((v) => v.path.startsWith('top.nodeA.dev.decoder'))).toBe(true);
    expect(parsed.vars.some((v) => v.path.startsWith('top.link.a.packer'))).toBe(true);
    gtkwaveCheck(vcd, vcd.replace(/\.vcd$/, '.gtkw'));
  });

  it('--trace limits the waves to the matching signals', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cxlfab-'));
    const vcd = join(dir, 't.vcd');
    expect((await run(['run', '--cycles', '100', '--vcd', vcd, '--trace', 'top.nodeB.mem.*'])).code).toBe(0);
    const parsed = readVcdFile(vcd, { collectChanges: false });
    const paths = parsed.vars.map((v) => v.path).filter((p) => !p.endsWith('clk'));
    expect(paths.length).toBeGreaterThan(0);
    for (const p of paths) expect(p.startsWith('top.nodeB.mem.')).toBe(true);
  });

  const bad: Array<[string, string[], RegExp]> = [
    ['missing scenario file', ['run', 'no/such.json'], /no such file/],
    ['not JSON', ['run', '@badjson'], /not valid JSON/],
    ['unknown field', ['run', '--set', 'link.lanez=8'], /link\.lanez: unknown field/],
    ['bad enum', ['run', '--set', 'link.lanes=3'], /link\.lanes: must be one of/],
    ['cross-field rule', ['run', '--set', 'nodes[1].id=0'], /nodes\[1\]\.id: node id 0 is used twice/],
    ['bad --cycles', ['run', '--cycles', 'ten'], /--cycles must be a whole number/],
    ['bad --vcd', ['run', '--vcd', 'waves/x.txt'], /--vcd must name a \.vcd file/],
    ['unknown flag', ['run', '--frobnicate'], /Unknown option/i],
    ['two scenarios', ['run', 'a.json', 'b.json'], /one scenario file at most/],
  ];
  for (const [what, args, msg] of bad) {
    it(`bad input → exit 2 with one clear message: ${what}`, async () => {
      let a = args;
      if (args[1] === '@badjson') {
        const f = join(mkdtempSync(join(tmpdir(), 'cxlfab-')), 'bad.json');
        writeFileSync(f, '{ nodes: ');
        a = ['run', f];
      }
      const r = await run(a);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(msg);
    });
  }

  it('an empty scenario object is a working two-node system', async () => {
    const f = join(mkdtempSync(join(tmpdir(), 'cxlfab-')), 'empty.json');
    writeFileSync(f, '{}');
    const r = await run(['run', f, '--cycles', '2000', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.requests.remote).toBeGreaterThan(0);
    expect(j.check.mismatches).toBe(0);
  });
});
