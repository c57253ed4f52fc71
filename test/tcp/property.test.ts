/**
 * Property: under any seeded loss (≤ 20 %), duplication and reordering in both directions, a
 * transfer of random bytes in random chunk sizes both ways, followed by shutdown(SHUT_WR) and
 * close() on both sides, delivers every byte exactly once and in order, ends with both sockets
 * closed (after TIME-WAIT), and every state change is an edge of STATE_EDGES (RFC 9293 Figure 5).
 *
 * Reproduce a failure with FC_SEED=<seed> (printed in the title) and the run's `path`.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { isStateEdge } from '../../shared/tcp/types.ts';
import { B_ADDR, CLIENT_PORT, SERVER_PORT, type Side, Wire } from './harness.ts';

const FC_SEED = Number(process.env.FC_SEED ?? 0x7c9_2024);
const RUNS = Number(process.env.FC_RUNS ?? 100);

/** mulberry32: the faults' only source of randomness. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

interface Case {
  seed: number;
  loss: number;
  dup: number;
  reorder: number;
  aChunks: number[];
  bChunks: number[];
  delayedAck: boolean;
  nodelay: boolean;
}

interface Peer {
  side: Side;
  fd: number;
  chunks: Uint8Array[];
  next: number;
  sendCall?: number;
  recvCall?: number;
  received: number[];
  eof: boolean;
  shut: boolean;
  closed: boolean;
  errors: string[];
}

function makeChunks(sizes: number[], r: () => number): Uint8Array[] {
  return sizes.map((n) => {
    const c = new Uint8Array(n);
    for (let i = 0; i < n; i++) c[i] = Math.floor(r() * 256);
    return c;
  });
}

function runCase(c: Case): { w: Wire; problems: string[] } {
  const r = rng(c.seed);
  const cfg = {
    mslMs: 2_000,
    synRetries: 30,
    synAckRetries: 30,
    retries: 40,
    rtoMaxMs: 4_000,
    delayedAck: c.delayedAck,
    nagle: !c.nodelay,
  };
  const w = new Wire({ a: cfg, b: cfg });
  w.onTransmit = () => {
    const x = r();
    if (x < c.loss) return 'drop';
    if (x < c.loss + c.dup) return 'dup';
    if (r() < c.reorder) return { delay: Math.floor(r() * 200) };
    return 'deliver';
  };
  const problems: string[] = [];
  const lfd = w.ok('B', { op: 'socket' }) as number;
  w.ok('B', { op: 'bind', fd: lfd, port: SERVER_PORT });
  w.ok('B', { op: 'listen', fd: lfd, backlog: 4 });
  const cfd = w.ok('A', { op: 'socket' }) as number;
  w.ok('A', { op: 'bind', fd: cfd, port: CLIENT_PORT });
  const conn = w.call('A', { op: 'connect', fd: cfd, addr: B_ADDR, port: SERVER_PORT });
  const acc = w.call('B', { op: 'accept', fd: lfd });
  const deadline = 30 * 60_000;
  while (!(w.result('A', conn.callId) && w.result('B', acc.callId))) {
    if (!w.step(deadline)) break;
  }
  const cr = w.result('A', conn.callId);
  const ar = w.result('B', acc.callId);
  if (!cr?.ok || !ar?.ok) return { w, problems: [`handshake failed: ${JSON.stringify([cr, ar])}`] };
  w.ok('B', { op: 'close', fd: lfd });
  const sfd = (ar.value as { fd: number }).fd;
  const peers: Peer[] = [
    {
      side: 'A',
      fd: cfd,
      chunks: makeChunks(c.aChunks, r),
      next: 0,
      received: [],
      eof: false,
      shut: false,
      closed: false,
      errors: [],
    },
    {
      side: 'B',
      fd: sfd,
      chunks: makeChunks(c.bChunks, r),
      next: 0,
      received: [],
      eof: false,
      shut: false,
      closed: false,
      errors: [],
    },
  ];

  /** Issues the next calls each side can make; returns true if anything was done. */
  const service = (): boolean => {
    let did = false;
    for (const p of peers) {
      if (p.closed) continue;
      // Sending: one send() at a time, then shutdown(SHUT_WR).
      if (p.sendCall !== undefined) {
        const res = w.result(p.side, p.sendCall);
        if (res) {
          const want = p.chunks[p.next - 1]!.length;
          if (!res.ok || res.value !== want) p.errors.push(`send() = ${JSON.stringify(res)}, wanted ${want}`);
          p.sendCall = undefined;
          did = true;
        }
      }
      if (p.sendCall === undefined && p.next < p.chunks.length) {
        const { callId, result } = w.call(p.side, { op: 'send', fd: p.fd, data: p.chunks[p.next++]! });
        p.sendCall = callId;
        if (result) void 0; // picked up through w.result on the next pass
        did = true;
      } else if (p.sendCall === undefined && !p.shut) {
        const res = w.do(p.side, { op: 'shutdown', fd: p.fd, how: 'SHUT_WR' });
        if (!res.ok) p.errors.push(`shutdown() = ${res.errno}`);
        p.shut = true;
        did = true;
      }
      // Receiving: always one recv() outstanding until EOF.
      if (p.recvCall !== undefined) {
        const res = w.result(p.side, p.recvCall);
        if (res) {
          p.recvCall = undefined;
          did = true;
          if (!res.ok) {
            p.errors.push(`recv() = ${res.errno}`);
            p.eof = true;
          } else {
            const v = res.value as Uint8Array;
            if (v.length === 0) p.eof = true;
            else p.received.push(...v);
          }
        }
      }
      if (p.recvCall === undefined && !p.eof) {
        p.recvCall = w.call(p.side, { op: 'recv', fd: p.fd }).callId;
        did = true;
      }
      // Close once everything was sent and the peer's EOF was read.
      if (p.shut && p.eof && p.sendCall === undefined && !p.closed) {
        const res = w.do(p.side, { op: 'close', fd: p.fd });
        if (!res.ok) p.errors.push(`close() = ${res.errno}`);
        p.closed = true;
        did = true;
      }
    }
    return did;
  };

  for (let i = 0; i < 200_000; i++) {
    if (service()) continue;
    if (!w.step(deadline)) break;
  }

  for (const p of peers) {
    const o = peers.find((q) => q !== p)!;
    const sent = o.chunks.flatMap((ch) => [...ch]);
    if (p.received.length !== sent.length || p.received.some((b, i) => b !== sent[i])) {
      const firstDiff = p.received.findIndex((b, i) => b !== sent[i]);
      problems.push(
        `${p.side} received ${p.received.length} bytes, ${o.side} sent ${sent.length} (first difference at ${firstDiff})`,
      );
    }
    if (p.errors.length > 0) problems.push(`${p.side}: ${p.errors.join('; ')}`);
    if (!p.closed) problems.push(`${p.side} never got to close()`);
    const left = w.sockets(p.side).map((s) => `${s.id}:${s.state}`);
    if (left.length > 0) problems.push(`${p.side} still has sockets: ${left.join(', ')}`);
  }
  for (const e of w.events) {
    if (e.type === 'state' && !isStateEdge(e.from, e.to))
      problems.push(`${e.side}: ${e.from} -> ${e.to} is not an edge of the RFC 9293 diagram (${e.cause})`);
  }
  return { w, problems };
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  loss: fc.double({ min: 0, max: 0.2, noNaN: true }),
  dup: fc.double({ min: 0, max: 0.1, noNaN: true }),
  reorder: fc.double({ min: 0, max: 0.3, noNaN: true }),
  aChunks: fc.array(fc.integer({ min: 1, max: 6_000 }), { maxLength: 6 }),
  bChunks: fc.array(fc.integer({ min: 1, max: 6_000 }), { maxLength: 6 }),
  delayedAck: fc.boolean(),
  nodelay: fc.boolean(),
});

describe(`property: exactly-once in-order delivery under loss, duplication, reordering (fc seed ${FC_SEED})`, () => {
  test(`${RUNS} seeded runs: data intact, both closed after TIME-WAIT, only RFC 9293 edges`, () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const { w, problems } = runCase(c);
        if (problems.length > 0) {
          const ladder = w.ladderText().split('\n');
          throw new Error(
            `case ${JSON.stringify(c)}\n${problems.join('\n')}\n--- last 60 log lines ---\n${ladder.slice(-60).join('\n')}`,
          );
        }
      }),
      { numRuns: RUNS, seed: FC_SEED, endOnFailure: true },
    );
  });

  test('a lossless run of the same harness passes (the property is not vacuous)', () => {
    const c: Case = {
      seed: 1,
      loss: 0,
      dup: 0,
      reorder: 0,
      aChunks: [3_000, 1],
      bChunks: [10],
      delayedAck: true,
      nodelay: false,
    };
    const { w, problems } = runCase(c);
    expect(problems).toEqual([]);
    expect(w.segs.some((s) => s.from === 'A' && s.len === 1_460)).toBe(true);
    expect(w.states().filter((s) => s.endsWith('TIME-WAIT')).length).toBeGreaterThan(0);
  });
});
