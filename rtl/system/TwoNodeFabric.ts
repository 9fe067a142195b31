import type { SystemConfig } from '../../src/config/system.ts';
import { Module, SimContext } from '../../src/sim/index.ts';
import type { VcpuCommandSource } from '../host/VcpuCommand.ts';
import type { VcpuObserver, VcpuPort } from '../host/VcpuPort.ts';
import { CxlLink, type CxlLinkParams } from '../link/CxlLink.ts';
import { Node } from './Node.ts';

export interface FabricOptions {
  /** Watches every vCPU's commands (golden-memory check). */
  readonly observer?: VcpuObserver;
  /** Replace a vCPU's configured traffic (testbench programs); undefined keeps it. */
  readonly sourceFor?: (node: string, vm: number, vcpu: number) => VcpuCommandSource | undefined;
}

/**
 * Two compute nodes joined by one CXL link (design.md §1): `top.nodeA`, `top.nodeB`, `top.link`
 * (link end `a` serves node A's device, `b` node B's). Every parameter comes from the SystemConfig.
 */
export class TwoNodeFabric extends Module {
  readonly link: CxlLink;
  readonly nodes: readonly Node[];

  constructor(
    readonly cfg: SystemConfig,
    opts: FabricOptions = {},
  ) {
    super(null, 'top', new SimContext(cfg.clockGHz));
    this.link = new CxlLink(this, 'link', linkParams(cfg));
    const ends = [this.link.a, this.link.b];
    this.nodes = cfg.nodes.map(
      (n, i) =>
        new Node(this, n, cfg, {
          makePort: () => ends[i]!,
          seed: cfg.seed,
          ...(opts.observer ? { observer: opts.observer } : {}),
          ...(opts.sourceFor ? { sourceFor: (vm: number, vcpu: number) => opts.sourceFor!(n.name, vm, vcpu) } : {}),
        }),
    );
    // A point-to-point link end knows who is at the other end: that id is the SPID of what it receives.
    this.link.a.unpacker.setPeerPortId(cfg.nodes[1]!.id);
    this.link.b.unpacker.setPeerPortId(cfg.nodes[0]!.id);
  }

  /** Every vCPU port of both nodes. */
  get vcpus(): VcpuPort[] {
    return this.nodes.flatMap((n) => n.vcpus);
  }
}

export function linkParams(cfg: SystemConfig): CxlLinkParams {
  const l = cfg.link;
  const f = l.faults;
  const depth = l.rxBuffers;
  return {
    flitMode: l.flitMode,
    lanes: l.lanes,
    gtps: l.gtps,
    phyLatencyNs: l.phyLatencyNs,
    retrainNs: f.retrainNs,
    retryBufferEntries: l.retryBufferEntries,
    rxDepth: { req: depth, rwd: depth, ndr: depth, drs: depth },
    txQueueDepth: l.txQueueDepth,
    faults: {
      bitErrorRate: f.bitErrorRate,
      burstRate: f.burstRate,
      burstLength: f.burstBits,
      dropRate: f.dropRate,
      linkDown: f.downAtNs >= 0 ? [{ atNs: f.downAtNs, forNs: f.downForNs }] : [],
    },
    seed: cfg.seed,
    creditReturnBatch: l.creditReturnBatch,
    creditReturnDelayNs: l.creditReturnDelayNs,
  };
}
