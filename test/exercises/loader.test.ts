/**
 * Loading exercise files: every problem is reported with the file and the field, bad files are
 * skipped, good ones kept.
 */
import { describe, expect, it } from 'vitest';
import { loadExercises, parseExercise } from '../../shared/exercises/index.ts';
import { exerciseFiles } from './helpers.ts';

/** A small valid exercise, as JSON, to break one field at a time. */
function valid(): Record<string, unknown> {
  const t = (en: string) => ({ en, 'zh-CN': `中文：${en}` });
  return {
    title: t('Lose the third segment'),
    summary: t('B loses its FIN'),
    explanation: t('B retransmits it.'),
    setup: { config: { mslMs: 2000 }, faults: [{ from: 'B', flags: ['FIN'], action: 'drop' }] },
    seats: {
      A: {
        role: t('client'),
        steps: [
          { text: t('socket'), action: { op: 'socket', as: 'c' } },
          { text: t('connect'), action: { op: 'connect', fd: 'c', addr: 'B', port: 80 } },
          { text: t('close'), action: { op: 'close', fd: 'c' } },
        ],
      },
      B: {
        role: t('server'),
        steps: [
          { text: t('socket'), action: { op: 'socket', as: 'lsn' } },
          { text: t('bind'), action: { op: 'bind', fd: 'lsn', port: 80 } },
          { text: t('listen'), action: { op: 'listen', fd: 'lsn' } },
          { text: t('accept'), action: { op: 'accept', fd: 'lsn', as: 'conn' } },
        ],
      },
    },
    goals: [
      { id: 'lost', text: t('lost'), kind: 'segment', from: 'B', flags: ['FIN'], event: 'drop' },
      JSON.parse(
        '{"id": "again", "text": {"en": "again", "zh-CN": "中文：again"}, "kind": "order",' +
          '"first": {"kind": "segment", "from": "B", "flags": ["FIN"], "event": "drop"},' +
          '"then": {"kind": "retransmission", "from": "B", "flags": ["FIN"]}}',
      ),
      { id: 'tw', text: t('tw'), kind: 'state-reached', host: 'A', state: 'TIME-WAIT' },
    ],
    questions: [
      {
        id: 'who',
        kind: 'choice',
        prompt: t('who?'),
        options: [
          { id: 'a', text: t('A') },
          { id: 'b', text: t('B') },
        ],
        answer: 'b',
      },
    ],
    solution: {
      until: 5000,
      steps: [
        { at: 0, host: 'B', op: 'socket', as: 'lsn' },
        { at: 0, host: 'B', op: 'bind', fd: 'lsn', port: 80 },
      ],
    },
  };
}

function errorsOf(ex: unknown, name = 'exercises/lose-third.json'): string[] {
  const r = parseExercise(name, JSON.stringify(ex));
  return r.ok ? [] : r.errors;
}

describe('parseExercise', () => {
  it('accepts a valid file and takes its id from the file name', () => {
    const r = parseExercise('exercises/lose-third.json', JSON.stringify(valid()));
    expect(r.ok ? r.exercise.id : r.errors).toBe('lose-third');
  });

  it('reports bad JSON with a line and column', () => {
    const r = parseExercise('exercises/x.json', '{\n  "title": {\n    "en": "x",\n  }\n}');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]).toMatch(/^exercises\/x\.json: not valid JSON: .*\(line 4, column 3\)$/);
  });

  it('names the field of an unknown goal kind and suggests the right one', () => {
    const ex = valid();
    (ex.goals as Array<Record<string, unknown>>)[2]!.kind = 'reachd';
    expect(errorsOf(ex)).toEqual([
      expect.stringMatching(
        /^exercises\/lose-third\.json: goals\[2\]\.kind: unknown goal kind "reachd" \(did you mean "state-reached"\?\)/,
      ),
    ]);
  });

  it('reports a missing translation', () => {
    const ex = valid();
    ex.title = { en: 'Only English' };
    expect(errorsOf(ex)).toEqual(['exercises/lose-third.json: title.zh-CN: missing (the Chinese text)']);
  });

  it('suggests zh-CN for zh', () => {
    const ex = valid();
    ex.summary = { en: 'x', zh: '中文' };
    expect(errorsOf(ex)).toEqual([
      'exercises/lose-third.json: summary.zh: unknown field (did you mean "zh-CN"?)',
      'exercises/lose-third.json: summary.zh-CN: missing (the Chinese text)',
    ]);
  });

  it('reports setup problems with the scenario format words, under setup.', () => {
    const ex = valid();
    (ex.setup as Record<string, unknown>).faults = [{ from: 'B', flags: ['FIN'], action: 'lose' }];
    (ex.setup as Record<string, unknown>).config = { msl: 1 };
    const errors = errorsOf(ex);
    expect(errors).toContain(
      'exercises/lose-third.json: setup.faults[0].action: unknown action "lose" (one of drop, delay, duplicate, corrupt, hold)',
    );
    expect(errors).toContainEqual(
      expect.stringMatching(/^exercises\/lose-third\.json: setup\.config\.msl: unknown engine setting/),
    );
  });

  it('rejects hosts other than A and B', () => {
    const ex = valid();
    (ex.setup as Record<string, unknown>).hosts = { C: { config: {} } };
    expect(errorsOf(ex)).toContain(
      'exercises/lose-third.json: setup.hosts.C: the hosts of an exercise are A and B',
    );
  });

  it("reports a seat's bad action at the seat's step", () => {
    const ex = valid();
    const steps = (ex.seats as Record<string, { steps: Array<Record<string, unknown>> }>).B!.steps;
    steps[3]!.action = { op: 'accept', fd: 'listener', as: 'conn' };
    steps[1]!.action = { op: 'bind', fd: 'lsn', port: 80, host: 'B' };
    expect(errorsOf(ex)).toEqual([
      "exercises/lose-third.json: seats.B.steps[1].action.host: not used in a seat's steps (the seat is the host)",
      'exercises/lose-third.json: seats.B.steps[3].action.fd: no earlier step on B names a descriptor "listener" (with "as")',
    ]);
  });

  it('suggests the right op for a misspelt seat action', () => {
    const ex = valid();
    (ex.seats as Record<string, { steps: Array<Record<string, unknown>> }>).A!.steps[1]!.action = {
      op: 'conect',
      fd: 'c',
    };
    expect(errorsOf(ex)).toEqual([
      'exercises/lose-third.json: seats.A.steps[1].action.op: unknown op "conect" (did you mean "connect"?)',
    ]);
  });

  it('reports solution steps under solution.', () => {
    const ex = valid();
    (ex.solution as Record<string, unknown>).steps = [
      { at: 0, host: 'B', op: 'socket', as: 'lsn' },
      { at: 5, host: 'B', op: 'bind', fd: 'server', port: 80 },
    ];
    (ex.solution as Record<string, unknown>).until = -1;
    expect(errorsOf(ex)).toEqual([
      'exercises/lose-third.json: solution.until: must be a number of ms >= 0, got -1',
      'exercises/lose-third.json: solution.steps[1].fd: no earlier step on B names a descriptor "server" (with "as")',
    ]);
  });

  it('checks pattern fields inside predicates', () => {
    const ex = valid();
    const goals = ex.goals as Array<Record<string, unknown>>;
    goals[0]!.flags = ['FIN', 'FINN'];
    goals[0]!.event = 'lost';
    (goals[1]!.then as Record<string, unknown>).why = 'timeout';
    goals.push({
      id: 'd',
      text: goals[2]!.text,
      kind: 'duration',
      host: 'A',
      state: 'TIME-WAIT',
      equals: '2*MLS',
    });
    goals.push({ id: 'tw', text: goals[2]!.text, kind: 'state-reached', host: 'C', state: 'TIME_WAIT' });
    const errors = errorsOf(ex).map((e) => e.replace('exercises/lose-third.json: ', ''));
    expect(errors).toContainEqual(expect.stringMatching(/^goals\[0\]\.event: unknown value "lost"/));
    expect(errors).toContainEqual(expect.stringMatching(/^goals\[0\]\.flags\[1\]: unknown flag "FINN"/));
    expect(errors).toContainEqual(
      expect.stringMatching(/^goals\[1\]\.then\.why: unknown send reason "timeout"/),
    );
    expect(errors).toContainEqual(
      expect.stringMatching(/^goals\[3\]\.equals: unknown name "MLS" in "2\*MLS"/),
    );
    expect(errors).toContain('goals[4].id: "tw" is used by an earlier goal');
    expect(errors).toContainEqual(expect.stringMatching(/^goals\[4\]\.host: unknown value "C"/));
    expect(errors).toContainEqual(
      expect.stringMatching(/^goals\[4\]\.state: unknown value "TIME_WAIT" \(did you mean "TIME-WAIT"\?\)/),
    );
  });

  it('checks questions: answers must be options, predictions need fields', () => {
    const ex = valid();
    const qs = ex.questions as Array<Record<string, unknown>>;
    qs[0]!.answer = 'c';
    qs.push({
      id: 'p',
      kind: 'predict',
      prompt: qs[0]!.prompt,
      host: 'A',
      after: { kind: 'segment', from: 'B', flags: ['FIN'], event: 'arrive' },
      fields: ['flags', 'ack'],
    });
    qs.push({ id: 'n', kind: 'numbr', prompt: qs[0]!.prompt });
    const errors = errorsOf(ex).map((e) => e.replace('exercises/lose-third.json: ', ''));
    expect(errors).toEqual([
      'questions[0].answer: "c" is not an option id (a, b)',
      'questions[1].fields[1]: unknown field "ack" (one of flags, rseq, rack, len, win)',
      'questions[2].kind: unknown question kind "numbr" (did you mean "number"?) (one of choice, number, text, segment-field, predict)',
    ]);
  });

  it('reports unknown top-level fields with a suggestion', () => {
    const ex = valid();
    ex.goal = ex.goals;
    expect(errorsOf(ex)).toEqual(['exercises/lose-third.json: goal: unknown field (did you mean "goals"?)']);
  });
});

describe('loadExercises', () => {
  it('skips bad files, keeps good ones and reports each problem once', () => {
    const good = JSON.stringify(valid());
    const bad = JSON.stringify({ ...valid(), goals: [] });
    const { exercises, errors } = loadExercises([
      { name: 'exercises/a.json', text: good },
      { name: 'exercises/b.json', text: bad },
      { name: 'exercises/c.json', text: 'not json' },
      { name: 'exercises/d.json', text: JSON.stringify({ ...valid(), id: 'a' }) },
    ]);
    expect(exercises.map((e) => e.id)).toEqual(['a']);
    expect(errors).toEqual([
      'exercises/b.json: goals: must be a non-empty list of goals',
      expect.stringMatching(/^exercises\/c\.json: not valid JSON: /),
      'exercises/d.json: id: "a" is already the id of exercises/a.json; this file is skipped',
    ]);
  });

  it('loads the whole catalogue without a problem', () => {
    const { exercises, errors } = loadExercises(exerciseFiles());
    expect(errors).toEqual([]);
    expect(exercises.length).toBe(exerciseFiles().length);
  });
});
