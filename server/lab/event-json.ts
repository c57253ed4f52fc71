/**
 * A room's `room.event` message, written by hand for the kinds a room records most (timer, state,
 * call, return, socket, cc): the very bytes `JSON.stringify` gives for
 * `{ type: 'room.event', room, n, t, event }`, at a fraction of its cost (it was the largest single
 * item of a busy server's profile). The bytes must not change: a restarted server rebuilds each
 * room's history by replay and checks it against the stored one byte for byte
 * (docs/persistence.md). Any other kind goes through `JSON.stringify`.
 *
 * The text is written as bytes straight into the WebSocket message every feed is sent, instead of
 * a string built by templates, flattened, measured (`Buffer.byteLength`) and encoded
 * (`Buffer.write`): those strings were a third of what a room allocated per classroom loop.
 * Messages are carved out of a shared 64 KiB slab, as Node's Buffer pool does, each a view of
 * bytes nothing else ever writes.
 *
 * The templates follow the key order of the simulator's trace events (`shared/sim/network.ts`,
 * `hostEventToTrace`); test/server/event-json.test.ts compares them with `JSON.stringify` on a
 * real run, so a field added there fails it.
 */
import type { BareTraceEvent } from '../../shared/sim/trace.ts';

/** A history entry's bytes: the JSON text (`data`) and the WebSocket message around it (`frame`). */
export interface EventBytes {
  data: Buffer;
  frame: Buffer;
}

const SLAB_BYTES = 64 * 1024;
/** Room for the WebSocket header (2, 4 or 10 bytes) before each message's text. */
const HEADER_ROOM = 10;
let slab = Buffer.allocUnsafe(SLAB_BYTES);
/** Where the message being written starts (its header room), and the next byte to write. */
let start = 0;
let pos = 0;

/** Makes room for `n` more bytes of the message being written (moved to a new slab if need be). */
function ensure(n: number): void {
  if (pos + n <= slab.length) return;
  const written = pos - start;
  const next = Buffer.allocUnsafe(Math.max(SLAB_BYTES, (2 * (written + n) + 7) & ~7));
  slab.copy(next, 0, start, pos);
  slab = next;
  start = 0;
  pos = written;
}

/** ASCII text as it is. */
function ascii(s: string): void {
  const n = s.length;
  ensure(n);
  const b = slab;
  let p = pos;
  for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
  pos = p;
}

/** Any text as UTF-8. */
function utf8(s: string): void {
  ensure(3 * s.length);
  pos += slab.write(s, pos, 'utf8');
}

/** Pre-encoded bytes. */
function put(q: Uint8Array): void {
  const n = q.length;
  ensure(n);
  slab.set(q, pos);
  pos += n;
}

/** JSON texts of the strings seen so far (hosts, states, timer kinds, causes: a small set), as bytes. */
const quoted = new Map<string, Uint8Array>();
const MAX_QUOTED = 1024;

/** A string as JSON. */
function str(s: string): void {
  let q = quoted.get(s);
  if (q === undefined) {
    q = Buffer.from(JSON.stringify(s));
    if (quoted.size < MAX_QUOTED) quoted.set(s, q);
  }
  put(q);
}

/** A number as JSON writes it (`${n}` for finite numbers, `null` otherwise). */
function num(n: number): void {
  if (!(Number.isSafeInteger(n) && n >= 0)) {
    ascii(Number.isFinite(n) ? `${n}` : 'null');
    return;
  }
  // Most numbers of a trace are small integers (ids, sockets, whole ms): their digits by hand.
  ensure(16);
  let digits = 1;
  for (let m = n; m >= 10; m = Math.floor(m / 10)) digits++;
  const end = pos + digits;
  let p = end;
  let m = n;
  do {
    slab[--p] = 48 + (m % 10);
    m = Math.floor(m / 10);
  } while (p > pos);
  pos = end;
}

const piece = (s: string) => Buffer.from(s, 'latin1');
const P = {
  head: piece('{"type":"room.event","room":'),
  n: piece(',"n":'),
  t: piece(',"t":'),
  /** `,"event":` then, for the hand-written kinds, `{"t":`. */
  event: piece(',"event":{"t":'),
  eventOnly: piece(',"event":'),
  timer: piece(',"type":"timer","host":'),
  state: piece(',"type":"state","host":'),
  cc: piece(',"type":"cc","host":'),
  socket: piece(',"type":"socket","host":'),
  call: piece(',"type":"call","host":'),
  ret: piece(',"type":"return","host":'),
  sock: piece(',"sock":'),
  kind: piece(',"kind":'),
  action: piece(',"action":'),
  deadline: piece(',"deadline":'),
  from: piece(',"from":'),
  to: piece(',"to":'),
  cause: piece(',"cause":'),
  cwnd: piece(',"cwnd":'),
  ssthresh: piece(',"ssthresh":'),
  phase: piece(',"phase":'),
  parent: piece(',"parent":'),
  pid: piece(',"pid":'),
  callId: piece(',"callId":'),
  op: piece(',"op":'),
  fd: piece(',"fd":'),
  args: piece(',"args":'),
  result: piece(',"result":'),
  okValue: piece('{"ok":true,"value":'),
  blockedMs: piece(',"blockedMs":'),
  step: piece(',"step":'),
};
const CLOSE = 0x7d; // }

function close(): void {
  ensure(1);
  slab[pos++] = CLOSE;
}

/**
 * The message's `event`. `result` replaces a return's `result` with ready JSON (the room puts a
 * call's full bytes there instead of the trace's preview).
 */
function event(e: BareTraceEvent, result: string | undefined): void {
  switch (e.type) {
    case 'timer':
      put(P.event);
      num(e.t);
      put(P.timer);
      str(e.host);
      put(P.sock);
      num(e.sock);
      put(P.kind);
      str(e.kind);
      put(P.action);
      str(e.action);
      put(P.deadline);
      num(e.deadline);
      break;
    case 'state':
      put(P.event);
      num(e.t);
      put(P.state);
      str(e.host);
      put(P.sock);
      num(e.sock);
      put(P.from);
      str(e.from);
      put(P.to);
      str(e.to);
      put(P.cause);
      str(e.cause);
      break;
    case 'cc':
      put(P.event);
      num(e.t);
      put(P.cc);
      str(e.host);
      put(P.sock);
      num(e.sock);
      put(P.cwnd);
      num(e.cwnd);
      put(P.ssthresh);
      num(e.ssthresh);
      put(P.phase);
      str(e.phase);
      put(P.cause);
      str(e.cause);
      break;
    case 'socket':
      put(P.event);
      num(e.t);
      put(P.socket);
      str(e.host);
      put(P.sock);
      num(e.sock);
      put(P.action);
      str(e.action);
      if (e.parent !== undefined) {
        put(P.parent);
        num(e.parent);
      }
      break;
    case 'call':
    case 'return':
      put(P.event);
      num(e.t);
      put(e.type === 'call' ? P.call : P.ret);
      str(e.host);
      put(P.pid);
      num(e.pid);
      put(P.callId);
      num(e.callId);
      put(P.op);
      str(e.op);
      if (e.fd !== undefined) {
        put(P.fd);
        num(e.fd);
      }
      if (e.type === 'call') {
        put(P.args);
        utf8(JSON.stringify(e.args));
      } else {
        put(P.result);
        if (result !== undefined) utf8(result);
        else resultJson(e.result);
        put(P.blockedMs);
        num(e.blockedMs);
      }
      if (e.step !== undefined) {
        put(P.step);
        num(e.step);
      }
      break;
    default:
      put(P.eventOnly);
      utf8(JSON.stringify(e));
      return;
  }
  close();
}

/**
 * A trace's call result (`resultToJson`: `{ ok, value }` or `{ ok, errno, message }`): most calls
 * return a number, written by hand; anything else by JSON.
 */
function resultJson(r: unknown): void {
  const o = r as { ok?: unknown; value?: unknown };
  if (o.ok === true && typeof o.value === 'number') {
    put(P.okValue);
    num(o.value);
    close();
  } else utf8(JSON.stringify(r));
}

/**
 * The `room.event` message of history entry `n` of room `room`: its JSON text and the WebSocket
 * text message that carries it (the same bytes). `result`: see `event`.
 */
export function roomEventBytes(room: number, n: number, e: BareTraceEvent, result?: string): EventBytes {
  ensure(HEADER_ROOM + 256);
  start = pos;
  pos += HEADER_ROOM;
  put(P.head);
  num(room);
  put(P.n);
  num(n);
  put(P.t);
  num(e.t);
  event(e, result);
  close();
  // The header just before the text (RFC 6455 §5.2): FIN and the text opcode, then the length.
  const body = start + HEADER_ROOM;
  const len = pos - body;
  let at: number;
  if (len < 126) {
    at = body - 2;
    slab[at + 1] = len;
  } else if (len < 65536) {
    at = body - 4;
    slab[at + 1] = 126;
    slab.writeUInt16BE(len, at + 2);
  } else {
    at = body - 10;
    slab[at + 1] = 127;
    slab.writeUInt32BE(Math.floor(len / 2 ** 32), at + 2);
    slab.writeUInt32BE(len >>> 0, at + 6);
  }
  slab[at] = 0x81;
  const frame = slab.subarray(at, pos);
  const data = slab.subarray(body, pos);
  // The next message starts on an 8-byte boundary (slabs are multiples of 8 bytes).
  pos = (pos + 7) & ~7;
  start = pos;
  return { data, frame };
}

/** The `room.event` message of history entry `n` of room `room`, as text. */
export function roomEventJson(room: number, n: number, e: BareTraceEvent, result?: string): string {
  return roomEventBytes(room, n, e, result).data.toString('utf8');
}
