/**
 * Loading exercise files: JSON syntax, then every field checked, each problem reported with the
 * file and the path of the field, e.g.
 * `exercises/lose-third.json: goals[2].kind: unknown goal kind "reachd" (did you mean "state-reached"?)`.
 * The network parts (setup, seat actions, solution steps) are checked by the scenario validator,
 * so an exercise accepts exactly what a scenario file accepts.
 */
import { SEND_REASONS } from '../sim/faults.ts';
import { CALL_OPS, NET_OPS, validateScenario } from '../sim/scenario.ts';
import type { SegmentEventKind } from '../sim/trace.ts';
import { FLAG_NAMES } from '../tcp/packet.ts';
import {
  type CcPhase,
  type DiscardReason,
  ERRNO_TEXT,
  type ShutdownHow,
  type SockOpt,
  TCP_STATES,
  type TimerKind,
} from '../tcp/types.ts';
import type { Exercise, PatternKind, PredicateKind, QuestionKind } from './format.ts';
import { checkAmount } from './settings.ts';
import { LANGS } from './text.ts';

export type ParseExerciseResult = { ok: true; exercise: Exercise } | { ok: false; errors: string[] };

export interface LoadedExercises {
  /** The good exercises, in the order of the files given (then by `order` when set). */
  exercises: Exercise[];
  /** One line per problem: `file: field: what is wrong`. Files with problems are skipped. */
  errors: string[];
}

/** Loads many files: each bad file is reported and skipped, duplicate ids keep the first. */
export function loadExercises(files: ReadonlyArray<{ name: string; text: string }>): LoadedExercises {
  const exercises: Exercise[] = [];
  const errors: string[] = [];
  const seen = new Map<string, string>();
  for (const f of files) {
    const r = parseExercise(f.name, f.text);
    if (!r.ok) {
      errors.push(...r.errors);
      continue;
    }
    const prev = seen.get(r.exercise.id);
    if (prev !== undefined) {
      errors.push(`${f.name}: id: "${r.exercise.id}" is already the id of ${prev}; this file is skipped`);
      continue;
    }
    seen.set(r.exercise.id, f.name);
    exercises.push(r.exercise);
  }
  const rank = (e: Exercise) => e.order ?? Number.POSITIVE_INFINITY;
  exercises.sort((a, b) => rank(a) - rank(b));
  return { exercises, errors };
}

/** The default id of a file: its name without folders and `.json`. */
export function idFromFileName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? name;
  return base.replace(/\.json$/i, '');
}

/** Parses and checks one exercise file. Every error starts with `fileName: `. */
export function parseExercise(fileName: string, text: string): ParseExerciseResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, errors: [`${fileName}: not valid JSON: ${jsonErrorText(e as Error, text)}`] };
  }
  const errors = validateExercise(json, idFromFileName(fileName));
  if (errors.length > 0) return { ok: false, errors: errors.map((m) => `${fileName}: ${m}`) };
  const ex = json as Exercise;
  if (ex.id === undefined) ex.id = idFromFileName(fileName);
  ex.topics ??= [];
  ex.questions ??= [];
  return { ok: true, exercise: ex };
}

/** JSON.parse's message with a line and column instead of a character offset. */
function jsonErrorText(e: Error, text: string): string {
  const m = /position (\d+)/.exec(e.message);
  if (!m) return e.message;
  const pos = Number(m[1]);
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const col = pos - before.lastIndexOf('\n');
  return `${e.message.replace(/\s*\(line \d+ column \d+\)/, '')} (line ${line}, column ${col})`;
}

// ---------------------------------------------------------------------------------------------
// Vocabularies.

const DISCARD_REASONS = Object.keys({
  'bad-packet': 1,
  'not-for-us': 1,
  'no-socket': 1,
  unacceptable: 1,
  'rst-out-of-window': 1,
  'syn-queue-full': 1,
  'accept-queue-full': 1,
  'bad-ack': 1,
  'old-duplicate': 1,
  closed: 1,
} satisfies Record<DiscardReason, 1>);

const TIMER_KINDS = Object.keys({
  retransmit: 1,
  persist: 1,
  'delayed-ack': 1,
  'time-wait': 1,
  'fin-wait-2': 1,
  keepalive: 1,
  linger: 1,
} satisfies Record<TimerKind, 1>);

const CC_PHASES = Object.keys({
  'slow-start': 1,
  'congestion-avoidance': 1,
  'fast-recovery': 1,
  'loss-recovery': 1,
} satisfies Record<CcPhase, 1>);

const SEGMENT_EVENTS = Object.keys({
  send: 1,
  arrive: 1,
  drop: 1,
  dup: 1,
  hold: 1,
  release: 1,
  delay: 1,
  corrupt: 1,
} satisfies Record<SegmentEventKind, 1>);

const HOWS: readonly ShutdownHow[] = ['SHUT_RD', 'SHUT_WR', 'SHUT_RDWR'];
const SOCK_OPTS = Object.keys({
  SO_LINGER: 1,
  SO_REUSEADDR: 1,
  SO_RCVBUF: 1,
  SO_SNDBUF: 1,
  SO_KEEPALIVE: 1,
  SO_ERROR: 1,
  TCP_NODELAY: 1,
  TCP_MAXSEG: 1,
  TCP_CORK: 1,
  TCP_USER_TIMEOUT: 1,
  O_NONBLOCK: 1,
} satisfies Record<SockOpt, 1>);
const FLAGS = FLAG_NAMES.map(([, n]) => n);
const OPTIONS = ['mss', 'wscale', 'sack-permitted', 'sack', 'timestamps'];
const SEATS = ['A', 'B'];
const SAME_FIELDS = ['conn', 'seq', 'ack', 'host', 'sock'];

const PATTERN_FIELDS: Record<PatternKind, readonly string[]> = {
  segment: [
    'from',
    'to',
    'event',
    'flags',
    'noFlags',
    'why',
    'rexmit',
    'data',
    'len',
    'rseq',
    'rack',
    'win',
    'option',
    'acks',
    'nth',
  ],
  retransmission: [
    'from',
    'to',
    'event',
    'flags',
    'noFlags',
    'why',
    'data',
    'len',
    'rseq',
    'rack',
    'win',
    'option',
    'acks',
    'nth',
  ],
  'state-reached': ['host', 'state', 'from', 'nth'],
  call: ['host', 'op', 'how', 'opt', 'ok', 'errno', 'eof', 'when', 'nth'],
  discard: ['host', 'reason', 'nth'],
  timer: ['host', 'timer', 'action', 'nth'],
  cc: ['host', 'phase', 'minCwnd', 'maxCwnd', 'nth'],
};

const PATTERN_KINDS = Object.keys(PATTERN_FIELDS) as PatternKind[];

const PREDICATE_FIELDS: Record<Exclude<PredicateKind, PatternKind>, readonly string[]> = {
  order: ['first', 'then', 'same'],
  absent: ['event', 'before'],
  'no-segment': [...PATTERN_FIELDS.segment.filter((f) => f !== 'nth'), 'before'],
  duration: ['host', 'state', 'equals', 'min', 'max', 'tolerance'],
  concurrent: ['host', 'state', 'min'],
  all: ['goals'],
  any: ['goals'],
};

const PREDICATE_KINDS = [...PATTERN_KINDS, ...Object.keys(PREDICATE_FIELDS)] as PredicateKind[];

const QUESTION_FIELDS: Record<QuestionKind, readonly string[]> = {
  choice: ['options', 'answer'],
  number: ['answer', 'tolerance', 'unit'],
  text: ['accept'],
  'segment-field': ['segment', 'field'],
  predict: ['host', 'after', 'segment', 'fields', 'expected'],
};

const SEGMENT_FIELDS = [
  'flags',
  'seq',
  'ack',
  'rseq',
  'rack',
  'len',
  'win',
  'sport',
  'dport',
  'checksum',
  'mss',
  'dataOffset',
];
const PREDICT_FIELDS = ['flags', 'rseq', 'rack', 'len', 'win'];

const TOP_FIELDS = [
  '$schema',
  '$comment',
  'id',
  'order',
  'title',
  'summary',
  'explanation',
  'topics',
  'setup',
  'seats',
  'goals',
  'questions',
  'solution',
];
const SETUP_FIELDS = ['profile', 'config', 'hosts', 'link', 'links', 'faults', 'hold', 'seed'];

// ---------------------------------------------------------------------------------------------
// Checks.

/** Every problem of an exercise value, each `path: what is wrong`. */
export function validateExercise(json: unknown, defaultId = 'exercise'): string[] {
  const errors: string[] = [];
  if (!isObject(json)) return ['must be a JSON object (an exercise)'];
  const ex = json;
  unknownFields(ex, TOP_FIELDS, '', errors);
  if (ex.id !== undefined && !(typeof ex.id === 'string' && /^[a-z0-9][a-z0-9-]{0,63}$/.test(ex.id))) {
    errors.push('id: must be lower-case letters, digits and -, like "lose-third"');
  }
  if (ex.order !== undefined && !(typeof ex.order === 'number' && Number.isFinite(ex.order))) {
    errors.push("order: must be a number (the exercise's place in the catalogue)");
  }
  for (const k of ['title', 'summary', 'explanation'] as const) checkLocalized(ex[k], k, errors, true);
  if (
    ex.topics !== undefined &&
    !(Array.isArray(ex.topics) && ex.topics.every((t) => typeof t === 'string'))
  ) {
    errors.push('topics: must be a list of strings');
  }
  const name = typeof ex.id === 'string' ? ex.id : defaultId;

  // Setup: validated as a scenario without steps.
  const setup = ex.setup ?? {};
  if (!isObject(setup)) errors.push('setup: must be an object (engine config, link settings, faults)');
  else {
    unknownFields(setup, SETUP_FIELDS, 'setup', errors);
    if (setup.hosts !== undefined) {
      if (!isObject(setup.hosts))
        errors.push('setup.hosts: must be an object keyed by seat, like {"B": {"config": {…}}}');
      else {
        for (const [h, decl] of Object.entries(setup.hosts)) {
          if (!SEATS.includes(h)) errors.push(`setup.hosts.${h}: the hosts of an exercise are A and B`);
          else if (isObject(decl)) unknownFields(decl, ['config'], `setup.hosts.${h}`, errors);
        }
      }
    }
    const scenario = setupScenario(setup, name, []);
    const r = validateScenario(scenario);
    if (!r.ok) {
      for (const m of r.errors) if (!/^(name|until|steps)\b/.test(m)) errors.push(`setup.${m}`);
    }
  }

  // Seats.
  if (!isObject(ex.seats)) errors.push('seats: missing (an object with "A" and "B", each {role, steps})');
  else {
    unknownFields(ex.seats, SEATS, 'seats', errors);
    for (const seat of SEATS) {
      const plan = ex.seats[seat];
      const path = `seats.${seat}`;
      if (!isObject(plan)) {
        errors.push(`${path}: missing (an object {role, steps})`);
        continue;
      }
      unknownFields(plan, ['role', 'steps'], path, errors);
      checkLocalized(plan.role, `${path}.role`, errors, true);
      if (!Array.isArray(plan.steps) || plan.steps.length === 0) {
        errors.push(`${path}.steps: must be a non-empty list of steps`);
        continue;
      }
      errors.push(...checkSeatSteps(plan.steps, seat, path, setup, name));
    }
  }

  // Goals.
  if (!Array.isArray(ex.goals) || ex.goals.length === 0)
    errors.push('goals: must be a non-empty list of goals');
  else {
    const ids = new Set<string>();
    ex.goals.forEach((g, i) => {
      const path = `goals[${i}]`;
      if (!isObject(g)) {
        errors.push(`${path}: must be an object {id, text, kind, …}`);
        return;
      }
      if (typeof g.id !== 'string' || g.id === '')
        errors.push(`${path}.id: missing (a short name for the goal)`);
      else if (ids.has(g.id)) errors.push(`${path}.id: "${g.id}" is used by an earlier goal`);
      else ids.add(g.id);
      checkLocalized(g.text, `${path}.text`, errors, true);
      if (g.hint !== undefined) checkLocalized(g.hint, `${path}.hint`, errors, false);
      checkPredicate(g, path, errors, ['id', 'text', 'hint'], 'goal');
    });
  }

  // Questions.
  if (ex.questions !== undefined) {
    if (!Array.isArray(ex.questions)) errors.push('questions: must be a list of questions');
    else {
      const ids = new Set<string>();
      ex.questions.forEach((q, i) => {
        const path = `questions[${i}]`;
        if (!isObject(q)) {
          errors.push(`${path}: must be an object {id, kind, prompt, …}`);
          return;
        }
        if (typeof q.id !== 'string' || q.id === '')
          errors.push(`${path}.id: missing (a short name for the question)`);
        else if (ids.has(q.id)) errors.push(`${path}.id: "${q.id}" is used by an earlier question`);
        else ids.add(q.id);
        checkQuestion(q, path, errors);
      });
    }
  }

  // Solution: the setup plus timed steps, validated as one scenario.
  if (ex.solution !== undefined) {
    const sol = ex.solution;
    if (!isObject(sol)) errors.push('solution: must be an object {until, steps}');
    else {
      unknownFields(sol, ['seed', 'until', 'steps'], 'solution', errors);
      if (isObject(setup)) {
        const scenario = setupScenario(setup, name, sol.steps, sol.until, sol.seed);
        const r = validateScenario(scenario);
        if (!r.ok) {
          for (const m of r.errors) if (/^(until|seed|steps)\b/.test(m)) errors.push(`solution.${m}`);
        }
      }
    }
  }
  return errors;
}

/** A scenario value from an exercise's setup (used for validation and by `exerciseScenario`). */
export function setupScenario(
  setup: Record<string, unknown>,
  name: string,
  steps: unknown,
  until: unknown = 1,
  seed: unknown = undefined,
): Record<string, unknown> {
  const s: Record<string, unknown> = { name, seed: seed ?? setup.seed ?? 1, until };
  for (const k of ['profile', 'config', 'link', 'links', 'faults', 'hold'] as const) {
    if (setup[k] !== undefined) s[k] = setup[k];
  }
  if (isObject(setup.hosts)) {
    const hosts: Record<string, unknown> = { A: {}, B: {} };
    for (const h of SEATS) {
      const decl = setup.hosts[h];
      if (isObject(decl) && decl.config !== undefined) hosts[h] = { config: decl.config };
    }
    s.hosts = hosts;
  }
  s.steps = steps;
  return s;
}

/** Seat steps: words, and actions checked as scenario steps of that seat. */
function checkSeatSteps(
  steps: unknown[],
  seat: string,
  path: string,
  setup: unknown,
  name: string,
): string[] {
  const errors: string[] = [];
  const scenarioSteps: unknown[] = [];
  const back: number[] = [];
  steps.forEach((st, i) => {
    const p = `${path}.steps[${i}]`;
    if (!isObject(st)) {
      errors.push(`${p}: must be an object {text, action?}`);
      return;
    }
    unknownFields(st, ['text', 'action'], p, errors);
    checkLocalized(st.text, `${p}.text`, errors, true);
    const a = st.action;
    if (a === undefined) return;
    if (!isObject(a)) {
      errors.push(`${p}.action: must be an object like {"op": "close", "fd": "conn"}`);
      return;
    }
    if ('at' in a) errors.push(`${p}.action.at: not used in a seat's steps (the student decides when)`);
    if ('host' in a) errors.push(`${p}.action.host: not used in a seat's steps (the seat is the host)`);
    const isCall = typeof a.op === 'string' && (CALL_OPS as readonly string[]).includes(a.op);
    const isNet = typeof a.op === 'string' && (NET_OPS as readonly string[]).includes(a.op);
    const { at: _at, host: _host, ...rest } = a;
    scenarioSteps.push(isCall || !isNet ? { ...rest, at: 0, host: seat } : { ...rest, at: 0 });
    back.push(i);
  });
  if (scenarioSteps.length === 0) return errors;
  const r = validateScenario(setupScenario(isObject(setup) ? setup : {}, name, scenarioSteps));
  if (!r.ok) {
    for (const m of r.errors) {
      const hit = /^steps\[(\d+)\](.*)$/.exec(m);
      if (!hit) continue;
      const rest = hit[2]!.replace(/^\.host: missing.*$/, ': missing');
      errors.push(`${path}.steps[${back[Number(hit[1])]}].action${rest}`);
    }
  }
  return errors;
}

function checkLocalized(v: unknown, path: string, errors: string[], required: boolean): void {
  if (v === undefined) {
    if (required) errors.push(`${path}: missing (text in both languages: {"en": "…", "zh-CN": "…"})`);
    return;
  }
  if (!isObject(v)) {
    errors.push(`${path}: must be {"en": "…", "zh-CN": "…"}`);
    return;
  }
  unknownFields(v, LANGS, path, errors);
  for (const lang of LANGS) {
    if (typeof v[lang] !== 'string' || (v[lang] as string).trim() === '') {
      errors.push(`${path}.${lang}: missing (the ${lang === 'en' ? 'English' : 'Chinese'} text)`);
    }
  }
}

function checkPattern(v: unknown, path: string, errors: string[]): void {
  if (!isObject(v)) {
    errors.push(`${path}: must be an event pattern like {"kind": "segment", "from": "A", "flags": ["FIN"]}`);
    return;
  }
  const kind = v.kind;
  if (typeof kind !== 'string' || !(PATTERN_KINDS as readonly string[]).includes(kind)) {
    errors.push(
      `${path}.kind: ${kind === undefined ? 'missing' : `unknown pattern kind ${JSON.stringify(kind)}`}${suggest(kind, PATTERN_KINDS)} (one of ${PATTERN_KINDS.join(', ')})`,
    );
    return;
  }
  unknownFields(v, ['kind', ...PATTERN_FIELDS[kind as PatternKind]], path, errors, ` for ${kind}`);
  checkPatternFields(v, kind as PatternKind, path, errors);
}

function checkPatternFields(
  v: Record<string, unknown>,
  kind: PatternKind,
  path: string,
  errors: string[],
): void {
  const oneOf = (k: string, values: readonly string[], required = false) => {
    if (v[k] === undefined) {
      if (required) errors.push(`${path}.${k}: missing (one of ${values.join(', ')})`);
    } else if (typeof v[k] !== 'string' || !values.includes(v[k] as string)) {
      errors.push(
        `${path}.${k}: unknown value ${JSON.stringify(v[k])}${suggest(v[k], values)} (one of ${values.join(', ')})`,
      );
    }
  };
  const bool = (k: string) => {
    if (v[k] !== undefined && typeof v[k] !== 'boolean') errors.push(`${path}.${k}: must be true or false`);
  };
  const count = (k: string, min = 0) => {
    if (v[k] !== undefined && !(Number.isInteger(v[k]) && (v[k] as number) >= min)) {
      errors.push(`${path}.${k}: must be an integer >= ${min}`);
    }
  };
  const flagList = (k: string) => {
    const f = v[k];
    if (f === undefined) return;
    if (!Array.isArray(f)) {
      errors.push(`${path}.${k}: must be a list of flag names like ["FIN", "ACK"]`);
      return;
    }
    f.forEach((x, i) => {
      if (typeof x !== 'string' || !FLAGS.includes(x.toUpperCase())) {
        errors.push(`${path}.${k}[${i}]: unknown flag ${JSON.stringify(x)} (flags: ${FLAGS.join(' ')})`);
      }
    });
  };
  count('nth', 1);
  switch (kind) {
    case 'segment':
    case 'retransmission':
      oneOf('from', SEATS);
      oneOf('to', SEATS);
      oneOf('event', SEGMENT_EVENTS);
      flagList('flags');
      flagList('noFlags');
      if (v.why !== undefined) {
        const whys = Array.isArray(v.why) ? v.why : [v.why];
        whys.forEach((w) => {
          if (typeof w !== 'string' || !(SEND_REASONS as readonly string[]).includes(w)) {
            errors.push(
              `${path}.why: unknown send reason ${JSON.stringify(w)}${suggest(w, SEND_REASONS)} (reasons: ${SEND_REASONS.join(', ')})`,
            );
          }
        });
      }
      bool('rexmit');
      bool('data');
      for (const k of ['len', 'rseq', 'rack', 'win']) count(k);
      oneOf('option', OPTIONS);
      oneOf('acks', ['SYN', 'FIN']);
      break;
    case 'state-reached':
      oneOf('host', SEATS);
      oneOf('state', TCP_STATES, true);
      oneOf('from', TCP_STATES);
      break;
    case 'call':
      oneOf('host', SEATS);
      oneOf('op', CALL_OPS, true);
      oneOf('how', HOWS);
      oneOf('opt', SOCK_OPTS);
      bool('ok');
      bool('eof');
      oneOf('errno', Object.keys(ERRNO_TEXT));
      oneOf('when', ['call', 'return']);
      if (v.eof !== undefined && v.op !== 'recv') errors.push(`${path}.eof: only a recv pattern has eof`);
      break;
    case 'discard':
      oneOf('host', SEATS);
      oneOf('reason', DISCARD_REASONS);
      break;
    case 'timer':
      oneOf('host', SEATS);
      oneOf('timer', TIMER_KINDS, true);
      oneOf('action', ['set', 'fire', 'cancel']);
      break;
    case 'cc':
      oneOf('host', SEATS);
      oneOf('phase', CC_PHASES);
      count('minCwnd');
      count('maxCwnd');
      break;
  }
}

function checkPredicate(
  v: Record<string, unknown>,
  path: string,
  errors: string[],
  extra: readonly string[],
  what: 'goal' | 'predicate',
): void {
  const kind = v.kind;
  if (typeof kind !== 'string' || !(PREDICATE_KINDS as readonly string[]).includes(kind)) {
    errors.push(
      `${path}.kind: ${kind === undefined ? 'missing' : `unknown ${what} kind ${JSON.stringify(kind)}`}${suggest(kind, PREDICATE_KINDS)} (one of ${PREDICATE_KINDS.join(', ')})`,
    );
    return;
  }
  if ((PATTERN_KINDS as readonly string[]).includes(kind)) {
    unknownFields(
      v,
      ['kind', ...extra, ...PATTERN_FIELDS[kind as PatternKind], 'min', 'max'],
      path,
      errors,
      ` for ${kind}`,
    );
    checkPatternFields(v, kind as PatternKind, path, errors);
    for (const k of ['min', 'max']) {
      if (v[k] !== undefined && !(Number.isInteger(v[k]) && (v[k] as number) >= 0)) {
        errors.push(`${path}.${k}: must be an integer >= 0 (a number of events)`);
      }
    }
    if (typeof v.min === 'number' && typeof v.max === 'number' && v.min > v.max) {
      errors.push(`${path}.max: is less than min`);
    }
    return;
  }
  const k = kind as Exclude<PredicateKind, PatternKind>;
  unknownFields(v, ['kind', ...extra, ...PREDICATE_FIELDS[k]], path, errors, ` for ${kind}`);
  switch (k) {
    case 'order':
      if (v.first === undefined) errors.push(`${path}.first: missing (the event that comes first)`);
      else checkPattern(v.first, `${path}.first`, errors);
      if (v.then === undefined) errors.push(`${path}.then: missing (the event that must follow)`);
      else checkPattern(v.then, `${path}.then`, errors);
      if (v.same !== undefined) {
        if (!Array.isArray(v.same)) errors.push(`${path}.same: must be a list of ${SAME_FIELDS.join(', ')}`);
        else
          v.same.forEach((s, i) => {
            if (typeof s !== 'string' || !SAME_FIELDS.includes(s))
              errors.push(
                `${path}.same[${i}]: unknown field ${JSON.stringify(s)} (one of ${SAME_FIELDS.join(', ')})`,
              );
          });
      }
      break;
    case 'absent':
      if (v.event === undefined) errors.push(`${path}.event: missing (the event that must not happen)`);
      else checkPattern(v.event, `${path}.event`, errors);
      if (v.before !== undefined) checkPattern(v.before, `${path}.before`, errors);
      break;
    case 'no-segment':
      checkPatternFields(v, 'segment', path, errors);
      if (v.before !== undefined) checkPattern(v.before, `${path}.before`, errors);
      break;
    case 'duration': {
      if (v.host === undefined || !SEATS.includes(v.host as string))
        errors.push(`${path}.host: must be A or B`);
      if (!TCP_STATES.includes(v.state as never)) {
        errors.push(
          `${path}.state: ${v.state === undefined ? 'missing' : `unknown state ${JSON.stringify(v.state)}`}${suggest(v.state, TCP_STATES)}`,
        );
      }
      if (v.equals === undefined && v.min === undefined && v.max === undefined) {
        errors.push(`${path}: a duration needs equals, min or max (ms, or like "2*MSL")`);
      }
      for (const a of ['equals', 'min', 'max']) {
        if (v[a] === undefined) continue;
        const problem = checkAmount(v[a]);
        if (problem) errors.push(`${path}.${a}: ${problem}`);
      }
      if (v.tolerance !== undefined && !(typeof v.tolerance === 'number' && v.tolerance >= 0)) {
        errors.push(`${path}.tolerance: must be a number of ms >= 0`);
      }
      break;
    }
    case 'concurrent':
      if (v.host === undefined || !SEATS.includes(v.host as string))
        errors.push(`${path}.host: must be A or B`);
      if (!TCP_STATES.includes(v.state as never)) {
        errors.push(
          `${path}.state: ${v.state === undefined ? 'missing' : `unknown state ${JSON.stringify(v.state)}`}${suggest(v.state, TCP_STATES)}`,
        );
      }
      if (!(Number.isInteger(v.min) && (v.min as number) >= 1))
        errors.push(`${path}.min: must be an integer >= 1`);
      break;
    case 'all':
    case 'any':
      if (!Array.isArray(v.goals) || v.goals.length === 0) {
        errors.push(`${path}.goals: must be a non-empty list of predicates`);
        break;
      }
      v.goals.forEach((g, i) => {
        if (!isObject(g)) errors.push(`${path}.goals[${i}]: must be an object {kind, …}`);
        else checkPredicate(g, `${path}.goals[${i}]`, errors, [], 'predicate');
      });
      break;
  }
}

function checkQuestion(q: Record<string, unknown>, path: string, errors: string[]): void {
  const kinds = Object.keys(QUESTION_FIELDS);
  if (typeof q.kind !== 'string' || !kinds.includes(q.kind)) {
    errors.push(
      `${path}.kind: ${q.kind === undefined ? 'missing' : `unknown question kind ${JSON.stringify(q.kind)}`}${suggest(q.kind, kinds)} (one of ${kinds.join(', ')})`,
    );
    return;
  }
  const kind = q.kind as QuestionKind;
  unknownFields(
    q,
    ['id', 'kind', 'prompt', 'explanation', ...QUESTION_FIELDS[kind]],
    path,
    errors,
    ` for ${kind}`,
  );
  checkLocalized(q.prompt, `${path}.prompt`, errors, true);
  if (q.explanation !== undefined) checkLocalized(q.explanation, `${path}.explanation`, errors, false);
  switch (kind) {
    case 'choice': {
      const ids: string[] = [];
      if (!Array.isArray(q.options) || q.options.length < 2)
        errors.push(`${path}.options: must list at least 2 options`);
      else
        q.options.forEach((o, i) => {
          const p = `${path}.options[${i}]`;
          if (!isObject(o)) {
            errors.push(`${p}: must be {id, text}`);
            return;
          }
          unknownFields(o, ['id', 'text'], p, errors);
          if (typeof o.id !== 'string' || o.id === '') errors.push(`${p}.id: missing`);
          else if (ids.includes(o.id)) errors.push(`${p}.id: "${o.id}" is used by an earlier option`);
          else ids.push(o.id);
          checkLocalized(o.text, `${p}.text`, errors, true);
        });
      const answers =
        typeof q.answer === 'string' ? [q.answer] : Array.isArray(q.answer) ? q.answer : undefined;
      if (!answers || answers.length === 0)
        errors.push(`${path}.answer: missing (an option id, or a list of them)`);
      else
        answers.forEach((a) => {
          if (typeof a !== 'string' || !ids.includes(a))
            errors.push(`${path}.answer: ${JSON.stringify(a)} is not an option id (${ids.join(', ')})`);
        });
      break;
    }
    case 'number': {
      if (q.answer === undefined) errors.push(`${path}.answer: missing (a number, or like "2*MSL")`);
      else {
        const problem = checkAmount(q.answer);
        if (problem) errors.push(`${path}.answer: ${problem}`);
      }
      if (q.tolerance !== undefined && !(typeof q.tolerance === 'number' && q.tolerance >= 0))
        errors.push(`${path}.tolerance: must be a number >= 0`);
      if (q.unit !== undefined && typeof q.unit !== 'string') errors.push(`${path}.unit: must be a string`);
      break;
    }
    case 'text':
      if (
        !Array.isArray(q.accept) ||
        q.accept.length === 0 ||
        !q.accept.every((a) => typeof a === 'string' && a.trim() !== '')
      ) {
        errors.push(`${path}.accept: must be a non-empty list of accepted answers`);
      }
      break;
    case 'segment-field':
      if (q.segment === undefined)
        errors.push(`${path}.segment: missing (which segment, as a segment pattern)`);
      else {
        checkPattern(q.segment, `${path}.segment`, errors);
        if (isObject(q.segment) && q.segment.kind !== 'segment' && q.segment.kind !== 'retransmission') {
          errors.push(`${path}.segment.kind: must be segment or retransmission`);
        }
      }
      if (typeof q.field !== 'string' || !SEGMENT_FIELDS.includes(q.field)) {
        errors.push(
          `${path}.field: must be one of ${SEGMENT_FIELDS.join(', ')}${suggest(q.field, SEGMENT_FIELDS)}`,
        );
      }
      break;
    case 'predict': {
      if (!SEATS.includes(q.host as string)) errors.push(`${path}.host: must be A or B (whose next segment)`);
      if (q.after === undefined)
        errors.push(`${path}.after: missing (the event after which the segment is sent)`);
      else checkPattern(q.after, `${path}.after`, errors);
      if (q.segment !== undefined) {
        if (!isObject(q.segment)) errors.push(`${path}.segment: must be segment pattern fields`);
        else {
          unknownFields(
            q.segment,
            PATTERN_FIELDS.segment.filter((f) => f !== 'from' && f !== 'nth'),
            `${path}.segment`,
            errors,
          );
          checkPatternFields(q.segment, 'segment', `${path}.segment`, errors);
        }
      }
      const fields = q.fields;
      if (!Array.isArray(fields) || fields.length === 0)
        errors.push(`${path}.fields: must list what to predict (${PREDICT_FIELDS.join(', ')})`);
      else
        fields.forEach((f, i) => {
          if (typeof f !== 'string' || !PREDICT_FIELDS.includes(f))
            errors.push(
              `${path}.fields[${i}]: unknown field ${JSON.stringify(f)} (one of ${PREDICT_FIELDS.join(', ')})`,
            );
        });
      if (q.expected !== undefined) {
        if (!isObject(q.expected))
          errors.push(`${path}.expected: must be an object like {"flags": ["ACK"], "rack": 2}`);
        else {
          unknownFields(q.expected, PREDICT_FIELDS, `${path}.expected`, errors);
          if (Array.isArray(fields)) {
            for (const f of fields) {
              if (typeof f === 'string' && q.expected[f] === undefined)
                errors.push(`${path}.expected.${f}: missing`);
            }
          }
        }
      }
      break;
    }
  }
}

function unknownFields(
  obj: Record<string, unknown>,
  allowed: readonly string[],
  path: string,
  errors: string[],
  what = '',
): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      errors.push(`${path ? `${path}.` : ''}${key}: unknown field${what}${suggest(key, allowed)}`);
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** ` (did you mean "x"?)` when a candidate, or a -separated part of one, is close to `word`. */
export function suggest(word: unknown, candidates: readonly string[]): string {
  if (typeof word !== 'string' || word === '') return '';
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestD = Math.min(3, Math.ceil(w.length / 2));
  for (const c of candidates) {
    const parts = [c, ...c.split('-')];
    for (const p of parts) {
      const d = editDistance(w, p.toLowerCase());
      if (d < bestD) {
        bestD = d;
        best = c;
      }
    }
  }
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
