import { ConfigError, nsToCycles, Module } from '../../src/sim/index.ts';
import { FlitPacker } from '../flit/FlitPacker.ts';
import { FlitUnpacker } from '../flit/FlitUnpacker.ts';
import { CxlPort, LINK_RX_STAGES, LINK_TX_STAGES, PHY_OUT_STAGES, type ClassDepths } from './CxlPort.ts';
import { Phy, type PhyFaults } from './Phy.ts';
import { DEFAULT_RETRY_LINK, type RetryLinkParams } from './RetryLink68.ts';

/** Everything one CXL link needs, in one typed object (units in the names). */
export interface CxlLinkParams {
  readonly flitMode: '68B' | '256B';
  readonly lanes: number;
  /** Transfer rate per lane, GT/s (32 for PCIe 5 / CXL 2.0, 64 for PCIe 6 / CXL 3.x). */
  readonly gtps: number;
  /** PHY pipeline latency per direction after serialization, ns. */
  readonly phyLatencyNs: number;
  /** Retraining time after a link-down window or a re-init, ns (default 1000). */
  readonly retrainNs?: number;
  /** LLRB (68B) / replay buffer (256B) entries. */
  readonly retryBufferEntries: number;
  /** Rx buffer depths per class at each end = the credits each end advertises. */
  readonly rxDepth: ClassDepths;
  /** Depth of each packer input queue. */
  readonly txQueueDepth: number;
  /** Depth of packer flitOut / unpacker flitIn (default 4). */
  readonly flitQueueDepth?: number;
  /** Other link-layer retry knobs (timeouts, ack forcing); defaults DEFAULT_RETRY_LINK. */
  readonly retry?: Partial<Omit<RetryLinkParams, 'retryBufferEntries'>>;
  /** Fault injection, both directions (each direction draws from its own seeded Rng). */
  readonly faults?: PhyFaults;
  /** Faults for one direction only (override `faults`). */
  readonly faultsAB?: PhyFaults;
  readonly faultsBA?: PhyFaults;
  readonly seed: number;
  /** Credit-return coalescing at both ends: batch size and the longest wait, ns (FlitPackerParams). */
  readonly creditReturnBatch?: number;
  readonly creditReturnDelayNs?: number;
}

export const DEFAULT_RETRAIN_NS = 1000;
export const DEFAULT_FLIT_QUEUE_DEPTH = 4;

/**
 * A CXL link: CxlPort `a` and CxlPort `b` joined by two PHYs (`phyAB` carries a → b, `phyBA` b → a).
 * A PHY re-init asked for by either end's link layer retrains both directions, as an LTSSM would.
 */
export class CxlLink extends Module {
  readonly a: CxlPort;
  readonly b: CxlPort;
  readonly phyAB: Phy;
  readonly phyBA: Phy;

  constructor(parent: Module, name: string, readonly params: CxlLinkParams) {
    super(parent, name);
    const p = params;
    if (p.flitMode !== '68B' && p.flitMode !== '256B') throw new ConfigError(`${this.path}.flitMode`, `must be '68B' or '256B', got ${String(p.flitMode)}`);
    if (!(Number.isInteger(p.seed))) throw new ConfigError(`${this.path}.seed`, 'must be an integer');
    const phy = (name: string, seedOff: number, faults: PhyFaults | undefined) =>
      new Phy(this, name, {
        flitMode: p.flitMode,
        lanes: p.lanes,
        gtps: p.gtps,
        latencyNs: p.phyLatencyNs,
        retrainNs: p.retrainNs ?? DEFAULT_RETRAIN_NS,
        seed: (p.seed + seedOff) | 0,
        ...(faults ? { faults } : {}),
      });
    this.phyAB = phy('phyAB', 0x1001, p.faultsAB ?? p.faults);
    this.phyBA = phy('phyBA', 0x2002, p.faultsBA ?? p.faults);
    const retry: RetryLinkParams = { ...DEFAULT_RETRY_LINK, ...(p.retry ?? {}), retryBufferEntries: p.retryBufferEntries };
    const port = {
      flitMode: p.flitMode,
      txQueueDepth: p.txQueueDepth,
      rxDepth: p.rxDepth,
      peerRxDepth: p.rxDepth,
      flitQueueDepth: p.flitQueueDepth ?? DEFAULT_FLIT_QUEUE_DEPTH,
      retry,
      ...(p.creditReturnBatch !== undefined ? { creditReturnBatch: p.creditReturnBatch } : {}),
      ...(p.creditReturnDelayNs !== undefined ? { creditReturnDelayCycles: nsToCycles(p.creditReturnDelayNs, this.ctx) } : {}),
    };
    this.a = new CxlPort(this, 'a', port, this.phyAB, this.phyBA);
    this.b = new CxlPort(this, 'b', port, this.phyBA, this.phyAB);
    for (const ph of [this.phyAB, this.phyBA]) {
      ph.watchReinit(this.a.link.phyReinitReq);
      ph.watchReinit(this.b.link.phyReinitReq);
    }
  }

  /**
   * Cycles from a message being visible in one port's tx queue to it being visible in the other
   * port's rx queue, on an idle link without faults: the sum of the named stages.
   */
  idleMessageLatencyCycles(): number {
    const phy = this.phyAB;
    return FlitPacker.PACK_STAGES + LINK_TX_STAGES + phy.serializationCycles + phy.latencyCycles + PHY_OUT_STAGES + LINK_RX_STAGES + FlitUnpacker.UNPACK_STAGES;
  }
}
