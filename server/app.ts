/**
 * `buildApp(opts)`: the whole lab server as a Fastify instance that never listens. `main.ts` is
 * the only file that calls `listen`; tests use `inject()` or listen on an ephemeral port.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { type BuildOptions as BaseBuildOptions, resolveConfig } from './config.ts';
import exercisesPlugin, { type ExercisesOptions } from './exercises/plugin.ts';
import { mergeHooks, Persistence } from './persistence/persist.ts';
import persistencePlugin from './persistence/plugin.ts';
import labPlugin from './plugins/lab.ts';
import { exportRoutes } from './routes/exports.ts';
import { httpRoutes } from './routes/http.ts';
import { staticRoutes } from './routes/static.ts';
import { teachRoutes } from './routes/teach.ts';
import { wsRoutes } from './routes/ws.ts';

/** The server's options; `exercises` configures the catalogue and progress (server/exercises/). */
export type BuildOptions = BaseBuildOptions & { exercises?: ExercisesOptions };

export async function buildApp(opts: BuildOptions = {}): Promise<FastifyInstance> {
  const config = resolveConfig(opts);
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: config.limits.maxMessageBytes,
    // Route params and bodies are validated against TypeBox schemas; refuse, never coerce.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
  });
  // Persistence (docs/persistence.md): a file it cannot use stops the start here, naming it.
  const persistence = config.dataDir === undefined ? undefined : Persistence.open(config.dataDir, app.log);
  if (persistence) config.hooks = mergeHooks(config.hooks, persistence.hooks());
  await app.register(labPlugin, { config });
  // Exercise progress is kept in the same database (server/persistence/progress.ts).
  const exercises = persistence ? { store: persistence.exerciseStore(), ...opts.exercises } : opts.exercises;
  await app.register(exercisesPlugin, { options: exercises });
  // After the plugins that hook rooms (exercises follow each room's trace): the restore replays.
  await app.register(persistencePlugin, { persistence });
  await app.register(httpRoutes);
  await app.register(exportRoutes);
  await app.register(teachRoutes);
  await app.register(wsRoutes);
  await app.register(staticRoutes, { root: config.webRoot });
  return app;
}
