/**
 * Sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4). Sequence numbers are u32 `number`s;
 * lengths are plain numbers. Never compare sequence numbers with `<` or subtract them directly:
 * everything goes through these helpers, which order numbers by the sign of the wrapped difference.
 */

/** `a + n` wrapped to u32. `n` may be negative. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** Signed distance from `b` to `a` in [-2^31, 2^31): positive when `a` is after `b` (numbers exactly 2^31 apart are unordered, RFC 1982). */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

export function seqGe(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

export function seqMax(a: number, b: number): number {
  return seqGe(a, b) ? a : b;
}

export function seqMin(a: number, b: number): number {
  return seqLe(a, b) ? a : b;
}

/** `start <= s < start + len` in sequence space (an empty window contains nothing). */
export function inWindow(s: number, start: number, len: number): boolean {
  const d = (s - start) >>> 0;
  return d < len;
}

/** `lo <= s <= hi` in sequence space, assuming `lo <= hi`. */
export function seqBetween(lo: number, s: number, hi: number): boolean {
  return seqLe(lo, s) && seqLe(s, hi);
}
