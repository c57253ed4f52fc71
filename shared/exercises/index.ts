/**
 * Exercises: the catalogue's file format, loading with clear errors, automatic goal checks over
 * the simulator's trace, answer checking and progress. Isomorphic: the server and the web app
 * both use it. Documented in docs/exercises.md.
 */
export { ordinal } from './describe.ts';
export type {
  AbsentPredicate,
  AllPredicate,
  Amount,
  Answer,
  AnyPredicate,
  CallPattern,
  CcPattern,
  ChoiceQuestion,
  ConcurrentPredicate,
  Count,
  DiscardPattern,
  DurationPredicate,
  Exercise,
  Goal,
  NoSegmentPredicate,
  NumberQuestion,
  OrderPredicate,
  Pattern,
  PatternKind,
  Predicate,
  PredicateKind,
  PredictAnswer,
  PredictField,
  PredictQuestion,
  Question,
  QuestionKind,
  RetransmissionPattern,
  SameField,
  Seat,
  SeatAction,
  SeatPlan,
  SeatStep,
  SegmentField,
  SegmentFieldQuestion,
  SegmentPattern,
  Setup,
  Solution,
  StatePattern,
  TextQuestion,
  TimerPattern,
} from './format.ts';
export { SEATS } from './format.ts';
export {
  type CheckOptions,
  checkGoals,
  checkPredicate,
  type Evidence,
  type EvidenceEvent,
  type GoalResult,
  MAX_EVIDENCE,
  type Verdict,
} from './goals.ts';
export {
  idFromFileName,
  type LoadedExercises,
  loadExercises,
  type ParseExerciseResult,
  parseExercise,
  validateExercise,
} from './load.ts';
export { connOf, TraceIndex } from './match.ts';
export { computeProgress, type Progress } from './progress.ts';
export {
  type AnswerContext,
  type AnswerResult,
  type AnswerStatus,
  checkAnswer,
  normalizeText,
  predictedSegment,
  segmentFieldValue,
} from './questions.ts';
export { exerciseScenario, exerciseSetup, runExercise, solutionScenario } from './run.ts';
export { AMOUNT_NAMES, amountText, hostConfig, resolveAmount } from './settings.ts';
export { LANGS, type Lang, type Localized, pick, toLang } from './text.ts';
export {
  type CatalogueEntry,
  catalogueEntry,
  type ExerciseView,
  exerciseView,
  type QuestionView,
} from './view.ts';
