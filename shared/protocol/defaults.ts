/**
 * The classroom pace: what a new room starts with. Real TCP on a LAN is far too fast to watch, so
 * the link is slow (500 ms each way) and the engine's timers are scaled to match: an RTO must
 * stay above the 1 s round trip, and TIME-WAIT (2·MSL) lasts 10 s instead of Linux's 60 s so a
 * class sees it end. At speed ×1 one virtual millisecond is one real millisecond.
 */
import type { TcpConfig } from '../tcp/config.ts';
import type { ClockPolicy, LinkDirection } from './messages.ts';

/** Endpoint addresses: A is 10.0.0.1, B is 10.0.0.2. */
export const ROOM_ADDRS = { A: '10.0.0.1', B: '10.0.0.2' } as const;

export const CLASSROOM_LINK: Required<LinkDirection> = {
  delayMs: 500,
  jitterMs: 0,
  loss: 0,
  duplicate: 0,
  reorder: 0,
  rateBps: 0,
  queuePackets: 100,
  reorderMs: 250,
};

/** Engine overrides on top of the `textbook` profile (no window scaling, timestamps or SACK). */
export const CLASSROOM_TCP: Partial<TcpConfig> = {
  mslMs: 5_000,
  rtoInitialMs: 3_000,
  rtoMinMs: 1_500,
  delayedAckMs: 200,
  finTimeoutMs: 30_000,
};

export const CLASSROOM_CLOCK: { speed: number; running: boolean; policy: ClockPolicy } = {
  speed: 1,
  running: true,
  policy: 'seats',
};

/** Clock speeds the server accepts. */
export const MIN_SPEED = 0.1;
export const MAX_SPEED = 100;
