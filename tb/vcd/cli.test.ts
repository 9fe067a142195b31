import { mkdirSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/command.ts';
import { main } from '../../src/cli/main.ts';

function bufferIo(): CliIo & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    isTTY: false,
    out: (t: string) => {
      io.stdout += t;
    },
    err: (t: string) => {
      io.stderr += t;
    },
  };
  return io;
}

const dir = 'waves/cli_test';
mkdirSync(dir, { recursive: true });
const good = `${dir}/good.vcd`;
writeFileSync(good, ['$timescale 1ps $end', '$scope module top $end', '$var wire 1 ! clk $end', '$var reg 4 " n [3:0] $end', '$upscope $end', '$enddefinitions $end', '#0', '$dumpvars', '0!', 'b0 "', '$end', '#500', '1!', 'b11 "', '#1000', '0!', ''].join('\n'));
const bad = `${dir}/bad.vcd`;
writeFileSync(bad, ['$timescale 1ps $end', '$scope module top $end', '$var wire 1 ! clk $end', '$upscope $end', '$enddefinitions $end', '#0', '0!', '#10', '1%', ''].join('\n'));

describe('cxlfab waves check', () => {
  it('exits 0 with one summary line per valid file', async () => {
    const io = bufferIo();
    expect(await main(['waves', 'check', good, good], io)).toBe(0);
    expect(io.stdout).toBe(`${good}: ok, 2 vars, 5 value changes, end time 1000 (1ps)\n`.repeat(2));
  });

  it('exits 1 naming FILE:LINE: reason of the first violation', async () => {
    const io = bufferIo();
    expect(await main(['waves', 'check', good, bad], io)).toBe(1);
    expect(io.stderr).toBe(`${bad}:9: value change for undeclared id '%'\n`);
  });

  it('exits 2 with usage for no files, a missing file, or a bad subcommand', async () => {
    for (const args of [['waves', 'check'], ['waves', 'check', `${dir}/nope.vcd`], ['waves'], ['waves', 'show', good], ['waves', 'check', '--bogus', good]]) {
      const io = bufferIo();
      expect(await main(args, io), args.join(' ')).toBe(2);
      expect(io.stderr).toContain('usage: cxlfab waves check');
    }
    const io = bufferIo();
    await main(['waves', 'check', `${dir}/nope.vcd`], io);
    expect(io.stderr).toContain(`no such file '${dir}/nope.vcd'`);
  });
});
