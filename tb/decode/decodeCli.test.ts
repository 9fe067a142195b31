import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => void (out += t), err: (t) => void (err += t), isTTY: false });
  return { code, out, err };
}

const EXAMPLE = 'scenarios/decode-example.json';

function tempConfig(obj: unknown, raw?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'cxlfab-decode-'));
  const f = join(dir, 'cfg.json');
  writeFileSync(f, raw ?? JSON.stringify(obj));
  return f;
}

describe('cxlfab decode', () => {
  it('prints decoder, way, target node and DPA for the spec 8-way/512 B example', async () => {
    const r = await cli('decode', '--config', EXAMPLE, '--hpa', '0x20_4000_0404');
    expect(r.code).toBe(0);
    expect(r.out).toContain('decoder 1: HPA 0x20_0000_0000..0x22_0000_0000 (8 GiB), 8-way at 512 B');
    expect(r.out).toMatch(/way +2 of 8/);
    expect(r.out).toMatch(/target +node 3/);
    expect(r.out).toMatch(/DPA +0x1_0800_0004\n/);
  });

  it('12-way/512 B: DPA offset 958h above the decoder DPA base (6 GiB here: 1 GiB skip + 4 GiB + 8 GiB / 8)', async () => {
    const r = await cli('decode', '--config', EXAMPLE, '--hpa', String(144 * 2 ** 30 + 24920), '--requester', '1', '--write');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/DPA +0x1_8000_0958\n/);
  });

  it('says exactly why an access is refused (exit 1)', async () => {
    const r = await cli('decode', '--config', EXAMPLE, '--hpa', '0x20_4000_0404', '--requester', '1', '--write');
    expect(r.code).toBe(1);
    expect(r.out).toContain('refused: decoder 1 claims it, but VM 1 is not granted write (writers: 0)');
    const r2 = await cli('decode', '--config', EXAMPLE, '--hpa', '64G', '--requester', '5');
    expect(r2.code).toBe(1);
    expect(r2.out).toContain('VM 5 is not granted read (readers: 0)');
  });

  it('says an address is unclaimed and lists what is committed (exit 1)', async () => {
    const r = await cli('decode', '--config', EXAMPLE, '--hpa', '100G');
    expect(r.code).toBe(1);
    expect(r.out).toContain('unclaimed: no committed decoder covers this address');
    expect(r.out).toContain('decoder 2: HPA 0x24_0000_0000..0x27_0000_0000 (12 GiB), 12-way at 512 B');
  });

  it('reads a whole-system config: nodes[i].device.ranges of the chosen node', async () => {
    const r = await cli('decode', '--config', 'scenarios/two-node.json', '--hpa', '0x40_0000_0040', '--node', '1');
    expect(r.code).toBe(0);
    expect(r.out).toContain('nodes[1].device.ranges (node 1, B)');
    expect(r.out).toMatch(/target +node 0/);
    expect(r.out).toMatch(/DPA +0x8_0000_0040/);
  });

  it('bad address, bad config, bad JSON, missing flags: a clear message and exit 2', async () => {
    const bad = await cli('decode', '--config', EXAMPLE, '--hpa', '12 apples');
    expect([bad.code, bad.err]).toEqual([2, expect.stringContaining("--hpa: '12 apples' is not an address")]);
    const f = tempConfig({ decoders: [{ base: '4G', size: '1G', ways: 5, granularity: 256, targets: [1, 2, 3, 4, 5] }] });
    const cfg = await cli('decode', '--config', f, '--hpa', '4G');
    expect(cfg.code).toBe(2);
    expect(cfg.err).toContain('decoders[0].ways: must be 1, 2, 4, 8, 16, 3, 6 or 12');
    const overlap = await cli('decode', '--config', tempConfig({ decoders: [{ base: '4G', size: '1G', ways: 1, granularity: 256, targets: [1] }, { base: '4G', size: '1G', ways: 1, granularity: 256, targets: [1] }] }), '--hpa', '4G');
    expect(overlap.code).toBe(2);
    expect(overlap.err).toMatch(/decoders\[1\]\.base: commit refused \(Error Not Committed\)/);
    const json = await cli('decode', '--config', tempConfig(null, '{ "decoders": ['), '--hpa', '4G');
    expect(json.code).toBe(2);
    expect(json.err).toContain('not valid JSON');
    const none = await cli('decode', '--config', tempConfig({ colour: 1 }), '--hpa', '4G');
    expect([none.code, none.err]).toEqual([2, expect.stringContaining('needs "decoders"')]);
    expect((await cli('decode', '--config', EXAMPLE)).code).toBe(2);
    expect((await cli('decode', '--config', EXAMPLE, '--hpa', '0', '--requester', '64')).code).toBe(2);
    expect((await cli('decode', '--config', '/nonexistent.json', '--hpa', '0')).code).toBe(2);
  });
});
