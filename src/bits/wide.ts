/**
 * Wide values (a 64-byte line, a 256-byte flit) as BigInt, for the edges only: configuration,
 * display, tests. Never in per-cycle code (BigInt is 10-80x slower than numbers).
 *
 * This module replaces the `bigint-buffer` npm package, which has an unfixed high-severity
 * advisory (CVE-2025-3194, native addon, unmaintained since 2019): do not add it as a dependency.
 * The same four operations are done here with Node built-ins (hex via Buffer), no native code.
 */

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Bytes read most-significant first (byte 0 is the top byte). Empty input gives 0n. */
export function toBigIntBE(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${hexOf(bytes)}`);
}

/** Bytes read least-significant first (byte 0 is the bottom byte), as flits and lines are laid out. */
export function toBigIntLE(bytes: Uint8Array): bigint {
  const rev = Uint8Array.from(bytes).reverse();
  return toBigIntBE(rev);
}

/** `value` as exactly `length` bytes, most-significant first. Throws if it is negative or does not fit. */
export function toBufferBE(value: bigint, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0) throw new RangeError(`length must be a non-negative integer, got ${length}`);
  if (value < 0n) throw new RangeError(`value must be non-negative, got ${value}`);
  const hex = value.toString(16);
  if (value === 0n) return new Uint8Array(length);
  if (hex.length > length * 2) throw new RangeError(`value 0x${hex} does not fit in ${length} bytes`);
  return new Uint8Array(Buffer.from(hex.padStart(length * 2, '0'), 'hex'));
}

/** `value` as exactly `length` bytes, least-significant first. */
export function toBufferLE(value: bigint, length: number): Uint8Array {
  return toBufferBE(value, length).reverse();
}
