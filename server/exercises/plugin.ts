/**
 * The exercises plugin: loads the catalogue at start (each bad file reported on stderr and in the
 * log, then skipped), creates the ExerciseService, hooks it to every room's trace and resets,
 * and makes it reachable from the gateway (`exercisesOf(lab)`) and routes (`app.exercises`).
 */
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { type Catalogue, loadCatalogue } from './catalogue.ts';
import { setExercises } from './handlers.ts';
import { ExerciseService, type ExerciseServiceOptions, type SavedTrack } from './service.ts';
import { type ExerciseStore, MemoryExerciseStore } from './store.ts';

export interface ExercisesOptions extends ExerciseServiceOptions {
  /** Folder of exercise files; default `exercises/`. */
  dir?: string;
  /**
   * Where progress is kept: `buildApp` passes the lab's database (server/persistence/progress.ts)
   * when the server has a data folder; default memory.
   */
  store?: ExerciseStore;
  /** Where problems with exercise files go; default stderr. */
  report?: (line: string) => void;
}

declare module 'fastify' {
  interface FastifyInstance {
    exercises: ExerciseService;
  }
}

async function exercisesPlugin(app: FastifyInstance, opts: { options?: ExercisesOptions }): Promise<void> {
  const o = opts.options ?? {};
  const dir = resolve(o.dir ?? 'exercises');
  const report =
    o.report ??
    ((line: string) => {
      process.stderr.write(`TCP Lab: ${line}\n`);
    });
  const catalogue: Catalogue = loadCatalogue(dir, (line) => {
    report(line);
    app.log.warn({ dir }, line);
  });
  const store = o.store ?? new MemoryExerciseStore();
  const svc = new ExerciseService(app.lab, catalogue, store, {
    ...o,
    log: app.log,
  });
  const hooks = app.config.hooks;
  const prevTrace = hooks.onTrace;
  // An earlier onTrace keeps the summaries it asked for (all of them, unless it said otherwise).
  const prevSummaries = prevTrace ? (hooks.traceSummaries ?? (() => true)) : undefined;
  const prevReset = hooks.onReset;
  hooks.onTrace = (room, e) => {
    prevTrace?.(room, e);
    svc.onTrace(room, e);
  };
  hooks.traceSummaries = (room) => prevSummaries?.(room) === true || svc.wantsSummaries(room);
  hooks.onReset = (room, epoch) => {
    prevReset?.(room, epoch);
    svc.onReset(room);
  };
  const prevCheckpoint = hooks.checkpoint;
  const prevRestore = hooks.restoreCheckpoint;
  hooks.checkpoint = (room, out) => {
    prevCheckpoint?.(room, out);
    out.exercises = svc.checkpointTrack(room);
  };
  hooks.restoreCheckpoint = (room, saved) => {
    prevRestore?.(room, saved);
    svc.restoreTrack(room, saved.exercises as SavedTrack | undefined);
  };
  setExercises(app.lab, svc);
  app.decorate('exercises', svc);
  app.addHook('preClose', async () => svc.close());
}

export default fp(exercisesPlugin, {
  name: 'tcplab-exercises',
  fastify: '5.x',
  dependencies: ['tcplab-lab'],
});
