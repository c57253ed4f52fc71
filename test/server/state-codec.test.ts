/**
 * The graph codec under room checkpoints: what goes in comes back with its shape (shared
 * objects, cycles, views sharing a buffer, classes, frozen objects, odd numbers), and what it
 * cannot keep, or bytes it did not write, are refused with a message.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClassTable, decodeGraph, encodeGraph, StateCodecError } from '../../server/lab/state-codec.ts';

class Point {
  constructor(
    public x: number,
    public y: number,
    public next: Point | undefined = undefined,
  ) {}
  norm(): number {
    return Math.hypot(this.x, this.y);
  }
}
class Unknown {
  a = 1;
}

const classes = new ClassTable({ Point });
const roundTrip = <T>(v: T, fns?: Map<unknown, string>, back?: Map<string, unknown>): T =>
  decodeGraph(encodeGraph(v, classes, fns), classes, back) as T;

describe('state codec', () => {
  it('keeps values, shared objects, cycles and classes', () => {
    const p = new Point(3, 4);
    const q = new Point(-0, Number.NaN, p);
    p.next = q;
    const shared = { s: 'ünïcode ✓', big: 2 ** 53 - 1, neg: -7, frac: 0.1, inf: -Infinity };
    const root = {
      p,
      q,
      list: [shared, shared, undefined, null, true, false],
      map: new Map<unknown, unknown>([
        [p, 'by object'],
        ['k', shared],
      ]),
      set: new Set([q, 1, 'x']),
      nothing: Object.create(null) as Record<string, number>,
    };
    root.nothing.z = 1;
    const back = roundTrip(root);
    expect(back.p).toBeInstanceOf(Point);
    expect(back.p.norm()).toBe(5);
    expect(back.p.next).toBe(back.q);
    expect(back.q.next).toBe(back.p);
    expect(Object.is(back.q.x, -0)).toBe(true);
    expect(back.q.y).toBeNaN();
    expect(back.list[0]).toBe(back.list[1]);
    expect(back.list[0]).toEqual(shared);
    expect(back.list.slice(2)).toEqual([undefined, null, true, false]);
    expect(back.map.get(back.p)).toBe('by object');
    expect(back.map.get('k')).toBe(back.list[0]);
    expect(back.set.has(back.q)).toBe(true);
    expect([...back.set].slice(1)).toEqual([1, 'x']);
    expect(Object.getPrototypeOf(back.nothing)).toBeNull();
    expect(back.nothing.z).toBe(1);
  });

  it('keeps views of one buffer sharing it, and only the bytes they reach', () => {
    const slab = new Uint8Array(65536);
    const a = slab.subarray(100, 104);
    const b = slab.subarray(102, 110);
    a.set([1, 2, 3, 4]);
    b.set([9, 9, 9, 9, 9, 9], 2);
    const words = new Uint32Array([0xdeadbeef, 7]);
    const doubles = new Float64Array(1000).subarray(501, 503);
    doubles.set([Math.PI, -1.5]);
    const node = Buffer.from('node buffer');
    const bytes = encodeGraph({ a, b, words, node, doubles }, classes);
    expect(bytes.length).toBeLessThan(200);
    const back = decodeGraph(bytes, classes) as {
      a: Uint8Array;
      b: Uint8Array;
      words: Uint32Array;
      node: Buffer;
    };
    expect([...back.a]).toEqual([1, 2, 3, 4]);
    expect([...back.b]).toEqual([3, 4, 9, 9, 9, 9, 9, 9]);
    expect(back.a.buffer).toBe(back.b.buffer);
    back.a[3] = 42;
    expect(back.b[1]).toBe(42);
    expect([...back.words]).toEqual([0xdeadbeef, 7]);
    expect(Buffer.isBuffer(back.node)).toBe(true);
    expect(back.node.toString()).toBe('node buffer');
  });

  it("writes only the bytes a class says are live (a ring buffer's stale ones come back as zeros)", () => {
    class Ring {
      data = new Uint8Array(4096).fill(7);
      head = 4000;
      len = 200;
    }
    const table = new ClassTable(
      { Ring },
      {
        Ring: (r: Ring) => ({
          ring: r.data,
          ranges: [r.head, 4096, 0, r.len - (4096 - r.head)],
        }),
      },
    );
    const ring = new Ring();
    const bytes = encodeGraph({ ring, view: ring.data.subarray(10, 12) }, table);
    expect(bytes.length).toBeLessThan(300);
    const back = decodeGraph(bytes, table) as { ring: Ring; view: Uint8Array };
    expect(back.ring.data.length).toBe(4096);
    expect(back.ring.data.subarray(4000).every((b) => b === 7)).toBe(true);
    expect(
      back.ring.data.subarray(0, 104).every((b, i) => b === (i < 10 || i >= 12 ? (i < 104 ? 7 : 0) : 7)),
    ).toBe(true);
    expect(back.ring.data[500]).toBe(0);
    expect(back.view.buffer).toBe(back.ring.data.buffer);
  });

  it('keeps frozen objects frozen, and named functions by name', () => {
    const flags = Object.freeze(['SYN', 'ACK']);
    const onEvent = () => 1;
    const other = () => 2;
    const back = roundTrip(
      { flags, opts: Object.freeze({ a: 1 }), onEvent },
      new Map([[onEvent, 'listener']]),
      new Map([['listener', other]]),
    );
    expect(Object.isFrozen(back.flags)).toBe(true);
    expect(Object.isFrozen(back.opts)).toBe(true);
    expect(back.flags).toEqual(['SYN', 'ACK']);
    expect(back.onEvent).toBe(other);
  });

  it('refuses what it cannot keep, naming where it is', () => {
    const f = () => 0;
    expect(() => encodeGraph({ deep: { fn: f } }, classes)).toThrow(/function f at \$\.deep\.fn/);
    expect(() => encodeGraph({ u: new Unknown() }, classes)).toThrow(/class Unknown at \$\.u/);
    expect(() => encodeGraph({ s: Symbol('x') }, classes)).toThrow(StateCodecError);
    expect(() => encodeGraph({ [Symbol('k')]: 1 }, classes)).toThrow(/symbol/);
    const hidden = {};
    Object.defineProperty(hidden, 'h', { value: 1, enumerable: false });
    expect(() => encodeGraph(hidden, classes)).toThrow(/hidden/);
    expect(() =>
      encodeGraph(
        {
          get g() {
            return 1;
          },
        },
        classes,
      ),
    ).toThrow(/accessor/);
    expect(() => encodeGraph({ d: new Date() }, classes)).toThrow(/class Date/);
    // biome-ignore lint/suspicious/noSparseArray: a hole is what is refused.
    expect(() => encodeGraph([1, , 3], classes)).toThrow(/holes/);
    // A class the reader does not know.
    const bytes = encodeGraph(new Point(1, 2), classes);
    expect(() => decodeGraph(bytes, new ClassTable({}))).toThrow(/unknown class Point/);
  });

  it('refuses bytes it did not write, whatever they are', () => {
    const good = encodeGraph({ p: new Point(1, 2), list: [1, 'two', new Uint8Array([3])] }, classes);
    expect(() => decodeGraph(good.subarray(0, good.length - 1), classes)).toThrow(StateCodecError);
    expect(() => decodeGraph(new Uint8Array([...good, 0]), classes)).toThrow(/trailing/);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (junk) => {
        try {
          decodeGraph(junk, classes);
        } catch (e) {
          if (!(e instanceof StateCodecError)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps the order of fields, and an own __proto__ as a field, in small and large objects', () => {
    for (const n of [3, 20]) {
      const o: Record<string, unknown> = {};
      for (let i = n; i > 0; i--) o[`f${i}`] = i;
      Object.defineProperty(o, '__proto__', {
        value: { x: 1 },
        writable: true,
        enumerable: true,
        configurable: true,
      });
      o.last = 'z';
      const back = roundTrip([o, o])[0] as Record<string, unknown>;
      expect(Object.keys(back)).toEqual(Object.keys(o));
      expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
      expect(Object.getOwnPropertyDescriptor(back, '__proto__')?.value).toEqual({ x: 1 });
      expect(JSON.stringify(back)).toBe(JSON.stringify(o));
    }
  });

  it('keeps short strings apart whose bytes hash alike', () => {
    // The decoder keeps the strings it made by a hash of their bytes: "Aa" and "BB" share one.
    for (const list of [
      ['Aa', 'BB', 'Aa', 'BB'],
      ['BB', 'Aa', 'BB', 'Aa'],
    ])
      expect(roundTrip(list)).toEqual(list);
    expect(roundTrip({ Aa: 'BB', BB: 'Aa' })).toEqual({ Aa: 'BB', BB: 'Aa' });
  });

  it('round-trips any JSON-like value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(roundTrip(v)).toEqual(v);
      }),
      { numRuns: 500 },
    );
  });
});
