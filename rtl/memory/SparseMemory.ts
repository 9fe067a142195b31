import { LINE_BYTES } from '../cxl/opcodes.ts';
import { LINE_WORDS } from '../cxl/LineWords.ts';

/** Storage is allocated in pages of this size, on the first write that touches the page. */
export const PAGE_BYTES = 4096;
/** Physical addresses are 52 bits wide (CXL Address[51:6], reference/cxl-protocol.md §1.4). */
export const PA_LIMIT = 2 ** 52;
/** Byte-enable mask with all 32 bits of one half-line set (beLo or beHi). */
export const BE_HALF_ALL = 0xffffffff;
/**
 * The sizes and field places below as a `const enum`: the TypeScript transform writes its members
 * as literals, where a module-level constant is loaded and type-checked at each use in V8's
 * optimized code (this runs for every DRAM access). Checked at load against the exported sizes.
 */
const enum Sp {
  lineBytes = 64,
  lineWords = 16,
  halfLine = 32,
  halfLineWords = 8,
  pageBytes = 4096,
  pageWords = 1024,
  pageWordsLog2 = 10,
  /** Lines per page - 1. */
  pageLineMask = 63,
  paLimit = 4503599627370496,
  beHalfAll = 0xffffffff,
  /**
   * Pages are carved out of slabs of 2^slabPagesLog2 pages (256 KiB): an ArrayBuffer's fixed cost
   * is paid once per slab (what remains per page is the zeroed memory itself). A page is a slot
   * number, page (slot mod slab size) of slab floor(slot / slab size): no object per page.
   */
  slabPagesLog2 = 6,
  slabPages = 64,
  slabSlotMask = 63,
  /**
   * The page directory is kept per chunk of 2^chunkPagesLog2 pages (2 MiB of address space), so a
   * chunk number (below 2^31 for 52-bit addresses) is an int32 and the pages of one region sit side
   * by side: the directory of a run's few regions stays small and in cache.
   */
  chunkPagesLog2 = 9,
  chunkPages = 512,
  chunkBytes = 2097152,
  /**
   * A page's directory record: its storage slot (noSlot: none) and the lines written since it was
   * created (bit i of word recLines + j: line 32j + i). One record is 16 bytes, so the slot and the
   * written bits of a line come in one cache line.
   */
  recWordsLog2 = 2,
  recSlot = 0,
  recLines = 1,
  chunkWords = 2048,
  /** Record of a page without storage, and empty key of the chunk table (chunk numbers are ≥ 0). */
  noSlot = -1,
  noChunk = -1,
  /** Initial chunk-table size in entries (a power of two; the table doubles at half full). */
  chunkTableMin = 16,
  /** Directory chunks allocated at first (the directory doubles when full). */
  dirChunksMin = 4,
}
if (
  Sp.lineBytes !== LINE_BYTES || Sp.lineWords !== LINE_WORDS || Sp.halfLine !== LINE_BYTES / 2 || Sp.halfLineWords !== LINE_WORDS / 2 ||
  Sp.pageBytes !== PAGE_BYTES || Sp.pageWords !== PAGE_BYTES / 4 || Sp.pageWords !== 1 << Sp.pageWordsLog2 || Sp.pageLineMask !== PAGE_BYTES / LINE_BYTES - 1 ||
  Sp.paLimit !== PA_LIMIT || Sp.beHalfAll !== BE_HALF_ALL || Sp.slabPages !== 1 << Sp.slabPagesLog2 || Sp.slabSlotMask !== Sp.slabPages - 1 ||
  Sp.chunkPages !== 1 << Sp.chunkPagesLog2 || Sp.chunkBytes !== Sp.chunkPages * PAGE_BYTES || Sp.chunkWords !== Sp.chunkPages << Sp.recWordsLog2
) {
  throw new Error('SparseMemory: the Sp constants disagree with the sizes they stand for');
}

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
 * changes a byte of that page, found through a page directory from address to storage slot.
 * Reads of a page never written return zeros and allocate nothing. The only allocations in the
 * hot path are on a page's first write: a new slab every Sp.slabPages pages, and the directory's
 * growth for a new 2 MiB chunk (a real DRAM has all its pages from power-on; the model pays only
 * for what a run touches).
 *
 * The directory is two levels: a chunk table (open addressing with linear probing over int32
 * chunk numbers, tiny for a run's few regions) gives a chunk's place in one Int32Array of page
 * records; the last chunk used is remembered, so most lookups are one compare. It replaced a
 * page-number hash table whose entries, spread over 128 KiB, were a cache miss per access.
 *
 * Addresses are plain numbers (52 bits are exact in a double): chunk = floor(pa / 2^21); the bits
 * below that (page in chunk, line, offset) come from `pa >>> 0`, pa's low 32 bits.
 */
export class SparseMemory {
  /** chunkTable[2i] = chunk number (Sp.noChunk: empty), chunkTable[2i + 1] = its directory index; size a power of two. */
  private chunkTable = new Int32Array(2 * Sp.chunkTableMin).fill(Sp.noChunk);
  private chunkMask = Sp.chunkTableMin - 1;
  private chunkCount = 0;
  /** Page records (see Sp.rec*), Sp.chunkWords per chunk, chunks in the order they were created. */
  private dir = new Int32Array(Sp.dirChunksMin * Sp.chunkWords);
  /**
   * The chunk of the last access and the offset of its records in `dir` (-1: none): sequential and
   * hot-set traffic stays in one chunk for many lines, and a compare is cheaper than a table lookup.
   */
  private lastChunk = -1;
  private lastChunkBase = 0;
  /** Pages holding storage (= slots handed out). */
  private pageCount = 0;
  /** Each slab as words (line API) and as bytes (byte API), over the same memory. */
  private readonly slabWords: Uint32Array[] = [];
  private readonly slabBytes: Uint8Array[] = [];

  /** Number of 4 KiB pages holding storage: follows the pages written, not the address space. */
  get pagesAllocated(): number {
    return this.pageCount;
  }

  /** Copy the 64-byte line at `pa` (a multiple of 64, < 2^52) into out[off .. off+63]. */
  readLine(pa: number, out: Uint8Array, off: number): void {
    checkLine(pa);
    const slot = this.slotOf(pa);
    if (slot < 0) {
      for (let i = 0; i < Sp.lineBytes; i++) out[off + i] = 0;
      return;
    }
    const bytes = this.slabBytes[slot >>> Sp.slabPagesLog2]!;
    const po = (slot & Sp.slabSlotMask) * Sp.pageBytes + pageOffset(pa);
    for (let i = 0; i < Sp.lineBytes; i++) out[off + i] = bytes[po + i]!;
  }

  /** readLine into words: the line at `pa` into out[wordOff .. wordOff+15] (the per-cycle path). */
  readLineWords(pa: number, out: Uint32Array, wordOff: number): void {
    checkLine(pa);
    const r = this.recordOf(pa);
    const line = lineInPage(pa);
    // A line never written holds zeros: no need to touch its page (most reads of a randomly
    // written page are of such lines, and the page itself is a cache and TLB miss).
    if (r < 0 || ((this.dir[r + Sp.recLines + (line >>> 5)]! >>> (line & 31)) & 1) === 0) {
      for (let i = 0; i < Sp.lineWords; i++) out[wordOff + i] = 0;
      return;
    }
    // A written line has storage.
    const slot = this.dir[r + Sp.recSlot]!;
    const words = this.slabWords[slot >>> Sp.slabPagesLog2]!;
    const po = ((slot & Sp.slabSlotMask) << Sp.pageWordsLog2) + (pageOffset(pa) >>> 2);
    for (let i = 0; i < Sp.lineWords; i++) out[wordOff + i] = words[po + i]!;
  }

  /**
   * Write the enabled bytes of src[off .. off+63] to the line at `pa`. Bit i of `beLo` enables
   * byte i (0..31), bit i of `beHi` byte 32+i. A write with no byte enabled allocates nothing.
   */
  writeLine(pa: number, src: Uint8Array, off: number, beLo: number, beHi: number): void {
    checkLine(pa);
    if (beLo === 0 && beHi === 0) return;
    const slot = this.storeLine(pa);
    const bytes = this.slabBytes[slot >>> Sp.slabPagesLog2]!;
    const po = (slot & Sp.slabSlotMask) * Sp.pageBytes + pageOffset(pa);
    if (beLo === Sp.beHalfAll && beHi === Sp.beHalfAll) {
      for (let i = 0; i < Sp.lineBytes; i++) bytes[po + i] = src[off + i]!;
      return;
    }
    for (let i = 0; i < Sp.halfLine; i++) {
      if ((beLo >>> i) & 1) bytes[po + i] = src[off + i]!;
      if ((beHi >>> i) & 1) bytes[po + Sp.halfLine + i] = src[off + Sp.halfLine + i]!;
    }
  }

  /** writeLine from words: src[wordOff .. wordOff+15], same byte enables (the per-cycle path). */
  writeLineWords(pa: number, src: Uint32Array, wordOff: number, beLo: number, beHi: number): void {
    checkLine(pa);
    if (beLo === 0 && beHi === 0) return;
    const slot = this.storeLine(pa);
    const words = this.slabWords[slot >>> Sp.slabPagesLog2]!;
    const po = ((slot & Sp.slabSlotMask) << Sp.pageWordsLog2) + (pageOffset(pa) >>> 2);
    if (beLo === Sp.beHalfAll && beHi === Sp.beHalfAll) {
      for (let i = 0; i < Sp.lineWords; i++) words[po + i] = src[wordOff + i]!;
      return;
    }
    // Four byte enables per word: keep the disabled bytes, take the enabled ones from src.
    for (let i = 0; i < Sp.halfLineWords; i++) {
      const lo = NIBBLE_MASK[(beLo >>> (4 * i)) & 15]!;
      const hi = NIBBLE_MASK[(beHi >>> (4 * i)) & 15]!;
      const a = po + i;
      const b = po + Sp.halfLineWords + i;
      words[a] = (words[a]! & ~lo) | (src[wordOff + i]! & lo);
      words[b] = (words[b]! & ~hi) | (src[wordOff + Sp.halfLineWords + i]! & hi);
    }
  }

  /** Free every page (reset of the memory contents). */
  clear(): void {
    this.chunkTable = new Int32Array(2 * Sp.chunkTableMin).fill(Sp.noChunk);
    this.chunkMask = Sp.chunkTableMin - 1;
    this.chunkCount = 0;
    this.dir = new Int32Array(Sp.dirChunksMin * Sp.chunkWords);
    this.lastChunk = -1;
    this.lastChunkBase = 0;
    this.pageCount = 0;
    this.slabWords.length = 0;
    this.slabBytes.length = 0;
  }

  /** Index in `dir` of the record of the page holding byte address a, or -1 when its chunk has no records. */
  private recordOf(a: number): number {
    const chunk = Math.floor(a / Sp.chunkBytes);
    if (chunk !== this.lastChunk) {
      const k = this.findChunk(chunk);
      if (k < 0) return -1;
      this.lastChunk = chunk;
      this.lastChunkBase = k * Sp.chunkWords;
    }
    return this.lastChunkBase + (pageInChunk(a) << Sp.recWordsLog2);
  }

  /** Storage slot of the page holding byte address a, or -1 when it has none. */
  private slotOf(a: number): number {
    const r = this.recordOf(a);
    return r < 0 ? Sp.noSlot : this.dir[r + Sp.recSlot]!;
  }

  /** Directory index of chunk c, or -1 when it has no records. */
  private findChunk(c: number): number {
    const table = this.chunkTable;
    const mask = this.chunkMask;
    for (let i = chunkHash(c) & mask; ; i = (i + 1) & mask) {
      const key = table[2 * i]!;
      if (key === c) return table[2 * i + 1]!;
      // The table is never more than half full, so every probe sequence reaches an empty entry.
      if (key === Sp.noChunk) return -1;
    }
  }

  /**
   * The page holding byte address a, given storage (zeros) if it has none yet, and its line marked
   * as written; returns its slot. Allocates only for a new chunk (its records), a new slab, or a
   * table doubling.
   */
  private storeLine(a: number): number {
    let r = this.recordOf(a);
    if (r < 0) {
      this.newChunk(Math.floor(a / Sp.chunkBytes));
      r = this.recordOf(a);
    }
    const dir = this.dir;
    let slot = dir[r + Sp.recSlot]!;
    if (slot < 0) {
      slot = this.pageCount;
      if ((slot & Sp.slabSlotMask) === 0) {
        // The first page of a new slab.
        const slab = new ArrayBuffer(Sp.slabPages * Sp.pageBytes);
        this.slabWords.push(new Uint32Array(slab));
        this.slabBytes.push(new Uint8Array(slab));
      }
      this.pageCount = slot + 1;
      dir[r + Sp.recSlot] = slot;
    }
    const line = lineInPage(a);
    const w = r + Sp.recLines + (line >>> 5);
    dir[w] = dir[w]! | (1 << (line & 31));
    return slot;
  }

  /** Records for chunk c, every page without storage. */
  private newChunk(c: number): void {
    const k = this.chunkCount;
    if ((k + 1) * Sp.chunkWords > this.dir.length) {
      const grown = new Int32Array(2 * this.dir.length);
      grown.set(this.dir);
      this.dir = grown;
    }
    const base = k * Sp.chunkWords;
    for (let r = base; r < base + Sp.chunkWords; r += 1 << Sp.recWordsLog2) this.dir[r + Sp.recSlot] = Sp.noSlot;
    this.chunkCount = k + 1;
    if (2 * this.chunkCount > this.chunkMask + 1) this.growChunkTable();
    insertChunk(this.chunkTable, this.chunkMask, c, k);
  }

  /** Double the chunk table (keeps it at most half full, so lookups stay one or two probes). */
  private growChunkTable(): void {
    const old = this.chunkTable;
    const size = 2 * (this.chunkMask + 1);
    const table = new Int32Array(2 * size).fill(Sp.noChunk);
    for (let i = 0; i < old.length; i += 2) if (old[i] !== Sp.noChunk) insertChunk(table, size - 1, old[i]!, old[i + 1]!);
    this.chunkTable = table;
    this.chunkMask = size - 1;
  }

  // ---- testbench backdoor (allocates; never call per cycle) -----------------------------------

  /** Read `len` bytes starting at any byte address (may cross lines and pages). */
  peek(pa: number, len: number): Uint8Array {
    checkRange(pa, len);
    const out = new Uint8Array(len);
    for (let i = 0; i < len; i++) {
      const a = pa + i;
      const slot = this.slotOf(a);
      out[i] = slot < 0 ? 0 : this.slabBytes[slot >>> Sp.slabPagesLog2]![(slot & Sp.slabSlotMask) * Sp.pageBytes + pageOffset(a)]!;
    }
    return out;
  }

  /** Write bytes starting at any byte address (may cross lines and pages), allocating pages as needed. */
  poke(pa: number, bytes: ArrayLike<number>): void {
    checkRange(pa, bytes.length);
    for (let i = 0; i < bytes.length; i++) {
      const a = pa + i;
      const slot = this.storeLine(a);
      this.slabBytes[slot >>> Sp.slabPagesLog2]![(slot & Sp.slabSlotMask) * Sp.pageBytes + pageOffset(a)] = bytes[i]!;
    }
  }

  /** Page numbers holding storage, ascending (for tests and reports). */
  allocatedPages(): number[] {
    const pages: number[] = [];
    const t = this.chunkTable;
    for (let i = 0; i < t.length; i += 2) {
      if (t[i] === Sp.noChunk) continue;
      const base = t[i + 1]! * Sp.chunkWords;
      for (let p = 0; p < Sp.chunkPages; p++) if (this.dir[base + (p << Sp.recWordsLog2) + Sp.recSlot]! >= 0) pages.push(t[i]! * Sp.chunkPages + p);
    }
    return pages.sort((a, b) => a - b);
  }
}

/**
 * Offset of byte address a (an integer below 2^52) in its page. `a >>> 0` is a mod 2^32 for such
 * a double, and page, line and chunk bits all lie in those low 32 bits: no division.
 */
function pageOffset(a: number): number {
  return (a >>> 0) & (Sp.pageBytes - 1);
}

/** Line (0..63) of byte address a in its page. */
function lineInPage(a: number): number {
  return ((a >>> 0) >>> 6) & Sp.pageLineMask;
}

/** Page (0..Sp.chunkPages-1) of byte address a in its chunk. */
function pageInChunk(a: number): number {
  return ((a >>> 0) >>> 12) & (Sp.chunkPages - 1);
}

/** Start of chunk c's probe sequence (a multiplicative hash, so chunks a fixed stride apart do not collide). */
function chunkHash(c: number): number {
  return Math.imul(c, 0x9e3779b1) >>> 7;
}

/** Put (c, k) in the first empty entry of c's probe sequence (c is not in the table). */
function insertChunk(table: Int32Array, mask: number, c: number, k: number): void {
  let i = chunkHash(c) & mask;
  while (table[2 * i] !== Sp.noChunk) i = (i + 1) & mask;
  table[2 * i] = c;
  table[2 * i + 1] = k;
}

function checkLine(pa: number): void {
  // Cheap comparisons only: this runs per access. Inside the range floor(pa / 64) * 64 is exact,
  // so it equals pa exactly when pa % 64 === 0, without the library call a double `%` costs.
  if (!(pa >= 0 && pa < Sp.paLimit) || Math.floor(pa / Sp.lineBytes) * Sp.lineBytes !== pa) {
    throw new RangeError(`SparseMemory: line address ${pa} must be a multiple of ${Sp.lineBytes} in [0, 2^52)`);
  }
}

function checkRange(pa: number, len: number): void {
  if (!(Number.isInteger(pa) && Number.isInteger(len) && pa >= 0 && len >= 0 && pa + len <= Sp.paLimit)) {
    throw new RangeError(`SparseMemory: byte range [${pa}, ${pa}+${len}) must be integers inside [0, 2^52)`);
  }
}
