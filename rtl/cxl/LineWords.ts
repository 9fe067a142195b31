import { LINE_BYTES } from './opcodes.ts';

/**
 * 64-byte lines moved as sixteen 32-bit words instead of 64 bytes: a module takes a word view of
 * each slab it copies lines between (a channel's `bytes`, a stage's lines, a queue's data) once,
 * at construction; its per-message copies then move a word a step and allocate nothing. A word
 * view aliases the same memory as its byte array, so a word copy moves exactly the bytes a byte
 * copy would, to the same places, on either host byte order.
 */
export const LINE_WORDS = LINE_BYTES / 4;

/**
 * A Uint32Array over the same memory as `bytes` (not a copy). The byte array must start and end on
 * word boundaries, as every channel slab and line buffer here does (whole slots from offset 0).
 */
export function wordView(bytes: Uint8Array): Uint32Array {
  if (bytes.byteOffset % 4 !== 0 || bytes.length % 4 !== 0) throw new RangeError(`wordView: ${bytes.length} bytes at offset ${bytes.byteOffset} are not whole words`);
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
}

/** The word view of a slab of whole lines (a slab that is not whole aligned lines is a construction error). */
export function lineWords(bytes: Uint8Array): Uint32Array {
  if (bytes.byteOffset % 4 !== 0 || bytes.length % LINE_BYTES !== 0) throw new RangeError(`line slab of ${bytes.length} bytes at offset ${bytes.byteOffset} is not whole aligned lines`);
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
}

/** Copy line `srcLine` of one word view to line `dstLine` of another (line indices). */
export function copyLine(src: Uint32Array, srcLine: number, dst: Uint32Array, dstLine: number): void {
  const s0 = srcLine * LINE_WORDS;
  const d0 = dstLine * LINE_WORDS;
  for (let i = 0; i < LINE_WORDS; i++) dst[d0 + i] = src[s0 + i]!;
}

/** Set every byte of line `line` of a word view to `byte` (the byte repeated in all four bytes of each word). */
export function fillLine(dst: Uint32Array, line: number, byte: number): void {
  const word = ((byte & 0xff) * 0x01010101) >>> 0;
  const d0 = line * LINE_WORDS;
  for (let i = 0; i < LINE_WORDS; i++) dst[d0 + i] = word;
}
