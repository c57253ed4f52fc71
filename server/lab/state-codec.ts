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
 * object of a class not named, a function not named, a symbol key, a hidden property, a getter)
 * makes `encodeGraph` throw rather than write a checkpoint that would come back different.
 *
 * Only the bytes views can reach are written: the engine carves small copies out of 64 KiB slabs
 * shared by every room, and a room keeps a few hundred bytes of each.
 *
 * Instances are rebuilt with their fields in the order they had, through one small function per
 * class and field list, so the objects of a class share one hidden class (V8) and the engine runs
 * on them as fast as on the objects it made itself.
 */

/** The classes a graph may hold, by a name that stays the same across builds. */
export class ClassTable {
  private readonly names = new Map<object, string>();
  private readonly protos = new Map<string, object>();

  constructor(classes: Record<string, abstract new (...args: never[]) => unknown>) {
    for (const [name, cls] of Object.entries(classes)) {
      this.names.set(cls.prototype as object, name);
      this.protos.set(name, cls.prototype as object);
    }
  }

  nameOf(proto: object): string | undefined {
    return this.names.get(proto);
  }

  protoOf(name: string): object | undefined {
    return this.protos.get(name);
  }
}

export class StateCodecError extends Error {}

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
const VIEWS: Array<{ name: string; make: (b: ArrayBuffer, off: number, len: number) => ArrayBufferView }> = [
  { name: 'Uint8Array', make: (b, o, n) => new Uint8Array(b, o, n) },
  { name: 'Int8Array', make: (b, o, n) => new Int8Array(b, o, n) },
  { name: 'Uint16Array', make: (b, o, n) => new Uint16Array(b, o, n) },
  { name: 'Int16Array', make: (b, o, n) => new Int16Array(b, o, n) },
  { name: 'Uint32Array', make: (b, o, n) => new Uint32Array(b, o, n) },
  { name: 'Int32Array', make: (b, o, n) => new Int32Array(b, o, n) },
  { name: 'Float32Array', make: (b, o, n) => new Float32Array(b, o, n) },
  { name: 'Float64Array', make: (b, o, n) => new Float64Array(b, o, n) },
  { name: 'Uint8ClampedArray', make: (b, o, n) => new Uint8ClampedArray(b, o, n) },
  { name: 'Buffer', make: (b, o, n) => Buffer.from(b, o, n) },
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

class Writer {
  buf = new Uint8Array(4096);
  view = new DataView(this.buf.buffer);
  pos = 0;

  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.pos++] = b;
  }

  /** An unsigned integer below 2^53, seven bits a byte. */
  uint(n: number): void {
    this.reserve(8);
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.pos++] = n;
  }

  float(x: number): void {
    this.reserve(8);
    this.view.setFloat64(this.pos, x, true);
    this.pos += 8;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}

interface BufferUse {
  index: number;
  /** [start, end) byte ranges of the buffer that views reach. */
  ranges: number[];
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
  const w = new Writer();
  const seen = new Map<object, number>();
  const strings = new Map<string, number>();
  const shapes = new Map<string, number>();
  const buffers = new Map<ArrayBufferLike, BufferUse>();

  const string = (s: string) => {
    const i = strings.get(s);
    if (i !== undefined) {
      w.byte(T_STRING_AGAIN);
      w.uint(i);
      return;
    }
    strings.set(s, strings.size);
    const b = encoder.encode(s);
    w.byte(T_STRING);
    w.uint(b.length);
    w.bytes(b);
  };

  const useBuffer = (b: ArrayBufferLike, start: number, end: number) => {
    let use = buffers.get(b);
    if (use) {
      w.byte(T_REF);
      w.uint(use.index);
    } else {
      use = { index: seen.size, ranges: [] };
      seen.set(b, use.index);
      buffers.set(b, use);
      w.byte(T_BUFFER);
      w.uint(b.byteLength);
    }
    if (end > start) use.ranges.push(start, end);
  };

  const value = (v: unknown, path: string): void => {
    switch (typeof v) {
      case 'undefined':
        w.byte(T_UNDEFINED);
        return;
      case 'boolean':
        w.byte(v ? T_TRUE : T_FALSE);
        return;
      case 'number':
        if (Number.isInteger(v) && v >= 0 && v <= Number.MAX_SAFE_INTEGER && !Object.is(v, -0)) {
          w.byte(T_INT);
          w.uint(v);
        } else {
          w.byte(T_FLOAT);
          w.float(v);
        }
        return;
      case 'string':
        string(v);
        return;
      case 'function': {
        const name = functions.get(v);
        if (name === undefined)
          throw new StateCodecError(`cannot keep the function ${v.name || '(anonymous)'} at ${path}`);
        w.byte(T_FUNCTION);
        string(name);
        return;
      }
      case 'object':
        break;
      default:
        throw new StateCodecError(`cannot keep a ${typeof v} at ${path}`);
    }
    if (v === null) {
      w.byte(T_NULL);
      return;
    }
    const again = seen.get(v);
    if (again !== undefined) {
      w.byte(T_REF);
      w.uint(again);
      return;
    }
    if (v instanceof ArrayBuffer) {
      useBuffer(v, 0, v.byteLength);
      return;
    }
    if (ArrayBuffer.isView(v)) {
      const kind = VIEW_KINDS.get(Object.getPrototypeOf(v) as object);
      if (kind === undefined) throw new StateCodecError(`cannot keep a ${v.constructor.name} at ${path}`);
      const elements = (v as unknown as { length: number }).length;
      w.byte(T_VIEW);
      w.byte(kind);
      // The buffer first: the view's index follows it, as decoding makes them in that order.
      useBuffer(v.buffer, v.byteOffset, v.byteOffset + v.byteLength);
      seen.set(v, seen.size);
      w.uint(v.byteOffset);
      w.uint(elements);
      return;
    }
    seen.set(v, seen.size);
    const proto = Object.getPrototypeOf(v) as object | null;
    if (Array.isArray(v)) {
      if (proto !== Array.prototype) throw new StateCodecError(`cannot keep an array subclass at ${path}`);
      w.byte(Object.isFrozen(v) ? T_FROZEN_ARRAY : T_ARRAY);
      w.uint(v.length);
      for (let i = 0; i < v.length; i++) {
        if (!(i in v)) throw new StateCodecError(`cannot keep an array with holes at ${path}`);
        value(v[i], path);
      }
      return;
    }
    if (proto === Map.prototype) {
      const m = v as Map<unknown, unknown>;
      w.byte(T_MAP);
      w.uint(m.size);
      for (const [k, x] of m) {
        value(k, `${path}.key`);
        value(x, `${path}[${String(k)}]`);
      }
      return;
    }
    if (proto === Set.prototype) {
      const s = v as Set<unknown>;
      w.byte(T_SET);
      w.uint(s.size);
      for (const x of s) value(x, `${path}.member`);
      return;
    }
    let cls: string;
    if (proto === Object.prototype) cls = '';
    else if (proto === null) cls = '\0null';
    else {
      const name = classes.nameOf(proto);
      if (name === undefined)
        throw new StateCodecError(
          `cannot keep an object of class ${(proto as { constructor?: { name?: string } }).constructor?.name ?? '?'} at ${path}`,
        );
      cls = name;
    }
    const keys = Object.keys(v);
    if (Object.getOwnPropertyNames(v).length !== keys.length || Object.getOwnPropertySymbols(v).length > 0)
      throw new StateCodecError(`cannot keep an object with hidden or symbol properties at ${path}`);
    const o = v as Record<string, unknown>;
    for (const k of keys) {
      const d = Object.getOwnPropertyDescriptor(o, k)!;
      if (d.get || d.set) throw new StateCodecError(`cannot keep the accessor ${path}.${k}`);
    }
    w.byte(Object.isFrozen(v) ? T_FROZEN_OBJECT : T_OBJECT);
    const shapeKey = `${cls}\n${keys.join('\n')}`;
    let shape = shapes.get(shapeKey);
    if (shape === undefined) {
      shape = shapes.size;
      shapes.set(shapeKey, shape);
      w.uint(shape);
      string(cls);
      w.uint(keys.length);
      for (const k of keys) string(k);
    } else {
      w.uint(shape);
    }
    for (const k of keys) value(o[k], `${path}.${k}`);
  };

  value(root, '$');
  // The bytes of the buffers, where views reach them: [count][start][length][bytes]… per buffer.
  for (const [b, use] of buffers) {
    const r = mergeRanges(use.ranges);
    w.uint(r.length / 2);
    const all = new Uint8Array(b as ArrayBuffer);
    for (let i = 0; i < r.length; i += 2) {
      w.uint(r[i]!);
      w.uint(r[i + 1]! - r[i]!);
      w.bytes(all.subarray(r[i]!, r[i + 1]!));
    }
  }
  return w.buf.slice(0, w.pos);
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

type Factory = (proto: object | null) => Record<string, unknown>;
/** One function per field list, shared by every decode (see the file comment). */
const factories = new Map<string, Factory>();

/**
 * A function making an object with `keys` (all undefined, filled in next) by named stores: keyed
 * stores of computed names would leave an object of many fields in V8's slow dictionary mode.
 */
function factory(keys: string[]): Factory {
  const id = keys.join('\n');
  let f = factories.get(id);
  if (f === undefined) {
    const body = [
      'const o = proto === Object.prototype ? {} : Object.create(proto);',
      ...keys.map((k) => `o[${JSON.stringify(k)}] = undefined;`),
      'return o;',
    ].join('\n');
    // Generated from field names only, each JSON-quoted.
    f = new Function('proto', body) as Factory;
    factories.set(id, f);
  }
  return f;
}

/** The graph `encodeGraph` wrote. Throws StateCodecError on bytes it did not write. */
export function decodeGraph(
  bytes: Uint8Array,
  classes: ClassTable,
  functions: ReadonlyMap<string, unknown> = new Map(),
): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  const objects: unknown[] = [];
  const strings: string[] = [];
  const shapes: Array<{ proto: object | null; keys: string[]; make: Factory }> = [];
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
  const str = (): string => {
    const tag = byte();
    if (tag === T_STRING_AGAIN) return strings[uint()] ?? fail('unknown string');
    if (tag !== T_STRING) fail('expected a string');
    const n = uint();
    if (pos + n > bytes.length) fail('unexpected end');
    const s = decoder.decode(bytes.subarray(pos, pos + n));
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
        const b = new ArrayBuffer(uint());
        objects.push(b);
        buffers.push(b);
        return b;
      }
      case T_VIEW: {
        const kind = VIEWS[byte()] ?? fail('unknown view kind');
        const b = value();
        if (!(b instanceof ArrayBuffer)) fail('a view without its buffer');
        const v = kind.make(b as ArrayBuffer, uint(), uint());
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
          const keys: string[] = [];
          for (let i = uint(); i > 0; i--) keys.push(str());
          shape = { proto, keys, make: factory(keys) };
          shapes.push(shape);
        }
        // The object exists before its fields, which may lead back to it.
        const o = shape.make(shape.proto);
        objects.push(o);
        const keys = shape.keys;
        for (let i = 0; i < keys.length; i++) o[keys[i]!] = value();
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
