/**
 * History bundles: many server messages in one binary WebSocket message.
 *
 * A newcomer gets a room's whole history (tens of thousands of JSON events and segment frames);
 * browsers pay a fixed cost per WebSocket message, so the replay is packed into bundles. Live
 * traffic is not bundled. Layout (big-endian):
 *
 *   0   1   magic 0xB7 (a segment frame starts with its version, 1, so the two never mix up)
 *   1   1   bundle version: 1 when every entry is of kind 0 or 1, else 2
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
 *
 * Kinds 2–4 are the headers-first replay (docs/protocol.md), which only a client that asked for
 * it receives.
 */
export const BUNDLE_MAGIC = 0xb7;
export const BUNDLE_VERSION = 2;

export const ENTRY = {
  json: 0,
  frame: 1,
  frameCut: 2,
  frameWhole: 3,
  jsonShort: 4,
} as const;
export type EntryKind = (typeof ENTRY)[keyof typeof ENTRY];

/** Bytes of a shortened byte value that kind 4 keeps (a multiple of 3: base64 without padding). */
export const SHORT_VALUE_BYTES = 96;

export interface BundleEntry {
  /** True for the frame kinds (1, 2, 3). */
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

export function encodeBundle(entries: readonly BundleEntry[]): Uint8Array {
  let size = 2;
  let version = 1;
  for (const e of entries) {
    size += 5 + e.data.length;
    if ((e.kind ?? 0) > 1) version = 2;
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

/** Splits a bundle into its entries (views into `bytes`); never throws. */
export function decodeBundle(bytes: Uint8Array): DecodeBundleResult {
  if (!isBundle(bytes)) return { ok: false, error: 'not a bundle (first byte is not 0xB7)' };
  const version = bytes[1]!;
  if (version !== 1 && version !== 2)
    return { ok: false, error: `bundle version ${version}, expected 1 or ${BUNDLE_VERSION}` };
  const maxKind = version === 1 ? ENTRY.frame : ENTRY.jsonShort;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entries: DecodedEntry[] = [];
  let at = 2;
  while (at < bytes.length) {
    if (at + 5 > bytes.length) return { ok: false, error: `entry header at byte ${at} is truncated` };
    const kind = bytes[at]!;
    if (kind > maxKind)
      return {
        ok: false,
        error:
          version === 1
            ? `entry kind ${kind} at byte ${at} is neither 0 (JSON) nor 1 (frame)`
            : `entry kind ${kind} at byte ${at} is not one of 0–4`,
      };
    const len = view.getUint32(at + 1);
    if (at + 5 + len > bytes.length) {
      return {
        ok: false,
        error: `entry at byte ${at} says ${len} bytes but only ${bytes.length - at - 5} remain`,
      };
    }
    entries.push({
      kind: kind as EntryKind,
      binary: kind >= ENTRY.frame && kind <= ENTRY.frameWhole,
      data: bytes.subarray(at + 5, at + 5 + len),
    });
    at += 5 + len;
  }
  return { ok: true, entries };
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
