/**
 * A simulator trace's segment event as the binary segment frame a room's history carries
 * (docs/protocol.md): the lab server records rooms this way, and the web app's recorded
 * histories (development page, component tests, bench:web) are built the same way.
 */
import type { SegmentTrace } from '../sim/trace.ts';
import { type Cause, encodeFrame, type Fate } from './frame.ts';

const FATE_OF: Record<SegmentTrace['event'], Fate> = {
  send: 'sent',
  arrive: 'arrived',
  drop: 'dropped',
  dup: 'duplicated',
  hold: 'held',
  release: 'released',
  delay: 'delayed',
  corrupt: 'corrupted',
};

/** The frame's cause and rule number from the simulator's reason (`rule:7`, `loss`, …). */
function causeOf(reason: string | undefined): { cause: Cause; ruleId: number } {
  if (reason === undefined) return { cause: 'none', ruleId: 0 };
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
      return { cause: 'none', ruleId: 0 };
  }
}

/** The frame of history entry `n` of `room` for segment event `e`, whose packet is `packet`. */
export function segmentFrame(e: SegmentTrace, room: number, n: number, packet: Uint8Array): Uint8Array {
  const { cause, ruleId } = causeOf(e.reason);
  return encodeFrame({
    room,
    n,
    segId: e.id,
    t: e.t,
    fate: FATE_OF[e.event],
    dir: e.from === 'A' ? 'AB' : 'BA',
    ...(e.why === undefined ? {} : { why: e.why }),
    cause,
    rexmit: e.rexmit ?? 0,
    ref: e.dupOf ?? 0,
    ruleId,
    extraMs: e.delayMs ?? 0,
    packet,
  });
}
