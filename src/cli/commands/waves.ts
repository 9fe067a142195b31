import { existsSync, statSync } from 'node:fs';
import { parseFlags } from '../args.ts';
import { type Command, UsageError } from '../command.ts';
import { readVcdFile, VcdParseError } from '../../vcd/VcdReader.ts';

const USAGE = [
  'usage: cxlfab waves check FILE.vcd...',
  '',
  'Validates VCD files with the strict reader (the rules GTKWave, vcd2fst and sigrok trip on:',
  'undeclared ids, width overflow, time going backwards, unbalanced scopes, bad $timescale,',
  'missing $end, reused ids, duplicate names...).',
  '  exit 0  every file is valid; one line per file: vars, value changes, end time',
  '  exit 1  a file breaks a rule; prints FILE:LINE: reason for the first violation',
  '  exit 2  usage error or missing file',
].join('\n');

export const command: Command = {
  name: 'waves',
  summary: 'check VCD waveform files with the strict reader (waves check FILE...)',
  usage: USAGE,
  async run(args, io) {
    const { positionals } = parseFlags(args, {});
    const [sub, ...files] = positionals;
    if (sub === undefined) throw new UsageError('missing subcommand (check)');
    if (sub !== 'check') throw new UsageError(`unknown subcommand '${sub}' (expected check)`);
    if (files.length === 0) throw new UsageError('waves check: no FILE given');
    for (const f of files) {
      if (!existsSync(f) || !statSync(f).isFile()) throw new UsageError(`waves check: no such file '${f}'`);
    }
    for (const f of files) {
      try {
        const d = readVcdFile(f, { collectChanges: false });
        io.out(`${f}: ok, ${d.vars.length} vars, ${d.changeCount} value changes, end time ${d.endTime}${d.timescale ? ` (${d.timescale})` : ''}\n`);
      } catch (e) {
        if (e instanceof VcdParseError) {
          io.err(`${f}:${e.line}: ${e.reason}\n`);
          return 1;
        }
        throw e;
      }
    }
    return 0;
  },
};
