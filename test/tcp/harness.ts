/**
 * Test helpers for the TCP engine (shared/tcp): a two-host test wire and a single-host driver.
 *
 * - `Wire`: hosts A and B joined by a link with a fixed one-way delay, a virtual clock, fault
 *   rules (drop / hold / duplicate / delay a segment chosen by predicate) and a log written as
 *   Wireshark would: `A>B [FIN, ACK] seq=101 ack=51 len=0`, sequence and acknowledgment numbers
 *   relative to each side's ISN (taken from its SYN). State changes print as
 *   `A: ESTABLISHED -> FIN-WAIT-1` and call returns as `B: accept() = 4`.
 * - `Rig`: one host; a test injects hand-made segments (smoltcp's `send!`) and asserts exactly
 *   what comes out (`recv!`), with absolute sequence numbers near 2^32 so the wrap is crossed.
 *
 * Time advances only through the wire or rig (`run`, `runUntil`, `advanceTo`); no fake timers.
 * This is a test wire, not the simulator in shared/sim.
 */
import { expect } from 'vitest';
import { decodePacket, encodePacket } from '../../shared/tcp/codec.ts';
import type { TcpConfig } from '../../shared/tcp/config.ts';
import { Host, type SocketSnapshot } from '../../shared/tcp/host.ts';
import {
  ACK,
  CWR,
  ECE,
  FIN,
  type Packet,
  PSH,
  RST,
  SYN,
  segmentLength,
  type TcpOption,
  type TcpSegment,
  URG,
} from '../../shared/tcp/packet.ts';
import { seqAdd, seqDiff } from '../../shared/tcp/seq.ts';
import type {
  CallRequest,
  CallResult,
  CallValue,
  Errno,
  HostEvent,
  SendReason,
  TcpState,
} from '../../shared/tcp/types.ts';

// ---------------------------------------------------------------------------------------------
// Constants

export const A_ADDR = 0x0a00_0001; // 10.0.0.1
export const B_ADDR = 0x0a00_0002; // 10.0.0.2
/** A's ISN: its SYN takes 2^32 − 1, so its first data byte already has sequence number 0. */
export const A_ISS = 2 ** 32 - 1;
/** B's ISN: its tenth data byte crosses the wrap. */
export const B_ISS = 2 ** 32 - 10;
export const SERVER_PORT = 80;
export const CLIENT_PORT = 40_000;
/** One-way delay of the test wire. */
export const DELAY = 50;
export const RTT = 2 * DELAY;

export type Side = 'A' | 'B';
const other = (s: Side): Side => (s === 'A' ? 'B' : 'A');

/** Flag names in Wireshark's order (lowest bit first). */
const WS_FLAGS: ReadonlyArray<readonly [number, string]> = [
  [FIN, 'FIN'],
  [SYN, 'SYN'],
  [RST, 'RST'],
  [PSH, 'PSH'],
  [ACK, 'ACK'],
  [URG, 'URG'],
  [ECE, 'ECE'],
  [CWR, 'CWR'],
];

export function flagText(flags: number): string {
  return `[${WS_FLAGS.filter(([bit]) => flags & bit)
    .map(([, n]) => n)
    .join(', ')}]`;
}

export type FlagName = 'FIN' | 'SYN' | 'RST' | 'PSH' | 'ACK' | 'URG' | 'ECE' | 'CWR';
const FLAG_BITS: Record<FlagName, number> = { FIN, SYN, RST, PSH, ACK, URG, ECE, CWR };

export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function text(data: Uint8Array): string {
  return new TextDecoder().decode(data);
}

/** `n` bytes of a recognisable pattern starting at `from`. */
export function pattern(n: number, from = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (from + i) % 251;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Call results

export function describeResult(r: CallResult | undefined): string {
  if (!r) return '(blocked)';
  if (!r.ok) return r.errno;
  return describeValue(r.value);
}

function describeValue(v: CallValue): string {
  if (v === null) return 'null';
  if (v instanceof Uint8Array) {
    const printable = v.every((b) => b >= 0x20 && b < 0x7f);
    return printable && v.length <= 64 ? JSON.stringify(text(v)) : `<${v.length} bytes>`;
  }
  if (typeof v === 'object' && 'fd' in v) return String(v.fd);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** The value of a successful result; fails the test with the errno otherwise. */
export function okValue(r: CallResult | undefined, what = 'call'): CallValue {
  if (!r) throw new Error(`${what} blocked (no result)`);
  if (!r.ok) throw new Error(`${what} failed: ${r.errno}: ${r.message}`);
  return r.value;
}

export function errnoOf(r: CallResult | undefined): Errno | 'ok' | 'blocked' {
  if (!r) return 'blocked';
  return r.ok ? 'ok' : r.errno;
}

// ---------------------------------------------------------------------------------------------
// The two-host wire

/** A segment as the wire sees it, with sequence numbers relative to each side's ISN. */
export interface WireSeg {
  /** Index among all segments transmitted on this wire (0-based). */
  n: number;
  t: number;
  from: Side;
  to: Side;
  packet: Packet;
  flags: number;
  /** Relative sequence number (Wireshark's "relative sequence number"). */
  seq: number;
  /** Relative acknowledgment number (only meaningful with ACK). */
  ack: number;
  len: number;
  why: SendReason;
  rexmit: number | undefined;
  has(...flags: FlagName[]): boolean;
  /** `A>B [FIN, ACK] seq=101 ack=51 len=0`. */
  text: string;
}

export type SegPred = (s: WireSeg) => boolean;

/** Predicate helpers: `seg('A', 'FIN')` is "a segment from A with FIN". */
export function seg(from?: Side, ...flags: FlagName[]): SegPred {
  return (s) => (from === undefined || s.from === from) && s.has(...flags);
}

export function dataFrom(from: Side): SegPred {
  return (s) => s.from === from && s.packet.tcp.payload.length > 0;
}

type RuleAction = { kind: 'drop' } | { kind: 'dup' } | { kind: 'delay'; ms: number } | { kind: 'hold' };

interface Rule {
  pred: SegPred;
  action: RuleAction;
  /** How many more segments the rule applies to (Infinity for always). */
  left: number;
}

interface InFlight {
  at: number;
  order: number;
  to: Side;
  bytes: Uint8Array;
  n: number;
}

export type LogEntry =
  | { kind: 'seg'; t: number; seg: WireSeg; fate: 'sent' | 'dropped' | 'held' | 'duplicated' }
  | { kind: 'state'; t: number; side: Side; sock: number; from: TcpState; to: TcpState; cause: string }
  | { kind: 'return'; t: number; side: Side; callId: number; op: string; result: CallResult };

export interface WireOptions {
  a?: Partial<TcpConfig>;
  b?: Partial<TcpConfig>;
  profile?: 'textbook' | 'linux' | 'packetdrill';
  delay?: number;
}

export class Wire {
  now = 0;
  readonly a: Host;
  readonly b: Host;
  readonly delay: number;
  readonly log: LogEntry[] = [];
  readonly segs: WireSeg[] = [];
  readonly events: Array<HostEvent & { side: Side }> = [];
  private rules: Rule[] = [];
  private inflight: InFlight[] = [];
  private held: InFlight[] = [];
  private order = 0;
  private readonly results = new Map<string, CallResult>();
  /** Relative-number bases: per direction (src:port>dst:port), the ISN seen in its SYN. */
  private readonly base = new Map<string, number>();
  /** Hook run on every transmitted segment before the rules (for property tests). */
  onTransmit: ((s: WireSeg) => 'deliver' | 'drop' | 'dup' | { delay: number }) | undefined;

  constructor(opts: WireOptions = {}) {
    const profile = opts.profile ?? 'textbook';
    this.delay = opts.delay ?? DELAY;
    this.a = new Host({ name: 'A', addr: A_ADDR, profile, config: { iss: A_ISS, ...opts.a } });
    this.b = new Host({ name: 'B', addr: B_ADDR, profile, config: { iss: B_ISS, ...opts.b } });
  }

  host(side: Side): Host {
    return side === 'A' ? this.a : this.b;
  }

  // ---- fault rules

  /** Drops the next `count` segments matching `pred` (default 1). */
  drop(pred: SegPred, count = 1): this {
    this.rules.push({ pred, action: { kind: 'drop' }, left: count });
    return this;
  }

  /** Delivers the next `count` matching segments twice. */
  duplicate(pred: SegPred, count = 1): this {
    this.rules.push({ pred, action: { kind: 'dup' }, left: count });
    return this;
  }

  /** Delays the next `count` matching segments by `ms` on top of the wire delay (reordering). */
  delayBy(pred: SegPred, ms: number, count = 1): this {
    this.rules.push({ pred, action: { kind: 'delay', ms }, left: count });
    return this;
  }

  /** Holds the next `count` matching segments until `release()`. */
  hold(pred: SegPred, count = 1): this {
    this.rules.push({ pred, action: { kind: 'hold' }, left: count });
    return this;
  }

  /** Puts every held segment on the wire now (they arrive one delay later). */
  release(): void {
    for (const h of this.held) this.inflight.push({ ...h, at: this.now + this.delay, order: this.order++ });
    this.held = [];
  }

  clearRules(): void {
    this.rules = [];
  }

  // ---- calls

  /** Makes a call on `side` at the current time; returns the result (undefined if it blocked). */
  call(side: Side, req: CallRequest): { callId: number; result: CallResult | undefined } {
    const out = this.host(side).call(this.now, req);
    this.pump();
    return { callId: out.callId, result: out.result };
  }

  /** A call that must finish at once; returns its result. */
  do(side: Side, req: CallRequest): CallResult {
    const { result } = this.call(side, req);
    if (!result) throw new Error(`${side}: ${req.op}() blocked`);
    return result;
  }

  /** A call that must succeed at once; returns its value. */
  ok(side: Side, req: CallRequest): CallValue {
    return okValue(this.do(side, req), `${side}: ${req.op}()`);
  }

  /** The result of a call, whether it finished at once or later as a 'return' event. */
  result(side: Side, callId: number): CallResult | undefined {
    return this.results.get(`${side}:${callId}`);
  }

  // ---- time

  /** The time of the next thing that happens: a delivery or a timer. */
  nextTime(): number | undefined {
    let best: number | undefined;
    for (const f of this.inflight) if (best === undefined || f.at < best) best = f.at;
    for (const h of [this.a, this.b]) {
      const d = h.nextDeadline();
      if (d !== undefined && (best === undefined || d < best)) best = d;
    }
    return best;
  }

  /** Runs one step (all deliveries due at the next time, then timers); false when idle. */
  step(limit = Number.POSITIVE_INFINITY): boolean {
    const t = this.nextTime();
    if (t === undefined || t > limit) return false;
    this.now = Math.max(this.now, t);
    for (;;) {
      this.inflight.sort((x, y) => x.at - y.at || x.order - y.order);
      const f = this.inflight[0];
      if (!f || f.at > this.now) break;
      this.inflight.shift();
      this.host(f.to).receive(this.now, f.bytes);
      this.pump();
    }
    for (const h of [this.a, this.b]) {
      const d = h.nextDeadline();
      if (d !== undefined && d <= this.now) {
        h.advance(this.now);
        this.pump();
      }
    }
    return true;
  }

  /** Runs until nothing is left to do or `until` (absolute virtual ms) is reached. */
  run(until = Number.POSITIVE_INFINITY, maxSteps = 100_000): void {
    for (let i = 0; i < maxSteps; i++) if (!this.step(until)) break;
    if (until !== Number.POSITIVE_INFINITY) this.now = Math.max(this.now, until);
  }

  /** Runs for `ms` more virtual milliseconds. */
  runFor(ms: number): void {
    this.run(this.now + ms);
  }

  /** Runs until `cond()` holds (checked after every step); fails if it never does. */
  runUntil(cond: () => boolean, maxMs = 10 * 60_000): void {
    const stop = this.now + maxMs;
    while (!cond()) {
      if (!this.step(stop)) throw new Error(`runUntil: condition not met by t=${this.now}`);
    }
  }

  // ---- introspection

  sock(side: Side, fd: number, pid = 1): SocketSnapshot {
    const s = this.host(side).socketOf(fd, pid);
    if (!s) throw new Error(`${side}: no socket for fd ${fd} in pid ${pid}`);
    return s;
  }

  state(side: Side, fd: number, pid = 1): TcpState {
    return this.sock(side, fd, pid).state;
  }

  /** Every socket of a host (including orphans and TIME-WAIT ones). */
  sockets(side: Side): SocketSnapshot[] {
    return this.host(side).snapshot().sockets;
  }

  /** Segment lines (`A>B [SYN] seq=0 len=0`), optionally from index `from` on. */
  ladder(from = 0): string[] {
    return this.segs.slice(from).map((s) => s.text);
  }

  /** Segment lines with times and fates, for failure messages. */
  ladderText(): string {
    return this.log
      .map((e) => {
        const t = String(e.t).padStart(7);
        if (e.kind === 'seg')
          return `${t}  ${e.seg.text}  (${e.seg.why}${e.seg.rexmit !== undefined ? ` rexmit=${e.seg.rexmit}` : ''})${e.fate === 'sent' ? '' : ` ${e.fate.toUpperCase()}`}`;
        if (e.kind === 'state') return `${t}  ${e.side}: ${e.from} -> ${e.to}  (${e.cause})`;
        return `${t}  ${e.side}: ${e.op}() = ${describeResult(e.result)}`;
      })
      .join('\n');
  }

  /** State changes as `A: ESTABLISHED -> FIN-WAIT-1`, optionally of one side only. */
  states(side?: Side): string[] {
    return this.log
      .filter((e): e is Extract<LogEntry, { kind: 'state' }> => e.kind === 'state')
      .filter((e) => side === undefined || e.side === side)
      .map((e) => `${e.side}: ${e.from} -> ${e.to}`);
  }

  /** The full log: segments, states and returns, one line each (no times). */
  lines(): string[] {
    return this.log.map((e) => {
      if (e.kind === 'seg') return e.fate === 'sent' ? e.seg.text : `${e.seg.text} ${e.fate.toUpperCase()}`;
      if (e.kind === 'state') return `${e.side}: ${e.from} -> ${e.to}`;
      return `${e.side}: ${e.op}() = ${describeResult(e.result)}`;
    });
  }

  /** Segment lines with their fate (`... DROPPED`), optionally from index `from` on. */
  segLines(from = 0): string[] {
    return this.log
      .filter((e): e is Extract<LogEntry, { kind: 'seg' }> => e.kind === 'seg' && e.seg.n >= from)
      .map((e) => (e.fate === 'sent' ? e.seg.text : `${e.seg.text} ${e.fate.toUpperCase()}`));
  }

  /** Index of the next segment, to slice the ladder after a setup phase. */
  mark(): number {
    return this.segs.length;
  }

  // ---- internals

  /** Collects both hosts' events: segments go on the wire, states and returns go to the log. */
  pump(): void {
    for (const side of ['A', 'B'] as const) {
      for (const ev of this.host(side).drain()) {
        this.events.push({ ...ev, side });
        if (ev.type === 'transmit') this.onTransmitEvent(side, ev);
        else if (ev.type === 'state')
          this.log.push({
            kind: 'state',
            t: ev.t,
            side,
            sock: ev.sock,
            from: ev.from,
            to: ev.to,
            cause: ev.cause,
          });
        else if (ev.type === 'return') {
          this.results.set(`${side}:${ev.callId}`, ev.result);
          this.log.push({ kind: 'return', t: ev.t, side, callId: ev.callId, op: ev.op, result: ev.result });
        }
      }
    }
  }

  private dirKey(p: Packet): string {
    return `${p.ip.src}:${p.tcp.srcPort}>${p.ip.dst}:${p.tcp.dstPort}`;
  }

  private describe(from: Side, ev: Extract<HostEvent, { type: 'transmit' }>): WireSeg {
    const p = ev.packet;
    const tcp = p.tcp;
    const fwd = this.dirKey(p);
    const rev = `${p.ip.dst}:${tcp.dstPort}>${p.ip.src}:${tcp.srcPort}`;
    if (tcp.flags & SYN) this.base.set(fwd, tcp.seq);
    if (!this.base.has(fwd)) this.base.set(fwd, tcp.seq);
    const seqBase = this.base.get(fwd)!;
    const ackBase = this.base.get(rev);
    const seq = seqDiff(tcp.seq, seqBase);
    const ack = ackBase === undefined ? tcp.ack : seqDiff(tcp.ack, ackBase);
    const len = tcp.payload.length;
    const flags = tcp.flags;
    const to = other(from);
    const line = `${from}>${to} ${flagText(flags)} seq=${seq}${flags & ACK ? ` ack=${ack}` : ''} len=${len}`;
    return {
      n: this.segs.length,
      t: this.now,
      from,
      to,
      packet: p,
      flags,
      seq,
      ack,
      len,
      why: ev.why,
      rexmit: ev.rexmit,
      has: (...names: FlagName[]) => names.every((n) => (flags & FLAG_BITS[n]) !== 0),
      text: line,
    };
  }

  private onTransmitEvent(from: Side, ev: Extract<HostEvent, { type: 'transmit' }>): void {
    const s = this.describe(from, ev);
    this.segs.push(s);
    let action: RuleAction | undefined;
    for (const r of this.rules) {
      if (r.left > 0 && r.pred(s)) {
        r.left--;
        action = r.action;
        break;
      }
    }
    let extra = 0;
    let copies = 1;
    if (!action && this.onTransmit) {
      const a = this.onTransmit(s);
      if (a === 'drop') action = { kind: 'drop' };
      else if (a === 'dup') action = { kind: 'dup' };
      else if (typeof a === 'object') action = { kind: 'delay', ms: a.delay };
    }
    const bytes = encodePacket(ev.packet);
    let fate: 'sent' | 'dropped' | 'held' | 'duplicated' = 'sent';
    if (action?.kind === 'drop') fate = 'dropped';
    else if (action?.kind === 'dup') {
      copies = 2;
      fate = 'duplicated';
    } else if (action?.kind === 'delay') extra = action.ms;
    this.log.push({ kind: 'seg', t: this.now, seg: s, fate: action?.kind === 'hold' ? 'held' : fate });
    const f = { at: this.now + this.delay + extra, to: s.to, bytes, n: s.n };
    if (action?.kind === 'hold') {
      this.held.push({ ...f, order: this.order++ });
      return;
    }
    if (fate === 'dropped') return;
    for (let i = 0; i < copies; i++) this.inflight.push({ ...f, order: this.order++ });
  }
}

// ---------------------------------------------------------------------------------------------
// Common set-ups on the wire

export interface Conn {
  w: Wire;
  /** A's connected descriptor (the client). */
  cfd: number;
  /** B's listening and accepted descriptors. */
  lfd: number;
  sfd: number;
}

/** B listens on SERVER_PORT (fd 3); returns the descriptor. */
export function listenOn(w: Wire, side: Side = 'B', port = SERVER_PORT, backlog = 128): number {
  const fd = w.ok(side, { op: 'socket' }) as number;
  w.ok(side, { op: 'bind', fd, port });
  w.ok(side, { op: 'listen', fd, backlog });
  return fd;
}

/**
 * A connects from CLIENT_PORT to B:SERVER_PORT and B accepts: the handshake runs to completion.
 * The segment log starts with the handshake (3 segments).
 */
export function connected(opts: WireOptions = {}, setup?: (w: Wire, cfd: number, lfd: number) => void): Conn {
  const w = new Wire(opts);
  const lfd = listenOn(w);
  const cfd = w.ok('A', { op: 'socket' }) as number;
  w.ok('A', { op: 'bind', fd: cfd, port: CLIENT_PORT });
  setup?.(w, cfd, lfd);
  const conn = w.call('A', { op: 'connect', fd: cfd, addr: B_ADDR, port: SERVER_PORT });
  const acc = w.call('B', { op: 'accept', fd: lfd });
  w.runUntil(() => w.result('A', conn.callId) !== undefined && w.result('B', acc.callId) !== undefined);
  okValue(w.result('A', conn.callId), 'connect');
  const v = okValue(w.result('B', acc.callId), 'accept') as { fd: number };
  // Let the handshake's last ACK land.
  w.run(w.now + DELAY);
  return { w, cfd, lfd, sfd: v.fd };
}

// ---------------------------------------------------------------------------------------------
// The single-host driver (smoltcp's send!/recv!)

export const LOCAL_ADDR = 0xc000_0201; // 192.0.2.1
export const REMOTE_ADDR = 0xc000_0202; // 192.0.2.2
export const LOCAL_PORT = 80;
export const REMOTE_PORT = 49_152;
/** The host's ISN. */
export const LOCAL_ISS = 2 ** 32 - 100;
/** The hand-made peer's ISN: sequence numbers wrap after 5 bytes. */
export const REMOTE_ISS = 2 ** 32 - 5;

/** A segment as a test writes it: only what differs from the template. */
export interface SegSpec {
  flags: FlagName[];
  seq?: number;
  ack?: number;
  window?: number;
  payload?: Uint8Array | string;
  options?: TcpSegment['options'];
  srcPort?: number;
  dstPort?: number;
}

/** What a test expects to see sent; unspecified fields are not checked (except flags). */
export interface SegExpect {
  flags: FlagName[];
  seq?: number;
  ack?: number;
  window?: number;
  len?: number;
  payload?: Uint8Array | string;
  why?: SendReason;
  /** The options, in order, as `optionsText` prints them (`mss 1460,sackOK,TS val 1 ecr 0`). */
  opts?: string;
}

export function flagsOf(names: FlagName[]): number {
  return names.reduce((f, n) => f | FLAG_BITS[n], 0);
}

export class Rig {
  now = 0;
  readonly host: Host;
  readonly events: HostEvent[] = [];
  /** Outgoing segments not yet consumed by `expectSent`. */
  private out: Array<Extract<HostEvent, { type: 'transmit' }>> = [];
  private readonly results = new Map<number, CallResult>();

  constructor(
    config: Partial<TcpConfig> = {},
    readonly profile: 'textbook' | 'linux' | 'packetdrill' = 'textbook',
  ) {
    this.host = new Host({ name: 'H', addr: LOCAL_ADDR, profile, config: { iss: LOCAL_ISS, ...config } });
  }

  private collect(): void {
    for (const ev of this.host.drain()) {
      this.events.push(ev);
      if (ev.type === 'transmit') this.out.push(ev);
      if (ev.type === 'return') this.results.set(ev.callId, ev.result);
    }
  }

  call(req: CallRequest): { callId: number; result: CallResult | undefined } {
    const r = this.host.call(this.now, req);
    this.collect();
    return { callId: r.callId, result: r.result };
  }

  ok(req: CallRequest): CallValue {
    return okValue(this.call(req).result, `${req.op}()`);
  }

  result(callId: number): CallResult | undefined {
    return this.results.get(callId);
  }

  /** Builds a packet from the peer (REMOTE_ADDR:REMOTE_PORT → LOCAL_ADDR:LOCAL_PORT). */
  packet(spec: SegSpec): Packet {
    const payload =
      typeof spec.payload === 'string' ? bytes(spec.payload) : (spec.payload ?? new Uint8Array(0));
    return {
      ip: { tos: 0, id: 0, df: true, ttl: 64, src: REMOTE_ADDR, dst: LOCAL_ADDR },
      tcp: {
        srcPort: spec.srcPort ?? REMOTE_PORT,
        dstPort: spec.dstPort ?? LOCAL_PORT,
        seq: (spec.seq ?? 0) >>> 0,
        ack: (spec.ack ?? 0) >>> 0,
        reserved: 0,
        flags: flagsOf(spec.flags),
        window: spec.window ?? 65_535,
        checksum: 0,
        urgent: 0,
        options: spec.options ?? [],
        payload,
      },
    };
  }

  /** Injects a segment (through the codec, as bytes) at time `at` (default: now). */
  send(spec: SegSpec, at?: number): void {
    if (at !== undefined) this.advanceTo(at);
    this.host.receive(this.now, encodePacket(this.packet(spec)));
    this.collect();
  }

  /** Fires every timer due up to `t`, in order, and sets the clock to `t`. */
  advanceTo(t: number): void {
    for (;;) {
      const d = this.host.nextDeadline();
      if (d === undefined || d > t) break;
      this.now = Math.max(this.now, d);
      this.host.advance(this.now);
      this.collect();
    }
    this.now = Math.max(this.now, t);
    this.host.advance(this.now);
    this.collect();
  }

  /** The next timer deadline. */
  deadline(): number | undefined {
    return this.host.nextDeadline();
  }

  /** Takes every segment sent so far. */
  take(): Array<{ t: number; seg: TcpSegment; why: SendReason; rexmit: number | undefined }> {
    const out = this.out.map((e) => {
      // Round-trip through the codec, as the wire would.
      const d = decodePacket(encodePacket(e.packet));
      if (!d.ok) throw new Error(`the engine sent an undecodable packet: ${d.error.message}`);
      return { t: e.t, seg: d.packet.tcp, why: e.why, rexmit: e.rexmit };
    });
    this.out = [];
    return out;
  }

  /** Asserts that exactly these segments were sent since the last check, then nothing more. */
  expectSent(expected: SegExpect[], note = ''): void {
    const got = this.take();
    const show = (s: { seg: TcpSegment; why: SendReason }): string =>
      `${flagText(s.seg.flags)} seq=${s.seg.seq} ack=${s.seg.ack} win=${s.seg.window} len=${s.seg.payload.length} (${s.why})`;
    const msg = `${note}\nsent:\n  ${got.map(show).join('\n  ') || '(nothing)'}`;
    expect(got.length, msg).toBe(expected.length);
    expected.forEach((e, i) => {
      const g = got[i]!;
      expect(flagText(g.seg.flags), `${msg}\nsegment ${i} flags`).toBe(flagText(flagsOf(e.flags)));
      if (e.seq !== undefined) expect(g.seg.seq, `${msg}\nsegment ${i} seq`).toBe(e.seq >>> 0);
      if (e.ack !== undefined) expect(g.seg.ack, `${msg}\nsegment ${i} ack`).toBe(e.ack >>> 0);
      if (e.window !== undefined) expect(g.seg.window, `${msg}\nsegment ${i} window`).toBe(e.window);
      if (e.len !== undefined) expect(g.seg.payload.length, `${msg}\nsegment ${i} len`).toBe(e.len);
      if (e.payload !== undefined) {
        const want = typeof e.payload === 'string' ? bytes(e.payload) : e.payload;
        expect([...g.seg.payload], `${msg}\nsegment ${i} payload`).toEqual([...want]);
      }
      if (e.why !== undefined) expect(g.why, `${msg}\nsegment ${i} why`).toBe(e.why);
      if (e.opts !== undefined)
        expect(optionsText(g.seg.options), `${msg}\nsegment ${i} options`).toBe(e.opts);
    });
  }

  /** Asserts nothing was sent. */
  expectNothing(note = ''): void {
    this.expectSent([], note);
  }

  /** The first (only) non-listening socket's snapshot, or by descriptor. */
  sock(fd: number, pid = 1): SocketSnapshot {
    const s = this.host.socketOf(fd, pid);
    if (!s) throw new Error(`no socket for fd ${fd}`);
    return s;
  }

  states(): string[] {
    return this.events
      .filter((e): e is Extract<HostEvent, { type: 'state' }> => e.type === 'state')
      .map((e) => `${e.from} -> ${e.to}`);
  }
}

/** A listening rig (fd 3 on LOCAL_PORT). */
export function rigListen(
  config: Partial<TcpConfig> = {},
  backlog = 128,
  profile: 'textbook' | 'linux' | 'packetdrill' = 'textbook',
): { r: Rig; lfd: number } {
  const r = new Rig(config, profile);
  const lfd = r.ok({ op: 'socket' }) as number;
  r.ok({ op: 'bind', fd: lfd, port: LOCAL_PORT });
  r.ok({ op: 'listen', fd: lfd, backlog });
  return { r, lfd };
}

/**
 * An established passive connection: the peer's SYN at REMOTE_ISS, our SYN-ACK at LOCAL_ISS,
 * the peer's ACK, accept() = fd 4. Afterwards our next byte is LOCAL_ISS + 1 and the peer's is
 * REMOTE_ISS + 1.
 */
export function rigEstablished(config: Partial<TcpConfig> = {}, peerWindow = 65_535): { r: Rig; fd: number } {
  const { r, lfd } = rigListen(config);
  r.send({ flags: ['SYN'], seq: REMOTE_ISS, window: peerWindow, options: [{ kind: 'mss', value: 1460 }] });
  r.expectSent([{ flags: ['SYN', 'ACK'], seq: LOCAL_ISS, ack: seqAdd(REMOTE_ISS, 1) }], 'SYN-ACK');
  r.send({ flags: ['ACK'], seq: seqAdd(REMOTE_ISS, 1), ack: seqAdd(LOCAL_ISS, 1), window: peerWindow });
  const fd = (r.ok({ op: 'accept', fd: lfd }) as { fd: number }).fd;
  r.expectNothing('after the handshake');
  return { r, fd };
}

/** `LOCAL_ISS + n` / `REMOTE_ISS + n`, wrapped. */
export const L = (n: number): number => seqAdd(LOCAL_ISS, n);
export const R = (n: number): number => seqAdd(REMOTE_ISS, n);

export { segmentLength };

// ---------------------------------------------------------------------------------------------
// Options, printed as packetdrill and tcpdump print them

/**
 * `mss 1460,sackOK,TS val 1000 ecr 0,nop,wscale 7`. SACK blocks print as `sack L:R` with
 * `sackBase` subtracted (pass the ISN side's base to get relative numbers).
 */
export function optionsText(options: readonly TcpOption[], sackBase = 0): string {
  return options
    .map((o) => {
      switch (o.kind) {
        case 'eol':
          return 'eol';
        case 'nop':
          return 'nop';
        case 'mss':
          return `mss ${o.value}`;
        case 'wscale':
          return `wscale ${o.shift}`;
        case 'sack-permitted':
          return 'sackOK';
        case 'timestamps':
          return `TS val ${o.tsval} ecr ${o.tsecr}`;
        case 'sack':
          return `sack ${o.blocks.map((b) => `${seqDiff(b.left, sackBase)}:${seqDiff(b.right, sackBase)}`).join(' ')}`;
        default:
          return `opt${o.type}`;
      }
    })
    .join(',');
}

/** The timestamps option of a segment, if any. */
export function tsOf(seg: TcpSegment): { tsval: number; tsecr: number } | undefined {
  for (const o of seg.options) if (o.kind === 'timestamps') return { tsval: o.tsval, tsecr: o.tsecr };
  return undefined;
}

/** The SACK blocks of a segment relative to `base` (`[[l, r], ...]`), or [] without SACK. */
export function sackOf(seg: TcpSegment, base = 0): Array<[number, number]> {
  for (const o of seg.options)
    if (o.kind === 'sack') return o.blocks.map((b) => [seqDiff(b.left, base), seqDiff(b.right, base)]);
  return [];
}

/** Options with the timestamp values blanked (`TS val * ecr *`), for comparing option layouts. */
export function optionsShape(options: readonly TcpOption[]): string {
  return optionsText(options).replace(/TS val \d+ ecr \d+/g, 'TS val * ecr *');
}

/**
 * An established passive connection on a rig in any profile, the peer's SYN carrying `synOptions`
 * (default: MSS 1460 only). Like `rigEstablished`; the peer's TSval starts at `peerTs` when
 * timestamps are offered and the final ACK echoes our SYN-ACK's TSval.
 */
export function rigEstablishedWith(
  opts: {
    config?: Partial<TcpConfig>;
    profile?: 'textbook' | 'linux' | 'packetdrill';
    synOptions?: TcpOption[];
    peerWindow?: number;
    /** Time the peer's final ACK arrives (the handshake RTT sample). */
    rtt?: number;
  } = {},
): { r: Rig; fd: number; lfd: number; synAck: TcpSegment } {
  const { r, lfd } = rigListen(opts.config ?? {}, 128, opts.profile ?? 'textbook');
  const peerWindow = opts.peerWindow ?? 65_535;
  const synOptions = opts.synOptions ?? [{ kind: 'mss', value: 1460 }];
  r.send({ flags: ['SYN'], seq: REMOTE_ISS, window: peerWindow, options: synOptions });
  const out = r.take();
  if (out.length !== 1 || flagText(out[0]!.seg.flags) !== '[SYN, ACK]')
    throw new Error(`expected one SYN-ACK, got ${out.length} segment(s)`);
  const synAck = out[0]!.seg;
  const ts = tsOf(synAck);
  const peerTs = synOptions.find((o) => o.kind === 'timestamps');
  if (opts.rtt) r.advanceTo(r.now + opts.rtt);
  const ackOptions: TcpOption[] =
    ts && peerTs && peerTs.kind === 'timestamps'
      ? [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamps', tsval: peerTs.tsval + 1, tsecr: ts.tsval }]
      : [];
  r.send({
    flags: ['ACK'],
    seq: seqAdd(REMOTE_ISS, 1),
    ack: seqAdd(LOCAL_ISS, 1),
    window: peerWindow,
    options: ackOptions,
  });
  const fd = (r.ok({ op: 'accept', fd: lfd }) as { fd: number }).fd;
  r.expectNothing('after the handshake');
  return { r, fd, lfd, synAck };
}
