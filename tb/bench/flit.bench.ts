import type { Bench } from './bench.ts';
import { medianOf, timeIt } from './bench.ts';
import { Flit68Assembler } from '../../rtl/flit/Flit68Assembler.ts';
import { Flit68Parser } from '../../rtl/flit/Flit68Parser.ts';
import { Flit256Assembler } from '../../rtl/flit/Flit256Assembler.ts';
import { Flit256Parser } from '../../rtl/flit/Flit256Parser.ts';
import { type FlitAssembler, type FlitParser, memMsgSlots } from '../../rtl/flit/FlitFormat.ts';
import { M2SReqOp, MsgClass, S2MDRSOp } from '../../rtl/cxl/opcodes.ts';
import { parserOuts } from '../flit/flitTestUtil.ts';
import { ANALYTIC, measureEfficiency } from '../flit/efficiency.ts';

/**
 * Flit packing efficiency at saturation, measured from the FlitPacker's own output (two ports on a
 * direct wire, deep credits, always-ready sink), next to the analytic bound derived from the slot
 * rules (tb/flit/efficiency.ts explains each). Fractions of the raw flit bandwidth that carry
 * 64-byte line payload.
 */
export const benches: Bench[] = [
  {
    figures: ['flit68.read.efficiency', 'flit68.read.analytic', 'flit68.write.efficiency', 'flit68.write.analytic', 'flit256.read.efficiency', 'flit256.read.analytic', 'flit256.write.efficiency', 'flit256.write.analytic'],
    run() {
      const out: Record<string, { value: number; unit: string; note?: string }> = {};
      for (const mode of [68, 256] as const) {
        const key = mode === 68 ? 'flit68' : 'flit256';
        for (const kind of ['read', 'write'] as const) {
          const m = measureEfficiency(mode, kind, 2160);
          const a = ANALYTIC[key][kind];
          out[`${key}.${kind}.efficiency`] = { value: m.efficiency, unit: 'fraction', note: `${m.lines} lines in ${m.flits} flits; analytic ${a.toFixed(4)}` };
          out[`${key}.${kind}.analytic`] = { value: a, unit: 'fraction' };
        }
      }
      return out;
    },
  },
];

/** Pack and parse `flits` flits of mixed traffic (Req + DRS) with the pure assembler and parser: flits per second. */
function packParseRate(mode: 68 | 256, flits: number): number {
  const asm: FlitAssembler = mode === 68 ? new Flit68Assembler() : new Flit256Assembler();
  const parser: FlitParser = mode === 68 ? new Flit68Parser() : new Flit256Parser();
  const src = memMsgSlots(64);
  for (let i = 0; i < 64; i++) {
    src.col.tag[i] = i;
    src.col.opcode[i] = i % 2 === 0 ? M2SReqOp.MemRd : S2MDRSOp.MemData;
  }
  const { outs } = parserOuts(256);
  const buf = new Uint8Array(256);
  let k = 0;
  const secs = timeIt(() => {
    for (let f = 0; f < flits; f++) {
      asm.begin(buf, 0);
      const cls = (f & 1) === 0 ? MsgClass.M2SReq : MsgClass.S2MDRS;
      while (asm.canAdd(cls, src, k & 63)) asm.add(cls, src, k++ & 63);
      asm.finish(1, 0, 1, 0);
      parser.parse(buf, 0, outs);
      for (let c = 0; c < 4; c++) {
        const o = outs[c]!;
        o.commit();
        while (o.valid()) o.pop();
        o.commit();
      }
    }
  });
  return flits / secs;
}

benches.push({
  figures: ['flit68.packParse.flitsPerSecond', 'flit256.packParse.flitsPerSecond'],
  run() {
    return {
      'flit68.packParse.flitsPerSecond': { value: Math.round(medianOf(3, () => packParseRate(68, 100_000))), unit: 'flits/s', note: 'assembler + parser, bytes serialised' },
      'flit256.packParse.flitsPerSecond': { value: Math.round(medianOf(3, () => packParseRate(256, 30_000))), unit: 'flits/s', note: 'assembler + parser, bytes serialised' },
    };
  },
});
