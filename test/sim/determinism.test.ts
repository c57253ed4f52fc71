/**
 * Same scenario + same seed ⇒ the same trace, byte for byte; another seed with loss ⇒ another
 * trace. And under any seeded loss, duplication and reordering, the bytes arrive exactly once and
 * in order.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { formatLadder } from '../../shared/sim/ladder.ts';
import { runScenario } from '../../shared/sim/runner.ts';
import type { Scenario } from '../../shared/sim/scenario.ts';
import { toNdjson } from '../../shared/sim/trace.ts';
import { isStateEdge } from '../../shared/tcp/types.ts';
import { connectPair, twoHosts } from './helpers.ts';

function lossy(seed: number): Scenario {
  return {
    name: 'lossy transfer',
    seed,
    until: 60_000,
    config: { mslMs: 1000, rtoMinMs: 200 },
    link: { delayMs: 20, jitterMs: 5, loss: 0.1, duplicate: 0.05, reorder: 0.05 },
    steps: [
      { at: 0, host: 'B', op: 'socket', as: 'lsn' },
      { at: 0, host: 'B', op: 'bind', fd: 'lsn', port: 80 },
      { at: 0, host: 'B', op: 'listen', fd: 'lsn' },
      { at: 0, host: 'B', op: 'accept', fd: 'lsn', as: 'conn' },
      { at: 0, host: 'A', op: 'socket', as: 'c' },
      { at: 0, host: 'A', op: 'connect', fd: 'c', addr: 'B', port: 80 },
      { at: 500, host: 'A', op: 'send', fd: 'c', bytes: 20_000 },
      { at: 500, host: 'A', op: 'close', fd: 'c' },
      { at: 5000, host: 'B', op: 'recv', fd: 'conn', max: 100_000 },
      { at: 5000, host: 'B', op: 'close', fd: 'conn' },
    ],
  };
}

describe('determinism', () => {
  test('the same scenario and seed give a byte-identical NDJSON trace and ladder', () => {
    const one = runScenario(lossy(7));
    const two = runScenario(lossy(7));
    const nd = toNdjson(one.trace);
    expect(one.trace.length).toBeGreaterThan(100);
    expect(nd).toBe(toNdjson(two.trace));
    expect(formatLadder(one.trace)).toBe(formatLadder(two.trace));
    // Every line is one JSON object with t and type.
    for (const line of nd.trimEnd().split('\n')) {
      const e = JSON.parse(line);
      expect(typeof e.t).toBe('number');
      expect(typeof e.type).toBe('string');
    }
  });

  test('a different seed with loss gives a different trace', () => {
    expect(toNdjson(runScenario(lossy(7)).trace)).not.toBe(toNdjson(runScenario(lossy(8)).trace));
  });

  test('the trace has drops caused by the link, so the seed matters', () => {
    const trace = runScenario(lossy(7)).trace;
    expect(trace.some((e) => e.type === 'segment' && e.event === 'drop' && e.reason === 'loss')).toBe(true);
  });
});

describe('property: exactly once, in order, along RFC 9293 edges, under seeded loss, duplication and reordering', () => {
  test('bytes A sends arrive at B exactly once, in order', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.double({ min: 0, max: 0.2, noNaN: true }),
        fc.double({ min: 0, max: 0.2, noNaN: true }),
        fc.double({ min: 0, max: 0.3, noNaN: true }),
        (seed, loss, duplicate, reorder) => {
          const net = twoHosts({
            seed,
            link: { delayMs: 10, jitterMs: 3, loss, duplicate, reorder, reorderMs: 7 },
            config: { nagle: false, rtoMinMs: 100, rtoInitialMs: 300, synRetries: 30, retries: 40 },
          });
          const { a, b } = connectPair(net);
          // Non-blocking reads: a read with nothing to return says EAGAIN instead of blocking.
          net.call('B', { op: 'setsockopt', fd: b, opt: 'O_NONBLOCK', value: true });
          const data = Uint8Array.from({ length: 6000 }, (_, i) => (i * 7) & 255);
          net.call('A', { op: 'send', fd: a, data });
          net.call('A', { op: 'close', fd: a });
          const received: number[] = [];
          for (let i = 0; i < 400 && received.length < data.length; i++) {
            net.runUntil(net.now + 250);
            const r = net.call('B', { op: 'recv', fd: b, max: 100_000 }).result;
            expect(r, 'a non-blocking recv finishes at once').toBeDefined();
            if (r?.ok && r.value instanceof Uint8Array) received.push(...r.value);
            else expect(r).toMatchObject({ ok: false, errno: 'EAGAIN' });
          }
          expect(received).toEqual([...data]);
          // Every state change is an edge of the RFC 9293 diagram.
          const bad = net
            .drainTrace()
            .filter((e) => e.type === 'state' && !isStateEdge(e.from, e.to))
            .map((e) => (e.type === 'state' ? `${e.host} ${e.from} → ${e.to}` : ''));
          expect(bad).toEqual([]);
        },
      ),
      { numRuns: Number(process.env.SIM_PROPERTY_RUNS ?? 25) },
    );
  });
});
