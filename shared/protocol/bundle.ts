/**
 * History bundles: many server messages in one binary WebSocket message.
 *
 * A newcomer gets a room's whole history (tens of thousands of JSON events and segment frames);
 * browsers pay a fixed cost per WebSocket message, so the replay is packed into bundles. Live
 * traffic is not bundled. Layout (big-endian):
 *
 *   0   1   magic 0xB7 (a segment frame starts with its version, 1, so the two never mix up)
 *   1   1   bundle version: 1 when every entry is of kind 0 or 1, 2 when some is of kind 2–4,
 *           3 when some is of kind 5–6
 *   then entries until the end: 1 byte kind, 4 bytes length, that many bytes.
 *
 * Kinds (`ENTRY`):
 *   0  JSON text, exactly as sent alone
 *   1  segment frame, exactly as sent alone
 *   2  (version 2) segment frame with its TCP payload cut off: the frame's bytes up to the end of
 *      the TCP header (options included); the IPv4 total length still gives the packet's length
 *   3  (version 2) a frame sent earlier as kind 2, now whole (exactly as sent alone)
 *   4  (version 2) JSON text shortened: a `return` event whose byte value (`{b64}`) was longer
 *      than `SHORT_VALUE_BYTES` carries its first bytes and its length (`{b64, bytes, truncated}`)
 *   5  (version 3) JSON batch: the JSON messages of this bundle as one JSON array, `[m1,m2,…]`,
 *      each element the message as it would come alone (kind 0) or shortened (kind 4), or for
 *      the commonest events (a timer set, cancelled or fired; a congestion-control change) a
 *      compact array of its fields (`COMPACT`, `expandCompact`); it comes before any kind 6
 *   6  (version 3) no bytes: here comes the next element of the bundle's batch (kind 5); the
 *      markers keep the batch's messages in their place among the frames
 *
 * Kinds 2–6 are the headers-first replay (docs/protocol.md), which only a client that asked for
 * it receives. A batch costs a browser one text decoding and one `JSON.parse` per bundle instead
 * of one per message (thousands per bundle).
 */
export const BUNDLE_MAGIC = 0xb7;
export const BUNDLE_VERSION = 3;

export const ENTRY = {
  json: 0,
  frame: 1,
  frameCut: 2,
  frameWhole: 3,
  jsonShort: 4,
  jsonBatch: 5,
  batched: 6,
} as const;
export type EntryKind = (typeof ENTRY)[keyof typeof ENTRY];

/** Bytes of a shortened byte value that kind 4 keeps (a multiple of 3: base64 without padding). */
export const SHORT_VALUE_BYTES = 96;

export interface BundleEntry {
  /** True for the frame kinds (1, 2, 3); false for JSON (0, 4, 5) and the batch marker (6). */
  binary: boolean;
  data: Uint8Array;
  /** The entry's kind; absent when encoding: 1 if `binary`, else 0. */
  kind?: EntryKind;
}

export type DecodedEntry = BundleEntry & { kind: EntryKind };

export type DecodeBundleResult = { ok: true; entries: DecodedEntry[] } | { ok: false; error: string };

export function isBundle(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === BUNDLE_MAGIC;
}

/** The lowest bundle version that has an entry of kind `kind`. */
function versionOf(kind: number): number {
  return kind <= ENTRY.frame ? 1 : kind <= ENTRY.jsonShort ? 2 : 3;
}

const MAX_KIND = [0, ENTRY.frame, ENTRY.jsonShort, ENTRY.batched] as const;

export function encodeBundle(entries: readonly BundleEntry[]): Uint8Array {
  let size = 2;
  let version = 1;
  for (const e of entries) {
    size += 5 + e.data.length;
    version = Math.max(version, versionOf(e.kind ?? 0));
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = BUNDLE_MAGIC;
  out[1] = version;
  let at = 2;
  for (const e of entries) {
    out[at] = e.kind ?? (e.binary ? ENTRY.frame : ENTRY.json);
    view.setUint32(at + 1, e.data.length);
    out.set(e.data, at + 5);
    at += 5 + e.data.length;
  }
  return out;
}

/**
 * Checks a bundle's layout (magic, version, every entry's kind and length) without reading the
 * entries; returns what is wrong, or undefined. Never throws.
 */
export function checkBundle(bytes: Uint8Array): string | undefined {
  if (!isBundle(bytes)) return 'not a bundle (first byte is not 0xB7)';
  const version = bytes[1]!;
  if (version < 1 || version > BUNDLE_VERSION)
    return `bundle version ${version}, expected 1 to ${BUNDLE_VERSION}`;
  const maxKind = MAX_KIND[version]!;
  let at = 2;
  while (at < bytes.length) {
    if (at + 5 > bytes.length) return `entry header at byte ${at} is truncated`;
    const kind = bytes[at]!;
    if (kind > maxKind)
      return version === 1
        ? `entry kind ${kind} at byte ${at} is neither 0 (JSON) nor 1 (frame)`
        : `entry kind ${kind} at byte ${at} is not one of 0–${maxKind}`;
    const len =
      ((bytes[at + 1]! << 24) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 8) | bytes[at + 4]!) >>> 0;
    if (at + 5 + len > bytes.length)
      return `entry at byte ${at} says ${len} bytes but only ${bytes.length - at - 5} remain`;
    at += 5 + len;
  }
  return undefined;
}

/**
 * Calls `visit(kind, start, end)` for each entry of a bundle that `checkBundle` accepted, in
 * order, with the entry's bytes at `bytes[start..end)`; allocates nothing (a browser reads
 * thousands of entries per bundle). Stops early when `visit` returns false.
 */
export function walkBundle(
  bytes: Uint8Array,
  visit: (kind: EntryKind, start: number, end: number) => unknown,
): void {
  let at = 2;
  const n = bytes.length;
  while (at + 5 <= n) {
    const len =
      ((bytes[at + 1]! << 24) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 8) | bytes[at + 4]!) >>> 0;
    const start = at + 5;
    if (visit(bytes[at]! as EntryKind, start, start + len) === false) return;
    at = start + len;
  }
}

/** Splits a bundle into its entries (views into `bytes`); never throws. */
export function decodeBundle(bytes: Uint8Array): DecodeBundleResult {
  const error = checkBundle(bytes);
  if (error !== undefined) return { ok: false, error };
  const entries: DecodedEntry[] = [];
  walkBundle(bytes, (kind, start, end) => {
    entries.push({
      kind,
      binary: kind >= ENTRY.frame && kind <= ENTRY.frameWhole,
      data: bytes.subarray(start, end),
    });
  });
  return { ok: true, entries };
}

/**
 * A bundle's entries with its batch (kind 5) split back into its messages, each in its marker's
 * place (kind 6, with the message's JSON text as its bytes); other entries as they are. For tests
 * and tools.
 */
export function bundleMessages(
  entries: readonly DecodedEntry[],
): Array<{ kind: EntryKind; data: Uint8Array }> {
  const out: Array<{ kind: EntryKind; data: Uint8Array }> = [];
  let batch: unknown[] = [];
  let next = 0;
  const utf8 = new TextEncoder();
  for (const e of entries) {
    if (e.kind === ENTRY.jsonBatch) {
      batch = JSON.parse(new TextDecoder().decode(e.data)) as unknown[];
      next = 0;
    } else if (e.kind === ENTRY.batched) {
      const m = batch[next++];
      const msg = Array.isArray(m) ? expandCompact(m) : m;
      out.push({ kind: ENTRY.batched, data: utf8.encode(JSON.stringify(msg)) });
    } else out.push(e);
  }
  return out;
}

/**
 * Compact forms of the commonest history events in a batch (kind 5): an array whose first element
 * says which, then the message's fields in a fixed order.
 *
 *   [0, room, n, t, host, sock, kind, action, deadline]    a `timer` room.event
 *   [1, room, n, t, host, sock, cwnd, ssthresh, phase, cause]   a `cc` room.event
 *
 * About a quarter of the bytes of the whole message, and arrays of numbers and short strings parse
 * faster than objects. `expandCompact` gives the message back, its keys in the order the server
 * writes them.
 */
export const COMPACT = { timer: 0, cc: 1 } as const;

/** The message a compact array stands for, or undefined when it is not one. */
export function expandCompact(a: readonly unknown[]): Record<string, unknown> | undefined {
  const t = a[3];
  if (a[0] === COMPACT.timer && a.length === 9)
    return {
      type: 'room.event',
      room: a[1],
      n: a[2],
      t,
      event: { t, type: 'timer', host: a[4], sock: a[5], kind: a[6], action: a[7], deadline: a[8] },
    };
  if (a[0] === COMPACT.cc && a.length === 10)
    return {
      type: 'room.event',
      room: a[1],
      n: a[2],
      t,
      event: {
        t,
        type: 'cc',
        host: a[4],
        sock: a[5],
        cwnd: a[6],
        ssthresh: a[7],
        phase: a[8],
        cause: a[9],
      },
    };
  return undefined;
}

const NUM = '(-?\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?)';
const STR = '("(?:[^"\\\\]|\\\\.)*")';
const HEAD = `^\\{"type":"room\\.event","room":(\\d+),"n":(\\d+),"t":${NUM},"event":\\{"t":${NUM},"type":`;
const TIMER_RE = new RegExp(
  `${HEAD}"timer","host":("[AB]"),"sock":(\\d+),"kind":${STR},"action":${STR},"deadline":${NUM}\\}\\}$`,
);
const CC_RE = new RegExp(
  `${HEAD}"cc","host":("[AB]"),"sock":(\\d+),"cwnd":${NUM},"ssthresh":${NUM},"phase":${STR},"cause":${STR}\\}\\}$`,
);

/**
 * The compact form of a `room.event` message as the server writes it (JSON text), or undefined
 * when it is not a timer or cc event of exactly the expected fields. Works on the text, copying
 * its tokens as they are (no parsing), so the expanded message is the same JSON.
 */
export function compactEvent(text: string): string | undefined {
  if (text.length > 400) return undefined;
  if (text.includes('"type":"timer"')) {
    const m = TIMER_RE.exec(text);
    if (!m || m[3] !== m[4]) return undefined;
    return `[0,${m[1]},${m[2]},${m[3]},${m[5]},${m[6]},${m[7]},${m[8]},${m[9]}]`;
  }
  if (text.includes('"type":"cc"')) {
    const m = CC_RE.exec(text);
    if (!m || m[3] !== m[4]) return undefined;
    return `[1,${m[1]},${m[2]},${m[3]},${m[5]},${m[6]},${m[7]},${m[8]},${m[9]},${m[10]}]`;
  }
  return undefined;
}

/**
 * Where a segment frame's TCP payload starts (frame header + IPv4 header + TCP header with its
 * options), or -1 when the bytes are too short to say. Used to cut a frame for kind 2.
 */
export function framePayloadOffset(frame: Uint8Array): number {
  const hl = frame[1];
  if (hl === undefined || frame.length < hl + 20) return -1;
  const ihl = (frame[hl]! & 0x0f) * 4;
  if (ihl < 20 || frame.length < hl + ihl + 20) return -1;
  const off = (frame[hl + ihl + 12]! >>> 4) * 4;
  if (off < 20 || frame.length < hl + ihl + off) return -1;
  return hl + ihl + off;
}
