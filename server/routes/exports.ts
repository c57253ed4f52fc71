/**
 * Exports, forks and imports (docs/persistence.md):
 *
 *   GET  /api/rooms/:id/capture.pcapng?point=A|B|wire   the room's traffic (docs/capture.md)
 *   GET  /api/rooms/:id/capture.pcap?point=A|B|wire
 *   GET  /api/rooms/:id/scenario.json                    the room as a scenario file
 *   GET  /api/rooms/:id/trace.ndjson                     its trace, as `npm run scenario -- --json`
 *   POST /api/rooms/:id/fork { at? }                     a new room replaying the inputs up to `at`
 *   POST /api/classes/:code/import  (a scenario file)    a new room replaying it
 *   GET  /api/persistence                                the store's figures (instructor)
 *
 * Who may: the instructor key, or the resume token of someone in that room (a seat holder or an
 * observer; for an import, anyone in that class), in `Authorization: Bearer <key or token>`, or
 * as `?key=` / `?token=` for a plain download link.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { buildCapture, CAPTURE_MEDIA_TYPES, type CaptureFormat } from '../../shared/capture/index.ts';
import { ClassCode, Name } from '../../shared/protocol/messages.ts';
import { runScenario, type ScenarioRun } from '../../shared/sim/runner.ts';
import type { Scenario } from '../../shared/sim/scenario.ts';
import { toNdjson } from '../../shared/sim/trace.ts';
import { LabError, refuse } from '../lab/errors.ts';
import type { LabClass } from '../lab/lab.ts';
import { Room } from '../lab/room.ts';
import type { Session } from '../lab/session.ts';
import { forkPoint, ImportError, roomScenario, scenarioRoom } from '../persistence/scenario.ts';
import { setErrorHandler } from './errors.ts';

/** Route params are text (the server never coerces): a room number. */
const RoomParams = Type.Object({ id: Type.String({ pattern: '^[1-9][0-9]{0,9}$' }) });
const CodeParams = Type.Object({ code: ClassCode });
const Credentials = {
  token: Type.Optional(Type.String({ maxLength: 128 })),
  key: Type.Optional(Type.String({ maxLength: 256 })),
};
const ExportQuery = Type.Object(Credentials);
const CaptureQuery = Type.Object({
  ...Credentials,
  point: Type.Optional(Type.Union([Type.Literal('A'), Type.Literal('B'), Type.Literal('wire')])),
});
const ForkBody = Type.Union([
  Type.Object(
    { at: Type.Optional(Type.Number({ minimum: 0 })), name: Type.Optional(Name) },
    { additionalProperties: false },
  ),
  Type.Null(),
]);

/** Largest scenario or session file an import takes. */
export const IMPORT_MAX_BYTES = 4 * 1024 * 1024;

type RoomRequest = FastifyRequest<{
  Params: Static<typeof RoomParams>;
  Querystring: Static<typeof ExportQuery>;
}>;

export async function exportRoutes(app: FastifyInstance): Promise<void> {
  const lab = app.lab;

  setErrorHandler(app);

  // An import may be sent as text (a file's content as is) as well as JSON.
  app.addContentTypeParser(
    'text/plain',
    { parseAs: 'string', bodyLimit: IMPORT_MAX_BYTES },
    (_req, body, done) => done(null, body),
  );

  /** The instructor, or the session whose token was given. */
  const caller = (req: FastifyRequest): { instructor: boolean; session?: Session } => {
    const h = req.headers.authorization;
    const q = (req.query ?? {}) as { token?: string; key?: string };
    const cred = h?.startsWith('Bearer ') ? h.slice(7) : (q.token ?? q.key);
    if (cred === undefined || cred === '')
      refuse(
        'TCPLAB_BAD_TOKEN',
        'this needs the instructor key or your resume token (Authorization: Bearer <key or token>, or ?token=)',
      );
    if (lab.checkKey(cred)) return { instructor: true };
    const session = lab.resume(cred);
    return { instructor: session.role === 'instructor', session };
  };

  /** The room, for someone in it (seat or observer) or the instructor. */
  const roomFor = (req: RoomRequest): Room => {
    const room = lab.room(Number(req.params.id));
    const who = caller(req);
    if (!who.instructor && who.session?.room !== room)
      refuse('TCPLAB_FORBIDDEN', `only the people in room ${room.id} and the instructor may do that`);
    return room;
  };

  const classFor = (req: FastifyRequest, code: string): LabClass => {
    const who = caller(req);
    const klass = lab.klass(code);
    if (!who.instructor && who.session?.klass !== klass)
      refuse('TCPLAB_FORBIDDEN', `only members of class ${code} and the instructor may do that`);
    return klass;
  };

  const schema = (querystring: object) => ({ params: RoomParams, querystring });

  app.get<{ Params: Static<typeof RoomParams>; Querystring: Static<typeof ExportQuery> }>(
    '/api/rooms/:id/scenario.json',
    { schema: schema(ExportQuery) },
    async (req, reply) => {
      const room = roomFor(req);
      const { scenario } = exported(room);
      return download(reply, `room-${room.id}.scenario.json`, 'application/json; charset=utf-8').send(
        formatScenario(scenario),
      );
    },
  );

  app.get<{ Params: Static<typeof RoomParams>; Querystring: Static<typeof ExportQuery> }>(
    '/api/rooms/:id/trace.ndjson',
    { schema: schema(ExportQuery) },
    async (req, reply) => {
      const room = roomFor(req);
      const { run } = exported(room);
      return download(reply, `room-${room.id}.trace.ndjson`, 'application/x-ndjson; charset=utf-8').send(
        toNdjson(run.trace),
      );
    },
  );

  for (const format of ['pcapng', 'pcap'] as const satisfies CaptureFormat[]) {
    app.get<{ Params: Static<typeof RoomParams>; Querystring: Static<typeof CaptureQuery> }>(
      `/api/rooms/:id/capture.${format}`,
      { schema: schema(CaptureQuery) },
      async (req, reply) => {
        const room = roomFor(req);
        const point = req.query.point ?? 'wire';
        const { run } = exported(room);
        const bytes = buildCapture(run.trace, {
          point,
          format,
          title: `TCP Lab · room ${room.id} "${room.name}" · class ${room.classCode} · epoch ${room.epoch}`,
        });
        return download(
          reply,
          `room-${room.id}-${point === 'wire' ? 'wire' : `at-${point}`}.${format}`,
          CAPTURE_MEDIA_TYPES[format],
        ).send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      },
    );
  }

  app.post<{
    Params: Static<typeof RoomParams>;
    Querystring: Static<typeof ExportQuery>;
    Body: Static<typeof ForkBody>;
  }>('/api/rooms/:id/fork', { schema: { ...schema(ExportQuery), body: ForkBody } }, async (req, reply) => {
    const room = roomFor(req);
    const now = room.position().at;
    const at = req.body?.at ?? now;
    if (at > now)
      throw new LabError('TCPLAB_INVALID', `at: room ${room.id} has only reached t = ${now} ms`, {
        path: '/at',
      });
    const { inputs, position } = forkPoint(room, at);
    const klass = lab.klass(room.classCode);
    const name =
      req.body?.name ?? clip(`${room.name} · fork at ${formatMs(position.at)}`, lab.limits.maxNameLength);
    const fork = lab.createRoom(klass, name, {
      ...room.setup,
      speed: room.clock().speed,
      policy: room.policy,
      running: false,
    });
    fork.replay(inputs, position);
    app.persistence?.flushNow();
    return reply
      .code(201)
      .send({ ...fork.summary(), forkedFrom: { room: room.id, epoch: room.epoch, at: position.at } });
  });

  app.post<{ Params: Static<typeof CodeParams>; Querystring: Static<typeof ExportQuery> }>(
    '/api/classes/:code/import',
    { schema: { params: CodeParams, querystring: ExportQuery }, bodyLimit: IMPORT_MAX_BYTES },
    async (req, reply) => {
      const klass = classFor(req, req.params.code);
      let json: unknown = req.body;
      if (typeof json === 'string') {
        try {
          json = JSON.parse(json);
        } catch (e) {
          throw new LabError('TCPLAB_BAD_JSON', `the file is not JSON: ${(e as Error).message}`);
        }
      }
      if (json === undefined || json === null)
        throw new LabError('TCPLAB_INVALID', 'send a scenario file (JSON) as the request body');
      const imported = scenarioRoom(json, lab.limits);
      // Replay it once on the side first: a file that cannot become a room creates nothing.
      const probe = new Room({
        id: 0,
        name: imported.name,
        classCode: klass.code,
        seed: imported.setup.seed,
        limits: lab.limits,
        link: imported.setup.link,
        tcp: imported.setup.tcp,
        ...(imported.setup.hosts === undefined ? {} : { hosts: imported.setup.hosts }),
        ...(imported.setup.addrs === undefined ? {} : { addrs: imported.setup.addrs }),
        speed: 1,
        running: false,
        timers: NO_TIMERS,
      });
      try {
        probe.replay(imported.inputs, imported.position);
      } catch (e) {
        throw new ImportError([`the run does not replay in a room: ${(e as Error).message}`]);
      } finally {
        probe.dispose();
      }
      const room = lab.createRoom(klass, imported.name, { ...imported.setup, running: false });
      room.replay(imported.inputs, imported.position);
      app.persistence?.flushNow();
      return reply.code(201).send({
        ...room.summary(),
        imported: {
          inputs: imported.inputs.length,
          until: imported.position.at,
          events: room.history.length,
          warnings: imported.warnings,
        },
      });
    },
  );

  app.get('/api/persistence', async (req) => {
    if (!caller(req).instructor) refuse('TCPLAB_FORBIDDEN', 'only the instructor may see this');
    return app.persistence ? { enabled: true, ...app.persistence.stats() } : { enabled: false };
  });
}

const NO_TIMERS = { now: () => 0, schedule: () => 0, cancel: () => {} };

function download(reply: FastifyReply, filename: string, type: string): FastifyReply {
  return reply
    .header('content-type', type)
    .header('content-disposition', `attachment; filename="${filename}"`)
    .header('cache-control', 'no-store');
}

/** The room's scenario and its run, computed once per state of the room (a few rooms kept). */
const cache = new Map<string, { scenario: Scenario; run: ScenarioRun }>();
const CACHE_SIZE = 8;

function exported(room: Room): { scenario: Scenario; run: ScenarioRun } {
  const pos = room.position();
  const key = `${room.id}/${room.epoch}/${room.inputCount}/${pos.seq}/${pos.at}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const scenario = roomScenario(room);
  const out = { scenario, run: runScenario(scenario) };
  cache.set(key, out);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
  return out;
}

/** Pretty JSON with one step per line, as the library's files are written. */
export function formatScenario(scenario: Scenario): string {
  const { steps, ...head } = scenario;
  const top = JSON.stringify(head, null, 2);
  const lines = steps.map((st) => `    ${JSON.stringify(st)}`).join(',\n');
  return `${top.slice(0, -2)},\n  "steps": [${steps.length > 0 ? `\n${lines}\n  ` : ''}]\n}\n`;
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(3).replace(/\.?0+$/, '')} s`;
}

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
