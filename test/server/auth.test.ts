/**
 * Who may do what: the instructor key, seats, observers, rooms of other classes, the WebSocket
 * Origin, and resume tokens (a reload takes the seat back; nobody else can).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { CLOSE } from '../../shared/protocol/limits.ts';
import {
  classroom,
  closeAll,
  connect,
  type Data,
  KEY,
  nextOf,
  received,
  refusal,
  request,
  startApp,
  tokenOf,
  waitClose,
} from './helpers.ts';

type App = Awaited<ReturnType<typeof startApp>>['app'];

let app: App;
let url: string;
const clients: WebSocket[] = [];

async function open(opts = {}): Promise<WebSocket> {
  const ws = await connect(url, opts);
  clients.push(ws);
  return ws;
}

async function setup(names: string[]) {
  ({ app, url } = await startApp({ running: false }));
  const c = await classroom(url, names);
  clients.push(c.teacher, ...c.students);
  return c;
}

afterEach(async () => {
  await closeAll(clients.splice(0), app);
});

describe('instructor key', () => {
  it('refuses a wrong key and grants nothing', async () => {
    ({ app, url } = await startApp());
    const ws = await open();
    const r = await refusal(ws, { type: 'instructor.auth', key: `${KEY}x` });
    expect(r).toMatchObject({ code: 'TCPLAB_BAD_KEY', path: '/key' });
    expect((await refusal(ws, { type: 'class.create', name: 'X' })).code).toBe('TCPLAB_NOT_JOINED');
  });

  it('keeps instructor actions from students', async () => {
    const { students, room, code } = await setup(['Ann']);
    const ann = students[0]!;
    expect((await refusal(ann, { type: 'class.create', name: 'Mine' })).code).toBe('TCPLAB_FORBIDDEN');
    expect((await refusal(ann, { type: 'class.watch', code })).code).toBe('TCPLAB_FORBIDDEN');
    expect((await refusal(ann, { type: 'seat.assign', room, seat: 'A', session: null })).code).toBe(
      'TCPLAB_FORBIDDEN',
    );
  });
});

describe('seats', () => {
  it('lets a student call only on the endpoint of a seat they hold', async () => {
    const { students, room } = await setup(['Ann', 'Bob']);
    const [ann, bob] = students as [WebSocket, WebSocket];
    for (const ws of students) await request(ws, { type: 'room.join', room });
    await request(ann, { type: 'seat.take', room, seat: 'A' });
    const r = await refusal(ann, { type: 'sock.call', room, host: 'B', call: { op: 'socket' } });
    expect(r).toMatchObject({ code: 'TCPLAB_NOT_YOUR_SEAT', path: '/host', room });
    expect((await refusal(bob, { type: 'seat.take', room, seat: 'A' })).code).toBe('TCPLAB_SEAT_TAKEN');
    expect((await refusal(bob, { type: 'seat.release', room, seat: 'A' })).code).toBe('TCPLAB_NOT_YOUR_SEAT');
  });

  it('keeps observers read-only', async () => {
    const { students, room } = await setup(['Olga']);
    const olga = students[0]!;
    await request(olga, { type: 'room.join', room });
    for (const msg of [
      { type: 'sock.call', room, host: 'A', call: { op: 'socket' } },
      { type: 'clock.pause', room },
      { type: 'clock.step', room },
      { type: 'link.set', room, settings: { loss: 1 } },
      { type: 'fault.add', room, rule: { action: 'drop' } },
      { type: 'hold.set', room, on: true },
      { type: 'room.reset', room },
    ]) {
      const r = await refusal(olga, msg);
      expect(['TCPLAB_FORBIDDEN', 'TCPLAB_NOT_YOUR_SEAT']).toContain(r.code);
    }
  });

  it('allows solo mode: one person holds both seats', async () => {
    const { students, room } = await setup(['Sol']);
    const sol = students[0]!;
    await request(sol, { type: 'room.join', room });
    await request(sol, { type: 'seat.take', room, seat: 'A' });
    expect(await request(sol, { type: 'seat.take', room, seat: 'B' })).toEqual({ seats: ['A', 'B'] });
    await request(sol, { type: 'sock.call', room, host: 'A', call: { op: 'socket' } });
    await request(sol, { type: 'sock.call', room, host: 'B', call: { op: 'socket' } });
  });

  it('lets the instructor pair students into seats', async () => {
    const { teacher, students, room, code } = await setup(['Ann']);
    const ann = students[0]!;
    // The instructor finds Ann in the class roster.
    await request(teacher, { type: 'class.watch', code });
    const state = received(teacher).find((m) => m.kind === 'json' && m.data.type === 'class.state');
    const people = state?.kind === 'json' ? (state.data.people as Data[]) : [];
    expect(people).toEqual([
      { session: expect.stringMatching(/^s\d+$/), name: 'Ann', online: true, room: null },
    ]);
    const id = people[0]!.session;
    await request(teacher, { type: 'seat.assign', room, seat: 'B', session: id });
    const info = await nextOf(ann, 'room.snapshot');
    expect(info.room).toBe(room);
    expect(await request(ann, { type: 'sock.call', room, host: 'B', call: { op: 'socket' } })).toMatchObject({
      result: { ok: true },
    });
  });
});

describe('isolation between rooms and classes', () => {
  it('refuses messages for a room you are not in', async () => {
    const { teacher, students, code, room } = await setup(['Ann']);
    const ann = students[0]!;
    const { room: other } = await request(teacher, { type: 'room.create', code, name: 'Other' });
    await request(ann, { type: 'room.join', room });
    await request(ann, { type: 'seat.take', room, seat: 'A' });
    const r = await refusal(ann, { type: 'sock.call', room: other, host: 'A', call: { op: 'socket' } });
    expect(r).toMatchObject({ code: 'TCPLAB_NOT_IN_ROOM', path: '/room' });
    expect((await refusal(ann, { type: 'room.reset', room: other })).code).toBe('TCPLAB_NOT_IN_ROOM');
    expect((await refusal(ann, { type: 'room.join', room: 999 })).code).toBe('TCPLAB_NO_SUCH_ROOM');
  });

  it('keeps a student out of another class and its events', async () => {
    const { teacher, students, room } = await setup(['Ann']);
    const ann = students[0]!;
    const { code: code2 } = await request(teacher, { type: 'class.create', name: 'Other class' });
    const { room: room2 } = await request(teacher, { type: 'room.create', code: code2 });
    expect((await refusal(ann, { type: 'room.join', room: room2 })).code).toBe('TCPLAB_FORBIDDEN');
    expect((await refusal(ann, { type: 'room.create', code: code2 })).code).toBe('TCPLAB_FORBIDDEN');
    // Activity in the other class's room never reaches Ann.
    await request(ann, { type: 'room.join', room });
    const made = await request(teacher, {
      type: 'sock.call',
      room: room2,
      host: 'A',
      call: { op: 'socket' },
    });
    expect(made.result).toEqual({ ok: true, value: 3 });
    await request(ann, { type: 'ping' });
    const leaked = received(ann).filter((m) =>
      m.kind === 'frame' ? m.frame.room === room2 : m.data.type !== 'error' && m.data.room === room2,
    );
    expect(leaked).toEqual([]);
  });
});

describe('WebSocket Origin', () => {
  it('refuses a foreign origin at the upgrade', async () => {
    ({ app, url } = await startApp());
    await expect(connect(url, { origin: 'http://evil.example' })).rejects.toThrow(/HTTP 403/);
  });

  it('accepts the server’s own origin and configured ones', async () => {
    ({ app, url } = await startApp({ origins: ['http://localhost:5173'] }));
    const own = new URL(url);
    await open({ origin: `http://${own.host}` });
    await open({ origin: 'http://localhost:5173' });
  });
});

describe('resume tokens', () => {
  it('gives a reloaded tab its seat and room back, with the whole history', async () => {
    const { students, room, code } = await setup(['Ann']);
    const ann = students[0]!;
    await request(ann, { type: 'room.join', room });
    await request(ann, { type: 'seat.take', room, seat: 'A' });
    await request(ann, { type: 'sock.call', room, host: 'A', call: { op: 'socket' } });
    const token = tokenOf(ann);
    ann.close();
    await waitClose(ann);

    // While Ann is away, her seat stays hers.
    const bob = await open();
    await request(bob, { type: 'class.join', code, name: 'Bob' });
    await request(bob, { type: 'room.join', room });
    expect((await refusal(bob, { type: 'seat.take', room, seat: 'A' })).code).toBe('TCPLAB_SEAT_TAKEN');

    const again = await open();
    const r = await request(again, { type: 'session.resume', token });
    expect(r.session.name).toBe('Ann');
    const welcome = received(again).find((m) => m.kind === 'json' && m.data.type === 'welcome');
    expect(welcome?.kind === 'json' && welcome.data).toMatchObject({ room, seats: ['A'], token });
    const events = received(again).filter((m) => m.kind === 'json' && m.data.type === 'room.event');
    expect(events.length).toBeGreaterThanOrEqual(3); // call, socket, return
    expect(
      await request(again, { type: 'sock.call', room, host: 'A', call: { op: 'socket' } }),
    ).toMatchObject({
      result: { ok: true, value: 4 },
    });
  });

  it('refuses a forged or altered token', async () => {
    const { students } = await setup(['Ann']);
    const token = tokenOf(students[0]!);
    const thief = await open();
    const altered = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    expect((await refusal(thief, { type: 'session.resume', token: altered })).code).toBe('TCPLAB_BAD_TOKEN');
    expect((await refusal(thief, { type: 'session.resume', token: 'short' })).code).toBe('TCPLAB_INVALID');
    expect((await refusal(thief, { type: 'session.resume', token: 'x'.repeat(32) })).code).toBe(
      'TCPLAB_BAD_TOKEN',
    );
  });

  it('closes the older connection when a session is resumed elsewhere', async () => {
    const { students } = await setup(['Ann']);
    const ann = students[0]!;
    const other = await open();
    await request(other, { type: 'session.resume', token: tokenOf(ann) });
    expect((await waitClose(ann)).code).toBe(CLOSE.REPLACED);
  });

  it('frees the seats of a session that stays away longer than the grace period', async () => {
    ({ app, url } = await startApp({ running: false, limits: { seatGraceMs: 50 } }));
    const c = await classroom(url, ['Ann', 'Bob']);
    clients.push(c.teacher, ...c.students);
    const [ann, bob] = c.students as [WebSocket, WebSocket];
    const token = tokenOf(ann);
    await request(ann, { type: 'room.join', room: c.room });
    await request(bob, { type: 'room.join', room: c.room });
    await request(ann, { type: 'seat.take', room: c.room, seat: 'A' });
    ann.close();
    // Bob sees Ann go offline, then the seat freed.
    for (;;) {
      const info = await nextOf(bob, 'room.info');
      if (info.info.seats.A === null) break;
    }
    await request(bob, { type: 'seat.take', room: c.room, seat: 'A' });
    const late = await open();
    expect((await refusal(late, { type: 'session.resume', token })).code).toBe('TCPLAB_BAD_TOKEN');
  });
});

describe('clock policy', () => {
  it('ready: time moves when both seats have asked; the instructor acts at once', async () => {
    const { teacher, students, room } = await setup(['Ann', 'Bob']);
    const [ann, bob] = students as [WebSocket, WebSocket];
    for (const ws of students) await request(ws, { type: 'room.join', room });
    await request(ann, { type: 'seat.take', room, seat: 'A' });
    await request(bob, { type: 'seat.take', room, seat: 'B' });
    await request(ann, { type: 'clock.policy', room, policy: 'ready' });
    const first = await request(ann, { type: 'clock.resume', room });
    expect(first.clock).toMatchObject({ running: false, ready: ['A'], policy: 'ready' });
    const second = await request(bob, { type: 'clock.resume', room });
    expect(second.clock).toMatchObject({ running: true, ready: [] });
    // Pausing needs nobody's agreement.
    expect((await request(bob, { type: 'clock.pause', room })).clock.running).toBe(false);
    expect((await request(teacher, { type: 'clock.resume', room })).clock.running).toBe(true);
  });

  it('instructor: only the instructor moves time, and only the instructor sets or lifts it', async () => {
    const { teacher, students, room } = await setup(['Ann']);
    const ann = students[0]!;
    await request(ann, { type: 'room.join', room });
    await request(ann, { type: 'seat.take', room, seat: 'A' });
    expect((await refusal(ann, { type: 'clock.policy', room, policy: 'instructor' })).code).toBe(
      'TCPLAB_FORBIDDEN',
    );
    await request(teacher, { type: 'clock.policy', room, policy: 'instructor' });
    for (const type of ['clock.resume', 'clock.pause', 'clock.step']) {
      expect((await refusal(ann, { type, room })).code).toBe('TCPLAB_FORBIDDEN');
    }
    expect((await refusal(ann, { type: 'clock.speed', room, speed: 2 })).code).toBe('TCPLAB_FORBIDDEN');
    expect((await refusal(ann, { type: 'clock.policy', room, policy: 'seats' })).code).toBe(
      'TCPLAB_FORBIDDEN',
    );
    expect((await request(teacher, { type: 'clock.speed', room, speed: 2 })).clock.speed).toBe(2);
    // Socket calls are not time moves: the seat holder still makes them.
    await request(ann, { type: 'sock.call', room, host: 'A', call: { op: 'socket' } });
  });
});
