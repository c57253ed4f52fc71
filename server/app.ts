/**
 * `buildApp(opts)`: the whole lab server as a Fastify instance that never listens. `main.ts` is
 * the only file that calls `listen`; tests use `inject()` or listen on an ephemeral port.
 */

import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { TSchema } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import Fastify, { type FastifyInstance, type FastifySchemaValidationError } from 'fastify';
import { schemaError } from '../shared/protocol/validate.ts';
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
  });
  // Route params, queries and bodies are checked against their TypeBox schemas with TypeBox's own
  // compiler, as WebSocket messages are: refused, never coerced. (Ajv compiled the same schemas
  // in ~80 ms at every start, a restart's time.) Each is compiled at its route's first request.
  app.setValidatorCompiler(({ schema }) => {
    let check: TypeCheck<TSchema> | undefined;
    // Fastify's contract: false, with Ajv-shaped `errors` that its error formatter words.
    const validate = (data: unknown) => {
      check ??= TypeCompiler.Compile(schema as TSchema);
      const bad = schemaError(check, data);
      validate.errors = bad
        ? [{ keyword: 'typebox', schemaPath: '', params: {}, instancePath: bad.path, message: bad.detail }]
        : null;
      return bad === undefined;
    };
    validate.errors = null as FastifySchemaValidationError[] | null;
    return validate;
  });
  // Response schemas, Fastify's own serializer, built at the route's first response: building
  // them (and the Ajv that fast-json-stringify brings) was ~25 ms of every start.
  const serializers = SerializerSelector()(undefined, {});
  app.setSerializerCompiler((route) => {
    let serialize: ((data: unknown) => string) | undefined;
    return (data) => {
      serialize ??= serializers({ ...route, httpStatus: route.httpStatus ?? '200' });
      return serialize(data);
    };
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
