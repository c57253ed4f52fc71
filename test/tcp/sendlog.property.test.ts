import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { SeqMarks } from '../../shared/tcp/sendlog.ts';
import { seqAdd, seqLe, seqLt } from '../../shared/tcp/seq.ts';

type Op =
  | { kind: 'add'; at: number }
  | { kind: 'drop'; at: number }
  | { kind: 'within'; at: number; len: number };

/** Operations on marks within 5000 of a base, as a sender makes them: mostly ascending adds. */
const ops = fc.array(
  fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({ kind: fc.constant('add' as const), at: fc.integer({ min: 0, max: 5000 }) }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant('drop' as const), at: fc.integer({ min: 0, max: 5000 }) }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('within' as const),
        at: fc.integer({ min: 0, max: 5000 }),
        len: fc.integer({ min: 0, max: 800 }),
      }),
    },
  ),
  { maxLength: 200 },
);

describe('SeqMarks', () => {
  test('behaves as a set of sequence numbers: add, forget up to, any in (seq, end], across the wrap', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), ops, (base, list: Op[]) => {
        const marks = new SeqMarks();
        const model = new Set<number>();
        for (const op of list) {
          const at = seqAdd(base, op.at);
          if (op.kind === 'add') {
            marks.add(at);
            model.add(at);
          } else if (op.kind === 'drop') {
            marks.dropThrough(at);
            for (const m of model) if (seqLe(m, at)) model.delete(m);
          } else {
            const end = seqAdd(at, op.len);
            const expected = [...model].some((m) => seqLt(at, m) && seqLe(m, end));
            expect(marks.within(at, end)).toBe(expected);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  test('a mark added below the others (a retransmission’s end) is found and forgotten like the rest', () => {
    const marks = new SeqMarks();
    for (const m of [100, 200, 300, 400]) marks.add(m);
    marks.add(250);
    expect(marks.within(200, 260)).toBe(true);
    expect(marks.within(250, 299)).toBe(false);
    marks.dropThrough(260);
    expect(marks.within(200, 299)).toBe(false);
    expect(marks.within(299, 300)).toBe(true);
    marks.dropThrough(400);
    expect(marks.within(0, 1000)).toBe(false);
    marks.add(50);
    expect(marks.within(49, 50)).toBe(true);
  });
});
