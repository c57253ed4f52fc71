/** `npm start`: the one listener, started as a real process. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
// @ts-expect-error: a plain-JS build script, without types
import { buildServer } from '../../bin/build.mjs';
import { startServer } from '../server-process.ts';

/** The server as a child process (`node <args>`) on `data`, its key generated and kept there. */
const start = (args: string[], data: string) =>
  startServer(args, { TCPLAB_DATA: data, TCPLAB_INSTRUCTOR_KEY: '' });

describe('server/main.ts', () => {
  it('listens on PORT/HOST, prints the student and instructor URLs, keeps the key, stops on SIGTERM', async () => {
    const data = join(mkdtempSync(join(tmpdir(), 'tcplab-main-')), 'data');
    const { child, port, banner: out } = await start(['--import', 'tsx', 'server/main.ts'], data);
    const key = readFileSync(join(data, 'instructor-key'), 'utf8').trim();
    expect(out).toContain(`Students:   http://127.0.0.1:${port}/`);
    expect(out).toContain(`Instructor: http://127.0.0.1:${port}/?key=${encodeURIComponent(key)}`);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(await health.json()).toMatchObject({ ok: true });
    const created = await fetch(`http://127.0.0.1:${port}/api/classes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'From main' }),
    });
    expect(created.status).toBe(201);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 40_000);

  it('runs as the bundle npm start builds: HTTP, SQLite and WebSocket all load from it', async () => {
    // Inside the repository, so better-sqlite3 (left out of the bundle) resolves from node_modules.
    // (dist/ is where `npm start` builds; a fresh checkout has none yet.)
    mkdirSync('dist', { recursive: true });
    const dir = mkdtempSync(join('dist', 'test-bundle-'));
    try {
      await buildServer(join(dir, 'server.mjs'));
      const data = join(mkdtempSync(join(tmpdir(), 'tcplab-main-')), 'data');
      const { child, port } = await start([join(dir, 'server.mjs')], data);
      const key = readFileSync(join(data, 'instructor-key'), 'utf8').trim();
      const created = await fetch(`http://127.0.0.1:${port}/api/classes`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'From the bundle' }),
      });
      expect(created.status).toBe(201);
      const { code } = (await created.json()) as { code: string };
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
      const welcome = await new Promise<Record<string, unknown>>((resolve, reject) => {
        ws.once('error', reject);
        ws.on('message', (d: Buffer) => {
          const m = JSON.parse(d.toString()) as Record<string, unknown>;
          if (m.type === 'welcome') resolve(m);
        });
        ws.once('open', () => ws.send(JSON.stringify({ type: 'class.join', id: 1, code, name: 'Ada' })));
      });
      expect(welcome).toMatchObject({ session: { name: 'Ada', role: 'student' } });
      ws.close();
      const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
