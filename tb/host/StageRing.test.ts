import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StageRing } from '../../rtl/host/StageRing.ts';
import { checkProperty } from '../lib/pbt.ts';

/**
 * StageRing keeps an entry's fields as one record and its head's ready cycle as a plain number
 * (meaningful only while the stage holds something). Against a plain array of entries: the same
 * head leaves in the same cycles, every field and line comes back as written, and the owner's
 * shortcut test (occupancy !== 0 && headReady <= cycle) agrees with readyHead every cycle.
 */
const FIELDS = ['a', 'b', 'c'] as const;

describe('StageRing', () => {
  it('property: the ring behaves as a plain FIFO of (ready cycle, fields, line)', () => {
    const step = fc.record({ accept: fc.boolean(), latency: fc.integer({ min: 0, max: 5 }), release: fc.boolean(), value: fc.integer({ min: 0, max: 2 ** 40 }) });
    checkProperty(
      'host_stage_ring_fifo',
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(step, { minLength: 1, maxLength: 200 }), (capacity, steps) => {
        const ring = new StageRing('t', capacity, FIELDS);
        const model: Array<{ ready: number; v: number }> = [];
        steps.forEach((st, cycle) => {
          if (st.accept && ring.canAccept()) {
            const s = ring.accept(cycle + st.latency);
            ring.set(s, 'a', st.value);
            ring.set(s, 'b', cycle);
            ring.set(s, 'c', st.value + 1);
            ring.fillLine(s, st.value & 0xff);
            model.push({ ready: cycle + st.latency, v: st.value });
          }
          expect(ring.canAccept()).toBe(model.length < capacity);
          expect(ring.occupancy).toBe(model.length);
          const due = model.length > 0 && model[0]!.ready <= cycle;
          const s = ring.readyHead(cycle);
          expect(s >= 0).toBe(due);
          expect(ring.occupancy !== 0 && ring.headReady <= cycle).toBe(due);
          if (due && st.release) {
            const m = model.shift()!;
            expect([ring.get(s, 'a'), ring.get(s, 'c'), ring.rec[s * ring.stride + ring.at('a')]]).toEqual([m.v, m.v + 1, m.v]);
            expect(ring.bytes[s * 64 + 63]).toBe(m.v & 0xff);
            ring.release();
          }
        });
      }),
      { numRuns: 200 },
    );
  });
});
