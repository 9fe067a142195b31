import { LINE_BYTES } from '../cxl/opcodes.ts';

/**
 * 64-byte lines handled as sixteen 32-bit words. A module takes a word view of each line slab it
 * copies between (a channel's `bytes`, a stage's lines, a command's data) once, at construction;
 * its per-message copies then move a word a step instead of a byte, allocating nothing. Copying
 * words moves the same bytes to the same places whatever the host's endianness.
 */

/** 32-bit words in a line. */
export const LINE_WORDS = LINE_BYTES / 4;

/** The word view of a slab of whole lines (a view of the same memory, not a copy). */
export function lineWords(bytes: Uint8Array): Uint32Array {
  if (bytes.byteOffset % 4 !== 0 || bytes.length % LINE_BYTES !== 0) throw new RangeError(`line slab of ${bytes.length} bytes at offset ${bytes.byteOffset} is not whole aligned lines`);
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
}

/** Copy line `si` of one word view to line `di` of another. */
export function copyLine(src: Uint32Array, si: number, dst: Uint32Array, di: number): void {
  const s0 = si * LINE_WORDS;
  const d0 = di * LINE_WORDS;
  for (let k = 0; k < LINE_WORDS; k++) dst[d0 + k] = src[s0 + k]!;
}

/** Set every byte of line `di` of a word view to `byte`. */
export function fillLine(dst: Uint32Array, di: number, byte: number): void {
  // The byte repeated in all four bytes of a word.
  const word = (byte & 0xff) * 0x01010101;
  const d0 = di * LINE_WORDS;
  for (let k = 0; k < LINE_WORDS; k++) dst[d0 + k] = word;
}
