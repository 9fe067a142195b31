/**
 * Bit fields over byte arrays, LSB-first as CXL flits are drawn: bit i of a field that starts at
 * bit position p lands in byte (p + i) >> 3, bit (p + i) & 7.
 *
 * Fields are up to 52 bits wide (exact in a double) at any bit offset. No BigInt and no
 * allocation: wide values are split into 32-bit halves first (32-bit operators alone would
 * truncate above 2^32), then moved with shifts, so these run inside per-cycle code.
 */

/** Widest field these helpers move: a double holds integers exactly up to 2^53. */
export const MAX_FIELD_BITS = 52;

/** POW2[i] = 2^i for i in 0..53. */
export const POW2 = (() => {
  const t = new Float64Array(54);
  for (let i = 0; i < 54; i++) t[i] = 2 ** i;
  return t;
})();

const TWO_32 = 4294967296;

/**
 * Write the low `width` bits of `value` (a non-negative integer) at bit position `bitPos` of
 * `buf`, counted from byte `byteOff`. Bits of `value` above `width` are ignored.
 */
export function setBits(buf: Uint8Array, byteOff: number, bitPos: number, width: number, value: number): void {
  // Integers go through 32-bit halves with shifts (value >>> 0 is exact mod 2^32 below 2^53); other
  // values (negative, fractional, NaN, beyond 2^53) keep the general loop, which defines what they write.
  if (value >>> 0 === value) {
    setBits32(buf, byteOff, bitPos, width, value);
  } else if (value > 0 && value <= Number.MAX_SAFE_INTEGER && Number.isInteger(value)) {
    const lo = value >>> 0;
    if (width <= 32) {
      setBits32(buf, byteOff, bitPos, width, lo);
    } else {
      setBits32(buf, byteOff, bitPos, 32, lo);
      setBits32(buf, byteOff, bitPos + 32, width - 32, (value - lo) / TWO_32);
    }
  } else {
    setBitsGeneral(buf, byteOff, bitPos, width, value);
  }
}

/** setBits for a uint32 value (bits of the field above bit 31 are written 0). */
function setBits32(buf: Uint8Array, byteOff: number, bitPos: number, width: number, value: number): void {
  let v = value;
  let p = bitPos;
  let left = width;
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
}

/** setBits by double arithmetic, for values that are not integers in 0..2^53. */
function setBitsGeneral(buf: Uint8Array, byteOff: number, bitPos: number, width: number, value: number): void {
  let v = value;
  let p = bitPos;
  let left = width;
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
  if (width <= 32) return getBits32(buf, byteOff, bitPos, width);
  // Two 32-bit halves; the sum is exact below 2^53.
  if (width <= MAX_FIELD_BITS) return getBits32(buf, byteOff, bitPos, 32) + getBits32(buf, byteOff, bitPos + 32, width - 32) * TWO_32;
  let r = 0;
  let got = 0;
  let p = bitPos;
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

/** getBits for fields of at most 32 bits, assembled with shifts (unsigned result). */
function getBits32(buf: Uint8Array, byteOff: number, bitPos: number, width: number): number {
  let r = 0;
  let got = 0;
  let p = bitPos;
  while (got < width) {
    const sh = p & 7;
    const k = 8 - sh < width - got ? 8 - sh : width - got;
    r |= ((buf[byteOff + (p >> 3)]! >> sh) & ((1 << k) - 1)) << got;
    got += k;
    p += k;
  }
  return r >>> 0;
}

/** Below this many bytes a loop beats the fill() builtin's call overhead (measured: equal near 20 B). */
const FILL_MIN_BYTES = 32;

/** Zero `n` bytes starting at `off` (never via a subarray, which would allocate a view). */
export function zeroBytes(buf: Uint8Array, off: number, n: number): void {
  // fill(value, start, end) on the whole array allocates nothing and is a memset: ~16 ns for 68 or
  // 256 bytes against ~40 / ~300 ns for the loop. Only for whole numbers and a non-negative start,
  // where it means the same as the loop (fill counts a negative start from the end, truncates fractions).
  if (n >= FILL_MIN_BYTES && off >= 0 && (off | 0) === off && (n | 0) === n) {
    buf.fill(0, off, off + n);
    return;
  }
  for (let i = 0; i < n; i++) buf[off + i] = 0;
}

/** Copy `n` bytes (a loop, for the same reason). */
export function copyBytes(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number, n: number): void {
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
