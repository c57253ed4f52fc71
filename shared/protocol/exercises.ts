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
  /**
   * Instructor: watch a room read-only. The connection receives the room's feed (snapshot, whole
   * history, live events, `room.exercise`) without a seat and without counting as a person in
   * the room; from then on it is a watch connection, and any message that could change a room
   * (socket calls, clock, link, faults, held segments, reset, seats, answers, assignments) is
   * refused with `TCPLAB_FORBIDDEN`, changing nothing. Stepping in is done from the dashboard's
   * own connection. `ok` data: `{ room, watching: true }`.
   */
  'room.watch': msg('room.watch', { room: RoomId }),
} as const satisfies Record<string, TObject>;

/** The messages a watch connection may still send: none of them changes a room. */
export const WATCH_ALLOWED: ReadonlySet<string> = new Set(['ping', 'room.watch', 'exercise.get']);

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

/** One event of a goal's evidence (shared/exercises/goals.ts `EvidenceEvent`). */
export const GoalEvidenceEvent = Type.Object(
  {
    /** Index in the room's trace (since the last reset). */
    i: Type.Integer({ minimum: 0 }),
    /** Virtual time (ms). */
    t: Type.Number(),
    /** The trace event's type: `segment`, `state`, `call`, `return`, `timer`, `discard`, `cc`… */
    type: Type.String(),
    /** The segment's id (as in the ladder), for segment events. */
    segment: Type.Optional(Type.Integer()),
    /** The host it happened on. */
    host: Type.Optional(Type.String()),
    /** What it was, in the goal's language. */
    text: Type.String(),
  },
  { additionalProperties: false },
);

/** The segments and events that prove a goal met, or that are relevant to an unmet one. */
export const GoalEvidence = Type.Object(
  {
    segments: Type.Array(Type.Integer()),
    events: Type.Array(GoalEvidenceEvent, { maxItems: 16 }),
  },
  { additionalProperties: false },
);
export type GoalEvidence = Static<typeof GoalEvidence>;

/** One goal's line in `room.exercise`, in one language. */
export const GoalStatus = Type.Object(
  {
    id: Type.String(),
    met: Type.Boolean(),
    text: Type.String(),
    /** When unmet: what is missing, read from the trace. */
    explanation: Type.Optional(Type.String()),
    /** Virtual time (ms) at which the goal became met. */
    at: Type.Optional(Type.Number()),
    /** For the ladder's highlight: what proves it (met) or what already happened towards it. */
    evidence: Type.Optional(GoalEvidence),
  },
  { additionalProperties: false },
);
export type GoalStatus = Static<typeof GoalStatus>;

/** `room.exercise`: pushed to everyone in a room when its exercise or progress changes. */
export interface RoomExerciseEvent {
  type: 'room.exercise';
  room: number;
  /** null: the room has no exercise. */
  exercise: null | {
    id: string;
    /** The student view (no answers), per language. */
    view: Record<'en' | 'zh-CN', unknown>;
    /** Goal results per language (`GoalStatus`: `{ id, met, text, explanation?, at?, evidence? }`). */
    goals: Record<'en' | 'zh-CN', GoalStatus[]>;
    /** The latest answer result per question, per language. */
    answers: Record<'en' | 'zh-CN', Record<string, { status: string; feedback: string }>>;
    progress: NonNullable<RoomExerciseStatus['progress']>;
  };
}
