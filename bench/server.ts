/**
 * `npm run bench:server`: the lab server under a classroom-and-a-half of load, on loopback only.
 *
 * The server runs in a child process (so its CPU and memory are its own); this process plays
 * 1000 students in 500 rooms and 10 instructor dashboards (one per class of 50 rooms, each
 * watching every room of its class). Every room loops at full speed (clock ×100, short link):
 *
 *   B: socket, bind, listen, accept      A: socket, connect
 *   A: send 100 B → B: recv              B: send 100 B → A: recv
 *   A: close, B: close → A in TIME-WAIT  A: room.reset
 *
 * It prints room events/s, messages delivered/s, p50/p99 latency from a socket call to the
 * peer's and the dashboard's receipt of the call's event, and the server's CPU and memory.
 * Then a bare `ws` server broadcasts the same frames (recorded from one room's loop) to the
 * same 1010 connections as fast as the clients take them: that is the ceiling, and the ratio of
 * our delivered messages/s to it is printed. Bounded: each phase has a fixed duration and the
 * whole run a watchdog. Flags: --seconds N (default 10), --rooms N (default 500).
 */

import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { WebSocket, WebSocketServer } from 'ws';
import { decodeBundle, isBundle } from '../shared/protocol/bundle.ts';

const KEY = 'bench-key';
const CLASS_ROOMS = 50;
const DASHBOARDS_PER_CLASS = 1;

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

// ── child: the lab server ────────────────────────────────────────────────────────────────────

async function serveLab(): Promise<void> {
  const { buildApp } = await import('../server/app.ts');
  const app = await buildApp({
    logger: false,
    instructorKey: KEY,
    webRoot: null,
    speed: 100,
    link: { delayMs: 20 },
    tcp: { mslMs: 100, rtoInitialMs: 1000, rtoMinMs: 200, delayedAckMs: 40 },
    limits: { messagesPerSecond: 100_000, messageBurst: 100_000 },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address() as { port: number };
  serveStats(addr.port, () => ({ rooms: app.lab.rooms.size, connections: app.lab.conns.size }));
}

async function serveBare(file: string): Promise<void> {
  const sample = JSON.parse(readFileSync(file, 'utf8')) as Array<{ b: boolean; d: string; room: number }>;
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  interface Room {
    id: number;
    members: WebSocket[];
    msgs: Array<{ data: Buffer; binary: boolean }>;
    i: number;
  }
  const rooms = new Map<number, Room>();
  const dashboards = new Map<number, WebSocket>();
  const roomOf = (id: number): Room => {
    let r = rooms.get(id);
    if (!r) {
      // The recorded frames, with this room's number in them.
      const msgs = sample.map(({ b, d, room }) => {
        const data = Buffer.from(d, 'base64');
        if (b) data.writeUInt32BE(id, 4);
        return b
          ? { data, binary: true }
          : { data: Buffer.from(data.toString().replace(`"room":${room},`, `"room":${id},`)), binary: false };
      });
      r = { id, members: [], msgs, i: 0 };
      rooms.set(id, r);
    }
    return r;
  };
  let running = false;
  wss.on('connection', (ws) => {
    ws.once('message', (m) => {
      const hello = JSON.parse(m.toString()) as { role: string; room?: number; klass: number };
      if (hello.role === 'dash') dashboards.set(hello.klass, ws);
      else roomOf(hello.room!).members.push(ws);
      ws.send('{"type":"ok"}');
    });
  });
  const LIMIT = 1 << 20;
  const pump = () => {
    if (!running) return;
    for (const r of rooms.values()) {
      const dash = dashboards.get(Math.floor((r.id - 1) / CLASS_ROOMS));
      const targets = dash ? [...r.members, dash] : r.members;
      if (targets.some((t) => t.bufferedAmount > LIMIT)) continue;
      for (let k = 0; k < 4; k++) {
        const m = r.msgs[r.i]!;
        r.i = (r.i + 1) % r.msgs.length;
        for (const t of targets) t.send(m.data, { binary: m.binary });
      }
    }
    setImmediate(pump);
  };
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'start') {
      running = true;
      setImmediate(pump);
    }
    if (m.cmd === 'stop') running = false;
  });
  serveStats((wss.address() as { port: number }).port, () => ({
    rooms: rooms.size,
    connections: wss.clients.size,
  }));
}

/** Answers the parent's `stats` requests with this process's CPU and memory. */
function serveStats(port: number, extra: () => object): void {
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
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'exit') process.exit(0);
    if (m.cmd === 'mark') {
      lag.reset();
      Object.assign(stalls, { busyMs: 0, waitingMs: 0, longestMs: 0, count: 0 });
      cpu0 = process.cpuUsage();
      t0 = performance.now();
    } else if (m.cmd === 'stats') {
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
  // BENCH_PROF=dir writes a CPU profile of each server child there (node --cpu-prof).
  const prof = process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROF] : [];
  const proc = fork(new URL(import.meta.url).pathname, args, {
    execArgv: ['--import', 'tsx', ...prof],
    stdio: 'inherit',
  });
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

/** Counters every client updates, so both phases measure the same client work. */
const counters = { messages: 0, dashboardHistory: 0 };

// biome-ignore lint/suspicious/noExplicitAny: the harness reads server JSON by shape
type Json = Record<string, any>;

class Client {
  ws: WebSocket;
  private nextId = 1;
  private pending = new Map<
    number,
    { resolve: (d: Json) => void; reject: (e: Error) => void; sent: number }
  >();
  private waiters: Array<{ pred: (e: Json) => boolean; resolve: (e: Json) => void }> = [];
  epoch = new Map<number, number>();
  onFrame: ((room: number, data: Buffer) => void) | undefined;
  onEvent: ((msg: Json) => void) | undefined;
  onRaw: ((data: Buffer, binary: boolean) => void) | undefined;
  closed: number | undefined;

  constructor(url: string) {
    this.ws = new WebSocket(url, { perMessageDeflate: false });
    this.ws.on('message', (data: Buffer, binary: boolean) => this.receive(data, binary));
    this.ws.on('close', (code) => {
      this.closed = code;
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
    this.onRaw?.(data, binary);
    if (binary) {
      this.onFrame?.(data.readUInt32BE(4), data);
      return;
    }
    const msg = JSON.parse(data.toString()) as Json;
    if (msg.type === 'ok' || msg.type === 'error' || msg.type === 'pong') {
      const p = this.pending.get(msg.re);
      if (p) {
        this.pending.delete(msg.re);
        if (msg.type === 'ok') p.resolve(msg.data);
        else if (msg.type === 'pong') p.resolve(msg);
        else p.reject(new Error(`${msg.code}: ${msg.message}`));
      }
      return;
    }
    if (msg.type === 'room.snapshot') this.epoch.set(msg.room, msg.info.epoch);
    if (msg.type === 'room.event') {
      this.onEvent?.(msg);
      for (let i = 0; i < this.waiters.length; i++) {
        const w = this.waiters[i]!;
        if (w.pred(msg.event)) {
          this.waiters.splice(i, 1);
          w.resolve(msg.event);
          break;
        }
      }
    }
  }

  request(msg: Json): Promise<Json> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, sent: performance.now() });
      this.ws.send(JSON.stringify({ ...msg, id }));
    });
  }

  /** Resolves with the next room event matching `pred` (registered before the cause is sent). */
  event(pred: (e: Json) => boolean): Promise<Json> {
    return new Promise((resolve) => this.waiters.push({ pred, resolve }));
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

async function labPhase(seconds: number, roomCount: number) {
  const server = await spawnChild(['--serve-lab']);
  const base = `http://127.0.0.1:${server.port}`;
  const url = `ws://127.0.0.1:${server.port}/ws`;
  const auth = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
  const classes = Math.ceil(roomCount / CLASS_ROOMS);
  const rooms: Array<{ id: number; code: string; klass: number }> = [];
  for (let k = 0; k < classes; k++) {
    const res = await fetch(`${base}/api/classes`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ name: `C${k}` }),
    });
    const { code } = (await res.json()) as { code: string };
    for (let r = 0; r < CLASS_ROOMS && rooms.length < roomCount; r++) {
      const room = (await (
        await fetch(`${base}/api/classes/${code}/rooms`, { method: 'POST', headers: auth, body: '{}' })
      ).json()) as { room: number };
      rooms.push({ id: room.room, code, klass: k });
    }
  }

  progress(`lab server up, ${rooms.length} rooms in ${classes} classes`);
  // Dashboards first, so they see every room from the start.
  const dashboards: Client[] = [];
  const codes = [...new Set(rooms.map((r) => r.code))];
  for (const code of codes) {
    for (let d = 0; d < DASHBOARDS_PER_CLASS; d++) {
      const c = new Client(url);
      await c.open();
      await c.request({ type: 'instructor.auth', key: KEY });
      await c.request({ type: 'class.watch', code, rooms: true });
      c.onFrame = () => counters.dashboardHistory++;
      const onEvent = recordCallsFn(c, dashGot);
      c.onEvent = (m) => {
        counters.dashboardHistory++;
        onEvent(m);
      };
      dashboards.push(c);
    }
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
  // Record a room's full loop (between two resets) for the bare-ws ceiling: the first room to
  // complete one gives the sample.
  const sample: Array<{ b: boolean; d: string; room: number }> = [];
  for (const { room, a } of pairs) {
    let mine: typeof sample | undefined;
    a.onRaw = (data, binary) => {
      if (sample.length > 0) {
        a.onRaw = undefined;
        return;
      }
      const text = binary ? '' : data.toString();
      if (!binary && text.startsWith('{"type":"room.snapshot"')) {
        if (mine && mine.length > 0) sample.push(...mine);
        mine = [];
        return;
      }
      if (mine && (binary || text.startsWith('{"type":"room.event"')))
        mine.push({ b: binary, d: data.toString('base64'), room });
    };
  }

  let stop = false;
  let iterations = 0;
  let failures = 0;
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
    const returned = (c: Client, host: string, callId: number) =>
      c.event((e) => e.type === 'return' && e.host === host && e.callId === callId);
    while (!stop) {
      try {
        await call(b, 'B', { op: 'socket' });
        await call(b, 'B', { op: 'bind', fd: 3, port: 80 });
        await call(b, 'B', { op: 'listen', fd: 3 });
        const acc = await call(b, 'B', { op: 'accept', fd: 3 });
        const accepted = returned(b, 'B', acc.callId);
        await call(a, 'A', { op: 'socket' });
        const con = await call(a, 'A', { op: 'connect', fd: 3, addr: '10.0.0.2', port: 80 });
        await returned(a, 'A', con.callId);
        await accepted;
        const rb = await call(b, 'B', { op: 'recv', fd: 4 });
        const gotB = returned(b, 'B', rb.callId);
        await call(a, 'A', { op: 'send', fd: 3, data: payload });
        await gotB;
        const ra = await call(a, 'A', { op: 'recv', fd: 3 });
        const gotA = returned(a, 'A', ra.callId);
        await call(b, 'B', { op: 'send', fd: 4, data: payload });
        await gotA;
        const timeWait = a.event((e) => e.type === 'state' && e.host === 'A' && e.to === 'TIME-WAIT');
        await call(a, 'A', { op: 'close', fd: 3 });
        await b.event((e) => e.type === 'state' && e.host === 'B' && e.to === 'CLOSE-WAIT');
        await call(b, 'B', { op: 'close', fd: 4 });
        await timeWait;
        await a.request({ type: 'room.reset', room });
        iterations++;
      } catch (e) {
        failures++;
        if (failures < 5) process.stderr.write(`room ${room}: ${(e as Error).message}\n`);
        await a.request({ type: 'room.reset', room }).catch(() => {});
      }
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

  const warmup = Math.min(3, seconds / 3);
  const loops = pairs.map(loop);
  await sleep(warmup * 1000);
  progress(`warmed up (${iterations} loops), measuring for ${seconds} s`);
  server.tell('mark');
  pings.length = 0;
  rtts.length = 0;
  callSent.clear();
  peerGot.clear();
  dashGot.clear();
  counters.messages = 0;
  counters.dashboardHistory = 0;
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
  const stats = await server.ask<Json>('stats');
  probing = false;
  await probeLoop;
  const measuredPings = pings.splice(0);
  const measuredRtts = rtts.splice(0);
  stop = true;
  await Promise.race([Promise.all(loops), sleep(5000)]);
  const dropped = [...dashboards, ...pairs.flatMap((p) => [p.a, p.b])].filter(
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
  for (const c of [probe, ...dashboards, ...pairs.flatMap((p) => [p.a, p.b])]) c.ws.terminate();
  await stopChild(server);
  return {
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
    connections: dashboards.length + pairs.length * 2,
  };
}

function recordCallsFn(client: Client, into: Map<number, number>): (msg: Json) => void {
  recordCalls(client, into);
  return client.onEvent!;
}

async function barePhase(
  seconds: number,
  roomCount: number,
  sample: Array<{ b: boolean; d: string; room: number }>,
) {
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
  const classes = Math.ceil(roomCount / CLASS_ROOMS);
  for (let k = 0; k < classes; k++) {
    const c = new Client(url);
    await hello(c, { role: 'dash', klass: k });
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
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const wall = (performance.now() - t0) / 1000;
  const messages = counters.messages;
  const stats = await server.ask<Json>('stats');
  server.tell('stop');
  for (const c of clients) c.ws.terminate();
  await stopChild(server);
  return { wall, messages, stats };
}

/** Asks the child to exit (so a CPU profile gets written), then makes sure it is gone. */
async function stopChild(child: Child): Promise<void> {
  const exited = new Promise<void>((r) => child.proc.once('exit', () => r()));
  child.tell('exit');
  await Promise.race([exited, sleep(process.env.BENCH_PROF ? 30_000 : 3000)]);
  child.proc.kill('SIGKILL');
}

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

async function main(): Promise<void> {
  const seconds = flag('seconds', 10);
  const roomCount = flag('rooms', 500);
  const watchdog = setTimeout(
    () => {
      process.stderr.write('bench:server: watchdog expired, giving up\n');
      process.exit(1);
    },
    (seconds * 2 + 120) * 1000,
  );

  process.stdout.write(
    `bench:server — ${roomCount} rooms, ${roomCount * 2} students, ${Math.ceil(roomCount / CLASS_ROOMS)} dashboards, ${seconds} s per phase, loopback\n`,
  );
  const lab = await labPhase(seconds, roomCount);
  clearTimeout(watchdog);
  const watchdog2 = setTimeout(
    () => {
      process.stderr.write('bench:server: watchdog expired in the ceiling phase, giving up\n');
      process.exit(1);
    },
    (seconds + 120) * 1000,
  );
  const m = lab.measured;
  const roomEvents = m.dashboardHistory / lab.wall;
  const delivered = m.messages / lab.wall;
  process.stdout.write(
    [
      'lab server',
      `  connections        ${lab.connections} (${lab.dropped} dropped, ${lab.failures} loop errors)`,
      `  loops              ${m.iterations} (${f1(m.iterations / lab.wall)}/s: handshake, data both ways, close, reset)`,
      `  room events/s      ${k(roomEvents)} (segment frames + JSON events, each room's history)`,
      `  messages/s         ${k(delivered)} delivered to all clients`,
      `  call → peer        p50 ${f1(pct(lab.peerLat, 50))} ms  p99 ${f1(pct(lab.peerLat, 99))} ms  (${lab.peerLat.length} calls)`,
      `  call → dashboard   p50 ${f1(pct(lab.dashLat, 50))} ms  p99 ${f1(pct(lab.dashLat, 99))} ms  (${lab.dashLat.length} calls)`,
      `  call round trip    p50 ${f1(pct(lab.rtts, 50))} ms  p99 ${f1(pct(lab.rtts, 99))} ms (request to its ok, on the busy connections)`,
      `  idle ping          p50 ${f1(pct(lab.pings, 50))} ms  p99 ${f1(pct(lab.pings, 99))} ms (one extra connection, every 20 ms)`,
      `  server CPU         ${f1(lab.stats.cpuPct)} % of one core (clients: ${f1(m.clientCpuPct)} %)`,
      `  server memory      rss ${f1(lab.stats.rssMB)} MB (peak ${f1(lab.stats.maxRssMB)} MB), heap ${f1(lab.stats.heapMB)} MB`,
      `  loop delay         server p50 ${f1(lab.stats.lagP50)} ms  p99 ${f1(lab.stats.lagP99)} ms; clients p50 ${f1(m.clientLagP50)} ms  p99 ${f1(m.clientLagP99)} ms`,
      `  server stalls      ${lab.stats.stalls.count} over 50 ms, longest ${f1(lab.stats.stalls.longestMs)} ms: ${f1(lab.stats.stalls.busyMs)} ms busy, ${f1(lab.stats.stalls.waitingMs)} ms waiting for a CPU`,
      `  machine load       ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')} (1/5/15-min load average on ${cpus().length} cores)`,
      '',
    ].join('\n'),
  );
  if (lab.sample.length === 0) {
    process.stdout.write('no room finished two loops: no sample for the bare-ws ceiling\n');
    process.exit(1);
  }
  const bare = await barePhase(seconds, roomCount, lab.sample);
  const ceiling = bare.messages / bare.wall;
  process.stdout.write(
    [
      `bare ws ceiling (same ${lab.sample.length}-message loop, same connections)`,
      `  messages/s         ${k(ceiling)} delivered`,
      `  server CPU         ${f1(bare.stats.cpuPct)} % of one core`,
      `ratio                ${(delivered / ceiling).toFixed(2)}× the bare-ws ceiling`,
      '',
    ].join('\n'),
  );
  clearTimeout(watchdog2);
  process.exit(0);
}

if (process.argv.includes('--serve-lab')) void serveLab();
else if (process.argv.includes('--serve-bare'))
  void serveBare(process.argv[process.argv.indexOf('--serve-bare') + 1]!);
else void main();
