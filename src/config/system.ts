import { ConfigError } from '../sim/SimulationError.ts';
import { applyOverride, arr, bool, type Field, int, list, num, obj, oneOf, resolve, str } from './schema.ts';

/**
 * The whole-system configuration: nodes (DRAM, host, fabric device, VMs and their traffic), the
 * link between them, the clock and the run. Units are in the field names (Ns, GiB, MiB, GTps).
 * An empty object is a working two-node system in which each node's VM uses memory on the other
 * node and on its own; scenarios/two-node.json is the default scenario the CLI runs.
 */

const GiB = 2 ** 30;
const MiB = 2 ** 20;

/** Timing profiles (reference/performance.md §3.1, cxl-protocol.md §7.4): device controller and PHY figures. */
export const TIMING_PROFILES = {
  /** Spec pin targets (CXL 3.2 §13.1): 80 ns MemRd->MemData at the device with DRAM. */
  spec: { controllerNs: 40, phyLatencyNs: 12 },
  /** A direct-attached ASIC expander: +70-90 ns over local DRAM end to end (Pond, TPP). */
  asic: { controllerNs: 45, phyLatencyNs: 20 },
  /** An FPGA soft-IP device: ~3x remote-socket DRAM latency (Sun et al., MICRO'23). */
  fpga: { controllerNs: 200, phyLatencyNs: 40 },
} as const;

const rangeField = obj({
  baseHpa: num(256 * GiB, 'first HPA of the range (256 MiB aligned)', { min: 0, hex: true, multipleOf: 256 * MiB }),
  sizeMiB: int(1024, 'size of the range in MiB (multiple of 256)', { min: 256, multipleOf: 256 }),
  ways: oneOf(1, [1, 2, 3, 4, 6, 8, 12, 16], 'interleave ways across the targets'),
  granularity: oneOf(256, [256, 512, 1024, 2048, 4096, 8192, 16384], 'interleave granularity in bytes'),
  targets: list('number', [1], 'node id per interleave way', { min: 0, max: 4095 }),
  dpaSkip: num(0, 'DPA skip before this range at the target (bytes, 256 MiB granularity)', { min: 0, hex: true, multipleOf: 256 * MiB }),
  readers: list('number', [0], 'VM ids of this node allowed to read through the range', { min: 0 }),
  writers: list('number', [0], 'VM ids of this node allowed to write through the range', { min: 0 }),
});

const exportField = obj({
  node: int(1, 'requesting node id allowed by this export', { min: 0, max: 4095 }),
  basePa: num(0, 'first local physical address exported', { min: 0, hex: true, multipleOf: 64 }),
  sizeMiB: int(1024, 'size exported, MiB', { min: 1 }),
  read: bool(true, 'the node may read'),
  write: bool(true, 'the node may write'),
});

const mappingField = obj({
  vmBase: num(0, 'first VM address of the mapping (4 KiB aligned)', { min: 0, hex: true, multipleOf: 4096 }),
  hpa: num(0, 'first HPA it maps to (4 KiB aligned)', { min: 0, hex: true, multipleOf: 4096 }),
  pages: int(256, 'number of 4 KiB pages', { min: 1, max: 2 ** 28 }),
});

const trafficField = obj({
  pattern: oneOf('random', ['sequential', 'random', 'hotset', 'pointerChase', 'none'], 'address pattern over the VM’s mapped pages'),
  readFraction: num(0.7, 'fraction of reads', { min: 0, max: 1 }),
  partialFraction: num(0.1, 'fraction of writes that are partial (byte-enabled)', { min: 0, max: 1 }),
  rate: num(0, 'requests per cycle per vCPU (0 = closed loop, limited only by outstanding)', { min: 0, max: 1 }),
  hotsetLines: int(64, 'lines in the hot set (pattern hotset)', { min: 1 }),
  maxRequests: int(0, 'stop after this many requests per vCPU (0 = no limit)', { min: 0 }),
});

const vmField = obj({
  id: int(0, 'VM id, unique on its node', { min: 0, max: 255 }),
  vcpus: int(1, 'vCPU ports of this VM', { min: 1, max: 64 }),
  outstanding: int(8, 'outstanding requests per vCPU', { min: 1, max: 256 }),
  map: arr(mappingField, [], 'page-table mappings VM address -> HPA'),
  traffic: trafficField,
});

const nodeField = obj({
  name: str('A', 'node name (VCD scope nodeA, nodeB, ...)', /^[A-Za-z][A-Za-z0-9_]*$/),
  id: int(0, 'node id on the fabric (CXL port id)', { min: 0, max: 4095 }),
  dram: obj({
    baseHpa: num(0, 'HPA at which local DRAM starts', { min: 0, hex: true, multipleOf: 4096 }),
    sizeGiB: num(64, 'local DRAM size, GiB (sparse: only touched pages use memory)', { min: 1 / 1024, max: 2 ** 22 }),
    dataRateMTs: int(4800, 'DRAM data rate, MT/s', { min: 100 }),
    busBytes: int(8, 'data bus width, bytes', { min: 1, max: 64 }),
    banks: int(16, 'banks', { min: 1, max: 256 }),
    rowBytes: int(8192, 'row (page) size, bytes', { min: 64 }),
    tRCDns: num(16, 'activate to read/write, ns', { min: 0 }),
    tCLns: num(16, 'CAS latency, ns', { min: 0 }),
    tRPns: num(16, 'precharge, ns', { min: 0 }),
    queueDepth: int(32, 'DRAM controller request queue', { min: 1 }),
  }),
  host: obj({
    pageTableNs: num(2, 'VM page-table (TLB hit) stage, ns', { min: 0 }),
    routerNs: num(2, 'host router stage, ns', { min: 0 }),
    routerQueue: int(16, 'host router queue depth', { min: 1 }),
  }),
  device: obj({
    windowBase: num(256 * GiB, 'first HPA of the fabric device window', { min: 0, hex: true, multipleOf: 256 * MiB }),
    windowGiB: num(64, 'size of the device window, GiB', { min: 0.25 }),
    lookupNs: num(2, 'address-range table lookup stage, ns', { min: 0 }),
    tagPool: int(64, 'device tags (outstanding remote requests)', { min: 1, max: 65536 }),
    hostQueue: int(16, 'request decoder input queue', { min: 1 }),
    controllerNs: num(-1, 'remote memory controller pipeline, ns (-1 = from timingProfile)', { min: -1 }),
    controllerQueue: int(32, 'remote memory controller request queue', { min: 1 }),
    poisonOnDecodeError: bool(true, 'unclaimed reads return poison (HDM Global Control bit 0)'),
    ranges: arr(rangeField, [], 'address-range table entries (HDM-decoder-like)'),
    exports: arr(exportField, [], 'which remote nodes may access which local ranges'),
  }),
  vms: arr(vmField, [], 'virtual machines on this node'),
});

export const systemSchema: Field = obj({
  name: str('two-node', 'scenario name (waves/<name>.vcd)'),
  clockGHz: num(1, 'simulation clock, GHz (one clock for the whole system)', { min: 0.01, max: 100 }),
  seed: int(1, 'seed of every random choice in the model (traffic, faults)', { min: 0, max: 2 ** 31 - 1 }),
  cycles: int(20_000, 'cycles to simulate', { min: 1 }),
  timingProfile: oneOf('asic', Object.keys(TIMING_PROFILES), 'latency profile for device and PHY figures'),
  link: obj({
    flitMode: oneOf('68B', ['68B', '256B'], 'flit format'),
    lanes: oneOf(16, [1, 2, 4, 8, 16], 'link width'),
    gtps: oneOf(32, [8, 16, 32, 64], 'transfer rate per lane, GT/s (32 = PCIe 5, 64 = PCIe 6)'),
    phyLatencyNs: num(-1, 'PHY + pipeline latency per direction, ns (-1 = from timingProfile)', { min: -1 }),
    retryBufferEntries: int(32, '68B link-layer retry buffer entries (≥ 22)', { min: 22, max: 1024 }),
    txQueueDepth: int(16, 'packer input queue per channel', { min: 1 }),
    rxBuffers: int(32, 'receiver buffers per channel = credits advertised', { min: 1, max: 64 }),
    creditReturnBatch: int(8, 'a flit only to return credits waits until this many are owed...', { min: 1, max: 64 }),
    creditReturnDelayNs: num(200, '...or until the oldest has waited this long, ns (otherwise credits ride on traffic)', { min: 0, max: 60_000 }),
    faults: obj({
      bitErrorRate: num(0, 'probability that a bit on the wire flips', { min: 0, max: 0.01 }),
      burstRate: num(0, 'probability per flit of a burst error', { min: 0, max: 1 }),
      burstBits: int(16, 'bits in a burst error', { min: 1, max: 2048 }),
      dropRate: num(0, 'probability per flit that it is lost', { min: 0, max: 1 }),
      downAtNs: num(-1, 'link goes down at this time, ns (-1 = never)', { min: -1 }),
      downForNs: num(0, 'and stays down this long, ns', { min: 0 }),
      retrainNs: num(1000, 'retraining time after link down or PHY re-init, ns', { min: 0 }),
    }),
  }),
  nodes: arr(nodeField, [], 'the compute nodes (two, joined by one link)', { maxItems: 2 }),
});

export interface RangeConfig { baseHpa: number; sizeMiB: number; ways: number; granularity: number; targets: number[]; dpaSkip: number; readers: number[]; writers: number[] }
export interface ExportConfig { node: number; basePa: number; sizeMiB: number; read: boolean; write: boolean }
export interface MappingConfig { vmBase: number; hpa: number; pages: number }
export interface TrafficConfig { pattern: 'sequential' | 'random' | 'hotset' | 'pointerChase' | 'none'; readFraction: number; partialFraction: number; rate: number; hotsetLines: number; maxRequests: number }
export interface VmConfig { id: number; vcpus: number; outstanding: number; map: MappingConfig[]; traffic: TrafficConfig }
export interface DramConfig { baseHpa: number; sizeGiB: number; dataRateMTs: number; busBytes: number; banks: number; rowBytes: number; tRCDns: number; tCLns: number; tRPns: number; queueDepth: number }
export interface NodeConfig {
  name: string;
  id: number;
  dram: DramConfig;
  host: { pageTableNs: number; routerNs: number; routerQueue: number };
  device: { windowBase: number; windowGiB: number; lookupNs: number; tagPool: number; hostQueue: number; controllerNs: number; controllerQueue: number; poisonOnDecodeError: boolean; ranges: RangeConfig[]; exports: ExportConfig[] };
  vms: VmConfig[];
}
export interface FaultConfig { bitErrorRate: number; burstRate: number; burstBits: number; dropRate: number; downAtNs: number; downForNs: number; retrainNs: number }
export interface LinkConfig { flitMode: '68B' | '256B'; lanes: number; gtps: number; phyLatencyNs: number; retryBufferEntries: number; txQueueDepth: number; rxBuffers: number; creditReturnBatch: number; creditReturnDelayNs: number; faults: FaultConfig }
export interface SystemConfig { name: string; clockGHz: number; seed: number; cycles: number; timingProfile: keyof typeof TIMING_PROFILES; link: LinkConfig; nodes: NodeConfig[] }

/**
 * The default two nodes: A (id 0) and B (id 1), 64 GiB DRAM each at HPA 0, a 64 GiB device window
 * at HPA 256 GiB. Each node's VM 0 has 4 MiB mapped in local DRAM and 4 MiB in the window; the
 * window's first GiB maps to the other node's DRAM at 32 GiB, which that node exports.
 */
export function defaultNodes(): unknown[] {
  const node = (name: string, id: number, peer: number) => ({
    name,
    id,
    device: {
      ranges: [{ baseHpa: 256 * GiB, sizeMiB: 1024, ways: 1, granularity: 256, targets: [peer], dpaSkip: 32 * GiB, readers: [0], writers: [0] }],
      exports: [{ node: peer, basePa: 32 * GiB, sizeMiB: 1024, read: true, write: true }],
    },
    vms: [
      {
        id: 0,
        vcpus: 2,
        map: [
          { vmBase: 0, hpa: 1 * GiB, pages: 1024 },
          { vmBase: 4 * MiB, hpa: 256 * GiB, pages: 1024 },
        ],
      },
    ],
  });
  return [node('A', 0, 1), node('B', 1, 0)];
}

/** Resolve a raw (parsed JSON) configuration plus `--set` overrides into a validated SystemConfig. */
export function loadSystemConfig(raw: unknown, overrides: readonly string[] = []): SystemConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('(top level)', 'must be a JSON object');
  const copy = structuredClone(raw) as Record<string, unknown>;
  if (copy.nodes === undefined) copy.nodes = defaultNodes();
  for (const o of overrides) applyOverride(copy, o);
  const cfg = resolve(systemSchema, copy, '') as SystemConfig;
  const profile = TIMING_PROFILES[cfg.timingProfile];
  if (cfg.link.phyLatencyNs < 0) cfg.link.phyLatencyNs = profile.phyLatencyNs;
  for (const n of cfg.nodes) if (n.device.controllerNs < 0) n.device.controllerNs = profile.controllerNs;
  checkSystem(cfg);
  return cfg;
}

/** Rules that span fields: unique ids, mappings inside DRAM or the window, targets that exist. */
function checkSystem(cfg: SystemConfig): void {
  if (cfg.nodes.length !== 2) throw new ConfigError('nodes', `the direct-link system needs exactly 2 nodes, got ${cfg.nodes.length}`);
  const ids = new Set<number>();
  const names = new Set<string>();
  cfg.nodes.forEach((n, i) => {
    if (ids.has(n.id)) throw new ConfigError(`nodes[${i}].id`, `node id ${n.id} is used twice`);
    if (names.has(n.name)) throw new ConfigError(`nodes[${i}].name`, `node name '${n.name}' is used twice`);
    ids.add(n.id);
    names.add(n.name);
  });
  cfg.nodes.forEach((n, i) => {
    const p = `nodes[${i}]`;
    const dramEnd = n.dram.baseHpa + n.dram.sizeGiB * GiB;
    const winEnd = n.device.windowBase + n.device.windowGiB * GiB;
    if (n.device.windowBase < dramEnd && n.dram.baseHpa < winEnd) throw new ConfigError(`${p}.device.windowBase`, 'the device window overlaps local DRAM');
    n.device.ranges.forEach((r, j) => {
      const rp = `${p}.device.ranges[${j}]`;
      if (r.baseHpa < n.device.windowBase || r.baseHpa + r.sizeMiB * MiB > winEnd) throw new ConfigError(rp, 'the range must lie inside the device window');
      if (r.targets.length !== r.ways) throw new ConfigError(`${rp}.targets`, `needs one target per way (${r.ways}), got ${r.targets.length}`);
      r.targets.forEach((t, k) => {
        if (!ids.has(t)) throw new ConfigError(`${rp}.targets[${k}]`, `no node has id ${t}`);
        if (t === n.id) throw new ConfigError(`${rp}.targets[${k}]`, 'a range cannot target its own node (map local memory through local DRAM)');
      });
    });
    n.device.exports.forEach((e, j) => {
      if (!ids.has(e.node)) throw new ConfigError(`${p}.device.exports[${j}].node`, `no node has id ${e.node}`);
      if (e.basePa + e.sizeMiB * MiB > n.dram.sizeGiB * GiB) throw new ConfigError(`${p}.device.exports[${j}]`, 'the export runs past the end of local DRAM');
    });
    const vmIds = new Set<number>();
    n.vms.forEach((vm, j) => {
      const vp = `${p}.vms[${j}]`;
      if (vmIds.has(vm.id)) throw new ConfigError(`${vp}.id`, `VM id ${vm.id} is used twice on node ${n.name}`);
      vmIds.add(vm.id);
      vm.map.forEach((m, k) => {
        const mp = `${vp}.map[${k}]`;
        const end = m.hpa + m.pages * 4096;
        const inDram = m.hpa >= n.dram.baseHpa && end <= dramEnd;
        const inWin = m.hpa >= n.device.windowBase && end <= winEnd;
        if (!inDram && !inWin) throw new ConfigError(`${mp}.hpa`, 'the mapping must lie inside local DRAM or inside the device window');
      });
      const sorted = [...vm.map].sort((a, b) => a.vmBase - b.vmBase);
      for (let k = 1; k < sorted.length; k++) {
        if (sorted[k - 1]!.vmBase + sorted[k - 1]!.pages * 4096 > sorted[k]!.vmBase) throw new ConfigError(`${vp}.map`, 'two mappings overlap in VM address space');
      }
      if (vm.traffic.pattern !== 'none' && vm.map.length === 0) throw new ConfigError(`${vp}.traffic.pattern`, `VM ${vm.id} has traffic but no mapped memory`);
    });
  });
}
