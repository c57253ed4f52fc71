/**
 * Targeted faults: rules that pick segments out of the stream by who sent them, their flags,
 * payload, the engine's reason for sending, or their network id, and drop, delay, duplicate,
 * corrupt or hold them. A rule counts the segments it matches from the moment it is added, so
 * "the next ACK from B" is `{ from: 'B', flags: ['ACK'], action: 'delay', delayMs: 3000 }`.
 */
import { FLAG_NAMES } from '../tcp/packet.ts';
import { SEND_REASONS, type SendReason } from '../tcp/types.ts';

export type FaultAction = 'drop' | 'delay' | 'duplicate' | 'corrupt' | 'hold';

export const FAULT_ACTIONS: readonly FaultAction[] = ['drop', 'delay', 'duplicate', 'corrupt', 'hold'];

export { SEND_REASONS };

export interface FaultRule {
  /** Name used in traces and to remove the rule; `r1`, `r2`… when omitted. */
  id?: string;
  /** Sending host. */
  from?: string;
  /** Receiving host. */
  to?: string;
  /** The segment with this network id. */
  segment?: number;
  /** The segment carries every one of these flags (names as in `FLAG_NAMES`: SYN, ACK, FIN…). */
  flags?: string[];
  /** …and none of these. */
  noFlags?: string[];
  /** true: carries payload; false: carries none. */
  data?: boolean;
  /** The engine's reason for sending it. */
  why?: SendReason;
  /** true: a retransmission; false: a first transmission. */
  rexmit?: boolean;
  /** Act from the nth matching segment on (1-based; default 1). */
  nth?: number;
  /** How many matching segments to act on (default 1); 'all' for every one from the nth on. */
  times?: number | 'all';
  action: FaultAction;
  /** For `delay`: extra time in flight. */
  delayMs?: number;
}

/** What a rule sees of a segment. */
export interface SegmentFacts {
  id: number;
  from: string;
  to: string;
  flags: number;
  payloadLen: number;
  why: SendReason | undefined;
  rexmit: boolean;
}

const FLAG_BITS = new Map<string, number>(FLAG_NAMES.map(([bit, name]) => [name, bit]));

export class ActiveRule {
  readonly rule: FaultRule & { id: string };
  private readonly mustHave: number;
  private readonly mustLack: number;
  /** Segments matched so far. */
  matched = 0;
  /** Segments acted on so far. */
  fired = 0;

  constructor(rule: FaultRule & { id: string }) {
    this.rule = rule;
    this.mustHave = flagBits(rule.flags);
    this.mustLack = flagBits(rule.noFlags);
  }

  get exhausted(): boolean {
    const times = this.rule.times ?? 1;
    return times !== 'all' && this.fired >= times;
  }

  /** Counts the segment if it matches; returns true when the rule acts on it. */
  offer(seg: SegmentFacts): boolean {
    const r = this.rule;
    if (this.exhausted) return false;
    if (r.segment !== undefined && r.segment !== seg.id) return false;
    if (r.from !== undefined && r.from !== seg.from) return false;
    if (r.to !== undefined && r.to !== seg.to) return false;
    if ((seg.flags & this.mustHave) !== this.mustHave) return false;
    if ((seg.flags & this.mustLack) !== 0) return false;
    if (r.data !== undefined && r.data !== seg.payloadLen > 0) return false;
    if (r.why !== undefined && r.why !== seg.why) return false;
    if (r.rexmit !== undefined && r.rexmit !== seg.rexmit) return false;
    this.matched++;
    if (this.matched < (r.nth ?? 1)) return false;
    this.fired++;
    return true;
  }
}

function flagBits(names: string[] | undefined): number {
  let bits = 0;
  for (const n of names ?? []) bits |= FLAG_BITS.get(n.toUpperCase()) ?? 0;
  return bits;
}

const RULE_KEYS = new Set([
  'id',
  'from',
  'to',
  'segment',
  'flags',
  'noFlags',
  'data',
  'why',
  'rexmit',
  'nth',
  'times',
  'action',
  'delayMs',
]);

/** Validates a rule; returns problems naming the field (prefixed with `path`), or []. */
export function checkRule(rule: unknown, path: string, hosts: readonly string[]): string[] {
  if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) return [`${path}: must be an object`];
  const r = rule as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(r)) {
    if (!RULE_KEYS.has(key))
      problems.push(`${path}.${key}: unknown rule field (known: ${[...RULE_KEYS].join(', ')})`);
  }
  if (r.id !== undefined && (typeof r.id !== 'string' || r.id === '')) {
    problems.push(`${path}.id: must be a non-empty string`);
  }
  for (const k of ['from', 'to'] as const) {
    if (r[k] !== undefined && !hosts.includes(r[k] as string)) {
      problems.push(`${path}.${k}: unknown host ${JSON.stringify(r[k])} (hosts: ${hosts.join(', ')})`);
    }
  }
  if (r.segment !== undefined && !(Number.isInteger(r.segment) && (r.segment as number) >= 1)) {
    problems.push(`${path}.segment: must be a segment id (an integer >= 1)`);
  }
  for (const k of ['flags', 'noFlags'] as const) {
    const v = r[k];
    if (v === undefined) continue;
    if (!Array.isArray(v)) {
      problems.push(`${path}.${k}: must be a list of flag names`);
      continue;
    }
    v.forEach((f, i) => {
      if (typeof f !== 'string' || !FLAG_BITS.has(f.toUpperCase())) {
        problems.push(
          `${path}.${k}[${i}]: unknown flag ${JSON.stringify(f)} (flags: ${[...FLAG_BITS.keys()].join(' ')})`,
        );
      }
    });
  }
  for (const k of ['data', 'rexmit'] as const) {
    if (r[k] !== undefined && typeof r[k] !== 'boolean') problems.push(`${path}.${k}: must be true or false`);
  }
  if (r.why !== undefined && !SEND_REASONS.includes(r.why as SendReason)) {
    problems.push(
      `${path}.why: unknown send reason ${JSON.stringify(r.why)} (reasons: ${SEND_REASONS.join(', ')})`,
    );
  }
  if (r.nth !== undefined && !(Number.isInteger(r.nth) && (r.nth as number) >= 1)) {
    problems.push(`${path}.nth: must be an integer >= 1`);
  }
  if (
    r.times !== undefined &&
    r.times !== 'all' &&
    !(Number.isInteger(r.times) && (r.times as number) >= 1)
  ) {
    problems.push(`${path}.times: must be an integer >= 1 or "all"`);
  }
  if (r.action === undefined) {
    problems.push(`${path}.action: missing (one of ${FAULT_ACTIONS.join(', ')})`);
  } else if (!FAULT_ACTIONS.includes(r.action as FaultAction)) {
    problems.push(
      `${path}.action: unknown action ${JSON.stringify(r.action)} (one of ${FAULT_ACTIONS.join(', ')})`,
    );
  }
  if (r.action === 'delay') {
    if (!(typeof r.delayMs === 'number' && Number.isFinite(r.delayMs) && r.delayMs >= 0)) {
      problems.push(`${path}.delayMs: a delay rule needs delayMs, a number of ms >= 0`);
    }
  } else if (r.delayMs !== undefined) {
    problems.push(`${path}.delayMs: only a delay rule takes delayMs`);
  }
  return problems;
}
