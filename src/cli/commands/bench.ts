import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Bench, Figures } from '../../../tb/bench/bench.ts';
import { parseFlags } from '../args.ts';
import type { Command } from '../command.ts';

const benchDir = join(dirname(fileURLToPath(import.meta.url)), '../../../tb/bench');

export const command: Command = {
  name: 'bench',
  summary: 'run the benchmarks and print their figures (table or --json)',
  usage: [
    'usage: cxlfab bench [--json] [--only PREFIX] [--in-process]',
    '',
    'Runs every benchmark in tb/bench/*.bench.ts and prints each figure with its unit.',
    '  --json          print one JSON object: { "<figure>": { "value": n, "unit": "..." }, ... }',
    '  --only PREFIX   run only the benchmarks with a figure whose name starts with PREFIX',
    '                  (e.g. --only vcd. or --only twoNode.)',
    '  --in-process    run every file in this process (by default each file runs in a fresh one)',
  ].join('\n'),
  async run(args, io) {
    const { values } = parseFlags(args, { json: { type: 'boolean' }, only: { type: 'string' }, 'in-process': { type: 'boolean' }, file: { type: 'string' } }, false);
    const only = values.only ?? '';
    const files = readdirSync(benchDir).filter((f) => f.endsWith('.bench.ts') && (values.file === undefined || f === values.file)).sort();
    const all: Figures = {};
    for (const f of files) {
      const mod = (await import(pathToFileURL(join(benchDir, f)).href)) as { benches?: Bench[] };
      const benches = (mod.benches ?? []).filter((b) => b.figures.some((n) => n.startsWith(only)));
      if (benches.length === 0) continue;
      if (!values.json) for (const b of benches) io.err(`running ${f}: ${b.figures.join(', ')}\n`);
      if (values['in-process'] === true || values.file !== undefined) {
        for (const b of benches) {
          const figs = await b.run();
          for (const [k, v] of Object.entries(figs)) if (k.startsWith(only)) all[k] = v;
        }
        continue;
      }
      // Each file in a fresh process, as JMH forks a JVM per benchmark: V8 specialises shared
      // classes (registers, channels, modules) on what it has seen, so a file run after others
      // measures their leftovers too (the two-node figure read 10 % low after the other benches).
      const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!, 'bench', '--file', f, '--json', ...(only ? ['--only', only] : [])], {
        encoding: 'utf8',
        maxBuffer: 1 << 24,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      if (child.status !== 0) {
        io.err(`cxlfab bench: ${f} failed (exit ${child.status ?? child.signal})\n`);
        return 1;
      }
      Object.assign(all, JSON.parse(child.stdout) as Figures);
    }
    if (Object.keys(all).length === 0) {
      io.err(`cxlfab bench: no figure matches '${only}'\n`);
      return 2;
    }
    if (values.json) {
      io.out(`${JSON.stringify(all, null, 2)}\n`);
    } else {
      const w = Math.max(...Object.keys(all).map((k) => k.length));
      for (const [k, v] of Object.entries(all)) {
        const val = Number.isInteger(v.value) ? String(v.value) : v.value.toPrecision(4);
        io.out(`${k.padEnd(w)}  ${val.padStart(12)} ${v.unit}${v.note ? `   (${v.note})` : ''}\n`);
      }
    }
    return 0;
  },
};
