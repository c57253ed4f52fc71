/**
 * The gateway's handlers for the exercise messages (shared/protocol/exercises.ts). The gateway
 * spreads them into its table; they find the lab's ExerciseService through `exercisesOf(lab)`.
 */
import { toLang } from '../../shared/exercises/index.ts';
import type { ExerciseClientMessageOf, ExerciseClientType } from '../../shared/protocol/exercises.ts';
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
};
