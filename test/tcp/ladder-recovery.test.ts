/**
 * Loss recovery in the textbook profile: NewReno (RFC 6582) with two losses in one window,
 * congestion avoidance growth (RFC 5681 §3.1, and byte counting as Linux does), the
 * retransmission timeout (RFC 5681 §3.1 eq. 4, RFC 6298 §5) with go-back-N, and a lost
 * retransmission. MSS 1460, RTT 100 ms, B ACKs every segment (delayed ACK off) unless noted.
 */
import { describe, expect, test } from 'vitest';
import { connected, L, okValue, pattern, type Rig, rigEstablishedWith, type Wire } from './harness.ts';

const MSS = 1460;
const NO_DELACK = { b: { delayedAck: false } };

function ccEvents(
  w: Wire,
  since: number,
): Array<{ t: number; cwnd: number; ssthresh: number; phase: string; cause: string }> {
  return w.events
    .filter((e) => e.type === 'cc' && e.side === 'A' && e.t >= since)
    .map((e) =>
      e.type === 'cc'
        ? { t: e.t, cwnd: e.cwnd, ssthresh: e.ssthresh, phase: e.phase, cause: e.cause }
        : (undefined as never),
    );
}

/** Drops A's data segments number `which` (1-based, first transmissions only). */
function dropSegments(w: Wire, ...which: number[]): void {
  let n = 0;
  w.drop((s) => s.from === 'A' && s.len > 0 && s.rexmit === undefined && which.includes(++n), which.length);
}

describe('NewReno: two losses in one window (RFC 6582)', () => {
  test('fast retransmit, partial ACK retransmits the next hole at once, full ACK ends recovery', () => {
    const { w, cfd, sfd } = connected(NO_DELACK);
    dropSegments(w, 3, 6);
    const m = w.mark();
    const t0 = w.now;
    const data = pattern(10 * MSS);
    w.ok('A', { op: 'send', fd: cfd, data });
    w.runFor(2_000);
    const seq = (i: number) => 1 + (i - 1) * MSS;
    expect(
      w.segs.slice(m).map((s) => `${s.t - t0} ${s.text} ${s.why}`),
      w.ladderText(),
    ).toEqual([
      ...Array.from(
        { length: 10 },
        (_, i) => `0 A>B [${i === 9 ? 'PSH, ' : ''}ACK] seq=${seq(i + 1)} ack=1 len=1460 data`,
      ),
      '50 B>A [ACK] seq=1 ack=1461 len=0 ack',
      '50 B>A [ACK] seq=1 ack=2921 len=0 ack',
      ...Array(6).fill('50 B>A [ACK] seq=1 ack=2921 len=0 dup-ack'),
      // Third duplicate ACK: fast retransmit of segment 3.
      `100 A>B [ACK] seq=${seq(3)} ack=1 len=1460 retransmit-fast`,
      // Segments 3–5 are in: a partial ACK (below "recover" = 14600) ...
      `150 B>A [ACK] seq=1 ack=${seq(6)} len=0 ack`,
      // ... makes A resend segment 6 at once, without waiting for three more duplicates.
      `200 A>B [ACK] seq=${seq(6)} ack=1 len=1460 retransmit-fast`,
      '250 B>A [ACK] seq=1 ack=14601 len=0 ack',
    ]);
    const cc = ccEvents(w, t0).filter((e) => e.t > t0);
    const at = (t: number) => cc.filter((e) => e.t === t0 + t);
    // Two new ACKs in slow start: 10 → 11 → 12 segments.
    expect(at(100).map((e) => [e.cwnd, e.phase, e.cause])).toEqual([
      [11 * MSS, 'slow-start', 'new data acknowledged'],
      [12 * MSS, 'slow-start', 'new data acknowledged'],
      [12 * MSS, 'slow-start', 'duplicate ACK #1'],
      [12 * MSS, 'slow-start', 'duplicate ACK #2'],
      // FlightSize 8 segments: ssthresh = 4, cwnd = ssthresh + 3 (RFC 6582 §3.2 step 2).
      [7 * MSS, 'fast-recovery', 'third duplicate ACK: fast retransmit'],
      // Each further duplicate inflates cwnd by one SMSS (step 4).
      [8 * MSS, 'fast-recovery', 'duplicate ACK #4'],
      [9 * MSS, 'fast-recovery', 'duplicate ACK #5'],
      [10 * MSS, 'fast-recovery', 'duplicate ACK #6'],
    ]);
    expect(at(100).every((e, i) => i < 4 || e.ssthresh === 4 * MSS)).toBe(true);
    // Partial ACK of 3 segments (3–5): deflate by 3, add back 1 (step 3): 10 − 3 + 1.
    expect(at(200).map((e) => [e.cwnd, e.ssthresh, e.phase])).toEqual([[8 * MSS, 4 * MSS, 'fast-recovery']]);
    // Full ACK: cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS) with FlightSize 0 → 2 segments.
    expect(at(300).map((e) => [e.cwnd, e.ssthresh, e.phase, e.cause])).toEqual([
      [2 * MSS, 4 * MSS, 'congestion-avoidance', 'fast recovery ended'],
    ]);
    expect([...(okValue(w.do('B', { op: 'recv', fd: sfd })) as Uint8Array)]).toEqual([...data]);
    expect(w.segs.slice(m).some((s) => s.why === 'retransmit-rto')).toBe(false);
  });

  test('with more data queued, inflation lets new segments out during recovery and the full ACK leaves cwnd = min(ssthresh, FlightSize + SMSS)', () => {
    const { w, cfd, sfd } = connected(NO_DELACK);
    dropSegments(w, 3);
    const t0 = w.now;
    const data = pattern(30 * MSS);
    w.ok('A', { op: 'send', fd: cfd, data });
    w.runFor(3_000);
    // Slow start let segments 11–14 out on the first two ACKs (cwnd 11, 12): FlightSize at the
    // third duplicate is 12 segments: ssthresh 6, cwnd 9, recover = end of segment 14.
    const fr = ccEvents(w, t0).find((e) => e.phase === 'fast-recovery')!;
    expect([fr.t - t0, fr.ssthresh, fr.cwnd]).toEqual([100, 6 * MSS, 9 * MSS]);
    const no = (s: { seq: number }) => (s.seq - 1) / MSS + 1;
    const fromA = (t: number) =>
      w.segs.filter((s) => s.from === 'A' && s.t === t0 + t && s.len > 0).map((s) => `${no(s)} ${s.why}`);
    // Duplicates 4–7 (for segments 7–10) inflate cwnd to 13 with 12 outstanding: segment 15.
    expect(fromA(100), w.ladderText()).toEqual([
      '11 data',
      '12 data',
      '13 data',
      '14 data',
      '3 retransmit-fast',
      '15 data',
    ]);
    // Duplicates 8–11 (for 11–14) inflate cwnd to 17: segments 16–19; then the full ACK
    // (segment 3 filled the hole, ACK = end of 14 > recover).
    const full = ccEvents(w, t0).find((e) => e.cause === 'fast recovery ended')!;
    // FlightSize after the full ACK: segments 15–19 = 5; cwnd = min(6, 5 + 1) = 6 segments.
    expect([full.t - t0, full.cwnd, full.ssthresh, full.phase]).toEqual([
      200,
      6 * MSS,
      6 * MSS,
      'congestion-avoidance',
    ]);
    expect(fromA(200).slice(0, 4)).toEqual(['16 data', '17 data', '18 data', '19 data']);
    expect((okValue(w.do('B', { op: 'recv', fd: sfd })) as Uint8Array).length).toBe(30 * MSS);
  });
});

/**
 * What the rig sent since the last look, as `seq len why` with seq relative to our ISN (flags
 * left out: which segment of a burst carries PSH is not the point here).
 */
function sent(r: Rig): string[] {
  return r.take().map((o) => `${(o.seg.seq - L(0)) >>> 0} ${o.seg.payload.length} ${o.why}`);
}

/** A rig connection with 20 segments queued and a 100 ms handshake RTT (RTO 300 ms). */
function rigSending(segments: number, config = {}): { r: Rig; fd: number } {
  const { r, fd } = rigEstablishedWith({ config, rtt: 100 });
  r.ok({ op: 'send', fd, data: pattern(segments * MSS) });
  return { r, fd };
}

describe('retransmission timeout (RFC 5681 §3.1, RFC 6298 §5, RFC 6582 §4)', () => {
  test('RTO: cwnd = 1 SMSS, ssthresh = FlightSize/2, go-back-N as ACKs return, tagged retransmit-rto', () => {
    const { r, fd } = rigSending(20);
    const out = r.take();
    expect(out.length).toBe(10);
    const t0 = r.now;
    expect(r.sock(fd).rtt.rto).toBe(300);
    r.advanceTo(t0 + 300);
    expect(sent(r)).toEqual([`${1} ${MSS} retransmit-rto`]);
    expect(r.sock(fd).cc).toMatchObject({ cwnd: MSS, ssthresh: 5 * MSS, phase: 'loss-recovery' });
    // Backoff: the next RTO is 600 ms.
    expect(r.sock(fd).timers.retransmit).toBe(t0 + 300 + 600);
    // The peer had lost everything: it ACKs segment 1; slow start from 1 → 2 lets 2 and 3 go.
    r.send({ flags: ['ACK'], seq: r.sock(fd).tcb.rcvNxt, ack: L(1 + MSS) }, t0 + 400);
    // Karn: an ACK of retransmitted data is no RTT sample, so the backed-off RTO (600) stays.
    expect(r.sock(fd).timers.retransmit).toBe(t0 + 400 + 600);
    expect(sent(r)).toEqual([`${1 + MSS} ${MSS} retransmit-rto`, `${1 + 2 * MSS} ${MSS} retransmit-rto`]);
    expect(r.sock(fd).cc).toMatchObject({ cwnd: 2 * MSS, ssthresh: 5 * MSS });
    // One ACK for 2–3: slow start adds min(N, SMSS) (RFC 5681 eq. 2): cwnd 3, segments 4–6 go,
    // still marked as resends (below SND.MAX).
    r.send({ flags: ['ACK'], seq: r.sock(fd).tcb.rcvNxt, ack: L(1 + 3 * MSS) }, t0 + 500);
    expect(sent(r)).toEqual([
      `${1 + 3 * MSS} ${MSS} retransmit-rto`,
      `${1 + 4 * MSS} ${MSS} retransmit-rto`,
      `${1 + 5 * MSS} ${MSS} retransmit-rto`,
    ]);
    expect(r.sock(fd).cc.cwnd).toBe(3 * MSS);
  });

  test('ssthresh = max(FlightSize/2, 2·SMSS): one small segment in flight still leaves 2 segments', () => {
    const { r, fd } = rigEstablishedWith({ rtt: 100 });
    r.ok({ op: 'send', fd, data: pattern(100) });
    r.take();
    r.advanceTo(r.now + 300);
    expect(sent(r)).toEqual([`${1} ${100} retransmit-rto`]);
    expect(r.sock(fd).cc).toMatchObject({ cwnd: MSS, ssthresh: 2 * MSS });
  });

  test('after an RTO, three duplicate ACKs below "recover" do not start a second fast retransmit', () => {
    const { r, fd } = rigSending(10);
    r.take();
    const t0 = r.now;
    r.advanceTo(t0 + 300);
    expect(sent(r)).toEqual([`${1} ${MSS} retransmit-rto`]);
    const rcv = r.sock(fd).tcb.rcvNxt;
    r.send({ flags: ['ACK'], seq: rcv, ack: L(1 + MSS) }, t0 + 400);
    expect(sent(r)).toEqual([`${1 + MSS} ${MSS} retransmit-rto`, `${1 + 2 * MSS} ${MSS} retransmit-rto`]);
    // The receiver held 3..10 already: it answers the go-back-N copies with duplicates of 1461.
    for (let i = 0; i < 3; i++) r.send({ flags: ['ACK'], seq: rcv, ack: L(1 + MSS) }, t0 + 410 + i);
    r.expectNothing('duplicates of data sent before the RTO are not a new loss (RFC 6582 §3.2 step 2)');
    expect(r.sock(fd).cc.phase).not.toBe('fast-recovery');
    expect(r.sock(fd).cc.ssthresh).toBe(5 * MSS);
  });

  test('a lost fast retransmission is resent by the RTO, which backs off; ssthresh from FlightSize at that time', () => {
    const { w, cfd } = connected(NO_DELACK);
    dropSegments(w, 3);
    w.drop((s) => s.from === 'A' && s.why === 'retransmit-fast');
    const m = w.mark();
    const t0 = w.now;
    w.ok('A', { op: 'send', fd: cfd, data: pattern(10 * MSS) });
    w.runFor(3_000);
    const rex = w.segs.slice(m).filter((s) => s.from === 'A' && s.rexmit !== undefined);
    // Each of the first two ACKs covers data sent once, so each is a 100 ms sample (as Linux's
    // tcp_clean_rtx_queue): RTTVAR 50 → 37.5 → 28.125, RTO = 100 + 4·28.125 = 212.5 ms, restarted
    // by the fast retransmission at 100. The RTO resends segment 3 and doubles the timer.
    expect(
      rex.map((s) => [s.t - t0, s.text, s.why]),
      w.ladderText(),
    ).toEqual([
      [100, 'A>B [ACK] seq=2921 ack=1 len=1460', 'retransmit-fast'],
      [312.5, 'A>B [ACK] seq=2921 ack=1 len=1460', 'retransmit-rto'],
    ]);
    const cc = ccEvents(w, t0).find((e) => e.cause === 'retransmission timeout')!;
    // The segment had not been resent by the timer before: ssthresh = FlightSize/2 with FlightSize
    // 8 segments (2921..14601), cwnd = 1 (RFC 5681 §3.1).
    expect([cc.t - t0, cc.cwnd, cc.ssthresh, cc.phase]).toEqual([312.5, MSS, 4 * MSS, 'loss-recovery']);
    // The ACK that covers the retransmission is no sample (Karn): the RTO stays backed off, 2 × 212.5.
    expect(w.sock('A', cfd).rtt.rto).toBe(425);
    expect(w.sock('A', cfd).buffers.sendQueued).toBe(0);
  });

  test('the same segment lost twice to the timer: RTO 300 then 600 ms, ssthresh held on the second timeout', () => {
    const { w, cfd } = connected(NO_DELACK);
    w.drop((s) => s.from === 'A' && s.len > 0, 8);
    w.drop((s) => s.from === 'A' && s.seq === 1);
    const t0 = w.now;
    w.ok('A', { op: 'send', fd: cfd, data: pattern(8 * MSS) });
    w.runFor(5_000);
    const sends = w.segs.filter((s) => s.from === 'A' && s.seq === 1 && s.len > 0);
    expect(sends.map((s) => [s.t - t0, s.why])).toEqual([
      [0, 'data'],
      [300, 'retransmit-rto'],
      [900, 'retransmit-rto'],
    ]);
    const cc = ccEvents(w, t0).filter((e) => e.cause === 'retransmission timeout');
    expect(cc.map((e) => [e.t - t0, e.cwnd, e.ssthresh])).toEqual([
      // FlightSize 8 segments: ssthresh 4; the second timeout of the same segment holds it.
      [300, MSS, 4 * MSS],
      [900, MSS, 4 * MSS],
    ]);
  });
});

describe('congestion avoidance (RFC 5681 §3.1)', () => {
  /**
   * Gets a rig connection into congestion avoidance: fast recovery sets ssthresh = 5 segments,
   * the full ACK leaves cwnd = 2 segments, and single-segment ACKs grow it back to ssthresh.
   */
  function inCongestionAvoidance(byteCounting: boolean): { r: Rig; fd: number; ack: (n: number) => void } {
    const { r, fd } = rigSending(40, { byteCounting, delayedAck: false });
    r.take();
    const rcv = r.sock(fd).tcb.rcvNxt;
    let acked = 0;
    const ack = (n: number) => {
      acked += n;
      r.send({ flags: ['ACK'], seq: rcv, ack: L(1 + acked * MSS) });
    };
    // Three dup ACKs: ssthresh = max(10/2, 2) = 5 segments; the full ACK then sets cwnd.
    for (let i = 0; i < 3; i++) r.send({ flags: ['ACK'], seq: rcv, ack: L(1) });
    r.take();
    ack(10);
    r.take();
    expect(r.sock(fd).cc).toMatchObject({ cwnd: 2 * MSS, ssthresh: 5 * MSS });
    for (const want of [3, 4, 5]) {
      ack(1);
      r.take();
      expect(r.sock(fd).cc.cwnd, 'slow start up to ssthresh').toBe(want * MSS);
    }
    return { r, fd, ack };
  }

  test('per-ACK growth cwnd += SMSS·SMSS/cwnd in the textbook profile', () => {
    const { r, fd, ack } = inCongestionAvoidance(false);
    expect(r.sock(fd).cc).toMatchObject({ ssthresh: 5 * MSS, phase: 'congestion-avoidance' });
    let cwnd = r.sock(fd).cc.cwnd;
    for (let i = 0; i < 6; i++) {
      ack(1);
      r.take();
      cwnd += Math.floor((MSS * MSS) / cwnd);
      expect(r.sock(fd).cc.cwnd, `after ACK ${i + 1}`).toBe(cwnd);
    }
  });

  test('byte counting (linux): one SMSS per cwnd of bytes ACKed', () => {
    const { r, fd, ack } = inCongestionAvoidance(true);
    expect(r.sock(fd).cc).toMatchObject({ ssthresh: 5 * MSS, phase: 'congestion-avoidance' });
    const start = r.sock(fd).cc.cwnd;
    const segs = start / MSS;
    for (let i = 0; i < segs - 1; i++) {
      ack(1);
      r.take();
      expect(r.sock(fd).cc.cwnd, `after ACK ${i + 1}`).toBe(start);
    }
    ack(1);
    r.take();
    expect(r.sock(fd).cc.cwnd).toBe(start + MSS);
  });
});
