/**
 * `npm run bench:server-work`: the lab server's own work per classroom loop, in one process,
 * without sockets or real timers: the server `buildApp` makes (rooms, engine, gateway, feeds,
 * exercises; no persistence) on a fake clock, with connections whose sockets only count what they
 * are given. It plays what `npm run bench:server` plays (rooms in classes of 60, two students
 * and a dashboard following every room of its class; each loop handshake, 100 B each way, close,
 * `room.reset`) and prints CPU time per loop and per message delivered, and GC time per loop.
 *
 * What it leaves out is what a bare `ws` server pays too (reading requests, writing to sockets,
 * WebSocket framing of replies) and real timers, so it measures the room's cost apart from the
 * noise of a shared machine: on a busy 2-core machine the full bench's figures move by ±40 %,
 * these by about ±10 % (compare alternating runs, by their minimum).
 *
 *   npm run bench:server-work -- [--rooms N] [--loops N]     (default 200 rooms, 10 loops each)
 *
 * Then profile with `node --cpu-prof node_modules/.cache/tcplab-bench/server-work.mjs`.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { buildApp } from '../server/app.ts';
import { Connection, type WsLike } from '../server/lab/connection.ts';
import { handleMessage } from '../server/lab/gateway.ts';
import type { PacerClock } from '../shared/sim/pacer.ts';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const ROOMS = flag('rooms', 200);
const LOOPS = flag('loops', 10);
const WARMUP_LOOPS = 10;
const CLASS_ROOMS = 60;

interface Task {
  at: number;
  id: number;
  fn: () => void;
}

/** Real time under the bench's control, timers in a binary heap (hundreds of rooms arm them). */
class HeapClock implements PacerClock<number> {
  private t = 0;
  private nextId = 1;
  private readonly heap: Task[] = [];
  private readonly live = new Set<number>();

  now(): number {
    return this.t;
  }

  schedule(fn: () => void, ms: number): number {
    const id = this.nextId++;
    this.live.add(id);
    const h = this.heap;
    h.push({ at: this.t + ms, id, fn });
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
    return id;
  }

  cancel(id: number): void {
    this.live.delete(id);
    // A cancelled timer stays in the heap until it is due, and a room's idle timer is due a
    // second (166 loops) later: without this the heap (and the GC's work) grew by every room's
    // every call, as real timers never do (clearTimeout lets go of the timer).
    if (this.heap.length > 2 * this.live.size + 1024) this.compact();
  }

  /** Drops the cancelled timers from the heap and restores its order. */
  private compact(): void {
    const h = this.heap.filter((task) => this.live.has(task.id));
    h.sort((a, b) => (before(a, b) ? -1 : 1));
    // Sorted is a valid heap.
    for (let i = 0; i < h.length; i++) this.heap[i] = h[i]!;
    this.heap.length = h.length;
  }

  /** Runs the timers due within `ms`, earliest first (same time: in the order they were set). */
  advance(ms: number): void {
    const end = this.t + ms;
    const h = this.heap;
    while (h.length > 0 && h[0]!.at <= end) {
      const top = h[0]!;
      const last = h.pop()!;
      if (h.length > 0) {
        h[0] = last;
        for (let i = 0; ; ) {
          const l = 2 * i + 1;
          let m = i;
          if (l < h.length && before(h[l]!, h[m]!)) m = l;
          if (l + 1 < h.length && before(h[l + 1]!, h[m]!)) m = l + 1;
          if (m === i) break;
          [h[i], h[m]] = [h[m]!, h[i]!];
          i = m;
        }
      }
      if (!this.live.delete(top.id)) continue;
      this.t = Math.max(this.t, top.at);
      top.fn();
    }
    this.t = end;
  }
}

function before(a: Task, b: Task): boolean {
  return a.at < b.at || (a.at === b.at && a.id < b.id);
}

const clock = new HeapClock();
// The full bench's server settings (bench/server.ts).
const app = await buildApp({
  logger: false,
  instructorKey: 'bench-key',
  webRoot: null,
  speed: 100,
  link: { delayMs: 20 },
  tcp: { mslMs: 100, rtoInitialMs: 1000, rtoMinMs: 200, delayedAckMs: 40, finTimeoutMs: 86_400_000 },
  limits: { messagesPerSecond: 1e9, messageBurst: 1e9 },
  timers: clock,
});
await app.ready();
const lab = app.lab;

let messages = 0;
let bytes = 0;
/** A connection on a socket that takes everything at once and only counts it. */
function connect(): Connection {
  const ws: WsLike = {
    readyState: 1,
    bufferedAmount: 0,
    extensions: '',
    send(data, _options, cb) {
      messages++;
      bytes += data.length;
      cb?.();
    },
    close() {},
    terminate() {},
    ping() {},
  };
  const socket = {
    cork() {},
    uncork() {},
    write(frame: Buffer) {
      messages++;
      bytes += frame.length;
      return true;
    },
  };
  const conn = new Connection(ws, lab.limits, () => clock.now(), socket);
  lab.conns.add(conn);
  return conn;
}

let nextId = 1;
function request(conn: Connection, msg: object): void {
  handleMessage(lab, conn, Buffer.from(JSON.stringify({ ...msg, id: nextId++ })), false);
}

const rooms: Array<{ id: number; code: string }> = [];
for (let k = 0; rooms.length < ROOMS; k++) {
  const klass = lab.createClass(`C${k}`);
  const dashboard = connect();
  request(dashboard, { type: 'instructor.auth', key: 'bench-key' });
  for (let i = 0; i < CLASS_ROOMS && rooms.length < ROOMS; i++)
    rooms.push({ id: lab.createRoom(klass).id, code: klass.code });
  request(dashboard, { type: 'class.watch', code: klass.code, rooms: true });
}
const pairs = rooms.map(({ id, code }) => {
  const [a, b] = [connect(), connect()];
  for (const [conn, seat] of [
    [a, 'A'],
    [b, 'B'],
  ] as const) {
    request(conn, { type: 'class.join', code, name: `${seat}${id}` });
    request(conn, { type: 'room.join', room: id });
    request(conn, { type: 'seat.take', room: id, seat });
  }
  return { room: id, a, b };
});

/** The end of an event-loop turn: the connections' corked writes go out. */
const turn = () => new Promise<void>((r) => setImmediate(r));
/** Lets `ms` of real time pass on the rooms' clocks, between two turns. */
async function wait(ms: number): Promise<void> {
  await turn();
  clock.advance(ms);
  await turn();
}

const payload = 'x'.repeat(100);
/** One loop of every room, each step for all rooms at once (×100: 1 real ms is 100 virtual ms). */
async function loop(): Promise<void> {
  const call = (conn: Connection, room: number, host: 'A' | 'B', c: object) =>
    request(conn, { type: 'sock.call', room, host, call: c });
  for (const { room, a, b } of pairs) {
    call(a, room, 'A', { op: 'socket' });
    call(b, room, 'B', { op: 'socket' });
    call(b, room, 'B', { op: 'bind', fd: 3, port: 80 });
    call(b, room, 'B', { op: 'listen', fd: 3 });
    call(b, room, 'B', { op: 'accept', fd: 3 });
    call(a, room, 'A', { op: 'connect', fd: 3, addr: '10.0.0.2', port: 80 });
  }
  await wait(2);
  for (const { room, a, b } of pairs) {
    call(b, room, 'B', { op: 'recv', fd: 4 });
    call(a, room, 'A', { op: 'recv', fd: 3 });
    call(a, room, 'A', { op: 'send', fd: 3, data: payload });
    call(b, room, 'B', { op: 'send', fd: 4, data: payload });
  }
  await wait(2);
  for (const { room, a } of pairs) call(a, room, 'A', { op: 'close', fd: 3 });
  await wait(1); // B in CLOSE-WAIT
  for (const { room, b } of pairs) call(b, room, 'B', { op: 'close', fd: 4 });
  await wait(0.5); // A in TIME-WAIT
  for (const { room, a } of pairs) request(a, { type: 'room.reset', room });
  await wait(0.5);
}

for (let i = 0; i < WARMUP_LOOPS; i++) await loop();
// Every room must have looped as the full bench's do: A reached TIME-WAIT in the last one.
const stuck = [...lab.rooms.values()].filter((r) => r.epoch !== WARMUP_LOOPS);
if (stuck.length > 0) throw new Error(`${stuck.length} rooms did not loop (room ${stuck[0]!.id})`);

messages = 0;
bytes = 0;
let gcMs = 0;
const gc = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
});
gc.observe({ entryTypes: ['gc'] });
const cpu0 = process.cpuUsage();
for (let i = 0; i < LOOPS; i++) await loop();
const cpu = process.cpuUsage(cpu0);
await turn();
gc.disconnect();

const loops = LOOPS * ROOMS;
const cpuUs = cpu.user + cpu.system;
process.stdout.write(
  [
    `bench:server-work — ${ROOMS} rooms, ${pairs.length * 2} students, ${Math.ceil(ROOMS / CLASS_ROOMS)} dashboards, ${LOOPS} measured loops each (after ${WARMUP_LOOPS})`,
    `  messages     ${(messages / loops).toFixed(1)} per loop, ${(bytes / messages).toFixed(0)} B each`,
    `  server CPU   ${(cpuUs / loops).toFixed(0)} µs per loop, ${(cpuUs / messages).toFixed(2)} µs per message delivered`,
    `  GC           ${((gcMs * 1000) / loops).toFixed(0)} µs per loop (pauses, in that CPU time)`,
    '',
  ].join('\n'),
);
await app.close();
process.exit(0);
