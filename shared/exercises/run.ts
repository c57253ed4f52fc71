/**
 * Exercises as scenarios: the room's starting network (`exerciseSetup`), and whole runs through
 * the simulator's runner (the intended solution, or any other steps) for tests and tools.
 */
import { runScenario, type ScenarioRun, type SessionOptions } from '../sim/runner.ts';
import { type Scenario, type Step, validateScenario } from '../sim/scenario.ts';
import type { Exercise, Setup } from './format.ts';
import { setupScenario } from './load.ts';

/** The preset network of an exercise, in the scenario format's terms. */
export function exerciseSetup(ex: Exercise): Setup {
  return structuredCloneJson(ex.setup);
}

/** The exercise's network with these steps, as a scenario (throws if the result is not valid). */
export function exerciseScenario(
  ex: Exercise,
  steps: Step[],
  opts: { until: number; seed?: number },
): Scenario {
  const s = setupScenario(
    structuredCloneJson(ex.setup) as Record<string, unknown>,
    ex.id,
    steps,
    opts.until,
    opts.seed,
  );
  const r = validateScenario(s);
  if (!r.ok) throw new Error(`${ex.id}: not a valid scenario:\n  ${r.errors.join('\n  ')}`);
  return r.scenario;
}

/** The intended solution as a scenario; undefined when the exercise has none. */
export function solutionScenario(ex: Exercise): Scenario | undefined {
  const sol = ex.solution;
  if (!sol) return undefined;
  return exerciseScenario(ex, structuredCloneJson(sol.steps), {
    until: sol.until,
    ...(sol.seed !== undefined ? { seed: sol.seed } : {}),
  });
}

/** Runs a scenario built from the exercise (see `exerciseScenario`). */
export function runExercise(
  ex: Exercise,
  steps: Step[],
  opts: { until: number; seed?: number },
  session: SessionOptions = {},
): ScenarioRun {
  return runScenario(exerciseScenario(ex, steps, opts), session);
}

function structuredCloneJson<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}
