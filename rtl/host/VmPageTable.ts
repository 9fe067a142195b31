import { ConfigError, Module } from '../../src/sim/index.ts';

/**
 * Page size of the VM page tables: the 4 KiB base page of x86-64 and AArch64 (4K granule).
 * Migration moves memory at this granularity.
 */
export const PAGE_BYTES = 4096;

/** What `lookup()` returns for a VM address with no mapping (a page fault). */
export const NOT_MAPPED = -1;
/**
 * PAGE_BYTES and NOT_MAPPED for lookupInto (every command a vCPU port issues), as `const enum`
 * literals: a module-level constant is loaded and type-checked at each use in V8's optimized code.
 */
const enum Pt { pageBytes = 4096, notMapped = -1 }
if (Pt.pageBytes !== PAGE_BYTES || Pt.notMapped !== NOT_MAPPED) throw new Error('VmPageTable: Pt disagrees with PAGE_BYTES / NOT_MAPPED');

/**
 * VM pages below this number are also kept in a flat array indexed by page number (8 bytes per
 * page: 2 MiB for the first 1 GiB of VM space), so the per-access lookup is one array read instead
 * of a Map probe; pages above it are looked up in the Map only.
 */
const DIRECT_PAGES_MAX = 2 ** 18;
/** Smallest flat array allocated (it grows by doubling, up to DIRECT_PAGES_MAX, as pages are mapped). */
const DIRECT_PAGES_MIN = 1024;

export interface VmPageTableParams {
  /** VM id (the `vm` field of HostReq). */
  readonly vm: number;
  /** Remaps that may be staged in one cycle before they are applied (a bound, as in hardware). */
  readonly maxStagedRemaps?: number;
}

/**
 * One VM's page table: VM address → host physical address (HPA), 4 KiB pages.
 *
 * Two ways to change it:
 * - `map` / `unmap` / `mapContiguous`: immediate; for elaboration, config and testbenches between
 *   cycles.
 * - `stageRemap` / `stageUnmap`: during simulation (a migration engine flipping a page). A change
 *   staged in cycle t takes effect at the clock edge ending cycle t: every lookup in cycle t, by any
 *   module in any evaluation order, still sees the old mapping, every lookup from cycle t+1 on sees
 *   the new one, and all changes staged in the same cycle flip together (atomic). The staged set
 *   is applied lazily by the first lookup or stage call of a later cycle, which is equivalent to
 *   applying it at the edge and needs no hook in the kernel's commit phase.
 *
 * A container module (no evaluate()): the vCPU ports of the VM call `lookup()` from their own
 * evaluate(). Lookups allocate nothing (an array read, or Map.get on the VM page number for pages
 * past DIRECT_PAGES_MAX); applying a remap to a page that had no mapping may grow the Map or the
 * flat array, which happens only on a (rare) remap, never per access.
 */
export class VmPageTable extends Module {
  readonly vm: number;
  readonly maxStagedRemaps: number;
  /** VM page number → HPA page number. */
  private readonly pages = new Map<number, number>();
  /**
   * The same mapping for VM pages 0 .. direct.length-1: HPA page number, or NOT_MAPPED. Changed only
   * through setPage / deletePage, together with `pages`.
   */
  private direct = new Float64Array(0);
  /** pages.size, kept as a plain count: the `mappedPages` probe reads it every traced cycle. */
  private mappedCount = 0;
  private readonly stagedVmPage: Float64Array;
  /** HPA page of a staged change, NOT_MAPPED for an unmap. */
  private readonly stagedHpaPage: Float64Array;
  private stagedCount = 0;
  /** First cycle in which the staged changes are visible. */
  private stagedEffectiveCycle = 0;
  /** Staged changes applied so far (waveform probe and stats). */
  remapsApplied = 0;

  constructor(parent: Module, name: string, params: VmPageTableParams) {
    super(parent, name);
    if (!(Number.isInteger(params.vm) && params.vm >= 0)) throw new ConfigError(`${this.path}.vm`, `must be an integer ≥ 0, got ${params.vm}`);
    const maxStaged = params.maxStagedRemaps ?? 64;
    if (!(Number.isInteger(maxStaged) && maxStaged >= 1)) throw new ConfigError(`${this.path}.maxStagedRemaps`, `must be an integer ≥ 1, got ${maxStaged}`);
    this.vm = params.vm;
    this.maxStagedRemaps = maxStaged;
    this.stagedVmPage = new Float64Array(maxStaged);
    this.stagedHpaPage = new Float64Array(maxStaged);
    // One fill for all of this module's probes: the tracer calls it once per cycle, not a closure per probe.
    this.probeGroup(['mappedPages', 'remapsApplied', 'stagedRemaps'], [32, 32, 16], (v) => {
      v[0] = this.mappedCount;
      v[1] = this.remapsApplied;
      v[2] = this.stagedCount;
    });
  }

  /** Configuration lives across resets (it is elaborated state); only pending changes and stats clear. */
  override onReset(): void {
    this.stagedCount = 0;
    this.remapsApplied = 0;
  }

  // ---- immediate (configuration) -------------------------------------------------------------

  /** Map `pages` consecutive pages from vmAddr to consecutive HPA pages from hpa. Both 4 KiB aligned. */
  map(vmAddr: number, hpa: number, pages = 1): void {
    this.checkAligned('vmAddr', vmAddr);
    this.checkAligned('hpa', hpa);
    if (!(Number.isInteger(pages) && pages >= 1)) throw new ConfigError(`${this.path}.pages`, `must be an integer ≥ 1, got ${pages}`);
    const v0 = vmAddr / PAGE_BYTES;
    const h0 = hpa / PAGE_BYTES;
    for (let i = 0; i < pages; i++) {
      if (this.pages.has(v0 + i)) {
        throw new ConfigError(this.path, `VM page 0x${((v0 + i) * PAGE_BYTES).toString(16)} is already mapped (unmap or remap it instead)`);
      }
    }
    for (let i = 0; i < pages; i++) this.setPage(v0 + i, h0 + i);
  }

  /** The config helper: `pages` pages of VM space from vmBase, backed contiguously from hpaBase. */
  mapContiguous(vmBase: number, hpaBase: number, pages: number): void {
    this.map(vmBase, hpaBase, pages);
  }

  /** Remove `pages` mappings from vmAddr now; every page must be mapped. */
  unmap(vmAddr: number, pages = 1): void {
    this.checkAligned('vmAddr', vmAddr);
    const v0 = vmAddr / PAGE_BYTES;
    for (let i = 0; i < pages; i++) {
      if (!this.pages.has(v0 + i)) throw new ConfigError(this.path, `VM page 0x${((v0 + i) * PAGE_BYTES).toString(16)} is not mapped`);
    }
    for (let i = 0; i < pages; i++) this.deletePage(v0 + i);
  }

  // ---- staged (during simulation) ------------------------------------------------------------

  /** Stage: from the next cycle on, the page holding vmAddr maps to the page at hpa. */
  stageRemap(vmAddr: number, hpa: number): void {
    this.checkAligned('hpa', hpa);
    this.stage(Math.floor(vmAddr / PAGE_BYTES), hpa / PAGE_BYTES);
  }

  /** Stage: from the next cycle on, the page holding vmAddr is unmapped (accesses fault). */
  stageUnmap(vmAddr: number): void {
    this.stage(Math.floor(vmAddr / PAGE_BYTES), NOT_MAPPED);
  }

  /** Changes staged and not yet visible. */
  get pendingRemaps(): number {
    this.applyDue();
    return this.stagedCount;
  }

  // ---- lookup (per cycle) --------------------------------------------------------------------

  /** HPA of a VM address as of the current cycle, or NOT_MAPPED. Allocation-free. */
  lookup(vmAddr: number): number {
    if (this.stagedCount > 0) this.applyDue();
    const vPage = Math.floor(vmAddr / PAGE_BYTES);
    const hPage = this.hpaPage(vPage);
    if (hPage === NOT_MAPPED) return NOT_MAPPED;
    return hPage * PAGE_BYTES + (vmAddr - vPage * PAGE_BYTES);
  }

  /**
   * The per-cycle form of lookup(): writes the HPA into out[index] and returns false for a page
   * fault. An HPA above 2^30 is not a small integer, and returning one from a call that is not
   * inlined boxes it (measured: ~16 bytes per access with the sampling heap profiler); a store
   * into a Float64Array never allocates.
   */
  lookupInto(vmAddr: number, out: Float64Array, index: number): boolean {
    if (this.stagedCount > 0) this.applyDue();
    const vPage = Math.floor(vmAddr / Pt.pageBytes);
    const hPage = this.hpaPage(vPage);
    if (hPage === Pt.notMapped) return false;
    out[index] = hPage * Pt.pageBytes + (vmAddr - vPage * Pt.pageBytes);
    return true;
  }

  /** Number of mapped pages (as of the current cycle). */
  get mappedPages(): number {
    this.applyDue();
    return this.pages.size;
  }

  /** All mappings as [vmAddr, hpa] pairs, sorted by VM address (reports, tests; allocates). */
  mappings(): Array<[number, number]> {
    this.applyDue();
    return [...this.pages.entries()].sort((a, b) => a[0] - b[0]).map(([v, h]) => [v * PAGE_BYTES, h * PAGE_BYTES]);
  }

  // ---- internals -----------------------------------------------------------------------------

  /** HPA page of a VM page, or NOT_MAPPED. */
  private hpaPage(vPage: number): number {
    if (vPage >= 0 && vPage < this.direct.length) return this.direct[vPage]!;
    const hPage = this.pages.get(vPage);
    return hPage === undefined ? Pt.notMapped : hPage;
  }

  private setPage(vPage: number, hPage: number): void {
    if (!this.pages.has(vPage)) this.mappedCount++;
    this.pages.set(vPage, hPage);
    if (vPage >= 0 && vPage < DIRECT_PAGES_MAX) {
      if (vPage >= this.direct.length) this.growDirect(vPage);
      this.direct[vPage] = hPage;
    }
  }

  private deletePage(vPage: number): void {
    if (this.pages.delete(vPage)) this.mappedCount--;
    if (vPage >= 0 && vPage < this.direct.length) this.direct[vPage] = NOT_MAPPED;
  }

  /** Grow the flat array (doubling, at most DIRECT_PAGES_MAX entries) so it covers vPage. */
  private growDirect(vPage: number): void {
    let n = Math.max(DIRECT_PAGES_MIN, this.direct.length);
    while (n <= vPage) n *= 2;
    const grown = new Float64Array(Math.min(n, DIRECT_PAGES_MAX)).fill(NOT_MAPPED);
    grown.set(this.direct);
    this.direct = grown;
  }

  private stage(vPage: number, hPage: number): void {
    this.applyDue();
    if (this.stagedCount >= this.maxStagedRemaps) {
      this.fail(`more than maxStagedRemaps=${this.maxStagedRemaps} page-table changes staged in one cycle`);
    }
    const i = this.stagedCount++;
    this.stagedVmPage[i] = vPage;
    this.stagedHpaPage[i] = hPage;
    this.stagedEffectiveCycle = this.ctx.cycle + 1;
  }

  /** Apply the staged set once its cycle has come. In staging order: the last change to a page wins. */
  private applyDue(): void {
    if (this.stagedCount === 0 || this.ctx.cycle < this.stagedEffectiveCycle) return;
    for (let i = 0; i < this.stagedCount; i++) {
      const v = this.stagedVmPage[i]!;
      const h = this.stagedHpaPage[i]!;
      if (h === NOT_MAPPED) this.deletePage(v);
      else this.setPage(v, h);
    }
    this.remapsApplied += this.stagedCount;
    this.stagedCount = 0;
  }

  private checkAligned(what: string, addr: number): void {
    if (!(Number.isInteger(addr) && addr >= 0 && addr % PAGE_BYTES === 0 && addr < 2 ** 52)) {
      throw new ConfigError(`${this.path}.${what}`, `0x${Number.isFinite(addr) ? addr.toString(16) : addr} must be a ${PAGE_BYTES}-byte aligned address below 2^52`);
    }
  }
}
