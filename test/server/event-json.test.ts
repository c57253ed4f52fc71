/**
 * `room.event` texts written by hand (server/lab/event-json.ts) are the bytes `JSON.stringify`
 * gives: persistence checks a rebuilt history against the stored one byte for byte, and browsers
 * parse them. Checked on every event of random rooms, and on events shaped to trip a template.
 */
import { describe, expect, it } from 'vitest';
import { wsFrame } from '../../server/lab/connection.ts';
import { LabError } from '../../server/lab/errors.ts';
import { roomEventBytes, roomEventJson } from '../../server/lab/event-json.ts';
import { type HistoryEntry, Room } from '../../server/lab/room.ts';
import { CLASSROOM_LINK, CLASSROOM_TCP } from '../../shared/protocol/defaults.ts';
import { LIMITS } from '../../shared/protocol/limits.ts';
import type { SockCall } from '../../shared/protocol/messages.ts';
import type { BareTraceEvent, TraceEvent } from '../../shared/sim/trace.ts';
import { FakeClock } from '../fake-clock.ts';

/** What `JSON.stringify` makes of a room's event (the room's old way of writing it). */
function reference(room: number, n: number, e: BareTraceEvent): string {
  return JSON.stringify({ type: 'room.event', room, n, t: e.t, event: e });
}

describe('room.event texts', () => {
  it('are JSON.stringify’s bytes for every event of random rooms (seed 77)', () => {
    let seed = 77;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const clock = new FakeClock();
    const kinds = new Map<string, number>();
    let checked = 0;
    let withBytes = 0;
    for (let run = 0; run < 6; run++) {
      let last: BareTraceEvent | undefined;
      const check = (room: Room, entry: HistoryEntry, n: number) => {
        const e = last!;
        if (entry.binary) {
          expect(e.type).toBe('segment');
          return;
        }
        // The WebSocket message every feed gets is exactly these bytes, framed.
        expect(entry.frame?.equals(wsFrame(entry.data, false))).toBe(true);
        const text = entry.data.toString('utf8');
        kinds.set(e.type, (kinds.get(e.type) ?? 0) + 1);
        checked++;
        const value = (e as { result?: { value?: unknown } }).result?.value;
        if (e.type === 'return' && typeof value === 'object' && value !== null && 'bytes' in value) {
          // A call that returned bytes carries them whole (base64) instead of the trace's preview.
          const sent = JSON.parse(text).event.result.value as { b64: string };
          expect(Buffer.from(sent.b64, 'base64').length).toBe((value as { bytes: number }).bytes);
          const whole = { ...e, result: { ...(e.result as object), value: sent } };
          expect(text).toBe(JSON.stringify({ type: 'room.event', room: room.id, n, t: e.t, event: whole }));
          withBytes++;
          return;
        }
        expect(text).toBe(reference(room.id, n, e));
      };
      const room = new Room({
        id: 1000 + run,
        name: 'R',
        classCode: 'ABCD',
        seed: run,
        limits: { ...LIMITS, maxHistoryEvents: 1e9 },
        link: { ...CLASSROOM_LINK, loss: rnd() * 0.3, duplicate: rnd() * 0.2 },
        tcp: CLASSROOM_TCP,
        speed: 10,
        running: true,
        timers: clock,
        hooks: {
          onTrace: (_r, e) => {
            last = e;
          },
          onEntry: check,
        },
      });
      // A connection with data both ways first (cc events come with acknowledged data), then chaos.
      const script: Array<['A' | 'B', SockCall]> = [
        ['B', { op: 'socket' }],
        ['B', { op: 'bind', fd: 3, port: 80 }],
        ['B', { op: 'listen', fd: 3 }],
        ['B', { op: 'accept', fd: 3 }],
        ['A', { op: 'socket' }],
        ['A', { op: 'connect', fd: 3, addr: '10.0.0.2', port: 80 }],
        ['B', { op: 'recv', fd: 4 }],
        ['A', { op: 'send', fd: 3, data: 'hello' }],
        ['A', { op: 'recv', fd: 3 }],
        ['B', { op: 'send', fd: 4, data: 'x'.repeat(2000) }],
      ];
      for (const [host, c] of script) {
        room.input({ kind: 'call', host, call: c });
        clock.advance(1000);
      }
      for (let i = 0; i < 250; i++) {
        const host = pick(['A', 'B'] as const);
        const fd = pick([3, 4, 5]);
        const calls: SockCall[] = [
          { op: 'socket' },
          { op: 'bind', fd, port: 80 },
          { op: 'listen', fd },
          { op: 'connect', fd, addr: pick(['10.0.0.1', '10.0.0.2']), port: 80 },
          { op: 'accept', fd },
          { op: 'send', fd, data: pick(['x'.repeat(100), 'é\u0001"\\', 'y'.repeat(3000)]) },
          { op: 'recv', fd, max: pick([1, 65536]) },
          { op: 'close', fd },
          { op: 'shutdown', fd, how: 'SHUT_WR' },
          { op: 'dup', fd },
          { op: 'fork' },
          { op: 'setsockopt', fd, opt: 'SO_LINGER', value: { onoff: true, lingerSec: 0 } },
        ];
        try {
          const r = rnd();
          if (r < 0.8) room.input({ kind: 'call', host, call: pick(calls) });
          else if (r < 0.85)
            room.input({
              kind: 'fault.add',
              id: room.allocateRuleId(),
              rule: { from: host, flags: [pick(['FIN', 'SYN', 'ACK'] as const)], action: 'drop' },
            });
          else if (r < 0.87) room.reset();
        } catch (e) {
          if (!(e instanceof LabError)) throw e;
        }
        clock.advance(rnd() * 3000);
      }
      room.dispose();
    }
    // The run met every kind the texts are written for, and returned bytes.
    for (const kind of ['timer', 'state', 'cc', 'socket', 'call', 'return', 'discard'])
      expect(kinds.get(kind) ?? 0, kind).toBeGreaterThan(0);
    expect(withBytes).toBeGreaterThan(0);
    expect(checked).toBeGreaterThan(1000);
  });

  it('are JSON.stringify’s bytes for odd values: escapes, non-finite numbers, optional fields', () => {
    const odd: TraceEvent[] = [
      {
        t: 1.5,
        type: 'state',
        host: 'A"\\\n\u0000',
        sock: 1,
        from: 'CLOSED',
        to: 'LISTEN',
        cause: 'a·b \ud800',
      },
      {
        t: Number.NaN,
        type: 'timer',
        host: 'B',
        sock: -0,
        kind: 'retransmit',
        action: 'set',
        deadline: 1e21,
      },
      {
        t: 0,
        type: 'cc',
        host: 'A',
        sock: 1,
        cwnd: Infinity,
        ssthresh: 2 ** 31 - 1,
        phase: 'slow-start',
        cause: '',
      },
      { t: 0, type: 'socket', host: 'A', sock: 2, action: 'create', parent: 1 },
      { t: 0, type: 'socket', host: 'A', sock: 2, action: 'free' },
      { t: 3, type: 'call', host: 'A', pid: 1, callId: 2, op: 'socket', args: {} },
      { t: 3, type: 'call', host: 'A', pid: 1, callId: 2, op: 'send', fd: 3, args: { a: [1, 'x'] }, step: 4 },
      {
        t: 3,
        type: 'return',
        host: 'B',
        pid: 2,
        callId: 9,
        op: 'recv',
        fd: 4,
        result: { ok: true, value: { bytes: 3, text: 'abc' } },
        blockedMs: 0.000001,
      },
      {
        t: 3,
        type: 'return',
        host: 'B',
        pid: 2,
        callId: 9,
        op: 'close',
        result: { ok: false, errno: 'EBADF', message: 'no "fd"' },
        blockedMs: 0,
        step: 0,
      },
      {
        t: 3,
        type: 'return',
        host: 'B',
        pid: 2,
        callId: 9,
        op: 'close',
        result: { ok: true, value: 0 },
        blockedMs: 2,
      },
      { t: 0, type: 'discard', host: 'A', reason: 'no-socket', detail: 'x' } as TraceEvent,
      { t: 0, type: 'error', message: 'boom' },
      // Longer than the writer's first buffer, and after a first part already written.
      {
        t: 7,
        type: 'call',
        host: 'A',
        pid: 1,
        callId: 3,
        op: 'send',
        fd: 3,
        args: { text: 'é'.repeat(50_000) },
      },
      { t: 0, type: 'state', host: 'A', sock: 1, from: 'CLOSED', to: 'LISTEN', cause: 'x'.repeat(100_000) },
    ];
    for (const [i, e] of odd.entries()) {
      expect(roomEventJson(7, i, e), `event ${i}`).toBe(reference(7, i, e));
      // Short, 16-bit and 64-bit lengths in the frame header.
      const { data, frame } = roomEventBytes(7, i, e);
      expect(frame.equals(wsFrame(data, false)), `frame of event ${i}`).toBe(true);
    }
  });
});
