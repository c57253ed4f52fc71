/**
 * Server configuration: what `buildApp` accepts, the defaults a classroom gets, and where the
 * instructor key lives. Only `main.ts` reads the environment; `buildApp` takes plain options.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CLASSROOM_CLOCK, CLASSROOM_LINK, CLASSROOM_TCP } from '../shared/protocol/defaults.ts';
import { LIMITS, type Limits } from '../shared/protocol/limits.ts';
import type { LinkSettings } from '../shared/sim/link.ts';
import type { PacerClock } from '../shared/sim/pacer.ts';
import type { TcpConfig } from '../shared/tcp/config.ts';
import type { LabHooks } from './lab/lab.ts';

export interface BuildOptions {
  /** Fastify logger option (tests pass false). */
  logger?: boolean | object;
  /** The instructor key; a random one when absent (main.ts passes the kept one). */
  instructorKey?: string;
  /** Limits over `LIMITS`. */
  limits?: Partial<Limits>;
  /** Origins allowed besides the server's own (e.g. the Vite dev server). */
  origins?: string[];
  /** The built web app; served when it holds an index.html. Default `web/dist`; null to serve nothing. */
  webRoot?: string | null;
  /** A new room's link (over the classroom defaults). */
  link?: Partial<LinkSettings>;
  /** A new room's engine configuration (over the classroom defaults). */
  tcp?: Partial<TcpConfig>;
  /** A new room's clock speed and whether it starts running. */
  speed?: number;
  running?: boolean;
  /** Timers for the room clocks (default: real timers). */
  timers?: PacerClock<unknown>;
  /** Told about every room's inputs and resets (the persistence hooks). */
  hooks?: LabHooks;
  /**
   * Where classes, rooms, seats and every room's inputs are kept (SQLite, docs/persistence.md),
   * and restored from at start. Absent: nothing is kept (tests).
   */
  dataDir?: string;
}

export interface ServerConfig {
  instructorKey: string;
  limits: Limits;
  origins: string[];
  webRoot: string | null;
  link: LinkSettings;
  tcp: Partial<TcpConfig>;
  speed: number;
  running: boolean;
  timers: PacerClock<unknown>;
  hooks: LabHooks;
  dataDir: string | undefined;
}

export const REAL_TIMERS: PacerClock<ReturnType<typeof setTimeout>> = {
  now: () => performance.now(),
  schedule: (fn, ms) => setTimeout(fn, ms),
  cancel: (h) => clearTimeout(h),
};

export function resolveConfig(opts: BuildOptions): ServerConfig {
  return {
    instructorKey: opts.instructorKey ?? randomBytes(18).toString('base64url'),
    limits: { ...LIMITS, ...(opts.limits ?? {}) },
    origins: opts.origins ?? [],
    webRoot: opts.webRoot === undefined ? resolve('web/dist') : opts.webRoot,
    link: { ...CLASSROOM_LINK, ...(opts.link ?? {}) },
    tcp: { ...CLASSROOM_TCP, ...(opts.tcp ?? {}) },
    speed: opts.speed ?? CLASSROOM_CLOCK.speed,
    running: opts.running ?? CLASSROOM_CLOCK.running,
    timers: opts.timers ?? REAL_TIMERS,
    hooks: opts.hooks ?? {},
    dataDir: opts.dataDir,
  };
}

export const INSTRUCTOR_KEY_FILE = 'instructor-key';

/**
 * The instructor key: `TCPLAB_INSTRUCTOR_KEY` when set, else the one kept in the data folder,
 * else a new one, written there (mode 0600) so it survives restarts.
 */
export function loadInstructorKey(dataDir: string, env: NodeJS.ProcessEnv): { key: string; source: string } {
  const fromEnv = env.TCPLAB_INSTRUCTOR_KEY;
  if (fromEnv !== undefined && fromEnv !== '') return { key: fromEnv, source: 'TCPLAB_INSTRUCTOR_KEY' };
  const file = join(dataDir, INSTRUCTOR_KEY_FILE);
  if (existsSync(file)) {
    const key = readFileSync(file, 'utf8').trim();
    if (key !== '') return { key, source: file };
  }
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(18).toString('base64url');
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return { key, source: `${file} (new)` };
}
