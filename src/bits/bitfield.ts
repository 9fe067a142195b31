/**
 * Bit fields over byte arrays, LSB-first as CXL flits are drawn: bit i of a field that starts at
 * bit position p lands in byte (p + i) >> 3, bit (p + i) & 7.
 *
 * Fields are up to 52 bits wide (exact in a double) at any bit offset. No BigInt and no
 * allocation: values are split into byte-sized pieces with arithmetic (not 32-bit operators,
 * which would truncate above 2^32), so these run inside per-cycle code.
 */

/** Widest field these helpers move: a double holds integers exactly up to 2^53. */
export const MAX_FIELD_BITS = 52;

/** POW2[i] = 2^i for i in 0..53. */
export const POW2 = (() => {
  const t = new Float64Array(54);
  for (let i = 0; i < 54; i++) t[i] = 2 ** i;
  return t;
})();

/**
 * Write the low `width` bits of `value` (a non-negative integer) at bit position `bitPos` of
 * `buf`, counted from byte `byteOff`. Bits of `value` above `width` are ignored.
 */
export function setBits(buf: Uint8Array, byteOff: number, bitPos: number, width: number, value: number): void {
  let p = bitPos;
  let left = width;
  if ((value | 0) === value && value >= 0) {
    // The common case (a value below 2^31): split with integer shifts, not % and / on doubles.
    let v = value;
    while (left > 0) {
      const sh = p & 7;
      const k = 8 - sh < left ? 8 - sh : left;
      const mask = (1 << k) - 1;
      const i = byteOff + (p >> 3);
      buf[i] = (buf[i]! & ~(mask << sh)) | ((v & mask) << sh);
      v >>>= k;
      p += k;
      left -= k;
    }
    return;
  }
  let v = value;
  while (left > 0) {
    const sh = p & 7;
    const k = 8 - sh < left ? 8 - sh : left;
    const unit = POW2[k]!;
    const piece = v % unit;
    v = (v - piece) / unit;
    const i = byteOff + (p >> 3);
    const mask = ((1 << k) - 1) << sh;
    buf[i] = (buf[i]! & ~mask) | (piece << sh);
    p += k;
    left -= k;
  }
}

/** Read a `width`-bit unsigned field at bit position `bitPos` of `buf`, counted from byte `byteOff`. */
export function getBits(buf: Uint8Array, byteOff: number, bitPos: number, width: number): number {
  let r = 0;
  let got = 0;
  let p = bitPos;
  if (width <= 31) {
    // Fits a small integer: assemble with shifts, no double multiply.
    while (got < width) {
      const sh = p & 7;
      const k = 8 - sh < width - got ? 8 - sh : width - got;
      r |= ((buf[byteOff + (p >> 3)]! >> sh) & ((1 << k) - 1)) << got;
      got += k;
      p += k;
    }
    return r;
  }
  while (got < width) {
    const sh = p & 7;
    const k = 8 - sh < width - got ? 8 - sh : width - got;
    const piece = (buf[byteOff + (p >> 3)]! >> sh) & ((1 << k) - 1);
    r += piece * POW2[got]!;
    got += k;
    p += k;
  }
  return r;
}

/** Zero `n` bytes starting at `off` (a loop: fill() on a subarray would allocate a view). */
export function zeroBytes(buf: Uint8Array, off: number, n: number): void {
  for (let i = 0; i < n; i++) buf[off + i] = 0;
}

/** Copy `n` bytes (a loop, for the same reason). */
export function copyBytes(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number, n: number): void {
  for (let i = 0; i < n; i++) dst[dstOff + i] = src[srcOff + i]!;
}

/**
 * A 32-bit view of the same memory as `bytes`, for copying whole flits a word at a time. Flit
 * buffers and channel slabs start on a word boundary and hold whole words; anything else is an
 * elaboration-time error.
 */
export function wordsOf(bytes: Uint8Array): Uint32Array {
  if (bytes.byteOffset % 4 !== 0 || bytes.length % 4 !== 0) throw new RangeError(`wordsOf: ${bytes.length} bytes at offset ${bytes.byteOffset} are not whole 32-bit words`);
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
}

/** Copy `n` 32-bit words (offsets in words), the word-sized counterpart of copyBytes. */
export function copyWords(src: Uint32Array, srcOff: number, dst: Uint32Array, dstOff: number, n: number): void {
  for (let i = 0; i < n; i++) dst[dstOff + i] = src[srcOff + i]!;
}

/** True when every bit of the `width`-bit field at `bitPos` is zero. */
export function bitsAreZero(buf: Uint8Array, byteOff: number, bitPos: number, width: number): boolean {
  let p = bitPos;
  let left = width;
  while (left > 0) {
    const k = left < 52 ? left : 52;
    if (getBits(buf, byteOff, p, k) !== 0) return false;
    p += k;
    left -= k;
  }
  return true;
}
