/**
 * Both endpoints as they were at any point of the history, rebuilt from the history alone, so a
 * student can scrub back and see every socket exactly at that moment while the room runs on.
 *
 * What comes straight from the engine's events: states and their causes (`state`), descriptors and
 * processes (`call`/`return`/`socket`), timers with their deadlines (`timer`: the RTO and
 * TIME-WAIT countdowns), cwnd and ssthresh (`cc`), listen queues (`socket` with a parent and
 * the child's states). What is read off the wire, as a capture would: ISS/IRS, SND.UNA (highest
 * ACK that arrived), SND.NXT and SND.MAX (the sequence space sent), RCV.NXT (the ACK the socket
 * last sent, advanced by in-order arrivals since), RCV.WND (the window it last announced) and the
 * peer's window. Buffers: bytes accepted by send() and read by recv() from the call results.
 *
 * `EndpointModel` folds items one at a time and keeps a checkpoint every `CHECKPOINT_EVERY` items,
 * so the state at any position costs at most that many steps.
 */
import { ACK, FIN, ipToString, RST, SYN } from '../../../shared/tcp/packet.ts';
import { seqGt, seqLt } from '../../../shared/tcp/seq.ts';
import type { TcpState, TimerKind } from '../../../shared/tcp/types.ts';
import type { HistoryItem, Side, WireEvent, WireResult } from './history.ts';
import type { RawHeader } from './packet-view.ts';
import type { SegmentTable } from './segments.ts';

export interface Transition {
  from: TcpState;
  to: TcpState;
  cause: string;
  n: number;
  t: number;
}

export interface SockView {
  id: number;
  state: TcpState;
  last?: Transition;
  /** The listener of a connection that has not been accepted yet. */
  parent?: number;
  localPort: number;
  remoteAddr: number;
  remotePort: number;
  listen?: { backlog: number; syn: number[]; accept: number[] };
  /** Pending timers by kind: their deadlines (virtual ms). */
  timers: Partial<Record<TimerKind, number>>;
  cc?: { cwnd: number; ssthresh: number; phase: string; cause: string };
  iss?: number;
  irs?: number;
  sndUna?: number;
  sndNxt?: number;
  sndMax?: number;
  /** The peer's last announced window (scaled), as known here. */
  sndWnd?: number;
  rcvNxt?: number;
  /** The window this socket last announced (scaled). */
  rcvWnd?: number;
  /** Window scale shifts: offered by this socket / by the peer (both needed to scale). */
  myShift?: number;
  peerShift?: number;
  mss?: number;
  peerMss?: number;
  /** Bytes accepted by send() and read by recv(). */
  written: number;
  read: number;
  /** Out-of-order ranges held by the receiver, [start, end) absolute. */
  ooo: Array<[number, number]>;
  finSent: boolean;
  finRcvd: boolean;
  shutRd: boolean;
  shutWr: boolean;
  opts: {
    linger?: { onoff: boolean; lingerSec: number };
    reuseAddr?: boolean;
    nodelay?: boolean;
    nonblocking?: boolean;
  };
  segsSent: number;
  retransmits: number;
  freed: boolean;
  freedAt?: number;
  /** Last text read by recv(). */
  lastRecv?: string;
}

export interface CallView {
  callId: number;
  pid: number;
  op: string;
  fd?: number;
  args: Record<string, unknown>;
  n: number;
  t: number;
  result?: WireResult;
  returnN?: number;
  returnT?: number;
}

export interface HostView {
  side: Side;
  socks: Record<number, SockView>;
  /** pid → fd → socket id. */
  procs: Record<number, Record<number, number>>;
  /** Calls still blocked, by callId. */
  pending: Record<number, CallView>;
  /** The latest calls, oldest first (at most `MAX_CALLS`). */
  calls: CallView[];
  /** Socket created by the socket() call being made (between its call and return events). */
  created?: number;
  lastArrival?: RawHeader;
}

export interface RoomView {
  /** Index of the last item folded in (-1: none). */
  index: number;
  t: number;
  A: HostView;
  B: HostView;
}

export const CHECKPOINT_EVERY = 256;
const MAX_CALLS = 24;
const MAX_FREED = 6;

export function emptyHost(side: Side): HostView {
  return { side, socks: {}, procs: { 1: {} }, pending: {}, calls: [] };
}

export function emptyRoom(): RoomView {
  return { index: -1, t: 0, A: emptyHost('A'), B: emptyHost('B') };
}

function newSock(id: number): SockView {
  return {
    id,
    state: 'CLOSED',
    localPort: 0,
    remoteAddr: 0,
    remotePort: 0,
    timers: {},
    written: 0,
    read: 0,
    ooo: [],
    finSent: false,
    finRcvd: false,
    shutRd: false,
    shutWr: false,
    opts: {},
    segsSent: 0,
    retransmits: 0,
    freed: false,
  };
}

/** Descriptors (pid, fd) that refer to socket `id`. */
export function descriptorsOf(host: HostView, id: number): Array<{ pid: number; fd: number }> {
  const out: Array<{ pid: number; fd: number }> = [];
  for (const [pid, table] of Object.entries(host.procs))
    for (const [fd, s] of Object.entries(table)) if (s === id) out.push({ pid: Number(pid), fd: Number(fd) });
  return out;
}

/** Bytes in the receive buffer not read yet (in-order data only). */
export function unreadBytes(s: SockView): number {
  if (s.irs === undefined || s.rcvNxt === undefined) return 0;
  const got = ((s.rcvNxt - s.irs - 1) >>> 0) - (s.finRcvd ? 1 : 0);
  return Math.max(0, got - s.read);
}

/** Send buffer: acknowledged, in flight and not yet sent, in bytes of data. */
export function sendBuffer(s: SockView): { acked: number; inFlight: number; unsent: number } {
  if (s.iss === undefined) return { acked: 0, inFlight: 0, unsent: s.written };
  const una = s.sndUna ?? s.iss;
  const nxt = s.sndMax ?? s.iss;
  let acked = Math.max(0, ((una - s.iss) >>> 0) - 1);
  let sent = Math.max(0, ((nxt - s.iss) >>> 0) - 1);
  if (s.finSent) {
    // The FIN takes one sequence number after the data.
    sent = Math.min(sent, s.written);
    acked = Math.min(acked, s.written);
  }
  acked = Math.min(acked, s.written);
  sent = Math.min(Math.max(sent, acked), s.written);
  return { acked, inFlight: sent - acked, unsent: Math.max(0, s.written - sent) };
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Length of `b` without a UTF-8 character cut in half at its end (a prefix of longer text). */
function wholeUtf8(b: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, b.length); back++) {
    const c = b[b.length - back]!;
    if ((c & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return need > back ? b.length - back : b.length;
  }
  return b.length;
}

/** A byte above 0x7f in a binary string (from `atob`). */
const NOT_ASCII = /[\x80-\xff]/;

/** Bytes of a result's text kept for display (a recv() may return 64 KiB). */
const PREVIEW_BYTES = 96;

/**
 * Length of a recv() result as it travels (`{b64}` from the server, `{b64, bytes, truncated}` when
 * the headers-first replay shortened it, `{bytes, text}` in a trace
 * preview) and, when printable, the text of its first `PREVIEW_BYTES` bytes: only that prefix is
 * decoded, so a long history of big reads stays cheap to fold.
 */
export function resultBytes(value: unknown): { len: number; text?: string } | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.b64 === 'string') {
    const b64 = v.b64;
    const pad = b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0;
    // The headers-first replay shortens long values to their first bytes and their length.
    const shortened = v.truncated === true && typeof v.bytes === 'number';
    const len = shortened ? (v.bytes as number) : (b64.length / 4) * 3 - pad;
    const head = b64.length > (PREVIEW_BYTES / 3) * 4 ? b64.slice(0, (PREVIEW_BYTES / 3) * 4) : b64;
    const more = head.length < b64.length || (shortened && len > (head.length / 4) * 3 - pad);
    let text: string | undefined;
    try {
      const bin = atob(head);
      if (!NOT_ASCII.test(bin)) {
        // ASCII is its own UTF-8: the binary string is the text (no bytes to build and decode).
        return { len, text: more ? `${bin}…` : bin };
      }
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      text = UTF8.decode(more ? bytes.subarray(0, wholeUtf8(bytes)) : bytes);
      if (more) text += '…';
    } catch {
      text = undefined;
    }
    return text === undefined ? { len } : { len, text };
  }
  if (typeof v.bytes === 'number') {
    return typeof v.text === 'string' ? { len: v.bytes, text: v.text } : { len: v.bytes };
  }
  return undefined;
}

function cloneSock(s: SockView): SockView {
  const c: SockView = {
    ...s,
    timers: { ...s.timers },
    ooo: s.ooo.map((r) => [r[0], r[1]]),
    opts: { ...s.opts },
  };
  if (s.listen)
    c.listen = { backlog: s.listen.backlog, syn: s.listen.syn.slice(), accept: s.listen.accept.slice() };
  if (s.cc) c.cc = { ...s.cc };
  if (s.opts.linger) c.opts.linger = { ...s.opts.linger };
  return c;
}

function cloneCall(c: CallView): CallView {
  return { ...c };
}

function cloneHost(h: HostView): HostView {
  const socks: Record<number, SockView> = {};
  for (const [id, s] of Object.entries(h.socks)) socks[Number(id)] = cloneSock(s);
  const procs: Record<number, Record<number, number>> = {};
  for (const [pid, t] of Object.entries(h.procs)) procs[Number(pid)] = { ...t };
  const calls = h.calls.map(cloneCall);
  const byId = new Map(calls.map((c) => [c.callId, c]));
  const pending: Record<number, CallView> = {};
  for (const [id, c] of Object.entries(h.pending)) pending[Number(id)] = byId.get(c.callId) ?? cloneCall(c);
  const out: HostView = { side: h.side, socks, procs, pending, calls };
  if (h.created !== undefined) out.created = h.created;
  if (h.lastArrival) out.lastArrival = h.lastArrival;
  return out;
}

/** A deep copy (call objects shared between `pending` and `calls` stay shared). */
export function cloneRoom(v: RoomView): RoomView {
  return { index: v.index, t: v.t, A: cloneHost(v.A), B: cloneHost(v.B) };
}

export class EndpointModel {
  live: RoomView = emptyRoom();
  private checkpoints: RoomView[] = [];
  private readonly addrs: Record<Side, number>;

  constructor(
    private readonly items: readonly HistoryItem[],
    private readonly segments: SegmentTable,
    addrs: Record<Side, number>,
  ) {
    this.addrs = addrs;
  }

  /** Folds every item not folded yet into the live view. */
  catchUp(): void {
    while (this.live.index < this.items.length - 1) {
      const i = this.live.index + 1;
      if (i % CHECKPOINT_EVERY === 0 && this.checkpoints.length === i / CHECKPOINT_EVERY) {
        this.checkpoints.push(cloneRoom(this.live));
      }
      this.apply(this.live, this.items[i]!, i);
    }
  }

  /** The endpoints right after item `index` (-1: before anything). */
  at(index: number): RoomView {
    this.catchUp();
    if (index >= this.live.index) return this.live;
    if (index < 0) return emptyRoom();
    const k = Math.min(Math.floor((index + 1) / CHECKPOINT_EVERY), this.checkpoints.length - 1);
    const view = k >= 0 ? cloneRoom(this.checkpoints[k]!) : emptyRoom();
    for (let i = view.index + 1; i <= index; i++) this.apply(view, this.items[i]!, i);
    return view;
  }

  apply(view: RoomView, item: HistoryItem, index: number): void {
    view.index = index;
    view.t = item.t;
    if (item.kind === 'frame') {
      const f = item.frame;
      const seg = this.segments.get(f.segId);
      const h = seg?.h;
      if (!h) return;
      if (f.fate === 'sent') this.onSent(view[f.dir === 'AB' ? 'A' : 'B'], h, f.rexmit > 0);
      else if (f.fate === 'arrived') this.onArrived(view[f.dir === 'AB' ? 'B' : 'A'], h, seg.win);
      return;
    }
    const e = item.event;
    const side = (e as { host?: unknown }).host;
    if (side !== 'A' && side !== 'B') return;
    this.onEvent(view[side], e, item.n);
  }

  // ── events ──────────────────────────────────────────────────────────────────────────────────

  private onEvent(host: HostView, e: WireEvent, n: number): void {
    switch (e.type) {
      case 'socket': {
        const ev = e as Extract<WireEvent, { type: 'socket' }> & {
          sock: number;
          action: string;
          parent?: number;
        };
        if (ev.action === 'create') {
          const s = newSock(ev.sock);
          host.socks[ev.sock] = s;
          if (ev.parent !== undefined) {
            s.parent = ev.parent;
            s.state = 'LISTEN';
            const parent = host.socks[ev.parent];
            if (parent) s.opts = { ...parent.opts };
            const a = host.lastArrival;
            if (a) {
              s.localPort = a.dstPort;
              s.remoteAddr = a.src;
              s.remotePort = a.srcPort;
              s.irs = a.seq;
              s.rcvNxt = (a.seq + 1) >>> 0;
              s.peerShift = a.wscale;
              s.peerMss = a.mss;
              s.sndWnd = a.window;
            }
          } else {
            host.created = ev.sock;
          }
        } else {
          const s = host.socks[ev.sock];
          if (s) {
            s.freed = true;
            s.freedAt = e.t;
            s.timers = {};
            this.forgetChild(host, s);
            this.trimFreed(host);
          }
        }
        return;
      }
      case 'state': {
        const ev = e as Extract<WireEvent, { type: 'state' }> & {
          sock: number;
          from: TcpState;
          to: TcpState;
          cause: string;
        };
        let s = host.socks[ev.sock];
        if (!s) {
          s = newSock(ev.sock);
          host.socks[ev.sock] = s;
        }
        s.state = ev.to;
        s.last = { from: ev.from, to: ev.to, cause: ev.cause, n, t: e.t };
        if (s.parent !== undefined) {
          const p = host.socks[s.parent];
          if (p?.listen) {
            p.listen.syn = p.listen.syn.filter((x) => x !== s.id);
            p.listen.accept = p.listen.accept.filter((x) => x !== s.id);
            if (ev.to === 'SYN-RECEIVED') p.listen.syn.push(s.id);
            else if (ev.to === 'ESTABLISHED' || ev.to === 'CLOSE-WAIT') p.listen.accept.push(s.id);
          }
        }
        if (ev.to === 'LISTEN' && s.parent === undefined) s.listen ??= { backlog: 128, syn: [], accept: [] };
        if (ev.to !== 'LISTEN' && s.parent === undefined) s.listen = undefined;
        if (ev.to === 'CLOSED') this.forgetChild(host, s);
        return;
      }
      case 'timer': {
        const ev = e as Extract<WireEvent, { type: 'timer' }> & {
          sock: number;
          kind: TimerKind;
          action: string;
          deadline: number;
        };
        const s = host.socks[ev.sock];
        if (!s) return;
        if (ev.action === 'set') s.timers[ev.kind] = ev.deadline;
        else delete s.timers[ev.kind];
        return;
      }
      case 'cc': {
        const ev = e as Extract<WireEvent, { type: 'cc' }> & {
          sock: number;
          cwnd: number;
          ssthresh: number;
          phase: string;
          cause: string;
        };
        const s = host.socks[ev.sock];
        if (s) s.cc = { cwnd: ev.cwnd, ssthresh: ev.ssthresh, phase: ev.phase, cause: ev.cause };
        return;
      }
      case 'call':
        this.onCall(host, e as Extract<WireEvent, { type: 'call' }> & { callId: number }, n);
        return;
      case 'return':
        this.onReturn(host, e as Extract<WireEvent, { type: 'return' }> & { callId: number }, n);
        return;
      default:
        return;
    }
  }

  private forgetChild(host: HostView, s: SockView): void {
    if (s.parent === undefined) return;
    const p = host.socks[s.parent];
    if (p?.listen) {
      p.listen.syn = p.listen.syn.filter((x) => x !== s.id);
      p.listen.accept = p.listen.accept.filter((x) => x !== s.id);
    }
  }

  private trimFreed(host: HostView): void {
    const freed = Object.values(host.socks).filter((s) => s.freed);
    if (freed.length <= MAX_FREED) return;
    freed.sort((a, b) => (a.freedAt ?? 0) - (b.freedAt ?? 0) || a.id - b.id);
    for (const s of freed.slice(0, freed.length - MAX_FREED)) delete host.socks[s.id];
  }

  private onCall(
    host: HostView,
    e: { callId: number; pid: number; op: string; fd?: number; args: unknown; t: number },
    n: number,
  ): void {
    const args = e.args && typeof e.args === 'object' ? (e.args as Record<string, unknown>) : {};
    const call: CallView = { callId: e.callId, pid: e.pid, op: e.op, args, n, t: e.t };
    if (e.fd !== undefined) call.fd = e.fd;
    host.pending[e.callId] = call;
    host.calls.push(call);
    if (host.calls.length > MAX_CALLS) host.calls.splice(0, host.calls.length - MAX_CALLS);
    host.created = undefined;
    const table = host.procs[e.pid];
    const sockId = e.fd !== undefined ? table?.[e.fd] : undefined;
    const s = sockId !== undefined ? host.socks[sockId] : undefined;
    if (e.op === 'connect' && s && (s.state === 'CLOSED' || s.remotePort === 0)) {
      const addr = num(args.addr);
      const port = num(args.port);
      if (addr !== undefined && port !== undefined) {
        s.remoteAddr = addr >>> 0;
        s.remotePort = port;
      }
    }
    if (e.op === 'close' && table && e.fd !== undefined && sockId !== undefined) {
      // The descriptor goes at once (a lingering close may still block, but the fd is gone).
      delete table[e.fd];
    }
  }

  private onReturn(
    host: HostView,
    e: { callId: number; pid: number; op: string; fd?: number; result: unknown; t: number },
    n: number,
  ): void {
    const call = host.pending[e.callId] ?? host.calls.find((c) => c.callId === e.callId);
    delete host.pending[e.callId];
    const result = (e.result ?? { ok: false, errno: 'EINVAL', message: '?' }) as WireResult;
    if (call) {
      call.result = result;
      call.returnN = n;
      call.returnT = e.t;
    }
    const table = (host.procs[e.pid] ??= {});
    const sockId = e.fd !== undefined ? table[e.fd] : undefined;
    const s = sockId !== undefined ? host.socks[sockId] : undefined;
    const args = call?.args ?? {};
    if (!result.ok) {
      if (e.op === 'socket') host.created = undefined;
      return;
    }
    const value = result.value;
    switch (e.op) {
      case 'socket': {
        const fd = num(value);
        if (fd !== undefined && host.created !== undefined) {
          table[fd] = host.created;
          const ns = host.socks[host.created];
          if (ns && args.nonblocking === true) ns.opts.nonblocking = true;
        }
        host.created = undefined;
        return;
      }
      case 'bind':
        if (s) {
          const port = num(args.port);
          if (port) s.localPort = port;
        }
        return;
      case 'listen':
        if (s) {
          const backlog = num(args.backlog) ?? 128;
          s.listen = s.listen ? { ...s.listen, backlog } : { backlog, syn: [], accept: [] };
        }
        return;
      case 'accept': {
        const v = value as { fd?: unknown; peerAddr?: unknown; peerPort?: unknown } | null;
        const fd = num(v?.fd);
        if (fd === undefined || sockId === undefined) return;
        const listener = host.socks[sockId];
        const peerAddr = num(v?.peerAddr);
        const peerPort = num(v?.peerPort);
        let child = Object.values(host.socks).find(
          (c) =>
            c.parent === sockId &&
            !c.freed &&
            c.remotePort === peerPort &&
            (peerAddr === undefined || c.remoteAddr === peerAddr),
        );
        if (!child && listener?.listen?.accept.length) child = host.socks[listener.listen.accept[0]!];
        if (!child) return;
        if (listener?.listen) {
          listener.listen.accept = listener.listen.accept.filter((x) => x !== child!.id);
          listener.listen.syn = listener.listen.syn.filter((x) => x !== child!.id);
        }
        child.parent = undefined;
        table[fd] = child.id;
        return;
      }
      case 'dup': {
        const fd = num(value);
        if (fd !== undefined && sockId !== undefined) table[fd] = sockId;
        return;
      }
      case 'fork': {
        const pid = num(value);
        if (pid !== undefined) host.procs[pid] = { ...table };
        return;
      }
      case 'send': {
        const sent = num(value);
        if (s && sent !== undefined) s.written += sent;
        return;
      }
      case 'recv': {
        const b = resultBytes(value);
        if (s && b && args.peek !== true) {
          s.read += b.len;
          if (b.text !== undefined && b.len > 0) s.lastRecv = b.text;
        }
        return;
      }
      case 'shutdown':
        if (s) {
          const how = args.how;
          if (how === 'SHUT_RD' || how === 'SHUT_RDWR') s.shutRd = true;
          if (how === 'SHUT_WR' || how === 'SHUT_RDWR') s.shutWr = true;
        }
        return;
      case 'setsockopt':
        if (s) {
          const opt = args.opt;
          const v = args.value;
          if (opt === 'SO_LINGER' && v && typeof v === 'object') {
            const l = v as { onoff?: unknown; lingerSec?: unknown };
            s.opts.linger = { onoff: l.onoff === true, lingerSec: num(l.lingerSec) ?? 0 };
          } else if (opt === 'SO_REUSEADDR') s.opts.reuseAddr = v === true || v === 1;
          else if (opt === 'TCP_NODELAY') s.opts.nodelay = v === true || v === 1;
          else if (opt === 'O_NONBLOCK') s.opts.nonblocking = v === true || v === 1;
        }
        return;
      default:
        return;
    }
  }

  // ── segments ────────────────────────────────────────────────────────────────────────────────

  /** The socket of `host` that owns a 4-tuple (local port, remote address and port). */
  private find(
    host: HostView,
    localPort: number,
    remoteAddr: number,
    remotePort: number,
  ): SockView | undefined {
    let best: SockView | undefined;
    const socks = host.socks;
    for (const k in socks) {
      const s = socks[k]!;
      if (s.freed || s.state === 'LISTEN') continue;
      if (s.remotePort !== remotePort || s.remoteAddr !== remoteAddr) continue;
      if (s.localPort !== localPort && s.localPort !== 0) continue;
      if (
        !best ||
        (best.state === 'CLOSED' && s.state !== 'CLOSED') ||
        (s.state !== 'CLOSED' && s.id > best.id)
      )
        best = s;
    }
    return best;
  }

  private onSent(host: HostView, h: RawHeader, rexmit: boolean): void {
    if (h.src !== this.addrs[host.side]) return;
    const s = this.find(host, h.srcPort, h.dst, h.dstPort);
    if (!s) return;
    if (s.localPort === 0) s.localPort = h.srcPort;
    const len = h.payloadLen + (h.flags & SYN ? 1 : 0) + (h.flags & FIN ? 1 : 0);
    if (h.flags & RST) return;
    if (h.flags & SYN) {
      s.iss = h.seq;
      s.myShift = h.wscale;
      s.mss = h.mss;
      s.sndUna ??= h.seq;
    }
    if (h.flags & FIN) s.finSent = true;
    s.segsSent++;
    if (rexmit) s.retransmits++;
    const end = (h.seq + len) >>> 0;
    if (len > 0) {
      s.sndNxt = end;
      if (s.sndMax === undefined || seqGt(end, s.sndMax)) s.sndMax = end;
    } else if (s.sndNxt === undefined) {
      s.sndNxt = h.seq;
      s.sndMax = h.seq;
    }
    if (h.flags & ACK) {
      s.rcvNxt = h.ack;
      const scaled = !(h.flags & SYN) && s.myShift !== undefined && s.peerShift !== undefined;
      s.rcvWnd = scaled ? h.window * 2 ** s.myShift! : h.window;
      // Out-of-order ranges below the acknowledged point have been absorbed.
      s.ooo = s.ooo.filter(([, e]) => seqGt(e, h.ack));
    }
  }

  private onArrived(host: HostView, h: RawHeader, scaledWin: number): void {
    if (h.dst !== this.addrs[host.side]) return;
    host.lastArrival = h;
    const s = this.find(host, h.dstPort, h.src, h.srcPort);
    if (!s) return;
    if (h.flags & RST) return;
    if (h.flags & SYN) {
      s.irs = h.seq;
      s.peerShift = h.wscale;
      s.peerMss = h.mss;
      if (s.rcvNxt === undefined || !seqGt(s.rcvNxt, h.seq)) s.rcvNxt = (h.seq + 1) >>> 0;
    }
    if (h.flags & ACK) {
      if (s.sndUna === undefined || seqGt(h.ack, s.sndUna)) {
        if (s.sndMax === undefined || !seqGt(h.ack, s.sndMax)) s.sndUna = h.ack;
      }
      s.sndWnd = scaledWin;
    } else if (h.flags & SYN) {
      s.sndWnd = h.window;
    }
    // RCV.NXT advances over in-order data (and a FIN) until the next ACK we send confirms it.
    const dataLen = h.payloadLen + (h.flags & FIN ? 1 : 0);
    if (dataLen === 0 || s.rcvNxt === undefined) return;
    const seq = (h.flags & SYN ? h.seq + 1 : h.seq) >>> 0;
    const end = (seq + dataLen) >>> 0;
    if (seqGt(seq, s.rcvNxt)) {
      s.ooo.push([seq, end]);
      return;
    }
    if (seqGt(end, s.rcvNxt)) {
      s.rcvNxt = end;
      if (h.flags & FIN) s.finRcvd = true;
    }
    // Fill from the out-of-order queue.
    let moved = true;
    while (moved) {
      moved = false;
      for (const r of s.ooo) {
        if (!seqGt(r[0], s.rcvNxt) && seqGt(r[1], s.rcvNxt)) {
          s.rcvNxt = r[1];
          moved = true;
        }
      }
    }
    s.ooo = s.ooo.filter(([, e]) => seqGt(e, s.rcvNxt!));
    if (seqLt(s.rcvNxt, end) && h.flags & FIN) s.finRcvd = false;
  }
}

/** The socket a side's header shows: its newest live connection, else its listener. */
export function primarySock(host: HostView): SockView | undefined {
  const rank = (s: SockView) => (s.state === 'LISTEN' ? 0 : s.state === 'CLOSED' ? 1 : 2) * 1e6 + s.id;
  let best: SockView | undefined;
  for (const s of Object.values(host.socks)) {
    if (s.freed && s.state !== 'TIME-WAIT' && s.state !== 'CLOSED') continue;
    if (!best || rank(s) > rank(best)) best = s;
  }
  return best;
}

export function sockLabel(s: SockView): string {
  const local = s.localPort ? `:${s.localPort}` : '';
  const remote = s.remotePort ? ` ↔ ${ipToString(s.remoteAddr)}:${s.remotePort}` : '';
  return `${local}${remote}`;
}
