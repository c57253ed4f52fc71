/**
 * A deterministic network of TCP hosts. Every host timer and every segment delivery is an event in
 * one queue ordered by (virtual time, insertion order); the only randomness is the seeded `Rng`
 * streams of the link directions. Same options + same calls ⇒ the same trace, byte for byte.
 *
 *   host A ──transmit──▶ rules ──▶ hold? ──▶ link A→B (queue, rate, loss, delay…) ──▶ receive ──▶ host B
 *
 * Drivers (the scenario runner, the server's Pacer, the benchmark) call `call`, `runUntil`, `step`
 * and read the trace through `subscribe` or `drainTrace`.
 */
import { encodePacket } from '../tcp/codec.ts';
import type { TcpConfig } from '../tcp/config.ts';
import { Host, type TransmitHook } from '../tcp/host.ts';
import type { Packet } from '../tcp/packet.ts';
import type { CallRequest, CallResult, HostEvent, SendReason } from '../tcp/types.ts';
import { EventQueue } from './event-queue.ts';
import { ActiveRule, type FaultRule, type SegmentFacts } from './faults.ts';
import { DEFAULT_LINK, LinkDirection, type LinkSettings, LOST, linkSettings, QUEUE_FULL } from './link.ts';
import { Rng } from './rng.ts';
import {
  type BareSegmentTrace,
  type BareTraceEvent,
  type JsonValue,
  packetWireLength,
  RelativeSeq,
  resultToJson,
  roundMs,
  type SegmentEventKind,
  type SegmentSummary,
  type SegmentTrace,
  type TraceEvent,
  toHex,
  toJson,
} from './trace.ts';

/** What the network needs from a host: exactly the engine's `Host` surface. */
export interface SimHost {
  call(now: number, req: CallRequest): { callId: number; result?: CallResult };
  receive(now: number, packet: Packet | Uint8Array): void;
  advance(now: number): void;
  nextDeadline(): number | undefined;
  drain(): HostEvent[];
  snapshot(): unknown;
  /** Optional: deliver transmits straight to `hook` rather than as drained events (bench mode). */
  setTransmitHook?(hook: TransmitHook | undefined): void;
}

export interface HostSpec {
  name: string;
  /** IPv4 address as u32; segments are routed by destination address. */
  addr: number;
  config?: Partial<TcpConfig>;
}

export interface NetworkOptions {
  /** Seeds every link direction's random stream. */
  seed: number;
  hosts: HostSpec[];
  /** Settings for every direction (over DEFAULT_LINK). */
  link?: Partial<LinkSettings>;
  /** Per-direction overrides (over `link`). */
  links?: Array<{ from: string; to: string } & Partial<LinkSettings>>;
  rules?: FaultRule[];
  /** Start with every direction in hold mode. */
  hold?: boolean;
  /**
   * `full` (default): every segment is traced with its bytes as hex and delivered as bytes, so the
   * receiver decodes and checks it. `bench`: no segment events, no hex, no in-flight registry,
   * timer tracing off in every host, packets delivered as values.
   */
  mode?: 'full' | 'bench';
  /** Keep trace events for `drainTrace` (default true in full mode, false in bench mode). */
  keepTrace?: boolean;
  /** Builds a host (default: the engine's `Host`). */
  createHost?: (spec: HostSpec) => SimHost;
  /**
   * Whether segment events carry the header summary (ports, flags, relative sequence numbers,
   * options; default true). False: they carry only their own fields (`BareSegmentTrace`), no
   * summary is made, and `held()` lists none: for a subscriber that needs only what happened to
   * which segment (a room without an exercise frames the packet's bytes). Such a network has
   * `subscribeBare` listeners only, and keeps no trace.
   */
  summaries?: boolean;
  /**
   * Segment events carry the packet as `bytes` (a Uint8Array nobody may change) rather than as
   * `hex`: for a subscriber that frames the bytes itself, such as the server's rooms.
   */
  rawBytes?: boolean;
  /**
   * Receives every host event except transmits, as the engine made it (no JSON conversion):
   * the cheap way for a driver such as the benchmark to see returns of blocked calls. It must not
   * call into the network; queue the reaction and run it between events.
   */
  onHostEvent?: (event: Exclude<HostEvent, { type: 'transmit' }>) => void;
}

interface HostEntry {
  name: string;
  addr: number;
  host: SimHost;
  /** Deadline of the wake event currently queued, if any. */
  wakeAt: number | undefined;
  /** Bumped whenever the queued wake event becomes stale. */
  wakeToken: number;
  /** Scenario step of each call that is still blocked, by callId. */
  steps: Map<number, number>;
  /** Link direction and counters towards each other host, looked up once. */
  routes: Map<HostEntry, Route>;
  /** The destination of this host's last segment, with its host and route: segments come in runs. */
  lastDst: number;
  lastTo: HostEntry | undefined;
  lastRoute: Route | undefined;
}

interface Route {
  dir: LinkDirection;
  stats: DirectionStats;
  /**
   * Segments on this direction in arrival order. Only the first (`fifo[fifoHead]`) is in the event
   * queue; it brings in the next when it is delivered. A segment arriving earlier than the last
   * one queued (a reordered one, or one a fault rule delayed) goes into the event queue directly.
   */
  fifo: InFlight[];
  fifoHead: number;
}

/** A segment the network is carrying. */
/** A segment on its way; it is its own queue item (kind DELIVER, `seg` itself) while on the wire. */
interface InFlight extends QueueItem {
  id: number;
  from: HostEntry;
  to: HostEntry | undefined;
  packet: Packet;
  /** The encoded packet (full mode, or after corruption). */
  bytes: Uint8Array | undefined;
  size: number;
  why: SendReason | undefined;
  rexmit: number | undefined;
  dupOf: number | undefined;
  summary: SegmentSummary | undefined;
  /** The direction it travels (undefined when no host has the destination address). */
  route: Route | undefined;
  sentAt: number;
  /** Scheduled arrival while on the wire. */
  arriveAt: number | undefined;
  /** Whether it waits in its route's FIFO (see Route) rather than in the event queue alone. */
  inFifo: boolean;
}

/** The most delivered segment records kept for reuse in bench mode. */
const MAX_SPARE = 1024;

const DELIVER = 0;
const WAKE = 1;
const CALLBACK = 2;

interface QueueItem {
  t: number;
  seq: number;
  kind: typeof DELIVER | typeof WAKE | typeof CALLBACK;
  seg: InFlight | undefined;
  host: HostEntry | undefined;
  token: number;
  fn: (() => void) | undefined;
}

/** A segment waiting in hold mode, as `held()` lists it. */
export interface HeldSegment {
  id: number;
  from: string;
  to: string;
  heldAt: number;
  why: SendReason | undefined;
  rexmit: number | undefined;
  /** Absent when the network makes no summaries (`NetworkOptions.summaries`). */
  summary?: SegmentSummary;
}

/** A segment on the wire, as `inFlight()` lists it. */
export interface FlyingSegment {
  id: number;
  from: string;
  to: string;
  sentAt: number;
  arriveAt: number;
  summary: SegmentSummary;
}

export interface DirectionStats {
  from: string;
  to: string;
  /** Segments handed to the network by the sender. */
  sent: number;
  /** Of those, segments carrying payload. */
  dataSent: number;
  /** Of those, retransmissions (the engine set `rexmit`). */
  retransmits: number;
  /** Bytes on the wire (IPv4 total length) of the segments sent. */
  wireBytes: number;
  delivered: number;
  duplicated: number;
  dropped: { loss: number; queueFull: number; rule: number; user: number; noRoute: number };
}

/** What `step` did. */
export type StepInfo =
  | { t: number; kind: 'deliver'; id: number; from: string; to: string }
  | { t: number; kind: 'wake'; host: string }
  | { t: number; kind: 'callback' };

export interface NetworkSnapshot {
  t: number;
  hosts: Record<string, unknown>;
  links: Array<{ from: string; to: string; settings: LinkSettings; backlog: number }>;
  rules: Array<{ rule: FaultRule & { id: string }; matched: number; fired: number }>;
  hold: Array<{ from: string; to: string }>;
  held: HeldSegment[];
  inFlight: FlyingSegment[];
  stats: DirectionStats[];
}

export type TraceListener = (event: TraceEvent) => void;
/** A listener that takes segment events with or without their header summary. */
export type BareTraceListener = (event: BareTraceEvent) => void;

function defaultHost(spec: HostSpec): SimHost {
  return new Host({ name: spec.name, addr: spec.addr, config: spec.config ?? {} });
}

function newStats(from: string, to: string): DirectionStats {
  return {
    from,
    to,
    sent: 0,
    dataSent: 0,
    retransmits: 0,
    wireBytes: 0,
    delivered: 0,
    duplicated: 0,
    dropped: { loss: 0, queueFull: 0, rule: 0, user: 0, noRoute: 0 },
  };
}

export class Network {
  /** Current virtual time in ms. */
  private nowMs = 0;
  private readonly seed: number;
  private readonly bench: boolean;
  private readonly keepTrace: boolean;
  private readonly rawBytes: boolean;
  private readonly summaries: boolean;
  private readonly hostsByName = new Map<string, HostEntry>();
  private readonly hostsByAddr = new Map<number, HostEntry>();
  private readonly queue = new EventQueue<QueueItem>();
  private readonly dirs = new Map<string, LinkDirection>();
  private readonly dirStats = new Map<string, DirectionStats>();
  private readonly defaultLink: LinkSettings;
  private readonly linkOverrides = new Map<string, Partial<LinkSettings>>();
  private rulesList: ActiveRule[] = [];
  private ruleCounter = 0;
  private readonly holdDirs = new Set<string>();
  private holdAll = false;
  private readonly heldSegs = new Map<number, InFlight & { heldAt: number }>();
  private readonly flying = new Map<number, InFlight>();
  /** Records of delivered segments for `transmit` to reuse (bench mode only). */
  private readonly spare: InFlight[] = [];
  private segCounter = 0;
  private readonly rel = new RelativeSeq();
  private readonly listeners: BareTraceListener[] = [];
  private traceBuffer: TraceEvent[] = [];
  /** The segment being delivered, so a discard can name it. */
  private delivering: number | undefined = undefined;
  private readonly onHostEvent: NetworkOptions['onHostEvent'];

  constructor(opts: NetworkOptions) {
    this.seed = opts.seed >>> 0;
    this.bench = opts.mode === 'bench';
    this.keepTrace = opts.keepTrace ?? !this.bench;
    this.rawBytes = opts.rawBytes ?? false;
    this.summaries = !this.bench && (opts.summaries ?? true);
    if (!this.summaries && this.keepTrace && !this.bench)
      throw new Error('a network without segment summaries keeps no trace (keepTrace: false)');
    this.onHostEvent = opts.onHostEvent;
    this.defaultLink = { ...DEFAULT_LINK, ...(opts.link ?? {}) };
    const create = opts.createHost ?? defaultHost;
    for (const spec of opts.hosts) {
      if (this.hostsByName.has(spec.name)) throw new Error(`duplicate host name ${spec.name}`);
      if (this.hostsByAddr.has(spec.addr)) throw new Error(`duplicate host address ${spec.addr}`);
      const config = this.bench
        ? { ...(spec.config ?? {}), traceTimers: false, traceCalls: false }
        : spec.config;
      const entry: HostEntry = {
        name: spec.name,
        addr: spec.addr,
        host: create({ ...spec, config: config ?? {} }),
        wakeAt: undefined,
        wakeToken: 0,
        steps: new Map(),
        routes: new Map(),
        lastDst: -1,
        lastTo: undefined,
        lastRoute: undefined,
      };
      this.hostsByName.set(spec.name, entry);
      this.hostsByAddr.set(spec.addr, entry);
      // Bench mode: packets go onto the link as they are sent, without a transmit event each.
      if (this.bench && entry.host.setTransmitHook) {
        entry.host.setTransmitHook((packet, why, rexmit, t) => this.transmit(entry, packet, why, rexmit, t));
      }
    }
    for (const { from, to, ...patch } of opts.links ?? []) {
      this.hostEntry(from);
      this.hostEntry(to);
      this.linkOverrides.set(`${from}>${to}`, patch);
    }
    for (const rule of opts.rules ?? []) this.addRule(rule);
    if (opts.hold) this.holdAll = true;
  }

  // ── time ────────────────────────────────────────────────────────────────────────────────────

  /** Current virtual time in ms. */
  get now(): number {
    return this.nowMs;
  }

  /** Time of the next pending event, or undefined when nothing is scheduled. */
  nextEventTime(): number | undefined {
    this.skipStale();
    return this.queue.peek()?.t;
  }

  /** Runs the next event (skipping nothing but stale timer wake-ups); undefined when idle. */
  step(): StepInfo | undefined {
    for (;;) {
      const item = this.queue.pop();
      if (!item) return undefined;
      if (this.isStale(item)) continue;
      const info = this.process(item);
      if (info) return info;
    }
  }

  /** As `step`, without describing what it did: true when an event ran, false when idle. */
  runNext(): boolean {
    for (;;) {
      const item = this.queue.pop();
      if (!item) return false;
      if (this.isStale(item)) continue;
      if (this.run(item)) return true;
    }
  }

  /**
   * Runs up to `max` events (skipping stale timer wake-ups, which do not count) without moving the
   * clock past the last one; returns how many ran. The cheapest way to drive the network event by
   * event, as the benchmark does.
   */
  runEvents(max: number): number {
    let n = 0;
    while (n < max) {
      const item = this.queue.pop();
      if (!item) break;
      if (this.isStale(item)) continue;
      if (this.run(item)) n++;
    }
    return n;
  }

  /**
   * Runs every event due at or before `t`, then sets the clock to `t` (never backwards).
   * With `maxEvents`, stops early after that many events and returns false (the clock then
   * stays at the last event's time); returns true when it reached `t`.
   */
  runUntil(t: number, maxEvents = Number.POSITIVE_INFINITY): boolean {
    let n = 0;
    for (;;) {
      const item = this.queue.peek();
      if (!item || item.t > t) break;
      if (n >= maxEvents) return false;
      this.queue.pop();
      if (this.isStale(item)) continue;
      if (this.run(item)) n++;
    }
    if (t > this.nowMs) this.nowMs = t;
    return true;
  }

  /**
   * Moves the clock to `t` without running anything: events due at exactly `t` stay queued and
   * run next. A driver replaying an action recorded before the events of its instant (a scenario
   * step, imported into a room) needs it. Throws when an event is due before `t`.
   */
  advanceTo(t: number): void {
    const next = this.nextEventTime();
    if (next !== undefined && next < t) throw new Error(`advanceTo(${t}): an event is due at ${next}`);
    if (t > this.nowMs) this.nowMs = t;
  }

  /** Runs until no event is left or the clock would pass `limitMs`; returns the final time. */
  runToIdle(limitMs = Number.POSITIVE_INFINITY): number {
    for (;;) {
      const next = this.nextEventTime();
      if (next === undefined || next > limitMs) return this.nowMs;
      this.step();
    }
  }

  /**
   * Runs `fn` at virtual time `t` (not before now) as an event of the queue: after the events
   * already scheduled for `t`, before those scheduled later for `t`. Scenario steps use this.
   */
  schedule(t: number, fn: () => void): void {
    const at = Math.max(t, this.nowMs);
    this.queue.push({ t: at, seq: 0, kind: CALLBACK, seg: undefined, host: undefined, token: 0, fn });
  }

  private isStale(item: QueueItem): boolean {
    return item.kind === WAKE && item.token !== item.host!.wakeToken;
  }

  /** Drops stale items and early wake-ups from the head, so the head is a real event. */
  private skipStale(): void {
    for (;;) {
      const top = this.queue.peek();
      if (!top) return;
      if (this.isStale(top)) {
        this.queue.pop();
        continue;
      }
      if (top.kind === WAKE) {
        const entry = top.host!;
        const due = entry.host.nextDeadline();
        if (due === undefined || due > top.t) {
          this.queue.pop();
          entry.wakeAt = undefined;
          entry.wakeToken++;
          if (due !== undefined) this.arm(entry, due);
          continue;
        }
      }
      return;
    }
  }

  /** Runs one queued item; undefined when it turned out to be an early wake-up with nothing due. */
  private process(item: QueueItem): StepInfo | undefined {
    if (!this.run(item)) return undefined;
    if (item.kind === CALLBACK) return { t: this.nowMs, kind: 'callback' };
    if (item.kind === WAKE) return { t: this.nowMs, kind: 'wake', host: item.host!.name };
    const seg = item.seg!;
    return { t: this.nowMs, kind: 'deliver', id: seg.id, from: seg.from.name, to: seg.to!.name };
  }

  /** Runs one queued item; false when it turned out to be an early wake-up with nothing due. */
  private run(item: QueueItem): boolean {
    if (item.t > this.nowMs) this.nowMs = item.t;
    if (item.kind === CALLBACK) {
      item.fn!();
      return true;
    }
    if (item.kind === WAKE) {
      const entry = item.host!;
      entry.wakeAt = undefined;
      entry.wakeToken++;
      const due = entry.host.nextDeadline();
      if (due === undefined || due > item.t) {
        // Woken early: the timer moved later (or went away) since this wake-up was queued.
        if (due !== undefined) this.arm(entry, due);
        return false;
      }
      entry.host.advance(this.nowMs);
      this.flush(entry);
      return true;
    }
    this.deliver(item.seg!);
    return true;
  }

  // ── hosts ───────────────────────────────────────────────────────────────────────────────────

  hostNames(): string[] {
    return [...this.hostsByName.keys()];
  }

  host(name: string): SimHost {
    return this.hostEntry(name).host;
  }

  hostAddr(name: string): number {
    return this.hostEntry(name).addr;
  }

  private hostEntry(name: string): HostEntry {
    const e = this.hostsByName.get(name);
    if (!e) throw new Error(`unknown host ${JSON.stringify(name)} (hosts: ${this.hostNames().join(', ')})`);
    return e;
  }

  /**
   * Makes a socket call on `host` at the current time. A blocking call returns no result; its
   * `return` event comes later in the trace with the same callId. `step` tags the trace events.
   */
  call(host: string, req: CallRequest, opts?: { step?: number }): { callId: number; result?: CallResult } {
    const entry = this.hostEntry(host);
    const r = entry.host.call(this.nowMs, req);
    if (opts?.step !== undefined) entry.steps.set(r.callId, opts.step);
    this.flush(entry);
    return r;
  }

  /** Drains a host's events into the trace and the link, then re-arms its wake-up. */
  private flush(entry: HostEntry): void {
    const events = entry.host.drain();
    for (let i = 0; i < events.length; i++) {
      const ev = events[i]!;
      if (ev.type === 'transmit') {
        this.transmit(entry, ev.packet, ev.why, ev.rexmit, ev.t);
        continue;
      }
      if (this.listeners.length > 0 || this.keepTrace) this.emit(this.hostEventToTrace(entry, ev));
      else if (ev.type === 'return') entry.steps.delete(ev.callId);
      if (this.onHostEvent) this.onHostEvent(ev);
    }
    const d = entry.host.nextDeadline();
    if (d !== undefined) this.arm(entry, d);
  }

  /**
   * Makes sure a wake-up is queued for `host` no later than `deadline`. A later deadline keeps the
   * earlier wake-up queued (timers such as the RTO move forward on every ACK; re-queueing each time
   * would cost a heap operation per segment): when it comes early, `process` just re-arms.
   */
  private arm(entry: HostEntry, deadline: number): void {
    if (entry.wakeAt !== undefined && entry.wakeAt <= deadline) return;
    entry.wakeAt = deadline;
    entry.wakeToken++;
    this.queue.push({
      t: Math.max(deadline, this.nowMs),
      seq: 0,
      kind: WAKE,
      seg: undefined,
      host: entry,
      token: entry.wakeToken,
      fn: undefined,
    });
  }

  private hostEventToTrace(entry: HostEntry, ev: Exclude<HostEvent, { type: 'transmit' }>): TraceEvent {
    const t = roundMs(ev.t);
    switch (ev.type) {
      case 'call': {
        const step = entry.steps.get(ev.callId);
        const out: TraceEvent = {
          t,
          type: 'call',
          host: ev.host,
          pid: ev.pid,
          callId: ev.callId,
          op: ev.op,
          ...(ev.fd === undefined ? {} : { fd: ev.fd }),
          args: toJson(ev.args),
        };
        if (step !== undefined) out.step = step;
        return out;
      }
      case 'return': {
        const step = entry.steps.get(ev.callId);
        entry.steps.delete(ev.callId);
        const out: TraceEvent = {
          t,
          type: 'return',
          host: ev.host,
          pid: ev.pid,
          callId: ev.callId,
          op: ev.op,
          ...(ev.fd === undefined ? {} : { fd: ev.fd }),
          result: resultToJson(ev.result),
          blockedMs: roundMs(ev.blockedMs),
        };
        if (step !== undefined) out.step = step;
        return out;
      }
      case 'state':
        return { t, type: 'state', host: ev.host, sock: ev.sock, from: ev.from, to: ev.to, cause: ev.cause };
      case 'timer':
        return {
          t,
          type: 'timer',
          host: ev.host,
          sock: ev.sock,
          kind: ev.kind,
          action: ev.action,
          deadline: roundMs(ev.deadline),
        };
      case 'discard':
        return {
          t,
          type: 'discard',
          host: ev.host,
          ...(ev.sock === undefined ? {} : { sock: ev.sock }),
          ...(this.delivering === undefined ? {} : { id: this.delivering }),
          reason: ev.reason,
          detail: ev.detail,
        };
      case 'socket':
        return {
          t,
          type: 'socket',
          host: ev.host,
          sock: ev.sock,
          action: ev.action,
          ...(ev.parent === undefined ? {} : { parent: ev.parent }),
        };
      case 'cc':
        return {
          t,
          type: 'cc',
          host: ev.host,
          sock: ev.sock,
          cwnd: ev.cwnd,
          ssthresh: ev.ssthresh,
          phase: ev.phase,
          cause: ev.cause,
        };
    }
  }

  // ── segments ────────────────────────────────────────────────────────────────────────────────

  private direction(from: string, to: string): LinkDirection {
    const key = `${from}>${to}`;
    let dir = this.dirs.get(key);
    if (!dir) {
      const settings = { ...this.defaultLink, ...(this.linkOverrides.get(key) ?? {}) };
      dir = new LinkDirection(from, to, settings, new Rng(this.seed, `link:${key}`));
      this.dirs.set(key, dir);
    }
    return dir;
  }

  private route(from: HostEntry, to: HostEntry): Route {
    let r = from.routes.get(to);
    if (!r) {
      r = {
        dir: this.direction(from.name, to.name),
        stats: this.stats(from.name, to.name),
        fifo: [],
        fifoHead: 0,
      };
      from.routes.set(to, r);
    }
    return r;
  }

  private stats(from: string, to: string): DirectionStats {
    const key = `${from}>${to}`;
    let s = this.dirStats.get(key);
    if (!s) {
      s = newStats(from, to);
      this.dirStats.set(key, s);
    }
    return s;
  }

  private transmit(
    from: HostEntry,
    packet: Packet,
    why: SendReason | undefined,
    rexmit: number | undefined,
    t: number,
  ): void {
    const id = ++this.segCounter;
    // Hosts and routes never go away, so the last destination's lookups still hold.
    const dst = packet.ip.dst;
    let to: HostEntry | undefined;
    let route: Route | undefined;
    if (dst === from.lastDst) {
      to = from.lastTo;
      route = from.lastRoute;
    } else {
      to = this.hostsByAddr.get(dst);
      route = to ? this.route(from, to) : undefined;
      from.lastDst = dst;
      from.lastTo = to;
      from.lastRoute = route;
    }
    const toName = to?.name ?? '?';
    let bytes: Uint8Array | undefined;
    let size: number;
    if (this.bench) {
      size = packetWireLength(packet);
    } else {
      bytes = encodePacket(packet);
      size = bytes.length;
    }
    const summary = this.summaries ? this.rel.summarize(packet) : undefined;
    let seg = this.spare.pop();
    if (seg) {
      // Bench mode: a delivered segment's record, reused (nothing refers to it any more).
      seg.id = id;
      seg.from = from;
      seg.to = to;
      seg.packet = packet;
      seg.bytes = bytes;
      seg.size = size;
      seg.why = why;
      seg.rexmit = rexmit;
      seg.dupOf = undefined;
      seg.summary = summary;
      seg.route = route;
      seg.sentAt = t;
      seg.arriveAt = undefined;
      seg.seg = undefined;
      seg.inFifo = false;
    } else {
      seg = {
        id,
        from,
        to,
        packet,
        bytes,
        size,
        why,
        rexmit,
        dupOf: undefined,
        summary,
        route,
        sentAt: t,
        arriveAt: undefined,
        t: 0,
        seq: 0,
        kind: DELIVER,
        seg: undefined,
        host: undefined,
        token: 0,
        fn: undefined,
        inFifo: false,
      };
    }
    const stats = seg.route ? seg.route.stats : this.stats(from.name, toName);
    stats.sent++;
    stats.wireBytes += size;
    if (packet.tcp.payload.length > 0) stats.dataSent++;
    if (rexmit !== undefined && rexmit > 0) stats.retransmits++;
    this.segmentEvent(seg, 'send');
    if (!to) {
      stats.dropped.noRoute++;
      this.segmentEvent(seg, 'drop', { reason: 'no-route' });
      return;
    }

    let extraDelay = 0;
    let copy = false;
    if (this.rulesList.length > 0) {
      const facts: SegmentFacts = {
        id,
        from: from.name,
        to: to.name,
        flags: packet.tcp.flags,
        payloadLen: packet.tcp.payload.length,
        why,
        rexmit: rexmit !== undefined && rexmit > 0,
      };
      for (const rule of this.rulesList) {
        if (!rule.offer(facts)) continue;
        const reason = `rule:${rule.rule.id}`;
        switch (rule.rule.action) {
          case 'drop':
            stats.dropped.rule++;
            this.segmentEvent(seg, 'drop', { reason });
            return;
          case 'hold':
            this.hold(seg, reason);
            return;
          case 'delay':
            extraDelay = rule.rule.delayMs ?? 0;
            this.segmentEvent(seg, 'delay', { reason, delayMs: extraDelay });
            break;
          case 'duplicate':
            copy = true;
            break;
          case 'corrupt':
            seg.bytes = corrupt(seg.bytes ?? encodePacket(packet), id);
            this.segmentEvent(seg, 'corrupt', { reason });
            break;
        }
        break;
      }
    }
    if (this.holdAll || (this.holdDirs.size > 0 && this.holdDirs.has(`${from.name}>${to.name}`))) {
      this.hold(seg, 'hold');
      return;
    }
    const onRoute = seg.route!;
    this.enterLink(seg, onRoute, true, extraDelay);
    if (copy || onRoute.dir.drawDuplicate()) this.duplicate(seg, onRoute, copy ? 'rule' : 'link');
  }

  private duplicate(seg: InFlight, route: Route, reason: string): void {
    const dup: InFlight = { ...seg, id: ++this.segCounter, dupOf: seg.id, arriveAt: undefined };
    route.stats.duplicated++;
    this.segmentEvent(dup, 'dup', { reason, dupOf: seg.id });
    this.enterLink(dup, route, false, 0);
  }

  private enterLink(seg: InFlight, route: Route, random: boolean, extraDelay: number): void {
    const stats = route.stats;
    const arrival = route.dir.transmit(this.nowMs, seg.size, random);
    if (arrival === QUEUE_FULL) {
      stats.dropped.queueFull++;
      this.segmentEvent(seg, 'drop', { reason: 'queue-full' });
      return;
    }
    if (arrival === LOST) {
      stats.dropped.loss++;
      this.segmentEvent(seg, 'drop', { reason: 'loss' });
      return;
    }
    seg.arriveAt = arrival + extraDelay;
    if (!this.bench) this.flying.set(seg.id, seg);
    seg.t = seg.arriveAt;
    seg.kind = DELIVER;
    seg.seg = seg;
    seg.seq = this.queue.takeSeq();
    const fifo = route.fifo;
    if (route.fifoHead === fifo.length) {
      // The direction's first segment on the wire: in the event queue at once.
      seg.inFifo = true;
      fifo.push(seg);
      this.queue.insert(seg);
    } else if (seg.t >= fifo[fifo.length - 1]!.t) {
      seg.inFifo = true;
      fifo.push(seg);
    } else {
      seg.inFifo = false;
      this.queue.insert(seg);
    }
  }

  /** The FIFO head `seg` leaves the event queue: put the next of its direction there. */
  private advanceFifo(seg: InFlight): void {
    const route = seg.route!;
    const fifo = route.fifo;
    route.fifoHead++;
    if (route.fifoHead < fifo.length) {
      this.queue.insert(fifo[route.fifoHead]!);
    } else {
      fifo.length = 0;
      route.fifoHead = 0;
    }
    if (route.fifoHead >= 1024 && route.fifoHead * 2 >= fifo.length) {
      route.fifo = fifo.slice(route.fifoHead);
      route.fifoHead = 0;
    }
  }

  private deliver(seg: InFlight): void {
    if (seg.inFifo) this.advanceFifo(seg);
    const to = seg.to!;
    if (!this.bench) this.flying.delete(seg.id);
    seg.route!.stats.delivered++;
    this.segmentEvent(seg, 'arrive');
    this.delivering = seg.id;
    to.host.receive(this.nowMs, seg.bytes ?? seg.packet);
    this.flush(to);
    this.delivering = undefined;
    // In bench mode nothing keeps a delivered segment (no trace, no registry): reuse its record.
    if (this.bench && this.spare.length < MAX_SPARE) this.spare.push(seg);
  }

  private hold(seg: InFlight, reason: string): void {
    this.heldSegs.set(seg.id, { ...seg, heldAt: this.nowMs });
    this.segmentEvent(seg, 'hold', { reason });
  }

  private segmentEvent(
    seg: InFlight,
    event: SegmentEventKind,
    extra?: { reason?: string; dupOf?: number; delayMs?: number },
  ): void {
    if (this.bench || (this.listeners.length === 0 && !this.keepTrace)) return;
    // Field by field, in the documented order (extras, why, rexmit, then the summary's fields):
    // four object spreads per segment event were a visible part of a busy server's time.
    const e = {
      t: roundMs(this.nowMs),
      type: 'segment',
      id: seg.id,
      from: seg.from.name,
      to: seg.to?.name ?? '?',
      event,
    } as BareSegmentTrace & Partial<SegmentTrace>;
    if (extra !== undefined) {
      if ('reason' in extra) e.reason = extra.reason;
      if ('dupOf' in extra) e.dupOf = extra.dupOf;
      if ('delayMs' in extra) e.delayMs = extra.delayMs;
    }
    if (seg.why !== undefined) e.why = seg.why;
    if (seg.rexmit !== undefined) e.rexmit = seg.rexmit;
    const sum = seg.summary;
    if (sum !== undefined) {
      e.sport = sum.sport;
      e.dport = sum.dport;
      e.flags = sum.flags;
      e.seq = sum.seq;
      e.ack = sum.ack;
      e.rseq = sum.rseq;
      if ('rack' in sum) e.rack = sum.rack;
      e.len = sum.len;
      e.win = sum.win;
      e.options = sum.options;
    }
    if ((event === 'send' || event === 'dup' || event === 'corrupt') && seg.bytes) {
      if (this.rawBytes) e.bytes = seg.bytes;
      else e.hex = toHex(seg.bytes);
    }
    this.emit(e);
  }

  // ── held segments ───────────────────────────────────────────────────────────────────────────

  /** Holds (on = true) or stops holding new segments, on every direction or on `from → to`. */
  setHold(on: boolean, dir?: { from: string; to: string }): void {
    if (dir) {
      this.hostEntry(dir.from);
      this.hostEntry(dir.to);
      const key = `${dir.from}>${dir.to}`;
      if (on) this.holdDirs.add(key);
      else this.holdDirs.delete(key);
      this.emit({ t: roundMs(this.nowMs), type: 'hold', from: dir.from, to: dir.to, on });
    } else {
      this.holdAll = on;
      if (!on) this.holdDirs.clear();
      this.emit({ t: roundMs(this.nowMs), type: 'hold', from: '*', to: '*', on });
    }
  }

  /** Segments waiting in hold, oldest first. */
  held(): HeldSegment[] {
    return [...this.heldSegs.values()].map((s) => ({
      id: s.id,
      from: s.from.name,
      to: s.to!.name,
      heldAt: s.heldAt,
      why: s.why,
      rexmit: s.rexmit,
      ...(s.summary === undefined ? {} : { summary: s.summary }),
    }));
  }

  /** Segments on the wire (full mode only), by arrival time. */
  inFlight(): FlyingSegment[] {
    return [...this.flying.values()]
      .map((s) => ({
        id: s.id,
        from: s.from.name,
        to: s.to!.name,
        sentAt: s.sentAt,
        arriveAt: s.arriveAt!,
        summary: s.summary!,
      }))
      .sort((a, b) => a.arriveAt - b.arriveAt || a.id - b.id);
  }

  private takeHeld(id: number): InFlight & { heldAt: number } {
    const seg = this.heldSegs.get(id);
    if (!seg) throw new Error(`segment #${id} is not held`);
    this.heldSegs.delete(id);
    return seg;
  }

  /**
   * Lets a held segment go now: it crosses the link (queue, rate, delay) but no random loss,
   * jitter or reordering applies, since someone chose its fate. `extraDelayMs` adds flight time.
   */
  release(id: number, extraDelayMs = 0): void {
    const seg = this.takeHeld(id);
    this.segmentEvent(seg, extraDelayMs > 0 ? 'delay' : 'release', {
      reason: 'user',
      ...(extraDelayMs > 0 ? { delayMs: extraDelayMs } : {}),
    });
    this.enterLink(seg, seg.route!, false, extraDelayMs);
  }

  /** Releases a held segment so that it arrives `ms` later than the link alone would deliver it. */
  delayHeld(id: number, ms: number): void {
    this.release(id, ms);
  }

  /** Drops a held segment. */
  dropHeld(id: number): void {
    const seg = this.takeHeld(id);
    seg.route!.stats.dropped.user++;
    this.segmentEvent(seg, 'drop', { reason: 'user' });
  }

  // ── links and rules ─────────────────────────────────────────────────────────────────────────

  /** Current settings of the direction `from → to`. */
  link(from: string, to: string): LinkSettings {
    this.hostEntry(from);
    this.hostEntry(to);
    return { ...this.direction(from, to).settings };
  }

  /** Changes some settings of `from → to` (or of both directions between the two when `both`). */
  setLink(from: string, to: string, patch: Partial<LinkSettings>, both = false): void {
    const pairs: Array<[string, string]> = both
      ? [
          [from, to],
          [to, from],
        ]
      : [[from, to]];
    for (const [f, t] of pairs) {
      this.hostEntry(f);
      this.hostEntry(t);
      const dir = this.direction(f, t);
      dir.settings = linkSettings({ ...dir.settings, ...patch });
      this.emit({ t: roundMs(this.nowMs), type: 'link', from: f, to: t, settings: { ...dir.settings } });
    }
  }

  /** Adds a fault rule (validate it first with `checkRule`); returns its id. */
  addRule(rule: FaultRule): string {
    const id = rule.id ?? `r${++this.ruleCounter}`;
    if (this.rulesList.some((r) => r.rule.id === id)) throw new Error(`a rule with id ${id} exists`);
    const active = new ActiveRule({ ...rule, id });
    this.rulesList.push(active);
    this.emit({ t: roundMs(this.nowMs), type: 'rule', action: 'add', rule: toJson(active.rule) });
    return id;
  }

  removeRule(id: string): boolean {
    const i = this.rulesList.findIndex((r) => r.rule.id === id);
    if (i < 0) return false;
    const [active] = this.rulesList.splice(i, 1);
    this.emit({ t: roundMs(this.nowMs), type: 'rule', action: 'remove', rule: toJson(active!.rule) });
    return true;
  }

  rules(): Array<{ rule: FaultRule & { id: string }; matched: number; fired: number }> {
    return this.rulesList.map((r) => ({ rule: { ...r.rule }, matched: r.matched, fired: r.fired }));
  }

  // ── trace and inspection ────────────────────────────────────────────────────────────────────

  /** Calls `fn` synchronously with every trace event from now on; returns an unsubscribe function. */
  subscribe(fn: TraceListener): () => void {
    if (!this.summaries && !this.bench)
      throw new Error('this network makes no segment summaries: subscribe with subscribeBare');
    return this.subscribeBare(fn as BareTraceListener);
  }

  /**
   * As `subscribe`, for a listener that also takes segment events without their header summary
   * (`NetworkOptions.summaries`); with summaries on, it gets the very events `subscribe` gives.
   */
  subscribeBare(fn: BareTraceListener): () => void {
    this.listeners.push(fn);
    return () => {
      const i = this.listeners.indexOf(fn);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Trace events since the last drain (only when `keepTrace`). */
  drainTrace(): TraceEvent[] {
    const out = this.traceBuffer;
    this.traceBuffer = [];
    return out;
  }

  /** Puts an event of the driver's own (e.g. a scenario error) into the trace. */
  note(event: TraceEvent): void {
    this.emit(event);
  }

  private emit(e: BareTraceEvent): void {
    // A network that keeps its trace makes summaries (see the constructor): every event is whole.
    if (this.keepTrace) this.traceBuffer.push(e as TraceEvent);
    for (const fn of this.listeners) fn(e);
  }

  /** Per-direction counters. */
  statistics(): DirectionStats[] {
    return [...this.dirStats.values()]
      .map((s) => ({ ...s, dropped: { ...s.dropped } }))
      .sort((a, b) => (a.from === b.from ? cmp(a.to, b.to) : cmp(a.from, b.from)));
  }

  snapshot(): NetworkSnapshot {
    const hosts: Record<string, unknown> = {};
    for (const [name, e] of this.hostsByName) hosts[name] = e.host.snapshot();
    const links: NetworkSnapshot['links'] = [];
    for (const a of this.hostsByName.keys()) {
      for (const b of this.hostsByName.keys()) {
        if (a === b) continue;
        const dir = this.direction(a, b);
        links.push({ from: a, to: b, settings: { ...dir.settings }, backlog: dir.backlog(this.nowMs) });
      }
    }
    const hold = this.holdAll
      ? [{ from: '*', to: '*' }]
      : [...this.holdDirs].map((k) => {
          const [from, to] = k.split('>') as [string, string];
          return { from, to };
        });
    return {
      t: this.nowMs,
      hosts,
      links,
      rules: this.rules(),
      hold,
      held: this.held(),
      inFlight: this.inFlight(),
      stats: this.statistics(),
    };
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Flips one bit of the TCP payload or header (never the IP header), chosen by the segment id. */
function corrupt(bytes: Uint8Array, id: number): Uint8Array {
  const out = bytes.slice();
  const ihl = ((out[0] ?? 0x45) & 0x0f) * 4;
  const span = out.length - ihl;
  if (span > 0) {
    const i = ihl + (id % span);
    out[i] = out[i]! ^ 0x01;
  }
  return out;
}

export type { JsonValue };
