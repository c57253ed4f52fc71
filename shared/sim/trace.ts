/**
 * The simulator's trace: one plain JSON object per event, each with `t` (virtual ms) and `type`.
 * Key order is fixed by construction, so `JSON.stringify` of the same run is the same bytes; the
 * format is documented in docs/scenarios.md and is a stable interface for teachers' tools.
 */
import { ACK, flagNames, type Packet, SYN, type TcpOption } from '../tcp/packet.ts';
import type {
  CallOp,
  CallResult,
  CcPhase,
  DiscardReason,
  SendReason,
  TcpState,
  TimerKind,
} from '../tcp/types.ts';
import type { LinkSettings } from './link.ts';

/** What happened to a segment. */
export type SegmentEventKind = 'send' | 'arrive' | 'drop' | 'dup' | 'hold' | 'release' | 'delay' | 'corrupt';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export type JsonOption =
  | { kind: 'eol' }
  | { kind: 'nop' }
  | { kind: 'mss'; value: number }
  | { kind: 'wscale'; shift: number }
  | { kind: 'sack-permitted' }
  | { kind: 'sack'; blocks: Array<{ left: number; right: number }> }
  | { kind: 'timestamps'; tsval: number; tsecr: number }
  | { kind: 'unknown'; type: number; hex: string };

/** The header fields every segment event repeats, so any one line can be read on its own. */
export interface SegmentSummary {
  sport: number;
  dport: number;
  flags: string[];
  seq: number;
  ack: number;
  /** seq relative to the sender's ISN (the first SYN it sent on this 4-tuple), as Wireshark shows it. */
  rseq: number;
  /** ack relative to the receiver's ISN; present only when the ACK flag is set. */
  rack?: number;
  /** Payload bytes. */
  len: number;
  /** Window field as carried (unscaled). */
  win: number;
  options: JsonOption[];
}

/** A segment event's own fields: which segment, what happened to it, when and why. */
export interface SegmentHead {
  t: number;
  type: 'segment';
  id: number;
  from: string;
  to: string;
  event: SegmentEventKind;
  /** Why a segment was dropped, held or changed: `loss`, `queue-full`, `rule:<id>`, `hold`, `user`, `no-route`. */
  reason?: string;
  /** On `dup`: the id of the segment this one copies. */
  dupOf?: number;
  /** On `delay`: extra ms in flight. */
  delayMs?: number;
  /** The engine's reason for sending it. */
  why?: SendReason;
  /** On retransmissions: how many times this range had been sent before. */
  rexmit?: number;
}

/** The packet a segment event carries (on `send`, `dup` and `corrupt`). */
export interface SegmentBytes {
  /** The IPv4 packet exactly as on the wire (on `send` and `dup` only, and not in bench mode). */
  hex?: string;
  /**
   * The same bytes as they are, instead of `hex`, for a subscriber that asked for them
   * (`NetworkOptions.rawBytes`); not part of the JSON trace.
   */
  bytes?: Uint8Array;
}

/** A segment event of the trace: its own fields, the header summary, then its bytes. */
export type SegmentTrace = SegmentHead & SegmentSummary & SegmentBytes;

/**
 * A segment event without the header summary, as a network built with `summaries: false` emits
 * it (for a subscriber that needs only what happened to which segment, such as a room without an
 * exercise: its frames carry the packet's bytes).
 */
export type BareSegmentTrace = SegmentHead & SegmentBytes;

/** An event of a network built with `summaries: false` (`Network.subscribeBare`). */
export type BareTraceEvent = Exclude<TraceEvent, SegmentTrace> | BareSegmentTrace;

/** Whether `e` is a whole trace event (a segment event with its header summary, or any other). */
export function hasSummary(e: BareTraceEvent): e is TraceEvent {
  return e.type !== 'segment' || 'sport' in e;
}

export type TraceEvent =
  | {
      t: number;
      type: 'call';
      host: string;
      pid: number;
      callId: number;
      op: CallOp;
      fd?: number;
      args: JsonValue;
      /** Index of the scenario step that made this call, when a scenario did. */
      step?: number;
    }
  | {
      t: number;
      type: 'return';
      host: string;
      pid: number;
      callId: number;
      op: CallOp;
      fd?: number;
      result: JsonValue;
      blockedMs: number;
      step?: number;
    }
  | SegmentTrace
  | { t: number; type: 'state'; host: string; sock: number; from: TcpState; to: TcpState; cause: string }
  | {
      t: number;
      type: 'timer';
      host: string;
      sock: number;
      kind: TimerKind;
      action: 'set' | 'fire' | 'cancel';
      deadline: number;
    }
  | {
      t: number;
      type: 'discard';
      host: string;
      sock?: number;
      /** The network id of the segment being delivered when the host discarded it. */
      id?: number;
      reason: DiscardReason;
      detail: string;
    }
  | { t: number; type: 'socket'; host: string; sock: number; action: 'create' | 'free'; parent?: number }
  | {
      t: number;
      type: 'cc';
      host: string;
      sock: number;
      cwnd: number;
      ssthresh: number;
      phase: CcPhase;
      cause: string;
    }
  | { t: number; type: 'link'; from: string; to: string; settings: LinkSettings }
  | { t: number; type: 'rule'; action: 'add' | 'remove'; rule: JsonValue }
  | { t: number; type: 'hold'; from: string; to: string; on: boolean }
  | { t: number; type: 'error'; step?: number; message: string };

export type TraceType = TraceEvent['type'];

/** Times in the trace are rounded to the nanosecond so serialisation noise never shows. */
export function roundMs(t: number): number {
  return Math.round(t * 1e6) / 1e6;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]!];
  return s;
}

/** How many bytes of payload preview a trace shows. */
export const PREVIEW_BYTES = 64;

/**
 * Bytes as JSON: `{ bytes, text }` when printable ASCII (plus \n \r \t), else `{ bytes, hex }`;
 * at most PREVIEW_BYTES are shown, with `truncated: true` when there were more.
 */
export function bytesToJson(data: Uint8Array): JsonValue {
  const shown = data.subarray(0, PREVIEW_BYTES);
  let printable = true;
  for (let i = 0; i < shown.length; i++) {
    const b = shown[i]!;
    if ((b < 0x20 || b > 0x7e) && b !== 0x0a && b !== 0x0d && b !== 0x09) {
      printable = false;
      break;
    }
  }
  const out: { [key: string]: JsonValue } = { bytes: data.length };
  // Not `fromCharCode(...shown)`: spreading a typed array walks its iterator, an object per byte.
  if (printable) out.text = String.fromCharCode.apply(null, shown as unknown as number[]);
  else out.hex = toHex(shown);
  if (data.length > PREVIEW_BYTES) out.truncated = true;
  return out;
}

/** Any engine value as JSON: Uint8Array as `bytesToJson`, undefined fields dropped. */
export function toJson(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  if (value instanceof Uint8Array) return bytesToJson(value);
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === 'object') {
    const out: { [key: string]: JsonValue } = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJson(v);
    return out;
  }
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  return String(value);
}

export function resultToJson(result: CallResult): JsonValue {
  return result.ok
    ? { ok: true, value: toJson(result.value) }
    : { ok: false, errno: result.errno, message: result.message };
}

export function optionsToJson(options: readonly TcpOption[]): JsonOption[] {
  return options.map((o) =>
    o.kind === 'unknown'
      ? { kind: 'unknown', type: o.type, hex: toHex(o.data) }
      : o.kind === 'sack'
        ? { kind: 'sack', blocks: o.blocks.map((b) => ({ left: b.left, right: b.right })) }
        : { ...o },
  );
}

/** Length of the TCP options on the wire, padded to 32 bits. */
export function optionsWireLength(options: readonly TcpOption[]): number {
  let n = 0;
  for (let i = 0; i < options.length; i++) {
    const o = options[i]!;
    switch (o.kind) {
      case 'eol':
      case 'nop':
        n += 1;
        break;
      case 'mss':
        n += 4;
        break;
      case 'wscale':
        n += 3;
        break;
      case 'sack-permitted':
        n += 2;
        break;
      case 'sack':
        n += 2 + 8 * o.blocks.length;
        break;
      case 'timestamps':
        n += 10;
        break;
      case 'unknown':
        n += 2 + o.data.length;
        break;
    }
  }
  return (n + 3) & ~3;
}

/** IPv4 total length of a packet without encoding it (20 + 20 + options + payload). */
export function packetWireLength(p: Packet): number {
  return 40 + optionsWireLength(p.tcp.options) + p.tcp.payload.length;
}

/**
 * Relative sequence numbers as Wireshark computes them: per direction of a 4-tuple, the base is the
 * sequence number of the last SYN sent in that direction (or of the first segment seen when no SYN
 * was). A SYN without ACK and with a new sequence number starts a new conversation on a reused
 * 4-tuple, so the reverse base is forgotten.
 */
export class RelativeSeq {
  private bases = new Map<string, number>();

  summarize(p: Packet): SegmentSummary {
    const tcp = p.tcp;
    const fwd = `${p.ip.src}:${tcp.srcPort}>${p.ip.dst}:${tcp.dstPort}`;
    const rev = `${p.ip.dst}:${tcp.dstPort}>${p.ip.src}:${tcp.srcPort}`;
    if (tcp.flags & SYN) {
      const known = this.bases.get(fwd);
      if (!(tcp.flags & ACK) && known !== undefined && known !== tcp.seq) this.bases.delete(rev);
      this.bases.set(fwd, tcp.seq);
    }
    let base = this.bases.get(fwd);
    if (base === undefined) {
      base = tcp.seq;
      this.bases.set(fwd, base);
    }
    const flags = flagList(tcp.flags);
    const rseq = (tcp.seq - base) >>> 0;
    const len = tcp.payload.length;
    const options = tcp.options.length === 0 ? NO_OPTIONS_JSON : optionsToJson(tcp.options);
    // The documented key order: rack (when ACK is set) after rseq.
    if (!(tcp.flags & ACK))
      return {
        sport: tcp.srcPort,
        dport: tcp.dstPort,
        flags,
        seq: tcp.seq,
        ack: tcp.ack,
        rseq,
        len,
        win: tcp.window,
        options,
      };
    const rbase = this.bases.get(rev);
    const rack = rbase === undefined ? tcp.ack : (tcp.ack - rbase) >>> 0;
    return {
      sport: tcp.srcPort,
      dport: tcp.dstPort,
      flags,
      seq: tcp.seq,
      ack: tcp.ack,
      rseq,
      rack,
      len,
      win: tcp.window,
      options,
    };
  }
}

/** Every segment's flag names come from one frozen list per combination (a trace holds many). */
const FLAG_LISTS: Array<readonly string[] | undefined> = [];
function flagList(flags: number): string[] {
  let list = FLAG_LISTS[flags];
  if (list === undefined) FLAG_LISTS[flags] = list = Object.freeze(flagNames(flags));
  return list as string[];
}

const NO_OPTIONS_JSON = Object.freeze([]) as unknown as JsonOption[];

/** One line of NDJSON per event. */
export function toNdjson(events: readonly TraceEvent[]): string {
  let s = '';
  for (const e of events) s += `${JSON.stringify(e)}\n`;
  return s;
}
