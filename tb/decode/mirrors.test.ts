import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AddressRangeTableConfig } from '../../rtl/decode/AddressRangeTable.ts';
import { LOOKUP_NONE } from '../../rtl/decode/RequestDecoder.ts';
import { checkProperty } from '../lib/pbt.ts';
import { buildDecoderBench, Op } from './decoderBench.ts';

/**
 * The decoder's waveform registers (tagsFree, outstanding, lookupPipe, lastLookup) are written
 * where the state they mirror changes, not every cycle. After every clock edge they must show
 * exactly what writing them every cycle would: the tag, outstanding and pipeline counts, and the
 * last lookup's status only in the cycle after it, LOOKUP_NONE otherwise.
 */
const GiB = 2 ** 30;
const BASE = 4 * GiB;
const CFG: AddressRangeTableConfig = { decoders: [{ base: '4G', size: '1G', ways: 2, granularity: 4096, targets: [1, 2], readers: [0, 1], writers: [0] }] };

describe('RequestDecoder: waveform registers', () => {
  it('property: tagsFree / outstanding / lookupPipe / lastLookup equal the state they mirror after every edge', () => {
    const cmd = fc.record({ vm: fc.integer({ min: 0, max: 2 }), write: fc.boolean(), inRange: fc.boolean(), line: fc.integer({ min: 0, max: 255 }), gap: fc.integer({ min: 0, max: 3 }) });
    checkProperty(
      'decode_waveform_mirrors',
      fc.property(fc.array(cmd, { minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 6 }), (cmds, L, tags, remote) => {
        const tb = buildDecoderBench({ config: CFG, lookupLatencyCycles: L, remoteLatency: remote, tagPoolSize: tags });
        cmds.forEach((c, i) => tb.host.queue.push({ hostTag: i, vm: c.vm, op: c.write ? Op.Write : Op.Read, addr: (c.inRange ? BASE : 0) + c.line * 64 }));
        const reg = (name: string) => tb.sim.regs.find((r) => r.path === `top.decoder.${name}`)!;
        const [tagsFree, outstanding, pipe, last] = ['tagsFree', 'outstanding', 'lookupPipe', 'lastLookup'].map(reg);
        let prevDecided = tb.dec.hits + tb.dec.misses + tb.dec.refused;
        for (let cycle = 0; cycle < 300; cycle++) {
          tb.sim.step(1);
          expect([tagsFree!.q, outstanding!.q, pipe!.q]).toEqual([tags - tb.dec.outstandingCount, tb.dec.outstandingCount, tb.dec.inLookup]);
          const decided = tb.dec.hits + tb.dec.misses + tb.dec.refused;
          if (decided === prevDecided) expect(last!.q).toBe(LOOKUP_NONE);
          else expect(last!.q).not.toBe(LOOKUP_NONE);
          prevDecided = decided;
        }
      }),
      { numRuns: 60 },
    );
  });
});
