/**
 * HDM decoder field encodings and granules (reference/cxl-protocol.md §5.1-§5.2, CXL 4.0 Table 8-123,
 * §8.2.4.20). Kept apart from the table so the CLI, the config parser and the register interface
 * agree on one definition.
 */

/** Base, size and DPA skip are programmed in units of 256 MB (§5.1: Low[31:28] holds bits 31:28). */
export const HDM_GRANULE_BYTES = 2 ** 28;

/** Interleave granularity = 256 B << IG, IG 0..6 (256 B .. 16 KB); 7..15 are reserved (§5.2). */
export const IG_MIN_BYTES = 256;
export const IG_MAX = 6;

/**
 * IW encodings (§5.2): 0..4 = 1,2,4,8,16 ways; 8,9,10 = 3,6,12 ways (device decoders only).
 * -1 marks a reserved encoding.
 */
export const IW_TO_WAYS: readonly number[] = [1, 2, 4, 8, 16, -1, -1, -1, 3, 6, 12, -1, -1, -1, -1, -1];

/** Largest interleave set a decoder can describe (16-way, §5.2). */
export const MAX_WAYS = 16;

/** The model keeps physical addresses exact in a double: 52 bits (design.md §3); the spec allows 64. */
export const MODEL_ADDR_BITS = 52;
export const MODEL_ADDR_LIMIT = 2 ** MODEL_ADDR_BITS;

/** Decoder-count field of the HDM Decoder Capability register, [3:0] (§5.1). -1 = reserved. */
export const DECODER_COUNT_BY_ENCODING: readonly number[] = [1, 2, 4, 6, 8, 10, 12, 14, 16, 20, 24, 28, 32, -1, -1, -1];

/** Ways for an IW encoding, or -1 when reserved. */
export function iwToWays(iw: number): number {
  return iw >= 0 && iw < IW_TO_WAYS.length ? IW_TO_WAYS[iw]! : -1;
}

/** IW encoding for a number of ways, or -1 when no encoding exists. */
export function waysToIw(ways: number): number {
  return IW_TO_WAYS.indexOf(ways);
}

/** Granularity in bytes for an IG encoding, or -1 when reserved. */
export function igToGranularity(ig: number): number {
  return ig >= 0 && ig <= IG_MAX ? IG_MIN_BYTES * 2 ** ig : -1;
}

/** IG encoding for a granularity in bytes, or -1 when no encoding exists. */
export function granularityToIg(bytes: number): number {
  for (let ig = 0; ig <= IG_MAX; ig++) if (IG_MIN_BYTES * 2 ** ig === bytes) return ig;
  return -1;
}

/** Human-readable list of legal values, for error messages. */
export const LEGAL_WAYS_TEXT = '1, 2, 4, 8, 16, 3, 6 or 12';
export const LEGAL_GRANULARITY_TEXT = '256, 512, 1024, 2048, 4096, 8192 or 16384 bytes';
