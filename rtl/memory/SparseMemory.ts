import { LINE_BYTES } from '../cxl/opcodes.ts';

/** Storage is allocated in pages of this size, on the first write that touches the page. */
export const PAGE_BYTES = 4096;
/** Physical addresses are 52 bits wide (CXL Address[51:6], reference/cxl-protocol.md §1.4). */
export const PA_LIMIT = 2 ** 52;
/** Byte-enable mask with all 32 bits of one half-line set (beLo or beHi). */
export const BE_HALF_ALL = 0xffffffff;
const HALF_LINE = LINE_BYTES / 2;

/**
 * The bytes of one node's DRAM (no timing: that is Dram.ts). A 1 TiB or even 2^52-byte address
 * space costs nothing until written: storage is a Map from page number to a 4 KiB Uint8Array,
 * created by the first write that changes a byte of that page. Reads of a page never written
 * return zeros and allocate nothing. The one allocation in the hot path is that first-write page
 * (a real DRAM has all its pages from power-on; the model pays only for what a run touches).
 *
 * Addresses are plain numbers (52 bits are exact in a double): page = floor(pa / 4096), no 32-bit
 * bit operators.
 */
export class SparseMemory {
  private readonly pages = new Map<number, Uint8Array>();

  /** Number of 4 KiB pages holding storage: follows the pages written, not the address space. */
  get pagesAllocated(): number {
    return this.pages.size;
  }

  /** Copy the 64-byte line at `pa` (a multiple of 64, < 2^52) into out[off .. off+63]. */
  readLine(pa: number, out: Uint8Array, off: number): void {
    checkLine(pa);
    const pn = Math.floor(pa / PAGE_BYTES);
    const page = this.pages.get(pn);
    if (page === undefined) {
      for (let i = 0; i < LINE_BYTES; i++) out[off + i] = 0;
      return;
    }
    const po = pa - pn * PAGE_BYTES;
    for (let i = 0; i < LINE_BYTES; i++) out[off + i] = page[po + i]!;
  }

  /**
   * Write the enabled bytes of src[off .. off+63] to the line at `pa`. Bit i of `beLo` enables
   * byte i (0..31), bit i of `beHi` byte 32+i. A write with no byte enabled allocates nothing.
   */
  writeLine(pa: number, src: Uint8Array, off: number, beLo: number, beHi: number): void {
    checkLine(pa);
    if (beLo === 0 && beHi === 0) return;
    const pn = Math.floor(pa / PAGE_BYTES);
    let page = this.pages.get(pn);
    if (page === undefined) {
      page = new Uint8Array(PAGE_BYTES);
      this.pages.set(pn, page);
    }
    const po = pa - pn * PAGE_BYTES;
    if (beLo === BE_HALF_ALL && beHi === BE_HALF_ALL) {
      for (let i = 0; i < LINE_BYTES; i++) page[po + i] = src[off + i]!;
      return;
    }
    for (let i = 0; i < HALF_LINE; i++) {
      if ((beLo >>> i) & 1) page[po + i] = src[off + i]!;
      if ((beHi >>> i) & 1) page[po + HALF_LINE + i] = src[off + HALF_LINE + i]!;
    }
  }

  /** Free every page (reset of the memory contents). */
  clear(): void {
    this.pages.clear();
  }

  // ---- testbench backdoor (allocates; never call per cycle) -----------------------------------

  /** Read `len` bytes starting at any byte address (may cross lines and pages). */
  peek(pa: number, len: number): Uint8Array {
    checkRange(pa, len);
    const out = new Uint8Array(len);
    for (let i = 0; i < len; i++) {
      const a = pa + i;
      const pn = Math.floor(a / PAGE_BYTES);
      const page = this.pages.get(pn);
      out[i] = page === undefined ? 0 : page[a - pn * PAGE_BYTES]!;
    }
    return out;
  }

  /** Write bytes starting at any byte address (may cross lines and pages), allocating pages as needed. */
  poke(pa: number, bytes: ArrayLike<number>): void {
    checkRange(pa, bytes.length);
    for (let i = 0; i < bytes.length; i++) {
      const a = pa + i;
      const pn = Math.floor(a / PAGE_BYTES);
      let page = this.pages.get(pn);
      if (page === undefined) {
        page = new Uint8Array(PAGE_BYTES);
        this.pages.set(pn, page);
      }
      page[a - pn * PAGE_BYTES] = bytes[i]!;
    }
  }

  /** Page numbers holding storage, ascending (for tests and reports). */
  allocatedPages(): number[] {
    return [...this.pages.keys()].sort((a, b) => a - b);
  }
}

function checkLine(pa: number): void {
  // Cheap comparisons only: this runs per access.
  if (!(pa >= 0 && pa < PA_LIMIT) || pa % LINE_BYTES !== 0) {
    throw new RangeError(`SparseMemory: line address ${pa} must be a multiple of ${LINE_BYTES} in [0, 2^52)`);
  }
}

function checkRange(pa: number, len: number): void {
  if (!(Number.isInteger(pa) && Number.isInteger(len) && pa >= 0 && len >= 0 && pa + len <= PA_LIMIT)) {
    throw new RangeError(`SparseMemory: byte range [${pa}, ${pa}+${len}) must be integers inside [0, 2^52)`);
  }
}
