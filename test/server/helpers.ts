/**
 * Test helpers for the lab server: a started app on an ephemeral loopback port, and `ws` clients
 * whose incoming messages are queued so a test awaits exactly the next one (`nextMessage`),
 * never sleeping or polling.
 */

import type { FastifyInstance } from 'fastify';
import WebSocket from 'ws';
import { type BuildOptions, buildApp } from '../../server/app.ts';
import { decodeBundle, isBundle } from '../../shared/protocol/bundle.ts';
import { decodeFrame, type SegmentFrame } from '../../shared/protocol/frame.ts';

export const KEY = 'test-instructor-key';

export type Msg =
  | { kind: 'json'; data: Record<string, unknown> & { type: string }; raw: Buffer }
  | { kind: 'frame'; frame: SegmentFrame; raw: Buffer };

interface Inbox {
  queue: Msg[];
  /** Every message ever received, in order. */
  log: Msg[];
  waiter: (() => void) | undefined;
  closed: { code: number; reason: string } | undefined;
}

const inboxes = new WeakMap<WebSocket, Inbox>();

export async function startApp(opts: BuildOptions = {}): Promise<{ app: FastifyInstance; url: string }> {
  const app = await buildApp({ logger: false, instructorKey: KEY, webRoot: null, ...opts });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return { app, url: `ws://127.0.0.1:${addr.port}/ws` };
}

export function connect(url: string, opts: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, opts);
  const inbox: Inbox = { queue: [], log: [], waiter: undefined, closed: undefined };
  inboxes.set(ws, inbox);
  const take = (data: Buffer, isBinary: boolean): void => {
    let msg: Msg;
    if (isBinary) {
      const r = decodeFrame(new Uint8Array(data));
      if (!r.ok) throw new Error(`bad frame from server: ${r.error.message}`);
      msg = { kind: 'frame', frame: r.frame, raw: data };
    } else {
      msg = { kind: 'json', data: JSON.parse(data.toString()), raw: data };
    }
    inbox.queue.push(msg);
    inbox.log.push(msg);
  };
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    // History comes in bundles: unpack them into the messages they carry, in order.
    if (isBinary && isBundle(data)) {
      const r = decodeBundle(new Uint8Array(data));
      if (!r.ok) throw new Error(`bad bundle from server: ${r.error}`);
      for (const e of r.entries) take(Buffer.from(e.data), e.binary);
    } else {
      take(data, isBinary);
    }
    inbox.waiter?.();
  });
  ws.on('close', (code, reason) => {
    inbox.closed = { code, reason: reason.toString() };
    inbox.waiter?.();
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) =>
      reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)),
    );
  });
}

function inbox(ws: WebSocket): Inbox {
  const i = inboxes.get(ws);
  if (!i) throw new Error('not a test client');
  return i;
}

/** Everything this client has received so far, in order. */
export function received(ws: WebSocket): Msg[] {
  return inbox(ws).log;
}

/** The next message this client receives (or already received and has not consumed). */
export function nextMessage(ws: WebSocket, { timeoutMs = 5000 } = {}): Promise<Msg> {
  const box = inbox(ws);
  if (box.waiter) throw new Error('nextMessage: another wait on this client is pending');
  const first = box.queue.shift();
  if (first) return Promise.resolve(first);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      box.waiter = undefined;
      reject(new Error(`no message within ${timeoutMs} ms`));
    }, timeoutMs);
    box.waiter = () => {
      const m = box.queue.shift();
      if (m) {
        clearTimeout(timer);
        box.waiter = undefined;
        resolve(m);
      } else if (box.closed) {
        clearTimeout(timer);
        box.waiter = undefined;
        reject(new Error(`connection closed (${box.closed.code} ${box.closed.reason}) while waiting`));
      }
    };
    if (box.closed) box.waiter();
  });
}

/** Consumes messages until one matches; returns it. */
export async function nextMatching(
  ws: WebSocket,
  pred: (m: Msg) => boolean,
  { timeoutMs = 5000 } = {},
): Promise<Msg> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = await nextMessage(ws, { timeoutMs: Math.max(1, deadline - Date.now()) });
    if (pred(m)) return m;
  }
}

export function isJson(type: string) {
  return (m: Msg) => m.kind === 'json' && m.data.type === type;
}

/** Consumes messages until a JSON message of `type`; returns its data. */
export async function nextOf(ws: WebSocket, type: string, opts = {}): Promise<Data> {
  const m = await nextMatching(ws, isJson(type), opts);
  return (m as Extract<Msg, { kind: 'json' }>).data;
}

/** Loosely typed JSON from the server: tests assert on its shape. */
// biome-ignore lint/suspicious/noExplicitAny: test data is checked by assertions, not types
export type Data = Record<string, any>;

let nextId = 1;

/** Sends a request with a fresh id and waits for its `ok` (resolves with data) or `error` (rejects). */
export async function request(ws: WebSocket, msg: Record<string, unknown>, opts = {}): Promise<Data> {
  const id = nextId++;
  ws.send(JSON.stringify({ ...msg, id }));
  const reply = await nextMatching(ws, (m) => m.kind === 'json' && m.data.re === id, opts);
  const data = (reply as Extract<Msg, { kind: 'json' }>).data;
  if (data.type === 'error') throw Object.assign(new Error(String(data.message)), { reply: data });
  return (data.type === 'ok' ? data.data : data) as Data;
}

/** Sends a request and returns its error reply (fails the test when it succeeds). */
export async function refusal(ws: WebSocket, msg: Record<string, unknown>, opts = {}): Promise<Data> {
  try {
    await request(ws, msg, opts);
  } catch (e) {
    const reply = (e as { reply?: Record<string, unknown> }).reply;
    if (reply) return reply;
    throw e;
  }
  throw new Error(`expected ${String(msg.type)} to be refused`);
}

export function waitClose(
  ws: WebSocket,
  { timeoutMs = 5000 } = {},
): Promise<{ code: number; reason: string }> {
  const box = inbox(ws);
  if (box.closed) return Promise.resolve(box.closed);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not closed within ${timeoutMs} ms`)), timeoutMs);
    ws.once('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ code, reason: reason.toString() });
    });
  });
}

/** Drops whatever is queued (the log keeps it). */
export function drain(ws: WebSocket): void {
  inbox(ws).queue.length = 0;
}

export async function closeAll(clients: WebSocket[], app?: FastifyInstance): Promise<void> {
  await Promise.all(
    clients.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          ws.once('close', () => resolve());
          ws.close();
        }),
    ),
  );
  await app?.close();
}

/** The resume token from the last `welcome` this client received. */
export function tokenOf(ws: WebSocket): string {
  const w = [...received(ws)].reverse().find((m) => m.kind === 'json' && m.data.type === 'welcome');
  if (w?.kind !== 'json') throw new Error('no welcome received');
  return String(w.data.token);
}

/** An instructor with a class and one room, plus `n` students in it. */
export async function classroom(url: string, names: string[]) {
  const teacher = await connect(url);
  await request(teacher, { type: 'instructor.auth', key: KEY });
  const { code } = await request(teacher, { type: 'class.create', name: 'Networks 101' });
  const { room } = await request(teacher, { type: 'room.create', code, name: 'Lab' });
  const students: WebSocket[] = [];
  const tokens: string[] = [];
  for (const name of names) {
    const ws = await connect(url);
    await request(ws, { type: 'class.join', code, name });
    tokens.push(tokenOf(ws));
    students.push(ws);
  }
  return { teacher, code: code as string, room: room as number, students, tokens };
}
