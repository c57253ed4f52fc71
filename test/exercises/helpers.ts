/**
 * Test helpers for the exercise catalogue: the files in exercises/, their solutions run through
 * the simulator's public runner, and the goal results of a run in both languages.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkGoals,
  type Exercise,
  type GoalResult,
  loadExercises,
  solutionScenario,
} from '../../shared/exercises/index.ts';
import { runScenario, type ScenarioRun } from '../../shared/sim/runner.ts';
import type { Scenario } from '../../shared/sim/scenario.ts';

export const EXERCISE_DIR = join(import.meta.dirname, '../../exercises');

/** Every exercise file, as the server would read them. */
export function exerciseFiles(): Array<{ name: string; text: string }> {
  return readdirSync(EXERCISE_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ name: `exercises/${f}`, text: readFileSync(join(EXERCISE_DIR, f), 'utf8') }));
}

let cached: Exercise[] | undefined;

/** The catalogue; fails the test if any file has a problem. */
export function catalogue(): Exercise[] {
  if (!cached) {
    const { exercises, errors } = loadExercises(exerciseFiles());
    if (errors.length > 0) throw new Error(`exercise files with problems:\n  ${errors.join('\n  ')}`);
    cached = exercises;
  }
  return cached;
}

export function exercise(id: string): Exercise {
  const ex = catalogue().find((e) => e.id === id);
  if (!ex) throw new Error(`no exercise "${id}" in exercises/`);
  return ex;
}

/** The exercise's solution as a scenario, optionally changed, then run to its end. */
export function runSolution(ex: Exercise, change?: (s: Scenario) => void): ScenarioRun {
  const s = solutionScenario(ex);
  if (!s) throw new Error(`${ex.id} has no solution`);
  change?.(s);
  return runScenario(s);
}

/** Goal results by id, in one language. */
export function goalsById(ex: Exercise, run: ScenarioRun, lang: 'en' | 'zh-CN'): Record<string, GoalResult> {
  return Object.fromEntries(checkGoals(ex, run.trace, lang, { now: run.until }).map((g) => [g.id, g]));
}
