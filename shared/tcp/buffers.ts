/**
 * Byte queues for the send and receive sides of a connection.
 *
 * SendBuffer holds every byte the application has written that the peer has not yet
 * acknowledged: the bytes from SND.UNA onwards. ACKs remove bytes from the front.
 * ReceiveBuffer holds in-order bytes not yet read by the application, plus an out-of-order
 * queue of segments above RCV.NXT that are kept and acknowledged cumulatively once the hole fills.
 *
 * Both are rings that reuse their memory: touching fresh memory (page faults, zeroing) costs more
 * than copying a segment's bytes into memory already in use.
 */
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt } from './seq.ts';

/** Copies of at most this many bytes are carved from a shared slab (see `copyBytes`). */
const SLAB_MAX_COPY = 4096;
const SLAB_SIZE = 64 * 1024;
let slab = new Uint8Array(SLAB_SIZE);
let slabUsed = 0;

/**
 * A copy of `src` the caller owns. Allocating a typed array costs about a microsecond whatever its
 * size (a fresh backing store), which is most of the cost of copying one segment's payload; small
 * copies are therefore carved out of a 64 KiB slab, as Node's Buffer pool does. Each copy is a view
 * of its own bytes (`byteOffset` and `length` say where): nothing else ever writes them. A slab is
 * freed once no copy carved from it is alive.
 */
export function copyBytes(src: Uint8Array): Uint8Array {
  const n = src.length;
  if (n > SLAB_MAX_COPY) return src.slice();
  const out = allocBytes(n);
  out.set(src);
  return out;
}

/** A fresh array of `n` bytes, carved from the slab when small (see `copyBytes`). */
function allocBytes(n: number): Uint8Array {
  if (n > SLAB_MAX_COPY) return new Uint8Array(n);
  if (slabUsed + n > SLAB_SIZE) {
    slab = new Uint8Array(SLAB_SIZE);
    slabUsed = 0;
  }
  const out = slab.subarray(slabUsed, slabUsed + n);
  slabUsed += (n + 7) & ~7;
  return out;
}

const NO_BYTES = new Uint8Array(0);

/**
 * A FIFO of bytes in a growable ring: one copy in, reads are views when the bytes are contiguous.
 * Linear in nothing: push, drop and peek cost only the bytes they move.
 */
export class ByteQueue {
  /** The ring; empty until the first byte comes (most sockets of a classroom never queue any). */
  private buf: Uint8Array = NO_BYTES;
  /** Index of the first byte in `buf`. */
  private head = 0;
  private total = 0;
  /**
   * How far from `head` bytes have been written past the queued ones by `writeAt` (0 when none):
   * the receive queue places out-of-order data where it will be once the hole before it fills.
   */
  private extent = 0;

  constructor(private readonly initialCapacity = 4096) {}

  get length(): number {
    return this.total;
  }

  /** Appends a copy of `data` (the caller may reuse its array). */
  push(data: Uint8Array): void {
    const n = data.length;
    if (n === 0) return;
    if (this.total + n > this.buf.length) this.grow(this.total + n);
    const cap = this.buf.length;
    const tail = (this.head + this.total) % cap;
    const first = Math.min(n, cap - tail);
    this.buf.set(first === n ? data : data.subarray(0, first), tail);
    if (first < n) this.buf.set(data.subarray(first), 0);
    this.total += n;
  }

  private grow(need: number): void {
    let cap = Math.max(this.buf.length * 2, this.initialCapacity, 1);
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    // The queued bytes and any written past them.
    const keep = Math.max(this.total, this.extent);
    const old = this.buf;
    const first = Math.min(keep, old.length - this.head);
    next.set(old.subarray(this.head, this.head + first), 0);
    if (first < keep) next.set(old.subarray(0, keep - first), first);
    this.buf = next;
    this.head = 0;
  }

  /**
   * Writes a copy of `data` at `offset` bytes from the front, past the queued bytes (offset ≥
   * length), without queueing it: `extend` does, once the bytes before it are queued. Bytes
   * queued by `push` later overwrite those they cover.
   */
  writeAt(offset: number, data: Uint8Array): void {
    const n = data.length;
    const end = offset + n;
    if (end > this.buf.length) this.grow(end);
    const cap = this.buf.length;
    const at = (this.head + offset) % cap;
    const first = Math.min(n, cap - at);
    this.buf.set(first === n ? data : data.subarray(0, first), at);
    if (first < n) this.buf.set(data.subarray(first), 0);
    if (end > this.extent) this.extent = end;
  }

  /** Queues `n` bytes already written past the queued ones by `writeAt`. */
  extend(n: number): void {
    this.total += n;
  }

  /** Removes `n` bytes from the front. */
  drop(n: number): void {
    const k = Math.min(n, this.total);
    this.total -= k;
    this.extent = Math.max(0, this.extent - k);
    this.head = this.total === 0 && this.extent === 0 ? 0 : (this.head + k) % this.buf.length;
  }

  /** Bytes [offset, offset + len) without removing them: a view when they are contiguous. */
  peek(offset: number, len: number): Uint8Array {
    const end = Math.min(this.total, offset + len);
    if (end <= offset) return new Uint8Array(0);
    const cap = this.buf.length;
    const start = (this.head + offset) % cap;
    const want = end - offset;
    if (start + want <= cap) return this.buf.subarray(start, start + want);
    const out = new Uint8Array(want);
    const first = cap - start;
    out.set(this.buf.subarray(start, cap), 0);
    out.set(this.buf.subarray(0, want - first), first);
    return out;
  }

  /** Removes and returns up to `n` bytes from the front, as a copy the caller owns. */
  take(n: number): Uint8Array {
    const want = Math.min(n, this.total);
    const view = this.peek(0, want);
    // peek returns a view into the ring when contiguous, else a fresh array already.
    const copy = view.buffer === this.buf.buffer ? copyBytes(view) : view;
    this.drop(copy.length);
    return copy;
  }

  /** Copies up to `max` bytes from the front into `out` without removing them; returns how many. */
  copyTo(out: Uint8Array, max: number): number {
    const n = Math.min(max, out.length, this.total);
    if (n <= 0) return 0;
    const cap = this.buf.length;
    const first = Math.min(n, cap - this.head);
    out.set(this.buf.subarray(this.head, this.head + first), 0);
    if (first < n) out.set(this.buf.subarray(0, n - first), first);
    return n;
  }

  clear(): void {
    this.head = 0;
    this.total = 0;
    this.extent = 0;
  }

  /**
   * The ring and where in it the bytes are that may still be read ([start, end) pairs of
   * indexes): the queued ones and those written past them. The rest is stale; a room's
   * checkpoint leaves it out.
   */
  liveRanges(): { ring: Uint8Array; ranges: number[] } {
    const keep = Math.max(this.total, this.extent);
    const cap = this.buf.length;
    const first = Math.min(keep, cap - this.head);
    const ranges = first > 0 ? [this.head, this.head + first] : [];
    if (first < keep) ranges.push(0, keep - first);
    return { ring: this.buf, ranges };
  }
}

/** Bytes [seq, seq + len) held out of order; the bytes themselves wait in place in `readable`. */
interface OooSegment {
  seq: number;
  len: number;
}

/** In-order readable bytes plus the out-of-order queue above RCV.NXT. */
export class ReceiveBuffer {
  /**
   * The in-order bytes not yet read, and past them, where they belong, the out-of-order ones
   * (written with `writeAt`, queued with `extend` once the hole before them fills): a byte is
   * copied in once, wherever it arrives.
   */
  readonly readable = new ByteQueue();
  /** Out-of-order segments, sorted by sequence number, never overlapping each other. */
  private ooo: OooSegment[] = [];
  private oooTotal = 0;
  /** Sequence number of a FIN that arrived out of order, if any. */
  oooFinSeq: number | undefined = undefined;
  /**
   * Sequence numbers of out-of-order arrivals, most recent first: a block's place in the SACK
   * option is that of its most recent arrival (RFC 2018 §4; Linux keeps selective_acks this way).
   */
  private recency: number[] = [];
  /**
   * Whether to keep `recency` (default true). Only SACK blocks read it: a connection without SACK
   * turns it off before any data arrives and saves the bookkeeping on every out-of-order segment.
   */
  trackRecency = true;

  get oooBytes(): number {
    return this.oooTotal;
  }

  get hasOoo(): boolean {
    return this.ooo.length > 0 || this.oooFinSeq !== undefined;
  }

  /**
   * Stores a segment's payload starting at `seq`, where `rcvNxt` is the next expected byte.
   * Returns the new RCV.NXT after appending whatever became contiguous. Keeps copies: `data` may
   * be a view of the sender's queue, which reuses its memory once the bytes are acknowledged.
   * In-order bytes win over out-of-order ones that cover the same sequence numbers; of two
   * out-of-order arrivals, the first.
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
    this.storeOoo(seq, data, rcvNxt);
    return rcvNxt;
  }

  /**
   * Keeps the bytes of [seq, seq + data.length) that no queued segment holds yet. The queue stays
   * sorted and free of overlaps; segments usually arrive in order beyond the hole, so the common
   * case is an append.
   */
  private storeOoo(seq: number, data: Uint8Array, rcvNxt: number): void {
    if (this.trackRecency) {
      const r = this.recency;
      const k = r.indexOf(seq);
      if (k >= 0) r.splice(k, 1);
      r.unshift(seq);
      if (r.length > 16) r.length = 16;
    }
    const q = this.ooo;
    let end = seqAdd(seq, data.length);
    const last = q[q.length - 1];
    if (!last || seqGe(seq, seqAdd(last.seq, last.len))) {
      this.readable.writeAt(this.readable.length + seqDiff(seq, rcvNxt), data);
      q.push({ seq, len: data.length });
      this.oooTotal += data.length;
      return;
    }
    // First queued segment that ends after seq.
    let lo = 0;
    let hi = q.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = q[mid]!;
      if (seqGt(seqAdd(m.seq, m.len), seq)) hi = mid;
      else lo = mid + 1;
    }
    let i = lo;
    while (seqLt(seq, end)) {
      const next = q[i];
      if (!next || seqGe(next.seq, end)) {
        this.insertOoo(i, seq, data.subarray(0, seqDiff(end, seq)), rcvNxt);
        return;
      }
      const nextEnd = seqAdd(next.seq, next.len);
      if (seqLt(seq, next.seq)) {
        // The gap before `next` is new.
        this.insertOoo(i, seq, data.subarray(0, seqDiff(next.seq, seq)), rcvNxt);
        i++;
      }
      // Skip what `next` already holds.
      if (seqGe(nextEnd, end)) return;
      data = data.subarray(seqDiff(nextEnd, seq));
      seq = nextEnd;
      end = seqAdd(seq, data.length);
      i++;
    }
  }

  private insertOoo(i: number, seq: number, data: Uint8Array, rcvNxt: number): void {
    if (data.length === 0) return;
    this.readable.writeAt(this.readable.length + seqDiff(seq, rcvNxt), data);
    this.ooo.splice(i, 0, { seq, len: data.length });
    this.oooTotal += data.length;
  }

  private pullContiguous(rcvNxt: number): number {
    while (this.ooo.length > 0) {
      const q = this.ooo[0]!;
      if (seqGt(q.seq, rcvNxt)) break;
      this.ooo.shift();
      this.oooTotal -= q.len;
      const end = seqAdd(q.seq, q.len);
      if (seqGt(end, rcvNxt)) {
        // Its bytes past RCV.NXT are in place already.
        this.readable.extend(seqDiff(end, rcvNxt));
        rcvNxt = end;
      }
    }
    return rcvNxt;
  }

  /** SACK blocks (RFC 2018): contiguous out-of-order ranges, the most recently changed first. */
  sackBlocks(max: number): Array<{ left: number; right: number }> {
    const blocks: Array<{ left: number; right: number; rank: number }> = [];
    for (const q of this.ooo) {
      const last = blocks[blocks.length - 1];
      const end = seqAdd(q.seq, q.len);
      if (last && last.right === q.seq) last.right = end;
      else blocks.push({ left: q.seq, right: end, rank: Number.POSITIVE_INFINITY });
    }
    for (const b of blocks) {
      const i = this.recency.findIndex((r) => seqLe(b.left, r) && seqLt(r, b.right));
      if (i >= 0) b.rank = i;
    }
    blocks.sort((a, b) => a.rank - b.rank || seqDiff(a.left, b.left));
    return blocks.slice(0, max).map(({ left, right }) => ({ left, right }));
  }

  clear(): void {
    this.readable.clear();
    this.ooo = [];
    this.oooTotal = 0;
    this.oooFinSeq = undefined;
    this.recency = [];
  }
}
