/**
 * Small sequence-ordered records a sender keeps about its data in flight.
 *
 * SendLog: when each segment of new data went out and whether it was sent again. Every ACK of
 * data sent only once yields an RTT sample (Karn's rule, RFC 6298 §3), as Linux samples in
 * tcp_clean_rtx_queue; timing one segment at a time instead leaves a backed-off RTO in force for
 * the whole of a long loss recovery.
 *
 * SeqMarks: a sorted set of sequence numbers (push points) with cheap appends in order.
 */
import { seqGe, seqGt, seqLe, seqLt } from './seq.ts';

export class SendLog {
  private ends: number[] = [];
  private times: number[] = [];
  private resent: boolean[] = [];
  private head = 0;

  /** New data ending just before `end` went out at `at`. */
  sent(end: number, at: number): void {
    this.ends.push(end);
    this.times.push(at);
    this.resent.push(false);
  }

  /** Bytes [seq, end) were sent again: samples from the segments holding them are ambiguous. */
  retransmitted(seq: number, end: number): void {
    for (let i = this.head; i < this.ends.length; i++) {
      if (i > this.head && seqGe(this.ends[i - 1]!, end)) break;
      if (seqGt(this.ends[i]!, seq)) this.resent[i] = true;
    }
  }

  /**
   * An ACK covers every byte before `ack`: forgets the segments it covers and returns the send
   * time of the oldest of them, unless any of them was sent more than once (Linux
   * tcp_clean_rtx_queue: no sample when retransmitted data is ACKed).
   */
  acked(ack: number): number | undefined {
    let at: number | undefined;
    let ambiguous = false;
    while (this.head < this.ends.length && seqLe(this.ends[this.head]!, ack)) {
      if (this.resent[this.head]) ambiguous = true;
      else if (at === undefined) at = this.times[this.head];
      this.head++;
    }
    if (this.head > 256 && this.head * 2 > this.ends.length) {
      this.ends = this.ends.slice(this.head);
      this.times = this.times.slice(this.head);
      this.resent = this.resent.slice(this.head);
      this.head = 0;
    }
    return ambiguous ? undefined : at;
  }

  clear(): void {
    this.ends = [];
    this.times = [];
    this.resent = [];
    this.head = 0;
  }
}

export class SeqMarks {
  /** Marks added in order (each write's end, each new segment's end), from `head` on. */
  private marks: number[] = [];
  private head = 0;
  /**
   * Marks that came out of order (ends of retransmitted segments), sorted. Kept apart so that an
   * insertion never moves the long run of in-order marks; each lies below the last in-order mark,
   * so the two lists never hold the same mark, and both empty together (see dropThrough).
   */
  private late: number[] = [];

  add(m: number): void {
    const n = this.marks.length;
    if (n === this.head || seqGt(m, this.marks[n - 1]!)) {
      this.marks.push(m);
      return;
    }
    const i = firstAfter(this.marks, this.head, m - 1);
    if (i < n && this.marks[i] === m) return;
    const late = this.late;
    const j = firstAfter(late, 0, m - 1);
    if (j < late.length && late[j] === m) return;
    // Usually at the end (retransmissions move forward); splice would allocate.
    late.push(m);
    for (let k = late.length - 1; k > j; k--) late[k] = late[k - 1]!;
    late[j] = m;
  }

  /** Forgets every mark at or before `seq`. */
  dropThrough(seq: number): void {
    while (this.head < this.marks.length && seqLe(this.marks[this.head]!, seq)) this.head++;
    if (this.head > 256 && this.head * 2 > this.marks.length) {
      this.marks = this.marks.slice(this.head);
      this.head = 0;
    }
    const late = this.late;
    if (late.length > 0 && seqLe(late[0]!, seq)) this.late = late.slice(firstAfter(late, 0, seq));
  }

  /** Whether a mark m lies in (seq, end]. */
  within(seq: number, end: number): boolean {
    const marks = this.marks;
    const i = firstAfter(marks, this.head, seq);
    if (i < marks.length && seqLe(marks[i]!, end)) return true;
    const late = this.late;
    if (late.length === 0) return false;
    const j = firstAfter(late, 0, seq);
    return j < late.length && seqLe(late[j]!, end);
  }
}

/** Index of the first of the sorted `list[lo…]` after `seq` (binary search). */
function firstAfter(list: number[], lo: number, seq: number): number {
  let hi = list.length;
  const s = seq >>> 0;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (seqLt(s, list[mid]!)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
