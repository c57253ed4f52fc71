/**
 * Shared infrastructure, deliberately not encapsulated (fastify-plugin): the server config and
 * the lab registry, decorated on the root instance so every route plugin sees them.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ServerConfig } from '../config.ts';
import { Lab } from '../lab/lab.ts';

declare module 'fastify' {
  interface FastifyInstance {
    config: ServerConfig;
    lab: Lab;
  }
}

async function labPlugin(app: FastifyInstance, opts: { config: ServerConfig }): Promise<void> {
  const config = opts.config;
  app.decorate('config', config);
  const lab = new Lab({
    limits: config.limits,
    instructorKey: config.instructorKey,
    link: config.link,
    tcp: config.tcp,
    speed: config.speed,
    running: config.running,
    timers: config.timers,
    log: app.log,
    hooks: config.hooks,
  });
  app.decorate('lab', lab);

  // Heartbeats: a connection that did not answer the previous ping is dead.
  const heartbeat = setInterval(() => {
    for (const conn of lab.conns) {
      if (!conn.alive) {
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      // ws throws on ping() unless OPEN; a closing connection will leave on its own.
      if (conn.ws.readyState === 1) conn.ws.ping();
    }
  }, config.limits.heartbeatMs);
  heartbeat.unref();

  app.addHook('preClose', async () => {
    clearInterval(heartbeat);
    lab.close();
  });
}

export default fp(labPlugin, { name: 'tcplab-lab', fastify: '5.x' });
