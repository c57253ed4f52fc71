/**
 * Byte queues for the send and receive sides of a connection.
 *
 * SendBuffer holds every byte the application has written that the peer has not yet
 * acknowledged: the bytes from SND.UNA onwards. ACKs remove bytes from the front.
 * ReceiveBuffer holds in-order bytes not yet read by the application, plus an out-of-order
 * queue of segments above RCV.NXT that are kept and acknowledged cumulatively once the hole fills.
 *
 * Bytes are copied twice on their way from one application to the other, as in a real stack:
 * into the sender's queue by send(), and out of the receiver's by recv(). In between, segments
 * carry views of the sender's queued bytes, which are never written again.
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
 * A FIFO of bytes kept as a list of immutable chunks, as Linux keeps a socket's queues as lists
 * of buffers: `push` copies the caller's bytes once, `pushShared` keeps a view of bytes nobody
 * will change (a received segment's payload), and reads are views whenever the bytes lie in one
 * chunk. Since no chunk is ever written after it is queued, a view handed out (a segment's payload
 * on its way through the network) stays valid however the queue moves on.
 */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  /** Stream position of each chunk's first byte (positions count every byte ever queued). */
  private starts: number[] = [];
  /** Index of the chunk holding the first byte. */
  private first = 0;
  /** Stream position of the first byte, and of the end. */
  private headPos = 0;
  private endPos = 0;

  get length(): number {
    return this.endPos - this.headPos;
  }

  /** Appends a copy of `data` (the caller may reuse its array). */
  push(data: Uint8Array): void {
    if (data.length > 0) this.pushShared(copyBytes(data));
  }

  /** Appends `data` itself, without a copy: its bytes must never change afterwards. */
  pushShared(data: Uint8Array): void {
    const n = data.length;
    if (n === 0) return;
    this.chunks.push(data);
    this.starts.push(this.endPos);
    this.endPos += n;
  }

  /** Removes `n` bytes from the front. */
  drop(n: number): void {
    const k = Math.min(n, this.length);
    if (k <= 0) return;
    if (k === this.length) {
      this.clear();
      return;
    }
    this.headPos += k;
    const chunks = this.chunks;
    const starts = this.starts;
    while (starts[this.first]! + chunks[this.first]!.length <= this.headPos) this.first++;
    if (this.first >= 64 && this.first * 2 >= chunks.length) {
      this.chunks = chunks.slice(this.first);
      this.starts = starts.slice(this.first);
      this.first = 0;
    }
  }

  /** Index of the chunk holding stream position `pos` (which must be queued). */
  private find(pos: number): number {
    const starts = this.starts;
    let lo = this.first;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Copies `out.length` bytes starting at stream position `pos` into `out`. */
  private gather(pos: number, out: Uint8Array): void {
    let i = this.find(pos);
    let at = 0;
    while (at < out.length) {
      const c = this.chunks[i]!;
      const from = pos + at - this.starts[i]!;
      const n = Math.min(c.length - from, out.length - at);
      out.set(from === 0 && n === c.length ? c : c.subarray(from, from + n), at);
      at += n;
      i++;
    }
  }

  /** Bytes [offset, offset + len) without removing them: a view when they lie in one chunk. */
  peek(offset: number, len: number): Uint8Array {
    const end = Math.min(this.length, offset + len);
    if (end <= offset) return NO_BYTES;
    const pos = this.headPos + offset;
    const want = end - offset;
    const i = this.find(pos);
    const c = this.chunks[i]!;
    const from = pos - this.starts[i]!;
    if (from + want <= c.length) return from === 0 && want === c.length ? c : c.subarray(from, from + want);
    const out = allocBytes(want);
    this.gather(pos, out);
    return out;
  }

  /** Removes and returns up to `n` bytes from the front, as a copy the caller owns. */
  take(n: number): Uint8Array {
    const want = Math.min(n, this.length);
    if (want <= 0) return new Uint8Array(0);
    const out = allocBytes(want);
    this.gather(this.headPos, out);
    this.drop(want);
    return out;
  }

  clear(): void {
    this.chunks = [];
    this.starts = [];
    this.first = 0;
    this.headPos = 0;
    this.endPos = 0;
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
  /**
   * Sequence numbers of out-of-order arrivals, most recent first: a block's place in the SACK
   * option is that of its most recent arrival (RFC 2018 §4; Linux keeps selective_acks this way).
   */
  private recency: number[] = [];

  get oooBytes(): number {
    return this.oooTotal;
  }

  get hasOoo(): boolean {
    return this.ooo.length > 0 || this.oooFinSeq !== undefined;
  }

  /**
   * Stores a segment's payload starting at `seq`, where `rcvNxt` is the next expected byte.
   * Returns the new RCV.NXT after appending whatever became contiguous. Keeps views of `data`
   * rather than copies (a payload is never written once it is on the wire), as Linux queues the
   * received buffers themselves.
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
      this.readable.pushShared(data);
      rcvNxt = seqAdd(rcvNxt, data.length);
      return this.pullContiguous(rcvNxt);
    }
    this.storeOoo(seq, data);
    return rcvNxt;
  }

  /**
   * Keeps the bytes of [seq, seq + data.length) that no queued segment holds yet. The queue stays
   * sorted and free of overlaps; segments usually arrive in order beyond the hole, so the common
   * case is an append.
   */
  private storeOoo(seq: number, data: Uint8Array): void {
    const r = this.recency;
    const k = r.indexOf(seq);
    if (k >= 0) r.splice(k, 1);
    r.unshift(seq);
    if (r.length > 16) r.length = 16;
    const q = this.ooo;
    let end = seqAdd(seq, data.length);
    const last = q[q.length - 1];
    if (!last || seqGe(seq, seqAdd(last.seq, last.data.length))) {
      q.push({ seq, data });
      this.oooTotal += data.length;
      return;
    }
    // First queued segment that ends after seq.
    let lo = 0;
    let hi = q.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = q[mid]!;
      if (seqGt(seqAdd(m.seq, m.data.length), seq)) hi = mid;
      else lo = mid + 1;
    }
    let i = lo;
    while (seqLt(seq, end)) {
      const next = q[i];
      if (!next || seqGe(next.seq, end)) {
        this.insertOoo(i, seq, data.subarray(0, seqDiff(end, seq)));
        return;
      }
      const nextEnd = seqAdd(next.seq, next.data.length);
      if (seqLt(seq, next.seq)) {
        // The gap before `next` is new.
        this.insertOoo(i, seq, data.subarray(0, seqDiff(next.seq, seq)));
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

  private insertOoo(i: number, seq: number, data: Uint8Array): void {
    if (data.length === 0) return;
    this.ooo.splice(i, 0, { seq, data });
    this.oooTotal += data.length;
  }

  private pullContiguous(rcvNxt: number): number {
    while (this.ooo.length > 0) {
      const q = this.ooo[0]!;
      if (seqGt(q.seq, rcvNxt)) break;
      this.ooo.shift();
      this.oooTotal -= q.data.length;
      const end = seqAdd(q.seq, q.data.length);
      if (seqGt(end, rcvNxt)) {
        this.readable.pushShared(q.data.subarray(seqDiff(rcvNxt, q.seq)));
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
      const end = seqAdd(q.seq, q.data.length);
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
