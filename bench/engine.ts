/**
 * Engine benchmark: one bulk transfer through the simulator in bench mode, the same workload as
 * our ns-3 3.37 reference run on this machine.
 *
 *   npm run bench:engine -- [--bytes N] [--loss P] [--delay MS] [--rate BPS] [--min-rto MS]
 *                           [--queue PACKETS] [--seed N] [--runs N] [--warmup BYTES] [--warmup-runs N]
 *                           [--json] [--full]
 *
 * `--full` runs the same transfer in the simulator's full mode (packets encoded, decoded and
 * checksummed) to cross-check that bench mode changes nothing but the speed.
 *
 * Defaults: 64 MiB from A to B over 100 Mbit/s with 10 ms one-way delay, 1 % random loss of the
 * segments travelling A→B (ACKs are not lost), MSS 1460, NewReno without SACK, 1 MiB send and
 * receive buffers, minimum RTO 1 s (ns-3's default). Bench mode keeps no per-segment history,
 * encodes no hex and turns timer tracing off, so memory stays bounded by the socket buffers.
 */
import os from 'node:os';
import { Network } from '../shared/sim/network.ts';
import { PROFILES, type TcpConfig } from '../shared/tcp/config.ts';
import type { CallRequest, CallResult, HostEvent } from '../shared/tcp/types.ts';

/** ns-3 3.37 on this machine, same workload (issue 4). */
const NS3 = { segmentsPerSecond: 39_000, completionS: 198 };
const TARGET_SEGMENTS_PER_SECOND = 200_000;

interface Options {
  bytes: number;
  loss: number;
  delayMs: number;
  rateBps: number;
  minRtoMs: number;
  queuePackets: number;
  seed: number;
  /**
   * Run this many seeds (seed, seed+1, …) and report the medians too (default 5: with 1 % loss and
   * a 100-packet queue the completion time of one run depends a lot on where the losses fall).
   */
  runs: number;
  /**
   * Bytes of each unmeasured warm-up transfer run first (default 16 MiB; 0 for none), so the figures
   * are the engine's, not V8's compiler warming up: a fresh process spends its first ~0.7 s
   * optimising (CPU time above wall time: compiler threads) at a third of the speed.
   */
  warmup: number;
  /**
   * How many warm-up transfers (default 8, each with a seed of its own that no measured run uses).
   * One is not enough: each new connection's start (the handshake, the first losses, a seed's first
   * timeouts) met optimised code that had never seen one, and V8 threw away and recompiled the whole
   * inlined path of a segment, on a 2-core machine at the expense of the measured run; and the 7th
   * network built in a process still did so once (V8 settles the layout of a class's objects after
   * its first few instances). After eight, the measured runs compile next to nothing.
   */
  warmupRuns: number;
  json: boolean;
  /** Run in the simulator's full mode (hex, decoded bytes) to cross-check bench mode. */
  full: boolean;
}

const USAGE = `usage: npm run bench:engine -- [--bytes N] [--loss P] [--delay MS] [--rate BPS] [--min-rto MS] [--queue PACKETS] [--seed N] [--runs N] [--warmup BYTES] [--warmup-runs N] [--json] [--full]`;

function parseArgs(argv: string[]): Options {
  const o: Options = {
    bytes: 64 * 1024 * 1024,
    loss: 0.01,
    delayMs: 10,
    rateBps: 100e6,
    minRtoMs: 1000,
    queuePackets: 100,
    seed: 1,
    runs: 5,
    warmup: 16 * 1024 * 1024,
    warmupRuns: 8,
    json: false,
    full: false,
  };
  const num = (flag: string, v: string | undefined, ok: (n: number) => boolean): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || !ok(n)) {
      process.stderr.write(`bench:engine: ${flag} needs a valid number, got ${v}\n${USAGE}\n`);
      process.exit(2);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    switch (a) {
      case '--bytes':
        o.bytes = num(a, argv[++i], (n) => Number.isInteger(n) && n > 0);
        break;
      case '--loss':
        o.loss = num(a, argv[++i], (n) => n >= 0 && n < 1);
        break;
      case '--delay':
        o.delayMs = num(a, argv[++i], (n) => n >= 0);
        break;
      case '--rate':
        o.rateBps = num(a, argv[++i], (n) => n > 0);
        break;
      case '--min-rto':
        o.minRtoMs = num(a, argv[++i], (n) => n > 0);
        break;
      case '--queue':
        o.queuePackets = num(a, argv[++i], (n) => Number.isInteger(n) && n >= 0);
        break;
      case '--runs':
        o.runs = num(a, argv[++i], (n) => Number.isInteger(n) && n >= 1 && n <= 100);
        break;
      case '--warmup':
        o.warmup = num(a, argv[++i], (n) => Number.isInteger(n) && n >= 0);
        break;
      case '--warmup-runs':
        o.warmupRuns = num(a, argv[++i], (n) => Number.isInteger(n) && n >= 0 && n <= 100);
        break;
      case '--seed':
        o.seed = num(a, argv[++i], (n) => Number.isInteger(n) && n >= 0);
        break;
      case '--json':
        o.json = true;
        break;
      case '--full':
        o.full = true;
        break;
      default:
        process.stderr.write(`bench:engine: unknown argument ${a}\n${USAGE}\n`);
        process.exit(2);
    }
  }
  return o;
}

const MIB = 1024 * 1024;
/** Seeds of the warm-up transfers: WARMUP_SEED, WARMUP_SEED + 1, … */
const WARMUP_SEED = 1_000_000;

function engineConfig(o: Options): Partial<TcpConfig> {
  return {
    ...PROFILES.linux,
    mss: 1460,
    sack: false,
    timestamps: false,
    windowScaling: true,
    rcvBuf: MIB,
    sndBuf: MIB,
    rtoMinMs: o.minRtoMs,
    rtoInitialMs: Math.max(1000, o.minRtoMs),
    initialCwndSegments: 10,
    // ns-3's TcpSocket defaults: an ACK for every second segment, or after 200 ms.
    delayedAck: true,
    delayedAckMs: 200,
    quickAcks: 0,
    nagle: false,
    iss: 1,
    traceTimers: false,
  };
}

interface Result {
  bytes: number;
  wallMs: number;
  /** CPU time of this process during the run: less sensitive than wall time to a busy machine. */
  cpuMs: number;
  dataSegmentsPerCpuSecond: number;
  dataSegments: number;
  dataSegmentsPerSecond: number;
  simulatedS: number;
  retransmissions: number;
  segmentsDropped: number;
  queueDrops: number;
  acks: number;
  peakRssMiB: number;
  peakHeapMiB: number;
  events: number;
}

/**
 * One bulk transfer: the sending and the receiving application. A class rather than closures over
 * `run`'s locals: V8 specialises optimised code to a closure's context (the objects of one run),
 * and throws that code away when the next run's network takes their place, so every run would
 * start by recompiling the whole inlined path of a segment.
 */
class Transfer {
  readonly net: Network;
  private readonly bytes: number;
  private a = -1;
  private conn = -1;
  private queued = 0;
  received = 0;
  doneAt: number | undefined = undefined;
  // Calls cannot be made from inside the event hook (it runs while a host is being drained):
  // reactions are flagged and run between simulator events.
  wantSend = false;
  wantRecv = false;
  /** The calls that blocked: only their return events continue the loops. */
  private blockedSend = -1;
  private blockedRecv = -1;
  private readonly chunk: Uint8Array;
  /** The receiving application reads into one buffer of its own, as recv(2) does. */
  private readonly inbox = new Uint8Array(MIB);
  /** Its recv() request, the same every time (the host keeps no request past its return). */
  private recvReq: CallRequest | undefined = undefined;

  constructor(o: Options, chunk: Uint8Array) {
    this.bytes = o.bytes;
    this.chunk = chunk;
    const config = engineConfig(o);
    this.net = new Network({
      seed: o.seed,
      mode: o.full ? 'full' : 'bench',
      keepTrace: false,
      onHostEvent,
      hosts: [
        { name: 'A', addr: 0x0a000001, config },
        { name: 'B', addr: 0x0a000002, config },
      ],
      link: { delayMs: o.delayMs, rateBps: o.rateBps, queuePackets: o.queuePackets },
      links: [{ from: 'A', to: 'B', loss: o.loss }],
    });
  }

  open(): void {
    const net = this.net;
    const fdOf = (r: { result?: CallResult }): number => {
      if (!r.result?.ok) throw new Error('socket() failed');
      return r.result.value as number;
    };
    const lsn = fdOf(net.call('B', { op: 'socket' }));
    net.call('B', { op: 'bind', fd: lsn, port: 5001 });
    net.call('B', { op: 'listen', fd: lsn, backlog: 8 });
    net.call('B', { op: 'accept', fd: lsn });
    this.a = fdOf(net.call('A', { op: 'socket' }));
    net.call('A', { op: 'connect', fd: this.a, addr: 0x0a000002, port: 5001 });
  }

  onEvent(e: Exclude<HostEvent, { type: 'transmit' }>): void {
    if (e.type !== 'return') return;
    const res = e.result;
    if (!res.ok) throw new Error(`${e.host} ${e.op} failed: ${res.errno} ${res.message}`);
    if (e.host === 'B' && e.op === 'accept') {
      this.conn = (res.value as { fd: number }).fd;
      this.recvReq = { op: 'recv', fd: this.conn, into: this.inbox };
      this.wantRecv = true;
    } else if (e.host === 'A' && e.op === 'connect') {
      this.wantSend = true;
    } else if (e.host === 'A' && e.op === 'send') {
      // Every call has a return event; a call that finished at once was counted by its caller.
      if (e.callId !== this.blockedSend) return;
      this.queued += res.value as number;
      this.wantSend = true;
    } else if (e.host === 'B' && e.op === 'recv') {
      if (e.callId !== this.blockedRecv) return;
      this.received += res.value as number;
      if (this.received >= this.bytes) this.doneAt ??= e.t;
      else this.wantRecv = true;
    }
  }

  private sendMore(): void {
    const chunk = this.chunk;
    while (this.queued < this.bytes) {
      const n = Math.min(chunk.length, this.bytes - this.queued);
      const r = this.net.call('A', {
        op: 'send',
        fd: this.a,
        data: n === chunk.length ? chunk : chunk.subarray(0, n),
      });
      if (!r.result) {
        this.blockedSend = r.callId; // blocked: its return event continues the loop
        return;
      }
      if (!r.result.ok) throw new Error(`send failed: ${r.result.errno}`);
      this.queued += r.result.value as number;
    }
  }

  private recvMore(): void {
    while (this.received < this.bytes) {
      const r = this.net.call('B', this.recvReq!);
      if (!r.result) {
        this.blockedRecv = r.callId;
        return;
      }
      if (!r.result.ok) throw new Error(`recv failed: ${r.result.errno}`);
      this.received += r.result.value as number;
    }
    this.doneAt ??= this.net.now;
  }

  runReactions(): void {
    while (this.wantSend || this.wantRecv) {
      if (this.wantSend) {
        this.wantSend = false;
        this.sendMore();
      }
      if (this.wantRecv) {
        this.wantRecv = false;
        this.recvMore();
      }
    }
  }
}

/**
 * The transfer being run. The network's event hook is this one module-level function for every
 * run (not a closure per run, whose optimised code would be thrown away with its run).
 */
let current: Transfer | undefined;

function onHostEvent(e: Exclude<HostEvent, { type: 'transmit' }>): void {
  current!.onEvent(e);
}

/** Runs events until the transfer completes; returns how many ran. */
function drive(t: Transfer): number {
  const net = t.net;
  let events = 0;
  // Memory is sampled every 65,536 events, outside the inner loop: a call there that the shorter
  // warm-up transfers never reach would make V8 recompile the whole loop when a run first does.
  while (t.doneAt === undefined) {
    for (let i = 0; i < 0x10000 && t.doneAt === undefined; i++) {
      if (net.runEvents(1) === 0)
        throw new Error(`the transfer stalled at ${net.now} ms with ${t.received} bytes received`);
      events++;
      if (t.wantSend || t.wantRecv) t.runReactions();
    }
    sampleMemory();
  }
  return events;
}

let peakRss = 0;
let peakHeap = 0;

function sampleMemory(): void {
  const m = process.memoryUsage();
  peakRss = Math.max(peakRss, m.rss);
  peakHeap = Math.max(peakHeap, m.heapUsed);
}

function run(o: Options): Result {
  const chunk = new Uint8Array(MIB);
  for (let i = 0; i < chunk.length; i++) chunk[i] = i & 0xff;
  const t = new Transfer(o, chunk);
  current = t;
  t.open();

  peakRss = 0;
  peakHeap = 0;
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  const events = drive(t);
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuStart);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  sampleMemory();
  current = undefined;
  const doneAt = t.doneAt!;

  const stats = t.net.statistics();
  const ab = stats.find((s) => s.from === 'A' && s.to === 'B')!;
  const ba = stats.find((s) => s.from === 'B' && s.to === 'A')!;
  return {
    bytes: o.bytes,
    wallMs,
    cpuMs,
    dataSegmentsPerCpuSecond: ab.dataSent / (cpuMs / 1000),
    dataSegments: ab.dataSent,
    dataSegmentsPerSecond: ab.dataSent / (wallMs / 1000),
    simulatedS: doneAt / 1000,
    retransmissions: ab.retransmits,
    segmentsDropped: ab.dropped.loss + ab.dropped.queueFull,
    queueDrops: ab.dropped.queueFull,
    acks: ba.sent,
    peakRssMiB: peakRss / MIB,
    peakHeapMiB: peakHeap / MIB,
    events,
  };
}

function loadavg(): string {
  return os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

function report(o: Options, r: Result): string {
  const f = (n: number, d = 0) =>
    n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  const isDefault =
    o.bytes === 64 * MIB && o.loss === 0.01 && o.delayMs === 10 && o.rateBps === 100e6 && o.minRtoMs === 1000;
  return [
    `TCP Lab engine benchmark: ${f(o.bytes / MIB, 1)} MiB A→B, ${f(o.rateBps / 1e6, 1)} Mbit/s, ${o.delayMs} ms one-way, ` +
      `${f(o.loss * 100, 2)} % loss A→B, MSS 1460, NewReno, no SACK, 1 MiB buffers, min RTO ${o.minRtoMs} ms, ` +
      `queue ${o.queuePackets} packets, seed ${o.seed}${o.full ? ', FULL mode' : ''}`,
    '',
    `wall time                 ${f(r.wallMs)} ms   (CPU ${f(r.cpuMs)} ms; load average ${loadavg()})`,
    `data segments sent        ${f(r.dataSegments)} (${f(r.retransmissions)} retransmissions; ${f(r.segmentsDropped)} segments lost, ${f(r.queueDrops)} of them to a full queue)`,
    `data segments / wall s    ${f(r.dataSegmentsPerSecond)}   (target ≥ ${f(TARGET_SEGMENTS_PER_SECOND)}; ns-3 ≈ ${f(NS3.segmentsPerSecond)}: ×${f(r.dataSegmentsPerSecond / NS3.segmentsPerSecond, 2)})`,
    `data segments / CPU s     ${f(r.dataSegmentsPerCpuSecond)}`,
    `simulated completion      ${f(r.simulatedS, 2)} s${isDefault ? `   (ns-3 ≈ ${NS3.completionS} s: ×${f(r.simulatedS / NS3.completionS, 2)}, allowed ±35 %)` : ''}`,
    `ACKs sent by B            ${f(r.acks)}`,
    `simulator events          ${f(r.events)}`,
    `peak memory               RSS ${f(r.peakRssMiB, 1)} MiB, heap ${f(r.peakHeapMiB, 1)} MiB`,
  ].join('\n');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function main(): void {
  const o = parseArgs(process.argv.slice(2));
  const results: Result[] = [];
  // Warm-up seeds of their own, far from the measured ones (seed, seed + 1, …).
  const warmups = o.warmup > 0 ? o.warmupRuns : 0;
  for (let i = 0; i < warmups; i++) run({ ...o, bytes: o.warmup, seed: WARMUP_SEED + i });
  if (!o.json) {
    const flags = process.execArgv.length > 0 ? process.execArgv.join(' ') : 'none';
    process.stdout.write(
      `(${warmups > 0 ? `after ${warmups} unmeasured ${(o.warmup / MIB).toFixed(0)} MiB warm-up transfer${warmups > 1 ? 's' : ''}` : 'no warm-up'}; ` +
        `Node ${process.version}, options: ${flags})\n\n`,
    );
  }
  for (let i = 0; i < o.runs; i++) {
    const oi = { ...o, seed: o.seed + i };
    const r = run(oi);
    results.push(r);
    if (o.json) process.stdout.write(`${JSON.stringify({ options: oi, result: r, ns3: NS3 })}\n`);
    else process.stdout.write(`${i > 0 ? '\n' : ''}${report(oi, r)}\n`);
  }
  if (o.runs > 1 && !o.json) {
    const f = (n: number, d = 0) =>
      n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
    const sim = median(results.map((r) => r.simulatedS));
    process.stdout.write(
      `\nmedian of ${o.runs} seeds: ${f(median(results.map((r) => r.dataSegmentsPerSecond)))} data segments / wall s, ` +
        `${f(median(results.map((r) => r.dataSegmentsPerCpuSecond)))} / CPU s, simulated completion ${f(sim, 2)} s ` +
        `(ns-3 ×${f(sim / NS3.completionS, 2)}), range ${f(Math.min(...results.map((r) => r.simulatedS)), 1)}–` +
        `${f(Math.max(...results.map((r) => r.simulatedS)), 1)} s\n`,
    );
  }
}

main();
