import { loadSystemConfig, type SystemConfig } from '../../src/config/system.ts';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

/** VM address layout of the small test system (each region a few pages so lines collide often). */
export const TEST_VM_LAYOUT = {
  /** VM 0: local DRAM pages. */
  local: 0x0,
  /** VM 0: pages in the window, granted to VM 0, living on the other node. */
  remote: 0x10000,
  /** VM 1: a page mapped into VM 0's granted range (not granted to VM 1): isolation → NXM. */
  otherVm: 0x20000,
  /** VM 0: a page in the window that no range claims → NXM. */
  unclaimed: 0x30000,
  /** Not mapped by any VM → page fault. */
  unmapped: 0x40000,
  pages: 2,
} as const;

/**
 * A small two-node system for system tests: on each node VM 0 (2 vCPUs) has local and remote
 * pages and an unclaimed window page; VM 1 (1 vCPU) has local pages and one page aliased into
 * VM 0's remote range, which its grants do not cover. No configured traffic: tests drive the vCPUs.
 */
export function smallSystem(overrides: readonly string[] = []): SystemConfig {
  const L = TEST_VM_LAYOUT;
  const node = (name: string, id: number, peer: number) => ({
    name,
    id,
    dram: { sizeGiB: 64 },
    device: {
      ranges: [{ baseHpa: 256 * GiB, sizeMiB: 256, ways: 1, targets: [peer], dpaSkip: 32 * GiB, readers: [0], writers: [0] }],
      exports: [{ node: peer, basePa: 32 * GiB, sizeMiB: 256 }],
    },
    vms: [
      {
        id: 0,
        vcpus: 2,
        outstanding: 4,
        map: [
          { vmBase: L.local, hpa: 1 * GiB, pages: L.pages },
          { vmBase: L.remote, hpa: 256 * GiB, pages: L.pages },
          { vmBase: L.unclaimed, hpa: 256 * GiB + 512 * MiB, pages: 1 },
        ],
        traffic: { pattern: 'none' },
      },
      {
        id: 1,
        vcpus: 1,
        outstanding: 4,
        map: [
          { vmBase: L.local, hpa: 2 * GiB, pages: L.pages },
          { vmBase: L.otherVm, hpa: 256 * GiB, pages: 1 },
        ],
        traffic: { pattern: 'none' },
      },
    ],
  });
  return loadSystemConfig({ name: 'small', cycles: 1000, nodes: [node('A', 0, 1), node('B', 1, 0)] }, overrides);
}
