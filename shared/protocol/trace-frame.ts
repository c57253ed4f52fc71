/**
 * A simulator trace's segment event as the binary segment frame a room's history carries
 * (docs/protocol.md): the lab server records rooms this way, and the web app's recorded
 * histories (development page, component tests, bench:web) are built the same way.
 */
import type { SegmentHead } from '../sim/trace.ts';
import { type Cause, encodeFrameInto, type Fate, FRAME_HEADER_LEN } from './frame.ts';

const FATE_OF: Record<SegmentHead['event'], Fate> = {
  send: 'sent',
  arrive: 'arrived',
  drop: 'dropped',
  dup: 'duplicated',
  hold: 'held',
  release: 'released',
  delay: 'delayed',
  corrupt: 'corrupted',
};

const NO_CAUSE: { cause: Cause; ruleId: number } = { cause: 'none', ruleId: 0 };

/** The frame's cause and rule number from the simulator's reason (`rule:7`, `loss`, …). */
function causeOf(reason: string | undefined): { cause: Cause; ruleId: number } {
  if (reason === undefined) return NO_CAUSE;
  // A room's rules are numbered; a scenario's may be named (`r1`): its digits, if any.
  if (reason.startsWith('rule:'))
    return { cause: 'rule', ruleId: Number(reason.slice(5).replace(/\D/g, '')) || 0 };
  switch (reason) {
    case 'loss':
      return { cause: 'loss', ruleId: 0 };
    case 'queue-full':
      return { cause: 'queue-full', ruleId: 0 };
    case 'hold':
      return { cause: 'hold', ruleId: 0 };
    case 'user':
      return { cause: 'person', ruleId: 0 };
    case 'no-route':
      return { cause: 'no-route', ruleId: 0 };
    case 'link':
      return { cause: 'duplicate', ruleId: 0 };
    case 'rule':
      return { cause: 'rule', ruleId: 0 };
    default:
      return NO_CAUSE;
  }
}

/** The frame of history entry `n` of `room` for segment event `e`, whose packet is `packet`. */
export function segmentFrame(e: SegmentHead, room: number, n: number, packet: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_LEN + packet.length);
  segmentFrameInto(e, room, n, packet, out, 0);
  return out;
}

/** `segmentFrame` written into `out` at `at` (`FRAME_HEADER_LEN + packet.length` bytes). */
export function segmentFrameInto(
  e: SegmentHead,
  room: number,
  n: number,
  packet: Uint8Array,
  out: Uint8Array,
  at: number,
): void {
  const { cause, ruleId } = causeOf(e.reason);
  encodeFrameInto(
    {
      room,
      n,
      segId: e.id,
      t: e.t,
      fate: FATE_OF[e.event],
      dir: e.from === 'A' ? 'AB' : 'BA',
      why: e.why,
      cause,
      rexmit: e.rexmit ?? 0,
      ref: e.dupOf ?? 0,
      ruleId,
      extraMs: e.delayMs ?? 0,
      packet,
    },
    out,
    at,
  );
}
