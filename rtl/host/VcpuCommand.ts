import { LINE_BYTES } from '../cxl/opcodes.ts';
import type { HostOp } from './HostMsg.ts';

/**
 * What a command source hands a vCPU port: one memory command on one 64-byte line. The port owns
 * one preallocated instance and lets the source fill it, so offering a command allocates nothing.
 */
export class VcpuCommand {
  op: HostOp = 0;
  /** VM address of the line (a multiple of 64). */
  vmAddr = 0;
  /** Byte enables of a WritePartial, bytes 0..31 and 32..63 (bit i = byte i); ignored otherwise. */
  beLo = 0;
  beHi = 0;
  /** Line data of a write. */
  readonly data = new Uint8Array(LINE_BYTES);
  /** Issue only when every earlier command of this port has been answered (a dependency / fence). */
  waitForPrevious = false;
}

/**
 * Drives a vCPU port: a testbench program (VcpuProgram) or a TrafficGenerator. The port calls
 * `offer` at most once per cycle, only when it holds no un-issued command, and `onComplete` for
 * every answer of its own commands (a pointer chase reads the data there). Neither may allocate.
 */
export interface VcpuCommandSource {
  /** Fill `cmd` and return true to offer a command this cycle; false for none. */
  offer(cmd: VcpuCommand, cycle: number): boolean;
  /** Answer to the command with sequence number `seq` (0, 1, ... in issue order of this port). */
  onComplete(seq: number, op: HostOp, vmAddr: number, status: number, data: Uint8Array, dataOff: number): void;
  /** True once the source will never offer again. */
  isDone(): boolean;
  /**
   * Optional, asked right after offer() refused: true when offer() would go on refusing, and
   * refusing changes nothing in the source, until its next onComplete() (a closed loop at its
   * limit, a pointer chase waiting for its read, a source that has stopped). The port then does
   * not call offer() again before one of its answers, which is the same command stream with fewer
   * calls. A source that drives one port only may answer true; false or absent: asked every cycle.
   */
  waitsForAnswer?(): boolean;
}
