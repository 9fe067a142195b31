import { HostOp, HostStatus } from '../../rtl/host/HostMsg.ts';
import type { VcpuCommand } from '../../rtl/host/VcpuCommand.ts';
import type { VcpuObserver, VcpuPort } from '../../rtl/host/VcpuPort.ts';
import { GoldenMemory, type WriteRecord } from './GoldenMemory.ts';

/** What the test's own configuration says an access to (vm, vmAddr) must get. */
export type ExpectedOutcome = 'ok' | 'nxm' | 'fault';

export interface ScoreboardOptions {
  /**
   * The independent answer to "is this granted?", computed by the test from its configuration
   * (not from the DUT's tables): 'ok' (mapped and granted), 'nxm' (mapped to an HPA no range
   * grants: Nxm, reads all ones + poison, writes dropped), 'fault' (not mapped: PageFault).
   */
  readonly expect: (vm: number, vmAddr: number) => ExpectedOutcome;
  /** Largest allowed cycles from issue to answer (default: no bound). */
  readonly latencyBound?: (op: HostOp, route: number, vm: number) => number;
  /** Initial content of a line (default zeros). */
  readonly initial?: (vm: number, vmAddr: number) => Uint8Array;
  /** Throw at the first error (default true): inside a port's evaluate this becomes a SimulationError naming cycle and port. */
  readonly throwOnError?: boolean;
}

interface Outstanding {
  readonly vm: number;
  readonly vmAddr: number;
  readonly op: HostOp;
  readonly issue: number;
  readonly expected: ExpectedOutcome;
  readonly write: WriteRecord | null;
}

/**
 * The system-test checker, attached as every vCPU port's observer. Checks:
 * - exactly one answer per command: an answer with no outstanding command is a duplicate (or
 *   invented), a command never answered is lost (`finish`, or `checkTimeouts` during the run);
 * - status per the test's grant oracle; Nxm reads return all ones with poison (isolation: never a
 *   real value); writes that answered with an error never reach the golden memory;
 * - every Ok read returns a value the GoldenMemory allows (program order exact for one vCPU,
 *   any in-flight value for concurrent writers);
 * - an answer-time bound.
 * Testbench code: it allocates freely.
 */
export class Scoreboard implements VcpuObserver {
  readonly golden: GoldenMemory;
  readonly errors: string[] = [];
  issued = 0;
  answered = 0;
  readsChecked = 0;
  private readonly outstanding = new Map<VcpuPort, Map<number, Outstanding>>();
  private readonly throwOnError: boolean;
  private sincePrune = 0;

  constructor(private readonly opts: ScoreboardOptions) {
    this.golden = new GoldenMemory(opts.initial);
    this.throwOnError = opts.throwOnError ?? true;
  }

  /** Attach to ports (sets their observer). */
  watch(...ports: VcpuPort[]): this {
    for (const p of ports) p.observer = this;
    return this;
  }

  /** Errors by kind, for reports: `lost` (never answered), `duplicated` (answer with no command), `mismatch` (anything else). */
  readonly counts = { mismatch: 0, lost: 0, duplicated: 0 };

  /** Record an error; when throwing from inside a port's callback, throw as that port (names cycle and path). */
  private error(msg: string, port?: VcpuPort, kind: 'mismatch' | 'lost' | 'duplicated' = 'mismatch'): void {
    this.errors.push(msg);
    this.counts[kind]++;
    if (!this.throwOnError) return;
    if (port && typeof port.fail === 'function') port.fail(`scoreboard: ${msg}`);
    throw new Error(`scoreboard: ${msg}`);
  }

  private table(port: VcpuPort): Map<number, Outstanding> {
    let t = this.outstanding.get(port);
    if (!t) {
      t = new Map();
      this.outstanding.set(port, t);
    }
    return t;
  }

  onIssue(port: VcpuPort, seq: number, cmd: VcpuCommand, cycle: number): void {
    const t = this.table(port);
    if (t.has(seq)) this.error(`${port.path}: sequence number ${seq} issued twice`, port);
    const expected = this.opts.expect(port.vm, cmd.vmAddr);
    let write: WriteRecord | null = null;
    if (cmd.op !== HostOp.Read && expected === 'ok') {
      const full = cmd.op === HostOp.Write;
      write = this.golden.writeIssued(port.vm, cmd.vmAddr, cycle, full ? 0xffffffff : cmd.beLo, full ? 0xffffffff : cmd.beHi, cmd.data);
    }
    t.set(seq, { vm: port.vm, vmAddr: cmd.vmAddr, op: cmd.op, issue: cycle, expected, write });
    this.issued++;
  }

  onComplete(
    port: VcpuPort,
    seq: number,
    op: HostOp,
    vmAddr: number,
    status: HostStatus,
    poison: number,
    route: number,
    _issueCycle: number,
    cycle: number,
    data: Uint8Array,
    dataOff: number,
  ): void {
    this.answered++;
    const t = this.table(port);
    const o = t.get(seq);
    const what = `${port.path} #${seq}`;
    if (!o) {
      this.error(`${what}: answer with no outstanding command (duplicate or invented answer) at cycle ${cycle}`, port, 'duplicated');
      return;
    }
    t.delete(seq);
    if (o.op !== op || o.vmAddr !== vmAddr) this.error(`${what}: answer is for op ${op} at 0x${vmAddr.toString(16)}, the command was op ${o.op} at 0x${o.vmAddr.toString(16)}`, port);
    const wantStatus = o.expected === 'ok' ? HostStatus.Ok : o.expected === 'nxm' ? HostStatus.Nxm : HostStatus.PageFault;
    if (status !== wantStatus) this.error(`${what}: VM ${o.vm} 0x${o.vmAddr.toString(16)} answered status ${status}, expected ${wantStatus} (${o.expected})`, port);
    const bound = this.opts.latencyBound?.(op, route, o.vm);
    if (bound !== undefined && cycle - o.issue > bound) this.error(`${what}: answered after ${cycle - o.issue} cycles, bound ${bound}`, port);
    if (op === HostOp.Read) {
      if (status === HostStatus.Nxm) {
        if (poison !== 1) this.error(`${what}: Nxm read answer without poison`, port);
        for (let b = 0; b < 64; b++) {
          if (data[dataOff + b] !== 0xff) {
            this.error(`${what}: Nxm read answer byte ${b} is 0x${data[dataOff + b]!.toString(16)}, must be all ones (isolation)`, port);
            break;
          }
        }
      } else if (status === HostStatus.Ok && o.expected === 'ok') {
        if (poison !== 0) this.error(`${what}: Ok read answer is poisoned`, port);
        const bad = this.golden.checkRead(o.vm, o.vmAddr, o.issue, cycle, data, dataOff);
        if (bad) this.error(`${what}: ${bad}`, port);
        this.readsChecked++;
      }
    } else if (o.write) {
      if (status === HostStatus.Ok) this.golden.writeCompleted(o.write, cycle);
      else this.golden.writeDropped(o.write);
    }
    if (++this.sincePrune >= 256) {
      this.sincePrune = 0;
      this.golden.prune(this.oldestOutstandingRead(cycle));
    }
  }

  private oldestOutstandingRead(now: number): number {
    let h = now;
    for (const t of this.outstanding.values()) for (const o of t.values()) if (o.op === HostOp.Read && o.issue < h) h = o.issue;
    return h;
  }

  /** Commands issued and not answered. */
  get inflight(): number {
    let n = 0;
    for (const t of this.outstanding.values()) n += t.size;
    return n;
  }

  /** During a run: every command older than `bound` cycles at `now` is reported as lost. */
  checkTimeouts(now: number, bound: number): void {
    for (const [port, t] of this.outstanding) {
      for (const [seq, o] of t) if (now - o.issue > bound) this.error(`${port.path} #${seq}: no answer ${now - o.issue} cycles after issue (bound ${bound}): lost`, undefined, 'lost');
    }
  }

  /** End of a run with everything drained: anything still outstanding was lost. */
  finish(): void {
    for (const [port, t] of this.outstanding) {
      for (const [seq, o] of t) this.error(`${port.path} #${seq}: op ${o.op} VM ${o.vm} 0x${o.vmAddr.toString(16)} issued at ${o.issue} was never answered (lost)`, undefined, 'lost');
    }
  }

  /**
   * Compare the DUT's backing storage with the golden memory for every line touched, once
   * nothing is in flight: `readBack(vm, vmAddr)` returns the DUT's bytes (or null for a line the
   * DUT has no storage for). Catches writes that landed where they must not.
   */
  checkBacking(now: number, readBack: (vm: number, vmAddr: number) => Uint8Array | null): void {
    for (const [vm, vmAddr] of this.golden.touchedLines()) {
      if (this.opts.expect(vm, vmAddr) !== 'ok') continue;
      const got = readBack(vm, vmAddr);
      if (!got) {
        this.error(`VM ${vm} 0x${vmAddr.toString(16)}: no backing storage found`);
        continue;
      }
      const bad = this.golden.checkRead(vm, vmAddr, now, now, got);
      if (bad) this.error(`backing store: ${bad}`);
    }
  }

  /** Throw if any error was recorded (for throwOnError = false). */
  assertClean(): void {
    if (this.errors.length > 0) throw new Error(`scoreboard: ${this.errors.length} error(s):\n${this.errors.slice(0, 10).join('\n')}`);
  }
}
