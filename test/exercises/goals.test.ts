/**
 * The goal predicates on their own: hand-written traces for the exact semantics (order and
 * `same`, absence before an event, counts, nth, any/all, durations, concurrency), and real runs
 * for what must not matter (link delay, seeds, extra data, ACKs and window updates).
 */
import { describe, expect, it } from 'vitest';
import {
  checkGoals,
  checkPredicate,
  type Exercise,
  type Pattern,
  type Predicate,
  type SameField,
  TraceIndex,
} from '../../shared/exercises/index.ts';
import type { SegmentTrace, TraceEvent } from '../../shared/sim/trace.ts';
import type { TcpState } from '../../shared/tcp/types.ts';
import { catalogue, goalsById, runSolution } from './helpers.ts';

// ---------------------------------------------------------------------------------------------
// A tiny trace builder: segments get A:40000 <-> B:80, seq relative to 0.

let nextId = 1;

function seg(
  t: number,
  from: 'A' | 'B',
  flags: string[],
  o: Partial<SegmentTrace> & { event?: SegmentTrace['event'] } = {},
): SegmentTrace {
  const to = from === 'A' ? 'B' : 'A';
  const rseq = o.rseq ?? 1;
  const e: SegmentTrace = {
    t,
    type: 'segment',
    id: o.id ?? nextId++,
    from,
    to,
    event: o.event ?? 'send',
    sport: from === 'A' ? 40000 : 80,
    dport: from === 'A' ? 80 : 40000,
    flags,
    seq: o.seq ?? 1000 + rseq,
    ack: o.ack ?? 0,
    rseq,
    len: o.len ?? 0,
    win: o.win ?? 65535,
    options: [],
    ...(o.why ? { why: o.why } : {}),
    ...(o.rexmit ? { rexmit: o.rexmit } : {}),
  };
  if (flags.includes('ACK')) e.rack = o.rack ?? 1;
  return e;
}

/** A send and, later, its arrival (or drop). */
function flight(
  t: number,
  from: 'A' | 'B',
  flags: string[],
  o: Partial<SegmentTrace> & { fate?: 'arrive' | 'drop' } = {},
): SegmentTrace[] {
  const s = seg(t, from, flags, o);
  return [s, { ...s, t: t + 50, event: o.fate ?? 'arrive' }];
}

function st(t: number, host: string, sock: number, from: TcpState, to: TcpState): TraceEvent {
  return { t, type: 'state', host, sock, from, to, cause: 'test' };
}

function call(
  t: number,
  host: string,
  callId: number,
  op: string,
  args: Record<string, unknown> = {},
): TraceEvent {
  return { t, type: 'call', host, pid: 1, callId, op: op as never, args: args as never };
}

function ret(t: number, host: string, callId: number, op: string, result: unknown): TraceEvent {
  return { t, type: 'return', host, pid: 1, callId, op: op as never, result: result as never, blockedMs: 0 };
}

/** An `order` predicate (the format's field is named `then`; these objects are never awaited). */
function order(first: Pattern, next: Pattern, same?: SameField[]): Predicate {
  // biome-ignore lint/suspicious/noThenProperty: `then` is the exercise format's field name
  return { kind: 'order', first, then: next, ...(same ? { same } : {}) };
}

const check = (
  p: Predicate,
  trace: TraceEvent[],
  lang: 'en' | 'zh-CN' = 'en',
  ex?: Pick<Exercise, 'setup'>,
) => checkPredicate(p, trace, lang, ex);

/** A's FIN lost, then retransmitted with the same seq. */
function lostFin(sameSeq = true): TraceEvent[] {
  return [
    ...flight(1000, 'A', ['FIN', 'ACK'], { id: 10, rseq: 6, why: 'fin', fate: 'drop' }),
    ...flight(1300, 'A', ['FIN', 'ACK'], {
      id: 11,
      rseq: sameSeq ? 6 : 7,
      why: 'retransmit-rto',
      rexmit: 1,
    }),
  ];
}

describe('order', () => {
  const dropThenRexmit = order(
    { kind: 'segment', from: 'A', flags: ['FIN'], event: 'drop' },
    { kind: 'retransmission', from: 'A', flags: ['FIN'], why: 'retransmit-rto' },
    ['seq'],
  );

  it('is met when the second event follows the first with the same seq', () => {
    const v = check(dropThenRexmit, lostFin());
    expect(v).toMatchObject({ met: true, at: 1300, segments: [10, 11] });
  });

  it('says when the events happened but with different values of a `same` field', () => {
    const v = check(dropThenRexmit, lostFin(false));
    expect(v.met).toBe(false);
    expect(v.why).toMatch(/happened after .* but not with the same seq/);
  });

  it('says when the second event only happened before the first', () => {
    const trace = [...flight(500, 'B', ['ACK'], { why: 'ack' }), ...flight(1000, 'A', ['FIN', 'ACK'])];
    const v = check(
      order({ kind: 'segment', from: 'A', flags: ['FIN'] }, { kind: 'segment', from: 'B', flags: ['ACK'] }),
      trace,
    );
    expect(v.met).toBe(false);
    expect(v.why).toMatch(
      /^B's ACK happened only before A's FIN: #\d+ ACK from B \(sent at t=500 ms\) came before/,
    );
  });

  it('explains a missing first event as that event would be explained', () => {
    const v = check(dropThenRexmit, [...flight(1000, 'A', ['FIN', 'ACK'], { id: 3 })]);
    expect(v.why).toBe('A sent a FIN once, but it was not dropped: #3 FIN,ACK from A (arrived at t=1050 ms)');
  });
});

describe('absent and no-segment', () => {
  it('needs its `before` event to have happened', () => {
    const v = check(
      {
        kind: 'no-segment',
        from: 'A',
        flags: ['FIN'],
        before: { kind: 'call', host: 'A', op: 'close', nth: 2 },
      },
      [call(100, 'A', 1, 'close'), ret(100, 'A', 1, 'close', { ok: true, value: 0 })],
    );
    expect(v.met).toBe(false);
    expect(v.why).toMatch(
      /can only be checked once A's 2nd close\(\) has happened: A's close\(\) happened only once/,
    );
  });

  it('names the call that sent a segment too early', () => {
    const trace: TraceEvent[] = [
      call(100, 'A', 1, 'shutdown', { fd: 3, how: 'SHUT_WR' }),
      seg(100, 'A', ['FIN', 'ACK'], { id: 7, why: 'fin' }),
      ret(100, 'A', 1, 'shutdown', { ok: true, value: 0 }),
      call(200, 'A', 2, 'close', { fd: 3 }),
      ret(200, 'A', 2, 'close', { ok: true, value: 0 }),
    ];
    const v = check(
      { kind: 'no-segment', from: 'A', flags: ['FIN'], before: { kind: 'call', host: 'A', op: 'close' } },
      trace,
    );
    expect(v.why).toBe(
      "A's FIN must not happen before A's close(), but #7 FIN,ACK from A (sent at t=100 ms) (sent by A's shutdown(SHUT_WR)) came before A's close() at t=200 ms",
    );
    const zh = check(
      { kind: 'no-segment', from: 'A', flags: ['FIN'], before: { kind: 'call', host: 'A', op: 'close' } },
      trace,
      'zh-CN',
    );
    expect(zh.why).toContain('由 A 的 shutdown(SHUT_WR) 发出');
  });

  it('is met, at the time of `before`, when nothing matched before it', () => {
    const trace: TraceEvent[] = [
      call(200, 'A', 1, 'close', {}),
      seg(200, 'A', ['FIN', 'ACK']),
      ret(200, 'A', 1, 'close', { ok: true, value: 0 }),
    ];
    const v = check(
      { kind: 'no-segment', from: 'A', flags: ['FIN'], before: { kind: 'call', host: 'A', op: 'close' } },
      trace,
    );
    expect(v).toMatchObject({ met: true, at: 200 });
  });

  it('without `before`, is met only when nothing ever matches', () => {
    expect(check({ kind: 'absent', event: { kind: 'segment', flags: ['RST'] } }, lostFin()).met).toBe(true);
    const v = check({ kind: 'absent', event: { kind: 'segment', flags: ['FIN'], event: 'drop' } }, lostFin());
    expect(v.met).toBe(false);
    expect(v.why).toMatch(
      /^A FIN \(dropped\) must not happen, but it did: #10 FIN,ACK from A \(dropped at t=1050 ms\)/,
    );
  });
});

describe('counts and nth', () => {
  const rexmits = [
    ...lostFin(),
    ...flight(1900, 'A', ['FIN', 'ACK'], { rseq: 6, why: 'retransmit-rto', rexmit: 2, id: 12 }),
  ];

  it('counts matching events with min and max', () => {
    expect(check({ kind: 'retransmission', from: 'A', flags: ['FIN'], min: 2 }, rexmits)).toMatchObject({
      met: true,
      at: 1900,
    });
    const v = check({ kind: 'retransmission', from: 'A', flags: ['FIN'], min: 3 }, rexmits);
    expect(v.why).toMatch(/^A's retransmitted FIN: only twice, the goal needs at least 3 \(#11 .*#12 /);
    const w = check({ kind: 'retransmission', from: 'A', flags: ['FIN'], max: 1 }, rexmits, 'zh-CN');
    expect(w.why).toMatch(/^A 重传的 FIN：发生了 2 次，最多允许 1 次/);
  });

  it('nth picks one event, and says how many there were', () => {
    expect(check({ kind: 'retransmission', from: 'A', flags: ['FIN'], nth: 2 }, rexmits)).toMatchObject({
      met: true,
      segments: [12],
    });
    const v = check({ kind: 'retransmission', from: 'A', flags: ['FIN'], nth: 3 }, rexmits);
    expect(v.why).toMatch(/happened only twice .*; the goal is about the 3rd one/);
  });
});

describe('any and all', () => {
  const lost: Predicate = { kind: 'segment', from: 'A', flags: ['FIN'], event: 'drop' };
  const reset: Predicate = { kind: 'segment', flags: ['RST'] };

  it('any is met by one alternative and lists every reason otherwise', () => {
    expect(check({ kind: 'any', goals: [reset, lost] }, lostFin()).met).toBe(true);
    const v = check(
      { kind: 'any', goals: [reset, { kind: 'state-reached', host: 'B', state: 'CLOSING' }] },
      lostFin(),
    );
    expect(v.why).toMatch(
      /^None of the alternatives happened: \(1\) No RST was sent; \(2\) B never reached CLOSING/,
    );
  });

  it('all needs every part, and says a shared reason once', () => {
    expect(check({ kind: 'all', goals: [lost, { kind: 'retransmission', from: 'A' }] }, lostFin()).met).toBe(
      true,
    );
    const v = check({ kind: 'all', goals: [reset, reset, lost] }, lostFin());
    expect(v.why).toBe('No RST was sent');
  });
});

describe('duration and concurrency', () => {
  const ex: Pick<Exercise, 'setup'> = { setup: { config: { mslMs: 2000 } } };
  const tw = (enter: number, leave?: number, sock = 1): TraceEvent[] => [
    st(enter, 'A', sock, 'FIN-WAIT-2', 'TIME-WAIT'),
    ...(leave === undefined ? [] : [st(leave, 'A', sock, 'TIME-WAIT', 'CLOSED')]),
  ];

  it("reads amounts from the exercise's settings", () => {
    const p: Predicate = { kind: 'duration', host: 'A', state: 'TIME-WAIT', equals: '2*MSL' };
    expect(check(p, tw(1000, 5000), 'en', ex)).toMatchObject({ met: true, at: 5000 });
    const v = check(p, tw(1000, 5300), 'en', ex);
    expect(v.why).toBe(
      'A stayed in TIME-WAIT for 4300 ms (t=1000 ms → t=5300 ms); the goal wants 2*MSL = 4000 ms (±1)',
    );
  });

  it('says when the state has not ended yet, up to "now"', () => {
    const v = checkPredicate(
      { kind: 'duration', host: 'A', state: 'TIME-WAIT', min: 'MSL' },
      tw(1000),
      'en',
      ex,
      { now: 2500 },
    );
    expect(v.why).toMatch(
      /^A entered TIME-WAIT at t=1000 ms and is still there at t=2500 ms \(1500 ms so far\)/,
    );
  });

  it('counts sockets in a state at the same moment', () => {
    const byTime = (es: TraceEvent[]) => es.sort((a, b) => a.t - b.t);
    const overlapping = byTime([...tw(100, 4100, 1), ...tw(200, 4200, 2), ...tw(300, 4300, 3)]);
    expect(check({ kind: 'concurrent', host: 'A', state: 'TIME-WAIT', min: 3 }, overlapping)).toMatchObject({
      met: true,
      at: 300,
    });
    const apart = byTime([...tw(100, 150, 1), ...tw(200, 250, 2), ...tw(300, 350, 3)]);
    const v = check({ kind: 'concurrent', host: 'A', state: 'TIME-WAIT', min: 3 }, apart);
    expect(v.why).toMatch(/^At most 1 of A's sockets were in TIME-WAIT at the same time/);
  });
});

describe('call patterns', () => {
  const trace: TraceEvent[] = [
    call(100, 'A', 1, 'recv', { fd: 3 }),
    ret(300, 'A', 1, 'recv', { ok: true, value: { bytes: 5, text: 'hello' } }),
    call(400, 'A', 2, 'recv', { fd: 3 }),
    ret(400, 'A', 2, 'recv', { ok: true, value: { bytes: 0 } }),
    call(500, 'A', 3, 'connect', { fd: 4 }),
    ret(550, 'A', 3, 'connect', { ok: false, errno: 'ECONNREFUSED', message: 'refused' }),
  ];

  it('matches results, end-of-file, and where in the trace the call is', () => {
    expect(check({ kind: 'call', host: 'A', op: 'recv', eof: true }, trace)).toMatchObject({
      met: true,
      at: 400,
    });
    expect(check({ kind: 'call', host: 'A', op: 'recv', eof: false, when: 'return' }, trace)).toMatchObject({
      met: true,
      at: 300,
    });
    expect(check({ kind: 'call', host: 'A', op: 'connect', errno: 'ECONNREFUSED' }, trace).met).toBe(true);
    const v = check({ kind: 'call', host: 'A', op: 'connect', ok: true }, trace);
    expect(v.why).toBe(
      "A's connect() succeeding did not happen: A's connect() at t=500 ms returned -1 ECONNREFUSED",
    );
    expect(check({ kind: 'call', host: 'B', op: 'accept' }, trace).why).toBe('B never called accept()');
  });
});

describe('checkGoals', () => {
  it("returns each goal's own text and appends the teacher's hint to the explanation", () => {
    const ex = {
      ...catalogue()[0]!,
      goals: [
        {
          id: 'rst',
          text: { en: 'Someone sent RST', 'zh-CN': '有人发送了 RST' },
          hint: { en: 'Close with unread data.', 'zh-CN': '在有未读数据时关闭。' },
          kind: 'segment' as const,
          flags: ['RST'],
        },
      ],
    };
    const [en] = checkGoals(ex, lostFin(), 'en');
    expect(en).toEqual({
      id: 'rst',
      met: false,
      text: 'Someone sent RST',
      explanation: 'No RST was sent. Hint: Close with unread data.',
    });
    const [zh] = checkGoals(ex, lostFin(), 'zh-CN');
    expect(zh!.explanation).toBe('没有发出过 RST。提示：在有未读数据时关闭。');
  });
});

describe('TraceIndex', () => {
  it('knows which segment acknowledges a FIN on the same connection', () => {
    const fin = seg(100, 'A', ['FIN', 'ACK'], { seq: 5000, id: 1 });
    const ack = seg(150, 'B', ['ACK'], { ack: 5001, id: 2 });
    const other = { ...seg(160, 'B', ['ACK'], { ack: 5001, id: 3 }), sport: 81 };
    const ix = new TraceIndex([fin, ack, other]);
    expect(ix.acks(ack, 'FIN', 1)).toBe(true);
    expect(ix.acks(other, 'FIN', 2)).toBe(false);
    expect(ix.acks(ack, 'SYN', 1)).toBe(false);
  });
});

describe('harmless differences', () => {
  const timed = new Set(['simultaneous-close']);

  it.each([20, 120])('every solution still meets its goals with a %d ms link and another seed', (delayMs) => {
    for (const ex of catalogue()) {
      if (timed.has(ex.id)) continue;
      const run = runSolution(ex, (s) => {
        s.link = { ...(s.link ?? {}), delayMs };
        s.seed = 7;
      });
      const unmet = Object.values(goalsById(ex, run, 'en')).filter((g) => !g.met);
      expect(unmet.map((g) => `${ex.id}/${g.id}: ${g.explanation}`)).toEqual([]);
    }
  });

  it('a simultaneous close stays simultaneous on slower links', () => {
    const ex = catalogue().find((e) => e.id === 'simultaneous-close')!;
    // The closes are 200 ms apart, after the handshake: any one-way delay over 200 ms makes the FINs cross.
    for (const delayMs of [500, 1000]) {
      const run = runSolution(ex, (s) => {
        s.link = { delayMs };
        s.config = { ...s.config, rtoInitialMs: 20_000 };
        s.until = 40_000;
      });
      expect(Object.values(goalsById(ex, run, 'en')).filter((g) => !g.met)).toEqual([]);
    }
  });

  it('extra data both ways (more ACKs, window updates) before closing changes nothing', () => {
    for (const ex of catalogue()) {
      const run = runSolution(ex, (s) => {
        const fds = new Set(s.steps.map((x) => ('fd' in x ? x.fd : undefined)));
        if (!fds.has('c') || !fds.has('conn')) return;
        s.steps.push(
          { at: 400, host: 'A', op: 'send', fd: 'c', data: 'ping' },
          { at: 400, host: 'B', op: 'recv', fd: 'conn' },
          { at: 400, host: 'B', op: 'send', fd: 'conn', data: 'pong' },
          { at: 400, host: 'A', op: 'recv', fd: 'c' },
        );
      });
      const unmet = Object.values(goalsById(ex, run, 'en')).filter((g) => !g.met);
      expect(unmet.map((g) => `${ex.id}/${g.id}: ${g.explanation}`)).toEqual([]);
    }
  });
});
