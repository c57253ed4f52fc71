import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ByteQueue, copyBytes, ReceiveBuffer } from '../../shared/tcp/buffers.ts';
import { seqAdd } from '../../shared/tcp/seq.ts';

/** Index of the first byte where `a` and `b` differ (or of the shorter one's end), -1 if none. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** Pieces of a byte stream: [offset, length] pairs, in any order, overlapping and repeated. */
const pieces = (len: number) =>
  fc.array(fc.tuple(fc.integer({ min: 0, max: len - 1 }), fc.integer({ min: 1, max: 300 })), {
    minLength: 1,
    maxLength: 60,
  });

describe('ReceiveBuffer reassembly', () => {
  test('any arrival order of overlapping pieces delivers the stream once, in order, across the wrap', () => {
    const input = fc
      .integer({ min: 1, max: 2000 })
      .chain((len) => fc.tuple(fc.constant(len), fc.integer({ min: 0, max: 0xffffffff }), pieces(len)));
    fc.assert(
      fc.property(input, ([len, isn, ps]) => {
        const stream = Uint8Array.from({ length: len }, (_, i) => (i * 7 + 3) & 0xff);
        const rb = new ReceiveBuffer();
        let rcvNxt = isn;
        const covered = new Uint8Array(len);
        // The listed pieces in their order, then the whole stream once to fill every hole. After
        // each one, RCV.NXT is the end of the covered prefix and every other covered byte is held.
        for (const [off, n] of [...ps, [0, len] as [number, number]]) {
          const end = Math.min(len, off + n);
          rcvNxt = rb.insert(seqAdd(isn, off), stream.subarray(off, end), rcvNxt);
          covered.fill(1, off, end);
          const prefix = covered.indexOf(0) === -1 ? len : covered.indexOf(0);
          const held = covered.reduce((a, b) => a + b, 0) - prefix;
          expect(rcvNxt).toBe(seqAdd(isn, prefix));
          expect(rb.oooBytes).toBe(held);
        }
        expect(rcvNxt).toBe(seqAdd(isn, len));
        expect(rb.readable.take(len + 10)).toEqual(stream);
        expect(rb.oooBytes).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  test('reads between arrivals: out-of-order bytes wait in place while the queue wraps and grows', () => {
    // Longer streams than the queue's first 4 KiB, read a little after each arrival, so held
    // out-of-order bytes sit past the queued ones while the ring wraps around and doubles.
    const input = fc
      .integer({ min: 1, max: 30_000 })
      .chain((len) =>
        fc.tuple(
          fc.constant(len),
          fc.integer({ min: 0, max: 0xffffffff }),
          fc.array(
            fc.tuple(
              fc.integer({ min: 0, max: len - 1 }),
              fc.integer({ min: 1, max: 3000 }),
              fc.integer({ min: 0, max: 4000 }),
            ),
            { minLength: 1, maxLength: 40 },
          ),
        ),
      );
    fc.assert(
      fc.property(input, ([len, isn, ps]) => {
        const stream = Uint8Array.from({ length: len }, (_, i) => (i * 13 + 5) & 0xff);
        const rb = new ReceiveBuffer();
        let rcvNxt = isn;
        let read = 0;
        const out = new Uint8Array(4000);
        for (const [off, n, take] of [...ps, [0, len, len] as [number, number, number]]) {
          const end = Math.min(len, off + n);
          // A fresh copy each time, overwritten afterwards: the buffer must have kept its own.
          const piece = stream.slice(off, end);
          rcvNxt = rb.insert(seqAdd(isn, off), piece, rcvNxt);
          piece.fill(0xee);
          let want = take;
          while (want > 0 && rb.readable.length > 0) {
            const got = rb.readable.copyTo(out, want);
            expect(firstDifference(out.subarray(0, got), stream.subarray(read, read + got))).toBe(-1);
            rb.readable.drop(got);
            read += got;
            want -= got;
          }
        }
        expect(rcvNxt).toBe(seqAdd(isn, len));
        expect(read + rb.readable.length).toBe(len);
        expect(firstDifference(rb.readable.take(len), stream.subarray(read))).toBe(-1);
        expect(rb.oooBytes).toBe(0);
      }),
      { numRuns: 100 },
    );
  });

  test('a read that empties the queue while out-of-order bytes wait leaves them where they belong', () => {
    const stream = Uint8Array.from({ length: 3000 }, (_, i) => (i * 13 + 5) & 0xff);
    const rb = new ReceiveBuffer();
    const out = new Uint8Array(5000);
    let nxt = rb.insert(100, stream.slice(0, 1000), 100);
    nxt = rb.insert(2100, stream.slice(2000, 3000), nxt);
    rb.readable.drop(rb.readable.copyTo(out, 5000));
    nxt = rb.insert(1100, stream.slice(1000, 1500), nxt);
    nxt = rb.insert(1600, stream.slice(1500, 2000), nxt);
    expect(nxt).toBe(3100);
    expect(rb.readable.copyTo(out, 5000)).toBe(2000);
    expect(out.subarray(0, 2000)).toEqual(stream.subarray(1000, 3000));
  });

  test('out-of-order bytes are held without overlaps and SACK blocks list the newest arrival first', () => {
    const rb = new ReceiveBuffer();
    const data = new Uint8Array(100).fill(9);
    let nxt = 1000;
    nxt = rb.insert(1200, data, nxt);
    nxt = rb.insert(1400, data, nxt);
    nxt = rb.insert(1250, data, nxt); // overlaps 1200..1300, adds 1300..1350
    expect(nxt).toBe(1000);
    expect(rb.oooBytes).toBe(250);
    expect(rb.sackBlocks(4)).toEqual([
      { left: 1200, right: 1350 },
      { left: 1400, right: 1500 },
    ]);
    nxt = rb.insert(1000, new Uint8Array(200), nxt);
    expect(nxt).toBe(1350);
    expect(rb.readable.length).toBe(350);
  });
});

describe('ByteQueue', () => {
  test('behaves as a FIFO of bytes through growth and wrap-around', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ push: fc.integer({ min: 0, max: 5000 }) }),
            fc.record({ push: fc.integer({ min: 0, max: 8 }) }),
            fc.record({ copy: fc.integer({ min: 0, max: 6000 }) }),
            fc.record({ take: fc.integer({ min: 0, max: 6000 }) }),
            fc.record({
              peek: fc.tuple(fc.integer({ min: 0, max: 6000 }), fc.integer({ min: 0, max: 6000 })),
            }),
            fc.record({ drop: fc.integer({ min: 0, max: 6000 }) }),
          ),
          // Long enough for many small chunks, so the chunk list compacts.
          { maxLength: 400 },
        ),
        (ops) => {
          const q = new ByteQueue(16);
          const model: number[] = [];
          // What every take() returned, with the bytes it held: later pushes and takes (which
          // reuse the ring and the copy slab) must never change them.
          const taken: Array<[Uint8Array, number[]]> = [];
          let next = 0;
          for (const op of ops) {
            if ('push' in op) {
              const chunk = Uint8Array.from({ length: op.push }, () => next++ & 0xff);
              q.push(chunk);
              model.push(...chunk);
              chunk.fill(0xee);
            } else if ('copy' in op) {
              const out = new Uint8Array(op.copy).fill(0xee);
              const n = q.copyTo(out, op.copy);
              expect(n).toBe(Math.min(op.copy, model.length));
              expect([...out.subarray(0, n)]).toEqual(model.slice(0, n));
            } else if ('peek' in op) {
              const [offset, len] = op.peek;
              expect([...q.peek(offset, len)]).toEqual(model.slice(offset, offset + len));
            } else if ('drop' in op) {
              q.drop(op.drop);
              model.splice(0, op.drop);
            } else {
              const got = q.take(op.take);
              const want = model.splice(0, op.take);
              expect([...got]).toEqual(want);
              taken.push([got, want]);
            }
            expect(q.length).toBe(model.length);
          }
          for (const [got, want] of taken) expect([...got]).toEqual(want);
        },
      ),
      { numRuns: 200 },
    );
  });
  test('keeps its bytes while many small chunks come and go', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 6 })), {
          minLength: 200,
          maxLength: 600,
        }),
        (steps) => {
          // Small writes read back in small pieces: hundreds of chunks pass through the queue.
          const q = new ByteQueue(16);
          const model: number[] = [];
          let next = 0;
          for (const [push, take] of steps) {
            const chunk = Uint8Array.from({ length: push }, () => next++ & 0xff);
            q.push(chunk);
            model.push(...chunk);
            expect([...q.take(take)]).toEqual(model.splice(0, take));
            expect([...q.peek(0, 8)]).toEqual(model.slice(0, 8));
          }
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe('copyBytes', () => {
  test('copies never share bytes with their source or with each other', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 9000 }), { maxLength: 80 }), (sizes) => {
        const copies = sizes.map((n, i) => {
          const src = new Uint8Array(n).fill(i & 0xff);
          const c = copyBytes(src);
          src.fill(0xff);
          return c;
        });
        copies.forEach((c, i) => {
          expect(c.length).toBe(sizes[i]);
          expect(c.every((b) => b === (i & 0xff))).toBe(true);
        });
      }),
      { numRuns: 100 },
    );
  });
});
