/**
 * A room: one simulated network with endpoints A and B, its paced clock, its history, and the
 * list of inputs that made it (so it can be rebuilt by replay, issue 7).
 *
 * Everything that changes the network goes through `applyInput`, both live and in replay. Each
 * input records the virtual time it took effect (`at`) and how many network events had run
 * before it (`seq`): replay runs exactly `seq` events, then applies the input, so two events due
 * at the same virtual time cannot swap places with it. Clock actions (pause, resume, speed) are
 * not inputs: they change when things happen in real time, never what happens in virtual time.
 *
 * The trace the network emits becomes the history: segment events as binary frames
 * (`shared/protocol/frame.ts`), everything else as `room.event` JSON, each encoded once and sent
 * as the same bytes to every feed (the people in the room and watching instructors).
 */
import { createHash } from 'node:crypto';
import { CLASSROOM_CLOCK, ROOM_ADDRS } from '../../shared/protocol/defaults.ts';
import { FRAME_HEADER_LEN } from '../../shared/protocol/frame.ts';
import { toWireJson } from '../../shared/protocol/json.ts';
import type { Limits } from '../../shared/protocol/limits.ts';
import type {
  ClockPolicy,
  ClockState,
  FaultRule,
  LinkDirection,
  RoomInfo,
  RoomSummary,
  Seat,
  SeatHolder,
  SockCall,
} from '../../shared/protocol/messages.ts';
import { segmentFrameInto } from '../../shared/protocol/trace-frame.ts';
import { EventQueue } from '../../shared/sim/event-queue.ts';
import { ActiveRule, checkRule } from '../../shared/sim/faults.ts';
import type { LinkSettings } from '../../shared/sim/link.ts';
import { LinkDirection as SimLinkDirection } from '../../shared/sim/link.ts';
import { Network, type SimHost } from '../../shared/sim/network.ts';
import { type PacedNetwork, Pacer, type PacerClock } from '../../shared/sim/pacer.ts';
import { Rng } from '../../shared/sim/rng.ts';
import type { BareSegmentTrace, BareTraceEvent } from '../../shared/sim/trace.ts';
import { RelativeSeq } from '../../shared/sim/trace.ts';
import { ByteQueue, ReceiveBuffer } from '../../shared/tcp/buffers.ts';
import type { TcpConfig } from '../../shared/tcp/config.ts';
import { NewReno } from '../../shared/tcp/congestion.ts';
import { Host, Mulberry32 } from '../../shared/tcp/host.ts';
import { parseIp } from '../../shared/tcp/packet.ts';
import { RttEstimator } from '../../shared/tcp/rtt.ts';
import { SendLog, SeqMarks } from '../../shared/tcp/sendlog.ts';
import { TcpSocket } from '../../shared/tcp/socket.ts';
import { TimerSet } from '../../shared/tcp/timers.ts';
import type { CallRequest, HostEvent } from '../../shared/tcp/types.ts';
import { toCallRequest } from './calls.ts';
import { allocWsFrame } from './connection.ts';
import { LabError, refuse } from './errors.ts';
import { roomEventBytes } from './event-json.ts';
import { ClassTable, decodeGraph, encodeGraph } from './state-codec.ts';

/** A history entry: the exact bytes every feed receives. */
export interface HistoryEntry {
  data: Buffer;
  binary: boolean;
  /**
   * The entry as one WebSocket message, header and `data` (which shares its bytes): built once
   * when the room records it, written as is to every live feed.
   */
  frame?: Buffer;
}

/** Who sits in a seat, as the room needs to know it. */
export interface SeatRef {
  readonly id: string;
  readonly name: string;
  readonly online: boolean;
}

/** The other end of a room's broadcast: a connection's view of this room (see feed.ts). */
export interface RoomFeed {
  /** A new history entry was appended at index `n`. */
  onEntry(entry: HistoryEntry, n: number): void;
  /** The room started a new epoch: history is empty again. */
  onReset(): void;
  /** A message outside the history (room.info, room.time). */
  onNotice(data: Buffer): void;
}

/** What changed the network, with the moment it took effect. Socket calls are in wire form. */
export type RoomInput = { at: number; seq: number } & (
  | { kind: 'call'; host: Seat; call: SockCall }
  | { kind: 'link'; dir?: 'AB' | 'BA'; settings: LinkDirection }
  | { kind: 'fault.add'; id: number; rule: FaultRule }
  | { kind: 'fault.remove'; id: number }
  | { kind: 'fault.clear' }
  | { kind: 'hold'; on: boolean }
  | { kind: 'held'; segId: number; action: 'release' | 'drop' | 'delay'; ms?: number }
);

/** Distributes `Omit` over the union, so each input kind keeps its own fields. */
export type InputBody = RoomInput extends infer T
  ? T extends RoomInput
    ? Omit<T, 'at' | 'seq'>
    : never
  : never;

/** A room's state at one moment (`Room.checkpoint`), with where it stood. */
export interface RoomCheckpoint {
  /** Inputs applied before it. */
  inputs: number;
  /** History entries recorded before it. */
  history: number;
  /** Its position: virtual time and events run. */
  at: number;
  seq: number;
  /** The state, written by `state-codec.ts`. */
  state: Uint8Array;
}

/** What a checkpoint's bytes hold. */
interface CheckpointState {
  net: Network;
  processed: number;
  labels: Map<number, string>;
  nextRuleId: number;
  bytes: Map<number, Uint8Array>;
  returns: Map<string, Uint8Array>;
  holdOn: boolean;
  extras: Record<string, unknown>;
}

/** What a room tells the outside world about its run (persistence builds on these). */
export interface RoomHooks {
  /** Every input, as it is applied (not during replay). */
  onInput?: (room: Room, input: RoomInput) => void;
  /** A reset: a new epoch starts with empty history and inputs. */
  onReset?: (room: Room, epoch: number) => void;
  /**
   * Every trace event as it is recorded (live and in replay; `room.history.length` is its n).
   * Segment events come with their header summary (as `TraceEvent`s) unless `traceSummaries`
   * says the room needs none.
   */
  onTrace?: (room: Room, e: BareTraceEvent) => void;
  /**
   * Whether `onTrace` needs segment events with their header summary (ports, flags, relative
   * sequence numbers, options) in `room`; asked each time the room builds its network (created,
   * reset, rebuilt by replay). Default: whenever there is an `onTrace`. Summaries are a room's
   * largest source of garbage, and its own frames carry the packet's bytes instead.
   */
  traceSummaries?: (room: Room) => boolean;
  /** A history entry was appended (live and in replay), before the feeds get it. */
  onEntry?: (room: Room, entry: HistoryEntry, n: number) => void;
  /** Something `room.info` shows changed: seats, people, clock, link, faults, hold. */
  onChange?: (room: Room) => void;
  /** A checkpoint is taken: add what you keep about the room to `out` (under your own key). */
  checkpoint?: (room: Room, out: Record<string, unknown>) => void;
  /** The room was rebuilt from a checkpoint: `saved` is what `checkpoint` added then. */
  restoreCheckpoint?: (room: Room, saved: Record<string, unknown>) => void;
}

/**
 * A room's inputs as a restart has them for `Room.restoreCheckpoint`: those after the checkpoint,
 * and a way to read those before it, used only if someone asks for them (`Room.inputs`).
 */
export interface CheckpointInputs {
  before: () => RoomInput[];
  after: readonly RoomInput[];
}

/** What a room is built from besides its inputs: persistence and exports rebuild it from this. */
export interface RoomSetup {
  seed: number;
  link: LinkSettings;
  tcp: Partial<TcpConfig>;
  /** Per-endpoint engine settings over `tcp` and the seed the room derives (an imported scenario's). */
  hosts?: Partial<Record<Seat, Partial<TcpConfig>>>;
  /** The endpoints' addresses when not `ROOM_ADDRS` (an imported scenario's). */
  addrs?: Record<Seat, string>;
}

export interface RoomOptions {
  id: number;
  name: string;
  classCode: string;
  seed: number;
  limits: Limits;
  link: LinkSettings;
  tcp: Partial<TcpConfig>;
  /** Per-endpoint engine settings laid over `tcp` (see RoomSetup). */
  hosts?: Partial<Record<Seat, Partial<TcpConfig>>>;
  /** The endpoints' addresses; default `ROOM_ADDRS` (see RoomSetup). */
  addrs?: Record<Seat, string>;
  speed: number;
  running: boolean;
  /** Real timers (the server) or a fake clock (tests). */
  timers: PacerClock<unknown>;
  /** Called when something in the room's summary (seats, people, name) changed. */
  onSummary?: (room: Room) => void;
  hooks?: RoomHooks;
  /** Called when the engine or simulator throws: the room is paused and marked broken. */
  onCrash?: (room: Room, error: unknown) => void;
}

/** How often `room.time` is pushed while the clock runs (real ms). */
export const TIME_PUSH_MS = 1000;
/** Most network events one pacer tick runs before yielding to other rooms. */
export const EVENTS_PER_TICK = 2000;

/**
 * A room's endpoint as the network sees it: the engine's host, keeping the full bytes of each
 * call's result (which the trace shortens to a preview) until the room records the return. A
 * class, not closures, so a checkpoint of the room keeps it.
 */
export class RoomHost implements SimHost {
  constructor(
    readonly host: Host,
    private readonly returns: Map<string, Uint8Array>,
  ) {}

  call(now: number, req: CallRequest) {
    return this.host.call(now, req);
  }
  receive(now: number, p: Parameters<SimHost['receive']>[1]): void {
    this.host.receive(now, p);
  }
  advance(now: number): void {
    this.host.advance(now);
  }
  nextDeadline(): number | undefined {
    return this.host.nextDeadline();
  }
  snapshot(): unknown {
    return this.host.snapshot();
  }
  drain(): HostEvent[] {
    const events = this.host.drain();
    for (const e of events) {
      if (e.type === 'return' && e.result.ok && e.result.value instanceof Uint8Array) {
        this.returns.set(`${e.host}:${e.callId}`, e.result.value);
      }
    }
    return events;
  }
}

/** The classes a room's state is made of (names stay the same from one build to the next). */
const CHECKPOINT_CLASSES = new ClassTable(
  {
    Network,
    EventQueue,
    LinkDirection: SimLinkDirection,
    ActiveRule,
    Rng,
    RelativeSeq,
    RoomHost,
    Host,
    Mulberry32,
    TcpSocket,
    ByteQueue,
    ReceiveBuffer,
    SendLog,
    SeqMarks,
    RttEstimator,
    NewReno,
    TimerSet,
  },
  {
    // A socket's rings keep stale bytes where data was read: only the readable ones are kept.
    ByteQueue: (q: ByteQueue) => q.liveRanges(),
  },
);

export class Room {
  readonly id: number;
  name: string;
  readonly classCode: string;
  readonly seed: number;
  readonly limits: Limits;
  epoch = 0;
  /** The history (see `history`). */
  private entries: HistoryEntry[] = [];
  /** The inputs (see `inputs`). */
  private inputList: RoomInput[] = [];
  /**
   * The inputs before the checkpoint a restart rebuilt the room from, read when first needed
   * (`inputs`): a long class has thousands, and only those after the checkpoint replay.
   */
  private earlier: { count: number; load: () => RoomInput[] } | undefined;
  /** A rebuild put off until something needs the room (`defer`). */
  private deferred: (() => void) | undefined = undefined;
  readonly seats: Record<Seat, SeatRef | null> = { A: null, B: null };
  /** Students in the room (seated or observing). */
  readonly members = new Set<SeatRef>();
  readonly feeds = new Set<RoomFeed>();
  policy: ClockPolicy = CLASSROOM_CLOCK.policy;
  /** With policy `ready`: the action waiting and the seats that asked for it. */
  private pending: { action: 'resume' | 'step'; seats: Set<Seat> } | undefined;
  broken: string | undefined;
  full = false;

  private net!: Network;
  private pacer!: Pacer;
  private processed = 0;
  private speed: number;
  private wantRunning: boolean;
  private readonly opts: RoomOptions;
  private labels = new Map<number, string>();
  private nextRuleId = 1;
  /** Packet bytes of segments still in flight, by segment id (trace events after `send` carry none). */
  private bytes = new Map<number, Uint8Array>();
  /** The bytes of calls that returned bytes, by host and callId, until their `return` is recorded (the trace keeps a preview). */
  private returns = new Map<string, Uint8Array>();
  private lastTimePush = 0;
  private infoVersion = 0;
  private lastSummary = '';
  private snapshot: { key: string; data: Buffer } | undefined;
  private holdOn = false;
  /** The network's one trace listener (a field, so a checkpoint can name it). */
  private readonly onTraceEvent = (e: BareTraceEvent) => this.record(e);

  constructor(opts: RoomOptions) {
    this.opts = opts;
    this.id = opts.id;
    this.name = opts.name;
    this.classCode = opts.classCode;
    this.seed = opts.seed;
    this.limits = opts.limits;
    this.speed = opts.speed;
    this.wantRunning = opts.running;
    this.build();
  }

  /** Every entry of the room's history, in order: the exact bytes every feed receives. */
  get history(): HistoryEntry[] {
    this.ensure();
    return this.entries;
  }

  /** The inputs that made the room, in order (replaying them rebuilds it). */
  get inputs(): RoomInput[] {
    this.ensure();
    if (this.earlier) {
      const { count, load } = this.earlier;
      const before = load();
      if (before.length !== count)
        throw new Error(`room ${this.id}: ${before.length} inputs before its checkpoint, not ${count}`);
      this.earlier = undefined;
      this.inputList = before.concat(this.inputList);
    }
    return this.inputList;
  }

  /** How many inputs made the room (without reading those a restart has left unread). */
  get inputCount(): number {
    this.ensure();
    return (this.earlier?.count ?? 0) + this.inputList.length;
  }

  /** The inputs from the `from`th on (those a restart has left unread are read only if asked for). */
  inputsFrom(from: number): RoomInput[] {
    this.ensure();
    const unread = this.earlier?.count ?? 0;
    return from >= unread ? this.inputList.slice(from - unread) : this.inputs.slice(from);
  }

  /**
   * Puts off rebuilding this room (a restart's `replay` or `restoreCheckpoint`) until something
   * needs it: every method that reads or changes the network, the history or the inputs runs
   * `rebuild` first. A restart rebuilds its rooms in the background, and the room a student
   * comes back to at once.
   */
  defer(rebuild: () => void): void {
    this.deferred = rebuild;
  }

  /** True while a deferred rebuild has not run. */
  get rebuildPending(): boolean {
    return this.deferred !== undefined;
  }

  /** Runs the deferred rebuild now, if any. */
  ensure(): void {
    const rebuild = this.deferred;
    if (rebuild === undefined) return;
    this.deferred = undefined;
    rebuild();
  }

  // ── the network ─────────────────────────────────────────────────────────────────────────────

  private build(): void {
    const hosts = (['A', 'B'] as const).map((name) => ({
      name,
      addr: parseIp((this.opts.addrs ?? ROOM_ADDRS)[name])!,
      config: this.hostConfig(name),
    }));
    this.net = new Network({
      seed: this.seed,
      hosts,
      link: this.opts.link,
      keepTrace: false,
      rawBytes: true,
      summaries: this.wantsSummaries(),
      createHost: (spec) =>
        new RoomHost(new Host({ name: spec.name, addr: spec.addr, config: spec.config ?? {} }), this.returns),
    });
    this.processed = 0;
    this.net.subscribeBare(this.onTraceEvent);
    this.buildPacer();
  }

  /** The pacer that drives `this.net`. */
  private buildPacer(): void {
    const net = this.net;
    const counted: PacedNetwork = {
      get now() {
        return net.now;
      },
      runUntil: (t, max) => this.runUntil(t, max),
      nextEventTime: () => net.nextEventTime(),
      step: () => this.stepOne(),
    };
    this.pacer = new Pacer(counted, {
      clock: this.guardTimers(this.opts.timers),
      speed: this.speed,
      maxTickMs: TIME_PUSH_MS,
      maxEventsPerTick: EVENTS_PER_TICK,
      onTick: () => this.afterTick(),
    });
    if (this.wantRunning && !this.full && !this.broken) this.pacer.resume();
  }

  /** Whether the network's segment events need their header summary (see `RoomHooks.onTrace`). */
  private wantsSummaries(): boolean {
    const hooks = this.opts.hooks;
    if (!hooks?.onTrace) return false;
    return hooks.traceSummaries?.(this) ?? true;
  }

  /** The engine settings of endpoint `seat`, exactly as the room builds it. */
  hostConfig(seat: Seat): Partial<TcpConfig> {
    const tcp = this.opts.tcp;
    const i = seat === 'A' ? 0 : 1;
    return { ...tcp, seed: ((tcp.seed ?? this.seed) * 2 + i + 1) >>> 0, ...(this.opts.hosts?.[seat] ?? {}) };
  }

  get setup(): RoomSetup {
    const { link, tcp, hosts, addrs } = this.opts;
    return {
      seed: this.seed,
      link,
      tcp,
      ...(hosts === undefined ? {} : { hosts }),
      ...(addrs === undefined ? {} : { addrs }),
    };
  }

  private guardTimers(timers: PacerClock<unknown>): PacerClock<unknown> {
    // The pacer schedules the same tick function every time: it is wrapped once, not per timer.
    let last: (() => void) | undefined;
    let guarded: () => void = () => {};
    return {
      now: () => timers.now(),
      cancel: (h) => timers.cancel(h),
      schedule: (fn, ms) => {
        if (fn !== last) {
          last = fn;
          guarded = () => {
            try {
              fn();
            } catch (e) {
              this.crash(e);
            }
          };
        }
        return timers.schedule(guarded, ms);
      },
    };
  }

  /** Runs the network to `t` one counted event at a time (see the file comment). */
  private runUntil(t: number, max = Number.POSITIVE_INFINITY): boolean {
    const net = this.net;
    let n = 0;
    for (;;) {
      const next = net.nextEventTime();
      if (next === undefined || next > t) break;
      if (n >= max) return false;
      if (net.runNext()) this.processed++;
      n++;
    }
    net.runUntil(t);
    return true;
  }

  /** One counted event, reached the way `runUntil` reaches them (the head made real first). */
  private stepOne() {
    if (this.net.nextEventTime() === undefined) return undefined;
    const info = this.net.step();
    if (info) this.processed++;
    return info;
  }

  private crash(e: unknown): void {
    this.broken = e instanceof Error ? e.message : String(e);
    this.pacer.dispose();
    this.opts.onCrash?.(this, e);
    this.pushInfo();
  }

  get now(): number {
    this.ensure();
    return this.net.now;
  }

  /** Where the room is: virtual time and events run. Replay to it reproduces the room exactly. */
  position(): { at: number; seq: number } {
    this.ensure();
    return { at: this.net.now, seq: this.processed };
  }

  // ── inputs ──────────────────────────────────────────────────────────────────────────────────

  /**
   * Checks an input against the current state; throws a LabError and changes nothing when it is
   * refused. Returns a call's engine request, so it is not converted twice.
   */
  private check(input: InputBody): CallRequest | undefined {
    this.checkUsable();
    switch (input.kind) {
      case 'call':
        return toCallRequest(input.call, this.limits.maxSendBytes);
      case 'fault.add': {
        if (this.net.rules().length >= this.limits.maxFaultRules)
          refuse('TCPLAB_TOO_MANY_RULES', `a room holds at most ${this.limits.maxFaultRules} fault rules`);
        const problems = checkRule(simRule(input.rule, input.id), 'rule', ['A', 'B']);
        if (problems.length > 0) refuse('TCPLAB_INVALID', problems[0]!, '/rule');
        break;
      }
      case 'fault.remove':
        if (!this.net.rules().some((r) => r.rule.id === String(input.id)))
          refuse('TCPLAB_NO_SUCH_RULE', `room ${this.id} has no fault rule ${input.id}`, '/ruleId');
        break;
      case 'held':
        if (!this.net.held().some((h) => h.id === input.segId))
          refuse(
            'TCPLAB_NO_SUCH_SEGMENT',
            `segment #${input.segId} is not held in room ${this.id}`,
            '/segId',
          );
        if (input.action === 'delay' && !(input.ms! <= this.limits.maxStepMs))
          refuse('TCPLAB_INVALID', `ms must be at most ${this.limits.maxStepMs}`, '/ms');
        break;
      default:
        break;
    }
    return undefined;
  }

  /**
   * Applies an input now: checks it, brings the network up to the present, records it and
   * applies it. Returns what the network returned (a call's `{callId, result?}`).
   */
  input(body: InputBody): unknown {
    this.ensure();
    const request = this.check(body);
    const wasRunning = this.pacer.running;
    if (wasRunning) this.pacer.pause();
    try {
      // Where the room is (`position()`), once the pause has run what was due. A call (most
      // inputs) is built as a literal: the spread was the costliest line of a call's input.
      const at = this.net.now;
      const seq = this.processed;
      const input = (
        body.kind === 'call'
          ? { kind: 'call', host: body.host, call: body.call, at, seq }
          : { ...body, at, seq }
      ) as RoomInput;
      let out: unknown;
      try {
        out = this.applyInput(input, request);
      } catch (e) {
        if (e instanceof LabError) throw e;
        this.crash(e);
        refuse('TCPLAB_ENGINE', `the simulator failed on this input: ${(e as Error).message}`);
      }
      this.inputList.push(input);
      this.opts.hooks?.onInput?.(this, input);
      return out;
    } finally {
      if (wasRunning && !this.broken) this.pacer.resume();
      this.checkFull();
      if (body.kind !== 'call') this.pushInfo();
    }
  }

  /**
   * The one place inputs touch the network, live and in replay. `request`: a call's engine
   * request when `check` made it (live); replay converts the call here.
   */
  private applyInput(input: RoomInput, request?: CallRequest): unknown {
    const net = this.net;
    switch (input.kind) {
      case 'call': {
        // Sizes were checked when the input was made (`check`, or an import's own limits).
        const r = net.call(input.host, request ?? toCallRequest(input.call, Number.MAX_SAFE_INTEGER));
        return r;
      }
      case 'link': {
        const patch = input.settings as Partial<LinkSettings>;
        if (input.dir === undefined) net.setLink('A', 'B', patch, true);
        else if (input.dir === 'AB') net.setLink('A', 'B', patch);
        else net.setLink('B', 'A', patch);
        return undefined;
      }
      case 'fault.add':
        if (input.rule.label !== undefined) this.labels.set(input.id, input.rule.label);
        this.nextRuleId = Math.max(this.nextRuleId, input.id + 1);
        return net.addRule(simRule(input.rule, input.id));
      case 'fault.remove':
        this.labels.delete(input.id);
        return net.removeRule(String(input.id));
      case 'fault.clear':
        for (const r of net.rules()) net.removeRule(r.rule.id);
        this.labels.clear();
        return undefined;
      case 'hold':
        net.setHold(input.on);
        this.holdOn = input.on;
        return undefined;
      case 'held':
        if (input.action === 'release') net.release(input.segId);
        else if (input.action === 'drop') net.dropHeld(input.segId);
        else net.delayHeld(input.segId, input.ms ?? 0);
        return undefined;
    }
  }

  /** A new rule's id (ids are small integers so frames can carry them). */
  allocateRuleId(): number {
    this.ensure();
    return this.nextRuleId;
  }

  /**
   * Rebuilds this room's network from a list of inputs and runs it to `until` (the position the
   * room had). The history is rebuilt too, identical to the original's.
   */
  replay(inputs: readonly RoomInput[], until: { at: number; seq: number }): void {
    this.deferred = undefined;
    this.rebuildFrom(() => this.build(), inputs, 0, until);
  }

  /**
   * Rebuilds the room: `start` gives it its network (a fresh one, or a checkpoint's) with the
   * clock held, then the inputs from `from` on are replayed, each after exactly the events that
   * ran before it live, and the network is run to `until`; the clock runs again if it was.
   */
  private rebuildFrom(
    start: () => void,
    inputs: readonly RoomInput[],
    from: number,
    until: { at: number; seq: number },
  ): void {
    this.pacer.dispose();
    this.resetState();
    const wantRunning = this.wantRunning;
    this.wantRunning = false;
    start();
    for (let i = from; i < inputs.length; i++) {
      const input = inputs[i]!;
      this.runTo(input);
      this.applyInput(input);
      this.inputList.push(input);
    }
    this.runTo(until);
    this.wantRunning = wantRunning;
    this.checkFull();
    if (this.wantRunning && !this.full) this.pacer.resume();
  }

  /**
   * The room's state now, as bytes (`state-codec.ts`), with where it stands. Restoring it and
   * replaying the inputs that come after it gives the same room as replaying every input. What
   * the hooks keep about the room (`RoomHooks.checkpoint`) goes with it.
   */
  checkpoint(): RoomCheckpoint {
    this.ensure();
    if (this.broken) throw new Error(`room ${this.id} is broken: nothing to keep`);
    const extras: Record<string, unknown> = {};
    this.opts.hooks?.checkpoint?.(this, extras);
    const state: CheckpointState = {
      net: this.net,
      processed: this.processed,
      labels: this.labels,
      nextRuleId: this.nextRuleId,
      bytes: this.bytes,
      returns: this.returns,
      holdOn: this.holdOn,
      extras,
    };
    return {
      inputs: this.inputCount,
      history: this.entries.length,
      at: this.net.now,
      seq: this.processed,
      state: encodeGraph(state, CHECKPOINT_CLASSES, new Map([[this.onTraceEvent, 'trace']])),
    };
  }

  /**
   * Rebuilds this room from `cp` (a checkpoint of it, of this epoch), the history it had then
   * (`history`, `cp.history` entries) and its inputs (all of them, the first `cp.inputs` of which
   * came before it, or split there: `CheckpointInputs`): the inputs after it are replayed and the
   * network run to `until`, exactly as `replay` does. Throws (leaving the room as it was) when
   * the checkpoint cannot be read; the caller then replays.
   */
  restoreCheckpoint(
    cp: RoomCheckpoint,
    history: HistoryEntry[],
    inputs: readonly RoomInput[] | CheckpointInputs,
    until: { at: number; seq: number },
  ): void {
    this.deferred = undefined;
    const split: CheckpointInputs = Array.isArray(inputs)
      ? { before: () => inputs.slice(0, cp.inputs), after: inputs.slice(cp.inputs) }
      : (inputs as CheckpointInputs);
    if (history.length !== cp.history || (Array.isArray(inputs) && inputs.length < cp.inputs))
      throw new Error(`checkpoint of room ${this.id} does not match its stored inputs and history`);
    const state = decodeGraph(
      cp.state,
      CHECKPOINT_CLASSES,
      new Map([['trace', this.onTraceEvent]]),
    ) as CheckpointState;
    if (!(state.net instanceof Network) || state.processed !== cp.seq || state.net.now !== cp.at)
      throw new Error(`checkpoint of room ${this.id} is not a room's`);
    const start = () => {
      this.net = state.net;
      this.processed = state.processed;
      this.labels = state.labels;
      this.nextRuleId = state.nextRuleId;
      this.bytes = state.bytes;
      this.returns = state.returns;
      this.holdOn = state.holdOn;
      this.entries = history;
      this.earlier = cp.inputs > 0 ? { count: cp.inputs, load: split.before } : undefined;
      this.buildPacer();
      this.opts.hooks?.restoreCheckpoint?.(this, state.extras);
    };
    this.rebuildFrom(start, split.after, 0, until);
  }

  private runTo(pos: { at: number; seq: number }): void {
    while (this.processed < pos.seq && this.stepOne()) {}
    if (this.processed !== pos.seq)
      throw new Error(`replay diverged: ${this.processed} events ran where ${pos.seq} were recorded`);
    if (this.net.now < pos.at) {
      // Events due at exactly `at` may still wait (an imported scenario's step runs before them).
      const next = this.net.nextEventTime();
      if (next !== undefined && next < pos.at)
        throw new Error(`replay diverged: events ran before t=${pos.at} that did not run live`);
      this.net.advanceTo(pos.at);
    }
  }

  // ── clock ───────────────────────────────────────────────────────────────────────────────────

  clock(): ClockState {
    this.ensure();
    return {
      running: this.pacer.running,
      speed: this.speed,
      t: this.net.now,
      policy: this.policy,
      ready: this.pending ? [...this.pending.seats].sort() : [],
    };
  }

  pause(): void {
    this.ensure();
    this.pending = undefined;
    this.wantRunning = false;
    this.pacer.pause();
    this.pushInfo();
  }

  resume(): void {
    this.ensure();
    this.pending = undefined;
    this.checkUsable();
    this.wantRunning = true;
    this.pacer.resume();
    this.pushInfo();
  }

  /** Runs the next event (or advances `ms` of virtual time); leaves the clock paused. */
  step(ms?: number): void {
    this.ensure();
    this.pending = undefined;
    this.checkUsable();
    this.wantRunning = false;
    this.pacer.pause();
    try {
      if (ms === undefined) this.stepOne();
      else this.runUntil(this.net.now + ms);
    } catch (e) {
      this.crash(e);
    }
    this.checkFull();
    this.pushInfo();
  }

  setSpeed(speed: number): void {
    this.ensure();
    this.pacer.setSpeed(speed);
    this.speed = speed;
    this.pushInfo();
  }

  setPolicy(policy: ClockPolicy): void {
    this.ensure();
    this.policy = policy;
    this.pending = undefined;
    this.pushInfo();
  }

  /**
   * Policy `ready`: `seats` ask for `action`; returns true when every held seat has asked (then
   * the caller performs it), false while waiting for the others.
   */
  ready(action: 'resume' | 'step', seats: readonly Seat[]): boolean {
    this.ensure();
    if (!this.pending || this.pending.action !== action) this.pending = { action, seats: new Set() };
    for (const s of seats) this.pending.seats.add(s);
    const needed = (['A', 'B'] as const).filter((s) => this.seats[s] !== null);
    if (needed.every((s) => this.pending!.seats.has(s))) {
      this.pending = undefined;
      return true;
    }
    this.pushInfo();
    return false;
  }

  private checkUsable(): void {
    if (this.broken)
      refuse('TCPLAB_ENGINE', `room ${this.id} stopped after an internal error: ${this.broken}`);
    if (this.full)
      refuse(
        'TCPLAB_HISTORY_FULL',
        `room ${this.id} has reached its history limit of ${this.limits.maxHistoryEvents} events; reset the room`,
      );
  }

  private afterTick(): void {
    this.checkFull();
    if (!this.pacer.running || this.feeds.size === 0) return;
    const wall = this.opts.timers.now();
    if (wall - this.lastTimePush >= TIME_PUSH_MS) {
      this.lastTimePush = wall;
      this.notice({ type: 'room.time', room: this.id, t: this.net.now });
    }
  }

  private checkFull(): void {
    if (this.full || this.entries.length < this.limits.maxHistoryEvents) return;
    this.full = true;
    this.pacer.pause();
    this.pushInfo();
  }

  // ── reset ───────────────────────────────────────────────────────────────────────────────────

  /** A new epoch: a fresh network with the room's defaults, empty history and inputs; seats stay. */
  reset(): number {
    this.ensure();
    this.pacer.dispose();
    this.resetState();
    this.epoch++;
    this.build();
    this.opts.hooks?.onReset?.(this, this.epoch);
    for (const f of this.feeds) f.onReset();
    this.pushInfo();
    return this.epoch;
  }

  private resetState(): void {
    this.entries = [];
    this.inputList = [];
    this.earlier = undefined;
    this.bytes.clear();
    this.returns.clear();
    this.labels.clear();
    this.nextRuleId = 1;
    this.holdOn = false;
    this.full = false;
    this.broken = undefined;
    this.pending = undefined;
  }

  dispose(): void {
    this.deferred = undefined;
    this.pacer.dispose();
    this.feeds.clear();
  }

  // ── history ─────────────────────────────────────────────────────────────────────────────────

  private record(e: BareTraceEvent): void {
    const n = this.entries.length;
    this.opts.hooks?.onTrace?.(this, e);
    let entry: HistoryEntry;
    if (e.type === 'segment') {
      entry = this.frame(e, n);
    } else {
      // A call that returned bytes: the full bytes in place of the trace's preview.
      let result: string | undefined;
      if (e.type === 'return' && this.returns.size > 0) {
        const key = `${e.host}:${e.callId}`;
        const bytes = this.returns.get(key);
        if (bytes) {
          this.returns.delete(key);
          result = `{"ok":true,"value":${JSON.stringify(toWireJson(bytes))}}`;
        }
      }
      const { data, frame } = roomEventBytes(this.id, n, e, result);
      entry = { data, binary: false, frame };
    }
    this.entries.push(entry);
    this.opts.hooks?.onEntry?.(this, entry, n);
    for (const f of this.feeds) f.onEntry(entry, n);
  }

  private frame(e: BareSegmentTrace, n: number): HistoryEntry {
    let packet: Uint8Array | undefined;
    if (e.bytes !== undefined) {
      // The room's network gives packets as bytes (rawBytes), on send, dup and corrupt.
      packet = e.bytes;
      this.bytes.set(e.id, packet);
    } else {
      packet = this.bytes.get(e.id) ?? new Uint8Array(0);
    }
    if (e.event === 'arrive' || e.event === 'drop') this.bytes.delete(e.id);
    const len = FRAME_HEADER_LEN + packet.length;
    const frame = allocWsFrame(len, true);
    segmentFrameInto(e, this.id, n, packet, frame, frame.length - len);
    return { data: frame.subarray(frame.length - len), binary: true, frame };
  }

  // ── views ───────────────────────────────────────────────────────────────────────────────────

  summary(): RoomSummary {
    return { room: this.id, name: this.name, seats: this.seatHolders(), people: this.members.size };
  }

  private seatHolders(): { A: SeatHolder; B: SeatHolder } {
    const holder = (s: SeatRef | null): SeatHolder =>
      s ? { session: s.id, name: s.name, online: s.online } : null;
    return { A: holder(this.seats.A), B: holder(this.seats.B) };
  }

  info(): RoomInfo {
    this.ensure();
    const net = this.net;
    return {
      room: this.id,
      name: this.name,
      classCode: this.classCode,
      epoch: this.epoch,
      seats: this.seatHolders(),
      people: this.members.size,
      clock: this.clock(),
      link: { AB: net.link('A', 'B'), BA: net.link('B', 'A') },
      faults: net.rules().map(({ rule, matched, fired }) => {
        const id = Number(rule.id);
        const label = this.labels.get(id);
        return { ...rule, id, ...(label === undefined ? {} : { label }), matched, fired };
      }),
      hold: this.holdOn,
      held: net.held().map((h) => h.id),
      addrs: { ...(this.opts.addrs ?? ROOM_ADDRS) },
      full: this.full,
      ...(this.broken === undefined ? {} : { broken: this.broken }),
    };
  }

  /**
   * The snapshot a newcomer gets before the history. Cached while nothing has happened, so a
   * reset that restarts every feed at once builds it once.
   */
  snapshotMessage(): Buffer {
    this.ensure();
    const key = `${this.epoch}/${this.processed}/${this.net.now}/${this.entries.length}/${this.infoVersion}`;
    if (this.snapshot?.key === key) return this.snapshot.data;
    // Host snapshots are plain JSON data (numbers, strings, arrays): no bytes to encode.
    const hosts = { A: this.net.host('A').snapshot(), B: this.net.host('B').snapshot() };
    const data = Buffer.from(
      JSON.stringify({
        type: 'room.snapshot',
        room: this.id,
        info: this.info(),
        hosts,
        firstN: 0,
        nextN: this.entries.length,
      }),
    );
    this.snapshot = { key, data };
    return data;
  }

  /**
   * Pushes `room.info` to every feed, and tells the class when the room's summary (name, seats,
   * people) changed: clock, link and fault changes stay inside the room.
   */
  pushInfo(): void {
    this.ensure();
    this.infoVersion++;
    this.opts.hooks?.onChange?.(this);
    if (this.feeds.size > 0) this.notice({ type: 'room.info', room: this.id, info: this.info() });
    const summary = JSON.stringify(this.summary());
    if (summary !== this.lastSummary) {
      this.lastSummary = summary;
      this.opts.onSummary?.(this);
    }
  }

  private notice(msg: object): void {
    const data = Buffer.from(JSON.stringify(msg));
    for (const f of this.feeds) f.onNotice(data);
  }
}

function simRule(rule: FaultRule, id: number) {
  const { label: _label, ...rest } = rule;
  return { ...rest, id: String(id) };
}

/**
 * What checkpoints depend on: the source of the room, of every class its state holds and of the
 * codec. A checkpoint written by another build (any change to one of them) is not used: the room
 * is rebuilt by replaying all its inputs instead, as before checkpoints.
 */
export const CHECKPOINT_ENGINE = createHash('sha256')
  .update(
    [Room, encodeGraph, decodeGraph, ...CHECKPOINT_CLASSES.classes]
      .map((f) => Function.prototype.toString.call(f))
      .join('\0'),
  )
  .digest('hex')
  .slice(0, 16);
