/**
 * Checking answers. Choice, number and text questions have their answer in the file; questions
 * about segments (`segment-field`, `predict`) are checked against the trace, so the answer is
 * whatever really happened in the pair's run. A prediction can be given before its segment
 * exists: it stays `pending` until the segment is sent, and is `late` if the student answered
 * after it was already on screen.
 */
import type { SegmentTrace, TraceEvent } from '../sim/trace.ts';
import { describePattern, segmentName } from './describe.ts';
import type {
  Exercise,
  PredictAnswer,
  PredictQuestion,
  Question,
  SegmentField,
  SegmentFieldQuestion,
} from './format.ts';
import { TraceIndex } from './match.ts';
import { resolveAmount } from './settings.ts';
import { type Lang, list, pick, say, tidy } from './text.ts';

export type AnswerStatus = 'correct' | 'wrong' | 'pending' | 'late' | 'invalid';

export interface AnswerResult {
  status: AnswerStatus;
  /** What to tell the student, in their language. */
  feedback: string;
  /** For questions about the trace, once settled: the value that really happened. */
  actual?: unknown;
  /** For `late` predictions: whether the late answer was right. */
  correct?: boolean;
}

export interface AnswerContext {
  /** The pair's trace so far (needed by segment-field and predict questions). */
  trace?: readonly TraceEvent[];
  /** How many trace events existed when the student answered (a prediction must come first). */
  answeredBefore?: number;
  /** For answers written as amounts (`"2*MSL"`). */
  exercise?: Pick<Exercise, 'setup'>;
}

/** Checks `answer` to `q`. */
export function checkAnswer(q: Question, answer: unknown, lang: Lang, ctx: AnswerContext = {}): AnswerResult {
  const r = check(q, answer, lang, ctx);
  return { ...r, feedback: tidy(lang, r.feedback) };
}

function check(q: Question, answer: unknown, lang: Lang, ctx: AnswerContext): AnswerResult {
  const t = (en: string, zh: string) => say(lang, en, zh);
  const done = (right: boolean, wrongWhy = ''): AnswerResult =>
    right
      ? { status: 'correct', feedback: q.explanation ? pick(q.explanation, lang) : t('Correct.', '正确。') }
      : {
          status: 'wrong',
          feedback: `${t('Not right.', '不对。')}${wrongWhy ? `${t(' ', '')}${wrongWhy}` : ''}`,
        };
  switch (q.kind) {
    case 'choice': {
      const ids = new Set(q.options.map((o) => o.id));
      const given = typeof answer === 'string' ? [answer] : Array.isArray(answer) ? answer : undefined;
      if (!given || given.length === 0 || given.some((a) => typeof a !== 'string' || !ids.has(a))) {
        return {
          status: 'invalid',
          feedback: t(
            `Choose among the options ${[...ids].join(', ')}.`,
            `请从选项 ${[...ids].join('、')} 中选择。`,
          ),
        };
      }
      const right = new Set(Array.isArray(q.answer) ? q.answer : [q.answer]);
      const chosen = new Set(given as string[]);
      const hits = [...chosen].filter((a) => right.has(a)).length;
      const ok = hits === right.size && chosen.size === right.size;
      if (ok || right.size === 1) return done(ok);
      return done(
        false,
        t(
          `${hits} of your ${chosen.size} choices are right, and there are ${right.size} right options.`,
          `你选的 ${chosen.size} 项中有 ${hits} 项正确，正确选项共有 ${right.size} 项。`,
        ),
      );
    }
    case 'number': {
      const v = toNumber(answer, q.unit);
      if (v === undefined) return { status: 'invalid', feedback: t('Enter a number.', '请输入一个数字。') };
      const want = resolveAmount(q.answer, ctx.exercise ?? { setup: {} });
      const tol = q.tolerance ?? 0;
      if (Math.abs(v - want) <= tol) return done(true);
      return done(false, v > want ? t('Too high.', '偏大。') : t('Too low.', '偏小。'));
    }
    case 'text': {
      if (typeof answer !== 'string' || answer.trim() === '')
        return { status: 'invalid', feedback: t('Type an answer.', '请输入答案。') };
      return done(q.accept.some((a) => normalizeText(a) === normalizeText(answer)));
    }
    case 'segment-field':
      return checkSegmentField(q, answer, lang, ctx);
    case 'predict':
      return checkPrediction(q, answer, lang, ctx);
  }
}

/** Compares texts without case, spaces, `_`/`-`, or full-width forms: "time_wait" = "TIME-WAIT". */
export function normalizeText(s: string): string {
  return s
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\s_\-·.,，。、]+/g, '');
}

/** A number from a number or a string ("4,000", "4000 ms", "0x1f"); undefined when it is not one. */
function toNumber(a: unknown, unit?: string): number | undefined {
  if (typeof a === 'number') return Number.isFinite(a) ? a : undefined;
  if (typeof a !== 'string') return undefined;
  let s = a
    .normalize('NFKC')
    .trim()
    .replace(/[,_\s]/g, '');
  if (unit && s.toLowerCase().endsWith(unit.toLowerCase())) s = s.slice(0, -unit.length);
  if (/^0x[0-9a-f]+$/i.test(s)) return Number.parseInt(s.slice(2), 16);
  if (!/^-?\d+(\.\d+)?$/.test(s)) return undefined;
  return Number(s);
}

/** Every reading of a checksum answer: decimal, and hexadecimal ("bce1", "0xBCE1", "bc e1"). */
function checksumReadings(a: unknown): number[] {
  if (typeof a === 'number') return Number.isInteger(a) ? [a] : [];
  if (typeof a !== 'string') return [];
  const s = a.normalize('NFKC').trim().toLowerCase().replace(/\s+/g, '');
  const out: number[] = [];
  if (/^\d+$/.test(s)) out.push(Number(s));
  const hex = s.startsWith('0x') ? s.slice(2) : s;
  if (/^[0-9a-f]{1,4}$/.test(hex)) out.push(Number.parseInt(hex, 16));
  return out;
}

/** The value of `field` in segment `e`, reading the packet bytes for checksum and data offset. */
export function segmentFieldValue(e: SegmentTrace, field: SegmentField): number | string[] | undefined {
  switch (field) {
    case 'flags':
      return e.flags;
    case 'mss': {
      const o = e.options.find((x) => x.kind === 'mss');
      return o && o.kind === 'mss' ? o.value : undefined;
    }
    case 'checksum':
    case 'dataOffset': {
      // The packet as raw bytes (a room's live trace) or as hex (a recorded one).
      const raw = e.bytes;
      const hex = e.hex;
      if (raw === undefined && hex === undefined) return undefined;
      const at = (i: number) => (raw ? raw[i]! : Number.parseInt(hex!.slice(2 * i, 2 * i + 2), 16));
      const ihl = (at(0) & 0x0f) * 4;
      return field === 'checksum' ? (at(ihl + 16) << 8) | at(ihl + 17) : at(ihl + 12) >> 4;
    }
    default:
      return e[field];
  }
}

function sameFlags(a: readonly string[], b: readonly string[]): boolean {
  // PSH only says "deliver now"; whether a stack sets it is a harmless difference.
  const norm = (x: readonly string[]) =>
    [...new Set(x.map((f) => f.toUpperCase()).filter((f) => f !== 'PSH'))].sort().join(',');
  return norm(a) === norm(b);
}

function toFlags(a: unknown): string[] | undefined {
  if (Array.isArray(a) && a.every((x) => typeof x === 'string')) return a as string[];
  if (typeof a === 'string') return a.split(/[\s,+|/]+/).filter((x) => x !== '');
  return undefined;
}

function checkSegmentField(
  q: SegmentFieldQuestion,
  answer: unknown,
  lang: Lang,
  ctx: AnswerContext,
): AnswerResult {
  const t = (en: string, zh: string) => say(lang, en, zh);
  const ix = new TraceIndex(ctx.trace ?? []);
  const hit = ix.find(q.segment)[0];
  if (hit === undefined) {
    return {
      status: 'pending',
      feedback: t(
        `There is no ${describePattern(q.segment, 'en').replace(/^an? /, '')} in the timeline yet.`,
        `时间线上还没有${describePattern(q.segment, 'zh-CN')}。`,
      ),
    };
  }
  const e = ix.sendOf((ix.events[hit] as SegmentTrace).id) ?? (ix.events[hit] as SegmentTrace);
  const actual = segmentFieldValue(e, q.field);
  if (actual === undefined) {
    return {
      status: 'invalid',
      feedback: t(
        `Segment #${e.id} has no ${q.field} to read in this trace.`,
        `报文段 #${e.id} 在此 trace 中没有可读的 ${q.field}。`,
      ),
    };
  }
  const ok = (right: boolean, hint = ''): AnswerResult =>
    right
      ? {
          status: 'correct',
          actual,
          feedback: q.explanation ? pick(q.explanation, lang) : t('Correct.', '正确。'),
        }
      : { status: 'wrong', feedback: `${t('Not right.', '不对。')}${hint ? `${t(' ', '')}${hint}` : ''}` };
  const where = t(`Look at ${segmentName(e, 'en')} again.`, `请再看一下 ${segmentName(e, 'zh-CN')}。`);
  if (q.field === 'flags') {
    const f = toFlags(answer);
    if (!f)
      return {
        status: 'invalid',
        feedback: t('List the flags, e.g. SYN,ACK.', '请列出标志位，例如 SYN,ACK。'),
      };
    return ok(sameFlags(f, actual as string[]), where);
  }
  if (q.field === 'checksum') {
    const readings = checksumReadings(answer);
    if (readings.length === 0)
      return {
        status: 'invalid',
        feedback: t('Enter the checksum, e.g. 0x1a2b.', '请输入校验和，例如 0x1a2b。'),
      };
    return ok(readings.includes(actual as number), where);
  }
  const v = toNumber(answer);
  if (v === undefined) return { status: 'invalid', feedback: t('Enter a number.', '请输入一个数字。') };
  if (q.field === 'dataOffset' && v === (actual as number) * 4) {
    return ok(
      false,
      t(
        'That is the header length in bytes; the Data Offset field counts 32-bit words.',
        '这是以字节为单位的首部长度；Data Offset 字段以 32 位字（4 字节）为单位。',
      ),
    );
  }
  return ok(v === actual, where);
}

const PREDICT_FIELDS = ['flags', 'rseq', 'rack', 'len', 'win'] as const;

/** The segment a prediction is about: `host`'s next matching send after the first `after` event. */
export function predictedSegment(
  q: PredictQuestion,
  ix: TraceIndex,
): { i: number; e: SegmentTrace } | undefined {
  const anchor = ix.find(q.after)[0];
  if (anchor === undefined) return undefined;
  for (let i = anchor + 1; i < ix.events.length; i++) {
    const e = ix.events[i]!;
    if (e.type !== 'segment' || e.event !== 'send' || e.from !== q.host) continue;
    if (q.segment && !ix.matches({ kind: 'segment', ...q.segment, from: q.host }, e, i)) continue;
    return { i, e };
  }
  return undefined;
}

function checkPrediction(q: PredictQuestion, answer: unknown, lang: Lang, ctx: AnswerContext): AnswerResult {
  const t = (en: string, zh: string) => say(lang, en, zh);
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) {
    return {
      status: 'invalid',
      feedback: t(`Predict ${q.fields.join(', ')}.`, `请预测 ${q.fields.join('、')}。`),
    };
  }
  const a = answer as Record<string, unknown>;
  const missing = q.fields.filter((f) => a[f] === undefined);
  const bad = q.fields.filter(
    (f) => a[f] !== undefined && (f === 'flags' ? toFlags(a[f]) === undefined : toNumber(a[f]) === undefined),
  );
  if (missing.length > 0 || bad.length > 0) {
    return {
      status: 'invalid',
      feedback: t(
        `Give ${list('en', [...missing, ...bad])} of the segment ${q.host} will send.`,
        `请给出 ${q.host} 将发送的报文段的 ${list('zh-CN', [...missing, ...bad])}。`,
      ),
    };
  }
  const ix = new TraceIndex(ctx.trace ?? []);
  const target = predictedSegment(q, ix);
  if (!target) {
    return {
      status: 'pending',
      feedback: t(
        `Answer saved. It will be checked when ${q.host} sends that segment.`,
        `答案已保存，等 ${q.host} 发出该报文段时再判定。`,
      ),
    };
  }
  const e = target.e;
  const actual: PredictAnswer = {};
  const wrong: string[] = [];
  for (const f of PREDICT_FIELDS) {
    if (!q.fields.includes(f)) continue;
    if (f === 'flags') {
      actual.flags = e.flags;
      if (!sameFlags(toFlags(a.flags)!, e.flags)) {
        wrong.push(
          t(`flags: ${q.host} sent ${e.flags.join(',')}`, `标志位：${q.host} 发送的是 ${e.flags.join(',')}`),
        );
      }
      continue;
    }
    const v = e[f];
    actual[f] = v;
    if (toNumber(a[f]) !== v) {
      wrong.push(
        t(
          `${f}: you said ${String(a[f])}, ${q.host} sent ${v ?? '-'}`,
          `${f}：你预测 ${String(a[f])}，${q.host} 实际发送 ${v ?? '-'}`,
        ),
      );
    }
  }
  const correct = wrong.length === 0;
  const seen = t(`(${segmentName(e, 'en')})`, `（${segmentName(e, 'zh-CN')}）`);
  if (ctx.answeredBefore !== undefined && target.i < ctx.answeredBefore) {
    return {
      status: 'late',
      correct,
      actual,
      feedback: t(
        `${q.host} had already sent it ${seen} when you answered; a prediction must come first.`,
        `你作答时 ${q.host} 已经发出了该报文段${seen}；预测必须在它发出之前。`,
      ),
    };
  }
  if (correct) {
    return {
      status: 'correct',
      actual,
      feedback: `${t('Right prediction', '预测正确')}${t(' ', '')}${seen}${q.explanation ? `${t(' ', '')}${pick(q.explanation, lang)}` : ''}`,
    };
  }
  return {
    status: 'wrong',
    actual,
    feedback: `${t('Not quite', '不完全对')}${t(' ', '')}${seen}${t(': ', '：')}${wrong.join(t('; ', '；'))}`,
  };
}
