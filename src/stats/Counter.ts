/**
 * A named event counter (requests issued, faults, back-pressure cycles). A plain number field,
 * so incrementing it from evaluate() allocates nothing; the name is for reports.
 */
export class Counter {
  value = 0;
  constructor(readonly name: string) {}

  inc(): void {
    this.value++;
  }
  add(n: number): void {
    this.value += n;
  }
  reset(): void {
    this.value = 0;
  }
}

/** Events per cycle over a run (throughput), 0 for an empty run. */
export function perCycle(events: number, cycles: number): number {
  return cycles > 0 ? events / cycles : 0;
}
