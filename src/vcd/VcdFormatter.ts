/**
 * The per-variable facts the formatter needs, fixed when the VCD header is written. Plain typed
 * arrays, so they can be handed to a worker thread as they are.
 */
export interface VcdVarMeta {
  /** 0 scalar (1-bit wire/reg), 1 vector or integer, 2 real. */
  readonly kind: Uint8Array;
  readonly width: Int32Array;
  /** Identifier codes, back to back; variable i's is idBytes[idOff[i] .. idOff[i] + idLen[i]). */
  readonly idBytes: Uint8Array;
  readonly idOff: Int32Array;
  readonly idLen: Uint8Array;
  /** For an id of at most 3 characters: its bytes and '\n', little-endian in one word. */
  readonly idWord: Int32Array;
}

/**
 * Turns value changes into VCD text (the body after the header): `#time` lines, `0!`/`1!`
 * scalars, `b101 id` vectors, `r1.5 id` reals, written as ASCII straight into one byte buffer that
 * goes to `sink` when full and on flush().
 *
 * Used by VcdWriter in its own thread, and by the VCD writer thread (VcdThread.ts), which builds
 * its code from this class's source text: so this class is self-contained on purpose. It uses no
 * import and no name from outside its own body (constants are written out where they are used).
 * The writer decides what changed and validates it; this class only spells it.
 */
export class VcdFormatter {
  private readonly buf: Uint8Array;
  /** The buffer as a DataView: an id and its newline go out as one unaligned 32-bit store. */
  private readonly view: DataView;
  private pos = 0;
  /** Value changes formatted so far. */
  changes = 0;

  constructor(
    private readonly meta: VcdVarMeta,
    bufferBytes: number,
    private readonly sink: (bytes: Uint8Array, length: number) => void,
  ) {
    this.buf = new Uint8Array(bufferBytes);
    this.view = new DataView(this.buf.buffer);
  }

  /** Hand everything formatted so far to the sink. */
  flush(): void {
    if (this.pos > 0) {
      this.sink(this.buf, this.pos);
      this.pos = 0;
    }
  }

  /** The same as flush(): the sink owns what comes after (VcdWriter's emitter contract). */
  close(): void {
    this.flush();
  }

  /** Make room for `n` more bytes. */
  private room(n: number): void {
    if (this.pos + n > this.buf.length) this.flush();
  }

  /** Text as it is (header lines, `$end`): 7-bit characters only. */
  ascii(s: string): void {
    for (let k = 0; k < s.length; k++) {
      if (this.pos >= this.buf.length) this.flush();
      this.buf[this.pos++] = s.charCodeAt(k) & 0x7f;
    }
  }

  /** Bytes as they are (text that reached a writer thread as bytes). */
  bytes(src: Uint8Array, offset: number, length: number): void {
    for (let k = 0; k < length; k++) {
      if (this.pos >= this.buf.length) this.flush();
      this.buf[this.pos++] = src[offset + k]!;
    }
  }

  /** A `#time` line. */
  time(t: number): void {
    this.room(24);
    this.buf[this.pos++] = 35; // '#'
    // Two 32-bit-safe halves of nine digits each, so every step is integer arithmetic: `%` and
    // division on doubles above 2^31 are slow library calls, and a time is written twice a cycle.
    const hi = Math.floor(t / 1e9);
    const lo = t - hi * 1e9;
    if (hi === 0) {
      this.smallDecimal(lo, 0);
    } else {
      this.smallDecimal(hi, 0);
      this.smallDecimal(lo, 9);
    }
    this.buf[this.pos++] = 10;
  }

  /** Digits of an integer 0 <= x < 1e9, left-padded with zeros to `minDigits`. */
  private smallDecimal(x: number, minDigits: number): void {
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

  // The emitters keep the write position in a local and store it once: `this.pos++` per digit
  // made every bit a load and a store of a field (measured ~2x on the per-change cost).

  /** Variable i (scalar or vector of at most 53 bits) takes the unsigned integer v. */
  number(i: number, v: number): void {
    const meta = this.meta;
    // At most 'b', 53 digits, a space, the id and a newline, and 4 spare bytes for the id store:
    // a constant instead of loading the variable's width.
    this.room(60 + meta.idLen[i]!);
    this.changes++;
    const b = this.buf;
    let p = this.pos;
    if (meta.kind[i] === 0) {
      b[p++] = v === 0 ? 48 : 49;
    } else {
      b[p++] = 98; // 'b'
      const lo = v >>> 0;
      // Most values fit 32 bits: test that before dividing (a double division per change).
      if (v >= 4294967296) {
        const hi = Math.floor(v / 4294967296);
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
    const n = meta.idLen[i]!;
    if (n <= 3) {
      this.view.setUint32(p, meta.idWord[i]!, true);
      this.pos = p + n + 1;
    } else {
      this.pos = this.id(i, p);
    }
  }

  /** Variable i (wider than 53 bits) takes the little-endian value in bytes[offset ..]. */
  wide(i: number, bytes: Uint8Array, offset: number): void {
    const w = this.meta.width[i]!;
    this.room(w + this.meta.idLen[i]! + 4);
    this.changes++;
    const b = this.buf;
    let p = this.pos;
    b[p++] = 98;
    let k = ((w + 7) >> 3) - 1;
    while (k > 0 && bytes[offset + k] === 0) k--;
    const top = bytes[offset + k]!;
    if (top === 0) {
      b[p++] = 48;
    } else {
      for (let bit = 31 - Math.clz32(top); bit >= 0; bit--) b[p++] = 48 + ((top >> bit) & 1);
    }
    for (k--; k >= 0; k--) {
      const x = bytes[offset + k]!;
      for (let bit = 7; bit >= 0; bit--) b[p++] = 48 + ((x >> bit) & 1);
    }
    b[p++] = 32;
    this.pos = this.id(i, p);
  }

  /** Real variable i takes v (finite). */
  real(i: number, v: number): void {
    // Reals are rare (stats probes): String() gives the shortest decimal that reads back exactly.
    const s = String(v);
    this.room(s.length + this.meta.idLen[i]! + 4);
    this.changes++;
    const b = this.buf;
    let p = this.pos;
    b[p++] = 114; // 'r'
    for (let k = 0; k < s.length; k++) b[p++] = s.charCodeAt(k);
    b[p++] = 32;
    this.pos = this.id(i, p);
  }

  /** Variable i's id and a newline at `pos`; returns the position after them. */
  private id(i: number, pos: number): number {
    const b = this.buf;
    const ids = this.meta.idBytes;
    const o = this.meta.idOff[i]!;
    const n = this.meta.idLen[i]!;
    let p = pos;
    for (let k = 0; k < n; k++) b[p++] = ids[o + k]!;
    b[p++] = 10;
    return p;
  }
}
