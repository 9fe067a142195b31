import type { NodeConfig, TrafficConfig } from '../../src/config/system.ts';
import { type ClockSpec, Module } from '../../src/sim/index.ts';
import { HostRouter } from '../host/HostRouter.ts';
import { hostTimingCycles, type HostTimingCycles } from '../host/HostTiming.ts';
import { TrafficGenerator, TrafficPattern } from '../host/TrafficGenerator.ts';
import type { VcpuCommandSource } from '../host/VcpuCommand.ts';
import { type VcpuObserver, VcpuPort } from '../host/VcpuPort.ts';
import { PAGE_BYTES, VmPageTable } from '../host/VmPageTable.ts';
import { DDR5_4800 } from '../memory/DramParams.ts';
import { DramSubsystem } from '../memory/DramSubsystem.ts';
import { type DeviceLinkPort, FabricDevice } from './FabricDevice.ts';

const GiB = 2 ** 30;

/** DRAM arbiter port numbers: who shares this node's DRAM (design.md §1: CPU and device). */
export const DRAM_PORT_CPU = 0;
export const DRAM_PORT_REMOTE_CONTROLLER = 1;
export const DRAM_PORT_DECODER = 2;

const PATTERNS: Record<Exclude<TrafficConfig['pattern'], 'none'>, TrafficPattern> = {
  sequential: TrafficPattern.Sequential,
  random: TrafficPattern.Random,
  hotset: TrafficPattern.HotSet,
  pointerChase: TrafficPattern.PointerChase,
};

export interface NodeOptions {
  /** Builds the node's link end inside its fabric device. */
  readonly makePort: (device: Module) => DeviceLinkPort;
  /** Seed of the whole system; each vCPU's traffic seed is derived from it and the vCPU's place. */
  readonly seed: number;
  /** Watches every vCPU's commands (the golden-memory check of `cxlfab run` and the system tests). */
  readonly observer?: VcpuObserver;
  /** Replace the configured traffic of a vCPU (testbench programs); return undefined to keep it. */
  readonly sourceFor?: (vm: number, vcpu: number) => VcpuCommandSource | undefined;
}

/**
 * One compute node (design.md §1): VMs with their page tables and vCPU ports, the host router,
 * local DRAM behind a three-port arbiter (CPU, remote memory controller, request decoder), and the
 * fabric device. Instance names: `<top>.node<Name>.{vm<i>_pt, vm<i>_cpu<j>, router, mem, dev}`.
 */
export class Node extends Module {
  readonly cfg: NodeConfig;
  readonly mem: DramSubsystem;
  readonly pageTables: VmPageTable[] = [];
  readonly vcpus: VcpuPort[] = [];
  readonly generators: TrafficGenerator[] = [];
  readonly router: HostRouter;
  readonly dev: FabricDevice;
  readonly hostTiming: HostTimingCycles;

  constructor(parent: Module, cfg: NodeConfig, clock: ClockSpec, opts: NodeOptions) {
    super(parent, `node${cfg.name}`);
    this.cfg = cfg;
    const dramBytes = cfg.dram.sizeGiB * GiB;
    this.hostTiming = hostTimingCycles(
      { pageTableNs: cfg.host.pageTableNs, routerRequestNs: cfg.host.routerNs, routerResponseNs: cfg.host.routerNs },
      clock,
      `${this.path}.host`,
    );
    this.mem = new DramSubsystem(this, 'mem', {
      dram: {
        ...DDR5_4800,
        tRCDns: cfg.dram.tRCDns,
        tCLns: cfg.dram.tCLns,
        tCWLns: cfg.dram.tCLns,
        tRPns: cfg.dram.tRPns,
        dataRateMTps: cfg.dram.dataRateMTs,
        busWidthBits: cfg.dram.busBytes * 8,
        banksPerChannel: cfg.dram.banks,
        rowBytes: cfg.dram.rowBytes,
        capacityBytes: dramBytes,
        queueDepth: cfg.dram.queueDepth,
      },
      arbiter: { ports: 3, portDepth: 2, rspDepth: 4 },
    });
    this.dev = new FabricDevice(this, 'dev', cfg, clock, opts.makePort, this.mem.port(DRAM_PORT_REMOTE_CONTROLLER), this.mem.port(DRAM_PORT_DECODER));

    for (const vm of cfg.vms) {
      const pt = new VmPageTable(this, `vm${vm.id}_pt`, { vm: vm.id });
      for (const m of vm.map) pt.mapContiguous(m.vmBase, m.hpa, m.pages);
      this.pageTables.push(pt);
      // The traffic covers the VM's mapped span; holes in it are page faults (counted, answered).
      const lo = Math.min(...vm.map.map((m) => m.vmBase));
      const hi = Math.max(...vm.map.map((m) => m.vmBase + m.pages * PAGE_BYTES));
      for (let j = 0; j < vm.vcpus; j++) {
        const portIndex = this.vcpus.length;
        let source = opts.sourceFor?.(vm.id, j);
        if (source === undefined && vm.traffic.pattern !== 'none' && vm.map.length > 0) {
          const t = vm.traffic;
          const gen = new TrafficGenerator({
            seed: (opts.seed * 1_000_003 + cfg.id * 65_537 + vm.id * 257 + j) >>> 0,
            pattern: PATTERNS[t.pattern as Exclude<TrafficConfig["pattern"], "none">],
            vmBase: lo,
            bytes: hi - lo,
            readFraction: t.readFraction,
            partialWriteFraction: t.partialFraction,
            ...(t.rate > 0 ? { rate: t.rate } : { closedLoopOutstanding: vm.outstanding }),
            hotLines: t.hotsetLines,
            ...(t.maxRequests > 0 ? { count: t.maxRequests } : {}),
          });
          this.generators.push(gen);
          source = gen;
        }
        const port = new VcpuPort(
          this,
          `vm${vm.id}_cpu${j}`,
          { vm: vm.id, portIndex, maxOutstanding: vm.outstanding, pageTableLatencyCycles: this.hostTiming.pageTableLatencyCycles },
          pt,
          source,
        );
        if (opts.observer) port.observer = opts.observer;
        this.vcpus.push(port);
      }
    }

    this.router = new HostRouter(
      this,
      'router',
      {
        dramBase: cfg.dram.baseHpa,
        dramBytes,
        deviceBase: cfg.device.windowBase,
        deviceBytes: cfg.device.windowGiB * GiB,
        requestLatencyCycles: this.hostTiming.requestLatencyCycles,
        responseLatencyCycles: this.hostTiming.responseLatencyCycles,
        maxLocalOutstanding: cfg.host.routerQueue * 2,
      },
      {
        vcpuReq: this.vcpus.map((p) => p.req),
        vcpuRsp: this.vcpus.map((p) => p.rsp),
        dramReq: this.mem.port(DRAM_PORT_CPU).req,
        dramRsp: this.mem.port(DRAM_PORT_CPU).rsp,
        devReq: this.dev.decoder.hostIn,
        devRsp: this.dev.decoder.hostOut,
      },
    );
  }
}
