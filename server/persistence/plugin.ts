/**
 * Persistence as a Fastify plugin: decorates `app.persistence` (undefined when the server keeps
 * nothing), restores the stored lab before the server listens, commits what an HTTP answer
 * reports before it is sent, and writes the last positions and closes the file when the server
 * closes (after the lab has stopped its rooms).
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Persistence } from './persist.ts';

declare module 'fastify' {
  interface FastifyInstance {
    persistence: Persistence | undefined;
  }
}

async function persistencePlugin(app: FastifyInstance, opts: { persistence?: Persistence }): Promise<void> {
  const p = opts.persistence;
  app.decorate('persistence', p);
  if (!p) return;
  app.addHook('onClose', async () => p.close());
  // An HTTP answer (a class or room created) leaves after what it reports is committed.
  app.addHook('onSend', async () => {
    p.flushNow();
  });
  let report: ReturnType<Persistence['restore']>;
  try {
    report = p.restore(app.lab);
  } catch (e) {
    p.abort();
    throw e;
  }
  app.log.info(
    { file: p.file, ...report, mismatched: report.mismatched.length, broken: report.broken.length },
    'persistence: lab restored',
  );
  for (const s of report.skipped) app.log.warn({ file: p.file }, `persistence: not restored: ${s}`);
}

export default fp(persistencePlugin, {
  name: 'tcplab-persistence',
  fastify: '5.x',
  dependencies: ['tcplab-lab'],
});
