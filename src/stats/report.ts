import { cyclesToNs, type ClockSpec } from '../sim/units.ts';
import type { LatencyHistogram } from './LatencyHistogram.ts';

/**
 * Report formatting for `cxlfab run` and testbench summaries: a plain-text table and latency
 * rows in cycles and ns. Report time only (allocates freely).
 */

export type Align = 'left' | 'right';

/**
 * A fixed-width text table: a header row, a rule, then one line per row. Numbers are
 * right-aligned by default, text left-aligned; `align` overrides per column.
 */
export function formatTable(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>, align?: readonly Align[]): string {
  const cols = headers.length;
  for (const [i, r] of rows.entries()) {
    if (r.length !== cols) throw new RangeError(`formatTable: row ${i} has ${r.length} cells, the header has ${cols}`);
  }
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : c)));
  const widths = headers.map((h, j) => Math.max(h.length, ...cells.map((r) => r[j]!.length)));
  const al: Align[] = headers.map((_, j) => align?.[j] ?? (rows.length > 0 && typeof rows[0]![j] === 'number' ? 'right' : 'left'));
  const line = (r: readonly string[]): string =>
    r
      .map((c, j) => (al[j] === 'right' ? c.padStart(widths[j]!) : c.padEnd(widths[j]!)))
      .join('  ')
      .trimEnd();
  const out = [line(headers), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of cells) out.push(line(r));
  return `${out.join('\n')}\n`;
}

/** Integers as they are, other numbers with up to 2 decimals; NaN (empty statistic) as '-'. */
export function formatNumber(x: number): string {
  if (Number.isNaN(x)) return '-';
  if (Number.isInteger(x)) return String(x);
  return x.toFixed(2);
}

/** Cycles shown with their time at the simulation clock, e.g. "42 (21.00 ns)". */
export function formatCyclesNs(cycles: number, clock: ClockSpec): string {
  if (Number.isNaN(cycles)) return '-';
  return `${formatNumber(cycles)} (${cyclesToNs(cycles, clock).toFixed(2)} ns)`;
}

/** Column headers matching `latencyRow`. */
export const LATENCY_HEADERS = ['class', 'count', 'min', 'mean', 'p50', 'p99', 'max', 'mean ns', 'p99 ns'] as const;

/** One table row summarising a histogram: counts and cycles, then mean and p99 in ns. */
export function latencyRow(label: string, h: LatencyHistogram, clock: ClockSpec): Array<string | number> {
  const ns = (c: number): string => (Number.isNaN(c) ? '-' : cyclesToNs(c, clock).toFixed(2));
  return [label, h.count, h.min, h.mean, h.p50, h.p99, h.max, ns(h.mean), ns(h.p99)];
}

/** A latency table for several histograms (one row each). */
export function formatLatencyTable(entries: ReadonlyArray<readonly [string, LatencyHistogram]>, clock: ClockSpec): string {
  return formatTable(
    LATENCY_HEADERS,
    entries.map(([label, h]) => latencyRow(label, h, clock)),
    ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
  );
}
