export { Counter, perCycle } from './Counter.ts';
export { LatencyHistogram } from './LatencyHistogram.ts';
export { formatCyclesNs, formatLatencyTable, formatNumber, formatTable, LATENCY_HEADERS, latencyRow, type Align } from './report.ts';
