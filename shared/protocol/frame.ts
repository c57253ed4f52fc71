/**
 * The binary segment frame: one WebSocket binary message per thing that happens to a segment on
 * the simulated link. A fixed 36-byte header, big-endian, then the real IPv4+TCP bytes, which the
 * browser decodes with `shared/tcp/codec.ts` like any capture.
 *
 * ```
 *  off size field
 *   0   1   version        FRAME_VERSION (1)
 *   1   1   headerLen      bytes before the packet (36 in version 1; a reader skips extra bytes)
 *   2   1   fate           FATES index: sent arrived dropped held duplicated released delayed corrupted
 *   3   1   dir            0 = A→B, 1 = B→A
 *   4   4   room           server-wide room number (u32)
 *   8   4   n              room event sequence number, shared with JSON `room.event`s (u32)
 *  12   4   segId          room-scoped segment id: every fate of one segment carries the same id
 *  16   8   t              virtual time in ms (float64)
 *  24   1   why            SEND_REASONS index + 1 (why the engine sent it; 0 = not given)
 *  25   1   cause          CAUSES index (why this fate: random loss, a rule, hold mode, a person…)
 *  26   2   rexmit         how many times this sequence range had been sent before (0 = original)
 *  28   4   ref            related segment id: the original of a duplicate (0 = none)
 *  32   2   ruleId         fault rule that caused this fate (0 = none)
 *  34   2   extraMs        extra flight time of a `delayed` fate, ms (saturates at 65535)
 *  36   …   packet         IPv4 header + TCP header + options + payload, with real checksums
 * ```
 *
 * Pure and isomorphic: `Uint8Array` and `DataView` only.
 */
import { put16, put32 } from '../tcp/codec.ts';
import { SEND_REASONS, type SendReason } from '../tcp/types.ts';

export const FRAME_VERSION = 1;
export const FRAME_HEADER_LEN = 36;

export type Fate =
  | 'sent'
  | 'arrived'
  | 'dropped'
  | 'held'
  | 'duplicated'
  | 'released'
  | 'delayed'
  | 'corrupted';
export const FATES: readonly Fate[] = [
  'sent',
  'arrived',
  'dropped',
  'held',
  'duplicated',
  'released',
  'delayed',
  'corrupted',
];

export type Dir = 'AB' | 'BA';

/** The wire carries the index + 1 (the list lives with the type: append only). */
export { SEND_REASONS };

/**
 * Why a segment met its fate. `none` for ordinary sends and arrivals; `loss`, `duplicate` and
 * `queue-full` are the link's seeded randomness and capacity; `rule` a fault rule (its id is in
 * `ruleId`); `hold` hold mode; `person` someone released, dropped or delayed a held segment;
 * `no-route` a segment to an address nobody has.
 */
export type Cause = 'none' | 'loss' | 'duplicate' | 'queue-full' | 'rule' | 'hold' | 'person' | 'no-route';
export const CAUSES: readonly Cause[] = [
  'none',
  'loss',
  'duplicate',
  'queue-full',
  'rule',
  'hold',
  'person',
  'no-route',
];

export interface SegmentFrame {
  room: number;
  n: number;
  segId: number;
  t: number;
  fate: Fate;
  dir: Dir;
  why?: SendReason;
  cause: Cause;
  rexmit: number;
  ref: number;
  ruleId: number;
  /** On `delayed`: the extra flight time in ms. */
  extraMs: number;
  /** IPv4+TCP bytes exactly as on a wire. */
  packet: Uint8Array;
}

export type FrameErrorKind = 'truncated' | 'bad-version' | 'bad-header-length' | 'bad-field';
export type DecodeFrameResult =
  | { ok: true; frame: SegmentFrame }
  | { ok: false; error: { kind: FrameErrorKind; message: string } };

export function encodeFrame(f: SegmentFrame): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_LEN + f.packet.length);
  encodeFrameInto(f, out, 0);
  return out;
}

/** Bytes of one float64, big-endian (module scratch: no DataView per frame). */
const f64 = new DataView(new ArrayBuffer(8));

/**
 * Writes the frame of `f` into `out` at `at` (`FRAME_HEADER_LEN + f.packet.length` bytes), e.g.
 * after a WebSocket header in the buffer that carries it.
 */
export function encodeFrameInto(f: SegmentFrame, out: Uint8Array, at: number): void {
  out[at] = FRAME_VERSION;
  out[at + 1] = FRAME_HEADER_LEN;
  out[at + 2] = indexOrThrow(FATES, f.fate, 'fate');
  out[at + 3] = f.dir === 'AB' ? 0 : 1;
  put32(out, at + 4, f.room);
  put32(out, at + 8, f.n);
  put32(out, at + 12, f.segId);
  f64.setFloat64(0, f.t);
  for (let i = 0; i < 8; i++) out[at + 16 + i] = f64.getUint8(i);
  out[at + 24] = f.why === undefined ? 0 : indexOrThrow(SEND_REASONS, f.why, 'why') + 1;
  out[at + 25] = indexOrThrow(CAUSES, f.cause, 'cause');
  put16(out, at + 26, Math.min(f.rexmit, 0xffff));
  put32(out, at + 28, f.ref);
  put16(out, at + 32, f.ruleId & 0xffff);
  put16(out, at + 34, Math.min(Math.max(0, Math.round(f.extraMs)), 0xffff));
  out.set(f.packet, at + FRAME_HEADER_LEN);
}

/** Never throws: a malformed frame is a returned error naming the problem. */
export function decodeFrame(bytes: Uint8Array): DecodeFrameResult {
  const fail = (kind: FrameErrorKind, message: string): DecodeFrameResult => ({
    ok: false,
    error: { kind, message },
  });
  if (bytes.length < 2)
    return fail('truncated', `frame of ${bytes.length} bytes is shorter than its 2-byte preamble`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = v.getUint8(0);
  if (version !== FRAME_VERSION)
    return fail('bad-version', `frame version ${version}, expected ${FRAME_VERSION}`);
  const headerLen = v.getUint8(1);
  if (headerLen < FRAME_HEADER_LEN)
    return fail('bad-header-length', `header length ${headerLen} is below the minimum ${FRAME_HEADER_LEN}`);
  if (bytes.length < headerLen)
    return fail('truncated', `frame of ${bytes.length} bytes is shorter than its ${headerLen}-byte header`);
  const fate = FATES[v.getUint8(2)];
  if (fate === undefined) return fail('bad-field', `fate code ${v.getUint8(2)} is unknown`);
  const dirCode = v.getUint8(3);
  if (dirCode > 1) return fail('bad-field', `direction code ${dirCode} is neither 0 (A→B) nor 1 (B→A)`);
  const whyCode = v.getUint8(24);
  const why = whyCode === 0 ? undefined : SEND_REASONS[whyCode - 1];
  if (whyCode !== 0 && why === undefined) return fail('bad-field', `send reason code ${whyCode} is unknown`);
  const cause = CAUSES[v.getUint8(25)];
  if (cause === undefined) return fail('bad-field', `cause code ${v.getUint8(25)} is unknown`);
  const frame: SegmentFrame = {
    room: v.getUint32(4),
    n: v.getUint32(8),
    segId: v.getUint32(12),
    t: v.getFloat64(16),
    fate,
    dir: dirCode === 0 ? 'AB' : 'BA',
    cause,
    rexmit: v.getUint16(26),
    ref: v.getUint32(28),
    ruleId: v.getUint16(32),
    extraMs: v.getUint16(34),
    packet: bytes.subarray(headerLen),
  };
  if (why !== undefined) frame.why = why;
  return { ok: true, frame };
}

function indexOrThrow<T>(list: readonly T[], value: T, field: string): number {
  const i = list.indexOf(value);
  if (i < 0) throw new RangeError(`frame ${field} ${String(value)} is not one of ${list.join(', ')}`);
  return i;
}
