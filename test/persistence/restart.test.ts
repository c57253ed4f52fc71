/**
 * A clean restart (buildApp twice on one data folder): classes, rooms, people and their tokens,
 * seats, every room's history byte for byte, its sockets, buffers and timers, clocks and faults
 * come back; people resume with their tokens and the timeline goes on. Rooms come back from their
 * checkpoints as they would by replaying every input, and a checkpoint that cannot be used is
 * replaced by that replay. A stored history that differs from the replay, or inputs that no longer
 * replay, are reported, never silent.
 */

import { cpSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import type { Room } from '../../server/lab/room.ts';
import { DB_FILE } from '../../server/persistence/store.ts';
import {
  closeAll,
  connect,
  type Data,
  drain,
  KEY,
  nextMatching,
  nextOf,
  received,
  request,
  startApp,
  tokenOf,
} from '../server/helpers.ts';
import { chaos, classSession, FakeClock, tempDir } from './helpers.ts';

const apps: FastifyInstance[] = [];
const clients: WebSocket[] = [];
afterEach(async () => {
  await closeAll(clients.splice(0));
  for (const app of apps.splice(0)) await app.close();
});

async function start(dataDir: string, clock: FakeClock) {
  const r = await startApp({ dataDir, timers: clock });
  apps.push(r.app);
  return r;
}

async function client(url: string): Promise<WebSocket> {
  const ws = await connect(url);
  clients.push(ws);
  return ws;
}

/** Everything about a room that must survive a restart. */
function roomState(room: Room) {
  const info = room.info() as Data;
  const seats = Object.fromEntries(
    Object.entries(info.seats as Record<string, Data | null>).map(([k, v]) => [
      k,
      v && { ...v, online: null },
    ]),
  );
  return {
    id: room.id,
    name: room.name,
    classCode: room.classCode,
    epoch: room.epoch,
    position: room.position(),
    inputs: JSON.stringify(room.inputs),
    history: room.history.map((e) => `${e.binary ? 'b' : 't'}${e.data.toString('hex')}`),
    info: { ...info, seats },
    hosts: JSON.parse(room.snapshotMessage().toString()).hosts,
  };
}

function labState(app: FastifyInstance) {
  const lab = app.lab;
  return {
    classes: [...lab.classes.values()].map((k) => ({
      code: k.code,
      name: k.name,
      rooms: [...k.rooms.keys()],
    })),
    rooms: [...lab.rooms.values()].map(roomState),
  };
}

/** The first message of `type` this client received, waiting for it if it has not come yet. */
async function seen(ws: WebSocket, type: string): Promise<Data> {
  const m = received(ws).find((x) => x.kind === 'json' && x.data.type === type);
  if (m?.kind === 'json') return m.data;
  return nextOf(ws, type);
}

const sockCall = (ws: WebSocket, room: number, host: 'A' | 'B', call: Record<string, unknown>) =>
  request(ws, { type: 'sock.call', room, host, call });

describe('writes', () => {
  it('a seat holder going offline and coming back rewrites nothing; taking a seat does', async () => {
    const { app, url } = await start(tempDir(), new FakeClock());
    const teacher = await client(url);
    await request(teacher, { type: 'instructor.auth', key: KEY });
    const { code } = await request(teacher, { type: 'class.create', name: 'Networks 101' });
    const { room } = await request(teacher, { type: 'room.create', code, name: 'Lab' });
    const ann = await client(url);
    await request(ann, { type: 'class.join', code, name: 'Ann' });
    await request(ann, { type: 'room.join', room });
    await request(ann, { type: 'seat.take', room, seat: 'A' });
    const rows = () => app.persistence!.stats().rows;
    const before = rows();
    const gone = new Promise((r) => ann.once('close', r));
    ann.close();
    await gone;
    const back = await client(url);
    await request(back, { type: 'session.resume', token: tokenOf(ann) });
    expect(app.lab.room(room).info().seats.A).toMatchObject({ name: 'Ann', online: true });
    expect(rows()).toBe(before);
    await request(back, { type: 'seat.take', room, seat: 'B' });
    expect(rows()).toBeGreaterThan(before);
  });
});

describe('clean restart', () => {
  it('brings back classes, rooms, seats, tokens, histories, sockets and clocks; people resume', async () => {
    const dir = tempDir();
    const clock = new FakeClock();
    const { app, url } = await start(dir, clock);
    const teacher = await client(url);
    await request(teacher, { type: 'instructor.auth', key: KEY });
    const { code } = await request(teacher, { type: 'class.create', name: 'Networks 101' });
    const { code: other } = await request(teacher, { type: 'class.create', name: 'Evening class' });
    const { room: r1 } = await request(teacher, { type: 'room.create', code, name: 'Lab one' });
    const { room: r2 } = await request(teacher, { type: 'room.create', code, name: 'Lab two' });
    const { room: r3 } = await request(teacher, { type: 'room.create', code: other });
    await request(teacher, { type: 'class.watch', code, rooms: true });

    const people: Record<string, WebSocket> = {};
    for (const [name, k] of [
      ['Ann', code],
      ['Bob', code],
      ['Cat', code],
      ['Dan', code],
      ['Eve', other],
    ] as const) {
      people[name] = await client(url);
      await request(people[name]!, { type: 'class.join', code: k, name });
    }
    const { Ann, Bob, Cat, Dan, Eve } = people as Record<string, WebSocket>;
    await request(Ann!, { type: 'room.join', room: r1 });
    await request(Ann!, { type: 'seat.take', room: r1, seat: 'A' });
    await request(Bob!, { type: 'room.join', room: r1 });
    await request(Bob!, { type: 'seat.take', room: r1, seat: 'B' });
    await request(Cat!, { type: 'room.join', room: r1 });
    await request(Dan!, { type: 'room.join', room: r2 });
    await request(Dan!, { type: 'seat.take', room: r2, seat: 'A' });
    await request(Dan!, { type: 'seat.take', room: r2, seat: 'B' });
    await request(Eve!, { type: 'room.join', room: r3 });

    // Room 1: a connection, data, a lost FIN, hold mode, stepping between events, a faster clock.
    await sockCall(Bob!, r1, 'B', { op: 'socket' });
    await sockCall(Bob!, r1, 'B', { op: 'bind', fd: 3, port: 80 });
    await sockCall(Bob!, r1, 'B', { op: 'listen', fd: 3 });
    await sockCall(Bob!, r1, 'B', { op: 'accept', fd: 3 });
    clock.advance(50);
    await sockCall(Ann!, r1, 'A', { op: 'socket' });
    await sockCall(Ann!, r1, 'A', { op: 'connect', fd: 3, addr: '10.0.0.2', port: 80 });
    clock.advance(2000);
    await sockCall(Ann!, r1, 'A', { op: 'send', fd: 3, data: 'GET / HTTP/1.0\r\n\r\n' });
    await request(Ann!, {
      type: 'fault.add',
      room: r1,
      rule: { from: 'A', flags: ['FIN'], action: 'drop', label: 'lost FIN' },
    });
    await request(Bob!, { type: 'link.set', room: r1, dir: 'BA', settings: { loss: 0.2 } });
    clock.advance(700);
    await request(Bob!, { type: 'clock.pause', room: r1 });
    await request(Bob!, { type: 'clock.step', room: r1 });
    await sockCall(Bob!, r1, 'B', { op: 'recv', fd: 4 });
    await request(Ann!, { type: 'hold.set', room: r1, on: true });
    await request(Ann!, { type: 'clock.resume', room: r1 });
    await sockCall(Bob!, r1, 'B', { op: 'send', fd: 4, data: 'HTTP/1.0 200 OK\r\n\r\nhello' });
    await sockCall(Ann!, r1, 'A', { op: 'close', fd: 3 });
    clock.advance(800);
    await request(Ann!, { type: 'clock.speed', room: r1, speed: 10 });
    clock.advance(300);
    // Room 2: a reset (a new epoch), then a ready policy and a paused clock.
    await sockCall(Dan!, r2, 'A', { op: 'socket' });
    await request(Dan!, { type: 'room.reset', room: r2 });
    await sockCall(Dan!, r2, 'B', { op: 'socket' });
    await sockCall(Dan!, r2, 'B', { op: 'bind', fd: 3, port: 7 });
    await request(Dan!, { type: 'clock.policy', room: r2, policy: 'ready' });
    await request(teacher, { type: 'clock.pause', room: r2 });

    const before = labState(app);
    const tokens = Object.fromEntries(Object.entries(people).map(([n, ws]) => [n, tokenOf(ws)]));
    const teacherToken = tokenOf(teacher);
    const ids = Object.fromEntries(
      await Promise.all(
        Object.entries(people).map(async ([n]) => [n, app.lab.resume(tokens[n]!).id] as const),
      ),
    );
    expect(before.rooms.find((r) => r.id === r2)!.epoch).toBe(1);
    expect(before.rooms.find((r) => r.id === r1)!.history.length).toBeGreaterThan(30);

    await closeAll(clients.splice(0));
    await app.close();
    apps.splice(0);

    // ── restart ──
    const clock2 = new FakeClock();
    const { app: app2, url: url2 } = await start(dir, clock2);
    const report = app2.persistence!.stats().restored!;
    expect(report).toMatchObject({
      classes: 2,
      rooms: 3,
      sessions: 6,
      mismatched: [],
      broken: [],
      skipped: [],
    });
    expect(report.ms).toBeLessThan(2000);
    expect(labState(app2)).toEqual(before);

    // People come back with their tokens: same session, same seats, the same history, byte for byte.
    const ann = await client(url2);
    const { session } = await request(ann, { type: 'session.resume', token: tokens.Ann });
    expect(session.id).toBe(ids.Ann);
    const welcome = received(ann).find((m) => m.kind === 'json' && m.data.type === 'welcome');
    expect(welcome?.kind === 'json' && welcome.data).toMatchObject({
      room: r1,
      seats: ['A'],
      token: tokens.Ann,
    });
    const history = before.rooms.find((r) => r.id === r1)!.history;
    const synced = await seen(ann, 'room.synced');
    expect(synced.nextN).toBe(history.length);
    const replayed = received(ann)
      .filter((m) => (m.kind === 'frame' ? true : m.data.type === 'room.event'))
      .map((m) => `${m.kind === 'frame' ? 'b' : 't'}${m.raw.toString('hex')}`);
    expect(replayed).toEqual(history);
    const bob = await client(url2);
    await request(bob, { type: 'session.resume', token: tokens.Bob });
    await seen(bob, 'room.synced');
    // Seats are still held: nobody else can take them.
    const cat = await client(url2);
    await request(cat, { type: 'session.resume', token: tokens.Cat });
    await expect(request(cat, { type: 'seat.take', room: r1, seat: 'A' })).rejects.toThrow(/held by Ann/);
    // The instructor's session comes back watching the class.
    const t2 = await client(url2);
    await request(t2, { type: 'session.resume', token: teacherToken });
    expect((await seen(t2, 'class.state')).code).toBe(code);

    // The timeline goes on from where it was: the same room numbering, the next events after it.
    drain(ann);
    drain(bob);
    const room1 = app2.lab.room(r1);
    expect(room1.clock()).toMatchObject({ running: true, speed: 10 });
    clock2.advance(10);
    await sockCall(bob, r1, 'B', { op: 'recv', fd: 4 });
    const next = await nextMatching(ann, (m) => m.kind === 'json' && m.data.type === 'room.event');
    expect(next.kind === 'json' && next.data.n).toBeGreaterThanOrEqual(history.length);
    expect(next.kind === 'json' && next.data.t).toBeGreaterThanOrEqual(before.rooms[0]!.position.at);
    // New things get new numbers.
    const { room: r4 } = await request(t2, { type: 'room.create', code, name: 'After' });
    expect(r4).toBeGreaterThan(r3);
    const newcomer = await client(url2);
    const { session: s } = await request(newcomer, { type: 'class.join', code, name: 'Fay' });
    expect(Number(s.id.slice(1))).toBeGreaterThan(
      Math.max(...Object.values(ids).map((i) => Number(i.slice(1)))),
    );
    const stranger = await client(url2);
    const refused = await request(stranger, { type: 'session.resume', token: 'x'.repeat(32) }).catch(
      (e) => e.reply,
    );
    expect(refused.code).toBe('TCPLAB_BAD_TOKEN');
  });
});

/** Waits (real time) until the store has made `n` checkpoints since it opened. */
async function checkpointsWritten(app: FastifyInstance, n: number): Promise<void> {
  const until = Date.now() + 5000;
  while (app.persistence!.stats().checkpoints.written < n) {
    if (Date.now() > until) throw new Error('no checkpoint within 5 s');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The server dies: what is committed stays, nothing more is written. */
async function kill(app: FastifyInstance): Promise<void> {
  await new Promise((r) => setImmediate(r)); // this turn's commit, as a kill after it
  app.persistence!.abort();
  await app.close();
  apps.splice(apps.indexOf(app), 1);
}

describe('checkpoints', () => {
  /** A class of rooms: one the whole class session, the others random (some reset, some broken). */
  async function busyLab(dir: string) {
    const clock = new FakeClock();
    const { app } = await start(dir, clock);
    const k = app.lab.createClass('C');
    const rooms = Array.from({ length: 6 }, () => app.lab.createRoom(k));
    await new Promise((r) => setImmediate(r));
    classSession(clock, rooms[0]!);
    rooms.slice(1).forEach((room, i) => {
      chaos(room, clock, 100 + i, 60, { resets: i % 2 === 0 });
    });
    return { app, clock, rooms };
  }

  it('a restart rebuilds each room from its checkpoint, as replaying every input would', async () => {
    const dir = tempDir();
    const { app } = await busyLab(dir);
    const before = labState(app);
    const broken = app.lab.rooms.size - [...app.lab.rooms.values()].filter((r) => !r.broken).length;
    await app.close();
    apps.splice(0);
    // The same folder without its checkpoints: every room replays all its inputs.
    const plain = tempDir();
    cpSync(dir, plain, { recursive: true });
    const db = new Database(join(plain, DB_FILE));
    expect((db.prepare('SELECT COUNT(*) AS n FROM checkpoints').get() as { n: number }).n).toBe(6 - broken);
    db.prepare('DELETE FROM checkpoints').run();
    db.close();

    const { app: fast } = await start(dir, new FakeClock());
    const report = fast.persistence!.stats().restored!;
    expect(report).toMatchObject({ rooms: 6, fromCheckpoints: 6 - broken, mismatched: [], skipped: [] });
    expect(report.replayed).toBeLessThan(report.inputs);
    const { app: slow } = await start(plain, new FakeClock());
    expect(slow.persistence!.stats().restored).toMatchObject({
      rooms: 6,
      fromCheckpoints: 0,
      replayed: report.inputs,
      mismatched: [],
    });
    expect(labState(fast)).toEqual(before);
    expect(labState(slow)).toEqual(before);
  });

  it('the server serves before its rooms are rebuilt: each is rebuilt when first needed, or in the background', async () => {
    const dir = tempDir();
    const { app } = await busyLab(dir);
    const before = labState(app);
    await app.close();
    apps.splice(0);

    const { app: again } = await start(dir, new FakeClock());
    const p = again.persistence!;
    const rooms = [...again.lab.rooms.values()];
    // The last room to be rebuilt in the background is needed first: rebuilt at once.
    const last = rooms.at(-1)!;
    expect(roomState(last)).toEqual(before.rooms.at(-1));
    // The others follow without anyone asking (stats() would rebuild them: not called here).
    const until = Date.now() + 5000;
    while (rooms.some((r) => r.rebuildPending)) {
      if (Date.now() > until) throw new Error('rooms still waiting after 5 s');
      await new Promise((r) => setTimeout(r, 10));
    }
    const report = p.restoreReport()!;
    expect(report.rebuiltMs).toBeGreaterThanOrEqual(report.ms);
    expect(report).toMatchObject({ rooms: 6, mismatched: [], broken: [] });
    expect(labState(again)).toEqual(before);
  });

  it('after a kill, the inputs since the last checkpoint replay from it', async () => {
    const dir = tempDir();
    const { app, clock, rooms } = await busyLab(dir);
    await checkpointsWritten(app, 5);
    const at = app.persistence!.stats().checkpoints.written;
    // More happens in every room after its checkpoint, then the server dies.
    for (const [i, room] of rooms.entries()) chaos(room, clock, 200 + i, 30);
    await new Promise((r) => setImmediate(r));
    expect(app.persistence!.stats().checkpoints.written).toBe(at);
    const before = labState(app);
    await kill(app);

    const { app: again } = await start(dir, new FakeClock());
    const report = again.persistence!.stats().restored!;
    expect(report.fromCheckpoints).toBeGreaterThan(0);
    expect(report.replayed).toBeGreaterThan(0);
    expect(report.replayed).toBeLessThan(report.inputs);
    expect(report).toMatchObject({ mismatched: [], skipped: [] });
    expect(labState(again)).toEqual(before);
  });

  it('a room rebuilt from its checkpoint goes on: new inputs are stored after the old ones, read or not', async () => {
    const dir = tempDir();
    const { app, clock, rooms } = await busyLab(dir);
    await checkpointsWritten(app, 5);
    for (const [i, room] of rooms.entries()) chaos(room, clock, 300 + i, 10);
    await new Promise((r) => setImmediate(r));
    await kill(app);

    // The inputs before each checkpoint are not read: more happens, and the server dies again.
    const clock2 = new FakeClock();
    const { app: again } = await start(dir, clock2);
    expect(again.persistence!.stats().restored!.fromCheckpoints).toBeGreaterThan(0);
    for (const [i, room] of [...again.lab.rooms.values()].entries()) chaos(room, clock2, 400 + i, 20);
    await new Promise((r) => setImmediate(r));
    const counts = [...again.lab.rooms.values()].map((r) => r.inputCount);
    const before = labState(again);
    expect(before.rooms.map((r) => JSON.parse(r.inputs).length)).toEqual(counts);
    await kill(again);

    const { app: third } = await start(dir, new FakeClock());
    expect(third.persistence!.stats().restored).toMatchObject({ mismatched: [], skipped: [] });
    expect(labState(third)).toEqual(before);
  });

  it('a checkpoint written after the stored position still counts: the room comes back from it, as far as it got', async () => {
    const dir = tempDir();
    const clock = new FakeClock();
    const { app } = await start(dir, clock);
    const room = app.lab.createRoom(app.lab.createClass('C'));
    await new Promise((r) => setImmediate(r));
    // Events run after the last input (retransmissions, TIME-WAIT), then the room is quiet.
    classSession(clock, room);
    clock.advance(60_000);
    await checkpointsWritten(app, 1);
    const before = labState(app);
    await kill(app);
    // A room's position is written about once a second, its checkpoint once it is quiet: a kill
    // between the two leaves the stored position behind the checkpoint.
    const db = new Database(join(dir, DB_FILE));
    const cp = db.prepare('SELECT at FROM checkpoints').get() as { at: number };
    const inputs = db.prepare('SELECT body FROM inputs ORDER BY id').all() as Array<{ body: string }>;
    expect(cp.at).toBeGreaterThan(JSON.parse(inputs.at(-1)!.body).at);
    db.prepare('UPDATE rooms SET at = 0, seq = 0').run();
    db.close();

    const { app: again } = await start(dir, new FakeClock());
    const report = again.persistence!.stats().restored!;
    expect(report).toMatchObject({ fromCheckpoints: 1, mismatched: [], broken: [] });
    expect(labState(again)).toEqual(before);
  });

  it('waits while the server is busy: a quiet room gets its checkpoint once the server calms down', async () => {
    const clock = new FakeClock();
    const { app } = await start(tempDir(), clock);
    const room = app.lab.createRoom(app.lab.createClass('C'));
    await new Promise((r) => setImmediate(r));
    chaos(room, clock, 7, 20, { resets: false });
    await checkpointsWritten(app, 1);
    const at = app.persistence!.stats().checkpoints.written;
    // The room moves on and goes quiet while the event loop runs 95 % of the time for 1 s (four
    // looks), as when a class comes back after a restart.
    chaos(room, clock, 8, 20, { resets: false });
    const until = performance.now() + 1000;
    while (performance.now() < until) {
      const slice = performance.now() + 19;
      while (performance.now() < slice) {}
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(app.persistence!.stats().checkpoints.written).toBe(at);
    await checkpointsWritten(app, at + 1);
  });

  it('a checkpoint from another build, or damaged, is not used: that room replays every input', async () => {
    const dir = tempDir();
    const { app, rooms } = await busyLab(dir);
    const before = labState(app);
    await app.close();
    apps.splice(0);
    const db = new Database(join(dir, DB_FILE));
    db.prepare("UPDATE checkpoints SET engine = 'another build' WHERE room_id = ?").run(rooms[0]!.id);
    const row = db.prepare('SELECT state FROM checkpoints WHERE room_id = ?').get(rooms[1]!.id) as
      | { state: Buffer }
      | undefined;
    const stored = (db.prepare('SELECT COUNT(*) AS n FROM checkpoints').get() as { n: number }).n;
    if (row) {
      db.prepare('UPDATE checkpoints SET state = ? WHERE room_id = ?').run(
        row.state.subarray(0, 40),
        rooms[1]!.id,
      );
    }
    db.close();

    const { app: again } = await start(dir, new FakeClock());
    const report = again.persistence!.stats().restored!;
    expect(report.fromCheckpoints).toBe(stored - (row ? 2 : 1));
    expect(report).toMatchObject({ mismatched: [], broken: [], skipped: [] });
    expect(labState(again)).toEqual(before);
  });
});

/**
 * A room of a new class on the exercise "lose-first": B listens and accepts, A connects, and a
 * second later closes (its FIN is the one the exercise drops).
 */
async function loseFirst(app: FastifyInstance, clock: FakeClock) {
  const room = app.lab.createRoom(app.lab.createClass('C'));
  await new Promise((r) => setImmediate(r)); // the room is stored as it was created
  app.exercises.assignRoom(room, 'lose-first');
  const call = (host: 'A' | 'B', c: Record<string, unknown>) =>
    room.input({ kind: 'call', host, call: c as never });
  call('B', { op: 'socket' });
  call('B', { op: 'bind', fd: 3, port: 80 });
  call('B', { op: 'listen', fd: 3 });
  call('B', { op: 'accept', fd: 3 });
  call('A', { op: 'socket' });
  call('A', { op: 'connect', fd: 3, addr: '10.0.0.2', port: 80 });
  clock.advance(1000);
  call('A', { op: 'close', fd: 3 });
  return { room, call };
}

describe('an exercise in a room', () => {
  it('comes back with the endpoint settings it gave the room, and the same progress', async () => {
    const dir = tempDir();
    const clock = new FakeClock();
    const { app } = await start(dir, clock);
    const { room } = await loseFirst(app, clock);
    // The exercise set the endpoints' engine settings (MSL 2 s) and reset the room with them.
    expect(room.hostConfig('A')).toMatchObject({ mslMs: 2000 });
    clock.advance(10_000);
    const goals = (r: typeof room) => JSON.stringify(app2Exercises(r).exercise?.progress.goals);
    let app2Exercises = (r: typeof room) => app.exercises.recompute(r);
    const before = { history: room.history.map((e) => e.data.toString('hex')), goals: goals(room) };
    expect(app.exercises.recompute(room).exercise?.progress.goalsMet).toBeGreaterThan(0);
    await app.close();
    apps.splice(0);

    const { app: again } = await start(dir, new FakeClock());
    const rebuilt = again.lab.room(room.id);
    expect(again.persistence!.stats().restored).toMatchObject({ mismatched: [], broken: [] });
    expect(rebuilt.hostConfig('A')).toMatchObject({ mslMs: 2000 });
    expect(rebuilt.history.map((e) => e.data.toString('hex'))).toEqual(before.history);
    // The exercise followed the replayed trace: its goals are met as before.
    app2Exercises = (r) => again.exercises.recompute(r);
    expect(goals(rebuilt)).toBe(before.goals);
  });
});

describe('what a restart cannot rebuild is reported', () => {
  async function oneRoom(dir: string) {
    const clock = new FakeClock();
    const { app } = await start(dir, clock);
    const lab = app.lab;
    const k = lab.createClass('C');
    const room = lab.createRoom(k);
    const call = (host: 'A' | 'B', c: Record<string, unknown>) =>
      room.input({ kind: 'call', host, call: c as never });
    call('B', { op: 'socket' });
    call('B', { op: 'bind', fd: 3, port: 80 });
    call('B', { op: 'listen', fd: 3 });
    call('A', { op: 'socket' });
    call('A', { op: 'connect', fd: 3, addr: '10.0.0.2', port: 80 });
    clock.advance(3000);
    call('A', { op: 'send', fd: 3, data: 'abc' });
    clock.advance(3000);
    const history = room.history.map((e) => e.data.toString('hex'));
    await app.close();
    apps.splice(0);
    return { id: room.id, history };
  }

  it('a stored history the replay does not reproduce: the rebuilt one is kept and stored again', async () => {
    const dir = tempDir();
    const { id, history } = await oneRoom(dir);
    const db = new Database(join(dir, DB_FILE));
    const row = db.prepare('SELECT first_n, data FROM events WHERE room_id = ? ORDER BY first_n').get(id) as {
      first_n: number;
      data: Buffer;
    };
    const data = Buffer.from(row.data);
    data[data.length - 3]! ^= 0xff;
    db.prepare('UPDATE events SET data = ? WHERE room_id = ? AND first_n = ?').run(data, id, row.first_n);
    // What an engine that changed between versions does: its checkpoints are another build's.
    db.prepare("UPDATE checkpoints SET engine = 'an older build'").run();
    db.close();
    const { app } = await start(dir, new FakeClock());
    const report = app.persistence!.stats().restored!;
    expect(report.mismatched).toHaveLength(1);
    expect(report.mismatched[0]!.room).toBe(id);
    expect(app.lab.room(id).history.map((e) => e.data.toString('hex'))).toEqual(history);
    await app.close();
    apps.splice(0);
    // …and stored again, so the next start agrees.
    const { app: again } = await start(dir, new FakeClock());
    expect(again.persistence!.stats().restored!.mismatched).toEqual([]);
  });

  it('inputs that no longer replay: the room is kept, marked broken until reset', async () => {
    const dir = tempDir();
    const { id } = await oneRoom(dir);
    const db = new Database(join(dir, DB_FILE));
    const rows = db.prepare('SELECT idx, body FROM inputs WHERE room_id = ? ORDER BY idx').all(id) as Array<{
      idx: number;
      body: string;
    }>;
    const last = rows.at(-1)!;
    const body = JSON.parse(last.body);
    db.prepare('UPDATE inputs SET body = ? WHERE room_id = ? AND idx = ?').run(
      JSON.stringify({ ...body, seq: body.seq + 500 }),
      id,
      last.idx,
    );
    db.close();
    const { app } = await start(dir, new FakeClock());
    const report = app.persistence!.stats().restored!;
    expect(report.broken).toEqual([{ room: id, error: expect.stringMatching(/replay diverged/) }]);
    const room = app.lab.room(id);
    expect(room.info().broken).toMatch(/could not be rebuilt after a restart/);
    expect(() => room.input({ kind: 'hold', on: true })).toThrow(/stopped after an internal error/);
    room.reset();
    room.input({ kind: 'hold', on: true });
    expect(room.info().hold).toBe(true);
  });
});

describe('an exercise in a room rebuilt from its checkpoint', () => {
  it('follows the trace before the checkpoint and the one replayed after it', async () => {
    const dir = tempDir();
    const clock = new FakeClock();
    const { app } = await start(dir, clock);
    const { room, call } = await loseFirst(app, clock);
    clock.advance(20);
    // A's FIN is lost before the checkpoint; its retransmission and the rest come after it.
    await checkpointsWritten(app, 1);
    clock.advance(3000);
    call('B', { op: 'recv', fd: 4 });
    clock.advance(10_000);
    // Everything but the time since the exercise was assigned (the wait above is real time).
    const progress = (p: typeof app, r: typeof room) =>
      JSON.stringify({ ...p.exercises.recompute(r).exercise?.progress, elapsedS: undefined });
    const before = {
      history: room.history.map((e) => e.data.toString('hex')),
      progress: progress(app, room),
    };
    expect(app.exercises.recompute(room).exercise?.progress.goalsMet).toBeGreaterThan(0);
    await kill(app);

    const { app: again } = await start(dir, new FakeClock());
    expect(again.persistence!.stats().restored).toMatchObject({
      fromCheckpoints: 1,
      mismatched: [],
      broken: [],
    });
    expect(again.persistence!.stats().restored!.replayed).toBeGreaterThan(0);
    const rebuilt = again.lab.room(room.id);
    expect(rebuilt.history.map((e) => e.data.toString('hex'))).toEqual(before.history);
    expect(progress(again, rebuilt)).toBe(before.progress);
  });
});
