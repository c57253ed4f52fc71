/**
 * A connection's timers: at most one deadline per kind. A socket sets and cancels its
 * retransmission timer on nearly every segment, so this is a handful of fixed slots with the
 * earliest deadline cached, not a Map (whose deletes leave holes to rehash).
 */
import type { TimerKind } from './types.ts';

/** Every kind, in the order ties between equal deadlines are broken. */
export const TIMER_KINDS: readonly TimerKind[] = [
  'retransmit',
  'persist',
  'delayed-ack',
  'time-wait',
  'fin-wait-2',
  'keepalive',
  'linger',
];

/**
 * Slot of each kind (its index in TIMER_KINDS). A switch on interned strings rather than a lookup
 * in an object by a variable key: sockets ask several times per segment.
 */
function slot(kind: TimerKind): number {
  switch (kind) {
    case 'retransmit':
      return 0;
    case 'persist':
      return 1;
    case 'delayed-ack':
      return 2;
    case 'time-wait':
      return 3;
    case 'fin-wait-2':
      return 4;
    case 'keepalive':
      return 5;
    case 'linger':
      return 6;
  }
}

/** The pending deadlines of one socket, by kind. Iterates like a Map, in TIMER_KINDS order. */
export class TimerSet {
  /** Deadline per slot; NaN when the timer is not set. */
  private readonly at = new Float64Array(TIMER_KINDS.length).fill(Number.NaN);
  private count = 0;
  /** The earliest deadline, or undefined when it has to be found again. */
  private earliest: number | undefined = undefined;
  private earliestValid = true;

  has(kind: TimerKind): boolean {
    return !Number.isNaN(this.at[slot(kind)]!);
  }

  get(kind: TimerKind): number | undefined {
    const d = this.at[slot(kind)]!;
    return Number.isNaN(d) ? undefined : d;
  }

  set(kind: TimerKind, deadline: number): void {
    const i = slot(kind);
    const old = this.at[i]!;
    if (Number.isNaN(old)) this.count++;
    this.at[i] = deadline;
    if (!this.earliestValid) return;
    if (this.earliest === undefined || deadline <= this.earliest) {
      this.earliest = deadline;
    } else if (old === this.earliest) {
      this.earliestValid = false;
    }
  }

  delete(kind: TimerKind): boolean {
    const i = slot(kind);
    const old = this.at[i]!;
    if (Number.isNaN(old)) return false;
    this.at[i] = Number.NaN;
    this.count--;
    if (this.earliestValid && old === this.earliest) this.earliestValid = false;
    return true;
  }

  /** The earliest deadline of any kind. */
  next(): number | undefined {
    if (!this.earliestValid) {
      let best: number | undefined;
      if (this.count > 0) {
        for (let i = 0; i < this.at.length; i++) {
          const d = this.at[i]!;
          if (!Number.isNaN(d) && (best === undefined || d < best)) best = d;
        }
      }
      this.earliest = best;
      this.earliestValid = true;
    }
    return this.earliest;
  }

  /** The kind of the earliest timer due at or before `now` (ties in TIMER_KINDS order). */
  due(now: number): TimerKind | undefined {
    if (this.count === 0) return undefined;
    const first = this.next();
    if (first === undefined || first > now) return undefined;
    for (let i = 0; i < this.at.length; i++) if (this.at[i] === first) return TIMER_KINDS[i];
    return undefined;
  }

  *[Symbol.iterator](): IterableIterator<[TimerKind, number]> {
    for (let i = 0; i < this.at.length; i++) {
      const d = this.at[i]!;
      if (!Number.isNaN(d)) yield [TIMER_KINDS[i]!, d];
    }
  }
}
