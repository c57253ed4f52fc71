/**
 * Byte queues for the send and receive sides of a connection.
 *
 * SendBuffer holds every byte the application has written that the peer has not yet
 * acknowledged: the bytes from SND.UNA onwards. ACKs remove bytes from the front.
 * ReceiveBuffer holds in-order bytes not yet read by the application, plus an out-of-order
 * queue of segments above RCV.NXT that are kept and acknowledged cumulatively once the hole fills.
 */
import { seqAdd, seqDiff, seqGt, seqLe, seqLt } from './seq.ts';

/** A FIFO of byte chunks with cheap append, front removal and random-access reads. */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  /** Bytes already consumed from chunks[0]. */
  private headOffset = 0;
  private total = 0;

  get length(): number {
    return this.total;
  }

  /** Appends a copy of `data` (the caller may reuse its array). */
  push(data: Uint8Array): void {
    if (data.length === 0) return;
    this.chunks.push(data.slice());
    this.total += data.length;
  }

  /** Appends `data` without copying: the caller promises never to change it. */
  pushOwned(data: Uint8Array): void {
    if (data.length === 0) return;
    this.chunks.push(data);
    this.total += data.length;
  }

  /** Removes `n` bytes from the front. */
  drop(n: number): void {
    let left = Math.min(n, this.total);
    this.total -= left;
    while (left > 0) {
      const head = this.chunks[0]!;
      const avail = head.length - this.headOffset;
      if (left < avail) {
        this.headOffset += left;
        return;
      }
      left -= avail;
      this.chunks.shift();
      this.headOffset = 0;
    }
  }

  /** Bytes [offset, offset + len) without removing them: a view when they lie in one chunk. */
  peek(offset: number, len: number): Uint8Array {
    const end = Math.min(this.total, offset + len);
    if (end <= offset) return new Uint8Array(0);
    let skip = offset + this.headOffset;
    let i = 0;
    while (i < this.chunks.length && skip >= this.chunks[i]!.length) {
      skip -= this.chunks[i]!.length;
      i++;
    }
    const want = end - offset;
    const first = this.chunks[i]!;
    if (skip + want <= first.length) return first.subarray(skip, skip + want);
    const out = new Uint8Array(want);
    let filled = 0;
    while (filled < want) {
      const c = this.chunks[i++]!;
      const take = Math.min(c.length - skip, want - filled);
      out.set(c.subarray(skip, skip + take), filled);
      filled += take;
      skip = 0;
    }
    return out;
  }

  /** Removes and returns up to `n` bytes from the front. */
  take(n: number): Uint8Array {
    const out = this.peek(0, n);
    const copy = out.slice();
    this.drop(copy.length);
    return copy;
  }

  clear(): void {
    this.chunks = [];
    this.headOffset = 0;
    this.total = 0;
  }
}

interface OooSegment {
  seq: number;
  data: Uint8Array;
}

/** In-order readable bytes plus the out-of-order queue above RCV.NXT. */
export class ReceiveBuffer {
  readonly readable = new ByteQueue();
  /** Out-of-order segments, sorted by sequence number, never overlapping each other. */
  private ooo: OooSegment[] = [];
  private oooTotal = 0;
  /** Sequence number of a FIN that arrived out of order, if any. */
  oooFinSeq: number | undefined;
  /** The most recently changed out-of-order block's start, for the first SACK block (RFC 2018). */
  private lastOooSeq: number | undefined;

  get oooBytes(): number {
    return this.oooTotal;
  }

  get hasOoo(): boolean {
    return this.ooo.length > 0 || this.oooFinSeq !== undefined;
  }

  /**
   * Stores a segment's payload starting at `seq`, where `rcvNxt` is the next expected byte.
   * Returns the new RCV.NXT after appending whatever became contiguous.
   */
  insert(seq: number, data: Uint8Array, rcvNxt: number): number {
    // Trim anything before RCV.NXT (already received).
    if (seqLt(seq, rcvNxt)) {
      const skip = seqDiff(rcvNxt, seq);
      if (skip >= data.length) return rcvNxt;
      data = data.subarray(skip);
      seq = rcvNxt;
    }
    if (data.length === 0) return rcvNxt;
    if (seq === rcvNxt) {
      this.readable.push(data);
      rcvNxt = seqAdd(rcvNxt, data.length);
      return this.pullContiguous(rcvNxt);
    }
    this.storeOoo(seq, data);
    return rcvNxt;
  }

  private storeOoo(seq: number, data: Uint8Array): void {
    // Keep only the bytes not already covered by queued segments.
    let pieces: OooSegment[] = [{ seq, data: data.slice() }];
    for (const q of this.ooo) {
      const qEnd = seqAdd(q.seq, q.data.length);
      const next: OooSegment[] = [];
      for (const p of pieces) {
        const pEnd = seqAdd(p.seq, p.data.length);
        if (seqLe(pEnd, q.seq) || seqLe(qEnd, p.seq)) {
          next.push(p);
          continue;
        }
        if (seqLt(p.seq, q.seq)) next.push({ seq: p.seq, data: p.data.subarray(0, seqDiff(q.seq, p.seq)) });
        if (seqGt(pEnd, qEnd)) next.push({ seq: qEnd, data: p.data.subarray(seqDiff(qEnd, p.seq)) });
      }
      pieces = next;
      if (pieces.length === 0) break;
    }
    for (const p of pieces) {
      this.ooo.push(p);
      this.oooTotal += p.data.length;
    }
    this.ooo.sort((a, b) => seqDiff(a.seq, b.seq));
    this.lastOooSeq = seq;
  }

  private pullContiguous(rcvNxt: number): number {
    while (this.ooo.length > 0) {
      const q = this.ooo[0]!;
      if (seqGt(q.seq, rcvNxt)) break;
      this.ooo.shift();
      this.oooTotal -= q.data.length;
      const end = seqAdd(q.seq, q.data.length);
      if (seqGt(end, rcvNxt)) {
        this.readable.pushOwned(q.data.subarray(seqDiff(rcvNxt, q.seq)));
        rcvNxt = end;
      }
    }
    return rcvNxt;
  }

  /** SACK blocks (RFC 2018): contiguous out-of-order ranges, the most recently changed first. */
  sackBlocks(max: number): Array<{ left: number; right: number }> {
    const blocks: Array<{ left: number; right: number }> = [];
    for (const q of this.ooo) {
      const last = blocks[blocks.length - 1];
      const end = seqAdd(q.seq, q.data.length);
      if (last && last.right === q.seq) last.right = end;
      else blocks.push({ left: q.seq, right: end });
    }
    const recent = this.lastOooSeq;
    if (recent !== undefined) {
      const i = blocks.findIndex((b) => seqLe(b.left, recent) && seqLt(recent, b.right));
      if (i > 0) blocks.unshift(...blocks.splice(i, 1));
    }
    return blocks.slice(0, max);
  }

  clear(): void {
    this.readable.clear();
    this.ooo = [];
    this.oooTotal = 0;
    this.oooFinSeq = undefined;
  }
}
