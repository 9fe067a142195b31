import type { SystemConfig } from '../../src/config/system.ts';
import { ISSUE_STAGE_CYCLES, S2M_IN_STAGE_CYCLES } from '../decode/RequestDecoder.ts';
import { FlitPacker } from '../flit/FlitPacker.ts';
import { FlitUnpacker } from '../flit/FlitUnpacker.ts';
import type { Phy } from '../link/Phy.ts';
import { TwoNodeFabric } from './TwoNodeFabric.ts';

export interface BreakdownStage {
  readonly stage: string;
  readonly cycles: number;
  readonly ns?: number;
}

/*
 * The hops of an idle remote read, each one registered channel or one named pipeline stage. A
 * stage is counted from the cycle its input is visible to the cycle its output is visible.
 */
/** Link-layer TX: takes a flit from the packer's flitOut, writes the retry buffer, hands it to the PHY. */
const LINK_TX_CYCLES = 1;
/** The PHY's rxOut register, after serialization and the PHY/channel pipeline. */
const PHY_RX_REGISTER_CYCLES = 1;
/** Link-layer RX: CRC and sequence check, then into the unpacker's flitIn. */
const LINK_RX_CYCLES = 1;
/** Controller to DRAM arbiter port is inside the controller's pipeline; then the arbiter grants into the Dram queue. */
const DRAM_ARBITER_REQUEST_CYCLES = 1;
/** The Dram's response register after tRCD + tCL + burst. */
const DRAM_RESPONSE_REGISTER_CYCLES = 1;
const DRAM_ARBITER_RESPONSE_CYCLES = 1;
/** Controller: DRAM data into the packer's DRS queue. */
const CONTROLLER_ANSWER_CYCLES = 1;
/** Controller: rx queue entry into its pipeline (the pipeline then issues to the DRAM port). */
const CONTROLLER_INTAKE_CYCLES = 1;

/**
 * Cycles by which the second of two back-to-back flits arrives after the first, under the PHY's
 * exact wire accounting (Phy.ts: a flit may start when less than one cycle of wire time is owed,
 * and arrives ceil(owed) cycles later). A 68B read answer needs two flits (header + 3 chunks, then
 * the rolled-over 4th chunk), so this is the rollover's cost.
 */
export function secondFlitGapCycles(num: number, den: number): number {
  let debt = num;
  const first = Math.ceil(debt / den);
  let k = 1;
  debt = debt > den ? debt - den : 0;
  while (!(debt < den)) {
    debt = debt > den ? debt - den : 0;
    k++;
  }
  debt += num;
  return k + Math.ceil(debt / den) - first;
}

function linkStages(dir: string, phy: Phy, rolloverFlit: boolean): BreakdownStage[] {
  const s: BreakdownStage[] = [
    { stage: `${dir}: flit packer`, cycles: FlitPacker.PACK_STAGES },
    { stage: `${dir}: link-layer TX (retry buffer)`, cycles: LINK_TX_CYCLES },
    { stage: `${dir}: PHY serialization`, cycles: phy.serializationCycles },
    { stage: `${dir}: PHY + channel pipeline`, cycles: phy.latencyCycles + PHY_RX_REGISTER_CYCLES },
  ];
  if (rolloverFlit) s.push({ stage: `${dir}: rollover flit (4th data chunk)`, cycles: secondFlitGapCycles(phy.num, phy.den) });
  s.push(
    { stage: `${dir}: link-layer RX (CRC, sequence)`, cycles: LINK_RX_CYCLES },
    { stage: `${dir}: flit unpacker`, cycles: FlitUnpacker.UNPACK_STAGES },
  );
  return s;
}

/**
 * Where the time of one idle remote read goes, stage by stage, from the parameters alone (the
 * elaborated modules' converted cycle counts and their named stage constants): a vCPU of the first
 * node reads a line that lives on the second node, DRAM bank closed, nothing else in flight.
 * A system test runs exactly that read and checks the measured latency equals `totalCycles`.
 *
 * "Idle" also means the wire is free when each flit is sent. The far end owes the request a
 * credit and an acknowledgement; both ride on the answer unless their timers (credit-return delay,
 * ack timer) fire first and send them alone. A flit sent alone is harmless if it is off the wire
 * before the answer is ready, but where it is still serialising (slow links, a fast controller) the
 * answer waits behind it and the measured latency exceeds this sum. The pinning property in
 * tb/system states exactly when the sum holds.
 *
 * The answer (S2M DRS + 64 B) needs more than one flit: in 68B mode the DRS header and three
 * 16-byte chunks fit the first flit and the fourth chunk rolls over into the next (CXL 3.1
 * §4.2.5); in 256B mode header and data fit one flit.
 */
export function idleRemoteReadBreakdown(cfg: SystemConfig): { stages: BreakdownStage[]; totalCycles: number } {
  const f = new TwoNodeFabric(cfg);
  const a = f.nodes[0]!;
  const b = f.nodes[1]!;
  const dt = b.mem.dram.timing;
  const stages: BreakdownStage[] = [
    // The router's request stage ends with the command visible in the decoder's hostIn.
    { stage: 'vCPU page table', cycles: a.hostTiming.pageTableLatencyCycles },
    { stage: 'host router (request)', cycles: a.hostTiming.requestLatencyCycles },
    { stage: 'request decoder (range lookup + issue)', cycles: a.dev.lookupCycles + ISSUE_STAGE_CYCLES },
    ...linkStages('M2S', f.link.phyAB, false),
    { stage: 'remote memory controller (intake + pipeline)', cycles: CONTROLLER_INTAKE_CYCLES + b.dev.rmc.pipelineCycles },
    { stage: 'DRAM arbiter (request)', cycles: DRAM_ARBITER_REQUEST_CYCLES },
    { stage: 'DRAM (closed bank: tRCD + tCL + burst)', cycles: dt.tRCD + dt.tCL + dt.tBurst + DRAM_RESPONSE_REGISTER_CYCLES },
    { stage: 'DRAM arbiter (response)', cycles: DRAM_ARBITER_RESPONSE_CYCLES },
    { stage: 'remote memory controller (answer)', cycles: CONTROLLER_ANSWER_CYCLES },
    ...linkStages('S2M', f.link.phyBA, cfg.link.flitMode === '68B'),
    // The decoder's answer stage ends in its hostOut; the router's response stage starts there.
    { stage: 'request decoder (S2M answer)', cycles: S2M_IN_STAGE_CYCLES },
    { stage: 'host router (response)', cycles: a.hostTiming.responseLatencyCycles },
  ];
  return { stages, totalCycles: stages.reduce((s, x) => s + x.cycles, 0) };
}
