/**
 * `npm start`: the only listener. PORT (default 3000) and HOST (default 0.0.0.0) choose where;
 * TCPLAB_DATA (default ./data) is where the instructor key is kept; TCPLAB_INSTRUCTOR_KEY
 * overrides it; TCPLAB_ORIGINS (comma-separated) allows more browser origins.
 */
import { networkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import { buildApp } from './app.ts';
import { loadInstructorKey } from './config.ts';

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '0.0.0.0';
const dataDir = resolve(process.env.TCPLAB_DATA ?? 'data');
const { key, source } = loadInstructorKey(dataDir, process.env);
const origins = (process.env.TCPLAB_ORIGINS ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);

const app = await buildApp({
  logger: { level: process.env.LOG_LEVEL ?? 'warn' },
  instructorKey: key,
  origins,
});
await app.listen({ port, host });

/** An address students on the classroom network can type. */
function publicHost(): string {
  if (host !== '0.0.0.0' && host !== '::') return host;
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return 'localhost';
}

const base = `http://${publicHost()}:${port}`;
process.stdout.write(
  [
    'TCP Lab is running.',
    `  Students:   ${base}/`,
    `  Instructor: ${base}/?key=${encodeURIComponent(key)}`,
    `  (instructor key from ${source})`,
    '',
  ].join('\n'),
);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
