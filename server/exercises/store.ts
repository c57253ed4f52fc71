/**
 * Where exercise assignments, answers and progress are kept so they survive a restart. A small
 * interface: a server with a data folder keeps them in its SQLite database, with the rest of the
 * lab (server/persistence/progress.ts, docs/persistence.md); without one, in memory (tests).
 * Goal results are never stored: they are recomputed from the room's trace, which the room
 * rebuilds by replay after a restart.
 *
 * `FileExerciseStore` is the JSON file earlier versions kept (`exercise-progress.json` in the data
 * folder): the database imports it once at start.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface StoredAnswer {
  answer: unknown;
  /** Trace events the pair had seen when they answered (predictions must come first). */
  answeredBefore: number;
}

/** One exercise done (or under way) in one room. */
export interface StoredRun {
  exercise: string;
  /** Wall-clock ms when it was assigned. */
  assignedAt: number;
  /** Wall-clock ms when progress first reached 100 %. */
  completedAt?: number;
  answers: Record<string, StoredAnswer>;
  /** The last progress computed, for the summary of runs no longer current. */
  percent: number;
  goalsMet: number;
  goalsTotal: number;
  questionsCorrect: number;
  questionsTotal: number;
  /** The names in seats A and B when progress last changed. */
  pair: { A: string | null; B: string | null };
}

export interface StoredRoom {
  classCode: string;
  name: string;
  /** The run under way (an index into `runs`), or null. */
  current: number | null;
  runs: StoredRun[];
}

export interface ExerciseState {
  version: 1;
  /** Exercise assigned to every room of a class. */
  classes: Record<string, string | null>;
  rooms: Record<string, StoredRoom>;
}

export interface ExerciseStore {
  load(): ExerciseState;
  save(state: ExerciseState): void;
}

export const emptyState = (): ExerciseState => ({ version: 1, classes: {}, rooms: {} });

/**
 * Checks that `json` is exercise progress as `ExerciseStore.save` writes it; the first problem
 * found, naming its field, or undefined.
 */
export function exerciseStateProblem(json: unknown): string | undefined {
  const isObj = (x: unknown): x is Record<string, unknown> =>
    typeof x === 'object' && x !== null && !Array.isArray(x);
  if (!isObj(json)) return 'it is not a JSON object';
  if (json.version !== 1) return `version: expected 1, found ${JSON.stringify(json.version)}`;
  if (!isObj(json.classes)) return 'classes: expected an object';
  for (const [code, ex] of Object.entries(json.classes))
    if (ex !== null && typeof ex !== 'string') return `classes.${code}: expected an exercise id or null`;
  if (!isObj(json.rooms)) return 'rooms: expected an object';
  for (const [id, r] of Object.entries(json.rooms)) {
    const at = `rooms.${id}`;
    if (!/^[1-9]\d{0,9}$/.test(id)) return `${at}: a room number expected as the key`;
    if (!isObj(r)) return `${at}: expected an object`;
    if (typeof r.classCode !== 'string') return `${at}.classCode: expected a string`;
    if (typeof r.name !== 'string') return `${at}.name: expected a string`;
    if (!Array.isArray(r.runs)) return `${at}.runs: expected an array`;
    if (r.current !== null && !(Number.isInteger(r.current) && (r.current as number) < r.runs.length))
      return `${at}.current: expected null or an index into runs`;
    for (const [i, run] of r.runs.entries()) {
      if (!isObj(run) || typeof run.exercise !== 'string' || !isObj(run.answers))
        return `${at}.runs[${i}]: expected a run (exercise, answers…)`;
    }
  }
  return undefined;
}

export class MemoryExerciseStore implements ExerciseStore {
  private data: string = JSON.stringify(emptyState());
  load(): ExerciseState {
    return JSON.parse(this.data) as ExerciseState;
  }
  save(state: ExerciseState): void {
    this.data = JSON.stringify(state);
  }
}

/** A JSON file, written whole to a temporary file and renamed (never half written). */
export class FileExerciseStore implements ExerciseStore {
  constructor(readonly file: string) {}
  load(): ExerciseState {
    if (!existsSync(this.file)) return emptyState();
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch (e) {
      throw new Error(`${this.file} is not an exercise progress file: ${(e as Error).message}`);
    }
    const problem = exerciseStateProblem(json);
    if (problem) throw new Error(`${this.file} is not an exercise progress file (version 1): ${problem}`);
    return json as ExerciseState;
  }
  save(state: ExerciseState): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(state));
    renameSync(tmp, this.file);
  }
}
