/**
 * Sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4), with boundary tables around 0 and
 * 2^32 − 1. Every expected value below is written out by hand, not computed by the helpers.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  inWindow,
  seqAdd,
  seqBetween,
  seqDiff,
  seqGe,
  seqGt,
  seqLe,
  seqLt,
  seqMax,
  seqMin,
} from '../../shared/tcp/seq.ts';

const MAX = 0xffff_ffff; // 2^32 − 1
const HALF = 0x8000_0000; // 2^31

describe('seqAdd wraps to u32', () => {
  test.each([
    [0, 0, 0],
    [0, 1, 1],
    [MAX, 1, 0],
    [MAX, 2, 1],
    [MAX - 9, 20, 10],
    [0, -1, MAX],
    [5, -10, MAX - 4],
    [HALF - 1, 1, HALF],
    [HALF, HALF, 0],
    [123, 2 ** 32, 123],
    [MAX, MAX, MAX - 1],
  ])('seqAdd(%i, %i) = %i', (a, n, expected) => {
    const r = seqAdd(a, n);
    expect(r).toBe(expected);
    expect(r).toBeGreaterThanOrEqual(0); // never a negative int32
  });
});

describe('seqDiff is the signed distance across the wrap', () => {
  test.each([
    [0, 0, 0],
    [1, 0, 1],
    [0, 1, -1],
    [0, MAX, 1],
    [MAX, 0, -1],
    [10, MAX - 9, 20],
    [MAX - 9, 10, -20],
    [HALF - 1, 0, HALF - 1],
    [0, HALF - 1, -(HALF - 1)],
    [HALF + 1, 0, -(HALF - 1)],
  ])('seqDiff(%i, %i) = %i', (a, b, expected) => {
    expect(seqDiff(a, b)).toBe(expected);
  });
});

/** a R b for each pair, written out by hand. */
const ORDER: Array<[number, number, 'lt' | 'eq' | 'gt']> = [
  [0, 0, 'eq'],
  [MAX, MAX, 'eq'],
  [0, 1, 'lt'],
  [1, 0, 'gt'],
  [MAX, 0, 'lt'], // 2^32 − 1 comes just before 0
  [0, MAX, 'gt'],
  [MAX - 1, MAX, 'lt'],
  [MAX, 1, 'lt'],
  [MAX - 9_999, 10_000, 'lt'], // REMOTE_ISS-style numbers either side of the wrap
  [10_000, MAX - 9_999, 'gt'],
  [HALF - 1, HALF, 'lt'],
  [HALF, HALF - 1, 'gt'],
  [0, HALF - 1, 'lt'], // furthest "after" that still counts as after
  [HALF - 1, 0, 'gt'],
  [0, HALF + 1, 'gt'], // just past half-way round: now before
  [HALF + 1, 0, 'lt'],
];

describe('comparisons across the wrap', () => {
  test.each(ORDER)('%i vs %i: %s', (a, b, rel) => {
    expect(seqLt(a, b)).toBe(rel === 'lt');
    expect(seqLe(a, b)).toBe(rel !== 'gt');
    expect(seqGt(a, b)).toBe(rel === 'gt');
    expect(seqGe(a, b)).toBe(rel !== 'lt');
    const later = rel === 'gt' ? a : b;
    const earlier = rel === 'gt' ? b : a;
    expect(seqMax(a, b)).toBe(later);
    expect(seqMin(a, b)).toBe(earlier);
  });

  test('numbers exactly 2^31 apart are ambiguous (RFC 1982 §3.2): each counts as before the other', () => {
    // Documented, not desirable: no TCP window can span 2^31, so the engine never asks.
    expect(seqLt(0, HALF)).toBe(true);
    expect(seqLt(HALF, 0)).toBe(true);
    expect(seqDiff(HALF, 0)).toBe(-HALF);
    expect(seqDiff(0, HALF)).toBe(-HALF);
  });

  test('plain < would get the wrap wrong (what the helpers are for)', () => {
    expect(MAX < 0).toBe(false);
    expect(seqLt(MAX, 0)).toBe(true);
  });
});

describe('inWindow: start <= s < start + len', () => {
  // A 32-byte window straddling the wrap: [2^32 − 16, 16).
  const start = MAX - 15;
  test.each([
    [MAX - 16, start, 32, false], // one before the left edge
    [MAX - 15, start, 32, true], // left edge is inside
    [MAX, start, 32, true],
    [0, start, 32, true],
    [15, start, 32, true], // last byte
    [16, start, 32, false], // right edge is outside
    [HALF, start, 32, false],
    [0, 0, 0, false], // an empty window contains nothing, not even its start
    [MAX, MAX, 0, false],
    [MAX, MAX, 1, true],
    [0, MAX, 1, false],
    [0, MAX, 2, true],
    [5, 10, 100, false],
    [109, 10, 100, true],
    [110, 10, 100, false],
    [HALF + 10, 10, HALF, false], // the largest window still excludes its own end
    [HALF + 9, 10, HALF, true],
  ])('inWindow(%i, %i, %i) = %s', (s, st, len, expected) => {
    expect(inWindow(s, st, len)).toBe(expected);
  });
});

describe('seqBetween: lo <= s <= hi', () => {
  test.each([
    [MAX - 15, MAX - 15, 16, true], // both ends inclusive
    [MAX - 15, 16, 16, true],
    [MAX - 15, 0, 16, true],
    [MAX - 15, MAX, 16, true],
    [MAX - 15, MAX - 16, 16, false],
    [MAX - 15, 17, 16, false],
    [7, 7, 7, true],
    [7, 8, 7, false],
  ])('seqBetween(%i, %i, %i) = %s', (lo, s, hi, expected) => {
    expect(seqBetween(lo, s, hi)).toBe(expected);
  });
});

describe('properties', () => {
  const u32 = fc.integer({ min: 0, max: MAX });
  const dist = fc.integer({ min: 1, max: HALF - 1 });

  test('a + n is after a, and their difference is n, for any a and 0 < n < 2^31', () => {
    fc.assert(
      fc.property(u32, dist, (a, n) => {
        const b = seqAdd(a, n);
        expect(b).toBe((a + n) % 2 ** 32);
        expect(seqDiff(b, a)).toBe(n);
        expect(seqDiff(a, b)).toBe(-n);
        expect(seqGt(b, a) && seqLt(a, b) && !seqLt(b, a) && !seqGe(a, b)).toBe(true);
        expect(seqAdd(b, -n)).toBe(a);
      }),
      { numRuns: 500 },
    );
  });

  test('inWindow(start + k, start, len) holds exactly when k < len', () => {
    fc.assert(
      fc.property(u32, fc.nat({ max: 1 << 20 }), fc.nat({ max: 1 << 20 }), (start, k, len) => {
        expect(inWindow(seqAdd(start, k), start, len)).toBe(k < len);
        expect(inWindow(seqAdd(start, -1 - k), start, len)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});
