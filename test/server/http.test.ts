/** HTTP routes through `inject()`: no port, no network. */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import { INSTRUCTOR_KEY_FILE, loadInstructorKey } from '../../server/config.ts';
import { HTTP_SCHEMAS } from '../../server/routes/http.ts';
import { originAllowed } from '../../server/routes/ws.ts';
import { LIMITS } from '../../shared/protocol/limits.ts';
import { closeAll, connect, KEY, request, startApp } from './helpers.ts';

type App = Awaited<ReturnType<typeof buildApp>>;
let app: App;
const auth = { authorization: `Bearer ${KEY}` };

async function build(opts = {}) {
  app = await buildApp({ logger: false, instructorKey: KEY, webRoot: null, ...opts });
  return app;
}

afterEach(async () => {
  await app?.close();
});

describe('health and config', () => {
  it('GET /healthz reports counts', async () => {
    const res = await (await build()).inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ ok: true, classes: 0, rooms: 0, connections: 0 });
  });

  it('GET /api/config serves the limits and the classroom defaults', async () => {
    const res = await (await build()).inject({ method: 'GET', url: '/api/config' });
    expect(res.json()).toMatchObject({
      version: 1,
      limits: LIMITS,
      defaults: {
        link: { delayMs: 500 },
        tcp: { mslMs: 5000 },
        clock: { speed: 1 },
        addrs: { A: '10.0.0.1' },
      },
    });
  });
});

describe('classes and rooms', () => {
  it('needs the instructor key to create or list classes', async () => {
    await build();
    for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: KEY }]) {
      const res = await app.inject({ method: 'POST', url: '/api/classes', payload: { name: 'X' }, headers });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ code: 'TCPLAB_BAD_KEY' });
    }
    expect((await app.inject({ method: 'GET', url: '/api/classes' })).statusCode).toBe(401);
    expect(app.lab.classes.size).toBe(0);
  });

  it('creates a class, a room, and shows them', async () => {
    await build();
    const created = await app.inject({
      method: 'POST',
      url: '/api/classes',
      payload: { name: 'Networks' },
      headers: auth,
    });
    expect(created.statusCode).toBe(201);
    const { code } = created.json();
    expect(code).toMatch(/^[A-Z2-9]{6}$/);
    const room = await app.inject({
      method: 'POST',
      url: `/api/classes/${code}/rooms`,
      payload: { name: 'Bench 1' },
      headers: auth,
    });
    expect(room.statusCode).toBe(201);
    expect(room.json()).toEqual({ room: 1, name: 'Bench 1', seats: { A: null, B: null }, people: 0 });
    const view = await app.inject({ method: 'GET', url: `/api/classes/${code}` });
    expect(view.statusCode).toBe(200);
    expect(Value.Check(HTTP_SCHEMAS.ClassView, view.json())).toBe(true);
    expect(view.json().rooms).toHaveLength(1);
    const list = await app.inject({ method: 'GET', url: '/api/classes', headers: auth });
    expect(list.json()).toEqual({ classes: [{ code, name: 'Networks', rooms: 1 }] });
  });

  it('validates bodies and params with the TypeBox schemas', async () => {
    await build();
    for (const payload of [
      {},
      { name: '' },
      { name: 7 },
      { name: 'x', extra: 1 },
      { name: 'n'.repeat(41) },
    ]) {
      const res = await app.inject({ method: 'POST', url: '/api/classes', payload, headers: auth });
      expect(res.statusCode).toBe(400);
      expect(Value.Check(HTTP_SCHEMAS.ErrorBody, res.json())).toBe(true);
      expect(res.json().code).toBe('TCPLAB_INVALID');
    }
    // The message names the part, the field and what was wrong with it.
    const wrongType = await app.inject({
      method: 'POST',
      url: '/api/classes',
      payload: { name: 7 },
      headers: auth,
    });
    expect(wrongType.json().message).toBe('body/name expected string, got number 7');
    const notJson = await app.inject({
      method: 'POST',
      url: '/api/classes',
      payload: '{"name": ',
      headers: { ...auth, 'content-type': 'application/json' },
    });
    expect(notJson.json()).toMatchObject({ statusCode: 400, code: 'TCPLAB_BAD_JSON' });
    const lower = await app.inject({ method: 'GET', url: '/api/classes/lower' });
    expect(lower.json()).toMatchObject({
      code: 'TCPLAB_INVALID',
      message: expect.stringMatching(/^params\/code /),
    });
    const missing = await app.inject({ method: 'GET', url: '/api/classes/ABCDEF' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('TCPLAB_NO_SUCH_CLASS');
    expect(app.lab.classes.size).toBe(0);
  });

  it('refuses a body over the message size limit', async () => {
    await build({ limits: { maxMessageBytes: 100 } });
    const res = await app.inject({
      method: 'POST',
      url: '/api/classes',
      payload: { name: 'x'.repeat(200) },
      headers: auth,
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().code).toBe('TCPLAB_TOO_BIG');
  });

  it('maps limits to 409', async () => {
    await build({ limits: { maxRoomsPerClass: 1 } });
    const { code } = (
      await app.inject({ method: 'POST', url: '/api/classes', payload: { name: 'N' }, headers: auth })
    ).json();
    const url = `/api/classes/${code}/rooms`;
    expect((await app.inject({ method: 'POST', url, payload: {}, headers: auth })).statusCode).toBe(201);
    const res = await app.inject({ method: 'POST', url, payload: {}, headers: auth });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('TCPLAB_TOO_MANY_ROOMS');
  });
});

describe('the web app', () => {
  it('says the app is not built when web/dist is missing', async () => {
    const res = await (await build()).inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/not built yet/);
  });

  it('serves web/dist with an index.html fallback for the app’s own routes', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tcplab-web-'));
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>TCP Lab</title>');
    writeFileSync(join(root, 'app.js'), 'console.log(1)');
    await build({ webRoot: root });
    expect((await app.inject({ method: 'GET', url: '/' })).body).toMatch(/TCP Lab/);
    expect((await app.inject({ method: 'GET', url: '/app.js' })).headers['content-type']).toMatch(
      /javascript/,
    );
    const deep = await app.inject({ method: 'GET', url: '/room/7', headers: { accept: 'text/html' } });
    expect(deep.body).toMatch(/TCP Lab/);
    const api = await app.inject({ method: 'GET', url: '/api/nope', headers: { accept: 'text/html' } });
    expect(api.statusCode).toBe(404);
  });

  it('still upgrades /ws to a WebSocket when the app is served', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tcplab-web-'));
    writeFileSync(join(root, 'index.html'), '<!doctype html>');
    const started = await startApp({ webRoot: root });
    app = started.app;
    const ws = await connect(started.url);
    expect(await request(ws, { type: 'ping' })).toMatchObject({ type: 'pong' });
    await closeAll([ws]);
  });
});

describe('instructor key storage', () => {
  it('generates a key once, keeps it, and lets TCPLAB_INSTRUCTOR_KEY override it', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'tcplab-data-')), 'data');
    const first = loadInstructorKey(dir, {});
    expect(first.key).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(readFileSync(join(dir, INSTRUCTOR_KEY_FILE), 'utf8').trim()).toBe(first.key);
    expect(statSync(join(dir, INSTRUCTOR_KEY_FILE)).mode & 0o077).toBe(0);
    expect(loadInstructorKey(dir, {}).key).toBe(first.key);
    expect(loadInstructorKey(dir, { TCPLAB_INSTRUCTOR_KEY: 'mine' })).toEqual({
      key: 'mine',
      source: 'TCPLAB_INSTRUCTOR_KEY',
    });
  });
});

describe('Origin policy', () => {
  it.each([
    [undefined, 'lab:3000', [], true],
    ['http://lab:3000', 'lab:3000', [], true],
    ['https://lab:3000', 'lab:3000', [], true],
    ['http://evil:3000', 'lab:3000', [], false],
    ['http://lab:3001', 'lab:3000', [], false],
    ['http://localhost:5173', 'lab:3000', ['http://localhost:5173'], true],
    ['null', 'lab:3000', [], false],
    ['not a url', 'lab:3000', [], false],
  ])('origin %s on host %s (allowed %j) → %s', (origin, host, allowed, ok) => {
    expect(originAllowed(origin, host, allowed)).toBe(ok);
  });
});
