/**
 * Import through `POST /api/classes/:code/import` beyond the lab's own exports: a scenario's two
 * hosts of any name and address become seats A and B (at those addresses), sends larger than a
 * person's 8 KiB replay, and what a room cannot take is refused with every problem named and
 * nothing created. Imported rooms come back after a restart, addresses and history alike.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import { IMPORT_MAX_SEND_TOTAL } from '../../server/persistence/scenario.ts';
import { decodeFrame } from '../../shared/protocol/frame.ts';
import { runScenario } from '../../shared/sim/runner.ts';
import { validateScenario } from '../../shared/sim/scenario.ts';
import type { TraceEvent } from '../../shared/sim/trace.ts';
import { expectHistoryIsTrace, FakeClock, tempDir } from './helpers.ts';

const KEY = 'import-test-key';
const dir = tempDir('tcplab-import-');
let app: FastifyInstance;
let code: string;

const start = () =>
  buildApp({ logger: false, instructorKey: KEY, webRoot: null, dataDir: dir, timers: new FakeClock() });

beforeAll(async () => {
  app = await start();
  code = app.lab.createClass('Imports').code;
});
afterAll(async () => {
  await app.close();
});

const post = (payload: object | string) =>
  app.inject({
    method: 'POST',
    url: `/api/classes/${code}/import`,
    headers: {
      authorization: `Bearer ${KEY}`,
      'content-type': typeof payload === 'string' ? 'text/plain' : 'application/json',
    },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });

async function trace(room: number): Promise<TraceEvent[]> {
  const res = await app.inject({
    method: 'GET',
    url: `/api/rooms/${room}/trace.ndjson`,
    headers: { authorization: `Bearer ${KEY}` },
  });
  expect(res.statusCode).toBe(200);
  return res.body
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as TraceEvent);
}

function run(json: unknown) {
  const v = validateScenario(json);
  if (!v.ok) throw new Error(v.errors.join('\n'));
  return runScenario(v.scenario);
}

const hex = (room: number) =>
  app.lab.room(room).history.map((e) => `${e.binary ? 'b' : 't'}${e.data.toString('hex')}`);

/** A client and a server on their own network: other names, other addresses. */
const clientServer = {
  name: 'A client and a server on 192.168.1.0/24',
  seed: 3,
  until: 8000,
  hosts: { client: { addr: '192.168.1.10' }, server: { addr: '192.168.1.20' } },
  links: { 'client->server': { delayMs: 40 } },
  steps: [
    { at: 0, host: 'server', op: 'socket', as: 'lsn' },
    { at: 0, host: 'server', op: 'bind', fd: 'lsn', port: 80 },
    { at: 0, host: 'server', op: 'listen', fd: 'lsn' },
    { at: 0, host: 'server', op: 'accept', fd: 'lsn', as: 'conn' },
    { at: 0, host: 'server', op: 'recv', fd: 'conn' },
    { at: 10, host: 'client', op: 'socket', as: 'c' },
    { at: 10, host: 'client', op: 'connect', fd: 'c', addr: 'server', port: 80 },
    { at: 500, host: 'client', op: 'send', fd: 'c', data: 'GET / HTTP/1.0\r\n\r\n' },
    {
      at: 1000,
      op: 'fault',
      rule: { from: 'server', flags: ['FIN'], action: 'drop' },
      note: "lose the server's FIN",
    },
    { at: 1500, host: 'server', op: 'close', fd: 'conn' },
    { at: 1600, host: 'client', op: 'close', fd: 'c' },
  ],
};

describe('import', () => {
  let named: number;
  let big: number;

  it("takes a scenario's two hosts, whatever their names and addresses, as seats A and B", async () => {
    const res = await post(clientServer);
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.imported.warnings).toEqual(["hosts: client and server are the room's A and B"]);
    named = body.room;
    const room = app.lab.room(named);
    expect(room.info().addrs).toEqual({ A: '192.168.1.10', B: '192.168.1.20' });
    // The room's history is its export's trace, and that is the file's run, event for event.
    const events = await trace(named);
    expectHistoryIsTrace(room.history, events);
    const original = run(clientServer).trace;
    // (The room's first event is the file's `links`, which it takes as an input at t = 0.)
    expect(events[0]).toMatchObject({ type: 'link', t: 0 });
    events.shift();
    expect(events.map((e) => [e.type, e.t])).toEqual(original.map((e) => [e.type, e.t]));
    const seats = { client: 'A', server: 'B' } as Record<string, string>;
    const hostOf = (e: TraceEvent) => (e as { host?: string }).host;
    expect(events.map(hostOf)).toEqual(original.map((e) => (hostOf(e) ? seats[hostOf(e)!] : undefined)));
    // The segments carry the file's addresses.
    const first = room.history.find((e) => e.binary)!;
    const f = decodeFrame(new Uint8Array(first.data));
    if (!f.ok) throw new Error(f.error.message);
    expect([...f.frame.packet.subarray(12, 20)]).toEqual([192, 168, 1, 10, 192, 168, 1, 20]);
    // The fault step's note is the rule's label.
    expect(events.some((e) => e.type === 'segment' && e.event === 'drop')).toBe(true);
  });

  it("replays sends larger than a person's 8 KiB (slow-start-ca.json sends 20 KB at a time)", async () => {
    const file = readFileSync(join(import.meta.dirname, '../../scenarios/slow-start-ca.json'), 'utf8');
    const res = await post(file);
    expect(res.statusCode).toBe(201);
    big = res.json().room;
    const events = await trace(big);
    expectHistoryIsTrace(app.lab.room(big).history, events);
    expect(events.length).toBe(run(JSON.parse(file)).trace.length);
    const sends = app.lab
      .room(big)
      .inputs.flatMap((i) => (i.kind === 'call' && i.call.op === 'send' ? [i.call.data] : []));
    expect(Math.max(...sends.map((d) => Buffer.from(d, 'base64').length))).toBeGreaterThan(8192);
  });

  it('refuses what a room cannot take, naming the problem; nothing is created', async () => {
    const rooms = () => [...app.lab.rooms.keys()];
    const before = rooms();
    const three = await post({ ...clientServer, hosts: { ...clientServer.hosts, proxy: {} } });
    expect(three.json()).toMatchObject({
      statusCode: 400,
      code: 'TCPLAB_INVALID',
      problems: [
        'hosts: a room has two endpoints, seats A and B; this scenario has 3: client (192.168.1.10), server (192.168.1.20), proxy (10.0.0.3)',
      ],
    });
    const half = await post({
      ...clientServer,
      steps: [...clientServer.steps, { at: 100, op: 'hold', on: true, from: 'client', to: 'server' }],
    });
    expect(half.json().problems).toEqual([
      'steps[11]: a room holds every direction at once; "from"/"to" on hold are not supported',
    ]);
    const mib = IMPORT_MAX_SEND_TOTAL;
    const flood = await post({
      ...clientServer,
      steps: [
        ...clientServer.steps,
        { at: 600, host: 'client', op: 'send', fd: 'c', bytes: mib / 2 },
        { at: 700, host: 'client', op: 'send', fd: 'c', bytes: mib / 2 },
      ],
    });
    expect(flood.json().problems).toEqual([
      // (at the time it took effect: the first send blocks A's process until it is all queued)
      expect.stringMatching(
        /^steps\[12\] \(send on client, seat A\) at t=\d+ ms: the run sends more than 1 MiB of payload in all, more than an imported room keeps$/,
      ),
    ]);
    expect(rooms()).toEqual(before);
  });

  it('imported rooms come back after a restart: addresses, settings and history', async () => {
    const before = { named: hex(named), big: hex(big), addrs: app.lab.room(named).info().addrs };
    await app.close();
    app = await start();
    expect(app.persistence!.stats().restored).toMatchObject({ mismatched: [], broken: [] });
    expect(app.lab.room(named).info().addrs).toEqual(before.addrs);
    expect(hex(named)).toEqual(before.named);
    expect(hex(big)).toEqual(before.big);
  });
});
