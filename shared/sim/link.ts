/**
 * One direction of a link: propagation delay, jitter, a bottleneck rate with a drop-tail queue,
 * random loss, duplication and reordering. Every random draw comes from the direction's own
 * seeded stream, so changing one direction's settings never changes what the other one does.
 */
import type { Rng } from './rng.ts';

export interface LinkSettings {
  /** One-way propagation delay in ms. */
  delayMs: number;
  /** Extra delay drawn uniformly from [0, jitterMs) per segment. Jitter alone never reorders. */
  jitterMs: number;
  /** Bottleneck rate in bits per second; 0 means infinitely fast (no serialisation, no queue). */
  rateBps: number;
  /** Packets that may wait behind the one being serialised; one more is dropped (drop-tail). */
  queuePackets: number;
  /** Probability that a segment is lost on the wire. */
  loss: number;
  /** Probability that a segment is duplicated (the copy follows it on the wire). */
  duplicate: number;
  /** Probability that a segment is held back by `reorderMs`, letting later segments overtake it. */
  reorder: number;
  /** Extra delay of a reordered segment. */
  reorderMs: number;
}

export const DEFAULT_LINK: LinkSettings = {
  delayMs: 50,
  jitterMs: 0,
  rateBps: 0,
  queuePackets: 100,
  loss: 0,
  duplicate: 0,
  reorder: 0,
  reorderMs: 25,
};

/**
 * A copy of `s` with exactly the fields of LinkSettings, in their order, built by one literal: every
 * direction's settings then share one V8 map (copies by spread got maps that depended on which
 * values were whole numbers, and a new run's links threw away the code optimised for the last).
 */
export function linkSettings(s: LinkSettings): LinkSettings {
  return {
    delayMs: s.delayMs,
    jitterMs: s.jitterMs,
    rateBps: s.rateBps,
    queuePackets: s.queuePackets,
    loss: s.loss,
    duplicate: s.duplicate,
    reorder: s.reorder,
    reorderMs: s.reorderMs,
  };
}

const PROBABILITIES = ['loss', 'duplicate', 'reorder'] as const;

/** The link fields and what each one accepts, for error messages and documentation. */
export const LINK_FIELDS: Readonly<Record<keyof LinkSettings, string>> = {
  delayMs: 'a number of ms >= 0',
  jitterMs: 'a number of ms >= 0',
  rateBps: 'a number of bits per second >= 0 (0 = unlimited)',
  queuePackets: 'an integer >= 0',
  loss: 'a probability between 0 and 1',
  duplicate: 'a probability between 0 and 1',
  reorder: 'a probability between 0 and 1',
  reorderMs: 'a number of ms >= 0',
};

/**
 * Checks a partial link settings object. Returns a list of problems, each naming the field
 * (prefixed with `path`), or an empty list.
 */
export function checkLinkPatch(patch: unknown, path: string): string[] {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    return [`${path}: must be an object`];
  }
  const problems: string[] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (!(key in LINK_FIELDS)) {
      problems.push(`${path}.${key}: unknown link setting (known: ${Object.keys(LINK_FIELDS).join(', ')})`);
      continue;
    }
    const k = key as keyof LinkSettings;
    const ok =
      typeof value === 'number' &&
      Number.isFinite(value) &&
      value >= 0 &&
      ((PROBABILITIES as readonly string[]).includes(k) ? value <= 1 : true) &&
      (k === 'queuePackets' ? Number.isInteger(value) : true);
    if (!ok) problems.push(`${path}.${key}: must be ${LINK_FIELDS[k]}, got ${JSON.stringify(value)}`);
  }
  return problems;
}

/**
 * What the link decided for one segment entering it: its arrival time (>= 0), or one of these
 * negative verdicts. A number rather than an object: the link decides once per packet.
 */
export const QUEUE_FULL = -1;
export const LOST = -2;

/** Mutable state of one direction. */
export class LinkDirection {
  settings: LinkSettings;
  private busyUntil = 0;
  /**
   * End-of-serialisation times of packets still in the transmitter, oldest first: a ring (its
   * length a power of two) from `txHead`, `txCount` long. Typed, so its numbers never change
   * representation, and it never grows past the queue limit.
   */
  private txEnds = new Float64Array(16);
  private txHead = 0;
  private txCount = 0;
  /** Latest in-order arrival time: jitter never lets a later segment overtake an earlier one. */
  private lastArrival = 0;

  constructor(
    readonly from: string,
    readonly to: string,
    settings: LinkSettings,
    readonly rng: Rng,
  ) {
    this.settings = linkSettings(settings);
  }

  /** Packets in the transmitter at `now` (waiting or being serialised). */
  backlog(now: number): number {
    this.purge(now);
    return this.txCount;
  }

  private purge(now: number): void {
    const ends = this.txEnds;
    const mask = ends.length - 1;
    while (this.txCount > 0 && ends[this.txHead]! <= now) {
      this.txHead = (this.txHead + 1) & mask;
      this.txCount--;
    }
  }

  private pushTxEnd(t: number): void {
    let ends = this.txEnds;
    if (this.txCount === ends.length) {
      const grown = new Float64Array(ends.length * 2);
      for (let i = 0; i < this.txCount; i++) grown[i] = ends[(this.txHead + i) & (ends.length - 1)]!;
      this.txEnds = ends = grown;
      this.txHead = 0;
    }
    ends[(this.txHead + this.txCount) & (ends.length - 1)] = t;
    this.txCount++;
  }

  /**
   * Puts a packet of `size` bytes on this direction at `now`.
   * `random` says whether random loss, reordering and jitter apply (false for copies made by
   * fault rules and for segments released from hold, whose fate someone chose explicitly).
   */
  transmit(now: number, size: number, random: boolean): number {
    const s = this.settings;
    let txEnd = now;
    if (s.rateBps > 0) {
      if (this.backlog(now) > s.queuePackets) return QUEUE_FULL;
      const start = Math.max(this.busyUntil, now);
      txEnd = start + (size * 8000) / s.rateBps;
      this.busyUntil = txEnd;
      this.pushTxEnd(txEnd);
    }
    if (random && s.loss > 0 && this.rng.chance(s.loss)) return LOST;
    let arrival = txEnd + s.delayMs;
    if (random && s.jitterMs > 0) arrival += this.rng.uniform(0, s.jitterMs);
    // A reordered segment is held back; later ones may overtake it.
    if (random && s.reorder > 0 && this.rng.chance(s.reorder)) return arrival + s.reorderMs;
    if (arrival < this.lastArrival) arrival = this.lastArrival;
    this.lastArrival = arrival;
    return arrival;
  }

  /** Whether the random duplication draw says "copy this one". */
  drawDuplicate(): boolean {
    const p = this.settings.duplicate;
    return p > 0 && this.rng.chance(p);
  }
}
