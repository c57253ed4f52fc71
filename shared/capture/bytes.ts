/**
 * Little helpers the capture writers share (and the server's room checkpoints, for the byte
 * writer): a growable little-endian byte writer, UTF-8 without TextEncoder (shared/ targets plain
 * ES2022), hex decoding, and timestamps as bigint nanoseconds.
 */

/** Appends little-endian integers and raw bytes; `bytes()` returns exactly what was written. */
export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  private len = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
  }

  get length(): number {
    return this.len;
  }

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): this {
    this.room(1);
    this.buf[this.len++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    this.room(2);
    this.view.setUint16(this.len, v, true);
    this.len += 2;
    return this;
  }

  u32(v: number): this {
    this.room(4);
    this.view.setUint32(this.len, v >>> 0, true);
    this.len += 4;
    return this;
  }

  i32(v: number): this {
    this.room(4);
    this.view.setInt32(this.len, v, true);
    this.len += 4;
    return this;
  }

  f64(v: number): this {
    this.room(8);
    this.view.setFloat64(this.len, v, true);
    this.len += 8;
    return this;
  }

  /** An unsigned integer below 2^53, seven bits a byte, low bits first. */
  varuint(v: number): this {
    this.room(8);
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.len++] = v;
    return this;
  }

  u64(v: bigint): this {
    this.room(8);
    this.view.setBigUint64(this.len, BigInt.asUintN(64, v), true);
    this.len += 8;
    return this;
  }

  raw(bytes: Uint8Array): this {
    this.room(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
    return this;
  }

  /** Zero bytes up to the next multiple of 4. */
  pad32(): this {
    while (this.len % 4 !== 0) this.u8(0);
    return this;
  }

  /** Overwrites a u32 already written at `offset`. */
  patchU32(offset: number, v: number): void {
    this.view.setUint32(offset, v >>> 0, true);
  }

  bytes(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** Bytes needed to pad `n` to a multiple of 4. */
export function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** UTF-8 encoding (lone surrogates become U+FFFD). */
export function utf8(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of text) {
    let c = ch.codePointAt(0)!;
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}

/** Value of each hex digit by char code; -1 for anything else. */
const NIBBLE = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) NIBBLE[48 + i] = i;
for (let i = 0; i < 6; i++) {
  NIBBLE[97 + i] = 10 + i;
  NIBBLE[65 + i] = 10 + i;
}

/** Decodes an even-length hex string; throws on anything else. */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0) throw new Error('not a hex string: odd length');
  const out = new Uint8Array(hex.length >> 1);
  let bad = 0;
  for (let i = 0, j = 0; i < out.length; i++, j += 2) {
    const hi = NIBBLE[hex.charCodeAt(j) & 127]! | (hex.charCodeAt(j) & ~127);
    const lo = NIBBLE[hex.charCodeAt(j + 1) & 127]! | (hex.charCodeAt(j + 1) & ~127);
    bad |= hi | lo;
    out[i] = (hi << 4) | lo;
  }
  if (bad < 0 || bad > 15) throw new Error('not a hex string: bad digit');
  return out;
}

/**
 * Nanoseconds since the Unix epoch of virtual time `tMs`, when virtual time 0 is the wall-clock
 * instant `startTimeMs` (ms since the epoch, may be fractional). Exact for any realistic date:
 * the whole milliseconds go through bigint, so no precision is lost above 2^53 ns.
 */
export function timestampNs(tMs: number, startTimeMs = 0): bigint {
  if (!Number.isFinite(tMs) || !Number.isFinite(startTimeMs)) throw new Error('timestamp must be finite');
  const whole = Math.floor(startTimeMs);
  const ns = BigInt(whole) * 1_000_000n + BigInt(Math.round((startTimeMs - whole) * 1e6 + tMs * 1e6));
  if (ns < 0n) throw new Error('timestamp before 1970-01-01');
  return ns;
}
