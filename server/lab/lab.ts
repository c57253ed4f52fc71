/**
 * The registry of classes, rooms, sessions and connections, and every rule about who may be
 * where: joining, seats, leaving, going offline and coming back. No Fastify and no sockets here:
 * connections are `Connection`s, and the gateway turns messages into calls of this class.
 */
import { randomInt, timingSafeEqual } from 'node:crypto';
import type { Limits } from '../../shared/protocol/limits.ts';
import { CLOSE } from '../../shared/protocol/limits.ts';
import { type ClockPolicy, PROTOCOL_VERSION, type Role, type Seat } from '../../shared/protocol/messages.ts';
import type { LinkSettings } from '../../shared/sim/link.ts';
import type { PacerClock } from '../../shared/sim/pacer.ts';
import type { TcpConfig } from '../../shared/tcp/config.ts';
import type { Connection } from './connection.ts';
import { refuse } from './errors.ts';
import { Feed } from './feed.ts';
import { Room, type RoomHooks, type RoomSetup } from './room.ts';
import { Session } from './session.ts';

export interface LabOptions {
  limits: Limits;
  instructorKey: string;
  link: LinkSettings;
  tcp: Partial<TcpConfig>;
  speed: number;
  running: boolean;
  timers: PacerClock<unknown>;
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  hooks: LabHooks;
}

/** What the lab tells persistence (issue 7), besides each room's own hooks. */
export interface LabHooks extends RoomHooks {
  onClass?: (klass: LabClass) => void;
  onRoom?: (room: Room) => void;
  /** A session was created, or an instructor's rooms or watched classes changed. */
  onSession?: (s: Session) => void;
  /** A session expired: its token no longer works. */
  onSessionGone?: (s: Session) => void;
}

/** A room's identity and setup when it is not a fresh one (restored, forked, imported). */
export interface RoomSpec extends Partial<RoomSetup> {
  id?: number;
  speed?: number;
  running?: boolean;
  policy?: ClockPolicy;
}

export class LabClass {
  readonly rooms = new Map<number, Room>();
  readonly sessions = new Set<Session>();
  /** Instructor connections that receive `class.state`. */
  readonly watchers = new Map<Connection, { rooms: boolean }>();
  /** A `class.state` push is scheduled. */
  statePending: ReturnType<typeof setTimeout> | undefined;
  /** When the last one went out (ms, performance.now). */
  stateSentAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly code: string,
    readonly name: string,
  ) {}
}

/** Least time between two `class.state` pushes to one class. */
export const CLASS_STATE_MS = 100;

const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const CODE_LENGTH = 6;

export class Lab {
  readonly classes = new Map<string, LabClass>();
  readonly rooms = new Map<number, Room>();
  readonly conns = new Set<Connection>();
  private readonly byToken = new Map<string, Session>();
  private readonly byId = new Map<string, Session>();
  private nextRoomId = 1;
  private nextSessionId = 1;
  readonly startedAt = Date.now();

  constructor(readonly opts: LabOptions) {}

  get limits(): Limits {
    return this.opts.limits;
  }

  // ── classes and rooms ───────────────────────────────────────────────────────────────────────

  createClass(name: string): LabClass {
    if (this.classes.size >= this.limits.maxClasses)
      refuse('TCPLAB_TOO_MANY_CLASSES', `the server holds at most ${this.limits.maxClasses} classes`);
    let code: string;
    do {
      code = Array.from({ length: CODE_LENGTH }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]).join(
        '',
      );
    } while (this.classes.has(code));
    const klass = new LabClass(code, name.trim());
    this.classes.set(code, klass);
    this.opts.hooks.onClass?.(klass);
    return klass;
  }

  klass(code: string): LabClass {
    const k = this.classes.get(code);
    if (!k) refuse('TCPLAB_NO_SUCH_CLASS', `no class has the code ${code}`);
    return k;
  }

  room(id: number): Room {
    const r = this.rooms.get(id);
    if (!r) refuse('TCPLAB_NO_SUCH_ROOM', `no room ${id}`, '/room');
    return r;
  }

  createRoom(klass: LabClass, name?: string, spec: RoomSpec = {}): Room {
    if (klass.rooms.size >= this.limits.maxRoomsPerClass)
      refuse(
        'TCPLAB_TOO_MANY_ROOMS',
        `class ${klass.code} already has ${this.limits.maxRoomsPerClass} rooms, its limit`,
      );
    if (spec.id !== undefined && this.rooms.has(spec.id)) throw new Error(`room ${spec.id} exists`);
    const id = spec.id ?? this.nextRoomId;
    this.nextRoomId = Math.max(this.nextRoomId, id + 1);
    const o = this.opts;
    const room = new Room({
      id,
      name: name?.trim() || `Room ${klass.rooms.size + 1}`,
      classCode: klass.code,
      seed: spec.seed ?? id,
      limits: o.limits,
      link: spec.link ?? o.link,
      tcp: spec.tcp ?? o.tcp,
      ...(spec.hosts === undefined ? {} : { hosts: spec.hosts }),
      ...(spec.addrs === undefined ? {} : { addrs: spec.addrs }),
      speed: spec.speed ?? o.speed,
      running: spec.running ?? o.running,
      timers: o.timers,
      onSummary: () => this.classChanged(klass),
      onCrash: (r, error) =>
        o.log.error({ room: r.id, err: error }, 'room stopped: the engine or simulator threw'),
      hooks: o.hooks,
    });
    if (spec.policy !== undefined) room.policy = spec.policy;
    klass.rooms.set(id, room);
    this.rooms.set(id, room);
    o.hooks.onRoom?.(room);
    for (const [conn, w] of klass.watchers) if (w.rooms) this.feed(conn, room);
    this.classChanged(klass);
    return room;
  }

  // ── sessions ────────────────────────────────────────────────────────────────────────────────

  joinClass(code: string, name: string): Session {
    const klass = this.klass(code);
    if (klass.sessions.size >= this.limits.maxSessionsPerClass)
      refuse(
        'TCPLAB_CLASS_FULL',
        `class ${code} already has ${this.limits.maxSessionsPerClass} people, its limit`,
      );
    const s = this.addSession(name.trim(), 'student', klass);
    klass.sessions.add(s);
    this.classChanged(klass);
    return s;
  }

  authInstructor(key: string): Session {
    if (!this.checkKey(key)) refuse('TCPLAB_BAD_KEY', 'wrong instructor key', '/key');
    return this.addSession('Instructor', 'instructor', null);
  }

  /** Compares in constant time, so response timing does not leak the key. */
  checkKey(key: string | undefined): boolean {
    if (key === undefined) return false;
    const a = Buffer.from(key);
    const b = Buffer.from(this.opts.instructorKey);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private addSession(name: string, role: 'student' | 'instructor', klass: LabClass | null): Session {
    const s = new Session(`s${this.nextSessionId++}`, name, role, klass);
    this.byToken.set(s.token, s);
    this.byId.set(s.id, s);
    this.opts.hooks.onSession?.(s);
    return s;
  }

  resume(token: string): Session {
    const s = this.byToken.get(token);
    if (!s) refuse('TCPLAB_BAD_TOKEN', 'unknown resume token: join the class again', '/token');
    return s;
  }

  sessionById(id: string): Session {
    const s = this.byId.get(id);
    if (!s) refuse('TCPLAB_NO_SUCH_SESSION', `no session ${id}`, '/session');
    return s;
  }

  /** Binds a session to a connection; an older connection of the same session is closed (REPLACED). */
  attach(conn: Connection, s: Session): void {
    if (conn.session && conn.session !== s) this.detach(conn);
    const old = s.conn;
    if (old && old !== conn) {
      this.dropFeeds(old);
      old.session = null;
      old.close(CLOSE.REPLACED, 'this session was resumed on another connection');
    }
    s.conn = conn;
    conn.session = s;
    if (s.offlineTimer) clearTimeout(s.offlineTimer);
    s.offlineTimer = undefined;
    if (s.klass) this.classChanged(s.klass);
  }

  /** Sends what a (re)joined session needs: welcome, class state, and its room(s). */
  welcome(conn: Connection, s: Session): void {
    const room = s.room;
    conn.json({
      type: 'welcome',
      v: PROTOCOL_VERSION,
      session: s.info(),
      token: s.token,
      room: room?.id ?? null,
      seats: room ? this.seatsOf(s, room) : [],
      limits: this.limits,
    });
    // Joining or coming back changed the roster: its push reaches this connection within
    // CLASS_STATE_MS. Only without one on its way is the roster sent here.
    if (s.klass && !s.klass.statePending) conn.send(this.classStateData(s.klass), false);
    if (room) this.feed(conn, room);
    for (const [code, w] of s.watching) {
      const k = this.classes.get(code);
      if (k) this.watch(conn, k, w.rooms);
    }
    for (const r of s.rooms) if (this.rooms.has(r.id) && !conn.feeds.has(r)) this.feed(conn, r);
    // Seat holders show as online again.
    room?.pushInfo();
  }

  /** The connection is gone: its session stays, offline, keeping its seats for `seatGraceMs`. */
  detach(conn: Connection): void {
    this.dropFeeds(conn);
    for (const k of this.classes.values()) k.watchers.delete(conn);
    const s = conn.session;
    conn.session = null;
    if (!s || s.conn !== conn) return;
    s.conn = null;
    s.offlineTimer = setTimeout(() => this.expire(s), this.limits.seatGraceMs);
    s.offlineTimer.unref?.();
    if (s.room) s.room.pushInfo();
    if (s.klass) this.classChanged(s.klass);
  }

  /** An offline session's grace ran out: it leaves its room and its token stops working. */
  private expire(s: Session): void {
    s.offlineTimer = undefined;
    if (s.conn) return;
    if (s.room) this.leave(s, s.room);
    for (const r of this.rooms.values())
      for (const seat of ['A', 'B'] as const) if (r.seats[seat] === s) this.freeSeat(r, seat);
    s.klass?.sessions.delete(s);
    if (s.klass) this.classChanged(s.klass);
    this.byToken.delete(s.token);
    this.byId.delete(s.id);
    this.opts.hooks.onSessionGone?.(s);
  }

  private dropFeeds(conn: Connection): void {
    for (const [room, feed] of conn.feeds) room.feeds.delete(feed);
    conn.feeds.clear();
  }

  // ── rooms: entering, leaving, seats ─────────────────────────────────────────────────────────

  /** Can `s` see `room`? Instructors see every room; students the rooms of their class. */
  checkClass(s: Session, room: Room): void {
    if (s.role === 'instructor') return;
    if (s.klass?.code !== room.classCode)
      refuse('TCPLAB_FORBIDDEN', `room ${room.id} belongs to another class`, '/room');
  }

  enter(s: Session, conn: Connection, room: Room): void {
    this.checkClass(s, room);
    if (s.role === 'instructor') {
      s.rooms.add(room);
      this.opts.hooks.onSession?.(s);
      if (!conn.feeds.has(room)) this.feed(conn, room);
      return;
    }
    if (s.room === room) {
      if (!conn.feeds.has(room)) this.feed(conn, room);
      return;
    }
    if (room.members.size >= this.limits.maxPeoplePerRoom)
      refuse(
        'TCPLAB_ROOM_FULL',
        `room ${room.id} already has ${this.limits.maxPeoplePerRoom} people, its limit`,
      );
    if (s.room) this.leave(s, s.room);
    s.room = room;
    room.members.add(s);
    this.feed(conn, room);
    room.pushInfo();
  }

  leave(s: Session, room: Room, reason = 'left'): void {
    for (const seat of this.seatsOf(s, room)) room.seats[seat] = null;
    if (s.role === 'instructor' && s.rooms.delete(room)) this.opts.hooks.onSession?.(s);
    if (s.room === room) s.room = null;
    room.members.delete(s);
    const conn = s.conn;
    if (conn) {
      const feed = conn.feeds.get(room);
      if (feed) {
        room.feeds.delete(feed);
        conn.feeds.delete(room);
      }
      conn.json({ type: 'room.left', room: room.id, reason });
    }
    room.pushInfo();
  }

  seatsOf(s: Session, room: Room): Seat[] {
    return (['A', 'B'] as const).filter((seat) => room.seats[seat] === s);
  }

  takeSeat(s: Session, room: Room, seat: Seat): void {
    const holder = room.seats[seat];
    if (holder === s) return;
    if (holder)
      refuse('TCPLAB_SEAT_TAKEN', `seat ${seat} of room ${room.id} is held by ${holder.name}`, '/seat');
    room.seats[seat] = s;
    room.pushInfo();
  }

  releaseSeat(s: Session, room: Room, seat: Seat): void {
    if (room.seats[seat] !== s)
      refuse('TCPLAB_NOT_YOUR_SEAT', `you do not hold seat ${seat} of room ${room.id}`, '/seat');
    this.freeSeat(room, seat);
  }

  private freeSeat(room: Room, seat: Seat): void {
    room.seats[seat] = null;
    room.pushInfo();
  }

  /** Instructor pairing: puts a class member in a seat (they enter the room), or frees it. */
  assignSeat(room: Room, seat: Seat, sessionId: string | null): void {
    if (sessionId === null) {
      this.freeSeat(room, seat);
      return;
    }
    const s = this.sessionById(sessionId);
    if (s.role !== 'instructor' && s.klass?.code !== room.classCode)
      refuse('TCPLAB_FORBIDDEN', `${s.name} is not in the class of room ${room.id}`, '/session');
    if (s.role === 'student' && s.room !== room) {
      if (room.members.size >= this.limits.maxPeoplePerRoom)
        refuse(
          'TCPLAB_ROOM_FULL',
          `room ${room.id} already has ${this.limits.maxPeoplePerRoom} people, its limit`,
        );
      if (s.room) this.leave(s, s.room, 'moved by the instructor');
      s.room = room;
      room.members.add(s);
      if (s.conn) this.feed(s.conn, room);
    }
    room.seats[seat] = s;
    room.pushInfo();
  }

  /** Instructor: receive `class.state`, and with `rooms` every room's feed. */
  watch(conn: Connection, klass: LabClass, rooms: boolean): void {
    klass.watchers.set(conn, { rooms });
    if (conn.session) {
      conn.session.watching.set(klass.code, { rooms });
      this.opts.hooks.onSession?.(conn.session);
    }
    conn.send(this.classStateData(klass), false);
    if (rooms) for (const r of klass.rooms.values()) if (!conn.feeds.has(r)) this.feed(conn, r);
  }

  private feed(conn: Connection, room: Room): void {
    const old = conn.feeds.get(room);
    if (old) room.feeds.delete(old);
    const f = new Feed(conn, room);
    conn.feeds.set(room, f);
    room.feeds.add(f);
    f.start();
  }

  // ── class state ─────────────────────────────────────────────────────────────────────────────

  classState(klass: LabClass): object {
    return {
      type: 'class.state',
      code: klass.code,
      name: klass.name,
      rooms: [...klass.rooms.values()].map((r) => r.summary()),
      people: [...klass.sessions].map((s) => ({
        session: s.id,
        name: s.name,
        online: s.online,
        room: s.room?.id ?? null,
      })),
    };
  }

  /** `class.state` as a message, for one connection or, from a push, for the whole class. */
  private classStateData(klass: LabClass): Buffer {
    return Buffer.from(JSON.stringify(this.classState(klass)));
  }

  /**
   * Pushes `class.state` to the class: at most once per `CLASS_STATE_MS`, however many changes
   * (forty students joining at once would otherwise send forty rosters to forty people).
   */
  private classChanged(klass: LabClass): void {
    if (klass.statePending) return;
    const wait = Math.max(0, klass.stateSentAt + CLASS_STATE_MS - performance.now());
    klass.statePending = setTimeout(() => {
      klass.statePending = undefined;
      klass.stateSentAt = performance.now();
      if (!this.classes.has(klass.code)) return;
      const data = this.classStateData(klass);
      for (const s of klass.sessions) s.conn?.send(data, false);
      for (const conn of klass.watchers.keys()) conn.send(data, false);
    }, wait);
  }

  // ── restart (persistence, issue 7) ────────────────────────────────────────────────────────

  /** Puts back a class as it was before a restart. */
  restoreClass(code: string, name: string): LabClass {
    const klass = new LabClass(code, name);
    this.classes.set(code, klass);
    return klass;
  }

  /**
   * Puts back a session with its token, offline: its seats wait `seatGraceMs` for it to resume,
   * as if its connection had just dropped. Rooms and seats are the caller's to fill in.
   */
  restoreSession(id: string, token: string, name: string, role: Role, klass: LabClass | null): Session {
    const s = new Session(id, name, role, klass, token);
    this.byToken.set(token, s);
    this.byId.set(id, s);
    const n = Number(id.slice(1));
    if (Number.isSafeInteger(n)) this.nextSessionId = Math.max(this.nextSessionId, n + 1);
    klass?.sessions.add(s);
    s.offlineTimer = setTimeout(() => this.expire(s), this.limits.seatGraceMs);
    s.offlineTimer.unref?.();
    return s;
  }

  // ── shutdown ────────────────────────────────────────────────────────────────────────────────

  close(): void {
    for (const conn of this.conns) conn.close(CLOSE.GOING_AWAY, 'server shutting down');
    for (const room of this.rooms.values()) room.dispose();
    for (const s of this.byToken.values()) if (s.offlineTimer) clearTimeout(s.offlineTimer);
    for (const k of this.classes.values()) if (k.statePending) clearTimeout(k.statePending);
  }
}
