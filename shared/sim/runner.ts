/**
 * Runs a scenario on a `Network`: builds the hosts and the link from the file, schedules every
 * step as an event at its `at` time, binds the names steps give with `as` when the calls return,
 * and checks `expect`. `runScenario` runs it to the end in one go; the server can instead keep the
 * session and pace its network in real time, since the steps are already in the event queue.
 */
import { PROFILES, type TcpConfig } from '../tcp/config.ts';
import { parseIp } from '../tcp/packet.ts';
import type { CallRequest, CallResult } from '../tcp/types.ts';
import { Network, type NetworkOptions } from './network.ts';
import {
  type CallStep,
  type FdRef,
  type NetStep,
  type Scenario,
  type Step,
  scenarioAddrs,
  scenarioHosts,
} from './scenario.ts';
import { roundMs, type TraceEvent } from './trace.ts';

export interface SessionOptions {
  /** `bench` turns off per-segment tracing (see NetworkOptions.mode). */
  mode?: NetworkOptions['mode'];
  /** Overrides the scenario's `until`. */
  until?: number;
}

export interface ScenarioRun {
  scenario: Scenario;
  network: Network;
  trace: TraceEvent[];
  /** Descriptor names bound by `as`, per host. */
  fds: Record<string, Record<string, number>>;
  /** Process names bound by a fork step's `as`, per host. */
  pids: Record<string, Record<string, number>>;
  /** Problems found while running: unmet `expect`s, names used before their call returned. */
  errors: string[];
  until: number;
}

/** A scenario loaded into a network, its steps scheduled. */
export class ScenarioSession {
  readonly scenario: Scenario;
  readonly network: Network;
  readonly until: number;
  readonly fds: Record<string, Record<string, number>> = {};
  readonly pids: Record<string, Record<string, number>> = {};
  readonly errors: string[] = [];
  private readonly addrs: Map<string, number>;
  /** Steps whose call is still blocked, by host and callId. */
  private readonly pending = new Map<string, Map<number, number>>();
  /** Each process's blocked step and the steps waiting behind it, by "host/pid". */
  private readonly procs = new Map<string, ProcessState>();
  /** Steps with `after` ≥ 1, by time, then `after`, then file order: the run loop places them. */
  private readonly placed: number[] = [];
  private events = 0;
  /** Time of the last network event run, and how many ran at exactly that time. */
  private lastT = Number.NaN;
  private sameT = 0;

  constructor(scenario: Scenario, opts: SessionOptions = {}) {
    this.scenario = scenario;
    this.until = opts.until ?? scenario.until;
    this.addrs = scenarioAddrs(scenario);
    const hosts = scenarioHosts(scenario);
    const base = PROFILES[scenario.profile ?? 'textbook'];
    this.network = new Network({
      seed: scenario.seed,
      mode: opts.mode ?? 'full',
      hosts: hosts.map((name) => ({
        name,
        addr: this.addrs.get(name)!,
        config: buildHostConfig(base, scenario, name),
      })),
      ...(scenario.link ? { link: scenario.link } : {}),
      links: Object.entries(scenario.links ?? {}).map(([key, patch]) => {
        const [from, to] = key.split('->') as [string, string];
        return { from, to, ...patch };
      }),
      rules: scenario.faults ?? [],
      hold: scenario.hold ?? false,
      keepTrace: true,
    });
    for (const h of hosts) {
      this.fds[h] = {};
      this.pids[h] = {};
      this.pending.set(h, new Map());
    }
    this.network.subscribe((e) => this.observe(e));
    scenario.steps.forEach((step, i) => {
      if ((step.after ?? 0) > 0) this.placed.push(i);
      else this.network.schedule(step.at, () => this.execute(step, i));
    });
    const steps = scenario.steps;
    this.placed.sort((a, b) => steps[a]!.at - steps[b]!.at || steps[a]!.after! - steps[b]!.after! || a - b);
  }

  /** Network events run so far: deliveries and timer wake-ups, not the steps themselves. */
  get eventsRun(): number {
    return this.events;
  }

  /** Runs the next event (a step or a network event); false when nothing is left. */
  private next(): boolean {
    const info = this.network.step();
    if (!info) return false;
    if (info.kind !== 'callback') {
      this.events++;
      if (info.t === this.lastT) this.sameT++;
      else {
        this.lastT = info.t;
        this.sameT = 1;
      }
    }
    return true;
  }

  /** Runs events due before `t`, and the first `after` network events due at exactly `t`. */
  private runTo(t: number, after: number): void {
    for (;;) {
      const next = this.network.nextEventTime();
      if (next === undefined || next > t) break;
      if (next === t && this.lastT === t && this.sameT >= after) break;
      this.next();
    }
  }

  /** Runs the network to `until` and returns the whole run. */
  runToEnd(): ScenarioRun {
    for (const i of this.placed) {
      const step = this.scenario.steps[i]!;
      if (step.at > this.until) break;
      this.runTo(step.at, step.after!);
      if (this.network.now < step.at) this.network.runUntil(step.at);
      this.execute(step, i);
    }
    this.runTo(this.until, Number.POSITIVE_INFINITY);
    this.network.runUntil(this.until);
    for (const p of this.procs.values()) {
      for (const index of p.queue) {
        const blocked = this.scenario.steps[p.blocked!]!;
        this.fail(
          index,
          `never ran: ${p.host} pid ${p.pid} was still blocked in ${blocked.op} (steps[${p.blocked}]) at the end`,
        );
      }
    }
    return {
      scenario: this.scenario,
      network: this.network,
      trace: this.network.drainTrace(),
      fds: this.fds,
      pids: this.pids,
      errors: this.errors,
      until: this.until,
    };
  }

  private observe(e: TraceEvent): void {
    if (e.type !== 'return') return;
    const index = this.pending.get(e.host)?.get(e.callId);
    if (index === undefined) return;
    this.pending.get(e.host)!.delete(e.callId);
    const step = this.scenario.steps[index] as CallStep;
    this.finish(step, index, e.result as unknown as JsonResult);
    const proc = this.process(e.host, e.pid);
    // A concurrent call's return unblocks nothing: nobody waited for it.
    if (proc.blocked === index) proc.blocked = undefined;
    // The process goes on with its next steps once this event has been handled, at the same time.
    if (proc.blocked === undefined && proc.queue.length > 0)
      this.network.schedule(this.network.now, () => this.resume(proc));
  }

  private process(host: string, pid: number): ProcessState {
    const key = `${host}/${pid}`;
    let p = this.procs.get(key);
    if (!p) {
      p = { host, pid, blocked: undefined, queue: [] };
      this.procs.set(key, p);
    }
    return p;
  }

  /** Runs a process's waiting steps in order until one blocks. */
  private resume(proc: ProcessState): void {
    while (proc.blocked === undefined && proc.queue.length > 0) {
      const index = proc.queue.shift()!;
      this.executeCall(this.scenario.steps[index] as CallStep, index);
    }
  }

  private execute(step: Step, index: number): void {
    if (!isCallStep(step)) {
      this.executeNet(step, index);
      return;
    }
    if (step.concurrent) {
      this.executeCall(step, index);
      return;
    }
    const pid = this.resolvePid(step, index);
    if (pid === undefined) return;
    const proc = this.process(step.host, pid);
    // A process is sequential: while one of its calls blocks, its later steps wait their turn.
    const idle = proc.blocked === undefined && proc.queue.length === 0;
    proc.queue.push(index);
    if (idle) this.resume(proc);
  }

  private fail(index: number, message: string): void {
    const text = `steps[${index}]: ${message}`;
    this.errors.push(text);
    this.network.note({ t: roundMs(this.network.now), type: 'error', step: index, message: text });
  }

  private resolvePid(step: CallStep, index: number): number | undefined {
    if (typeof step.pid !== 'string') return step.pid ?? 1;
    const pid = this.pids[step.host]![step.pid];
    if (pid === undefined)
      this.fail(index, `process "${step.pid}" does not exist yet (its fork has not returned)`);
    return pid;
  }

  private executeCall(step: CallStep, index: number): void {
    const host = step.host;
    const pid = this.resolvePid(step, index);
    if (pid === undefined) return;
    let fd: number | undefined;
    if ('fd' in step) {
      fd = this.resolveFd(host, step.fd);
      if (fd === undefined) {
        this.fail(index, `descriptor "${String(step.fd)}" is not bound`);
        return;
      }
    }
    const req = this.request(step, fd!);
    if (step.pid !== undefined) req.pid = pid;
    const { callId, result } = this.network.call(host, req, { step: index });
    if (result) this.finish(step, index, resultJson(result));
    else {
      this.pending.get(host)!.set(callId, index);
      if (!step.concurrent) this.process(host, pid).blocked = index;
    }
  }

  private resolveFd(host: string, ref: FdRef): number | undefined {
    return typeof ref === 'number' ? ref : this.fds[host]![ref];
  }

  private addr(text: string): number {
    return this.addrs.get(text) ?? parseIp(text)!;
  }

  private request(step: CallStep, fd: number): CallRequest {
    switch (step.op) {
      case 'socket':
        return { op: 'socket', ...(step.nonblocking === undefined ? {} : { nonblocking: step.nonblocking }) };
      case 'bind':
        return {
          op: 'bind',
          fd,
          port: step.port,
          ...(step.addr === undefined ? {} : { addr: this.addr(step.addr) }),
        };
      case 'listen':
        return { op: 'listen', fd, ...(step.backlog === undefined ? {} : { backlog: step.backlog }) };
      case 'connect':
        return { op: 'connect', fd, addr: this.addr(step.addr), port: step.port };
      case 'accept':
        return { op: 'accept', fd };
      case 'send':
        return {
          op: 'send',
          fd,
          data: stepData(step),
          ...(step.more === undefined ? {} : { more: step.more }),
        };
      case 'recv':
        return {
          op: 'recv',
          fd,
          ...(step.max === undefined ? {} : { max: step.max }),
          ...(step.peek === undefined ? {} : { peek: step.peek }),
        };
      case 'close':
        return { op: 'close', fd };
      case 'shutdown':
        return { op: 'shutdown', fd, how: step.how };
      case 'dup':
        return { op: 'dup', fd };
      case 'fork':
        return { op: 'fork' };
      case 'setsockopt':
        return { op: 'setsockopt', fd, opt: step.opt, value: step.value };
      case 'getsockopt':
        return { op: 'getsockopt', fd, opt: step.opt };
    }
  }

  /** A call finished: bind its `as` name and check its `expect`. */
  private finish(step: CallStep, index: number, result: JsonResult): void {
    if (result.ok && 'as' in step && step.as !== undefined) {
      const v = result.value;
      const n = typeof v === 'number' ? v : isObj(v) && typeof v.fd === 'number' ? v.fd : undefined;
      if (n === undefined) this.fail(index, `"as": the ${step.op} result has no descriptor to name`);
      else if (step.op === 'fork') this.pids[step.host]![step.as] = n;
      else this.fds[step.host]![step.as] = n;
    }
    if (step.op === 'recv' && step.loop && result.ok && byteCount(result.value) > 0) {
      // A reading loop: the same recv runs again as the process's next call.
      const pid = typeof step.pid === 'string' ? this.pids[step.host]![step.pid]! : (step.pid ?? 1);
      this.process(step.host, pid).queue.unshift(index);
    }
    if (step.expect !== undefined) {
      const got = result.ok ? 'ok' : result.errno;
      if (got !== step.expect) {
        this.fail(
          index,
          `expected ${step.op} to return ${step.expect}, got ${got}${result.ok ? '' : ` (${result.message})`}`,
        );
      }
    }
  }

  private executeNet(step: NetStep, index: number): void {
    const net = this.network;
    switch (step.op) {
      case 'link': {
        const hosts = net.hostNames();
        for (const from of step.from === undefined ? hosts : [step.from]) {
          for (const to of step.to === undefined ? hosts : [step.to]) {
            if (from !== to) net.setLink(from, to, step.set);
          }
        }
        return;
      }
      case 'fault':
        try {
          net.addRule(step.rule);
        } catch (e) {
          this.fail(index, (e as Error).message);
        }
        return;
      case 'unfault':
        if (!net.removeRule(step.id)) this.fail(index, `no rule with id "${step.id}"`);
        return;
      case 'hold':
        net.setHold(step.on, step.from === undefined ? undefined : { from: step.from, to: step.to! });
        return;
      case 'release':
      case 'drop': {
        const ids = step.id === 'all' ? net.held().map((h) => h.id) : [step.id];
        for (const id of ids) {
          if (!net.held().some((h) => h.id === id)) {
            this.fail(index, `segment #${id} is not held`);
            continue;
          }
          if (step.op === 'drop') net.dropHeld(id);
          else net.release(id, step.delayMs ?? 0);
        }
        return;
      }
    }
  }
}

/** Loads and runs a scenario to its end. */
export function runScenario(scenario: Scenario, opts: SessionOptions = {}): ScenarioRun {
  return new ScenarioSession(scenario, opts).runToEnd();
}

/** A host's engine configuration: the profile, the common config, its own config, its seed. */
export function buildHostConfig(base: TcpConfig, s: Scenario, host: string): TcpConfig {
  const config: TcpConfig = { ...base, ...(s.config ?? {}), ...(s.hosts?.[host]?.config ?? {}) };
  // Unless told otherwise, each host's own generator is seeded from the scenario's seed.
  if (s.config?.seed === undefined && s.hosts?.[host]?.config?.seed === undefined) {
    config.seed = hostSeed(s.seed, hostIndex(s, host));
  }
  return config;
}

/**
 * A host's generator seed from the scenario seed: hashed, so that two hosts never share a stream
 * (the engine mixes in its address with XOR, which a plain `seed + index` could cancel out).
 */
function hostSeed(seed: number, index: number): number {
  let h = Math.imul((seed ^ 0x9e3779b9) >>> 0, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  return (h ^ (h >>> 15)) >>> 0;
}

function hostIndex(s: Scenario, host: string): number {
  return scenarioHosts(s).indexOf(host);
}

function isCallStep(step: Step): step is CallStep {
  return 'host' in step;
}

interface ProcessState {
  host: string;
  pid: number;
  /** Index of the step whose call is blocked. */
  blocked: number | undefined;
  /** Steps due while it was blocked, in order. */
  queue: number[];
}

type JsonResult = { ok: true; value: unknown } | { ok: false; errno: string; message: string };

function resultJson(r: CallResult): JsonResult {
  return r.ok ? { ok: true, value: r.value } : { ok: false, errno: r.errno, message: r.message };
}

function byteCount(v: unknown): number {
  if (v instanceof Uint8Array) return v.length;
  return isObj(v) && typeof v.bytes === 'number' ? v.bytes : 0;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/** The bytes a send step carries. */
export function stepData(step: { data?: string; bytes?: number; hex?: string }): Uint8Array {
  if (step.data !== undefined) return utf8(step.data);
  if (step.hex !== undefined) {
    const out = new Uint8Array(step.hex.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(step.hex.slice(2 * i, 2 * i + 2), 16);
    return out;
  }
  const out = new Uint8Array(step.bytes ?? 0);
  for (let i = 0; i < out.length; i++) out[i] = 0x61 + (i % 26);
  return out;
}

/** UTF-8 encoding without TextEncoder (shared/ targets plain ES2022). */
export function utf8(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}
