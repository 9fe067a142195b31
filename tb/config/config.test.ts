import { describe, expect, it } from 'vitest';
import { loadSystemConfig } from '../../src/config/system.ts';
import { ConfigError } from '../../src/sim/index.ts';
import { readFileSync } from 'node:fs';

/** Expect loadSystemConfig to fail on exactly this field with a message containing `rule`. */
function expectError(raw: unknown, overrides: string[], field: string, rule: string): void {
  let err: unknown;
  try {
    loadSystemConfig(raw, overrides);
  } catch (e) {
    err = e;
  }
  expect(err, `expected a ConfigError for ${field}`).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).field).toBe(field);
  expect((err as ConfigError).rule).toContain(rule);
}

describe('system configuration', () => {
  it('an empty file is a complete two-node system with each VM using the other node', () => {
    const c = loadSystemConfig({});
    expect(c.nodes.map((n) => [n.name, n.id])).toEqual([['A', 0], ['B', 1]]);
    expect(c.nodes[0]!.device.ranges[0]!.targets).toEqual([1]);
    expect(c.nodes[1]!.device.ranges[0]!.targets).toEqual([0]);
    expect(c.link.flitMode).toBe('68B');
    // The profile fills the -1 placeholders.
    expect(c.link.phyLatencyNs).toBe(20);
    expect(c.nodes[0]!.device.controllerNs).toBe(45);
  });

  it('the default scenario file validates', () => {
    const c = loadSystemConfig(JSON.parse(readFileSync('scenarios/two-node.json', 'utf8')));
    expect(c.nodes[0]!.vms).toHaveLength(2);
    expect(c.nodes[0]!.device.windowBase).toBe(256 * 2 ** 30);
  });

  it('--set overrides reach nested fields, arrays included', () => {
    const c = loadSystemConfig({}, ['link.lanes=8', 'nodes[1].vms[0].vcpus=3', 'nodes.0.dram.tCLns=20', 'timingProfile=spec']);
    expect(c.link.lanes).toBe(8);
    expect(c.nodes[1]!.vms[0]!.vcpus).toBe(3);
    expect(c.nodes[0]!.dram.tCLns).toBe(20);
    expect(c.nodes[0]!.device.controllerNs).toBe(40);
  });

  it('hex strings are accepted for addresses', () => {
    const c = loadSystemConfig({}, ['nodes[0].vms[0].map[0].hpa="0x80000000"']);
    expect(c.nodes[0]!.vms[0]!.map[0]!.hpa).toBe(2 ** 31);
  });

  // One case per rule: the field path and the rule broken.
  const cases: Array<[string, unknown, string[], string, string]> = [
    ['top level not an object', [], [], '(top level)', 'must be a JSON object'],
    ['unknown field', { lnk: {} }, [], 'lnk', 'unknown field'],
    ['wrong type', { cycles: 'many' }, [], 'cycles', 'must be a number'],
    ['not a whole number', { cycles: 1.5 }, [], 'cycles', 'whole number'],
    ['below minimum', { cycles: 0 }, [], 'cycles', '≥ 1'],
    ['above maximum', { clockGHz: 1000 }, [], 'clockGHz', '≤ 100'],
    ['enum', { link: { lanes: 3 } }, [], 'link.lanes', 'one of'],
    ['enum flit mode', { link: { flitMode: '128B' } }, [], 'link.flitMode', 'one of'],
    ['retry buffer below the spec minimum', { link: { retryBufferEntries: 8 } }, [], 'link.retryBufferEntries', '≥ 22'],
    ['boolean', {}, ['nodes[0].device.poisonOnDecodeError="yes"'], 'nodes[0].device.poisonOnDecodeError', 'true or false'],
    ['bad hex', {}, ['nodes[0].dram.baseHpa="0xZZ"'], 'nodes[0].dram.baseHpa', 'must be a number'],
    ['alignment', {}, ['nodes[0].vms[0].map[0].hpa=4097'], 'nodes[0].vms[0].map[0].hpa', 'multiple of 4096'],
    ['range granularity 256 MiB', {}, ['nodes[0].device.ranges[0].sizeMiB=300'], 'nodes[0].device.ranges[0].sizeMiB', 'multiple of 256'],
    ['ways vs targets', {}, ['nodes[0].device.ranges[0].ways=2'], 'nodes[0].device.ranges[0].targets', 'one target per way'],
    ['target that does not exist', {}, ['nodes[0].device.ranges[0].targets=[7]'], 'nodes[0].device.ranges[0].targets[0]', 'no node has id 7'],
    ['target is itself', {}, ['nodes[0].device.ranges[0].targets=[0]'], 'nodes[0].device.ranges[0].targets[0]', 'its own node'],
    ['range outside the window', {}, ['nodes[0].device.ranges[0].baseHpa=0'], 'nodes[0].device.ranges[0]', 'inside the device window'],
    ['window overlaps DRAM', {}, ['nodes[0].dram.sizeGiB=512'], 'nodes[0].device.windowBase', 'overlaps local DRAM'],
    ['duplicate node id', {}, ['nodes[1].id=0'], 'nodes[1].id', 'used twice'],
    ['duplicate node name', {}, ['nodes[1].name="A"'], 'nodes[1].name', 'used twice'],
    ['bad node name', {}, ['nodes[1].name="node B"'], 'nodes[1].name', 'does not match'],
    ['one node only', { nodes: [{}] }, [], 'nodes', 'exactly 2 nodes'],
    ['three nodes', { nodes: [{}, {}, {}] }, [], 'nodes', 'at most 2'],
    ['mapping outside DRAM and window', {}, ['nodes[0].vms[0].map[0].hpa="0x2000000000"'], 'nodes[0].vms[0].map[0].hpa', 'inside local DRAM or inside the device window'],
    ['overlapping mappings', {}, ['nodes[0].vms[0].map[1].vmBase=0'], 'nodes[0].vms[0].map', 'overlap'],
    ['duplicate VM id', {}, ['nodes[0].vms[1]={"id":0}'], 'nodes[0].vms[1].id', 'used twice'],
    ['traffic with no memory', {}, ['nodes[0].vms[1]={"id":1}'], 'nodes[0].vms[1].traffic.pattern', 'no mapped memory'],
    ['export past DRAM end', {}, ['nodes[0].device.exports[0].sizeMiB=99999999'], 'nodes[0].device.exports[0]', 'past the end of local DRAM'],
    ['export to unknown node', {}, ['nodes[0].device.exports[0].node=9'], 'nodes[0].device.exports[0].node', 'no node has id 9'],
    ['fraction out of range', {}, ['nodes[0].vms[0].traffic.readFraction=1.5'], 'nodes[0].vms[0].traffic.readFraction', '≤ 1'],
    ['override without =', {}, ['link.lanes'], 'link.lanes', 'path.to.field=value'],
    ['override through a scalar', { cycles: 5 }, ['cycles.x=1'], 'cycles', 'cannot set a field inside it'],
  ];
  for (const [what, raw, overrides, field, rule] of cases) {
    it(`rejects: ${what}`, () => expectError(raw, overrides, field, rule));
  }
});
