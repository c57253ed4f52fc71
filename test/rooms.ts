/**
 * Rooms for tests, on a fake clock: a room with the classroom defaults, a socket call as a
 * room input, and a connected pair.
 */
import { Room, type RoomSetup } from '../server/lab/room.ts';
import { CLASSROOM_LINK, CLASSROOM_TCP } from '../shared/protocol/defaults.ts';
import { LIMITS, type Limits } from '../shared/protocol/limits.ts';
import type { Seat, SockCall } from '../shared/protocol/messages.ts';
import type { PacerClock } from '../shared/sim/pacer.ts';
import type { FakeClock } from './fake-clock.ts';

export function makeRoom(
  clock: PacerClock<unknown>,
  opts: { running?: boolean; id?: number; setup?: Partial<RoomSetup>; limits?: Limits } = {},
): Room {
  const id = opts.id ?? 7;
  return new Room({
    id,
    name: 'R',
    classCode: 'ABCD',
    seed: opts.setup?.seed ?? id,
    limits: opts.limits ?? LIMITS,
    link: opts.setup?.link ?? CLASSROOM_LINK,
    tcp: opts.setup?.tcp ?? CLASSROOM_TCP,
    ...(opts.setup?.hosts ? { hosts: opts.setup.hosts } : {}),
    ...(opts.setup?.addrs ? { addrs: opts.setup.addrs } : {}),
    speed: 1,
    running: opts.running ?? true,
    timers: clock,
  });
}

export const call = (room: Room, host: Seat, c: SockCall) =>
  room.input({ kind: 'call', host, call: c }) as {
    callId: number;
    result?: { ok: boolean; value?: unknown };
  };

/** B listens on 80 and accepts; A connects; both ESTABLISHED when it returns. */
export function connectPair(room: Room, clock: FakeClock): void {
  call(room, 'B', { op: 'socket' });
  call(room, 'B', { op: 'bind', fd: 3, port: 80 });
  call(room, 'B', { op: 'listen', fd: 3 });
  call(room, 'B', { op: 'accept', fd: 3 });
  clock.advance(100);
  call(room, 'A', { op: 'socket' });
  call(room, 'A', { op: 'connect', fd: 3, addr: '10.0.0.2', port: 80 });
  clock.advance(2000);
}
