/**
 * The catalogue: every exercise file loads, its intended solution (run through the simulator's
 * public runner) meets every goal, its questions accept their own answers, and a wrong way of
 * doing it leaves the right goals unmet with an explanation that says what is missing.
 */
import { describe, expect, it } from 'vitest';
import {
  checkAnswer,
  type Exercise,
  LANGS,
  type Question,
  resolveAmount,
  type SeatAction,
} from '../../shared/exercises/index.ts';
import { catalogue, goalsById, runSolution } from './helpers.ts';
import { VARIANTS } from './variants.ts';

/** Each situation of the course notes and the issue, by exercise id. */
const SITUATIONS = [
  'three-way-handshake',
  'header-fields',
  'four-way-close',
  'close-by-server',
  'why-four-segments',
  'simultaneous-close',
  'lose-first',
  'lose-second',
  'lose-third',
  'lose-last-ack',
  'time-wait-2msl',
  'time-wait-why',
  'many-time-waits',
  'syn-queue-overflow',
  'accept-queue-overflow',
  'close-vs-shutdown',
  'half-close',
  'rst-unread-data',
  'so-linger-zero',
  'retransmission',
  'fast-retransmit',
  'zero-window',
  'slow-start',
];

describe('catalogue', () => {
  it('has one exercise per situation, in catalogue order', () => {
    expect(catalogue().map((e) => e.id)).toEqual(SITUATIONS);
  });

  it('every exercise has a wrong variant in the tests', () => {
    const covered = new Set(VARIANTS.map((v) => v.exercise));
    expect(
      catalogue()
        .filter((e) => !covered.has(e.id))
        .map((e) => e.id),
    ).toEqual([]);
  });
});

/** A seat action's identity: the op and the arguments that say what it acts on. */
function signature(a: Record<string, unknown>): string {
  return ['op', 'fd', 'how', 'opt', 'pid', 'backlog', 'as', 'rule']
    .map((k) => (a[k] === undefined ? '' : JSON.stringify(a[k])))
    .join('|');
}

/** The answer the file gives (or, for trace questions, none: they are checked separately). */
function ownAnswer(q: Question, ex: Exercise): unknown {
  switch (q.kind) {
    case 'choice':
      return q.answer;
    case 'number':
      return resolveAmount(q.answer, ex);
    case 'text':
      return q.accept[0];
    case 'predict':
      return q.expected;
    case 'segment-field':
      return undefined;
  }
}

/** A wrong answer of the right shape. */
function wrongAnswer(q: Question): unknown {
  switch (q.kind) {
    case 'choice': {
      const right = Array.isArray(q.answer) ? q.answer : [q.answer];
      return q.options.find((o) => !right.includes(o.id))!.id;
    }
    case 'number':
      return 123_456;
    case 'text':
      return 'definitely not it';
    case 'predict':
      return { flags: ['URG'], rseq: 999, rack: 999, len: 999, win: 999 };
    case 'segment-field':
      return q.field === 'flags' ? 'URG' : q.field === 'checksum' ? '0x0000' : 999_999;
  }
}

/** Every exercise in exercises/, including ones a teacher added. */
describe.each(catalogue().map((e) => e.id))('%s', (id) => {
  const ex = (): Exercise => catalogue().find((e) => e.id === id)!;
  const unsolved = !ex().solution;

  it.skipIf(unsolved)('its solution meets every goal, in both languages', () => {
    const run = runSolution(ex());
    expect(run.errors).toEqual([]);
    for (const lang of LANGS) {
      const goals = goalsById(ex(), run, lang);
      const unmet = Object.values(goals).filter((g) => !g.met);
      expect(unmet.map((g) => `${g.id}: ${g.explanation}`)).toEqual([]);
      for (const g of Object.values(goals))
        expect(g.text).toBe(ex().goals.find((x) => x.id === g.id)!.text[lang]);
    }
  });

  it.skipIf(unsolved)(
    "each seat's actions (calls, and faults it adds) appear, in order, in the solution",
    () => {
      const e = ex();
      for (const seat of ['A', 'B'] as const) {
        const planned = e.seats[seat].steps
          .map((s) => s.action)
          .filter((a): a is SeatAction => a !== undefined)
          .map((a) => signature(a as Record<string, unknown>));
        const done = e
          .solution!.steps.filter((s) => !('host' in s) || s.host === seat)
          .map((s) => signature(s as unknown as Record<string, unknown>));
        let k = 0;
        for (const sig of done) if (sig === planned[k]) k++;
        expect(planned.slice(k), `${seat}'s steps missing from the solution`).toEqual([]);
      }
    },
  );

  it.skipIf(unsolved)('its questions accept the right answers and reject wrong ones', () => {
    const e = ex();
    const run = runSolution(e);
    for (const q of e.questions) {
      const ctx = { trace: run.trace, exercise: e };
      const own = ownAnswer(q, e);
      if (own !== undefined) {
        const r = checkAnswer(q, own, 'en', ctx);
        expect(r.status, `${q.id}: ${r.feedback}`).toBe('correct');
      }
      for (const lang of LANGS) {
        const w = checkAnswer(q, wrongAnswer(q), lang, ctx);
        expect(w.status, `${q.id} (${lang}): ${w.feedback}`).toBe('wrong');
        expect(w.feedback).not.toBe('');
      }
    }
  });
});

describe.each(VARIANTS)('$exercise, wrong: $name', (v) => {
  it('leaves the right goals unmet and says why', () => {
    const ex = catalogue().find((e) => e.id === v.exercise)!;
    const run = runSolution(ex, v.change);
    for (const lang of LANGS) {
      const goals = goalsById(ex, run, lang);
      for (const [goalId, expectation] of Object.entries(v.unmet)) {
        const g = goals[goalId];
        expect(g, `no goal ${goalId}`).toBeDefined();
        expect(g!.met, `${goalId} should be unmet`).toBe(false);
        for (const re of lang === 'en' ? expectation.en : expectation.zh) {
          expect(g!.explanation, `${goalId} (${lang})`).toMatch(re);
        }
      }
      for (const goalId of v.met ?? []) {
        expect(goals[goalId]?.met, `${goalId} should still be met: ${goals[goalId]?.explanation}`).toBe(true);
      }
    }
    expect(Object.keys(v.unmet).length).toBeGreaterThan(0);
  });
});
