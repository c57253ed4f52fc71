/**
 * Exercise progress in the lab's database (schema version 2, docs/persistence.md): the exercise
 * assigned to each class (`exercise_classes`) and each room's runs with their answers and last
 * progress (`exercise_rooms`, one JSON row per room). The exercises service hands over its whole
 * state when it changes; only the rows that differ from what was last written are written, in
 * the persistence's transaction of that turn (before the replies that report them leave).
 *
 * Earlier versions kept this in `exercise-progress.json` in the data folder: at the first start
 * on a database without progress, that file is imported once and renamed
 * `exercise-progress.json.imported`.
 */
import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import {
  type ExerciseState,
  emptyState,
  exerciseStateProblem,
  FileExerciseStore,
  type StoredRoom,
} from '../exercises/store.ts';
import { type Db, PersistenceError } from './store.ts';

/** The JSON file earlier versions kept progress in, in the data folder. */
export const LEGACY_PROGRESS_FILE = 'exercise-progress.json';
/** `meta` key set once that file has been imported (its value: when). */
const IMPORTED_KEY = 'exercise_progress_imported';

/** Progress as rows: `c:<class code>` → the exercise (JSON), `r:<room id>` → the room's runs (JSON). */
export type ProgressRows = Map<string, string>;

export function progressRows(state: ExerciseState): ProgressRows {
  const rows: ProgressRows = new Map();
  for (const [code, ex] of Object.entries(state.classes)) rows.set(`c:${code}`, JSON.stringify(ex));
  for (const [id, r] of Object.entries(state.rooms)) rows.set(`r:${id}`, JSON.stringify(r));
  return rows;
}

export class ProgressTables {
  private readonly stmt;

  constructor(
    private readonly db: Db,
    private readonly file: string,
  ) {
    this.stmt = {
      classes: db.prepare('SELECT class_code, exercise FROM exercise_classes'),
      rooms: db.prepare('SELECT room_id, body FROM exercise_rooms'),
      klass: db.prepare('INSERT OR REPLACE INTO exercise_classes (class_code, exercise) VALUES (?, ?)'),
      room: db.prepare('INSERT OR REPLACE INTO exercise_rooms (room_id, body) VALUES (?, ?)'),
      dropClass: db.prepare('DELETE FROM exercise_classes WHERE class_code = ?'),
      dropRoom: db.prepare('DELETE FROM exercise_rooms WHERE room_id = ?'),
      count: db.prepare(
        'SELECT (SELECT COUNT(*) FROM exercise_classes) + (SELECT COUNT(*) FROM exercise_rooms) AS n',
      ),
      imported: db.prepare('SELECT value FROM meta WHERE key = ?'),
      mark: db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
    };
  }

  /** The stored progress, and its rows as written. Throws PersistenceError on a damaged row. */
  read(): { state: ExerciseState; rows: ProgressRows } {
    const state = emptyState();
    for (const r of this.stmt.classes.all() as Array<{ class_code: string; exercise: string | null }>)
      state.classes[r.class_code] = r.exercise;
    for (const r of this.stmt.rooms.all() as Array<{ room_id: number; body: string }>) {
      try {
        state.rooms[String(r.room_id)] = JSON.parse(r.body) as StoredRoom;
      } catch (e) {
        throw new PersistenceError(
          this.file,
          `${this.file}: the exercise progress of room ${r.room_id} is damaged (${(e as Error).message}). Restore the file from a backup.`,
        );
      }
    }
    const problem = exerciseStateProblem(state);
    if (problem)
      throw new PersistenceError(
        this.file,
        `${this.file}: the stored exercise progress is damaged (${problem}). Restore the file from a backup.`,
      );
    return { state, rows: progressRows(state) };
  }

  /** Writes the rows of `next` that differ from `written`, deletes those gone; returns rows written. */
  write(next: ProgressRows, written: ProgressRows): number {
    let n = 0;
    for (const [key, value] of next) {
      if (written.get(key) === value) continue;
      if (key.startsWith('c:')) this.stmt.klass.run(key.slice(2), JSON.parse(value) as string | null);
      else this.stmt.room.run(Number(key.slice(2)), value);
      n++;
    }
    for (const key of written.keys()) {
      if (next.has(key)) continue;
      if (key.startsWith('c:')) this.stmt.dropClass.run(key.slice(2));
      else this.stmt.dropRoom.run(Number(key.slice(2)));
      n++;
    }
    return n;
  }

  /**
   * Imports `exercise-progress.json` from `dataDir` once, if present and nothing is stored yet.
   * A file that is not progress stops the start (PersistenceError naming it), changing nothing.
   * Returns what happened, for the log.
   */
  importLegacy(dataDir: string): string | undefined {
    const legacy = join(dataDir, LEGACY_PROGRESS_FILE);
    if (!existsSync(legacy) || this.stmt.imported.get(IMPORTED_KEY) !== undefined) return undefined;
    if ((this.stmt.count.get() as { n: number }).n > 0)
      return `${legacy} not imported: the database already holds exercise progress`;
    let state: ExerciseState;
    try {
      state = new FileExerciseStore(legacy).load();
    } catch (e) {
      throw new PersistenceError(
        legacy,
        `${(e as Error).message}. It is the exercise progress an earlier TCP Lab kept; fix it, or move it away to start without it.`,
      );
    }
    const rows = progressRows(state);
    this.db.transaction(() => {
      this.write(rows, new Map());
      this.stmt.mark.run(IMPORTED_KEY, String(Date.now()));
    })();
    let renamed = `${legacy}.imported`;
    try {
      renameSync(legacy, renamed);
    } catch {
      renamed = legacy; // imported all the same: the meta key says so
    }
    return `exercise progress imported from ${legacy} (${Object.keys(state.rooms).length} rooms); the file is now ${renamed}`;
  }
}
