/**
 * Exercise progress lives in the lab's database: assignments, answers and progress come back
 * after a restart (through the WebSocket protocol and the class summary route); an earlier
 * version's `exercise-progress.json` is imported once; a file that is not progress stops the
 * start, naming it, and changes nothing.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { buildApp } from '../../server/app.ts';
import { LEGACY_PROGRESS_FILE } from '../../server/persistence/progress.ts';
import { DB_FILE, PersistenceError } from '../../server/persistence/store.ts';
import { classroom, closeAll, connect, type Data, KEY, request, startApp } from '../server/helpers.ts';
import { FakeClock, tempDir } from './helpers.ts';

const apps: FastifyInstance[] = [];
const clients: WebSocket[] = [];
afterEach(async () => {
  await closeAll(clients.splice(0));
  for (const app of apps.splice(0)) await app.close();
});

async function start(dataDir: string) {
  const r = await startApp({ dataDir, timers: new FakeClock() });
  apps.push(r.app);
  return r;
}

async function stop(app: FastifyInstance): Promise<void> {
  await closeAll(clients.splice(0));
  apps.splice(apps.indexOf(app), 1);
  await app.close();
}

/** The class summary (instructor key), as the dashboard's download gets it. */
async function summary(app: FastifyInstance, code: string): Promise<Data[]> {
  const res = await app.inject({
    method: 'GET',
    url: `/api/classes/${code}/summary`,
    headers: { authorization: `Bearer ${KEY}` },
  });
  expect(res.statusCode).toBe(200);
  return (res.json() as { rows: Data[] }).rows.map(({ minutes: _m, ...row }) => row);
}

async function teacher(url: string): Promise<WebSocket> {
  const ws = await connect(url);
  clients.push(ws);
  await request(ws, { type: 'instructor.auth', key: KEY });
  return ws;
}

/** A class with a pair seated in its room, `lose-third` assigned, one question answered right. */
async function classWithProgress(url: string) {
  const c = await classroom(url, ['Ada', 'Bo']);
  clients.push(c.teacher, ...c.students);
  await request(c.teacher, { type: 'seat.assign', room: c.room, seat: 'A', session: 's2' });
  await request(c.teacher, { type: 'seat.assign', room: c.room, seat: 'B', session: 's3' });
  await request(c.teacher, { type: 'exercise.assign', code: c.code, exercise: 'lose-third' });
  const answer = await request(c.students[0]!, {
    type: 'exercise.answer',
    room: c.room,
    question: 'who-repairs',
    answer: 'b-rto',
  });
  expect(answer.result.status).toBe('correct');
  return c;
}

describe('exercise progress across a restart', () => {
  it('assignments, answers and progress come back, over the protocol and in the summary', async () => {
    const dir = tempDir();
    const first = await start(dir);
    const { code, room } = await classWithProgress(first.url);
    const before = await summary(first.app, code);
    expect(before).toEqual([
      expect.objectContaining({
        room,
        studentA: 'Ada',
        studentB: 'Bo',
        exercise: 'lose-third',
        current: true,
        questions: '1/2',
      }),
    ]);
    // Kept in the database, not in a JSON file.
    expect(existsSync(join(dir, LEGACY_PROGRESS_FILE))).toBe(false);
    await stop(first.app);

    const second = await start(dir);
    expect(await summary(second.app, code)).toEqual(before);
    const t = await teacher(second.url);
    const got = await request(t, { type: 'exercise.get', room });
    expect(got.exercise.id).toBe('lose-third');
    expect(got.exercise.answers.en['who-repairs'].status).toBe('correct');
    expect(got.exercise.progress).toMatchObject({ questionsCorrect: 1 });
    // The class assignment came back too: a room created now gets the exercise (on the service's
    // next status round, once a second).
    const { room: later } = await request(t, { type: 'room.create', code, name: 'Later' });
    let adopted: unknown;
    for (let i = 0; i < 100 && adopted === undefined; i++) {
      adopted = (await request(t, { type: 'exercise.get', room: later })).exercise?.id;
      if (adopted === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    expect(adopted).toBe('lose-third');
  });
});

describe('exercise-progress.json from an earlier version', () => {
  /** A data folder with a class and a room, and no progress yet. */
  async function labWithRoom(): Promise<{ dir: string; code: string; room: number }> {
    const dir = tempDir();
    const app = await buildApp({ logger: false, instructorKey: KEY, webRoot: null, dataDir: dir });
    const k = app.lab.createClass('Networks');
    const room = app.lab.createRoom(k, 'Lab').id;
    await app.close();
    return { dir, code: k.code, room };
  }

  const legacy = (code: string, room: number, answer = 'b-rto') => ({
    version: 1,
    classes: { [code]: 'lose-third' },
    rooms: {
      [String(room)]: {
        classCode: code,
        name: 'Lab',
        current: 0,
        runs: [
          {
            exercise: 'lose-third',
            assignedAt: 1_700_000_000_000,
            answers: { 'who-repairs': { answer, answeredBefore: 0 } },
            percent: 25,
            goalsMet: 0,
            goalsTotal: 4,
            questionsCorrect: answer === 'b-rto' ? 1 : 0,
            questionsTotal: 2,
            pair: { A: 'Ada', B: 'Bo' },
          },
        ],
      },
    },
  });

  it('is imported once, then renamed', async () => {
    const { dir, code, room } = await labWithRoom();
    const file = join(dir, LEGACY_PROGRESS_FILE);
    writeFileSync(file, JSON.stringify(legacy(code, room)));
    const first = await start(dir);
    const rows = await summary(first.app, code);
    expect(rows).toEqual([
      // The answer is the file's; progress is recomputed from the room's trace.
      expect.objectContaining({ room, exercise: 'lose-third', current: true, questions: '1/2' }),
    ]);
    expect(existsSync(file)).toBe(false);
    expect(JSON.parse(readFileSync(`${file}.imported`, 'utf8'))).toEqual(legacy(code, room));
    await stop(first.app);

    // A file that turns up again is not imported a second time.
    writeFileSync(file, JSON.stringify(legacy(code, room, 'a-ack')));
    const second = await start(dir);
    expect(await summary(second.app, code)).toEqual(rows);
    expect(existsSync(file)).toBe(true);
  });

  for (const [what, text, message] of [
    ['not JSON', '{"version": 1, "classes": {', /is not an exercise progress file: .*JSON/],
    [
      'not progress',
      JSON.stringify({ version: 1, classes: [], rooms: {} }),
      /is not an exercise progress file \(version 1\): classes: expected an object/,
    ],
    [
      'a room without runs',
      JSON.stringify({
        version: 1,
        classes: {},
        rooms: { 3: { classCode: 'ABCD', name: 'x', current: null } },
      }),
      /rooms\.3\.runs: expected an array/,
    ],
  ] as const) {
    it(`a file that is ${what} stops the start, naming it; nothing changes`, async () => {
      const { dir, code, room } = await labWithRoom();
      const file = join(dir, LEGACY_PROGRESS_FILE);
      writeFileSync(file, text);
      let error: unknown;
      try {
        apps.push(await buildApp({ logger: false, instructorKey: KEY, webRoot: null, dataDir: dir }));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(PersistenceError);
      expect((error as Error).message).toContain(file);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).toContain('move it away to start without it');
      expect(readFileSync(file, 'utf8')).toBe(text);
      const db = new Database(join(dir, DB_FILE), { readonly: true });
      expect(db.prepare('SELECT COUNT(*) AS n FROM exercise_rooms').get()).toEqual({ n: 0 });
      db.close();
      // Once it is fixed, the server starts (the database was closed after the refusal).
      writeFileSync(file, JSON.stringify(legacy(code, room)));
      const app = await start(dir);
      expect((await summary(app.app, code))[0]).toMatchObject({ exercise: 'lose-third' });
    });
  }
});
