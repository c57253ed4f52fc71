/**
 * HTTP routes for exercises and the instructor dashboard: the catalogue (anyone), one exercise's
 * student view (anyone), and the class summary as JSON or CSV (instructor key required).
 */
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { catalogueEntry, exerciseView, toLang } from '../../shared/exercises/index.ts';
import { ClassCode } from '../../shared/protocol/messages.ts';
import type { SummaryRow } from '../exercises/service.ts';
import { refuse } from '../lab/errors.ts';
import { setErrorHandler } from './errors.ts';

const CodeParams = Type.Object({ code: ClassCode });
const IdParams = Type.Object({ id: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,63}$' }) });
const LangQuery = Type.Object({ lang: Type.Optional(Type.String({ maxLength: 20 })) });

function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (h?.startsWith('Bearer ')) return h.slice(7);
  // A download link cannot set headers: `?key=` works too (the same key the instructor URL carries).
  const q = (req.query as { key?: unknown } | undefined)?.key;
  return typeof q === 'string' ? q : undefined;
}

export const CSV_COLUMNS: Array<[keyof SummaryRow, string]> = [
  ['room', 'room'],
  ['roomName', 'room_name'],
  ['studentA', 'student_a'],
  ['studentB', 'student_b'],
  ['exercise', 'exercise'],
  ['title', 'title'],
  ['current', 'current'],
  ['percent', 'progress_percent'],
  ['goals', 'goals_met'],
  ['questions', 'questions_correct'],
  ['complete', 'complete'],
  ['minutes', 'minutes'],
];

/** RFC 4180: quote fields with commas, quotes or line breaks; a leading =+-@ is defused for spreadsheets. */
export function csvField(v: unknown): string {
  let s = String(v);
  if (/^[=+\-@]/.test(s) && typeof v === 'string') s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function summaryCsv(rows: readonly SummaryRow[]): string {
  const lines = [CSV_COLUMNS.map(([, h]) => h).join(',')];
  for (const r of rows) lines.push(CSV_COLUMNS.map(([k]) => csvField(r[k])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

export async function teachRoutes(app: FastifyInstance): Promise<void> {
  const lab = app.lab;
  const svc = app.exercises;

  setErrorHandler(app);

  const instructorOnly = async (req: FastifyRequest) => {
    const key = bearer(req);
    if (key === undefined)
      refuse(
        'TCPLAB_BAD_KEY',
        'the class dashboard needs the instructor key (Authorization: Bearer <key>); students cannot see it',
      );
    if (!lab.checkKey(key)) refuse('TCPLAB_BAD_KEY', 'wrong instructor key');
  };

  app.get<{ Querystring: Static<typeof LangQuery> }>(
    '/api/exercises',
    { schema: { querystring: LangQuery } },
    async (req) => {
      const lang = toLang(req.query.lang);
      return {
        exercises: svc.catalogue.exercises.map((e) => catalogueEntry(e, lang)),
        errors: svc.catalogue.errors.length,
      };
    },
  );

  app.get<{ Params: Static<typeof IdParams>; Querystring: Static<typeof LangQuery> }>(
    '/api/exercises/:id',
    { schema: { params: IdParams, querystring: LangQuery } },
    async (req) => exerciseView(svc.exercise(req.params.id), toLang(req.query.lang)),
  );

  app.get<{ Params: Static<typeof CodeParams>; Querystring: { lang?: string } }>(
    '/api/classes/:code/summary',
    { schema: { params: CodeParams }, onRequest: instructorOnly },
    async (req) => {
      const klass = lab.klass(req.params.code);
      return {
        code: klass.code,
        name: klass.name,
        status: svc.classStatus(klass),
        rows: svc.summary(klass, toLang(req.query.lang)),
      };
    },
  );

  app.get<{ Params: Static<typeof CodeParams>; Querystring: { lang?: string } }>(
    '/api/classes/:code/summary.csv',
    { schema: { params: CodeParams }, onRequest: instructorOnly },
    async (req, reply) => {
      const klass = lab.klass(req.params.code);
      const csv = summaryCsv(svc.summary(klass, toLang(req.query.lang)));
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="tcplab-${klass.code}-summary.csv"`)
        .send(`\ufeff${csv}`);
    },
  );
}
