/**
 * The gateway's handlers for the exercise and dashboard messages (shared/protocol/exercises.ts).
 * The gateway spreads them into its table; they find the lab's ExerciseService through
 * `exercisesOf(lab)`. `room.watch` makes a connection a read-only watcher, and `refuseOnWatch`
 * (called by the gateway before any handler) refuses what such a connection may not send.
 */
import { toLang } from '../../shared/exercises/index.ts';
import {
  type ExerciseClientMessageOf,
  type ExerciseClientType,
  WATCH_ALLOWED,
} from '../../shared/protocol/exercises.ts';
import type { Connection } from '../lab/connection.ts';
import { refuse } from '../lab/errors.ts';
import type { Lab } from '../lab/lab.ts';
import type { ExerciseService } from './service.ts';

const services = new WeakMap<Lab, ExerciseService>();

export function setExercises(lab: Lab, service: ExerciseService): void {
  services.set(lab, service);
}

export function exercisesOf(lab: Lab): ExerciseService {
  const s = services.get(lab);
  if (!s) refuse('TCPLAB_NO_SUCH_EXERCISE', 'exercises are not enabled on this server');
  return s;
}

/** Watch connections (`room.watch`) and the room each watches first: read-only while they live. */
const watchers = new WeakMap<Connection, number>();

/** Is this a read-only watch connection? */
export function isWatching(conn: Connection): boolean {
  return watchers.has(conn);
}

/**
 * Refuses any message a watch connection may not send (everything that could change a room, its
 * seats or the class, and any change of identity), before its handler runs: nothing changes.
 */
export function refuseOnWatch(conn: Connection, type: string): void {
  const room = watchers.get(conn);
  if (room === undefined || WATCH_ALLOWED.has(type)) return;
  refuse(
    'TCPLAB_FORBIDDEN',
    `this connection watches room ${room} read-only: ${type} is refused (to pause, add a fault or reset, step in from the dashboard, /teach)`,
  );
}

interface Ctx {
  lab: Lab;
  conn: Connection;
}

type Handler<K extends ExerciseClientType> = (ctx: Ctx, msg: ExerciseClientMessageOf<K>) => unknown;

function who(ctx: Ctx) {
  const s = ctx.conn.session;
  if (!s)
    refuse('TCPLAB_NOT_JOINED', 'join a class (class.join), resume (session.resume) or authenticate first');
  return s;
}

function instructor(ctx: Ctx) {
  const s = who(ctx);
  if (s.role !== 'instructor')
    refuse('TCPLAB_FORBIDDEN', 'only the instructor may assign exercises or see the class dashboard');
  return s;
}

export const EXERCISE_HANDLERS: { [K in ExerciseClientType]: Handler<K> } = {
  'exercise.assign': (ctx, m) => {
    instructor(ctx);
    const svc = exercisesOf(ctx.lab);
    if (m.room !== undefined) {
      const room = ctx.lab.room(m.room);
      if (m.code !== undefined && m.code !== room.classCode)
        refuse('TCPLAB_INVALID', `room ${m.room} is not in class ${m.code}`, '/code');
      svc.assignRoom(room, m.exercise);
      const klass = ctx.lab.classes.get(room.classCode);
      if (klass) svc.pushClass(klass, true);
      return { room: room.id, exercise: m.exercise };
    }
    if (m.code === undefined)
      refuse('TCPLAB_INVALID', 'exercise.assign: name the class (code) or a room (room)', '/code');
    svc.assignClass(ctx.lab.klass(m.code), m.exercise);
    return { code: m.code, exercise: m.exercise };
  },

  'exercise.answer': (ctx, m) => {
    const s = who(ctx);
    const room = ctx.lab.room(m.room);
    if (s.role !== 'instructor') {
      if (s.room !== room) refuse('TCPLAB_NOT_IN_ROOM', `you are not in room ${m.room}`, '/room');
      if (room.seats.A !== s && room.seats.B !== s)
        refuse('TCPLAB_FORBIDDEN', `observers cannot answer: take seat A or B of room ${m.room} first`);
    }
    return exercisesOf(ctx.lab).answer(room, m.question, m.answer, toLang(m.lang ?? 'en'));
  },

  'exercise.get': (ctx, m) => {
    const s = who(ctx);
    const room = ctx.lab.room(m.room);
    if (s.role !== 'instructor' && s.room !== room)
      refuse('TCPLAB_NOT_IN_ROOM', `you are not in room ${m.room}`, '/room');
    return exercisesOf(ctx.lab).current(room);
  },

  'exercise.status': (ctx, m) => {
    instructor(ctx);
    return exercisesOf(ctx.lab).classStatus(ctx.lab.klass(m.code));
  },

  'room.watch': (ctx, m) => {
    const s = who(ctx);
    if (s.role !== 'instructor')
      refuse(
        'TCPLAB_FORBIDDEN',
        'only the instructor may watch a room read-only: join it (room.join) instead',
      );
    const room = ctx.lab.room(m.room);
    // An instructor entering a room takes no seat and is not one of its people: just its feed.
    ctx.lab.enter(s, ctx.conn, room);
    if (!watchers.has(ctx.conn)) watchers.set(ctx.conn, room.id);
    return { room: room.id, watching: true };
  },
};
