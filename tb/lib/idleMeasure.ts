import type { SystemConfig } from '../../src/config/system.ts';
import { Simulator } from '../../src/sim/index.ts';
import { HostOp, HostRoute } from '../../rtl/host/HostMsg.ts';
import { VcpuProgram } from '../../rtl/host/VcpuProgram.ts';
import { LatencyClass } from '../../rtl/host/VcpuPort.ts';
import { TwoNodeFabric } from '../../rtl/system/TwoNodeFabric.ts';

const GiB = 2 ** 30;

/** The first VM address of node 0's VM whose page lies in the device window (a remote line). */
export function firstRemoteVmAddr(cfg: SystemConfig): { vm: number; vmAddr: number } {
  const n = cfg.nodes[0]!;
  for (const vm of n.vms) {
    for (const m of vm.map) {
      if (m.hpa >= n.device.windowBase && m.hpa < n.device.windowBase + n.device.windowGiB * GiB) return { vm: vm.id, vmAddr: m.vmBase };
    }
  }
  throw new Error('node 0 has no VM page in its device window');
}

/**
 * Measure one idle remote read: all configured traffic off, node 0's first vCPU of that VM reads
 * one remote line, nothing else moves. Returns the latency the vCPU port recorded (issue to answer
 * visible), in cycles. `attach` may hook a tracer onto the simulator and return its close function.
 */
export function measureIdleRemoteRead(cfg: SystemConfig, attach?: (sim: Simulator) => (() => void) | void): { cycles: number; route: number } {
  const quiet: SystemConfig = { ...cfg, nodes: cfg.nodes.map((n) => ({ ...n, vms: n.vms.map((v) => ({ ...v, traffic: { ...v.traffic, pattern: 'none' as const } })) })) };
  const { vm, vmAddr } = firstRemoteVmAddr(quiet);
  const program = new VcpuProgram([{ op: HostOp.Read, vmAddr }]);
  const first = quiet.nodes[0]!.name;
  const fabric = new TwoNodeFabric(quiet, { sourceFor: (node, v, cpu) => (node === first && v === vm && cpu === 0 ? program : undefined) });
  const sim = new Simulator(fabric);
  const detach = attach?.(sim);
  try {
    sim.runUntil(() => program.isDone() && fabric.vcpus.every((p) => p.inflight === 0), 100_000);
  } finally {
    if (detach) detach();
  }
  const port = fabric.nodes[0]!.vcpus.find((p) => p.vm === vm)!;
  const h = port.latency[LatencyClass.RemoteRead]!;
  if (h.count !== 1) throw new Error(`expected one remote read, recorded ${h.count} (status ${program.status(0)})`);
  return { cycles: h.min, route: HostRoute.Remote };
}
