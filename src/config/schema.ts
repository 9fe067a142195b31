import { ConfigError } from '../sim/SimulationError.ts';

/**
 * A small declarative schema for configuration files: every field has a type, a default and a
 * rule, so a bad value produces one error naming the field path (`nodes[1].dram.sizeGiB`) and the
 * rule it broke, and an empty file yields a complete, working configuration.
 *
 * Numbers written as strings are accepted where a field says `hex: true` ("0x4000000000"), since
 * physical addresses read better in hex and JSON has no hex literals.
 */
export type Field =
  | { readonly kind: 'number'; readonly default: number; readonly min?: number; readonly max?: number; readonly integer?: boolean; readonly hex?: boolean; readonly multipleOf?: number; readonly doc: string }
  | { readonly kind: 'boolean'; readonly default: boolean; readonly doc: string }
  | { readonly kind: 'string'; readonly default: string; readonly pattern?: RegExp; readonly doc: string }
  | { readonly kind: 'enum'; readonly default: string | number; readonly values: readonly (string | number)[]; readonly doc: string }
  | { readonly kind: 'object'; readonly fields: Readonly<Record<string, Field>>; readonly doc: string }
  | { readonly kind: 'array'; readonly items: Field; readonly default: readonly unknown[]; readonly minItems?: number; readonly maxItems?: number; readonly doc: string }
  | { readonly kind: 'list'; readonly of: 'number' | 'string'; readonly default: readonly (number | string)[]; readonly min?: number; readonly max?: number; readonly hex?: boolean; readonly doc: string };

export function num(defaultValue: number, doc: string, rule: { min?: number; max?: number; integer?: boolean; hex?: boolean; multipleOf?: number } = {}): Field {
  return { kind: 'number', default: defaultValue, doc, ...rule };
}
export function int(defaultValue: number, doc: string, rule: { min?: number; max?: number; hex?: boolean; multipleOf?: number } = {}): Field {
  return { kind: 'number', default: defaultValue, doc, integer: true, ...rule };
}
export function bool(defaultValue: boolean, doc: string): Field {
  return { kind: 'boolean', default: defaultValue, doc };
}
export function str(defaultValue: string, doc: string, pattern?: RegExp): Field {
  return pattern ? { kind: 'string', default: defaultValue, doc, pattern } : { kind: 'string', default: defaultValue, doc };
}
export function oneOf(defaultValue: string | number, values: readonly (string | number)[], doc: string): Field {
  return { kind: 'enum', default: defaultValue, values, doc };
}
export function obj(fields: Record<string, Field>, doc = ''): Field {
  return { kind: 'object', fields, doc };
}
export function arr(items: Field, defaultValue: readonly unknown[], doc: string, bounds: { minItems?: number; maxItems?: number } = {}): Field {
  return { kind: 'array', items, default: defaultValue, doc, ...bounds };
}
export function list(of: 'number' | 'string', defaultValue: readonly (number | string)[], doc: string, rule: { min?: number; max?: number; hex?: boolean } = {}): Field {
  return { kind: 'list', of, default: defaultValue, doc, ...rule };
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

function parseNumber(v: unknown, path: string, hex: boolean | undefined): number {
  if (typeof v === 'number') return v;
  if (hex && typeof v === 'string' && /^0x[0-9a-fA-F_]+$/.test(v)) {
    const n = Number.parseInt(v.slice(2).replaceAll('_', ''), 16);
    if (n > Number.MAX_SAFE_INTEGER) throw new ConfigError(path, `${v} is larger than 2^53 - 1`);
    return n;
  }
  throw new ConfigError(path, `must be a number${hex ? ' (or a "0x..." hex string)' : ''}, got ${typeName(v)}`);
}

function checkNumber(n: number, f: Extract<Field, { kind: 'number' }> | { min?: number; max?: number; integer?: boolean; multipleOf?: number }, path: string): number {
  if (!Number.isFinite(n)) throw new ConfigError(path, `must be a finite number, got ${n}`);
  if ('integer' in f && f.integer && !Number.isInteger(n)) throw new ConfigError(path, `must be a whole number, got ${n}`);
  if (f.min !== undefined && n < f.min) throw new ConfigError(path, `must be ≥ ${f.min}, got ${n}`);
  if (f.max !== undefined && n > f.max) throw new ConfigError(path, `must be ≤ ${f.max}, got ${n}`);
  if ('multipleOf' in f && f.multipleOf !== undefined && n % f.multipleOf !== 0) throw new ConfigError(path, `must be a multiple of ${f.multipleOf}, got ${n}`);
  return n;
}

/** Validate `raw` against `field`, filling defaults; throws ConfigError naming the first bad field. */
export function resolve(field: Field, raw: unknown, path: string): unknown {
  switch (field.kind) {
    case 'number':
      return checkNumber(raw === undefined ? field.default : parseNumber(raw, path, field.hex), field, path);
    case 'boolean':
      if (raw === undefined) return field.default;
      if (typeof raw !== 'boolean') throw new ConfigError(path, `must be true or false, got ${typeName(raw)}`);
      return raw;
    case 'string':
      if (raw === undefined) return field.default;
      if (typeof raw !== 'string') throw new ConfigError(path, `must be a string, got ${typeName(raw)}`);
      if (field.pattern && !field.pattern.test(raw)) throw new ConfigError(path, `'${raw}' does not match ${field.pattern}`);
      return raw;
    case 'enum':
      if (raw === undefined) return field.default;
      if (!field.values.includes(raw as string | number)) {
        throw new ConfigError(path, `must be one of ${field.values.map((v) => JSON.stringify(v)).join(', ')}, got ${typeName(raw)}`);
      }
      return raw;
    case 'list': {
      const v = raw === undefined ? field.default : raw;
      if (!Array.isArray(v)) throw new ConfigError(path, `must be a list of ${field.of}s, got ${typeName(v)}`);
      return v.map((x, i) => {
        const p = `${path}[${i}]`;
        if (field.of === 'string') {
          if (typeof x !== 'string') throw new ConfigError(p, `must be a string, got ${typeName(x)}`);
          return x;
        }
        return checkNumber(parseNumber(x, p, field.hex), { ...field, integer: true }, p);
      });
    }
    case 'array': {
      const v = raw === undefined ? field.default : raw;
      if (!Array.isArray(v)) throw new ConfigError(path, `must be an array, got ${typeName(v)}`);
      if (field.minItems !== undefined && v.length < field.minItems) throw new ConfigError(path, `needs at least ${field.minItems} item(s), got ${v.length}`);
      if (field.maxItems !== undefined && v.length > field.maxItems) throw new ConfigError(path, `allows at most ${field.maxItems} item(s), got ${v.length}`);
      return v.map((x, i) => resolve(field.items, x, `${path}[${i}]`));
    }
    case 'object': {
      const v = raw === undefined ? {} : raw;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(path, `must be an object, got ${typeName(v)}`);
      const rec = v as Record<string, unknown>;
      for (const k of Object.keys(rec)) {
        if (!(k in field.fields)) {
          const known = Object.keys(field.fields).join(', ');
          throw new ConfigError(path ? `${path}.${k}` : k, `unknown field (known here: ${known})`);
        }
      }
      const out: Record<string, unknown> = {};
      for (const [k, f] of Object.entries(field.fields)) out[k] = resolve(f, rec[k], path ? `${path}.${k}` : k);
      return out;
    }
  }
}

/**
 * Apply a command-line override `a.b[2].c=value` (or `a.b.2.c=value`) to a raw config object
 * before validation. The value is parsed as JSON when it parses (numbers, booleans, arrays),
 * else taken as a string. Missing objects on the way are created.
 */
export function applyOverride(raw: Record<string, unknown>, assignment: string): void {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new ConfigError(assignment, "an override must look like path.to.field=value");
  const keyPath = assignment.slice(0, eq).replace(/\[(\d+)\]/g, '.$1').split('.');
  const text = assignment.slice(eq + 1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = text;
  }
  let cur: Record<string, unknown> | unknown[] = raw;
  for (let i = 0; i < keyPath.length - 1; i++) {
    const k = keyPath[i]!;
    if (k === '') throw new ConfigError(assignment, 'empty path segment');
    const next = (cur as Record<string, unknown>)[k];
    if (next === undefined) {
      const child: Record<string, unknown> | unknown[] = /^\d+$/.test(keyPath[i + 1]!) ? [] : {};
      (cur as Record<string, unknown>)[k] = child;
      cur = child;
    } else if (typeof next === 'object' && next !== null) {
      cur = next as Record<string, unknown>;
    } else {
      throw new ConfigError(keyPath.slice(0, i + 1).join('.'), `is ${typeName(next)}, cannot set a field inside it`);
    }
  }
  (cur as Record<string, unknown>)[keyPath[keyPath.length - 1]!] = value;
}
