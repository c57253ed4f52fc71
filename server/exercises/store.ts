/**
 * Where exercise assignments, answers and progress are kept so they survive a restart. A small
 * interface: the persistence layer (server/persistence/) can provide one; without it the server
 * uses a JSON file in the data folder (or memory in tests). Goal results are never stored: they
 * are recomputed from the room's trace, which the room rebuilds by replay after a restart.
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
    const json = JSON.parse(readFileSync(this.file, 'utf8')) as ExerciseState;
    if (json?.version !== 1) throw new Error(`${this.file}: not an exercise progress file (version 1)`);
    return json;
  }
  save(state: ExerciseState): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(state));
    renameSync(tmp, this.file);
  }
}
