/**
 * Exercises in rooms: which exercise each room is on, the room's trace (kept from the room's
 * `onTrace` hook, live and in replay), goals recomputed as the trace grows (at most every
 * `recomputeMs` per room), answers, progress (进度), the dashboard's per-room status with alerts,
 * and the class summary. Pushes `room.exercise` to the room's feeds and `class.exercises` to the
 * instructors watching the class.
 */
import {
  type AnswerResult,
  checkAnswer,
  checkGoals,
  computeProgress,
  type Exercise,
  exerciseView,
  type GoalResult,
  hostConfig,
  LANGS,
  type Lang,
  pick,
} from '../../shared/exercises/index.ts';
import type {
  AlertKind,
  ClassExercisesEvent,
  GoalStatus,
  RoomExerciseEvent,
  RoomExerciseStatus,
} from '../../shared/protocol/exercises.ts';
import type { FaultRule } from '../../shared/protocol/messages.ts';
import { DEFAULT_LINK, type LinkSettings } from '../../shared/sim/link.ts';
import { type BareTraceEvent, hasSummary, type TraceEvent } from '../../shared/sim/trace.ts';
import type { TcpConfig } from '../../shared/tcp/config.ts';
import { refuse } from '../lab/errors.ts';
import type { Lab, LabClass } from '../lab/lab.ts';
import type { Room } from '../lab/room.ts';
import type { Catalogue } from './catalogue.ts';
import type { ExerciseState, ExerciseStore, StoredRoom, StoredRun } from './store.ts';

export interface ExerciseServiceOptions {
  /** Least real ms between two goal checks of one room. */
  recomputeMs?: number;
  /** A room with an unfinished exercise and nothing happening for this long is "stuck". */
  stuckMs?: number;
  /** How often the dashboards' status is refreshed (real ms). */
  statusMs?: number;
  now?: () => number;
  log?: { warn(obj: object, msg: string): void };
}

interface Track {
  trace: TraceEvent[];
  lastActivity: number;
  /** ok/failed of the latest call returns, newest last. */
  returns: boolean[];
  states: { A: Map<number, string>; B: Map<number, string> };
  timer: ReturnType<typeof setTimeout> | undefined;
  lastEvent: string;
  event: RoomExerciseEvent | undefined;
}

/** A track as a room's checkpoint keeps it. */
export type SavedTrack = Pick<Track, 'trace' | 'returns' | 'states' | 'lastEvent'>;

const ERROR_WINDOW = 6;
const ERROR_LOOP = 4;

export class ExerciseService {
  private state: ExerciseState;
  private readonly tracks = new Map<number, Track>();
  private readonly lastClassPush = new Map<string, string>();
  private readonly interval: ReturnType<typeof setInterval>;
  private readonly now: () => number;
  private readonly recomputeMs: number;
  private readonly stuckMs: number;
  private assigning: Room | undefined;

  constructor(
    readonly lab: Lab,
    readonly catalogue: Catalogue,
    private readonly store: ExerciseStore,
    private readonly opts: ExerciseServiceOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.recomputeMs = opts.recomputeMs ?? 200;
    this.stuckMs = opts.stuckMs ?? 3 * 60_000;
    this.state = store.load();
    this.interval = setInterval(() => this.tick(), opts.statusMs ?? 1000);
    this.interval.unref?.();
  }

  close(): void {
    clearInterval(this.interval);
    for (const t of this.tracks.values()) if (t.timer) clearTimeout(t.timer);
  }

  // ── room hooks ──────────────────────────────────────────────────────────────────────────────

  /**
   * Whether a room's trace needs segment summaries: goals and questions read them in a room with
   * an exercise (assigning one resets the room, which asks again); the others' status needs only
   * states and returns.
   */
  wantsSummaries(room: Room): boolean {
    return this.record(room) !== undefined;
  }

  onTrace(room: Room, e: BareTraceEvent): void {
    let t = this.tracks.get(room.id);
    if (!t || room.history.length === 0) t = this.newTrack(room.id, t);
    // Goals are checked against the trace of a room with an exercise; the others' status needs
    // only the states and returns below (assigning an exercise resets the room: a new trace).
    const run = this.record(room);
    if (run && hasSummary(e)) t.trace.push(e);
    t.lastActivity = this.now();
    if (e.type === 'return') {
      t.returns.push((e.result as { ok?: boolean }).ok !== false);
      if (t.returns.length > ERROR_WINDOW) t.returns.shift();
    } else if (e.type === 'state' && (e.host === 'A' || e.host === 'B')) {
      if (e.to === 'CLOSED') t.states[e.host].delete(e.sock);
      else t.states[e.host].set(e.sock, e.to);
    }
    if (run) this.schedule(room, t);
  }

  onReset(room: Room): void {
    this.newTrack(room.id, this.tracks.get(room.id));
    const rec = this.record(room);
    if (!rec || this.assigning === room) return;
    // A pair restarted the room: the exercise's network comes back with it.
    const ex = this.catalogue.byId.get(rec.exercise);
    if (ex) queueMicrotask(() => this.applySetup(room, ex));
    this.schedule(room, this.tracks.get(room.id)!);
  }

  /**
   * What a room's checkpoint keeps of its track: what the trace taught so far (the trace itself
   * for a room with an exercise), so a room rebuilt from it needs only the events after it.
   */
  checkpointTrack(room: Room): SavedTrack | undefined {
    const t = this.tracks.get(room.id);
    if (!t) return undefined;
    return { trace: t.trace, returns: t.returns, states: t.states, lastEvent: t.lastEvent };
  }

  /** The room was rebuilt from a checkpoint: its track as it was then (see `checkpointTrack`). */
  restoreTrack(room: Room, saved: SavedTrack | undefined): void {
    const t = this.newTrack(room.id, this.tracks.get(room.id));
    if (saved) {
      t.trace = saved.trace;
      t.returns = saved.returns;
      t.states = saved.states;
      t.lastEvent = saved.lastEvent;
    }
    if (this.record(room)) this.schedule(room, t);
  }

  private newTrack(id: number, old: Track | undefined): Track {
    if (old?.timer) clearTimeout(old.timer);
    const t: Track = {
      trace: [],
      lastActivity: this.now(),
      returns: [],
      states: { A: new Map(), B: new Map() },
      timer: undefined,
      lastEvent: old?.lastEvent ?? '',
      event: undefined,
    };
    this.tracks.set(id, t);
    return t;
  }

  private track(room: Room): Track {
    return this.tracks.get(room.id) ?? this.newTrack(room.id, undefined);
  }

  // ── assignments ─────────────────────────────────────────────────────────────────────────────

  exercise(id: string): Exercise {
    const ex = this.catalogue.byId.get(id);
    if (!ex)
      refuse(
        'TCPLAB_NO_SUCH_EXERCISE',
        `no exercise "${id}" (the catalogue has ${this.catalogue.exercises.map((e) => e.id).join(', ') || 'none'})`,
        '/exercise',
      );
    return ex;
  }

  private stored(room: Room): StoredRoom {
    const key = String(room.id);
    let r = this.state.rooms[key];
    if (!r || r.classCode !== room.classCode) {
      r = { classCode: room.classCode, name: room.name, current: null, runs: [] };
      this.state.rooms[key] = r;
    }
    return r;
  }

  /** The run under way in `room`, if any. */
  record(room: Room): StoredRun | undefined {
    const r = this.state.rooms[String(room.id)];
    if (!r || r.classCode !== room.classCode || r.current === null) return undefined;
    return r.runs[r.current];
  }

  /** Assigns `id` (null: none) to every room of the class, and to rooms created later. */
  assignClass(klass: LabClass, id: string | null): void {
    if (id !== null) this.exercise(id);
    this.state.classes[klass.code] = id;
    for (const room of klass.rooms.values()) this.assignRoom(room, id, false);
    this.save();
    this.pushClass(klass, true);
  }

  /** Assigns `id` (null: none) to one room: the room restarts with the exercise's network. */
  assignRoom(room: Room, id: string | null, save = true): void {
    const ex = id === null ? undefined : this.exercise(id);
    const sr = this.stored(room);
    sr.name = room.name;
    if (ex) {
      sr.runs.push({
        exercise: ex.id,
        assignedAt: this.now(),
        answers: {},
        percent: 0,
        goalsMet: 0,
        goalsTotal: ex.goals.length,
        questionsCorrect: 0,
        questionsTotal: ex.questions.length,
        pair: this.pair(room),
      });
      sr.current = sr.runs.length - 1;
    } else {
      sr.current = null;
    }
    // Endpoint settings are part of how the room is built (persistence keeps them as its setup).
    const opts = (room as unknown as { opts: { hosts?: Partial<Record<'A' | 'B', Partial<TcpConfig>>> } })
      .opts;
    if (ex) opts.hosts = { A: exerciseHost(ex, 'A'), B: exerciseHost(ex, 'B') };
    else delete opts.hosts;
    this.assigning = room;
    try {
      room.reset();
    } finally {
      this.assigning = undefined;
    }
    if (ex) this.applySetup(room, ex);
    if (save) this.save();
    this.recompute(room);
  }

  /** The exercise's preset link, faults and hold, as room inputs (recorded, so replay has them). */
  private applySetup(room: Room, ex: Exercise): void {
    const s = ex.setup;
    try {
      const link = (patch: Partial<LinkSettings> | undefined) => ({ ...DEFAULT_LINK, ...(patch ?? {}) });
      room.input({ kind: 'link', settings: link(s.link) });
      if (s.links?.['A->B'])
        room.input({ kind: 'link', dir: 'AB', settings: link({ ...s.link, ...s.links['A->B'] }) });
      if (s.links?.['B->A'])
        room.input({ kind: 'link', dir: 'BA', settings: link({ ...s.link, ...s.links['B->A'] }) });
      for (const f of s.faults ?? []) {
        const { id: label, ...rest } = f;
        const rule = { ...rest, ...(label ? { label: `${ex.id}: ${label}`.slice(0, 80) } : {}) } as FaultRule;
        room.input({ kind: 'fault.add', id: room.allocateRuleId(), rule });
      }
      if (s.hold) room.input({ kind: 'hold', on: true });
    } catch (e) {
      this.opts.log?.warn({ err: e, room: room.id, exercise: ex.id }, 'exercise setup failed');
    }
  }

  /** Rooms created after a class-wide assignment get the exercise too. */
  private adoptNewRooms(): void {
    for (const klass of this.lab.classes.values()) {
      const id = this.state.classes[klass.code];
      if (!id) continue;
      for (const room of klass.rooms.values())
        if (this.state.rooms[String(room.id)]?.classCode !== room.classCode) this.assignRoom(room, id);
    }
  }

  // ── answers ─────────────────────────────────────────────────────────────────────────────────

  answer(
    room: Room,
    questionId: string,
    answer: unknown,
    lang: Lang,
  ): { result: AnswerResult; progress: unknown } {
    const run = this.record(room);
    if (!run) refuse('TCPLAB_NO_SUCH_EXERCISE', `room ${room.id} has no exercise to answer`, '/room');
    const ex = this.exercise(run.exercise);
    const q = ex.questions.find((x) => x.id === questionId);
    if (!q)
      refuse(
        'TCPLAB_NO_SUCH_EXERCISE',
        `exercise "${ex.id}" has no question "${questionId}" (its questions: ${ex.questions.map((x) => x.id).join(', ')})`,
        '/question',
      );
    const t = this.track(room);
    const ctx = { trace: t.trace, answeredBefore: t.trace.length, exercise: ex };
    const result = checkAnswer(q, answer, lang, ctx);
    if (result.status === 'invalid')
      return { result, progress: this.track(room).event?.exercise?.progress ?? null };
    // A right answer stays right; otherwise the latest answer counts.
    const prev = run.answers[q.id];
    const prevResult = prev
      ? checkAnswer(q, prev.answer, lang, { ...ctx, answeredBefore: prev.answeredBefore })
      : undefined;
    if (prevResult?.status !== 'correct') run.answers[q.id] = { answer, answeredBefore: t.trace.length };
    this.recompute(room);
    this.save();
    return { result, progress: this.track(room).event?.exercise?.progress ?? null };
  }

  // ── progress ────────────────────────────────────────────────────────────────────────────────

  private schedule(room: Room, t: Track): void {
    if (t.timer) return;
    t.timer = setTimeout(() => {
      t.timer = undefined;
      if (this.lab.rooms.get(room.id) === room) this.recompute(room);
    }, this.recomputeMs);
    t.timer.unref?.();
  }

  /** Checks the goals and answers against the trace; pushes `room.exercise` when it changed. */
  recompute(room: Room): RoomExerciseEvent {
    const t = this.track(room);
    const run = this.record(room);
    const ex = run ? this.catalogue.byId.get(run.exercise) : undefined;
    let event: RoomExerciseEvent;
    if (!run || !ex) {
      event = { type: 'room.exercise', room: room.id, exercise: null };
    } else {
      const goals = {} as Record<Lang, GoalResult[]>;
      const answers = {} as Record<Lang, Record<string, AnswerResult>>;
      for (const lang of LANGS) {
        goals[lang] = checkGoals(ex, t.trace, lang, { now: room.now });
        answers[lang] = {};
        for (const q of ex.questions) {
          const a = run.answers[q.id];
          if (a)
            answers[lang][q.id] = checkAnswer(q, a.answer, lang, {
              trace: t.trace,
              answeredBefore: a.answeredBefore,
              exercise: ex,
            });
        }
      }
      const p = computeProgress(ex, goals.en, answers.en);
      const changed =
        run.percent !== p.percent ||
        run.goalsMet !== p.goalsMet ||
        run.questionsCorrect !== p.questionsCorrect;
      if (p.complete && run.completedAt === undefined) run.completedAt = this.now();
      if (changed) {
        run.percent = p.percent;
        run.goalsMet = p.goalsMet;
        run.questionsCorrect = p.questionsCorrect;
        run.pair = this.pair(room);
        this.save();
      }
      const end = run.completedAt ?? this.now();
      event = {
        type: 'room.exercise',
        room: room.id,
        exercise: {
          id: ex.id,
          view: { en: exerciseView(ex, 'en'), 'zh-CN': exerciseView(ex, 'zh-CN') },
          goals: {
            en: goals.en.map(goalStatus),
            'zh-CN': goals['zh-CN'].map(goalStatus),
          },
          answers: {
            en: mapValues(answers.en, (a) => ({ status: a.status, feedback: a.feedback })),
            'zh-CN': mapValues(answers['zh-CN'], (a) => ({ status: a.status, feedback: a.feedback })),
          },
          progress: {
            percent: p.percent,
            complete: p.complete,
            goalsMet: p.goalsMet,
            goalsTotal: p.goalsTotal,
            questionsCorrect: p.questionsCorrect,
            questionsTotal: p.questionsTotal,
            goals: p.goals,
            questions: p.questions,
            elapsedS: Math.max(0, Math.round((end - run.assignedAt) / 1000)),
          },
        },
      };
    }
    t.event = event;
    // elapsedS moves every second: it does not count as a change worth a push.
    const key = JSON.stringify({
      ...event,
      exercise: event.exercise && {
        ...event.exercise,
        progress: { ...event.exercise.progress, elapsedS: 0 },
      },
    });
    if (key !== t.lastEvent) {
      t.lastEvent = key;
      const data = Buffer.from(JSON.stringify(event));
      for (const f of room.feeds) f.onNotice(data);
    }
    return event;
  }

  /** The room's current `room.exercise` (computed now if never). */
  current(room: Room): RoomExerciseEvent {
    return this.tracks.get(room.id)?.event ?? this.recompute(room);
  }

  private pair(room: Room): { A: string | null; B: string | null } {
    return { A: room.seats.A?.name ?? null, B: room.seats.B?.name ?? null };
  }

  // ── the dashboard ───────────────────────────────────────────────────────────────────────────

  status(room: Room): RoomExerciseStatus {
    const t = this.track(room);
    const run = this.record(room);
    const ev = this.current(room);
    const progress = ev.exercise?.progress ?? null;
    const alerts: AlertKind[] = [];
    const people = new Set([room.seats.A?.id, room.seats.B?.id, ...[...room.members].map((m) => m.id)]);
    people.delete(undefined);
    const idleMs = Math.max(0, this.now() - t.lastActivity);
    if (run && progress && !progress.complete && people.size > 0 && idleMs >= this.stuckMs)
      alerts.push('stuck');
    if (t.returns.length >= ERROR_LOOP && t.returns.filter((ok) => !ok).length >= ERROR_LOOP)
      alerts.push('error-loop');
    if (people.size === 1) alerts.push('alone');
    const states = (m: Map<number, string>) => [...m.entries()].sort((a, b) => a[0] - b[0]).map(([, s]) => s);
    return {
      room: room.id,
      exercise: run?.exercise ?? null,
      progress,
      states: { A: states(t.states.A), B: states(t.states.B) },
      alerts,
      idleMs,
      epoch: room.epoch,
    };
  }

  classStatus(klass: LabClass): ClassExercisesEvent {
    return {
      type: 'class.exercises',
      code: klass.code,
      assigned: this.state.classes[klass.code] ?? null,
      rooms: [...klass.rooms.values()].map((r) => this.status(r)),
    };
  }

  /** Pushes `class.exercises` to the class's instructors when something other than idle time changed. */
  pushClass(klass: LabClass, force = false): void {
    if (klass.watchers.size === 0) return;
    const ev = this.classStatus(klass);
    const key = JSON.stringify({
      ...ev,
      rooms: ev.rooms.map((r) => ({
        ...r,
        idleMs: 0,
        progress: r.progress && { ...r.progress, elapsedS: Math.floor(r.progress.elapsedS / 10) },
      })),
    });
    if (!force && this.lastClassPush.get(klass.code) === key) return;
    this.lastClassPush.set(klass.code, key);
    const data = Buffer.from(JSON.stringify(ev));
    for (const conn of klass.watchers.keys()) conn.send(data, false);
  }

  private tick(): void {
    this.adoptNewRooms();
    for (const klass of this.lab.classes.values()) this.pushClass(klass);
  }

  // ── the class summary ───────────────────────────────────────────────────────────────────────

  /** One row per room and exercise run: the pair, the exercise, progress and time taken. */
  summary(klass: LabClass, lang: Lang): SummaryRow[] {
    const rows: SummaryRow[] = [];
    for (const [key, sr] of Object.entries(this.state.rooms)) {
      if (sr.classCode !== klass.code) continue;
      const room = this.lab.rooms.get(Number(key));
      if (room && sr.current !== null) this.current(room);
      sr.runs.forEach((run, i) => {
        const ex = this.catalogue.byId.get(run.exercise);
        const end = run.completedAt ?? this.now();
        rows.push({
          room: Number(key),
          roomName: room?.name ?? sr.name,
          studentA: run.pair.A ?? '',
          studentB: run.pair.B ?? '',
          exercise: run.exercise,
          title: ex ? pick(ex.title, lang) : run.exercise,
          current: sr.current === i,
          percent: run.percent,
          goals: `${run.goalsMet}/${run.goalsTotal}`,
          questions: `${run.questionsCorrect}/${run.questionsTotal}`,
          complete: run.completedAt !== undefined,
          minutes: Math.round((end - run.assignedAt) / 6000) / 10,
        });
      });
    }
    return rows.sort((a, b) => a.room - b.room);
  }

  private save(): void {
    try {
      this.store.save(this.state);
    } catch (e) {
      this.opts.log?.warn({ err: e }, 'could not save exercise progress');
    }
  }
}

export interface SummaryRow {
  room: number;
  roomName: string;
  studentA: string;
  studentB: string;
  exercise: string;
  title: string;
  current: boolean;
  percent: number;
  goals: string;
  questions: string;
  complete: boolean;
  minutes: number;
}

/** The engine settings of one endpoint in an exercise (the profile, the shared and the seat's). */
function exerciseHost(ex: Exercise, seat: 'A' | 'B'): Partial<TcpConfig> {
  const { seed: _seed, ...config } = hostConfig(ex, seat) as TcpConfig & { seed?: number };
  return config;
}

/** A goal's line as sent (shared/protocol/exercises.ts `GoalStatus`): its evidence, not its bare segment ids. */
function goalStatus(g: GoalResult): GoalStatus {
  const { segments: _s, ...rest } = g;
  return rest;
}

function mapValues<T, U>(o: Record<string, T>, f: (v: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
}
