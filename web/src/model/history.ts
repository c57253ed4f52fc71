/**
 * A room's history as the browser keeps it: every `room.event` and every binary segment frame, in
 * the order the server numbered them (`n`). The JSON events are the simulator's trace events
 * (`shared/sim/trace.ts`) as the server forwards them; they are typed loosely here because they
 * crossed a wire: every reader checks the fields it uses.
 */
import type { SegmentFrame } from '../../../shared/protocol/frame.ts';
import type { CcPhase, DiscardReason, TcpState, TimerKind } from '../../../shared/tcp/types.ts';

export type Side = 'A' | 'B';
export const SIDES: readonly Side[] = ['A', 'B'];

export function otherSide(s: Side): Side {
  return s === 'A' ? 'B' : 'A';
}

/** A call result as it travels: `{ ok, value }` or `{ ok: false, errno, message }`. */
export type WireResult = { ok: true; value?: unknown } | { ok: false; errno: string; message: string };

export type CallEvent = {
  type: 'call';
  t: number;
  host: string;
  pid: number;
  callId: number;
  op: string;
  fd?: number;
  args: Record<string, unknown> | null;
};

export type ReturnEvent = {
  type: 'return';
  t: number;
  host: string;
  pid: number;
  callId: number;
  op: string;
  fd?: number;
  result: WireResult;
  blockedMs: number;
};

export type StateEvent = {
  type: 'state';
  t: number;
  host: string;
  sock: number;
  from: TcpState;
  to: TcpState;
  cause: string;
};

export type TimerEvent = {
  type: 'timer';
  t: number;
  host: string;
  sock: number;
  kind: TimerKind;
  action: 'set' | 'fire' | 'cancel';
  deadline: number;
};

export type DiscardEvent = {
  type: 'discard';
  t: number;
  host: string;
  sock?: number;
  id?: number;
  reason: DiscardReason;
  detail: string;
};

export type SocketEvent = {
  type: 'socket';
  t: number;
  host: string;
  sock: number;
  action: 'create' | 'free';
  parent?: number;
};

export type CcEvent = {
  type: 'cc';
  t: number;
  host: string;
  sock: number;
  cwnd: number;
  ssthresh: number;
  phase: CcPhase;
  cause: string;
};

/** Room inputs as the simulator traces them: link changes, fault rules, hold mode. */
export type LinkEvent = {
  type: 'link';
  t: number;
  from: string;
  to: string;
  settings: Record<string, unknown>;
};
export type RuleEvent = { type: 'rule'; t: number; action: 'add' | 'remove'; rule: Record<string, unknown> };
export type HoldEvent = { type: 'hold'; t: number; from: string; to: string; on: boolean };
export type ErrorEvent = { type: 'error'; t: number; message: string };
/** docs/protocol.md's generic wrapper for a room input. */
export type InputEvent = { type: 'input'; t: number; input: Record<string, unknown> };

export type WireEvent =
  | CallEvent
  | ReturnEvent
  | StateEvent
  | TimerEvent
  | DiscardEvent
  | SocketEvent
  | CcEvent
  | LinkEvent
  | RuleEvent
  | HoldEvent
  | ErrorEvent
  | InputEvent
  | { type: string; t: number; [k: string]: unknown };

export interface EventItem {
  kind: 'event';
  n: number;
  t: number;
  event: WireEvent;
}

export interface FrameItem {
  kind: 'frame';
  n: number;
  t: number;
  frame: SegmentFrame;
}

export type HistoryItem = EventItem | FrameItem;

export function isSide(s: unknown): s is Side {
  return s === 'A' || s === 'B';
}
