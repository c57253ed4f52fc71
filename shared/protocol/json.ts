/**
 * JSON-safe values for the wire: byte arrays become `{ "b64": "…" }` (and back). Isomorphic: the
 * base64 codec is written out here because `shared/` may use neither Buffer nor btoa.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

/** The alphabet's character codes, and a decoder for the ASCII they make. */
const CODES = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0));
const ASCII = new TextDecoder();
const PAD = 61; // '='

/** Padded base64. Fills a byte array and decodes it once: string concatenation was ~10× slower. */
export function bytesToBase64(bytes: Uint8Array): string {
  const n = bytes.length;
  if (n === 0) return '';
  const out = new Uint8Array(Math.ceil(n / 3) * 4);
  let i = 0;
  let o = 0;
  for (; i + 2 < n; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o] = CODES[v >> 18]!;
    out[o + 1] = CODES[(v >> 12) & 63]!;
    out[o + 2] = CODES[(v >> 6) & 63]!;
    out[o + 3] = CODES[v & 63]!;
    o += 4;
  }
  const rest = n - i;
  if (rest > 0) {
    const v = (bytes[i]! << 16) | (rest === 2 ? bytes[i + 1]! << 8 : 0);
    out[o] = CODES[v >> 18]!;
    out[o + 1] = CODES[(v >> 12) & 63]!;
    out[o + 2] = rest === 2 ? CODES[(v >> 6) & 63]! : PAD;
    out[o + 3] = PAD;
  }
  return ASCII.decode(out);
}

/** Returns undefined when `text` is not canonical padded base64. */
export function base64ToBytes(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0) return undefined;
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const c = text.charCodeAt(i + j);
      const last = i + 4 === text.length;
      if (c === 61 && last && j >= 4 - pad) {
        n <<= 6;
        continue;
      }
      const v = c < 128 ? LOOKUP[c]! : -1;
      if (v < 0) return undefined;
      n = (n << 6) | v;
    }
    if (o < out.length) out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}

export interface WireBytes {
  b64: string;
}

/** A deep copy of `value` in which every `Uint8Array` is `{ b64 }`; Maps and Sets become arrays. */
export function toWireJson(value: unknown): unknown {
  if (value instanceof Uint8Array) return { b64: bytesToBase64(value) };
  if (Array.isArray(value)) return value.map(toWireJson);
  if (value instanceof Map) return [...value.entries()].map(toWireJson);
  if (value instanceof Set) return [...value].map(toWireJson);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toWireJson(v);
    return out;
  }
  return value;
}
