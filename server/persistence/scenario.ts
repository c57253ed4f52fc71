/**
 * A room as a scenario file and back (docs/persistence.md):
 *
 * - `roomScenario(room)`: the room's setup and inputs as a scenario that `npm run scenario`
 *   replays into the room's own trace. Each input becomes a step at the virtual time it took
 *   effect, with `after` when it fell between events due at that same time and `concurrent` when
 *   its process had a call blocked (docs/scenarios.md).
 * - `forkPoint(room, at)`: the inputs up to a moment and the exact position of that moment.
 * - `scenarioRoom(json, limits)`: any scenario (or exported room) run once by the scenario runner
 *   while every action it takes is recorded as a room input, so a room can replay it.
 */

import { ROOM_ADDRS } from '../../shared/protocol/defaults.ts';
import { bytesToBase64 } from '../../shared/protocol/json.ts';
import type { Limits } from '../../shared/protocol/limits.ts';
import type { FaultRule as RoomRule, Seat, SockCall } from '../../shared/protocol/messages.ts';
import { validateClientMessage } from '../../shared/protocol/validate.ts';
import type { FaultRule } from '../../shared/sim/faults.ts';
import { DEFAULT_LINK, type LinkSettings } from '../../shared/sim/link.ts';
import { Network } from '../../shared/sim/network.ts';
import { buildHostConfig, type ScenarioRun, ScenarioSession, utf8 } from '../../shared/sim/runner.ts';
import {
  type CallStep,
  type Scenario,
  type Step,
  scenarioAddrs,
  scenarioHosts,
  validateScenario,
} from '../../shared/sim/scenario.ts';
import { PROFILES, type TcpConfig } from '../../shared/tcp/config.ts';
import { ipToString, parseIp } from '../../shared/tcp/packet.ts';
import type { CallRequest } from '../../shared/tcp/types.ts';
import { toCallRequest } from '../lab/calls.ts';
import { LabError } from '../lab/errors.ts';
import type { InputBody, Room, RoomInput, RoomSetup } from '../lab/room.ts';

type Position = { at: number; seq: number };
const SEATS = ['A', 'B'] as const;
const NO_LIMIT = Number.MAX_SAFE_INTEGER;

/**
 * A room's network rebuilt on its own, input by input, the way `Room.replay` reaches each one,
 * with what an export needs to know on the way: events run, how many at the current time, and
 * which processes have a call blocked.
 */
class Replayer {
  readonly net: Network;
  seq = 0;
  lastT = Number.NaN;
  sameT = 0;
  /** Blocked calls: "host:callId" → "host/pid". */
  private readonly pending = new Map<string, string>();

  constructor(room: Room) {
    const setup = room.setup;
    const addrs = setup.addrs ?? ROOM_ADDRS;
    this.net = new Network({
      seed: setup.seed,
      hosts: SEATS.map((name) => ({ name, addr: parseIp(addrs[name])!, config: room.hostConfig(name) })),
      link: setup.link,
      keepTrace: false,
    });
    this.net.subscribe((e) => {
      if (e.type === 'call') this.pending.set(`${e.host}:${e.callId}`, `${e.host}/${e.pid}`);
      else if (e.type === 'return') this.pending.delete(`${e.host}:${e.callId}`);
    });
  }

  private next(): boolean {
    if (this.net.nextEventTime() === undefined) return false;
    const info = this.net.step();
    if (!info) return false;
    this.seq++;
    if (info.t === this.lastT) this.sameT++;
    else {
      this.lastT = info.t;
      this.sameT = 1;
    }
    return true;
  }

  runTo(pos: Position): void {
    while (this.seq < pos.seq && this.next()) {}
    if (this.seq !== pos.seq)
      throw new Error(`replay diverged: ${this.seq} events ran where ${pos.seq} were recorded`);
    if (this.net.now < pos.at) {
      const next = this.net.nextEventTime();
      if (next !== undefined && next < pos.at)
        throw new Error(`replay diverged: events ran before t=${pos.at} that did not run live`);
      this.net.advanceTo(pos.at);
    }
  }

  /** Runs every event due by `t` and moves the clock to `t`. */
  runThrough(t: number): void {
    for (;;) {
      const next = this.net.nextEventTime();
      if (next === undefined || next > t) break;
      this.next();
    }
    this.net.runUntil(t);
  }

  /** Events due at exactly `at` that have run (what a step's `after` says). */
  after(at: number): number {
    return this.lastT === at ? this.sameT : 0;
  }

  blocked(host: Seat, pid: number): boolean {
    for (const p of this.pending.values()) if (p === `${host}/${pid}`) return true;
    return false;
  }

  /** What `Room.applyInput` does to the network. */
  apply(input: RoomInput): void {
    const net = this.net;
    switch (input.kind) {
      case 'call':
        net.call(input.host, toCallRequest(input.call, NO_LIMIT));
        return;
      case 'link': {
        const patch = input.settings as Partial<LinkSettings>;
        if (input.dir === undefined) net.setLink('A', 'B', patch, true);
        else if (input.dir === 'AB') net.setLink('A', 'B', patch);
        else net.setLink('B', 'A', patch);
        return;
      }
      case 'fault.add':
        net.addRule(simRule(input.rule, input.id));
        return;
      case 'fault.remove':
        net.removeRule(String(input.id));
        return;
      case 'fault.clear':
        for (const r of net.rules()) net.removeRule(r.rule.id);
        return;
      case 'hold':
        net.setHold(input.on);
        return;
      case 'held':
        if (input.action === 'release') net.release(input.segId);
        else if (input.action === 'drop') net.dropHeld(input.segId);
        else net.delayHeld(input.segId, input.ms ?? 0);
        return;
    }
  }
}

function simRule(rule: RoomRule, id: number): FaultRule {
  const { label: _label, ...rest } = rule;
  return { ...rest, id: String(id) } as FaultRule;
}

// ── export ────────────────────────────────────────────────────────────────────────────────────

/** The room (its current epoch, up to its current position) as a scenario file. */
export function roomScenario(room: Room): Scenario {
  const r = new Replayer(room);
  const steps: Step[] = [];
  for (const input of room.inputs) {
    r.runTo(input);
    const after = r.after(input.at);
    steps.push(...inputSteps(input, { at: input.at, ...(after > 0 ? { after } : {}) }, r));
    r.apply(input);
  }
  const setup = room.setup;
  const pos = room.position();
  const { seed: _seed, ...config } = setup.tcp;
  const host = (seat: Seat) => ({
    addr: (setup.addrs ?? ROOM_ADDRS)[seat],
    config: { ...(setup.hosts?.[seat] ?? {}), seed: room.hostConfig(seat).seed! },
  });
  return {
    name: room.name,
    description:
      `Room ${room.id} of class ${room.classCode}, epoch ${room.epoch}: ${room.inputs.length} inputs up to ` +
      `t = ${pos.at} ms, exported from TCP Lab. \`npm run scenario\` replays it into the room's trace.`,
    seed: setup.seed,
    until: pos.at,
    config,
    hosts: { A: host('A'), B: host('B') },
    link: { ...setup.link },
    steps,
  };
}

function inputSteps(input: RoomInput, place: { at: number; after?: number }, r: Replayer): Step[] {
  switch (input.kind) {
    case 'call':
      return [callStep(input.host, input.call, place, r.blocked(input.host, input.call.pid ?? 1))];
    case 'link':
      return [
        {
          ...place,
          op: 'link',
          ...(input.dir === undefined
            ? {}
            : input.dir === 'AB'
              ? { from: 'A', to: 'B' }
              : { from: 'B', to: 'A' }),
          set: { ...input.settings } as Partial<LinkSettings>,
        },
      ];
    case 'fault.add':
      return [
        {
          ...place,
          op: 'fault',
          rule: simRule(input.rule, input.id),
          ...(input.rule.label === undefined ? {} : { note: input.rule.label }),
        },
      ];
    case 'fault.remove':
      return [{ ...place, op: 'unfault', id: String(input.id) }];
    case 'fault.clear':
      return r.net.rules().map((x) => ({ ...place, op: 'unfault' as const, id: x.rule.id }));
    case 'hold':
      return [{ ...place, op: 'hold', on: input.on }];
    case 'held':
      if (input.action === 'drop') return [{ ...place, op: 'drop', id: input.segId }];
      return [
        {
          ...place,
          op: 'release',
          id: input.segId,
          ...(input.action === 'delay' ? { delayMs: input.ms ?? 0 } : {}),
        },
      ];
  }
}

function callStep(
  host: Seat,
  c: SockCall,
  place: { at: number; after?: number },
  blocked: boolean,
): CallStep {
  const base = {
    ...place,
    host,
    ...(c.pid === undefined ? {} : { pid: c.pid }),
    ...(blocked ? { concurrent: true } : {}),
  };
  switch (c.op) {
    case 'socket':
      return {
        ...base,
        op: 'socket',
        ...(c.nonblocking === undefined ? {} : { nonblocking: c.nonblocking }),
      };
    case 'bind':
      return {
        ...base,
        op: 'bind',
        fd: c.fd,
        port: c.port,
        ...(c.addr === undefined ? {} : { addr: c.addr }),
      };
    case 'listen':
      return { ...base, op: 'listen', fd: c.fd, ...(c.backlog === undefined ? {} : { backlog: c.backlog }) };
    case 'connect':
      return { ...base, op: 'connect', fd: c.fd, addr: c.addr, port: c.port };
    case 'send': {
      const req = toCallRequest(c, NO_LIMIT) as Extract<CallRequest, { op: 'send' }>;
      const bytes = Buffer.from(req.data);
      // Text when the scenario runner encodes it to the same bytes, hex otherwise.
      const text = c.encoding !== 'base64' && Buffer.from(utf8(c.data)).equals(bytes);
      return {
        ...base,
        op: 'send',
        fd: c.fd,
        ...(text ? { data: c.data } : { hex: bytes.toString('hex') }),
        ...(c.more === undefined ? {} : { more: c.more }),
      };
    }
    case 'recv':
      return {
        ...base,
        op: 'recv',
        fd: c.fd,
        ...(c.max === undefined ? {} : { max: c.max }),
        ...(c.peek === undefined ? {} : { peek: c.peek }),
      };
    case 'accept':
    case 'close':
    case 'dup':
      return { ...base, op: c.op, fd: c.fd };
    case 'shutdown':
      return { ...base, op: 'shutdown', fd: c.fd, how: c.how };
    case 'fork':
      return { ...base, op: 'fork' };
    case 'setsockopt':
      return { ...base, op: 'setsockopt', fd: c.fd, opt: c.opt, value: c.value };
    case 'getsockopt':
      return { ...base, op: 'getsockopt', fd: c.fd, opt: c.opt };
  }
}

// ── fork ──────────────────────────────────────────────────────────────────────────────────────

/** The inputs a fork at virtual time `at` replays, and the exact position of that moment. */
export function forkPoint(room: Room, at: number): { inputs: RoomInput[]; position: Position } {
  const inputs = room.inputs.filter((i) => i.at <= at);
  const r = new Replayer(room);
  for (const input of inputs) {
    r.runTo(input);
    r.apply(input);
  }
  r.runThrough(at);
  return { inputs: structuredClone(inputs), position: { at: r.net.now, seq: r.seq } };
}

// ── import ────────────────────────────────────────────────────────────────────────────────────

/** A scenario that cannot become a room: every problem, each naming its field or step. */
export class ImportError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    problems = [...new Set(problems)];
    super(
      `not a scenario a room can replay: ${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`,
    );
    this.name = 'ImportError';
    this.problems = problems;
  }
}

export interface ImportedRoom {
  name: string;
  setup: RoomSetup;
  inputs: RoomInput[];
  position: Position;
  /** Problems the run itself found (unmet `expect`s…): the room replays the run as it went. */
  warnings: string[];
  run: ScenarioRun;
}

/**
 * Runs a scenario (or an exported room) once, recording every action the runner takes on the
 * network as a room input at the position it took effect. Throws ImportError.
 */
export function scenarioRoom(json: unknown, limits: Limits): ImportedRoom {
  const v = validateScenario(json);
  if (!v.ok) throw new ImportError(v.errors);
  const problems: string[] = [];
  const warnings: string[] = [];

  // A room has two endpoints, seats A and B: a scenario's two hosts become them, in order.
  const original = scenarioHosts(v.scenario);
  const originalAddrs = scenarioAddrs(v.scenario);
  if (original.length !== 2) {
    const have = original.map((h) => `${h} (${ipToString(originalAddrs.get(h)!)})`).join(', ');
    throw new ImportError([
      `hosts: a room has two endpoints, seats A and B; this scenario has ${original.length}: ${have}`,
    ]);
  }
  const s = asSeats(v.scenario, original, warnings);
  s.steps.forEach((st, i) => {
    if (st.op === 'hold' && st.from !== undefined)
      problems.push(
        `steps[${i}]: a room holds every direction at once; "from"/"to" on hold are not supported`,
      );
  });
  if (problems.length > 0) throw new ImportError(problems);
  // Problems name a host as the file does.
  const renamed = s !== v.scenario;
  const hostName = (seat: string) => (renamed ? `${original[seat === 'A' ? 0 : 1]}, seat ${seat}` : seat);
  const addrs = scenarioAddrs(s);
  const roomAddrs = { A: ipToString(addrs.get('A')!), B: ipToString(addrs.get('B')!) };

  // The room's setup: the same engine settings and generator seeds the runner gives each host.
  const base = PROFILES[s.profile ?? 'textbook'];
  const { seed: _seed, ...common } = {
    ...(s.profile && s.profile !== 'textbook' ? PROFILES[s.profile] : {}),
    ...(s.config ?? {}),
  } as Partial<TcpConfig>;
  const setup: RoomSetup = {
    seed: s.seed,
    link: { ...DEFAULT_LINK, ...(s.link ?? {}) },
    tcp: common,
    hosts: {
      A: { ...(s.hosts?.A?.config ?? {}), seed: buildHostConfig(base, s, 'A').seed },
      B: { ...(s.hosts?.B?.config ?? {}), seed: buildHostConfig(base, s, 'B').seed },
    },
    ...(roomAddrs.A === ROOM_ADDRS.A && roomAddrs.B === ROOM_ADDRS.B ? {} : { addrs: roomAddrs }),
  };

  const inputs: RoomInput[] = [];
  const ruleIds = new Map<string, number>();
  let active = 0;
  const ruleNumber = (id: string): number => {
    const n = /^[1-9]\d{0,3}$/.test(id) ? Number(id) : 0;
    const taken = new Set(ruleIds.values());
    if (n > 0 && !taken.has(n)) return n;
    let k = 1;
    while (taken.has(k)) k++;
    return k;
  };
  let sent = 0;
  const record = (body: InputBody, pos: Position, what: string) => {
    let problem = checkInput(body, limits);
    if (body.kind === 'call' && body.call.op === 'send') {
      const before = sent;
      sent += sendBytes(body.call);
      if (!problem && sent > IMPORT_MAX_SEND_TOTAL && before <= IMPORT_MAX_SEND_TOTAL)
        problem = `the run sends more than ${IMPORT_MAX_SEND_TOTAL / 1024 / 1024} MiB of payload in all, more than an imported room keeps`;
    }
    if (problem) problems.push(`${what} at t=${pos.at} ms: ${problem}`);
    inputs.push({ ...body, ...pos } as RoomInput);
  };
  const addRule = (rule: FaultRule, id: string, pos: Position, what: string, note?: string) => {
    const n = ruleNumber(id);
    ruleIds.set(id, n);
    const { id: _id, ...rest } = rule;
    const label = note ?? (/^r?\d+$/.test(id) ? undefined : id);
    record(
      { kind: 'fault.add', id: n, rule: { ...rest, ...(label === undefined ? {} : { label }) } as RoomRule },
      pos,
      what,
    );
    if (++active > limits.maxFaultRules)
      problems.push(`${what}: a room holds at most ${limits.maxFaultRules} fault rules at once`);
  };

  // What the network was built with becomes inputs at the very start.
  const start = { at: 0, seq: 0 };
  for (const [key, patch] of Object.entries(s.links ?? {})) {
    const dir = key === 'A->B' ? 'AB' : 'BA';
    record({ kind: 'link', dir, settings: patch }, start, `links.${key}`);
  }
  let auto = 0;
  (s.faults ?? []).forEach((rule, i) => {
    addRule(rule, rule.id ?? `r${++auto}`, start, `faults[${i}]`);
  });
  if (s.hold) record({ kind: 'hold', on: true }, start, 'hold');

  // Then the run, every action recorded as it is taken.
  const session = new ScenarioSession(s);
  const net = session.network;
  const notes = new Map<object, string>();
  for (const st of s.steps) if (st.op === 'fault' && st.note !== undefined) notes.set(st.rule, st.note);
  const pos = (): Position => ({ at: net.now, seq: session.eventsRun });
  const call = net.call.bind(net);
  net.call = (host, req, opts = {}) => {
    record(
      { kind: 'call', host: host as Seat, call: toSockCall(req) },
      pos(),
      `steps[${opts.step}] (${req.op} on ${hostName(host)})`,
    );
    return call(host, req, opts);
  };
  const setLink = net.setLink.bind(net);
  net.setLink = (from, to, patch, both) => {
    const p = pos();
    setLink(from, to, patch, both);
    record(
      { kind: 'link', ...(both ? {} : { dir: from === 'A' ? 'AB' : 'BA' }), settings: patch },
      p,
      'a link step',
    );
  };
  const addRuleNet = net.addRule.bind(net);
  net.addRule = (rule) => {
    const p = pos();
    const id = addRuleNet(rule);
    addRule(rule, id, p, 'a fault step', notes.get(rule));
    return id;
  };
  const removeRule = net.removeRule.bind(net);
  net.removeRule = (id) => {
    const p = pos();
    const ok = removeRule(id);
    if (ok) {
      record({ kind: 'fault.remove', id: ruleIds.get(id)! }, p, 'an unfault step');
      active--;
    }
    return ok;
  };
  const setHold = net.setHold.bind(net);
  net.setHold = (on, dir) => {
    const p = pos();
    setHold(on, dir);
    record({ kind: 'hold', on }, p, 'a hold step');
  };
  const release = net.release.bind(net);
  net.release = (id, extra = 0) => {
    const p = pos();
    release(id, extra);
    record(
      {
        kind: 'held',
        segId: id,
        action: extra > 0 ? 'delay' : 'release',
        ...(extra > 0 ? { ms: extra } : {}),
      },
      p,
      'a release step',
    );
  };
  const dropHeld = net.dropHeld.bind(net);
  net.dropHeld = (id) => {
    const p = pos();
    dropHeld(id);
    record({ kind: 'held', segId: id, action: 'drop' }, p, 'a drop step');
  };
  // A room's history has a cap: a run that goes past it is refused as soon as it does.
  let events = 0;
  const tooLong = new Error('too long');
  net.subscribe(() => {
    if (++events > limits.maxHistoryEvents) throw tooLong;
  });
  let run: ScenarioRun;
  try {
    run = session.runToEnd();
  } catch (e) {
    if (e !== tooLong) throw e;
    throw new ImportError([
      ...problems,
      `until: the run has more than ${limits.maxHistoryEvents} events by t=${net.now} ms, more than a room's history holds`,
    ]);
  }
  if (problems.length > 0) throw new ImportError(problems);
  return {
    name: s.name.trim().slice(0, limits.maxNameLength),
    setup,
    inputs,
    position: { at: net.now, seq: session.eventsRun },
    warnings: [...warnings, ...run.errors],
    run,
  };
}

/**
 * Payload an imported run may send in all (a room keeps every input, and rebuilds itself from
 * them at each restart). A person's `send` carries at most `LIMITS.maxSendBytes`; an imported
 * one may carry more (a scenario's own sends), up to this in all.
 */
export const IMPORT_MAX_SEND_TOTAL = 1024 * 1024;

function sendBytes(call: SockCall): number {
  if (call.op !== 'send') return 0;
  if (call.encoding !== 'base64') return Buffer.byteLength(call.data);
  const pad = call.data.endsWith('==') ? 2 : call.data.endsWith('=') ? 1 : 0;
  return Math.floor((call.data.length * 3) / 4) - pad;
}

/**
 * The scenario with its two hosts named A and B (the room's seats), the first host A: host
 * declarations, call steps, `addr` fields naming a host, link and hold directions, fault rules.
 * A warning says so when the names change.
 */
function asSeats(s: Scenario, names: string[], warnings: string[]): Scenario {
  const [first, second] = names as [string, string];
  if ((first === 'A' && second === 'B') || (first === 'B' && second === 'A')) return s;
  const seat = new Map([
    [first, 'A'],
    [second, 'B'],
  ]);
  const to = <T>(x: T): T => (typeof x === 'string' && seat.has(x) ? (seat.get(x) as T) : x);
  const rule = (r: FaultRule): FaultRule => ({
    ...r,
    ...(r.from === undefined ? {} : { from: to(r.from) }),
    ...(r.to === undefined ? {} : { to: to(r.to) }),
  });
  const steps = s.steps.map((st): Step => {
    const out = { ...st } as Record<string, unknown>;
    for (const key of ['host', 'from', 'to', 'addr']) if (key in out) out[key] = to(out[key]);
    if (st.op === 'fault') out.rule = rule(st.rule);
    return out as unknown as Step;
  });
  const links = [
    s.link,
    ...Object.values(s.links ?? {}),
    ...s.steps.map((st) => (st.op === 'link' ? st.set : {})),
  ];
  const random = links.some(
    (l) =>
      l !== undefined &&
      ((l.loss ?? 0) > 0 || (l.duplicate ?? 0) > 0 || (l.reorder ?? 0) > 0 || (l.jitterMs ?? 0) > 0),
  );
  warnings.push(
    `hosts: ${first} and ${second} are the room's A and B` +
      (random
        ? '; the link draws its random losses, duplicates and delays per direction name, so they may fall differently from a run of the file as it is'
        : ''),
  );
  return {
    ...s,
    hosts: { A: s.hosts?.[first] ?? {}, B: s.hosts?.[second] ?? {} },
    ...(s.links === undefined
      ? {}
      : {
          links: Object.fromEntries(
            Object.entries(s.links).map(([key, patch]) => {
              const [a, b] = key.split('->') as [string, string];
              return [`${to(a)}->${to(b)}`, patch];
            }),
          ),
        }),
    ...(s.faults === undefined ? {} : { faults: s.faults.map(rule) }),
    steps,
  };
}

/** The engine's request in wire form (addresses dotted, bytes base64). */
export function toSockCall(req: CallRequest): SockCall {
  const pid = req.pid === undefined ? {} : { pid: req.pid };
  switch (req.op) {
    case 'socket':
      return {
        op: 'socket',
        ...pid,
        ...(req.nonblocking === undefined ? {} : { nonblocking: req.nonblocking }),
      };
    case 'bind':
      return {
        op: 'bind',
        ...pid,
        fd: req.fd,
        port: req.port,
        ...(req.addr === undefined ? {} : { addr: ipToString(req.addr) }),
      };
    case 'listen':
      return {
        op: 'listen',
        ...pid,
        fd: req.fd,
        ...(req.backlog === undefined ? {} : { backlog: req.backlog }),
      };
    case 'connect':
      return { op: 'connect', ...pid, fd: req.fd, addr: ipToString(req.addr), port: req.port };
    case 'send':
      return {
        op: 'send',
        ...pid,
        fd: req.fd,
        data: bytesToBase64(req.data),
        encoding: 'base64',
        ...(req.more === undefined ? {} : { more: req.more }),
      };
    case 'recv':
      return {
        op: 'recv',
        ...pid,
        fd: req.fd,
        ...(req.max === undefined ? {} : { max: req.max }),
        ...(req.peek === undefined ? {} : { peek: req.peek }),
      };
    case 'accept':
    case 'close':
    case 'dup':
      return { op: req.op, ...pid, fd: req.fd };
    case 'shutdown':
      return { op: 'shutdown', ...pid, fd: req.fd, how: req.how };
    case 'fork':
      return { op: 'fork', ...pid };
    case 'setsockopt':
      return { op: 'setsockopt', ...pid, fd: req.fd, opt: req.opt, value: req.value } as SockCall;
    case 'getsockopt':
      return { op: 'getsockopt', ...pid, fd: req.fd, opt: req.opt };
  }
}

/** Would a person's message making this input be accepted? The problem in words, or undefined. */
function checkInput(body: InputBody, limits: Limits): string | undefined {
  let msg: Record<string, unknown>;
  switch (body.kind) {
    case 'call':
      // A send's size is the import's own limit (IMPORT_MAX_SEND_TOTAL), not a person's.
      msg = {
        type: 'sock.call',
        host: body.host,
        call: body.call.op === 'send' ? { ...body.call, data: '' } : body.call,
      };
      break;
    case 'link':
      msg = {
        type: 'link.set',
        ...(body.dir === undefined ? {} : { dir: body.dir }),
        settings: body.settings,
      };
      break;
    case 'fault.add':
      msg = { type: 'fault.add', rule: body.rule };
      break;
    case 'fault.remove':
      msg = { type: 'fault.remove', ruleId: body.id };
      break;
    case 'fault.clear':
      msg = { type: 'fault.clear' };
      break;
    case 'hold':
      msg = { type: 'hold.set', on: body.on };
      break;
    case 'held':
      msg =
        body.action === 'delay'
          ? { type: 'held.delay', segId: body.segId, ms: body.ms }
          : { type: `held.${body.action}`, segId: body.segId };
      break;
  }
  if (body.kind === 'call') {
    try {
      toCallRequest(body.call, NO_LIMIT);
    } catch (e) {
      if (e instanceof LabError) return e.message;
      throw e;
    }
  }
  const r = validateClientMessage({ ...msg, room: 1 });
  if (!r.ok) return `${r.error.message}${r.error.path ? ` (${r.error.path})` : ''}`;
  if (body.kind === 'held' && body.action === 'delay' && !((body.ms ?? 0) <= limits.maxStepMs))
    return `a held segment can be delayed by at most ${limits.maxStepMs} ms`;
  return undefined;
}
