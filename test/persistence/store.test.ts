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
  const v2 = { version: 2, description: 'a note per class', sql: 'ALTER TABLE classes ADD COLUMN note TEXT' };

  it('migrates an older database and keeps its data', async () => {
    const dir = await filled();
    const store = openStore(dir, [...MIGRATIONS, v2]);
    expect(store.migrated).toEqual([2]);
    expect(store.version).toBe(2);
    expect(store.db.prepare('SELECT COUNT(*) AS n FROM classes').get()).toEqual({ n: 2 });
    expect(store.db.prepare('SELECT note FROM classes LIMIT 1').get()).toEqual({ note: null });
    store.db.close();
    // The server that knows only version 1 now refuses it, naming both versions.
    expect(await refusal(dir)).toMatch(
      /was written by a newer TCP Lab \(schema version 2; this server knows versions up to 1\)/,
    );
  });

  it('a failed migration changes nothing and says so', async () => {
    const dir = await filled();
    const bad = { version: 2, description: 'broken', sql: 'ALTER TABLE nowhere ADD COLUMN x' };
    let message = '';
    try {
      openStore(dir, [...MIGRATIONS, bad]);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(
      /bringing the schema from version 1 to 2 failed, nothing was changed: no such table: nowhere/,
    );
    const app = await start(dir);
    expect(app.persistence!.schemaVersion).toBe(1);
    expect(app.lab.rooms.size).toBe(10);
    await app.close();
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
      /written by a newer TCP Lab \(schema version 7; this server knows versions up to 1\)\. Run the newer server/,
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
