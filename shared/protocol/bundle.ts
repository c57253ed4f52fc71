/**
 * History bundles: many server messages in one binary WebSocket message.
 *
 * A newcomer gets a room's whole history (tens of thousands of JSON events and segment frames);
 * browsers pay a fixed cost per WebSocket message, so the replay is packed into bundles. Live
 * traffic is not bundled. Layout (big-endian):
 *
 *   0   1   magic 0xB7 (a segment frame starts with its version, 1, so the two never mix up)
 *   1   1   bundle version (1)
 *   then entries until the end: 1 byte kind (0 = JSON text, 1 = segment frame), 4 bytes length,
 *   that many bytes (UTF-8 JSON or a frame exactly as sent alone).
 */
export const BUNDLE_MAGIC = 0xb7;
export const BUNDLE_VERSION = 1;

export interface BundleEntry {
  binary: boolean;
  data: Uint8Array;
}

export type DecodeBundleResult = { ok: true; entries: BundleEntry[] } | { ok: false; error: string };

export function isBundle(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === BUNDLE_MAGIC;
}

export function encodeBundle(entries: readonly BundleEntry[]): Uint8Array {
  let size = 2;
  for (const e of entries) size += 5 + e.data.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = BUNDLE_MAGIC;
  out[1] = BUNDLE_VERSION;
  let at = 2;
  for (const e of entries) {
    out[at] = e.binary ? 1 : 0;
    view.setUint32(at + 1, e.data.length);
    out.set(e.data, at + 5);
    at += 5 + e.data.length;
  }
  return out;
}

/** Splits a bundle into its entries (views into `bytes`); never throws. */
export function decodeBundle(bytes: Uint8Array): DecodeBundleResult {
  if (!isBundle(bytes)) return { ok: false, error: 'not a bundle (first byte is not 0xB7)' };
  if (bytes[1] !== BUNDLE_VERSION)
    return { ok: false, error: `bundle version ${bytes[1]}, expected ${BUNDLE_VERSION}` };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entries: BundleEntry[] = [];
  let at = 2;
  while (at < bytes.length) {
    if (at + 5 > bytes.length) return { ok: false, error: `entry header at byte ${at} is truncated` };
    const kind = bytes[at]!;
    if (kind > 1)
      return { ok: false, error: `entry kind ${kind} at byte ${at} is neither 0 (JSON) nor 1 (frame)` };
    const len = view.getUint32(at + 1);
    if (at + 5 + len > bytes.length) {
      return {
        ok: false,
        error: `entry at byte ${at} says ${len} bytes but only ${bytes.length - at - 5} remain`,
      };
    }
    entries.push({ binary: kind === 1, data: bytes.subarray(at + 5, at + 5 + len) });
    at += 5 + len;
  }
  return { ok: true, entries };
}
