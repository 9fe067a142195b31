import { LINE_BYTES } from '../cxl/opcodes.ts';
import { copyLine, fillLine as fillLineWords, lineWords } from '../cxl/LineWords.ts';

/**
 * A fixed-latency pipeline stage holding whole messages: a ring of `capacity` entries, each with
 * numeric fields (struct-of-arrays), a 64-byte line and the first cycle it may leave. Entries
 * leave in order; a head that cannot leave (its output is full) holds the ones behind it, which
 * is how back-pressure propagates through a stage in silicon.
 *
 * It is a module's private memory, read and written only by that module's evaluate(), so it needs
 * no two-phase treatment. Nothing is allocated after construction.
 */
export class StageRing<F extends string> {
  readonly col: { readonly [K in F]: Float64Array };
  readonly bytes: Uint8Array;
  /** `bytes` as 32-bit words (LINE_WORDS per slot), for the word-at-a-time line copies. */
  readonly words: Uint32Array;
  private readonly readyCycle: Float64Array;
  private head = 0;
  private count = 0;
  /**
   * First cycle the oldest entry may leave, Infinity when the stage is empty: `headReady <= cycle`
   * is readyHead's test without the call, so an owner can skip its exit step in the cycles a
   * stage holds only entries that are not due yet (most cycles a stage is occupied).
   */
  headReady = Infinity;

  constructor(
    readonly name: string,
    readonly capacity: number,
    readonly fields: readonly F[],
  ) {
    if (!(Number.isInteger(capacity) && capacity >= 1)) throw new RangeError(`${name}: stage capacity must be an integer ≥ 1, got ${capacity}`);
    const col = {} as { [K in F]: Float64Array };
    for (const f of fields) col[f] = new Float64Array(capacity);
    this.col = col;
    this.bytes = new Uint8Array(capacity * LINE_BYTES);
    this.words = lineWords(this.bytes);
    this.readyCycle = new Float64Array(capacity);
  }

  get occupancy(): number {
    return this.count;
  }

  canAccept(): boolean {
    return this.count < this.capacity;
  }

  /** Append an entry that may leave from `ready` on; returns its slot for the caller to fill. */
  accept(ready: number): number {
    if (this.count >= this.capacity) throw new RangeError(`${this.name}: accept into a full stage`);
    // head < capacity and count < capacity, so one conditional subtract replaces `%`.
    let slot = this.head + this.count;
    if (slot >= this.capacity) slot -= this.capacity;
    if (this.count === 0) this.headReady = ready;
    this.count++;
    this.readyCycle[slot] = ready;
    return slot;
  }

  /** Slot of the oldest entry if it may leave in `cycle`, else -1. */
  readyHead(cycle: number): number {
    return this.headReady <= cycle ? this.head : -1;
  }

  /** Remove the oldest entry (after the caller copied it out). */
  release(): void {
    const next = this.head + 1;
    this.head = next === this.capacity ? 0 : next;
    this.count--;
    this.headReady = this.count === 0 ? Infinity : this.readyCycle[this.head]!;
  }

  /**
   * Copy a line from any byte offset of a byte slab into a slot: for testbench stand-ins
   * (tb/host/standins.ts), which copy by byte offset. The model's modules use copyLineInWords
   * (a word a step); this is a byte loop because subarray() would allocate a view.
   */
  copyLineIn(slot: number, src: Uint8Array, srcOff: number): void {
    const b = this.bytes;
    const d = slot * LINE_BYTES;
    for (let i = 0; i < LINE_BYTES; i++) b[d + i] = src[srcOff + i]!;
  }

  /** Copy a slot's line out to any byte offset of a byte slab: for testbench stand-ins, as copyLineIn (modules use copyLineOutWords). */
  copyLineOut(slot: number, dst: Uint8Array, dstOff: number): void {
    const b = this.bytes;
    const s = slot * LINE_BYTES;
    for (let i = 0; i < LINE_BYTES; i++) dst[dstOff + i] = b[s + i]!;
  }

  /** copyLineIn from the word view (lineWords) of a slab: line `srcLine` of it into `slot`. */
  copyLineInWords(slot: number, src: Uint32Array, srcLine: number): void {
    copyLine(src, srcLine, this.words, slot);
  }

  /** copyLineOut to the word view (lineWords) of a slab: `slot` into line `dstLine` of it. */
  copyLineOutWords(slot: number, dst: Uint32Array, dstLine: number): void {
    copyLine(this.words, slot, dst, dstLine);
  }

  /** Fill a slot's line with one byte value (all-ones data of an error answer). */
  fillLine(slot: number, value: number): void {
    fillLineWords(this.words, slot, value);
  }

  reset(): void {
    this.head = 0;
    this.count = 0;
    this.headReady = Infinity;
  }
}
