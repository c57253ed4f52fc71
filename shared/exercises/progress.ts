/**
 * A pair's progress (进度) on one exercise: goals met, questions answered, a percentage, and the
 * virtual time at which the last goal was met. Pure: the server stores what it returns.
 */
import type { Exercise } from './format.ts';
import type { GoalResult } from './goals.ts';
import type { AnswerResult } from './questions.ts';

export interface Progress {
  exerciseId: string;
  goalsMet: number;
  goalsTotal: number;
  /** Questions with a settled answer (right, wrong or late); pending predictions are not counted. */
  questionsAnswered: number;
  questionsCorrect: number;
  questionsTotal: number;
  /** Goals met plus questions answered correctly, over all goals and questions, 0–100. */
  percent: number;
  /** Every goal met and every question answered correctly. */
  complete: boolean;
  /** When every goal is met: the virtual time (ms) the last one became met. */
  goalsDoneAt?: number;
  /** Per goal and per question, for the dashboard. */
  goals: Record<string, boolean>;
  questions: Record<string, AnswerResult['status'] | 'unanswered'>;
}

/**
 * Progress from the goal results of `checkGoals` and the latest answer result per question id
 * (missing ids are unanswered).
 */
export function computeProgress(
  ex: Exercise,
  goals: readonly GoalResult[],
  answers: Readonly<Record<string, AnswerResult | undefined>>,
): Progress {
  const byId = new Map(goals.map((g) => [g.id, g]));
  const goalMap: Record<string, boolean> = {};
  let goalsMet = 0;
  let lastAt: number | undefined;
  for (const g of ex.goals) {
    const r = byId.get(g.id);
    const met = r?.met === true;
    goalMap[g.id] = met;
    if (met) {
      goalsMet++;
      if (r.at !== undefined) lastAt = Math.max(lastAt ?? 0, r.at);
    }
  }
  const questionMap: Record<string, AnswerResult['status'] | 'unanswered'> = {};
  let answered = 0;
  let correct = 0;
  for (const q of ex.questions) {
    const a = answers[q.id];
    questionMap[q.id] = a ? a.status : 'unanswered';
    if (a && (a.status === 'correct' || a.status === 'wrong' || a.status === 'late')) answered++;
    if (a?.status === 'correct') correct++;
  }
  const total = ex.goals.length + ex.questions.length;
  const done = goalsMet + correct;
  const out: Progress = {
    exerciseId: ex.id,
    goalsMet,
    goalsTotal: ex.goals.length,
    questionsAnswered: answered,
    questionsCorrect: correct,
    questionsTotal: ex.questions.length,
    percent: total === 0 ? 100 : Math.floor((100 * done) / total),
    complete: done === total,
    goals: goalMap,
    questions: questionMap,
  };
  if (goalsMet === ex.goals.length && ex.goals.length > 0 && lastAt !== undefined) out.goalsDoneAt = lastAt;
  return out;
}
