/**
 * `buildApp(opts)`: the whole lab server as a Fastify instance that never listens. `main.ts` is
 * the only file that calls `listen`; tests use `inject()` or listen on an ephemeral port.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { type BuildOptions, resolveConfig } from './config.ts';
import labPlugin from './plugins/lab.ts';
import { httpRoutes } from './routes/http.ts';
import { staticRoutes } from './routes/static.ts';
import { wsRoutes } from './routes/ws.ts';

export type { BuildOptions } from './config.ts';

export async function buildApp(opts: BuildOptions = {}): Promise<FastifyInstance> {
  const config = resolveConfig(opts);
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: config.limits.maxMessageBytes,
    // Route params and bodies are validated against TypeBox schemas; refuse, never coerce.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
  });
  await app.register(labPlugin, { config });
  await app.register(httpRoutes);
  await app.register(wsRoutes);
  await app.register(staticRoutes, { root: config.webRoot });
  return app;
}
