/**
 * The exercise file format (JSON, one exercise per file in `exercises/`), documented in
 * docs/exercises.md. An exercise is: words for the students (title, explanation, each seat's
 * steps), a preset network in the scenario format's terms (`shared/sim/scenario.ts`), goals that
 * are predicates over the simulator's trace (`shared/sim/trace.ts`), questions, and optionally an
 * intended solution the test suite runs.
 */
import type { FaultRule } from '../sim/faults.ts';
import type { LinkSettings } from '../sim/link.ts';
import type { NetStep, ProfileName, Step } from '../sim/scenario.ts';
import type { SegmentEventKind } from '../sim/trace.ts';
import type { TcpConfig } from '../tcp/config.ts';
import type {
  CallOp,
  CcPhase,
  DiscardReason,
  Errno,
  SendReason,
  ShutdownHow,
  SockOpt,
  TcpState,
  TimerKind,
} from '../tcp/types.ts';
import type { Localized } from './text.ts';

/** The two seats of a room, and the two hosts of every exercise. */
export type Seat = 'A' | 'B';

export const SEATS: readonly Seat[] = ['A', 'B'];

export interface Exercise {
  /** Stable name, by default the file's name without `.json` (`lose-third`). */
  id: string;
  /** Place in the catalogue (lower first); exercises without one come last. */
  order?: number;
  title: Localized;
  /** One line for the catalogue. */
  summary: Localized;
  /** The short explanation shown beside the steps: what to look at and why it happens. */
  explanation: Localized;
  /** Free keywords for filtering the catalogue (`close`, `loss`, `time-wait`…). */
  topics: string[];
  /** The network the room starts with. */
  setup: Setup;
  /** What each seat does, in order. */
  seats: Record<Seat, SeatPlan>;
  goals: Goal[];
  questions: Question[];
  /** The intended run, as timed scenario steps; the test suite checks it meets every goal. */
  solution?: Solution;
}

/** The scenario format's network fields (hosts are always A and B, at the room's addresses). */
export interface Setup {
  profile?: ProfileName;
  config?: Partial<TcpConfig>;
  hosts?: Partial<Record<Seat, { config?: Partial<TcpConfig> }>>;
  link?: Partial<LinkSettings>;
  /** Per direction, keyed "A->B" or "B->A". */
  links?: Partial<Record<'A->B' | 'B->A', Partial<LinkSettings>>>;
  /** Fault rules active from the start. */
  faults?: FaultRule[];
  /** Start with both directions in hold mode (every segment waits to be released). */
  hold?: boolean;
  /** Seed of the link's and hosts' random streams (default 1). */
  seed?: number;
}

export interface SeatPlan {
  /** Who this seat plays ("the client", "the web server"). */
  role: Localized;
  steps: SeatStep[];
}

/** A step written for a student; `action` is the call or network action it asks for, if any. */
export interface SeatStep {
  text: Localized;
  action?: SeatAction;
}

/**
 * A socket call as a scenario step without `at` and `host` (the seat is the host), or a network
 * action as a scenario step without `at`. Descriptor names bound with `as` are the seat's own.
 */
export type SeatAction = DistributiveOmit<Exclude<Step, NetStep>, 'at' | 'host'> | Omit<NetStep, 'at'>;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface Solution {
  seed?: number;
  /** Run until this virtual time (ms). */
  until: number;
  steps: Step[];
}

// ---------------------------------------------------------------------------------------------
// Patterns: what one trace event must look like.

/** A segment event. Every field given must hold; `event` defaults to `send`. */
export interface SegmentPattern {
  kind: 'segment';
  from?: Seat;
  to?: Seat;
  /** What happened to it on the network (default `send`: the host put it on the wire). */
  event?: SegmentEventKind;
  /** Carries every one of these flags… */
  flags?: string[];
  /** …and none of these. */
  noFlags?: string[];
  /** The engine's reason for sending it (one, or any of a list). */
  why?: SendReason | SendReason[];
  /** true: a retransmission; false: a first transmission. */
  rexmit?: boolean;
  /** true: carries payload; false: carries none. */
  data?: boolean;
  len?: number;
  /** Sequence number relative to the sender's ISN. */
  rseq?: number;
  /** Acknowledgment number relative to the receiver's ISN. */
  rack?: number;
  win?: number;
  /** Carries this TCP option (`mss`, `wscale`, `sack-permitted`, `timestamps`, `sack`). */
  option?: string;
  /** Acknowledges the other side's SYN or FIN (its ACK number is that segment's seq + 1). */
  acks?: 'SYN' | 'FIN';
  /** The nth match in the trace (1-based), instead of any. */
  nth?: number;
}

/** A retransmission: a segment pattern whose `rexmit` is true. */
export interface RetransmissionPattern extends Omit<SegmentPattern, 'kind' | 'rexmit'> {
  kind: 'retransmission';
}

/** A socket of `host` entering `state`. */
export interface StatePattern {
  kind: 'state-reached';
  host?: Seat;
  state: TcpState;
  /** …from this state. */
  from?: TcpState;
  nth?: number;
}

/** A socket call and its result. Its place in the trace is when it was made, or with `when: 'return'`, when it returned. */
export interface CallPattern {
  kind: 'call';
  host?: Seat;
  op: CallOp;
  /** shutdown(): which direction. */
  how?: ShutdownHow;
  /** setsockopt()/getsockopt(): which option. */
  opt?: SockOpt;
  /** true: returned success; false: returned an error. */
  ok?: boolean;
  /** Returned this error. */
  errno?: Errno;
  /** recv(): true when it returned end-of-file (0 bytes), false when it returned data. */
  eof?: boolean;
  when?: 'call' | 'return';
  nth?: number;
}

/** An arriving segment that TCP threw away. */
export interface DiscardPattern {
  kind: 'discard';
  host?: Seat;
  reason?: DiscardReason;
  nth?: number;
}

export interface TimerPattern {
  kind: 'timer';
  host?: Seat;
  timer: TimerKind;
  action?: 'set' | 'fire' | 'cancel';
  nth?: number;
}

/** A congestion-control update. */
export interface CcPattern {
  kind: 'cc';
  host?: Seat;
  phase?: CcPhase;
  /** cwnd (bytes) at least / at most. */
  minCwnd?: number;
  maxCwnd?: number;
  nth?: number;
}

export type Pattern =
  | SegmentPattern
  | RetransmissionPattern
  | StatePattern
  | CallPattern
  | DiscardPattern
  | TimerPattern
  | CcPattern;

export type PatternKind = Pattern['kind'];

// ---------------------------------------------------------------------------------------------
// Predicates and goals.

/** How many matching events a pattern goal needs: at least `min` (default 1), at most `max`. */
export interface Count {
  min?: number;
  max?: number;
}

/** "first" happens, and later "then" happens (with the same values of the `same` fields). */
export interface OrderPredicate {
  kind: 'order';
  first: Pattern;
  then: Pattern;
  /** Fields both events must share: a connection (`conn`), a sequence number (`seq`)… */
  same?: SameField[];
}

export type SameField = 'conn' | 'seq' | 'ack' | 'host' | 'sock';

/** No event matches `event` (before the first `before` event, which must happen). */
export interface AbsentPredicate {
  kind: 'absent';
  event: Pattern;
  before?: Pattern;
}

/** Shorthand for `absent` of a segment: the segment pattern's fields plus `before`. */
export interface NoSegmentPredicate extends Omit<SegmentPattern, 'kind' | 'nth'> {
  kind: 'no-segment';
  before?: Pattern;
}

/**
 * A time in ms, or an expression of the exercise's engine settings: `"2*MSL"`, `"MSL"`,
 * `"3*RTO_MIN"`, `"1.5*RTO_INITIAL"`, `"FIN_TIMEOUT"`.
 */
export type Amount = number | string;

/** How long a socket of `host` stayed in `state` (entered and left). */
export interface DurationPredicate {
  kind: 'duration';
  host: Seat;
  state: TcpState;
  equals?: Amount;
  min?: Amount;
  max?: Amount;
  /** Allowed difference for `equals`, in ms (default 1). */
  tolerance?: number;
}

/** At some moment at least `min` sockets of `host` were in `state` at once. */
export interface ConcurrentPredicate {
  kind: 'concurrent';
  host: Seat;
  state: TcpState;
  min: number;
}

export interface AllPredicate {
  kind: 'all';
  goals: Predicate[];
}

export interface AnyPredicate {
  kind: 'any';
  goals: Predicate[];
}

export type Predicate =
  | (Pattern & Count)
  | OrderPredicate
  | AbsentPredicate
  | NoSegmentPredicate
  | DurationPredicate
  | ConcurrentPredicate
  | AllPredicate
  | AnyPredicate;

export type PredicateKind = Predicate['kind'];

/** A goal: a predicate with a name and the words for its checklist line. */
export type Goal = Predicate & {
  id: string;
  text: Localized;
  /** The teacher's hint, appended to the explanation while the goal is unmet. */
  hint?: Localized;
};

// ---------------------------------------------------------------------------------------------
// Questions.

interface QuestionBase {
  id: string;
  prompt: Localized;
  /** Shown once the question is answered correctly. */
  explanation?: Localized;
}

export interface ChoiceQuestion extends QuestionBase {
  kind: 'choice';
  options: Array<{ id: string; text: Localized }>;
  /** The right option, or the exact set of right options. */
  answer: string | string[];
}

export interface NumberQuestion extends QuestionBase {
  kind: 'number';
  answer: Amount;
  /** Allowed difference (default 0). */
  tolerance?: number;
  /** Shown next to the input box (`ms`, `bytes`). */
  unit?: string;
}

export interface TextQuestion extends QuestionBase {
  kind: 'text';
  /** Accepted answers; compared without case, spaces, `_`/`-` differences or full-width forms. */
  accept: string[];
}

/** The fields of a segment a question can ask for. */
export type SegmentField =
  | 'flags'
  | 'seq'
  | 'ack'
  | 'rseq'
  | 'rack'
  | 'len'
  | 'win'
  | 'sport'
  | 'dport'
  | 'checksum'
  | 'mss'
  | 'dataOffset';

/** Read a field of a real segment in the trace (the first matching one). */
export interface SegmentFieldQuestion extends QuestionBase {
  kind: 'segment-field';
  segment: SegmentPattern | RetransmissionPattern;
  field: SegmentField;
}

export type PredictField = 'flags' | 'rseq' | 'rack' | 'len' | 'win';

/**
 * Predict the next segment `host` sends after the first `after` event (optionally only segments
 * matching `segment`), before it happens. Checked against the trace once it has happened.
 */
export interface PredictQuestion extends QuestionBase {
  kind: 'predict';
  host: Seat;
  after: Pattern;
  segment?: Omit<SegmentPattern, 'kind' | 'from' | 'nth'>;
  fields: PredictField[];
  /** What the intended solution sends (checked by the test suite; never used for grading). */
  expected?: PredictAnswer;
}

export interface PredictAnswer {
  flags?: string[];
  rseq?: number;
  rack?: number;
  len?: number;
  win?: number;
}

export type Question =
  | ChoiceQuestion
  | NumberQuestion
  | TextQuestion
  | SegmentFieldQuestion
  | PredictQuestion;

export type QuestionKind = Question['kind'];

/** A student's answer: an option id (or ids), a number, a text, or a predicted segment. */
export type Answer = string | number | string[] | PredictAnswer;
