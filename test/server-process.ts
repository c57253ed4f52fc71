/**
 * The lab server as a real child process, for the tests that start, stop or kill it as `npm start`
 * would: on a free loopback port, resolved once it has printed its banner.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * Runs `node <args>` with PORT, HOST (loopback) and `env`; resolves with its banner once it prints
 * the instructor URL, rejects (with what it printed) if it exits or stays silent for 20 s.
 */
export async function startServer(
  args: string[],
  env: Record<string, string>,
): Promise<{ child: ChildProcess; port: number; banner: string; stderr: () => string }> {
  const port = await freePort();
  const child = spawn(process.execPath, args, {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start-up banner: ${out}${err}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Instructor:')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${out}${err}`)));
  });
  return { child, port, banner: out, stderr: () => err };
}
