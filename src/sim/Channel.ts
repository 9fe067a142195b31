import { wordView } from '../bits/views.ts';
import type { Module } from './Module.ts';
import { SimulationError } from './SimulationError.ts';

/**
 * The channels that moved, by index in the simulator's `channels`, in three lists that rotate at
 * each clock edge: `now` fills during a cycle (a channel enters on its first push or pop); at the
 * edge it becomes `last` (those channels show nonzero lastPushed / lastPopped until the next
 * edge), and the old `last`, whose counts that edge set back to zero, becomes `cleared`.
 * Observers sampling after an edge (the tracer) read `last` and `cleared`.
 */
export class ChannelActivity {
  now: Int32Array;
  nowCount = 0;
  last: Int32Array;
  lastCount = 0;
  cleared: Int32Array;
  clearedCount = 0;
  /** Bumped by a reset: every channel changed, observers must look at all of them. */
  resets = 0;

  constructor(channels: number) {
    this.now = new Int32Array(channels);
    this.last = new Int32Array(channels);
    this.cleared = new Int32Array(channels);
  }
}

/**
 * A bounded, registered FIFO channel between two modules: valid/ready semantics as in silicon.
 *
 * - An entry pushed in cycle t is visible to the consumer from cycle t+1 (registered output).
 * - Space freed by a pop in cycle t is visible to the producer from cycle t+1 (registered ready),
 *   so a full channel back-pressures for one cycle even if the consumer drains it that cycle.
 * Both views come from state committed at the last edge, so the result does not depend on whether
 * producer or consumer is evaluated first. Entries are struct-of-arrays: one Float64Array column
 * per field and an optional byte slab (e.g. 64 B of line data) per slot; nothing is allocated per
 * message. A slot index returned by push/peek/pop stays valid until the consumer pops it and a
 * later push reuses it, i.e. at least until the end of the cycle.
 */
export class Channel<F extends string = string> {
  /** Field columns, indexed by slot. */
  readonly col: { readonly [K in F]: Float64Array };
  /** Optional per-slot bytes, `bytesPerSlot` each; slot s starts at s * bytesPerSlot. */
  readonly bytes: Uint8Array;

  /** Committed state: index of the oldest entry and number of entries. */
  private head = 0;
  private count = 0;
  /** This cycle's activity, applied at commit. */
  private pushed = 0;
  private popped = 0;
  /** Activity of the last committed cycle, for waveforms and stats. */
  lastPushed = 0;
  lastPopped = 0;
  /** Entries pushed / popped since reset, for throughput statistics. */
  totalPushed = 0;
  totalPopped = 0;
  /** Cycles in which the producer found the channel full (back-pressure), for stats. */
  fullStalls = 0;
  /** Set by the tracer; -1 when not traced. */
  traceIndex = -1;
  /**
   * The simulator's list of channels with activity this cycle (null outside a Simulator). A
   * channel enters it on its first push or pop of a cycle, so the clock edge commits only the
   * ~15 % of channels that moved instead of all of them.
   */
  private activity: ChannelActivity | null = null;
  /** Index of this channel in the simulator's `channels`, and whether it is listed this cycle. */
  private simIndex = -1;
  private listed = false;
  /** The columns in `fields` order: copySlotTo between channels of one field list avoids keyed lookups. */
  private readonly colList: Float64Array[];
  /** 32-bit view of `bytes` when slots are whole words (null otherwise): copySlotTo moves 4 bytes a step. */
  private readonly words: Uint32Array | null;

  constructor(
    readonly owner: Module,
    readonly name: string,
    readonly depth: number,
    readonly fields: readonly F[],
    readonly bytesPerSlot = 0,
  ) {
    if (!(Number.isInteger(depth) && depth >= 1)) throw new RangeError(`${owner.path}.${name}: channel depth must be an integer ≥ 1, got ${depth}`);
    const col = {} as { [K in F]: Float64Array };
    for (const f of fields) col[f] = new Float64Array(depth);
    this.col = col;
    this.colList = fields.map((f) => col[f]);
    this.bytes = new Uint8Array(depth * bytesPerSlot);
    this.words = bytesPerSlot % 4 === 0 ? wordView(this.bytes) : null;
    owner.addChannel(this);
  }

  get path(): string {
    return `${this.owner.path}.${this.name}`;
  }

  /** Entries committed at the last edge (what a waveform shows as occupancy). */
  get occupancy(): number {
    return this.count;
  }

  // ---- producer side -------------------------------------------------------------------------

  /** True when one more entry can be pushed this cycle. */
  canPush(): boolean {
    return this.count + this.pushed < this.depth;
  }

  /** Free slots the producer may still fill this cycle. */
  space(): number {
    return this.depth - this.count - this.pushed;
  }

  /** Reserve the next slot and return its index; the caller fills the columns. */
  push(): number {
    if (this.count + this.pushed >= this.depth) {
      throw new SimulationError(`push into full channel (depth ${this.depth})`, this.owner.ctx.cycle, this.path);
    }
    // head < depth and count + pushed < depth here, so one conditional subtract replaces `%`.
    let slot = this.head + this.count + this.pushed;
    if (slot >= this.depth) slot -= this.depth;
    this.pushed++;
    if (!this.listed && this.activity !== null) this.enlist();
    return slot;
  }

  /** Entries pushed so far this cycle (not yet visible to the consumer). */
  get pendingPushes(): number {
    return this.pushed;
  }

  /**
   * Slot of the i-th entry pushed this cycle (0 = first), so a producer can amend what it pushed;
   * i = pendingPushes gives the slot the next push will take (a producer may build an entry in
   * place there before pushing, when canPush() is true).
   */
  pendingSlot(i: number): number {
    // head < depth and count + i <= depth for every meaningful i, so one conditional subtract replaces `%`.
    const slot = this.head + this.count + i;
    return slot >= this.depth ? slot - this.depth : slot;
  }

  /** Record that the producer wanted to push but could not (back-pressure counter). */
  stall(): void {
    this.fullStalls++;
  }

  // ---- consumer side -------------------------------------------------------------------------

  /** Number of entries the consumer may still pop this cycle. */
  available(): number {
    return this.count - this.popped;
  }

  /** True when at least one entry is visible to the consumer this cycle. */
  valid(): boolean {
    return this.count - this.popped > 0;
  }

  /** Slot of the k-th visible entry (0 = oldest not yet popped this cycle). */
  peek(k = 0): number {
    if (k >= this.count - this.popped) {
      throw new SimulationError(`peek(${k}) past the ${this.count - this.popped} visible entries`, this.owner.ctx.cycle, this.path);
    }
    // head < depth and popped + k < count ≤ depth here, so one conditional subtract replaces `%`.
    const slot = this.head + this.popped + k;
    return slot >= this.depth ? slot - this.depth : slot;
  }

  /** Remove the oldest visible entry and return its slot (valid for the rest of this cycle). */
  pop(): number {
    if (this.count - this.popped <= 0) {
      throw new SimulationError('pop from empty channel', this.owner.ctx.cycle, this.path);
    }
    let slot = this.head + this.popped;
    if (slot >= this.depth) slot -= this.depth;
    this.popped++;
    if (!this.listed && this.activity !== null) this.enlist();
    return slot;
  }

  // ---- kernel --------------------------------------------------------------------------------

  /** Called once by the Simulator that owns this channel. */
  attachActivity(activity: ChannelActivity, simIndex: number): void {
    if (this.activity !== null && this.activity !== activity) {
      throw new RangeError(`${this.path}: this channel already belongs to another Simulator (one Simulator per module tree: each commits the channels it owns)`);
    }
    this.activity = activity;
    this.simIndex = simIndex;
    this.listed = false;
  }

  private enlist(): void {
    this.listed = true;
    const a = this.activity!;
    a.now[a.nowCount++] = this.simIndex;
  }

  /** The simulator's edge: commit, and leave the activity list. */
  commitListed(): void {
    this.listed = false;
    this.commit();
  }

  /** Clock edge: apply this cycle's pops and pushes. */
  commit(): void {
    const pushed = this.pushed;
    const popped = this.popped;
    // A Simulator commits only channels that moved (commitListed); a testbench committing a
    // channel by hand may commit an idle one: then only last cycle's counts fall to zero.
    if (pushed === 0 && popped === 0) {
      this.lastPushed = 0;
      this.lastPopped = 0;
      return;
    }
    // head < depth and popped ≤ count ≤ depth, so one conditional subtract replaces `%`.
    let head = this.head + popped;
    if (head >= this.depth) head -= this.depth;
    this.head = head;
    this.count += pushed - popped;
    this.lastPushed = pushed;
    this.lastPopped = popped;
    this.totalPushed += pushed;
    this.totalPopped += popped;
    this.pushed = 0;
    this.popped = 0;
  }

  reset(): void {
    this.head = 0;
    this.count = 0;
    this.pushed = 0;
    this.popped = 0;
    this.lastPushed = 0;
    this.lastPopped = 0;
    this.totalPushed = 0;
    this.totalPopped = 0;
    this.fullStalls = 0;
  }

  /** Copy every column and the byte slab of one slot to a slot of another channel with the same fields. */
  copySlotTo(slot: number, dst: Channel<F>, dstSlot: number): void {
    if (dst.fields === this.fields) {
      // Same field list (the usual case: both built by one xxxChannel() helper): column i is field i
      // on both sides, no `col[name]` lookups.
      const a = this.colList;
      const b = dst.colList;
      for (let i = 0; i < a.length; i++) b[i]![dstSlot] = a[i]![slot]!;
    } else {
      for (let i = 0; i < this.fields.length; i++) {
        const f = this.fields[i]!;
        dst.col[f][dstSlot] = this.col[f][slot]!;
      }
    }
    // Loops, not set(subarray(...)): subarray allocates a view object per call.
    const n = Math.min(this.bytesPerSlot, dst.bytesPerSlot);
    const sw = this.words;
    const dw = dst.words;
    if (sw !== null && dw !== null) {
      // Both slot sizes are whole words, so n and both slot offsets are too: the same bytes, a word at a time.
      const w0 = (slot * this.bytesPerSlot) / 4;
      const v0 = (dstSlot * dst.bytesPerSlot) / 4;
      const nw = n / 4;
      for (let i = 0; i < nw; i++) dw[v0 + i] = sw[w0 + i]!;
      return;
    }
    const src = this.bytes;
    const out = dst.bytes;
    const s0 = slot * this.bytesPerSlot;
    const d0 = dstSlot * dst.bytesPerSlot;
    for (let i = 0; i < n; i++) out[d0 + i] = src[s0 + i]!;
  }
}
