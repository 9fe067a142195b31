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
    'usage: cxlfab bench [--json] [--only PREFIX]',
    '',
    'Runs every benchmark in tb/bench/*.bench.ts and prints each figure with its unit.',
    '  --json          print one JSON object: { "<figure>": { "value": n, "unit": "..." }, ... }',
    '  --only PREFIX   run only the benchmarks with a figure whose name starts with PREFIX',
    '                  (e.g. --only vcd. or --only twoNode.)',
  ].join('\n'),
  async run(args, io) {
    const { values } = parseFlags(args, { json: { type: 'boolean' }, only: { type: 'string' } }, false);
    const only = values.only ?? '';
    const files = readdirSync(benchDir).filter((f) => f.endsWith('.bench.ts')).sort();
    const all: Figures = {};
    for (const f of files) {
      const mod = (await import(pathToFileURL(join(benchDir, f)).href)) as { benches?: Bench[] };
      for (const b of mod.benches ?? []) {
        if (!b.figures.some((n) => n.startsWith(only))) continue;
        if (!values.json) io.err(`running ${f}: ${b.figures.join(', ')}\n`);
        const figs = await b.run();
        for (const [k, v] of Object.entries(figs)) if (k.startsWith(only)) all[k] = v;
      }
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
