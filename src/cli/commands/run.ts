import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadSystemConfig } from '../../config/system.ts';
import { ConfigError } from '../../sim/index.ts';
import { parseFlags } from '../args.ts';
import { type CliIo, type Command, UsageError } from '../command.ts';
import { formatRunReport } from '../formatReport.ts';
import { runScenario } from '../runScenario.ts';

export const DEFAULT_SCENARIO = 'scenarios/two-node.json';

const usage = [
  'usage: cxlfab run [scenario.json] [--cycles N] [--vcd FILE] [--trace GLOB]... [--json] [--seed S] [--set path=value]... [--no-check]',
  '',
  `Simulates the scenario (default ${DEFAULT_SCENARIO}; an empty JSON object {} is a working two-node`,
  'system), checks every read against a golden memory, and prints the report.',
  '  --cycles N        cycles to simulate (overrides the scenario)',
  '  --vcd FILE        write waves to FILE (.vcd) and the GTKWave layout next to it (.gtkw)',
  "  --trace GLOB      trace only signals whose path matches (e.g. 'top.nodeA.dev.*'); repeatable",
  '  --json            print the report as JSON',
  '  --seed S          seed of traffic and fault injection (overrides the scenario)',
  '  --set path=value  override any configuration field, e.g. --set link.lanes=8 --set nodes[1].dram.tCLns=18',
  '  --no-check        skip the golden-memory check (faster)',
  '',
  'Exit status: 0 run completed and the check found nothing; 1 the check found mismatches, lost or',
  'duplicated answers; 2 bad usage or configuration (nothing simulated).',
].join('\n');

function progressBar(io: CliIo): ((done: number, total: number) => void) | undefined {
  if (!io.isTTY) return undefined;
  let last = -1;
  return (done, total) => {
    const pct = Math.floor((100 * done) / total);
    if (pct === last) return;
    last = pct;
    const w = 30;
    const fill = Math.round((w * done) / total);
    io.err(`\r[${'#'.repeat(fill)}${'.'.repeat(w - fill)}] ${pct}%  ${done}/${total} cycles${done === total ? '\n' : ''}`);
  };
}

export const command: Command = {
  name: 'run',
  summary: 'simulate a fabric scenario and print the report (latency, links, DRAM, check, breakdown)',
  usage,
  async run(args, io) {
    const { values, positionals } = parseFlags(args, {
      cycles: { type: 'string' },
      vcd: { type: 'string' },
      trace: { type: 'string', multiple: true },
      json: { type: 'boolean' },
      seed: { type: 'string' },
      set: { type: 'string', multiple: true },
      'no-check': { type: 'boolean' },
    });
    if (positionals.length > 1) throw new UsageError(`one scenario file at most, got ${positionals.length}`);
    const file = positionals[0] ?? DEFAULT_SCENARIO;
    if (!existsSync(file)) {
      io.err(`cxlfab run: scenario '${file}': no such file\n`);
      return 2;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      io.err(`cxlfab run: scenario '${file}': not valid JSON: ${e instanceof Error ? e.message : String(e)}\n`);
      return 2;
    }
    const overrides = [...(values.set ?? [])];
    for (const [flag, field] of [['cycles', 'cycles'], ['seed', 'seed']] as const) {
      const v = values[flag];
      if (v === undefined) continue;
      if (!/^\d+$/.test(v)) throw new UsageError(`--${flag} must be a whole number, got '${v}'`);
      overrides.push(`${field}=${v}`);
    }
    let cfg;
    try {
      cfg = loadSystemConfig(raw, overrides);
    } catch (e) {
      if (e instanceof ConfigError) {
        io.err(`cxlfab run: ${file}: ${e.field}: ${e.rule}\n`);
        return 2;
      }
      throw e;
    }
    if (values.vcd !== undefined) {
      if (!values.vcd.endsWith('.vcd')) throw new UsageError(`--vcd must name a .vcd file, got '${values.vcd}'`);
      mkdirSync(dirname(values.vcd), { recursive: true });
    }
    let report;
    try {
      const progress = values.json ? undefined : progressBar(io);
      report = runScenario(cfg, {
        ...(values.vcd !== undefined ? { vcd: values.vcd } : {}),
        ...(values.trace ? { trace: values.trace } : {}),
        check: !values['no-check'],
        ...(progress ? { progress } : {}),
      });
    } catch (e) {
      if (e instanceof ConfigError) {
        io.err(`cxlfab run: ${file}: ${e.field}: ${e.rule}\n`);
        return 2;
      }
      throw e;
    }
    io.out(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatRunReport(report));
    const c = report.check;
    return c.mismatches + c.lost + c.duplicated > 0 ? 1 : 0;
  },
};
