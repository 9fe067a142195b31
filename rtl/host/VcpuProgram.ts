import { LINE_BYTES } from '../cxl/opcodes.ts';
import { HostOp, HostStatus } from './HostMsg.ts';
import type { VcpuCommand, VcpuCommandSource } from './VcpuCommand.ts';

/** One step of a testbench program for a vCPU port. */
export interface ProgramStep {
  readonly op: HostOp;
  /** VM address of the line (a multiple of 64). */
  readonly vmAddr: number;
  /** Write data (64 bytes; shorter is zero-padded). Default all zeros. */
  readonly data?: ArrayLike<number>;
  /** WritePartial byte enables (bit i = byte i of bytes 0..31 / 32..63). */
  readonly beLo?: number;
  readonly beHi?: number;
  /** Issue only after every earlier command of the port has been answered. */
  readonly waitForPrevious?: boolean;
  /** Do not offer before this cycle (spacing commands out in a directed test). */
  readonly notBefore?: number;
}

/**
 * A directed command sequence for one vCPU port (the testbench way to drive it). The steps are
 * copied into typed arrays at construction; offering and completing allocate nothing. Answers
 * are recorded per step: `status(i)`, `poison(i)`, `answerCycle(i)` and `readData(i)`.
 */
export class VcpuProgram implements VcpuCommandSource {
  readonly length: number;
  private readonly op: Uint8Array;
  private readonly addr: Float64Array;
  private readonly beLo: Float64Array;
  private readonly beHi: Float64Array;
  private readonly wait: Uint8Array;
  private readonly notBefore: Float64Array;
  private readonly data: Uint8Array;
  private readonly answerStatus: Int8Array;
  private readonly answers: Uint8Array;
  private next = 0;
  /** Answers received so far. */
  answered = 0;

  constructor(steps: readonly ProgramStep[]) {
    const n = steps.length;
    this.length = n;
    this.op = new Uint8Array(n);
    this.addr = new Float64Array(n);
    this.beLo = new Float64Array(n);
    this.beHi = new Float64Array(n);
    this.wait = new Uint8Array(n);
    this.notBefore = new Float64Array(n);
    this.data = new Uint8Array(n * LINE_BYTES);
    this.answerStatus = new Int8Array(n).fill(-1);
    this.answers = new Uint8Array(n * LINE_BYTES);
    steps.forEach((s, i) => {
      if (s.op !== HostOp.Read && s.op !== HostOp.Write && s.op !== HostOp.WritePartial) throw new RangeError(`program step ${i}: op ${s.op} is not a HostOp`);
      if (!(Number.isInteger(s.vmAddr) && s.vmAddr >= 0 && s.vmAddr % LINE_BYTES === 0)) {
        throw new RangeError(`program step ${i}: vmAddr ${s.vmAddr} must be a non-negative multiple of ${LINE_BYTES}`);
      }
      if (s.data && s.data.length > LINE_BYTES) throw new RangeError(`program step ${i}: data has ${s.data.length} bytes, a line has ${LINE_BYTES}`);
      this.op[i] = s.op;
      this.addr[i] = s.vmAddr;
      this.beLo[i] = (s.beLo ?? 0) >>> 0;
      this.beHi[i] = (s.beHi ?? 0) >>> 0;
      this.wait[i] = s.waitForPrevious ? 1 : 0;
      this.notBefore[i] = s.notBefore ?? 0;
      if (s.data) for (let b = 0; b < s.data.length; b++) this.data[i * LINE_BYTES + b] = s.data[b]!;
    });
  }

  offer(cmd: VcpuCommand, cycle: number): boolean {
    const i = this.next;
    if (i >= this.length || cycle < this.notBefore[i]!) return false;
    cmd.op = this.op[i]! as HostOp;
    cmd.vmAddr = this.addr[i]!;
    cmd.beLo = this.beLo[i]!;
    cmd.beHi = this.beHi[i]!;
    cmd.waitForPrevious = this.wait[i] === 1;
    const d = cmd.data;
    const o = i * LINE_BYTES;
    for (let b = 0; b < LINE_BYTES; b++) d[b] = this.data[o + b]!;
    this.next++;
    return true;
  }

  onComplete(seq: number, op: HostOp, _vmAddr: number, status: number, data: Uint8Array, dataOff: number): void {
    // A port issues its source's commands in offer order, so the sequence number is the step index.
    this.answerStatus[seq] = status;
    if (op === HostOp.Read && status !== HostStatus.PageFault) {
      const o = seq * LINE_BYTES;
      for (let b = 0; b < LINE_BYTES; b++) this.answers[o + b] = data[dataOff + b]!;
    }
    this.answered++;
  }

  isDone(): boolean {
    return this.next >= this.length;
  }

  /** Every step offered and answered. */
  get finished(): boolean {
    return this.answered === this.length;
  }

  /** HostStatus of step i's answer, or -1 while unanswered. */
  status(i: number): number {
    return this.answerStatus[i]!;
  }

  /** Copy of the data a read step returned (tests; allocates). */
  readData(i: number): Uint8Array {
    return this.answers.slice(i * LINE_BYTES, (i + 1) * LINE_BYTES);
  }
}
