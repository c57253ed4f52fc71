/**
 * The engine settings an exercise runs with, and the amounts goals and questions write in their
 * terms (`"2*MSL"`), so an exercise stays right when a teacher scales its clock.
 */
import { PROFILES, type TcpConfig } from '../tcp/config.ts';
import type { Amount, Exercise, Seat } from './format.ts';

/** Names an amount may use, and the engine setting each one reads. */
export const AMOUNT_NAMES: Readonly<Record<string, keyof TcpConfig>> = {
  MSL: 'mslMs',
  RTO_MIN: 'rtoMinMs',
  RTO_INITIAL: 'rtoInitialMs',
  RTO_MAX: 'rtoMaxMs',
  FIN_TIMEOUT: 'finTimeoutMs',
  DELAYED_ACK: 'delayedAckMs',
  MSS: 'mss',
  RCVBUF: 'rcvBuf',
  SNDBUF: 'sndBuf',
  INIT_CWND: 'initialCwndSegments',
};

/** The configuration `host` runs with: profile, then the exercise's config, then the host's own. */
export function hostConfig(ex: Pick<Exercise, 'setup'>, host: Seat): TcpConfig {
  const s = ex.setup;
  return { ...PROFILES[s.profile ?? 'textbook'], ...(s.config ?? {}), ...(s.hosts?.[host]?.config ?? {}) };
}

const AMOUNT_RE = /^\s*(?:(\d+(?:\.\d+)?)\s*\*\s*)?([A-Z_]+)(?:\s*\*\s*(\d+(?:\.\d+)?))?\s*$/;

/** Checks an amount's syntax; returns a problem or undefined. */
export function checkAmount(a: unknown): string | undefined {
  if (typeof a === 'number') return Number.isFinite(a) && a >= 0 ? undefined : 'must be a number >= 0';
  if (typeof a !== 'string') return 'must be a number of ms or an expression like "2*MSL"';
  if (/^\s*\d+(\.\d+)?\s*$/.test(a)) return undefined;
  const m = AMOUNT_RE.exec(a);
  if (!m || (m[1] !== undefined && m[3] !== undefined)) {
    return `${JSON.stringify(a)} is not a number or an expression like "2*MSL"`;
  }
  if (!(m[2]! in AMOUNT_NAMES)) {
    return `unknown name ${JSON.stringify(m[2])} in ${JSON.stringify(a)} (names: ${Object.keys(AMOUNT_NAMES).join(', ')})`;
  }
  return undefined;
}

/** The value of an amount for `host` (or, without one, for A: the shared settings). */
export function resolveAmount(a: Amount, ex: Pick<Exercise, 'setup'>, host: Seat = 'A'): number {
  if (typeof a === 'number') return a;
  if (/^\s*\d+(\.\d+)?\s*$/.test(a)) return Number(a);
  const m = AMOUNT_RE.exec(a);
  if (!m) return Number.NaN;
  const value = hostConfig(ex, host)[AMOUNT_NAMES[m[2]!]!];
  const k = Number(m[1] ?? m[3] ?? 1);
  return typeof value === 'number' ? k * value : Number.NaN;
}

/** "2*MSL = 4000" or "4000" (without unit). */
export function amountText(a: Amount, ex: Pick<Exercise, 'setup'>, host: Seat = 'A'): string {
  const v = resolveAmount(a, ex, host);
  return typeof a === 'number' || (/^\s*\d/.test(a) && !/[A-Z]/.test(a)) ? String(v) : `${a.trim()} = ${v}`;
}
