import { mkdirSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { env } from '../lib/env.ts';
import { gtkwaveAvailable, gtkwaveCheck } from '../lib/gtkwave.ts';

/**
 * The GTKWave check must be able to fail: each bad file here is one GTKWave itself complains about
 * (reference hdl-peers-vcd-pbt.md §2.3-2.4). Skipped where GTKWave is missing, except in CI.
 */
const dir = 'waves/gtkwave_test';
mkdirSync(dir, { recursive: true });
const HEAD = ['$timescale 1ps $end', '$scope module top $end', '$var wire 1 ! clk $end', '$var integer 8 " n $end', '$upscope $end', '$enddefinitions $end'];
const BODY = ['#0', '$dumpvars', '0!', 'b0 "', '$end', '#10', '1!', 'b11 "', '#20', '0!'];

function file(name: string, lines: string[]): string {
  const p = `${dir}/${name}`;
  writeFileSync(p, `${lines.join('\n')}\n`);
  return p;
}

describe.skipIf(!gtkwaveAvailable() && !env.ci)('gtkwaveCheck', () => {
  it('accepts a good file and lists the displayed traces of its .gtkw', () => {
    const vcd = file('good.vcd', [...HEAD, ...BODY]);
    const gtkw = file('good.gtkw', [`[dumpfile] "${vcd}"`, '@28', 'top.clk', '@24', 'top.n']);
    const r = gtkwaveCheck(vcd, gtkw);
    expect(r.facilities).toBe(2);
    expect(r.displayed).toEqual(['top.clk', 'top.n']);
  });
  it('fails on time going backwards', () => {
    expect(() => gtkwaveCheck(file('back.vcd', [...HEAD, ...BODY, '#5', '1!']))).toThrow(/backtracking/i);
  });
  it('fails on an undeclared id', () => {
    expect(() => gtkwaveCheck(file('unknown.vcd', [...HEAD, ...BODY, '1%']))).toThrow(/Unknown VCD identifier/i);
  });
  it('fails on duplicate names in one scope ($DUP)', () => {
    const lines = [...HEAD];
    lines.splice(3, 0, '$var wire 1 # clk $end');
    expect(() => gtkwaveCheck(file('dup.vcd', [...lines, ...BODY]))).toThrow(/\$DUP|Duplicate/);
  });
  it('fails on one id declared with two widths', () => {
    const lines = [...HEAD];
    lines.splice(3, 0, '$var wire 4 ! other [3:0] $end');
    expect(() => gtkwaveCheck(file('dupid.vcd', [...lines, ...BODY]))).toThrow(/Duplicate IDs/i);
  });
  it('fails on a missing $end in a $var (GTKWave finds no symbols)', () => {
    const lines = [...HEAD];
    lines[2] = '$var wire 1 ! clk';
    lines[3] = '$var integer 8 " n';
    expect(() => gtkwaveCheck(file('noend.vcd', [...lines, ...BODY]))).toThrow(/parse error|exit|no facilities/i);
  });
  it('fails when a .gtkw trace name does not resolve (an integer written with a range)', () => {
    const vcd = file('names.vcd', [...HEAD, ...BODY]);
    const gtkw = file('names.gtkw', [`[dumpfile] "${vcd}"`, '@28', 'top.clk', '@24', 'top.n[7:0]']);
    expect(() => gtkwaveCheck(vcd, gtkw)).toThrow(/did not resolve in GTKWave: top.n\[7:0\]/);
  });
});
