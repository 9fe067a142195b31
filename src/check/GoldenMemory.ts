/**
 * The golden memory of the system tests: what each VM should see, kept per (VM, VM line address).
 *
 * Why per VM address and not per physical address: the VM's view is what the system promises.
 * Page-table remaps (migration) move a page's physical home but must not change what the VM
 * reads, so a golden memory keyed by VM address checks migration for free, independently of the
 * DUT's own translation. Aliasing (two VMs sharing one physical line) is outside this model:
 * isolation means VMs do not share memory.
 *
 * Ordering model (no caches in the model, so memory is the point of coherence). Each write is
 * performed at some instant between its issue and its answer; a read likewise. With cycles
 * observed at the vCPU ports:
 *   - write W is certainly performed before read R if W.complete ≤ R.issue (R's port cannot issue
 *     earlier than the cycle W's answer is seen, and R reaches memory at least a stage later);
 *   - W can be seen by R only if W.issue < R.complete;
 *   - W2 certainly overwrites W if W.complete ≤ W2.issue.
 * So a byte of R's answer may hold the value of any write W (enabling that byte) with
 * W.issue < R.complete that no W2 certainly performed between W and R hides (W2.complete ≤
 * R.issue and W.complete ≤ W2.issue); or the initial value if no write of that byte certainly
 * precedes R. With one writer in program order (the vCPU port orders same-line commands) this
 * collapses to exactly "the latest completed write"; with concurrent writers it accepts each value
 * of a write that was in flight. Bytes are checked independently (a partial write enables bytes
 * separately), which is sound but does not check line atomicity.
 *
 * Writes that answered with an error are removed (they must not change memory). History per line
 * is pruned of writes that can no longer be seen by any read still to be checked.
 */

const LINE = 64;
/** The initial value of every line when the test gives none. Shared, so never written. */
const ZERO_LINE = new Uint8Array(LINE);

export interface WriteRecord {
  readonly vm: number;
  readonly vmAddr: number;
  readonly issue: number;
  /** Cycle the answer was seen; Infinity while in flight. */
  complete: number;
  readonly beLo: number;
  readonly beHi: number;
  readonly data: Uint8Array;
}

interface LineState {
  readonly initial: Uint8Array;
  /** Byte i of the initial value can no longer be read (a write certainly overwrote it). */
  readonly initialDead: Uint8Array;
  writes: WriteRecord[];
}

export function byteEnabled(beLo: number, beHi: number, b: number): boolean {
  return b < 32 ? ((beLo >>> b) & 1) === 1 : ((beHi >>> (b - 32)) & 1) === 1;
}

export class GoldenMemory {
  /** vm -> line address -> state (nested numeric maps: no key string built per access). */
  private readonly lines = new Map<number, Map<number, LineState>>();
  /**
   * Lines holding enough history for prune() to look at (it skips lines with fewer than 4
   * writes): prune visits these instead of every line ever touched, which grew with the run.
   */
  private readonly crowded = new Set<LineState>();

  /** `initial(vm, vmAddr)`: what a line holds before any write (default all zeros). */
  constructor(private readonly initial: ((vm: number, vmAddr: number) => Uint8Array) | null = null) {}

  private line(vm: number, vmAddr: number): LineState {
    if (vmAddr % LINE !== 0) throw new RangeError(`GoldenMemory: VM address ${vmAddr} is not a line address`);
    let perVm = this.lines.get(vm);
    if (!perVm) {
      perVm = new Map();
      this.lines.set(vm, perVm);
    }
    let s = perVm.get(vmAddr);
    if (!s) {
      // Lines without a given initial value share one zero line (never written): a long run
      // touches tens of thousands of lines, and a copy each was most of the check's garbage.
      let init = ZERO_LINE;
      if (this.initial !== null) {
        const given = this.initial(vm, vmAddr);
        if (given.length !== LINE) throw new RangeError(`GoldenMemory: initial value of VM ${vm} line ${vmAddr} has ${given.length} bytes`);
        init = Uint8Array.from(given);
      }
      s = { initial: init, initialDead: new Uint8Array(LINE), writes: [] };
      perVm.set(vmAddr, s);
    }
    return s;
  }

  /** A write was issued (it may be performed from now until its answer). */
  writeIssued(vm: number, vmAddr: number, issue: number, beLo: number, beHi: number, data: ArrayLike<number>, dataOff = 0): WriteRecord {
    const d = new Uint8Array(LINE);
    for (let i = 0; i < LINE; i++) d[i] = data[dataOff + i]!;
    const w: WriteRecord = { vm, vmAddr, issue, complete: Infinity, beLo: beLo >>> 0, beHi: beHi >>> 0, data: d };
    const s = this.line(vm, vmAddr);
    s.writes.push(w);
    if (s.writes.length >= 4) this.crowded.add(s);
    return w;
  }

  /** The write was answered Ok in `cycle`. */
  writeCompleted(w: WriteRecord, cycle: number): void {
    if (w.complete !== Infinity) throw new Error(`GoldenMemory: write to VM ${w.vm} line 0x${w.vmAddr.toString(16)} completed twice`);
    w.complete = cycle;
  }

  /** The write was answered with an error: it never happened. */
  writeDropped(w: WriteRecord): void {
    const s = this.line(w.vm, w.vmAddr);
    s.writes = s.writes.filter((x) => x !== w);
  }

  /**
   * The values byte b of a read issued at `issue` and answered at `complete` may hold
   * (see the class comment). Never empty.
   */
  candidates(vm: number, vmAddr: number, b: number, issue: number, complete: number): Set<number> {
    const s = this.line(vm, vmAddr);
    const out = new Set<number>();
    const ws = s.writes.filter((w) => byteEnabled(w.beLo, w.beHi, b));
    const before = ws.filter((w2) => w2.complete <= issue);
    if (before.length === 0 && s.initialDead[b] === 0) out.add(s.initial[b]!);
    for (const w of ws) {
      if (!(w.issue < complete)) continue;
      if (before.some((w2) => w2 !== w && w.complete <= w2.issue)) continue;
      out.add(w.data[b]!);
    }
    if (out.size === 0) {
      // Only possible if every write before the read was pruned with the initial value dead:
      // pruning keeps the latest certainly-performed writes, so this is a checker bug.
      throw new Error(`GoldenMemory: no candidate for VM ${vm} line 0x${vmAddr.toString(16)} byte ${b} (checker bug)`);
    }
    return out;
  }

  /**
   * Check a read's 64 bytes; returns null if every byte is possible, else a description of the
   * first mismatching byte with the values that were acceptable.
   */
  checkRead(vm: number, vmAddr: number, issue: number, complete: number, data: ArrayLike<number>, dataOff = 0): string | null {
    const s = this.line(vm, vmAddr);
    const ws = s.writes;
    for (let b = 0; b < LINE; b++) {
      const got = data[dataOff + b]!;
      // `got ∈ candidates(b)`, decided without building the set (this runs for every byte of
      // every read of a `cxlfab run`); candidates() stays the statement of the rule and gives
      // the message when the answer is wrong.
      if (!this.possible(s, ws, b, got, issue, complete)) {
        const ok = this.candidates(vm, vmAddr, b, issue, complete);
        const want = [...ok].map((x) => `0x${x.toString(16).padStart(2, '0')}`).join(' or ');
        return `VM ${vm} line 0x${vmAddr.toString(16)} byte ${b}: read 0x${got.toString(16).padStart(2, '0')}, expected ${want} (read issued ${issue}, answered ${complete})`;
      }
    }
    return null;
  }

  /** Whether `candidates(b)` of a read (issue, complete) contains `got`: the same conditions, in loops. */
  private possible(s: LineState, ws: readonly WriteRecord[], b: number, got: number, issue: number, complete: number): boolean {
    let anyBefore = false;
    for (let k = 0; k < ws.length; k++) {
      const w = ws[k]!;
      if (w.complete <= issue && byteEnabled(w.beLo, w.beHi, b)) {
        anyBefore = true;
        break;
      }
    }
    if (!anyBefore && s.initialDead[b] === 0 && s.initial[b] === got) return true;
    for (let k = 0; k < ws.length; k++) {
      const w = ws[k]!;
      if (w.data[b] !== got || !(w.issue < complete) || !byteEnabled(w.beLo, w.beHi, b)) continue;
      let hidden = false;
      for (let j = 0; j < ws.length; j++) {
        const w2 = ws[j]!;
        if (w2 !== w && w2.complete <= issue && w.complete <= w2.issue && byteEnabled(w2.beLo, w2.beHi, b)) {
          hidden = true;
          break;
        }
      }
      if (!hidden) return true;
    }
    return false;
  }

  /**
   * The line as it must be once nothing is in flight: every write completed, the latest
   * certainly-ordered ones applied (for ambiguous concurrent writes, the candidates' first value;
   * use checkRead with issue = complete = now for an exact check instead).
   */
  lineNow(vm: number, vmAddr: number, now: number): Uint8Array {
    const out = new Uint8Array(LINE);
    for (let b = 0; b < LINE; b++) out[b] = [...this.candidates(vm, vmAddr, b, now, now)][0]!;
    return out;
  }

  /** Every line ever touched, as [vm, vmAddr]. */
  touchedLines(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (const [vm, perVm] of this.lines) for (const a of perVm.keys()) out.push([vm, a]);
    return out;
  }

  /** Writes (in flight or kept in history) on one line: for tests of the pruning. */
  historyLength(vm: number, vmAddr: number): number {
    return this.line(vm, vmAddr).writes.length;
  }

  /**
   * Forget what no future check can need. `horizon` = the issue cycle of the oldest read not yet
   * checked (or the current cycle): every future check has issue ≥ horizon.
   */
  prune(horizon: number): void {
    for (const s of this.crowded) {
      this.pruneLine(s, horizon);
      if (s.writes.length < 4) this.crowded.delete(s);
    }
  }

  private pruneLine(s: LineState, horizon: number): void {
    if (s.writes.length < 4) return;
    const done = s.writes.filter((w) => w.complete <= horizon);
    for (const w of done) {
      for (let b = 0; b < LINE; b++) if (byteEnabled(w.beLo, w.beHi, b)) s.initialDead[b] = 1;
    }
    s.writes = s.writes.filter((w) => {
      if (w.complete === Infinity) return true;
      for (let b = 0; b < LINE; b++) {
        if (!byteEnabled(w.beLo, w.beHi, b)) continue;
        const hidden = done.some((w2) => w2 !== w && w.complete <= w2.issue && byteEnabled(w2.beLo, w2.beHi, b));
        if (!hidden) return true;
      }
      return false;
    });
  }
}
