/**
 * Watching a room from the dashboard (issue 8), with real WebSocket clients: `room.watch` gives an
 * instructor connection the room's whole timeline without a seat and without counting as one of
 * its people; every message that could change anything is then refused with a clear error and
 * the room is left exactly as it was. Stepping in stays an instructor action on the dashboard's
 * own connection. Progress messages carry each goal's evidence.
 */
import { Value } from '@sinclair/typebox/value';
import { afterEach, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { GoalStatus } from '../../shared/protocol/exercises.ts';
import {
  classroom,
  closeAll,
  connect,
  type Data,
  KEY,
  received,
  refusal,
  request,
  startApp,
} from '../server/helpers.ts';
import { seen, solveLoseThird } from './helpers.ts';

type App = Awaited<ReturnType<typeof startApp>>['app'];
let app: App | undefined;
let clients: WebSocket[] = [];

afterEach(async () => {
  await closeAll(clients, app);
  app = undefined;
  clients = [];
});

/** A class, one room on lose-third, Ada in seat A; Bo joined the class but not the room. */
async function setup() {
  const started = await startApp({ speed: 20 });
  app = started.app;
  const c = await classroom(started.url, ['Ada', 'Bo']);
  clients.push(c.teacher, ...c.students);
  await request(c.teacher, { type: 'class.watch', code: c.code });
  await request(c.teacher, { type: 'seat.assign', room: c.room, seat: 'A', session: 's2' });
  await request(c.teacher, { type: 'exercise.assign', room: c.room, exercise: 'lose-third' });
  return { ...c, url: started.url };
}

async function watcher(url: string, room: number): Promise<WebSocket> {
  const w = await connect(url);
  clients.push(w);
  await request(w, { type: 'instructor.auth', key: KEY });
  expect(await request(w, { type: 'room.watch', room })).toEqual({ room, watching: true });
  return w;
}

/** Everything about a room (and its class) a message could change, as one comparable value. */
function roomState(room: number): string {
  const lab = app!.lab;
  const r = lab.rooms.get(room)!;
  const klass = lab.classes.get(r.classCode)!;
  return JSON.stringify({
    info: r.info(),
    hosts: JSON.parse(r.snapshotMessage().toString()).hosts,
    history: r.history.length,
    inputs: r.inputs.length,
    members: [...r.members].map((m) => (m as { id: string }).id),
    classes: lab.classes.size,
    rooms: [...klass.rooms.keys()],
    exercise: app!.exercises.record(r),
    people: (lab.classState(klass) as { people: unknown }).people,
  });
}

describe('watching a room read-only', () => {
  it('gets the whole timeline and the exercise without a seat, and is not one of the room’s people', async () => {
    const { teacher, code, room, url, students } = await setup();
    const ada = students[0]!;
    // Ada alone in the room: the dashboard says so.
    const alone = await request(teacher, { type: 'exercise.status', code });
    expect(alone.rooms[0].alerts).toContain('alone');
    await request(ada, { type: 'sock.call', room, host: 'A', call: { op: 'socket' } });
    const infoBefore = app!.lab.rooms.get(room)!.info();

    const w = await watcher(url, room);
    await seen(w, (d) => d.type === 'room.synced' && d.room === room);
    const snap = await seen(w, (d) => d.type === 'room.snapshot' && d.room === room);
    expect(snap.info.seats).toEqual(infoBefore.seats);
    // The history replay includes Ada's call, made before the watcher came.
    const history = received(w).filter(
      (m) => m.kind === 'json' && m.data.type === 'room.event' && (m.data as Data).event.type === 'call',
    );
    expect(history).toHaveLength(1);
    const ex = await request(w, { type: 'exercise.get', room });
    expect(ex.exercise.id).toBe('lose-third');

    // Not seated, not counted, not listed: the students see the room as before.
    const r = app!.lab.rooms.get(room)!;
    expect(r.info().people).toBe(1);
    expect(r.info().seats).toEqual(infoBefore.seats);
    const status = await request(teacher, { type: 'exercise.status', code });
    expect(status.rooms[0].alerts).toContain('alone');
    const cls = app!.lab.classState(app!.lab.classes.get(code)!) as Data;
    expect(cls.rooms[0].people).toBe(1);
    expect(cls.people.map((p: Data) => p.name)).toEqual(['Ada', 'Bo']);

    // It sees what happens next, live.
    await request(ada, { type: 'sock.call', room, host: 'A', call: { op: 'socket' } });
    await seen(
      w,
      () =>
        received(w).filter(
          (m) => m.kind === 'json' && m.data.type === 'room.event' && (m.data as Data).event.type === 'call',
        ).length === 2,
    );
  });

  it('refuses every message that could change a room, clearly, and nothing changes', async () => {
    const { room, url, code } = await setup();
    const w = await watcher(url, room);
    await seen(w, (d) => d.type === 'room.synced' && d.room === room);
    const before = roomState(room);
    const mutating: Array<Record<string, unknown>> = [
      { type: 'sock.call', room, host: 'A', call: { op: 'socket' } },
      { type: 'sock.call', room, host: 'B', call: { op: 'socket' } },
      { type: 'clock.pause', room },
      { type: 'clock.resume', room },
      { type: 'clock.step', room, ms: 10 },
      { type: 'clock.speed', room, speed: 2 },
      { type: 'clock.policy', room, policy: 'instructor' },
      { type: 'link.set', room, settings: { delayMs: 5 } },
      { type: 'fault.add', room, rule: { flags: ['FIN'], action: 'drop' } },
      { type: 'fault.remove', room, ruleId: 1 },
      { type: 'fault.clear', room },
      { type: 'hold.set', room, on: true },
      { type: 'held.release', room, segId: 1 },
      { type: 'held.drop', room, segId: 1 },
      { type: 'held.delay', room, segId: 1, ms: 5 },
      { type: 'room.reset', room },
      { type: 'seat.take', room, seat: 'B' },
      { type: 'seat.release', room, seat: 'A' },
      { type: 'seat.assign', room, seat: 'B', session: 's3' },
      { type: 'exercise.answer', room, question: 'who-repairs', answer: 'b-rto' },
      { type: 'exercise.assign', room, exercise: 'lose-first' },
      { type: 'exercise.assign', code, exercise: null },
      { type: 'room.join', room },
      { type: 'room.leave', room },
      { type: 'room.create', code },
      { type: 'class.create', name: 'Another' },
      { type: 'class.watch', code },
      { type: 'instructor.auth', key: KEY },
      { type: 'class.join', code, name: 'Eve' },
    ];
    for (const m of mutating) {
      const err = await refusal(w, m);
      expect(err.code, String(m.type)).toBe('TCPLAB_FORBIDDEN');
      expect(err.message).toBe(
        `this connection watches room ${room} read-only: ${m.type} is refused (to pause, add a fault or reset, step in from the dashboard, /teach)`,
      );
      if ('room' in m) expect(err.room).toBe(room);
      expect(roomState(room), String(m.type)).toBe(before);
    }
    // Still a watcher: it can ping, read the exercise, and is fed.
    await request(w, { type: 'ping', t: 1 });
    expect((await request(w, { type: 'exercise.get', room })).room).toBe(room);
  });

  it('only an instructor may watch; stepping in is the dashboard’s own instructor connection', async () => {
    const { teacher, room, url, students } = await setup();
    const ada = students[0]!;
    const watch = await refusal(ada, { type: 'room.watch', room });
    expect(watch).toMatchObject({ code: 'TCPLAB_FORBIDDEN' });
    expect(watch.message).toBe('only the instructor may watch a room read-only: join it (room.join) instead');
    const anon = await connect(url);
    clients.push(anon);
    expect(await refusal(anon, { type: 'room.watch', room })).toMatchObject({ code: 'TCPLAB_NOT_JOINED' });
    const w = await watcher(url, room);
    expect(await refusal(w, { type: 'room.watch', room: 9999 })).toMatchObject({
      code: 'TCPLAB_NO_SUCH_ROOM',
    });

    // The dashboard steps in (pause, a fault, reset): the watcher sees it happen.
    const r = app!.lab.rooms.get(room)!;
    await request(teacher, { type: 'clock.pause', room });
    expect(r.clock().running).toBe(false);
    await request(teacher, { type: 'fault.add', room, rule: { flags: ['SYN'], action: 'drop' } });
    await seen(w, (d) => d.type === 'room.info' && d.room === room && d.info.faults.length === 2);
    const { epoch } = await request(teacher, { type: 'room.reset', room });
    await seen(w, (d) => d.type === 'room.snapshot' && d.room === room && d.info.epoch === epoch);
  });
});

describe('goal evidence in the progress messages', () => {
  it('each goal of lose-third names the segments and events that prove it, for the pair and watchers', async () => {
    const { teacher, room, url, students } = await setup();
    const [a, b] = students as [WebSocket, WebSocket];
    await request(teacher, { type: 'seat.assign', room, seat: 'B', session: 's3' });
    const w = await watcher(url, room);
    const start = await request(w, { type: 'exercise.get', room });
    for (const g of start.exercise.goals.en) {
      expect(Value.Check(GoalStatus, g)).toBe(true);
      expect(g.evidence).toBeUndefined();
    }
    await solveLoseThird(a, b, room);
    const done = await seen(
      w,
      (d) => d.type === 'room.exercise' && d.room === room && d.exercise?.progress.goalsMet === 4,
      20_000,
    );
    for (const lang of ['en', 'zh-CN'] as const) {
      for (const g of done.exercise.goals[lang]) {
        expect(Value.Check(GoalStatus, g), `${lang}/${g.id}`).toBe(true);
        expect(g.evidence.events.length).toBeGreaterThan(0);
      }
    }
    const byId = Object.fromEntries(done.exercise.goals.en.map((g: Data) => [g.id, g]));
    const lost = byId['fin-lost'].evidence;
    expect(lost.segments).toHaveLength(1);
    expect(lost.events[0]).toMatchObject({ type: 'segment', segment: lost.segments[0], host: 'B' });
    expect(lost.events[0].text).toMatch(/^#\d+ FIN,ACK from B \(dropped at t=[\d.]+ ms\)$/);
    const again = byId['fin-retransmitted'].evidence;
    expect(again.segments[0]).toBe(lost.segments[0]);
    expect(again.segments).toHaveLength(2);
    expect(again.segments[1]).toBeGreaterThan(again.segments[0]);
    // The same ids as the room's own segments: B's FINs on the wire.
    const finIds = app!.exercises
      .current(app!.lab.rooms.get(room)!)
      .exercise!.goals.en.find((g) => g.id === 'fin-retransmitted')!.evidence!.segments;
    expect(finIds).toEqual(again.segments);
    expect(byId['b-closed'].evidence.events).toEqual([
      expect.objectContaining({
        type: 'state',
        host: 'B',
        text: expect.stringContaining('LAST-ACK → CLOSED'),
      }),
    ]);
    const zh = done.exercise.goals['zh-CN'].find((g: Data) => g.id === 'fin-lost');
    expect(zh.evidence.segments).toEqual(lost.segments);
    expect(zh.evidence.events[0].text).toContain('被丢弃');
  }, 30_000);
});
