/**
 * HTTP routes: health, configuration, classes and rooms. Bodies and params are validated with the
 * TypeBox schemas below (JSON Schema, checked by Fastify's Ajv); refusals are `TCPLAB_*` errors.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CLASSROOM_CLOCK, ROOM_ADDRS } from '../../shared/protocol/defaults.ts';
import { ClassCode, Name, PROTOCOL_VERSION, RoomSummary } from '../../shared/protocol/messages.ts';
import { refuse } from '../lab/errors.ts';
import { setErrorHandler } from './errors.ts';

const CodeParams = Type.Object({ code: ClassCode });
const CreateClassBody = Type.Object({ name: Name }, { additionalProperties: false });
const CreateRoomBody = Type.Object({ name: Type.Optional(Name) }, { additionalProperties: false });
const ClassView = Type.Object({ code: Type.String(), name: Type.String(), rooms: Type.Array(RoomSummary) });
const ErrorBody = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String(),
  error: Type.String(),
  message: Type.String(),
});

export const HTTP_SCHEMAS = { CreateClassBody, CreateRoomBody, ClassView, ErrorBody };

function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  return h?.startsWith('Bearer ') ? h.slice(7) : undefined;
}

export async function httpRoutes(app: FastifyInstance): Promise<void> {
  const lab = app.lab;

  setErrorHandler(app);

  const instructorOnly = async (req: FastifyRequest) => {
    if (!lab.checkKey(bearer(req)))
      refuse('TCPLAB_BAD_KEY', 'this needs the instructor key (Authorization: Bearer <key>)');
  };

  app.get('/healthz', async () => ({
    ok: true,
    uptimeS: Math.round((Date.now() - lab.startedAt) / 1000),
    classes: lab.classes.size,
    rooms: lab.rooms.size,
    connections: lab.conns.size,
  }));

  app.get('/api/config', async () => ({
    version: PROTOCOL_VERSION,
    limits: app.config.limits,
    defaults: {
      link: app.config.link,
      tcp: app.config.tcp,
      clock: { ...CLASSROOM_CLOCK, speed: app.config.speed, running: app.config.running },
      addrs: ROOM_ADDRS,
    },
  }));

  app.post<{ Body: Static<typeof CreateClassBody> }>(
    '/api/classes',
    { schema: { body: CreateClassBody }, onRequest: instructorOnly },
    async (req, reply) => {
      const k = lab.createClass(req.body.name);
      return reply.code(201).send({ code: k.code, name: k.name });
    },
  );

  app.get('/api/classes', { onRequest: instructorOnly }, async () => ({
    classes: [...lab.classes.values()].map((k) => ({ code: k.code, name: k.name, rooms: k.rooms.size })),
  }));

  app.get<{ Params: Static<typeof CodeParams> }>(
    '/api/classes/:code',
    { schema: { params: CodeParams, response: { 200: ClassView } } },
    async (req) => {
      const k = lab.klass(req.params.code);
      return { code: k.code, name: k.name, rooms: [...k.rooms.values()].map((r) => r.summary()) };
    },
  );

  app.post<{ Params: Static<typeof CodeParams>; Body: Static<typeof CreateRoomBody> }>(
    '/api/classes/:code/rooms',
    { schema: { params: CodeParams, body: CreateRoomBody }, onRequest: instructorOnly },
    async (req, reply) => {
      const room = lab.createRoom(lab.klass(req.params.code), req.body?.name);
      return reply.code(201).send(room.summary());
    },
  );
}
