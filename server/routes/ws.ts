/**
 * The WebSocket endpoint `/ws`. Thin: it checks the upgrade (Origin, connection count), wraps the
 * socket in a `Connection`, and hands every message to the gateway.
 */
import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { Connection, type Corkable } from '../lab/connection.ts';
import { replayModeFromUrl } from '../lab/feed.ts';
import { handleMessage } from '../lab/gateway.ts';

/**
 * A browser always sends Origin; it must be this server's own origin or one configured. Clients
 * without Origin (tests, the benchmark, curl) are not browsers and cannot carry a victim's cookies.
 */
export function originAllowed(
  origin: string | undefined,
  host: string | undefined,
  allowed: readonly string[],
): boolean {
  if (origin === undefined) return true;
  if (allowed.includes(origin)) return true;
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}

export async function wsRoutes(app: FastifyInstance): Promise<void> {
  const lab = app.lab;
  const limits = app.config.limits;
  await app.register(websocket, {
    options: { maxPayload: limits.maxFrameBytes, perMessageDeflate: false },
    errorHandler: (err, socket) => {
      app.log.warn({ err }, 'websocket error');
      socket.terminate();
    },
  });

  const checkUpgrade = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!originAllowed(req.headers.origin, req.headers.host, app.config.origins)) {
      return reply.code(403).send({
        statusCode: 403,
        code: 'TCPLAB_FORBIDDEN',
        error: 'Forbidden',
        message: `Origin ${req.headers.origin} is not allowed`,
      });
    }
    if (lab.conns.size >= limits.maxConnections) {
      return reply.code(503).send({
        statusCode: 503,
        code: 'TCPLAB_ROOM_FULL',
        error: 'Service Unavailable',
        message: `the server already has ${limits.maxConnections} connections, its limit`,
      });
    }
  };

  app.get(
    '/ws',
    { websocket: true, preValidation: checkUpgrade },
    (socket: WebSocket, req: FastifyRequest) => {
      // ws keeps its TCP socket in `_socket`; corking it batches a burst of events into one write.
      const tcp = (socket as unknown as { _socket?: Corkable })._socket;
      const conn = new Connection(socket, limits, () => performance.now(), tcp);
      replayModeFromUrl(conn, req.url);
      lab.conns.add(conn);
      const release = () => {
        lab.conns.delete(conn);
        lab.detach(conn);
      };
      conn.onClose = release;
      socket.on('message', (data: RawData, isBinary: boolean) => {
        const buf = Array.isArray(data)
          ? Buffer.concat(data)
          : Buffer.isBuffer(data)
            ? data
            : Buffer.from(data);
        handleMessage(lab, conn, buf, isBinary);
      });
      socket.on('pong', () => {
        conn.alive = true;
      });
      socket.on('close', () => {
        conn.closed = true;
        release();
      });
    },
  );
}
