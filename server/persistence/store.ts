/**
 * The SQLite file under `TCPLAB_DATA` (docs/persistence.md): opening it, telling a TCP Lab
 * database from anything else, and its versioned schema. A file this server cannot use, whether
 * it is not SQLite, damaged, another program's database, or written by a newer TCP Lab, stops the
 * start with a `PersistenceError` that names the file and says what to do; never silently.
 */
import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

export const DB_FILE = 'tcplab.db';
/** `meta.application`: what marks a SQLite file as TCP Lab's. */
export const APPLICATION = 'tcp-lab';

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

/**
 * Every schema version, oldest first. A migration is never edited once released: a change is a
 * new version whose SQL brings the previous one up to date (it runs in one transaction).
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'classes, rooms, sessions with their tokens, every room input, history chunks',
    sql: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE classes (
        code TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE rooms (
        id INTEGER PRIMARY KEY,
        class_code TEXT NOT NULL,
        name TEXT NOT NULL,
        setup TEXT NOT NULL,       -- JSON RoomSetup: seed, link, tcp, hosts
        created_at INTEGER NOT NULL,
        epoch INTEGER NOT NULL,
        at REAL NOT NULL,          -- position: virtual ms (or the last input's, if later)
        seq INTEGER NOT NULL,      -- position: network events run
        clock TEXT NOT NULL,       -- JSON { running, speed, policy }
        seats TEXT NOT NULL,       -- JSON { A, B }: session ids or null
        members TEXT NOT NULL      -- JSON: ids of the students in the room
      );
      CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        token TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        class_code TEXT,
        rooms TEXT NOT NULL,       -- JSON: an instructor's joined rooms
        watching TEXT NOT NULL,    -- JSON: an instructor's watched classes
        created_at INTEGER NOT NULL
      );
      -- Append-only (every room's rows in the order written), so a write touches one page.
      CREATE TABLE inputs (
        id INTEGER PRIMARY KEY,
        room_id INTEGER NOT NULL,
        epoch INTEGER NOT NULL,
        idx INTEGER NOT NULL,      -- the input's index in its room's epoch
        body TEXT NOT NULL         -- JSON RoomInput, with its at and seq
      );
      CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        room_id INTEGER NOT NULL,
        epoch INTEGER NOT NULL,
        first_n INTEGER NOT NULL,
        count INTEGER NOT NULL,
        data BLOB NOT NULL         -- entries: u8 binary, u32 length, bytes
      );
    `,
  },
  {
    version: 2,
    description: 'exercise progress (was exercise-progress.json): class assignments, each room’s runs',
    sql: `
      -- The exercise assigned to every room of a class (NULL: none).
      CREATE TABLE exercise_classes (
        class_code TEXT PRIMARY KEY,
        exercise TEXT
      );
      -- Each room's exercise runs: JSON StoredRoom (server/exercises/store.ts), written when it changes.
      CREATE TABLE exercise_rooms (
        room_id INTEGER PRIMARY KEY,
        body TEXT NOT NULL
      );
    `,
  },
  {
    version: 3,
    description:
      'room checkpoints: each room’s state now and then, so a restart replays only what came after',
    sql: `
      -- Each room's latest checkpoint (Room.checkpoint): the state after \`inputs\` inputs and
      -- \`history\` history entries, at position (at, seq), written by build \`engine\`.
      CREATE TABLE checkpoints (
        room_id INTEGER PRIMARY KEY,
        epoch INTEGER NOT NULL,
        inputs INTEGER NOT NULL,
        history INTEGER NOT NULL,
        at REAL NOT NULL,
        seq INTEGER NOT NULL,
        engine TEXT NOT NULL,
        state BLOB NOT NULL
      );
    `,
  },
];

export class PersistenceError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
    this.name = 'PersistenceError';
  }
}

const HOW_TO = 'Move it away, or set TCPLAB_DATA to another folder.';
const SQLITE_MAGIC = 'SQLite format 3\0';

export interface OpenedStore {
  db: Db;
  file: string;
  /** Schema version after opening. */
  version: number;
  /** True when the file was created now. */
  created: boolean;
  /** Versions migrated to while opening (an older file). */
  migrated: number[];
}

/**
 * Opens (or creates) `dataDir/tcplab.db` in WAL mode, holding it exclusively, and brings its schema
 * up to date. Throws a PersistenceError for any file it cannot use.
 */
export function openStore(dataDir: string, migrations: readonly Migration[] = MIGRATIONS): OpenedStore {
  const file = join(dataDir, DB_FILE);
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new PersistenceError(file, `cannot create the data folder ${dataDir}: ${(e as Error).message}`);
  }
  const existed = existsSync(file) && statSync(file).size > 0;
  if (existed) checkMagic(file);
  // Resume tokens are secrets: the file (and its WAL, which SQLite creates alike) is the owner's only.
  else closeSync(openSync(file, 'a', 0o600));
  let db: Db;
  try {
    db = new Database(file, { timeout: 1000 });
  } catch (e) {
    throw new PersistenceError(file, `cannot open ${file}: ${(e as Error).message}`);
  }
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new Error(`SQLite would not use WAL mode (got ${String(mode)})`);
    // NORMAL in WAL mode: a commit survives the process being killed; an OS crash or power loss
    // may lose the last commits (docs/persistence.md).
    db.pragma('synchronous = NORMAL');
    const version = migrate(db, file, migrations);
    // A write takes the exclusive lock now, so a second server on this folder stops at start.
    db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run('opened_at', String(Date.now()));
    return { db, file, version: version.now, created: !existed, migrated: version.migrated };
  } catch (e) {
    db.close();
    if (e instanceof PersistenceError) throw e;
    throw new PersistenceError(file, describeSqliteError(file, e));
  }
}

function checkMagic(file: string): void {
  const fd = openSync(file, 'r');
  const head = Buffer.alloc(16);
  try {
    readSync(fd, head, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  if (head.toString('latin1') !== SQLITE_MAGIC) {
    throw new PersistenceError(
      file,
      `${file} is not a TCP Lab database: it is not even an SQLite file (it starts with ${JSON.stringify(
        head.toString('latin1').replace(/[^\x20-\x7e]/g, '.'),
      )}). ${HOW_TO}`,
    );
  }
}

/** A clear sentence for an SQLite failure on `file`. */
export function describeSqliteError(file: string, e: unknown): string {
  const err = e as Error & { code?: string };
  const code = err.code ?? '';
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED')
    return `${file} is in use by another process (another TCP Lab server on the same TCPLAB_DATA?): ${err.message}`;
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT'))
    return `${file} is damaged (SQLite: ${err.message}). Restore it from a backup. ${HOW_TO}`;
  return `${file}: ${err.message}${code ? ` (${code})` : ''}`;
}

function migrate(
  db: Db,
  file: string,
  migrations: readonly Migration[],
): { now: number; migrated: number[] } {
  const latest = migrations.at(-1)?.version ?? 0;
  const tables = (
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{
      name: string;
    }>
  ).map((r) => r.name);
  let current = 0;
  if (tables.length > 0) {
    const ours =
      tables.includes('schema_version') &&
      tables.includes('meta') &&
      (db.prepare("SELECT value FROM meta WHERE key = 'application'").get() as { value?: string } | undefined)
        ?.value === APPLICATION;
    if (!ours) {
      const shown = tables.slice(0, 8).join(', ') + (tables.length > 8 ? ', …' : '');
      throw new PersistenceError(
        file,
        `${file} is an SQLite database, but not TCP Lab's (its tables: ${shown}). ${HOW_TO}`,
      );
    }
    current =
      (db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as { v: number | null }).v ?? 0;
    if (current > latest) {
      throw new PersistenceError(
        file,
        `${file} was written by a newer TCP Lab (schema version ${current}; this server knows versions up to ${latest}). ` +
          'Run the newer server, or move the file away to start empty.',
      );
    }
  }
  const migrated: number[] = [];
  const pending = migrations.filter((m) => m.version > current);
  if (pending.length === 0) return { now: current, migrated };
  // All pending versions in one transaction: a failure leaves the file as it was.
  const from = current;
  const apply = db.transaction(() => {
    if (current === 0)
      db.exec(
        'CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)',
      );
    for (const m of pending) {
      db.exec(m.sql);
      if (current === 0)
        db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run('application', APPLICATION);
      db.prepare('INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.description,
        Date.now(),
      );
      current = m.version;
      migrated.push(m.version);
    }
  });
  try {
    apply();
  } catch (e) {
    throw new PersistenceError(
      file,
      `${file}: bringing the schema from version ${from} to ${pending[migrated.length]?.version} failed, nothing was changed: ${
        (e as Error).message
      }`,
    );
  }
  return { now: current, migrated };
}
