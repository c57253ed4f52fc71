/**
 * A host: one IPv4 address, its TCP sockets, their ports, and processes with descriptor tables.
 *
 * The BSD socket API is offered through `call(now, request)`. A call that can finish at once
 * returns its result; a blocking call that cannot finish yet returns none, and its `return` event
 * comes later, when a segment or a timer lets it finish. Descriptors belong to processes: `dup`
 * adds a descriptor for the same socket, `fork` copies a process's table, and a socket's FIN waits
 * until its last descriptor is closed, while `shutdown` acts at once (Linux inet_shutdown).
 *
 * Sans-IO: segments come in through `receive`, time through `advance`, and everything the host
 * does comes out of `drain()` as ordered events; `transmit` events carry the packets to send.
 */
import { decodePacket } from './codec.ts';
import { buildConfig, PROFILES, type TcpConfig } from './config.ts';
import { ACK, ipToString, type Packet, RST, SYN, segmentLength } from './packet.ts';
import { seqAdd, seqGt } from './seq.ts';
import { findTimestamps, type SocketHost, TcpSocket } from './socket.ts';
import {
  type CallRequest,
  type CallResult,
  type CallValue,
  type DiscardReason,
  ERRNO_TEXT,
  type Errno,
  type HostEvent,
  type SendReason,
  type TcpState,
  type TimerKind,
} from './types.ts';

export interface HostOptions {
  name: string;
  /** IPv4 address as u32. */
  addr: number;
  /** Profile to start from (default `textbook`), then overrides. */
  profile?: keyof typeof PROFILES;
  config?: Partial<TcpConfig>;
}

/** Receives a host's packets as they are transmitted (see `Host.setTransmitHook`). */
export type TransmitHook = (packet: Packet, why: SendReason, rexmit: number | undefined, t: number) => void;

export interface CallOutcome {
  callId: number;
  /** Undefined when the call blocked: its `return` event will come later. */
  result?: CallResult;
}

interface Wait {
  callId: number;
  pid: number;
  req: CallRequest;
  sock: TcpSocket;
  fd: number;
  /** The process's descriptor table (a process's table is never replaced or dropped). */
  table: Map<number, TcpSocket>;
  startedAt: number;
  /** send(): bytes queued so far. */
  sent: number;
  /** close() with SO_LINGER: when to give up waiting. */
  deadline: number | undefined;
}

export interface SocketSnapshot {
  id: number;
  state: TcpState;
  local: { addr: string; port: number };
  remote: { addr: string; port: number };
  refs: number;
  descriptors: Array<{ pid: number; fd: number }>;
  orphaned: boolean;
  parent?: number;
  listen?: { backlog: number; synQueue: number[]; acceptQueue: number[] };
  tcb: {
    iss: number;
    irs: number;
    sndUna: number;
    sndNxt: number;
    sndMax: number;
    sndWnd: number;
    rcvNxt: number;
    rcvWnd: number;
    sndWscale: number;
    rcvWscale: number;
    mss: number;
    peerMss: number;
    windowScaling: boolean;
    timestamps: boolean;
    sack: boolean;
  };
  buffers: {
    sndBuf: number;
    /** Bytes written and not yet acknowledged. */
    sendQueued: number;
    /** Of those, bytes not yet sent. */
    unsent: number;
    /** Sequence space in flight (SYN/FIN count as one). */
    inFlight: number;
    finQueued: boolean;
    rcvBuf: number;
    readable: number;
    outOfOrder: number;
    finReceived: boolean;
  };
  cc: { cwnd: number; ssthresh: number; phase: string; dupAcks: number };
  rtt: { srtt: number | null; rttvar: number; rto: number; retries: number };
  timers: Partial<Record<TimerKind, number>>;
  options: {
    nonblocking: boolean;
    reuseAddr: boolean;
    linger: { onoff: boolean; lingerSec: number };
    nodelay: boolean;
    cork: boolean;
    keepalive: boolean;
    rcvBuf: number;
    sndBuf: number;
  };
  shutdown: { rd: boolean; wr: boolean };
  error: Errno | null;
}

export interface HostSnapshot {
  name: string;
  addr: string;
  now: number;
  processes: Array<{ pid: number; fds: Array<{ fd: number; sock: number }> }>;
  sockets: SocketSnapshot[];
  pendingCalls: Array<{ callId: number; pid: number; op: string; fd: number; since: number }>;
}

/** What `drain` returns when there is nothing to drain: empty, and frozen so nobody fills it. */
const NO_EVENTS = Object.freeze([]) as unknown as HostEvent[];

/** Descriptors 0–2 are the process's stdio, as in any Unix process. */
const FIRST_FD = 3;
const MAX_FDS = 1024;
/** Default largest read per recv() call. */
const DEFAULT_RECV_MAX = 1 << 20;

/**
 * A small deterministic generator (mulberry32) for ISNs, ports and timestamp offsets. A class,
 * not a closure, so its state is an ordinary field (a room's checkpoint keeps it).
 */
export class Mulberry32 {
  private a: number;

  constructor(seed: number) {
    this.a = seed >>> 0;
  }

  next(): number {
    this.a = (this.a + 0x6d2b79f5) >>> 0;
    let t = this.a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
}

function err(errno: Errno, detail?: string): CallResult {
  return { ok: false, errno, message: detail ? `${ERRNO_TEXT[errno]} (${detail})` : ERRNO_TEXT[errno] };
}

function ok(value: CallValue): CallResult {
  return { ok: true, value };
}

export class Host implements SocketHost {
  readonly name: string;
  readonly addr: number;
  readonly config: TcpConfig;
  private readonly rng: Mulberry32;
  private readonly sockets = new Map<number, TcpSocket>();
  /** The same sockets as an array, for the per-event timer scans (no iterator per scan). */
  private socketList: TcpSocket[] = [];
  /** Connected (and connecting, and TIME-WAIT) sockets by local port, remote address and port. */
  private readonly conns = new Map<string, TcpSocket>();
  private readonly listeners = new Map<number, TcpSocket>();
  private readonly procs = new Map<number, Map<number, TcpSocket>>([[1, new Map()]]);
  private events: HostEvent[] = [];
  private waits: Wait[] = [];
  private nextSockId = 1;
  private nextCallId = 1;
  private nextPid = 2;
  private issCount = 0;
  private nextEphemeral: number;
  private now = 0;
  /** Some socket may have become CLOSED and unreferenced since the last reap. */
  private reapDue = false;
  // Initialised here like every field, so that all hosts share one hidden class (see TcpSocket).
  private lastHit: TcpSocket | undefined = undefined;
  private transmitHook: TransmitHook | undefined = undefined;

  constructor(opts: HostOptions) {
    this.name = opts.name;
    this.addr = opts.addr >>> 0;
    this.config = buildConfig(opts.config, PROFILES[opts.profile ?? 'textbook']);
    // Mix seed and address with a multiplicative hash: a plain XOR makes (seed 1, addr 2) and
    // (seed 2, addr 1) collide, giving two hosts the same ISNs and ports.
    this.rng = new Mulberry32(
      Math.imul(this.config.seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(this.addr, 0xc2b2ae35),
    );
    const range = this.config.ephemeralPortMax - this.config.ephemeralPortMin + 1;
    this.nextEphemeral = this.config.ephemeralPortMin + (this.rng.next() % range);
  }

  // ---------------------------------------------------------------------------------------------
  // Driver interface

  /** Events since the last drain, in order. */
  drain(): HostEvent[] {
    const out = this.events;
    // Most drains find nothing: hand out a shared (frozen) empty list rather than a new array.
    if (out.length === 0) return NO_EVENTS;
    this.events = [];
    return out;
  }

  /** The earliest pending timer of any socket, or undefined. */
  nextDeadline(): number | undefined {
    let best: number | undefined;
    const list = this.socketList;
    for (let i = 0; i < list.length; i++) {
      const d = list[i]!.nextDeadline();
      if (d !== undefined && (best === undefined || d < best)) best = d;
    }
    for (const w of this.waits)
      if (w.deadline !== undefined && (best === undefined || w.deadline < best)) best = w.deadline;
    return best;
  }

  /** Fires every timer due at or before `now`, in deadline order. */
  advance(now: number): void {
    this.now = Math.max(this.now, now);
    for (;;) {
      let first: TcpSocket | undefined;
      let at = Number.POSITIVE_INFINITY;
      for (const s of this.socketList) {
        const d = s.nextDeadline();
        if (d !== undefined && d <= now && d < at) {
          at = d;
          first = s;
        }
      }
      if (!first) break;
      first.runTimers(now);
      this.reap();
    }
    this.serviceWaits();
    this.reap();
  }

  /** A packet arrives from the network, as a decoded value or as raw bytes. */
  receive(now: number, input: Packet | Uint8Array): void {
    this.now = Math.max(this.now, now);
    let pkt: Packet;
    if (input instanceof Uint8Array) {
      const decoded = decodePacket(input);
      if (!decoded.ok) {
        this.events.push({
          type: 'discard',
          t: this.now,
          host: this.name,
          reason: 'bad-packet',
          detail: `${decoded.error.kind}: ${decoded.error.message}`,
        });
        return;
      }
      pkt = decoded.packet;
    } else {
      pkt = input;
    }
    this.demux(pkt);
    this.serviceWaits();
    this.reap();
  }

  private demux(pkt: Packet): void {
    const seg = pkt.tcp;
    if (pkt.ip.dst !== this.addr) {
      this.discard(undefined, pkt, 'not-for-us', `destination ${ipToString(pkt.ip.dst)} is not this host`);
      return;
    }
    const sock = this.lookup(seg.dstPort, pkt.ip.src, seg.srcPort);
    if (sock && sock.state !== 'CLOSED') {
      if (sock.state === 'TIME-WAIT' && seg.flags & SYN && !(seg.flags & (ACK | RST))) {
        // Linux tcp_timewait_state_process: a new SYN above RCV.NXT may reuse the 4-tuple.
        // Accept it when its sequence number is above RCV.NXT, or (RFC 6191) its timestamp is
        // newer than TS.Recent; the new ISN continues past the old connection's.
        const listener = this.listeners.get(seg.dstPort);
        const ts = sock.tsOk ? findTimestamps(seg) : undefined;
        const newer = seqGt(seg.seq, sock.rcvNxt) || (ts !== undefined && seqGt(ts.tsval, sock.tsRecent));
        if (listener && newer) {
          const iss = seqAdd(sock.sndMax, 65_537);
          sock.abort(this.now, 'TIME-WAIT ended early: a new SYN reused the connection', undefined);
          this.reap();
          this.onListen(listener, pkt, iss);
          return;
        }
      }
      sock.onSegment(this.now, pkt);
      return;
    }
    const listener = this.listeners.get(seg.dstPort);
    if (listener && listener.state === 'LISTEN') {
      this.onListen(listener, pkt);
      return;
    }
    // RFC 9293 §3.10.7.1: CLOSED. Answer anything but a RST with a RST.
    if (seg.flags & RST) {
      this.discard(undefined, pkt, 'no-socket', `RST to port ${seg.dstPort} with no connection ignored`);
      return;
    }
    this.discard(undefined, pkt, 'no-socket', `no socket for port ${seg.dstPort}: answered with RST`);
    this.sendReset(pkt);
  }

  /** The connection for a 4-tuple; remembers the last hit, since segments come in runs. */
  private lookup(localPort: number, remoteAddr: number, remotePort: number): TcpSocket | undefined {
    const last = this.lastHit;
    if (
      last &&
      last.localPort === localPort &&
      last.remoteAddr === remoteAddr &&
      last.remotePort === remotePort &&
      last.state !== 'CLOSED'
    ) {
      // A socket leaves `conns` only by becoming CLOSED, and no other socket can take its 4-tuple
      // while it is open, so a live last hit is still the map's entry.
      return last;
    }
    const sock = this.conns.get(connKey(localPort, remoteAddr, remotePort));
    this.lastHit = sock;
    return sock;
  }

  /** RFC 9293 §3.10.7.2: LISTEN, with Linux's SYN queue and accept queue limits. */
  private onListen(listener: TcpSocket, pkt: Packet, iss?: number): void {
    const seg = pkt.tcp;
    if (seg.flags & RST) {
      this.discard(listener, pkt, 'no-socket', 'RST to a listening socket ignored');
      return;
    }
    if (seg.flags & ACK) {
      this.discard(listener, pkt, 'bad-ack', 'ACK to a listening socket with no such connection: RST');
      this.sendReset(pkt, listener);
      return;
    }
    if (!(seg.flags & SYN)) {
      this.discard(listener, pkt, 'no-socket', 'segment without SYN to a listening socket dropped');
      return;
    }
    // Linux tcp_conn_request: drop the SYN when either queue is full (no SYN cookies here).
    if (listener.synQueue.length > listener.backlog) {
      this.discard(
        listener,
        pkt,
        'syn-queue-full',
        `SYN queue full (${listener.synQueue.length} half-open > backlog ${listener.backlog}): SYN dropped`,
      );
      return;
    }
    if (listener.acceptQueue.length > listener.backlog) {
      this.discard(
        listener,
        pkt,
        'accept-queue-full',
        `accept queue full (${listener.acceptQueue.length} > backlog ${listener.backlog}): SYN dropped`,
      );
      return;
    }
    const child = this.newSocket(listener.id);
    child.state = 'LISTEN'; // the RFC's diagram: the listener's copy moves LISTEN → SYN-RECEIVED
    child.reuseAddr = listener.reuseAddr;
    listener.synQueue.push(child);
    child.openPassive(this.now, listener, pkt, iss);
    this.conns.set(connKey(child.localPort, child.remoteAddr, child.remotePort), child);
  }

  // ---------------------------------------------------------------------------------------------
  // SocketHost

  /**
   * Hands every transmitted packet straight to `hook` instead of queueing a `transmit` event for
   * `drain` (the simulator's bench mode, where nothing else looks at transmits).
   */
  setTransmitHook(hook: TransmitHook | undefined): void {
    this.transmitHook = hook;
  }

  transmit(sock: TcpSocket, packet: Packet, why: SendReason, rexmit?: number): void {
    if (this.transmitHook) {
      this.transmitHook(packet, why, rexmit, this.now);
      return;
    }
    const ev: HostEvent = { type: 'transmit', t: this.now, host: this.name, sock: sock.id, packet, why };
    if (rexmit !== undefined) ev.rexmit = rexmit;
    this.events.push(ev);
  }

  stateChanged(sock: TcpSocket, from: TcpState, to: TcpState, cause: string): void {
    this.events.push({ type: 'state', t: this.now, host: this.name, sock: sock.id, from, to, cause });
    if (to === 'CLOSED') {
      this.reapDue = true;
      const key = connKey(sock.localPort, sock.remoteAddr, sock.remotePort);
      if (this.conns.get(key) === sock) this.conns.delete(key);
      if (this.listeners.get(sock.localPort) === sock) this.listeners.delete(sock.localPort);
      const parent = sock.parent;
      if (parent) {
        removeFrom(parent.synQueue, sock);
        removeFrom(parent.acceptQueue, sock);
      }
    }
  }

  timerEvent(sock: TcpSocket, kind: TimerKind, action: 'set' | 'fire' | 'cancel', deadline: number): void {
    this.events.push({ type: 'timer', t: this.now, host: this.name, sock: sock.id, kind, action, deadline });
  }

  discard(sock: TcpSocket | undefined, packet: Packet, reason: DiscardReason, detail: string): void {
    const ev: HostEvent = { type: 'discard', t: this.now, host: this.name, packet, reason, detail };
    if (sock) ev.sock = sock.id;
    this.events.push(ev);
  }

  ccEvent(sock: TcpSocket, cause: string): void {
    const cc = sock.cc;
    this.events.push({
      type: 'cc',
      t: this.now,
      host: this.name,
      sock: sock.id,
      cwnd: cc.cwnd,
      ssthresh: cc.ssthresh,
      phase: cc.phase,
      cause,
    });
  }

  childEstablished(child: TcpSocket): void {
    const parent = child.parent;
    if (!parent) return;
    removeFrom(parent.synQueue, child);
    parent.acceptQueue.push(child);
  }

  private childGone(child: TcpSocket): void {
    const parent = child.parent;
    if (!parent) return;
    removeFrom(parent.synQueue, child);
    removeFrom(parent.acceptQueue, child);
  }

  /**
   * RFC 9293 §3.10.7.1: the reset answering `pkt`. With ACK: <SEQ=SEG.ACK><CTL=RST>;
   * without: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
   */
  sendReset(pkt: Packet, sock?: TcpSocket): void {
    const seg = pkt.tcp;
    const hasAck = (seg.flags & ACK) !== 0;
    const reply: Packet = {
      ip: { tos: 0, id: 0, df: true, ttl: 64, src: this.addr, dst: pkt.ip.src },
      tcp: {
        srcPort: seg.dstPort,
        dstPort: seg.srcPort,
        seq: hasAck ? seg.ack : 0,
        ack: hasAck ? 0 : seqAdd(seg.seq, segmentLength(seg)),
        reserved: 0,
        flags: hasAck ? RST : RST | ACK,
        window: 0,
        checksum: 0,
        urgent: 0,
        options: [],
        payload: new Uint8Array(0),
      },
    };
    const ev: HostEvent = {
      type: 'transmit',
      t: this.now,
      host: this.name,
      sock: sock?.id ?? 0,
      packet: reply,
      why: 'rst',
    };
    this.events.push(ev);
  }

  nextIss(): number {
    const n = this.issCount++;
    if (this.config.iss !== undefined) return (this.config.iss + n * this.config.issStep) >>> 0;
    return this.rng.next();
  }

  /**
   * Timestamp clock offset for connections to `remoteAddr`: fixed per address pair (Linux
   * secure_tcp_ts_off), so a new connection between the same hosts continues the old clock and a
   * TIME-WAIT can recognise its SYN as newer (RFC 6191).
   */
  tsOffset(remoteAddr: number): number {
    let h = Math.imul(this.config.seed ^ 0x27d4eb2f, 0x165667b1);
    h = Math.imul(h ^ this.addr, 0x85ebca6b);
    h = Math.imul(h ^ (remoteAddr >>> 0), 0xc2b2ae35);
    return (h ^ (h >>> 16)) >>> 0;
  }

  // ---------------------------------------------------------------------------------------------
  // The socket API

  call(now: number, req: CallRequest): CallOutcome {
    this.now = Math.max(this.now, now);
    const callId = this.nextCallId++;
    const pid = req.pid ?? 1;
    if (this.config.traceCalls) {
      const args: Record<string, unknown> = {};
      for (const k in req) {
        if (k === 'op' || k === 'pid') continue;
        const v = (req as unknown as Record<string, unknown>)[k];
        // A recv buffer's old contents say nothing about the call: only its size does.
        args[k] = v instanceof Uint8Array ? (k === 'into' ? { len: v.length } : describeBytes(v)) : v;
      }
      const callEv: HostEvent = { type: 'call', t: this.now, host: this.name, pid, callId, op: req.op, args };
      if ('fd' in req) callEv.fd = req.fd;
      this.events.push(callEv);
    }

    let result: CallResult | undefined;
    let wait: Wait | undefined;
    const table = this.procs.get(pid);
    if (!table) {
      result = err('ESRCH', `no process ${pid} on host ${this.name}`);
    } else {
      const started = this.start(callId, pid, table, req);
      if ('wait' in started) wait = started.wait;
      else result = started.result;
    }
    if (result) this.finish(callId, pid, req, result, this.now);
    else if (wait) this.waits.push(wait);
    // A blocked accept, recv or send was attempted just now and nothing has changed since: when it
    // is the only wait, there is nothing to service (this is every blocking read of a bulk receiver).
    if (!(wait && this.waits.length === 1 && (req.op === 'accept' || req.op === 'recv' || req.op === 'send')))
      this.serviceWaits();
    this.reap();
    return result ? { callId, result } : { callId };
  }

  private finish(callId: number, pid: number, req: CallRequest, result: CallResult, startedAt: number): void {
    const ev: HostEvent = {
      type: 'return',
      t: this.now,
      host: this.name,
      pid,
      callId,
      op: req.op,
      result,
      blockedMs: this.now - startedAt,
    };
    if ('fd' in req) ev.fd = req.fd;
    this.events.push(ev);
  }

  private start(
    callId: number,
    pid: number,
    table: Map<number, TcpSocket>,
    req: CallRequest,
  ): { result: CallResult } | { wait: Wait } {
    if (req.op === 'socket') {
      const fd = lowestFreeFd(table);
      if (fd === undefined) return { result: err('EMFILE') };
      const sock = this.newSocket();
      sock.nonblocking = req.nonblocking ?? false;
      sock.refs = 1;
      table.set(fd, sock);
      return { result: ok(fd) };
    }
    if (req.op === 'fork') {
      const child = new Map(table);
      for (const s of child.values()) s.refs++;
      const newPid = this.nextPid++;
      this.procs.set(newPid, child);
      return { result: ok(newPid) };
    }
    const sock = table.get(req.fd);
    if (!sock) return { result: err('EBADF', `descriptor ${req.fd} is not open in process ${pid}`) };
    switch (req.op) {
      case 'bind':
        return { result: this.bind(sock, req.port, req.addr) };
      case 'listen':
        return { result: this.listen(sock, req.backlog ?? 128) };
      case 'connect': {
        const r = this.connect(sock, req.addr, req.port);
        if (r) return { result: r };
        return sock.nonblocking
          ? { result: err('EINPROGRESS') }
          : { wait: this.newWait(callId, pid, req, sock, table) };
      }
      case 'accept':
      case 'recv':
      case 'send': {
        const wait = this.newWait(callId, pid, req, sock, table);
        const r = this.attempt(wait, table);
        if (r) return { result: r };
        if (sock.nonblocking) {
          if (req.op === 'send' && wait.sent > 0) return { result: ok(wait.sent) };
          return { result: err('EAGAIN') };
        }
        return { wait };
      }
      case 'close':
        return this.close(sock, table, req.fd, () => ({ wait: this.newWait(callId, pid, req, sock, table) }));
      case 'shutdown':
        return { result: this.shutdown(sock, req.how) };
      case 'dup': {
        const fd = lowestFreeFd(table);
        if (fd === undefined) return { result: err('EMFILE') };
        table.set(fd, sock);
        sock.refs++;
        return { result: ok(fd) };
      }
      case 'setsockopt':
        return { result: this.setsockopt(sock, req.opt, req.value) };
      case 'getsockopt':
        return { result: this.getsockopt(sock, req.opt) };
    }
  }

  private newWait(
    callId: number,
    pid: number,
    req: CallRequest & { fd: number },
    sock: TcpSocket,
    table: Map<number, TcpSocket>,
  ): Wait {
    return { callId, pid, req, sock, fd: req.fd, table, startedAt: this.now, sent: 0, deadline: undefined };
  }

  private bind(sock: TcpSocket, port: number, addr?: number): CallResult {
    if (sock.bound || sock.state !== 'CLOSED') return err('EINVAL', 'socket is already bound');
    if (addr !== undefined && addr !== 0 && addr >>> 0 !== this.addr) {
      return err('EADDRNOTAVAIL', `${ipToString(addr)} is not an address of host ${this.name}`);
    }
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      return err('EINVAL', `port ${port} is not in 0..65535`);
    if (port === 0) {
      const p = this.pickEphemeral();
      if (p === undefined) return err('EADDRINUSE', 'no free ephemeral port');
      port = p;
    } else {
      const holder = this.bindConflict(sock, port);
      if (holder) {
        const what =
          holder.state === 'TIME-WAIT' ? 'a connection in TIME-WAIT' : `a socket in ${holder.state}`;
        return err(
          'EADDRINUSE',
          `port ${port} is held by ${what}${sock.reuseAddr ? '' : '; SO_REUSEADDR is off'}`,
        );
      }
    }
    sock.localAddr = this.addr;
    sock.localPort = port;
    sock.bound = true;
    return ok(0);
  }

  /**
   * Linux inet_csk_bind_conflict: another socket on the port conflicts unless both set
   * SO_REUSEADDR and the other is not listening. TIME-WAIT connections count.
   */
  private bindConflict(sock: TcpSocket, port: number): TcpSocket | undefined {
    for (const s of this.sockets.values()) {
      if (s === sock || !s.bound || s.localPort !== port) continue;
      if (s.state === 'CLOSED') continue;
      if (sock.reuseAddr && s.reuseAddr && s.state !== 'LISTEN') continue;
      return s;
    }
    return undefined;
  }

  private pickEphemeral(): number | undefined {
    const min = this.config.ephemeralPortMin;
    const range = this.config.ephemeralPortMax - min + 1;
    for (let i = 0; i < range; i++) {
      const port = this.nextEphemeral;
      this.nextEphemeral = port + 1 > this.config.ephemeralPortMax ? min : port + 1;
      let used = false;
      for (const s of this.sockets.values())
        if (s.bound && s.localPort === port && s.state !== 'CLOSED') used = true;
      if (!used) return port;
    }
    return undefined;
  }

  private listen(sock: TcpSocket, backlog: number): CallResult {
    if (!Number.isInteger(backlog)) return err('EINVAL', 'backlog must be an integer');
    const clamped = Math.max(0, Math.min(backlog, this.config.somaxconn));
    if (sock.state === 'LISTEN') {
      sock.backlog = clamped;
      return ok(0);
    }
    if (sock.state !== 'CLOSED' || sock.remotePort !== 0) return err('EINVAL', `socket is in ${sock.state}`);
    if (!sock.bound) {
      const r = this.bind(sock, 0);
      if (!r.ok) return r;
    }
    const other = this.listeners.get(sock.localPort);
    if (other && other !== sock) return err('EADDRINUSE', `another socket listens on port ${sock.localPort}`);
    sock.backlog = clamped;
    this.listeners.set(sock.localPort, sock);
    sock.setState('LISTEN', 'listen()');
    return ok(0);
  }

  /** Returns a result when connect() finishes at once, undefined when the SYN is on its way. */
  private connect(sock: TcpSocket, addr: number, port: number): CallResult | undefined {
    switch (sock.state) {
      case 'LISTEN':
        return err('EISCONN', 'a listening socket cannot connect');
      case 'SYN-SENT':
      case 'SYN-RECEIVED':
        return err('EALREADY');
      case 'CLOSED':
        break;
      default:
        return err('EISCONN');
    }
    if (sock.everConnected) return err('EISCONN', 'this socket was connected once; use a new socket');
    if (!Number.isInteger(port) || port <= 0 || port > 65535)
      return err('EINVAL', `port ${port} is not in 1..65535`);
    if (!sock.bound) {
      const r = this.bind(sock, 0);
      if (!r.ok) return r;
    }
    const key = connKey(sock.localPort, addr >>> 0, port);
    const existing = this.conns.get(key);
    if (existing && existing !== sock) return err('EADDRINUSE', 'that connection (4-tuple) already exists');
    sock.remoteAddr = addr >>> 0;
    sock.remotePort = port;
    sock.softError = undefined;
    sock.closeReason = '';
    this.conns.set(key, sock);
    sock.openActive(this.now);
    return undefined;
  }

  /** accept/recv/send and blocked connect/close: the result if the call can finish now. */
  private attempt(w: Wait, table: Map<number, TcpSocket>): CallResult | undefined {
    const sock = w.sock;
    // A lingering close() has already released its descriptor.
    if (w.req.op !== 'close' && table.get(w.fd) !== sock)
      return err('EBADF', `descriptor ${w.fd} was closed`);
    const req = w.req;
    switch (req.op) {
      case 'accept': {
        if (sock.state !== 'LISTEN') return err('EINVAL', 'socket is not listening');
        const child = sock.acceptQueue.shift();
        if (!child) return undefined;
        const fd = lowestFreeFd(table);
        if (fd === undefined) {
          sock.acceptQueue.unshift(child);
          return err('EMFILE');
        }
        table.set(fd, child);
        child.refs = 1;
        child.parent = undefined;
        return ok({ fd, peerAddr: child.remoteAddr, peerPort: child.remotePort });
      }
      case 'recv': {
        const into = req.into;
        if (into !== undefined && !(into instanceof Uint8Array))
          return err('EINVAL', 'into must be a Uint8Array');
        const max = Math.min(req.max ?? DEFAULT_RECV_MAX, into?.length ?? Number.POSITIVE_INFINITY);
        if (!Number.isInteger(max) || max < 0) return err('EINVAL', 'max must be a non-negative integer');
        if (sock.state === 'LISTEN') return err('ENOTCONN', 'a listening socket has no data; use accept()');
        const nothing = into ? 0 : new Uint8Array(0);
        if (sock.rcv.readable.length > 0 && max > 0) {
          return ok(
            into
              ? sock.readInto(this.now, into, max, req.peek ?? false)
              : sock.read(this.now, max, req.peek ?? false),
          );
        }
        if (max === 0) return ok(nothing);
        if (sock.finReceived) return ok(nothing);
        if (sock.softError) return this.takeError(sock);
        if (sock.shutRd) return ok(nothing);
        if (sock.state === 'CLOSED') {
          return sock.closeReason ? ok(nothing) : err('ENOTCONN', 'socket is not connected');
        }
        return undefined;
      }
      case 'send': {
        if (sock.softError) return this.sendError(w);
        if (sock.shutWr) return this.sendError(w, 'this side has shut down for writing');
        if (sock.state === 'SYN-SENT' || sock.state === 'SYN-RECEIVED') return undefined;
        if (sock.state !== 'ESTABLISHED' && sock.state !== 'CLOSE-WAIT') {
          if (sock.state === 'CLOSED' && !sock.closeReason && sock.remotePort === 0) {
            return err('EPIPE', 'socket is not connected');
          }
          return this.sendError(w, `connection is in ${sock.state}`);
        }
        const data = req.data;
        if (w.sent < data.length) w.sent += sock.write(this.now, data, req.more ?? false, w.sent);
        return w.sent === data.length ? ok(w.sent) : undefined;
      }
      case 'connect': {
        if (sock.state === 'CLOSED') return sock.softError ? this.takeError(sock) : err('ECONNABORTED');
        if (sock.synchronized) return ok(0);
        return undefined;
      }
      case 'close': {
        const lingering =
          sock.state === 'FIN-WAIT-1' || sock.state === 'CLOSING' || sock.state === 'LAST-ACK';
        if (!lingering || (w.deadline !== undefined && this.now >= w.deadline)) return ok(0);
        return undefined;
      }
      default:
        return err('EINVAL');
    }
  }

  private takeError(sock: TcpSocket): CallResult {
    const errno = sock.softError!;
    sock.softError = undefined;
    return err(errno);
  }

  /** Linux sk_stream_error: a pending error if any, else EPIPE; bytes already queued win. */
  private sendError(w: Wait, detail?: string): CallResult {
    if (w.sent > 0) return ok(w.sent);
    if (w.sock.softError) return this.takeError(w.sock);
    return err('EPIPE', detail);
  }

  /** close(): drop one reference; the last one closes the connection (Linux tcp_close). */
  private close(
    sock: TcpSocket,
    table: Map<number, TcpSocket>,
    fd: number,
    w: () => { wait: Wait },
  ): { result: CallResult } | { wait: Wait } {
    table.delete(fd);
    sock.refs--;
    if (sock.refs > 0) return { result: ok(0) };
    this.reapDue = true;
    const now = this.now;
    sock.orphaned = true;
    sock.shutRd = true;
    sock.shutWr = true;
    switch (sock.state) {
      case 'LISTEN':
        this.closeListener(sock);
        return { result: ok(0) };
      case 'SYN-SENT':
        sock.abort(now, 'close() during connect', undefined);
        return { result: ok(0) };
      case 'CLOSED':
      case 'TIME-WAIT':
      case 'FIN-WAIT-2':
        if (sock.state === 'FIN-WAIT-2') sock.setTimer('fin-wait-2', now + this.config.finTimeoutMs);
        return { result: ok(0) };
      default:
        break;
    }
    const unread = sock.rcv.readable.length;
    if (unread > 0) {
      // Linux: close() with unread data sends RST, not FIN (RFC 2525 §2.17).
      sock.sendRst(now);
      sock.abort(now, `close() with ${unread} unread byte(s): RST sent instead of FIN`, undefined);
      return { result: ok(0) };
    }
    if (sock.linger.onoff && sock.linger.lingerSec === 0) {
      // SO_LINGER with a zero timeout: abort with RST, no TIME-WAIT.
      sock.sendRst(now);
      sock.abort(now, 'close() with SO_LINGER 0: connection aborted with RST', undefined);
      return { result: ok(0) };
    }
    sock.queueFin(now, 'close() sent FIN');
    if (sock.linger.onoff && !sock.nonblocking) {
      const wait = w().wait;
      wait.deadline = now + sock.linger.lingerSec * 1000;
      sock.setTimer('linger', wait.deadline);
      return { wait };
    }
    return { result: ok(0) };
  }

  private closeListener(sock: TcpSocket): void {
    const now = this.now;
    for (const child of [...sock.acceptQueue]) {
      // Linux inet_csk_listen_stop: established children never accepted are reset.
      child.sendRst(now);
      child.abort(now, 'listener closed before accept(): RST sent', undefined);
    }
    for (const child of [...sock.synQueue])
      child.abort(now, 'listener closed: half-open connection dropped', undefined);
    sock.cancelAllTimers();
    sock.closeReason = 'listener closed';
    sock.setState('CLOSED', 'close() on a listening socket');
  }

  /** shutdown(): acts on the connection whatever the reference count (Linux inet_shutdown). */
  private shutdown(sock: TcpSocket, how: 'SHUT_RD' | 'SHUT_WR' | 'SHUT_RDWR'): CallResult {
    if (how !== 'SHUT_RD' && how !== 'SHUT_WR' && how !== 'SHUT_RDWR')
      return err('EINVAL', `unknown how ${String(how)}`);
    const rd = how !== 'SHUT_WR';
    const wr = how !== 'SHUT_RD';
    switch (sock.state) {
      case 'CLOSED':
        if (rd) sock.shutRd = true;
        if (wr) sock.shutWr = true;
        return err('ENOTCONN', 'socket is not connected');
      case 'LISTEN':
        if (rd) this.closeListener(sock);
        return ok(0);
      case 'SYN-SENT':
        sock.abort(this.now, 'shutdown() during connect', undefined);
        return ok(0);
      default:
        break;
    }
    if (rd) sock.shutRd = true;
    if (wr) {
      sock.shutWr = true;
      sock.queueFin(this.now, `shutdown(${how}) sent FIN`);
    }
    return ok(0);
  }

  private setsockopt(sock: TcpSocket, opt: string, value: unknown): CallResult {
    const num = (): number | undefined =>
      typeof value === 'number' && Number.isFinite(value)
        ? value
        : typeof value === 'boolean'
          ? Number(value)
          : undefined;
    switch (opt) {
      case 'SO_LINGER': {
        if (typeof value !== 'object' || value === null)
          return err('EINVAL', 'SO_LINGER takes { onoff, lingerSec }');
        const v = value as { onoff?: unknown; lingerSec?: unknown };
        if (typeof v.onoff !== 'boolean' || typeof v.lingerSec !== 'number' || v.lingerSec < 0) {
          return err('EINVAL', 'SO_LINGER takes { onoff: boolean, lingerSec: number >= 0 }');
        }
        sock.linger = { onoff: v.onoff, lingerSec: v.lingerSec };
        return ok(0);
      }
      case 'SO_REUSEADDR':
      case 'TCP_NODELAY':
      case 'TCP_CORK':
      case 'SO_KEEPALIVE':
      case 'O_NONBLOCK': {
        const n = num();
        if (n === undefined) return err('EINVAL', `${opt} takes a boolean or a number`);
        const on = n !== 0;
        if (opt === 'SO_REUSEADDR') sock.reuseAddr = on;
        else if (opt === 'O_NONBLOCK') sock.nonblocking = on;
        else if (opt === 'SO_KEEPALIVE') {
          sock.keepalive = on;
          if (on) sock.armKeepalive(this.now);
          else sock.cancelTimer('keepalive');
        } else if (opt === 'TCP_NODELAY') {
          sock.nodelay = on;
          // Linux (TCP_NAGLE_PUSH): turning Nagle off pushes what is queued, even past TCP_CORK.
          if (on) sock.pushPending(this.now);
        } else {
          sock.cork = on;
          if (!on) sock.pushPending(this.now);
        }
        return ok(0);
      }
      case 'SO_RCVBUF':
      case 'SO_SNDBUF':
      case 'TCP_MAXSEG':
      case 'TCP_USER_TIMEOUT': {
        const n = num();
        if (n === undefined || n < 0 || !Number.isInteger(n))
          return err('EINVAL', `${opt} takes a non-negative integer`);
        if (opt === 'SO_RCVBUF') {
          if (n < 1) return err('EINVAL', 'SO_RCVBUF must be at least 1');
          sock.rcvBufSize = n;
        } else if (opt === 'SO_SNDBUF') {
          if (n < 1) return err('EINVAL', 'SO_SNDBUF must be at least 1');
          sock.sndBufSize = n;
        } else if (opt === 'TCP_MAXSEG') {
          if (n !== 0 && (n < 88 || n > 32767)) return err('EINVAL', 'TCP_MAXSEG must be 0 or in 88..32767');
          sock.userMss = n;
        } else sock.userTimeoutMs = n;
        return ok(0);
      }
      default:
        return err('ENOPROTOOPT', `${opt} cannot be set`);
    }
  }

  private getsockopt(sock: TcpSocket, opt: string): CallResult {
    switch (opt) {
      case 'SO_ERROR': {
        const e = sock.softError;
        sock.softError = undefined;
        return ok(e ?? 0);
      }
      case 'SO_LINGER':
        return ok({ ...sock.linger });
      case 'SO_REUSEADDR':
        return ok(sock.reuseAddr ? 1 : 0);
      case 'TCP_NODELAY':
        return ok(sock.nodelay ? 1 : 0);
      case 'TCP_CORK':
        return ok(sock.cork ? 1 : 0);
      case 'SO_KEEPALIVE':
        return ok(sock.keepalive ? 1 : 0);
      case 'O_NONBLOCK':
        return ok(sock.nonblocking ? 1 : 0);
      case 'SO_RCVBUF':
        return ok(sock.rcvBufSize);
      case 'SO_SNDBUF':
        return ok(sock.sndBufSize);
      case 'TCP_MAXSEG':
        return ok(sock.synchronized ? sock.sendMss : sock.userMss || this.config.mss);
      case 'TCP_USER_TIMEOUT':
        return ok(sock.userTimeoutMs);
      default:
        return err('ENOPROTOOPT', `${opt} cannot be read`);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Bookkeeping

  private newSocket(parent?: number): TcpSocket {
    const sock = new TcpSocket(this.nextSockId++, this);
    this.sockets.set(sock.id, sock);
    this.socketList = [...this.sockets.values()];
    const ev: HostEvent = { type: 'socket', t: this.now, host: this.name, sock: sock.id, action: 'create' };
    if (parent !== undefined) ev.parent = parent;
    this.events.push(ev);
    return sock;
  }

  private serviceWaits(): void {
    const waits = this.waits;
    if (waits.length === 0) return;
    let progress = true;
    while (progress) {
      progress = false;
      for (let i = 0; i < waits.length; i++) {
        const w = waits[i]!;
        const r = this.attempt(w, w.table);
        if (!r) continue;
        // Remove it in place (splice would allocate an array of the removed element).
        for (let j = i + 1; j < waits.length; j++) waits[j - 1] = waits[j]!;
        waits.pop();
        i--;
        if (w.deadline !== undefined) w.sock.cancelTimer('linger');
        // Its wait no longer keeps a CLOSED socket from being freed (see reap).
        if (w.sock.state === 'CLOSED') this.reapDue = true;
        this.finish(w.callId, w.pid, w.req, r, w.startedAt);
        progress = true;
      }
    }
  }

  /** Frees sockets that are CLOSED and no longer referenced by any descriptor. */
  private reap(): void {
    if (!this.reapDue) return;
    this.reapDue = false;
    for (const s of this.sockets.values()) {
      if (s.state !== 'CLOSED' || s.refs > 0 || s.freed) continue;
      if (this.waits.some((w) => w.sock === s)) continue;
      s.freed = true;
      s.cancelAllTimers();
      this.childGone(s);
      this.sockets.delete(s.id);
      this.socketList = [...this.sockets.values()];
      this.events.push({ type: 'socket', t: this.now, host: this.name, sock: s.id, action: 'free' });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Introspection

  /** The socket a descriptor refers to, for tests and the UI. */
  socketOf(fd: number, pid = 1): SocketSnapshot | undefined {
    const s = this.procs.get(pid)?.get(fd);
    return s ? this.describe(s) : undefined;
  }

  snapshot(): HostSnapshot {
    const processes = [...this.procs.entries()].map(([pid, table]) => ({
      pid,
      fds: [...table.entries()].sort((a, b) => a[0] - b[0]).map(([fd, s]) => ({ fd, sock: s.id })),
    }));
    return {
      name: this.name,
      addr: ipToString(this.addr),
      now: this.now,
      processes,
      sockets: [...this.sockets.values()].map((s) => this.describe(s)),
      pendingCalls: this.waits.map((w) => ({
        callId: w.callId,
        pid: w.pid,
        op: w.req.op,
        fd: w.fd,
        since: w.startedAt,
      })),
    };
  }

  private describe(s: TcpSocket): SocketSnapshot {
    const descriptors: Array<{ pid: number; fd: number }> = [];
    for (const [pid, table] of this.procs)
      for (const [fd, t] of table) if (t === s) descriptors.push({ pid, fd });
    const timers: Partial<Record<TimerKind, number>> = {};
    for (const [k, d] of s.timers) timers[k] = d;
    const unsent = Math.max(0, s.sendq.length - Math.max(0, (s.sndNxt - s.sndBufSeq) | 0));
    const snap: SocketSnapshot = {
      id: s.id,
      state: s.state,
      local: { addr: ipToString(s.localAddr), port: s.localPort },
      remote: { addr: ipToString(s.remoteAddr), port: s.remotePort },
      refs: s.refs,
      descriptors,
      orphaned: s.orphaned,
      tcb: {
        iss: s.iss,
        irs: s.irs,
        sndUna: s.sndUna,
        sndNxt: s.sndNxt,
        sndMax: s.sndMax,
        sndWnd: s.sndWnd,
        rcvNxt: s.rcvNxt,
        rcvWnd: s.rcvWnd,
        sndWscale: s.sndWscale,
        rcvWscale: s.rcvWscale,
        mss: s.sendMss,
        peerMss: s.peerMss,
        windowScaling: s.wsOk,
        timestamps: s.tsOk,
        sack: s.sackOk,
      },
      buffers: {
        sndBuf: s.sndBufSize,
        sendQueued: s.sendq.length,
        unsent,
        inFlight: s.flight,
        finQueued: s.finQueued,
        rcvBuf: s.rcvBufSize,
        readable: s.rcv.readable.length,
        outOfOrder: s.rcv.oooBytes,
        finReceived: s.finReceived,
      },
      cc: { cwnd: s.cc.cwnd, ssthresh: s.cc.ssthresh, phase: s.cc.phase, dupAcks: s.cc.dupAcks },
      rtt: { srtt: s.rtt.srtt ?? null, rttvar: s.rtt.rttvar, rto: s.rtt.rto, retries: s.retries },
      timers,
      options: {
        nonblocking: s.nonblocking,
        reuseAddr: s.reuseAddr,
        linger: { ...s.linger },
        nodelay: s.nodelay,
        cork: s.cork,
        keepalive: s.keepalive,
        rcvBuf: s.rcvBufSize,
        sndBuf: s.sndBufSize,
      },
      shutdown: { rd: s.shutRd, wr: s.shutWr },
      error: s.softError ?? null,
    };
    if (s.parent) snap.parent = s.parent.id;
    if (s.state === 'LISTEN') {
      snap.listen = {
        backlog: s.backlog,
        synQueue: s.synQueue.map((c) => c.id),
        acceptQueue: s.acceptQueue.map((c) => c.id),
      };
    }
    return snap;
  }
}

function connKey(localPort: number, remoteAddr: number, remotePort: number): string {
  return `${localPort}|${remoteAddr >>> 0}|${remotePort}`;
}

function lowestFreeFd(table: Map<number, TcpSocket>): number | undefined {
  for (let fd = FIRST_FD; fd < MAX_FDS; fd++) if (!table.has(fd)) return fd;
  return undefined;
}

function removeFrom<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}

/** How call arguments that hold bytes appear in events: their length and, if printable, text. */
function describeBytes(data: Uint8Array): { len: number; text?: string } {
  const printable =
    data.length <= 256 &&
    data.every((b) => (b >= 0x20 && b < 0x7f) || b === 0x0a || b === 0x0d || b === 0x09);
  if (!printable) return { len: data.length };
  let text = '';
  for (let i = 0; i < data.length; i++) text += String.fromCharCode(data[i]!);
  return { len: data.length, text };
}
