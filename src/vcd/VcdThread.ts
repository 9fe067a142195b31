import { Worker } from 'node:worker_threads';
import { VcdFormatter, type VcdVarMeta } from './VcdFormatter.ts';
import type { VcdEmitter } from './VcdWriter.ts';

/**
 * A VCD writer thread, as Verilator's `--trace-threads`: the simulation thread records each value
 * change as two or three numbers in shared memory; a worker thread turns them into text with a
 * VcdFormatter and writes the file. Formatting is most of what tracing costs per change, so the
 * simulation thread keeps only the validation and the change detection (VcdWriter).
 *
 * Shared memory: a control block, and `SEGMENTS` segments of records (Float64Array) and payload
 * bytes. The simulation thread fills one segment, publishes it (control word PUBLISHED) and goes
 * on with the next; the worker formats published segments in order, writes them out and counts
 * them in WRITTEN. The simulation thread waits only when every segment is full and not yet
 * written, and in flush(), which returns once the file holds everything so far.
 *
 * Records (doubles): a variable index i ≥ 0 then its value; TIME then t; WIDE, i, payload offset;
 * REAL, i, value; ASCII, payload offset, length.
 */

// Segments small enough that closing waits little for the worker's tail (it formats a segment in
// well under a millisecond), and enough of them that the simulation thread rarely waits at all.
const SEGMENTS = 8;
/** Doubles per segment: 8 K changes, about 180 cycles of the default two-node design. */
const SEGMENT_DOUBLES = 1 << 14;
/** Payload bytes per segment (wide values, header text). */
const SEGMENT_BYTES = 1 << 16;
/** Largest record, in doubles: a segment is handed over when fewer than this are left. */
const MAX_RECORD = 3;

const TIME = -1;
const WIDE = -2;
const REAL = -3;
const ASCII = -4;

// Control block (Int32): counters, the worker's state, each segment's fill, an error message.
const PUBLISHED = 0;
const WRITTEN = 1;
const STATE = 2;
const SEG_FILL = 4; // + 2 s: doubles used in segment s; + 2 s + 1: payload bytes used
const CONTROL_INTS = SEG_FILL + 2 * SEGMENTS;
const ERROR_BYTES = 1024;
const STATE_CLOSING = 1;
const STATE_FAILED = 2;
/** Set by the simulation thread when it gave up waiting: the worker stops before its next segment. */
const STATE_ABORTED = 3;
// replayRecords (below) runs from its source text in the worker, so it spells these numbers out.
if (PUBLISHED !== 0 || WRITTEN !== 1 || STATE !== 2 || SEG_FILL !== 4 || STATE_CLOSING !== 1 || STATE_FAILED !== 2 || STATE_ABORTED !== 3 || TIME !== -1 || WIDE !== -2 || REAL !== -3 || ASCII !== -4) {
  throw new Error('VcdThread: update replayRecords for the changed record tags or control layout');
}
/** No progress from the worker for this long while waiting on it: report it instead of hanging. */
const STALL_MS = 60_000;

export class VcdThread implements VcdEmitter {
  private readonly ctrl: Int32Array;
  private readonly rec: Float64Array;
  private readonly payload: Uint8Array;
  private readonly errorText: Uint8Array;
  private readonly width: Int32Array;
  private readonly worker: Worker;
  /** Segment being filled, and the number of segments published so far. */
  private seg = 0;
  private published = 0;
  /** Next record position (absolute index into rec) and the last one a record may start at. */
  private r = 0;
  private rLimit = SEGMENT_DOUBLES - MAX_RECORD;
  /** Next payload byte (absolute index into payload) and the segment's payload end. */
  private b = 0;
  private bEnd = SEGMENT_BYTES;
  private closed = false;
  /** An error the worker could not leave in shared memory (it could not start), from its 'error' event. */
  private startError: unknown = null;

  constructor(meta: VcdVarMeta, fd: number, bufferBytes: number) {
    const ctrlBytes = CONTROL_INTS * 4 + ERROR_BYTES;
    const recOffset = Math.ceil(ctrlBytes / 8) * 8;
    const payloadOffset = recOffset + SEGMENTS * SEGMENT_DOUBLES * 8;
    const sab = new SharedArrayBuffer(payloadOffset + SEGMENTS * SEGMENT_BYTES);
    this.ctrl = new Int32Array(sab, 0, CONTROL_INTS);
    this.errorText = new Uint8Array(sab, CONTROL_INTS * 4, ERROR_BYTES);
    this.rec = new Float64Array(sab, recOffset, SEGMENTS * SEGMENT_DOUBLES);
    this.payload = new Uint8Array(sab, payloadOffset, SEGMENTS * SEGMENT_BYTES);
    this.width = meta.width;
    const layout = { CONTROL_INTS, ERROR_BYTES, recOffset, payloadOffset, SEGMENTS, SEGMENT_DOUBLES, SEGMENT_BYTES };
    this.worker = new Worker(workerSource(), { eval: true, workerData: { sab, fd, meta, bufferBytes, layout } });
    // Errors inside the worker's program reach shared memory; this catches the rest (the thread
    // could not start), which would otherwise be an uncaught 'error' event that ends the process.
    this.worker.on('error', (e) => (this.startError = e));
    // The simulation never waits for the worker to exit; an unfinished file is the caller's flush/close to settle.
    this.worker.unref();
  }

  /**
   * Whether the file descriptor may be closed: the worker wrote everything and was told to stop,
   * or it failed. After a stall it may still be inside a write, and a closed descriptor number
   * can be reused by another file at once, so the writer then leaves the file open.
   */
  get fdSafeToClose(): boolean {
    const state = Atomics.load(this.ctrl, STATE);
    return (this.closed && state === STATE_CLOSING) || state === STATE_FAILED;
  }

  number(i: number, v: number): void {
    const rec = this.rec;
    const r = this.r;
    rec[r] = i;
    rec[r + 1] = v;
    this.r = r + 2;
    if (r + 2 > this.rLimit) this.nextSegment();
  }

  time(t: number): void {
    const rec = this.rec;
    const r = this.r;
    rec[r] = TIME;
    rec[r + 1] = t;
    this.r = r + 2;
    if (r + 2 > this.rLimit) this.nextSegment();
  }

  wide(i: number, bytes: Uint8Array, offset: number): void {
    const nb = (this.width[i]! + 7) >> 3;
    if (this.b + nb > this.bEnd) this.nextSegment();
    const p = this.payload;
    const b = this.b;
    for (let k = 0; k < nb; k++) p[b + k] = bytes[offset + k]!;
    this.b = b + nb;
    this.record3(WIDE, i, b - this.seg * SEGMENT_BYTES);
  }

  real(i: number, v: number): void {
    this.record3(REAL, i, v);
  }

  ascii(s: string): void {
    let k = 0;
    while (k < s.length) {
      if (this.b === this.bEnd) this.nextSegment();
      const n = Math.min(s.length - k, this.bEnd - this.b);
      const p = this.payload;
      const b = this.b;
      for (let j = 0; j < n; j++) p[b + j] = s.charCodeAt(k + j) & 0x7f;
      this.b = b + n;
      k += n;
      this.record3(ASCII, b - this.seg * SEGMENT_BYTES, n);
    }
  }

  /** Returns once the worker has written everything recorded so far to the file. */
  flush(): void {
    if (this.closed) return;
    if (this.r !== this.seg * SEGMENT_DOUBLES || this.b !== this.seg * SEGMENT_BYTES) this.publish();
    this.waitWritten(this.published);
  }

  /** Flush, then let the worker end. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    Atomics.store(this.ctrl, STATE, STATE_CLOSING);
    Atomics.notify(this.ctrl, PUBLISHED);
  }

  private record3(tag: number, a: number, c: number): void {
    const rec = this.rec;
    const r = this.r;
    rec[r] = tag;
    rec[r + 1] = a;
    rec[r + 2] = c;
    this.r = r + 3;
    if (r + 3 > this.rLimit) this.nextSegment();
  }

  private nextSegment(): void {
    this.publish();
    // The segment now to be filled must have been written out (at most SEGMENTS - 1 in flight).
    this.waitWritten(this.published - SEGMENTS + 1);
  }

  /** Hand the segment being filled to the worker and move to the next one. */
  private publish(): void {
    const s = this.seg;
    this.ctrl[SEG_FILL + 2 * s] = this.r - s * SEGMENT_DOUBLES;
    this.ctrl[SEG_FILL + 2 * s + 1] = this.b - s * SEGMENT_BYTES;
    this.published++;
    Atomics.store(this.ctrl, PUBLISHED, this.published);
    Atomics.notify(this.ctrl, PUBLISHED);
    const next = s + 1 === SEGMENTS ? 0 : s + 1;
    this.seg = next;
    this.r = next * SEGMENT_DOUBLES;
    this.rLimit = this.r + SEGMENT_DOUBLES - MAX_RECORD;
    this.b = next * SEGMENT_BYTES;
    this.bEnd = this.b + SEGMENT_BYTES;
  }

  /** Block until the worker has written `n` segments; a failed or stalled worker is an error, not a hang. */
  private waitWritten(n: number): void {
    let seen = Atomics.load(this.ctrl, WRITTEN);
    let since = Date.now();
    while (seen < n) {
      if (Atomics.load(this.ctrl, STATE) === STATE_FAILED) {
        const len = this.errorText.indexOf(0);
        const msg = Buffer.from(this.errorText.subarray(0, len < 0 ? ERROR_BYTES : len)).toString('utf8');
        throw new Error(`VCD writer thread failed: ${msg}`);
      }
      Atomics.wait(this.ctrl, WRITTEN, seen, 100);
      const now = Atomics.load(this.ctrl, WRITTEN);
      if (now !== seen) {
        seen = now;
        since = Date.now();
      } else if (Date.now() - since > STALL_MS) {
        Atomics.store(this.ctrl, STATE, STATE_ABORTED);
        Atomics.notify(this.ctrl, PUBLISHED);
        const why = this.startError !== null ? `: ${String(this.startError)}` : '';
        throw new Error(`VCD writer thread made no progress for ${STALL_MS / 1000} s (${seen} of ${n} segments written)${why}`);
      }
    }
  }
}

/**
 * The worker's program: the VcdFormatter class (from its own source text, which is why that class
 * is self-contained) and the loop below, which replays the records.
 */
function workerSource(): string {
  // Transpilers that keep function and class names (tsx, esbuild) may wrap the texts below in
  // calls to __name: the worker defines it. The formatter's text is compiled inside replayRecords'
  // try (new Function), so even a syntax error in it is reported through shared memory.
  return `'use strict';
var __name = (target) => target;
(${replayRecords.toString()})(require('node:worker_threads').workerData, ${JSON.stringify(`return (${VcdFormatter.toString()});`)}, require('node:fs').writeSync);
`;
}

interface WorkerData {
  readonly sab: SharedArrayBuffer;
  readonly fd: number;
  readonly meta: VcdVarMeta;
  readonly bufferBytes: number;
  readonly layout: { CONTROL_INTS: number; ERROR_BYTES: number; recOffset: number; payloadOffset: number; SEGMENTS: number; SEGMENT_DOUBLES: number; SEGMENT_BYTES: number };
}

/**
 * Runs in the worker (from its source text: self-contained, the constants written out). Formats
 * each published segment, writes it, counts it in WRITTEN; ends when the writer is closing and
 * every segment is written; on an exception, leaves its message and STATE_FAILED for the writer.
 */
function replayRecords(data: WorkerData, formatterSource: string, write: (fd: number, b: Uint8Array, off: number, len: number) => number): void {
  const L = data.layout;
  const ctrl = new Int32Array(data.sab, 0, L.CONTROL_INTS);
  const errorText = new Uint8Array(data.sab, L.CONTROL_INTS * 4, L.ERROR_BYTES);
  const rec = new Float64Array(data.sab, L.recOffset, L.SEGMENTS * L.SEGMENT_DOUBLES);
  const payload = new Uint8Array(data.sab, L.payloadOffset, L.SEGMENTS * L.SEGMENT_BYTES);
  const fd = data.fd;
  let next = 0;
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const Formatter = new Function('__name', formatterSource)((target: unknown) => target) as typeof VcdFormatter;
    const f = new Formatter(data.meta, data.bufferBytes, (b, n) => {
      let done = 0;
      while (done < n) done += write(fd, b, done, n - done);
    });
    for (;;) {
      if (Atomics.load(ctrl, 2) === 3) return; // the writer gave up waiting: write nothing more
      if (Atomics.load(ctrl, 0) === next) {
        // Nothing published: done if the writer is closing (it closes only after its last flush).
        if (Atomics.load(ctrl, 2) === 1) return;
        Atomics.wait(ctrl, 0, next, 1000);
        continue;
      }
      const s = next % L.SEGMENTS;
      const r0 = s * L.SEGMENT_DOUBLES;
      const end = r0 + ctrl[4 + 2 * s]!;
      const b0 = s * L.SEGMENT_BYTES;
      let r = r0;
      while (r < end) {
        const tag = rec[r]!;
        if (tag >= 0) {
          f.number(tag, rec[r + 1]!);
          r += 2;
        } else if (tag === -1) {
          f.time(rec[r + 1]!);
          r += 2;
        } else if (tag === -2) {
          f.wide(rec[r + 1]!, payload, b0 + rec[r + 2]!);
          r += 3;
        } else if (tag === -3) {
          f.real(rec[r + 1]!, rec[r + 2]!);
          r += 3;
        } else {
          f.bytes(payload, b0 + rec[r + 1]!, rec[r + 2]!);
          r += 3;
        }
      }
      f.flush();
      next++;
      Atomics.store(ctrl, 1, next);
      Atomics.notify(ctrl, 1);
    }
  } catch (e) {
    const msg = new TextEncoder().encode(String(e instanceof Error ? (e.stack ?? e.message) : e)).subarray(0, L.ERROR_BYTES - 1);
    errorText.set(msg);
    errorText[msg.length] = 0;
    Atomics.store(ctrl, 2, 2);
    Atomics.notify(ctrl, 1);
  }
}
