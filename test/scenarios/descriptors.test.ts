/**
 * What close(), shutdown() and SO_LINGER put on the wire: shared descriptors (dup, fork), the
 * half-close, RST instead of FIN for unread data, and the linger-0 abort.
 */
import { describe, expect, test } from 'vitest';
import type { TraceEvent } from '../../shared/sim/trace.ts';
import { ladder, returns, runFile, states } from './helpers.ts';

/** Every segment A sent between two times, as ladder lines. */
function aSent(trace: readonly TraceEvent[], from: number, to: number): string[] {
  return ladder(trace, from).filter((l) => l.includes(' A>B ') && Number(l.split(' ')[0]) < to);
}

function result(r: Extract<TraceEvent, { type: 'return' }>): unknown {
  return r.result;
}

describe('close() on shared descriptors vs shutdown()', () => {
  test('close-dup: closing one of two descriptors sends nothing; the FIN waits for the last close()', () => {
    const { trace } = runFile('close-dup');
    expect(aSent(trace, 200, 800)).toEqual(['500 A>B PSH,ACK seq=1 ack=1 len=10']);
    expect(returns(trace, 'A', 'close').map((r) => [r.t, result(r)])).toEqual([
      [300, { ok: true, value: 0 }],
      [800, { ok: true, value: 0 }],
    ]);
    expect(ladder(trace, 800)).toEqual([
      '800 A FIN-WAIT-1',
      '800 A>B FIN,ACK seq=11 ack=1 len=0',
      '850 B CLOSE-WAIT',
      '850 B>A ACK seq=1 ack=12 len=0',
      '850 B LAST-ACK',
      '850 B>A FIN,ACK seq=1 ack=12 len=0',
      '900 A FIN-WAIT-2',
      '900 A TIME-WAIT',
      '900 A>B ACK seq=12 ack=2 len=0',
      '950 B CLOSED',
      '2900 A CLOSED',
    ]);
    // The socket stayed ESTABLISHED through the first close().
    expect(states(trace, 'A', 1)).toEqual([
      [10, 'SYN-SENT'],
      [110, 'ESTABLISHED'],
      [800, 'FIN-WAIT-1'],
      [900, 'FIN-WAIT-2'],
      [900, 'TIME-WAIT'],
      [2900, 'CLOSED'],
    ]);
  });

  test('close-fork: the parent close() sends nothing; the child still sends, and its close() sends the FIN', () => {
    const { trace } = runFile('close-fork');
    expect(aSent(trace, 200, 1000)).toEqual([
      '500 A>B PSH,ACK seq=1 ack=1 len=14',
      '800 A>B FIN,ACK seq=15 ack=1 len=0',
      '900 A>B ACK seq=16 ack=2 len=0',
    ]);
    const sends = returns(trace, 'A', 'send');
    expect(sends).toMatchObject([{ t: 500, pid: 2, result: { ok: true, value: 14 } }]);
    const closes = returns(trace, 'A', 'close');
    expect(closes.map((r) => [r.t, r.pid])).toEqual([
      [300, 1],
      [800, 2],
    ]);
    expect(returns(trace, 'B', 'recv')[0]).toMatchObject({ result: { value: { text: 'from the child' } } });
  });

  test('shutdown-dup: shutdown(SHUT_WR) sends the FIN at once despite a second descriptor, which can no longer send', () => {
    const { trace } = runFile('shutdown-dup');
    expect(ladder(trace, 200)).toEqual([
      '300 A FIN-WAIT-1',
      '300 A>B FIN,ACK seq=1 ack=1 len=0',
      '350 B CLOSE-WAIT',
      '350 B>A ACK seq=1 ack=2 len=0',
      '400 B>A PSH,ACK seq=1 ack=2 len=3',
      '400 A FIN-WAIT-2',
      '490 A>B ACK seq=2 ack=4 len=0',
      '600 B LAST-ACK',
      '600 B>A FIN,ACK seq=4 ack=2 len=0',
      '650 A TIME-WAIT',
      '650 A>B ACK seq=2 ack=5 len=0',
      '700 B CLOSED',
      '2650 A CLOSED',
    ]);
    expect(returns(trace, 'A', 'send')).toMatchObject([{ t: 350, result: { ok: false, errno: 'EPIPE' } }]);
    // Receiving through the other descriptor still works after the half-close.
    expect(returns(trace, 'A', 'recv')).toMatchObject([
      { t: 450, result: { ok: true, value: { text: 'bye' } } },
    ]);
  });
});

describe('half-close', () => {
  test("half-close: after SHUT_WR, A in FIN-WAIT-2 keeps receiving all of B's data", () => {
    const { trace } = runFile('half-close');
    expect(ladder(trace, 150)).toEqual([
      '160 B ESTABLISHED',
      '200 A>B PSH,ACK seq=1 ack=1 len=10',
      '200 A FIN-WAIT-1',
      '200 A>B FIN,ACK seq=11 ack=1 len=0',
      '250 B CLOSE-WAIT',
      '250 B>A ACK seq=1 ack=12 len=0',
      '300 A FIN-WAIT-2',
      '400 B>A PSH,ACK seq=1 ack=12 len=7',
      '490 A>B ACK seq=12 ack=8 len=0',
      '500 B>A PSH,ACK seq=8 ack=12 len=7',
      '590 A>B ACK seq=12 ack=15 len=0',
      '600 B>A PSH,ACK seq=15 ack=12 len=6',
      '690 A>B ACK seq=12 ack=21 len=0',
      '700 B LAST-ACK',
      '700 B>A FIN,ACK seq=21 ack=12 len=0',
      '750 A TIME-WAIT',
      '750 A>B ACK seq=12 ack=22 len=0',
      '800 B CLOSED',
      '2750 A CLOSED',
    ]);
    // B read the request, then end-of-file, while its own direction stayed open.
    expect(returns(trace, 'B', 'recv').map((r) => r.result)).toEqual([
      { ok: true, value: { bytes: 10, text: 'sort these' } },
      { ok: true, value: { bytes: 0, text: '' } },
    ]);
    expect(returns(trace, 'B', 'send').map((r) => r.result)).toEqual([
      { ok: true, value: 7 },
      { ok: true, value: 7 },
      { ok: true, value: 6 },
    ]);
    expect(returns(trace, 'A', 'recv').map((r) => r.result)).toEqual([
      { ok: true, value: { bytes: 20, text: 'part 1;part 2;part 3' } },
      { ok: true, value: { bytes: 0, text: '' } },
    ]);
  });
});

describe('aborts', () => {
  test('close-unread-rst: closing with unread data sends RST, not FIN; the peer gets ECONNRESET', () => {
    const { trace } = runFile('close-unread-rst');
    expect(ladder(trace, 150)).toEqual([
      '160 B ESTABLISHED',
      '200 A>B PSH,ACK seq=1 ack=1 len=22',
      '290 B>A ACK seq=1 ack=23 len=0',
      '400 B>A RST,ACK seq=1 ack=23 len=0',
      '400 B CLOSED',
      '450 A CLOSED',
    ]);
    expect(trace.some((e) => e.type === 'segment' && e.flags.includes('FIN'))).toBe(false);
    expect(returns(trace, 'A', 'recv')).toMatchObject([
      { t: 600, result: { ok: false, errno: 'ECONNRESET' } },
    ]);
  });

  test('so-linger-zero: close() aborts with RST and goes straight to CLOSED, no TIME-WAIT', () => {
    const { trace } = runFile('so-linger-zero');
    expect(ladder(trace, 150)).toEqual([
      '160 B ESTABLISHED',
      '300 A>B RST,ACK seq=1 ack=1 len=0',
      '300 A CLOSED',
      '350 B CLOSED',
    ]);
    expect(states(trace, 'A', 1).map(([, s]) => s)).toEqual(['SYN-SENT', 'ESTABLISHED', 'CLOSED']);
    expect(returns(trace, 'B', 'recv')).toMatchObject([
      { t: 350, result: { ok: false, errno: 'ECONNRESET' } },
    ]);
  });
});
