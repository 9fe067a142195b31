import { describe, expect, it } from 'vitest';
import { readVcd, VcdParseError } from '../../src/vcd/VcdReader.ts';

/** A small valid file; each bad case below breaks exactly one rule of it. */
const HEAD = ['$timescale 1ps $end', '$scope module top $end', '$var wire 1 ! clk $end', '$var reg 8 " data [7:0] $end', '$var real 64 # r $end', '$upscope $end', '$enddefinitions $end'];
const BODY = ['#0', '$dumpvars', '0!', 'b0 "', 'r0 #', '$end', '#10', '1!', 'b101 "', 'r2.5 #'];
const ok = [...HEAD, ...BODY].join('\n');

function rejects(lines: string[], line: number, reason: RegExp): void {
  let err: unknown;
  try {
    readVcd(lines.join('\n'));
  } catch (e) {
    err = e;
  }
  expect(err, `expected a VcdParseError matching ${reason}`).toBeInstanceOf(VcdParseError);
  const pe = err as VcdParseError;
  expect(pe.reason).toMatch(reason);
  expect(pe.line).toBe(line);
}

describe('strict VCD reader', () => {
  it('reads the valid base file: vars with full paths, changes left-extended to full width', () => {
    const d = readVcd(ok);
    expect(d.timescale).toBe('1ps');
    expect(d.vars.map((v) => [v.path, v.type, v.width, v.id])).toEqual([
      ['top.clk', 'wire', 1, '!'],
      ['top.data', 'reg', 8, '"'],
      ['top.r', 'real', 64, '#'],
    ]);
    expect(d.changes).toEqual([
      { time: 0, var: 0, value: '0' },
      { time: 0, var: 1, value: '00000000' },
      { time: 0, var: 2, value: 0 },
      { time: 10, var: 0, value: '1' },
      { time: 10, var: 1, value: '00000101' },
      { time: 10, var: 2, value: 2.5 },
    ]);
    expect(d.endTime).toBe(10);
  });

  it('left-extends x and z with x and z (GTKWave left_extension fixture), and accepts aliases of one id', () => {
    const d = readVcd([...HEAD.slice(0, 4), '$var reg 8 " alias [7:0] $end', '$upscope $end', '$enddefinitions $end', '#0', 'bx0 "', 'bz1 "', 'b1 "'].join('\n'));
    expect(d.changes.map((c) => c.value)).toEqual(['xxxxxxx0', 'zzzzzzz1', '00000001']);
    expect(d.vars.map((v) => v.path)).toEqual(['top.clk', 'top.data', 'top.alias']);
  });

  const set = (i: number, s: string) => {
    const all = [...HEAD, ...BODY];
    all[i] = s;
    return all;
  };
  const ins = (i: number, ...s: string[]) => {
    const all = [...HEAD, ...BODY];
    all.splice(i, 0, ...s);
    return all;
  };

  it('rejects an undeclared id in a value change', () => rejects([...HEAD, ...BODY, 'b1 %'], 18, /undeclared id '%'/));
  it('rejects a vector wider than its variable', () => rejects(set(15, 'b100000000 "'), 16, /9 bits, wider than the 8-bit variable top.data/));
  it('rejects time going backwards', () => rejects([...HEAD, ...BODY, '#5'], 18, /time going backwards: #5 after #10/));
  it('rejects a malformed time', () => rejects([...HEAD, ...BODY, '#1x'], 18, /malformed time/));
  it('rejects an $upscope without a $scope', () => rejects(ins(6, '$upscope $end'), 7, /\$upscope without an open \$scope/));
  it('rejects $enddefinitions with a scope still open', () => rejects(ins(1, '$scope module inner $end'), 8, /1 \$scope\(s\) still open/));
  it('rejects a timescale other than 1/10/100', () => rejects(set(0, '$timescale 5ns $end'), 1, /bad \$timescale '5ns'/));
  it('rejects an unknown timescale unit', () => rejects(set(0, '$timescale 1 xs $end'), 1, /bad \$timescale/));
  it('rejects a $var without $end', () => rejects(set(2, '$var wire 1 ! clk'), 3, /\$var opened at line 3 has no \$end before '\$var'/));
  it('rejects a missing $end at the end of the file', () => rejects([...HEAD.slice(0, 2), '$var wire 1 ! clk'], 3, /no \$end before the end of the file/));
  it('rejects a file without $enddefinitions', () => rejects(HEAD.slice(0, 6), 6, /no \$enddefinitions/));
  it('rejects an id reused with another width', () => rejects(ins(4, '$var reg 4 " other [3:0] $end'), 5, /id '"' declared again with reg 4 \(first as reg 8 at top.data\)/));
  it('rejects an id reused with another type', () => rejects(ins(4, '$var wire 8 " other [7:0] $end'), 5, /declared again with wire 8/));
  it('rejects a value change before $enddefinitions', () => rejects(ins(5, '1!'), 6, /value change before \$enddefinitions/));
  it('rejects a value change before the first #time', () => rejects([...HEAD, '$dumpvars', '0!', '$end'], 9, /before the first #time/));
  it('rejects duplicate variable names in one scope', () => rejects(ins(4, '$var wire 1 $ clk $end'), 5, /duplicate variable name 'top.clk'/));
  it('rejects a vector with bad digits', () => rejects(set(15, 'b102 "'), 16, /malformed vector 'b102'/));
  it('rejects a vector glued to its id (no space)', () => rejects(set(15, 'b101"'), 16, /malformed vector|no identifier after it/));
  it('rejects a vector without id', () => rejects(set(15, 'b101'), 16, /no identifier after it/));
  it('rejects a malformed real', () => rejects(set(16, 'r2.5.1 #'), 17, /malformed real 'r2.5.1'/));
  it('rejects a real for a non-real variable', () => rejects(set(16, 'r2.5 "'), 17, /real value 'r2.5' for non-real variable top.data/));
  it('rejects a vector for a real variable', () => rejects(set(16, 'b1 #'), 17, /vector value 'b1' for real variable top.r/));
  it('rejects a scalar for a multi-bit variable', () => rejects(set(15, '1"'), 16, /scalar value '1"' for 8-bit variable/));
  it('rejects a bad $var type', () => rejects(set(2, '$var wyre 1 ! clk $end'), 3, /unknown \$var type 'wyre'/));
  it('rejects a bad $var size', () => rejects(set(2, '$var wire 0 ! clk $end'), 3, /size '0' is not a positive integer/));
  it('rejects a range that disagrees with the size', () => rejects(set(3, '$var reg 8 " data [3:0] $end'), 4, /spans 4 bit\(s\) but the size is 8/));
  it('rejects names GTKWave misreads', () => rejects(set(2, '$var wire 1 ! a:b $end'), 3, /contains ':', '\[' or '\]'/));
  it('rejects a bad $scope type', () => rejects(set(1, '$scope moduel top $end'), 2, /bad \$scope type 'moduel'/));
  it('rejects an unknown keyword', () => rejects(ins(1, '$foo $end'), 2, /unknown keyword '\$foo'/));
  it('rejects a $var outside any scope', () => rejects(['$var wire 1 ! clk $end', '$enddefinitions $end'], 1, /outside any \$scope/));
  it('rejects a $dumpvars without $end', () => rejects([...HEAD, '#0', '$dumpvars', '0!'], 9, /\$dumpvars opened at line 9 has no \$end/));
  it('rejects a stray $end', () => rejects([...HEAD, '#0', '$end'], 9, /'\$end' without an open/));
});
