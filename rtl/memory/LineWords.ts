import { LINE_BYTES } from '../cxl/opcodes.ts';

/**
 * 64-byte lines moved as 16 32-bit words instead of 64 bytes (4× fewer steps in the per-cycle
 * copies). A word view aliases the same memory as its byte array, so what a word copy moves is
 * byte for byte what a byte copy would, on any host byte order.
 */
export const LINE_WORDS = LINE_BYTES / 4;

/**
 * A Uint32Array over the same memory as `bytes`. The byte array must start and end on word
 * boundaries, as every channel slab and line buffer here does (whole 64-byte slots from offset 0).
 */
export function wordView(bytes: Uint8Array): Uint32Array {
  if (bytes.byteOffset % 4 !== 0 || bytes.length % 4 !== 0) throw new RangeError(`wordView: ${bytes.length} bytes at offset ${bytes.byteOffset} are not whole words`);
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
}

/** Copy line `srcLine` of `src` to line `dstLine` of `dst` (line indices, LINE_WORDS words each). */
export function copyLine(src: Uint32Array, srcLine: number, dst: Uint32Array, dstLine: number): void {
  const s0 = srcLine * LINE_WORDS;
  const d0 = dstLine * LINE_WORDS;
  for (let i = 0; i < LINE_WORDS; i++) dst[d0 + i] = src[s0 + i]!;
}

/** Set every byte of line `line` of `dst` to `byte` (0x00 or 0xff: both give the same word on any byte order). */
export function fillLine(dst: Uint32Array, line: number, byte: 0x00 | 0xff): void {
  const w = byte === 0 ? 0 : 0xffffffff;
  const d0 = line * LINE_WORDS;
  for (let i = 0; i < LINE_WORDS; i++) dst[d0 + i] = w;
}
