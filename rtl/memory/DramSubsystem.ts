import { Module } from '../../src/sim/index.ts';
import { Dram } from './Dram.ts';
import { DramPortArbiter, DRAM_ARBITER_DEFAULTS, type DramPort, type DramPortArbiterParams } from './DramPortArbiter.ts';
import { DDR5_4800, type DramParams } from './DramParams.ts';
import { SparseMemory } from './SparseMemory.ts';

export interface DramSubsystemParams {
  readonly dram: DramParams;
  readonly arbiter: DramPortArbiterParams;
}

export const DRAM_SUBSYSTEM_DEFAULTS: DramSubsystemParams = { dram: DDR5_4800, arbiter: DRAM_ARBITER_DEFAULTS };

/**
 * One node's memory as its requesters see it: a DramPortArbiter in front of a Dram.
 * Children: `<name>.arb`, `<name>.dram`. `port(i)` gives requester i its {req, rsp}.
 * Idle latency through a port = 2 (arbiter hops) + the Dram's own idle latency.
 */
export class DramSubsystem extends Module {
  readonly dram: Dram;
  readonly arbiter: DramPortArbiter;

  constructor(parent: Module, name: string, params: DramSubsystemParams = DRAM_SUBSYSTEM_DEFAULTS, memory: SparseMemory = new SparseMemory()) {
    super(parent, name);
    this.dram = new Dram(this, 'dram', params.dram, memory);
    this.arbiter = new DramPortArbiter(this, 'arb', params.arbiter, { req: this.dram.req, rsp: this.dram.rsp });
  }

  get memory(): SparseMemory {
    return this.dram.memory;
  }

  port(i: number): DramPort {
    return this.arbiter.port(i);
  }
}
