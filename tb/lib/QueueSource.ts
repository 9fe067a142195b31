import type { HostOp } from '../../rtl/host/HostMsg.ts';
import type { VcpuCommand, VcpuCommandSource } from '../../rtl/host/VcpuCommand.ts';

export interface QueuedCommand {
  readonly op: HostOp;
  readonly vmAddr: number;
  readonly data: Uint8Array;
  readonly beLo: number;
  readonly beHi: number;
}

/**
 * A command source a model-based test appends to while the simulation runs (fc.commands drives it
 * one command at a time). Testbench code: it allocates freely.
 */
export class QueueSource implements VcpuCommandSource {
  private readonly queue: QueuedCommand[] = [];
  offered = 0;
  answered = 0;

  push(c: QueuedCommand): void {
    this.queue.push(c);
  }

  get pending(): number {
    return this.queue.length;
  }

  offer(cmd: VcpuCommand): boolean {
    const c = this.queue.shift();
    if (!c) return false;
    cmd.op = c.op;
    cmd.vmAddr = c.vmAddr;
    cmd.beLo = c.beLo;
    cmd.beHi = c.beHi;
    cmd.waitForPrevious = false;
    cmd.data.set(c.data);
    this.offered++;
    return true;
  }

  onComplete(): void {
    this.answered++;
  }

  isDone(): boolean {
    return this.queue.length === 0;
  }
}
