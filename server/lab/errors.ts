import type { ErrorCode } from '../../shared/protocol/messages.ts';

/**
 * A refusal: the request is not carried out and the sender gets an `error` event (or an HTTP
 * error) with this code and message. Thrown before anything changes, so the room stays as it was.
 */
export class LabError extends Error {
  readonly code: ErrorCode;
  /** HTTP status when the refusal answers an HTTP request. */
  readonly statusCode: number;
  readonly path: string | undefined;

  constructor(code: ErrorCode, message: string, opts: { statusCode?: number; path?: string } = {}) {
    super(message);
    this.name = 'LabError';
    this.code = code;
    this.statusCode = opts.statusCode ?? STATUS[code] ?? 400;
    this.path = opts.path;
  }
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  TCPLAB_BAD_KEY: 401,
  TCPLAB_BAD_TOKEN: 401,
  TCPLAB_FORBIDDEN: 403,
  TCPLAB_NOT_YOUR_SEAT: 403,
  TCPLAB_NO_SUCH_CLASS: 404,
  TCPLAB_NO_SUCH_ROOM: 404,
  TCPLAB_NO_SUCH_SESSION: 404,
  TCPLAB_NO_SUCH_EXERCISE: 404,
  TCPLAB_SEAT_TAKEN: 409,
  TCPLAB_ROOM_FULL: 409,
  TCPLAB_CLASS_FULL: 409,
  TCPLAB_TOO_MANY_ROOMS: 409,
  TCPLAB_TOO_MANY_CLASSES: 409,
  TCPLAB_TOO_BIG: 413,
  TCPLAB_RATE_LIMIT: 429,
  TCPLAB_ENGINE: 500,
};

export function refuse(code: ErrorCode, message: string, path?: string): never {
  throw new LabError(code, message, path === undefined ? {} : { path });
}
