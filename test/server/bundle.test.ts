import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { BUNDLE_MAGIC, decodeBundle, encodeBundle, isBundle } from '../../shared/protocol/bundle.ts';
import { FRAME_VERSION } from '../../shared/protocol/frame.ts';

describe('history bundles', () => {
  test('round-trip: entries come back in order, kind and bytes intact', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ binary: fc.boolean(), data: fc.uint8Array({ maxLength: 300 }) }), {
          maxLength: 50,
        }),
        (entries) => {
          const r = decodeBundle(encodeBundle(entries));
          expect(r.ok).toBe(true);
          if (!r.ok) return;
          expect(r.entries.map((e) => ({ binary: e.binary, data: [...e.data] }))).toEqual(
            entries.map((e) => ({ binary: e.binary, data: [...e.data] })),
          );
        },
      ),
    );
  });

  test('a segment frame is never taken for a bundle', () => {
    expect(FRAME_VERSION).not.toBe(BUNDLE_MAGIC);
    expect(isBundle(new Uint8Array([FRAME_VERSION, 1, 0, 0]))).toBe(false);
  });

  test('damaged bundles are rejected with a reason, never thrown', () => {
    const good = encodeBundle([{ binary: false, data: new TextEncoder().encode('{"type":"x"}') }]);
    expect(decodeBundle(good.subarray(0, good.length - 1))).toEqual({
      ok: false,
      error: expect.stringContaining('only 11 remain'),
    });
    expect(decodeBundle(good.subarray(0, 4))).toEqual({
      ok: false,
      error: expect.stringContaining('truncated'),
    });
    const badKind = good.slice();
    badKind[2] = 7;
    expect(decodeBundle(badKind)).toEqual({ ok: false, error: expect.stringContaining('kind 7') });
    const badVersion = good.slice();
    badVersion[1] = 9;
    expect(decodeBundle(badVersion)).toEqual({ ok: false, error: expect.stringContaining('version 9') });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => void decodeBundle(b)));
  });
});
