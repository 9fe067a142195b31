import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gtkwTraceNames } from '../../src/vcd/GtkwWriter.ts';
import { env } from './env.ts';

/**
 * Headless GTKWave as an independent second opinion on our VCD and .gtkw files (reference
 * hdl-peers-vcd-pbt.md §2.6): `xvfb-run -a gtkwave -S check.tcl file.vcd [file.gtkw]` loads the
 * pair, a Tcl script prints the facility count and the displayed traces and quits (~0.5 s).
 *
 * It fails on what GTKWave reports but still loads (parse errors, unknown ids, time backtracking,
 * duplicate ids, `$DUP` renames), on a non-zero exit (e.g. "No symbols"), and when a trace named in
 * the .gtkw did not resolve (GTKWave skips an unknown name silently, so we count).
 *
 * When GTKWave or xvfb-run is missing: the check is skipped (result.skipped) outside CI and
 * throws in CI (env.ci), where it must be installed.
 */

export interface GtkwaveResult {
  readonly skipped: boolean;
  readonly facilities: number;
  readonly displayed: readonly string[];
  readonly output: string;
}

const BAD = [/parse error/i, /Unknown VCD identifier/i, /backtracking/i, /Duplicate IDs/i, /^(?!CXLFAB_FAC ).*\$DUP/];

let available: boolean | null = null;

/** True when both gtkwave and xvfb-run are on PATH. */
export function gtkwaveAvailable(): boolean {
  if (available === null) {
    const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
    available = has('gtkwave') && has('xvfb-run');
  }
  return available;
}

let tclPath: string | null = null;

function script(): string {
  if (tclPath && existsSync(tclPath)) return tclPath;
  const dir = mkdtempSync(join(tmpdir(), 'cxlfab-gtkwave-'));
  tclPath = join(dir, 'check.tcl');
  writeFileSync(
    tclPath,
    [
      'puts "CXLFAB_NUMFACS [gtkwave::getNumFacs]"',
      // Duplicate names show up only here, renamed `$DUP<n>.top.x` (reference §2.3 item 7).
      'for {set i 0} {$i < [gtkwave::getNumFacs]} {incr i} { puts "CXLFAB_FAC [gtkwave::getFacName $i]" }',
      'foreach s [gtkwave::getDisplayedSignals] { puts "CXLFAB_SIG $s" }',
      'puts "CXLFAB_DONE"',
      'gtkwave::/File/Quit',
      '',
    ].join('\n'),
  );
  return tclPath;
}

/** Load `vcdPath` (and `gtkwPath`) in headless GTKWave; throws on any complaint. */
export function gtkwaveCheck(vcdPath: string, gtkwPath?: string): GtkwaveResult {
  if (!gtkwaveAvailable()) {
    if (env.ci) throw new Error(`gtkwaveCheck(${vcdPath}): gtkwave or xvfb-run is not installed, and CI=true requires it`);
    return { skipped: true, facilities: 0, displayed: [], output: '' };
  }
  const args = ['-a', 'gtkwave', '-S', script(), vcdPath];
  if (gtkwPath !== undefined) args.push(gtkwPath);
  const r = spawnSync('xvfb-run', args, { encoding: 'utf8', timeout: 60_000 });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const where = `gtkwave ${vcdPath}${gtkwPath ? ` ${gtkwPath}` : ''}`;
  for (const re of BAD) {
    const line = output.split('\n').find((l) => re.test(l));
    if (line !== undefined) throw new Error(`${where}: GTKWave reported '${line.trim()}'`);
  }
  if (r.error) throw new Error(`${where}: ${r.error.message}`);
  if (r.status !== 0 || !output.includes('CXLFAB_DONE')) {
    throw new Error(`${where}: exit ${r.status}${r.signal ? ` (${r.signal})` : ''}; output:\n${output.slice(0, 2000)}`);
  }
  const facs = /CXLFAB_NUMFACS (\d+)/.exec(output);
  const facilities = facs ? Number(facs[1]) : 0;
  if (facilities === 0) throw new Error(`${where}: GTKWave found no facilities`);
  const dup = output.split('\n').find((l) => l.startsWith('CXLFAB_FAC $DUP'));
  if (dup !== undefined) throw new Error(`${where}: GTKWave renamed a duplicate name: '${dup.slice('CXLFAB_FAC '.length).trim()}'`);
  const displayed = output.split('\n').filter((l) => l.startsWith('CXLFAB_SIG ')).map((l) => l.slice('CXLFAB_SIG '.length).trim());
  if (gtkwPath !== undefined) {
    const wanted = gtkwTraceNames(readFileSync(gtkwPath, 'utf8'));
    if (displayed.length < wanted.length) {
      const shown = new Set(displayed);
      const missing = wanted.filter((n) => !shown.has(n));
      throw new Error(`${where}: ${wanted.length - displayed.length} trace(s) of the .gtkw did not resolve in GTKWave: ${missing.slice(0, 10).join(', ')}`);
    }
  }
  return { skipped: false, facilities, displayed, output };
}
