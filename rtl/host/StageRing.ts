import { LINE_BYTES } from '../cxl/opcodes.ts';
import { copyLine, fillLine as fillLineWords, lineWords } from '../cxl/LineWords.ts';

/**
 * A fixed-latency pipeline stage holding whole messages: a ring of `capacity` entries, each with
 * numeric fields, a 64-byte line and the first cycle it may leave. Entries leave in order; a head
 * that cannot leave (its output is full) holds the ones behind it, which is how back-pressure
 * propagates through a stage in silicon.
 *
 * The fields of an entry are one record, next to each other in one Float64Array (field i of slot
 * s is `rec[s * stride + i]`, i in `fields` order): a message then touches one or two cache lines
 * of the stage instead of one typed array per field (a run of the default scenario misses the
 * first-level data cache about a thousand times per cycle; the copies into and out of stages were
 * a large share of that).
 *
 * It is a module's private memory, read and written only by that module's evaluate(), so it needs
 * no two-phase treatment. Nothing is allocated after construction.
 */
export class StageRing<F extends string> {
  /** The entries' fields, `stride` numbers per slot in `fields` order. */
  readonly rec: Float64Array;
  /** Numbers per record: fields.length. */
  readonly stride: number;
  readonly bytes: Uint8Array;
  /** `bytes` as 32-bit words (LINE_WORDS per slot), for the word-at-a-time line copies. */
  readonly words: Uint32Array;
  private readonly readyCycle: Float64Array;
  private head = 0;
  private count = 0;
  private readonly fieldIndex: ReadonlyMap<string, number>;

  constructor(
    readonly name: string,
    readonly capacity: number,
    readonly fields: readonly F[],
  ) {
    if (!(Number.isInteger(capacity) && capacity >= 1)) throw new RangeError(`${name}: stage capacity must be an integer ≥ 1, got ${capacity}`);
    this.stride = fields.length;
    this.rec = new Float64Array(capacity * fields.length);
    this.fieldIndex = new Map(fields.map((f, i) => [f, i]));
    this.bytes = new Uint8Array(capacity * LINE_BYTES);
    this.words = lineWords(this.bytes);
    this.readyCycle = new Float64Array(capacity);
  }

  /** Index of a field in a record (construction and testbenches; the model's modules use constants such as HostReqAt). */
  at(field: F): number {
    return this.fieldIndex.get(field)!;
  }

  /** Field of slot `slot` by name: for testbench stand-ins (a Map lookup per call). */
  get(slot: number, field: F): number {
    return this.rec[slot * this.stride + this.at(field)]!;
  }

  /** Set a field of slot `slot` by name: for testbench stand-ins, as get(). */
  set(slot: number, field: F, value: number): void {
    this.rec[slot * this.stride + this.at(field)] = value;
  }

  /**
   * First cycle the oldest entry may leave, meaningful while the stage is not empty:
   * `occupancy !== 0 && headReady <= cycle` is readyHead's test without the call, so an owner can
   * skip its exit step in the cycles a stage holds only entries that are not due yet. Read from
   * the ring, not kept in a field: a number field assigned from a Float64Array (or Infinity)
   * becomes a separately allocated double, loaded through a pointer by every test.
   */
  get headReady(): number {
    return this.readyCycle[this.head]!;
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
    this.count++;
    this.readyCycle[slot] = ready;
    return slot;
  }

  /** Slot of the oldest entry if it may leave in `cycle`, else -1. */
  readyHead(cycle: number): number {
    return this.count !== 0 && this.readyCycle[this.head]! <= cycle ? this.head : -1;
  }

  /** Remove the oldest entry (after the caller copied it out). */
  release(): void {
    const next = this.head + 1;
    this.head = next === this.capacity ? 0 : next;
    this.count--;
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
  }
}
