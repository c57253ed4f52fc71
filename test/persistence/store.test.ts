/**
 * The database file: created with a versioned schema; an older schema is migrated (or, when a
 * migration fails, left as it was); a file that is not SQLite, another program's database, a
 * damaged one, one from a newer TCP Lab or one another server holds stops the start with a
 * message naming the file. Never an empty lab in place of a class's.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.ts';
import {
  APPLICATION,
  DB_FILE,
  MIGRATIONS,
  openStore,
  PersistenceError,
} from '../../server/persistence/store.ts';
import { FakeClock, tempDir } from './helpers.ts';

const KEY = 'store-test-key';
const children: Array<ReturnType<typeof spawn>> = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

/** buildApp on `dir`: resolves with the app, or rejects with what the start said. */
const start = (dir: string) =>
  buildApp({ logger: false, instructorKey: KEY, webRoot: null, dataDir: dir, timers: new FakeClock() });

/** A data folder with a lab in it: two classes, rooms with inputs. */
async function filled(): Promise<string> {
  const dir = tempDir();
  const app = await start(dir);
  for (const name of ['A', 'B']) {
    const k = app.lab.createClass(name);
    for (let i = 0; i < 5; i++) {
      const room = app.lab.createRoom(k);
      room.input({ kind: 'call', host: 'A', call: { op: 'socket' } });
      room.input({ kind: 'link', settings: { loss: 0.1 } });
    }
    app.lab.joinClass(k.code, 'Ann');
  }
  await app.close();
  return dir;
}

async function refusal(dir: string): Promise<string> {
  try {
    const app = await start(dir);
    await app.close();
  } catch (e) {
    expect(e).toBeInstanceOf(PersistenceError);
    const msg = (e as Error).message;
    expect(msg).toContain(join(dir, DB_FILE));
    return msg;
  }
  throw new Error('the server started');
}

describe('a new data folder', () => {
  it('gets a TCP Lab database at the latest schema version, in WAL mode', async () => {
    const dir = await filled();
    const db = new Database(join(dir, DB_FILE), { readonly: true });
    expect(db.prepare("SELECT value FROM meta WHERE key = 'application'").get()).toEqual({
      value: APPLICATION,
    });
    expect(db.prepare('SELECT MAX(version) AS v FROM schema_version').get()).toEqual({
      v: MIGRATIONS.at(-1)!.version,
    });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.prepare('SELECT COUNT(*) AS n FROM rooms').get()).toEqual({ n: 10 });
    expect(db.prepare('SELECT COUNT(*) AS n FROM inputs').get()).toEqual({ n: 20 });
    db.close();
    // It holds resume tokens: readable by its owner only.
    expect(statSync(join(dir, DB_FILE)).mode & 0o077).toBe(0);
  });
});

describe('schema versions', () => {
  const latest = MIGRATIONS.at(-1)!.version;
  const next = {
    version: latest + 1,
    description: 'a note per class',
    sql: 'ALTER TABLE classes ADD COLUMN note TEXT',
  };

  it('migrates an older database and keeps its data', async () => {
    const dir = await filled();
    const store = openStore(dir, [...MIGRATIONS, next]);
    expect(store.migrated).toEqual([latest + 1]);
    expect(store.version).toBe(latest + 1);
    expect(store.db.prepare('SELECT COUNT(*) AS n FROM classes').get()).toEqual({ n: 2 });
    expect(store.db.prepare('SELECT note FROM classes LIMIT 1').get()).toEqual({ note: null });
    store.db.close();
    // The server that knows only the versions before now refuses it, naming both versions.
    expect(await refusal(dir)).toContain(
      `was written by a newer TCP Lab (schema version ${latest + 1}; this server knows versions up to ${latest})`,
    );
  });

  it('a version 1 database (before exercise progress) is brought to the latest version', async () => {
    // What the first released server wrote: a lab in schema version 1.
    const dir = tempDir();
    const v1 = openStore(dir, MIGRATIONS.slice(0, 1));
    expect(v1.version).toBe(1);
    v1.db.prepare('INSERT INTO classes (code, name, created_at) VALUES (?, ?, 0)').run('OLD1', 'Old class');
    v1.db.close();
    const app = await start(dir);
    expect(app.persistence!.schemaVersion).toBe(latest);
    expect(app.lab.classes.get('OLD1')?.name).toBe('Old class');
    app.lab
      .createRoom(app.lab.classes.get('OLD1')!)
      .input({ kind: 'call', host: 'A', call: { op: 'socket' } });
    await app.close();
    const reopened = await start(dir);
    expect(reopened.lab.rooms.size).toBe(1);
    await reopened.close();
    const db = new Database(join(dir, DB_FILE), { readonly: true });
    expect(db.prepare('SELECT version FROM schema_version ORDER BY version').all()).toEqual(
      MIGRATIONS.map((m) => ({ version: m.version })),
    );
    expect(db.prepare('SELECT COUNT(*) AS n FROM exercise_rooms').get()).toEqual({ n: 0 });
    db.close();
  });

  it('a failed migration changes nothing and says so', async () => {
    const dir = await filled();
    const bad = { version: latest + 1, description: 'broken', sql: 'ALTER TABLE nowhere ADD COLUMN x' };
    let message = '';
    try {
      openStore(dir, [...MIGRATIONS, bad]);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain(
      `bringing the schema from version ${latest} to ${latest + 1} failed, nothing was changed: no such table: nowhere`,
    );
    const app = await start(dir);
    expect(app.persistence!.schemaVersion).toBe(latest);
    expect(app.lab.rooms.size).toBe(10);
    await app.close();
  });

  it('a failed migration from version 1 leaves version 1', async () => {
    const dir = tempDir();
    openStore(dir, MIGRATIONS.slice(0, 1)).db.close();
    const db = new Database(join(dir, DB_FILE));
    // A table in the way of version 2's.
    db.exec('CREATE TABLE exercise_rooms (x)');
    db.close();
    expect(await refusal(dir)).toContain(
      'bringing the schema from version 1 to 2 failed, nothing was changed: table exercise_rooms already exists',
    );
    const after = new Database(join(dir, DB_FILE), { readonly: true });
    expect(after.prepare('SELECT MAX(version) AS v FROM schema_version').get()).toEqual({ v: 1 });
    expect(
      after.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'exercise_classes'").get(),
    ).toEqual({
      n: 0,
    });
    after.close();
  });
});

describe('files the server will not use', () => {
  it('a file that is not SQLite', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, DB_FILE), 'name,room\nAnn,1\n');
    expect(await refusal(dir)).toMatch(
      /is not a TCP Lab database: it is not even an SQLite file \(it starts with "name,room.Ann,1."\)\. Move it away, or set TCPLAB_DATA to another folder\./,
    );
  });

  it("another program's SQLite database", async () => {
    const dir = tempDir();
    const db = new Database(join(dir, DB_FILE));
    db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT); CREATE TABLE orders (id INTEGER)');
    db.close();
    expect(await refusal(dir)).toMatch(
      /is an SQLite database, but not TCP Lab's \(its tables: orders, users\)/,
    );
    // …and it is left as it was.
    const again = new Database(join(dir, DB_FILE));
    expect(again.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all()).toEqual([
      { name: 'orders' },
      { name: 'users' },
    ]);
    again.close();
  });

  it('a damaged database (pages overwritten)', async () => {
    const dir = await filled();
    const file = join(dir, DB_FILE);
    const size = statSync(file).size;
    const fd = openSync(file, 'r+');
    // Keep the header page; garble every page after it.
    writeSync(fd, Buffer.alloc(size - 4096, 0xa5), 0, size - 4096, 4096);
    closeSync(fd);
    expect(await refusal(dir)).toMatch(/is damaged \(SQLite: .*malformed.*\)\. Restore it from a backup\./);
  });

  it('a damaged header', async () => {
    const dir = await filled();
    const file = join(dir, DB_FILE);
    const bytes = readFileSync(file);
    bytes.fill(0xff, 16, 100);
    writeFileSync(file, bytes);
    expect(await refusal(dir)).toMatch(/is damaged|not a database/);
  });

  it('a database from a newer TCP Lab', async () => {
    const dir = await filled();
    const db = new Database(join(dir, DB_FILE));
    db.prepare('INSERT INTO schema_version (version, description, applied_at) VALUES (7, ?, 0)').run(
      'future',
    );
    db.close();
    expect(await refusal(dir)).toMatch(
      new RegExp(
        `written by a newer TCP Lab \\(schema version 7; this server knows versions up to ${MIGRATIONS.at(-1)!.version}\\)\\. Run the newer server`,
      ),
    );
  });

  it('a database another server is using', async () => {
    const dir = await filled();
    const first = await start(dir);
    try {
      expect(await refusal(dir)).toMatch(
        /is in use by another process \(another TCP Lab server on the same TCPLAB_DATA\?\)/,
      );
    } finally {
      await first.close();
    }
    // Once it has stopped, the folder opens again, with everything in it.
    const second = await start(dir);
    expect(second.lab.rooms.size).toBe(10);
    await second.close();
  });

  it('npm start prints the reason and exits with 1', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, DB_FILE), 'not a database at all, just text');
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', TCPLAB_DATA: dir, TCPLAB_INSTRUCTOR_KEY: KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`still running: ${err}`)), 20_000);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(code).toBe(1);
    expect(err).toBe(
      `TCP Lab cannot start: ${join(dir, DB_FILE)} is not a TCP Lab database: it is not even an SQLite file (it starts with "not a database a"). Move it away, or set TCPLAB_DATA to another folder.\n`,
    );
  }, 30_000);
});
