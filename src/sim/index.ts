export { Channel } from './Channel.ts';
export { Module, SimContext, type Probe, type ProbeGroup, type WideProbe } from './Module.ts';
export { Reg } from './Reg.ts';
export { Rng } from './Rng.ts';
export { Simulator, type CycleObserver, type SimulatorOptions } from './Simulator.ts';
export { ConfigError, SimulationError } from './SimulationError.ts';
export { cyclesToNs, nsToCycles, periodPs, type ClockSpec } from './units.ts';
