import { MsgClass } from '../cxl/opcodes.ts';
import { Role } from './FlitFormat.ts';

/**
 * The CXL.mem parts of the 68B slot formats: which message sits at which bit offset of a slot
 * (CXL 3.1 Tables 4-6/4-7 for M2S, 4-8 for S2M; reference/cxl-protocol.md §2.3). Cache parts of
 * a format are left zero. Offsets place the memory messages contiguously from bit 0 of the slot's
 * message space (DERIVED: the spec's byte maps were not transcribed; sizes and counts are the spec's).
 *
 * POS68[role][0 = H slot, 1 = G slot][format] = flat [cls, bitOffset, cls, bitOffset, ...]; an empty
 * list means the format carries no CXL.mem message.
 */
const { M2SReq, M2SRwD, S2MNDR, S2MDRS } = MsgClass;
const NDR = 30;
const DRS = 40;
const E: readonly number[] = [];

export const POS68: readonly (readonly (readonly (readonly number[])[])[])[] = [
  // M2S (host → device)
  [
    /* H */ [E, E, E, E, [M2SRwD, 0], [M2SReq, 0], E, E],
    /* G */ [E, E, E, E, [M2SReq, 0], [M2SRwD, 0], E, E],
  ],
  // S2M (device → host)
  [
    /* H */ [E, E, E, [S2MDRS, 0, S2MNDR, DRS], [S2MNDR, 0, S2MNDR, NDR], [S2MDRS, 0, S2MDRS, DRS], E, E],
    /* G */ [E, E, E, E, [S2MDRS, 0, S2MNDR, DRS, S2MNDR, DRS + NDR], [S2MNDR, 0, S2MNDR, NDR], [S2MDRS, 0, S2MDRS, DRS, S2MDRS, 2 * DRS], E],
  ],
];

/**
 * POS68 as one flat list for the per-flit parser (one array read per position instead of three
 * nested ones): the positions of (role, slot kind, format) are POS68_FLAT[POS68_START[i] ..
 * POS68_START[i + 1]), i = pos68Index(role, isG, fmt).
 */
export function pos68Index(role: number, isG: boolean, fmt: number): number {
  return (role << 4) | (isG ? 8 : 0) | fmt;
}
export const POS68_START = new Int32Array(33);
export const POS68_FLAT = (() => {
  const flat: number[] = [];
  for (let role = 0; role < 2; role++) {
    for (let g = 0; g < 2; g++) {
      for (let fmt = 0; fmt < 8; fmt++) {
        POS68_START[pos68Index(role, g === 1, fmt)] = flat.length;
        flat.push(...POS68[role]![g]![fmt]!);
      }
    }
  }
  POS68_START[32] = flat.length;
  return Int32Array.from(flat);
})();

/** Format of an empty slot: a memory format with every Valid bit 0. */
export const EMPTY_H68 = [5, 4] as const; // M2S H5 (Req), S2M H4 (2 NDR)
export const EMPTY_G68 = [4, 5] as const; // M2S G4 (Req), S2M G5 (2 NDR)

/** Multi-data-header formats (S2M H5, G6): only full 64B lines, only with >1 header (CXL 3.1 §4.2.5). */
export function isMdh68(role: number, isG: boolean, fmt: number): boolean {
  return role === RoleS2M.value && fmt === (isG ? 6 : 5);
}
/** Role.S2M (FlitFormat.ts) as a `const enum` literal for isMdh68, called per slot of every parsed flit (an enum object is loaded and type-checked at each use under V8); checked at load. */
const enum RoleS2M { value = 1 }
if (Role.S2M !== RoleS2M.value) throw new Error('Flit68Slots: RoleS2M disagrees with Role.S2M');

/** Formats that exist but carry no memory message (cache, MAC): legal only when all zero here. */
export function isForeign68(role: number, isG: boolean, fmt: number): boolean {
  if (fmt === 7) return false;
  if (isG && fmt === 0) return false;
  return POS68[role]![isG ? 1 : 0]![fmt]!.length === 0;
}

/** Human names for display: H0..H6 / G0..G6. */
export function fmtName68(isG: boolean, fmt: number): string {
  return fmt === 7 ? 'rsvd(111)' : `${isG ? 'G' : 'H'}${fmt}`;
}
