/**
 * `npm start`: the only listener. PORT (default 3000; 0 picks a free one) and HOST (default
 * 0.0.0.0) choose where; TCPLAB_DATA (default ./data) is where the instructor key and the lab's
 * database are kept (docs/persistence.md: everything is restored from it at start);
 * TCPLAB_INSTRUCTOR_KEY overrides the key; TCPLAB_ORIGINS (comma-separated) allows more origins.
 */
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import { buildApp } from './app.ts';
import { loadInstructorKey } from './config.ts';
import { PersistenceError } from './persistence/store.ts';

// Not top-level await: the bundle npm start runs is a CommonJS script (bin/build.mjs).
async function main(): Promise<void> {
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
    dataDir,
  }).catch((e: unknown) => {
    if (!(e instanceof PersistenceError)) throw e;
    process.stderr.write(`TCP Lab cannot start: ${e.message}\n`);
    process.exit(1);
  });
  // Before the banner: whoever starts the server may stop it as soon as it has printed.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      app.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
  await app.listen({ port, host });
  const listening = (app.server.address() as AddressInfo).port;

  const base = `http://${publicHost(host)}:${listening}`;
  // As it stands: the rooms themselves are rebuilt in the background (or when first used).
  const restored = app.persistence?.restoreReport();
  process.stdout.write(
    [
      'TCP Lab is running.',
      `  Students:   ${base}/`,
      `  Instructor: ${base}/?key=${encodeURIComponent(key)}`,
      `  (instructor key from ${source})`,
      ...(app.persistence && restored
        ? [
            `  Data: ${app.persistence.file} (${restored.classes} classes, ${restored.rooms} rooms, ` +
              `${restored.sessions} people restored in ${Math.round(restored.ms)} ms` +
              `${restored.rebuiltMs === undefined ? '; rooms rebuilding in the background' : ''})`,
          ]
        : []),
      '',
    ].join('\n'),
  );
}

/** An address students on the classroom network can type. */
function publicHost(host: string): string {
  if (host !== '0.0.0.0' && host !== '::') return host;
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return 'localhost';
}

main().catch((e: unknown) => {
  process.stderr.write(`TCP Lab stopped: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
