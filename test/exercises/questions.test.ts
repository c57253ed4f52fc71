/**
 * Answers: choice, number, text, a field read from a real segment, and predictions of the next
 * segment, which can be given before it exists and are checked once it does.
 */
import { describe, expect, it } from 'vitest';
import {
  type AnswerResult,
  catalogueEntry,
  checkAnswer,
  computeProgress,
  exerciseView,
  type PredictQuestion,
  type Question,
  segmentFieldValue,
} from '../../shared/exercises/index.ts';
import type { SegmentTrace } from '../../shared/sim/trace.ts';
import { catalogue, exercise, goalsById, runSolution } from './helpers.ts';

const t = (en: string) => ({ en, 'zh-CN': en });

describe('choice, number and text questions', () => {
  const multi: Question = {
    id: 'why',
    kind: 'choice',
    prompt: t('Why?'),
    options: [
      { id: 'a', text: t('a') },
      { id: 'b', text: t('b') },
      { id: 'c', text: t('c') },
    ],
    answer: ['a', 'b'],
  };

  it('needs exactly the set of right options', () => {
    expect(checkAnswer(multi, ['b', 'a'], 'en').status).toBe('correct');
    const half = checkAnswer(multi, ['a'], 'en');
    expect(half).toEqual({
      status: 'wrong',
      feedback: 'Not right. 1 of your 1 choices are right, and there are 2 right options.',
    });
    expect(checkAnswer(multi, ['a', 'b', 'c'], 'zh-CN').feedback).toBe(
      '不对。你选的 3 项中有 2 项正确，正确选项共有 2 项。',
    );
    expect(checkAnswer(multi, 'z', 'en')).toEqual({
      status: 'invalid',
      feedback: 'Choose among the options a, b, c.',
    });
  });

  it('reads numbers with units, separators and hex, and amounts from the settings', () => {
    const q: Question = { id: 'tw', kind: 'number', prompt: t('TIME-WAIT?'), answer: '2*MSL', unit: 'ms' };
    const ctx = { exercise: { setup: { config: { mslMs: 2000 } } } };
    expect(checkAnswer(q, 4000, 'en', ctx).status).toBe('correct');
    expect(checkAnswer(q, '4,000 ms', 'en', ctx).status).toBe('correct');
    expect(checkAnswer(q, '0xfa0', 'en', ctx).status).toBe('correct');
    expect(checkAnswer(q, 60_000, 'en', ctx)).toEqual({ status: 'wrong', feedback: 'Not right. Too high.' });
    expect(checkAnswer(q, '2000', 'zh-CN', ctx)).toEqual({ status: 'wrong', feedback: '不对。偏小。' });
    expect(checkAnswer(q, 'four seconds', 'en', ctx).status).toBe('invalid');
    const near: Question = { id: 'rto', kind: 'number', prompt: t('RTO?'), answer: 300, tolerance: 10 };
    expect(checkAnswer(near, 309, 'en').status).toBe('correct');
    expect(checkAnswer(near, 311, 'en').status).toBe('wrong');
  });

  it('compares text without case, separators or full-width forms', () => {
    const q: Question = {
      id: 's',
      kind: 'text',
      prompt: t('Which state?'),
      accept: ['TIME-WAIT', '时间等待'],
    };
    for (const a of ['time_wait', 'Time Wait', 'ＴＩＭＥ－ＷＡＩＴ', ' 时间等待 ']) {
      expect(checkAnswer(q, a, 'en').status, a).toBe('correct');
    }
    expect(checkAnswer(q, 'CLOSE-WAIT', 'en').status).toBe('wrong');
    expect(checkAnswer(q, '  ', 'en').status).toBe('invalid');
  });

  it('shows the explanation once the answer is right', () => {
    const q = exercise('lose-third').questions.find((x) => x.id === 'who-repairs')!;
    expect(checkAnswer(q, 'b-rto', 'zh-CN').feedback).toMatch(/^只有发送方知道报文段没有被确认/);
  });
});

describe('segment-field questions', () => {
  const ex = exercise('header-fields');
  const run = runSolution(ex);
  const q = (id: string) => ex.questions.find((x) => x.id === id)!;
  const synOf = (from: string, ack: boolean) =>
    run.trace.find(
      (e): e is SegmentTrace =>
        e.type === 'segment' &&
        e.event === 'send' &&
        e.from === from &&
        e.flags.includes('SYN') &&
        e.flags.includes('ACK') === ack,
    )!;

  it("reads the window, the MSS and the checksum of the run's own segments", () => {
    const synAck = synOf('B', true);
    const syn = synOf('A', false);
    const ctx = { trace: run.trace, exercise: ex };
    expect(checkAnswer(q('syn-ack-window'), String(synAck.win), 'en', ctx)).toMatchObject({
      status: 'correct',
      actual: synAck.win,
    });
    expect(checkAnswer(q('syn-mss-value'), 1460, 'en', ctx).status).toBe('correct');
    const sum = segmentFieldValue(syn, 'checksum') as number;
    // The checksum is the 16 bits at TCP offset 16 of the packet bytes (20-byte IPv4 header here).
    expect(sum).toBe(Number.parseInt(syn.hex!.slice(2 * 36, 2 * 38), 16));
    const hex = sum.toString(16).padStart(4, '0');
    for (const a of [`0x${hex}`, hex.toUpperCase(), `${hex.slice(0, 2)} ${hex.slice(2)}`]) {
      expect(checkAnswer(q('syn-checksum'), a, 'en', ctx).status, a).toBe('correct');
    }
    expect(checkAnswer(q('syn-checksum'), `0x${((sum + 1) & 0xffff).toString(16)}`, 'en', ctx)).toEqual({
      status: 'wrong',
      feedback: expect.stringMatching(/^Not right\. Look at #1 SYN from A again\.$/),
    });
  });

  it('tells header length in bytes from the data offset in words', () => {
    const dataOffset: Question = {
      id: 'off',
      kind: 'segment-field',
      prompt: t('Data offset of A’s SYN?'),
      segment: { kind: 'segment', from: 'A', flags: ['SYN'], noFlags: ['ACK'] },
      field: 'dataOffset',
    };
    const ctx = { trace: run.trace };
    expect(checkAnswer(dataOffset, 6, 'en', ctx).status).toBe('correct');
    expect(checkAnswer(dataOffset, 24, 'en', ctx).feedback).toMatch(/Data Offset field counts 32-bit words/);
  });

  it('is pending while the segment has not been sent', () => {
    expect(checkAnswer(q('syn-ack-window'), 65535, 'zh-CN', { trace: [] })).toEqual({
      status: 'pending',
      feedback: '时间线上还没有 B 发出的 SYN,ACK。',
    });
  });
});

describe('predict the next segment', () => {
  const ex = exercise('four-way-close');
  const q = ex.questions.find((x) => x.id === 'predict-ack') as PredictQuestion;
  const run = runSolution(ex);
  /** How many events there were just before A's FIN reached B. */
  const before = run.trace.findIndex(
    (e) => e.type === 'segment' && e.event === 'arrive' && e.from === 'A' && e.flags.includes('FIN'),
  );

  it('can be answered before the segment exists, and is checked when it does', () => {
    const answer = { flags: ['ACK'], rseq: 1, rack: 2 };
    const early = checkAnswer(q, answer, 'en', { trace: run.trace.slice(0, before), answeredBefore: before });
    expect(early).toEqual({
      status: 'pending',
      feedback: 'Answer saved. It will be checked when B sends that segment.',
    });
    const later = checkAnswer(q, answer, 'en', { trace: run.trace, answeredBefore: before });
    expect(later).toMatchObject({ status: 'correct', actual: { flags: ['ACK'], rseq: 1, rack: 2 } });
  });

  it('says which fields were wrong', () => {
    const r = checkAnswer(q, { flags: 'ACK', rseq: 1, rack: 1 }, 'en', { trace: run.trace });
    expect(r.status).toBe('wrong');
    expect(r.feedback).toMatch(/^Not quite \(#\d+ ACK from B\): rack: you said 1, B sent 2$/);
    const zh = checkAnswer(q, { flags: ['FIN', 'ACK'], rseq: 1, rack: 2 }, 'zh-CN', { trace: run.trace });
    expect(zh.feedback).toMatch(/标志位：B 发送的是 ACK/);
  });

  it('ignores PSH, a harmless difference', () => {
    expect(
      checkAnswer(q, { flags: ['ACK', 'PSH'], rseq: 1, rack: 2 }, 'en', { trace: run.trace }).status,
    ).toBe('correct');
  });

  it('is late when the segment was already there', () => {
    const r = checkAnswer(q, { flags: ['ACK'], rseq: 1, rack: 2 }, 'en', {
      trace: run.trace,
      answeredBefore: run.trace.length,
    });
    expect(r).toMatchObject({ status: 'late', correct: true });
  });

  it('needs every asked field', () => {
    expect(checkAnswer(q, { flags: ['ACK'] }, 'en', { trace: run.trace })).toEqual({
      status: 'invalid',
      feedback: 'Give rseq and rack of the segment B will send.',
    });
    expect(checkAnswer(q, 'ACK', 'en').status).toBe('invalid');
  });
});

describe('progress', () => {
  it('counts goals met and questions answered, and when the last goal was met', () => {
    const ex = exercise('lose-third');
    const run = runSolution(ex);
    const goals = Object.values(goalsById(ex, run, 'en'));
    const none = computeProgress(ex, [], {});
    expect(none).toMatchObject({ goalsMet: 0, questionsAnswered: 0, percent: 0, complete: false });
    expect(none.questions).toEqual({ 'who-repairs': 'unanswered', 'predict-last-ack': 'unanswered' });

    const wrong: AnswerResult = { status: 'wrong', feedback: '' };
    const right: AnswerResult = { status: 'correct', feedback: '' };
    const pending: AnswerResult = { status: 'pending', feedback: '' };
    const half = computeProgress(ex, goals, { 'who-repairs': wrong, 'predict-last-ack': pending });
    expect(half).toMatchObject({
      exerciseId: 'lose-third',
      goalsMet: 4,
      goalsTotal: 4,
      questionsAnswered: 1,
      questionsCorrect: 0,
      questionsTotal: 2,
      percent: 66,
      complete: false,
    });
    expect(half.goalsDoneAt).toBe(Math.max(...goals.map((g) => g.at!)));

    const all = computeProgress(ex, goals, { 'who-repairs': right, 'predict-last-ack': right });
    expect(all).toMatchObject({ percent: 100, complete: true });
  });

  it('counts a goal unmet again when a later check says so', () => {
    const ex = exercise('lose-third');
    const results = ex.goals.map((g, i) => ({ id: g.id, met: i !== 1, text: '' }));
    const p = computeProgress(ex, results, {});
    expect(p.goals).toEqual({
      'fin-lost': true,
      'fin-retransmitted': false,
      'a-waited': true,
      'b-closed': true,
    });
    expect(p.goalsDoneAt).toBeUndefined();
  });
});

describe('exerciseView', () => {
  it('gives students the words in their language and no answer', () => {
    for (const ex of catalogue()) {
      const view = exerciseView(ex, 'zh-CN');
      expect(view.title).toBe(ex.title['zh-CN']);
      expect(view.seats.B.steps.length).toBe(ex.seats.B.steps.length);
      const json = JSON.stringify(view);
      const keys = new Set<string>();
      JSON.parse(json, (k, v) => {
        keys.add(k);
        return v;
      });
      for (const secret of ['answer', 'accept', 'expected', 'solution', 'setup', 'faults']) {
        expect(keys.has(secret), `${ex.id} leaks ${secret}`).toBe(false);
      }
    }
  });

  it('says when a choice question has several right options', () => {
    const v = exerciseView(exercise('time-wait-2msl'), 'en');
    expect(v.questions.find((q) => q.id === 'why-tw')).toMatchObject({ kind: 'choice', multiple: true });
    expect(catalogueEntry(exercise('time-wait-2msl'), 'en')).toEqual({
      id: 'time-wait-2msl',
      order: 110,
      title: 'TIME-WAIT and 2·MSL',
      summary: 'Measure how long A stays in TIME-WAIT, and find out why the state exists.',
      topics: ['close', 'time-wait'],
    });
  });
});
