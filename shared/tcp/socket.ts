/**
 * One TCP socket: its transmission control block and the RFC 9293 state machine.
 *
 * References: RFC 9293 §3.10 (event processing, "SEGMENT ARRIVES" in §3.10.7), RFC 5961 (RST and
 * SYN checks, challenge ACKs), RFC 6298 (retransmission timer), RFC 5681 + RFC 6582 (NewReno),
 * RFC 7323 (window scaling, timestamps), RFC 1122 (delayed ACK, Nagle, zero-window probing).
 * Where the RFCs leave a choice, this follows Linux (net/ipv4/tcp_input.c, tcp_output.c, tcp.c).
 *
 * The socket never reads a clock: every entry point takes `now` (virtual ms). It produces
 * segments and events through its `SocketHost`, and exposes its timers as deadlines.
 */
import { ByteQueue, copyBytes, ReceiveBuffer } from './buffers.ts';
import type { TcpConfig } from './config.ts';
import { NewReno } from './congestion.ts';
import {
  ACK,
  FIN,
  type Ipv4Header,
  type Packet,
  PSH,
  RST,
  SYN,
  type TcpOption,
  type TcpSegment,
} from './packet.ts';
import { RttEstimator } from './rtt.ts';
import { SendLog, SeqMarks } from './sendlog.ts';
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt, seqMax } from './seq.ts';
import { TIMER_KINDS, TimerSet } from './timers.ts';
import type { DiscardReason, Errno, Linger, SendReason, TcpState, TimerKind } from './types.ts';

/** What a socket needs from its host. */
export interface SocketHost {
  readonly config: TcpConfig;
  readonly addr: number;
  transmit(sock: TcpSocket, packet: Packet, why: SendReason, rexmit?: number): void;
  stateChanged(sock: TcpSocket, from: TcpState, to: TcpState, cause: string): void;
  timerEvent(sock: TcpSocket, kind: TimerKind, action: 'set' | 'fire' | 'cancel', deadline: number): void;
  discard(sock: TcpSocket | undefined, packet: Packet, reason: DiscardReason, detail: string): void;
  ccEvent(sock: TcpSocket, cause: string): void;
  /** A passive child finished its handshake: it moves to the accept queue. */
  childEstablished(child: TcpSocket): void;
  /** Send a bare RST answering `pkt` (no socket involved). */
  sendReset(pkt: Packet, sock?: TcpSocket): void;
  nextIss(): number;
  tsOffset(remoteAddr: number): number;
}

/**
 * States after the handshake (RFC 9293 §3.3.2): every state but CLOSED, LISTEN, SYN-SENT and
 * SYN-RECEIVED. Comparisons, not a Set: it is asked several times per segment, and comparing
 * interned strings costs less than hashing one.
 */
function isSynchronized(state: TcpState): boolean {
  return state !== 'CLOSED' && state !== 'LISTEN' && state !== 'SYN-SENT' && state !== 'SYN-RECEIVED';
}

/** States in which arriving data is delivered to the application (RFC 9293 §3.10.7.4, seventh). */
function receivesData(state: TcpState): boolean {
  return state === 'ESTABLISHED' || state === 'FIN-WAIT-1' || state === 'FIN-WAIT-2';
}

/** The payload of a segment without data, shared: a zero-length array holds nothing to change. */
const NO_PAYLOAD = new Uint8Array(0);
/** The options of a segment without any, shared (frozen, so nothing can add to it by mistake). */
const NO_OPTIONS = Object.freeze([]) as unknown as TcpOption[];

/** MSS assumed when the peer sends none (RFC 9293 §3.7.1; Linux TCP_MSS_DEFAULT). */
const DEFAULT_PEER_MSS = 536;
/** Bytes of the timestamps option with its two NOPs. */
const TS_OPTION_BYTES = 12;

export class TcpSocket {
  // Every field is initialised here, `= undefined` included: one assigned first later would give
  // sockets different hidden classes (V8 maps) by the order of their events, and optimised code
  // meeting a socket of another class is thrown away and compiled again.
  state: TcpState = 'CLOSED';
  localAddr = 0;
  private ipCache: Ipv4Header | undefined = undefined;
  localPort = 0;
  remoteAddr = 0;
  remotePort = 0;
  bound = false;
  /** Descriptors (across all processes) that refer to this socket. The FIN waits for 0. */
  refs = 0;
  /** close() dropped the last descriptor: nobody can read or write any more (an orphan). */
  orphaned = false;
  /** The socket is gone from the host's tables. */
  freed = false;

  // Options.
  nonblocking = false;
  reuseAddr = false;
  linger: Linger = { onoff: false, lingerSec: 0 };
  nodelay: boolean;
  cork = false;
  keepalive = false;
  userTimeoutMs = 0;
  userMss = 0;
  rcvBufSize: number;
  sndBufSize: number;

  // Application-side shutdown.
  shutRd = false;
  shutWr = false;
  /** Pending error reported by the next call (SO_ERROR): set by RST or timeouts. */
  softError: Errno | undefined = undefined;
  /** Why the connection ended, for the timeline. */
  closeReason = '';
  /** The connection reached ESTABLISHED once (a reset socket then cannot connect again: EISCONN). */
  everConnected = false;

  // Listening.
  backlog = 0;
  readonly synQueue: TcpSocket[] = [];
  readonly acceptQueue: TcpSocket[] = [];
  parent: TcpSocket | undefined = undefined;

  // Transmission control block (RFC 9293 §3.3.1).
  iss = 0;
  irs = 0;
  sndUna = 0;
  sndNxt = 0;
  /** Highest sequence number sent + 1 (SND.NXT may go back for go-back-N after an RTO). */
  sndMax = 0;
  sndWnd = 0;
  sndWl1 = 0;
  sndWl2 = 0;
  /** Largest window the peer ever offered (sender-side SWS avoidance, RFC 9293 §3.8.6.2.1). */
  maxSndWnd = 0;
  rcvNxt = 0;
  /** Right edge of the window we last advertised: RCV.NXT + RCV.WND. Never moves left. */
  rcvAdvEdge = 0;
  /** Shift applied to windows the peer sends us / to windows we send (RFC 7323). */
  sndWscale = 0;
  rcvWscale = 0;
  wsOk = false;
  tsOk = false;
  sackOk = false;
  peerMss = DEFAULT_PEER_MSS;
  tsRecent = 0;
  lastAckSent = 0;
  private tsBase = 0;

  /** Bytes written by the application and not yet ACKed, starting at sequence number `sndBufSeq`. */
  readonly sendq = new ByteQueue();
  sndBufSeq = 0;
  /** The application asked for a FIN: it goes at sequence number `dataEnd`. */
  finQueued = false;
  readonly rcv = new ReceiveBuffer();
  finReceived = false;

  rtt: RttEstimator;
  /** The SYN being timed (its end) and when it was sent; data is timed through `sendLog`. */
  private rttSeq: number | undefined = undefined;
  private rttStart = 0;
  cc: NewReno;
  /** Consecutive retransmission timeouts of the same data. */
  retries = 0;
  /** When the oldest unacknowledged data was first sent (TCP_USER_TIMEOUT). */
  private firstUnackedAt = 0;
  private persistBackoff = 0;
  private keepaliveProbes = 0;
  /** When the last acceptable segment arrived (keep-alive idle time). */
  private lastRcvAt = 0;
  /** End of the last small segment sent (Minshall's variant of Nagle, as Linux). */
  private sndSml = 0;
  /** MSG_MORE on the last send(): more data follows, hold partial segments (Linux). */
  moreHeld = false;
  /**
   * Push points not yet acknowledged: just after the last byte of each write() without MSG_MORE
   * and of each segment sent with PSH, so retransmissions carry the PSH their bytes had.
   */
  private readonly pushMarks = new SeqMarks();
  /** Send times of data in flight, for RTT samples (Karn's rule). */
  private readonly sendLog = new SendLog();
  private maxFlight = 0;
  private cwndUsageSeq = 0;
  private wasCwndLimited = false;
  /** Bytes received and not yet acknowledged; and quick-ACKs left. */
  private unackedBytes = 0;
  private quickAcks = 0;
  private ackNow = false;
  private ackReason: SendReason = 'ack';

  readonly timers = new TimerSet();

  constructor(
    readonly id: number,
    private readonly host: SocketHost,
  ) {
    const c = host.config;
    this.nodelay = !c.nagle;
    this.rcvBufSize = c.rcvBuf;
    this.sndBufSize = c.sndBuf;
    this.rtt = new RttEstimator(c.rtoInitialMs, c.rtoMinMs, c.rtoMaxMs, c.rtoFormula);
    this.cc = new NewReno(c.mss, c.initialCwndSegments, 0, c.byteCounting);
  }

  get config(): TcpConfig {
    return this.host.config;
  }

  // ---------------------------------------------------------------------------------------------
  // Derived values

  /** Sequence number just after the last data byte queued. */
  get dataEnd(): number {
    return seqAdd(this.sndBufSeq, this.sendq.length);
  }

  /** Our FIN has been sent (at least once). */
  get finSent(): boolean {
    return this.finQueued && seqGt(this.sndMax, this.dataEnd);
  }

  /** Our FIN has been acknowledged. */
  get finAcked(): boolean {
    return this.finQueued && seqGt(this.sndUna, this.dataEnd);
  }

  /** Bytes in flight: sent and not yet acknowledged (sequence space, SYN/FIN included). */
  get flight(): number {
    return seqDiff(this.sndMax, this.sndUna);
  }

  /** Effective MSS for data we send: the peer's MSS, ours and TCP_MAXSEG, less the TS option. */
  get sendMss(): number {
    let mss = Math.min(this.peerMss, this.config.mss);
    if (this.userMss > 0) mss = Math.min(mss, this.userMss);
    return Math.max(1, mss - (this.tsOk ? TS_OPTION_BYTES : 0));
  }

  private get rcvMss(): number {
    return Math.max(1, this.config.mss - (this.tsOk ? TS_OPTION_BYTES : 0));
  }

  /** Window we have advertised and not yet seen used: RCV.WND. */
  get rcvWnd(): number {
    return Math.max(0, seqDiff(this.rcvAdvEdge, this.rcvNxt));
  }

  /**
   * Receive buffer space not taken by bytes waiting for the application. Out-of-order bytes are
   * not subtracted: they lie inside the window already advertised, so counting them would close
   * the window on the very segment that fills the hole.
   */
  get rcvFree(): number {
    return Math.max(0, this.rcvBufSize - this.rcv.readable.length);
  }

  /** Bytes queued for the application plus out-of-order bytes held. */
  get rcvQueued(): number {
    return this.rcv.readable.length + this.rcv.oooBytes;
  }

  get isListener(): boolean {
    return this.state === 'LISTEN';
  }

  get synchronized(): boolean {
    return isSynchronized(this.state);
  }

  /** Bytes the application may still write before send() blocks. */
  get sendSpace(): number {
    return Math.max(0, this.sndBufSize - this.sendq.length);
  }

  // ---------------------------------------------------------------------------------------------
  // State and timers

  setState(to: TcpState, cause: string): void {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    this.host.stateChanged(this, from, to, cause);
  }

  setTimer(kind: TimerKind, deadline: number): void {
    this.timers.set(kind, deadline);
    if (this.config.traceTimers) this.host.timerEvent(this, kind, 'set', deadline);
  }

  cancelTimer(kind: TimerKind): void {
    const deadline = this.timers.get(kind);
    if (deadline === undefined) return;
    this.timers.delete(kind);
    if (this.config.traceTimers) this.host.timerEvent(this, kind, 'cancel', deadline);
  }

  cancelAllTimers(except?: TimerKind): void {
    for (const kind of TIMER_KINDS) if (kind !== except) this.cancelTimer(kind);
  }

  nextDeadline(): number | undefined {
    return this.timers.next();
  }

  /** Fires every timer of this socket due at or before `now`, earliest first. */
  runTimers(now: number): void {
    for (;;) {
      const kind = this.timers.due(now);
      if (kind === undefined) return;
      const at = this.timers.get(kind)!;
      this.timers.delete(kind);
      this.host.timerEvent(this, kind, 'fire', at);
      this.onTimer(at, kind);
      if (this.freed) return;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Building segments

  private tsVal(now: number): number {
    return (Math.floor(now) + this.tsBase) >>> 0;
  }

  private buildPacket(flags: number, seq: number, payload: Uint8Array, options: TcpOption[]): Packet {
    let window: number;
    if (flags & SYN) {
      window = Math.min(this.config.synWindow, this.rcvBufSize, 0xffff);
      this.rcvAdvEdge = seqAdd(this.rcvNxt, window);
    } else {
      window = this.selectWindow();
    }
    if (flags & ACK) {
      this.lastAckSent = this.rcvNxt;
      this.unackedBytes = 0;
      this.ackNow = false;
      this.cancelTimer('delayed-ack');
    }
    const tcp: TcpSegment = {
      srcPort: this.localPort,
      dstPort: this.remotePort,
      seq,
      ack: flags & ACK ? this.rcvNxt : 0,
      reserved: 0,
      flags,
      window,
      checksum: 0,
      urgent: 0,
      options,
      payload,
    };
    return {
      ip: this.ipHeader(),
      tcp,
    };
  }

  /** The IPv4 header of our segments: one frozen object per address pair, shared by them all. */
  private ipHeader(): Ipv4Header {
    const h = this.ipCache;
    if (h && h.src === this.localAddr && h.dst === this.remoteAddr) return h;
    this.ipCache = Object.freeze({
      tos: 0,
      id: 0,
      df: true,
      ttl: 64,
      src: this.localAddr,
      dst: this.remoteAddr,
    });
    return this.ipCache;
  }

  /**
   * The window field for a non-SYN segment: free receive space, rounded to the scale granularity,
   * with receiver-side silly window avoidance (RFC 1122 §4.2.3.3) and never shrinking the right
   * edge already advertised (RFC 9293 §3.8.6.2.2).
   */
  private selectWindow(): number {
    const scale = 1 << this.rcvWscale;
    let free = this.rcvFree;
    if (free < Math.min(this.rcvBufSize / 2, this.rcvMss)) free = 0;
    const promised = this.rcvWnd;
    let wnd = Math.max(free, promised);
    let field = Math.min(0xffff, Math.floor(wnd / scale));
    if (field * scale < promised) field = Math.min(0xffff, Math.ceil(promised / scale));
    wnd = field * scale;
    const edge = seqAdd(this.rcvNxt, wnd);
    if (seqGt(edge, this.rcvAdvEdge)) this.rcvAdvEdge = edge;
    return field;
  }

  private synOptions(now: number, isSynAck: boolean): TcpOption[] {
    const c = this.config;
    const offerTs = isSynAck ? this.tsOk : c.timestamps;
    const offerSack = isSynAck ? this.sackOk : c.sack;
    const offerWs = isSynAck ? this.wsOk : c.windowScaling;
    // Linux tcp_advertise_mss: TCP_MAXSEG set before connect/listen lowers the MSS we announce.
    const mss = this.userMss > 0 ? Math.min(c.mss, this.userMss) : c.mss;
    const opts: TcpOption[] = [{ kind: 'mss', value: mss }];
    // Linux's order: MSS, SACK-permitted, timestamps, NOP, window scale (tcp_options_write).
    if (offerSack && offerTs) opts.push({ kind: 'sack-permitted' });
    if (offerTs) {
      // Without SACK-permitted to share the word, two NOPs align the timestamps.
      if (!offerSack) opts.push({ kind: 'nop' }, { kind: 'nop' });
      opts.push({ kind: 'timestamps', tsval: this.tsVal(now), tsecr: isSynAck ? this.tsRecent : 0 });
    } else if (offerSack) opts.push({ kind: 'nop' }, { kind: 'nop' }, { kind: 'sack-permitted' });
    if (offerWs) opts.push({ kind: 'nop' }, { kind: 'wscale', shift: c.windowShift });
    return opts;
  }

  private dataOptions(now: number, withSack: boolean): TcpOption[] {
    if (!this.tsOk && !(withSack && this.sackOk && this.rcv.hasOoo)) return NO_OPTIONS;
    const opts: TcpOption[] = [];
    if (this.tsOk)
      opts.push(
        { kind: 'nop' },
        { kind: 'nop' },
        { kind: 'timestamps', tsval: this.tsVal(now), tsecr: this.tsRecent },
      );
    if (withSack && this.sackOk && this.rcv.hasOoo) {
      const blocks = this.rcv.sackBlocks(this.tsOk ? 3 : 4);
      if (blocks.length > 0) opts.push({ kind: 'nop' }, { kind: 'nop' }, { kind: 'sack', blocks });
    }
    return opts;
  }

  private emit(packet: Packet, why: SendReason, rexmit?: number): void {
    this.host.transmit(this, packet, why, rexmit);
  }

  /** A segment with no data: a pure ACK, or RST. */
  sendControl(now: number, flags: number, seq: number, why: SendReason): void {
    this.emit(this.buildPacket(flags, seq, NO_PAYLOAD, this.dataOptions(now, (flags & RST) === 0)), why);
  }

  /**
   * A pure ACK. Its sequence number is SND.MAX, the RFC's SND.NXT: after a timeout we resend from
   * SND.UNA (go-back-N) but the peer may already hold everything up to SND.MAX, and an ACK with an
   * older sequence number would fail its acceptability test and be ignored (Linux never moves
   * snd_nxt back either).
   */
  sendAck(now: number, why: SendReason = 'ack'): void {
    this.sendControl(now, ACK, this.sndMax, why);
  }

  /** RST from a synchronized connection: sequence number SND.NXT (RFC 9293 §3.10.7.4). */
  sendRst(now: number): void {
    this.sendControl(now, RST | ACK, this.sndMax, 'rst');
  }

  // ---------------------------------------------------------------------------------------------
  // Opening

  /** Active open (connect): SYN-SENT. */
  openActive(now: number): void {
    this.iss = this.host.nextIss();
    this.tsBase = this.host.tsOffset(this.remoteAddr);
    this.initSendSeq();
    this.setState('SYN-SENT', 'connect() sent SYN');
    this.sendSyn(now, false);
  }

  private initSendSeq(): void {
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    this.sndMax = this.iss;
    this.sndBufSeq = seqAdd(this.iss, 1);
    this.sndSml = this.iss;
    this.cc = new NewReno(
      this.config.mss,
      this.config.initialCwndSegments,
      this.iss,
      this.config.byteCounting,
    );
  }

  private sendSyn(now: number, rexmit: boolean): void {
    const isSynAck = this.state === 'SYN-RECEIVED';
    const flags = isSynAck ? SYN | ACK : SYN;
    const pkt = this.buildPacket(flags, this.iss, new Uint8Array(0), this.synOptions(now, isSynAck));
    this.sndNxt = seqAdd(this.iss, 1);
    this.sndMax = seqMax(this.sndMax, this.sndNxt);
    if (!rexmit) {
      this.rttSeq = this.sndNxt;
      this.rttStart = now;
    }
    this.emit(pkt, isSynAck ? 'syn-ack' : 'syn', rexmit ? Math.max(1, this.retries) : undefined);
    if (!this.timers.has('retransmit')) this.setTimer('retransmit', this.rexmitDeadline(now));
  }

  /** Passive open: a child of a listener answering `syn` with SYN-ACK. */
  openPassive(now: number, listener: TcpSocket, pkt: Packet, iss?: number): void {
    const seg = pkt.tcp;
    this.parent = listener;
    this.localAddr = pkt.ip.dst;
    this.localPort = seg.dstPort;
    this.remoteAddr = pkt.ip.src;
    this.remotePort = seg.srcPort;
    this.bound = true;
    this.nodelay = listener.nodelay;
    this.rcvBufSize = listener.rcvBufSize;
    this.sndBufSize = listener.sndBufSize;
    this.linger = { onoff: listener.linger.onoff, lingerSec: listener.linger.lingerSec };
    this.keepalive = listener.keepalive;
    this.userTimeoutMs = listener.userTimeoutMs;
    this.userMss = listener.userMss;
    this.iss = iss ?? this.host.nextIss();
    this.tsBase = this.host.tsOffset(this.remoteAddr);
    this.initSendSeq();
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.rcvAdvEdge = this.rcvNxt;
    this.takeSynOptions(seg);
    this.sndWnd = seg.window;
    this.maxSndWnd = this.sndWnd;
    this.sndWl1 = seg.seq;
    this.sndWl2 = this.iss;
    this.setState('SYN-RECEIVED', 'SYN received by a listener');
    this.sendSyn(now, false);
  }

  /** Reads MSS, window scale, SACK-permitted and timestamps from a SYN or SYN-ACK (RFC 7323). */
  private takeSynOptions(seg: TcpSegment): void {
    const c = this.config;
    let ws: number | undefined;
    let sackPerm = false;
    let ts: { tsval: number; tsecr: number } | undefined;
    this.peerMss = DEFAULT_PEER_MSS;
    for (const o of seg.options) {
      if (o.kind === 'mss') this.peerMss = Math.max(1, o.value);
      else if (o.kind === 'wscale') ws = o.shift;
      else if (o.kind === 'sack-permitted') sackPerm = true;
      else if (o.kind === 'timestamps') ts = o;
    }
    this.wsOk = c.windowScaling && ws !== undefined;
    this.sndWscale = this.wsOk ? Math.min(ws!, 14) : 0;
    this.rcvWscale = this.wsOk ? c.windowShift : 0;
    this.sackOk = c.sack && sackPerm;
    this.rcv.trackRecency = this.sackOk;
    this.tsOk = c.timestamps && ts !== undefined;
    if (ts && this.tsOk) this.tsRecent = ts.tsval;
    this.cc.setMss(this.sendMss, c.initialCwndSegments);
    this.quickAcks = c.quickAcks;
  }

  // ---------------------------------------------------------------------------------------------
  // Segment arrival (RFC 9293 §3.10.7)

  /** The host found this socket for `pkt` (a non-listener). */
  onSegment(now: number, pkt: Packet): void {
    const seg = pkt.tcp;
    if (this.state === 'SYN-SENT') {
      this.onSegmentSynSent(now, pkt);
      return;
    }
    const segData = seg.payload.length;
    const segLen = segData + (seg.flags & SYN ? 1 : 0) + (seg.flags & FIN ? 1 : 0);

    // TIME-WAIT: a retransmitted FIN is re-ACKed and restarts the 2·MSL timer (RFC 9293
    // §3.10.7.4 eighth; Linux tcp_timewait_state_process).
    if (
      this.state === 'TIME-WAIT' &&
      seg.flags & FIN &&
      !(seg.flags & RST) &&
      seqAdd(seg.seq, segLen) === this.rcvNxt
    ) {
      this.cancelTimer('time-wait');
      this.setTimer('time-wait', now + 2 * this.config.mslMs);
      this.sendAck(now, 'ack');
      return;
    }

    // PAWS (RFC 7323 §5): a segment whose timestamp is older than TS.Recent is a stale duplicate.
    const ts = this.tsOk ? findTimestamps(seg) : undefined;
    if (ts && !(seg.flags & RST) && this.tsRecent !== 0 && seqLt(ts.tsval, this.tsRecent)) {
      this.host.discard(
        this,
        pkt,
        'old-duplicate',
        `PAWS: TSval ${ts.tsval} is older than TS.Recent ${this.tsRecent}`,
      );
      this.sendAck(now, 'dup-ack');
      return;
    }

    // First: sequence number check (Linux tcp_sequence: end after RCV.NXT, start within the window).
    const segEnd = seqAdd(seg.seq, segLen);
    const acceptable = seqGe(segEnd, this.rcvNxt) && seqLe(seg.seq, this.rcvAdvEdge);
    if (!acceptable) {
      if (!(seg.flags & RST)) {
        this.host.discard(
          this,
          pkt,
          'unacceptable',
          `segment ${seg.seq}..${segEnd} is outside the receive window ${this.rcvNxt}..${this.rcvAdvEdge}`,
        );
        this.sendAck(now, 'dup-ack');
      } else {
        this.host.discard(
          this,
          pkt,
          'rst-out-of-window',
          'RST outside the receive window ignored (RFC 5961 §3.2)',
        );
      }
      return;
    }
    if (ts && seqLe(seg.seq, this.lastAckSent) && seqGe(ts.tsval, this.tsRecent)) this.tsRecent = ts.tsval;
    this.lastRcvAt = now;

    // Second: RST (RFC 5961 §3.2): exact match resets, in-window elicits a challenge ACK.
    if (seg.flags & RST) {
      if (seg.seq !== this.rcvNxt) {
        this.host.discard(
          this,
          pkt,
          'rst-out-of-window',
          'RST in window but not at RCV.NXT: challenge ACK (RFC 5961 §3.2)',
        );
        this.sendAck(now, 'challenge-ack');
        return;
      }
      this.onReset(now);
      return;
    }

    // Fourth: SYN in a synchronized state (RFC 5961 §4): challenge ACK.
    // Simultaneous open (Linux tcp_validate_incoming): in SYN-RECEIVED the peer's SYN-ACK repeats
    // the SYN we already took and ACKs ours; only its ACK is new.
    const simultaneousSynAck =
      this.state === 'SYN-RECEIVED' &&
      !this.parent &&
      (seg.flags & ACK) !== 0 &&
      seqAdd(seg.seq, 1) === this.rcvNxt &&
      segData === 0 &&
      seg.ack === this.sndNxt;
    if (seg.flags & SYN && !simultaneousSynAck) {
      if (this.state === 'SYN-RECEIVED' && seg.seq === this.irs && !(seg.flags & ACK)) {
        // A retransmitted SYN: answer with the SYN-ACK again and push the SYN-ACK timer back
        // (Linux tcp_check_req → inet_rtx_syn_ack).
        this.sendSyn(now, true);
        this.setTimer('retransmit', this.rexmitDeadline(now));
        return;
      }
      this.host.discard(
        this,
        pkt,
        'unacceptable',
        'SYN on a synchronized connection: challenge ACK (RFC 5961 §4)',
      );
      this.sendAck(now, 'challenge-ack');
      return;
    }

    // Fifth: the ACK field.
    if (!(seg.flags & ACK)) {
      this.host.discard(this, pkt, 'bad-ack', 'segment without ACK on a synchronized connection');
      return;
    }
    if (this.state === 'SYN-RECEIVED') {
      if (!(seqLt(this.sndUna, seg.ack) && seqLe(seg.ack, this.sndMax))) {
        this.host.discard(this, pkt, 'bad-ack', `ACK ${seg.ack} does not acknowledge our SYN`);
        this.host.sendReset(pkt, this);
        return;
      }
      if (this.parent && !this.parent.isListener) return;
      if (this.parent && this.parent.acceptQueue.length > this.parent.backlog) {
        // Linux (tcp_abort_on_overflow = 0): drop the ACK, keep the request, SYN-ACK retransmits.
        this.host.discard(
          this,
          pkt,
          'accept-queue-full',
          `accept queue full (${this.parent.acceptQueue.length} > backlog ${this.parent.backlog}): final ACK dropped`,
        );
        return;
      }
      this.ackSyn(now, seg);
      this.everConnected = true;
      this.setState(
        'ESTABLISHED',
        simultaneousSynAck ? 'SYN-ACK received (simultaneous open)' : 'ACK of our SYN-ACK received',
      );
      this.armKeepalive(now);
      if (this.parent) this.host.childEstablished(this);
    }
    if (!this.processAck(now, pkt)) return;
    if (this.freed) return;

    // Seventh: segment text.
    if (segData > 0) {
      if (
        this.shutRd &&
        (this.state === 'FIN-WAIT-1' || this.state === 'FIN-WAIT-2') &&
        seqGt(seqAdd(seg.seq, segData), this.rcvNxt)
      ) {
        // Linux: data after close()/shutdown(SHUT_RD) in FIN-WAIT-* aborts the connection.
        this.host.discard(this, pkt, 'closed', 'data arrived after this side closed for reading: reset');
        this.host.sendReset(pkt, this);
        this.abort(now, 'data arrived after close(): RST sent', undefined);
        return;
      }
      if (receivesData(this.state)) this.receiveData(now, seg.seq, seg.payload, ts !== undefined);
      else this.ackNow = true;
    }

    // Eighth: FIN.
    if (seg.flags & FIN) {
      const finSeq = seqAdd(seg.seq, segData);
      if (finSeq === this.rcvNxt) this.receiveFin(now);
      else if (seqGt(finSeq, this.rcvNxt)) {
        this.rcv.oooFinSeq = finSeq;
        this.ackNow = true;
        this.ackReason = 'dup-ack';
      } else this.ackNow = true;
    }
    if (this.rcv.oooFinSeq !== undefined && this.rcv.oooFinSeq === this.rcvNxt && !this.finReceived) {
      this.rcv.oooFinSeq = undefined;
      this.receiveFin(now);
    }

    this.output(now);
  }

  /** RFC 9293 §3.10.7.3: SYN-SENT. */
  private onSegmentSynSent(now: number, pkt: Packet): void {
    const seg = pkt.tcp;
    const hasAck = (seg.flags & ACK) !== 0;
    if (hasAck && (seqLe(seg.ack, this.iss) || seqGt(seg.ack, this.sndMax))) {
      if (!(seg.flags & RST)) {
        this.host.discard(this, pkt, 'bad-ack', `ACK ${seg.ack} is not for our SYN (ISS ${this.iss})`);
        this.host.sendReset(pkt, this);
      }
      return;
    }
    if (seg.flags & RST) {
      if (!hasAck) {
        this.host.discard(this, pkt, 'rst-out-of-window', 'RST without ACK in SYN-SENT ignored');
        return;
      }
      this.abort(now, 'RST in answer to our SYN: connection refused', 'ECONNREFUSED');
      return;
    }
    if (!(seg.flags & SYN)) {
      this.host.discard(this, pkt, 'bad-ack', 'neither SYN nor RST in SYN-SENT');
      return;
    }
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.rcvAdvEdge = this.rcvNxt;
    this.takeSynOptions(seg);
    this.sndWnd = seg.window;
    this.maxSndWnd = this.sndWnd;
    this.sndWl1 = seg.seq;
    this.sndWl2 = seg.ack;
    if (hasAck) {
      this.ackSyn(now, seg);
      this.everConnected = true;
      this.setState('ESTABLISHED', 'SYN-ACK received');
      this.armKeepalive(now);
      if (seg.payload.length > 0) this.receiveData(now, seqAdd(seg.seq, 1), seg.payload, false);
      this.sendAck(now);
      this.output(now);
    } else {
      // Simultaneous open: answer SYN with SYN-ACK, same ISS (RFC 9293 §3.5, Figure 8).
      this.setState('SYN-RECEIVED', 'SYN received while in SYN-SENT (simultaneous open)');
      this.cancelTimer('retransmit');
      this.retries = 0;
      this.sendSyn(now, false);
    }
  }

  /** Our SYN has been acknowledged: leave the handshake's timers and bookkeeping. */
  private ackSyn(now: number, seg: TcpSegment): void {
    this.sndUna = seg.ack;
    if (seqLt(this.sndNxt, this.sndUna)) this.sndNxt = this.sndUna;
    const ts = this.tsOk ? findTimestamps(seg) : undefined;
    if (ts && ts.tsecr !== 0) this.rtt.sample(this.tsVal(now) - ts.tsecr);
    else if (this.retries === 0 && this.rttSeq !== undefined) this.rtt.sample(now - this.rttStart);
    else if (this.retries > 0) this.rtt.fallbackAfterSynTimeout(3 * this.config.rtoInitialMs);
    this.rttSeq = undefined;
    this.retries = 0;
    this.cancelTimer('retransmit');
    if (seg.flags & SYN) {
      this.sndWnd = seg.window; // SYN windows are never scaled
    } else {
      this.sndWnd = seg.window * (1 << this.sndWscale);
    }
    this.maxSndWnd = Math.max(this.maxSndWnd, this.sndWnd);
    this.sndWl1 = seg.seq;
    this.sndWl2 = seg.ack;
    this.lastRcvAt = now;
  }

  /**
   * RFC 9293 §3.10.7.4 fifth: process SEG.ACK in a synchronized state. Returns false when the
   * segment must be dropped.
   */
  private processAck(now: number, pkt: Packet): boolean {
    const seg = pkt.tcp;
    const ack = seg.ack;
    if (seqGt(ack, this.sndMax)) {
      // RFC 5961 §5: ACK of data never sent.
      this.host.discard(
        this,
        pkt,
        'bad-ack',
        `ACK ${ack} acknowledges data not yet sent (SND.MAX ${this.sndMax})`,
      );
      this.sendAck(now, 'challenge-ack');
      return false;
    }
    if (seqLt(ack, seqAdd(this.sndUna, -this.maxSndWnd))) {
      // RFC 5961 §5.2: an ACK older than SND.UNA − MAX.SND.WND is dropped with its data.
      this.host.discard(this, pkt, 'bad-ack', `ACK ${ack} is older than SND.UNA − MAX.SND.WND`);
      this.sendAck(now, 'challenge-ack');
      return false;
    }
    const win = seg.window * (1 << this.sndWscale);
    const hasData = seg.payload.length > 0 || (seg.flags & (SYN | FIN)) !== 0;

    if (seqGt(ack, this.sndUna)) {
      this.onNewAck(now, seg, ack);
      if (this.freed) return false;
    } else if (
      ack === this.sndUna &&
      !hasData &&
      win === this.sndWnd &&
      this.sndMax !== this.sndUna &&
      this.state !== 'TIME-WAIT'
    ) {
      this.onDupAck(now, ack);
    }

    // Window update (RFC 9293 §3.10.7.4): only from a newer segment.
    if (seqLt(this.sndWl1, seg.seq) || (this.sndWl1 === seg.seq && seqLe(this.sndWl2, ack))) {
      const opened = this.sndWnd === 0 && win > 0;
      this.sndWnd = win;
      this.maxSndWnd = Math.max(this.maxSndWnd, win);
      this.sndWl1 = seg.seq;
      this.sndWl2 = ack;
      if (opened) {
        this.cancelTimer('persist');
        this.persistBackoff = 0;
      }
    }

    // Our FIN acknowledged?
    if (this.finAcked) {
      if (this.state === 'FIN-WAIT-1') {
        this.setState('FIN-WAIT-2', 'our FIN was acknowledged');
        if (this.orphaned) this.setTimer('fin-wait-2', now + this.config.finTimeoutMs);
      } else if (this.state === 'CLOSING') {
        this.enterTimeWait(now, 'our FIN was acknowledged');
        return false;
      } else if (this.state === 'LAST-ACK') {
        this.cancelAllTimers();
        this.closeReason = 'our FIN was acknowledged';
        this.setState('CLOSED', 'our FIN was acknowledged');
        return false;
      }
    }
    return true;
  }

  private onNewAck(now: number, seg: TcpSegment, ack: number): void {
    const acked = seqDiff(ack, this.sndUna);
    const cwndLimited = this.isCwndLimited;
    // Drop the acknowledged data bytes from the send queue.
    const dataAcked = seqDiff(seqLe(ack, this.dataEnd) ? ack : this.dataEnd, this.sndBufSeq);
    if (dataAcked > 0) {
      this.sendq.drop(dataAcked);
      this.sndBufSeq = seqAdd(this.sndBufSeq, dataAcked);
      this.pushMarks.dropThrough(this.sndBufSeq);
    }
    this.sndUna = ack;
    if (seqLt(this.sndNxt, ack)) this.sndNxt = ack;

    // RTT measurement: timestamps (RFC 7323 §4), else the newest segment this ACK covers that
    // was sent only once (Karn's rule).
    const ts = this.tsOk ? findTimestamps(seg) : undefined;
    const sentAt = this.sendLog.acked(ack);
    if (ts && ts.tsecr !== 0) this.rtt.sample(this.tsVal(now) - ts.tsecr);
    else if (sentAt !== undefined) this.rtt.sample(now - sentAt);
    this.retries = 0;
    this.persistBackoff = 0;
    this.firstUnackedAt = now;

    const action = this.cc.onNewAck(acked, ack, this.flight, cwndLimited);
    if (action === 'partial') {
      // RFC 6582 §3.2 step 3: retransmit the first unacknowledged segment at once.
      this.retransmitHead(now, 'retransmit-fast');
    }
    if (this.config.traceTimers)
      this.host.ccEvent(this, action === 'full' ? 'fast recovery ended' : 'new data acknowledged');

    // RFC 6298 §5.2–5.3.
    if (this.sndUna === this.sndMax) this.cancelTimer('retransmit');
    else this.setTimer('retransmit', this.rexmitDeadline(now));
  }

  private onDupAck(now: number, ack: number): void {
    const action = this.cc.onDupAck(ack, this.sndMax, this.flight);
    if (action === 'fast-retransmit') {
      this.retransmitHead(now, 'retransmit-fast');
      this.setTimer('retransmit', this.rexmitDeadline(now));
      this.host.ccEvent(this, 'third duplicate ACK: fast retransmit');
    } else if (this.config.traceTimers) {
      this.host.ccEvent(this, `duplicate ACK #${this.cc.dupAcks}`);
    }
  }

  /**
   * Retransmits the segment at SND.UNA without moving SND.NXT. Returns the sequence space it
   * covers (0 when there was nothing to resend).
   */
  private retransmitHead(now: number, why: SendReason): number {
    const seq = this.sndUna;
    if (this.state === 'SYN-SENT' || this.state === 'SYN-RECEIVED') {
      this.sendSyn(now, true);
      return 1;
    }
    const offset = seqDiff(seq, this.sndBufSeq);
    // Resend only bytes that were sent before (Linux resends the head skb as it went out): a
    // "retransmission" reaching past SND.MAX would be ACKed beyond SND.MAX, and that ACK dropped.
    const sentEnd = seqLe(this.sndMax, this.dataEnd) ? this.sndMax : this.dataEnd;
    const len = Math.max(0, Math.min(this.sendMss, seqDiff(sentEnd, seq)));
    const payload = len > 0 ? this.sendq.peek(offset, len) : NO_PAYLOAD;
    let flags = ACK;
    // A retransmission carries the PSH its bytes went out with.
    if (len > 0 && this.holdsPushMark(seq, seqAdd(seq, len))) flags |= PSH;
    if (this.finSent && seqAdd(seq, len) === this.dataEnd) flags |= FIN;
    if (len === 0 && !(flags & FIN)) return 0;
    this.emit(
      this.buildPacket(flags, seq, payload, this.dataOptions(now, true)),
      why,
      Math.max(1, this.retries),
    );
    this.sendLog.retransmitted(seq, seqAdd(seq, len + (flags & FIN ? 1 : 0)));
    return len + (flags & FIN ? 1 : 0);
  }

  private receiveData(now: number, seq: number, payload: Uint8Array, _hasTs: boolean): void {
    // Trim to the window we advertised.
    const room = seqDiff(this.rcvAdvEdge, seq);
    if (room <= 0) {
      this.ackNow = true;
      this.ackReason = 'dup-ack';
      return;
    }
    if (payload.length > room) payload = payload.subarray(0, room);
    const hadOoo = this.rcv.hasOoo;
    const before = this.rcvNxt;
    if (seqLt(seq, before) && seqLe(seqAdd(seq, payload.length), before)) {
      this.ackNow = true;
      this.ackReason = 'dup-ack';
      return;
    }
    this.rcvNxt = this.rcv.insert(seq, payload, this.rcvNxt);
    const advanced = seqDiff(this.rcvNxt, before);
    if (advanced === 0) {
      // Out of order: ACK at once so the sender sees a duplicate ACK (RFC 5681 §4.2).
      this.ackNow = true;
      this.ackReason = 'dup-ack';
      this.quickAcks = Math.max(this.quickAcks, this.config.quickAcks);
      return;
    }
    this.unackedBytes += advanced;
    if (hadOoo) {
      // Filled (part of) a hole: ACK at once (RFC 5681 §4.2).
      this.ackNow = true;
      this.ackReason = 'ack';
    } else if (!this.config.delayedAck || this.quickAcks > 0) {
      if (this.quickAcks > 0) this.quickAcks--;
      this.ackNow = true;
      this.ackReason = 'ack';
    } else if (this.unackedBytes >= 2 * this.rcvMss) {
      this.ackNow = true;
      this.ackReason = 'ack';
    } else if (!this.timers.has('delayed-ack')) {
      this.setTimer('delayed-ack', now + this.config.delayedAckMs);
    }
  }

  private receiveFin(now: number): void {
    this.rcvNxt = seqAdd(this.rcvNxt, 1);
    this.finReceived = true;
    this.ackNow = true;
    this.ackReason = 'ack';
    switch (this.state) {
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
        this.setState('CLOSE-WAIT', 'FIN received');
        break;
      case 'FIN-WAIT-1':
        if (this.finAcked) this.enterTimeWait(now, 'FIN received after our FIN was acknowledged');
        else this.setState('CLOSING', 'FIN received before our FIN was acknowledged (simultaneous close)');
        break;
      case 'FIN-WAIT-2':
        this.cancelTimer('fin-wait-2');
        this.enterTimeWait(now, 'FIN received');
        break;
      default:
        break;
    }
  }

  private enterTimeWait(now: number, cause: string): void {
    this.cancelAllTimers();
    this.setState('TIME-WAIT', cause);
    this.setTimer('time-wait', now + 2 * this.config.mslMs);
    if (this.ackNow) this.sendAck(now);
  }

  /** RST accepted (RFC 9293 §3.10.7.4 second; Linux tcp_reset). */
  private onReset(now: number): void {
    let errno: Errno | undefined;
    let why = 'RST received';
    switch (this.state) {
      case 'SYN-RECEIVED':
        if (this.parent) {
          this.abort(now, 'RST received: half-open connection dropped', undefined);
          return;
        }
        errno = 'ECONNREFUSED';
        why = 'RST received: connection refused';
        break;
      case 'CLOSE-WAIT':
        errno = 'EPIPE';
        break;
      case 'CLOSING':
      case 'LAST-ACK':
      case 'TIME-WAIT':
        errno = undefined;
        break;
      default:
        errno = 'ECONNRESET';
        why = 'RST received: connection reset by peer';
    }
    this.abort(now, why, errno);
  }

  /** Ends the connection at once: CLOSED, queues flushed, an error for the next call. */
  abort(now: number, why: string, errno: Errno | undefined): void {
    void now;
    this.cancelAllTimers();
    this.sendq.clear();
    this.sendLog.clear();
    this.sndBufSeq = this.sndUna;
    this.finQueued = false;
    if (errno) this.softError = errno;
    this.closeReason = why;
    this.setState('CLOSED', why);
  }

  // ---------------------------------------------------------------------------------------------
  // Output (Linux tcp_write_xmit, RFC 9293 §3.8.6.2.1 and RFC 1122 §4.2.3.4)

  /** Sends whatever the windows, Nagle and cork allow, then any ACK owed. */
  output(now: number): void {
    if (this.synchronized && this.state !== 'TIME-WAIT') this.sendData(now);
    if (this.ackNow && this.synchronized) this.sendAck(now, this.ackReason);
    this.ackReason = 'ack';
  }

  /**
   * Sends new data (or resends after a timeout) as far as the windows allow. `pushNow` sends
   * partial segments that TCP_CORK or MSG_MORE would hold (Linux TCP_NAGLE_PUSH).
   */
  private sendData(now: number, pushNow = false): void {
    const mss = this.sendMss;
    let cwndLimited = false;
    for (;;) {
      const seq = this.sndNxt;
      const offset = seqDiff(seq, this.sndBufSeq);
      const avail = this.sendq.length - offset;
      const wnd = Math.min(this.sndWnd, this.cc.cwnd);
      const usable = seqDiff(seqAdd(this.sndUna, wnd), seq);
      const isRexmit = seqLt(seq, this.sndMax);
      if (avail > 0) {
        let len = Math.min(avail, mss);
        if (usable < len) {
          // Window-limited. Send a partial segment only if it is at least half the largest
          // window the peer offered (sender SWS avoidance) or it is all there is.
          const allowSmall = usable > 0 && (usable >= this.maxSndWnd / 2 || usable >= avail);
          if (!allowSmall) {
            cwndLimited = this.cc.cwnd < this.sndWnd;
            this.armPersistIfNeeded(now);
            break;
          }
          len = usable;
        }
        if (len < mss && len === avail && !isRexmit && !this.finQueued) {
          if ((this.cork || this.moreHeld) && !pushNow) {
            // TCP_CORK / MSG_MORE: hold the partial segment; with nothing in flight the probe
            // timer sends it (Linux's 200 ms ceiling on corking).
            this.armPersistIfNeeded(now);
            break;
          }
          // Nagle (Minshall's variant, as Linux): hold a small segment while one is unacked.
          if (!this.nodelay && seqGt(this.sndSml, this.sndUna)) break;
        }
        const end = seqAdd(seq, len);
        // PSH (Linux tcp_push): on the segment holding the end of a write() sent without
        // MSG_MORE, and on the last segment of a burst the windows cut short (TSO bursts carry it).
        const nextAvail = avail - len;
        const lastOfBurst = nextAvail > 0 && usable - len < Math.min(nextAvail, mss);
        let flags = ACK;
        if (lastOfBurst || this.holdsPushMark(seq, end)) flags |= PSH;
        if (this.finQueued && end === this.dataEnd) flags |= FIN;
        const payload = this.sendq.peek(offset, len);
        const why: SendReason = isRexmit ? 'retransmit-rto' : 'data';
        this.emit(
          this.buildPacket(flags, seq, payload, this.dataOptions(now, true)),
          why,
          isRexmit ? Math.max(1, this.retries) : undefined,
        );
        this.afterSend(now, seq, end, flags, len < mss);
        continue;
      }
      if (this.finQueued && seq === this.dataEnd) {
        // A FIN of its own (it takes no window).
        const why: SendReason = isRexmit ? 'retransmit-rto' : 'fin';
        this.emit(
          this.buildPacket(ACK | FIN, seq, NO_PAYLOAD, this.dataOptions(now, true)),
          why,
          isRexmit ? Math.max(1, this.retries) : undefined,
        );
        this.afterSend(now, seq, seq, ACK | FIN, false);
      }
      break;
    }
    this.noteCwndUse(cwndLimited);
  }

  /**
   * Linux tcp_cwnd_validate: remember the largest flight of the current window and whether cwnd
   * was what stopped us, so an application-limited sender does not grow cwnd (RFC 7661).
   */
  private noteCwndUse(limited: boolean): void {
    const flight = this.flight;
    if (!seqLt(this.sndUna, this.cwndUsageSeq) || limited || flight > this.maxFlight) {
      this.maxFlight = flight;
      this.cwndUsageSeq = this.sndNxt;
      this.wasCwndLimited = limited;
    }
  }

  private addPushMark(m: number): void {
    this.pushMarks.add(m);
  }

  /** Whether [seq, end) holds the last byte of a write() or a segment that went out with PSH. */
  private holdsPushMark(seq: number, end: number): boolean {
    return this.pushMarks.within(seq, end);
  }

  /** Linux tcp_is_cwnd_limited. */
  private get isCwndLimited(): boolean {
    if (this.wasCwndLimited) return true;
    return this.cc.cwnd < this.cc.ssthresh && this.cc.cwnd < 2 * this.maxFlight;
  }

  /** Sends what TCP_CORK or MSG_MORE held, once (setting TCP_NODELAY or clearing TCP_CORK). */
  pushPending(now: number): void {
    if (this.synchronized && this.state !== 'TIME-WAIT') this.sendData(now, true);
  }

  private afterSend(now: number, seq: number, end: number, flags: number, small: boolean): void {
    if (flags & PSH) this.addPushMark(end);
    const next = flags & FIN ? seqAdd(end, 1) : end;
    if (seqGe(seq, this.sndMax)) this.sendLog.sent(next, now);
    else this.sendLog.retransmitted(seq, next);
    if (seqGt(next, this.sndMax) && this.sndUna === this.sndMax) this.firstUnackedAt = now;
    this.sndNxt = next;
    if (seqGt(next, this.sndMax)) this.sndMax = next;
    if (small) this.sndSml = end;
    if (!this.timers.has('retransmit')) this.setTimer('retransmit', this.rexmitDeadline(now));
    if (this.timers.has('persist')) this.cancelTimer('persist');
  }

  /**
   * RFC 9293 §3.8.6.1 and RFC 1122 §4.2.2.17: data is waiting, the peer's window is too small for
   * it and nothing is in flight, so no ACK will come to reopen it: probe (Linux arms its probe0
   * timer in the same case, tcp_check_probe_timer).
   */
  private armPersistIfNeeded(now: number): void {
    if (this.sndUna !== this.sndMax || this.timers.has('persist') || this.timers.has('retransmit')) return;
    const interval = Math.min(
      this.config.persistMaxMs,
      Math.max(this.rtt.rto, this.config.rtoMinMs) * 2 ** this.persistBackoff,
    );
    this.setTimer('persist', now + interval);
  }

  /**
   * The persist timer fired (Linux tcp_write_wakeup): if the window has room, send as much as fits
   * even if it is small; if it is zero, send an ACK with SEG.SEQ = SND.UNA − 1 and no data, which
   * the peer must answer with an ACK carrying its current window (tcp_xmit_probe_skb).
   */
  private onPersist(now: number): void {
    this.persistBackoff = Math.min(this.persistBackoff + 1, 16);
    const usable = seqDiff(seqAdd(this.sndUna, this.sndWnd), this.sndNxt);
    const offset = seqDiff(this.sndNxt, this.sndBufSeq);
    const avail = this.sendq.length - offset;
    if (usable > 0 && avail > 0) {
      const seq = this.sndNxt;
      const len = Math.min(usable, avail, this.sendMss);
      const end = seqAdd(seq, len);
      const flags = ACK | PSH; // Linux tcp_write_wakeup always pushes what it sends
      // With room for the data it is a plain send (held by TCP_CORK or MSG_MORE), else a probe.
      const why: SendReason =
        len >= Math.min(avail, this.sendMss) && this.sndWnd > 0 ? 'data' : 'persist-probe';
      this.emit(this.buildPacket(flags, seq, this.sendq.peek(offset, len), this.dataOptions(now, true)), why);
      this.afterSend(now, seq, end, flags, len < this.sendMss);
      return;
    }
    this.sendControl(now, ACK, seqAdd(this.sndUna, -1), 'persist-probe');
    if (avail > 0 || (this.finQueued && !this.finSent)) this.armPersistIfNeeded(now);
  }

  // ---------------------------------------------------------------------------------------------
  // Timers

  private onTimer(now: number, kind: TimerKind): void {
    switch (kind) {
      case 'retransmit':
        this.onRetransmitTimeout(now);
        break;
      case 'persist':
        this.onPersist(now);
        break;
      case 'delayed-ack':
        if (this.synchronized) this.sendAck(now, 'delayed-ack');
        break;
      case 'time-wait':
        this.closeReason = '2·MSL elapsed in TIME-WAIT';
        this.setState('CLOSED', 'TIME-WAIT timer (2·MSL) expired');
        break;
      case 'fin-wait-2':
        this.closeReason = 'orphaned FIN-WAIT-2 timed out (tcp_fin_timeout)';
        this.setState('CLOSED', 'FIN-WAIT-2 timeout (tcp_fin_timeout) on an orphaned socket');
        break;
      case 'keepalive':
        this.onKeepalive(now);
        break;
      case 'linger':
        break;
    }
  }

  private onRetransmitTimeout(now: number): void {
    const limit =
      this.state === 'SYN-SENT'
        ? this.config.synRetries
        : this.state === 'SYN-RECEIVED'
          ? this.config.synAckRetries
          : this.config.retries;
    const userTimedOut = this.userTimeoutMs > 0 && now - this.firstUnackedAt >= this.userTimeoutMs;
    if (this.retries >= limit || userTimedOut) {
      if (this.state === 'SYN-RECEIVED' && this.parent) {
        this.abort(now, 'SYN-ACK retransmissions exhausted: half-open connection dropped', undefined);
        return;
      }
      // Linux gives up silently: no RST is sent when retransmissions run out.
      this.abort(now, 'retransmissions exhausted: connection timed out', 'ETIMEDOUT');
      return;
    }
    this.retries++;
    this.rtt.onTimeout();
    this.rttSeq = undefined;
    if (this.state === 'SYN-SENT' || this.state === 'SYN-RECEIVED') {
      this.sendSyn(now, true);
      this.setTimer('retransmit', this.rexmitDeadline(now));
      return;
    }
    // RFC 5681 §3.1 / RFC 6582 §4: collapse cwnd and go back to SND.UNA. The head segment is
    // resent even into a zero window (Linux tcp_retransmit_timer); the rest follows as ACKs return.
    this.cc.onTimeout(this.flight, this.sndMax, this.retries === 1);
    this.host.ccEvent(this, 'retransmission timeout');
    const resent = this.retransmitHead(now, 'retransmit-rto');
    this.sndNxt = seqAdd(this.sndUna, resent);
    this.setTimer('retransmit', this.rexmitDeadline(now));
    this.sendData(now);
    if (this.ackNow) this.sendAck(now);
  }

  /**
   * When the retransmission timer should fire: one RTO from now, but never after the
   * TCP_USER_TIMEOUT deadline of the oldest unacknowledged data (Linux
   * tcp_clamp_rto_to_user_timeout).
   */
  private rexmitDeadline(now: number): number {
    const at = now + this.rtt.rto;
    if (this.userTimeoutMs <= 0 || !this.synchronized) return at;
    return Math.max(now, Math.min(at, this.firstUnackedAt + this.userTimeoutMs));
  }

  armKeepalive(now: number): void {
    if (!this.keepalive || !this.synchronized) return;
    this.keepaliveProbes = 0;
    this.setTimer('keepalive', now + this.config.keepaliveIdleMs);
  }

  /**
   * Linux tcp_keepalive_timer: idle time counts from the last segment received; nothing is probed
   * while data is in flight or waiting; an answered probe starts a new idle period; after the last
   * unanswered probe the connection is reset and fails with ETIMEDOUT.
   */
  private onKeepalive(now: number): void {
    if (this.state !== 'ESTABLISHED' && this.state !== 'CLOSE-WAIT') return;
    const c = this.config;
    if (this.flight > 0 || seqLt(this.sndNxt, this.dataEnd)) {
      this.setTimer('keepalive', now + c.keepaliveIdleMs);
      return;
    }
    const idle = now - this.lastRcvAt;
    if (idle < c.keepaliveIdleMs && (this.keepaliveProbes === 0 || idle < c.keepaliveIntervalMs)) {
      this.keepaliveProbes = 0;
      this.setTimer('keepalive', this.lastRcvAt + c.keepaliveIdleMs);
      return;
    }
    if (this.keepaliveProbes >= c.keepaliveProbes) {
      this.sendRst(now);
      this.abort(now, 'keep-alive probes unanswered: connection timed out', 'ETIMEDOUT');
      return;
    }
    this.keepaliveProbes++;
    this.sendControl(now, ACK, seqAdd(this.sndUna, -1), 'keepalive');
    this.setTimer('keepalive', now + c.keepaliveIntervalMs);
  }

  // ---------------------------------------------------------------------------------------------
  // Application calls (the host validates descriptors and blocking)

  /** Queues the bytes of `data` from `offset` on; returns how many fit in the send buffer. */
  write(now: number, data: Uint8Array, more = false, offset = 0): number {
    const n = Math.min(data.length - offset, this.sendSpace);
    if (n > 0) {
      if (this.sendq.length === 0 && this.sndUna === this.sndMax) this.firstUnackedAt = now;
      this.sendq.push(offset === 0 && n === data.length ? data : data.subarray(offset, offset + n));
      // MSG_MORE holds partial segments for this call's push only (Linux tcp_push).
      if (!more) this.addPushMark(this.dataEnd);
      this.moreHeld = more;
      this.output(now);
      this.moreHeld = false;
    }
    return n;
  }

  /** Takes up to `max` readable bytes and opens the window if that frees enough room. */
  read(now: number, max: number, peek: boolean): Uint8Array {
    const data = peek ? copyBytes(this.rcv.readable.peek(0, max)) : this.rcv.readable.take(max);
    if (!peek) this.afterRead(now, data.length);
    return data;
  }

  /** Like `read`, into the caller's buffer; returns the number of bytes. */
  readInto(now: number, into: Uint8Array, max: number, peek: boolean): number {
    const n = this.rcv.readable.copyTo(into, Math.min(max, into.length));
    if (!peek) {
      this.rcv.readable.drop(n);
      this.afterRead(now, n);
    }
    return n;
  }

  private afterRead(now: number, n: number): void {
    if (n > 0 && this.synchronized && this.state !== 'TIME-WAIT') {
      // Linux tcp_cleanup_rbuf: announce a window that at least doubled, once it grew by
      // min(RCV.BUFF/2, MSS) (RFC 9293 §3.8.6.2.2).
      const cur = this.rcvWnd;
      let free = this.rcvFree;
      if (free < Math.min(this.rcvBufSize / 2, this.rcvMss)) free = 0;
      if (free >= 2 * cur && free - cur >= Math.min(this.rcvBufSize / 2, this.rcvMss))
        this.sendAck(now, 'window-update');
    }
  }

  /** Queues our FIN (close or shutdown(SHUT_WR)) and moves to the closing state. */
  queueFin(now: number, cause: string): void {
    if (this.finQueued) return;
    switch (this.state) {
      case 'SYN-RECEIVED':
      case 'ESTABLISHED':
        this.finQueued = true;
        this.setState('FIN-WAIT-1', cause);
        break;
      case 'CLOSE-WAIT':
        this.finQueued = true;
        this.setState('LAST-ACK', cause);
        break;
      default:
        return;
    }
    if ((this.state as TcpState) === 'FIN-WAIT-1' && this.sndUna === this.iss) return; // SYN-RECEIVED: FIN after the handshake
    this.output(now);
  }
}

export function findTimestamps(seg: TcpSegment): { tsval: number; tsecr: number } | undefined {
  for (const o of seg.options) if (o.kind === 'timestamps') return o;
  return undefined;
}
