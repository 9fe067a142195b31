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
 * Pages are carved out of slabs of 2^SLAB_PAGES_LOG2 pages (256 KiB): an ArrayBuffer's fixed cost
 * is paid once per slab (what remains per page is the zeroed memory itself). A page is a slot
 * number, page (slot mod slab size) of slab floor(slot / slab size): no object per page.
 */
const SLAB_PAGES_LOG2 = 6;
const SLAB_PAGES = 1 << SLAB_PAGES_LOG2;
const SLAB_SLOT_MASK = SLAB_PAGES - 1;
/** Empty key of the page table (page numbers are ≥ 0). */
const NO_PAGE = -1;
/** Initial page-table size in entries (a power of two; the table doubles at half full). */
const TABLE_MIN = 64;

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

/**
 * The bytes of one node's DRAM (no timing: that is Dram.ts). A 1 TiB or even 2^52-byte address
 * space costs nothing until written: storage is 4 KiB pages, created by the first write that
 * changes a byte of that page, found through a page table from page number to storage slot.
 * Reads of a page never written return zeros and allocate nothing. The only allocations in the
 * hot path are on a page's first write: a new slab every SLAB_PAGES pages, and the page table
 * doubling (a real DRAM has all its pages from power-on; the model pays only for what a run touches).
 *
 * The page table is open addressing with linear probing in one Float64Array of (page number,
 * slot) pairs, instead of a Map: a lookup is a hash and one or two neighbouring loads in a table
 * that stays in cache, where a Map lookup chased a bucket, an entry and a page object first.
 *
 * Addresses are plain numbers (52 bits are exact in a double): page = floor(pa / 4096), no 32-bit
 * bit operators on addresses.
 */
export class SparseMemory {
  /** table[2i] = page number (NO_PAGE: empty), table[2i + 1] = its slot; size a power of two. */
  private table = new Float64Array(2 * TABLE_MIN).fill(NO_PAGE);
  private tableMask = TABLE_MIN - 1;
  /** Pages holding storage (= slots handed out). */
  private pageCount = 0;
  /** Each slab as words (line API) and as bytes (byte API), over the same memory. */
  private readonly slabWords: Uint32Array[] = [];
  private readonly slabBytes: Uint8Array[] = [];
  /**
   * Per slab, two words per page: bit i of word 2p + j is set once line 32j + i of the slab's page
   * p has been written (a line write with any byte enabled, or a poke). A line never written holds
   * zeros, so readLineWords returns zeros for it without touching the page: most reads of a
   * randomly written page are of such lines, and the page itself is a cache and TLB miss.
   */
  private readonly slabLines: Uint32Array[] = [];
  /**
   * The page and slot of the last line access (-1: none): sequential and hot-set traffic stays on
   * one page for many lines, and a compare is cheaper than a table lookup. Only pages that exist
   * are cached (a page, once created, lives until clear()).
   */
  private lastPn = -1;
  private lastSlot = -1;

  /** Number of 4 KiB pages holding storage: follows the pages written, not the address space. */
  get pagesAllocated(): number {
    return this.pageCount;
  }

  /** Copy the 64-byte line at `pa` (a multiple of 64, < 2^52) into out[off .. off+63]. */
  readLine(pa: number, out: Uint8Array, off: number): void {
    checkLine(pa);
    const pn = Math.floor(pa / PAGE_BYTES);
    const slot = this.find(pn);
    if (slot < 0) {
      for (let i = 0; i < LINE_BYTES; i++) out[off + i] = 0;
      return;
    }
    const bytes = this.slabBytes[slot >>> SLAB_PAGES_LOG2]!;
    const po = (slot & SLAB_SLOT_MASK) * PAGE_BYTES + (pa - pn * PAGE_BYTES);
    for (let i = 0; i < LINE_BYTES; i++) out[off + i] = bytes[po + i]!;
  }

  /** readLine into words: the line at `pa` into out[wordOff .. wordOff+15] (the per-cycle path). */
  readLineWords(pa: number, out: Uint32Array, wordOff: number): void {
    checkLine(pa);
    const pn = Math.floor(pa / PAGE_BYTES);
    const slot = this.find(pn);
    if (slot < 0 || !this.lineWritten(slot, (pa - pn * PAGE_BYTES) / LINE_BYTES)) {
      for (let i = 0; i < LINE_WORDS; i++) out[wordOff + i] = 0;
      return;
    }
    const words = this.slabWords[slot >>> SLAB_PAGES_LOG2]!;
    const po = (slot & SLAB_SLOT_MASK) * PAGE_WORDS + (pa - pn * PAGE_BYTES) / 4;
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
    const slot = this.findOrCreate(pn);
    this.markWritten(slot, (pa - pn * PAGE_BYTES) / LINE_BYTES);
    const bytes = this.slabBytes[slot >>> SLAB_PAGES_LOG2]!;
    const po = (slot & SLAB_SLOT_MASK) * PAGE_BYTES + (pa - pn * PAGE_BYTES);
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
    const slot = this.findOrCreate(pn);
    this.markWritten(slot, (pa - pn * PAGE_BYTES) / LINE_BYTES);
    const words = this.slabWords[slot >>> SLAB_PAGES_LOG2]!;
    const po = (slot & SLAB_SLOT_MASK) * PAGE_WORDS + (pa - pn * PAGE_BYTES) / 4;
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
    this.table = new Float64Array(2 * TABLE_MIN).fill(NO_PAGE);
    this.tableMask = TABLE_MIN - 1;
    this.pageCount = 0;
    this.slabWords.length = 0;
    this.slabBytes.length = 0;
    this.slabLines.length = 0;
    this.lastPn = -1;
    this.lastSlot = -1;
  }

  /** The slot of page pn, or -1 when it holds no storage. */
  private find(pn: number): number {
    if (pn === this.lastPn) return this.lastSlot;
    const table = this.table;
    const mask = this.tableMask;
    for (let i = tableHash(pn) & mask; ; i = (i + 1) & mask) {
      const key = table[2 * i]!;
      if (key === pn) {
        const slot = table[2 * i + 1]!;
        this.lastPn = pn;
        this.lastSlot = slot;
        return slot;
      }
      // The table is never more than half full, so every probe sequence reaches an empty entry.
      if (key === NO_PAGE) return -1;
    }
  }

  /** The slot of page pn, allocated (zeros) if it holds no storage yet. */
  private findOrCreate(pn: number): number {
    const found = this.find(pn);
    if (found >= 0) return found;
    const slot = this.pageCount;
    if ((slot & SLAB_SLOT_MASK) === 0) {
      // The first page of a new slab (the one allocation of the hot path besides the table's growth).
      const slab = new ArrayBuffer(SLAB_PAGES * PAGE_BYTES);
      this.slabWords.push(new Uint32Array(slab));
      this.slabBytes.push(new Uint8Array(slab));
      this.slabLines.push(new Uint32Array(2 * SLAB_PAGES));
    }
    this.pageCount = slot + 1;
    if (2 * this.pageCount > this.tableMask + 1) this.growTable();
    insert(this.table, this.tableMask, pn, slot);
    this.lastPn = pn;
    this.lastSlot = slot;
    return slot;
  }

  /** Whether line `line` (0..63) of the page in `slot` has been written (see slabLines). */
  private lineWritten(slot: number, line: number): boolean {
    const w = this.slabLines[slot >>> SLAB_PAGES_LOG2]![2 * (slot & SLAB_SLOT_MASK) + (line >>> 5)]!;
    return ((w >>> (line & 31)) & 1) === 1;
  }

  /** Record that line `line` (0..63) of the page in `slot` holds written data. */
  private markWritten(slot: number, line: number): void {
    const lines = this.slabLines[slot >>> SLAB_PAGES_LOG2]!;
    const i = 2 * (slot & SLAB_SLOT_MASK) + (line >>> 5);
    lines[i] = lines[i]! | (1 << (line & 31));
  }

  /** Double the page table (keeps it at most half full, so lookups stay one or two probes). */
  private growTable(): void {
    const old = this.table;
    const size = 2 * (this.tableMask + 1);
    const table = new Float64Array(2 * size).fill(NO_PAGE);
    for (let i = 0; i < old.length; i += 2) if (old[i] !== NO_PAGE) insert(table, size - 1, old[i]!, old[i + 1]!);
    this.table = table;
    this.tableMask = size - 1;
  }

  // ---- testbench backdoor (allocates; never call per cycle) -----------------------------------

  /** Read `len` bytes starting at any byte address (may cross lines and pages). */
  peek(pa: number, len: number): Uint8Array {
    checkRange(pa, len);
    const out = new Uint8Array(len);
    for (let i = 0; i < len; i++) {
      const a = pa + i;
      const pn = Math.floor(a / PAGE_BYTES);
      const slot = this.find(pn);
      out[i] = slot < 0 ? 0 : this.slabBytes[slot >>> SLAB_PAGES_LOG2]![(slot & SLAB_SLOT_MASK) * PAGE_BYTES + (a - pn * PAGE_BYTES)]!;
    }
    return out;
  }

  /** Write bytes starting at any byte address (may cross lines and pages), allocating pages as needed. */
  poke(pa: number, bytes: ArrayLike<number>): void {
    checkRange(pa, bytes.length);
    for (let i = 0; i < bytes.length; i++) {
      const a = pa + i;
      const pn = Math.floor(a / PAGE_BYTES);
      const slot = this.findOrCreate(pn);
      this.markWritten(slot, Math.floor((a - pn * PAGE_BYTES) / LINE_BYTES));
      this.slabBytes[slot >>> SLAB_PAGES_LOG2]![(slot & SLAB_SLOT_MASK) * PAGE_BYTES + (a - pn * PAGE_BYTES)] = bytes[i]!;
    }
  }

  /** Page numbers holding storage, ascending (for tests and reports). */
  allocatedPages(): number[] {
    const pages: number[] = [];
    for (let i = 0; i < this.table.length; i += 2) if (this.table[i] !== NO_PAGE) pages.push(this.table[i]!);
    return pages.sort((a, b) => a - b);
  }
}

/**
 * Start of page pn's probe sequence: its low and high 32 bits (pn < 2^40) mixed by a
 * multiplicative hash, so pages a fixed stride apart do not collide. `>>> 0` on a double below
 * 2^53 is its value mod 2^32.
 */
function tableHash(pn: number): number {
  return Math.imul((pn >>> 0) ^ Math.floor(pn / 2 ** 32), 0x9e3779b1) >>> 7;
}

/** Put (pn, slot) in the first empty entry of pn's probe sequence (pn is not in the table). */
function insert(table: Float64Array, mask: number, pn: number, slot: number): void {
  let i = tableHash(pn) & mask;
  while (table[2 * i] !== NO_PAGE) i = (i + 1) & mask;
  table[2 * i] = pn;
  table[2 * i + 1] = slot;
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
