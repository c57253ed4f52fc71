/**
 * The web app, built by Vite into `web/dist`, served when it exists. Unknown GET paths outside
 * `/api` fall back to index.html so the app's own routes survive a reload.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

export async function staticRoutes(app: FastifyInstance, opts: { root: string | null }): Promise<void> {
  const root = opts.root;
  if (root === null || !existsSync(join(root, 'index.html'))) {
    app.get('/', async (_req, reply) =>
      reply
        .type('text/plain; charset=utf-8')
        .send(
          'TCP Lab server is running. The web app is not built yet (web/dist); the WebSocket is at /ws.\n',
        ),
    );
    return;
  }
  await app.register(fastifyStatic, { root, wildcard: true });
  app.setNotFoundHandler((req, reply) => {
    if (req.method === 'GET' && !req.url.startsWith('/api/') && req.headers.accept?.includes('text/html'))
      return reply.sendFile('index.html');
    return reply.code(404).send({
      statusCode: 404,
      code: 'TCPLAB_NOT_FOUND',
      error: 'Not Found',
      message: `no route ${req.method} ${req.url}`,
    });
  });
}
