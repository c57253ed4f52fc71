/**
 * Exercises in rooms (issue 8), server side: assigning, goals recomputed as the trace grows,
 * answers, progress pushed to the pair and the dashboard, the summary CSV, and refusals.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { buildApp } from '../../server/app.ts';
import { FileExerciseStore } from '../../server/exercises/store.ts';
import { classroom, closeAll, connect, KEY, refusal, request, startApp } from '../server/helpers.ts';
import { seen, solveLoseThird } from './helpers.ts';

type App = Awaited<ReturnType<typeof startApp>>['app'];
let app: App | undefined;
let clients: WebSocket[] = [];

afterEach(async () => {
  await closeAll(clients, app);
  app = undefined;
  clients = [];
});

async function pairOnLoseThird(opts: Parameters<typeof startApp>[0] = {}) {
  const started = await startApp({ speed: 20, ...opts });
  app = started.app;
  const c = await classroom(started.url, ['Ada', 'Bo']);
  clients.push(c.teacher, ...c.students);
  const [a, b] = c.students as [WebSocket, WebSocket];
  await request(c.teacher, { type: 'class.watch', code: c.code });
  await request(c.teacher, { type: 'seat.assign', room: c.room, seat: 'A', session: 's2' });
  await request(c.teacher, { type: 'seat.assign', room: c.room, seat: 'B', session: 's3' });
  const r = await request(c.teacher, { type: 'exercise.assign', code: c.code, exercise: 'lose-third' });
  expect(r).toEqual({ code: c.code, exercise: 'lose-third' });
  return { ...c, a, b, url: started.url };
}

describe('exercises in rooms', () => {
  it('a pair completes lose-third: progress reaches 100 % for the pair, the dashboard and the CSV', async () => {
    const { teacher, a, b, room, code } = await pairOnLoseThird();
    // The pair gets the exercise, without answers, with every goal unmet.
    const first = await seen(a, (d) => d.type === 'room.exercise' && d.room === room && d.exercise);
    expect(first.exercise.id).toBe('lose-third');
    expect(first.exercise.progress.percent).toBe(0);
    expect(first.exercise.view['zh-CN'].title).toBe('第三次挥手丢失（B 的 FIN）');
    expect(JSON.stringify(first.exercise.view)).not.toContain('b-rto"'.repeat(2));
    expect(first.exercise.view.en.questions[0].options).toHaveLength(4);
    expect(JSON.stringify(first.exercise.view.en)).not.toContain('"answer"');
    // The preset fault is in the room.
    const info = await seen(
      a,
      (d) => d.type === 'room.info' && d.room === room && d.info.faults.length === 1,
    );
    expect(info.info.faults[0]).toMatchObject({ from: 'B', flags: ['FIN'], action: 'drop' });

    // A wrong choice first, then the right one; the prediction before it can be checked.
    const wrong = await request(a, {
      type: 'exercise.answer',
      room,
      question: 'who-repairs',
      answer: 'a-ack',
    });
    expect(wrong.result.status).toBe('wrong');
    const right = await request(b, {
      type: 'exercise.answer',
      room,
      question: 'who-repairs',
      answer: 'b-rto',
      lang: 'zh-CN',
    });
    expect(right.result.status).toBe('correct');
    const predict = await request(a, {
      type: 'exercise.answer',
      room,
      question: 'predict-last-ack',
      answer: { flags: ['ACK'], rseq: 2, rack: 2 },
    });
    expect(predict.result.status).toBe('pending');

    await solveLoseThird(a, b, room);
    const done = await seen(
      a,
      (d) => d.type === 'room.exercise' && d.room === room && d.exercise?.progress.percent === 100,
      20_000,
    );
    expect(done.exercise.progress.complete).toBe(true);
    expect(done.exercise.goals.en.every((g: { met: boolean }) => g.met)).toBe(true);
    expect(done.exercise.answers.en['predict-last-ack'].status).toBe('correct');

    const dash = await seen(
      teacher,
      (d) =>
        d.type === 'class.exercises' &&
        d.rooms.some((r: { progress?: { percent: number } }) => r.progress?.percent === 100),
      5000,
    );
    expect(dash.assigned).toBe('lose-third');
    const line = dash.rooms.find((r: { room: number }) => r.room === room);
    expect(line.states.B).toContain('LISTEN');
    expect(line.alerts).toEqual([]);

    const csv = await app!.inject({
      method: 'GET',
      url: `/api/classes/${code}/summary.csv`,
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toContain('text/csv');
    const lines = csv.body
      .replace(/^\ufeff/, '')
      .trim()
      .split('\r\n');
    expect(lines[0]).toBe(
      'room,room_name,student_a,student_b,exercise,title,current,progress_percent,goals_met,questions_correct,complete,minutes',
    );
    expect(lines[1]).toMatch(
      new RegExp(
        `^${room},Lab,Ada,Bo,lose-third,Losing the third closing segment \\(B's FIN\\),true,100,4/4,2/2,true,`,
      ),
    );
  }, 30_000);

  it('goals stay unmet, with explanations, until the trace shows them', async () => {
    const { a, room } = await pairOnLoseThird();
    const r = await request(a, { type: 'exercise.get', room });
    expect(r.exercise.progress).toMatchObject({ percent: 0, goalsMet: 0, goalsTotal: 4 });
    const unmet = r.exercise.goals.en.find((g: { id: string }) => g.id === 'fin-lost');
    expect(unmet.met).toBe(false);
    expect(unmet.explanation).toBeTruthy();
    expect(r.exercise.goals['zh-CN'][0].text).toBe('B 的 FIN（第三次挥手）丢失了');
  });

  it('a reset by the pair keeps the exercise and brings its preset fault back', async () => {
    const { a, room } = await pairOnLoseThird();
    await request(a, { type: 'room.reset', room });
    await seen(
      a,
      (d) => d.type === 'room.info' && d.room === room && d.info.epoch === 2 && d.info.faults.length === 1,
    );
    const r = await request(a, { type: 'exercise.get', room });
    expect(r.exercise.id).toBe('lose-third');
  });

  it('refuses students on instructor actions and on dashboard routes, and wrong keys, clearly', async () => {
    const { a, b, room, code, url } = await pairOnLoseThird();
    const assign = await refusal(a, { type: 'exercise.assign', room, exercise: 'lose-first' });
    expect(assign).toMatchObject({ code: 'TCPLAB_FORBIDDEN' });
    expect(assign.message).toContain('only the instructor');
    expect(await refusal(b, { type: 'exercise.status', code })).toMatchObject({ code: 'TCPLAB_FORBIDDEN' });
    const teacher2 = await connect(url);
    clients.push(teacher2);
    expect(await refusal(teacher2, { type: 'instructor.auth', key: 'not-the-key' })).toMatchObject({
      code: 'TCPLAB_BAD_KEY',
    });
    await request(teacher2, { type: 'instructor.auth', key: KEY });
    const unknown = await refusal(teacher2, { type: 'exercise.assign', room, exercise: 'no-such-thing' });
    expect(unknown.code).toBe('TCPLAB_NO_SUCH_EXERCISE');
    expect(unknown.message).toContain('lose-third');
    expect(await refusal(a, { type: 'exercise.answer', room, question: 'nope', answer: 'x' })).toMatchObject({
      code: 'TCPLAB_NO_SUCH_EXERCISE',
    });

    const noKey = await app!.inject({ method: 'GET', url: `/api/classes/${code}/summary.csv` });
    expect(noKey.statusCode).toBe(401);
    expect(noKey.json()).toMatchObject({ code: 'TCPLAB_BAD_KEY' });
    expect(noKey.json().message).toContain('students cannot see it');
    const wrongKey = await app!.inject({
      method: 'GET',
      url: `/api/classes/${code}/summary`,
      headers: { authorization: 'Bearer wrong' },
    });
    expect(wrongKey.statusCode).toBe(401);
    expect(wrongKey.json()).toEqual({
      statusCode: 401,
      code: 'TCPLAB_BAD_KEY',
      error: 'Refused',
      message: 'wrong instructor key',
    });
    const noClass = await app!.inject({
      method: 'GET',
      url: '/api/classes/ZZZZZZ/summary.csv',
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(noClass.statusCode).toBe(404);
  });

  it('keeps progress in its store: a new server reads the runs back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tcplab-teach-'));
    const store = new FileExerciseStore(join(dir, 'exercise-progress.json'));
    const { a, room } = await pairOnLoseThird({ exercises: { store } });
    await request(a, { type: 'exercise.answer', room, question: 'who-repairs', answer: 'b-rto' });
    const saved = JSON.parse(readFileSync(store.file, 'utf8'));
    expect(saved.rooms[String(room)].runs[0]).toMatchObject({
      exercise: 'lose-third',
      answers: { 'who-repairs': { answer: 'b-rto' } },
      questionsCorrect: 1,
      pair: { A: 'Ada', B: 'Bo' },
    });
    expect(new FileExerciseStore(store.file).load()).toEqual(saved);
  });
});

describe('the catalogue at start', () => {
  it('reports a bad exercise file clearly and skips it; the good ones load', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tcplab-ex-'));
    copyFileSync('exercises/lose-third.json', join(dir, 'lose-third.json'));
    writeFileSync(join(dir, 'broken.json'), '{ "id": "broken", ');
    const good = JSON.parse(readFileSync('exercises/lose-first.json', 'utf8'));
    good.goals[0].kind = 'reachd';
    writeFileSync(join(dir, 'typo.json'), JSON.stringify(good));
    const lines: string[] = [];
    app = await buildApp({
      logger: false,
      instructorKey: KEY,
      webRoot: null,
      exercises: { dir, report: (l) => lines.push(l) },
    });
    expect(lines.some((l) => l.includes('broken.json') && l.includes('not valid JSON'))).toBe(true);
    expect(
      lines.some((l) => l.includes('typo.json') && l.includes('goals[0].kind') && l.includes('reachd')),
    ).toBe(true);
    expect(lines.every((l) => l.startsWith('exercise file skipped: '))).toBe(true);
    const list = await app.inject({ method: 'GET', url: '/api/exercises?lang=zh-CN' });
    expect(list.json().exercises.map((e: { id: string }) => e.id)).toEqual(['lose-third']);
    expect(list.json().errors).toBe(2);
    const view = await app.inject({ method: 'GET', url: '/api/exercises/lose-third?lang=zh-CN' });
    expect(view.json().title).toBe('第三次挥手丢失（B 的 FIN）');
    expect((await app.inject({ method: 'GET', url: '/api/exercises/typo' })).statusCode).toBe(404);
  });

  it('the shipped catalogue loads without problems', async () => {
    const lines: string[] = [];
    app = await buildApp({
      logger: false,
      instructorKey: KEY,
      webRoot: null,
      exercises: { report: (l) => lines.push(l) },
    });
    expect(lines).toEqual([]);
    const list = await app.inject({ method: 'GET', url: '/api/exercises' });
    expect(list.json().exercises.length).toBeGreaterThanOrEqual(23);
  });
});
