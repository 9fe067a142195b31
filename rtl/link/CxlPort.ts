import { Module } from '../../src/sim/index.ts';
import type { MemMsgChannel } from '../cxl/MemMsg.ts';
import { FlitPacker } from '../flit/FlitPacker.ts';
import { FlitUnpacker } from '../flit/FlitUnpacker.ts';
import type { Phy } from './Phy.ts';
import { ReplayLink256 } from './ReplayLink256.ts';
import { RetryLink68, type RetryLinkParams } from './RetryLink68.ts';

/** Link-layer TX: a flit visible in the packer's flitOut is in the PHY's txIn (visible) one cycle later. */
export const LINK_TX_STAGES = 1;
/** PHY output register: a flit that arrived is visible to the link-layer RX one cycle later. */
export const PHY_OUT_STAGES = 1;
/** Link-layer RX: a good flit popped from the PHY is visible in the unpacker's flitIn one cycle later. */
export const LINK_RX_STAGES = 1;

/** Buffer depths per CXL.mem class (messages). */
export interface ClassDepths {
  readonly req: number;
  readonly rwd: number;
  readonly ndr: number;
  readonly drs: number;
}

export interface CxlPortParams {
  readonly flitMode: '68B' | '256B';
  /** Depth of each packer input queue (txReq ... txDrs). */
  readonly txQueueDepth: number;
  /** This end's unpacker rx channel depths = the credits it advertises to the peer. */
  readonly rxDepth: ClassDepths;
  /** The peer's rx depths = this end's initial TX credits. */
  readonly peerRxDepth: ClassDepths;
  /** Depth of the packer's flitOut and the unpacker's flitIn. */
  readonly flitQueueDepth: number;
  readonly retry: RetryLinkParams;
  /** Packer credit-return coalescing (FlitPackerParams); default: a credit-only flit at once. */
  readonly creditReturnBatch?: number;
  readonly creditReturnDelayCycles?: number;
}

/**
 * One end of a CXL link (docs/contracts.md): FlitPacker → link-layer TX (68B LLR or 256B replay)
 * → PHY towards the peer; PHY from the peer → link-layer RX → FlitUnpacker.
 *
 * Devices push messages into txReq/txRwD/txNdr/txDrs (the packer's input queues) and pop them
 * from rxReq/rxRwD/rxNdr/rxDrs (the unpacker's output queues). The PHYs belong to the CxlLink.
 *
 * Idle latency of one message, cycles (CxlLink.idleMessageLatencyCycles, pinned by tb/link/link.test.ts):
 *   PACK_STAGES (tx queue → flitOut) + LINK_TX_STAGES (→ PHY txIn) + serializationCycles
 *   + latencyCycles + PHY_OUT_STAGES + LINK_RX_STAGES (→ unpacker flitIn) + UNPACK_STAGES (→ rx queue).
 */
export class CxlPort extends Module {
  readonly packer: FlitPacker;
  readonly unpacker: FlitUnpacker;
  readonly link: RetryLink68 | ReplayLink256;

  constructor(parent: Module, name: string, readonly params: CxlPortParams, phyTx: Phy, phyRx: Phy) {
    super(parent, name);
    const mode = params.flitMode === '68B' ? 68 : 256;
    this.packer = new FlitPacker(this, 'packer', {
      mode,
      txQueueDepth: params.txQueueDepth,
      flitOutDepth: params.flitQueueDepth,
      peerRxDepth: params.peerRxDepth,
      ...(params.creditReturnBatch !== undefined ? { creditReturnBatch: params.creditReturnBatch } : {}),
      ...(params.creditReturnDelayCycles !== undefined ? { creditReturnDelayCycles: params.creditReturnDelayCycles } : {}),
    });
    this.unpacker = new FlitUnpacker(this, 'unpacker', { mode, flitInDepth: params.flitQueueDepth, rxDepth: params.rxDepth });
    this.packer.connectUnpacker(this.unpacker);
    this.link =
      params.flitMode === '68B'
        ? new RetryLink68(this, 'llr', params.retry, this.packer.flitOut, this.unpacker.flitIn, phyTx, phyRx)
        : new ReplayLink256(this, 'replay', params.retry, this.packer.flitOut, this.unpacker.flitIn, phyTx, phyRx);
  }

  get txReq(): MemMsgChannel {
    return this.packer.txReq;
  }
  get txRwD(): MemMsgChannel {
    return this.packer.txRwD;
  }
  get txNdr(): MemMsgChannel {
    return this.packer.txNdr;
  }
  get txDrs(): MemMsgChannel {
    return this.packer.txDrs;
  }
  get rxReq(): MemMsgChannel {
    return this.unpacker.rxReq;
  }
  get rxRwD(): MemMsgChannel {
    return this.unpacker.rxRwD;
  }
  get rxNdr(): MemMsgChannel {
    return this.unpacker.rxNdr;
  }
  get rxDrs(): MemMsgChannel {
    return this.unpacker.rxDrs;
  }
}
