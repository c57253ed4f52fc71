/**
 * Automatic goal checks: each goal of an exercise is a predicate over the simulator's trace.
 * `checkGoals` says which goals are met and, for each unmet one, what is missing, derived from
 * what the trace shows ("B never reached TIME-WAIT: A's FIN arrived at t=1050 ms before B
 * called close(), so B was the passive closer…"), in the student's language.
 *
 * Predicates look only at what matters to them, so harmless differences (timing, extra ACKs,
 * window updates, other connections) never make a goal fail.
 */
import type { SegmentTrace, TraceEvent } from '../sim/trace.ts';
import { seqGe } from '../tcp/seq.ts';
import type { TcpState } from '../tcp/types.ts';
import {
  callName,
  causeText,
  describePattern,
  eventName,
  ordinal,
  resultText,
  segmentName,
} from './describe.ts';
import type {
  AbsentPredicate,
  ConcurrentPredicate,
  Count,
  DurationPredicate,
  Exercise,
  Goal,
  OrderPredicate,
  Pattern,
  Predicate,
  Seat,
  SegmentPattern,
} from './format.ts';
import { type StateEvent, seqLength, TraceIndex } from './match.ts';
import { amountText, resolveAmount } from './settings.ts';
import { at, type Lang, list, ms, pick, say, sentences, tidy, times } from './text.ts';

export interface GoalResult {
  id: string;
  met: boolean;
  /** The goal's checklist line, in the language asked for. */
  text: string;
  /** When unmet: what is missing, read from the trace (then the teacher's hint, if any). */
  explanation?: string;
  /** Virtual time (ms) at which the goal became met; absent for goals met from the start. */
  at?: number;
  /** Ids of the segments that show the goal met (for highlighting in the ladder). */
  segments?: number[];
  /**
   * The events that prove the goal (when met) or are relevant to it (when unmet: what already
   * happened towards it, e.g. the lost FIN still waiting for its retransmission, or the event
   * that broke it). Absent when the trace has nothing to show.
   */
  evidence?: Evidence;
}

/** Trace events that show a goal, for the exercise panel and the ladder. */
export interface Evidence {
  /** Ids of the segments involved, as numbered in the ladder, in trace order. */
  segments: number[];
  /** The events, in trace order (at most `MAX_EVIDENCE`). */
  events: EvidenceEvent[];
}

export interface EvidenceEvent {
  /** Index in the trace. */
  i: number;
  /** Virtual time (ms). */
  t: number;
  type: TraceEvent['type'];
  /** The segment's id, for segment events. */
  segment?: number;
  /** The host it happened on (sender for a segment sent, receiver for one that arrived). */
  host?: string;
  /** What it was, in the student's language: `#6 FIN,ACK from B (dropped at t=3025 ms)`. */
  text: string;
}

/** At most this many events are given as evidence for one goal. */
export const MAX_EVIDENCE = 16;

export interface CheckOptions {
  /** Virtual time of "now" (default: the time of the last event). */
  now?: number;
}

/** The verdict on one predicate. */
export interface Verdict {
  met: boolean;
  at?: number;
  /** Ids of the segments among `events`. */
  segments: number[];
  /** Trace indices of the events that show it met, or that are relevant to it when unmet. */
  events: number[];
  /** When unmet: the explanation. */
  why?: string;
}

/** Checks every goal of `ex` against `trace`, explaining unmet goals in `lang`. */
export function checkGoals(
  ex: Exercise,
  trace: readonly TraceEvent[],
  lang: Lang,
  opts: CheckOptions = {},
): GoalResult[] {
  const checker = new GoalChecker(ex, new TraceIndex(trace, opts.now), lang);
  return ex.goals.map((g) => checker.goal(g));
}

/** Checks one predicate (for tests and tools). */
export function checkPredicate(
  p: Predicate,
  trace: readonly TraceEvent[],
  lang: Lang,
  ex: Pick<Exercise, 'setup'> = { setup: {} },
  opts: CheckOptions = {},
): Verdict {
  const v = new GoalChecker(ex, new TraceIndex(trace, opts.now), lang).verdict(p);
  return v.why === undefined ? v : { ...v, why: tidy(lang, v.why) };
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function other(host: string): string {
  return host === 'A' ? 'B' : 'A';
}

/** What a socket in each state is waiting for. */
const WAITING: Record<TcpState, [string, string]> = {
  CLOSED: ['it is closed', '连接已关闭'],
  LISTEN: ['it is waiting for a SYN', '它在等待 SYN'],
  'SYN-SENT': ['it is waiting for a SYN-ACK', '它在等待 SYN-ACK'],
  'SYN-RECEIVED': ['it is waiting for the ACK of its SYN-ACK', '它在等待对其 SYN-ACK 的 ACK'],
  ESTABLISHED: [
    'neither close() nor a FIN from the other side has ended it',
    '既没有调用 close()，也没有收到对方的 FIN',
  ],
  'FIN-WAIT-1': ['it is waiting for the ACK of its FIN', '它在等待对其 FIN 的 ACK'],
  'FIN-WAIT-2': ["it is waiting for the other side's FIN", '它在等待对方的 FIN'],
  'CLOSE-WAIT': ['it is waiting for its application to call close()', '它在等待应用程序调用 close()'],
  CLOSING: ['it is waiting for the ACK of its FIN', '它在等待对其 FIN 的 ACK'],
  'LAST-ACK': ['it is waiting for the ACK of its FIN', '它在等待对其 FIN 的 ACK'],
  'TIME-WAIT': ['it is waiting out 2·MSL', '它在等待 2·MSL 结束'],
};

const ACTIVE_CLOSE: readonly TcpState[] = ['FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSING', 'TIME-WAIT'];
const PASSIVE_CLOSE: readonly TcpState[] = ['CLOSE-WAIT', 'LAST-ACK'];

class GoalChecker {
  constructor(
    private readonly ex: Pick<Exercise, 'setup'>,
    private readonly ix: TraceIndex,
    private readonly lang: Lang,
  ) {}

  private say(en: string, zh: string): string {
    return say(this.lang, en, zh);
  }

  goal(g: Goal): GoalResult {
    const v = this.verdict(g);
    const out: GoalResult = { id: g.id, met: v.met, text: pick(g.text, this.lang) };
    const evidence = this.evidence(v.events);
    if (evidence) out.evidence = evidence;
    if (v.met) {
      if (v.at !== undefined) out.at = v.at;
      if (v.segments.length > 0) out.segments = [...new Set(v.segments)];
    } else {
      const hint = g.hint ? pick(g.hint, this.lang) : '';
      const why = tidy(this.lang, v.why ?? '');
      out.explanation = hint ? `${why}${this.say('. Hint: ', '。提示：')}${hint}` : why;
    }
    return out;
  }

  /** The evidence for a verdict's events: sorted, without repeats, at most MAX_EVIDENCE. */
  private evidence(events: readonly number[]): Evidence | undefined {
    const idx = [...new Set(events)].sort((a, b) => a - b).slice(0, MAX_EVIDENCE);
    if (idx.length === 0) return undefined;
    const out: Evidence = { segments: [], events: [] };
    for (const i of idx) {
      const e = this.ix.events[i]!;
      const ev: EvidenceEvent = { i, t: e.t, type: e.type, text: eventName(this.ix, i, this.lang) };
      if (e.type === 'segment') {
        ev.segment = e.id;
        ev.host = e.event === 'arrive' ? e.to : e.from;
        if (!out.segments.includes(e.id)) out.segments.push(e.id);
      } else if ('host' in e && typeof e.host === 'string') {
        ev.host = e.host;
      }
      out.events.push(ev);
    }
    return out;
  }

  verdict(p: Predicate): Verdict {
    const r = this.raw(p);
    const events = [...new Set(r.events)].sort((a, b) => a - b);
    return { ...r, events, segments: [...new Set(this.segIds(events))] };
  }

  /** The verdict without its segment ids (`verdict` derives them from the events). */
  private raw(p: Predicate): Omit<Verdict, 'segments'> {
    switch (p.kind) {
      case 'order':
        return this.order(p);
      case 'absent':
        return this.absent(p);
      case 'no-segment': {
        const { kind: _k, before, ...rest } = p;
        const event: SegmentPattern = { kind: 'segment', ...rest };
        return this.absent(before ? { kind: 'absent', event, before } : { kind: 'absent', event });
      }
      case 'duration':
        return this.duration(p);
      case 'concurrent':
        return this.concurrent(p);
      case 'all': {
        const vs = p.goals.map((g) => this.verdict(g));
        const unmet = vs.filter((v) => !v.met);
        if (unmet.length > 0) {
          // Sub-goals often fail for the same reason: say it once.
          const whys: string[] = [];
          for (const w of unmet.map((v) => v.why ?? '')) {
            if (!whys.some((k) => w.includes(k) || k.includes(w))) whys.push(w);
          }
          // What the met sub-goals show, and what the unmet ones already have.
          return { met: false, events: vs.flatMap((v) => v.events), why: sentences(this.lang, whys) };
        }
        const ats = vs.map((v) => v.at).filter((t): t is number => t !== undefined);
        return {
          met: true,
          ...(ats.length ? { at: Math.max(...ats) } : {}),
          events: vs.flatMap((v) => v.events),
        };
      }
      case 'any': {
        const vs = p.goals.map((g) => this.verdict(g));
        const met = vs.filter((v) => v.met);
        if (met.length > 0) {
          const ats = met.map((v) => v.at).filter((t): t is number => t !== undefined);
          // The proof: the alternative met first (all of them when some have no time).
          const first = ats.length === met.length ? met.find((v) => v.at === Math.min(...ats)) : undefined;
          return {
            met: true,
            ...(ats.length === met.length ? { at: Math.min(...ats) } : {}),
            events: first ? first.events : met.flatMap((v) => v.events),
          };
        }
        const whys = vs.map((v, i) => `(${i + 1}) ${v.why ?? ''}`);
        return {
          met: false,
          events: vs.flatMap((v) => v.events),
          why: this.say(
            `None of the alternatives happened: ${whys.join('; ')}`,
            `所有可选条件都未满足：${whys.join('；')}`,
          ),
        };
      }
      default:
        return this.counted(p);
    }
  }

  // -------------------------------------------------------------------------------------------
  // A pattern happening (at least min, at most max times).

  private counted(p: Pattern & Count): Omit<Verdict, 'segments'> {
    const hits = this.ix.find(p);
    const min = p.min ?? 1;
    const n = hits.length;
    if (n >= min && (p.max === undefined || n <= p.max)) {
      const when = min > 0 ? this.ix.events[hits[min - 1]!]!.t : undefined;
      // The proof: the first `min` matches; with a `max`, every match counts.
      const proof = p.max === undefined ? hits.slice(0, Math.max(min, 1)) : hits;
      return { met: true, ...(when !== undefined ? { at: when } : {}), events: proof };
    }
    if (n === 0) return { met: false, events: [], why: this.missing(p) };
    const shown = hits.slice(0, 4).map((i) => eventName(this.ix, i, this.lang));
    const more = n > 4 ? '…' : '';
    const what = describePattern(p, this.lang);
    if (n < min) {
      return {
        met: false,
        events: hits,
        why: this.say(
          `${cap(what)}: only ${times('en', n)}, the goal needs at least ${min} (${list('en', shown)}${more})`,
          `${what}：只发生了 ${n} 次，至少需要 ${min} 次（${list('zh-CN', shown)}${more}）`,
        ),
      };
    }
    return {
      met: false,
      events: hits,
      why: this.say(
        `${cap(what)}: ${times('en', n)}, the goal allows at most ${p.max} (${list('en', shown)}${more})`,
        `${what}：发生了 ${n} 次，最多允许 ${p.max} 次（${list('zh-CN', shown)}${more}）`,
      ),
    };
  }

  private segIds(hits: number[]): number[] {
    const ids: number[] = [];
    for (const i of hits) {
      const e = this.ix.events[i]!;
      if (e.type === 'segment') ids.push(e.id);
    }
    return ids;
  }

  /** Why nothing in the trace matches `p`. */
  missing(p: Pattern): string {
    if (p.nth !== undefined) {
      const all = this.ix.find({ ...p, nth: undefined } as Pattern);
      if (all.length > 0) {
        const what = describePattern({ ...p, nth: undefined } as Pattern, this.lang);
        const shown = all.slice(0, 4).map((i) => eventName(this.ix, i, this.lang));
        return this.say(
          `${cap(what)} happened only ${times('en', all.length)} (${list('en', shown)}); the goal is about the ${ordinal('en', p.nth)} one`,
          `${what}只发生了 ${all.length} 次（${list('zh-CN', shown)}）；目标要求的是${ordinal('zh-CN', p.nth, '次')}`,
        );
      }
    }
    switch (p.kind) {
      case 'segment':
      case 'retransmission':
        return this.missingSegment(p);
      case 'state-reached':
        return this.missingState(p.host, p.state, p.from);
      case 'call':
        return this.missingCall(p);
      case 'discard':
        return this.missingDiscard(p);
      case 'timer':
        return this.missingTimer(p);
      case 'cc':
        return this.missingCc(p);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Segments.

  private isRexmit(i: number): boolean {
    const e = this.ix.events[i] as SegmentTrace;
    const sent = this.ix.sendOf(e.id) ?? e;
    return sent.rexmit !== undefined && sent.rexmit > 0;
  }

  private missingSegment(p: Extract<Pattern, { kind: 'segment' | 'retransmission' }>): string {
    const ix = this.ix;
    const identity: SegmentPattern = { kind: 'segment' };
    for (const k of ['from', 'to', 'flags', 'noFlags', 'data', 'acks', 'option'] as const) {
      if (p[k] !== undefined) (identity as unknown as Record<string, unknown>)[k] = p[k];
    }
    const sends = ix.find(identity);
    if (sends.length === 0) return this.neverSent(identity);
    const wantRexmit = p.kind === 'retransmission' || p.rexmit === true;
    let cands = sends;
    if (wantRexmit) {
      cands = sends.filter((i) => this.isRexmit(i));
      if (cands.length === 0) return this.notRetransmitted(identity, sends[0]!);
    } else if (p.kind === 'segment' && p.rexmit === false) {
      cands = sends.filter((i) => !this.isRexmit(i));
      if (cands.length === 0) {
        return this.say(
          `Every ${describePattern(identity, 'en').replace(/^an? /, '')} in the trace was a retransmission`,
          `trace 中每个${describePattern(identity, 'zh-CN')}都是重传`,
        );
      }
    }
    const what = describePattern(wantRexmit ? { ...identity, kind: 'retransmission' } : identity, this.lang);
    const names = (is: number[]) =>
      list(
        this.lang,
        is.slice(0, 3).map((i) => eventName(ix, i, this.lang)),
      ) + (is.length > 3 ? '…' : '');
    if (p.why !== undefined) {
      const whys = Array.isArray(p.why) ? p.why : [p.why];
      const ok = cands.filter((i) => {
        const e = ix.events[i] as SegmentTrace;
        return whys.includes((ix.sendOf(e.id) ?? e).why as never);
      });
      if (ok.length === 0) {
        const actual = [...new Set(cands.map((i) => (ix.events[i] as SegmentTrace).why ?? '?'))];
        const noun = describePattern(
          wantRexmit ? { ...identity, kind: 'retransmission' } : identity,
          this.lang,
          true,
        ).replace(/^an? /, '');
        const from = identity.from;
        return this.say(
          `No ${noun}${from ? ` from ${from}` : ''} was sent for ${whys.join(' or ')}: ${names(cands)} ${cands.length === 1 ? 'was' : 'were'} sent for ${list('en', actual)}`,
          `${from ?? ''}没有因 ${whys.join(' 或 ')} 发送过${noun}：${names(cands)}的发送原因是 ${list('zh-CN', actual)}`,
        );
      }
      cands = ok;
    }
    for (const k of ['rseq', 'rack', 'len', 'win'] as const) {
      const want = p[k];
      if (want === undefined) continue;
      const ok = cands.filter((i) => (ix.events[i] as SegmentTrace)[k] === want);
      if (ok.length === 0) {
        const seen = cands.slice(0, 3).map((i) => {
          const e = ix.events[i] as SegmentTrace;
          return `#${e.id} ${k}=${e[k] ?? '-'}`;
        });
        const more = cands.length > 3 ? '…' : '';
        return this.say(
          `${cap(what)}: ${list('en', seen)}${more}, never ${k}=${want}`,
          `${what}：${list('zh-CN', seen)}${more}，从未出现 ${k}=${want}`,
        );
      }
      cands = ok;
    }
    const event = p.event ?? 'send';
    if (event !== 'send') {
      const fates = cands.slice(0, 3).map((i) => {
        const e = ix.events[i] as SegmentTrace;
        const all = ix.fatesOf(e.id);
        const last = all[all.length - 1];
        return last && last.e.event !== 'send'
          ? eventName(ix, last.i, this.lang)
          : this.say(`#${e.id} is still in flight`, `#${e.id} 仍在途中`);
      });
      const verb: Record<string, [string, string]> = {
        drop: ['was dropped', '被丢弃'],
        arrive: ['arrived', '到达'],
        dup: ['was duplicated', '被复制'],
        hold: ['was held', '被扣留'],
        release: ['was released', '被放行'],
        delay: ['was delayed', '被延迟'],
        corrupt: ['was corrupted', '被损坏'],
      };
      const [en, zh] = verb[event] ?? [event, event];
      const kindOf = wantRexmit ? { ...identity, kind: 'retransmission' as const } : identity;
      const sender = identity.from;
      const noun = describePattern(kindOf, this.lang, true);
      const head = sender
        ? this.say(
            `${sender} sent ${noun} ${times('en', cands.length)}`,
            `${sender} 发出过 ${cands.length} 次${noun}`,
          )
        : this.say(`${cap(noun)} went out ${times('en', cands.length)}`, `${noun}发出过 ${cands.length} 次`);
      const none =
        cands.length === 1
          ? this.say(`it was not ${en.replace(/^was /, '')}`, `它没有${zh}`)
          : this.say(`none ${en}`, `没有一个${zh}`);
      return this.say(
        `${head}, but ${none}: ${list('en', fates)}`,
        `${head}，但${none}：${list('zh-CN', fates)}`,
      );
    }
    return this.say(`There is no ${what.replace(/^an? /, '')} in the trace`, `trace 中没有${what}`);
  }

  /** The first segment from the other side that acknowledges all of segment `i`. */
  private ackFor(i: number): number | undefined {
    const s = this.ix.events[i] as SegmentTrace;
    const end = (s.seq + seqLength(s)) >>> 0;
    for (let j = i + 1; j < this.ix.events.length; j++) {
      const e = this.ix.events[j]!;
      if (
        e.type === 'segment' &&
        e.event === 'send' &&
        e.from === s.to &&
        e.sport === s.dport &&
        e.dport === s.sport &&
        e.flags.includes('ACK') &&
        seqGe(e.ack, end)
      ) {
        return j;
      }
    }
    return undefined;
  }

  private notRetransmitted(identity: SegmentPattern, first: number): string {
    const ix = this.ix;
    const s = ix.events[first] as SegmentTrace;
    const name = segmentName(s, this.lang);
    const fates = ix.fatesOf(s.id);
    const dropped = fates.find((f) => f.e.event === 'drop');
    const acked = this.ackFor(first);
    const what = describePattern(identity, this.lang);
    if (acked !== undefined) {
      const a = ix.events[acked] as SegmentTrace;
      const lost = dropped
        ? this.say(` was dropped at ${at(dropped.e.t)}, but it`, `在 ${at(dropped.e.t)} 被丢弃，但它`)
        : '';
      return this.say(
        `${cap(what)} was never retransmitted: ${name} (sent at ${at(s.t)})${lost} was acknowledged by #${a.id} at ${at(a.t)}, before the retransmission timer fired`,
        `${what}从未被重传：${name}（${at(s.t)} 发出）${lost}在重传定时器超时之前就被 #${a.id} 确认了（${at(a.t)}）`,
      );
    }
    if (dropped) {
      return this.say(
        `${cap(what)} was never retransmitted: ${name} was dropped at ${at(dropped.e.t)}, and ${s.from}'s retransmission timer had not fired by ${at(ix.now)}`,
        `${what}从未被重传：${name} 在 ${at(dropped.e.t)} 被丢弃，但到 ${at(ix.now)} 为止 ${s.from} 的重传定时器还没有超时`,
      );
    }
    return this.say(
      `${cap(what)} was never retransmitted: ${name} was sent at ${at(s.t)} and nothing needed to be resent by ${at(ix.now)}`,
      `${what}从未被重传：${name} 在 ${at(s.t)} 发出，到 ${at(ix.now)} 为止没有需要重传的情况`,
    );
  }

  private neverSent(identity: SegmentPattern): string {
    const host = identity.from;
    const noun = describePattern(identity, this.lang, true);
    const head = host
      ? this.say(`${host} never sent ${noun}`, `${host} 从未发出${noun}`)
      : this.say(`No ${noun.replace(/^an? /, '')} was sent`, `没有发出过${noun}`);
    if (!host) return head;
    const flags = identity.flags ?? [];
    const notes: string[] = [];
    if (flags.includes('FIN')) {
      // close() calls that changed nothing: the socket still had another descriptor.
      for (const i of this.ix.find({ kind: 'call', host: host as Seat, op: 'close', ok: true })) {
        const r = this.ix.returnIndexOf(i)!;
        const changed = this.ix.events
          .slice(i, r + 1)
          .some(
            (e) => (e.type === 'state' || e.type === 'segment') && ('host' in e ? e.host : e.from) === host,
          );
        if (!changed) {
          const c = this.ix.events[i] as Extract<TraceEvent, { type: 'call' }>;
          notes.push(
            this.say(
              `${callName(c, 'en')} at ${at(c.t)} sent nothing: another descriptor (dup or fork) still referred to the socket`,
              `${at(c.t)} 的 ${callName(c, 'zh-CN')} 什么也没发送：还有另一个描述符（dup 或 fork 得到的）指向这个套接字`,
            ),
          );
        }
      }
    }
    if (
      flags.includes('SYN') &&
      this.ix.find({ kind: 'call', host: host as Seat, op: 'connect' }).length === 0 &&
      !identity.flags?.includes('ACK')
    ) {
      notes.push(this.say(`${host} never called connect()`, `${host} 从未调用 connect()`));
    }
    notes.push(this.stateSummary(host));
    return sentences(this.lang, [head, ...notes]);
  }

  /** "A's connection is in ESTABLISHED (…waiting for…)" for each connection of `host`. */
  private stateSummary(host: string): string {
    const conns = this.ix.connections(host);
    if (conns.length === 0) return this.noConnection(host);
    const groups = new Map<string, number>();
    for (const { path } of conns) {
      const last = path[path.length - 1]!.to;
      groups.set(last, (groups.get(last) ?? 0) + 1);
    }
    const parts = [...groups].map(([state, n]) => {
      const [en, zh] = WAITING[state as TcpState];
      return n === 1
        ? this.say(`${host}'s connection is in ${state} (${en})`, `${host} 的连接处于 ${state}（${zh}）`)
        : this.say(
            `${host}'s ${n} connections are in ${state} (${en})`,
            `${host} 的 ${n} 个连接处于 ${state}（${zh}）`,
          );
    });
    return sentences(this.lang, parts);
  }

  /** Why `host` has no connection: nobody listened, or nothing ever arrived. */
  private noConnection(host: string): string {
    const ix = this.ix;
    const refused = ix.find({ kind: 'discard', host: host as Seat, reason: 'no-socket' })[0];
    if (refused !== undefined) {
      const d = ix.events[refused] as Extract<TraceEvent, { type: 'discard' }>;
      const seg = d.id !== undefined ? ix.sendOf(d.id) : undefined;
      if (seg?.flags.includes('SYN')) {
        return this.say(
          `nothing on ${host} was listening on port ${seg.dport}, so ${host} answered ${segmentName(seg, 'en')} with RST`,
          `${host} 上没有套接字在监听 ${seg.dport} 端口，所以 ${host} 用 RST 回应了 ${segmentName(seg, 'zh-CN')}`,
        );
      }
    }
    const listens = ix.histories.get(host);
    return listens && listens.size > 0
      ? this.say(
          `${host} only listened; no connection was ever made to it`,
          `${host} 只是在监听，从没有连接建立`,
        )
      : this.say(`${host} has no connection at all`, `${host} 根本没有连接`);
  }

  // -------------------------------------------------------------------------------------------
  // States.

  private pathText(path: StateEvent[]): string {
    return [path[0]!.from, ...path.map((e) => e.to)].join(' → ');
  }

  private missingState(host: Seat | undefined, state: TcpState, from?: TcpState): string {
    if (host === undefined) {
      return sentences(this.lang, [
        this.say(`Neither A nor B reached ${state}`, `A 和 B 都没有进入 ${state}`),
        this.stateReason('A', state),
        this.stateReason('B', state),
      ]);
    }
    if (from !== undefined) {
      const reached = this.ix.find({ kind: 'state-reached', host, state });
      if (reached.length > 0) {
        const e = this.ix.events[reached[0]!] as StateEvent;
        return this.say(
          `${host} reached ${state}, but from ${e.from} (at ${at(e.t)}), not from ${from}`,
          `${host} 进入了 ${state}，但是从 ${e.from} 进入的（${at(e.t)}），而不是从 ${from}`,
        );
      }
    }
    return sentences(this.lang, [
      this.say(`${host} never reached ${state}`, `${host} 从未进入 ${state}`),
      this.stateReason(host, state),
    ]);
  }

  /** What `host`'s connections did instead of reaching `state`, and why. */
  private stateReason(host: Seat, state: TcpState): string {
    const ix = this.ix;
    const conns = ix.connections(host);
    if (conns.length === 0) return this.noConnection(host);
    const parts: string[] = [];
    const paths = new Map<string, number>();
    for (const { path } of conns) paths.set(this.pathText(path), (paths.get(this.pathText(path)) ?? 0) + 1);
    for (const [text, n] of paths) {
      parts.push(
        n > 1
          ? this.say(`${host}'s ${n} connections each went ${text}`, `${host} 的 ${n} 个连接都经历了 ${text}`)
          : this.say(`${host}'s connection went ${text}`, `${host} 的连接经历了 ${text}`),
      );
    }
    const { path } = conns[conns.length - 1]!;
    const states = path.map((e) => e.to);
    const last = path[path.length - 1]!;
    const peer = other(host);
    const enteredAt = (s: TcpState) => path.find((e) => e.to === s);
    if (ACTIVE_CLOSE.includes(state) && states.includes('CLOSE-WAIT')) {
      const cw = enteredAt('CLOSE-WAIT')!;
      parts.push(
        this.say(
          `${peer}'s FIN arrived (${at(cw.t)}) before ${host} closed, so ${host} was the passive closer (CLOSE-WAIT, LAST-ACK); only the side that sends the first FIN goes through FIN-WAIT and TIME-WAIT`,
          `${peer} 的 FIN 在 ${host} 关闭之前就到达了（${at(cw.t)}），所以 ${host} 是被动关闭方（CLOSE-WAIT、LAST-ACK）；只有先发出 FIN 的一方才会经历 FIN-WAIT 和 TIME-WAIT`,
        ),
      );
    } else if (PASSIVE_CLOSE.includes(state) && states.includes('FIN-WAIT-1')) {
      const fw = enteredAt('FIN-WAIT-1')!;
      parts.push(
        this.say(
          `${host} sent its FIN first (${at(fw.t)}), so ${host} was the active closer; CLOSE-WAIT and LAST-ACK belong to the side that receives the first FIN`,
          `${host} 先发出了 FIN（${at(fw.t)}），所以 ${host} 是主动关闭方；CLOSE-WAIT 和 LAST-ACK 属于先收到 FIN 的一方`,
        ),
      );
    } else if (state === 'CLOSING' && states.includes('FIN-WAIT-2')) {
      const fw2 = enteredAt('FIN-WAIT-2')!;
      parts.push(
        this.say(
          `${host}'s FIN was acknowledged (${at(fw2.t)}) before ${peer}'s FIN arrived, so the two FINs did not cross: CLOSING needs both sides to send their FIN before receiving the other's`,
          `${host} 的 FIN 在 ${peer} 的 FIN 到达之前就被确认了（${at(fw2.t)}），两个 FIN 没有交叉；只有双方都在收到对方 FIN 之前发出自己的 FIN，才会进入 CLOSING`,
        ),
      );
    } else if (last.to === 'CLOSED' && this.resetAt(host, last)) {
      parts.push(this.resetAt(host, last)!);
    } else if (last.to !== 'CLOSED') {
      const [en, zh] = WAITING[last.to];
      let extra = '';
      if (
        last.to === 'FIN-WAIT-2' ||
        last.to === 'FIN-WAIT-1' ||
        last.to === 'LAST-ACK' ||
        last.to === 'CLOSING'
      ) {
        const lost = ix.find({ kind: 'segment', to: host, event: 'drop' }).filter((i) => i > last.t);
        if (lost.length > 0) {
          extra = this.say(
            `; ${list(
              'en',
              lost.slice(0, 3).map((i) => eventName(ix, i, 'en')),
            )}`,
            `；${list(
              'zh-CN',
              lost.slice(0, 3).map((i) => eventName(ix, i, 'zh-CN')),
            )}`,
          );
        }
      }
      parts.push(
        this.say(
          `it is still in ${last.to} at ${at(ix.now)}: ${en}${extra}`,
          `到 ${at(ix.now)} 它仍处于 ${last.to}：${zh}${extra}`,
        ),
      );
    }
    return sentences(this.lang, parts);
  }

  /** When a connection of `host` ended by a reset at `closed`: which RST did it. */
  private resetAt(host: string, closed: StateEvent): string | undefined {
    const ix = this.ix;
    for (let i = 0; i < ix.events.length; i++) {
      const e = ix.events[i]!;
      if (e.t !== closed.t || e.type !== 'segment' || !e.flags.includes('RST')) continue;
      if (e.event === 'arrive' && e.to === host) {
        return this.say(
          `the connection was reset by ${segmentName(e, 'en')} arriving at ${at(e.t)}`,
          `连接被 ${at(e.t)} 到达的 ${segmentName(e, 'zh-CN')} 重置`,
        );
      }
      if (e.event === 'send' && e.from === host) {
        const cause = causeText(ix, i, this.lang);
        return this.say(
          `${host} aborted the connection with ${segmentName(e, 'en')} at ${at(e.t)}${cause ? ` (${cause})` : ''}`,
          `${host} 在 ${at(e.t)} 用 ${segmentName(e, 'zh-CN')} 中止了连接${cause ? `（${cause}）` : ''}`,
        );
      }
    }
    return undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Calls, discards, timers, congestion control.

  private missingCall(p: Extract<Pattern, { kind: 'call' }>): string {
    const ix = this.ix;
    const host = p.host;
    const who = host ?? this.say('Nobody', '没有人');
    const calls = ix.find({ kind: 'call', op: p.op, ...(host ? { host } : {}) });
    const name = `${p.op}(${p.how ?? p.opt ?? ''})`;
    if (calls.length === 0) return this.say(`${who} never called ${name}`, `${who} 从未调用 ${name}`);
    const narrowed = calls.filter((i) => {
      const args = ((ix.events[i] as Extract<TraceEvent, { type: 'call' }>).args ?? {}) as Record<
        string,
        unknown
      >;
      return (p.how === undefined || args.how === p.how) && (p.opt === undefined || args.opt === p.opt);
    });
    if (narrowed.length === 0) {
      const used = calls
        .slice(0, 3)
        .map((i) => callName(ix.events[i] as Extract<TraceEvent, { type: 'call' }>, this.lang));
      return this.say(
        `${who} never called ${name}; it called ${list('en', used)}`,
        `${who} 从未调用 ${name}；它调用的是 ${list('zh-CN', used)}`,
      );
    }
    const results = narrowed.slice(0, 4).map((i) => {
      const c = ix.events[i] as Extract<TraceEvent, { type: 'call' }>;
      return this.say(
        `${callName(c, 'en')} at ${at(c.t)} ${resultText(ix, i, 'en')}`,
        `${at(c.t)} 的 ${callName(c, 'zh-CN')}${resultText(ix, i, 'zh-CN')}`,
      );
    });
    return this.say(
      `${cap(describePattern(p, 'en'))} did not happen: ${list('en', results)}${narrowed.length > 4 ? '…' : ''}`,
      `没有发生“${describePattern(p, 'zh-CN')}”：${list('zh-CN', results)}${narrowed.length > 4 ? '…' : ''}`,
    );
  }

  private missingDiscard(p: Extract<Pattern, { kind: 'discard' }>): string {
    const ix = this.ix;
    const who = p.host ?? this.say('Nobody', '没有人');
    const all = ix.find({ kind: 'discard', ...(p.host ? { host: p.host } : {}) });
    const head = p.reason
      ? this.say(
          `${who} never discarded a segment because of ${p.reason}`,
          `${who} 从未因 ${p.reason} 丢弃报文段`,
        )
      : this.say(`${who} never discarded a segment`, `${who} 从未丢弃报文段`);
    if (all.length === 0) return head;
    const counts = new Map<string, number>();
    for (const i of all) {
      const e = ix.events[i] as Extract<TraceEvent, { type: 'discard' }>;
      counts.set(e.reason, (counts.get(e.reason) ?? 0) + 1);
    }
    const seen = [...counts].map(([r, n]) => `${r} ×${n}`);
    return this.say(
      `${head} (it discarded: ${list('en', seen)})`,
      `${head}（它丢弃的原因是：${list('zh-CN', seen)}）`,
    );
  }

  private missingTimer(p: Extract<Pattern, { kind: 'timer' }>): string {
    const ix = this.ix;
    const who = p.host ?? this.say('Nobody', '没有人');
    const all = ix.find({ kind: 'timer', timer: p.timer, ...(p.host ? { host: p.host } : {}) });
    const act: Record<string, [string, string]> = {
      set: ['was never set', '从未被设置'],
      fire: ['never fired', '从未超时触发'],
      cancel: ['was never cancelled', '从未被取消'],
    };
    const [en, zh] = act[p.action ?? ''] ?? ['was never used', '从未被使用'];
    const head = this.say(`${who}'s ${p.timer} timer ${en}`, `${who} 的 ${p.timer} 定时器${zh}`);
    if (all.length === 0) return head;
    const shown = all.slice(0, 3).map((i) => eventName(ix, i, this.lang));
    return this.say(`${head} (seen: ${list('en', shown)})`, `${head}（出现过：${list('zh-CN', shown)}）`);
  }

  private missingCc(p: Extract<Pattern, { kind: 'cc' }>): string {
    const ix = this.ix;
    const who = p.host ?? this.say('Nobody', '没有人');
    const all = ix.find({
      kind: 'cc',
      ...(p.host ? { host: p.host } : {}),
      ...(p.phase ? { phase: p.phase } : {}),
    });
    if (all.length === 0) {
      return this.say(
        `${who} had no congestion-window update${p.phase ? ` in ${p.phase}` : ''} (no data was acknowledged${p.phase ? ' in that phase' : ''})`,
        `${who} 没有${p.phase ? ` ${p.phase} 阶段的` : ''}拥塞窗口更新（没有数据被确认）`,
      );
    }
    const cwnds = all.map((i) => (ix.events[i] as Extract<TraceEvent, { type: 'cc' }>).cwnd);
    return (
      this.say(
        `${who}'s cwnd${p.phase ? ` in ${p.phase}` : ''} ranged from ${Math.min(...cwnds)} to ${Math.max(...cwnds)} bytes`,
        `${who}${p.phase ? ` 在 ${p.phase} 阶段` : ''}的 cwnd 在 ${Math.min(...cwnds)} 到 ${Math.max(...cwnds)} 字节之间`,
      ) +
      this.say(
        `, never ${p.minCwnd !== undefined ? `≥ ${p.minCwnd}` : `≤ ${p.maxCwnd}`}`,
        `，从未${p.minCwnd !== undefined ? `≥ ${p.minCwnd}` : `≤ ${p.maxCwnd}`}`,
      )
    );
  }

  // -------------------------------------------------------------------------------------------
  // Order, absence, duration, concurrency.

  private order(p: OrderPredicate): Omit<Verdict, 'segments'> {
    const ix = this.ix;
    const firsts = ix.find(p.first);
    if (firsts.length === 0) return { met: false, events: [], why: this.missing(p.first) };
    const thens = ix.find(p.then);
    const same = p.same ?? [];
    let afterButDifferent: number | undefined;
    for (const f of firsts) {
      for (const t of thens) {
        if (t <= f) continue;
        if (same.every((k) => ix.sameKey(k, f) !== undefined && ix.sameKey(k, f) === ix.sameKey(k, t))) {
          return { met: true, at: ix.events[t]!.t, events: [f, t] };
        }
        afterButDifferent ??= t;
      }
    }
    if (thens.length === 0) return { met: false, events: firsts.slice(0, 4), why: this.missing(p.then) };
    const first = eventName(ix, firsts[0]!, this.lang);
    if (afterButDifferent !== undefined) {
      return {
        met: false,
        events: [firsts[0]!, afterButDifferent],
        why: this.say(
          `${cap(describePattern(p.then, 'en'))} happened after ${first}, but not with the same ${same.join(', ')} (${eventName(ix, afterButDifferent, 'en')})`,
          `${describePattern(p.then, 'zh-CN')}发生在 ${first} 之后，但 ${same.join('、')} 不相同（${eventName(ix, afterButDifferent, 'zh-CN')}）`,
        ),
      };
    }
    const t = thens[0]!;
    const cause = causeText(ix, t, this.lang);
    return {
      met: false,
      events: [t, firsts[0]!],
      why: this.say(
        `${cap(describePattern(p.then, 'en'))} happened only before ${describePattern(p.first, 'en')}: ${eventName(ix, t, 'en')}${cause ? ` (${cause})` : ''} came before ${first}`,
        `${describePattern(p.then, 'zh-CN')}只发生在${describePattern(p.first, 'zh-CN')}之前：${eventName(ix, t, 'zh-CN')}${cause ? `（${cause}）` : ''}早于 ${first}`,
      ),
    };
  }

  private absent(p: AbsentPredicate): Omit<Verdict, 'segments'> {
    const ix = this.ix;
    let limit = ix.events.length;
    if (p.before) {
      const bs = ix.find(p.before);
      if (bs.length === 0) {
        return {
          met: false,
          events: [],
          why: this.say(
            `This can only be checked once ${describePattern(p.before, 'en')} has happened: ${this.missing(p.before)}`,
            `要等“${describePattern(p.before, 'zh-CN')}”发生之后才能判断：${this.missing(p.before)}`,
          ),
        };
      }
      limit = bs[0]!;
    }
    const hits = ix.find(p.event).filter((i) => i < limit);
    if (hits.length === 0) {
      return { met: true, ...(p.before ? { at: ix.events[limit]!.t } : {}), events: p.before ? [limit] : [] };
    }
    const h = hits[0]!;
    const cause = causeText(ix, h, this.lang);
    const what = eventName(ix, h, this.lang);
    const before = p.before ? eventName(ix, limit, this.lang) : '';
    return {
      met: false,
      events: p.before ? [h, limit] : [h],
      why: p.before
        ? this.say(
            `${cap(describePattern(p.event, 'en'))} must not happen before ${describePattern(p.before, 'en')}, but ${what}${cause ? ` (${cause})` : ''} came before ${before}`,
            `${describePattern(p.event, 'zh-CN')}不应发生在${describePattern(p.before, 'zh-CN')}之前，但 ${what}${cause ? `（${cause}）` : ''}早于 ${before}`,
          )
        : this.say(
            `${cap(describePattern(p.event, 'en'))} must not happen, but it did: ${what}${cause ? `, ${cause}` : ''}`,
            `不应出现${describePattern(p.event, 'zh-CN')}，但出现了：${what}${cause ? `（${cause}）` : ''}`,
          ),
    };
  }

  private duration(p: DurationPredicate): Omit<Verdict, 'segments'> {
    const ix = this.ix;
    const stays = ix.staysIn(p.host, p.state);
    if (stays.length === 0) return { met: false, events: [], why: this.missingState(p.host, p.state) };
    const tol = p.tolerance ?? 1;
    const val = (a: DurationPredicate['equals']) =>
      a === undefined ? undefined : resolveAmount(a, this.ex, p.host);
    const eq = val(p.equals);
    const lo = val(p.min);
    const hi = val(p.max);
    const fits = (d: number) =>
      (eq === undefined || Math.abs(d - eq) <= tol) &&
      (lo === undefined || d >= lo) &&
      (hi === undefined || d <= hi);
    for (const s of stays) {
      if (s.to !== undefined && fits(s.to - s.from))
        return { met: true, at: s.to, events: s.leave === undefined ? [s.enter] : [s.enter, s.leave] };
    }
    const want: string[] = [];
    if (p.equals !== undefined) want.push(`${amountText(p.equals, this.ex, p.host)} ms (±${tol})`);
    if (p.min !== undefined) want.push(`≥ ${amountText(p.min, this.ex, p.host)} ms`);
    if (p.max !== undefined) want.push(`≤ ${amountText(p.max, this.ex, p.host)} ms`);
    const parts: string[] = [];
    for (const s of stays.slice(0, 3)) {
      if (s.to === undefined) {
        parts.push(
          this.say(
            `${p.host} entered ${p.state} at ${at(s.from)} and is still there at ${at(ix.now)} (${ms(ix.now - s.from)} so far)`,
            `${p.host} 在 ${at(s.from)} 进入 ${p.state}，到 ${at(ix.now)} 仍未离开（已 ${ms(ix.now - s.from)}）`,
          ),
        );
        continue;
      }
      let restarts = '';
      if (p.state === 'TIME-WAIT') {
        const sets = ix.events.filter(
          (e) =>
            e.type === 'timer' &&
            e.host === p.host &&
            e.sock === s.sock &&
            e.kind === 'time-wait' &&
            e.action === 'set' &&
            e.t > s.from &&
            e.t < s.to!,
        );
        if (sets.length > 0) {
          restarts = this.say(
            ` (its time-wait timer was restarted at ${list(
              'en',
              sets.map((e) => at(e.t)),
            )})`,
            `（它的 time-wait 定时器在 ${list(
              'zh-CN',
              sets.map((e) => at(e.t)),
            )} 被重新设置）`,
          );
        }
      }
      parts.push(
        this.say(
          `${p.host} stayed in ${p.state} for ${ms(s.to - s.from)} (${at(s.from)} → ${at(s.to)})${restarts}`,
          `${p.host} 在 ${p.state} 停留了 ${ms(s.to - s.from)}（${at(s.from)} → ${at(s.to)}）${restarts}`,
        ),
      );
    }
    return {
      met: false,
      events: stays.slice(0, 3).flatMap((s) => (s.leave === undefined ? [s.enter] : [s.enter, s.leave])),
      why: sentences(this.lang, [
        ...parts,
        this.say(`the goal wants ${list('en', want)}`, `目标要求 ${list('zh-CN', want)}`),
      ]),
    };
  }

  private concurrent(p: ConcurrentPredicate): Omit<Verdict, 'segments'> {
    const ix = this.ix;
    let n = 0;
    let best = 0;
    let bestAt = 0;
    let bestEvents: number[] = [];
    /** Sockets in the state, with the index of the event that put each there. */
    const inState = new Map<number, number>();
    for (let i = 0; i < ix.events.length; i++) {
      const e = ix.events[i]!;
      if (e.type !== 'state' || e.host !== p.host) continue;
      if (e.to === p.state) inState.set(e.sock, i);
      else inState.delete(e.sock);
      n = inState.size;
      if (n > best) {
        best = n;
        bestAt = e.t;
        bestEvents = [...inState.values()];
      }
      if (n >= p.min) return { met: true, at: e.t, events: [...inState.values()] };
    }
    if (best === 0) return { met: false, events: [], why: this.missingState(p.host, p.state) };
    const stays = ix
      .staysIn(p.host, p.state)
      .map((s) => `${at(s.from)}–${s.to === undefined ? '…' : at(s.to)}`);
    return {
      met: false,
      events: bestEvents,
      why: this.say(
        `At most ${best} of ${p.host}'s sockets were in ${p.state} at the same time (at ${at(bestAt)}); the goal needs ${p.min}. ${p.host}'s ${p.state} periods: ${stays.join(', ')}`,
        `${p.host} 同时处于 ${p.state} 的套接字最多只有 ${best} 个（${at(bestAt)}）；目标要求 ${p.min} 个。${p.host} 的 ${p.state} 时段：${stays.join('，')}`,
      ),
    };
  }
}
