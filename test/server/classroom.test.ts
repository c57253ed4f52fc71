/**
 * The scenario the product exists for: two students drive endpoints A and B of a room over real
 * WebSockets, an observer watches, and everyone sees the same history in the same order.
 *
 *   A (10.0.0.1)                          B (10.0.0.2)
 *   socket, connect ──── SYN ────────────▶ socket, bind 80, listen, accept
 *        ◀─────────────── SYN, ACK ─────
 *        ──── ACK ─────────────────────▶ accept returns fd 4
 *   send "hello" ── PSH, ACK ──────────▶ recv → "hello"
 *   recv → "world" ◀──── PSH, ACK ───── send "world"
 *   close ──── FIN, ACK ───────────────▶ CLOSE-WAIT
 *   FIN-WAIT-2 ◀──────── ACK ─────────
 *   TIME-WAIT ◀───────── FIN, ACK ──── shutdown(SHUT_WR): LAST-ACK
 *        ──── ACK ─────────────────────▶ CLOSED
 *   CLOSED after 2·MSL
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { decodePacket } from '../../shared/tcp/codec.ts';
import { flagNames } from '../../shared/tcp/packet.ts';
import {
  classroom,
  closeAll,
  connect,
  type Data,
  KEY,
  type Msg,
  nextMatching,
  nextOf,
  received,
  request,
  startApp,
} from './helpers.ts';

type App = Awaited<ReturnType<typeof startApp>>['app'];

/** History messages (frames and room.event) of one room, as raw bytes, in the order received. */
function history(ws: WebSocket, room: number): string[] {
  return received(ws)
    .filter(
      (m) =>
        (m.kind === 'frame' && m.frame.room === room) ||
        (m.kind === 'json' && m.data.type === 'room.event' && m.data.room === room),
    )
    .map((m) => m.raw.toString('hex'));
}

function isEvent(pred: (e: Data) => boolean) {
  return (m: Msg) => m.kind === 'json' && m.data.type === 'room.event' && pred(m.data.event as Data);
}

function ladder(ws: WebSocket): string[] {
  return received(ws).flatMap((m) => {
    if (m.kind !== 'frame' || m.frame.fate !== 'sent') return [];
    const p = decodePacket(m.frame.packet);
    if (!p.ok) throw new Error(p.error.message);
    const len = p.packet.tcp.payload.length;
    return [`${m.frame.dir} ${flagNames(p.packet.tcp.flags).join(',')}${len ? ` len=${len}` : ''}`];
  });
}

describe('two students drive a connection, an observer watches', () => {
  let app: App;
  let url: string;
  let a: WebSocket;
  let b: WebSocket;
  let obs: WebSocket;
  let teacher: WebSocket;
  let room: number;
  const late: WebSocket[] = [];

  beforeAll(async () => {
    ({ app, url } = await startApp({ speed: 100 }));
    const c = await classroom(url, ['Ann', 'Bob', 'Olga']);
    [a, b, obs] = c.students as [WebSocket, WebSocket, WebSocket];
    teacher = c.teacher;
    room = c.room;
    for (const ws of c.students) await request(ws, { type: 'room.join', room });
    await request(a, { type: 'seat.take', room, seat: 'A' });
    await request(b, { type: 'seat.take', room, seat: 'B' });
    await request(teacher, { type: 'class.watch', code: c.code, rooms: true });
  });

  afterAll(() => closeAll([a, b, obs, teacher, ...late], app));

  const call = (ws: WebSocket, host: 'A' | 'B', c: object) =>
    request(ws, { type: 'sock.call', room, host, call: c });
  const waitFor = (ws: WebSocket, pred: (e: Data) => boolean) =>
    nextMatching(ws, isEvent(pred), { timeoutMs: 10_000 }) as Promise<Extract<Msg, { kind: 'json' }>>;
  const returned = (host: string, callId: number) => (e: Data) =>
    e.type === 'return' && e.host === host && e.callId === callId;
  const state = (host: string, to: string) => (e: Data) =>
    e.type === 'state' && e.host === host && e.to === to;

  it('runs handshake, data both ways, close and shutdown, ending in TIME-WAIT then CLOSED', async () => {
    expect(await call(b, 'B', { op: 'socket' })).toMatchObject({ result: { ok: true, value: 3 } });
    expect(await call(b, 'B', { op: 'bind', fd: 3, port: 80 })).toMatchObject({
      result: { ok: true, value: 0 },
    });
    expect(await call(b, 'B', { op: 'listen', fd: 3, backlog: 5 })).toMatchObject({ result: { ok: true } });
    const accept = await call(b, 'B', { op: 'accept', fd: 3 });
    expect(accept.result).toBeUndefined();

    expect(await call(a, 'A', { op: 'socket' })).toMatchObject({ result: { ok: true, value: 3 } });
    const connectCall = await call(a, 'A', { op: 'connect', fd: 3, addr: '10.0.0.2', port: 80 });
    await waitFor(a, returned('A', connectCall.callId));
    const accepted = await waitFor(b, returned('B', accept.callId));
    expect((accepted.data.event as Data).result).toMatchObject({ ok: true, value: { fd: 4 } });

    // Data both ways: blocking recv calls complete when the data arrives.
    const recvB = await call(b, 'B', { op: 'recv', fd: 4 });
    expect(await call(a, 'A', { op: 'send', fd: 3, data: 'hello' })).toMatchObject({
      result: { ok: true, value: 5 },
    });
    const gotB = await waitFor(b, returned('B', recvB.callId));
    expect(Buffer.from((gotB.data.event as Data).result.value.b64, 'base64').toString()).toBe('hello');

    const recvA = await call(a, 'A', { op: 'recv', fd: 3 });
    await call(b, 'B', { op: 'send', fd: 4, data: 'd29ybGQ=', encoding: 'base64' });
    const gotA = await waitFor(a, returned('A', recvA.callId));
    expect(Buffer.from((gotA.data.event as Data).result.value.b64, 'base64').toString()).toBe('world');

    // A's delayed ACK of "world" leaves before A closes (the room runs at ×100, so a close made
    // at once could otherwise beat the delayed-ACK timer and carry the ACK on its FIN).
    for (let i = 0; i < 1000 && ladder(a).length < 7; i++) await new Promise((r) => setTimeout(r, 10));
    expect(ladder(a)[6]).toBe('AB ACK');

    // A closes, B half-closes with shutdown.
    expect(await call(a, 'A', { op: 'close', fd: 3 })).toMatchObject({ result: { ok: true } });
    await waitFor(b, state('B', 'CLOSE-WAIT'));
    expect(await call(b, 'B', { op: 'shutdown', fd: 4, how: 'SHUT_WR' })).toMatchObject({
      result: { ok: true },
    });
    await waitFor(a, state('A', 'TIME-WAIT'));
    await waitFor(b, state('B', 'CLOSED'));
    const closed = await waitFor(a, (e) => e.type === 'state' && e.host === 'A' && e.to === 'CLOSED');
    expect((closed.data.event as Data).from).toBe('TIME-WAIT');
    // TIME-WAIT lasted 2·MSL = 10 s of virtual time.
    const tw = received(a).find((m) => isEvent(state('A', 'TIME-WAIT'))(m)) as Extract<Msg, { kind: 'json' }>;
    expect((closed.data.t as number) - (tw.data.t as number)).toBeCloseTo(10_000, 0);

    expect(ladder(a)).toEqual([
      'AB SYN',
      'BA ACK,SYN',
      'AB ACK',
      'AB ACK,PSH len=5',
      'BA ACK',
      'BA ACK,PSH len=5',
      'AB ACK',
      'AB ACK,FIN',
      'BA ACK',
      'BA ACK,FIN',
      'AB ACK',
    ]);
  });

  it('gives A, B, the observer and the watching instructor the same history in the same order', async () => {
    // Everyone has at least what A has seen; wait until the others reach A's last message.
    const reference = history(a, room);
    expect(reference.length).toBeGreaterThan(50);
    for (const ws of [b, obs, teacher]) {
      while (history(ws, room).length < reference.length) await nextMessage1(ws);
      expect(history(ws, room).slice(0, reference.length)).toEqual(reference);
    }
    // Frames carry consecutive room event numbers shared with the JSON events.
    const ns = received(obs).flatMap((m) =>
      m.kind === 'frame' ? [m.frame.n] : m.data.type === 'room.event' ? [m.data.n as number] : [],
    );
    expect(ns).toEqual(ns.map((_, i) => i));
  });

  it('replays the whole history to a newcomer, byte for byte, then goes live', async () => {
    const c = await connect(url);
    late.push(c);
    await request(c, { type: 'class.join', code: classCode(), name: 'Late Lena' });
    await request(c, { type: 'room.join', room });
    const synced = received(c).find((m) => m.kind === 'json' && m.data.type === 'room.synced');
    expect(synced?.kind === 'json' && synced.data.nextN).toBe(history(a, room).length);
    const snapshot = received(c).find((m) => m.kind === 'json' && m.data.type === 'room.snapshot');
    expect(snapshot).toBeDefined();
    const replayed = history(c, room);
    expect(replayed.length).toBe(history(a, room).length);
    expect(replayed).toEqual(history(a, room).slice(0, replayed.length));
    // Live from here: the next event reaches the newcomer with the next number.
    await call(a, 'A', { op: 'socket' });
    const live = await nextMatching(
      c,
      isEvent((e) => e.type === 'call' && e.host === 'A'),
    );
    expect(live.kind === 'json' && live.data.n).toBe(replayed.length);
  });

  function classCode(): string {
    const s = received(a).find((m) => m.kind === 'json' && m.data.type === 'welcome');
    return s?.kind === 'json' ? String((s.data.session as Data).classCode) : '';
  }

  async function nextMessage1(ws: WebSocket): Promise<void> {
    await nextMatching(ws, () => true, { timeoutMs: 5000 });
  }
});

describe('a long history', () => {
  it('reaches a newcomer complete and in order, in chunks, while the room goes on', async () => {
    const { app, url } = await startApp({
      running: false,
      limits: { messagesPerSecond: 1e6, messageBurst: 1e6 },
    });
    const c = await classroom(url, ['Ann', 'Nia']);
    const [ann, nia] = c.students as [WebSocket, WebSocket];
    const room = c.room;
    await request(ann, { type: 'room.join', room });
    await request(ann, { type: 'seat.take', room, seat: 'A' });
    // 1500 socket calls: 4500 events, several replay chunks.
    for (let i = 0; i < 1500; i++)
      ann.send(JSON.stringify({ type: 'sock.call', room, host: 'A', call: { op: 'socket' } }));
    await request(ann, { type: 'ping' });
    const total = app.lab.rooms.get(room)!.history.length;
    expect(total).toBeGreaterThan(2000);
    nia.send(JSON.stringify({ type: 'room.join', room }));
    // Events that happen during the replay come after it, numbered on.
    await request(ann, { type: 'sock.call', room, host: 'A', call: { op: 'socket' } });
    const final = app.lab.rooms.get(room)!.history.length;
    expect(final).toBeGreaterThan(total);
    // Whether that call lands during Nia's replay or after it, she gets every event once, in
    // order, and room.synced right after the last replayed one.
    let expected = 0;
    let syncedAt: number | undefined;
    while (expected < final || syncedAt === undefined) {
      const m = await nextMatching(
        nia,
        (x) => x.kind === 'json' && ['room.event', 'room.synced'].includes(x.data.type),
        {
          timeoutMs: 10_000,
        },
      );
      if (m.kind !== 'json') continue;
      if (m.data.type === 'room.synced') {
        expect(syncedAt).toBeUndefined();
        syncedAt = expected;
        expect(m.data.nextN).toBe(expected);
      } else {
        expect(m.data.n).toBe(expected++);
      }
    }
    expect(syncedAt).toBeGreaterThanOrEqual(total);
    await closeAll([ann, nia, c.teacher], app);
  }, 60_000);
});

describe('persistence hooks', () => {
  it('reports every input with its virtual time and event count, and every reset', async () => {
    const inputs: Array<{ room: number; kind: string; at: number; seq: number }> = [];
    const resets: Array<[number, number]> = [];
    const { app, url } = await startApp({
      running: false,
      hooks: {
        onInput: (room, input) =>
          inputs.push({ room: room.id, kind: input.kind, at: input.at, seq: input.seq }),
        onReset: (room, epoch) => resets.push([room.id, epoch]),
      },
    });
    const c = await classroom(url, ['Ann']);
    const ann = c.students[0]!;
    const room = c.room;
    await request(ann, { type: 'room.join', room });
    await request(ann, { type: 'seat.take', room, seat: 'A' });
    await request(ann, { type: 'sock.call', room, host: 'A', call: { op: 'socket' } });
    await request(ann, { type: 'clock.step', room, ms: 250 });
    await request(ann, { type: 'link.set', room, settings: { loss: 0.5 } });
    await request(ann, { type: 'room.reset', room });
    expect(inputs).toEqual([
      { room, kind: 'call', at: 0, seq: 0 },
      { room, kind: 'link', at: 250, seq: 0 },
    ]);
    expect(resets).toEqual([[room, 1]]);
    expect(app.lab.rooms.get(room)!.inputs).toEqual([]);
    await closeAll([ann, c.teacher], app);
  });
});

describe('class roster pushes', () => {
  it('are throttled: ten students joining at once cost the instructor a couple of class.state pushes', async () => {
    const { app, url } = await startApp({ running: false });
    const c = await classroom(url, []);
    await request(c.teacher, { type: 'class.watch', code: c.code });
    const before = received(c.teacher).filter(
      (m) => m.kind === 'json' && m.data.type === 'class.state',
    ).length;
    const students = await Promise.all(Array.from({ length: 10 }, () => connect(url)));
    for (const [i, ws] of students.entries())
      ws.send(JSON.stringify({ type: 'class.join', code: c.code, name: `S${i}` }));
    // Wait for the roster that has everyone.
    for (;;) {
      const state = await nextOf(c.teacher, 'class.state');
      if (state.people.length === 10) break;
    }
    const pushes =
      received(c.teacher).filter((m) => m.kind === 'json' && m.data.type === 'class.state').length - before;
    expect(pushes).toBeLessThanOrEqual(3);
    await closeAll([c.teacher, ...students], app);
  });

  it('a newcomer’s class.state shows every change since the last one was sent', async () => {
    const { app, url } = await startApp({ running: false });
    const c = await classroom(url, ['Ada', 'Bob']);
    const roster = (state: Data) =>
      Object.fromEntries((state.people as Data[]).map((p) => [p.name, [p.online, p.room]]));
    /** The roster of the class.state a watcher got with its `class.watch` (it comes before the ok). */
    const watch = async (ws: WebSocket) => {
      await request(ws, { type: 'instructor.auth', key: KEY });
      await request(ws, { type: 'class.watch', code: c.code });
      const state = [...received(ws)]
        .reverse()
        .find((m) => m.kind === 'json' && m.data.type === 'class.state');
      return state?.kind === 'json' ? roster(state.data) : undefined;
    };
    const watcher = await connect(url);
    expect(await watch(watcher)).toEqual({ Ada: [true, null], Bob: [true, null] });
    // Ada enters the room and Bob goes offline: the watcher's pushes show it (a stale roster
    // would keep coming until nextOf times out).
    await request(c.students[0]!, { type: 'room.join', room: c.room });
    c.students[1]!.close();
    const want = { Ada: [true, c.room], Bob: [false, null] };
    while (JSON.stringify(roster(await nextOf(watcher, 'class.state'))) !== JSON.stringify(want)) {}
    // A watcher arriving now gets the same roster, not the one the first watcher got.
    const late = await connect(url);
    expect(await watch(late)).toEqual(want);
    await closeAll([c.teacher, c.students[0]!, watcher, late], app);
  });

  it('a student joining, or coming back with a token, gets the roster showing them online', async () => {
    const { app, url } = await startApp({ running: false });
    const c = await classroom(url, ['Ada']);
    const roster = (state: Data) => (state.people as Data[]).map((p) => [p.name, p.online]);
    expect(roster(await nextOf(c.students[0]!, 'class.state'))).toEqual([['Ada', true]]);
    c.students[0]!.close();
    const back = await connect(url);
    await request(back, { type: 'session.resume', token: c.tokens[0]! });
    for (;;) {
      const r = roster(await nextOf(back, 'class.state'));
      if (r[0]![1]) break;
    }
    await closeAll([c.teacher, back], app);
  });
});
