/**
 * What students may see of an exercise: its words in one language, the steps, the goals'
 * checklist lines and the questions, without any answer (no right options, numbers, accepted
 * texts, expected segments or solution), so the server can send it to the browser as it is.
 */
import type { Exercise, PredictField, QuestionKind, Seat, SeatAction, SegmentField } from './format.ts';
import { type Lang, pick } from './text.ts';

export interface CatalogueEntry {
  id: string;
  order?: number;
  title: string;
  summary: string;
  topics: string[];
}

export interface QuestionView {
  id: string;
  kind: QuestionKind;
  prompt: string;
  /** choice: the options, and whether more than one is right. */
  options?: Array<{ id: string; text: string }>;
  multiple?: boolean;
  /** number: the unit shown next to the box. */
  unit?: string;
  /** segment-field: the field to read. */
  field?: SegmentField;
  /** predict: whose segment, and which fields to predict. */
  host?: Seat;
  fields?: PredictField[];
}

export interface ExerciseView extends CatalogueEntry {
  explanation: string;
  seats: Record<Seat, { role: string; steps: Array<{ text: string; action?: SeatAction }> }>;
  goals: Array<{ id: string; text: string }>;
  questions: QuestionView[];
}

/** One line of the catalogue. */
export function catalogueEntry(ex: Exercise, lang: Lang): CatalogueEntry {
  return {
    id: ex.id,
    ...(ex.order !== undefined ? { order: ex.order } : {}),
    title: pick(ex.title, lang),
    summary: pick(ex.summary, lang),
    topics: [...ex.topics],
  };
}

/** The exercise as a student sees it, in `lang`, without answers. */
export function exerciseView(ex: Exercise, lang: Lang): ExerciseView {
  const seat = (s: Seat) => ({
    role: pick(ex.seats[s].role, lang),
    steps: ex.seats[s].steps.map((st) => ({
      text: pick(st.text, lang),
      ...(st.action ? { action: JSON.parse(JSON.stringify(st.action)) as SeatAction } : {}),
    })),
  });
  return {
    ...catalogueEntry(ex, lang),
    explanation: pick(ex.explanation, lang),
    seats: { A: seat('A'), B: seat('B') },
    goals: ex.goals.map((g) => ({ id: g.id, text: pick(g.text, lang) })),
    questions: ex.questions.map((q): QuestionView => {
      const base = { id: q.id, kind: q.kind, prompt: pick(q.prompt, lang) };
      switch (q.kind) {
        case 'choice':
          return {
            ...base,
            options: q.options.map((o) => ({ id: o.id, text: pick(o.text, lang) })),
            multiple: Array.isArray(q.answer) && q.answer.length > 1,
          };
        case 'number':
          return { ...base, ...(q.unit ? { unit: q.unit } : {}) };
        case 'segment-field':
          return { ...base, field: q.field };
        case 'predict':
          return { ...base, host: q.host, fields: [...q.fields] };
        default:
          return base;
      }
    }),
  };
}
