export * from './HostMsg.ts';
export { HostRouter, type HostRouterParams, type HostRouterPorts } from './HostRouter.ts';
export { mergedLatencyByClass, portCounters, type PortCounters } from './HostStats.ts';
export { hostTimingCycles, type HostTimingCycles, type HostTimingNs } from './HostTiming.ts';
export { TRAFFIC_PATTERN_NAMES, TrafficGenerator, TrafficPattern, type TrafficGeneratorParams } from './TrafficGenerator.ts';
export { VcpuCommand, type VcpuCommandSource } from './VcpuCommand.ts';
export { LATENCY_CLASS_NAMES, LatencyClass, VcpuPort, type VcpuObserver, type VcpuPortParams } from './VcpuPort.ts';
export { VcpuProgram, type ProgramStep } from './VcpuProgram.ts';
export { NOT_MAPPED, PAGE_BYTES, VmPageTable, type VmPageTableParams } from './VmPageTable.ts';
