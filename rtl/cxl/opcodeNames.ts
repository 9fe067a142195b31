import { M2SReqOp, M2SRwDOp, MsgClass, S2MDRSOp, S2MNDROp } from './opcodes.ts';

/**
 * Opcode names for display and JSON (the protocol analyser, `cxlfab flit`), per message class.
 * Spellings follow the spec tables (CXL 3.1 Tables 3-35, 3-41, 3-50, 3-53): Cmp-S, MemData-NXM.
 */
function invert(o: Record<string, number>, rename: Record<string, string> = {}): Map<number, string> {
  const m = new Map<number, string>();
  for (const [k, v] of Object.entries(o)) m.set(v, rename[k] ?? k);
  return m;
}

export const OPCODE_NAMES: readonly ReadonlyMap<number, string>[] = [
  invert(M2SReqOp),
  invert(M2SRwDOp),
  invert(S2MNDROp, { CmpS: 'Cmp-S', CmpE: 'Cmp-E', CmpM: 'Cmp-M', BIConflictAck: 'BI-ConflictAck' }),
  invert(S2MDRSOp, { MemDataNXM: 'MemData-NXM' }),
];

/** Name of an opcode, or `rsvd(0bXXXX)` for an encoding the class does not define. */
export function opcodeName(cls: MsgClass, code: number): string {
  return OPCODE_NAMES[cls]!.get(code) ?? `rsvd(0b${code.toString(2)})`;
}

/** Opcode for a name of that class (spec spelling or the identifier without dashes); undefined if unknown. */
export function opcodeByName(cls: MsgClass, name: string): number | undefined {
  for (const [code, n] of OPCODE_NAMES[cls]!) if (n === name || n.replace(/-/g, '') === name) return code;
  return undefined;
}

/** Does this class carry a 64-byte data payload? */
export function carriesData(cls: MsgClass): boolean {
  return cls === MsgClass.M2SRwD || cls === MsgClass.S2MDRS;
}
