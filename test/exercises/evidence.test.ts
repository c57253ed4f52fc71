/**
 * Goal evidence (issue 8): the events of the trace that prove a goal met, or that are relevant to
 * an unmet one (the lost FIN still waiting for its retransmission, the event that broke it), as
 * segment ids and trace indices for the exercise panel and the ladder. Checked on the recorded
 * runs of the catalogue's solutions, on runs changed to miss a goal, and on hand-written traces.
 */
import { describe, expect, it } from 'vitest';
import {
  checkGoals,
  checkPredicate,
  type Evidence,
  type Exercise,
  type GoalResult,
  MAX_EVIDENCE,
  type Predicate,
} from '../../shared/exercises/index.ts';
import type { ScenarioRun } from '../../shared/sim/runner.ts';
import type { SegmentTrace, TraceEvent } from '../../shared/sim/trace.ts';
import { catalogue, exercise, goalsById, runSolution } from './helpers.ts';

/** Every evidence event names a real trace event, segments are those of its segment events. */
function expectConsistent(ev: Evidence, trace: readonly TraceEvent[]): void {
  expect(ev.events.length).toBeGreaterThan(0);
  expect(ev.events.length).toBeLessThanOrEqual(MAX_EVIDENCE);
  const idx = ev.events.map((e) => e.i);
  expect(idx).toEqual([...new Set(idx)].sort((a, b) => a - b));
  const ids: number[] = [];
  for (const e of ev.events) {
    const real = trace[e.i]!;
    expect(real, `trace[${e.i}]`).toBeDefined();
    expect(e.t).toBe(real.t);
    expect(e.type).toBe(real.type);
    expect(e.text).not.toBe('');
    if (real.type === 'segment') {
      expect(e.segment).toBe(real.id);
      expect(e.text).toContain(`#${real.id} `);
      if (!ids.includes(real.id)) ids.push(real.id);
    } else {
      expect(e.segment).toBeUndefined();
      if ('host' in real) expect(e.host).toBe(real.host);
    }
  }
  expect(ev.segments).toEqual(ids);
}

function segAt(run: ScenarioRun, i: number): SegmentTrace {
  const e = run.trace[i]!;
  if (e.type !== 'segment') throw new Error(`trace[${i}] is a ${e.type}, not a segment`);
  return e;
}

describe('lose-third on its recorded solution', () => {
  const ex = exercise('lose-third');
  const run = runSolution(ex);
  const goals = goalsById(ex, run, 'en');

  it('the lost FIN: the drop of B’s FIN', () => {
    const ev = goals['fin-lost']!.evidence!;
    expectConsistent(ev, run.trace);
    expect(ev.events).toHaveLength(1);
    const fin = segAt(run, ev.events[0]!.i);
    expect(fin).toMatchObject({ from: 'B', event: 'drop' });
    expect(fin.flags).toContain('FIN');
    expect(ev.events[0]!.text).toMatch(/^#\d+ FIN,ACK from B \(dropped at t=\d+ ms\)$/);
  });

  it('the retransmitted FIN: the lost one, then its retransmission with the same seq', () => {
    const g = goals['fin-retransmitted']!;
    const ev = g.evidence!;
    expectConsistent(ev, run.trace);
    expect(ev.segments).toHaveLength(2);
    const [lost, again] = ev.events.map((e) => segAt(run, e.i)) as [SegmentTrace, SegmentTrace];
    expect(lost.event).toBe('drop');
    expect(again).toMatchObject({ from: 'B', event: 'send', seq: lost.seq, why: 'retransmit-rto' });
    expect(again.rexmit).toBeGreaterThan(0);
    // The goal's `segments` (met goals only) are the evidence's.
    expect(g.segments).toEqual(ev.segments);
    // The retransmission is what made the goal met.
    expect(g.at).toBe(again.t);
  });

  it('A waited: the retransmitted FIN arriving and A entering TIME-WAIT', () => {
    const ev = goals['a-waited']!.evidence!;
    expectConsistent(ev, run.trace);
    expect(ev.events.map((e) => [e.type, e.host])).toEqual([
      ['segment', 'A'],
      ['state', 'A'],
    ]);
    expect(run.trace[ev.events[1]!.i]).toMatchObject({ from: 'FIN-WAIT-2', to: 'TIME-WAIT' });
  });

  it('a state goal points at the state change, with no segment', () => {
    const ev = goals['b-closed']!.evidence!;
    expectConsistent(ev, run.trace);
    expect(ev.segments).toEqual([]);
    expect(ev.events).toEqual([expect.objectContaining({ type: 'state', host: 'B' })]);
    expect(ev.events[0]!.text).toMatch(/^B going LAST-ACK → CLOSED at t=\d+ ms$/);
  });

  it('speaks the student’s language', () => {
    const zh = goalsById(ex, run, 'zh-CN');
    expect(zh['fin-lost']!.evidence!.events[0]!.text).toMatch(/^#\d+ FIN,ACK（来自 B）|被丢弃/);
    expect(zh['fin-lost']!.evidence!.segments).toEqual(goals['fin-lost']!.evidence!.segments);
  });
});

describe('lose-third, not met', () => {
  const ex = exercise('lose-third');

  it('without the fault: nothing to show for the loss or the retransmission', () => {
    const run = runSolution(ex, (s) => {
      delete s.faults;
    });
    const goals = goalsById(ex, run, 'en');
    expect(goals['fin-lost']).toMatchObject({ met: false });
    expect(goals['fin-lost']!.evidence).toBeUndefined();
    expect(goals['fin-retransmitted']!.evidence).toBeUndefined();
    expect(goals['fin-retransmitted']!.segments).toBeUndefined();
  });

  it('stopped before the retransmission: the lost FIN is shown as what the goal is waiting on', () => {
    const full = runSolution(ex);
    const lostAt = full.trace.find(
      (e) => e.type === 'segment' && e.from === 'B' && e.event === 'drop' && e.flags.includes('FIN'),
    )!.t;
    const run = runSolution(ex, (s) => {
      s.until = lostAt + 1;
    });
    const goals = goalsById(ex, run, 'en');
    expect(goals['fin-lost']!.met).toBe(true);
    const g = goals['fin-retransmitted']!;
    expect(g.met).toBe(false);
    expect(g.segments).toBeUndefined();
    expectConsistent(g.evidence!, run.trace);
    expect(g.evidence!.segments).toEqual(goals['fin-lost']!.evidence!.segments);
    expect(g.explanation).toMatch(/never retransmitted|no retransmitted/i);
  });
});

describe('every exercise of the catalogue', () => {
  /** Goals whose proof is that something did not happen have nothing to point at. */
  const nothingToShow = (g: Exercise['goals'][number]) =>
    (g.kind === 'absent' || g.kind === 'no-segment') && g.before === undefined;

  for (const ex of catalogue()) {
    if (!ex.solution) continue;
    it(`${ex.id}: each met goal points at the events that prove it`, () => {
      const run = runSolution(ex);
      const results = checkGoals(ex, run.trace, 'en', { now: run.until });
      for (const [k, g] of ex.goals.entries()) {
        const r: GoalResult = results[k]!;
        expect(r.met, `${ex.id}/${g.id}`).toBe(true);
        if (nothingToShow(g)) {
          expect(r.evidence, `${ex.id}/${g.id}`).toBeUndefined();
          continue;
        }
        expect(r.evidence, `${ex.id}/${g.id} has evidence`).toBeDefined();
        expectConsistent(r.evidence!, run.trace);
        // Evidence never comes after the moment the goal became met.
        if (r.at !== undefined) for (const e of r.evidence!.events) expect(e.t).toBeLessThanOrEqual(r.at);
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Hand-written traces: the evidence of each predicate kind.

let nextId = 1;
function seg(t: number, from: 'A' | 'B', flags: string[], o: Partial<SegmentTrace> = {}): SegmentTrace {
  const to = from === 'A' ? 'B' : 'A';
  return {
    t,
    type: 'segment',
    id: o.id ?? nextId++,
    from,
    to,
    event: o.event ?? 'send',
    sport: from === 'A' ? 40000 : 80,
    dport: from === 'A' ? 80 : 40000,
    flags,
    seq: o.seq ?? 1001,
    ack: 0,
    rseq: 1,
    len: 0,
    win: 65535,
    options: [],
    ...(o.why ? { why: o.why } : {}),
    ...(o.rexmit ? { rexmit: o.rexmit } : {}),
  };
}
const state = (t: number, host: string, sock: number, from: string, to: string): TraceEvent =>
  ({ t, type: 'state', host, sock, from, to, cause: 'test' }) as TraceEvent;

const check = (p: Predicate, trace: TraceEvent[]) => checkPredicate(p, trace, 'en');

describe('evidence of each predicate kind', () => {
  it('absent: the event that must not have happened', () => {
    const trace = [seg(100, 'A', ['SYN']), seg(200, 'B', ['RST', 'ACK'], { id: 77 })];
    const v = check({ kind: 'absent', event: { kind: 'segment', flags: ['RST'] } }, trace);
    expect(v).toMatchObject({ met: false, events: [1], segments: [77] });
  });

  it('counts: the first `min` matches prove it, every match counts under a `max`', () => {
    const trace = [seg(100, 'A', ['SYN'], { id: 1 }), seg(1100, 'A', ['SYN'], { id: 2, rexmit: 1 })];
    expect(check({ kind: 'segment', from: 'A', flags: ['SYN'] }, trace)).toMatchObject({ segments: [1] });
    expect(check({ kind: 'segment', from: 'A', flags: ['SYN'], max: 2 }, trace)).toMatchObject({
      met: true,
      segments: [1, 2],
    });
  });

  it('counts: the matches so far when too few, the excess when too many', () => {
    const trace = [
      seg(100, 'A', ['FIN', 'ACK'], { id: 5, event: 'drop' }),
      seg(400, 'A', ['FIN', 'ACK'], { id: 6, why: 'retransmit-rto', rexmit: 1 }),
      seg(1000, 'A', ['FIN', 'ACK'], { id: 7, why: 'retransmit-rto', rexmit: 2 }),
    ];
    const few = check({ kind: 'retransmission', from: 'A', flags: ['FIN'], min: 3 }, trace);
    expect(few).toMatchObject({ met: false, events: [1, 2], segments: [6, 7] });
    const many = check({ kind: 'retransmission', from: 'A', flags: ['FIN'], max: 1 }, trace);
    expect(many).toMatchObject({ met: false, events: [1, 2], segments: [6, 7] });
  });

  it('order: only the first event when the second has not come yet', () => {
    const trace = [seg(100, 'B', ['FIN', 'ACK'], { id: 9, event: 'drop' })];
    const v = check(
      {
        kind: 'order',
        first: { kind: 'segment', from: 'B', flags: ['FIN'], event: 'drop' },
        // biome-ignore lint/suspicious/noThenProperty: `then` is the exercise format's field name
        then: { kind: 'retransmission', from: 'B', flags: ['FIN'] },
      },
      trace,
    );
    expect(v).toMatchObject({ met: false, events: [0], segments: [9] });
  });

  it('duration: the state changes into and out of the state', () => {
    const trace = [
      state(1000, 'A', 3, 'FIN-WAIT-2', 'TIME-WAIT'),
      seg(1500, 'B', ['ACK']),
      state(5000, 'A', 3, 'TIME-WAIT', 'CLOSED'),
    ];
    const v = check({ kind: 'duration', host: 'A', state: 'TIME-WAIT', equals: 4000 }, trace);
    expect(v).toMatchObject({ met: true, events: [0, 2], segments: [] });
  });

  it('concurrent: the state changes that put the sockets there together', () => {
    const trace = [
      state(100, 'B', 4, 'FIN-WAIT-2', 'TIME-WAIT'),
      state(200, 'B', 5, 'FIN-WAIT-2', 'TIME-WAIT'),
      state(300, 'B', 4, 'TIME-WAIT', 'CLOSED'),
      state(400, 'B', 6, 'FIN-WAIT-2', 'TIME-WAIT'),
    ];
    expect(check({ kind: 'concurrent', host: 'B', state: 'TIME-WAIT', min: 2 }, trace)).toMatchObject({
      met: true,
      events: [0, 1],
    });
    expect(check({ kind: 'concurrent', host: 'B', state: 'TIME-WAIT', min: 3 }, trace)).toMatchObject({
      met: false,
      events: [0, 1],
    });
  });

  it('all and any: what their parts show', () => {
    const trace = [seg(100, 'A', ['SYN'], { id: 1 }), seg(200, 'B', ['SYN', 'ACK'], { id: 2 })];
    const syn: Predicate = { kind: 'segment', from: 'A', flags: ['SYN'] };
    const synAck: Predicate = { kind: 'segment', from: 'B', flags: ['SYN', 'ACK'] };
    const fin: Predicate = { kind: 'segment', flags: ['FIN'] };
    expect(check({ kind: 'all', goals: [syn, synAck] }, trace)).toMatchObject({
      met: true,
      segments: [1, 2],
    });
    // Half done: the part already there is shown.
    expect(check({ kind: 'all', goals: [syn, fin] }, trace)).toMatchObject({ met: false, segments: [1] });
    expect(check({ kind: 'any', goals: [fin, synAck] }, trace)).toMatchObject({ met: true, segments: [2] });
  });

  it(`gives at most ${MAX_EVIDENCE} events`, () => {
    const trace = Array.from({ length: 40 }, (_, k) => seg(100 * k, 'A', ['ACK'], { id: 100 + k }));
    const ex: Exercise = {
      ...exercise('lose-third'),
      goals: [
        {
          id: 'acks',
          text: { en: 'ACKs', 'zh-CN': 'ACK' },
          kind: 'segment',
          flags: ['ACK'],
          min: 2,
          max: 100,
        },
      ],
    };
    const [g] = checkGoals(ex, trace, 'en');
    expect(g!.met).toBe(true);
    expect(g!.evidence!.events).toHaveLength(MAX_EVIDENCE);
    expect(g!.evidence!.segments[0]).toBe(100);
  });
});
