/**
 * Loss recovery and flow control: RTO backoff, fast retransmit, zero window with persist probes,
 * and the congestion window through slow start, fast recovery and congestion avoidance.
 */
import { describe, expect, test } from 'vitest';
import type { TraceEvent } from '../../shared/sim/trace.ts';
import { ladder, returns, runFile, segments } from './helpers.ts';

type Cc = Extract<TraceEvent, { type: 'cc' }>;

function ccEvents(trace: readonly TraceEvent[], host = 'A'): Cc[] {
  return trace.filter((e): e is Cc => e.type === 'cc' && e.host === host);
}

function timers(trace: readonly TraceEvent[], kind: string, action: string): number[] {
  return trace.filter((e) => e.type === 'timer' && e.kind === kind && e.action === action).map((e) => e.t);
}

describe('retransmission', () => {
  test('rto-backoff: each timeout resends the segment and doubles the RTO (300, 600, 1200 ms)', () => {
    const { trace } = runFile('rto-backoff');
    expect(ladder(trace, 200)).toEqual([
      '300 A>B PSH,ACK seq=1 ack=1 len=5 ✕',
      '600 A>B PSH,ACK seq=1 ack=1 len=5 ✕',
      '1200 A>B PSH,ACK seq=1 ack=1 len=5 ✕',
      '2400 A>B PSH,ACK seq=1 ack=1 len=5',
      '2490 B>A ACK seq=1 ack=6 len=0',
    ]);
    const copies = segments(trace).filter((e) => e.from === 'A' && e.len > 0);
    expect(copies.map((e) => [e.why, e.rexmit])).toEqual([
      ['data', undefined],
      ['retransmit-rto', 1],
      ['retransmit-rto', 2],
      ['retransmit-rto', 3],
    ]);
    const gaps = copies.slice(1).map((e, i) => e.t - copies[i]!.t);
    expect(gaps).toEqual([300, 600, 1200]);
    expect(timers(trace, 'retransmit', 'fire')).toEqual([600, 1200, 2400]);
    // RFC 5681 §3.1: ssthresh = max(FlightSize / 2, 2·SMSS) at the first timeout, cwnd = 1 SMSS; later timeouts keep ssthresh.
    expect(
      ccEvents(trace)
        .filter((e) => e.cause === 'retransmission timeout')
        .map((e) => [e.cwnd, e.ssthresh]),
    ).toEqual([
      [1460, 2920],
      [1460, 2920],
      [1460, 2920],
    ]);
    expect(returns(trace, 'B', 'recv')).toMatchObject([{ t: 2450, result: { value: { text: 'hello' } } }]);
  });

  test('fast-retransmit: the third duplicate ACK triggers the retransmission long before the RTO', () => {
    const { trace } = runFile('fast-retransmit');
    expect(ladder(trace, 200)).toEqual([
      '300 A>B ACK seq=1 ack=1 len=1000',
      '300 A>B ACK seq=1001 ack=1 len=1000 ✕',
      '300 A>B ACK seq=2001 ack=1 len=1000',
      '300 A>B ACK seq=3001 ack=1 len=1000',
      '300 A>B ACK seq=4001 ack=1 len=1000',
      '300 A>B ACK seq=5001 ack=1 len=1000',
      '300 A>B ACK seq=6001 ack=1 len=1000',
      '300 A>B PSH,ACK seq=7001 ack=1 len=1000',
      // Out-of-order arrivals are ACKed at once (RFC 5681 §4.2): the first acknowledges segment 1, the rest duplicate it.
      '350 B>A ACK seq=1 ack=1001 len=0',
      '350 B>A ACK seq=1 ack=1001 len=0',
      '350 B>A ACK seq=1 ack=1001 len=0',
      '350 B>A ACK seq=1 ack=1001 len=0',
      '350 B>A ACK seq=1 ack=1001 len=0',
      '350 B>A ACK seq=1 ack=1001 len=0',
      '400 A>B ACK seq=1001 ack=1 len=1000',
      '450 B>A ACK seq=1 ack=8001 len=0',
    ]);
    const rexmit = segments(trace).find((e) => e.t === 400 && e.from === 'A')!;
    expect(rexmit).toMatchObject({ why: 'retransmit-fast', rexmit: 1 });
    // It went out right after the third duplicate (the 4th ACK with ack=1001), before the other two arrived.
    const atA = trace.filter((e) => e.t === 400 && e.type === 'segment' && (e.to === 'A' || e.from === 'A'));
    const order = atA.map((e) => (e.type === 'segment' ? `${e.event} #${e.id}` : ''));
    expect(order).toEqual([
      'arrive #12',
      'arrive #13',
      'arrive #14',
      'arrive #15',
      `send #${rexmit.id}`,
      'arrive #16',
      'arrive #17',
    ]);
    expect(timers(trace, 'retransmit', 'fire')).toEqual([]);
    // RFC 5681 §3.2: ssthresh = FlightSize/2 = 7000/2, cwnd = ssthresh + 3·SMSS; RFC 6582 deflation when the full ACK comes.
    const fr = ccEvents(trace).find((e) => e.cause === 'third duplicate ACK: fast retransmit')!;
    expect([fr.cwnd, fr.ssthresh, fr.phase]).toEqual([6500, 3500, 'fast-recovery']);
    const end = ccEvents(trace).find((e) => e.cause === 'fast recovery ended')!;
    expect([end.t, end.cwnd, end.ssthresh]).toEqual([500, 2000, 3500]);
  });
});

describe('retransmission after a lost window probe', () => {
  test('rto-after-window-probe: the RTO resends what was sent, inside the window, and the transfer completes', () => {
    const { trace } = runFile('rto-after-window-probe');
    // B advertises 500 bytes; A probes with exactly those 500 bytes (the probe is lost).
    expect(ladder(trace, 300).slice(0, 6)).toEqual([
      '300 A>B ACK seq=1 ack=1 len=1000',
      '300 A>B PSH,ACK seq=1001 ack=1 len=1000',
      '350 B>A ACK seq=1 ack=2001 len=0',
      '600 B>A ACK seq=1 ack=2001 len=0 ✕',
      '650 A>B PSH,ACK seq=2001 ack=1 len=500 ✕',
      '900 A>B PSH,ACK seq=2001 ack=1 len=500',
    ]);
    // The retransmission may not reach past what A had sent (SND.MAX) nor past B's window (RFC 9293 §3.8.6).
    const rto = segments(trace).find((e) => e.why === 'retransmit-rto')!;
    expect(rto.rseq + rto.len).toBeLessThanOrEqual(2501);
    // Nothing B acknowledges is ever refused as "not yet sent", and all 3000 bytes arrive.
    expect(trace.filter((e) => e.type === 'discard' && e.reason === 'bad-ack')).toEqual([]);
    const got = returns(trace, 'B', 'recv').reduce(
      (n, r) => n + ((r.result as { value?: { bytes?: number } }).value?.bytes ?? 0),
      0,
    );
    expect(got).toBe(3000);
    expect(segments(trace).length).toBeLessThan(30);
  });
});

describe('flow control', () => {
  test('zero-window-persist: a full receiver advertises 0; persist probes back off until it reads', () => {
    const { trace } = runFile('zero-window-persist');
    const wins = segments(trace)
      .filter((e) => e.from === 'B' && e.t >= 300)
      .map((e) => [e.t, e.rack, e.win]);
    expect(wins).toEqual([
      [350, 2001, 1000],
      [390, 3001, 0],
      [747.5, 3001, 0],
      [1262.5, 3001, 0],
      [2292.5, 3001, 0],
      [4352.5, 3001, 0],
      [6000, 3001, 3000],
      [6100, 5001, 2000],
    ]);
    const probes = segments(trace).filter((e) => e.why === 'persist-probe');
    expect(probes.map((e) => [e.t, e.rseq, e.len])).toEqual([
      [697.5, 3000, 0],
      [1212.5, 3000, 0],
      [2242.5, 3000, 0],
      [4302.5, 3000, 0],
    ]);
    // RTT samples 100 ms (handshake), 100 ms (ACK at 400) and 140 ms (B's delayed ACK at 440):
    // SRTT 105, RTTVAR 38.125, RTO 257.5 ms, so the first probe goes at 440 + 257.5 and the
    // interval then doubles: 515, 1030, 2060 ms.
    expect(probes.slice(1).map((e, i) => e.t - probes[i]!.t)).toEqual([515, 1030, 2060]);
    expect(ladder(trace, 6000).slice(0, 3)).toEqual([
      '6000 B>A ACK seq=1 ack=3001 len=0',
      '6050 A>B ACK seq=3001 ack=1 len=1000',
      '6050 A>B PSH,ACK seq=4001 ack=1 len=1000',
    ]);
    const read = returns(trace, 'B', 'recv').map(
      (r) => (r.result as { value: { bytes: number } }).value.bytes,
    );
    expect(read).toEqual([3000, 1000]);
  });
});

describe('congestion control', () => {
  test('slow-start-ca: cwnd doubles every round trip, halves at the loss, then grows by about one MSS per round trip', () => {
    const { trace } = runFile('slow-start-ca');
    const cc = ccEvents(trace);
    const mss = 1000;
    // Slow start: +1 MSS per new ACK from an initial window of one segment…
    const ss = cc.filter((e) => e.phase === 'slow-start' && e.cause === 'new data acknowledged');
    expect(ss.map((e) => e.cwnd)).toEqual(Array.from({ length: 39 }, (_, i) => (i + 2) * mss));
    // …which doubles cwnd every round trip (100 ms): 1 → 2 → 4 → 8 → 16 → 32 segments.
    const byRound = (t: number) => Math.max(...ss.filter((e) => e.t === t).map((e) => e.cwnd));
    expect([400, 500, 600, 700, 800].map(byRound)).toEqual([2, 4, 8, 16, 32].map((n) => n * mss));
    const sent = segments(trace).filter((e) => e.from === 'A' && e.len > 0 && !e.rexmit);
    const perRound = [300, 400, 500, 600, 700].map((t) => sent.filter((e) => e.t === t).length);
    expect(perRound).toEqual([1, 2, 4, 8, 16]);

    // The 40th segment is lost: three duplicate ACKs, ssthresh = FlightSize/2 (40 segments in flight).
    const fr = cc.find((e) => e.cause === 'third duplicate ACK: fast retransmit')!;
    expect([fr.t, fr.ssthresh, fr.cwnd]).toEqual([900, 20 * mss, 23 * mss]);
    expect(cc.filter((e) => e.phase === 'loss-recovery')).toEqual([]);

    // Congestion avoidance: about one MSS per round trip after recovery.
    const ca = cc.filter((e) => e.t > 1000 && e.cause === 'new data acknowledged');
    const at = (t: number) => Math.max(...ca.filter((e) => e.t <= t).map((e) => e.cwnd));
    for (const t of [1100, 1200, 1300]) {
      const growth = at(t + 100) - at(t);
      expect(growth).toBeGreaterThanOrEqual(0);
      expect(growth).toBeLessThanOrEqual(mss);
    }
    expect(at(1400) - at(1000)).toBeGreaterThanOrEqual(2 * mss);
    expect(cc.every((e) => e.t < 1000 || e.ssthresh === 20 * mss)).toBe(true);
    // All 150 000 bytes arrive.
    const got = returns(trace, 'B', 'recv').reduce(
      (n, r) => n + ((r.result as { value?: { bytes?: number } }).value?.bytes ?? 0),
      0,
    );
    expect(got).toBe(150_000);
  });
});
