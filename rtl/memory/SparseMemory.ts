import { LINE_BYTES } from '../cxl/opcodes.ts';
import { LINE_WORDS } from '../cxl/LineWords.ts';

/** Storage is allocated in pages of this size, on the first write that touches the page. */
export const PAGE_BYTES = 4096;
/** Physical addresses are 52 bits wide (CXL Address[51:6], reference/cxl-protocol.md §1.4). */
export const PA_LIMIT = 2 ** 52;
/** Byte-enable mask with all 32 bits of one half-line set (beLo or beHi). */
export const BE_HALF_ALL = 0xffffffff;
const HALF_LINE = LINE_BYTES / 2;
const HALF_LINE_WORDS = LINE_WORDS / 2;
const PAGE_WORDS = PAGE_BYTES / 4;
/**
 * Pages are carved out of slabs of this many: the ArrayBuffer allocation is most of a new page's
 * cost (measured 2.3× per page against one buffer per page), and it is paid once per slab.
 */
const PAGES_PER_SLAB = 16;

/**
 * Byte-enable nibble → word mask: entry m has byte k all ones where bit k of m is set. Built
 * through a byte view, so it matches the host's byte order within a word.
 */
const NIBBLE_MASK = (() => {
  const t = new Uint32Array(16);
  const b = new Uint8Array(t.buffer);
  for (let m = 0; m < 16; m++) for (let k = 0; k < 4; k++) if ((m >>> k) & 1) b[m * 4 + k] = 0xff;
  return t;
})();

/** One page of storage, as bytes (backdoor, byte API) and as words (line API) over the same memory. */
interface Page {
  readonly bytes: Uint8Array;
  readonly words: Uint32Array;
}

/**
 * The bytes of one node's DRAM (no timing: that is Dram.ts). A 1 TiB or even 2^52-byte address
 * space costs nothing until written: storage is a Map from page number to a 4 KiB page (its
 * bytes, and a word view of them for whole-line copies), created by the first write that changes
 * a byte of that page. Reads of a page never written return zeros and allocate nothing. The one
 * allocation in the hot path is that first-write page, a view into a slab of PAGES_PER_SLAB pages
 * (a real DRAM has all its pages from power-on; the model pays only for what a run touches).
 *
 * Addresses are plain numbers (52 bits are exact in a double): page = floor(pa / 4096), no 32-bit
 * bit operators.
 */
export class SparseMemory {
  private readonly pages = new Map<number, Page>();
  /**
   * The page of the last line access (or null): sequential and hot-set traffic stays on one page
   * for many lines, and a compare is cheaper than a Map lookup. Only pages that exist are cached
   * (a page, once created, lives until clear()).
   */
  private lastPn = -1;
  private lastPage: Page | null = null;
  /** The slab new pages come from, and how many of its pages are handed out (the rest are still zeros). */
  private slab: ArrayBuffer | null = null;
  private slabUsed = PAGES_PER_SLAB;

  /** Number of 4 KiB pages holding storage: follows the pages written, not the address space. */
  get pagesAllocated(): number {
    return this.pages.size;
  }

  /** Copy the 64-byte line at `pa` (a multiple of 64, < 2^52) into out[off .. off+63]. */
  readLine(pa: number, out: Uint8Array, off: number): void {
    checkLine(pa);
    const pn = Math.floor(pa / PAGE_BYTES);
    const page = this.find(pn);
    if (page === null) {
      for (let i = 0; i < LINE_BYTES; i++) out[off + i] = 0;
      return;
    }
    const bytes = page.bytes;
    const po = pa - pn * PAGE_BYTES;
    for (let i = 0; i < LINE_BYTES; i++) out[off + i] = bytes[po + i]!;
  }

  /** readLine into words: the line at `pa` into out[wordOff .. wordOff+15] (the per-cycle path). */
  readLineWords(pa: number, out: Uint32Array, wordOff: number): void {
    checkLine(pa);
    const pn = Math.floor(pa / PAGE_BYTES);
    const page = this.find(pn);
    if (page === null) {
      for (let i = 0; i < LINE_WORDS; i++) out[wordOff + i] = 0;
      return;
    }
    const words = page.words;
    const po = (pa - pn * PAGE_BYTES) / 4;
    for (let i = 0; i < LINE_WORDS; i++) out[wordOff + i] = words[po + i]!;
  }

  /**
   * Write the enabled bytes of src[off .. off+63] to the line at `pa`. Bit i of `beLo` enables
   * byte i (0..31), bit i of `beHi` byte 32+i. A write with no byte enabled allocates nothing.
   */
  writeLine(pa: number, src: Uint8Array, off: number, beLo: number, beHi: number): void {
    checkLine(pa);
    if (beLo === 0 && beHi === 0) return;
    const pn = Math.floor(pa / PAGE_BYTES);
    const bytes = this.findOrCreate(pn).bytes;
    const po = pa - pn * PAGE_BYTES;
    if (beLo === BE_HALF_ALL && beHi === BE_HALF_ALL) {
      for (let i = 0; i < LINE_BYTES; i++) bytes[po + i] = src[off + i]!;
      return;
    }
    for (let i = 0; i < HALF_LINE; i++) {
      if ((beLo >>> i) & 1) bytes[po + i] = src[off + i]!;
      if ((beHi >>> i) & 1) bytes[po + HALF_LINE + i] = src[off + HALF_LINE + i]!;
    }
  }

  /** writeLine from words: src[wordOff .. wordOff+15], same byte enables (the per-cycle path). */
  writeLineWords(pa: number, src: Uint32Array, wordOff: number, beLo: number, beHi: number): void {
    checkLine(pa);
    if (beLo === 0 && beHi === 0) return;
    const pn = Math.floor(pa / PAGE_BYTES);
    const words = this.findOrCreate(pn).words;
    const po = (pa - pn * PAGE_BYTES) / 4;
    if (beLo === BE_HALF_ALL && beHi === BE_HALF_ALL) {
      for (let i = 0; i < LINE_WORDS; i++) words[po + i] = src[wordOff + i]!;
      return;
    }
    // Four byte enables per word: keep the disabled bytes, take the enabled ones from src.
    for (let i = 0; i < HALF_LINE_WORDS; i++) {
      const lo = NIBBLE_MASK[(beLo >>> (4 * i)) & 15]!;
      const hi = NIBBLE_MASK[(beHi >>> (4 * i)) & 15]!;
      const a = po + i;
      const b = po + HALF_LINE_WORDS + i;
      words[a] = (words[a]! & ~lo) | (src[wordOff + i]! & lo);
      words[b] = (words[b]! & ~hi) | (src[wordOff + HALF_LINE_WORDS + i]! & hi);
    }
  }

  /** Free every page (reset of the memory contents). */
  clear(): void {
    this.pages.clear();
    this.lastPn = -1;
    this.lastPage = null;
  }

  /** The page numbered pn, or null when it holds no storage. */
  private find(pn: number): Page | null {
    if (pn === this.lastPn) return this.lastPage;
    const page = this.pages.get(pn);
    if (page === undefined) return null;
    this.lastPn = pn;
    this.lastPage = page;
    return page;
  }

  /** The page numbered pn, allocated (zeros) if it holds no storage yet. */
  private findOrCreate(pn: number): Page {
    let page = this.find(pn);
    if (page === null) {
      page = this.newPage();
      this.pages.set(pn, page);
      this.lastPn = pn;
      this.lastPage = page;
    }
    return page;
  }

  /** A page of zeros (the one allocation of the hot path, and only on a page's first write). */
  private newPage(): Page {
    if (this.slab === null || this.slabUsed === PAGES_PER_SLAB) {
      this.slab = new ArrayBuffer(PAGES_PER_SLAB * PAGE_BYTES);
      this.slabUsed = 0;
    }
    const off = this.slabUsed++ * PAGE_BYTES;
    return { bytes: new Uint8Array(this.slab, off, PAGE_BYTES), words: new Uint32Array(this.slab, off, PAGE_WORDS) };
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
      out[i] = page === undefined ? 0 : page.bytes[a - pn * PAGE_BYTES]!;
    }
    return out;
  }

  /** Write bytes starting at any byte address (may cross lines and pages), allocating pages as needed. */
  poke(pa: number, bytes: ArrayLike<number>): void {
    checkRange(pa, bytes.length);
    for (let i = 0; i < bytes.length; i++) {
      const a = pa + i;
      const pn = Math.floor(a / PAGE_BYTES);
      this.findOrCreate(pn).bytes[a - pn * PAGE_BYTES] = bytes[i]!;
    }
  }

  /** Page numbers holding storage, ascending (for tests and reports). */
  allocatedPages(): number[] {
    return [...this.pages.keys()].sort((a, b) => a - b);
  }
}

function checkLine(pa: number): void {
  // Cheap comparisons only: this runs per access. Inside the range floor(pa / 64) * 64 is exact,
  // so it equals pa exactly when pa % 64 === 0, without the library call a double `%` costs.
  if (!(pa >= 0 && pa < PA_LIMIT) || Math.floor(pa / LINE_BYTES) * LINE_BYTES !== pa) {
    throw new RangeError(`SparseMemory: line address ${pa} must be a multiple of ${LINE_BYTES} in [0, 2^52)`);
  }
}

function checkRange(pa: number, len: number): void {
  if (!(Number.isInteger(pa) && Number.isInteger(len) && pa >= 0 && len >= 0 && pa + len <= PA_LIMIT)) {
    throw new RangeError(`SparseMemory: byte range [${pa}, ${pa}+${len}) must be integers inside [0, 2^52)`);
  }
}
