/**
 * Every limit of `LIMITS` (shared/protocol/limits.ts): each is exercised with a small value, and
 * each breach is an error event or a documented close code, never a crash.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Connection, type WsLike } from '../../server/lab/connection.ts';
import { CLOSE, LIMITS, type Limits } from '../../shared/protocol/limits.ts';
import {
  classroom,
  closeAll,
  connect,
  KEY,
  nextMessage,
  nextOf,
  received,
  refusal,
  request,
  startApp,
  waitClose,
} from './helpers.ts';

type App = Awaited<ReturnType<typeof startApp>>['app'];

let app: App | undefined;
const clients: WebSocket[] = [];

async function start(limits: Partial<Limits>, opts = {}) {
  const s = await startApp({ limits, running: false, ...opts });
  app = s.app;
  return s.url;
}

async function open(url: string, opts: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const ws = await connect(url, opts);
  clients.push(ws);
  return ws;
}

async function seated(url: string) {
  const c = await classroom(url, ['Ann']);
  clients.push(c.teacher, ...c.students);
  const ann = c.students[0]!;
  await request(ann, { type: 'room.join', room: c.room });
  await request(ann, { type: 'seat.take', room: c.room, seat: 'A' });
  return { ...c, ann };
}

/** A socket that never drains: everything sent stays buffered. */
function stuckSocket() {
  const closes: Array<[number | undefined, string | undefined]> = [];
  let buffered = 0;
  const ws: WsLike = {
    readyState: 1,
    get bufferedAmount() {
      return buffered;
    },
    send(data) {
      buffered += data.length;
    },
    close(code, reason) {
      closes.push([code, reason]);
    },
    terminate() {},
    ping() {},
  };
  return { ws, closes };
}

afterEach(async () => {
  await closeAll(clients.splice(0), app);
  app = undefined;
});

describe('message size', () => {
  it(`refuses a message over maxMessageBytes (${LIMITS.maxMessageBytes}) with an error and stays open`, async () => {
    const url = await start({ maxMessageBytes: 200 });
    const ws = await open(url);
    ws.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(300) }));
    expect(await nextOf(ws, 'error')).toMatchObject({ code: 'TCPLAB_TOO_BIG', re: null });
    await request(ws, { type: 'ping' });
  });

  it(`closes with ${CLOSE.TOO_BIG} on a frame over maxFrameBytes (${LIMITS.maxFrameBytes})`, async () => {
    const url = await start({ maxFrameBytes: 1024 });
    const ws = await open(url);
    ws.send('x'.repeat(2000));
    expect((await waitClose(ws)).code).toBe(CLOSE.TOO_BIG);
  });
});

describe('message rate', () => {
  it('refuses messages beyond the burst, then closes after rateStrikes refusals in a row', async () => {
    const url = await start({ messagesPerSecond: 0.001, messageBurst: 5, rateStrikes: 3 });
    const ws = await open(url);
    for (let i = 0; i < 8; i++) ws.send(JSON.stringify({ type: 'ping', id: i }));
    for (let i = 0; i < 5; i++)
      expect(await nextMessage(ws)).toMatchObject({ data: { type: 'pong', re: i } });
    for (let i = 0; i < 2; i++)
      expect(await nextMessage(ws)).toMatchObject({ data: { code: 'TCPLAB_RATE_LIMIT' } });
    expect((await waitClose(ws)).code).toBe(CLOSE.RATE);
  });

  it('refills at messagesPerSecond', () => {
    let now = 0;
    const conn = new Connection(
      stuckSocket().ws,
      { ...LIMITS, messagesPerSecond: 10, messageBurst: 2 },
      () => now,
    );
    expect([conn.admit(), conn.admit(), conn.admit()]).toEqual(['ok', 'ok', 'refused']);
    now += 99;
    expect(conn.admit()).toBe('refused');
    now += 1; // 100 ms at 10/s: one message
    expect([conn.admit(), conn.admit()]).toEqual(['ok', 'refused']);
    now += 10_000; // never more than the burst
    expect([conn.admit(), conn.admit(), conn.admit()]).toEqual(['ok', 'ok', 'refused']);
  });
});

describe('payload per send', () => {
  it(`accepts maxSendBytes (${LIMITS.maxSendBytes}) and refuses one byte more`, async () => {
    const url = await start({});
    const { ann, room } = await seated(url);
    await request(ann, { type: 'sock.call', room, host: 'A', call: { op: 'socket' } });
    const send = (n: number) => ({
      type: 'sock.call',
      room,
      host: 'A',
      call: { op: 'send', fd: 3, data: 'x'.repeat(n) },
    });
    // Accepted by the server (the engine then says the socket is not connected).
    expect((await request(ann, send(LIMITS.maxSendBytes))).result).toMatchObject({
      ok: false,
      errno: 'EPIPE',
    });
    const r = await refusal(ann, send(LIMITS.maxSendBytes + 1));
    expect(r).toMatchObject({ code: 'TCPLAB_PAYLOAD_TOO_BIG', path: '/call/data' });
  });
});

describe('classes, rooms and people', () => {
  it('caps classes per server', async () => {
    const url = await start({ maxClasses: 1 });
    const t = await open(url);
    await request(t, { type: 'instructor.auth', key: KEY });
    await request(t, { type: 'class.create', name: 'One' });
    expect((await refusal(t, { type: 'class.create', name: 'Two' })).code).toBe('TCPLAB_TOO_MANY_CLASSES');
  });

  it('caps rooms per class', async () => {
    const url = await start({ maxRoomsPerClass: 1 });
    const { ann, teacher, code } = await seated(url);
    expect((await refusal(ann, { type: 'room.create' })).code).toBe('TCPLAB_TOO_MANY_ROOMS');
    expect((await refusal(teacher, { type: 'room.create', code })).code).toBe('TCPLAB_TOO_MANY_ROOMS');
  });

  it('caps sessions per class', async () => {
    const url = await start({ maxSessionsPerClass: 1 });
    const { code } = await seated(url);
    const bob = await open(url);
    expect((await refusal(bob, { type: 'class.join', code, name: 'Bob' })).code).toBe('TCPLAB_CLASS_FULL');
  });

  it('caps people per room (the instructor does not count)', async () => {
    const url = await start({ maxPeoplePerRoom: 1 });
    const { code, room, teacher } = await seated(url);
    const bob = await open(url);
    await request(bob, { type: 'class.join', code, name: 'Bob' });
    expect((await refusal(bob, { type: 'room.join', room })).code).toBe('TCPLAB_ROOM_FULL');
    await request(teacher, { type: 'room.join', room });
  });

  it('caps connections per server at the upgrade', async () => {
    const url = await start({ maxConnections: 1 });
    await open(url);
    await expect(connect(url)).rejects.toThrow(/HTTP 503/);
  });

  it('caps fault rules per room', async () => {
    const url = await start({ maxFaultRules: 2 });
    const { ann, room } = await seated(url);
    await request(ann, { type: 'fault.add', room, rule: { from: 'A', flags: ['FIN'], action: 'drop' } });
    await request(ann, { type: 'fault.add', room, rule: { from: 'B', flags: ['FIN'], action: 'drop' } });
    const r = await refusal(ann, { type: 'fault.add', room, rule: { action: 'drop' } });
    expect(r.code).toBe('TCPLAB_TOO_MANY_RULES');
  });

  it('caps a clock step at maxStepMs', async () => {
    const url = await start({ maxStepMs: 1000 });
    const { ann, room } = await seated(url);
    await request(ann, { type: 'clock.step', room, ms: 1000 });
    expect(await refusal(ann, { type: 'clock.step', room, ms: 1001 })).toMatchObject({
      code: 'TCPLAB_INVALID',
      path: '/ms',
    });
  });

  it(`refuses names longer than maxNameLength (${LIMITS.maxNameLength})`, async () => {
    const url = await start({});
    const t = await open(url);
    await request(t, { type: 'instructor.auth', key: KEY });
    const r = await refusal(t, { type: 'class.create', name: 'n'.repeat(LIMITS.maxNameLength + 1) });
    expect(r).toMatchObject({ code: 'TCPLAB_INVALID', path: '/name' });
  });
});

describe('history cap', () => {
  it('freezes a room whose history is full until it is reset', async () => {
    const url = await start({ maxHistoryEvents: 10 });
    const { ann, room } = await seated(url);
    const call = { type: 'sock.call', room, host: 'A', call: { op: 'socket' } };
    for (let i = 0; i < 4; i++) await request(ann, call); // call, socket, return: 3 events each
    const r = await refusal(ann, call);
    expect(r.code).toBe('TCPLAB_HISTORY_FULL');
    expect((await refusal(ann, { type: 'clock.resume', room })).code).toBe('TCPLAB_HISTORY_FULL');
    expect(await request(ann, { type: 'room.reset', room })).toEqual({ epoch: 1 });
    const snap = [...received(ann)]
      .reverse()
      .find((m) => m.kind === 'json' && m.data.type === 'room.snapshot');
    expect(snap?.kind).toBe('json');
    if (snap?.kind !== 'json') return;
    expect(snap.data.info).toMatchObject({ epoch: 1, full: false });
    expect(snap.data.nextN).toBe(0);
    await request(ann, call);
  });
});

describe('slow clients', () => {
  it(`closes a connection whose buffer passes maxBufferedBytes with ${CLOSE.SLOW}`, () => {
    const { ws, closes } = stuckSocket();
    const conn = new Connection(ws, { ...LIMITS, maxBufferedBytes: 1000 }, () => 0);
    for (let i = 0; i < 9; i++) expect(conn.send(Buffer.alloc(100), true)).toBe(true);
    expect(conn.send(Buffer.alloc(200), true)).toBe(false);
    expect(closes).toEqual([[CLOSE.SLOW, 'too slow: more than 1000 bytes waiting to be sent']]);
    expect(conn.send(Buffer.alloc(1), true)).toBe(false);
  });

  it('batches a burst into one write and judges the backlog after it', async () => {
    const stuck = stuckSocket();
    const calls: string[] = [];
    const conn = new Connection(stuck.ws, { ...LIMITS, maxBufferedBytes: 1000 }, () => 0, {
      cork: () => calls.push('cork'),
      uncork: () => calls.push('uncork'),
    });
    for (let i = 0; i < 3; i++) expect(conn.send(Buffer.alloc(500), true)).toBe(true);
    expect(calls).toEqual(['cork']);
    expect(stuck.closes).toEqual([]);
    // The whole turn of the event loop is one batch: microtasks and ticks still add to it.
    await Promise.resolve();
    expect(conn.send(Buffer.alloc(1), true)).toBe(true);
    expect(calls).toEqual(['cork']);
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual(['cork', 'uncork']);
    expect(stuck.closes.map(([code]) => code)).toEqual([CLOSE.SLOW]);

    // A socket that takes the burst when uncorked is not slow, however big the burst.
    let buffered = 0;
    const draining = { ...stuckSocket().ws, send: (d: Buffer) => void (buffered += d.length) };
    Object.defineProperty(draining, 'bufferedAmount', { get: () => buffered });
    const closes: unknown[] = [];
    draining.close = (code) => void closes.push(code);
    const fine = new Connection(draining, { ...LIMITS, maxBufferedBytes: 1000 }, () => 0, {
      cork() {},
      uncork: () => void (buffered = 0),
    });
    for (let i = 0; i < 10; i++) fine.send(Buffer.alloc(500), true);
    await new Promise((r) => setImmediate(r));
    expect(buffered).toBe(0);
    expect(closes).toEqual([]);
  });

  it('drops a real client that stops reading while the room goes on', async () => {
    const url = await start(
      {
        maxBufferedBytes: 32 * 1024,
        messagesPerSecond: 100_000,
        messageBurst: 100_000,
        maxHistoryEvents: 1_000_000,
      },
      { running: true, speed: 100, link: { delayMs: 1 } },
    );
    const c = await classroom(url, ['Ann', 'Bob', 'Sid']);
    clients.push(c.teacher, ...c.students);
    const [ann, bob, sid] = c.students as [WebSocket, WebSocket, WebSocket];
    const room = c.room;
    for (const ws of c.students) await request(ws, { type: 'room.join', room });
    await request(ann, { type: 'seat.take', room, seat: 'A' });
    await request(bob, { type: 'seat.take', room, seat: 'B' });
    // Sid's client stops reading from its socket.
    (sid as unknown as { _socket: { pause(): void } })._socket.pause();
    const call = (ws: WebSocket, host: string, c: object) =>
      request(ws, { type: 'sock.call', room, host, call: c }, { timeoutMs: 20_000 });
    await call(bob, 'B', { op: 'socket' });
    await call(bob, 'B', { op: 'bind', fd: 3, port: 80 });
    await call(bob, 'B', { op: 'listen', fd: 3 });
    await call(ann, 'A', { op: 'socket' });
    await call(ann, 'A', { op: 'connect', fd: 3, addr: '10.0.0.2', port: 80 });
    await call(bob, 'B', { op: 'accept', fd: 3 });
    const payload = 'x'.repeat(8000);
    // Stream until the server gives up on Sid (bounded: ~40 MB of segments at most).
    for (let i = 0; i < 2000 && app!.lab.conns.size === 4; i++) {
      await call(ann, 'A', { op: 'send', fd: 3, data: payload });
      await call(bob, 'B', { op: 'recv', fd: 4, max: 65536 });
    }
    expect(app!.lab.conns.size).toBe(3);
    // Once it reads again, it finds out why.
    (sid as unknown as { _socket: { resume(): void } })._socket.resume();
    expect((await waitClose(sid, { timeoutMs: 30_000 })).code).toBe(CLOSE.SLOW);
    // The others were never held back.
    await request(ann, { type: 'ping' });
  }, 60_000);
});

describe('heartbeats', () => {
  it('terminates a connection that stops answering pings, keeps one that answers', async () => {
    const url = await start({ heartbeatMs: 40 });
    const deaf = await open(url, { autoPong: false });
    const alive = await open(url);
    const { code } = await waitClose(deaf, { timeoutMs: 2000 });
    expect(code).toBe(1006); // terminated: no close frame
    expect(alive.readyState).toBe(WebSocket.OPEN);
    await request(alive, { type: 'ping' });
  });
});
