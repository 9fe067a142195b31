import { ConfigError } from '../../src/sim/index.ts';
import { MODEL_ADDR_LIMIT } from './hdmEncodings.ts';

const SUFFIX: Record<string, number> = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/**
 * Parse an address or a size from a config file or the command line: a non-negative integer
 * number, or a string in hex (`0x1_0800_0004`), decimal (`4096`) or decimal with a binary unit
 * (`128G`, `256M`, `4K`; an optional `iB`/`B` is accepted). Underscores group digits.
 * Edge-of-model code (config time), so BigInt is fine here.
 */
export function parseAddress(value: unknown, field: string): number {
  let v: bigint;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new ConfigError(field, `must be a non-negative integer, got ${value}`);
    v = BigInt(value);
  } else if (typeof value === 'string') {
    const s = value.trim().replace(/_/g, '');
    const m = /^(0x[0-9a-f]+|[0-9]+)(?:([KMGT])(?:i?B)?)?$/i.exec(s);
    if (!m) throw new ConfigError(field, `'${value}' is not an address: use hex (0x...), decimal, or decimal with K/M/G/T`);
    v = BigInt(m[1]!);
    if (m[2]) v *= BigInt(SUFFIX[m[2].toUpperCase()]!);
  } else {
    throw new ConfigError(field, `must be a number or an address string, got ${value === null ? 'null' : typeof value}`);
  }
  if (v >= BigInt(MODEL_ADDR_LIMIT)) throw new ConfigError(field, `${hex(Number(v))} is beyond the model's 52-bit physical address space`);
  return Number(v);
}

/** Hex with underscores every 4 digits, as the spec writes DPAs (1_0800_0004h -> 0x1_0800_0004). */
export function hex(n: number): string {
  const s = n.toString(16);
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (i > 0 && (s.length - i) % 4 === 0) out += '_';
    out += s[i];
  }
  return `0x${out}`;
}
