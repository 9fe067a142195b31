import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * GTKWave save file (`.gtkw`) written next to every VCD, so opening the pair shows the clock and
 * one group of signals per module instead of an empty wave window (reference
 * hdl-peers-vcd-pbt.md §2.4, format as in gtkwave's examples/des.gtkw).
 *
 * Trace names must be exactly GTKWave's facility names, or GTKWave silently skips them: multi-bit
 * wire/reg as `top.a.x[N-1:0]`, 1-bit, integer and real without a range (verified there; use
 * VcdWriter.facilityName). Flags: 0x22 = hex + right-justify for vectors, 0x28 binary for 1-bit,
 * 0x24 decimal for integers (counts); 0x800200 opens a group, 0x1000200 closes it.
 */

export interface GtkwTrace {
  /** Facility name as GTKWave shows it (VcdWriter.facilityName). */
  readonly facility: string;
  /** The group it belongs to (the module path); ignored for the clock. */
  readonly group: string;
  readonly type: string;
  readonly width: number;
}

export interface GtkwOptions {
  /** Facility name of the clock, shown first, outside any group. */
  readonly clock?: string;
  /** Clock period in VCD time units, for the initial zoom. */
  readonly periodTicks: number;
  /** Cycles visible in the initial window (default 150). */
  readonly cyclesVisible?: number;
  /** Module paths to expand in the signal tree (default: the distinct group names' first segment). */
  readonly treeOpen?: readonly string[];
}

const FLAG_BIN = 0x28;
const FLAG_HEX = 0x22;
const FLAG_DEC = 0x24;
const FLAG_GROUP_BEGIN = 0x800200;
const FLAG_GROUP_END = 0x1000200;
/**
 * Pixels left for the waves in the window this file asks for: 1400 px wide minus the signal tree
 * (sst_width 200) and the names column (signals_width 260). Not verifiable headless (under Xvfb
 * the Tcl script runs before the window is laid out), so this is the layout arithmetic only.
 */
const WINDOW_PIXELS = 1400;
const SST_PIXELS = 200;
const NAMES_PIXELS = 260;
const WAVE_PIXELS = WINDOW_PIXELS - SST_PIXELS - NAMES_PIXELS;

function flagFor(t: GtkwTrace): number {
  if (t.type === 'integer') return FLAG_DEC;
  return t.width === 1 ? FLAG_BIN : FLAG_HEX;
}

/** See gtkwText: GTKWave divides 2^-zoom by this to get time units per pixel (measured, 3.3.118). */
const GTKWAVE_ZOOM_DIVISOR = 200;

/** The text of a .gtkw for `vcdPath` showing `traces` (grouped in first-seen order of their group). */
export function gtkwText(vcdPath: string, traces: readonly GtkwTrace[], opts: GtkwOptions): string {
  const cycles = opts.cyclesVisible ?? 150;
  // Fit `cycles` periods in the window. Measured with GTKWave 3.3.118 under Xvfb (screenshots at
  // z = -8.1 and z = -18): a saved zoom z shows 2^-z / 200 time units per pixel, not 2^-z as a
  // reading of "zoom base 2" suggests; GTKWAVE_ZOOM_DIVISOR carries that factor.
  const ticksPerPixel = Math.max(1e-3, (cycles * opts.periodTicks) / WAVE_PIXELS);
  const zoom = -Math.log2(ticksPerPixel * GTKWAVE_ZOOM_DIVISOR);
  const lines: string[] = [
    '[*] written by cxlfab (src/vcd/GtkwWriter.ts)',
    `[dumpfile] "${resolve(vcdPath)}"`,
    '[timestart] 0',
    `[size] ${WINDOW_PIXELS} 900`,
    '[pos] -1 -1',
    `*${zoom.toFixed(6)} -1${' -1'.repeat(25)}`,
  ];
  const groups = new Map<string, GtkwTrace[]>();
  for (const t of traces) {
    if (t.facility === opts.clock) continue;
    let g = groups.get(t.group);
    if (!g) groups.set(t.group, (g = []));
    g.push(t);
  }
  const open = opts.treeOpen ?? [...new Set([...groups.keys()].map((g) => g.split('.')[0]!))];
  for (const o of open) lines.push(`[treeopen] ${o}.`);
  lines.push(`[sst_width] ${SST_PIXELS}`, `[signals_width] ${NAMES_PIXELS}`, '[sst_expanded] 1');
  if (opts.clock) lines.push(`@${FLAG_BIN.toString(16)}`, opts.clock);
  for (const [name, g] of groups) {
    lines.push(`@${FLAG_GROUP_BEGIN.toString(16)}`, `-${name}`);
    let flag = -1;
    for (const t of g) {
      const f = flagFor(t);
      if (f !== flag) lines.push(`@${f.toString(16)}`);
      flag = f;
      lines.push(t.facility);
    }
    lines.push(`@${FLAG_GROUP_END.toString(16)}`, `-${name}`);
  }
  lines.push('[pattern_trace] 1', '[pattern_trace] 0');
  return `${lines.join('\n')}\n`;
}

export function writeGtkw(gtkwPath: string, vcdPath: string, traces: readonly GtkwTrace[], opts: GtkwOptions): void {
  writeFileSync(gtkwPath, gtkwText(vcdPath, traces, opts));
}

/** The trace lines of a .gtkw (facility names, no flags, comments, groups or settings). */
export function gtkwTraceNames(text: string): string[] {
  return text.split('\n').filter((l) => l !== '' && !/^[[@*\-+#]/.test(l));
}
