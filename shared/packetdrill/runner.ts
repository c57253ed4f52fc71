/**
 * Runs a packetdrill script against one of our hosts, in virtual time.
 *
 * The local side (192.168.0.1) is a `Host` driven through its socket API; the remote side
 * (192.0.2.1) is the script: `<` packets are encoded to bytes and injected at their time, and
 * every segment the host transmits is decoded from bytes and checked against the next `>` line.
 * The semantics follow packetdrill's own interpreter (run.c, run_packet.c, run_system_call.c):
 *
 * - Relative times (`+t`) count from the end of the previous event, except that consecutive
 *   inbound packets are anchored to each other's script times. Timing is checked with
 *   packetdrill's tolerance: max(--tolerance_usecs, --tolerance_percent of the gap to the
 *   previous event); defaults 4000 µs and 12.5 %.
 * - One connection is "under test" at a time. An inbound packet while the socket under test
 *   listens starts a new connection from a new remote port; an outbound SYN after connect()
 *   starts an active one. Sequence numbers in the script are relative: inbound ones to the
 *   script's own ISN, outbound ones to the local ISN learned from our SYN or SYN-ACK, exactly as
 *   packetdrill maps them. Outbound segments of other connections are ignored.
 * - A `>` line whose payload is longer than the next segment collects consecutive segments until
 *   the length matches (packetdrill's TSO/GSO aggregation; `--strict_segments` turns it off).
 * - TCP options are compared in order; `<...>` skips them; no list means "no options". TS val is
 *   only checked with `--tcp_ts_tick_usecs`; TS ecr of inbound packets is mapped to the TS val
 *   we sent when the script said that value.
 * - A system call with `...t` blocks and must return at `t`; any other call must return at once
 *   (if it blocks, time runs with only timers firing, as packetdrill's main thread would wait).
 * - `%{ }%` blocks are evaluated against the socket under test when their time comes.
 */
import { decodePacket, encodePacket } from '../tcp/codec.ts';
import type { TcpConfig } from '../tcp/config.ts';
import { Host, type SocketSnapshot } from '../tcp/host.ts';
import {
  ACK,
  CWR,
  ECE,
  FIN,
  type Packet,
  PSH,
  RST,
  SYN,
  type TcpOption,
  type TcpSegment,
  URG,
} from '../tcp/packet.ts';
import type { CallRequest, CallResult, TcpState } from '../tcp/types.ts';
import type { EventTime, PacketSpec, Script, ScriptEvent, TcpOptionSpec, Unsupported } from './ast.ts';
import { interpretCommand } from './commands.ts';
import { flagsText, secs, segmentText, specText } from './format.ts';
import { ParseError, parseScript } from './parser.ts';
import { type CodeEnv, namesUsed, type PyStmt, parseCode, runCode } from './python.ts';
import {
  type CompiledCall,
  compileSyscall,
  ERRNO_NUMBERS,
  type Expected,
  type OutValue,
} from './syscalls.ts';

export const LOCAL_ADDR = 0xc0a80001; // 192.168.0.1
export const REMOTE_ADDR = 0xc0000201; // 192.0.2.1
/** packetdrill's default --bind_port and --connect_port. */
export const BIND_PORT = 8080;
export const CONNECT_PORT = 8080;
/** Remote ports for connections the script opens towards us (packetdrill picks ephemeral ones). */
const FIRST_REMOTE_PORT = 40_000;
const O_RDWR = 2;
const O_NONBLOCK = 0o4000;

export type ScriptResult =
  | { status: 'pass'; path: string }
  | { status: 'fail'; path: string; line: number; message: string }
  | { status: 'unsupported'; path: string; constructs: Unsupported[] };

export interface RunOptions {
  /** Engine settings applied on top of the profile the script asks for. */
  config?: Partial<TcpConfig>;
  /** Longest virtual time a `*` packet or a blocked call may take (default 1 hour). */
  maxWaitUsecs?: number;
  /** When given, receives one line per packet and call as the script runs (for -v). */
  trace?: (line: string) => void;
}

/** Parses and runs a script; a syntax error is reported as unsupported (our parser's limit). */
export function runScriptText(text: string, path: string, opts: RunOptions = {}): ScriptResult {
  let script: Script;
  try {
    script = parseScript(text, path);
  } catch (e) {
    if (e instanceof ParseError) {
      return {
        status: 'unsupported',
        path,
        constructs: [{ line: e.line, construct: `parse error: ${e.message}` }],
      };
    }
    throw e;
  }
  return runScript(script, opts);
}

/** One line per script, as the CLI prints it. */
export function formatResult(r: ScriptResult): string {
  switch (r.status) {
    case 'pass':
      return `PASS ${r.path}`;
    case 'fail':
      return `FAIL ${r.path}:${r.line} ${r.message}`;
    case 'unsupported':
      return `UNSUPPORTED ${r.path}: ${r.constructs.map((c) => `line ${c.line}: ${c.construct}`).join('; ')}`;
  }
}

export function runScript(script: Script, opts: RunOptions = {}): ScriptResult {
  const prepared = prepare(script);
  if (prepared.unsupported.length > 0) {
    return { status: 'unsupported', path: script.path, constructs: prepared.unsupported };
  }
  const run = new Run(script, prepared, opts);
  try {
    run.execute();
    return { status: 'pass', path: script.path };
  } catch (e) {
    if (e instanceof ScriptFailure)
      return { status: 'fail', path: script.path, line: e.line, message: e.message };
    if (e instanceof RuntimeUnsupported) {
      return {
        status: 'unsupported',
        path: script.path,
        constructs: [{ line: e.line, construct: e.message }],
      };
    }
    throw e;
  }
}

// ---- preparation: everything that can be checked before running ------------------------------

/** tcp_info fields we can compute from the engine's socket snapshot. */
export const SUPPORTED_TCPI = new Set([
  'tcpi_state',
  'tcpi_ca_state',
  'tcpi_retransmits',
  'tcpi_rto',
  'tcpi_rtt',
  'tcpi_rttvar',
  'tcpi_snd_mss',
  'tcpi_advmss',
  'tcpi_snd_cwnd',
  'tcpi_snd_ssthresh',
  'tcpi_unacked',
  'tcpi_snd_wscale',
  'tcpi_rcv_wscale',
  'tcpi_options',
  'tcpi_snd_wnd',
  'tcpi_rcv_wnd',
  'tcpi_reordering',
  'tcpi_notsent_bytes',
]);

interface Prepared {
  unsupported: Unsupported[];
  config: Partial<TcpConfig>;
  profile: 'packetdrill' | 'linux';
  tolerance: number;
  tolerancePercent: number;
  tsTick: number;
  strictSegments: boolean;
  tsEcrScaled: boolean;
  calls: Map<ScriptEvent, { call: CompiledCall; expected: Expected; blocking: boolean }>;
  code: Map<ScriptEvent, PyStmt[]>;
}

const HARMLESS_OPTIONS: Readonly<Record<string, (v: string) => boolean>> = {
  send_omit_free: () => true,
  verbose: () => true,
  ip_version: (v) => v === 'ipv4',
  local_ip: (v) => v === '192.168.0.1',
  remote_ip: (v) => v === '192.0.2.1',
  bind_port: (v) => v === String(BIND_PORT),
  connect_port: (v) => v === String(CONNECT_PORT),
};

function prepare(script: Script): Prepared {
  const p: Prepared = {
    unsupported: [...script.unsupported],
    config: {},
    profile: 'linux',
    tolerance: 4000,
    tolerancePercent: 12.5,
    tsTick: 0,
    strictSegments: false,
    tsEcrScaled: false,
    calls: new Map(),
    code: new Map(),
  };
  for (const o of script.options) {
    const num = Number(o.value);
    if (o.name === 'tolerance_usecs' && num > 0) p.tolerance = num;
    else if (o.name === 'tolerance_percent' && num >= 0 && num <= 100) p.tolerancePercent = num;
    else if (o.name === 'tcp_ts_tick_usecs' && num >= 0) p.tsTick = num;
    else if (o.name === 'strict_segments') p.strictSegments = true;
    else if (o.name === 'tcp_ts_ecr_scaled') p.tsEcrScaled = true;
    else if (!HARMLESS_OPTIONS[o.name]?.(o.value)) {
      p.unsupported.push({ line: o.line, construct: `option --${o.name}${o.value ? `=${o.value}` : ''}` });
    }
  }
  if (script.initCommand) {
    if (/common\/defaults\.sh/.test(script.initCommand.command)) p.profile = 'packetdrill';
    const r = interpretCommand(script.initCommand.command);
    if (r.ok) Object.assign(p.config, r.config);
    else p.unsupported.push({ line: script.initCommand.line, construct: r.construct });
  }
  if (script.cleanupCommand) {
    const r = interpretCommand(script.cleanupCommand.command);
    if (!r.ok) p.unsupported.push({ line: script.cleanupCommand.line, construct: r.construct });
  }
  const vars = new Set<string>();
  for (const ev of script.events) {
    const a = ev.action;
    if (a.kind === 'syscall') {
      const c = compileSyscall(a.syscall, ev.text);
      if (c.ok) p.calls.set(ev, c);
      else p.unsupported.push({ line: ev.line, construct: c.construct });
    } else if (a.kind === 'code') {
      const c = parseCode(a.code);
      if (!c.ok) {
        p.unsupported.push({ line: ev.line, construct: `Python \`${c.construct}\`` });
        continue;
      }
      for (const s of c.statements) if (s.kind === 'assign') vars.add(s.name);
      const unknown = namesUsed(c.statements).filter((n) => n.startsWith('tcpi_') && !SUPPORTED_TCPI.has(n));
      for (const n of unknown) p.unsupported.push({ line: ev.line, construct: `tcp_info field ${n}` });
      p.code.set(ev, c.statements);
    } else if (a.kind === 'command') {
      const r = interpretCommand(a.command);
      if (!r.ok) p.unsupported.push({ line: ev.line, construct: r.construct });
      else if (Object.keys(r.config).length > 0) {
        p.unsupported.push({
          line: ev.line,
          construct: `settings changed during the script: \`${a.command.trim()}\``,
        });
      }
    } else if (a.packet.srcPort !== undefined) {
      p.unsupported.push({ line: ev.line, construct: `explicit ports in \`${ev.text}\`` });
    }
  }
  return p;
}

// ---- running ----------------------------------------------------------------------------------

class ScriptFailure extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

class RuntimeUnsupported extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

/** packetdrill's `struct socket`: what the interpreter knows about one connection. */
interface Tracked {
  state:
    | 'new'
    | 'listening'
    | 'connecting'
    | 'syn-sent'
    | 'syn-acked'
    | 'passive-packet-received'
    | 'synack-sent'
    | 'synack-acked';
  /** The descriptor socket()/accept() gave it (tcp_info is read through this one). */
  primaryFd: number | undefined;
  localPort: number;
  remotePort: number;
  scriptLocalIsn: number;
  liveLocalIsn: number;
  remoteIsn: number;
  /** Script TS val → the TS val we actually sent when the script expected it. */
  tsMap: Map<number, number>;
  firstTs: { script: number; actual: number } | undefined;
  /** MSS we advertised on our SYN or SYN-ACK. */
  advMss: number | undefined;
}

interface FdEntry {
  engineFd: number;
  sock: Tracked;
}

interface Sniffed {
  tUs: number;
  packet: Packet;
}

interface PendingCall {
  callId: number;
  ev: ScriptEvent;
  call: CompiledCall;
  expected: Expected;
  startUs: number;
  endUs: number;
}

const LINUX_STATE: Readonly<Record<TcpState, number>> = {
  ESTABLISHED: 1,
  'SYN-SENT': 2,
  'SYN-RECEIVED': 3,
  'FIN-WAIT-1': 4,
  'FIN-WAIT-2': 5,
  'TIME-WAIT': 6,
  CLOSED: 7,
  'CLOSE-WAIT': 8,
  'LAST-ACK': 9,
  LISTEN: 10,
  CLOSING: 11,
};

class Run {
  private readonly host: Host;
  private nowUs = 0;
  private readonly queue: Sniffed[] = [];
  private readonly returns = new Map<number, { tUs: number; result: CallResult }>();
  private pending: PendingCall | undefined;
  private readonly fds = new Map<number, FdEntry>();
  private readonly tracked: Tracked[] = [];
  private sut: Tracked | undefined;
  private nextRemotePort = FIRST_REMOTE_PORT;
  private lastEvent: ScriptEvent | undefined;
  private lastEventUs: number | undefined;
  private lastAbsoluteUs = 0;
  private readonly codeEnv: CodeEnv;
  private readonly maxWait: number;
  private readonly trace: (line: string) => void;

  constructor(
    private readonly script: Script,
    private readonly prep: Prepared,
    opts: RunOptions,
  ) {
    this.host = new Host({
      name: 'local',
      addr: LOCAL_ADDR,
      profile: prep.profile,
      config: { ...prep.config, ...opts.config },
    });
    this.maxWait = opts.maxWaitUsecs ?? 3_600_000_000;
    this.trace = opts.trace ?? (() => {});
    this.codeEnv = { vars: new Map(), tcpi: () => undefined };
  }

  execute(): void {
    const events = this.script.events;
    if (events.length === 0) return;
    const first = events[0]!;
    if (!((first.time.kind === 'absolute' || first.time.kind === 'relative') && first.time.usecs === 0)) {
      throw new ScriptFailure(first.line, 'first event should be at time 0');
    }
    for (const ev of events) {
      const { startUs, endUs } = this.schedule(ev);
      this.dispatch(ev, startUs, endUs);
      this.lastEvent = ev;
      this.lastEventUs = startUs;
    }
    this.finishPending(this.script.events[this.script.events.length - 1]!.line);
  }

  // ---- time -----------------------------------------------------------------------------------

  /** packetdrill's adjust_relative_event_times. */
  private schedule(ev: ScriptEvent): { startUs: number; endUs: number | undefined } {
    const t: EventTime = ev.time;
    if (t.kind === 'absolute' || t.kind === 'absolute-range') {
      if (this.lastEvent && isAbsolute(this.lastEvent.time) && t.usecs < this.lastAbsoluteUs) {
        throw new ScriptFailure(
          ev.line,
          `time goes backward in script from ${this.lastAbsoluteUs} usec to ${t.usecs} usec`,
        );
      }
      this.lastAbsoluteUs = t.usecs;
      return { startUs: t.usecs, endUs: t.kind === 'absolute-range' ? t.endUsecs : undefined };
    }
    const anchored =
      this.lastEvent !== undefined &&
      isInboundPacket(this.lastEvent) &&
      isInboundPacket(ev) &&
      t.kind !== 'any';
    const offset = anchored ? this.lastEventUs! : this.nowUs;
    if (t.kind === 'any') return { startUs: offset, endUs: undefined };
    return {
      startUs: t.usecs + offset,
      endUs: t.kind === 'relative-range' ? t.endUsecs + offset : undefined,
    };
  }

  private tolerance(scriptUs: number, lastUs: number | undefined): number {
    let tol = this.prep.tolerance;
    if (lastUs !== undefined) tol = Math.max(tol, (this.prep.tolerancePercent / 100) * (scriptUs - lastUs));
    return tol;
  }

  /** Fires timers in deadline order up to `tUs`, collecting what the host sends. */
  private advanceTo(tUs: number): void {
    for (let guard = 0; guard < 1_000_000; guard++) {
      const d = this.host.nextDeadline();
      if (d === undefined || d * 1000 > tUs) break;
      this.host.advance(d);
      this.nowUs = Math.max(this.nowUs, d * 1000);
      this.pump();
    }
    if (tUs > this.nowUs) this.nowUs = tUs;
    this.host.advance(this.nowUs / 1000);
    this.pump();
  }

  /** Fires the next timer if it is due no later than `limitUs`; false when there is none. */
  private stepTimer(limitUs: number): boolean {
    const d = this.host.nextDeadline();
    if (d === undefined || d * 1000 > limitUs) return false;
    this.host.advance(Math.max(d, this.nowUs / 1000));
    this.nowUs = Math.max(this.nowUs, d * 1000);
    this.pump();
    return true;
  }

  /** packetdrill's wait_for_event: run up to the event's time; fail if we are already late. */
  private waitFor(ev: ScriptEvent, startUs: number, what: string): void {
    this.advanceTo(startUs);
    if (this.lastEvent === undefined) return;
    const tol = this.tolerance(startUs, this.lastEventUs);
    if (this.nowUs > startUs + tol) {
      throw new ScriptFailure(
        ev.line,
        `timing error: expected ${what} at ${secs(startUs)} sec but happened at ${secs(this.nowUs)} sec; tolerance ${secs(tol)} sec`,
      );
    }
  }

  /** Collects the host's events: transmits for the sniffer, returns of blocked calls. */
  private pump(): void {
    for (const e of this.host.drain()) {
      if (e.type === 'transmit') this.queue.push({ tUs: e.t * 1000, packet: e.packet });
      else if (e.type === 'return') this.returns.set(e.callId, { tUs: e.t * 1000, result: e.result });
    }
    const p = this.pending;
    if (p && this.returns.has(p.callId)) {
      this.pending = undefined;
      const r = this.returns.get(p.callId)!;
      this.returns.delete(p.callId);
      this.trace(`${secs(r.tUs)} return of line ${p.ev.line} -> ${callResultText(r.result)}`);
      this.completeCall(p.ev, p.call, p.expected, r.result);
      const tol = Math.max(this.prep.tolerance, (this.prep.tolerancePercent / 100) * (p.endUs - p.startUs));
      if (r.tUs < p.endUs - tol || r.tUs > p.endUs + tol) {
        throw new ScriptFailure(
          p.ev.line,
          `timing error: expected system call return at ${secs(p.endUs)} sec but happened at ${secs(r.tUs)} sec; tolerance ${secs(tol)} sec`,
        );
      }
    }
  }

  // ---- events ---------------------------------------------------------------------------------

  private dispatch(ev: ScriptEvent, startUs: number, endUs: number | undefined): void {
    const a = ev.action;
    switch (a.kind) {
      case 'packet':
        if (a.packet.direction === 'in') this.inbound(ev, a.packet, startUs);
        else this.outbound(ev, a.packet, startUs, endUs);
        return;
      case 'syscall':
        this.syscall(ev, startUs);
        return;
      case 'command':
        this.waitFor(ev, startUs, 'command');
        return;
      case 'code':
        this.code(ev, startUs);
        return;
    }
  }

  // ---- inbound packets ------------------------------------------------------------------------

  private socketForInbound(): Tracked {
    const s = this.sut;
    if (s === undefined || s.state === 'listening') {
      const child: Tracked = newTracked('passive-packet-received');
      child.localPort = BIND_PORT;
      child.remotePort = this.nextRemotePort++;
      this.tracked.push(child);
      this.sut = child;
      return child;
    }
    return s;
  }

  private inbound(ev: ScriptEvent, spec: PacketSpec, startUs: number): void {
    this.waitFor(ev, startUs, 'inbound packet');
    const s = this.socketForInbound();
    if (s.state === 'passive-packet-received' && spec.syn && !spec.ack) s.remoteIsn = spec.seq;
    if (s.state === 'synack-sent' && spec.ack) s.state = 'synack-acked';
    else if (s.state === 'syn-sent' && spec.syn && spec.ack) {
      s.state = 'syn-acked';
      s.remoteIsn = spec.seq;
    }
    const isSyn = spec.syn;
    const seq = isSyn ? spec.seq : (spec.seq + s.remoteIsn) >>> 0;
    const ackOffset = isSyn ? (s.liveLocalIsn - s.scriptLocalIsn) >>> 0 : s.liveLocalIsn;
    const ack = spec.ack ? (spec.ackNum + ackOffset) >>> 0 : spec.ackNum;
    const options: TcpOption[] = [];
    for (const o of spec.options ?? []) options.push(this.inboundOption(ev, s, spec, o, ackOffset));
    const packet: Packet = {
      ip: { tos: 0, id: 0, df: true, ttl: 64, src: REMOTE_ADDR, dst: LOCAL_ADDR },
      tcp: {
        srcPort: s.remotePort,
        dstPort: s.localPort,
        seq,
        ack,
        reserved: 0,
        flags: specFlags(spec),
        window: spec.win ?? 0,
        checksum: 0,
        urgent: spec.urgPtr,
        options,
        payload: new Uint8Array(spec.len),
      },
    };
    let bytes: Uint8Array;
    try {
      bytes = encodePacket(packet);
    } catch (e) {
      throw new ScriptFailure(ev.line, `cannot encode inbound packet: ${(e as Error).message}`);
    }
    this.trace(`${secs(this.nowUs)} < ${specText(spec)}`);
    this.host.receive(this.nowUs / 1000, bytes);
    this.pump();
  }

  private inboundOption(
    ev: ScriptEvent,
    s: Tracked,
    spec: PacketSpec,
    o: TcpOptionSpec,
    ackOffset: number,
  ): TcpOption {
    switch (o.kind) {
      case 'nop':
        return { kind: 'nop' };
      case 'eol':
        return { kind: 'eol' };
      case 'mss':
        return { kind: 'mss', value: o.value };
      case 'wscale':
        return { kind: 'wscale', shift: o.shift };
      case 'sackOK':
        return { kind: 'sack-permitted' };
      case 'sack':
        return {
          kind: 'sack',
          blocks: o.blocks.map(([l, r]) => ({ left: (l + ackOffset) >>> 0, right: (r + ackOffset) >>> 0 })),
        };
      case 'ts': {
        let ecr = o.ecr;
        if (spec.ack) {
          const mapped = s.tsMap.get(o.ecr);
          if (mapped !== undefined) ecr = mapped;
          else if (this.prep.tsEcrScaled && s.firstTs)
            ecr = (o.ecr - s.firstTs.script + s.firstTs.actual) >>> 0;
          else {
            throw new ScriptFailure(
              ev.line,
              `unable to infer live TS ecr for script TS ecr ${o.ecr}; no matching or preceding outbound TS val`,
            );
          }
        }
        return { kind: 'timestamps', tsval: o.val, tsecr: ecr };
      }
    }
  }

  // ---- outbound packets -----------------------------------------------------------------------

  private socketForOutbound(ev: ScriptEvent, spec: PacketSpec): Tracked {
    const s = this.sut;
    if (!s) throw new ScriptFailure(ev.line, 'no matching socket for script packet');
    if (spec.syn && !spec.ack && s.state === 'connecting') {
      s.state = 'syn-sent';
      s.scriptLocalIsn = spec.seq;
    }
    if (s.state === 'passive-packet-received' && spec.syn && spec.ack) s.scriptLocalIsn = spec.seq;
    return s;
  }

  /** The next segment the socket under test sends, waiting (in virtual time) up to `limitUs`. */
  private sniff(s: Tracked, limitUs: number): Sniffed | undefined {
    for (;;) {
      while (this.queue.length > 0) {
        const q = this.queue.shift()!;
        const t = q.packet.tcp;
        if (q.packet.ip.src !== LOCAL_ADDR || q.packet.ip.dst !== REMOTE_ADDR) continue;
        if (s.state === 'syn-sent' && s.localPort === 0) {
          // find_connect_for_live_packet: our SYN tells us the local port and ISN.
          if (t.flags & SYN && !(t.flags & ACK) && t.dstPort === s.remotePort) {
            s.localPort = t.srcPort;
            s.liveLocalIsn = t.seq;
            return q;
          }
          this.trace(`${secs(q.tUs)} (ignored: not the connection under test) ${segmentText(t)}`);
          continue;
        }
        if (t.srcPort === s.localPort && t.dstPort === s.remotePort) return q;
        this.trace(`${secs(q.tUs)} (ignored: not the connection under test) ${segmentText(t)}`);
      }
      if (!this.stepTimer(limitUs)) return undefined;
    }
  }

  private outbound(ev: ScriptEvent, spec: PacketSpec, startUs: number, endUs: number | undefined): void {
    const s = this.socketForOutbound(ev, spec);
    const any = ev.time.kind === 'any';
    const lastScript = this.lastEventUs ?? 0;
    const limitUs = any
      ? this.nowUs + this.maxWait
      : this.nowUs + Math.max(startUs - lastScript, (endUs ?? startUs) - lastScript) + 2_000_000;
    const fragments: Sniffed[] = [];
    let payload = 0;
    do {
      const got = this.sniff(s, limitUs);
      if (!got) {
        const sofar = fragments.length
          ? `; got only ${fragments.map((f) => this.describeLive(s, f.packet.tcp)).join(', ')}`
          : '';
        throw new ScriptFailure(
          ev.line,
          `expected ${specText(spec)} but no packet was sent (waited until ${secs(limitUs)} sec)${sofar}`,
        );
      }
      if (fragments.length === 0 && s.state === 'passive-packet-received' && spec.syn && spec.ack) {
        s.state = 'synack-sent';
        s.liveLocalIsn = got.packet.tcp.seq;
      }
      this.trace(`${secs(got.tUs)} > ${this.describeLive(s, got.packet.tcp)}`);
      // Check the segment survives the wire: encode and decode it as a receiver would.
      let wire: Packet;
      try {
        const d = decodePacket(encodePacket(got.packet));
        if (!d.ok) throw new Error(`${d.error.kind}: ${d.error.message}`);
        wire = d.packet;
      } catch (e) {
        throw new ScriptFailure(
          ev.line,
          `the engine sent a packet that is not valid on the wire: ${(e as Error).message}`,
        );
      }
      const frag = { tUs: got.tUs, packet: wire };
      if (fragments.length > 0) {
        const prev = fragments[fragments.length - 1]!.packet.tcp;
        const cur = wire.tcp;
        const contiguous = (prev.seq + prev.payload.length) >>> 0 === cur.seq >>> 0;
        const sameHeaders =
          (prev.flags & ~(FIN | PSH | CWR)) === (cur.flags & ~(FIN | PSH | CWR)) &&
          prev.ack === cur.ack &&
          prev.window === cur.window &&
          optionBytes(prev) === optionBytes(cur);
        const notLast = cur.payload.length < spec.len - payload;
        if (!contiguous || !sameHeaders || (notLast && cur.payload.length !== prev.payload.length)) {
          throw new ScriptFailure(
            ev.line,
            `expected ${specText(spec)} but got ${[...fragments, frag].map((f) => this.describeLive(s, f.packet.tcp)).join(', ')} (segments that do not add up to one TSO packet)`,
          );
        }
      }
      fragments.push(frag);
      payload += wire.tcp.payload.length;
    } while (payload < spec.len && !this.prep.strictSegments);
    const last = fragments[fragments.length - 1]!;
    const firstSeg = fragments[0]!.packet.tcp;
    const merged: TcpSegment = {
      ...last.packet.tcp,
      seq: firstSeg.seq,
      flags: (last.packet.tcp.flags & ~CWR) | (firstSeg.flags & CWR),
      payload: new Uint8Array(payload),
    };
    const actualUs = last.tUs;
    if (payload !== spec.len) {
      throw new ScriptFailure(
        ev.line,
        `expected ${specText(spec)} but got ${fragments.map((f) => this.describeLive(s, f.packet.tcp)).join(', ')} (payload: expected ${spec.len} bytes vs actual ${payload} bytes)`,
      );
    }
    if (merged.flags & SYN && s.advMss === undefined) {
      for (const o of merged.options) if (o.kind === 'mss') s.advMss = o.value;
    }
    const actual = this.toScriptSpace(s, merged);
    this.recordTimestamps(s, spec, actual);
    const mismatch = this.compare(spec, actual, startUs, s);
    const actualText = `${segmentText(actual)} at ${secs(actualUs)} sec`;
    if (mismatch)
      throw new ScriptFailure(ev.line, `expected ${specText(spec)} got ${actualText} (${mismatch})`);
    // Timing.
    const tol = this.tolerance(startUs, this.lastEventUs);
    if (!any) {
      const hi = endUs ?? startUs;
      if (actualUs < startUs - tol || actualUs > hi + tol) {
        const when =
          endUs !== undefined ? `in time range ${secs(startUs)}~${secs(endUs)}` : `at ${secs(startUs)}`;
        throw new ScriptFailure(
          ev.line,
          `timing error: expected ${specText(spec)} ${when} sec but it was sent at ${secs(actualUs)} sec; tolerance ${secs(tol)} sec`,
        );
      }
    }
    this.nowUs = Math.max(this.nowUs, actualUs);
  }

  private describeLive(s: Tracked, seg: TcpSegment): string {
    return segmentText(this.toScriptSpace(s, seg));
  }

  /** Live → script sequence space (tcp_convert_seq_number). */
  private toScriptSpace(s: Tracked, seg: TcpSegment): TcpSegment {
    const isSyn = (seg.flags & SYN) !== 0;
    const seqOffset = isSyn ? (s.liveLocalIsn - s.scriptLocalIsn) >>> 0 : s.liveLocalIsn;
    const ackOffset = isSyn ? 0 : s.remoteIsn;
    const options = seg.options.map(
      (o): TcpOption =>
        o.kind === 'sack'
          ? {
              kind: 'sack',
              blocks: o.blocks.map((b) => ({
                left: (b.left - ackOffset) >>> 0,
                right: (b.right - ackOffset) >>> 0,
              })),
            }
          : o,
    );
    return {
      ...seg,
      seq: (seg.seq - seqOffset) >>> 0,
      ack: seg.flags & ACK ? (seg.ack - ackOffset) >>> 0 : seg.ack,
      options,
    };
  }

  private recordTimestamps(s: Tracked, spec: PacketSpec, actual: TcpSegment): void {
    const st = spec.options?.find((o) => o.kind === 'ts');
    const at = actual.options.find((o) => o.kind === 'timestamps');
    if (st?.kind !== 'ts' || at?.kind !== 'timestamps') return;
    s.tsMap.set(st.val, at.tsval);
    if (!s.firstTs) s.firstTs = { script: st.val, actual: at.tsval };
  }

  /** verify_tcp + verify_outbound_live_tcp_options; returns what differs, or undefined. */
  private compare(spec: PacketSpec, a: TcpSegment, startUs: number, s: Tracked): string | undefined {
    const flags: Array<[string, number, boolean]> = [
      ['FIN', FIN, spec.fin],
      ['SYN', SYN, spec.syn],
      ['RST', RST, spec.rst],
      ['PSH', PSH, spec.psh],
      ['ACK', ACK, spec.ack],
      ['URG', URG, spec.urg],
      ['ECE', ECE, spec.ece],
      ['CWR', CWR, spec.cwr],
    ];
    for (const [name, bit, want] of flags) {
      if (((a.flags & bit) !== 0) !== want) {
        return `flags: expected ${spec.flagText || '-'} vs actual ${flagsText(a.flags)} (${name} ${want ? 'missing' : 'set'})`;
      }
    }
    if (a.reserved !== 0) return `reserved bits: expected 0 vs actual ${a.reserved}`;
    if (a.seq >>> 0 !== spec.seq) return `seq: expected ${spec.seq} vs actual ${a.seq >>> 0}`;
    if (a.ack >>> 0 !== spec.ackNum) return `ack: expected ${spec.ackNum} vs actual ${a.ack >>> 0}`;
    if (spec.win !== undefined && a.window !== spec.win)
      return `win: expected ${spec.win} vs actual ${a.window}`;
    if (a.urgent !== spec.urgPtr) return `urg: expected ${spec.urgPtr} vs actual ${a.urgent}`;
    if (spec.options === null) return undefined;
    const want = spec.options;
    const got = a.options;
    for (let i = 0; i < Math.max(want.length, got.length); i++) {
      const w = want[i];
      const g = got[i];
      if (!w || !g || optionKind(w) !== g.kind) return 'bad outbound TCP options';
      if (w.kind === 'ts' && g.kind === 'timestamps') {
        if (this.prep.tsTick > 0) {
          const mapped = s.firstTs ? (s.firstTs.script + (g.tsval - s.firstTs.actual)) >>> 0 : g.tsval;
          const tol = Math.max(this.prep.tolerance, (this.prep.tolerancePercent / 100) * startUs);
          if (Math.abs((mapped - w.val) | 0) * this.prep.tsTick > tol) {
            return `TS val: expected ${w.val} vs actual ${mapped} (tolerance ${tol} usecs)`;
          }
        }
        continue;
      }
      if (!optionEqual(w, g))
        return `TCP option: expected ${specOptionTextOf(w)} vs actual ${optionTextOf(g)}`;
    }
    return undefined;
  }

  // ---- system calls ---------------------------------------------------------------------------

  private syscall(ev: ScriptEvent, startUs: number): void {
    const c = this.prep.calls.get(ev)!;
    // Back-to-back calls: packetdrill's main thread waits up to 1 s for a blocked call to finish.
    if (this.pending) {
      const limit = this.nowUs + 1_000_000;
      while (this.pending && this.stepTimer(limit)) {}
      if (this.pending && c.blocking) {
        throw new ScriptFailure(
          ev.line,
          'blocking system call while another blocking system call is already in progress',
        );
      }
    }
    this.waitFor(ev, startUs, 'system call start');
    const req = this.request(ev, c.call);
    if (req === 'done') return;
    const out = this.host.call(this.nowUs / 1000, req);
    this.trace(
      `${secs(this.nowUs)} ${ev.text}${out.result ? ` -> ${callResultText(out.result)}` : ' -> (blocked)'}`,
    );
    this.pump();
    if (out.result !== undefined) {
      this.returns.delete(out.callId);
      this.completeCall(ev, c.call, c.expected, out.result);
      if (c.blocking) this.checkEnd(ev, startUs, this.nowUs);
      return;
    }
    if (c.blocking) {
      this.pending = {
        callId: out.callId,
        ev,
        call: c.call,
        expected: c.expected,
        startUs,
        endUs: endOf(ev, startUs),
      };
      return;
    }
    // Not marked blocking, but it blocked: time passes with only timers (no injected packets).
    const limit = this.nowUs + this.maxWait;
    while (!this.returns.has(out.callId)) {
      if (!this.stepTimer(limit)) {
        throw new ScriptFailure(
          ev.line,
          `${describeCall(c.call)} blocked, but the script expects it to return at once (a blocking call needs "...end_time")`,
        );
      }
    }
    const r = this.returns.get(out.callId)!;
    this.returns.delete(out.callId);
    this.completeCall(ev, c.call, c.expected, r.result);
  }

  private checkEnd(ev: ScriptEvent, startUs: number, actualUs: number): void {
    const endUs = endOf(ev, startUs);
    const tol = Math.max(this.prep.tolerance, (this.prep.tolerancePercent / 100) * (endUs - startUs));
    if (actualUs < endUs - tol || actualUs > endUs + tol) {
      throw new ScriptFailure(
        ev.line,
        `timing error: expected system call return at ${secs(endUs)} sec but happened at ${secs(actualUs)} sec; tolerance ${secs(tol)} sec`,
      );
    }
  }

  private finishPending(line: number): void {
    if (!this.pending) return;
    const limit = this.nowUs + 1_000_000;
    while (this.pending && this.stepTimer(limit)) {}
    if (this.pending) {
      throw new ScriptFailure(
        this.pending.ev.line,
        `exiting while a blocking system call is in progress (script ends at line ${line})`,
      );
    }
  }

  private entry(ev: ScriptEvent, fd: number): FdEntry {
    const e = this.fds.get(fd);
    if (!e) throw new ScriptFailure(ev.line, `unable to find fd with script fd ${fd}`);
    return e;
  }

  /** The engine request for a call, or 'done' for calls answered without the engine. */
  private request(ev: ScriptEvent, c: CompiledCall): CallRequest | 'done' {
    switch (c.op) {
      case 'socket':
        return { op: 'socket', nonblocking: c.nonblocking };
      case 'bind':
        return {
          op: 'bind',
          fd: this.entry(ev, c.fd).engineFd,
          port: c.port ?? BIND_PORT,
          addr: c.addr ?? LOCAL_ADDR,
        };
      case 'listen':
        return { op: 'listen', fd: this.entry(ev, c.fd).engineFd, backlog: c.backlog };
      case 'connect': {
        const e = this.entry(ev, c.fd);
        if (e.sock.state === 'new') {
          e.sock.state = 'connecting';
          e.sock.remotePort = c.port ?? CONNECT_PORT;
        }
        return {
          op: 'connect',
          fd: e.engineFd,
          addr: c.addr ?? REMOTE_ADDR,
          port: c.port ?? CONNECT_PORT,
        };
      }
      case 'accept':
        return { op: 'accept', fd: this.entry(ev, c.fd).engineFd };
      case 'write':
        return { op: 'send', fd: this.entry(ev, c.fd).engineFd, data: new Uint8Array(c.len), more: c.more };
      case 'read':
        return { op: 'recv', fd: this.entry(ev, c.fd).engineFd, max: c.max, peek: c.peek };
      case 'close':
        return { op: 'close', fd: this.entry(ev, c.fd).engineFd };
      case 'shutdown':
        return { op: 'shutdown', fd: this.entry(ev, c.fd).engineFd, how: c.how };
      case 'setsockopt':
        return { op: 'setsockopt', fd: this.entry(ev, c.fd).engineFd, opt: c.opt, value: c.value };
      case 'getsockopt':
        return { op: 'getsockopt', fd: this.entry(ev, c.fd).engineFd, opt: c.opt };
      case 'getfl':
        return { op: 'getsockopt', fd: this.entry(ev, c.fd).engineFd, opt: 'O_NONBLOCK' };
      case 'setfl':
        return {
          op: 'setsockopt',
          fd: this.entry(ev, c.fd).engineFd,
          opt: 'O_NONBLOCK',
          value: c.nonblocking ? 1 : 0,
        };
      case 'dup':
        return { op: 'dup', fd: this.entry(ev, c.fd).engineFd };
      case 'inq':
      case 'outq': {
        const e = this.entry(ev, c.fd);
        const snap = this.host.socketOf(e.engineFd);
        const expected = this.prep.calls.get(ev)!.expected;
        if (!snap) throw new ScriptFailure(ev.line, `ioctl: descriptor ${c.fd} is not open`);
        if (snap.state === 'LISTEN') {
          this.checkResult(ev, expected, -1, 'EINVAL', 'a listening socket has no queue');
          return 'done';
        }
        const v = c.op === 'inq' ? snap.buffers.readable : snap.buffers.sendQueued;
        this.checkResult(ev, expected, 0, undefined, '');
        this.checkOut(ev, c.out, v, c.op === 'inq' ? 'SIOCINQ' : 'SIOCOUTQ');
        return 'done';
      }
    }
  }

  /** end_syscall plus the bookkeeping packetdrill does for the call. */
  private completeCall(ev: ScriptEvent, c: CompiledCall, expected: Expected, r: CallResult): void {
    const actual = r.ok ? resultNumber(c, r.value) : -1;
    const errno = r.ok ? undefined : r.errno;
    const message = r.ok ? '' : r.message;
    const fdMode = c.op === 'socket' || c.op === 'accept' || c.op === 'dup';
    if (fdMode && expected.value !== undefined && expected.value >= 0) {
      if (actual < 0) {
        throw new ScriptFailure(
          ev.line,
          `${describeCall(c)}: expected non-negative result but got ${actual} with ${errno} (${message})`,
        );
      }
    } else this.checkResult(ev, expected, actual, errno, message);
    if (!r.ok) return;
    switch (c.op) {
      case 'socket': {
        const sock = newTracked('new');
        sock.primaryFd = expected.value;
        this.tracked.push(sock);
        this.sut = sock;
        this.register(ev, expected.value!, actual, sock);
        return;
      }
      case 'accept': {
        const v = r.value as { fd: number; peerPort: number };
        const child = this.tracked.find(
          (t) => (t.state === 'synack-sent' || t.state === 'synack-acked') && t.remotePort === v.peerPort,
        );
        if (!child) throw new ScriptFailure(ev.line, 'unable to find socket matching accept() call');
        child.primaryFd = expected.value;
        this.register(ev, expected.value!, actual, child);
        return;
      }
      case 'dup': {
        const orig = this.entry(ev, c.fd);
        this.register(ev, expected.value!, actual, orig.sock);
        return;
      }
      case 'bind':
        this.entry(ev, c.fd).sock.localPort = c.port ?? BIND_PORT;
        return;
      case 'listen':
        this.entry(ev, c.fd).sock.state = 'listening';
        return;
      case 'connect':
      case 'close':
        break;
      case 'getsockopt':
        this.checkOut(ev, c.out, r.value, c.opt);
        return;
      case 'getfl':
        return;
      default:
        return;
    }
    if (c.op === 'close') this.fds.delete(c.fd);
  }

  private register(ev: ScriptEvent, scriptFd: number, engineFd: number, sock: Tracked): void {
    if (this.fds.has(scriptFd)) throw new ScriptFailure(ev.line, `duplicate fd ${scriptFd} in script`);
    this.fds.set(scriptFd, { engineFd, sock });
  }

  private checkResult(
    ev: ScriptEvent,
    expected: Expected,
    actual: number,
    errno: string | undefined,
    message: string,
  ): void {
    const call = this.prep.calls.get(ev)!.call;
    if (expected.value !== undefined && actual !== expected.value) {
      const why = errno ? ` with errno ${errno} (${message})` : '';
      throw new ScriptFailure(
        ev.line,
        `${describeCall(call)}: expected result ${expected.value} but got ${actual}${why}`,
      );
    }
    if (
      expected.errno !== undefined &&
      errno !== expected.errno &&
      ERRNO_NUMBERS[errno ?? ''] !== ERRNO_NUMBERS[expected.errno]
    ) {
      throw new ScriptFailure(
        ev.line,
        `${describeCall(call)}: expected errno ${expected.errno} but got ${errno ?? 'no error'}${message ? ` (${message})` : ''}`,
      );
    }
  }

  private checkOut(ev: ScriptEvent, out: OutValue, value: unknown, what: string): void {
    if (out.kind === 'any') return;
    if (out.kind === 'linger') {
      const v = value as { onoff: boolean; lingerSec: number };
      if (v.onoff !== out.value.onoff || v.lingerSec !== out.value.lingerSec) {
        throw new ScriptFailure(
          ev.line,
          `${what}: expected {onoff=${+out.value.onoff}, linger=${out.value.lingerSec}} but got {onoff=${+v.onoff}, linger=${v.lingerSec}}`,
        );
      }
      return;
    }
    let n: number;
    if (typeof value === 'number') n = value;
    else if (typeof value === 'boolean') n = value ? 1 : 0;
    else if (typeof value === 'string') n = ERRNO_NUMBERS[value] ?? Number.NaN;
    else n = Number.NaN;
    if (n !== out.value)
      throw new ScriptFailure(ev.line, `${what}: expected value ${out.value} but got ${String(value)}`);
  }

  // ---- code blocks ----------------------------------------------------------------------------

  private code(ev: ScriptEvent, startUs: number): void {
    this.waitFor(ev, startUs, 'data collection for code');
    const s = this.sut;
    if (!s) throw new ScriptFailure(ev.line, 'no socket to use for code');
    const entry = s.primaryFd !== undefined ? this.fds.get(s.primaryFd) : undefined;
    if (!entry || entry.sock !== s) {
      throw new ScriptFailure(
        ev.line,
        "can't find getsockopt to get TCP info (the socket under test has no open descriptor)",
      );
    }
    const snap = this.host.socketOf(entry.engineFd);
    if (!snap) throw new ScriptFailure(ev.line, "can't find getsockopt to get TCP info");
    this.codeEnv.tcpi = (name) => tcpInfo(name, snap, s);
    const r = runCode(this.prep.code.get(ev)!, this.codeEnv);
    if (r.ok) return;
    if (r.kind === 'unsupported') throw new RuntimeUnsupported(ev.line, r.construct);
    throw new ScriptFailure(ev.line, `assertion failed: ${r.statement} (${r.values})`);
  }
}

// ---- helpers ----------------------------------------------------------------------------------

function newTracked(state: Tracked['state']): Tracked {
  return {
    state,
    primaryFd: undefined,
    localPort: 0,
    remotePort: state === 'new' ? CONNECT_PORT : 0,
    scriptLocalIsn: 0,
    liveLocalIsn: 0,
    remoteIsn: 0,
    tsMap: new Map(),
    firstTs: undefined,
    advMss: undefined,
  };
}

/** The end time of a blocking call: `...t` counts from the same anchor as its start time. */
function endOf(ev: ScriptEvent, startUs: number): number {
  const end = ev.action.kind === 'syscall' ? (ev.action.syscall.endUsecs ?? 0) : 0;
  return ev.time.kind === 'relative' ? startUs - ev.time.usecs + end : end;
}

function isAbsolute(t: EventTime): boolean {
  return t.kind === 'absolute' || t.kind === 'absolute-range';
}

function isInboundPacket(ev: ScriptEvent): boolean {
  return ev.action.kind === 'packet' && ev.action.packet.direction === 'in';
}

function specFlags(p: PacketSpec): number {
  return (
    (p.fin ? FIN : 0) |
    (p.syn ? SYN : 0) |
    (p.rst ? RST : 0) |
    (p.psh ? PSH : 0) |
    (p.ack ? ACK : 0) |
    (p.urg ? URG : 0) |
    (p.ece ? ECE : 0) |
    (p.cwr ? CWR : 0)
  );
}

function optionKind(o: TcpOptionSpec): TcpOption['kind'] {
  switch (o.kind) {
    case 'sackOK':
      return 'sack-permitted';
    case 'ts':
      return 'timestamps';
    default:
      return o.kind;
  }
}

function optionEqual(w: TcpOptionSpec, g: TcpOption): boolean {
  if (w.kind === 'mss' && g.kind === 'mss') return w.value === g.value;
  if (w.kind === 'wscale' && g.kind === 'wscale') return w.shift === g.shift;
  if (w.kind === 'sack' && g.kind === 'sack') {
    return (
      w.blocks.length === g.blocks.length &&
      w.blocks.every(([l, r], i) => g.blocks[i]!.left >>> 0 === l && g.blocks[i]!.right >>> 0 === r)
    );
  }
  return optionKind(w) === g.kind;
}

function specOptionTextOf(o: TcpOptionSpec): string {
  return specText({ ...EMPTY_SPEC, options: [o] }).replace(/^.*<|>$/g, '');
}

function optionTextOf(o: TcpOption): string {
  return segmentText({ ...EMPTY_SEG, options: [o] }).replace(/^.*<|>$/g, '');
}

const EMPTY_SPEC: PacketSpec = {
  direction: 'out',
  flagText: '.',
  fin: false,
  syn: false,
  rst: false,
  psh: false,
  ack: false,
  urg: false,
  ece: false,
  cwr: false,
  seq: 0,
  end: 0,
  len: 0,
  ackNum: 0,
  win: undefined,
  urgPtr: 0,
  options: [],
  srcPort: undefined,
  dstPort: undefined,
};

const EMPTY_SEG: TcpSegment = {
  srcPort: 0,
  dstPort: 0,
  seq: 0,
  ack: 0,
  reserved: 0,
  flags: 0,
  window: 0,
  checksum: 0,
  urgent: 0,
  options: [],
  payload: new Uint8Array(0),
};

function optionBytes(seg: TcpSegment): string {
  return seg.options.map((o) => o.kind).join(',');
}

/** The value the system call itself returns (option values come back through pointers). */
function resultNumber(c: CompiledCall, v: unknown): number {
  switch (c.op) {
    case 'getsockopt':
    case 'setsockopt':
    case 'setfl':
      return 0;
    case 'getfl':
      return O_RDWR | (v === 1 || v === true ? O_NONBLOCK : 0);
    default:
      break;
  }
  if (typeof v === 'number') return v;
  if (v instanceof Uint8Array) return v.length;
  if (typeof v === 'object' && v !== null && 'fd' in v) return (v as { fd: number }).fd;
  return 0;
}

function callResultText(r: CallResult): string {
  if (!r.ok) return `-1 ${r.errno} (${r.message})`;
  const v = r.value;
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  return JSON.stringify(v);
}

function describeCall(c: CompiledCall): string {
  return `${c.op === 'getfl' || c.op === 'setfl' || c.op === 'dup' ? 'fcntl' : c.op === 'inq' || c.op === 'outq' ? 'ioctl' : c.op}()`;
}

/** The Linux `tcp_info` value of a field, from the engine's snapshot of the socket. */
export function tcpInfo(
  name: string,
  snap: SocketSnapshot,
  s?: { advMss: number | undefined },
): number | undefined {
  const mss = Math.max(1, snap.tcb.mss);
  switch (name) {
    case 'tcpi_state':
      return LINUX_STATE[snap.state];
    case 'tcpi_ca_state':
      switch (snap.cc.phase) {
        case 'fast-recovery':
          return 3;
        case 'loss-recovery':
          return 4;
        default:
          return snap.cc.dupAcks > 0 ? 1 : 0;
      }
    case 'tcpi_retransmits':
      return snap.rtt.retries;
    case 'tcpi_rto':
      return Math.round(snap.rtt.rto * 1000);
    case 'tcpi_rtt':
      return Math.round((snap.rtt.srtt ?? 0) * 1000);
    case 'tcpi_rttvar':
      return Math.round(snap.rtt.rttvar * 1000);
    case 'tcpi_snd_mss':
      return snap.tcb.mss;
    case 'tcpi_advmss':
      return s?.advMss;
    case 'tcpi_snd_cwnd':
      return Math.floor(snap.cc.cwnd / mss);
    case 'tcpi_snd_ssthresh':
      return snap.cc.ssthresh >= 0x7fffffff ? 0x7fffffff : Math.floor(snap.cc.ssthresh / mss);
    case 'tcpi_unacked':
      return Math.ceil(snap.buffers.inFlight / mss);
    case 'tcpi_snd_wscale':
      return snap.tcb.windowScaling ? snap.tcb.sndWscale : 0;
    case 'tcpi_rcv_wscale':
      return snap.tcb.windowScaling ? snap.tcb.rcvWscale : 0;
    case 'tcpi_options':
      return (snap.tcb.timestamps ? 1 : 0) | (snap.tcb.sack ? 2 : 0) | (snap.tcb.windowScaling ? 4 : 0);
    case 'tcpi_snd_wnd':
      return snap.tcb.sndWnd;
    case 'tcpi_rcv_wnd':
      return snap.tcb.rcvWnd;
    case 'tcpi_reordering':
      return 3;
    case 'tcpi_notsent_bytes':
      return snap.buffers.unsent;
    default:
      return undefined;
  }
}
