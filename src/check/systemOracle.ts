import type { NodeConfig, SystemConfig } from '../config/system.ts';
import type { ExpectedOutcome } from './Scoreboard.ts';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const PAGE = 4096;

/**
 * What an access by (VM, VM address) on `node` must get, computed from the configuration alone,
 * independently of the DUT's tables (page table, host router, address-range table, export table):
 * - 'fault': no page-table mapping;
 * - 'ok': local DRAM, or a window range that grants the VM both read and write and whose target
 *   exports the resulting DPA to this node for read and write;
 * - 'nxm': anything else (no range, a range without the grant, a target that does not export it,
 *   an HPA neither in DRAM nor in the window).
 * The DPA follows the HDM device arithmetic (CXL 4.0 §8.2.4.20 implementation note): DPA bases
 * accumulate over the table's entries (skip + size / ways), interleave bits are removed.
 * A range granting read but not write (or the reverse) is reported 'nxm' for both: the system
 * tests only configure symmetric grants, so the oracle needs no operation argument.
 */
export function accessOracle(cfg: SystemConfig, node: NodeConfig): (vm: number, vmAddr: number) => ExpectedOutcome {
  return (vm, vmAddr) => {
    const vmc = node.vms.find((v) => v.id === vm);
    if (!vmc) return 'fault';
    const m = vmc.map.find((x) => vmAddr >= x.vmBase && vmAddr < x.vmBase + x.pages * PAGE);
    if (!m) return 'fault';
    const hpa = m.hpa + (vmAddr - m.vmBase);
    if (hpa >= node.dram.baseHpa && hpa < node.dram.baseHpa + node.dram.sizeGiB * GiB) return 'ok';
    const d = node.device;
    if (hpa < d.windowBase || hpa >= d.windowBase + d.windowGiB * GiB) return 'nxm';
    let dpaBase = 0;
    for (const r of d.ranges) {
      dpaBase += r.dpaSkip;
      const size = r.sizeMiB * MiB;
      if (hpa >= r.baseHpa && hpa < r.baseHpa + size) {
        if (!r.readers.includes(vm) || !r.writers.includes(vm)) return 'nxm';
        const off = hpa - r.baseHpa;
        const chunk = Math.floor(off / r.granularity);
        const target = r.targets[chunk % r.ways]!;
        const dpa = dpaBase + Math.floor(chunk / r.ways) * r.granularity + (off % r.granularity);
        const t = cfg.nodes.find((n) => n.id === target);
        if (!t) return 'nxm';
        const ok = t.device.exports.some((e) => e.node === node.id && e.read && e.write && dpa >= e.basePa && dpa < e.basePa + e.sizeMiB * MiB);
        return ok ? 'ok' : 'nxm';
      }
      dpaBase += size / r.ways;
    }
    return 'nxm';
  };
}
