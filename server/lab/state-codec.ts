/**
 * Writes a graph of JavaScript objects to bytes and reads it back: what a room's checkpoint is
 * made of (issue 7). The engine keeps its state in ordinary fields of ordinary classes, so a
 * checkpoint is that graph as it is, without a hand-written `toJSON` per class that could forget a
 * field: numbers (−0 and NaN too), strings, booleans, `undefined`, `null`, arrays, plain objects,
 * instances of the classes the caller names, `Map`, `Set`, typed arrays over their `ArrayBuffer`s,
 * and the functions the caller names (a room's wiring, given back by the new room).
 *
 * The graph comes back with its shape: an object reached twice is one object, cycles close, two
 * views of one buffer still share its bytes, a frozen object is frozen again. Anything else (an
 * object of a class not named, a function not named, a symbol key, a hidden property, a getter:
 * checked on the first object of each class and field list) makes `encodeGraph` throw rather than
 * write a checkpoint that would come back different.
 *
 * Only the bytes views reach are written, and a buffer comes back as the stretches its views span,
 * laid end to end: the engine carves small copies out of 64 KiB slabs shared by every room, and a
 * room keeps a few hundred bytes of each. A class may also say which bytes of its array matter
 * (a ring buffer's stale ones do not).
 *
 * The fields of a class with more than a few are read and written by one generated function per
 * field list (named property accesses, not one keyed access for every class); instances are
 * rebuilt with their fields in the order they had, so the rebuilt objects of a class share one
 * hidden class (V8) instead of one each.
 */

import { ByteWriter } from '../../shared/capture/bytes.ts';

/**
 * Where an object's array holds the bytes that matter ([start, end) pairs of indexes into
 * `ring`): a ring buffer's stale bytes need not be written (they come back as zeros).
 */
export type LiveBytes = (o: never) => { ring: Uint8Array; ranges: number[] };

/** The classes a graph may hold, by a name that stays the same across builds. */
export class ClassTable {
  private readonly names = new Map<object, string>();
  private readonly protos = new Map<string, object>();
  /** By prototype: the classes whose arrays hold stale bytes. */
  readonly live = new Map<object, LiveBytes>();
  /** The classes, in the order given. */
  readonly classes: ReadonlyArray<abstract new (...args: never[]) => unknown>;

  constructor(
    classes: Record<string, abstract new (...args: never[]) => unknown>,
    live: Record<string, LiveBytes> = {},
  ) {
    this.classes = Object.values(classes);
    for (const [name, cls] of Object.entries(classes)) {
      this.names.set(cls.prototype as object, name);
      this.protos.set(name, cls.prototype as object);
      const l = live[name];
      if (l) this.live.set(cls.prototype as object, l);
    }
  }

  nameOf(proto: object): string | undefined {
    return this.names.get(proto);
  }

  protoOf(name: string): object | undefined {
    return this.protos.get(name);
  }
}

export class StateCodecError extends Error {
  /** Where in the graph (encoding): filled in on the way out, as `$.net.hosts…`. */
  readonly steps: string[] = [];
}

/** Adds one step of the path to an encoding error on its way out. */
function via(e: unknown, step: string): unknown {
  if (e instanceof StateCodecError) e.steps.unshift(step);
  return e;
}

const T_UNDEFINED = 0;
const T_NULL = 1;
const T_FALSE = 2;
const T_TRUE = 3;
const T_INT = 4;
const T_FLOAT = 5;
const T_STRING = 6;
const T_STRING_AGAIN = 7;
const T_REF = 8;
const T_ARRAY = 9;
const T_OBJECT = 10;
const T_MAP = 11;
const T_SET = 12;
const T_VIEW = 13;
const T_BUFFER = 14;
const T_FUNCTION = 15;
const T_FROZEN_ARRAY = 16;
const T_FROZEN_OBJECT = 17;

/** Typed array kinds, by the number written for them. */
const VIEWS: Array<{
  name: string;
  size: number;
  make: (b: ArrayBuffer, off: number, len: number) => ArrayBufferView;
}> = [
  { name: 'Uint8Array', size: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
  { name: 'Int8Array', size: 1, make: (b, o, n) => new Int8Array(b, o, n) },
  { name: 'Uint16Array', size: 2, make: (b, o, n) => new Uint16Array(b, o, n) },
  { name: 'Int16Array', size: 2, make: (b, o, n) => new Int16Array(b, o, n) },
  { name: 'Uint32Array', size: 4, make: (b, o, n) => new Uint32Array(b, o, n) },
  { name: 'Int32Array', size: 4, make: (b, o, n) => new Int32Array(b, o, n) },
  { name: 'Float32Array', size: 4, make: (b, o, n) => new Float32Array(b, o, n) },
  { name: 'Float64Array', size: 8, make: (b, o, n) => new Float64Array(b, o, n) },
  { name: 'Uint8ClampedArray', size: 1, make: (b, o, n) => new Uint8ClampedArray(b, o, n) },
  { name: 'Buffer', size: 1, make: (b, o, n) => Buffer.from(b, o, n) },
];
const VIEW_KINDS = new Map<object, number>([
  [Uint8Array.prototype, 0],
  [Int8Array.prototype, 1],
  [Uint16Array.prototype, 2],
  [Int16Array.prototype, 3],
  [Uint32Array.prototype, 4],
  [Int32Array.prototype, 5],
  [Float32Array.prototype, 6],
  [Float64Array.prototype, 7],
  [Uint8ClampedArray.prototype, 8],
  [Buffer.prototype, 9],
]);

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

interface BufferUse {
  index: number;
  /** Where its size is written (patched once every view of it is known). */
  sizeAt: number;
  /** [start, end) pairs: what views of it span (kept, in place relative to each other). */
  spans: number[];
  /** [start, end) pairs: the bytes that matter (within spans; the rest come back as zeros). */
  data: number[];
  /** Where each view's offset is written, and the offset in the original buffer. */
  views: number[];
}

/**
 * The graph from `root` as bytes. `functions` names the functions the graph may hold (anything
 * else that is a function throws).
 */
export function encodeGraph(
  root: unknown,
  classes: ClassTable,
  functions: ReadonlyMap<unknown, string> = new Map(),
): Uint8Array {
  const w = new ByteWriter(4096);
  const seen = new Map<object, number>();
  const strings = new Map<string, number>();
  const shapeIds = new Map<EncodedShape, number>();
  const buffers = new Map<ArrayBufferLike, BufferUse>();
  /** Arrays whose owner said which of their bytes matter (ClassTable's `live`). */
  const partial = new Map<Uint8Array, number[]>();

  const string = (s: string) => {
    const i = strings.get(s);
    if (i !== undefined) {
      w.u8(T_STRING_AGAIN);
      w.varuint(i);
      return;
    }
    strings.set(s, strings.size);
    w.u8(T_STRING);
    // Most strings are short ASCII (field names, states): written as they are.
    const n = s.length;
    let ascii = n < 128;
    for (let j = 0; ascii && j < n; j++) if (s.charCodeAt(j) >= 0x80) ascii = false;
    if (ascii) {
      w.u8(n);
      for (let j = 0; j < n; j++) w.u8(s.charCodeAt(j));
      return;
    }
    const b = encoder.encode(s);
    w.varuint(b.length);
    w.raw(b);
  };

  const useBuffer = (b: ArrayBufferLike): BufferUse => {
    let use = buffers.get(b);
    if (use) {
      w.u8(T_REF);
      w.varuint(use.index);
      return use;
    }
    w.u8(T_BUFFER);
    use = { index: seen.size, sizeAt: w.length, spans: [], data: [], views: [] };
    w.u32(0);
    seen.set(b, use.index);
    buffers.set(b, use);
    return use;
  };

  const value = (v: unknown): void => {
    switch (typeof v) {
      case 'undefined':
        w.u8(T_UNDEFINED);
        return;
      case 'boolean':
        w.u8(v ? T_TRUE : T_FALSE);
        return;
      case 'number':
        if (Number.isInteger(v) && v >= 0 && v <= Number.MAX_SAFE_INTEGER && !Object.is(v, -0)) {
          w.u8(T_INT);
          w.varuint(v);
        } else {
          w.u8(T_FLOAT);
          w.f64(v);
        }
        return;
      case 'string':
        string(v);
        return;
      case 'function': {
        const name = functions.get(v);
        if (name === undefined)
          throw new StateCodecError(`cannot keep the function ${v.name || '(anonymous)'}`);
        w.u8(T_FUNCTION);
        string(name);
        return;
      }
      case 'object':
        break;
      default:
        throw new StateCodecError(`cannot keep a ${typeof v}`);
    }
    if (v === null) {
      w.u8(T_NULL);
      return;
    }
    const again = seen.get(v);
    if (again !== undefined) {
      w.u8(T_REF);
      w.varuint(again);
      return;
    }
    if (v instanceof ArrayBuffer) {
      const use = useBuffer(v);
      use.spans.push(0, v.byteLength);
      use.data.push(0, v.byteLength);
      return;
    }
    if (ArrayBuffer.isView(v)) {
      const kind = VIEW_KINDS.get(Object.getPrototypeOf(v) as object);
      if (kind === undefined) throw new StateCodecError(`cannot keep a ${v.constructor.name}`);
      const elements = (v as unknown as { length: number }).length;
      w.u8(T_VIEW);
      w.u8(kind);
      // The buffer first: the view's index follows it, as decoding makes them in that order.
      const use = useBuffer(v.buffer);
      const start = v.byteOffset;
      const end = start + v.byteLength;
      use.spans.push(start, end);
      const live = partial.get(v as Uint8Array);
      if (live === undefined) use.data.push(start, end);
      else for (const x of live) use.data.push(start + x);
      seen.set(v, seen.size);
      use.views.push(w.length, start);
      w.u32(0);
      w.varuint(elements);
      return;
    }
    seen.set(v, seen.size);
    const proto = Object.getPrototypeOf(v) as object | null;
    if (Array.isArray(v)) {
      if (proto !== Array.prototype) throw new StateCodecError('cannot keep an array subclass');
      w.u8(Object.isFrozen(v) ? T_FROZEN_ARRAY : T_ARRAY);
      w.varuint(v.length);
      for (let i = 0; i < v.length; i++) {
        if (!(i in v)) throw new StateCodecError('cannot keep an array with holes');
        try {
          value(v[i]);
        } catch (e) {
          throw via(e, `[${i}]`);
        }
      }
      return;
    }
    if (proto === Map.prototype) {
      const m = v as Map<unknown, unknown>;
      w.u8(T_MAP);
      w.varuint(m.size);
      for (const [k, x] of m) {
        try {
          value(k);
          value(x);
        } catch (e) {
          throw via(e, `.get(${typeof k === 'object' ? '…' : String(k)})`);
        }
      }
      return;
    }
    if (proto === Set.prototype) {
      const s = v as Set<unknown>;
      w.u8(T_SET);
      w.varuint(s.size);
      for (const x of s) {
        try {
          value(x);
        } catch (e) {
          throw via(e, '.member');
        }
      }
      return;
    }
    let cls: string;
    if (proto === Object.prototype) cls = '';
    else if (proto === null) cls = '\0null';
    else {
      const name = classes.nameOf(proto);
      if (name === undefined)
        throw new StateCodecError(
          `cannot keep an object of class ${(proto as { constructor?: { name?: string } }).constructor?.name ?? '?'}`,
        );
      cls = name;
      const live = classes.live.get(proto);
      if (live) {
        const { ring, ranges } = live(v as never);
        partial.set(ring, ranges);
      }
    }
    const keys = Object.keys(v);
    const shape = shapeOf(proto, keys, v as object, cls);
    w.u8(Object.isFrozen(v) ? T_FROZEN_OBJECT : T_OBJECT);
    let id = shapeIds.get(shape);
    if (id === undefined) {
      id = shapeIds.size;
      shapeIds.set(shape, id);
      w.varuint(id);
      string(cls);
      // The field names as one string when they can be (one string to read back, not dozens).
      w.varuint(keys.length * 2 + (shape.joined === undefined ? 0 : 1));
      if (shape.joined !== undefined) string(shape.joined);
      else for (const k of keys) string(k);
    } else {
      w.varuint(id);
    }
    shape.write(v, value);
  };

  try {
    value(root);
  } catch (e) {
    if (e instanceof StateCodecError) e.message = `${e.message} at $${e.steps.join('')}`;
    throw e;
  }
  // Each buffer shrinks to what its views span, laid end to end (a 64 KiB slab of small copies
  // becomes the few hundred bytes this room has in it): its size and the views' offsets are
  // patched, then its bytes follow, [count][start][length][bytes]…
  const layouts = new Map<BufferUse, Layout>();
  for (const use of buffers.values()) {
    const layout = lay(mergeRanges(use.spans));
    layouts.set(use, layout);
    w.patchU32(use.sizeAt, layout.size);
    for (let i = 0; i < use.views.length; i += 2)
      w.patchU32(use.views[i]!, packed(layout, use.views[i + 1]!));
  }
  for (const [b, use] of buffers) {
    const layout = layouts.get(use)!;
    const r = mergeRanges(use.data);
    w.varuint(r.length / 2);
    const all = new Uint8Array(b as ArrayBuffer);
    for (let i = 0; i < r.length; i += 2) {
      // Each data range lies within one span (data are the bytes of views that span them).
      w.varuint(packed(layout, r[i]!));
      w.varuint(r[i + 1]! - r[i]!);
      w.raw(all.subarray(r[i]!, r[i + 1]!));
    }
  }
  return w.bytes();
}

/** A buffer's spans laid end to end: [start, end, packed start] triples, and the new size. */
interface Layout {
  spans: number[];
  size: number;
}

/** Lays `spans` end to end, each where it keeps its offset modulo 8 (typed arrays' alignment). */
function lay(spans: number[]): Layout {
  const out: number[] = [];
  let size = 0;
  for (let i = 0; i < spans.length; i += 2) {
    const start = spans[i]!;
    const at = size + ((start - size) & 7);
    out.push(start, spans[i + 1]!, at);
    size = at + spans[i + 1]! - start;
  }
  return { spans: out, size };
}

/** Where byte `x` of a buffer goes in its layout. */
function packed(layout: Layout, x: number): number {
  const s = layout.spans;
  for (let i = 0; i < s.length; i += 3) if (x >= s[i]! && x <= s[i + 1]!) return s[i + 2]! + x - s[i]!;
  throw new StateCodecError('bytes outside every view');
}

/** A class and field list as the encoder writes it: checked once, then read by its own function. */
interface EncodedShape {
  keys: string[];
  /** The names joined by newlines (undefined when one holds a newline). */
  joined: string | undefined;
  /** Writes each field with `value`, in order (errors get the field's name on their way out). */
  write: (o: unknown, value: (v: unknown) => void) => void;
}

/** Field lists by prototype (null-prototype objects under NO_PROTO), across every encoding. */
const encodedShapes = new WeakMap<object, EncodedShape[]>();
const NO_PROTO = {};
/** Plain objects may come with any keys: past this many lists, a prototype's are not kept. */
const MAX_SHAPES = 256;

function shapeOf(proto: object | null, keys: string[], o: object, cls: string): EncodedShape {
  const key = proto ?? NO_PROTO;
  let list = encodedShapes.get(key);
  if (list === undefined) encodedShapes.set(key, (list = []));
  for (const s of list) if (sameKeys(s.keys, keys)) return s;
  // The first object of a field list shows it holds plain fields only; the others share its class.
  if (Object.getOwnPropertyNames(o).length !== keys.length || Object.getOwnPropertySymbols(o).length > 0)
    throw new StateCodecError(
      `cannot keep an object${cls ? ` of class ${cls}` : ''} with hidden or symbol properties`,
    );
  for (const k of keys) {
    const d = Object.getOwnPropertyDescriptor(o, k)!;
    if (d.get || d.set) throw via(new StateCodecError('cannot keep an accessor'), `.${k}`);
  }
  const joined = keys.length === 0 || keys.some((k) => k.includes('\n')) ? undefined : keys.join('\n');
  let write: EncodedShape['write'];
  if (keys.length <= SMALL_SHAPE) {
    write = (o, value) => {
      const r = o as Record<string, unknown>;
      for (const k of keys) {
        try {
          value(r[k]);
        } catch (e) {
          throw via(e, `.${k}`);
        }
      }
    };
  } else {
    const lines = keys.map((k, i) => `f = ${i}; value(o[${JSON.stringify(k)}]);`);
    // Generated from field names only, each JSON-quoted: named loads, not one keyed load for all.
    const body = `let f = -1; try { ${lines.join(' ')} } catch (e) { throw via(e, "." + keys[f]); }`;
    write = new Function('keys', 'via', `return (o, value) => { ${body} };`)(
      keys,
      via,
    ) as EncodedShape['write'];
  }
  const shape: EncodedShape = { keys, joined, write };
  if (list.length < MAX_SHAPES) list.push(shape);
  return shape;
}

function sameKeys(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function mergeRanges(ranges: number[]): number[] {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < ranges.length; i += 2) pairs.push([ranges[i]!, ranges[i + 1]!]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [s, e] of pairs) {
    if (out.length > 0 && s <= out[out.length - 1]!) out[out.length - 1] = Math.max(out[out.length - 1]!, e);
    else out.push(s, e);
  }
  return out;
}

interface Factory {
  /** The object, before its fields are read (they may lead back to it). */
  make: (proto: object | null) => Record<string, unknown>;
  /** Sets each field to the next `value()`, in order. */
  fill: (o: Record<string, unknown>, value: () => unknown) => void;
}
/** One pair of functions per field list, shared by every decode (see the file comment). */
const factories = new Map<string, Factory & { keys: string[] }>();
const MAX_FACTORIES = 4096;

/**
 * The functions making and filling an object with `keys`, generated from the names (each
 * JSON-quoted): keyed stores of computed names would leave an object of many fields in V8's slow
 * dictionary mode, and one keyed store site for every class is slow.
 */
function factory(names: string | string[]): Factory & { keys: string[] } {
  // Field lists come joined by newlines (or, when a name holds one, as a list).
  const id = typeof names === 'string' ? names : `\0${names.join('\0')}`;
  let f = factories.get(id);
  if (f === undefined) {
    const keys = typeof names === 'string' ? names.split('\n') : names;
    f = keys.length <= SMALL_SHAPE ? smallFactory(keys) : compiledFactory(keys);
    if (factories.size < MAX_FACTORIES) factories.set(id, f);
  }
  return f;
}

/** Objects of at most this many fields are made by a loop: compiling a function costs more. */
const SMALL_SHAPE = 8;

function smallFactory(keys: string[]): Factory & { keys: string[] } {
  // The fields are added by `fill`, in order: one keyed store each (every object of the field
  // list goes through the same hidden classes). An own `__proto__` is a field like any other, not
  // the prototype.
  const plain = !keys.includes('__proto__');
  return {
    keys,
    make: (proto) => (proto === Object.prototype ? {} : Object.create(proto)) as Record<string, unknown>,
    fill: plain
      ? (o, value) => {
          for (let i = 0; i < keys.length; i++) o[keys[i]!] = value();
        }
      : (o, value) => {
          for (const k of keys)
            Object.defineProperty(o, k, {
              value: value(),
              writable: true,
              enumerable: true,
              configurable: true,
            });
        },
  };
}

function compiledFactory(keys: string[]): Factory & { keys: string[] } {
  const make = [
    'const o = proto === Object.prototype ? {} : Object.create(proto);',
    ...keys.map((k) =>
      // An own `__proto__` is a field like any other, not the prototype.
      k === '__proto__'
        ? 'Object.defineProperty(o, "__proto__", { value: undefined, writable: true, enumerable: true, configurable: true });'
        : `o[${JSON.stringify(k)}] = undefined;`,
    ),
    'return o;',
  ].join('\n');
  const fill = keys.map((k) => `o[${JSON.stringify(k)}] = value();`).join('\n');
  return {
    keys,
    make: new Function('proto', make) as Factory['make'],
    fill: new Function('o', 'value', fill) as Factory['fill'],
  };
}

/**
 * Strings decoded before, by a hash of their bytes, with those bytes (two that hash alike are told
 * apart): every room's checkpoint holds the same field lists, states, hosts and keys. At most
 * 4,096 strings, of at most 4 KiB each.
 */
const knownStrings = new Map<number, { bytes: Uint8Array; s: string }>();
const MAX_KNOWN_STRINGS = 4096;
const MAX_KNOWN_BYTES = 4096;

/** The string of the UTF-8 bytes [pos, pos + n) (undefined when they are not UTF-8), made once. */
function stringAt(b: Uint8Array, pos: number, n: number): string | undefined {
  let h = n;
  let ascii = true;
  for (let j = pos; j < pos + n; j++) {
    const c = b[j]!;
    if (c >= 0x80) ascii = false;
    h = (Math.imul(h, 31) + c) | 0;
  }
  const known = knownStrings.get(h);
  if (known !== undefined && sameBytes(known.bytes, b, pos, n)) return known.s;
  let s: string | undefined;
  if (ascii && n <= 24) {
    // Short ASCII (most: states, hosts, keys) without a call into the decoder.
    s = '';
    for (let j = pos; j < pos + n; j++) s += String.fromCharCode(b[j]!);
  } else s = utf8(b.subarray(pos, pos + n));
  if (s !== undefined && known === undefined && knownStrings.size < MAX_KNOWN_STRINGS && n <= MAX_KNOWN_BYTES)
    knownStrings.set(h, { bytes: b.slice(pos, pos + n), s });
  return s;
}

function sameBytes(k: Uint8Array, b: Uint8Array, pos: number, n: number): boolean {
  if (k.length !== n) return false;
  for (let i = 0; i < n; i++) if (k[i] !== b[pos + i]) return false;
  return true;
}

function utf8(b: Uint8Array): string | undefined {
  try {
    return decoder.decode(b);
  } catch {
    return undefined;
  }
}

/** The graph `encodeGraph` wrote. Throws StateCodecError on bytes it did not write. */
export function decodeGraph(
  input: Uint8Array,
  classes: ClassTable,
  functions: ReadonlyMap<string, unknown> = new Map(),
): unknown {
  // A plain view, even of a Buffer: its subarrays are cheaper to make.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  const objects: unknown[] = [];
  const strings: string[] = [];
  const shapes: Array<{ proto: object | null; keys: string[] } & Factory> = [];
  const buffers: ArrayBuffer[] = [];

  const fail = (what: string): never => {
    throw new StateCodecError(`not a checkpoint: ${what} at byte ${pos}`);
  };
  const byte = () => (pos < bytes.length ? bytes[pos++]! : fail('unexpected end'));
  const uint = () => {
    let n = 0;
    let scale = 1;
    for (;;) {
      const b = byte();
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 0x80;
      if (scale > 2 ** 56) fail('integer too long');
    }
  };
  const u32 = () => {
    if (pos + 4 > bytes.length) fail('unexpected end');
    const n = view.getUint32(pos, true);
    pos += 4;
    return n;
  };
  const str = (): string => {
    const tag = byte();
    if (tag === T_STRING_AGAIN) return strings[uint()] ?? fail('unknown string');
    if (tag !== T_STRING) fail('expected a string');
    const n = uint();
    if (pos + n > bytes.length) fail('unexpected end');
    const s = stringAt(bytes, pos, n) ?? fail('a string that is not UTF-8');
    pos += n;
    strings.push(s);
    return s;
  };

  const value = (): unknown => {
    const tag = byte();
    switch (tag) {
      case T_UNDEFINED:
        return undefined;
      case T_NULL:
        return null;
      case T_FALSE:
        return false;
      case T_TRUE:
        return true;
      case T_INT:
        return uint();
      case T_FLOAT: {
        if (pos + 8 > bytes.length) fail('unexpected end');
        const x = view.getFloat64(pos, true);
        pos += 8;
        return x;
      }
      case T_STRING:
      case T_STRING_AGAIN:
        pos--;
        return str();
      case T_REF: {
        const i = uint();
        return i < objects.length ? objects[i] : fail('unknown reference');
      }
      case T_FUNCTION: {
        const name = str();
        return functions.has(name) ? functions.get(name) : fail(`unknown function ${name}`);
      }
      case T_BUFFER: {
        const b = new ArrayBuffer(u32());
        objects.push(b);
        buffers.push(b);
        return b;
      }
      case T_VIEW: {
        const kind = VIEWS[byte()] ?? fail('unknown view kind');
        const b = value();
        if (!(b instanceof ArrayBuffer)) fail('a view without its buffer');
        const offset = u32();
        const length = uint();
        if (offset % kind.size !== 0 || offset + length * kind.size > (b as ArrayBuffer).byteLength)
          fail('a view out of its buffer');
        const v = kind.make(b as ArrayBuffer, offset, length);
        objects.push(v);
        return v;
      }
      case T_ARRAY:
      case T_FROZEN_ARRAY: {
        const n = uint();
        const a: unknown[] = [];
        objects.push(a);
        for (let i = 0; i < n; i++) a.push(value());
        if (tag === T_FROZEN_ARRAY) Object.freeze(a);
        return a;
      }
      case T_MAP: {
        const n = uint();
        const m = new Map();
        objects.push(m);
        for (let i = 0; i < n; i++) {
          const k = value();
          m.set(k, value());
        }
        return m;
      }
      case T_SET: {
        const n = uint();
        const s = new Set();
        objects.push(s);
        for (let i = 0; i < n; i++) s.add(value());
        return s;
      }
      case T_OBJECT:
      case T_FROZEN_OBJECT: {
        const id = uint();
        let shape = shapes[id];
        if (shape === undefined) {
          if (id !== shapes.length) fail('unknown shape');
          const cls = str();
          const proto =
            cls === ''
              ? Object.prototype
              : cls === '\0null'
                ? null
                : (classes.protoOf(cls) ?? fail(`unknown class ${cls}`));
          const n = uint();
          let made: Factory & { keys: string[] };
          if (n % 2 === 1) {
            made = factory(str());
            if (made.keys.length !== (n - 1) / 2) fail('field names do not match their count');
          } else {
            const keys: string[] = [];
            for (let i = n / 2; i > 0; i--) keys.push(str());
            made = factory(keys);
          }
          shape = { proto, keys: made.keys, make: made.make, fill: made.fill };
          shapes.push(shape);
        }
        // The object exists before its fields, which may lead back to it.
        const o = shape.make(shape.proto);
        objects.push(o);
        shape.fill(o, value);
        if (tag === T_FROZEN_OBJECT) Object.freeze(o);
        return o;
      }
      default:
        return fail(`unknown tag ${tag}`);
    }
  };

  const root = value();
  for (const b of buffers) {
    const all = new Uint8Array(b);
    for (let n = uint(); n > 0; n--) {
      const start = uint();
      const len = uint();
      if (start + len > all.length || pos + len > bytes.length) fail('bytes out of range');
      all.set(bytes.subarray(pos, pos + len), start);
      pos += len;
    }
  }
  if (pos !== bytes.length) fail('trailing bytes');
  return root;
}
