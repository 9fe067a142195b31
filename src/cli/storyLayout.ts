import { writeFileSync } from 'node:fs';
import { gtkwText, type GtkwTrace } from '../vcd/GtkwWriter.ts';
import type { TracedSignal, VcdTracer } from '../vcd/Tracer.ts';

/**
 * The GTKWave layout of a `cxlfab run`: first the path of one remote read, in the order a request
 * travels (vCPU → router → decoder and its table → packer and credits → PHY A→B → far unpacker →
 * remote memory controller → DRAM → back), each step a group; then every module's full group.
 * The story names the first node's VM 0 vCPU 0; signals are matched by their variable path.
 */
function story(a: string, b: string): Array<[string, RegExp]> {
  const A = `top\\.node${a}`;
  const B = `top\\.node${b}`;
  return [
    ['1 vCPU issues (node ' + a + ')', new RegExp(`^${A}\\.vm0_cpu0\\.(req_|rsp_|issued|inflight)`)],
    ['2 host router', new RegExp(`^${A}\\.router\\.(requestOccupancy|responseOccupancy|localInflight|routedLocal|routedRemote)`)],
    ['3 request decoder + address-range table', new RegExp(`^${A}\\.dev\\.decoder\\.(hostIn_|hostOut_|lastLookup|tagsFree|outstanding$|lastIssuedTag)`)],
    ['4 flit packer (A) + credits', /^top\.link\.a\.packer\.(txReq_count|txRwD_count|flitOut_push|lastSlotFormats|lastKind|creditsM2SReq|creditsM2SRwD)/],
    ['5 link layer + PHY A to B', /^top\.link\.(a\.llr\.|phyAB\.)(txIn_push|rxOut_push|linkState|state|seq|llrbCount|retr)/],
    ['6 flit unpacker (B)', /^top\.link\.b\.unpacker\.(flitIn_push|rxReq_count|rxRwD_count|lastKind|lastFlags)/],
    ['7 remote memory controller (node ' + b + ')', new RegExp(`^${B}\\.dev\\.rmc\\.`)],
    ['8 DRAM (node ' + b + ')', new RegExp(`^${B}\\.mem\\.dram\\.(req_|rsp_|queueOccupancy|inFlight|ch0_dataBusBusy|bank0_|bank1_)`)],
    ['9 answer returns (B to A)', /^top\.link\.(b\.packer\.(txDrs_count|txNdr_count|flitOut_push)|phyBA\.(txIn_push|rxOut_push)|a\.unpacker\.(rxDrs_count|rxNdr_count))/],
  ];
}

/** Rewrite the tracer's .gtkw with the story groups first. */
export function writeStoryGtkw(gtkwPath: string, vcdPath: string, tracer: VcdTracer, nodeA: string, nodeB: string): void {
  const traced: readonly TracedSignal[] = tracer.traced;
  const first: GtkwTrace[] = [];
  for (const [group, re] of story(nodeA, nodeB)) {
    for (const t of traced) if (re.test(t.path)) first.push({ facility: t.facility, group, type: t.type, width: t.width });
  }
  const text = gtkwText(vcdPath, [...first, ...traced], { ...(tracer.clockFacility ? { clock: tracer.clockFacility } : {}), periodTicks: tracer.periodPs, treeOpen: ['top'] });
  writeFileSync(gtkwPath, text);
}
