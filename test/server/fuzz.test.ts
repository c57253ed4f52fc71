/**
 * A bounded fuzz of the gateway: thousands of malformed messages (seeded, so a failure replays)
 * from a seated student. Each must get exactly one `error` naming a known code, and the room, its
 * endpoints and the lab must be exactly as they were.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { CLIENT_SCHEMAS, ERROR_CODES } from '../../shared/protocol/messages.ts';
import { validateClientMessage } from '../../shared/protocol/validate.ts';
import { classroom, closeAll, drain, nextMessage, request, startApp } from './helpers.ts';

const SEED = 20_251_127;
const COUNT = 4000;
const BATCH = 250;

/** mulberry32: small, seeded, good enough to pick mutations. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
  };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

describe(`gateway fuzz (seed ${SEED}, ${COUNT} messages)`, () => {
  let app: Awaited<ReturnType<typeof startApp>>['app'];
  let ann: WebSocket;
  let others: WebSocket[];
  let room: number;

  beforeAll(async () => {
    const s = await startApp({
      running: false,
      limits: { messagesPerSecond: 1e9, messageBurst: 1e9, rateStrikes: 1e9 },
    });
    app = s.app;
    const c = await classroom(s.url, ['Ann']);
    ann = c.students[0]!;
    others = [c.teacher];
    room = c.room;
    await request(ann, { type: 'room.join', room });
    await request(ann, { type: 'seat.take', room, seat: 'A' });
    await request(ann, { type: 'sock.call', room, host: 'A', call: { op: 'socket' } });
    await request(ann, { type: 'hold.set', room, on: true });
    // Let coalesced class.state pushes through, then start from an empty queue.
    await request(ann, { type: 'ping' });
    drain(ann);
  });

  afterAll(() => closeAll([ann, ...others], app));

  /** Everything about the lab a message could change, as one comparable value. */
  function state(): string {
    const lab = app.lab;
    const r = lab.rooms.get(room)!;
    return JSON.stringify({
      classes: lab.classes.size,
      rooms: lab.rooms.size,
      info: r.info(),
      hosts: JSON.parse(r.snapshotMessage().toString()).hosts,
      history: r.history.length,
      inputs: r.inputs.length,
      members: r.members.size,
    });
  }

  /** One valid message of each type, as Ann could send it. */
  function templates(): Record<string, Json> {
    const call = (c: Json) => ({ type: 'sock.call', room, host: 'A', call: c });
    return {
      'class.join': { type: 'class.join', code: 'ZZZZZZ', name: 'Eve' },
      'session.resume': { type: 'session.resume', token: 'A'.repeat(32) },
      'instructor.auth': { type: 'instructor.auth', key: 'guess' },
      'class.create': { type: 'class.create', name: 'Mine' },
      'class.watch': { type: 'class.watch', code: 'ZZZZZZ', rooms: true },
      'room.create': { type: 'room.create', name: 'R', code: 'ZZZZZZ' },
      'room.join': { type: 'room.join', room: 999 },
      'room.leave': { type: 'room.leave', room: 999 },
      'seat.take': { type: 'seat.take', room: 999, seat: 'B' },
      'seat.release': { type: 'seat.release', room, seat: 'B' },
      'seat.assign': { type: 'seat.assign', room, seat: 'B', session: null },
      'sock.call': call({ op: 'connect', fd: 3, addr: '10.0.0.2', port: 80 }),
      'sock.call/send': call({ op: 'send', fd: 3, data: 'hi' }),
      'sock.call/setsockopt': call({
        op: 'setsockopt',
        fd: 3,
        opt: 'SO_LINGER',
        value: { onoff: true, lingerSec: 0 },
      }),
      'clock.pause': { type: 'clock.pause', room: 999 },
      'clock.resume': { type: 'clock.resume', room: 999 },
      'clock.step': { type: 'clock.step', room: 999, ms: 10 },
      'clock.speed': { type: 'clock.speed', room: 999, speed: 2 },
      'clock.policy': { type: 'clock.policy', room, policy: 'instructor' },
      'link.set': { type: 'link.set', room: 999, dir: 'AB', settings: { delayMs: 10, loss: 0.5 } },
      'fault.add': { type: 'fault.add', room: 999, rule: { from: 'A', flags: ['FIN'], action: 'drop' } },
      'fault.remove': { type: 'fault.remove', room, ruleId: 42 },
      'fault.clear': { type: 'fault.clear', room: 999 },
      'hold.set': { type: 'hold.set', room: 999, on: false },
      'held.release': { type: 'held.release', room, segId: 4242 },
      'held.drop': { type: 'held.drop', room, segId: 4242 },
      'held.delay': { type: 'held.delay', room, segId: 4242, ms: 5 },
      'room.reset': { type: 'room.reset', room: 999 },
      'exercise.assign': { type: 'exercise.assign', room, exercise: 'lose-third' },
      'exercise.answer': { type: 'exercise.answer', room, question: 'q1', answer: 'b' },
      'exercise.get': { type: 'exercise.get', room: 999 },
      'exercise.status': { type: 'exercise.status', code: 'ZZZZZZ' },
      'room.watch': { type: 'room.watch', room },
      ping: { type: 'ping', t: 1 },
    };
  }

  /** Schema-valid messages that must still be refused (the state they would change is not Ann's). */
  function refusedAnyway(): Json[] {
    const call = (host: string, c: Json) => ({ type: 'sock.call', room, host, call: c });
    return [
      // Every template except ping and Ann's own (valid) socket calls is refused as it stands.
      ...Object.values(templates()).filter(
        (m) => !['ping', 'sock.call'].includes((m as { type: string }).type),
      ),
      call('B', { op: 'socket' }),
      call('A', { op: 'connect', fd: 3, addr: '300.1.2.3', port: 80 }),
      call('A', { op: 'bind', fd: 3, port: 80, addr: '1.2.3.999' }),
      call('A', { op: 'send', fd: 3, data: 'not base64!', encoding: 'base64' }),
      call('A', { op: 'send', fd: 3, data: 'x'.repeat(9000) }),
      { type: 'fault.add', room, rule: { action: 'delay' } },
      { type: 'fault.add', room, rule: { action: 'drop', delayMs: 5 } },
      { type: 'clock.step', room, ms: 600_001 },
      { type: 'seat.release', room, seat: 'B' },
    ];
  }

  const WRONG: Json[] = [null, true, 0, -1, 1.5, 2 ** 53, 'x', '', [], {}, [1, 2], { a: 1 }, 'A'.repeat(300)];

  function mutate(rnd: ReturnType<typeof prng>, msg: Record<string, Json>): Json {
    const m = structuredClone(msg);
    // Descend to a random object inside the message.
    let target: Record<string, Json> = m;
    for (;;) {
      const nested = Object.entries(target).filter(
        ([, v]) => v && typeof v === 'object' && !Array.isArray(v),
      );
      if (nested.length === 0 || rnd.next() < 0.5) break;
      target = rnd.pick(nested)[1] as Record<string, Json>;
    }
    const keys = Object.keys(target);
    switch (rnd.int(4)) {
      case 0:
        if (keys.length > 0) delete target[rnd.pick(keys)];
        break;
      case 1:
        target[`x${rnd.int(100)}`] = rnd.pick(WRONG);
        break;
      case 2:
        if (keys.length > 0) target[rnd.pick(keys)] = rnd.pick(WRONG);
        break;
      default:
        m.id = rnd.pick([-1, 1.5, 'seven', null, 2 ** 60, {}]);
    }
    return m;
  }

  function garbage(rnd: ReturnType<typeof prng>): string {
    switch (rnd.int(5)) {
      case 0:
        return Array.from({ length: rnd.int(40) }, () => String.fromCharCode(rnd.int(0x3000))).join('');
      case 1: {
        const t = JSON.stringify(rnd.pick(Object.values(templates())));
        return t.slice(0, rnd.int(t.length));
      }
      case 2:
        return JSON.stringify(rnd.pick<Json>([null, 1, 'ping', [], [{ type: 'ping' }], true]));
      case 3:
        return JSON.stringify({
          type: rnd.pick<Json>([null, 7, 'PING', 'room.nuke', '', 'ping ', ['ping']]),
          id: rnd.int(1e6),
        });
      default:
        return `{"type":"ping","pad":"${'p'.repeat(17_000)}"}`;
    }
  }

  it('answers every malformed message with exactly one error and changes nothing', async () => {
    const rnd = prng(SEED);
    const tpl = Object.values(templates()) as Array<Record<string, Json>>;
    const anyway = refusedAnyway();
    const before = state();
    const codes = new Map<string, number>();
    let sawRoster = false;
    let sent = 0;
    while (sent < COUNT) {
      const batch: Array<string | Buffer> = [];
      while (batch.length < BATCH) {
        const kind = rnd.int(10);
        let text: string | Buffer;
        if (kind < 5) {
          const m = mutate(rnd, rnd.pick(tpl));
          if (validateClientMessage(m).ok) continue; // the mutation happened to stay valid
          text = JSON.stringify(m);
        } else if (kind < 7) {
          text = JSON.stringify({ ...(rnd.pick(anyway) as object), id: rnd.int(1e9) });
        } else if (kind < 9) {
          text = garbage(rnd);
        } else {
          text = Buffer.from(Array.from({ length: 1 + rnd.int(20) }, () => rnd.int(256)));
        }
        batch.push(text);
      }
      for (const t of batch) ann.send(t, { binary: Buffer.isBuffer(t) });
      for (let i = 0; i < batch.length; i++) {
        let reply = await nextMessage(ann, { timeoutMs: 10_000 });
        // The class roster from the setup may still arrive (it is throttled); it is not a reply.
        while (reply.kind === 'json' && reply.data.type === 'class.state' && !sawRoster) {
          sawRoster = true;
          reply = await nextMessage(ann, { timeoutMs: 10_000 });
        }
        if (reply.kind !== 'json' || reply.data.type !== 'error') {
          throw new Error(
            `message ${sent + i} was not refused: ${String(batch[i]).slice(0, 200)} → ${reply.raw}`,
          );
        }
        expect(ERROR_CODES).toContain(reply.data.code);
        expect(String(reply.data.message).length).toBeGreaterThan(8);
        codes.set(String(reply.data.code), (codes.get(String(reply.data.code)) ?? 0) + 1);
      }
      sent += batch.length;
    }
    expect(state()).toBe(before);
    // The connection is still usable, and nothing else was queued for it.
    expect(await request(ann, { type: 'ping' })).toMatchObject({ type: 'pong' });
    // The fuzz reached deep into the gateway, not just the JSON parser.
    for (const code of ['TCPLAB_BAD_JSON', 'TCPLAB_INVALID', 'TCPLAB_UNKNOWN_TYPE', 'TCPLAB_NOT_YOUR_SEAT']) {
      expect(codes.get(code) ?? 0, code).toBeGreaterThan(10);
    }
    expect(codes.size).toBeGreaterThanOrEqual(12);
  }, 120_000);

  it('covers every message type in its templates', () => {
    const types = new Set(Object.values(templates()).map((m) => (m as { type: string }).type));
    expect([...types].sort()).toEqual(Object.keys(CLIENT_SCHEMAS).sort());
  });
});
