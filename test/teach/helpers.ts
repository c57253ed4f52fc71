/** Helpers for the exercise/dashboard tests: socket calls and a pair solving `lose-third`. */
import type WebSocket from 'ws';
import { type Data, received, request } from '../server/helpers.ts';

export async function call(
  ws: WebSocket,
  room: number,
  host: 'A' | 'B',
  c: Record<string, unknown>,
): Promise<Data> {
  return request(ws, { type: 'sock.call', room, host, call: c });
}

/** Waits until this client has received (at any time) a JSON message matching `pred`. */
export async function seen(ws: WebSocket, pred: (d: Data) => boolean, timeoutMs = 10_000): Promise<Data> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    for (const m of received(ws)) if (m.kind === 'json' && pred(m.data)) return m.data;
    if (Date.now() > end) throw new Error(`not received within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function roomEvent(room: number, pred: (e: Data) => boolean) {
  return (d: Data) => d.type === 'room.event' && d.room === room && pred(d.event);
}

/** Plays the intended run of `lose-third`: A closes first, B's FIN is lost and retransmitted. */
export async function solveLoseThird(a: WebSocket, b: WebSocket, room: number): Promise<void> {
  const lsn = (await call(b, room, 'B', { op: 'socket' })).result.value as number;
  await call(b, room, 'B', { op: 'bind', fd: lsn, port: 80 });
  await call(b, room, 'B', { op: 'listen', fd: lsn });
  await call(b, room, 'B', { op: 'accept', fd: lsn });
  const c = (await call(a, room, 'A', { op: 'socket' })).result.value as number;
  await call(a, room, 'A', { op: 'connect', fd: c, addr: '10.0.0.2', port: 80 });
  const ret = await seen(
    b,
    roomEvent(room, (e) => e.type === 'return' && e.host === 'B' && e.op === 'accept'),
  );
  const v = ret.event.result.value;
  const connFd = (typeof v === 'number' ? v : v.fd) as number;
  await seen(
    a,
    roomEvent(room, (e) => e.type === 'state' && e.host === 'A' && e.to === 'ESTABLISHED'),
  );
  await call(a, room, 'A', { op: 'close', fd: c });
  await call(b, room, 'B', { op: 'recv', fd: connFd });
  await seen(
    b,
    roomEvent(room, (e) => e.type === 'state' && e.host === 'B' && e.to === 'CLOSE-WAIT'),
  );
  await call(b, room, 'B', { op: 'close', fd: connFd });
}
