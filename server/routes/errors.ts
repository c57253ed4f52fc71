/**
 * The HTTP routes' one error handler: every refusal is `{ statusCode, code, error, message }` with
 * a `TCPLAB_*` code (docs/protocol.md), whichever route plugin it came from.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { LabError } from '../lab/errors.ts';
import { ImportError } from '../persistence/scenario.ts';

export function setErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, _req, reply) => {
    if (err instanceof ImportError)
      return reply.code(400).send({
        statusCode: 400,
        code: 'TCPLAB_INVALID',
        error: 'Bad Request',
        message: err.message,
        problems: err.problems,
      });
    if (err instanceof LabError)
      return reply
        .code(err.statusCode)
        .send({ statusCode: err.statusCode, code: err.code, error: 'Refused', message: err.message });
    if (err.validation)
      return reply
        .code(400)
        .send({ statusCode: 400, code: 'TCPLAB_INVALID', error: 'Bad Request', message: err.message });
    const status = err.statusCode ?? 500;
    if (status >= 500) app.log.error(err);
    const code =
      status === 413
        ? 'TCPLAB_TOO_BIG'
        : err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError
          ? 'TCPLAB_BAD_JSON'
          : status >= 500
            ? 'TCPLAB_ENGINE'
            : 'TCPLAB_BAD_MESSAGE';
    return reply.code(status).send({
      statusCode: status,
      code,
      error: status >= 500 ? 'Internal Server Error' : 'Bad Request',
      message: err.message,
    });
  });
}
