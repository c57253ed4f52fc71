/**
 * Matching patterns against a trace. `TraceIndex` reads a trace once (calls paired with their
 * returns, each segment's send event, each host's socket state histories) so that every goal and
 * question can ask "which events match this pattern?" cheaply and explain what happened instead.
 */
import type { SegmentTrace, TraceEvent } from '../sim/trace.ts';
import type { TcpState } from '../tcp/types.ts';
import type { Pattern, SameField, SegmentPattern } from './format.ts';

export type CallEvent = Extract<TraceEvent, { type: 'call' }>;
export type ReturnEvent = Extract<TraceEvent, { type: 'return' }>;
export type StateEvent = Extract<TraceEvent, { type: 'state' }>;

/** One socket's stay in one state: entered at `from` (trace index `enter`), left at `to` (or not yet). */
export interface Stay {
  host: string;
  sock: number;
  state: TcpState;
  from: number;
  enter: number;
  to?: number;
  leave?: number;
}

/** Sequence-space length of a segment: payload plus one for SYN and one for FIN. */
export function seqLength(e: SegmentTrace): number {
  return e.len + (e.flags.includes('SYN') ? 1 : 0) + (e.flags.includes('FIN') ? 1 : 0);
}

/** The connection a segment belongs to, the same in both directions: `A:49930|B:80`. */
export function connOf(e: SegmentTrace): string {
  const a = `${e.from}:${e.sport}`;
  const b = `${e.to}:${e.dport}`;
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

export class TraceIndex {
  readonly events: readonly TraceEvent[];
  /** Virtual time of "now": the last event, unless the caller knows better. */
  readonly now: number;
  private readonly returns = new Map<string, number>();
  private readonly calls = new Map<string, number>();
  private readonly sends = new Map<number, number>();
  /** Per host and socket, its state events in order. */
  readonly histories = new Map<string, Map<number, StateEvent[]>>();
  private readonly stays: Stay[] = [];
  /** SYNs and FINs sent, per direction of a connection (`A:49930>80`): where their sequence space ends. */
  private readonly controls = new Map<string, Array<{ i: number; what: 'SYN' | 'FIN'; end: number }>>();

  constructor(events: readonly TraceEvent[], now?: number) {
    this.events = events;
    this.now = now ?? (events.length > 0 ? events[events.length - 1]!.t : 0);
    const open = new Map<string, Stay>();
    events.forEach((e, i) => {
      switch (e.type) {
        case 'call':
          this.calls.set(`${e.host}/${e.callId}`, i);
          break;
        case 'return':
          this.returns.set(`${e.host}/${e.callId}`, i);
          break;
        case 'segment':
          if (e.event === 'send' || (e.event === 'dup' && !this.sends.has(e.id))) this.sends.set(e.id, i);
          if (e.event === 'send') {
            for (const what of ['SYN', 'FIN'] as const) {
              if (!e.flags.includes(what)) continue;
              const key = `${e.from}:${e.sport}>${e.dport}`;
              let list = this.controls.get(key);
              if (!list) this.controls.set(key, (list = []));
              list.push({ i, what, end: (e.seq + seqLength(e)) >>> 0 });
            }
          }
          break;
        case 'state': {
          let socks = this.histories.get(e.host);
          if (!socks) this.histories.set(e.host, (socks = new Map()));
          let h = socks.get(e.sock);
          if (!h) socks.set(e.sock, (h = []));
          h.push(e);
          const key = `${e.host}/${e.sock}`;
          const prev = open.get(key);
          if (prev) {
            prev.to = e.t;
            prev.leave = i;
          }
          const stay: Stay = { host: e.host, sock: e.sock, state: e.to, from: e.t, enter: i };
          this.stays.push(stay);
          open.set(key, stay);
          break;
        }
        default:
          break;
      }
    });
  }

  /** The `return` event of the call at index `i`, if it has returned. */
  returnOf(i: number): ReturnEvent | undefined {
    const e = this.events[i];
    if (e?.type !== 'call') return undefined;
    const r = this.returns.get(`${e.host}/${e.callId}`);
    return r === undefined ? undefined : (this.events[r] as ReturnEvent);
  }

  /** Index of the `return` event of the call at index `i`. */
  returnIndexOf(i: number): number | undefined {
    const e = this.events[i];
    if (e?.type !== 'call') return undefined;
    return this.returns.get(`${e.host}/${e.callId}`);
  }

  /** The `call` event a `return` event answers. */
  callOf(i: number): CallEvent | undefined {
    const e = this.events[i];
    if (e?.type !== 'return') return undefined;
    const c = this.calls.get(`${e.host}/${e.callId}`);
    return c === undefined ? undefined : (this.events[c] as CallEvent);
  }

  /** The event that put segment `id` on the wire (its `send`, or `dup` for a copy). */
  sendOf(id: number): SegmentTrace | undefined {
    const i = this.sends.get(id);
    return i === undefined ? undefined : (this.events[i] as SegmentTrace);
  }

  /** Every event of segment `id` (send, arrive, drop…), in order. */
  fatesOf(id: number): Array<{ e: SegmentTrace; i: number }> {
    const out: Array<{ e: SegmentTrace; i: number }> = [];
    const start = this.sends.get(id) ?? 0;
    for (let i = start; i < this.events.length; i++) {
      const e = this.events[i]!;
      if (e.type === 'segment' && e.id === id) out.push({ e, i });
    }
    return out;
  }

  /** Every stay of `host`'s sockets in `state`, in order of entry. */
  staysIn(host: string, state: TcpState): Stay[] {
    return this.stays.filter((s) => s.host === host && s.state === state);
  }

  /** The sockets of `host` that ever left LISTEN/CLOSED, with their state paths. */
  connections(host: string): Array<{ sock: number; path: StateEvent[] }> {
    const socks = this.histories.get(host);
    if (!socks) return [];
    const out: Array<{ sock: number; path: StateEvent[] }> = [];
    for (const [sock, path] of socks) {
      if (path.some((e) => e.to !== 'LISTEN' && e.to !== 'CLOSED')) out.push({ sock, path });
    }
    return out;
  }

  /** The state `host`'s socket `sock` is in at the end of the trace. */
  lastState(host: string, sock: number): TcpState | undefined {
    const h = this.histories.get(host)?.get(sock);
    return h?.[h.length - 1]?.to;
  }

  /** Whether a segment acknowledges the other side's SYN (or FIN) on the same connection. */
  acks(e: SegmentTrace, what: 'SYN' | 'FIN', before: number): boolean {
    if (!e.flags.includes('ACK')) return false;
    const sent = this.controls.get(`${e.to}:${e.dport}>${e.sport}`) ?? [];
    return sent.some((c) => c.i < before && c.what === what && c.end === e.ack);
  }

  /** Indices of every event matching `p` (only the nth when `p.nth` is set). */
  find(p: Pattern): number[] {
    const hits: number[] = [];
    this.events.forEach((e, i) => {
      if (this.matches(p, e, i)) hits.push(i);
    });
    if (p.nth !== undefined) {
      const one = hits[p.nth - 1];
      return one === undefined ? [] : [one];
    }
    return hits;
  }

  /** Whether event `e` (at index `i`) matches pattern `p` (ignoring `nth`). */
  matches(p: Pattern, e: TraceEvent, i: number): boolean {
    switch (p.kind) {
      case 'segment':
      case 'retransmission':
        return e.type === 'segment' && this.segmentMatches(p, e, i);
      case 'state-reached':
        return (
          e.type === 'state' &&
          e.to === p.state &&
          (p.host === undefined || e.host === p.host) &&
          (p.from === undefined || e.from === p.from)
        );
      case 'call': {
        const when = p.when ?? 'call';
        if (e.type !== when) return false;
        const call = e.type === 'call' ? e : this.callOf(i);
        const ret = e.type === 'return' ? e : this.returnOf(i);
        if (!call || call.op !== p.op || (p.host !== undefined && call.host !== p.host)) return false;
        const args = (call.args ?? {}) as Record<string, unknown>;
        if (p.how !== undefined && args.how !== p.how) return false;
        if (p.opt !== undefined && args.opt !== p.opt) return false;
        if (p.ok === undefined && p.errno === undefined && p.eof === undefined) return true;
        if (!ret) return false;
        const result = ret.result as { ok: boolean; errno?: string; value?: unknown };
        if (p.ok !== undefined && result.ok !== p.ok) return false;
        if (p.errno !== undefined && (result.ok || result.errno !== p.errno)) return false;
        if (p.eof !== undefined) {
          if (!result.ok) return false;
          const v = result.value as { bytes?: number } | null;
          const eof = typeof v === 'object' && v !== null && v.bytes === 0;
          if (eof !== p.eof) return false;
        }
        return true;
      }
      case 'discard':
        return (
          e.type === 'discard' &&
          (p.host === undefined || e.host === p.host) &&
          (p.reason === undefined || e.reason === p.reason)
        );
      case 'timer':
        return (
          e.type === 'timer' &&
          e.kind === p.timer &&
          (p.host === undefined || e.host === p.host) &&
          (p.action === undefined || e.action === p.action)
        );
      case 'cc':
        return (
          e.type === 'cc' &&
          (p.host === undefined || e.host === p.host) &&
          (p.phase === undefined || e.phase === p.phase) &&
          (p.minCwnd === undefined || e.cwnd >= p.minCwnd) &&
          (p.maxCwnd === undefined || e.cwnd <= p.maxCwnd)
        );
    }
  }

  /** The segment fields of a pattern, with `retransmission` read as `rexmit: true`. */
  private segmentMatches(p: Omit<SegmentPattern, 'kind'> & { kind: string }, e: SegmentTrace, i: number) {
    const rexmit = p.kind === 'retransmission' ? true : p.rexmit;
    if (e.event !== (p.event ?? 'send')) return false;
    if (p.from !== undefined && e.from !== p.from) return false;
    if (p.to !== undefined && e.to !== p.to) return false;
    if (p.flags && !p.flags.every((f) => e.flags.includes(f.toUpperCase()))) return false;
    if (p.noFlags?.some((f) => e.flags.includes(f.toUpperCase()))) return false;
    const sent = this.sendOf(e.id) ?? e;
    if (p.why !== undefined) {
      const whys = Array.isArray(p.why) ? p.why : [p.why];
      if (sent.why === undefined || !whys.includes(sent.why)) return false;
    }
    if (rexmit !== undefined && (sent.rexmit !== undefined && sent.rexmit > 0) !== rexmit) return false;
    if (p.data !== undefined && e.len > 0 !== p.data) return false;
    if (p.len !== undefined && e.len !== p.len) return false;
    if (p.rseq !== undefined && e.rseq !== p.rseq) return false;
    if (p.rack !== undefined && e.rack !== p.rack) return false;
    if (p.win !== undefined && e.win !== p.win) return false;
    if (p.option !== undefined && !e.options.some((o) => o.kind === p.option)) return false;
    if (p.acks !== undefined && !this.acks(e, p.acks, i)) return false;
    return true;
  }

  /** The value of a `same` field for the event at index `i` (undefined when it has none). */
  sameKey(field: SameField, i: number): string | undefined {
    const e = this.events[i]!;
    switch (field) {
      case 'conn':
        return e.type === 'segment' ? connOf(e) : undefined;
      case 'seq':
        return e.type === 'segment' ? String(e.seq) : undefined;
      case 'ack':
        return e.type === 'segment' && e.flags.includes('ACK') ? String(e.ack) : undefined;
      case 'host':
        return e.type === 'segment' ? e.from : 'host' in e ? String(e.host) : undefined;
      case 'sock':
        return 'sock' in e && 'host' in e ? `${e.host}/${e.sock}` : undefined;
    }
  }

  /**
   * What made the segment at index `i` go out: the call in progress on its host at that moment,
   * a timer that fired, or a segment that had just arrived.
   */
  causeOf(
    i: number,
  ):
    | { kind: 'call'; call: CallEvent }
    | { kind: 'timer'; timer: Extract<TraceEvent, { type: 'timer' }> }
    | { kind: 'segment'; segment: SegmentTrace }
    | undefined {
    const seg = this.events[i];
    if (seg?.type !== 'segment') return undefined;
    for (let j = i - 1; j >= 0; j--) {
      const e = this.events[j]!;
      if (e.t !== seg.t) break;
      if (e.type === 'call' && e.host === seg.from) {
        const r = this.returnIndexOf(j);
        if (r === undefined || r > i) return { kind: 'call', call: e };
      }
      if (e.type === 'timer' && e.host === seg.from && e.action === 'fire')
        return { kind: 'timer', timer: e };
      if (e.type === 'segment' && e.event === 'arrive' && e.to === seg.from)
        return { kind: 'segment', segment: e };
    }
    return undefined;
  }
}
