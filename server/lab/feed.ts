/**
 * A connection's view of one room: it sends the room's snapshot, then the history from the start
 * at the pace the connection drains it (so a newcomer with a slow link never trips the slow-client
 * limit on 20,000 old events), then switches to live, where each new entry is sent as it happens.
 *
 * A connection that asked for the headers-first replay (`/ws?replay=headers-first`, the web app)
 * gets the history without what its first render does not need: segment frames without their
 * TCP payload and long `recv()` results shortened (bundle kinds 2 and 4); after `room.synced`, while
 * live entries flow, the payloads of the frames it keeps (sent, duplicated and corrupted copies)
 * follow, newest first, as whole frames (kind 3). Its JSON messages come batched, one JSON array
 * per bundle (kinds 5 and 6), timer and cc events in a compact form. docs/protocol.md,
 * "Headers-first replay".
 */
import {
  type BundleEntry,
  compactEvent,
  ENTRY,
  encodeBundle,
  framePayloadOffset,
  SHORT_VALUE_BYTES,
} from '../../shared/protocol/bundle.ts';
import { FATES } from '../../shared/protocol/frame.ts';
import type { Connection } from './connection.ts';
import type { HistoryEntry, Room, RoomFeed } from './room.ts';

/** History replay bundles this many messages or bytes (well under the 8 MiB slow-client limit), then waits for the socket to take them. */
export const REPLAY_CHUNK_MESSAGES = 4096;
export const REPLAY_CHUNK_BYTES = 256 * 1024;

/** The `/ws` query that asks for the headers-first replay. */
export const HEADERS_FIRST_QUERY = 'replay=headers-first';

const headersFirst = new WeakSet<Connection>();

/** Called with the upgrade request's URL: `/ws?replay=headers-first` opts the connection in. */
export function replayModeFromUrl(conn: Connection, url: string | undefined): void {
  const q = url?.indexOf('?') ?? -1;
  if (q >= 0 && new URLSearchParams(url!.slice(q + 1)).get('replay') === 'headers-first')
    headersFirst.add(conn);
}

/** Fates whose payload the headers-first replay sends later (the client keeps these bytes). */
const KEPT_FATES = new Set(['sent', 'duplicated', 'corrupted'].map((f) => FATES.indexOf(f as never)));

/**
 * A `room.event` message names its event's type at its second `"type":"` (after the message's
 * own, `{"type":"room.event",…,"event":{"t":…,"type":"`): read there, without parsing.
 */
const TYPE = Buffer.from('"type":"');
const TIMER = Buffer.from('timer"');
const RETURN = Buffer.from('return"');
const CC = Buffer.from('cc"');

/** Whether `data`, a `room.event` message, is an event of type `a` or `b` (each `name"`). */
function isEventOf(data: Uint8Array, a: Uint8Array, b = a): boolean {
  const text = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length);
  const at = text.indexOf(TYPE, 2) + TYPE.length;
  return at >= TYPE.length && (startsWith(text, at, a) || startsWith(text, at, b));
}

function startsWith(b: Uint8Array, at: number, prefix: Uint8Array): boolean {
  if (at + prefix.length > b.length) return false;
  for (let i = 0; i < prefix.length; i++) if (b[at + i] !== prefix[i]) return false;
  return true;
}

/** JSON entries longer than this may hold a long byte value worth shortening. */
const LONG_JSON = 512;
const SHORT_B64 = (SHORT_VALUE_BYTES / 3) * 4;
/** Shortened JSON per history entry (null: nothing to shorten), computed once for every feed. */
const shortened = new WeakMap<HistoryEntry, Buffer | null>();

function shortJson(e: HistoryEntry): Buffer | null {
  // Only a call's return holds a byte value (recv's data): the others are not even parsed.
  if (e.data.length <= LONG_JSON || !isEventOf(e.data, RETURN)) return null;
  let out = shortened.get(e);
  if (out !== undefined) return out;
  out = null;
  try {
    const m = JSON.parse(e.data.toString('utf8')) as { event?: { type?: unknown; result?: unknown } };
    const result =
      m.event?.type === 'return' ? (m.event.result as { value?: unknown } | undefined) : undefined;
    const v = result?.value as { b64?: unknown } | undefined;
    if (v && typeof v.b64 === 'string' && v.b64.length > SHORT_B64) {
      const b64 = v.b64;
      const pad = b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0;
      result!.value = {
        ...v,
        b64: b64.slice(0, SHORT_B64),
        bytes: (b64.length / 4) * 3 - pad,
        truncated: true,
      };
      out = Buffer.from(JSON.stringify(m));
    }
  } catch {
    out = null;
  }
  shortened.set(e, out);
  return out;
}

/** The batch marker (bundle kind 6): no bytes. */
const BATCHED: BundleEntry = { binary: false, kind: ENTRY.batched, data: new Uint8Array(0) };
const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');

/** A batch element: the message's compact form when it has one (shared/protocol/bundle.ts), else its text. */
function compact(data: Uint8Array): Uint8Array {
  if (data.length > 400) return data;
  if (!isEventOf(data, TIMER, CC)) return data;
  // latin1 keeps every byte as one character, so the tokens copied go back byte for byte.
  const c = compactEvent(Buffer.from(data.buffer, data.byteOffset, data.length).toString('latin1'));
  return c === undefined ? data : Buffer.from(c, 'latin1');
}

/** `[m1,m2,…]` from JSON texts. */
function jsonArray(texts: Uint8Array[]): Buffer {
  const parts: Uint8Array[] = [OPEN];
  for (let i = 0; i < texts.length; i++) {
    if (i > 0) parts.push(COMMA);
    parts.push(texts[i]!);
  }
  parts.push(CLOSE);
  return Buffer.concat(parts);
}

export class Feed implements RoomFeed {
  /** Index of the next history entry to send. */
  private cursor = 0;
  /** True once the history is sent: new entries go out as they happen. */
  live = false;
  private waiting = false;
  /** Headers-first replay: history indexes of cut frames whose whole bytes are still to send. */
  private later: number[] = [];
  /** Bumped by every (re)start: a pending send of an older replay does not resume it. */
  private generation = 0;

  constructor(
    readonly conn: Connection,
    readonly room: Room,
  ) {}

  private get headersFirst(): boolean {
    return headersFirst.has(this.conn);
  }

  /** Sends the snapshot and starts the history replay. */
  start(): void {
    this.live = false;
    this.cursor = 0;
    this.later = [];
    this.generation++;
    this.waiting = false;
    this.conn.send(this.room.snapshotMessage(), false);
    this.pump();
  }

  onEntry(entry: HistoryEntry, n: number): void {
    if (!this.live) return;
    this.cursor = n + 1;
    this.conn.sendShared(entry.data, entry.binary, entry.frame);
  }

  onReset(): void {
    this.start();
  }

  onNotice(data: Buffer): void {
    this.conn.sendShared(data, false);
  }

  /** Sends one bundle; with `then`, calls it once the socket has taken it (false: connection gone). */
  private sendBundle(entries: BundleEntry[], then?: () => void): boolean {
    const bundle = Buffer.from(encodeBundle(entries));
    if (!then) return this.conn.send(bundle, true);
    const generation = this.generation;
    this.waiting = true;
    const sent = this.conn.send(bundle, true, () => {
      if (generation !== this.generation) return;
      this.waiting = false;
      if (!this.conn.closed && this.room.feeds.has(this)) then();
    });
    if (!sent) this.waiting = false;
    return sent;
  }

  /** The history entry at `index` as the replay sends it. */
  private replayEntry(e: HistoryEntry, index: number): BundleEntry {
    if (!this.headersFirst) return { binary: e.binary, data: e.data };
    if (!e.binary) {
      const short = shortJson(e);
      return short ? { binary: false, kind: ENTRY.jsonShort, data: short } : { binary: false, data: e.data };
    }
    const cut = framePayloadOffset(e.data);
    if (cut < 0 || cut >= e.data.length) return { binary: true, data: e.data };
    if (KEPT_FATES.has(e.data[2]!)) this.later.push(index);
    return { binary: true, kind: ENTRY.frameCut, data: e.data.subarray(0, cut) };
  }

  /**
   * Sends the next chunk of history as one bundle (shared/protocol/bundle.ts): browsers pay per
   * WebSocket message, so tens of thousands of small messages would take seconds. After each
   * chunk it waits for the socket to take it, then goes on. Headers-first: the chunk's JSON
   * messages go as one batch (kind 5) at the bundle's head, each marked in its place (kind 6).
   */
  private pump(): void {
    if (this.waiting) return; // the pending write callback resumes the replay
    const history = this.room.history;
    const batching = this.headersFirst;
    while (this.cursor < history.length) {
      const entries: BundleEntry[] = [];
      const batch: Uint8Array[] = [];
      let bytes = 0;
      while (
        this.cursor < history.length &&
        bytes < REPLAY_CHUNK_BYTES &&
        entries.length < REPLAY_CHUNK_MESSAGES
      ) {
        const index = this.cursor++;
        const e = this.replayEntry(history[index]!, index);
        bytes += e.data.length;
        if (batching && !e.binary) {
          batch.push(compact(e.data));
          entries.push(BATCHED);
        } else entries.push(e);
      }
      if (batch.length > 0) entries.unshift({ binary: false, kind: ENTRY.jsonBatch, data: jsonArray(batch) });
      if (this.cursor < history.length) {
        this.sendBundle(entries, () => this.pump());
        return;
      }
      if (!this.sendBundle(entries)) return;
    }
    this.live = true;
    this.conn.json({ type: 'room.synced', room: this.room.id, nextN: this.cursor });
    this.pumpLater();
  }

  /** Headers-first: the whole frames of what was cut, newest first, a chunk at a time. */
  private pumpLater(): void {
    const history = this.room.history;
    while (this.later.length > 0) {
      const entries: BundleEntry[] = [];
      let bytes = 0;
      while (this.later.length > 0 && bytes < REPLAY_CHUNK_BYTES && entries.length < REPLAY_CHUNK_MESSAGES) {
        const e = history[this.later.pop()!]!;
        entries.push({ binary: true, kind: ENTRY.frameWhole, data: e.data });
        bytes += e.data.length;
      }
      if (this.later.length > 0) {
        this.sendBundle(entries, () => this.pumpLater());
        return;
      }
      this.sendBundle(entries);
    }
  }
}
