/**
 * Everything the browser knows about the room it is in: the room's settings (`RoomInfo`), its
 * history (JSON events and segment frames, by `n`), the segments built from the frames, the
 * endpoints rebuilt from the history, and the *anchors* the timeline draws at: one per drawn
 * thing (a segment leaving, arriving, being dropped or held; a state change; a socket call…), in
 * history order, so both ladder modes can place them (time-scaled or one row each).
 */
import { decodeFrame, type SegmentFrame } from '../../../shared/protocol/frame.ts';
import type { RoomInfo } from '../../../shared/protocol/messages.ts';
import { parseIp } from '../../../shared/tcp/packet.ts';
import { EndpointModel, type RoomView } from './endpoints.ts';
import type { EventItem, FrameItem, HistoryItem, Side, WireEvent } from './history.ts';
import { type Segment, SegmentTable } from './segments.ts';

export const AnchorKind = {
  SegStart: 0,
  SegEnd: 1,
  SegHeld: 2,
  SegRelease: 3,
  State: 4,
  Call: 5,
  Return: 6,
  Discard: 7,
  Timer: 8,
  Input: 9,
  Error: 10,
} as const;
export type AnchorKind = (typeof AnchorKind)[keyof typeof AnchorKind];

/** A drawn thing that is not a segment arrow: beside a host's line, or across the middle. */
export interface Mark {
  anchor: number;
  item: number;
  side: Side | 'C';
  kind: AnchorKind;
}

export interface ClockBase {
  t: number;
  wall: number;
  running: boolean;
  speed: number;
}

export type Clock = () => number;

const defaultClock: Clock = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

export class RoomStore {
  readonly room: number;
  epoch: number;
  info: RoomInfo;
  hosts: { A: unknown; B: unknown };
  synced = false;
  readonly items: HistoryItem[] = [];
  readonly segments = new SegmentTable();
  readonly endpoints: EndpointModel;
  /** Anchors, in order: the item each stands for, its time and kind, and segments in flight before it. */
  readonly anchorItem: number[] = [];
  readonly anchorT: number[] = [];
  readonly anchorKind: AnchorKind[] = [];
  readonly anchorInFlight: number[] = [];
  /** Anchor of each item, -1 when the item is not drawn. */
  readonly itemAnchor: number[] = [];
  readonly marks: Mark[] = [];
  /** Per segment (by `Segment.index`): anchors of its start, end, hold and release (-1: none). */
  readonly segStart: number[] = [];
  readonly segEnd: number[] = [];
  readonly segHeld: number[] = [];
  readonly segRelease: number[] = [];
  /** Return events by `host:callId`, to label call marks with their results. */
  readonly returns = new Map<string, EventItem>();
  /** Segments not arrived or dropped yet (by index). */
  readonly open = new Set<number>();
  /** Frames or events the store could not read (shown as a warning). */
  readonly problems: string[] = [];
  clock: ClockBase;
  /** Kept copies (sent, duplicated, corrupted) whose payload has not arrived yet. */
  cutFrames = 0;
  /** Bumped on every change. */
  version = 0;
  private inFlight = 0;
  /** Held segments (by index): not moving, so not counted in `inFlight`. */
  private readonly parked = new Set<number>();
  private readonly now: Clock;
  private readonly listeners = new Set<() => void>();

  constructor(
    room: number,
    info: RoomInfo,
    hosts: { A: unknown; B: unknown } = { A: null, B: null },
    now = defaultClock,
  ) {
    this.room = room;
    this.epoch = info.epoch;
    this.info = info;
    this.hosts = hosts;
    this.now = now;
    this.clock = { t: info.clock.t, wall: now(), running: info.clock.running, speed: info.clock.speed };
    const addrs = {
      A: parseIp(info.addrs?.A ?? '10.0.0.1') ?? 0x0a000001,
      B: parseIp(info.addrs?.B ?? '10.0.0.2') ?? 0x0a000002,
    };
    this.endpoints = new EndpointModel(this.items, this.segments, addrs);
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Tells subscribers that something changed (the caller batches). */
  notify(): void {
    this.version++;
    for (const fn of this.listeners) fn();
  }

  // ── input ───────────────────────────────────────────────────────────────────────────────────

  setInfo(info: RoomInfo): void {
    this.info = info;
    this.clock = { t: info.clock.t, wall: this.now(), running: info.clock.running, speed: info.clock.speed };
  }

  setTime(t: number): void {
    this.clock = { ...this.clock, t, wall: this.now() };
  }

  /**
   * A binary frame as received (`cut`: without its TCP payload, which `addWhole` brings later);
   * returns false (and records why) when it cannot be read. The store keeps views of `bytes`, not
   * copies: pass bytes nothing writes to afterwards (a WebSocket message's are its own).
   */
  addBinary(bytes: Uint8Array, cut = false): boolean {
    const r = decodeFrame(bytes);
    if (!r.ok) {
      this.problems.push(`frame: ${r.error.message}`);
      return false;
    }
    if (r.frame.room !== this.room) return false;
    this.addFrame(r.frame, cut);
    return true;
  }

  /**
   * A frame that came cut, now whole (the headers-first replay's second part). Returns true when
   * it was the last payload missing (time to tell the subscribers once).
   */
  addWhole(bytes: Uint8Array): boolean {
    const r = decodeFrame(bytes);
    if (!r.ok) {
      this.problems.push(`frame: ${r.error.message}`);
      return false;
    }
    if (r.frame.room !== this.room || !this.segments.addWhole(r.frame)) return false;
    this.cutFrames = Math.max(0, this.cutFrames - 1);
    return this.cutFrames === 0;
  }

  addFrame(frame: SegmentFrame, cut = false): void {
    const item: FrameItem = { kind: 'frame', n: frame.n, t: frame.t, frame };
    const index = this.push(item);
    const seg = this.segments.addFrame(frame, cut);
    if (cut && (seg.start.n === frame.n || frame.fate === 'corrupted')) this.cutFrames++;
    const i = seg.index;
    while (this.segStart.length <= i) {
      this.segStart.push(-1);
      this.segEnd.push(-1);
      this.segHeld.push(-1);
      this.segRelease.push(-1);
    }
    switch (frame.fate) {
      case 'sent':
      case 'duplicated':
        if (this.segStart[i] === -1) {
          this.segStart[i] = this.anchor(index, AnchorKind.SegStart);
          this.inFlight++;
          this.open.add(i);
        }
        break;
      case 'held':
        this.segHeld[i] = this.anchor(index, AnchorKind.SegHeld);
        // Parked: waiting for a person is idle time, which the timeline may fold.
        if (!this.parked.has(i) && this.segEnd[i] === -1) {
          this.parked.add(i);
          this.inFlight = Math.max(0, this.inFlight - 1);
        }
        break;
      case 'released':
      case 'delayed':
        if (this.segHeld[i] !== -1 && this.segRelease[i] === -1)
          this.segRelease[i] = this.anchor(index, AnchorKind.SegRelease);
        if (this.parked.delete(i)) this.inFlight++;
        break;
      case 'arrived':
      case 'dropped':
        if (this.segEnd[i] === -1) {
          this.segEnd[i] = this.anchor(index, AnchorKind.SegEnd);
          if (!this.parked.delete(i)) this.inFlight = Math.max(0, this.inFlight - 1);
          this.open.delete(i);
        }
        break;
      default:
        break;
    }
    if (this.segStart[i] === -1) {
      // A segment first seen in some later fate (should not happen): start it here.
      this.segStart[i] = this.anchor(index, AnchorKind.SegStart);
    }
  }

  addEvent(n: number, t: number, event: WireEvent): void {
    const item: EventItem = { kind: 'event', n, t, event };
    const index = this.push(item);
    const host = (event as { host?: unknown }).host;
    const side: Side | undefined = host === 'A' || host === 'B' ? host : undefined;
    switch (event.type) {
      case 'state':
        if (side) this.mark(index, side, AnchorKind.State);
        break;
      case 'call':
        if (side) this.mark(index, side, AnchorKind.Call);
        break;
      case 'return': {
        const e = event as { callId?: number; blockedMs?: number };
        if (side) {
          this.returns.set(`${side}:${e.callId}`, item);
          if ((e.blockedMs ?? 0) > 0) this.mark(index, side, AnchorKind.Return);
        }
        break;
      }
      case 'discard': {
        const e = event as { id?: number; reason?: string; detail?: string };
        if (side) this.mark(index, side, AnchorKind.Discard);
        if (typeof e.id === 'number')
          this.segments.addDiscard(e.id, n, String(e.reason), String(e.detail ?? ''));
        break;
      }
      case 'timer': {
        const e = event as { action?: string; kind?: string };
        if (
          side &&
          e.action === 'fire' &&
          (e.kind === 'retransmit' || e.kind === 'persist' || e.kind === 'keepalive')
        )
          this.mark(index, side, AnchorKind.Timer);
        break;
      }
      case 'link':
      case 'rule':
      case 'hold':
      case 'input':
        this.mark(index, 'C', AnchorKind.Input);
        break;
      case 'error':
        this.mark(index, 'C', AnchorKind.Error);
        break;
      default:
        break;
    }
  }

  private push(item: HistoryItem): number {
    const index = this.items.length;
    this.items.push(item);
    this.itemAnchor.push(-1);
    if (item.t > this.clock.t && !this.clock.running)
      this.clock = { ...this.clock, t: item.t, wall: this.now() };
    return index;
  }

  private anchor(index: number, kind: AnchorKind): number {
    const a = this.anchorItem.length;
    this.anchorItem.push(index);
    this.anchorT.push(this.items[index]!.t);
    this.anchorKind.push(kind);
    this.anchorInFlight.push(this.inFlight);
    this.itemAnchor[index] = a;
    return a;
  }

  private mark(index: number, side: Side | 'C', kind: AnchorKind): void {
    const anchor = this.anchor(index, kind);
    this.marks.push({ anchor, item: index, side, kind });
  }

  // ── queries ─────────────────────────────────────────────────────────────────────────────────

  /** Segments moving on the link now (in flight and not held). */
  get moving(): number {
    return this.inFlight;
  }

  get lastT(): number {
    return this.items.length ? this.items[this.items.length - 1]!.t : 0;
  }

  /** Virtual time now: the server's clock, run forward at its speed while it runs. */
  nowT(): number {
    const c = this.clock;
    const t = c.running ? c.t + (this.now() - c.wall) * c.speed : c.t;
    return Math.max(t, this.lastT);
  }

  /** The endpoints after item `index` (the live view when `index` is the last item). */
  view(index = this.items.length - 1): RoomView {
    return this.endpoints.at(index);
  }

  segmentOfAnchor(anchor: number): Segment | undefined {
    const item = this.items[this.anchorItem[anchor]!];
    if (item?.kind !== 'frame') return undefined;
    return this.segments.get(item.frame.segId);
  }

  /** Index of the last anchor at or before item `index`. */
  anchorAtOrBefore(index: number): number {
    let lo = 0;
    let hi = this.anchorItem.length - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.anchorItem[mid]! <= index) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return best;
  }

  /** Index of the item numbered `n` (-1 when it is not here). */
  indexOfN(n: number): number {
    let lo = 0;
    let hi = this.items.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const m = this.items[mid]!.n;
      if (m === n) return mid;
      if (m < n) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** First mark whose anchor is >= `anchor`. */
  markAtOrAfter(anchor: number): number {
    let lo = 0;
    let hi = this.marks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.marks[mid]!.anchor < anchor) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
