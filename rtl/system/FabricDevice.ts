import type { NodeConfig } from '../../src/config/system.ts';
import { type ClockSpec, Module, nsToCycles } from '../../src/sim/index.ts';
import type { MemMsgChannel } from '../cxl/MemMsg.ts';
import { AddressRangeTable } from '../decode/AddressRangeTable.ts';
import { RequestDecoder } from '../decode/RequestDecoder.ts';
import type { DramPort } from '../memory/DramPortArbiter.ts';
import { ExportPerm, ExportTable } from '../memory/ExportTable.ts';
import { RemoteMemoryController } from '../memory/RemoteMemoryController.ts';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/** The eight CXL.mem queues one link end offers its device (packer inputs, unpacker outputs). */
export interface DeviceLinkPort {
  readonly txReq: MemMsgChannel;
  readonly txRwD: MemMsgChannel;
  readonly txNdr: MemMsgChannel;
  readonly txDrs: MemMsgChannel;
  readonly rxReq: MemMsgChannel;
  readonly rxRwD: MemMsgChannel;
  readonly rxNdr: MemMsgChannel;
  readonly rxDrs: MemMsgChannel;
}

/**
 * One node's CXL fabric device: initiator and target at once (design.md §1).
 * - initiator: the RequestDecoder turns host commands in the device window into M2S messages to
 *   the node the AddressRangeTable names, and S2M answers back into host answers;
 * - target: the RemoteMemoryController serves other nodes' M2S messages on this node's DRAM,
 *   guarded by the export table.
 * The link end (packer, unpacker, retry, PHY) is built by `makePort` inside this device's scope,
 * so its signals appear under `<node>.dev.port` in waveforms.
 */
export class FabricDevice extends Module {
  readonly table: AddressRangeTable;
  readonly exports: ExportTable;
  readonly decoder: RequestDecoder;
  readonly rmc: RemoteMemoryController;
  readonly port: DeviceLinkPort;
  /** Cycles of the lookup stage and of the controller pipeline, for the latency breakdown. */
  readonly lookupCycles: number;

  constructor(
    parent: Module,
    name: string,
    cfg: NodeConfig,
    clock: ClockSpec,
    makePort: (device: Module) => DeviceLinkPort,
    dramForController: DramPort,
    dramForDecoder: DramPort,
  ) {
    super(parent, name);
    this.port = makePort(this);
    const d = cfg.device;
    this.table = AddressRangeTable.fromConfig({
      decoders: d.ranges.map((r) => ({
        base: r.baseHpa,
        size: r.sizeMiB * MiB,
        ways: r.ways,
        granularity: r.granularity,
        targets: r.targets,
        dpaSkip: r.dpaSkip,
        readers: r.readers,
        writers: r.writers,
      })),
    });
    this.lookupCycles = nsToCycles(d.lookupNs, clock);
    this.decoder = new RequestDecoder(this, 'decoder', {
      nodeId: cfg.id,
      table: this.table,
      lookupLatencyCycles: this.lookupCycles,
      tagPoolSize: d.tagPool,
      hostInDepth: d.hostQueue,
      m2sReq: this.port.txReq,
      m2sRwd: this.port.txRwD,
      s2mNdr: this.port.rxNdr,
      s2mDrs: this.port.rxDrs,
      dramReq: dramForDecoder.req,
      dramRsp: dramForDecoder.rsp,
    });
    const localBytes = cfg.dram.sizeGiB * GiB;
    this.exports = new ExportTable(64, localBytes, `${this.path}.rmc.exports`);
    for (const e of d.exports) {
      const perm = e.read && e.write ? ExportPerm.ReadWrite : e.read ? ExportPerm.Read : ExportPerm.Write;
      if (e.read || e.write) this.exports.add({ spid: e.node, base: e.basePa, size: e.sizeMiB * MiB, perm });
    }
    this.rmc = new RemoteMemoryController(
      this,
      'rmc',
      { nodeId: cfg.id, queueDepth: d.controllerQueue, pipelineNs: d.controllerNs, poisonOnDecodeError: d.poisonOnDecodeError, localBytes },
      { m2sReq: this.port.rxReq, m2sRwd: this.port.rxRwD, s2mNdr: this.port.txNdr, s2mDrs: this.port.txDrs, dram: dramForController },
      this.exports,
    );
  }
}
