/**
 * `npm run bench:server`: the lab server under a classroom-and-a-half of load, on loopback only.
 *
 * The server runs in a child process (so its CPU and memory are its own); this process plays
 * 1000 students in 500 rooms (classes of 60 pairs, the last one smaller) and 10 instructor
 * dashboards, each following a class (of 60 pairs, but for the last), so every room is on one. Every room loops at full speed (clock ×100,
 * short link), each person sending their calls without waiting for the previous call's `ok`
 * (the server answers one connection's messages in order) and waiting only for what TCP makes
 * them wait for:
 *
 *   B: socket, bind, listen, accept      A: socket, connect          (wait: both established)
 *   B: recv, send 100 B                  A: recv, send 100 B         (wait: both recv returned)
 *   A: close                             (wait: B in CLOSE-WAIT) B: close
 *   (wait: A in TIME-WAIT) A: room.reset
 *
 * A dashboard does what `/teach` does (web/src/teach/tcp-teach.ts): instructor.auth,
 * class.watch, exercise.status, then lives on the `class.state` and `class.exercises` pushes
 * and fetches GET /api/classes/:code/summary after each change. It also watches every room's
 * timeline (`class.watch` with `rooms`), so the latency from a call to the dashboard can be
 * measured. At the end the bench checks that every dashboard's grid listed every room of its
 * class with its two students, and saw each room's endpoint states change live (new epochs,
 * non-empty states); it fails (exit 1) naming the rooms when not.
 *
 * The lab is measured twice at full speed: with persistence (the real SQLite store in a temporary
 * data folder, as `npm start` runs it) and without; the write batches are printed. Full speed
 * saturates the server, so a call's latency there is mostly its wait behind every other room's
 * step: a third run measures latency at classroom pace (each room starts a loop every --pace
 * seconds, default 10; with persistence), against the p99 < 50 ms target. Then a bare `ws` server
 * sends the same messages (each receiver's recorded stream of one room's loop: A's, B's and the
 * dashboard's, snapshots and replies included) to the same connections as fast as the clients
 * take them: that is the ceiling, and the ratio of the lab's delivered messages/s to it is
 * printed. Both are counted the same way by the same client code.
 *
 * printed, as is the server's CPU time per delivered message in both (on a busy machine the
 * messages/s measure the neighbours too; CPU per message does not).
 *
 * Bounded: each phase has a fixed duration and the whole run a watchdog; a loop that waits more
 * than 10 s for an event counts as stuck (exit 1). Flags: --seconds N (default 10), --rooms N
 * (default 500), --no-persist / --persist-only (one full-speed run instead of both), --pace S
 * (0: no classroom-pace run). BENCH_PROF=dir writes CPU profiles of the measured windows there
 * (server, clients, bare server).
 */

import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import inspector from 'node:inspector';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { WebSocket, WebSocketServer } from 'ws';
import { decodeBundle, isBundle } from '../shared/protocol/bundle.ts';

const KEY = 'bench-key';
/** Pairs per class: a dashboard follows one class (issue 8: "usable with 60 pairs at once"), every class has one. */
const CLASS_ROOMS = 60;
const DASHBOARDS = 10;
/** A loop waiting longer than this (real ms) for an event is stuck: the room is reset. */
const STUCK_MS = 10_000;

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

// ── child: the lab server ────────────────────────────────────────────────────────────────────

async function serveLab(dataDir: string | undefined): Promise<void> {
  const { buildApp } = await import('../server/app.ts');
  const app = await buildApp({
    logger: false,
    instructorKey: KEY,
    webRoot: null,
    speed: 100,
    link: { delayMs: 20 },
    // FIN-WAIT-2 lasts 30 s in a classroom, 300 ms of real time at ×100: long enough for a person,
    // not for a client process starved of CPU on a busy machine (A would leave FIN-WAIT-2 before
    // B's close and never reach TIME-WAIT). A day of virtual time is 15 real minutes here.
    tcp: { mslMs: 100, rtoInitialMs: 1000, rtoMinMs: 200, delayedAckMs: 40, finTimeoutMs: 86_400_000 },
    limits: { messagesPerSecond: 100_000, messageBurst: 100_000 },
    ...(dataDir === undefined ? {} : { dataDir }),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address() as { port: number };
  const p = app.persistence;
  let p0 = p?.stats();
  serveStats(
    addr.port,
    () => ({
      rooms: app.lab.rooms.size,
      connections: app.lab.conns.size,
      ...(p && p0
        ? (() => {
            const s = p.stats();
            return {
              persist: {
                transactions: s.transactions - p0.transactions,
                rows: s.rows - p0.rows,
                bytes: s.bytes - p0.bytes,
                writeMs: s.writeMs - p0.writeMs,
                maxWriteMs: s.maxWriteMs,
                errors: s.errors - p0.errors,
                checkpoints: s.checkpoints.written - p0.checkpoints.written,
                checkpointBytes: s.checkpoints.bytes - p0.checkpoints.bytes,
                checkpointMs: s.checkpoints.ms - p0.checkpoints.ms,
              },
            };
          })()
        : {}),
    }),
    () => {
      p0 = p?.stats();
    },
    async () => {
      await app.close();
    },
  );
}

interface Recorded {
  b: boolean;
  d: string;
}
interface Sample {
  room: number;
  A: Recorded[];
  B: Recorded[];
  dash: Recorded[];
}

async function serveBare(file: string): Promise<void> {
  const sample = JSON.parse(readFileSync(file, 'utf8')) as Sample;
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  type Msg = { data: Buffer; binary: boolean };
  /** One recorded stream with this room's number in it. */
  const rewrite = (stream: Recorded[], id: number): Msg[] =>
    stream.map(({ b, d }) => {
      const data = Buffer.from(d, 'base64');
      if (b) {
        if (!isBundle(data)) data.writeUInt32BE(id, 4);
        return { data, binary: true };
      }
      const text = data.toString().replace(new RegExp(`"room":${sample.room}(?=[,}])`, 'g'), `"room":${id}`);
      return { data: Buffer.from(text), binary: false };
    });
  interface Room {
    id: number;
    klass: number;
    A: WebSocket[];
    B: WebSocket[];
    streams: { A: Msg[]; B: Msg[]; dash: Msg[] };
    step: number;
  }
  const rooms = new Map<number, Room>();
  const dashboards = new Map<number, WebSocket[]>();
  const roomOf = (id: number, klass: number): Room => {
    let r = rooms.get(id);
    if (!r) {
      r = {
        id,
        klass,
        A: [],
        B: [],
        streams: { A: rewrite(sample.A, id), B: rewrite(sample.B, id), dash: rewrite(sample.dash, id) },
        step: 0,
      };
      rooms.set(id, r);
    }
    return r;
  };
  let running = false;
  wss.on('connection', (ws) => {
    ws.once('message', (m) => {
      const hello = JSON.parse(m.toString()) as { role: 'A' | 'B' | 'dash'; room?: number; klass: number };
      if (hello.role === 'dash') {
        const list = dashboards.get(hello.klass) ?? [];
        list.push(ws);
        dashboards.set(hello.klass, list);
      } else roomOf(hello.room!, hello.klass)[hello.role].push(ws);
      ws.send('{"type":"ok"}');
    });
  });
  const LIMIT = 1 << 20;
  // Each pump advances every room by 1/STEPS of its loop: each receiver gets its own stream's
  // share, so the streams keep the proportions they had in the lab.
  const STEPS = 8;
  const slice = (msgs: Msg[], step: number) =>
    msgs.slice(Math.floor((step * msgs.length) / STEPS), Math.floor(((step + 1) * msgs.length) / STEPS));
  // Writes are batched as the lab batches them (connection.ts): a socket is corked at its first
  // message of the turn and uncorked when the turn's sends are done, one write each.
  const corked = new Set<{ cork(): void; uncork(): void }>();
  const send = (t: WebSocket, m: Msg) => {
    const socket = (t as unknown as { _socket: { cork(): void; uncork(): void } })._socket;
    if (!corked.has(socket)) {
      corked.add(socket);
      socket.cork();
    }
    t.send(m.data, { binary: m.binary });
  };
  const pump = () => {
    if (!running) return;
    for (const r of rooms.values()) {
      const dash = dashboards.get(r.klass) ?? [];
      if (r.A.some((t) => t.bufferedAmount > LIMIT)) continue;
      if (r.B.some((t) => t.bufferedAmount > LIMIT)) continue;
      if (dash.some((t) => t.bufferedAmount > LIMIT)) continue;
      const step = r.step;
      r.step = (r.step + 1) % STEPS;
      for (const [targets, msgs] of [
        [r.A, r.streams.A],
        [r.B, r.streams.B],
        [dash, r.streams.dash],
      ] as const)
        for (const m of slice(msgs, step)) for (const t of targets) send(t, m);
    }
    for (const socket of corked) socket.uncork();
    corked.clear();
    setImmediate(pump);
  };
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'start') {
      running = true;
      setImmediate(pump);
    }
    if (m.cmd === 'stop') running = false;
  });
  serveStats(
    (wss.address() as { port: number }).port,
    () => ({ rooms: rooms.size, connections: wss.clients.size }),
    () => {},
    async () => {},
  );
}

/** Answers the parent's `stats` requests with this process's CPU and memory. */
function serveStats(
  port: number,
  extra: () => object,
  onMark: () => void,
  onExit: () => Promise<void>,
): void {
  // The parent is gone (finished, killed or crashed): never outlive it.
  process.on('disconnect', () => process.exit(0));
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  // Stalls: a 10 ms interval that fires late was either busy (it used the CPU meanwhile) or
  // waiting for a CPU the machine did not give it (it did not). Count both over 50 ms.
  const stalls = { busyMs: 0, waitingMs: 0, longestMs: 0, count: 0 };
  let lastWall = performance.now();
  let lastCpu = process.cpuUsage();
  setInterval(() => {
    const wall = performance.now();
    const cpu = process.cpuUsage();
    const gap = wall - lastWall;
    if (gap > 60) {
      const used = (cpu.user + cpu.system - lastCpu.user - lastCpu.system) / 1000;
      stalls.count++;
      stalls.longestMs = Math.max(stalls.longestMs, gap);
      stalls.busyMs += Math.min(used, gap);
      stalls.waitingMs += Math.max(0, gap - used);
    }
    lastWall = wall;
    lastCpu = cpu;
  }, 10).unref();
  let cpu0 = process.cpuUsage();
  let t0 = performance.now();
  const profiler = process.env.BENCH_PROF ? windowProfiler(process.env.BENCH_PROF) : undefined;
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'exit') {
      void onExit()
        .catch(() => {})
        .then(() => process.exit(0));
    }
    if (m.cmd === 'mark') {
      profiler?.start();
      lag.reset();
      Object.assign(stalls, { busyMs: 0, waitingMs: 0, longestMs: 0, count: 0 });
      cpu0 = process.cpuUsage();
      t0 = performance.now();
      onMark();
    } else if (m.cmd === 'stats') {
      profiler?.stop();
      const cpu = process.cpuUsage(cpu0);
      const wall = performance.now() - t0;
      const mem = process.memoryUsage();
      process.send!({
        cpuPct: ((cpu.user + cpu.system) / 1000 / wall) * 100,
        rssMB: mem.rss / 2 ** 20,
        heapMB: mem.heapUsed / 2 ** 20,
        maxRssMB: process.resourceUsage().maxRSS / 1024,
        stalls: { ...stalls },
        lagP50: lag.percentile(50) / 1e6,
        lagP99: lag.percentile(99) / 1e6,
        ...extra(),
      });
    }
  });
  process.send!({ port });
}

/**
 * BENCH_PROF=dir: a CPU profile of the measured window only (from `mark` to `stats`), written to
 * dir as a .cpuprofile (open it in Chrome's DevTools or speedscope).
 */
function windowProfiler(dir: string): { start(): void; stop(): void } {
  const session = new inspector.Session();
  session.connect();
  const post = (method: string, params: object = {}) =>
    new Promise<Json>((resolve, reject) =>
      session.post(method, params, (err, res) => (err ? reject(err) : resolve(res as Json))),
    );
  return {
    start: () => {
      void post('Profiler.enable')
        .then(() => post('Profiler.setSamplingInterval', { interval: 200 }))
        .then(() => post('Profiler.start'));
    },
    stop: () => {
      void post('Profiler.stop').then(({ profile }) => {
        mkdirSync(dir, { recursive: true });
        const who = process.argv.includes('--serve-bare')
          ? 'bare'
          : process.argv.includes('--serve-lab')
            ? 'lab'
            : 'clients';
        const file = join(dir, `${who}-${process.pid}-${Date.now()}.cpuprofile`);
        writeFileSync(file, JSON.stringify(profile));
        process.stderr.write(`  CPU profile of the measured window: ${file}\n`);
      });
    },
  };
}

// ── parent: the clients ──────────────────────────────────────────────────────────────────────

/** Server children still running; killed when this process exits, whatever the reason. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

interface Child {
  proc: ChildProcess;
  port: number;
  ask<T>(cmd: string): Promise<T>;
  tell(cmd: string): void;
}

function spawnChild(args: string[]): Promise<Child> {
  const self = new URL(import.meta.url).pathname;
  // Run as the parent runs: TypeScript through tsx, or the esbuild bundle (bench/run.mjs) on plain Node.
  const loader = self.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const proc = fork(self, args, { execArgv: loader, stdio: 'inherit' });
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    proc.once('message', (m: { port: number }) => {
      resolve({
        proc,
        port: m.port,
        ask: <T>(cmd: string) =>
          new Promise<T>((r) => {
            proc.once('message', (x) => r(x as T));
            proc.send({ cmd });
          }),
        tell: (cmd) => proc.send({ cmd }),
      });
    });
  });
}

/** Counters every client updates, so every phase measures the same client work. */
const counters = { messages: 0, roomEvents: 0 };

// biome-ignore lint/suspicious/noExplicitAny: the harness reads server JSON by shape
type Json = Record<string, any>;

class Stuck extends Error {}

class Client {
  ws: WebSocket;
  private nextId = 1;
  private pending = new Map<number, { resolve: (d: Json) => void; reject: (e: Error) => void }>();
  /** What this client saw of each room's current epoch: `ret:A:7` (a return), `state:B:CLOSE-WAIT`. */
  private seen = new Map<number, Map<string, Json>>();
  private waiters = new Map<string, Array<(e: Json) => void>>();
  epoch = new Map<number, number>();
  /** Every room.event (for latency), every other pushed JSON message (class.state…). */
  onEvent: ((msg: Json) => void) | undefined;
  onPush: ((msg: Json) => void) | undefined;
  /** Every WebSocket message as it arrives (before bundles are opened). */
  onRaw: ((data: Buffer, binary: boolean) => void) | undefined;
  closed: number | undefined;

  constructor(url: string) {
    this.ws = new WebSocket(url, { perMessageDeflate: false });
    this.ws.on('message', (data: Buffer, binary: boolean) => {
      this.onRaw?.(data, binary);
      this.receive(data, binary);
    });
    this.ws.on('close', (code) => {
      this.closed = code;
      for (const p of this.pending.values()) p.reject(new Error(`connection closed (${code})`));
      this.pending.clear();
    });
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }

  private receive(data: Buffer, binary: boolean): void {
    if (binary && isBundle(data)) {
      // History replay: bundles carry the messages a live client gets one by one.
      const r = decodeBundle(new Uint8Array(data));
      if (r.ok) for (const e of r.entries) this.receive(Buffer.from(e.data), e.binary);
      return;
    }
    counters.messages++;
    if (binary) {
      counters.roomEvents++;
      return;
    }
    const msg = JSON.parse(data.toString()) as Json;
    const type = msg.type as string;
    if (type === 'ok' || type === 'error' || type === 'pong') {
      const p = this.pending.get(msg.re);
      if (p) {
        this.pending.delete(msg.re);
        if (type === 'ok') p.resolve(msg.data);
        else if (type === 'pong') p.resolve(msg);
        else p.reject(new Error(`${msg.code}: ${msg.message}`));
      }
      return;
    }
    if (type === 'room.event') {
      counters.roomEvents++;
      this.onEvent?.(msg);
      const e = msg.event;
      if (e.type === 'return') this.see(msg.room, `ret:${e.host}:${e.callId}`, e);
      else if (e.type === 'state') this.see(msg.room, `state:${e.host}:${e.to}`, e);
      return;
    }
    if (type === 'room.snapshot') {
      this.epoch.set(msg.room, msg.info.epoch);
      this.seen.set(msg.room, new Map());
    }
    this.onPush?.(msg);
  }

  private see(room: number, key: string, e: Json): void {
    let s = this.seen.get(room);
    if (!s) this.seen.set(room, (s = new Map()));
    s.set(key, e);
    const k = `${room}/${key}`;
    const ws = this.waiters.get(k);
    if (ws) {
      this.waiters.delete(k);
      for (const w of ws) w(e);
    }
  }

  /**
   * Resolves once this room's current epoch has shown `key` (already, or later): nothing that
   * arrives before the wait starts is missed. Rejects with `Stuck` after STUCK_MS.
   */
  until(room: number, key: string): Promise<Json> {
    const e = this.seen.get(room)?.get(key);
    if (e) return Promise.resolve(e);
    return new Promise((resolve, reject) => {
      const k = `${room}/${key}`;
      const timer = setTimeout(
        () => reject(new Stuck(`room ${room}: no ${key} after ${STUCK_MS} ms`)),
        STUCK_MS,
      );
      const list = this.waiters.get(k) ?? [];
      list.push((e) => {
        clearTimeout(timer);
        resolve(e);
      });
      this.waiters.set(k, list);
    });
  }

  request(msg: Json): Promise<Json> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ ...msg, id }));
    });
  }
}

/** Call latency samples: key → send time; receipts by peers and dashboards. */
const callSent = new Map<number, number>();
const rtts: number[] = [];
const peerGot = new Map<number, number>();
const dashGot = new Map<number, number>();
const callKey = (room: number, epoch: number, host: string, callId: number) =>
  ((room * 65536 + (epoch % 65536)) * 256 + (callId % 256)) * 2 + (host === 'A' ? 0 : 1);

function recordCalls(client: Client, into: Map<number, number>): void {
  client.onEvent = (msg) => {
    const e = msg.event;
    if (e.type !== 'call') return;
    const k = callKey(msg.room, client.epoch.get(msg.room) ?? 0, e.host, e.callId);
    if (!into.has(k)) into.set(k, performance.now());
  };
}

/** What one dashboard's grid showed of one room (class.state and class.exercises). */
interface GridRoom {
  listed: boolean;
  seats: string;
  statuses: number;
  /** Epochs shown while measuring (a new one per loop). */
  epochs: Set<number>;
  /** Non-empty endpoint states shown while measuring. */
  states: Set<string>;
  progress: boolean;
}

class Dashboard {
  readonly client: Client;
  readonly grid = new Map<number, GridRoom>();
  measuring = false;
  stateMsgs = 0;
  statusMsgs = 0;
  summaries = 0;
  summaryMs: number[] = [];
  private summaryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    url: string,
    private readonly base: string,
    readonly code: string,
    readonly rooms: number[],
  ) {
    this.client = new Client(url);
    for (const r of rooms)
      this.grid.set(r, {
        listed: false,
        seats: '',
        statuses: 0,
        epochs: new Set(),
        states: new Set(),
        progress: false,
      });
    this.client.onPush = (m) => {
      if (m.type === 'class.state' && m.code === code) {
        this.stateMsgs++;
        for (const g of this.grid.values()) g.listed = false;
        for (const r of m.rooms as Json[]) {
          const g = this.grid.get(r.room);
          if (!g) continue;
          g.listed = true;
          g.seats = `${r.seats.A?.name ?? '-'}/${r.seats.B?.name ?? '-'}`;
        }
      } else if (m.type === 'class.exercises' && m.code === code) {
        this.statusMsgs++;
        this.applyStatus(m);
        this.refreshSummary();
      }
    };
  }

  /** tcp-teach's sign-in: auth, watch the class (and its rooms' timelines), its status. */
  async start(): Promise<void> {
    await this.client.open();
    await this.client.request({ type: 'instructor.auth', key: KEY });
    await this.client.request({ type: 'class.watch', code: this.code, rooms: true });
    this.applyStatus(await this.client.request({ type: 'exercise.status', code: this.code }));
  }

  private applyStatus(m: Json): void {
    for (const r of m.rooms as Json[]) {
      const g = this.grid.get(r.room);
      if (!g) continue;
      g.statuses++;
      if (!this.measuring) continue;
      g.epochs.add(r.epoch);
      for (const seat of ['A', 'B'] as const)
        for (const s of r.states[seat] as string[]) g.states.add(`${seat}:${s}`);
      if (r.progress) g.progress = true;
    }
  }

  /** tcp-teach refreshes the class summary 300 ms after a status push. */
  private refreshSummary(): void {
    if (this.summaryTimer) return;
    this.summaryTimer = setTimeout(async () => {
      this.summaryTimer = undefined;
      const t = performance.now();
      const r = await fetch(`${this.base}/api/classes/${this.code}/summary`, {
        headers: { authorization: `Bearer ${KEY}` },
      }).catch(() => undefined);
      if (r?.ok) {
        await r.json();
        this.summaries++;
        this.summaryMs.push(performance.now() - t);
      }
    }, 300);
  }

  stop(): void {
    clearTimeout(this.summaryTimer);
    this.client.ws.terminate();
  }

  /**
   * Rooms this dashboard did not show fully and live, with what was missing. A room whose pair
   * finished loops while measured must have shown new epochs (its endpoint states are sampled
   * by the once-a-second status push: a room at classroom pace is mostly between loops then).
   */
  missing(names: (room: number) => string, loops: (room: number) => number): string[] {
    const out: string[] = [];
    for (const [room, g] of this.grid) {
      const why: string[] = [];
      if (!g.listed) why.push('not in class.state');
      else if (g.seats !== names(room)) why.push(`seats ${g.seats}, expected ${names(room)}`);
      if (g.statuses === 0) why.push('no class.exercises status');
      else if (loops(room) > 0 && g.epochs.size < 2)
        why.push(`no live update after ${loops(room)} loops (epochs ${[...g.epochs].join(',') || 'none'})`);
      if (why.length > 0) out.push(`room ${room}: ${why.join('; ')}`);
    }
    return out;
  }
}

interface LabRun {
  persist: boolean;
  /** Real ms between the starts of a room's loops (classroom pace), or 0 for full speed. */
  paceMs: number;
  pings: number[];
  rtts: number[];
  wall: number;
  measured: {
    messages: number;
    roomEvents: number;
    iterations: number;
    clientCpuPct: number;
    clientLagP50: number;
    clientLagP99: number;
  };
  stats: Json;
  peerLat: number[];
  dashLat: number[];
  sample: Sample | undefined;
  dropped: number;
  failures: number;
  stuck: number;
  connections: number;
  dashboards: Array<{
    code: string;
    rooms: number;
    missing: string[];
    withStates: number;
    stateMsgs: number;
    statusMsgs: number;
    summaries: number;
  }>;
  summaryMs: number[];
}

async function labPhase(seconds: number, roomCount: number, persist: boolean, paceMs = 0): Promise<LabRun> {
  const dataDir = persist ? mkdtempSync(join(tmpdir(), 'tcplab-bench-data-')) : undefined;
  const server = await spawnChild(
    dataDir === undefined ? ['--serve-lab'] : ['--serve-lab', '--data', dataDir],
  );
  const base = `http://127.0.0.1:${server.port}`;
  const url = `ws://127.0.0.1:${server.port}/ws`;
  const auth = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
  const classCount = Math.ceil(roomCount / CLASS_ROOMS);
  const classes: Array<{ code: string; rooms: number[] }> = [];
  const rooms: Array<{ id: number; code: string; klass: number }> = [];
  for (let k = 0; k < classCount; k++) {
    const res = await fetch(`${base}/api/classes`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ name: `C${k}` }),
    });
    const { code } = (await res.json()) as { code: string };
    const klass = { code, rooms: [] as number[] };
    classes.push(klass);
    for (let r = 0; r < CLASS_ROOMS && rooms.length < roomCount; r++) {
      const room = (await (
        await fetch(`${base}/api/classes/${code}/rooms`, { method: 'POST', headers: auth, body: '{}' })
      ).json()) as { room: number };
      rooms.push({ id: room.room, code, klass: k });
      klass.rooms.push(room.room);
    }
  }

  progress(
    `lab server up${persist ? ` (persistence in ${dataDir})` : ' (no persistence)'}, ${rooms.length} rooms in ${classes.length} classes`,
  );
  // Dashboards first, so they see every room from the start. Every class gets one (the ones left
  // over follow the first classes again), so every room is on a dashboard.
  const followed = classes;
  const dashboards: Dashboard[] = [];
  for (let d = 0; d < DASHBOARDS && followed.length > 0; d++) {
    const c = followed[d % followed.length]!;
    const dash = new Dashboard(url, base, c.code, c.rooms);
    await dash.start();
    recordCalls(dash.client, dashGot);
    dashboards.push(dash);
  }

  const pairs: Array<{ room: number; a: Client; b: Client }> = [];
  await Promise.all(
    rooms.map(async (r) => {
      const [a, b] = [new Client(url), new Client(url)];
      await Promise.all([a.open(), b.open()]);
      for (const [c, seat] of [
        [a, 'A'],
        [b, 'B'],
      ] as const) {
        await c.request({ type: 'class.join', code: r.code, name: `${seat}${r.id}` });
        await c.request({ type: 'room.join', room: r.id });
        await c.request({ type: 'seat.take', room: r.id, seat });
      }
      recordCalls(a, peerGot);
      recordCalls(b, peerGot);
      pairs.push({ room: r.id, a, b });
    }),
  );

  progress(`${dashboards.length} dashboards and ${pairs.length * 2} students connected and seated`);
  // Record one room's full loop (between two resets: from one snapshot to the next) for the
  // bare-ws ceiling, as each of its receivers got it: A, B and a dashboard following it. The
  // first of three rooms (in different classes) to finish one gives it; the other clients carry
  // no recording hook (it would cost them on every message).
  let sample: Sample | undefined;
  const sampled = [...new Set(dashboards)]
    .map((d) => d.rooms[0])
    .filter((r, i, all) => r !== undefined && all.indexOf(r) === i)
    .slice(0, 3);
  for (const { room, a, b } of pairs) {
    const dash = dashboards.find((d) => d.rooms.includes(room));
    if (!dash || !sampled.includes(room)) continue;
    const streams: Record<'A' | 'B' | 'dash', Recorded[] | undefined> = {
      A: undefined,
      B: undefined,
      dash: undefined,
    };
    const done: Record<'A' | 'B' | 'dash', Recorded[] | undefined> = {
      A: undefined,
      B: undefined,
      dash: undefined,
    };
    const hook = (who: 'A' | 'B' | 'dash', c: Client, mine: (data: Buffer, binary: boolean) => boolean) => {
      c.onRaw = (data, binary) => {
        if (sample) {
          c.onRaw = undefined;
          return;
        }
        if (done[who] || !mine(data, binary)) return;
        if (!binary && data.toString('latin1', 0, 24).startsWith('{"type":"room.snapshot"')) {
          if (streams[who]) {
            done[who] = streams[who];
            if (done.A && done.B && done.dash) sample = { room, A: done.A, B: done.B, dash: done.dash };
          }
          streams[who] = [];
        }
        streams[who]?.push({ b: binary, d: data.toString('base64') });
      };
    };
    const roomRe = new RegExp(`"room":${room}[,}]`);
    hook('A', a, () => true);
    hook('B', b, () => true);
    hook('dash', dash.client, (data, binary) =>
      binary
        ? !isBundle(data) && data.readUInt32BE(4) === room
        : data.toString('latin1', 0, 14) === '{"type":"room.' && roomRe.test(data.toString()),
    );
  }

  let stop = false;
  let measuring = false;
  /** Loops each room finished while measured (the dashboards must have seen them). */
  const roomLoops = new Map<number, number>();
  let iterations = 0;
  let failures = 0;
  let stuck = 0;
  const payload = 'x'.repeat(100);
  const loop = async ({ room, a, b }: (typeof pairs)[number]) => {
    const call = (c: Client, host: string, callArgs: Json) => {
      const t0 = performance.now();
      return c.request({ type: 'sock.call', room, host, call: callArgs }).then((r) => {
        rtts.push(performance.now() - t0);
        callSent.set(callKey(room, c.epoch.get(room) ?? 0, host, r.callId), t0);
        return r;
      });
    };
    // At classroom pace the rooms start spread over one period.
    if (paceMs > 0) await sleep(Math.random() * paceMs);
    while (!stop) {
      const began = performance.now();
      try {
        // Each side's calls go out at once (the server answers one connection in order); A
        // connects once B listens (the two connections are not ordered with each other).
        const aSocket = call(a, 'A', { op: 'socket' });
        const [, , , acc] = await Promise.all([
          call(b, 'B', { op: 'socket' }),
          call(b, 'B', { op: 'bind', fd: 3, port: 80 }),
          call(b, 'B', { op: 'listen', fd: 3 }),
          call(b, 'B', { op: 'accept', fd: 3 }),
        ]);
        const [, con] = await Promise.all([
          aSocket,
          call(a, 'A', { op: 'connect', fd: 3, addr: '10.0.0.2', port: 80 }),
        ]);
        const returns = await Promise.all([
          a.until(room, `ret:A:${con.callId}`),
          b.until(room, `ret:B:${acc.callId}`),
        ]);
        for (const r of returns)
          if (r.result?.ok === false) throw new Error(`${r.op} failed: ${JSON.stringify(r.result)}`);
        const [rb, ra] = await Promise.all([
          call(b, 'B', { op: 'recv', fd: 4 }),
          call(a, 'A', { op: 'recv', fd: 3 }),
          call(a, 'A', { op: 'send', fd: 3, data: payload }),
          call(b, 'B', { op: 'send', fd: 4, data: payload }),
        ]);
        await Promise.all([b.until(room, `ret:B:${rb!.callId}`), a.until(room, `ret:A:${ra!.callId}`)]);
        await call(a, 'A', { op: 'close', fd: 3 });
        await b.until(room, 'state:B:CLOSE-WAIT');
        await call(b, 'B', { op: 'close', fd: 4 });
        await a.until(room, 'state:A:TIME-WAIT');
        await a.request({ type: 'room.reset', room });
        iterations++;
        if (measuring) roomLoops.set(room, (roomLoops.get(room) ?? 0) + 1);
      } catch (e) {
        if (stop) break;
        if (e instanceof Stuck) stuck++;
        else failures++;
        if (stuck + failures <= 5) process.stderr.write(`room ${room}: ${(e as Error).message}\n`);
        await a.request({ type: 'room.reset', room }).catch(() => {});
      }
      if (paceMs > 0 && !stop) await sleep(Math.max(0, began + paceMs - performance.now()));
    }
  };

  // A probe: one idle connection pinging every 20 ms measures how fast the server answers
  // anyone, apart from the queues of the busy connections.
  const probe = new Client(url);
  await probe.open();
  const pings: number[] = [];
  let probing = true;
  const probeLoop = (async () => {
    while (probing) {
      const t = performance.now();
      await probe.request({ type: 'ping' }).catch(() => {});
      pings.push(performance.now() - t);
      await sleep(20);
    }
  })();

  const warmup = paceMs > 0 ? paceMs / 1000 : Math.min(3, seconds / 3);
  const loops = pairs.map(loop);
  await sleep(warmup * 1000);
  progress(`warmed up (${iterations} loops), measuring for ${seconds} s`);
  server.tell('mark');
  clientProfiler?.start();
  pings.length = 0;
  rtts.length = 0;
  callSent.clear();
  peerGot.clear();
  dashGot.clear();
  counters.messages = 0;
  counters.roomEvents = 0;
  for (const d of dashboards) d.measuring = true;
  measuring = true;
  const it0 = iterations;
  const clientLag = monitorEventLoopDelay({ resolution: 5 });
  clientLag.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  clientLag.disable();
  const measured = {
    ...counters,
    iterations: iterations - it0,
    clientCpuPct: (cpu.user + cpu.system) / 10 / wall / 1000,
    clientLagP50: clientLag.percentile(50) / 1e6,
    clientLagP99: clientLag.percentile(99) / 1e6,
  };
  clientProfiler?.stop();
  const stats = await server.ask<Json>('stats');
  probing = false;
  await probeLoop;
  const measuredPings = pings.splice(0);
  const measuredRtts = rtts.splice(0);
  stop = true;
  // The dashboards' grids: one more status push (every second) after the loops stop.
  await Promise.race([Promise.all(loops), sleep(5000)]);
  await sleep(1200);
  const dropped = [...dashboards.map((d) => d.client), ...pairs.flatMap((p) => [p.a, p.b])].filter(
    (c) => c.closed !== undefined,
  ).length;

  const peerLat: number[] = [];
  const dashLat: number[] = [];
  for (const [k, t] of callSent) {
    const p = peerGot.get(k);
    if (p !== undefined) peerLat.push(p - t);
    const d = dashGot.get(k);
    if (d !== undefined) dashLat.push(d - t);
  }
  const names = (room: number) => `A${room}/B${room}`;
  const dashReport = dashboards.map((d) => ({
    code: d.code,
    rooms: d.rooms.length,
    missing: d.missing(names, (room) => roomLoops.get(room) ?? 0),
    withStates: [...d.grid.values()].filter((g) => g.states.size > 0).length,
    stateMsgs: d.stateMsgs,
    statusMsgs: d.statusMsgs,
    summaries: d.summaries,
  }));
  const summaryMs = dashboards.flatMap((d) => d.summaryMs);
  for (const d of dashboards) d.stop();
  for (const c of [probe, ...pairs.flatMap((p) => [p.a, p.b])]) c.ws.terminate();
  await stopChild(server);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  return {
    persist,
    paceMs,
    pings: measuredPings,
    rtts: measuredRtts,
    wall,
    measured,
    stats,
    peerLat,
    dashLat,
    sample,
    dropped,
    failures,
    stuck,
    connections: dashboards.length + pairs.length * 2,
    dashboards: dashReport,
    summaryMs,
  };
}

async function barePhase(seconds: number, roomCount: number, sample: Sample) {
  const dir = mkdtempSync(join(tmpdir(), 'tcplab-bench-'));
  const file = join(dir, 'sample.json');
  writeFileSync(file, JSON.stringify(sample));
  const server = await spawnChild(['--serve-bare', file]);
  const url = `ws://127.0.0.1:${server.port}`;
  const clients: Client[] = [];
  const hello = async (c: Client, h: Json) => {
    await c.open();
    await new Promise<void>((r) => {
      c.ws.once('message', () => r());
      c.ws.send(JSON.stringify(h));
    });
  };
  // The same layout as the lab: classes of CLASS_ROOMS, DASHBOARDS spread over all of them.
  const classCount = Math.ceil(roomCount / CLASS_ROOMS);
  const followed = Array.from({ length: classCount }, (_, k) => k);
  for (let d = 0; d < DASHBOARDS; d++) {
    const c = new Client(url);
    await hello(c, { role: 'dash', klass: followed[d % followed.length] });
    clients.push(c);
  }
  for (let r = 1; r <= roomCount; r++) {
    for (const role of ['A', 'B']) {
      const c = new Client(url);
      await hello(c, { role, room: r, klass: Math.floor((r - 1) / CLASS_ROOMS) });
      clients.push(c);
    }
  }
  progress(`bare ws server: ${clients.length} clients connected, broadcasting`);
  server.tell('start');
  await sleep(1000);
  server.tell('mark');
  counters.messages = 0;
  counters.roomEvents = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const messages = counters.messages;
  const stats = await server.ask<Json>('stats');
  server.tell('stop');
  for (const c of clients) c.ws.terminate();
  await stopChild(server);
  rmSync(dir, { recursive: true, force: true });
  return { wall, messages, stats, clientCpuPct: (cpu.user + cpu.system) / 10 / wall / 1000 };
}

/** Asks the child to exit (so a CPU profile gets written), then makes sure it is gone. */
async function stopChild(child: Child): Promise<void> {
  const exited = new Promise<void>((r) => child.proc.once('exit', () => r()));
  child.tell('exit');
  await Promise.race([exited, sleep(process.env.BENCH_PROF ? 30_000 : 5000)]);
  child.proc.kill('SIGKILL');
}

/** BENCH_PROF also profiles this process (the clients) while the lab is measured. */
const clientProfiler =
  process.env.BENCH_PROF && !process.argv.includes('--serve-lab') && !process.argv.includes('--serve-bare')
    ? windowProfiler(process.env.BENCH_PROF)
    : undefined;

const started = performance.now();
function progress(msg: string): void {
  process.stderr.write(`  [${((performance.now() - started) / 1000).toFixed(1)} s] ${msg}\n`);
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

const f1 = (x: number) => x.toFixed(1);
const k = (x: number) => `${(x / 1000).toFixed(1)}k`;
const load = () =>
  `${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')} (1/5/15-min load average on ${cpus().length} cores)`;

/**
 * Server CPU time per delivered message (µs): what one message costs the server, whatever share
 * of the machine it got. On a busy machine messages/s measures the neighbours as much as the
 * server; this ratio does not.
 */
function cpuPerMessage(cpuPct: number, perSecond: number): number {
  return ((cpuPct / 100) * 1e6) / perSecond;
}

function reportLab(lab: LabRun): string[] {
  const m = lab.measured;
  const s = lab.stats;
  const lines = [
    `lab server, ${lab.persist ? 'with persistence (SQLite in a temporary folder)' : 'without persistence'}, ${lab.paceMs > 0 ? `classroom pace (a loop per room every ${lab.paceMs / 1000} s)` : 'full speed'}`,
    `  connections        ${lab.connections} (${lab.dropped} dropped, ${lab.failures} loop errors, ${lab.stuck} stuck loops)`,
    `  loops              ${m.iterations} (${f1(m.iterations / lab.wall)}/s: handshake, data both ways, close, reset)`,
    `  room events/s      ${k(m.roomEvents / lab.wall)} received (segment frames + room.event JSON, by every receiver)`,
    `  messages/s         ${k(m.messages / lab.wall)} delivered to all clients (every WebSocket message)`,
    `  call → peer        p50 ${f1(pct(lab.peerLat, 50))} ms  p99 ${f1(pct(lab.peerLat, 99))} ms  (${lab.peerLat.length} calls)`,
    `  call → dashboard   p50 ${f1(pct(lab.dashLat, 50))} ms  p99 ${f1(pct(lab.dashLat, 99))} ms  (${lab.dashLat.length} calls)`,
    `  call round trip    p50 ${f1(pct(lab.rtts, 50))} ms  p99 ${f1(pct(lab.rtts, 99))} ms (request to its ok, on the busy connections)`,
    `  idle ping          p50 ${f1(pct(lab.pings, 50))} ms  p99 ${f1(pct(lab.pings, 99))} ms (one extra connection, every 20 ms)`,
    `  server CPU         ${f1(s.cpuPct)} % of one core (clients: ${f1(m.clientCpuPct)} %); ${f1(cpuPerMessage(s.cpuPct, m.messages / lab.wall))} µs per message delivered`,
    `  server memory      rss ${f1(s.rssMB)} MB (peak ${f1(s.maxRssMB)} MB), heap ${f1(s.heapMB)} MB`,
    `  loop delay         server p50 ${f1(s.lagP50)} ms  p99 ${f1(s.lagP99)} ms; clients p50 ${f1(m.clientLagP50)} ms  p99 ${f1(m.clientLagP99)} ms`,
    `  server stalls      ${s.stalls.count} over 50 ms, longest ${f1(s.stalls.longestMs)} ms: ${f1(s.stalls.busyMs)} ms busy, ${f1(s.stalls.waitingMs)} ms waiting for a CPU`,
  ];
  if (s.persist) {
    const p = s.persist;
    lines.push(
      `  write batches      ${p.transactions} transactions (${f1(p.transactions / lab.wall)}/s), ${p.rows} rows, ${f1(p.bytes / 2 ** 20)} MB; ` +
        `${f1((p.writeMs / (lab.wall * 1000)) * 100)} % of the time writing, mean ${((1000 * p.writeMs) / Math.max(1, p.transactions)).toFixed(0)} µs, longest ${f1(p.maxWriteMs)} ms` +
        (p.errors > 0 ? `, ${p.errors} ERRORS` : ''),
      `  room checkpoints   ${p.checkpoints} (${f1(p.checkpoints / lab.wall)}/s), ${f1(p.checkpointBytes / 2 ** 20)} MB; ` +
        `${f1((p.checkpointMs / (lab.wall * 1000)) * 100)} % of the time making them`,
    );
  }
  const dashRooms = lab.dashboards.reduce((n, d) => n + d.rooms, 0);
  const missed = lab.dashboards.reduce((n, d) => n + d.missing.length, 0);
  const summaries = lab.dashboards.reduce((n, d) => n + d.summaries, 0);
  const statuses = lab.dashboards.reduce((n, d) => n + d.statusMsgs, 0);
  const withStates = lab.dashboards.reduce((n, d) => n + d.withStates, 0);
  lines.push(
    `  dashboards         ${lab.dashboards.length}, following ${lab.dashboards.map((d) => d.rooms).join('/')} pairs: ` +
      (missed === 0
        ? `all ${dashRooms} grid rows shown live (students, new epochs; ${withStates} with endpoint states)`
        : `${missed} of ${dashRooms} grid rows MISSING`) +
      `; ${statuses} class.exercises, ${summaries} summaries (p50 ${f1(pct(lab.summaryMs, 50))} ms, p99 ${f1(pct(lab.summaryMs, 99))} ms)`,
    `  machine load       ${load()}`,
    '',
  );
  return lines;
}

async function main(): Promise<void> {
  const seconds = flag('seconds', 10);
  const roomCount = flag('rooms', 500);
  const runs = process.argv.includes('--no-persist')
    ? [false]
    : process.argv.includes('--persist-only')
      ? [true]
      : [false, true];
  // Latency at a pace the server can sustain (full speed saturates it: there a call waits behind
  // every other room's step), with persistence as `npm start` runs. --pace 0 skips it.
  const paceMs = flag('pace', 10) * 1000;
  const watchdog = setTimeout(
    () => {
      process.stderr.write('bench:server: watchdog expired, giving up\n');
      process.exit(1);
    },
    ((seconds + 60) * (runs.length + (paceMs > 0 ? 2 : 1)) + 60) * 1000,
  );

  const classCount = Math.ceil(roomCount / CLASS_ROOMS);
  process.stdout.write(
    `bench:server — ${roomCount} rooms in ${classCount} classes, ${roomCount * 2} students, ${DASHBOARDS} dashboards, ${seconds} s per phase, loopback\n`,
  );
  const labs: LabRun[] = [];
  let bad = false;
  let paced: LabRun | undefined;
  for (const [persist, pace] of [
    ...runs.map((p) => [p, 0] as const),
    ...(paceMs > 0 ? [[runs.includes(true), paceMs] as const] : []),
  ]) {
    const lab = await labPhase(Math.max(seconds, (2 * pace) / 1000), roomCount, persist, pace);
    if (pace > 0) paced = lab;
    else labs.push(lab);
    process.stdout.write(reportLab(lab).join('\n'));
    const covered = new Map(lab.dashboards.map((d) => [d.code, d.rooms]));
    const onDashboards = [...covered.values()].reduce((n, k) => n + k, 0);
    if (onDashboards < roomCount) {
      bad = true;
      process.stdout.write(`FAILED: only ${onDashboards} of the ${roomCount} rooms are on a dashboard\n`);
    } else {
      process.stdout.write(`  every one of the ${roomCount} rooms is on a dashboard\n`);
    }
    for (const d of lab.dashboards)
      if (d.missing.length > 0) {
        bad = true;
        process.stdout.write(
          `FAILED: the dashboard of class ${d.code} did not show ${d.missing.length} of its ${d.rooms} rooms:\n    ${d.missing.slice(0, 10).join('\n    ')}\n`,
        );
      }
    if (lab.stuck + lab.failures > 0) {
      bad = true;
      process.stdout.write(`FAILED: ${lab.stuck} stuck loops and ${lab.failures} loop errors\n`);
    }
  }
  if (labs.length === 2) {
    const [off, on] = labs as [LabRun, LabRun];
    const rate = (l: LabRun) => l.measured.messages / l.wall;
    process.stdout.write(
      [
        'persistence effect (with ÷ without)',
        `  messages/s         ${(rate(on) / rate(off)).toFixed(2)}×   loops/s ${(on.measured.iterations / on.wall / (off.measured.iterations / off.wall)).toFixed(2)}×`,
        `  call → peer p99    ${f1(pct(on.peerLat, 99))} ms vs ${f1(pct(off.peerLat, 99))} ms; server CPU ${f1(on.stats.cpuPct)} % vs ${f1(off.stats.cpuPct)} %`,
        '',
      ].join('\n'),
    );
  }
  const sample = [...labs, ...(paced ? [paced] : [])].find((l) => l.sample)?.sample;
  if (!sample) {
    process.stdout.write('no room finished two loops: no sample for the bare-ws ceiling\n');
    process.exit(1);
  }
  const bare = await barePhase(seconds, roomCount, sample);
  const ceiling = bare.messages / bare.wall;
  process.stdout.write(
    [
      `bare ws ceiling (one loop as each receiver got it: ${sample.A.length} messages to A, ${sample.B.length} to B, ${sample.dash.length} to a dashboard; same connections)`,
      `  messages/s         ${k(ceiling)} delivered`,
      `  server CPU         ${f1(bare.stats.cpuPct)} % of one core (clients: ${f1(bare.clientCpuPct)} %); ${f1(cpuPerMessage(bare.stats.cpuPct, ceiling))} µs per message delivered`,
      ...labs.map(
        (l) =>
          `ratio                ${(l.measured.messages / l.wall / ceiling).toFixed(2)}× the bare-ws ceiling in messages/s, ` +
          `${(cpuPerMessage(bare.stats.cpuPct, ceiling) / cpuPerMessage(l.stats.cpuPct, l.measured.messages / l.wall)).toFixed(2)}× in server CPU per message (${l.persist ? 'with' : 'without'} persistence)`,
      ),
      ...(paced
        ? [
            `classroom pace       call → peer p99 ${f1(pct(paced.peerLat, 99))} ms, call → dashboard p99 ${f1(pct(paced.dashLat, 99))} ms (target < 50 ms) at ${f1(paced.measured.iterations / paced.wall)} loops/s, server CPU ${f1(paced.stats.cpuPct)} %`,
          ]
        : []),
      `  machine load       ${load()}`,
      '',
    ].join('\n'),
  );
  clearTimeout(watchdog);
  process.exit(bad ? 1 : 0);
}

const dataFlag = process.argv.indexOf('--data');
if (process.argv.includes('--serve-lab'))
  void serveLab(dataFlag >= 0 ? process.argv[dataFlag + 1] : undefined);
else if (process.argv.includes('--serve-bare'))
  void serveBare(process.argv[process.argv.indexOf('--serve-bare') + 1]!);
else void main();
