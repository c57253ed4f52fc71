/**
 * Recorded histories for the development page, the component tests and the benchmark: a
 * scenario run by the real engine and simulator (`shared/sim`), turned into the exact messages a
 * room's history is made of on the wire (`room.event` JSON and binary segment frames, numbered
 * by `n`), the way the lab server records them. Read-only: nothing here acts like a server.
 */
import { fromHex } from '../../../shared/capture/bytes.ts';
import type { RoomInfo } from '../../../shared/protocol/messages.ts';
import { segmentFrame } from '../../../shared/protocol/trace-frame.ts';
import { runScenario } from '../../../shared/sim/runner.ts';
import type { Scenario } from '../../../shared/sim/scenario.ts';
import type { TraceEvent } from '../../../shared/sim/trace.ts';

export interface RecordedHistory {
  room: number;
  info: RoomInfo;
  /** JSON messages as objects, frames as bytes, in history order. */
  messages: Array<Record<string, unknown> | Uint8Array>;
}

/** Trace events to history messages, numbered from 0. */
export function traceToMessages(trace: readonly TraceEvent[], room: number): RecordedHistory['messages'] {
  const out: RecordedHistory['messages'] = [];
  const bytes = new Map<number, Uint8Array>();
  for (const e of trace) {
    const n = out.length;
    if (e.type === 'segment') {
      let packet: Uint8Array;
      if (e.hex !== undefined) {
        packet = fromHex(e.hex);
        bytes.set(e.id, packet);
      } else packet = bytes.get(e.id) ?? new Uint8Array(0);
      out.push(segmentFrame(e, room, n, packet));
    } else {
      out.push({ type: 'room.event', room, n, t: e.t, event: e });
    }
  }
  return out;
}

export function roomInfoFor(room: number, name: string, scenario: Scenario, t: number): RoomInfo {
  const link = {
    delayMs: 50,
    jitterMs: 0,
    rateBps: 0,
    queuePackets: 100,
    loss: 0,
    duplicate: 0,
    reorder: 0,
    reorderMs: 25,
    ...(scenario.link ?? {}),
  };
  return {
    room,
    name,
    classCode: 'RECORD',
    epoch: 0,
    seats: { A: null, B: null },
    people: 0,
    clock: { running: false, speed: 1, t, policy: 'seats', ready: [] },
    link: { AB: link, BA: link },
    faults: [],
    hold: false,
    held: [],
    addrs: { A: '10.0.0.1', B: '10.0.0.2' },
    full: false,
  };
}

export function recordScenario(scenario: Scenario, room = 1): RecordedHistory {
  const run = runScenario(scenario);
  return {
    room,
    info: roomInfoFor(room, scenario.name, scenario, run.until),
    messages: traceToMessages(run.trace, room),
  };
}

// ---------------------------------------------------------------------------------------------
// Built-in scenarios for the development page and the tests.

const CLASSROOM = { mslMs: 5000, rtoInitialMs: 3000, rtoMinMs: 1500, delayedAckMs: 200, finTimeoutMs: 30000 };

/** The lab's story: B listens, A connects, both send, A closes, B shuts down then closes. */
export const LIFECYCLE: Scenario = {
  name: 'Handshake, data both ways, four-way close',
  seed: 7,
  until: 20000,
  config: CLASSROOM,
  link: { delayMs: 500 },
  steps: [
    { at: 0, host: 'B', op: 'socket', as: 'lsn' },
    { at: 0, host: 'B', op: 'bind', fd: 'lsn', port: 80 },
    { at: 0, host: 'B', op: 'listen', fd: 'lsn', backlog: 5 },
    { at: 0, host: 'B', op: 'accept', fd: 'lsn', as: 'conn' },
    { at: 200, host: 'A', op: 'socket', as: 'c' },
    { at: 200, host: 'A', op: 'connect', fd: 'c', addr: 'B', port: 80 },
    { at: 2000, host: 'A', op: 'send', fd: 'c', data: 'hello from A' },
    { at: 2400, host: 'B', op: 'send', fd: 'conn', data: 'hi A, this is B' },
    { at: 3600, host: 'B', op: 'recv', fd: 'conn' },
    { at: 3700, host: 'A', op: 'recv', fd: 'c' },
    { at: 4000, host: 'A', op: 'close', fd: 'c' },
    { at: 5500, host: 'B', op: 'shutdown', fd: 'conn', how: 'SHUT_WR' },
    { at: 6000, host: 'B', op: 'close', fd: 'conn' },
  ],
};

/** The same with A's first FIN lost: A retransmits it when the RTO expires. */
export const LOST_FIN: Scenario = {
  ...LIFECYCLE,
  name: "A's first FIN is lost",
  until: 26000,
  faults: [{ from: 'A', flags: ['FIN'], action: 'drop' }],
};

/** Hold mode from the start: A's SYN waits mid-flight for someone to release or drop it. */
export const HELD_SYN: Scenario = {
  ...LIFECYCLE,
  name: 'Hold mode: the SYN waits mid-flight',
  until: 3000,
  hold: true,
  steps: LIFECYCLE.steps.slice(0, 6),
};

/** Hold mode with a simultaneous open: both SYNs wait mid-flight at the same moment. */
export const HELD_TWO: Scenario = {
  ...LIFECYCLE,
  name: 'Hold mode: two SYNs held at once',
  until: 3000,
  hold: true,
  steps: [
    { at: 0, host: 'A', op: 'socket', as: 'a' },
    { at: 0, host: 'A', op: 'bind', fd: 'a', port: 1000 },
    { at: 0, host: 'B', op: 'socket', as: 'b' },
    { at: 0, host: 'B', op: 'bind', fd: 'b', port: 2000 },
    { at: 100, host: 'A', op: 'connect', fd: 'a', addr: 'B', port: 2000 },
    { at: 100, host: 'B', op: 'connect', fd: 'b', addr: 'A', port: 1000 },
  ],
};

/** Bulk data with random loss: retransmissions, dup ACKs, fast retransmit, cwnd. */
export function bulkScenario(sends: number, loss = 0.02, delayMs = 40): Scenario {
  const steps: Scenario['steps'] = [
    { at: 0, host: 'B', op: 'socket', as: 'lsn' },
    { at: 0, host: 'B', op: 'bind', fd: 'lsn', port: 80 },
    { at: 0, host: 'B', op: 'listen', fd: 'lsn', backlog: 5 },
    { at: 0, host: 'B', op: 'accept', fd: 'lsn', as: 'conn' },
    { at: 10, host: 'A', op: 'socket', as: 'c' },
    { at: 10, host: 'A', op: 'connect', fd: 'c', addr: 'B', port: 80 },
  ];
  let at = 500;
  for (let i = 0; i < sends; i++) {
    steps.push({ at, host: 'A', op: 'send', fd: 'c', bytes: 4096 });
    steps.push({ at: at + 1, host: 'B', op: 'recv', fd: 'conn' });
    at += 60;
  }
  steps.push({ at: at + 2000, host: 'A', op: 'close', fd: 'c' });
  steps.push({ at: at + 2500, host: 'B', op: 'close', fd: 'conn' });
  return {
    name: `Bulk transfer: ${sends} sends, ${loss * 100}% loss`,
    seed: 3,
    until: at + 60000,
    config: { ...CLASSROOM, rtoInitialMs: 1000, rtoMinMs: 200, delayedAckMs: 40, mslMs: 2000 },
    link: { delayMs, loss },
    steps,
  };
}
