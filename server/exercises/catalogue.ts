/**
 * The exercise catalogue, read once at start from a folder of JSON files (docs/exercises.md).
 * A bad file is reported, one line per problem, and skipped; the others load.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Exercise, loadExercises } from '../../shared/exercises/index.ts';

export interface Catalogue {
  exercises: Exercise[];
  byId: Map<string, Exercise>;
  /** Every problem found, `file: field: what is wrong`. */
  errors: string[];
}

/** Reads `dir/*.json`; `report` gets each problem (the server writes them to stderr and its log). */
export function loadCatalogue(dir: string, report: (line: string) => void): Catalogue {
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((n) => n.endsWith('.json'))
      .sort();
  } catch (e) {
    const line = `exercises: cannot read the folder ${dir}: ${(e as Error).message}`;
    report(line);
    return { exercises: [], byId: new Map(), errors: [line] };
  }
  const files = names.map((n) => ({ name: join(dir, n), text: readFileSync(join(dir, n), 'utf8') }));
  const { exercises, errors } = loadExercises(files);
  for (const e of errors) report(`exercise file skipped: ${e}`);
  return { exercises, byId: new Map(exercises.map((e) => [e.id, e])), errors };
}
