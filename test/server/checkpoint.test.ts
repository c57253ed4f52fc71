/**
 * A room rebuilt from a checkpoint (Room.checkpoint / restoreCheckpoint) is the room: the same
 * history byte for byte, the same sockets, buffers, timers and link, and from there on it does
 * what the original does, input for input (issue 7: restart without replaying every input).
 */
import { describe, expect, it } from 'vitest';
import type { Room, RoomCheckpoint } from '../../server/lab/room.ts';
import { call, chaos, classSession, connectPair, FakeClock, makeRoom } from '../persistence/helpers.ts';

function entries(room: Room): string[] {
  return room.history.map((e) => `${e.binary ? 'b' : 't'}:${e.data.toString('base64')}`);
}

function engine(room: Room) {
  const info = room.info();
  return {
    position: room.position(),
    info: { ...info, clock: { ...info.clock, running: undefined } },
    snapshot: JSON.parse(room.snapshotMessage().toString()).hosts,
    next: (room as unknown as { net: { nextEventTime(): number | undefined } }).net.nextEventTime(),
  };
}

/** A new room (its own clock) rebuilt from `cp` and `room`'s stored history and inputs. */
function rebuild(room: Room, cp: RoomCheckpoint): { copy: Room; clock: FakeClock } {
  const clock = new FakeClock();
  const copy = makeRoom(clock, { running: false, id: room.id });
  copy.epoch = room.epoch;
  copy.restoreCheckpoint(cp, room.history.slice(0, cp.history), room.inputs, room.position());
  if (room.clock().running) copy.resume();
  return { copy, clock };
}

function expectSame(a: Room, b: Room): void {
  expect(entries(b)).toEqual(entries(a));
  expect(engine(b)).toEqual(engine(a));
}

describe('a room rebuilt from a checkpoint', () => {
  it("is the class's room, at the checkpoint and after inputs that came later", () => {
    const clock = new FakeClock();
    const room = makeRoom(clock);
    connectPair(room, clock);
    call(room, 'A', { op: 'send', fd: 3, data: 'x'.repeat(5000) });
    clock.advance(300);
    const cp = room.checkpoint();
    expect(cp.history).toBe(room.history.length);
    expect(cp.inputs).toBe(room.inputs.length);
    // The same moment: nothing to replay.
    const { copy: now } = rebuild(room, cp);
    expectSame(room, now);
    // Later: the inputs after the checkpoint are replayed.
    classSession(clock, room);
    const { copy: later } = rebuild(room, cp);
    expectSame(room, later);
  });

  it('goes on exactly as the original does (random classes, checkpoints anywhere)', () => {
    for (let seed = 1; seed <= 25; seed++) {
      const clock = new FakeClock();
      const room = makeRoom(clock, { id: seed });
      const checkpoints: RoomCheckpoint[] = [];
      for (let part = 0; part < 4; part++) {
        chaos(room, clock, seed * 31 + part, 25);
        if (room.broken) break;
        checkpoints.push(room.checkpoint());
      }
      if (room.broken) continue;
      for (const cp of checkpoints) {
        // Each checkpoint, with the inputs after it, gives the room as it is now…
        const { copy } = rebuild(room, cp);
        expectSame(room, copy);
        // …and goes on as it does: timers, buffers, random losses and all.
        const { copy: next, clock: nextClock } = rebuild(room, cp);
        // Against the room rebuilt the long way, by replaying every input.
        const twin = makeRoom(new FakeClock(), { running: false, id: room.id });
        twin.epoch = room.epoch;
        twin.replay(room.inputs, room.position());
        next.pause();
        chaos(twin, new FakeClock(), seed * 17 + 3, 40, { paused: true });
        chaos(next, nextClock, seed * 17 + 3, 40, { paused: true });
        expectSame(twin, next);
      }
    }
  });

  it('refuses a checkpoint that is not one, and the room stays as it was', () => {
    const clock = new FakeClock();
    const room = makeRoom(clock);
    connectPair(room, clock);
    const cp = room.checkpoint();
    const other = makeRoom(new FakeClock());
    const before = entries(other);
    const bad = { ...cp, state: cp.state.slice(0, cp.state.length - 3) };
    expect(() =>
      other.restoreCheckpoint(bad, room.history.slice(0, cp.history), room.inputs, room.position()),
    ).toThrow(/not a checkpoint/);
    expect(() => other.restoreCheckpoint(cp, room.history.slice(1), room.inputs, room.position())).toThrow(
      /does not match/,
    );
    expect(entries(other)).toEqual(before);
    // It still works.
    call(other, 'A', { op: 'socket' });
    expect(other.inputs).toHaveLength(1);
  });
});

describe('a room whose rebuild is put off (Room.defer)', () => {
  const uses: Array<[string, (r: Room) => unknown]> = [
    ['history', (r) => r.history],
    ['inputs', (r) => r.inputs],
    ['info', (r) => r.info()],
    ['clock', (r) => r.clock()],
    ['position', (r) => r.position()],
    ['now', (r) => r.now],
    ['snapshot', (r) => r.snapshotMessage()],
    ['checkpoint', (r) => r.checkpoint()],
    ['a call', (r) => call(r, 'A', { op: 'socket' })],
    ['pause', (r) => r.pause()],
    ['step', (r) => r.step()],
    ['reset', (r) => r.reset()],
  ];

  it.each(uses)('is rebuilt, once, before %s', (_, use) => {
    const clock = new FakeClock();
    const room = makeRoom(clock);
    connectPair(room, clock);
    const { history, inputs, position } = {
      history: entries(room),
      inputs: room.inputs,
      position: room.position(),
    };
    const copy = makeRoom(new FakeClock(), { running: false });
    let runs = 0;
    copy.defer(() => {
      runs++;
      copy.replay(inputs, position);
    });
    expect(copy.rebuildPending).toBe(true);
    expect(runs).toBe(0);
    use(copy);
    expect(runs).toBe(1);
    expect(copy.rebuildPending).toBe(false);
    // What it did, it did to the rebuilt room.
    expect(entries(copy).slice(0, history.length)).toEqual(copy.epoch === 0 ? history : []);
    use(copy);
    expect(runs).toBe(1);
  });
});
