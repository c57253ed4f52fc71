/**
 * Drives a network against real time: virtual ms advance at `speed` × real ms (×0.1 … ×100), and
 * the pacer can pause, resume, and step one event while paused. It never reads a clock itself:
 * the driver injects `now`, `schedule` and `cancel` (the server passes real timers, tests pass a
 * fake clock), so this file stays isomorphic.
 */
import type { Network, StepInfo } from './network.ts';

export const MIN_SPEED = 0.1;
export const MAX_SPEED = 100;

export interface PacerClock<H = unknown> {
  /** Real time in ms (any origin). */
  now(): number;
  /** Calls `fn` once after `ms` real ms; returns a handle for `cancel`. */
  schedule(fn: () => void, ms: number): H;
  cancel(handle: H): void;
}

export interface PacerOptions<H = unknown> {
  clock: PacerClock<H>;
  /** Virtual ms per real ms (default 1). */
  speed?: number;
  /** Longest real wait between ticks, so observers see the clock move even when idle (default 100). */
  maxTickMs?: number;
  /** Most events run in one tick; when the CPU cannot keep up, virtual time falls behind (default 20,000). */
  maxEventsPerTick?: number;
  /** Called after every tick with the virtual time reached. */
  onTick?: (virtualMs: number) => void;
}

/** The part of `Network` the pacer uses. */
export type PacedNetwork = Pick<Network, 'now' | 'runUntil' | 'nextEventTime' | 'step'>;

export class Pacer<H = unknown> {
  private readonly net: PacedNetwork;
  private readonly clock: PacerClock<H>;
  private readonly maxTickMs: number;
  private readonly maxEventsPerTick: number;
  private readonly onTick: ((virtualMs: number) => void) | undefined;
  private speedFactor: number;
  private runningFlag = false;
  /** The armed tick's timer, when `armed` (a handle may be any value, 0 included). */
  private handle: H | undefined = undefined;
  private armed = false;
  private realAnchor = 0;
  private virtualAnchor = 0;

  constructor(net: PacedNetwork, opts: PacerOptions<H>) {
    this.net = net;
    this.clock = opts.clock;
    this.maxTickMs = opts.maxTickMs ?? 100;
    this.maxEventsPerTick = opts.maxEventsPerTick ?? 20_000;
    this.onTick = opts.onTick;
    this.speedFactor = checkSpeed(opts.speed ?? 1);
  }

  get speed(): number {
    return this.speedFactor;
  }

  get running(): boolean {
    return this.runningFlag;
  }

  /**
   * The virtual time that corresponds to now: between ticks the network's clock lags behind it
   * (nothing happens in between), so a display should show this.
   */
  get virtualNow(): number {
    if (!this.runningFlag) return this.net.now;
    const next = this.net.nextEventTime();
    const t = next === undefined ? this.target() : Math.min(this.target(), next);
    return Math.max(this.net.now, t);
  }

  /**
   * Brings the network up to the current virtual time. Call it before acting on the network
   * (a socket call, a released segment) so the action happens at the right time; then `poke()`.
   */
  sync(): void {
    if (this.runningFlag) this.catchUp();
  }

  /** Starts (or resumes) pacing from the network's current virtual time. */
  resume(): void {
    if (this.runningFlag) return;
    this.runningFlag = true;
    this.anchor();
    this.tick();
  }

  /** Stops pacing after running everything due by now; the virtual clock stays where it is. */
  pause(): void {
    if (!this.runningFlag) return;
    this.catchUp();
    this.runningFlag = false;
    this.unschedule();
  }

  /** Runs exactly one event while paused; returns what it did, or undefined when nothing is pending. */
  step(): StepInfo | undefined {
    if (this.runningFlag) throw new Error('step() needs a paused pacer');
    const info = this.net.step();
    this.onTick?.(this.net.now);
    return info;
  }

  setSpeed(speed: number): void {
    const s = checkSpeed(speed);
    if (this.runningFlag) this.catchUp();
    this.speedFactor = s;
    if (this.runningFlag) {
      this.anchor();
      this.reschedule();
    }
  }

  /** Call after changing the network from outside (a socket call, a released segment): re-plans the next tick. */
  poke(): void {
    if (this.runningFlag) this.reschedule();
  }

  dispose(): void {
    this.runningFlag = false;
    this.unschedule();
  }

  private anchor(): void {
    this.realAnchor = this.clock.now();
    this.virtualAnchor = this.net.now;
  }

  private target(): number {
    return this.virtualAnchor + (this.clock.now() - this.realAnchor) * this.speedFactor;
  }

  /**
   * Virtual time now. Computed from real time in floating point, it can land a hair below an event
   * that is due (19.99999999999993 for 20): such an event counts as due, or the pacer would re-arm
   * for a wait shorter than any timer and waste a tick (a millisecond with real timers) on nothing.
   */
  private dueTarget(): number {
    const target = this.target();
    const next = this.net.nextEventTime();
    return next !== undefined && next > target && next - target <= SNAP_MS ? next : target;
  }

  /** Runs what is due by now; returns false when the event budget ran out first. */
  private catchUp(): boolean {
    const reached = this.net.runUntil(this.dueTarget(), this.maxEventsPerTick);
    if (!reached) this.anchor();
    return reached;
  }

  private tick = (): void => {
    this.armed = false;
    this.handle = undefined;
    if (!this.runningFlag) return;
    const reached = this.catchUp();
    this.onTick?.(this.net.now);
    if (!this.runningFlag) return;
    if (reached) this.reschedule();
    else this.arm(0);
  };

  private reschedule(): void {
    this.unschedule();
    const next = this.net.nextEventTime();
    let wait = this.maxTickMs;
    if (next !== undefined) {
      const virtualWait = next - this.target();
      wait = virtualWait <= SNAP_MS ? 0 : Math.min(wait, virtualWait / this.speedFactor);
    }
    this.arm(wait);
  }

  private arm(ms: number): void {
    this.handle = this.clock.schedule(this.tick, ms);
    this.armed = true;
  }

  private unschedule(): void {
    if (this.armed) this.clock.cancel(this.handle as H);
    this.armed = false;
    this.handle = undefined;
  }
}

/** Virtual ms below which an event counts as due now (floating-point error, not a real wait). */
const SNAP_MS = 1e-6;

function checkSpeed(speed: number): number {
  if (!(Number.isFinite(speed) && speed >= MIN_SPEED && speed <= MAX_SPEED)) {
    throw new RangeError(`speed must be between ${MIN_SPEED} and ${MAX_SPEED}, got ${speed}`);
  }
  return speed;
}
