/**
 * A room on a fake clock: inputs, faults, hold mode, stepping, and the property persistence
 * (issue 7) builds on: replaying a room's inputs rebuilds its history byte for byte.
 */
import { describe, expect, it } from 'vitest';
import { LabError } from '../../server/lab/errors.ts';
import { Room, type RoomHooks, type RoomInput } from '../../server/lab/room.ts';
import { CLASSROOM_LINK, CLASSROOM_TCP } from '../../shared/protocol/defaults.ts';
import { decodeFrame, type SegmentFrame } from '../../shared/protocol/frame.ts';
import { LIMITS } from '../../shared/protocol/limits.ts';
import type { SockCall } from '../../shared/protocol/messages.ts';
import { type BareTraceEvent, hasSummary } from '../../shared/sim/trace.ts';
import { decodePacket } from '../../shared/tcp/codec.ts';
import { flagNames } from '../../shared/tcp/packet.ts';
import { FakeClock } from '../fake-clock.ts';
import { call, connectPair, makeRoom } from '../rooms.ts';

function frames(room: Room): SegmentFrame[] {
  return room.history.flatMap((e) => {
    if (!e.binary) return [];
    const r = decodeFrame(new Uint8Array(e.data));
    if (!r.ok) throw new Error(r.error.message);
    return [r.frame];
  });
}

function label(f: SegmentFrame): string {
  const p = decodePacket(f.packet);
  if (!p.ok) throw new Error(p.error.message);
  return `${f.fate} ${f.dir} ${flagNames(p.packet.tcp.flags).join(',')}${f.why ? ` (${f.why})` : ''}`;
}

function events(room: Room): Array<Record<string, unknown>> {
  return room.history.filter((e) => !e.binary).map((e) => JSON.parse(e.data.toString()).event);
}

describe('room inputs on a paced clock', () => {
  it('paces the network against the clock: the SYN arrives one link delay later', () => {
    const clock = new FakeClock();
    const room = makeRoom(clock);
    clock.advance(1000);
    call(room, 'B', { op: 'socket' });
    call(room, 'B', { op: 'bind', fd: 3, port: 80 });
    call(room, 'B', { op: 'listen', fd: 3 });
    call(room, 'A', { op: 'socket' });
    call(room, 'A', { op: 'connect', fd: 3, addr: '10.0.0.2', port: 80 });
    expect(room.now).toBe(1000);
    clock.advance(499);
    expect(frames(room).map(label)).toEqual(['sent AB SYN (syn)']);
    clock.advance(1);
    expect(frames(room).map(label)).toEqual([
      'sent AB SYN (syn)',
      'arrived AB SYN (syn)',
      'sent BA ACK,SYN (syn-ack)',
    ]);
  });

  it('refuses a bad input without changing anything', () => {
    const clock = new FakeClock();
    const room = makeRoom(clock);
    const before = room.history.length;
    expect(() =>
      room.input({ kind: 'call', host: 'A', call: { op: 'connect', fd: 3, addr: '10.0.0.999', port: 1 } }),
    ).toThrow(LabError);
    expect(() => room.input({ kind: 'held', segId: 4, action: 'release' })).toThrow(/not held/);
    expect(() => room.input({ kind: 'fault.remove', id: 9 })).toThrow(/no fault rule 9/);
    expect(() => room.input({ kind: 'fault.add', id: 1, rule: { action: 'delay' } })).toThrow(/delayMs/);
    expect(room.history.length).toBe(before);
    expect(room.inputs).toEqual([]);
  });

  it('drops the first FIN from A by rule, and the engine retransmits it', () => {
    const clock = new FakeClock();
    const room = makeRoom(clock);
    connectPair(room, clock);
    room.input({
      kind: 'fault.add',
      id: room.allocateRuleId(),
      rule: { from: 'A', flags: ['FIN'], action: 'drop' },
    });
    call(room, 'A', { op: 'close', fd: 3 });
    clock.advance(10_000);
    const fins = frames(room).filter((f) => f.dir === 'AB' && label(f).includes('FIN'));
    expect(fins.map((f) => `${f.fate} ${f.cause} rule=${f.ruleId} rexmit=${f.rexmit} ${f.why}`)).toEqual([
      'sent none rule=0 rexmit=0 fin',
      'dropped rule rule=1 rexmit=0 fin',
      'sent none rule=0 rexmit=1 retransmit-rto',
      'arrived none rule=0 rexmit=1 retransmit-rto',
    ]);
    expect(room.info().faults).toMatchObject([{ id: 1, action: 'drop', fired: 1 }]);
  });

  it('holds segments until someone releases, drops or delays them', () => {
    const clock = new FakeClock();
    const room = makeRoom(clock);
    room.input({ kind: 'hold', on: true });
    call(room, 'B', { op: 'socket' });
    call(room, 'B', { op: 'bind', fd: 3, port: 80 });
    call(room, 'B', { op: 'listen', fd: 3 });
    call(room, 'A', { op: 'socket' });
    call(room, 'A', { op: 'connect', fd: 3, addr: '10.0.0.2', port: 80 });
    clock.advance(2000);
    expect(frames(room).map(label)).toEqual(['sent AB SYN (syn)', 'held AB SYN (syn)']);
    const syn = room.info().held[0]!;
    room.input({ kind: 'held', segId: syn, action: 'delay', ms: 300 });
    clock.advance(799);
    expect(frames(room).map((f) => f.fate)).toEqual(['sent', 'held', 'delayed']);
    expect(frames(room)[2]!.extraMs).toBe(300);
    clock.advance(1);
    expect(frames(room).map((f) => f.fate)).toEqual(['sent', 'held', 'delayed', 'arrived', 'sent', 'held']);
    const synAck = room.info().held[0]!;
    room.input({ kind: 'held', segId: synAck, action: 'drop' });
    expect(frames(room).at(-1)).toMatchObject({ fate: 'dropped', cause: 'person', segId: synAck });
    expect(room.info().held).toEqual([]);
  });

  it('steps one event at a time while paused', () => {
    const clock = new FakeClock();
    const room = makeRoom(clock, { running: false });
    call(room, 'B', { op: 'socket' });
    call(room, 'B', { op: 'bind', fd: 3, port: 80 });
    call(room, 'B', { op: 'listen', fd: 3 });
    call(room, 'A', { op: 'socket' });
    call(room, 'A', { op: 'connect', fd: 3, addr: '10.0.0.2', port: 80 });
    clock.advance(60_000);
    expect(frames(room).map((f) => f.fate)).toEqual(['sent']);
    room.step();
    expect(room.now).toBe(500);
    expect(frames(room).map((f) => f.fate)).toEqual(['sent', 'arrived', 'sent']);
    room.step(1000);
    expect(room.now).toBe(1500);
    expect(room.clock().running).toBe(false);
  });
});

describe('room notices', () => {
  it('tells its feeds the virtual time about once a second while running, and not while paused', () => {
    const clock = new FakeClock();
    const room = makeRoom(clock);
    const notices: Array<{ type: string; t?: number }> = [];
    room.feeds.add({
      onEntry() {},
      onReset() {},
      onNotice: (d) => void notices.push(JSON.parse(d.toString())),
    });
    clock.advance(3500);
    const times = notices.filter((n) => n.type === 'room.time').map((n) => n.t);
    expect(times).toEqual([1000, 2000, 3000]);
    room.pause();
    notices.length = 0;
    clock.advance(5000);
    expect(notices).toEqual([]);
  });
});

describe('replay (what persistence builds on)', () => {
  /** A class session: handshake, data, a fault, hold mode, stepping, close, with the clock running and paused. */
  function session(clock: FakeClock, room: Room) {
    connectPair(room, clock);
    call(room, 'A', { op: 'send', fd: 3, data: 'hello' });
    clock.advance(123.456);
    room.input({ kind: 'link', dir: 'BA', settings: { delayMs: 250, loss: 0.3 } });
    call(room, 'B', { op: 'recv', fd: 4 });
    call(room, 'B', { op: 'send', fd: 4, data: 'world, with loss' });
    clock.advance(4000);
    // Segments sent together arrive together: pause before they do, step one in, and read
    // between two events due at the same virtual time.
    call(room, 'A', { op: 'send', fd: 3, data: 'x'.repeat(3000) });
    clock.advance(400);
    room.pause();
    room.step();
    const first = call(room, 'B', { op: 'recv', fd: 4, max: 65536 });
    expect(first.result).toMatchObject({ ok: true, value: { length: 1460 } });
    room.step();
    call(room, 'A', { op: 'recv', fd: 3 });
    room.input({
      kind: 'fault.add',
      id: room.allocateRuleId(),
      rule: { from: 'A', flags: ['FIN'], action: 'drop' },
    });
    room.resume();
    clock.advance(777);
    room.input({ kind: 'hold', on: true });
    call(room, 'A', { op: 'close', fd: 3 });
    clock.advance(5000);
    for (const id of room.info().held) room.input({ kind: 'held', segId: id, action: 'release' });
    room.input({ kind: 'hold', on: false });
    call(room, 'B', { op: 'recv', fd: 4, max: 65536 });
    clock.advance(5000);
    call(room, 'B', { op: 'close', fd: 4 });
    clock.advance(30_000);
  }

  it('rebuilds the same history, byte for byte, and the same sockets', () => {
    const clock = new FakeClock();
    const live = makeRoom(clock);
    session(clock, live);
    expect(live.history.length).toBeGreaterThan(100);
    expect(events(live).some((e) => e.type === 'state' && e.to === 'TIME-WAIT')).toBe(true);

    const inputs: RoomInput[] = structuredClone(live.inputs);
    const rebuilt = makeRoom(new FakeClock(), { running: false });
    rebuilt.replay(inputs, live.position());
    expect(rebuilt.history.length).toBe(live.history.length);
    for (let i = 0; i < live.history.length; i++) {
      expect(rebuilt.history[i]!.data.toString('hex'), `history entry ${i}`).toBe(
        live.history[i]!.data.toString('hex'),
      );
    }
    expect(JSON.parse(rebuilt.snapshotMessage().toString()).hosts).toEqual(
      JSON.parse(live.snapshotMessage().toString()).hosts,
    );
  });

  it('notices when inputs do not match the run (a divergent replay is an error, not silence)', () => {
    const clock = new FakeClock();
    const live = makeRoom(clock);
    session(clock, live);
    const inputs = structuredClone(live.inputs);
    inputs[3] = { ...inputs[3]!, seq: inputs[3]!.seq + 1000 };
    expect(() => makeRoom(new FakeClock(), { running: false }).replay(inputs, live.position())).toThrow(
      /diverged/,
    );
  });
});

describe('random classroom chaos (seed 4242)', () => {
  it('never breaks a room: 20 rooms × 300 random calls, faults, holds, steps and resets', () => {
    let seed = 4242;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const clock = new FakeClock();
    let refusals = 0;
    for (let run = 0; run < 20; run++) {
      const crashes: unknown[] = [];
      const room = new Room({
        id: run + 1,
        name: 'R',
        classCode: 'ABCD',
        seed: run,
        limits: { ...LIMITS, maxHistoryEvents: 1e9 },
        link: { ...CLASSROOM_LINK, loss: rnd() * 0.3, duplicate: rnd() * 0.2, reorder: rnd() * 0.2 },
        tcp: CLASSROOM_TCP,
        speed: 10,
        running: true,
        timers: clock,
        onCrash: (_r, e) => crashes.push(e),
      });
      for (let i = 0; i < 300; i++) {
        const host = pick(['A', 'B'] as const);
        const fd = pick([3, 4, 5, 6]);
        const calls: SockCall[] = [
          { op: 'socket' },
          { op: 'socket', nonblocking: true },
          { op: 'bind', fd, port: pick([80, 81]) },
          { op: 'listen', fd, backlog: pick([0, 1, 5]) },
          { op: 'connect', fd, addr: pick(['10.0.0.1', '10.0.0.2']), port: pick([80, 81]) },
          { op: 'accept', fd },
          { op: 'send', fd, data: 'x'.repeat(pick([1, 100, 3000])) },
          { op: 'recv', fd, max: pick([1, 100, 65536]) },
          { op: 'close', fd },
          { op: 'shutdown', fd, how: pick(['SHUT_RD', 'SHUT_WR', 'SHUT_RDWR'] as const) },
          { op: 'dup', fd },
          { op: 'fork' },
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
          if (r < 0.75) room.input({ kind: 'call', host, call: pick(calls) });
          else if (r < 0.8) room.input({ kind: 'hold', on: rnd() < 0.5 });
          else if (r < 0.85 && room.info().held.length > 0)
            room.input({
              kind: 'held',
              segId: room.info().held[0]!,
              action: pick(['release', 'drop', 'delay'] as const),
              ms: 100,
            });
          else if (r < 0.88)
            room.input({
              kind: 'fault.add',
              id: room.allocateRuleId(),
              rule: {
                from: host,
                flags: [pick(['FIN', 'SYN', 'ACK', 'RST'] as const)],
                action: pick(['drop', 'duplicate', 'corrupt', 'hold'] as const),
              },
            });
          else if (r < 0.9) room.reset();
          else if (r < 0.93) room.step();
          else if (r < 0.95) room.resume();
        } catch (e) {
          if (!(e instanceof LabError)) throw e;
          refusals++;
        }
        clock.advance(pick([0, 10, 200, 3000]));
      }
      expect(crashes).toEqual([]);
      expect(room.broken).toBeUndefined();
      room.dispose();
    }
    expect(refusals).toBeLessThan(50);
  });
});

describe('segment summaries (header fields of segment events in onTrace)', () => {
  /** A room with the classroom defaults (20 % loss) and `hooks`. */
  function hookedRoom(clock: FakeClock, hooks: RoomHooks): Room {
    return new Room({
      id: 7,
      name: 'R',
      classCode: 'ABCD',
      seed: 7,
      limits: LIMITS,
      link: { ...CLASSROOM_LINK, loss: 0.2 },
      tcp: CLASSROOM_TCP,
      speed: 1,
      running: true,
      timers: clock,
      hooks,
    });
  }

  /** A room whose onTrace collects the trace (`summaries`: traceSummaries's answer, if any), run. */
  function traced(clock: FakeClock, summaries?: boolean) {
    const trace: BareTraceEvent[] = [];
    const room = hookedRoom(clock, {
      onTrace: (_r, e) => trace.push(e),
      ...(summaries === undefined ? {} : { traceSummaries: () => summaries }),
    });
    connectPair(room, clock);
    call(room, 'A', { op: 'send', fd: 3, data: 'hello' });
    call(room, 'B', { op: 'send', fd: 4, data: 'world' });
    clock.advance(20_000);
    call(room, 'A', { op: 'close', fd: 3 });
    clock.advance(20_000);
    return { room, trace };
  }

  const segments = (t: BareTraceEvent[]) => t.filter((e) => e.type === 'segment');

  it('are made when onTrace wants them (the default), not otherwise; the history is the same', () => {
    const whole = traced(new FakeClock());
    const bare = traced(new FakeClock(), false);
    expect(segments(whole.trace).length).toBeGreaterThan(10);
    expect(segments(whole.trace).every(hasSummary)).toBe(true);
    expect(segments(bare.trace).some(hasSummary)).toBe(false);
    expect(bare.room.history.map((e) => e.data)).toEqual(whole.room.history.map((e) => e.data));
    expect(traced(new FakeClock(), true).trace).toEqual(whole.trace);
  });

  it('are asked for again when the room builds its network anew (a reset)', () => {
    const clock = new FakeClock();
    let want = false;
    const trace: BareTraceEvent[] = [];
    const room = hookedRoom(clock, { onTrace: (_r, e) => trace.push(e), traceSummaries: () => want });
    connectPair(room, clock);
    expect(segments(trace).some(hasSummary)).toBe(false);
    want = true;
    room.reset();
    trace.length = 0;
    connectPair(room, clock);
    expect(segments(trace).length).toBeGreaterThan(0);
    expect(segments(trace).every(hasSummary)).toBe(true);
  });
});
