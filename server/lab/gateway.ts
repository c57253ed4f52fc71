/**
 * The WebSocket gateway's protocol logic: one incoming message in, in protocol order (rate, binary,
 * size, JSON, schema, who you are, what you may do), then one handler per message type. Every
 * refusal is an `error` event naming the problem and nothing changes; a request with an `id` that
 * succeeds gets one `ok` after the events it caused.
 */
import { toWireJson } from '../../shared/protocol/json.ts';
import type { ClientMessageOf, ClientType, Seat } from '../../shared/protocol/messages.ts';
import { parseClientMessage } from '../../shared/protocol/validate.ts';
import type { CallResult } from '../../shared/tcp/types.ts';
import { EXERCISE_HANDLERS, refuseOnWatch } from '../exercises/handlers.ts';
import type { Connection } from './connection.ts';
import { LabError, refuse } from './errors.ts';
import type { Lab } from './lab.ts';
import type { Room } from './room.ts';
import type { Session } from './session.ts';

interface Ctx {
  lab: Lab;
  conn: Connection;
}

type Handler<K extends ClientType> = (ctx: Ctx, msg: ClientMessageOf<K>) => unknown;

export function handleMessage(lab: Lab, conn: Connection, data: Buffer, isBinary: boolean): void {
  const admission = conn.admit();
  if (admission === 'closed') return;
  if (admission === 'refused') {
    conn.json({
      type: 'error',
      re: null,
      code: 'TCPLAB_RATE_LIMIT',
      message: `more than ${lab.limits.messagesPerSecond} messages per second: message ignored`,
    });
    return;
  }
  if (isBinary) {
    conn.json({
      type: 'error',
      re: null,
      code: 'TCPLAB_BAD_MESSAGE',
      message: 'binary messages are not accepted: send JSON text',
    });
    return;
  }
  const parsed = parseClientMessage(data.toString('utf8'), data.length, lab.limits.maxMessageBytes);
  if (!parsed.ok) {
    conn.json({ type: 'error', ...parsed.error });
    return;
  }
  const msg = parsed.msg;
  const re = msg.id ?? null;
  try {
    refuseOnWatch(conn, msg.type); // a read-only watch connection (room.watch) changes nothing
    const handler = HANDLERS[msg.type] as Handler<ClientType>;
    const result = handler({ lab, conn }, msg);
    if (msg.type !== 'ping' && msg.id !== undefined) conn.json({ type: 'ok', re, data: result ?? {} });
  } catch (e) {
    if (e instanceof LabError) {
      conn.json({
        type: 'error',
        re,
        code: e.code,
        message: e.message,
        ...(e.path === undefined ? {} : { path: e.path }),
        ...('room' in msg ? { room: msg.room } : {}),
      });
    } else {
      lab.opts.log.error({ err: e, type: msg.type }, 'message handler failed');
      conn.json({
        type: 'error',
        re,
        code: 'TCPLAB_ENGINE',
        message: `internal error: ${(e as Error).message}`,
      });
    }
  }
}

// ── who may do what ───────────────────────────────────────────────────────────────────────────

function session(ctx: Ctx): Session {
  const s = ctx.conn.session;
  if (!s)
    refuse('TCPLAB_NOT_JOINED', 'join a class (class.join), resume (session.resume) or authenticate first');
  return s;
}

function instructor(ctx: Ctx): Session {
  const s = session(ctx);
  if (s.role !== 'instructor') refuse('TCPLAB_FORBIDDEN', 'only the instructor may do that');
  return s;
}

/** The room named by a message, which the sender must be in (instructors: any room). */
function roomOf(ctx: Ctx, id: number): { s: Session; room: Room } {
  const s = session(ctx);
  const room = ctx.lab.room(id);
  if (s.role !== 'instructor' && s.room !== room)
    refuse('TCPLAB_NOT_IN_ROOM', `you are not in room ${id}`, '/room');
  return { s, room };
}

/** The room, for someone who may change it: a seat holder there, or the instructor. */
function actorOf(ctx: Ctx, id: number): { s: Session; room: Room; seats: Seat[] } {
  const { s, room } = roomOf(ctx, id);
  const seats = ctx.lab.seatsOf(s, room);
  if (s.role !== 'instructor' && seats.length === 0)
    refuse('TCPLAB_FORBIDDEN', `observers are read-only: take seat A or B of room ${id} first`);
  return { s, room, seats };
}

/** The room, for someone who may move its clock under its policy. */
function clockActor(ctx: Ctx, id: number): { s: Session; room: Room; seats: Seat[] } {
  const a = actorOf(ctx, id);
  if (a.s.role !== 'instructor' && a.room.policy === 'instructor')
    refuse('TCPLAB_FORBIDDEN', `only the instructor moves time in room ${id} (clock policy "instructor")`);
  return a;
}

/**
 * A call's result as the `ok` reply carries it: most are a number or an errno, which JSON takes
 * as they are; bytes and objects (recv, accept) go through `toWireJson`.
 */
function wireResult(r: CallResult): unknown {
  return !r.ok || typeof r.value !== 'object' || r.value === null ? r : toWireJson(r);
}

// ── handlers ──────────────────────────────────────────────────────────────────────────────────

const HANDLERS: { [K in ClientType]: Handler<K> } = {
  'class.join': ({ lab, conn }, m) => {
    const s = lab.joinClass(m.code, m.name);
    lab.attach(conn, s);
    lab.welcome(conn, s);
    return { session: s.info() };
  },

  'session.resume': ({ lab, conn }, m) => {
    const s = lab.resume(m.token);
    lab.attach(conn, s);
    lab.welcome(conn, s);
    return { session: s.info() };
  },

  'instructor.auth': ({ lab, conn }, m) => {
    const s = lab.authInstructor(m.key);
    lab.attach(conn, s);
    lab.welcome(conn, s);
    return { session: s.info() };
  },

  'class.create': (ctx, m) => {
    instructor(ctx);
    return { code: ctx.lab.createClass(m.name).code };
  },

  'class.watch': (ctx, m) => {
    instructor(ctx);
    ctx.lab.watch(ctx.conn, ctx.lab.klass(m.code), m.rooms ?? false);
    return { code: m.code };
  },

  'room.create': (ctx, m) => {
    const s = session(ctx);
    let klass = s.klass;
    if (s.role === 'instructor') {
      if (m.code === undefined)
        refuse('TCPLAB_INVALID', 'room.create: the instructor must name the class (code)', '/code');
      klass = ctx.lab.klass(m.code);
    } else if (m.code !== undefined && m.code !== klass?.code) {
      refuse('TCPLAB_FORBIDDEN', `you can only create rooms in your own class`, '/code');
    }
    return { room: ctx.lab.createRoom(klass!, m.name).id };
  },

  'room.join': (ctx, m) => {
    const s = session(ctx);
    ctx.lab.enter(s, ctx.conn, ctx.lab.room(m.room));
    return { room: m.room };
  },

  'room.leave': (ctx, m) => {
    const { s, room } = roomOf(ctx, m.room);
    ctx.lab.leave(s, room);
    return {};
  },

  'seat.take': (ctx, m) => {
    const { s, room } = roomOf(ctx, m.room);
    ctx.lab.takeSeat(s, room, m.seat);
    return { seats: ctx.lab.seatsOf(s, room) };
  },

  'seat.release': (ctx, m) => {
    const { s, room } = roomOf(ctx, m.room);
    ctx.lab.releaseSeat(s, room, m.seat);
    return { seats: ctx.lab.seatsOf(s, room) };
  },

  'seat.assign': (ctx, m) => {
    instructor(ctx);
    ctx.lab.assignSeat(ctx.lab.room(m.room), m.seat, m.session);
    return {};
  },

  'sock.call': (ctx, m) => {
    const { s, room } = roomOf(ctx, m.room);
    if (s.role !== 'instructor' && room.seats[m.host] !== s)
      refuse(
        'TCPLAB_NOT_YOUR_SEAT',
        `endpoint ${m.host} belongs to seat ${m.host}, which you do not hold`,
        '/host',
      );
    const r = room.input({ kind: 'call', host: m.host, call: m.call }) as {
      callId: number;
      result?: CallResult;
    };
    return r.result === undefined ? { callId: r.callId } : { callId: r.callId, result: wireResult(r.result) };
  },

  'clock.pause': (ctx, m) => {
    const { room } = clockActor(ctx, m.room);
    room.pause();
    return { clock: room.clock() };
  },

  'clock.resume': (ctx, m) => {
    const { s, room, seats } = clockActor(ctx, m.room);
    if (room.policy !== 'ready' || s.role === 'instructor' || room.ready('resume', seats)) room.resume();
    return { clock: room.clock() };
  },

  'clock.step': (ctx, m) => {
    const { s, room, seats } = clockActor(ctx, m.room);
    if (m.ms !== undefined && m.ms > ctx.lab.limits.maxStepMs)
      refuse('TCPLAB_INVALID', `clock.step: ms must be at most ${ctx.lab.limits.maxStepMs}`, '/ms');
    if (room.policy !== 'ready' || s.role === 'instructor' || room.ready('step', seats)) room.step(m.ms);
    return { clock: room.clock() };
  },

  'clock.speed': (ctx, m) => {
    const { room } = clockActor(ctx, m.room);
    room.setSpeed(m.speed);
    return { clock: room.clock() };
  },

  'clock.policy': (ctx, m) => {
    const { s, room } = actorOf(ctx, m.room);
    if (s.role !== 'instructor' && (m.policy === 'instructor' || room.policy === 'instructor'))
      refuse(
        'TCPLAB_FORBIDDEN',
        'only the instructor may set or lift the "instructor" clock policy',
        '/policy',
      );
    room.setPolicy(m.policy);
    return { clock: room.clock() };
  },

  'link.set': (ctx, m) => {
    const { room } = actorOf(ctx, m.room);
    room.input({ kind: 'link', ...(m.dir === undefined ? {} : { dir: m.dir }), settings: m.settings });
    return {};
  },

  'fault.add': (ctx, m) => {
    const { room } = actorOf(ctx, m.room);
    const id = room.allocateRuleId();
    room.input({ kind: 'fault.add', id, rule: m.rule });
    return { ruleId: id };
  },

  'fault.remove': (ctx, m) => {
    const { room } = actorOf(ctx, m.room);
    room.input({ kind: 'fault.remove', id: m.ruleId });
    return {};
  },

  'fault.clear': (ctx, m) => {
    const { room } = actorOf(ctx, m.room);
    room.input({ kind: 'fault.clear' });
    return {};
  },

  'hold.set': (ctx, m) => {
    const { room } = actorOf(ctx, m.room);
    room.input({ kind: 'hold', on: m.on });
    return {};
  },

  'held.release': (ctx, m) => {
    const { room } = actorOf(ctx, m.room);
    room.input({ kind: 'held', segId: m.segId, action: 'release' });
    return {};
  },

  'held.drop': (ctx, m) => {
    const { room } = actorOf(ctx, m.room);
    room.input({ kind: 'held', segId: m.segId, action: 'drop' });
    return {};
  },

  'held.delay': (ctx, m) => {
    const { room } = actorOf(ctx, m.room);
    room.input({ kind: 'held', segId: m.segId, action: 'delay', ms: m.ms });
    return {};
  },

  'room.reset': (ctx, m) => {
    const { room } = actorOf(ctx, m.room);
    return { epoch: room.reset() };
  },

  ping: (ctx, m) => {
    ctx.conn.json({ type: 'pong', re: m.id ?? null, ...(m.t === undefined ? {} : { t: m.t }) });
  },

  ...EXERCISE_HANDLERS,
};
