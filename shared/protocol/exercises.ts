/**
 * Exercise messages (issue 8): the instructor assigns an exercise to a class or a room, a seat
 * holder answers a question, and the server pushes `room.exercise` (the student view, the goals
 * and the pair's progress, recomputed as the trace grows) and `class.exercises` (one line per
 * room for the instructor's dashboard). Kept apart from `messages.ts`, which spreads the client
 * schemas into `CLIENT_SCHEMAS`; this file imports nothing from it (no import cycle).
 */
import { type Static, type TObject, type TSchema, Type } from '@sinclair/typebox';

const ReqId = Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 53 - 1 }));
const RoomId = Type.Integer({ minimum: 1, maximum: 2 ** 32 - 1, description: 'server-wide room number' });
const ClassCode = Type.String({ pattern: '^[A-Z0-9]{4,12}$', description: 'class join code' });
/** An exercise id: lower-case letters, digits and `-` (see docs/exercises.md). */
export const ExerciseId = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,63}$' });
const QuestionId = Type.String({ minLength: 1, maxLength: 64 });
export const ExerciseLang = Type.Union([Type.Literal('en'), Type.Literal('zh-CN')]);

/** An answer: an option id, a number, several option ids, text, or a predicted segment. */
export const AnswerValue = Type.Union([
  Type.String({ maxLength: 500 }),
  Type.Number(),
  Type.Array(Type.String({ maxLength: 64 }), { maxItems: 16 }),
  Type.Object(
    {
      flags: Type.Optional(Type.Array(Type.String({ maxLength: 8 }), { maxItems: 9 })),
      rseq: Type.Optional(Type.Number()),
      rack: Type.Optional(Type.Number()),
      len: Type.Optional(Type.Number()),
      win: Type.Optional(Type.Number()),
    },
    { additionalProperties: false },
  ),
]);

const msg = <T extends string, P extends Record<string, TSchema>>(type: T, props: P) =>
  Type.Object({ type: Type.Literal(type), id: ReqId, ...props }, { additionalProperties: false });

export const EXERCISE_CLIENT_SCHEMAS = {
  /**
   * Instructor: assign `exercise` (null: none) to one room, or with `code` and no `room` to every
   * room of the class (and the rooms created later). The room restarts with the exercise's network.
   */
  'exercise.assign': msg('exercise.assign', {
    code: Type.Optional(ClassCode),
    room: Type.Optional(RoomId),
    exercise: Type.Union([ExerciseId, Type.Null()]),
  }),
  /** A seat holder answers a question of the room's exercise; `ok` data is `{ result, progress }`. */
  'exercise.answer': msg('exercise.answer', {
    room: RoomId,
    question: QuestionId,
    answer: AnswerValue,
    lang: Type.Optional(ExerciseLang),
  }),
  /** Anyone in the room: the room's current `room.exercise` event, as the `ok` data. */
  'exercise.get': msg('exercise.get', { room: RoomId }),
  /** Instructor: the class's current `class.exercises` event, as the `ok` data (pushes follow to watchers). */
  'exercise.status': msg('exercise.status', { code: ClassCode }),
} as const satisfies Record<string, TObject>;

export type ExerciseClientType = keyof typeof EXERCISE_CLIENT_SCHEMAS;
export type ExerciseClientMessageOf<K extends ExerciseClientType> = Static<
  (typeof EXERCISE_CLIENT_SCHEMAS)[K]
>;

// ── server → client (documented shapes; the server builds them in server/exercises/) ──────────

export type AlertKind = 'stuck' | 'error-loop' | 'alone';

/** One room's line on the dashboard. */
export interface RoomExerciseStatus {
  room: number;
  exercise: string | null;
  /** Progress (进度) on the exercise, or null without one. */
  progress: {
    percent: number;
    complete: boolean;
    goalsMet: number;
    goalsTotal: number;
    questionsCorrect: number;
    questionsTotal: number;
    goals: Record<string, boolean>;
    questions: Record<string, string>;
    /** Real seconds since the exercise was assigned (until complete, then frozen). */
    elapsedS: number;
  } | null;
  /** Each endpoint's sockets and their TCP state (the latest per socket, CLOSED ones left out). */
  states: { A: string[]; B: string[] };
  alerts: AlertKind[];
  /** Real ms since the last thing happened in the room. */
  idleMs: number;
  epoch: number;
}

/** `class.exercises`: pushed to instructors watching a class when any room's line changes. */
export interface ClassExercisesEvent {
  type: 'class.exercises';
  code: string;
  /** The exercise assigned to the whole class (null: none). */
  assigned: string | null;
  rooms: RoomExerciseStatus[];
}

/** `room.exercise`: pushed to everyone in a room when its exercise or progress changes. */
export interface RoomExerciseEvent {
  type: 'room.exercise';
  room: number;
  /** null: the room has no exercise. */
  exercise: null | {
    id: string;
    /** The student view (no answers), per language. */
    view: Record<'en' | 'zh-CN', unknown>;
    /** Goal results per language: `{ id, met, text, explanation?, at? }`. */
    goals: Record<
      'en' | 'zh-CN',
      Array<{ id: string; met: boolean; text: string; explanation?: string; at?: number }>
    >;
    /** The latest answer result per question, per language. */
    answers: Record<'en' | 'zh-CN', Record<string, { status: string; feedback: string }>>;
    progress: NonNullable<RoomExerciseStatus['progress']>;
  };
}
