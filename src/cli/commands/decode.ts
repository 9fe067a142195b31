import { readFileSync } from 'node:fs';
import {
  AddressRangeTable,
  LookupResult,
  LookupStatus,
  MAX_VMS,
  TARGET_LOCAL,
  type DecoderConfig,
  type DecoderInfo,
} from '../../../rtl/decode/AddressRangeTable.ts';
import { hex, parseAddress } from '../../../rtl/decode/parseAddress.ts';
import { loadSystemConfig } from '../../config/system.ts';
import { ConfigError } from '../../sim/index.ts';
import { parseFlags } from '../args.ts';
import { UsageError, type Command } from '../command.ts';

const MiB = 2 ** 20;

const usage = [
  'usage: cxlfab decode --config FILE --hpa ADDR [--requester VM] [--write] [--node ID]',
  '',
  "Decodes one host physical address through a node's address-range table (HDM decoders) and",
  'prints the decoder, interleave way, target node and device physical address (DPA), or why the',
  'address is unclaimed or refused.',
  '',
  '  --config FILE    JSON, one of:',
  '                     { "decoders": [ { "base": "128G", "size": "4G", "ways": 4, "granularity": 512,',
  '                                       "targets": [1,2,3,4], "dpaSkip": "0", "readers": [0],',
  '                                       "writers": [0], "lock": false }, ... ], "entries": 16 }',
  '                   or a whole-system config (see scenarios/two-node.json): the table of',
  '                   nodes[i].device.ranges of the node chosen with --node.',
  '                   Addresses: numbers or strings in hex (0x1_0000_0000), decimal, or with',
  '                   K/M/G/T (binary) units. Decoders commit in order with the HDM checks.',
  '  --hpa ADDR       the host physical address (hex, decimal or with a unit)',
  '  --requester VM   check the grants of VM id VM (0..63); without it grants are not checked',
  '  --write          check the write grant instead of the read grant',
  '  --node ID        with a whole-system config: the node whose table to use (default: the first)',
  '',
  'Exit status: 0 decoded and granted, 1 unclaimed or refused, 2 bad usage, config or address.',
  'Example: cxlfab decode --config scenarios/decode-example.json --hpa 0x20_4000_0404',
].join('\n');

/** Turn the file's JSON into table config, naming where the decoders came from. */
function tableConfig(raw: unknown, node: string | undefined): { decoders: DecoderConfig[]; entries?: number; source: string } {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError('(top level)', 'must be a JSON object with "decoders" or "nodes"');
  const o = raw as Record<string, unknown>;
  if ('decoders' in o) {
    if (node !== undefined) throw new UsageError('--node applies only to a whole-system config (one with "nodes")');
    const entries = o.entries;
    if (entries !== undefined && typeof entries !== 'number') throw new ConfigError('entries', 'must be a number');
    return { decoders: o.decoders as DecoderConfig[], ...(entries !== undefined ? { entries } : {}), source: 'decoders' };
  }
  if (!('nodes' in o)) throw new ConfigError('(top level)', 'needs "decoders" (a table) or "nodes" (a whole-system config)');
  const sys = loadSystemConfig(raw);
  let idx = 0;
  if (node !== undefined) {
    const id = Number(node);
    idx = sys.nodes.findIndex((n) => n.id === id || n.name === node);
    if (idx < 0) throw new UsageError(`--node ${node}: no node with that id or name (nodes: ${sys.nodes.map((n) => `${n.id} (${n.name})`).join(', ')})`);
  }
  const n = sys.nodes[idx]!;
  const decoders = n.device.ranges.map(
    (r): DecoderConfig => ({ base: r.baseHpa, size: r.sizeMiB * MiB, ways: r.ways, granularity: r.granularity, targets: r.targets, dpaSkip: r.dpaSkip, readers: r.readers, writers: r.writers }),
  );
  return { decoders, source: `nodes[${idx}].device.ranges (node ${n.id}, ${n.name})` };
}

function bytesText(n: number): string {
  for (const [u, s] of [[2 ** 40, 'TiB'], [2 ** 30, 'GiB'], [MiB, 'MiB'], [1024, 'KiB']] as const) if (n >= u && n % u === 0) return `${n / u} ${s}`;
  return `${n} B`;
}

function describeDecoder(d: DecoderInfo): string {
  return `decoder ${d.index}: HPA ${hex(d.base)}..${hex(d.base + d.size)} (${bytesText(d.size)}), ${d.ways}-way at ${bytesText(d.granularity)}, targets [${d.targets.join(', ')}], DPA base ${hex(d.dpaBase)}`;
}

export const command: Command = {
  name: 'decode',
  summary: 'decode one host physical address through an address-range table (HDM decoders)',
  usage,
  async run(args, io) {
    const { values, positionals } = parseFlags(args, {
      config: { type: 'string' },
      hpa: { type: 'string' },
      requester: { type: 'string' },
      write: { type: 'boolean' },
      node: { type: 'string' },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    if (values.config === undefined) throw new UsageError('--config FILE is required');
    if (values.hpa === undefined) throw new UsageError('--hpa ADDR is required');
    let vm = -1;
    if (values.requester !== undefined) {
      vm = Number(values.requester);
      if (!/^\d+$/.test(values.requester) || vm >= MAX_VMS) throw new UsageError(`--requester ${values.requester}: must be a VM id 0..${MAX_VMS - 1}`);
    }
    const write = values.write === true;

    let text: string;
    try {
      text = readFileSync(values.config, 'utf8');
    } catch (e) {
      io.err(`cxlfab decode: cannot read ${values.config}: ${e instanceof Error ? e.message : String(e)}\n`);
      return 2;
    }
    let table: AddressRangeTable;
    let hpa: number;
    let source: string;
    try {
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch (e) {
        throw new ConfigError(values.config, `not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
      }
      const cfg = tableConfig(raw, values.node);
      source = cfg.source;
      table = AddressRangeTable.fromConfig({ decoders: cfg.decoders }, cfg.entries !== undefined ? { entries: cfg.entries } : {});
      hpa = parseAddress(values.hpa, '--hpa');
    } catch (e) {
      if (e instanceof ConfigError) {
        io.err(`cxlfab decode: ${values.config.length > 0 && !e.field.startsWith('--') ? `${values.config}: ` : ''}${e.message}\n`);
        return 2;
      }
      throw e;
    }

    const r = new LookupResult();
    table.lookup(hpa, vm, write, r);
    const who = vm >= 0 ? `VM ${vm} ${write ? 'write' : 'read'}` : write ? 'write' : 'read';
    const head = `HPA ${hex(hpa)} (${who}, table from ${source})`;
    const where = () => {
      const d = table.info(r.entry);
      return [
        `  ${describeDecoder(d)}`,
        `  way     ${r.way} of ${r.ways}`,
        `  target  ${r.target === TARGET_LOCAL ? 'this node (page override)' : `node ${r.target}`}`,
        `  DPA     ${hex(r.dpa)}`,
      ].join('\n');
    };
    switch (r.status) {
      case LookupStatus.Hit:
        io.out(`${head}\n${where()}\n`);
        return 0;
      case LookupStatus.ReadDenied:
      case LookupStatus.WriteDenied: {
        const d = table.info(r.entry);
        const list = write ? d.writers : d.readers;
        io.out(
          `${head}\n  refused: decoder ${r.entry} claims it, but VM ${vm} is not granted ${write ? 'write' : 'read'} ` +
            `(${write ? 'writers' : 'readers'}: ${list.length > 0 ? list.join(', ') : 'none'}); the CXL error answer would be returned\n${where()}\n`,
        );
        return 1;
      }
      case LookupStatus.NotCommitted: {
        io.out(`${head}\n  unclaimed: decoder ${r.entry} covers it but is not committed${table.decoderError(r.entry) ? `: ${table.decoderError(r.entry)}` : ''}\n`);
        return 1;
      }
      default: {
        const live: string[] = [];
        for (let d = 0; d < table.entries; d++) if (table.isCommitted(d) && table.info(d).size > 0) live.push(`  ${describeDecoder(table.info(d))}`);
        io.out(`${head}\n  unclaimed: no committed decoder covers this address${live.length > 0 ? '; committed decoders:\n' + live.join('\n') : ' (the table has no committed, non-empty decoder)'}\n`);
        return 1;
      }
    }
  },
};
