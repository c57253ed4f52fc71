/**
 * A binary min-heap of simulator events ordered by (time, insertion sequence): two events due at the
 * same virtual time run in the order they were scheduled, so a run never depends on heap layout.
 */

export interface Scheduled {
  /** Virtual time in ms. */
  t: number;
  /** Insertion sequence number; set by `push`. */
  seq: number;
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.t < b.t || (a.t === b.t && a.seq < b.seq);
}

export class EventQueue<E extends Scheduled> {
  private heap: E[] = [];
  private counter = 0;

  get size(): number {
    return this.heap.length;
  }

  push(event: E): E {
    event.seq = this.counter++;
    return this.insert(event);
  }

  /**
   * The sequence number the next `push` would give: for an event that waits outside the queue
   * (in a FIFO of its own) and is `insert`ed later, still ordered as if pushed now.
   */
  takeSeq(): number {
    return this.counter++;
  }

  /** Adds an event whose `seq` is already set (from `takeSeq`). */
  insert(event: E): E {
    const heap = this.heap;
    let i = heap.length;
    heap.push(event);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (!before(event, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = event;
    return event;
  }

  peek(): E | undefined {
    return this.heap[0];
  }

  pop(): E | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop()!;
    const n = heap.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && before(heap[r]!, heap[l]!) ? r : l;
        if (!before(heap[c]!, last)) break;
        heap[i] = heap[c]!;
        i = c;
      }
      heap[i] = last;
    }
    return top;
  }

  /** Removes every event for which `drop` returns true (O(n)); order is preserved. */
  removeWhere(drop: (e: E) => boolean): number {
    const kept = this.heap.filter((e) => !drop(e));
    const removed = this.heap.length - kept.length;
    if (removed > 0) {
      kept.sort((a, b) => (a.t !== b.t ? a.t - b.t : a.seq - b.seq));
      this.heap = kept;
    }
    return removed;
  }
}
