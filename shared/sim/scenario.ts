/**
 * Scenario files: the JSON format teachers write (documented in docs/scenarios.md), and its
 * validation. Every problem is reported with the path of the field and what is wrong, e.g.
 * `steps[3].op: unknown op "conect" (did you mean "connect"?)`.
 */
import { LINUX_DEFAULTS, PROFILES, type TcpConfig } from '../tcp/config.ts';
import { parseIp } from '../tcp/packet.ts';
import { ERRNO_TEXT, type Errno, type ShutdownHow, type SockOpt } from '../tcp/types.ts';
import { checkRule, type FaultRule } from './faults.ts';
import { checkLinkPatch, type LinkSettings } from './link.ts';

export type ProfileName = keyof typeof PROFILES;

export interface HostDecl {
  /** Dotted quad; default 10.0.0.N for the Nth host. */
  addr?: string;
  config?: Partial<TcpConfig>;
}

/** Fields every step has. */
interface StepBase {
  /**
   * Virtual time in ms at which the step is due. Steps may be listed in any order (e.g. one block
   * per host); steps due at the same time run in file order.
   */
  at: number;
  /**
   * Events due at exactly `at` that run before this step (default 0: the step runs before them
   * all). The lab's export sets it for an action taken between two events due at the same time,
   * such as a call made after stepping the clock onto a segment's arrival.
   */
  after?: number;
  /** Free text shown in the ladder. */
  note?: string;
}

/** Fields of a socket-call step. */
interface CallBase extends StepBase {
  host: string;
  /** Process whose descriptor table is used: a number, or a name bound by a fork step's `as`. */
  pid?: number | string;
  /** "ok" or an errno name: the runner reports a mismatch as an error event. */
  expect?: string;
  /**
   * Runs at `at` even while an earlier call of its process is blocked, as another thread of the
   * process would, and the process's later steps do not wait for it (the lab lets people do this).
   */
  concurrent?: boolean;
}

/** A descriptor: its number, or a name bound by an earlier step's `as`. */
export type FdRef = number | string;

export type CallStep = CallBase &
  (
    | { op: 'socket'; nonblocking?: boolean; as?: string }
    | { op: 'bind'; fd: FdRef; port: number; addr?: string }
    | { op: 'listen'; fd: FdRef; backlog?: number }
    | { op: 'connect'; fd: FdRef; addr: string; port: number }
    | { op: 'accept'; fd: FdRef; as?: string }
    | { op: 'send'; fd: FdRef; data?: string; bytes?: number; hex?: string; more?: boolean }
    | {
        op: 'recv';
        fd: FdRef;
        max?: number;
        peek?: boolean;
        /** Keep receiving (each call when the previous returns) until end-of-file or an error. */
        loop?: boolean;
      }
    | { op: 'close'; fd: FdRef }
    | { op: 'shutdown'; fd: FdRef; how: ShutdownHow }
    | { op: 'dup'; fd: FdRef; as?: string }
    | { op: 'fork'; as?: string }
    | {
        op: 'setsockopt';
        fd: FdRef;
        opt: SockOpt;
        value: number | boolean | { onoff: boolean; lingerSec: number };
      }
    | { op: 'getsockopt'; fd: FdRef; opt: SockOpt }
  );

export type NetStep = StepBase &
  (
    | { op: 'link'; from?: string; to?: string; set: Partial<LinkSettings> }
    | { op: 'fault'; rule: FaultRule }
    | { op: 'unfault'; id: string }
    | { op: 'hold'; on: boolean; from?: string; to?: string }
    | { op: 'release'; id: number | 'all'; delayMs?: number }
    | { op: 'drop'; id: number | 'all' }
  );

export type Step = CallStep | NetStep;

export interface Scenario {
  name: string;
  description?: string;
  /** Seeds the link's random streams (and, unless `config.seed` says otherwise, the hosts'). */
  seed: number;
  /** Run until this virtual time (ms). */
  until: number;
  /** Engine defaults the config is laid over (default `textbook`). */
  profile?: ProfileName;
  /** Engine configuration for every host. */
  config?: Partial<TcpConfig>;
  /** Hosts by name (default A and B). */
  hosts?: Record<string, HostDecl>;
  /** Link settings for every direction. */
  link?: Partial<LinkSettings>;
  /** Per-direction link settings, keyed "A->B". */
  links?: Record<string, Partial<LinkSettings>>;
  /** Fault rules active from time 0. */
  faults?: FaultRule[];
  /** Start with every direction in hold mode. */
  hold?: boolean;
  steps: Step[];
}

export const CALL_OPS = [
  'socket',
  'bind',
  'listen',
  'connect',
  'accept',
  'send',
  'recv',
  'close',
  'shutdown',
  'dup',
  'fork',
  'setsockopt',
  'getsockopt',
] as const;

export const NET_OPS = ['link', 'fault', 'unfault', 'hold', 'release', 'drop'] as const;

const SOCK_OPTS: readonly SockOpt[] = [
  'SO_LINGER',
  'SO_REUSEADDR',
  'SO_RCVBUF',
  'SO_SNDBUF',
  'SO_KEEPALIVE',
  'SO_ERROR',
  'TCP_NODELAY',
  'TCP_MAXSEG',
  'TCP_CORK',
  'TCP_USER_TIMEOUT',
  'O_NONBLOCK',
];

const HOWS: readonly ShutdownHow[] = ['SHUT_RD', 'SHUT_WR', 'SHUT_RDWR'];

/** Fields each op takes besides the common ones. */
const OP_FIELDS: Record<string, readonly string[]> = {
  socket: ['nonblocking', 'as'],
  bind: ['fd', 'port', 'addr'],
  listen: ['fd', 'backlog'],
  connect: ['fd', 'addr', 'port'],
  accept: ['fd', 'as'],
  send: ['fd', 'data', 'bytes', 'hex', 'more'],
  recv: ['fd', 'max', 'peek', 'loop'],
  close: ['fd'],
  shutdown: ['fd', 'how'],
  dup: ['fd', 'as'],
  fork: ['as'],
  setsockopt: ['fd', 'opt', 'value'],
  getsockopt: ['fd', 'opt'],
  link: ['from', 'to', 'set'],
  fault: ['rule'],
  unfault: ['id'],
  hold: ['on', 'from', 'to'],
  release: ['id', 'delayMs'],
  drop: ['id'],
};

const CALL_COMMON = ['at', 'after', 'note', 'host', 'pid', 'op', 'expect', 'concurrent'];
const NET_COMMON = ['at', 'after', 'note', 'op'];

const TOP_FIELDS = [
  'name',
  'description',
  'seed',
  'until',
  'profile',
  'config',
  'hosts',
  'link',
  'links',
  'faults',
  'hold',
  'steps',
];

export type ParseResult = { ok: true; scenario: Scenario } | { ok: false; errors: string[] };

/** Parses scenario text (JSON); syntax errors and every validation problem come back as messages. */
export function parseScenarioText(text: string): ParseResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, errors: [`scenario: not valid JSON: ${(e as Error).message}`] };
  }
  return validateScenario(json);
}

/** Checks a parsed JSON value against the scenario format. */
export function validateScenario(json: unknown): ParseResult {
  const errors: string[] = [];
  if (!isObject(json)) return { ok: false, errors: ['scenario: must be a JSON object'] };
  const s = json;
  unknownFields(s, TOP_FIELDS, '', errors);

  if (typeof s.name !== 'string' || s.name.trim() === '') errors.push('name: missing (a non-empty string)');
  if (s.description !== undefined && typeof s.description !== 'string') {
    errors.push('description: must be a string');
  }
  if (s.seed === undefined) errors.push('seed: missing (an integer between 0 and 4294967295)');
  else if (!(Number.isInteger(s.seed) && (s.seed as number) >= 0 && (s.seed as number) <= 0xffffffff)) {
    errors.push(`seed: must be an integer between 0 and 4294967295, got ${JSON.stringify(s.seed)}`);
  }
  if (s.until === undefined) errors.push('until: missing (the virtual time in ms to run until)');
  else if (!isNonNegative(s.until))
    errors.push(`until: must be a number of ms >= 0, got ${JSON.stringify(s.until)}`);
  if (s.profile !== undefined && !(typeof s.profile === 'string' && s.profile in PROFILES)) {
    errors.push(
      `profile: unknown profile ${JSON.stringify(s.profile)} (one of ${Object.keys(PROFILES).join(', ')})`,
    );
  }
  if (s.config !== undefined) errors.push(...checkConfig(s.config, 'config'));
  if (s.hold !== undefined && typeof s.hold !== 'boolean') errors.push('hold: must be true or false');

  // Hosts.
  let hostNames = ['A', 'B'];
  if (s.hosts !== undefined) {
    if (!isObject(s.hosts) || Object.keys(s.hosts).length < 2) {
      errors.push('hosts: must be an object naming at least two hosts, e.g. {"A": {}, "B": {}}');
    } else {
      hostNames = Object.keys(s.hosts);
      const seen = new Map<number, string>();
      for (const [name, decl] of Object.entries(s.hosts)) {
        const path = `hosts.${name}`;
        if (!/^[A-Za-z][A-Za-z0-9_-]{0,15}$/.test(name)) {
          errors.push(`${path}: a host name is a letter then up to 15 letters, digits, _ or -`);
        }
        if (!isObject(decl)) {
          errors.push(`${path}: must be an object`);
          continue;
        }
        unknownFields(decl, ['addr', 'config'], path, errors);
        if (decl.addr !== undefined) {
          const ip = typeof decl.addr === 'string' ? parseIp(decl.addr) : undefined;
          if (ip === undefined)
            errors.push(`${path}.addr: must be a dotted IPv4 address, got ${JSON.stringify(decl.addr)}`);
          else if (seen.has(ip))
            errors.push(`${path}.addr: ${decl.addr} is already the address of ${seen.get(ip)}`);
          else seen.set(ip, name);
        }
        if (decl.config !== undefined) errors.push(...checkConfig(decl.config, `${path}.config`));
      }
    }
  }

  // Links and faults.
  if (s.link !== undefined) errors.push(...checkLinkPatch(s.link, 'link'));
  if (s.links !== undefined) {
    if (!isObject(s.links)) errors.push('links: must be an object keyed "A->B"');
    else {
      for (const [key, patch] of Object.entries(s.links)) {
        const m = /^(.+)->(.+)$/.exec(key);
        if (!m || !hostNames.includes(m[1]!) || !hostNames.includes(m[2]!) || m[1] === m[2]) {
          errors.push(`links.${key}: a key names a direction between two hosts, like "A->B"`);
        }
        errors.push(...checkLinkPatch(patch, `links.${key}`));
      }
    }
  }
  if (s.faults !== undefined) {
    if (!Array.isArray(s.faults)) errors.push('faults: must be a list of rules');
    else {
      s.faults.forEach((r, i) => {
        errors.push(...checkRule(r, `faults[${i}]`, hostNames));
      });
    }
  }

  // Steps.
  if (!Array.isArray(s.steps)) errors.push('steps: missing (a list of steps)');
  else errors.push(...checkSteps(s.steps, hostNames));

  return errors.length > 0 ? { ok: false, errors } : { ok: true, scenario: json as unknown as Scenario };
}

function checkSteps(steps: unknown[], hostNames: string[]): string[] {
  const errors: string[] = [];
  /** Names bound so far, per host: descriptors and processes. */
  const fdNames = new Map<string, Set<string>>(hostNames.map((h) => [h, new Set()]));
  const pidNames = new Map<string, Set<string>>(hostNames.map((h) => [h, new Set()]));
  steps.forEach((raw, i) => {
    const path = `steps[${i}]`;
    if (!isObject(raw)) {
      errors.push(`${path}: must be an object like {"at": 0, "host": "A", "op": "socket", "as": "s"}`);
      return;
    }
    const st = raw;
    if (st.at === undefined) errors.push(`${path}.at: missing (virtual time in ms)`);
    else if (!isNonNegative(st.at))
      errors.push(`${path}.at: must be a number of ms >= 0, got ${JSON.stringify(st.at)}`);
    if (st.note !== undefined && typeof st.note !== 'string') errors.push(`${path}.note: must be a string`);
    if (st.after !== undefined && !(Number.isInteger(st.after) && (st.after as number) >= 0))
      errors.push(`${path}.after: must be an integer >= 0 (events due at "at" that run first)`);
    if (st.concurrent !== undefined && typeof st.concurrent !== 'boolean')
      errors.push(`${path}.concurrent: must be true or false`);
    const op = st.op;
    if (typeof op !== 'string') {
      errors.push(`${path}.op: missing (one of ${[...CALL_OPS, ...NET_OPS].join(', ')})`);
      return;
    }
    if (!(op in OP_FIELDS)) {
      const guess = closest(op, [...CALL_OPS, ...NET_OPS]);
      errors.push(
        `${path}.op: unknown op ${JSON.stringify(op)}${guess ? ` (did you mean "${guess}"?)` : ''}`,
      );
      return;
    }
    const isCall = (CALL_OPS as readonly string[]).includes(op);
    unknownFields(
      st,
      [...(isCall ? CALL_COMMON : NET_COMMON), ...OP_FIELDS[op]!],
      path,
      errors,
      ` for ${op}`,
    );
    if (isCall) errors.push(...checkCallStep(st, op, path, hostNames, fdNames, pidNames));
    else errors.push(...checkNetStep(st, op, path, hostNames));
  });
  return errors;
}

function checkCallStep(
  st: Record<string, unknown>,
  op: string,
  path: string,
  hostNames: string[],
  fdNames: Map<string, Set<string>>,
  pidNames: Map<string, Set<string>>,
): string[] {
  const errors: string[] = [];
  const host = st.host;
  if (host === undefined) {
    errors.push(`${path}.host: missing (one of ${hostNames.join(', ')})`);
    return errors;
  }
  if (typeof host !== 'string' || !hostNames.includes(host)) {
    errors.push(`${path}.host: unknown host ${JSON.stringify(host)} (hosts: ${hostNames.join(', ')})`);
    return errors;
  }
  const fds = fdNames.get(host)!;
  const pids = pidNames.get(host)!;
  if (st.pid !== undefined) {
    if (typeof st.pid === 'string') {
      if (!pids.has(st.pid))
        errors.push(`${path}.pid: no earlier fork step on ${host} names a process "${st.pid}"`);
    } else if (!(Number.isInteger(st.pid) && (st.pid as number) >= 1)) {
      errors.push(`${path}.pid: must be a process number >= 1 or a name bound by a fork step's "as"`);
    }
  }
  if (
    st.expect !== undefined &&
    !(st.expect === 'ok' || (typeof st.expect === 'string' && st.expect in ERRNO_TEXT))
  ) {
    errors.push(
      `${path}.expect: must be "ok" or an errno name such as "EADDRINUSE", got ${JSON.stringify(st.expect)}`,
    );
  }
  const fields = OP_FIELDS[op]!;
  if (fields.includes('fd')) {
    if (st.fd === undefined) errors.push(`${path}.fd: missing (a descriptor number or a name bound by "as")`);
    else if (typeof st.fd === 'string') {
      if (!fds.has(st.fd)) {
        errors.push(`${path}.fd: no earlier step on ${host} names a descriptor "${st.fd}" (with "as")`);
      }
    } else if (!(Number.isInteger(st.fd) && (st.fd as number) >= 0)) {
      errors.push(`${path}.fd: must be a descriptor number or a name bound by "as"`);
    }
  }
  const port = (key: string, required: boolean) => {
    if (st[key] === undefined) {
      if (required) errors.push(`${path}.${key}: missing (a port 0..65535)`);
    } else if (!(Number.isInteger(st[key]) && (st[key] as number) >= 0 && (st[key] as number) <= 65535)) {
      errors.push(`${path}.${key}: must be a port 0..65535, got ${JSON.stringify(st[key])}`);
    }
  };
  const addr = (required: boolean) => {
    if (st.addr === undefined) {
      if (required) errors.push(`${path}.addr: missing (a host name such as "B" or a dotted IPv4 address)`);
    } else if (
      !(typeof st.addr === 'string' && (hostNames.includes(st.addr) || parseIp(st.addr) !== undefined))
    ) {
      errors.push(`${path}.addr: must be a host name (${hostNames.join(', ')}) or a dotted IPv4 address`);
    }
  };
  const bool = (key: string) => {
    if (st[key] !== undefined && typeof st[key] !== 'boolean')
      errors.push(`${path}.${key}: must be true or false`);
  };
  switch (op) {
    case 'socket':
      bool('nonblocking');
      break;
    case 'bind':
      port('port', true);
      addr(false);
      break;
    case 'listen':
      if (st.backlog !== undefined && !(Number.isInteger(st.backlog) && (st.backlog as number) >= 0)) {
        errors.push(`${path}.backlog: must be an integer >= 0`);
      }
      break;
    case 'connect':
      addr(true);
      port('port', true);
      break;
    case 'send': {
      const given = ['data', 'bytes', 'hex'].filter((k) => st[k] !== undefined);
      if (given.length !== 1) {
        errors.push(`${path}: a send step needs exactly one of "data" (text), "bytes" (a count) or "hex"`);
      }
      if (st.data !== undefined && typeof st.data !== 'string') errors.push(`${path}.data: must be a string`);
      if (st.bytes !== undefined && !(Number.isInteger(st.bytes) && (st.bytes as number) >= 0)) {
        errors.push(`${path}.bytes: must be an integer >= 0`);
      }
      if (st.hex !== undefined && !(typeof st.hex === 'string' && /^([0-9a-fA-F]{2})*$/.test(st.hex))) {
        errors.push(`${path}.hex: must be an even number of hex digits`);
      }
      bool('more');
      break;
    }
    case 'recv':
      if (st.max !== undefined && !(Number.isInteger(st.max) && (st.max as number) >= 1)) {
        errors.push(`${path}.max: must be an integer >= 1`);
      }
      bool('peek');
      bool('loop');
      break;
    case 'shutdown':
      if (!HOWS.includes(st.how as ShutdownHow)) {
        errors.push(`${path}.how: must be one of ${HOWS.join(', ')}, got ${JSON.stringify(st.how)}`);
      }
      break;
    case 'setsockopt':
    case 'getsockopt':
      if (!SOCK_OPTS.includes(st.opt as SockOpt)) {
        const guess = typeof st.opt === 'string' ? closest(st.opt, SOCK_OPTS) : undefined;
        errors.push(
          `${path}.opt: unknown option ${JSON.stringify(st.opt)}${guess ? ` (did you mean "${guess}"?)` : ''}`,
        );
      } else if (op === 'setsockopt') {
        if (st.opt === 'SO_LINGER') {
          const v = st.value;
          if (
            !isObject(v) ||
            typeof v.onoff !== 'boolean' ||
            !isNonNegative(v.lingerSec) ||
            Object.keys(v).some((k) => k !== 'onoff' && k !== 'lingerSec')
          ) {
            errors.push(`${path}.value: SO_LINGER takes {"onoff": true|false, "lingerSec": seconds}`);
          }
        } else if (!(typeof st.value === 'boolean' || isNonNegative(st.value))) {
          errors.push(`${path}.value: ${st.opt} takes a number >= 0 or true/false`);
        }
      }
      break;
  }
  if (st.as !== undefined) {
    if (typeof st.as !== 'string' || !/^[A-Za-z_][A-Za-z0-9_-]*$/.test(st.as)) {
      errors.push(`${path}.as: a name is a letter or _ then letters, digits, _ or -`);
    } else if (op === 'fork') pids.add(st.as);
    else fds.add(st.as);
  }
  return errors;
}

function checkNetStep(st: Record<string, unknown>, op: string, path: string, hostNames: string[]): string[] {
  const errors: string[] = [];
  const hostField = (key: 'from' | 'to') => {
    if (st[key] !== undefined && !hostNames.includes(st[key] as string)) {
      errors.push(`${path}.${key}: unknown host ${JSON.stringify(st[key])} (hosts: ${hostNames.join(', ')})`);
    }
  };
  const segId = (allowAll: boolean) => {
    if (!((Number.isInteger(st.id) && (st.id as number) >= 1) || (allowAll && st.id === 'all'))) {
      errors.push(`${path}.id: must be a segment id (an integer >= 1)${allowAll ? ' or "all"' : ''}`);
    }
  };
  switch (op) {
    case 'link':
      hostField('from');
      hostField('to');
      if (st.set === undefined) errors.push(`${path}.set: missing (the link settings to change)`);
      else errors.push(...checkLinkPatch(st.set, `${path}.set`));
      break;
    case 'fault':
      if (st.rule === undefined) errors.push(`${path}.rule: missing (a fault rule)`);
      else errors.push(...checkRule(st.rule, `${path}.rule`, hostNames));
      break;
    case 'unfault':
      if (typeof st.id !== 'string') errors.push(`${path}.id: must be the id of a rule`);
      break;
    case 'hold':
      if (typeof st.on !== 'boolean') errors.push(`${path}.on: must be true or false`);
      hostField('from');
      hostField('to');
      if ((st.from === undefined) !== (st.to === undefined)) {
        errors.push(`${path}: give both "from" and "to", or neither (every direction)`);
      }
      break;
    case 'release':
      segId(true);
      if (st.delayMs !== undefined && !isNonNegative(st.delayMs))
        errors.push(`${path}.delayMs: must be a number >= 0`);
      break;
    case 'drop':
      segId(true);
      break;
  }
  return errors;
}

/** Checks engine config overrides against the known fields and their types. */
export function checkConfig(config: unknown, path: string): string[] {
  if (!isObject(config)) return [`${path}: must be an object of engine settings`];
  const errors: string[] = [];
  const defaults = LINUX_DEFAULTS as unknown as Record<string, unknown>;
  const known = Object.keys(defaults);
  for (const [key, value] of Object.entries(config)) {
    if (!(key in defaults)) {
      const guess = closest(key, known);
      errors.push(`${path}.${key}: unknown engine setting${guess ? ` (did you mean "${guess}"?)` : ''}`);
      continue;
    }
    const def = defaults[key];
    if (key === 'iss') {
      if (!(Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 0xffffffff)) {
        errors.push(`${path}.iss: must be an integer between 0 and 4294967295`);
      }
    } else if (typeof def === 'number') {
      if (!isNonNegative(value))
        errors.push(`${path}.${key}: must be a number >= 0, got ${JSON.stringify(value)}`);
    } else if (typeof def === 'boolean') {
      if (typeof value !== 'boolean') errors.push(`${path}.${key}: must be true or false`);
    } else if (typeof def === 'string') {
      if (typeof value !== 'string') errors.push(`${path}.${key}: must be a string`);
    }
  }
  return errors;
}

function unknownFields(
  obj: Record<string, unknown>,
  allowed: readonly string[],
  path: string,
  errors: string[],
  what = '',
): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      const guess = closest(key, allowed);
      errors.push(
        `${path ? `${path}.` : ''}${key}: unknown field${what}${guess ? ` (did you mean "${guess}"?)` : ''}`,
      );
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNonNegative(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

/** The candidate within edit distance 2 of `word`, if any (for "did you mean"). */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

/** The host names of a (valid) scenario, in declaration order. */
export function scenarioHosts(s: Scenario): string[] {
  return s.hosts ? Object.keys(s.hosts) : ['A', 'B'];
}

/** Address of the Nth host (0-based) when the scenario gives none: 10.0.0.(N+1). */
export function defaultAddr(index: number): number {
  return (0x0a000000 + index + 1) >>> 0;
}

/** Resolves every host's address. */
export function scenarioAddrs(s: Scenario): Map<string, number> {
  const out = new Map<string, number>();
  scenarioHosts(s).forEach((name, i) => {
    const given = s.hosts?.[name]?.addr;
    out.set(name, given === undefined ? defaultAddr(i) : parseIp(given)!);
  });
  return out;
}

export function isErrno(s: string): s is Errno {
  return s in ERRNO_TEXT;
}
