/**
 * Test helpers for persistence and exports: a fake clock, rooms with a realistic class's history
 * (and random ones), and a comparison of a room's history with a simulator trace.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import { LabError } from '../../server/lab/errors.ts';
import type { HistoryEntry, Room, RoomSetup } from '../../server/lab/room.ts';
import { decodeFrame, type Fate } from '../../shared/protocol/frame.ts';
import { LIMITS } from '../../shared/protocol/limits.ts';
import type { SockCall } from '../../shared/protocol/messages.ts';
import type { PacerClock } from '../../shared/sim/pacer.ts';
import type { TraceEvent } from '../../shared/sim/trace.ts';
import { FakeClock } from '../fake-clock.ts';
import { call, connectPair, makeRoom as makeTestRoom } from '../rooms.ts';

export { FakeClock };

const dirs: string[] = [];
// Each test file evaluates this module anew: its folders go when its tests are done.
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A temporary folder, removed after the test file's tests. */
export function tempDir(prefix = 'tcplab-persist-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** A room that keeps its whole history (no cap), as persistence tests compare it all. */
export function makeRoom(
  clock: PacerClock<unknown>,
  opts: { running?: boolean; id?: number; setup?: Partial<RoomSetup> } = {},
): Room {
  return makeTestRoom(clock, { ...opts, limits: { ...LIMITS, maxHistoryEvents: 1e9 } });
}

export { call, connectPair };

/**
 * A class's hour in one room: handshake, data both ways over a lossy link, stepping onto two
 * segments that arrive together and reading between them, a lost FIN, hold mode, a delayed and a
 * released segment, a send while a recv blocks, close and TIME-WAIT.
 */
export function classSession(clock: FakeClock, room: Room): void {
  connectPair(room, clock);
  call(room, 'A', { op: 'send', fd: 3, data: 'hello' });
  clock.advance(123.456);
  room.input({ kind: 'link', dir: 'BA', settings: { delayMs: 250, loss: 0.3 } });
  call(room, 'B', { op: 'recv', fd: 4 });
  call(room, 'B', { op: 'send', fd: 4, data: 'world, with loss ✓' });
  clock.advance(4000);
  call(room, 'A', { op: 'send', fd: 3, data: 'x'.repeat(3000) });
  clock.advance(400);
  room.pause();
  room.step();
  call(room, 'B', { op: 'recv', fd: 4, max: 65536 });
  room.step();
  call(room, 'A', { op: 'recv', fd: 3 });
  // A blocks in recv; B's data comes later. Meanwhile A sends (another thread, for the scenario).
  call(room, 'A', { op: 'recv', fd: 3 });
  call(room, 'A', {
    op: 'send',
    fd: 3,
    data: Buffer.from([0, 255, 1]).toString('base64'),
    encoding: 'base64',
  });
  room.input({
    kind: 'fault.add',
    id: room.allocateRuleId(),
    rule: { from: 'A', flags: ['FIN'], action: 'drop', label: "lose A's FIN" },
  });
  room.resume();
  clock.advance(777);
  room.input({ kind: 'hold', on: true });
  call(room, 'B', { op: 'send', fd: 4, data: 'held' });
  call(room, 'A', { op: 'close', fd: 3 });
  clock.advance(5000);
  const held = room.info().held;
  if (held.length > 1) room.input({ kind: 'held', segId: held[1]!, action: 'delay', ms: 300 });
  for (const id of room.info().held) room.input({ kind: 'held', segId: id, action: 'release' });
  room.input({ kind: 'hold', on: false });
  room.input({ kind: 'link', settings: { loss: 0 } });
  call(room, 'B', { op: 'recv', fd: 4, max: 65536 });
  clock.advance(5000);
  room.input({ kind: 'fault.clear' });
  call(room, 'B', { op: 'close', fd: 4 });
  clock.advance(30_000);
}

/**
 * Random inputs, clock steps and pauses (a small LCG, so each seed is one fixed history). With
 * `paused`, the clock stays paused and time moves by steps only: two rooms given the same calls
 * then do the same, whatever their real-time clocks did before.
 */
export function chaos(
  room: Room,
  clock: FakeClock,
  seed: number,
  n: number,
  opts: { resets?: boolean; paused?: boolean } = {},
): void {
  let s = seed >>> 0 || 1;
  const rnd = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  for (let i = 0; i < n; i++) {
    const host = pick(['A', 'B'] as const);
    const fd = pick([3, 4, 5, 6]);
    const calls: SockCall[] = [
      { op: 'socket' },
      { op: 'socket', nonblocking: true },
      { op: 'bind', fd, port: pick([80, 81]) },
      { op: 'listen', fd, backlog: pick([0, 1, 5]) },
      { op: 'connect', fd, addr: pick(['10.0.0.1', '10.0.0.2']), port: pick([80, 81]) },
      { op: 'accept', fd },
      { op: 'send', fd, data: 'y'.repeat(pick([1, 100, 3000])) },
      { op: 'recv', fd, max: pick([1, 100, 65536]) },
      { op: 'close', fd },
      { op: 'shutdown', fd, how: pick(['SHUT_RD', 'SHUT_WR', 'SHUT_RDWR'] as const) },
      { op: 'dup', fd },
      { op: 'fork' },
      { op: 'send', pid: 2, fd, data: 'child' },
      { op: 'setsockopt', fd, opt: 'SO_LINGER', value: { onoff: true, lingerSec: 0 } },
      {
        op: 'setsockopt',
        fd,
        opt: pick(['SO_REUSEADDR', 'TCP_NODELAY', 'O_NONBLOCK'] as const),
        value: true,
      },
    ];
    try {
      const r = rnd();
      if (r < 0.7) room.input({ kind: 'call', host, call: pick(calls) });
      else if (r < 0.74) room.input({ kind: 'hold', on: rnd() < 0.5 });
      else if (r < 0.79 && room.info().held.length > 0)
        room.input({
          kind: 'held',
          segId: pick(room.info().held),
          action: pick(['release', 'drop', 'delay'] as const),
          ms: 100,
        });
      else if (r < 0.82)
        room.input({
          kind: 'fault.add',
          id: room.allocateRuleId(),
          rule: {
            from: host,
            flags: [pick(['FIN', 'SYN', 'ACK', 'RST'] as const)],
            action: pick(['drop', 'duplicate', 'corrupt', 'hold', 'delay'] as const),
            ...(rnd() < 0.5 ? { times: 'all' as const } : {}),
          },
        });
      else if (r < 0.84 && room.info().faults.length > 0)
        room.input({ kind: 'fault.remove', id: (pick(room.info().faults) as { id: number }).id });
      else if (r < 0.85) room.input({ kind: 'fault.clear' });
      else if (r < 0.87)
        room.input({
          kind: 'link',
          ...(rnd() < 0.5 ? {} : { dir: pick(['AB', 'BA'] as const) }),
          settings: { loss: pick([0, 0.1, 0.3]), duplicate: pick([0, 0.1]), jitterMs: pick([0, 50]) },
        });
      else if (r < 0.88 && opts.resets) room.reset();
      else if (r < 0.94) room.step();
      else if (opts.paused) room.step(pick([10, 200, 3000]));
      else if (r < 0.97) room.resume();
      else room.pause();
    } catch (e) {
      if (!(e instanceof LabError)) throw e;
    }
    clock.advance(pick([0, 0, 10, 200, 3000]));
  }
}

const FATE_OF: Record<string, Fate> = {
  send: 'sent',
  arrive: 'arrived',
  drop: 'dropped',
  dup: 'duplicated',
  hold: 'held',
  release: 'released',
  delay: 'delayed',
  corrupt: 'corrupted',
};

/**
 * Checks that a room's history is the trace, entry by entry: each JSON event is the trace event
 * (the scenario runner's `step` tags and the room's full `b64` bytes of recv set aside) and each
 * frame is its segment event (fate, id, time, direction, reason, rexmit, copy, delay, bytes).
 */
export function expectHistoryIsTrace(history: readonly HistoryEntry[], trace: readonly TraceEvent[]): void {
  expect(trace.filter((e) => (e as { type: string }).type === 'error')).toEqual([]);
  expect(trace.length, 'events in the trace vs the history').toBe(history.length);
  for (let n = 0; n < history.length; n++) {
    const h = history[n]!;
    const e = trace[n]!;
    if (h.binary) {
      expect(e.type, `entry ${n} is a frame`).toBe('segment');
      if (e.type !== 'segment') return;
      const r = decodeFrame(new Uint8Array(h.data));
      if (!r.ok) throw new Error(r.error.message);
      const f = r.frame;
      expect(
        {
          n: f.n,
          segId: f.segId,
          t: f.t,
          fate: f.fate,
          dir: f.dir,
          why: f.why,
          rexmit: f.rexmit,
          ref: f.ref,
          extraMs: f.extraMs,
          ...(e.hex === undefined ? {} : { hex: Buffer.from(f.packet).toString('hex') }),
        },
        `frame ${n}`,
      ).toEqual({
        n,
        segId: e.id,
        t: e.t,
        fate: FATE_OF[e.event],
        dir: e.from === 'A' ? 'AB' : 'BA',
        why: e.why,
        rexmit: e.rexmit ?? 0,
        ref: e.dupOf ?? 0,
        extraMs: Math.min(65535, Math.round(e.delayMs ?? 0)),
        ...(e.hex === undefined ? {} : { hex: e.hex }),
      });
    } else {
      const msg = JSON.parse(h.data.toString());
      expect(msg.n).toBe(n);
      expect(msg.t).toBe(e.t);
      const ev = structuredClone(msg.event);
      const te = structuredClone(e) as Record<string, unknown> & {
        step?: number;
        result?: { value?: unknown };
      };
      delete te.step;
      if (ev.type === 'return' && ev.result?.value?.b64 !== undefined) {
        const bytes = Buffer.from(ev.result.value.b64, 'base64');
        const preview = te.result?.value as { bytes?: number } | undefined;
        expect(bytes.length, `recv bytes of entry ${n}`).toBe(preview?.bytes);
        ev.result.value = null;
        te.result!.value = null;
      }
      expect(ev, `event ${n}`).toEqual(te);
    }
  }
}
