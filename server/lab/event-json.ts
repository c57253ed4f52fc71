/**
 * A room's `room.event` message as text, written out by hand for the kinds a room records most
 * (timer, state, call, return, socket, cc): the very bytes `JSON.stringify` gives for
 * `{ type: 'room.event', room, n, t, event }`, at a fraction of its cost (it was the largest single
 * item of a busy server's profile). The bytes must not change: a restarted server rebuilds each
 * room's history by replay and checks it against the stored one byte for byte
 * (docs/persistence.md). Any other kind goes through `JSON.stringify`.
 *
 * The templates follow the key order of the simulator's trace events (`shared/sim/network.ts`,
 * `hostEventToTrace`); test/server/event-json.test.ts compares them with `JSON.stringify` on a
 * real run, so a field added there fails it.
 */
import type { TraceEvent } from '../../shared/sim/trace.ts';

/** JSON texts of the strings seen so far (hosts, states, timer kinds, causes: a small set). */
const quoted = new Map<string, string>();
const MAX_QUOTED = 1024;

function str(s: string): string {
  let q = quoted.get(s);
  if (q === undefined) {
    q = JSON.stringify(s);
    if (quoted.size < MAX_QUOTED) quoted.set(s, q);
  }
  return q;
}

/** A number as JSON writes it (`${n}` for finite numbers, `null` otherwise). */
function num(n: number): string {
  return Number.isFinite(n) ? `${n}` : 'null';
}

/**
 * The text of `event` as JSON. `result` replaces a return's `result` with ready JSON (the room
 * puts a call's full bytes there instead of the trace's preview).
 */
export function traceEventJson(e: TraceEvent, result?: string): string {
  switch (e.type) {
    case 'timer':
      return `{"t":${num(e.t)},"type":"timer","host":${str(e.host)},"sock":${num(e.sock)},"kind":${str(e.kind)},"action":${str(e.action)},"deadline":${num(e.deadline)}}`;
    case 'state':
      return `{"t":${num(e.t)},"type":"state","host":${str(e.host)},"sock":${num(e.sock)},"from":${str(e.from)},"to":${str(e.to)},"cause":${str(e.cause)}}`;
    case 'cc':
      return `{"t":${num(e.t)},"type":"cc","host":${str(e.host)},"sock":${num(e.sock)},"cwnd":${num(e.cwnd)},"ssthresh":${num(e.ssthresh)},"phase":${str(e.phase)},"cause":${str(e.cause)}}`;
    case 'socket':
      return `{"t":${num(e.t)},"type":"socket","host":${str(e.host)},"sock":${num(e.sock)},"action":${str(e.action)}${e.parent === undefined ? '' : `,"parent":${num(e.parent)}`}}`;
    case 'call':
      return `{"t":${num(e.t)},"type":"call","host":${str(e.host)},"pid":${num(e.pid)},"callId":${num(e.callId)},"op":${str(e.op)}${e.fd === undefined ? '' : `,"fd":${num(e.fd)}`},"args":${JSON.stringify(e.args)}${e.step === undefined ? '' : `,"step":${num(e.step)}`}}`;
    case 'return':
      return `{"t":${num(e.t)},"type":"return","host":${str(e.host)},"pid":${num(e.pid)},"callId":${num(e.callId)},"op":${str(e.op)}${e.fd === undefined ? '' : `,"fd":${num(e.fd)}`},"result":${result ?? resultJson(e.result)},"blockedMs":${num(e.blockedMs)}${e.step === undefined ? '' : `,"step":${num(e.step)}`}}`;
    default:
      return JSON.stringify(e);
  }
}

/**
 * A trace's call result (`resultToJson`: `{ ok, value }` or `{ ok, errno, message }`): most calls
 * return a number, written by hand; anything else by JSON.
 */
function resultJson(r: unknown): string {
  const o = r as { ok?: unknown; value?: unknown };
  return o.ok === true && typeof o.value === 'number'
    ? `{"ok":true,"value":${num(o.value)}}`
    : JSON.stringify(r);
}

/** The `room.event` message of history entry `n` of room `room`. */
export function roomEventJson(room: number, n: number, e: TraceEvent, result?: string): string {
  return `{"type":"room.event","room":${num(room)},"n":${num(n)},"t":${num(e.t)},"event":${traceEventJson(e, result)}}`;
}
