/** `npm start`: the one listener, started as a real process. */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
// @ts-expect-error: a plain-JS build script, without types
import { buildServer, codeCacheOf } from '../../bin/build.mjs';
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

  it('runs as the bundle npm start builds, with its code cache: HTTP, SQLite and WebSocket all load from it', async () => {
    // Inside the repository, so better-sqlite3 (left out of the bundle) resolves from node_modules.
    // (dist/ is where `npm start` builds; a fresh checkout has none yet.)
    mkdirSync('dist', { recursive: true });
    const dir = mkdtempSync(join('dist', 'test-bundle-'));
    const bundle = join(dir, 'server.cjs');
    const cache = codeCacheOf(bundle);
    const data = join(mkdtempSync(join(tmpdir(), 'tcplab-main-')), 'data');
    // As npm start runs it (bin/start.mjs, after the build), its code cache written 0.3 s in.
    const run = () =>
      startServer(['bin/run-bundle.mjs', bundle], {
        TCPLAB_DATA: data,
        TCPLAB_INSTRUCTOR_KEY: '',
        TCPLAB_CODE_CACHE_AFTER_MS: '300',
      });
    const stop = async (child: ChildProcess) => {
      const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    };
    const cacheWritten = async (not?: Buffer) => {
      for (let t = 0; t < 100; t++) {
        if (existsSync(cache) && !(not && readFileSync(cache).equals(not))) return readFileSync(cache);
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('no code cache written');
    };
    try {
      await buildServer(bundle);
      expect(existsSync(cache)).toBe(false);
      const first = await run();
      const key = readFileSync(join(data, 'instructor-key'), 'utf8').trim();
      const created = await fetch(`http://127.0.0.1:${first.port}/api/classes`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'From the bundle' }),
      });
      expect(created.status).toBe(201);
      const { code } = (await created.json()) as { code: string };
      expect(await welcomeOf(first.port, code)).toMatchObject({ session: { name: 'Ada', role: 'student' } });
      const written = await cacheWritten();
      await stop(first.child);

      // The next start takes the cache; the class is still there.
      const second = await run();
      const classes = await fetch(`http://127.0.0.1:${second.port}/api/classes`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(await classes.json()).toMatchObject({ classes: [{ code, name: 'From the bundle' }] });
      expect(second.stderr()).not.toContain('code cache');
      await stop(second.child);

      // A cache V8 refuses (here: garbage) is said, the server runs as well, and a new one is written.
      const garbage = Buffer.alloc(written.length, 7);
      writeFileSync(cache, garbage);
      const third = await run();
      expect(third.stderr()).toContain(`code cache ${resolve(cache)} does not fit this bundle or Node`);
      expect(await welcomeOf(third.port, code)).toMatchObject({ session: { name: 'Ada' } });
      expect((await cacheWritten(garbage)).equals(garbage)).toBe(false);
      await stop(third.child);

      // A new build drops the old bundle's cache.
      await buildServer(bundle);
      expect(existsSync(cache)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});

/** A student joining class `code` on the server at `port`: its `welcome`. */
async function welcomeOf(port: number, code: string): Promise<Record<string, unknown>> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  try {
    return await new Promise<Record<string, unknown>>((resolve, reject) => {
      ws.once('error', reject);
      ws.on('message', (d: Buffer) => {
        const m = JSON.parse(d.toString()) as Record<string, unknown>;
        if (m.type === 'welcome') resolve(m);
      });
      ws.once('open', () => ws.send(JSON.stringify({ type: 'class.join', id: 1, code, name: 'Ada' })));
    });
  } finally {
    ws.close();
  }
}
