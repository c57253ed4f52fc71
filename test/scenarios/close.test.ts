/**
 * The four-way close in every variant the course notes discuss: started by either side, both at
 * once, and each of its four segments lost in turn. MSL is scaled to 1 s, so 2·MSL = 2000 ms.
 *
 *   A (client)                         B (server)
 *   ESTABLISHED                        ESTABLISHED
 *   close() → FIN-WAIT-1  ──FIN──▶     CLOSE-WAIT
 *   FIN-WAIT-2            ◀──ACK──
 *                         ◀──FIN──     close() → LAST-ACK
 *   TIME-WAIT             ──ACK──▶     CLOSED
 *   (2·MSL) CLOSED
 */
import { describe, expect, test } from 'vitest';
import { ladder, returns, runFile, states, timeIn } from './helpers.ts';

const TWO_MSL = 2000;

describe('four-way close', () => {
  test('close-by-client: FIN, ACK, FIN, ACK; the client waits 2·MSL in TIME-WAIT', () => {
    const { trace } = runFile('close-by-client');
    expect(ladder(trace, 200)).toEqual([
      '300 A FIN-WAIT-1',
      '300 A>B FIN,ACK seq=1 ack=1 len=0',
      '350 B CLOSE-WAIT',
      '350 B>A ACK seq=1 ack=2 len=0',
      '400 A FIN-WAIT-2',
      '800 B LAST-ACK',
      '800 B>A FIN,ACK seq=1 ack=2 len=0',
      '850 A TIME-WAIT',
      '850 A>B ACK seq=2 ack=2 len=0',
      '900 B CLOSED',
      '2850 A CLOSED',
    ]);
    expect(timeIn(trace, 'A', 1, 'TIME-WAIT')).toBe(TWO_MSL);
    // The server's recv() sees end-of-file when the FIN arrives.
    expect(returns(trace, 'B', 'recv')).toMatchObject([
      { t: 350, result: { ok: true, value: { bytes: 0 } } },
    ]);
  });

  test('close-by-server: closing is symmetric, and the server is the one left in TIME-WAIT', () => {
    const { trace } = runFile('close-by-server');
    expect(ladder(trace, 200)).toEqual([
      '300 B FIN-WAIT-1',
      '300 B>A FIN,ACK seq=1 ack=1 len=0',
      '350 A CLOSE-WAIT',
      '350 A>B ACK seq=1 ack=2 len=0',
      '400 B FIN-WAIT-2',
      '800 A LAST-ACK',
      '800 A>B FIN,ACK seq=1 ack=2 len=0',
      '850 B TIME-WAIT',
      '850 B>A ACK seq=2 ack=2 len=0',
      '900 A CLOSED',
      '2850 B CLOSED',
    ]);
    expect(timeIn(trace, 'B', 2, 'TIME-WAIT')).toBe(TWO_MSL);
    expect(states(trace, 'A', 1).map(([, s]) => s)).not.toContain('TIME-WAIT');
  });

  test('simultaneous-close: the FINs cross, both sides pass through CLOSING and both wait in TIME-WAIT', () => {
    const { trace } = runFile('simultaneous-close');
    expect(ladder(trace, 200)).toEqual([
      '300 B FIN-WAIT-1',
      '300 B>A FIN,ACK seq=1 ack=1 len=0',
      '300 A FIN-WAIT-1',
      '300 A>B FIN,ACK seq=1 ack=1 len=0',
      '350 A CLOSING',
      '350 A>B ACK seq=2 ack=2 len=0',
      '350 B CLOSING',
      '350 B>A ACK seq=2 ack=2 len=0',
      '400 B TIME-WAIT',
      '400 A TIME-WAIT',
      '2400 B CLOSED',
      '2400 A CLOSED',
    ]);
    expect(timeIn(trace, 'A', 1, 'TIME-WAIT')).toBe(TWO_MSL);
    expect(timeIn(trace, 'B', 2, 'TIME-WAIT')).toBe(TWO_MSL);
  });
});

describe('loss during the close', () => {
  test('lost-fin-1: the first FIN is lost; B stays ESTABLISHED until A retransmits it one RTO later', () => {
    const { trace } = runFile('lost-fin-1');
    expect(ladder(trace, 200)).toEqual([
      '300 A FIN-WAIT-1',
      '300 A>B FIN,ACK seq=1 ack=1 len=0 ✕',
      // RTO = SRTT + 4·RTTVAR = 100 + 4·50 after the handshake's 100 ms sample (RFC 6298 §2.2).
      '600 A>B FIN,ACK seq=1 ack=1 len=0',
      '650 B CLOSE-WAIT',
      '650 B>A ACK seq=1 ack=2 len=0',
      '700 A FIN-WAIT-2',
      '1500 B LAST-ACK',
      '1500 B>A FIN,ACK seq=1 ack=2 len=0',
      '1550 A TIME-WAIT',
      '1550 A>B ACK seq=2 ack=2 len=0',
      '1600 B CLOSED',
      '3550 A CLOSED',
    ]);
    expect(states(trace, 'B', 2).find(([t]) => t > 300 && t < 650)).toBeUndefined();
    const fin = trace.find((e) => e.type === 'segment' && e.event === 'send' && e.t === 600);
    expect(fin).toMatchObject({ why: 'retransmit-rto', rexmit: 1 });
  });

  test('lost-ack-2: the ACK of the FIN is lost; A stays in FIN-WAIT-1, retransmits its FIN, and B ACKs again', () => {
    const { trace } = runFile('lost-ack-2');
    expect(ladder(trace, 200)).toEqual([
      '300 A FIN-WAIT-1',
      '300 A>B FIN,ACK seq=1 ack=1 len=0',
      '350 B CLOSE-WAIT',
      '350 B>A ACK seq=1 ack=2 len=0 ✕',
      '600 A>B FIN,ACK seq=1 ack=1 len=0',
      '650 B>A ACK seq=1 ack=2 len=0',
      '700 A FIN-WAIT-2',
      '1500 B LAST-ACK',
      '1500 B>A FIN,ACK seq=1 ack=2 len=0',
      '1550 A TIME-WAIT',
      '1550 A>B ACK seq=2 ack=2 len=0',
      '1600 B CLOSED',
      '3550 A CLOSED',
    ]);
  });

  test('lost-fin-3: the server FIN is lost; A waits in FIN-WAIT-2 until B in LAST-ACK retransmits it', () => {
    const { trace } = runFile('lost-fin-3');
    expect(ladder(trace, 200)).toEqual([
      '300 A FIN-WAIT-1',
      '300 A>B FIN,ACK seq=1 ack=1 len=0',
      '350 B CLOSE-WAIT',
      '350 B>A ACK seq=1 ack=2 len=0',
      '400 A FIN-WAIT-2',
      '800 B LAST-ACK',
      '800 B>A FIN,ACK seq=1 ack=2 len=0 ✕',
      '1100 B>A FIN,ACK seq=1 ack=2 len=0',
      '1150 A TIME-WAIT',
      '1150 A>B ACK seq=2 ack=2 len=0',
      '1200 B CLOSED',
      '3150 A CLOSED',
    ]);
    expect(timeIn(trace, 'A', 1, 'FIN-WAIT-2')).toBe(750);
  });

  test('lost-last-ack: TIME-WAIT re-ACKs the retransmitted FIN and restarts its 2·MSL timer', () => {
    const { trace } = runFile('lost-last-ack');
    expect(ladder(trace, 200)).toEqual([
      '300 A FIN-WAIT-1',
      '300 A>B FIN,ACK seq=1 ack=1 len=0',
      '350 B CLOSE-WAIT',
      '350 B>A ACK seq=1 ack=2 len=0',
      '400 A FIN-WAIT-2',
      '800 B LAST-ACK',
      '800 B>A FIN,ACK seq=1 ack=2 len=0',
      '850 A TIME-WAIT',
      '850 A>B ACK seq=2 ack=2 len=0 ✕',
      '1100 B>A FIN,ACK seq=1 ack=2 len=0',
      '1150 A>B ACK seq=2 ack=2 len=0',
      '1200 B CLOSED',
      '3150 A CLOSED',
    ]);
    // 2·MSL counted from the retransmitted FIN (1150), not from entering TIME-WAIT (850).
    expect(timeIn(trace, 'A', 1, 'TIME-WAIT')).toBe(1150 + TWO_MSL - 850);
    const timers = trace.filter((e) => e.type === 'timer' && e.host === 'A' && e.kind === 'time-wait');
    expect(timers.map((e) => (e.type === 'timer' ? [e.t, e.action, e.deadline] : []))).toEqual([
      [850, 'set', 2850],
      [1150, 'cancel', 2850],
      [1150, 'set', 3150],
      [3150, 'fire', 3150],
    ]);
  });
});
