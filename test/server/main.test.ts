/** `npm start`: the one listener, started as a real process. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('server/main.ts', () => {
  it('listens on PORT/HOST, prints the student and instructor URLs, keeps the key, stops on SIGTERM', async () => {
    const port = await freePort();
    const data = join(mkdtempSync(join(tmpdir(), 'tcplab-main-')), 'data');
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        TCPLAB_DATA: data,
        TCPLAB_INSTRUCTOR_KEY: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no start-up banner: ${out}`)), 20_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Instructor:')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
    });
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
});
