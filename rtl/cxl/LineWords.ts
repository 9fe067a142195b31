import { wordView } from '../../src/bits/views.ts';
import { LINE_BYTES } from './opcodes.ts';

/**
 * 64-byte lines moved as sixteen 32-bit words instead of 64 bytes: a module takes the word view
 * (lineWords) of each slab it copies lines between (a channel's `bytes`, a stage's lines, a queue's
 * data) once, at construction; its per-message copies then move a word a step and allocate nothing.
 */
export const LINE_WORDS = LINE_BYTES / 4;
/**
 * LINE_WORDS for the copies below, as a `const enum` member: the TypeScript transform writes it as a
 * literal, where a module-level constant is loaded and type-checked at each use in V8's optimized code.
 */
const enum Line { words = 16 }
if (LINE_WORDS !== Line.words) throw new Error('LineWords: Line.words disagrees with LINE_BYTES / 4');

/**
 * The word view (src/bits/views.ts) of a slab of whole lines, so that a line index is a slot index.
 * A slab that is not whole aligned lines is a construction error: copyLine / fillLine on a partial
 * last line would silently move fewer bytes (typed arrays ignore accesses past their end).
 */
export function lineWords(bytes: Uint8Array): Uint32Array {
  if (bytes.byteOffset % 4 !== 0 || bytes.length % LINE_BYTES !== 0) throw new RangeError(`line slab of ${bytes.length} bytes at offset ${bytes.byteOffset} is not whole aligned lines`);
  return wordView(bytes);
}

/**
 * Copy line `srcLine` of one word view to line `dstLine` of another (line indices).
 *
 * The sixteen moves are written out: V8 does not unroll the loop, and its per-word counter and
 * exit test cost about as much as the moves (measured 1.4× faster written out). Every line of the
 * design crosses several of these copies, so it is among the hottest code of a run.
 */
export function copyLine(src: Uint32Array, srcLine: number, dst: Uint32Array, dstLine: number): void {
  const s = srcLine * Line.words;
  const d = dstLine * Line.words;
  dst[d] = src[s]!; dst[d + 1] = src[s + 1]!; dst[d + 2] = src[s + 2]!; dst[d + 3] = src[s + 3]!;
  dst[d + 4] = src[s + 4]!; dst[d + 5] = src[s + 5]!; dst[d + 6] = src[s + 6]!; dst[d + 7] = src[s + 7]!;
  dst[d + 8] = src[s + 8]!; dst[d + 9] = src[s + 9]!; dst[d + 10] = src[s + 10]!; dst[d + 11] = src[s + 11]!;
  dst[d + 12] = src[s + 12]!; dst[d + 13] = src[s + 13]!; dst[d + 14] = src[s + 14]!; dst[d + 15] = src[s + 15]!;
}

/** Set every byte of line `line` of a word view to `byte` (the byte repeated in all four bytes of each word). */
export function fillLine(dst: Uint32Array, line: number, byte: number): void {
  const w = ((byte & 0xff) * 0x01010101) >>> 0;
  const d = line * Line.words;
  // Written out like copyLine's moves.
  dst[d] = w; dst[d + 1] = w; dst[d + 2] = w; dst[d + 3] = w; dst[d + 4] = w; dst[d + 5] = w; dst[d + 6] = w; dst[d + 7] = w;
  dst[d + 8] = w; dst[d + 9] = w; dst[d + 10] = w; dst[d + 11] = w; dst[d + 12] = w; dst[d + 13] = w; dst[d + 14] = w; dst[d + 15] = w;
}
