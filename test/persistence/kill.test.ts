/**
 * kill -9 in the middle of a class: a real server process, real WebSocket clients sending a burst
 * of socket calls in three rooms, SIGKILL while the replies stream back, a restart on the same
 * data folder. Every session, seat and acknowledged call is back, every event a client had
 * received is back byte for byte under the same number, people resume with their tokens and the
 * timeline goes on.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import {
  connect,
  type Data,
  drain,
  type Msg,
  nextOf,
  received,
  request,
  tokenOf,
} from '../server/helpers.ts';
import { startServer } from '../server-process.ts';
import { tempDir } from './helpers.ts';

const KEY = 'kill-test-instructor-key';
const children: ChildProcess[] = [];
const sockets: WebSocket[] = [];
afterAll(() => {
  for (const ws of sockets) ws.terminate();
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Starts `server/main.ts` on a free loopback port; resolves once it listens. */
async function server(data: string): Promise<{ child: ChildProcess; url: string; banner: string }> {
  const { child, port, banner } = await startServer(['--import', 'tsx', 'server/main.ts'], {
    TCPLAB_DATA: data,
    TCPLAB_INSTRUCTOR_KEY: KEY,
  });
  children.push(child);
  return { child, url: `ws://127.0.0.1:${port}/ws`, banner };
}

async function client(url: string): Promise<WebSocket> {
  const ws = await connect(url);
  sockets.push(ws);
  return ws;
}

/** Every history entry a client received for `room`, by number: hex of the exact bytes. */
function entries(ws: WebSocket, room: number): Map<number, string> {
  const out = new Map<number, string>();
  for (const m of received(ws)) {
    if (m.kind === 'frame' && m.frame.room === room) out.set(m.frame.n, `b${m.raw.toString('hex')}`);
    else if (m.kind === 'json' && m.data.type === 'room.event' && m.data.room === room)
      out.set(m.data.n as number, `t${m.raw.toString('hex')}`);
  }
  return out;
}

const acks = (ws: WebSocket): Data[] =>
  received(ws).flatMap((m: Msg) =>
    m.kind === 'json' && m.data.type === 'ok' && (m.data.re as number) >= 1000 ? [m.data as Data] : [],
  );

describe('kill -9 mid-burst', () => {
  it('brings back every session, seat, acknowledged call and received event; the timeline goes on', async () => {
    const data = tempDir('tcplab-kill-');
    const first = await server(data);
    const teacher = await client(first.url);
    await request(teacher, { type: 'instructor.auth', key: KEY });
    const { code } = await request(teacher, { type: 'class.create', name: 'Kill class' });
    const pairs: Array<{ room: number; a: WebSocket; b: WebSocket; tokens: [string, string] }> = [];
    for (let i = 0; i < 3; i++) {
      const { room } = await request(teacher, { type: 'room.create', code, name: `Pair ${i + 1}` });
      const a = await client(first.url);
      const b = await client(first.url);
      await request(a, { type: 'class.join', code, name: `A${i}` });
      await request(b, { type: 'class.join', code, name: `B${i}` });
      for (const [ws, seat] of [
        [a, 'A'],
        [b, 'B'],
      ] as const) {
        await request(ws, { type: 'room.join', room });
        await request(ws, { type: 'seat.take', room, seat });
      }
      await request(a, { type: 'clock.speed', room, speed: 20 });
      await request(b, { type: 'sock.call', room, host: 'B', call: { op: 'socket' } });
      await request(b, { type: 'sock.call', room, host: 'B', call: { op: 'bind', fd: 3, port: 80 } });
      await request(b, { type: 'sock.call', room, host: 'B', call: { op: 'listen', fd: 3 } });
      await request(b, { type: 'sock.call', room, host: 'B', call: { op: 'accept', fd: 3 } });
      await request(a, { type: 'sock.call', room, host: 'A', call: { op: 'socket' } });
      await request(a, {
        type: 'sock.call',
        room,
        host: 'A',
        call: { op: 'connect', fd: 3, addr: '10.0.0.2', port: 80 },
      });
      pairs.push({ room, a, b, tokens: [tokenOf(a), tokenOf(b)] });
    }
    // Let the handshakes finish (at ×20, well under a second).
    await nextOf(pairs[2]!.b, 'room.event', { timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 300));

    // The burst: 60 sends from A and 10 recvs from B per room, no waiting for replies, sent in
    // groups of ten a few milliseconds apart (the server answers a whole turn's messages in one
    // write: a burst sent at once could be answered entirely before a kill lands).
    const burst: Array<() => void> = [];
    let id = 1000;
    for (let i = 0; i < 70; i++)
      for (const p of pairs) {
        const msg =
          i < 60
            ? { host: 'A', call: { op: 'send', fd: 3, data: `message ${i} `.repeat(20) } }
            : { host: 'B', call: { op: 'recv', fd: 4, max: 700 } };
        const ws = i < 60 ? p.a : p.b;
        const text = JSON.stringify({ type: 'sock.call', id: id++, room: p.room, ...msg });
        burst.push(() => ws.send(text));
      }
    // Kill as soon as a fair part has been acknowledged, while the rest is in flight: counted as
    // the replies arrive (not by polling, which a busy machine delays past the end of the burst).
    const exited = new Promise((r) => first.child.once('exit', r));
    let killed = false;
    const kill = new Promise<void>((resolve) => {
      let n = 0;
      const onMessage = (data: Buffer, binary: boolean) => {
        if (binary) return;
        const m = JSON.parse(data.toString()) as { type: string; re?: number };
        if (m.type !== 'ok' || (m.re ?? 0) < 1000 || ++n < 40) return;
        killed = true;
        first.child.kill('SIGKILL');
        for (const p of pairs) for (const ws of [p.a, p.b]) ws.off('message', onMessage);
        resolve();
      };
      for (const p of pairs) for (const ws of [p.a, p.b]) ws.on('message', onMessage);
    });
    for (let i = 0; i < burst.length && !killed; i += 10) {
      for (const send of burst.slice(i, i + 10)) send();
      await new Promise((r) => setTimeout(r, 3));
    }
    await kill;
    await exited;
    expect(first.child.signalCode).toBe('SIGKILL');
    const acked = pairs.map((p) => ({
      A: acks(p.a).map((x) => x.data.callId as number),
      B: acks(p.b).map((x) => x.data.callId as number),
    }));
    const seen = pairs.map((p) => new Map([...entries(p.a, p.room), ...entries(p.b, p.room)]));
    const acknowledged = acked.reduce((n, x) => n + x.A.length + x.B.length, 0);
    expect(acknowledged).toBeGreaterThanOrEqual(40);
    expect(acknowledged).toBeLessThan(210); // the kill was mid-burst

    // ── restart ──
    const second = await server(data);
    expect(second.banner).toMatch(
      /Data: .*tcplab\.db \(1 classes, 3 rooms, 7 people restored in \d+ ms(; rooms rebuilding in the background)?\)/,
    );
    for (const [i, p] of pairs.entries()) {
      const a = await client(second.url);
      const b = await client(second.url);
      const wa = await request(a, { type: 'session.resume', token: p.tokens[0] });
      const wb = await request(b, { type: 'session.resume', token: p.tokens[1] });
      expect(wa.session.name).toBe(`A${i}`);
      expect(wb.session.name).toBe(`B${i}`);
      const welcome = received(a).find((m) => m.kind === 'json' && m.data.type === 'welcome');
      expect(welcome?.kind === 'json' && welcome.data).toMatchObject({ room: p.room, seats: ['A'] });
      // Through room.synced: what the queue still holds is history (in the log all the same).
      if (!received(b).some((m) => m.kind === 'json' && m.data.type === 'room.synced'))
        await nextOf(b, 'room.synced');
      else drain(b);
      const history = entries(b, p.room);
      // Every event a client had received is back, under the same number, byte for byte.
      for (const [n, bytes] of seen[i]!) expect(history.get(n), `room ${p.room} entry ${n}`).toBe(bytes);
      // Every acknowledged call is in the history.
      const calls = new Set(
        received(b).flatMap((m) => {
          if (m.kind !== 'json' || m.data.type !== 'room.event' || m.data.room !== p.room) return [];
          const e = m.data.event as { type: string; host: string; callId: number };
          return e.type === 'call' ? [`${e.host}:${e.callId}`] : [];
        }),
      );
      for (const host of ['A', 'B'] as const)
        for (const callId of acked[i]![host])
          expect(calls.has(`${host}:${callId}`), `${host} call ${callId}`).toBe(true);
      // The timeline goes on: the seat holder acts, and the events that follow number on.
      const last = Math.max(...history.keys());
      const r = await request(a, {
        type: 'sock.call',
        room: p.room,
        host: 'A',
        call: { op: 'send', fd: 3, data: 'after the crash' },
      });
      expect(r.callId).toBeGreaterThan(Math.max(0, ...acked[i]!.A));
      const next = await nextOf(b, 'room.event');
      expect(next.n).toBeGreaterThan(last);
    }
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
  }, 60_000);

  it('an answered exercise question is back: progress is committed before its reply leaves', async () => {
    const data = tempDir('tcplab-kill-');
    const first = await server(data);
    const teacher = await client(first.url);
    await request(teacher, { type: 'instructor.auth', key: KEY });
    const { code } = await request(teacher, { type: 'class.create', name: 'Exercise class' });
    const { room } = await request(teacher, { type: 'room.create', code, name: 'Pair' });
    const [a, b] = [await client(first.url), await client(first.url)];
    await request(a, { type: 'class.join', code, name: 'Ada' });
    await request(b, { type: 'class.join', code, name: 'Bo' });
    for (const [ws, seat] of [
      [a, 'A'],
      [b, 'B'],
    ] as const) {
      await request(ws, { type: 'room.join', room });
      await request(ws, { type: 'seat.take', room, seat });
    }
    await request(teacher, { type: 'exercise.assign', code, exercise: 'lose-third' });
    const answered = await request(a, {
      type: 'exercise.answer',
      room,
      question: 'who-repairs',
      answer: 'b-rto',
    });
    expect(answered.result.status).toBe('correct');
    // Killed as soon as the reply is in: nothing had a second to be written lazily.
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));

    const second = await server(data);
    const t = await client(second.url);
    await request(t, { type: 'instructor.auth', key: KEY });
    const got = await request(t, { type: 'exercise.get', room });
    expect(got.exercise.id).toBe('lose-third');
    expect(got.exercise.answers.en['who-repairs'].status).toBe('correct');
    const res = await fetch(
      `${second.url.replace('ws:', 'http:').replace(/\/ws$/, '')}/api/classes/${code}/summary`,
      {
        headers: { authorization: `Bearer ${KEY}` },
      },
    );
    expect(((await res.json()) as { rows: Data[] }).rows).toEqual([
      expect.objectContaining({
        room,
        exercise: 'lose-third',
        studentA: 'Ada',
        studentB: 'Bo',
        questions: '1/2',
      }),
    ]);
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
  }, 60_000);
});
