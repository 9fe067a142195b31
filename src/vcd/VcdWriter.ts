import { closeSync, openSync, writeSync } from 'node:fs';

/**
 * Value Change Dump writer (IEEE 1364-2005 §18.2), built for per-cycle tracing.
 *
 * Output shape (what GTKWave, vcd2fst and our own strict reader all accept, reference
 * hdl-peers-vcd-pbt.md §2.1-2.3):
 *
 *   $date/$version/$timescale, nested $scope module ... $upscope, one $var per variable,
 *   $enddefinitions, then `#0` BEFORE `$dumpvars` (vcd2fst loses values dumped before the first
 *   `#`), every variable's initial value inside $dumpvars, then only changed values, each batch
 *   preceded by its `#time` (written lazily: a time with no change leaves no trace).
 *
 * Values: 1-bit wire/reg as scalars (`1!`); wider wire/reg and every integer as `b<bits> <id>`
 * with leading zeros trimmed (the VCD left-extension rule pads with 0: `b101` in an 8-bit var is
 * 00000101); reals as `r<shortest round-trip decimal> <id>`. Ids are base-94 numbers over the
 * printable characters '!'..'~', assigned in declaration order.
 *
 * Names (ONE rule, for scope segments and variable names alike): every character outside
 * [A-Za-z0-9_$] becomes '_' (GTKWave misreads ':' and reinterprets '[' ']'; spaces split tokens;
 * a '.' would create hierarchy), an empty name becomes '_'; if the result collides with a name
 * already used in the same scope (variables and sub-scopes share one namespace there), '_2',
 * '_3', ... is appended to the mapped name until it is unique. The same raw name declared twice in
 * one scope is an error, not a collision.
 *
 * Speed (reference/performance.md §2.3 rule 5): each variable's last value lives in a typed array
 * and unchanged writes are dropped; output is ASCII written straight into one large byte buffer
 * (digits of numbers included, no string building per change), handed to the sink when full.
 */

export type VcdVarType = 'wire' | 'reg' | 'integer' | 'real';

/** Receives output bytes; `bytes` is reused after the call returns, so copy what you keep. */
export type VcdSink = (bytes: Uint8Array, length: number) => void;

export interface VcdWriterOptions {
  /** `1ps` (default), `10ns`, `100us`...: magnitude 1, 10 or 100 and unit s/ms/us/ns/ps/fs. */
  readonly timescale?: string;
  /** Text of the $version header (default `cxlfab`). */
  readonly version?: string;
  /** Text of the $date header; default: the current date. Fixed in tests for byte-identical output. */
  readonly date?: string;
  /** Output buffer size in bytes (default and minimum 1 MiB). */
  readonly bufferBytes?: number;
}

export class VcdWriterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VcdWriterError';
  }
}

/** Widest variable accepted (a 256-byte flit is 2048 bits; room to spare). */
export const VCD_MAX_WIDTH = 4096;
/** Largest value `changeNumber` accepts: every integer up to here is exact in a double. */
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const TWO32 = 4294967296;
const MIN_BUFFER = 1 << 20;
/** Bytes of a narrow (≤ 53-bit) change without its id: 'b', 53 digits, a space, a newline, and 4 spare for the id store. */
const NARROW_CHANGE_BYTES = 60;

export const TIMESCALE_RE = /^(1|10|100)\s*(s|ms|us|ns|ps|fs)$/;

/** Map one raw name to the characters GTKWave reads back unchanged (see the file header). */
export function sanitizeVcdName(raw: string): string {
  const s = raw.replace(/[^A-Za-z0-9_$]/g, '_');
  return s === '' ? '_' : s;
}

/** Base-94 identifier code of variable number `n` ('!' = 0, '~' = 93, then two characters...). */
export function vcdIdentifier(n: number): string {
  let s = '';
  let k = n;
  do {
    s += String.fromCharCode(33 + (k % 94));
    k = Math.floor(k / 94) - 1;
  } while (k >= 0);
  return s;
}

interface ScopeNode {
  readonly name: string;
  readonly children: Map<string, ScopeNode>;
  /** Indices of the variables declared directly in this scope. */
  readonly vars: number[];
  /** Raw names used here (vars and scopes) -> mapped name. */
  readonly raw: Map<string, string>;
  /** Mapped names used here. */
  readonly used: Set<string>;
}

function newScope(name: string): ScopeNode {
  return { name, children: new Map(), vars: [], raw: new Map(), used: new Set() };
}

function uniqueName(scope: ScopeNode, raw: string): string {
  const base = sanitizeVcdName(raw);
  let name = base;
  for (let k = 2; scope.used.has(name); k++) name = `${base}_${k}`;
  scope.used.add(name);
  scope.raw.set(raw, name);
  return name;
}

export class VcdWriter {
  private readonly sink: VcdSink;
  private readonly onClose: (() => void) | null;
  private readonly buf: Uint8Array;
  private pos = 0;
  private readonly timescale: string;
  private readonly version: string;
  private readonly date: string;

  private readonly root = newScope('');
  // Per-variable declaration data (grows during the declaration phase only).
  private readonly names: string[] = [];
  private readonly paths: string[] = [];
  private readonly types: VcdVarType[] = [];
  private readonly widthList: number[] = [];
  // Frozen at the header: typed arrays for the hot path.
  private width = new Int32Array(0);
  /** 0 scalar, 1 vector, 2 real. */
  private kind = new Uint8Array(0);
  private lastNum = new Float64Array(0);
  /** Per variable: values must be below this (2^width, 2^53 for wider, -1 for reals). */
  private bound = new Float64Array(0);
  /** Byte offset of a wide (> 53-bit) variable's last value in `lastWide`, -1 for narrow ones. */
  private wideOff = new Int32Array(0);
  private lastWide = new Uint8Array(0);
  private idBytes = new Uint8Array(0);
  private idOff = new Int32Array(0);
  private idLen = new Uint8Array(0);
  /** Per variable with an id of at most 3 characters: the id's bytes and '\n', little-endian in one word. */
  private idWord = new Int32Array(0);
  /** The buffer as a DataView: an id and its newline go out as one unaligned 32-bit store. */
  private readonly view: DataView;
  private readonly scratch = new Uint8Array(VCD_MAX_WIDTH / 8);

  private headerDone = false;
  private closed = false;
  /** Time requested by setTime; written before the next change if newer than `writtenTime`. */
  private time = 0;
  private writtenTime = 0;
  private changes = 0;

  constructor(sink: VcdSink, opts: VcdWriterOptions = {}, onClose: (() => void) | null = null) {
    this.sink = sink;
    this.onClose = onClose;
    this.buf = new Uint8Array(Math.max(MIN_BUFFER, opts.bufferBytes ?? 0));
    this.view = new DataView(this.buf.buffer);
    const ts = opts.timescale ?? '1ps';
    if (!TIMESCALE_RE.test(ts)) throw new VcdWriterError(`timescale '${ts}': must be 1, 10 or 100 followed by s, ms, us, ns, ps or fs`);
    this.timescale = ts.replace(/\s+/g, '');
    this.version = opts.version ?? 'cxlfab';
    this.date = opts.date ?? new Date().toUTCString();
  }

  /** A writer that streams into `path` with fs.writeSync, one write per full buffer. */
  static toFile(path: string, opts: VcdWriterOptions = {}): VcdWriter {
    const fd = openSync(path, 'w');
    return new VcdWriter((b, n) => {
      let done = 0;
      while (done < n) done += writeSync(fd, b, done, n - done);
    }, opts, () => closeSync(fd));
  }

  /** Number of declared variables. */
  get varCount(): number {
    return this.names.length;
  }

  /** Value changes written so far, initial values included. */
  get changeCount(): number {
    return this.changes;
  }

  /**
   * Declare a variable in scope `scope` (outermost first, e.g. ['top', 'dev', 'decoder']); returns
   * its index for the change methods. Only before the header is written (before time leaves 0).
   */
  addVar(scope: readonly string[], name: string, type: VcdVarType, width: number): number {
    if (this.closed) throw new VcdWriterError(`addVar '${name}': writer is closed`);
    if (this.headerDone) throw new VcdWriterError(`addVar '${[...scope, name].join('.')}': variables must be declared before the header is written (before time advances past 0)`);
    if (type !== 'wire' && type !== 'reg' && type !== 'integer' && type !== 'real') throw new VcdWriterError(`addVar '${name}': type '${String(type)}' is not wire, reg, integer or real`);
    if (type === 'real') {
      if (width !== 64) throw new VcdWriterError(`addVar '${name}': a real variable is 64 bits wide, got ${width}`);
    } else if (!(Number.isInteger(width) && width >= 1 && width <= VCD_MAX_WIDTH)) {
      throw new VcdWriterError(`addVar '${name}': width must be an integer 1..${VCD_MAX_WIDTH}, got ${width}`);
    }
    if (scope.length === 0) throw new VcdWriterError(`addVar '${name}': a variable needs at least one enclosing scope (GTKWave navigates poorly without one)`);
    let node = this.root;
    const mapped: string[] = [];
    for (const seg of scope) {
      let child = node.children.get(seg);
      if (!child) {
        if (node.raw.has(seg)) throw new VcdWriterError(`addVar: scope '${[...mapped, seg].join('.')}' has the name of a variable`);
        child = newScope(uniqueName(node, seg));
        node.children.set(seg, child);
      }
      mapped.push(child.name);
      node = child;
    }
    if (node.raw.has(name)) throw new VcdWriterError(`addVar: '${[...scope, name].join('.')}' is already declared in that scope`);
    const vname = uniqueName(node, name);
    const i = this.names.length;
    node.vars.push(i);
    this.names.push(vname);
    this.paths.push([...mapped, vname].join('.'));
    this.types.push(type);
    this.widthList.push(width);
    return i;
  }

  /** Full dotted path of variable i as written (after name mapping), e.g. `top.dev.q_count`. */
  varPath(i: number): string {
    return this.paths[i]!;
  }

  varType(i: number): VcdVarType {
    return this.types[i]!;
  }

  varWidth(i: number): number {
    return this.widthList[i]!;
  }

  /** The identifier code of variable i. */
  varId(i: number): string {
    return vcdIdentifier(i);
  }

  /**
   * The name GTKWave gives the variable in its signal list and expects in a .gtkw (reference
   * §2.4, verified): multi-bit wire/reg as `path[N-1:0]`; 1-bit, integer and real without range.
   */
  facilityName(i: number): string {
    const t = this.types[i]!;
    const w = this.widthList[i]!;
    return (t === 'wire' || t === 'reg') && w > 1 ? `${this.paths[i]!}[${w - 1}:0]` : this.paths[i]!;
  }

  /**
   * Set the current time (in timescale units). It must not go backwards. The `#time` line is
   * written only when a value actually changes at that time.
   */
  setTime(t: number): void {
    if (this.closed) throw new VcdWriterError('setTime: writer is closed');
    if (!(Number.isSafeInteger(t) && t >= this.time)) {
      throw new VcdWriterError(`setTime(${t}): time must be an integer ≥ the current time ${this.time} (VCD time never goes backwards)`);
    }
    if (t > 0 && !this.headerDone) this.writeHeader();
    this.time = t;
  }

  /** Current time. */
  get now(): number {
    return this.time;
  }

  /** Set variable i (integer, wire or reg of any width) to an unsigned integer value ≤ 2^53 - 1. */
  changeNumber(i: number, v: number): void {
    if (!(i < this.lastNum.length)) this.grow(i);
    if (this.wideOff[i]! >= 0) {
      this.numberToScratch(i, v);
      this.changeBytes(i, this.scratch, 0);
      return;
    }
    const last = this.lastNum;
    if (last[i] === v) return;
    // One compare against the precomputed bound replaces `2 ** width` per change (a real variable's
    // bound is -1, so it always lands in badNumber, which names the right mistake).
    if (!(v >= 0 && v < this.bound[i]! && Math.floor(v) === v)) this.badNumber(i, v);
    last[i] = v;
    if (!this.headerDone) return;
    this.emitNumber(i, v);
  }

  /**
   * Set variable i from `ceil(width/8)` little-endian bytes at `bytes[offset..]`; bits above the
   * declared width must be zero. Works for any width; compared byte by byte against the last value.
   */
  changeBytes(i: number, bytes: Uint8Array, offset: number): void {
    if (!(i < this.lastNum.length)) this.grow(i);
    const w = this.width[i]!;
    const nb = (w + 7) >> 3;
    const off = this.wideOff[i]!;
    if (off < 0) {
      // Narrow variable: assemble the number (≤ 53 bits fits 7 bytes).
      if (this.kind[i] === 2) this.badNumber(i, Number.NaN);
      if (offset + nb > bytes.length) throw new VcdWriterError(`changeBytes ${this.paths[i]}: ${nb} bytes at offset ${offset} run past a ${bytes.length}-byte buffer`);
      let v = 0;
      for (let k = nb - 1; k >= 0; k--) v = v * 256 + bytes[offset + k]!;
      if ((w & 7) !== 0 && bytes[offset + nb - 1]! >> (w & 7) !== 0) this.tooWide(i);
      this.changeNumber(i, v);
      return;
    }
    if (offset + nb > bytes.length) throw new VcdWriterError(`changeBytes ${this.paths[i]}: ${nb} bytes at offset ${offset} run past a ${bytes.length}-byte buffer`);
    const store = this.lastWide;
    let same = true;
    for (let k = 0; k < nb; k++) {
      if (store[off + k] !== bytes[offset + k]) {
        same = false;
        break;
      }
    }
    if (same) return;
    if ((w & 7) !== 0 && bytes[offset + nb - 1]! >> (w & 7) !== 0) this.tooWide(i);
    for (let k = 0; k < nb; k++) store[off + k] = bytes[offset + k]!;
    if (!this.headerDone) return;
    this.emitWide(i);
  }

  /** Set real variable i. Finite values only (NaN/Infinity have no portable VCD spelling). */
  changeReal(i: number, v: number): void {
    if (!(i < this.lastNum.length)) this.grow(i);
    if (this.kind[i] !== 2) throw new VcdWriterError(`changeReal ${this.paths[i] ?? `#${i}`}: not a real variable`);
    if (!Number.isFinite(v)) throw new VcdWriterError(`changeReal ${this.paths[i]}: ${v} is not a finite number`);
    if (this.lastNum[i] === v) return; // -0 and 0 print alike: not a change
    this.lastNum[i] = v;
    if (!this.headerDone) return;
    this.emitReal(i, v);
  }

  /** Hand everything buffered to the sink (the header too, if not yet written). */
  flush(): void {
    if (this.closed) return;
    if (!this.headerDone) this.writeHeader();
    if (this.pos > 0) {
      this.sink(this.buf, this.pos);
      this.pos = 0;
    }
  }

  /** Flush and close; further changes throw. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.onClose?.();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---- internals ----------------------------------------------------------------------------

  /** First change of a variable declared since the last freeze (declaration phase only). */
  private grow(i: number): void {
    if (this.closed) throw new VcdWriterError('change after close');
    if (!(Number.isInteger(i) && i >= 0 && i < this.names.length)) throw new VcdWriterError(`no variable #${i} (${this.names.length} declared)`);
    this.freeze();
  }

  private badNumber(i: number, v: number): never {
    if (this.kind[i] === 2) throw new VcdWriterError(`${this.paths[i]}: real variable, use changeReal`);
    if (v >= 0 && Number.isInteger(v) && v <= MAX_SAFE) this.tooWide(i, v);
    throw new VcdWriterError(`${this.paths[i] ?? `variable #${i}`}: value ${v} is not an unsigned integer ≤ 2^53-1`);
  }

  private tooWide(i: number, v?: number): never {
    throw new VcdWriterError(`${this.paths[i]}: value ${v ?? '(bytes)'} is wider than the declared ${this.width[i]} bits`);
  }

  private numberToScratch(i: number, v: number): void {
    if (!(v >= 0 && v <= MAX_SAFE && Math.floor(v) === v)) this.badNumber(i, v);
    const nb = (this.width[i]! + 7) >> 3;
    const s = this.scratch;
    let x = v;
    for (let k = 0; k < nb; k++) {
      s[k] = x % 256;
      x = Math.floor(x / 256);
    }
  }

  /** Build the typed arrays of the hot path from the declarations. */
  private freeze(): void {
    const n = this.names.length;
    if (this.lastNum.length === n) return;
    this.width = Int32Array.from(this.widthList);
    this.kind = new Uint8Array(n);
    this.bound = new Float64Array(n);
    this.wideOff = new Int32Array(n).fill(-1);
    this.idOff = new Int32Array(n);
    this.idLen = new Uint8Array(n);
    const prevNum = this.lastNum;
    const prevWide = this.lastWide;
    this.lastNum = new Float64Array(n);
    this.lastNum.set(prevNum.subarray(0, Math.min(prevNum.length, n)));
    let wideBytes = 0;
    let idBytes = 0;
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const t = this.types[i]!;
      const w = this.widthList[i]!;
      this.kind[i] = t === 'real' ? 2 : (t === 'wire' || t === 'reg') && w === 1 ? 0 : 1;
      this.bound[i] = t === 'real' ? -1 : w < 53 ? 2 ** w : MAX_SAFE + 1;
      if (t !== 'real' && w > 53) {
        this.wideOff[i] = wideBytes;
        wideBytes += (w + 7) >> 3;
      }
      const id = vcdIdentifier(i);
      ids.push(id);
      this.idOff[i] = idBytes;
      this.idLen[i] = id.length;
      idBytes += id.length;
    }
    // Wide values set before a later addVar keep their bytes: offsets only ever grow at the end.
    this.lastWide = new Uint8Array(wideBytes);
    this.lastWide.set(prevWide.subarray(0, Math.min(prevWide.length, wideBytes)));
    this.idBytes = new Uint8Array(idBytes);
    this.idWord = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const id = ids[i]!;
      for (let k = 0; k < id.length; k++) this.idBytes[this.idOff[i]! + k] = id.charCodeAt(k);
      if (id.length <= 3) {
        let word = 10 << (8 * id.length);
        for (let k = 0; k < id.length; k++) word |= id.charCodeAt(k) << (8 * k);
        this.idWord[i] = word;
      }
    }
  }

  private writeHeader(): void {
    this.freeze();
    const lines: string[] = [
      `$date\n  ${this.date}\n$end`,
      `$version\n  ${this.version}\n$end`,
      `$timescale ${this.timescale} $end`,
    ];
    const walk = (node: ScopeNode): void => {
      for (const i of node.vars) {
        const t = this.types[i]!;
        const w = this.widthList[i]!;
        const range = (t === 'wire' || t === 'reg') && w > 1 ? ` [${w - 1}:0]` : '';
        lines.push(`$var ${t} ${w} ${vcdIdentifier(i)} ${this.names[i]}${range} $end`);
      }
      for (const c of node.children.values()) {
        lines.push(`$scope module ${c.name} $end`);
        walk(c);
        lines.push('$upscope $end');
      }
    };
    walk(this.root);
    lines.push('$enddefinitions $end', '#0', '$dumpvars');
    this.writeAscii(`${lines.join('\n')}\n`);
    this.headerDone = true;
    this.writtenTime = 0;
    const n = this.names.length;
    for (let i = 0; i < n; i++) {
      const k = this.kind[i]!;
      if (k === 2) this.emitReal(i, this.lastNum[i]!);
      else if (this.wideOff[i]! >= 0) this.emitWide(i);
      else this.emitNumber(i, this.lastNum[i]!);
    }
    this.writeAscii('$end\n');
  }

  private writeAscii(s: string): void {
    for (let k = 0; k < s.length; k++) {
      if (this.pos >= this.buf.length) this.drain();
      this.buf[this.pos++] = s.charCodeAt(k) & 0x7f;
    }
  }

  private drain(): void {
    this.sink(this.buf, this.pos);
    this.pos = 0;
  }

  /** Make room for `n` bytes, and write the pending `#time` if this is its first change. */
  private begin(n: number): void {
    if (this.closed) throw new VcdWriterError('value change after close');
    if (this.pos + n + 24 > this.buf.length) this.drain();
    if (this.time !== this.writtenTime) {
      this.buf[this.pos++] = 35; // '#'
      this.writeDecimal(this.time);
      this.buf[this.pos++] = 10;
      this.writtenTime = this.time;
    }
    this.changes++;
  }

  /**
   * Decimal digits of a time (an integer below 2^53). Two 32-bit-safe halves of nine digits each,
   * so every step is integer arithmetic: `%` and division on doubles above 2^31 are slow library
   * calls, and a time is written twice per traced cycle (clock rise and fall).
   */
  private writeDecimal(v: number): void {
    const hi = Math.floor(v / 1e9);
    const lo = v - hi * 1e9;
    if (hi === 0) {
      this.writeSmallDecimal(lo, 0);
      return;
    }
    this.writeSmallDecimal(hi, 0);
    this.writeSmallDecimal(lo, 9);
  }

  /** Digits of an integer 0 <= x < 1e9, left-padded with zeros to `minDigits`. */
  private writeSmallDecimal(x: number, minDigits: number): void {
    const b = this.buf;
    let digits = 1;
    for (let t = x; t >= 10; t = (t / 10) | 0) digits++;
    if (digits < minDigits) digits = minDigits;
    let p = this.pos + digits - 1;
    let t = x | 0;
    for (let k = 0; k < digits; k++) {
      const q = (t / 10) | 0;
      b[p--] = 48 + (t - q * 10);
      t = q;
    }
    this.pos += digits;
  }

  /** Write variable i's id and a newline at `pos`; returns the position after them. */
  private writeId(i: number, pos: number): number {
    const b = this.buf;
    const ids = this.idBytes;
    const o = this.idOff[i]!;
    const n = this.idLen[i]!;
    let p = pos;
    for (let k = 0; k < n; k++) b[p++] = ids[o + k]!;
    b[p++] = 10;
    return p;
  }

  // The emitters keep the write position in a local and store it once: `this.pos++` per digit
  // made every bit a load and a store of a field (measured ~2x on the per-change cost).
  private emitNumber(i: number, v: number): void {
    // A narrow change is at most 'b', 53 digits, a space, the id and a newline: begin() makes room
    // for that (and the pending time) with a constant instead of loading the variable's width.
    this.begin(NARROW_CHANGE_BYTES + this.idLen[i]!);
    const b = this.buf;
    let p = this.pos;
    if (this.kind[i] === 0) {
      b[p++] = v === 0 ? 48 : 49;
    } else {
      b[p++] = 98; // 'b'
      const lo = v >>> 0;
      // Most values fit 32 bits: test that before dividing (a double division per change).
      if (v >= TWO32) {
        const hi = Math.floor(v / TWO32);
        for (let bit = 31 - Math.clz32(hi); bit >= 0; bit--) b[p++] = 48 + ((hi >>> bit) & 1);
        for (let bit = 31; bit >= 0; bit--) b[p++] = 48 + ((lo >>> bit) & 1);
      } else if (lo === 0) {
        b[p++] = 48;
      } else {
        for (let bit = 31 - Math.clz32(lo); bit >= 0; bit--) b[p++] = 48 + ((lo >>> bit) & 1);
      }
      b[p++] = 32;
    }
    // Ids of up to 3 characters (the first 94^3 + 94^2 + 94 variables) and the newline: one store.
    // It may write past the newline; those bytes lie beyond `pos` and are overwritten next.
    const n = this.idLen[i]!;
    if (n <= 3) {
      this.view.setUint32(p, this.idWord[i]!, true);
      this.pos = p + n + 1;
    } else {
      this.pos = this.writeId(i, p);
    }
  }

  private emitWide(i: number): void {
    const w = this.width[i]!;
    this.begin(w + this.idLen[i]!);
    const b = this.buf;
    const s = this.lastWide;
    const off = this.wideOff[i]!;
    let p = this.pos;
    b[p++] = 98;
    let k = ((w + 7) >> 3) - 1;
    while (k > 0 && s[off + k] === 0) k--;
    const top = s[off + k]!;
    if (top === 0) {
      b[p++] = 48;
    } else {
      for (let bit = 31 - Math.clz32(top); bit >= 0; bit--) b[p++] = 48 + ((top >> bit) & 1);
    }
    for (k--; k >= 0; k--) {
      const x = s[off + k]!;
      for (let bit = 7; bit >= 0; bit--) b[p++] = 48 + ((x >> bit) & 1);
    }
    b[p++] = 32;
    this.pos = this.writeId(i, p);
  }

  private emitReal(i: number, v: number): void {
    // Reals are rare (stats probes): String() gives the shortest decimal that reads back exactly.
    const s = String(v);
    this.begin(s.length + this.idLen[i]!);
    const b = this.buf;
    b[this.pos++] = 114; // 'r'
    for (let k = 0; k < s.length; k++) b[this.pos++] = s.charCodeAt(k);
    b[this.pos++] = 32;
    this.pos = this.writeId(i, this.pos);
  }
}
