/**
 * Real time under a test's control, for the Pacer and for rooms: `advance(ms)` runs the timers
 * that fall due, earliest first, as real timers would.
 */
import type { PacerClock } from '../shared/sim/pacer.ts';

export class FakeClock implements PacerClock<number> {
  private t = 0;
  private nextId = 1;
  private readonly tasks = new Map<number, { at: number; fn: () => void }>();
  /** Callbacks run so far (a guard against a timer that re-arms without time moving on). */
  fired = 0;

  now(): number {
    return this.t;
  }

  schedule(fn: () => void, ms: number): number {
    const id = this.nextId++;
    this.tasks.set(id, { at: this.t + ms, fn });
    return id;
  }

  cancel(h: number): void {
    this.tasks.delete(h);
  }

  /** Timers scheduled and not yet run or cancelled. */
  get pending(): number {
    return this.tasks.size;
  }

  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.tasks) if (e[1].at <= end && (!due || e[1].at < due[1].at)) due = e;
      if (!due) break;
      if (++this.fired > 100_000) throw new Error('the clock ran 100,000 callbacks: a tick loop');
      this.tasks.delete(due[0]);
      this.t = Math.max(this.t, due[1].at);
      due[1].fn();
    }
    this.t = end;
  }
}
