/**
 * The export, fork and import routes through `fastify.inject`: who may use them, captures that
 * tshark dissects as the room's own segments, a scenario file that `npm run scenario` replays into
 * the room's trace byte for byte, forks and imports that become (persisted) rooms, and bad files
 * that create nothing.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import type { Room } from '../../server/lab/room.ts';
import type { Session } from '../../server/lab/session.ts';
import { DB_FILE, MIGRATIONS } from '../../server/persistence/store.ts';
import { formatScenario } from '../../server/routes/exports.ts';
import { capturePackets } from '../../shared/capture/capture.ts';
import { decodeFrame } from '../../shared/protocol/frame.ts';
import { runScenario } from '../../shared/sim/runner.ts';
import { validateScenario } from '../../shared/sim/scenario.ts';
import type { TraceEvent } from '../../shared/sim/trace.ts';
import { decodePacket } from '../../shared/tcp/codec.ts';
import { tsharkRows } from '../capture/tshark.ts';
import { classSession, expectHistoryIsTrace, FakeClock, tempDir } from './helpers.ts';

const run = promisify(execFile);
const KEY = 'exports-test-instructor-key';
const dir = tempDir('tcplab-exports-');

let app: FastifyInstance;
let room: Room;
let other: Room;
let code: string;
let seated: Session;
let observer: Session;
let elsewhere: Session;
let stranger: Session;

beforeAll(async () => {
  const clock = new FakeClock();
  app = await buildApp({
    logger: false,
    instructorKey: KEY,
    webRoot: null,
    dataDir: dir,
    timers: clock,
    limits: { maxRoomsPerClass: 6 },
  });
  const lab = app.lab;
  const k = lab.createClass('Networks');
  code = k.code;
  room = lab.createRoom(k, 'Lab');
  other = lab.createRoom(k, 'Next door');
  seated = lab.joinClass(code, 'Ann');
  observer = lab.joinClass(code, 'Obi');
  elsewhere = lab.joinClass(code, 'Els');
  stranger = lab.joinClass(lab.createClass('Other class').code, 'Str');
  lab.assignSeat(room, 'A', seated.id);
  lab.assignSeat(room, 'B', observer.id);
  lab.releaseSeat(observer, room, 'B');
  lab.assignSeat(other, 'A', elsewhere.id);
  classSession(clock, room);
});
afterAll(async () => {
  await app?.close();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const get = (url: string, headers: Record<string, string> = bearer(KEY)) => app.inject({ url, headers });

describe('who may export', () => {
  const url = () => `/api/rooms/${room.id}/scenario.json`;

  it('the people in the room and the instructor, by header or query', async () => {
    expect((await get(url(), bearer(seated.token))).statusCode).toBe(200);
    expect((await get(`${url()}?token=${observer.token}`, {})).statusCode).toBe(200);
    expect((await get(`${url()}?key=${KEY}`, {})).statusCode).toBe(200);
    expect((await get(url())).statusCode).toBe(200);
  });

  it('nobody else', async () => {
    const none = await get(url(), {});
    expect(none.statusCode).toBe(401);
    expect(none.json()).toMatchObject({
      code: 'TCPLAB_BAD_TOKEN',
      message: expect.stringMatching(/resume token/),
    });
    expect((await get(url(), bearer('x'.repeat(32)))).json().code).toBe('TCPLAB_BAD_TOKEN');
    const next = await get(url(), bearer(elsewhere.token));
    expect(next.statusCode).toBe(403);
    expect(next.json()).toMatchObject({ code: 'TCPLAB_FORBIDDEN' });
    expect((await get(`${url()}?token=${stranger.token}`, {})).statusCode).toBe(403);
    for (const path of ['trace.ndjson', 'capture.pcapng', 'capture.pcap'])
      expect((await get(`/api/rooms/${room.id}/${path}`, bearer(elsewhere.token))).statusCode).toBe(403);
    const fork = await app.inject({
      method: 'POST',
      url: `/api/rooms/${room.id}/fork`,
      headers: bearer(stranger.token),
    });
    expect(fork.statusCode).toBe(403);
  });

  it('names a missing room and a malformed one', async () => {
    expect((await get('/api/rooms/9999/scenario.json')).json()).toMatchObject({
      statusCode: 404,
      code: 'TCPLAB_NO_SUCH_ROOM',
    });
    expect((await get('/api/rooms/abc/scenario.json')).statusCode).toBe(400);
    expect((await get(`/api/rooms/${room.id}/capture.pcapng?point=C`)).json().code).toBe('TCPLAB_INVALID');
  });
});

describe('JSON export', () => {
  it('scenario.json replays with `npm run scenario` into trace.ndjson, byte for byte, and that is the room', async () => {
    const scenario = await get(`/api/rooms/${room.id}/scenario.json`);
    expect(scenario.headers['content-disposition']).toBe(
      `attachment; filename="room-${room.id}.scenario.json"`,
    );
    expect(validateScenario(scenario.json()).ok).toBe(true);
    const trace = await get(`/api/rooms/${room.id}/trace.ndjson`, bearer(seated.token));
    expect(trace.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const file = join(dir, 'room.scenario.json');
    writeFileSync(file, scenario.body);
    const cli = await run(process.execPath, ['--import', 'tsx', 'bin/scenario.ts', file, '--json'], {
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(cli.stdout).toBe(trace.body);
    const events = trace.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as TraceEvent);
    expectHistoryIsTrace(room.history, events);
  }, 30_000);
});

describe('captures', () => {
  /** The room's own frames by segment id: the bytes it sent (or copied) first. */
  function roomPackets(): Map<number, Uint8Array> {
    const out = new Map<number, Uint8Array>();
    for (const e of room.history) {
      if (!e.binary) continue;
      const r = decodeFrame(new Uint8Array(e.data));
      if (r.ok && !out.has(r.frame.segId)) out.set(r.frame.segId, r.frame.packet);
    }
    return out;
  }

  const trace = () =>
    runScenario(validate(JSON.parse(readFileSync(join(dir, 'room.scenario.json'), 'utf8')))).trace;

  it.each([
    ['wire', 'pcapng'],
    ['A', 'pcapng'],
    ['B', 'pcapng'],
    ['wire', 'pcap'],
    ['B', 'pcap'],
  ] as const)(
    'at %s as %s: tshark sees every segment as TCP with good checksums, as the room sent it',
    async (point, format) => {
      const res = await get(`/api/rooms/${room.id}/capture.${format}?point=${point}`, bearer(observer.token));
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe(
        format === 'pcap' ? 'application/vnd.tcpdump.pcap' : 'application/x-pcapng',
      );
      const file = join(dir, `room-${point}.${format}`);
      writeFileSync(file, res.rawPayload);
      const rows = await tsharkRows(file);
      const expected = capturePackets(trace(), point);
      expect(rows.length).toBe(expected.length);
      const frames = roomPackets();
      rows.forEach((row, i) => {
        const p = expected[i]!;
        expect(row.protocols).toMatch(/^raw:ip:tcp(:|$)/);
        expect(row.ipChecksum).toBe('Good');
        expect(row.tcpChecksum).toBe('Good');
        if (format === 'pcapng') expect(row.packetId).toBe(p.id);
        const sent = decodePacket(frames.get(p.id)!);
        if (!sent.ok) throw new Error(sent.error.message);
        expect(row.flags, `segment #${p.id}`).toBe(sent.packet.tcp.flags);
        expect(row.len).toBe(sent.packet.tcp.payload.length);
      });
      if (format === 'pcapng' && point === 'wire') {
        // The faults of the session are commented where they happened.
        const comments = rows.flatMap((r) => r.comments);
        expect(comments).toContain('lost on the link (random loss)');
        expect(
          comments.some((c) => /^held \(hold mode\) for [\d.]+ ms, then released by the user/.test(c)),
        ).toBe(true);
      }
    },
    30_000,
  );

  it('the capture points differ where the network lost segments', async () => {
    const count = async (point: string) => {
      const res = await get(`/api/rooms/${room.id}/capture.pcap?point=${point}`);
      writeFileSync(join(dir, `n-${point}.pcap`), res.rawPayload);
      return (await tsharkRows(join(dir, `n-${point}.pcap`))).length;
    };
    const [wire, a, b] = [await count('wire'), await count('A'), await count('B')];
    expect(wire).toBeGreaterThan(0);
    expect(a + b).toBeLessThan(2 * wire);
  }, 30_000);
});

describe('fork', () => {
  it('a new room replaying the inputs up to a moment, kept like any room', async () => {
    const at = 6000;
    const res = await app.inject({
      method: 'POST',
      url: `/api/rooms/${room.id}/fork`,
      headers: bearer(observer.token),
      payload: { at },
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({ name: 'Lab · fork at 6 s', forkedFrom: { room: room.id, epoch: 0, at } });
    const fork = app.lab.room(body.room);
    expect(fork.classCode).toBe(room.classCode);
    expect(fork.clock().running).toBe(false);
    expect(fork.now).toBe(at);
    const upTo = room.history.findIndex((e) => entryTime(e) > at);
    expect(fork.history.length).toBe(upTo);
    // Same events (the room number in each differs).
    expect(fork.history.map(withoutRoom)).toEqual(room.history.slice(0, upTo).map(withoutRoom));
  });

  it('refuses a moment the room has not reached', async () => {
    const res = await app.inject({
      method: 'POST',
      url: `/api/rooms/${room.id}/fork`,
      headers: bearer(KEY),
      payload: { at: room.now + 1 },
    });
    expect(res.json()).toMatchObject({
      statusCode: 400,
      code: 'TCPLAB_INVALID',
      message: expect.stringMatching(/has only reached/),
    });
  });
});

describe('import', () => {
  const lostFin = readFileSync(join(import.meta.dirname, '../../scenarios/lost-fin-1.json'), 'utf8');
  const post = (payload: string | object, headers: Record<string, string> = bearer(KEY), c = code) =>
    app.inject({
      method: 'POST',
      url: `/api/classes/${c}/import`,
      headers: {
        ...headers,
        'content-type': typeof payload === 'string' ? 'text/plain' : 'application/json',
      },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });

  it('a scenario file becomes a room that replays it', async () => {
    const res = await post(lostFin);
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      name: 'Loss of the first closing segment (the c',
      imported: { warnings: [] },
    });
    const imported = app.lab.room(body.room);
    const original = runScenario(validate(JSON.parse(lostFin)));
    expect(imported.history.length).toBe(original.trace.length);
    // …and exports back into the run (as a member of the class sees it).
    const again = await get(`/api/rooms/${imported.id}/trace.ndjson`);
    const events = again.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as TraceEvent);
    expectHistoryIsTrace(imported.history, events);
  });

  it('an exported room, uploaded by a student of the class, as JSON', async () => {
    const file = (await get(`/api/rooms/${room.id}/scenario.json`)).json();
    const res = await post(file, bearer(elsewhere.token));
    expect(res.statusCode).toBe(201);
    const copy = app.lab.room(res.json().room);
    expect(copy.history.map(withoutRoom)).toEqual(room.history.map(withoutRoom));
  });

  it('bad files: a clear error, and nothing created', async () => {
    const rooms = () => [...app.lab.rooms.keys()];
    const before = rooms();
    const notJson = await post('{"name": "x", ');
    expect(notJson.json()).toMatchObject({
      statusCode: 400,
      code: 'TCPLAB_BAD_JSON',
      message: expect.stringMatching(/^the file is not JSON/),
    });
    const invalid = await post({
      name: 'x',
      seed: 1,
      until: 10,
      steps: [{ at: 0, host: 'A', op: 'conect' }],
    });
    expect(invalid.json()).toMatchObject({
      statusCode: 400,
      code: 'TCPLAB_INVALID',
      problems: ['steps[0].op: unknown op "conect" (did you mean "connect"?)'],
    });
    const three = await post({ ...JSON.parse(lostFin), hosts: { A: {}, B: {}, C: {} } });
    expect(three.json().message).toMatch(/a room has two endpoints, seats A and B; this scenario has 3: /);
    const empty = await post('null');
    expect(empty.json()).toMatchObject({
      code: 'TCPLAB_INVALID',
      message: 'send a scenario file (JSON) as the request body',
    });
    const huge = await post(`${lostFin}${' '.repeat(4 * 1024 * 1024)}`);
    expect(huge.statusCode).toBe(413);
    const outsider = await post(lostFin, bearer(stranger.token));
    expect(outsider.statusCode).toBe(403);
    expect(rooms()).toEqual(before);
    // No room was made and dropped either: the next one gets the next number.
    const next = app.lab.createRoom(app.lab.klass(code));
    expect(next.id).toBe(Math.max(...before) + 1);
  });

  it('a class at its room limit: refused, nothing created', async () => {
    const k = app.lab.klass(code);
    while (k.rooms.size < 6) app.lab.createRoom(k);
    const n = app.lab.rooms.size;
    const res = await post(lostFin);
    expect(res.json()).toMatchObject({ statusCode: 409, code: 'TCPLAB_TOO_MANY_ROOMS' });
    expect(app.lab.rooms.size).toBe(n);
  });
});

describe('the store', () => {
  it('shows its figures to the instructor only', async () => {
    const res = await get('/api/persistence');
    expect(res.json()).toMatchObject({
      enabled: true,
      schemaVersion: MIGRATIONS.at(-1)!.version,
      errors: 0,
      file: join(dir, DB_FILE),
    });
    expect(res.json().transactions).toBeGreaterThan(0);
    expect((await get('/api/persistence', bearer(seated.token))).statusCode).toBe(403);
  });

  it('forks and imports are there after a restart', async () => {
    const ids = [...app.lab.rooms.keys()];
    const histories = [...app.lab.rooms.values()].map((r) => r.history.map((e) => e.data.toString('hex')));
    await app.close();
    app = await buildApp({
      logger: false,
      instructorKey: KEY,
      webRoot: null,
      dataDir: dir,
      timers: new FakeClock(),
    });
    expect([...app.lab.rooms.keys()]).toEqual(ids);
    expect([...app.lab.rooms.values()].map((r) => r.history.map((e) => e.data.toString('hex')))).toEqual(
      histories,
    );
    expect(app.persistence!.stats().restored!.mismatched).toEqual([]);
  });
});

function validate(json: unknown) {
  const v = validateScenario(json);
  if (!v.ok) throw new Error(v.errors.join('\n'));
  return v.scenario;
}

function entryTime(e: { binary: boolean; data: Buffer }): number {
  return e.binary ? e.data.readDoubleBE(16) : JSON.parse(e.data.toString()).t;
}

/** An entry with its room number blanked (frames carry it at bytes 4–7, JSON as "room"). */
function withoutRoom(e: { binary: boolean; data: Buffer }): string {
  if (e.binary) {
    const b = Buffer.from(e.data);
    b.writeUInt32BE(0, 4);
    return b.toString('hex');
  }
  return e.data.toString().replace(/^\{"type":"room\.event","room":\d+,/, '{"type":"room.event","room":0,');
}

describe('the scenario file', () => {
  it('is readable: one step per line, and parses back to the same scenario', async () => {
    const res = await get(`/api/rooms/${room.id}/scenario.json`);
    const lines = res.body.split('\n');
    const steps = lines.filter((l) => l.startsWith('    {"at":'));
    expect(steps.length).toBe(res.json().steps.length);
    expect(steps.length).toBeGreaterThan(10);
    expect(formatScenario({ ...res.json(), steps: [] })).toMatch(/"steps": \[\]\n\}\n$/);
  });
});
