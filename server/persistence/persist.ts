/**
 * Keeps the lab in the SQLite store and puts it back after a restart (docs/persistence.md).
 *
 * Writing, at two speeds:
 *
 * - What people are told: classes, sessions and their tokens, seats, rooms, every input, clock
 *   changes, and each room's position (virtual time and events run). The lab's hooks mark what
 *   changed; everything marked in one turn of the event loop is written in one transaction on
 *   `process.nextTick`. A connection's writes leave in the event loop's check phase (connection.ts
 *   corks its socket until a `setImmediate`), after every tick queue of the turn, so what a client
 *   is told (an `ok`, a seat, an event) is committed before the bytes that tell it leave the
 *   server. A turn in which a room's clock only ran events writes one small row: its position.
 * - The history itself (each room's new entries as one chunk) and the positions of clocks that
 *   moved without events, once a second: the history is rebuilt by replay to the position, the
 *   stored copy is what newcomers get up to a checkpoint, and what the replay after it is checked
 *   against.
 * - Room checkpoints (`Room.checkpoint`): a room that moved on gets one once it is quiet, or every
 *   few seconds while busy, within a small budget of work per look.
 *
 * Restoring: classes, rooms and sessions (with their tokens, offline, in their rooms and seats),
 * then the server serves while each room is rebuilt, in the background or when first needed
 * (`Room.defer`): from its checkpoint and the inputs after it, or by replaying every input
 * (`Room.replay`, deterministic), and checked against its stored history byte for byte; a
 * running clock starts again from where it was.
 */

import { dirname } from 'node:path';
import { performance as nodePerformance } from 'node:perf_hooks';
import type { ClockPolicy, Role, Seat } from '../../shared/protocol/messages.ts';
import type { ExerciseState, ExerciseStore } from '../exercises/store.ts';
import type { Lab, LabClass, LabHooks } from '../lab/lab.ts';
import {
  CHECKPOINT_ENGINE,
  type HistoryEntry,
  type Room,
  type RoomCheckpoint,
  type RoomInput,
  type RoomSetup,
} from '../lab/room.ts';
import type { Session } from '../lab/session.ts';
import { type ProgressRows, ProgressTables, progressRows } from './progress.ts';
import {
  type Db,
  describeSqliteError,
  MIGRATIONS,
  type Migration,
  type OpenedStore,
  openStore,
  PersistenceError,
} from './store.ts';

export interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** What a room row has stored, as of the last write. */
interface Written {
  epoch: number;
  inputs: number;
  events: number;
  at: number;
  seq: number;
}

export interface RestoreReport {
  classes: number;
  rooms: number;
  sessions: number;
  inputs: number;
  events: number;
  /** Rooms rebuilt from their checkpoint (the others replayed every input). */
  fromCheckpoints: number;
  /** Inputs replayed (after checkpoints, or all of a room's). */
  replayed: number;
  /** Wall time of the restore until the server can serve (ms); rooms are rebuilt after it. */
  ms: number;
  /** From the restore's start until every room was rebuilt (ms; undefined until then). */
  rebuiltMs: number | undefined;
  /** When the restore started (performance.now()). */
  startedAt: number;
  /** Rooms whose rebuilt history differs from the stored one (from entry `n`). */
  mismatched: Array<{ room: number; n: number }>;
  /** Rooms whose replay failed: kept, marked broken until someone resets them. */
  broken: Array<{ room: number; error: string }>;
  /** Rows that could not be put back (a room beyond a lowered limit, a missing class). */
  skipped: string[];
}

export interface PersistenceStats {
  file: string;
  schemaVersion: number;
  transactions: number;
  /** Time spent writing, in total and in the longest transaction (ms). */
  writeMs: number;
  maxWriteMs: number;
  rows: number;
  bytes: number;
  errors: number;
  lastError: string | null;
  /** Room checkpoints written, their bytes, and the time taken to make them (ms). */
  checkpoints: { written: number; bytes: number; ms: number; maxMs: number };
  restored: RestoreReport | null;
}

/** How often history chunks and clock-only positions are written (ms). */
export const HISTORY_EVERY_MS = 1000;
/** How often the store looks for rooms that need a checkpoint (ms). */
export const CHECKPOINT_EVERY_MS = 250;
/**
 * Most time spent making checkpoints at each look (ms): at most a fifth of the server's time, and
 * only while rooms have moved on; rooms wait their turn.
 */
export const CHECKPOINT_BUDGET_MS = 50;
/** A room busy all along gets a checkpoint this often (ms); a quiet one as soon as it is quiet. */
export const CHECKPOINT_BUSY_MS = 5000;
/**
 * While the server's event loop was busier than this since the last look (the share of the time
 * it ran), quiet rooms wait too, until it calms down or for `CHECKPOINT_BUSY_MS`: a server catching
 * up (a class coming back after a restart, a burst) is not slowed by checkpoints that can wait.
 */
export const CHECKPOINT_BUSY_LOOP = 0.8;
/** How long the background rebuild of restored rooms runs before it lets other work in (ms). */
export const REBUILD_SLICE_MS = 5;

type Row = Record<string, unknown>;
/** Where a room stands: virtual time and events run. */
type Position = { at: number; seq: number };

/** A room's state as people see it, as JSON columns, taken when it changes. */
interface RoomState {
  clock: string;
  seats: string;
  members: string;
}

export class Persistence {
  readonly file: string;
  readonly db: Db;
  readonly schemaVersion: number;
  private readonly log: Logger;
  private readonly written = new WeakMap<Room, Written>();
  /**
   * Each room's state as of its last change. Taken when it changes, not when it is written: a
   * server closing stops every room's pacer before the last write, and must not store that.
   */
  private readonly states = new WeakMap<Room, RoomState>();
  /** Rooms to write this turn: true for their whole state, false for their position only. */
  private readonly rooms = new Map<Room, boolean>();
  /** Rooms with history entries not stored yet. */
  private readonly histories = new Set<Room>();
  /** Where each room's stored checkpoint stands. */
  private readonly checkpointed = new WeakMap<
    Room,
    { epoch: number; inputs: number; seq: number; at: number }
  >();
  /** Where each room was at the last look for checkpoints, and since when (performance.now()). */
  private readonly moves = new WeakMap<Room, { epoch: number; inputs: number; seq: number; since: number }>();
  private checkpointTimer: ReturnType<typeof setInterval> | undefined;
  /** Restored rooms not rebuilt yet (`Room.defer`). */
  private readonly pending = new Set<Room>();
  private readonly checkpointCounters = { written: 0, bytes: 0, ms: 0, maxMs: 0 };
  private readonly classes: LabClass[] = [];
  private readonly sessions = new Set<Session>();
  private readonly goneSessions = new Set<string>();
  private scheduled = false;
  private restoring = false;
  private closed = false;
  private lab: Lab | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private report: RestoreReport | null = null;
  private readonly counters = { transactions: 0, writeMs: 0, maxWriteMs: 0, rows: 0, bytes: 0, errors: 0 };
  private lastError: string | null = null;
  /** Exercise progress to write this turn (the service's whole state), and the rows as last written. */
  private progressPending: ExerciseState | undefined;
  private progressWritten: ProgressRows = new Map();
  private readonly progress: ProgressTables;
  private readonly stmt;
  /** Runs its argument inside BEGIN … COMMIT (ROLLBACK when it throws). */
  private readonly inTransaction: <T>(fn: () => T) => T;

  /** Opens `dataDir/tcplab.db` (see store.ts for what it refuses). */
  static open(dataDir: string, log: Logger, migrations: readonly Migration[] = MIGRATIONS): Persistence {
    return new Persistence(openStore(dataDir, migrations), log);
  }

  constructor(opened: OpenedStore, log: Logger) {
    this.file = opened.file;
    this.db = opened.db;
    this.schemaVersion = opened.version;
    this.log = log;
    const db = this.db;
    this.inTransaction = db.transaction(<T>(fn: () => T): T => fn()) as <T>(fn: () => T) => T;
    this.progress = new ProgressTables(db, this.file);
    this.stmt = {
      klass: db.prepare('INSERT OR REPLACE INTO classes (code, name, created_at) VALUES (?, ?, ?)'),
      room: db.prepare(
        `INSERT OR REPLACE INTO rooms (id, class_code, name, setup, created_at, epoch, at, seq, clock, seats, members)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      position: db.prepare('UPDATE rooms SET at = ?, seq = ? WHERE id = ?'),
      roomState: db.prepare(
        'UPDATE rooms SET name = ?, setup = ?, epoch = ?, at = ?, seq = ?, clock = ?, seats = ?, members = ? WHERE id = ?',
      ),
      input: db.prepare('INSERT INTO inputs (room_id, epoch, idx, body) VALUES (?, ?, ?, ?)'),
      events: db.prepare('INSERT INTO events (room_id, epoch, first_n, count, data) VALUES (?, ?, ?, ?, ?)'),
      session: db.prepare(
        `INSERT OR REPLACE INTO sessions (id, token, name, role, class_code, rooms, watching, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, COALESCE((SELECT created_at FROM sessions WHERE id = ?), ?))`,
      ),
      dropSession: db.prepare('DELETE FROM sessions WHERE id = ?'),
      dropEpochEvents: db.prepare('DELETE FROM events WHERE room_id = ? AND epoch = ?'),
      checkpoint: db.prepare(
        `INSERT OR REPLACE INTO checkpoints (room_id, epoch, inputs, history, at, seq, engine, state)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
    };
  }

  /** The lab hooks that feed this store. */
  hooks(): LabHooks {
    const whole = (r: Room) => this.touch(r, true);
    const part = (r: Room) => this.touch(r, false);
    return {
      onClass: (k) => {
        if (this.restoring) return;
        this.classes.push(k);
        this.soon();
      },
      onRoom: whole,
      // An input's row carries its position: the room row changes only with its state.
      onInput: part,
      onReset: whole,
      onEntry: (r) => {
        if (this.restoring || this.closed) return;
        this.histories.add(r);
        part(r);
      },
      onChange: (r) => {
        if (this.restoring || this.closed) return;
        // Most changes are not stored ones (a seat holder going on- or offline, a link's
        // settings, which are inputs): only a new clock, seats or members rewrite the room's row.
        const state = roomState(r);
        const last = this.states.get(r);
        if (
          last &&
          last.clock === state.clock &&
          last.seats === state.seats &&
          last.members === state.members
        )
          return;
        this.states.set(r, state);
        this.touch(r, true);
      },
      onSession: (s) => {
        if (this.restoring) return;
        this.sessions.add(s);
        this.soon();
      },
      onSessionGone: (s) => {
        this.sessions.delete(s);
        this.goneSessions.add(s.id);
        this.soon();
      },
    };
  }

  /**
   * Where the exercises service keeps its progress: in this database, written with the lab in
   * the transaction of the turn it changed in. `load` imports `exercise-progress.json` once (an
   * earlier version's file) and throws a PersistenceError (the file closed) if it cannot.
   */
  exerciseStore(): ExerciseStore {
    return {
      load: () => {
        try {
          const done = this.progress.importLegacy(dirname(this.file));
          if (done) this.log.warn({ file: this.file }, `persistence: ${done}`);
          const { state, rows } = this.progress.read();
          this.progressWritten = rows;
          return state;
        } catch (e) {
          this.abort();
          if (e instanceof PersistenceError) throw e;
          throw new PersistenceError(this.file, describeSqliteError(this.file, e));
        }
      },
      save: (state) => {
        if (this.closed) return;
        this.progressPending = state;
        this.soon();
      },
    };
  }

  /** Marks a room to write in this turn's transaction (`whole`: its state, not just its position). */
  touch(room: Room, whole = true): void {
    if (this.restoring || this.closed) return;
    if (whole || !this.rooms.has(room)) this.rooms.set(room, whole || (this.rooms.get(room) ?? false));
    this.soon();
  }

  private soon(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    process.nextTick(this.flush);
  }

  /** Writes everything marked now (HTTP routes call it before they answer). */
  flushNow(): void {
    this.flush();
  }

  /** Runs `fn` in one transaction and counts it; false (logged, counted) when it failed. */
  private transaction(what: string, fn: () => { rows: number; bytes: number }): boolean {
    const t0 = performance.now();
    let done: { rows: number; bytes: number };
    try {
      done = this.inTransaction(fn);
    } catch (e) {
      this.counters.errors++;
      this.lastError = describeSqliteError(this.file, e);
      this.log.error({ err: e, file: this.file }, `persistence: writing ${what} failed; retrying`);
      return false;
    }
    const ms = performance.now() - t0;
    const c = this.counters;
    c.transactions++;
    c.writeMs += ms;
    c.maxWriteMs = Math.max(c.maxWriteMs, ms);
    c.rows += done.rows;
    c.bytes += done.bytes;
    return true;
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    if (this.closed) return;
    const progress = this.progressPending;
    if (
      this.rooms.size + this.classes.length + this.sessions.size + this.goneSessions.size === 0 &&
      progress === undefined
    )
      return;
    const done: Array<[Room, Written]> = [];
    let progressNow: ProgressRows | undefined;
    const ok = this.transaction('the lab', () => {
      let rows = 0;
      let bytes = 0;
      for (const k of this.classes) {
        this.stmt.klass.run(k.code, k.name, Date.now());
        rows++;
      }
      for (const s of this.sessions) {
        const rooms = JSON.stringify([...s.rooms].map((r) => r.id));
        const watching = JSON.stringify([...s.watching]);
        const now = Date.now();
        this.stmt.session.run(
          s.id,
          s.token,
          s.name,
          s.role,
          s.klass?.code ?? null,
          rooms,
          watching,
          s.id,
          now,
        );
        rows++;
      }
      for (const id of this.goneSessions) {
        this.stmt.dropSession.run(id);
        rows++;
      }
      for (const [room, whole] of this.rooms) {
        const r = this.writeRoom(room, whole);
        done.push([room, r.written]);
        rows += r.rows;
        bytes += r.bytes;
      }
      if (progress) {
        progressNow = progressRows(progress);
        rows += this.progress.write(progressNow, this.progressWritten);
      }
      return { rows, bytes };
    });
    if (!ok) return;
    for (const [room, w] of done) this.written.set(room, w);
    if (progressNow) this.progressWritten = progressNow;
    if (this.progressPending === progress) this.progressPending = undefined;
    this.classes.length = 0;
    this.sessions.clear();
    this.goneSessions.clear();
    this.rooms.clear();
  };

  private writeRoom(room: Room, whole: boolean): { written: Written; rows: number; bytes: number } {
    const pos = room.position();
    let rows = 0;
    let bytes = 0;
    let w = this.written.get(room);
    let state = this.states.get(room);
    if (!state) {
      state = roomState(room);
      this.states.set(room, state);
    }
    if (!w) {
      this.stmt.room.run(
        room.id,
        room.classCode,
        room.name,
        JSON.stringify(room.setup),
        Date.now(),
        room.epoch,
        pos.at,
        pos.seq,
        state.clock,
        state.seats,
        state.members,
      );
      rows++;
      w = { epoch: room.epoch, inputs: 0, events: 0, at: pos.at, seq: pos.seq };
    } else w = { ...w };
    if (w.epoch !== room.epoch) {
      // A reset: the new epoch starts empty (the old one's rows go at the next start).
      w = { ...w, epoch: room.epoch, inputs: 0, events: 0 };
      whole = true;
    }
    const inputs = room.inputsFrom(w.inputs);
    const added = inputs.length;
    for (let k = 0; k < inputs.length; k++) {
      const body = JSON.stringify(inputs[k]);
      this.stmt.input.run(room.id, room.epoch, w.inputs + k, body);
      rows++;
      bytes += body.length;
    }
    if (whole) {
      // The setup too: an exercise changes the endpoints' settings, then resets the room.
      this.stmt.roomState.run(
        room.name,
        JSON.stringify(room.setup),
        room.epoch,
        pos.at,
        pos.seq,
        state.clock,
        state.seats,
        state.members,
        room.id,
      );
      rows++;
    } else if (added === 0 || pos.seq !== inputs.at(-1)!.seq || pos.at !== inputs.at(-1)!.at) {
      // Events ran (a clock tick, or an input followed by events): the position moves.
      this.stmt.position.run(pos.at, pos.seq, room.id);
      rows++;
    }
    return { written: { ...w, inputs: w.inputs + added, at: pos.at, seq: pos.seq }, rows, bytes };
  }

  /** Once a second: new history chunks, and the positions of clocks that moved without events. */
  private writeHistories(): void {
    if (!this.lab || this.closed) return;
    const chunks: Array<[Room, Written, number]> = [];
    for (const room of this.histories) {
      const w = this.written.get(room);
      // A room not written yet, or reset since, gets its history on a later round.
      if (w && w.epoch === room.epoch && room.history.length > w.events)
        chunks.push([room, w, room.history.length]);
    }
    const moved: Array<[Room, Written, { at: number; seq: number }]> = [];
    for (const room of this.lab.rooms.values()) {
      const w = this.written.get(room);
      if (!w || w.epoch !== room.epoch) continue;
      const pos = room.position();
      if (pos.at !== w.at || pos.seq !== w.seq) moved.push([room, w, pos]);
    }
    if (chunks.length + moved.length === 0) return;
    const ok = this.transaction('history', () => {
      let rows = 0;
      let bytes = 0;
      for (const [room, w, end] of chunks) {
        const data = encodeEntries(room.history, w.events, end);
        this.stmt.events.run(room.id, room.epoch, w.events, end - w.events, data);
        rows++;
        bytes += data.length;
      }
      for (const [room, , pos] of moved) {
        this.stmt.position.run(pos.at, pos.seq, room.id);
        rows++;
      }
      return { rows, bytes };
    });
    if (!ok) return;
    for (const [room, w, end] of chunks) {
      w.events = end;
      if (room.history.length === end) this.histories.delete(room);
    }
    for (const [, w, pos] of moved) {
      w.at = pos.at;
      w.seq = pos.seq;
    }
  }

  // ── restart ─────────────────────────────────────────────────────────────────────────────────

  /** Puts the stored lab back into `lab` (empty, just built). Throws PersistenceError on a bad file. */
  restore(lab: Lab): RestoreReport {
    const t0 = performance.now();
    const report: RestoreReport = {
      classes: 0,
      rooms: 0,
      sessions: 0,
      inputs: 0,
      events: 0,
      fromCheckpoints: 0,
      replayed: 0,
      ms: 0,
      rebuiltMs: undefined,
      startedAt: t0,
      mismatched: [],
      broken: [],
      skipped: [],
    };
    this.report = report;
    this.restoring = true;
    try {
      this.restoreAll(lab, report);
    } catch (e) {
      if (e instanceof PersistenceError) throw e;
      const code = (e as { code?: unknown }).code;
      if (typeof code === 'string' && code.startsWith('SQLITE_'))
        throw new PersistenceError(this.file, describeSqliteError(this.file, e));
      throw new PersistenceError(
        this.file,
        `${this.file}: could not read the stored lab back (${(e as Error).message}). Restore the file from a backup, or move it away to start empty.`,
      );
    } finally {
      this.restoring = false;
    }
    report.ms = performance.now() - t0;
    if (this.pending.size === 0) report.rebuiltMs = report.ms;
    this.start(lab);
    return report;
  }

  private restoreAll(lab: Lab, report: RestoreReport): void {
    const db = this.db;
    for (const row of db.prepare('SELECT code, name FROM classes ORDER BY rowid').all() as Row[]) {
      lab.restoreClass(String(row.code), String(row.name));
      report.classes++;
    }
    // Inputs and history chunks are append-only: one pass over each, grouped by room.
    const epochs = new Map<number, number>(
      (db.prepare('SELECT id, epoch FROM rooms').all() as Row[]).map((r) => [Number(r.id), Number(r.epoch)]),
    );
    const group = (rows: Row[]) => {
      const out = new Map<number, Row[]>();
      for (const r of rows) {
        const id = Number(r.room_id);
        if (Number(r.epoch) !== epochs.get(id)) continue;
        let list = out.get(id);
        if (!list) out.set(id, (list = []));
        list.push(r);
      }
      return out;
    };
    const inputRows = group(
      db.prepare('SELECT room_id, epoch, idx, body FROM inputs ORDER BY id').all() as Row[],
    );
    const eventRows = group(
      db.prepare('SELECT room_id, epoch, first_n, count, data FROM events ORDER BY id').all() as Row[],
    );
    const checkpoints = new Map<number, RoomCheckpoint & { epoch: number; engine: string }>();
    for (const r of db
      .prepare('SELECT room_id, epoch, inputs, history, at, seq, engine, state FROM checkpoints')
      .all() as Row[]) {
      checkpoints.set(Number(r.room_id), {
        epoch: Number(r.epoch),
        inputs: Number(r.inputs),
        history: Number(r.history),
        at: Number(r.at),
        seq: Number(r.seq),
        engine: String(r.engine),
        state: r.state as Buffer,
      });
    }
    const placed: Array<{ room: Room; seats: Record<Seat, string | null>; members: string[] }> = [];
    for (const row of db.prepare('SELECT * FROM rooms ORDER BY id').all() as Row[]) {
      const id = Number(row.id);
      const klass = lab.classes.get(String(row.class_code));
      if (!klass) {
        report.skipped.push(`room ${id}: its class ${String(row.class_code)} is not stored`);
        continue;
      }
      const setup = JSON.parse(String(row.setup)) as RoomSetup;
      const clock = JSON.parse(String(row.clock)) as {
        running?: boolean;
        speed?: number;
        policy?: ClockPolicy;
      };
      let room: Room;
      try {
        room = lab.createRoom(klass, String(row.name), {
          id,
          ...setup,
          ...(clock.speed === undefined ? {} : { speed: clock.speed }),
          ...(clock.policy === undefined ? {} : { policy: clock.policy }),
          running: false,
        });
      } catch (e) {
        report.skipped.push(`room ${id}: ${(e as Error).message}`);
        continue;
      }
      const epoch = Number(row.epoch);
      room.epoch = epoch;
      const rows = inputRows.get(id) ?? [];
      rows.forEach((r, i) => {
        if (Number(r.idx) !== i) throw new Error(`room ${id}: stored input ${i} is missing`);
      });
      report.inputs += rows.length;
      this.states.set(room, {
        clock: String(row.clock),
        seats: String(row.seats),
        members: String(row.members),
      });
      placed.push({
        room,
        seats: JSON.parse(String(row.seats)) as Record<Seat, string | null>,
        members: JSON.parse(String(row.members)) as string[],
      });
      report.rooms++;
      // The room itself is rebuilt when first needed, or in the background (see `rebuildRooms`).
      const events = eventRows.get(id) ?? [];
      const cp = checkpoints.get(id);
      room.defer(() => {
        const was = this.restoring;
        this.restoring = true;
        try {
          this.rebuild(room, {
            epoch,
            rows,
            events,
            cp,
            position: { at: Number(row.at), seq: Number(row.seq) },
          });
        } catch (e) {
          // Stored rows that cannot be read back: the room is kept, broken until someone resets it.
          this.markBroken(room, e, 'persistence: rebuilding failed, room marked broken');
        } finally {
          this.restoring = was;
        }
        if (clock.running) {
          try {
            room.resume();
          } catch {
            // A full or broken room stays paused; its info says why.
          }
        }
        this.pending.delete(room);
        if (this.pending.size === 0) report.rebuiltMs = performance.now() - report.startedAt;
      });
      this.pending.add(room);
    }

    const sessions = new Map<string, Session>();
    for (const row of db.prepare('SELECT * FROM sessions ORDER BY created_at, id').all() as Row[]) {
      const code = row.class_code === null ? null : String(row.class_code);
      const klass = code === null ? null : (lab.classes.get(code) ?? null);
      if (code !== null && klass === null) {
        report.skipped.push(`session ${String(row.id)}: its class ${code} is not stored`);
        continue;
      }
      const s = lab.restoreSession(
        String(row.id),
        String(row.token),
        String(row.name),
        String(row.role) as Role,
        klass,
      );
      for (const roomId of JSON.parse(String(row.rooms)) as number[]) {
        const r = lab.rooms.get(roomId);
        if (r) s.rooms.add(r);
      }
      for (const [c, w] of JSON.parse(String(row.watching)) as Array<[string, { rooms: boolean }]>)
        s.watching.set(c, w);
      sessions.set(s.id, s);
      report.sessions++;
    }
    for (const { room, seats, members } of placed) {
      for (const id of members) {
        const s = sessions.get(id);
        if (s && s.role === 'student' && s.room === null) {
          s.room = room;
          room.members.add(s);
        }
      }
      for (const seat of ['A', 'B'] as const) {
        const id = seats[seat];
        const s = id === null || id === undefined ? undefined : sessions.get(id);
        if (s) room.seats[seat] = s;
      }
    }
    // The rows of epochs before a reset are not needed any more.
    for (const table of ['inputs', 'events', 'checkpoints'])
      db.prepare(
        `DELETE FROM ${table} WHERE epoch <> (SELECT epoch FROM rooms WHERE rooms.id = ${table}.room_id)`,
      ).run();
  }

  /**
   * Checkpoints (`Room.checkpoint`) of the rooms that moved on since theirs: first those that
   * have been quiet since the last look (people reading, thinking; not while the server is busy:
   * `which` is 'overdue'), then those busy for `CHECKPOINT_BUSY_MS` without one, for at most
   * `budgetMs` of making them; the rest wait for the next look. With 'all', every room that moved
   * on. A checkpoint stands on the inputs and history before it: the room's history not stored yet
   * is written with it, in the same transaction.
   */
  private writeCheckpoints(budgetMs: number, which: 'due' | 'overdue' | 'all'): void {
    if (!this.lab || this.closed) return;
    const now = performance.now();
    const due: Room[] = [];
    const busy: Room[] = [];
    for (const room of this.lab.rooms.values()) {
      // A room a restart has not rebuilt yet has not moved since its stored state.
      if (room.rebuildPending) continue;
      const pos = room.position();
      const c = this.checkpointed.get(room);
      let seen = this.moves.get(room);
      const moved =
        !seen || seen.epoch !== room.epoch || seen.inputs !== room.inputCount || seen.seq !== pos.seq;
      if (moved) {
        seen = { epoch: room.epoch, inputs: room.inputCount, seq: pos.seq, since: now };
        this.moves.set(room, seen);
      }
      if (c && c.epoch === room.epoch && c.inputs === room.inputCount && c.seq === pos.seq) continue;
      if (room.broken) continue;
      if (which === 'all' || (which === 'due' && !moved)) due.push(room);
      else if (now - (c?.at ?? seen!.since) >= CHECKPOINT_BUSY_MS) busy.push(room);
    }
    if (due.length + busy.length === 0) return;
    const made: Array<[Room, RoomCheckpoint, Written]> = [];
    let bytes = 0;
    for (const room of [...due, ...busy]) {
      if (performance.now() - now >= budgetMs) break;
      const w = this.written.get(room);
      // Not stored yet (created this turn, or its inputs' write failed): a later look.
      if (!w || w.epoch !== room.epoch || w.inputs !== room.inputCount) continue;
      const t1 = performance.now();
      let cp: RoomCheckpoint;
      try {
        cp = room.checkpoint();
      } catch (e) {
        // Not expected (tests cover every kind of room): the room will replay all its inputs.
        this.log.error({ room: room.id, err: e }, 'persistence: no checkpoint of this room');
        this.checkpointed.set(room, {
          epoch: room.epoch,
          inputs: room.inputCount,
          seq: room.position().seq,
          at: now,
        });
        continue;
      }
      const ms = performance.now() - t1;
      this.checkpointCounters.ms += ms;
      this.checkpointCounters.maxMs = Math.max(this.checkpointCounters.maxMs, ms);
      made.push([room, cp, w]);
      bytes += cp.state.length;
    }
    if (made.length === 0) return;
    const ok = this.transaction('checkpoints', () => {
      let rows = 0;
      for (const [room, cp, w] of made) {
        if (w.events < cp.history) {
          const data = encodeEntries(room.history, w.events, cp.history);
          this.stmt.events.run(room.id, room.epoch, w.events, cp.history - w.events, data);
          bytes += data.length;
          rows++;
        }
        this.stmt.checkpoint.run(
          room.id,
          room.epoch,
          cp.inputs,
          cp.history,
          cp.at,
          cp.seq,
          CHECKPOINT_ENGINE,
          cp.state,
        );
        rows++;
      }
      return { rows, bytes };
    });
    if (!ok) return;
    for (const [room, cp, w] of made) {
      if (w.events < cp.history) w.events = cp.history;
      if (room.history.length === w.events) this.histories.delete(room);
      this.checkpointed.set(room, { epoch: room.epoch, inputs: cp.inputs, seq: cp.seq, at: now });
      this.checkpointCounters.written++;
      this.checkpointCounters.bytes += cp.state.length;
    }
  }

  /**
   * Rebuilds one restored room (run by `Room.defer`): from its checkpoint when it has a usable one
   * (then only the inputs after it replay), else by replaying every input; then checks the
   * rebuilt history against the stored one, byte for byte.
   */
  private rebuild(
    room: Room,
    stored: {
      epoch: number;
      rows: Row[];
      events: Row[];
      cp: (RoomCheckpoint & { epoch: number; engine: string }) | undefined;
      position: Position;
    },
  ): void {
    const report = this.report!;
    const { epoch, events, cp } = stored;
    const id = room.id;
    const rows = stored.rows;
    const parse = (r: Row) => JSON.parse(String(r.body)) as RoomInput;
    const further = (a: Position, b: Position): Position => ({
      at: Math.max(a.at, b.at),
      seq: Math.max(a.seq, b.seq),
    });
    let position = stored.position;
    if (rows.length > 0) position = further(position, parse(rows[rows.length - 1]!));
    // A checkpoint is written with the history up to it, in one transaction: the room got at
    // least that far, even when its position was last written before the checkpoint.
    if (cp && cp.epoch === epoch) position = further(position, cp);
    let rebuilt = false;
    if (cp && cp.epoch === epoch && cp.engine === CHECKPOINT_ENGINE) {
      try {
        if (cp.inputs > rows.length) throw new Error('the checkpoint needs inputs that are not stored');
        // Only the inputs after the checkpoint are read now; those before it when asked for.
        const inputs = {
          before: () => rows.slice(0, cp.inputs).map(parse),
          after: rows.slice(cp.inputs).map(parse),
        };
        room.restoreCheckpoint(cp, storedEntries(events, cp.history), inputs, position);
        rebuilt = true;
        report.fromCheckpoints++;
        report.replayed += rows.length - cp.inputs;
        this.checkpointed.set(room, { epoch, inputs: cp.inputs, seq: cp.seq, at: performance.now() });
      } catch (e) {
        this.log.warn(
          { room: id, err: e },
          'persistence: the room’s checkpoint cannot be used; replaying all its inputs instead',
        );
      }
    }
    if (!rebuilt) {
      report.replayed += rows.length;
      try {
        room.replay(rows.map(parse), position);
      } catch (e) {
        this.markBroken(room, e, 'persistence: replay failed, room marked broken');
      }
    }
    // The rebuilt history must be the stored one, byte for byte.
    const check = checkStored(events, room.history);
    report.events += check.count;
    const n = check.differs;
    let written = check.count;
    if (n !== undefined) {
      report.mismatched.push({ room: id, n });
      this.log.warn(
        { room: id, n, stored: check.count, rebuilt: room.history.length },
        'persistence: the rebuilt history differs from the stored one (a different engine?); keeping the rebuilt one',
      );
      this.stmt.dropEpochEvents.run(id, epoch);
      written = 0;
    }
    const pos = room.position();
    this.written.set(room, { epoch, inputs: rows.length, events: written, at: pos.at, seq: pos.seq });
    // A stored history dropped above, or one the replay took further, is written again.
    if (written !== room.history.length) this.histories.add(room);
  }

  /** A restored room that cannot be rebuilt: kept, broken with the reason until someone resets it. */
  private markBroken(room: Room, e: unknown, msg: string): void {
    const error = (e as Error).message;
    room.broken = `this room could not be rebuilt after a restart (${error}); reset it to go on`;
    this.report!.broken.push({ room: room.id, error });
    this.log.error({ room: room.id, err: e }, msg);
  }

  /**
   * Rebuilds the rooms a restart left to rebuild, a few milliseconds at a time between the
   * server's other work, until none is left (a room someone needs first is rebuilt at once).
   */
  private rebuildRooms = (): void => {
    if (this.closed) return;
    const t0 = performance.now();
    for (const room of this.pending) {
      room.ensure();
      if (performance.now() - t0 >= REBUILD_SLICE_MS) break;
    }
    if (this.pending.size > 0) setImmediate(this.rebuildRooms);
  };

  /** The last restore's report as it stands (rooms may still be rebuilding: see `stats`). */
  restoreReport(): RestoreReport | null {
    return this.report;
  }

  /** Rebuilds every room still waiting for it (a restart's), now. */
  rebuildAll(): void {
    for (const room of this.pending) room.ensure();
  }

  /** Starts the writes of history and clock-only positions; called by `restore`. */
  private start(lab: Lab): void {
    this.lab = lab;
    this.timer = setInterval(() => {
      if (this.counters.errors > 0 || this.progressPending) this.soon();
      this.writeHistories();
    }, HISTORY_EVERY_MS);
    this.timer.unref();
    const utilization = nodePerformance.eventLoopUtilization;
    let loop = utilization();
    this.checkpointTimer = setInterval(() => {
      const was = loop;
      loop = utilization();
      const busy = utilization(loop, was).utilization > CHECKPOINT_BUSY_LOOP;
      this.writeCheckpoints(CHECKPOINT_BUDGET_MS, busy ? 'overdue' : 'due');
    }, CHECKPOINT_EVERY_MS);
    this.checkpointTimer.unref();
    if (this.pending.size > 0) setImmediate(this.rebuildRooms);
  }

  /** The store's figures; the restore's are complete (rooms still waiting are rebuilt first). */
  stats(): PersistenceStats {
    this.rebuildAll();
    return {
      file: this.file,
      schemaVersion: this.schemaVersion,
      ...this.counters,
      lastError: this.lastError,
      checkpoints: { ...this.checkpointCounters },
      restored: this.report,
    };
  }

  /** Closes the file without writing (a start that failed). */
  abort(): void {
    if (this.closed) return;
    if (this.timer) clearInterval(this.timer);
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    this.closed = true;
    this.db.close();
  }

  /** Writes what is left and every room's final position, then closes the file. */
  close(): void {
    if (this.closed) return;
    if (this.timer) clearInterval(this.timer);
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    this.flush();
    this.writeHistories();
    // Every room's checkpoint, so the next start replays nothing.
    this.writeCheckpoints(Number.POSITIVE_INFINITY, 'all');
    this.closed = true;
    this.db.close();
  }
}

function roomState(room: Room): RoomState {
  const c = room.clock();
  return {
    clock: JSON.stringify({ running: c.running, speed: c.speed, policy: c.policy }),
    seats: JSON.stringify({ A: room.seats.A?.id ?? null, B: room.seats.B?.id ?? null }),
    members: JSON.stringify([...room.members].map((m) => m.id)),
  };
}

/** Calls both hooks of each kind, `a`'s first. */
export function mergeHooks(a: LabHooks, b: LabHooks): LabHooks {
  const out: Record<string, unknown> = { ...a };
  for (const [k, f] of Object.entries(b)) {
    const g = (a as Record<string, unknown>)[k];
    out[k] =
      typeof g === 'function'
        ? (...args: unknown[]) => {
            (g as (...x: unknown[]) => void)(...args);
            (f as (...x: unknown[]) => void)(...args);
          }
        : f;
  }
  return out as LabHooks;
}

// ── history chunks ────────────────────────────────────────────────────────────────────────────

/** Entries `from` to `to` as one blob: per entry u8 binary, u32 length (big-endian), the bytes. */
export function encodeEntries(history: readonly HistoryEntry[], from: number, to: number): Buffer {
  let size = 0;
  for (let i = from; i < to; i++) size += 5 + history[i]!.data.length;
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  for (let i = from; i < to; i++) {
    const e = history[i]!;
    out[o] = e.binary ? 1 : 0;
    out.writeUInt32BE(e.data.length, o + 1);
    e.data.copy(out, o + 5);
    o += 5 + e.data.length;
  }
  return out;
}

/**
 * Walks stored history chunks entry by entry, checking that they follow each other and hold the
 * entries they say: `visit(n, binary, blob, start, end)` for each (its bytes are
 * `blob[start, end)`), until it returns false. Returns how many entries it visited.
 */
function eachStored(
  rows: Row[],
  visit: (n: number, binary: boolean, blob: Buffer, start: number, end: number) => boolean,
): number {
  let n = 0;
  for (const row of rows) {
    if (Number(row.first_n) !== n) throw new Error('stored history chunks do not follow each other');
    const blob = row.data as Buffer;
    const first = n;
    let o = 0;
    while (o < blob.length) {
      if (o + 5 > blob.length) throw new Error('a stored history chunk is truncated');
      const len = blob.readUInt32BE(o + 1);
      const end = o + 5 + len;
      if (end > blob.length) throw new Error('a stored history chunk is truncated');
      const more = visit(n, blob[o] === 1, blob, o + 5, end);
      o = end;
      n++;
      if (!more) return n;
    }
    if (n - first !== Number(row.count)) throw new Error('a stored history chunk has the wrong count');
  }
  return n;
}

/** The first `count` stored history entries, as entries (their bytes in place in the chunks). */
function storedEntries(rows: Row[], count: number): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  if (count > 0)
    eachStored(rows, (_, binary, blob, start, end) => {
      out.push({ data: blob.subarray(start, end), binary });
      return out.length < count;
    });
  if (out.length !== count)
    throw new Error(`the checkpoint needs ${count} history entries, ${out.length} are stored`);
  return out;
}

/**
 * Checks stored history chunks against the rebuilt history, byte for byte, in place (no copy of
 * the stored entries): how many entries are stored, and the first that differs from the rebuilt
 * one (or that the rebuilt history lacks), undefined when all are equal. Entries a room rebuilt
 * from its checkpoint took from the stored chunks are views of those very bytes: not compared.
 */
function checkStored(
  rows: Row[],
  rebuilt: readonly HistoryEntry[],
): { count: number; differs: number | undefined } {
  let differs: number | undefined;
  const count = eachStored(rows, (n, binary, blob, start, end) => {
    if (differs === undefined) {
      const e = rebuilt[n];
      const same =
        e !== undefined && e.data.buffer === blob.buffer && e.data.byteOffset === blob.byteOffset + start;
      if (
        !e ||
        e.binary !== binary ||
        e.data.length !== end - start ||
        (!same && e.data.compare(blob, start, end) !== 0)
      )
        differs = n;
    }
    return true;
  });
  return { count, differs };
}
