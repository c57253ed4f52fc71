/**
 * Ladders for data transfer: data both ways with delayed ACK off and on, Nagle vs TCP_NODELAY,
 * slow start, fast retransmit / NewReno fast recovery (RFC 5681, RFC 6582), RTO backoff up to
 * ETIMEDOUT, and the zero window with persist probes.
 *
 * RTT on the test wire is 100 ms. After the handshake RFC 6298 gives RTO = 300 ms; after one more
 * 100 ms sample (RTTVAR = 3/4·50) it is 250 ms.
 */
import { describe, expect, test } from 'vitest';
import { seqAdd } from '../../shared/tcp/seq.ts';
import { A_ISS, B_ISS, bytes, connected, DELAY, okValue, pattern, text, type Wire } from './harness.ts';

const MSS = 1460;
const NO_DELACK = { a: { delayedAck: false }, b: { delayedAck: false } };

function recvAll(w: Wire, side: 'A' | 'B', fd: number): Uint8Array {
  return okValue(w.do(side, { op: 'recv', fd }), 'recv') as Uint8Array;
}

describe('data both ways', () => {
  test('delayed ACK off: each segment is ACKed at once; sequence numbers cross 2^32', () => {
    const { w, cfd, sfd } = connected(NO_DELACK);
    const mark = w.mark();
    const t0 = w.now;
    expect(w.ok('A', { op: 'send', fd: cfd, data: bytes('hello') })).toBe(5);
    w.runFor(200);
    expect(text(recvAll(w, 'B', sfd))).toBe('hello');
    const t1 = w.now;
    expect(w.ok('B', { op: 'send', fd: sfd, data: bytes('hello, world!') })).toBe(13);
    w.runFor(200);
    expect(text(recvAll(w, 'A', cfd))).toBe('hello, world!');
    expect(w.ladder(mark), w.ladderText()).toEqual([
      'A>B [PSH, ACK] seq=1 ack=1 len=5',
      'B>A [ACK] seq=1 ack=6 len=0',
      'B>A [PSH, ACK] seq=1 ack=6 len=13',
      'A>B [ACK] seq=6 ack=14 len=0',
    ]);
    expect(w.segs.slice(mark).map((s) => s.t)).toEqual([t0, t0 + DELAY, t1, t1 + DELAY]);
    // Absolute numbers: A's first byte is 0; B's 13 bytes run from 2^32 − 9 across the wrap to 4.
    const [d1, a1, d2, a2] = w.segs.slice(mark).map((s) => s.packet.tcp);
    expect(d1!.seq).toBe(0);
    expect(a1!.ack).toBe(5);
    expect(d2!.seq).toBe(seqAdd(B_ISS, 1));
    expect(a2!.ack).toBe(4);
    expect(w.sock('A', cfd).tcb).toMatchObject({ sndUna: 5, sndNxt: 5, rcvNxt: 4 });
    expect(w.sock('B', sfd).tcb).toMatchObject({ sndUna: 4, sndNxt: 4, rcvNxt: 5 });
    expect(w.sock('A', cfd).tcb.iss).toBe(A_ISS);
  });

  test('delayed ACK on: a lone segment is ACKed after 40 ms', () => {
    const { w, cfd } = connected();
    const mark = w.mark();
    const t0 = w.now;
    w.ok('A', { op: 'send', fd: cfd, data: bytes('ping') });
    w.runFor(500);
    expect(w.ladder(mark)).toEqual(['A>B [PSH, ACK] seq=1 ack=1 len=4', 'B>A [ACK] seq=1 ack=5 len=0']);
    expect(w.segs.slice(mark).map((s) => [s.t, s.why])).toEqual([
      [t0, 'data'],
      [t0 + DELAY + 40, 'delayed-ack'],
    ]);
  });

  test('delayed ACK on: a reply within 40 ms carries the ACK (no pure ACK)', () => {
    const { w, cfd, sfd } = connected();
    const mark = w.mark();
    const t0 = w.now;
    w.ok('A', { op: 'send', fd: cfd, data: bytes('ping') });
    w.run(t0 + DELAY);
    expect(text(recvAll(w, 'B', sfd))).toBe('ping');
    w.ok('B', { op: 'send', fd: sfd, data: bytes('pong') });
    w.runFor(500);
    expect(text(recvAll(w, 'A', cfd))).toBe('pong');
    expect(w.ladder(mark), w.ladderText()).toEqual([
      'A>B [PSH, ACK] seq=1 ack=1 len=4',
      'B>A [PSH, ACK] seq=1 ack=5 len=4',
      'A>B [ACK] seq=5 ack=5 len=0',
    ]);
    expect(w.segs.slice(mark).map((s) => s.t)).toEqual([t0, t0 + DELAY, t0 + 2 * DELAY + 40]);
  });

  test('delayed ACK on: the second full-sized segment is ACKed at once (RFC 1122 §4.2.3.2)', () => {
    const { w, cfd } = connected();
    const mark = w.mark();
    const t0 = w.now;
    w.ok('A', { op: 'send', fd: cfd, data: pattern(2 * MSS) });
    w.runFor(500);
    expect(w.ladder(mark)).toEqual([
      'A>B [ACK] seq=1 ack=1 len=1460',
      'A>B [PSH, ACK] seq=1461 ack=1 len=1460',
      'B>A [ACK] seq=1 ack=2921 len=0',
    ]);
    expect(w.segs.slice(mark).map((s) => s.t)).toEqual([t0, t0, t0 + DELAY]);
  });
});

describe('Nagle', () => {
  test('Nagle on: a second small segment waits for the ACK of the first', () => {
    const { w, cfd, sfd } = connected();
    const mark = w.mark();
    const t0 = w.now;
    w.ok('A', { op: 'send', fd: cfd, data: bytes('a') });
    w.ok('A', { op: 'send', fd: cfd, data: bytes('b') });
    w.runFor(1_000);
    expect(w.ladder(mark), w.ladderText()).toEqual([
      'A>B [PSH, ACK] seq=1 ack=1 len=1',
      'B>A [ACK] seq=1 ack=2 len=0',
      'A>B [PSH, ACK] seq=2 ack=1 len=1',
      'B>A [ACK] seq=1 ack=3 len=0',
    ]);
    // The first ACK is delayed 40 ms, so "b" leaves at t0 + 50 + 40 + 50.
    expect(w.segs[mark + 2]!.t).toBe(t0 + 2 * DELAY + 40);
    expect(text(recvAll(w, 'B', sfd))).toBe('ab');
  });

  test('TCP_NODELAY: both small segments leave at once', () => {
    const { w, cfd } = connected();
    w.ok('A', { op: 'setsockopt', fd: cfd, opt: 'TCP_NODELAY', value: true });
    const mark = w.mark();
    const t0 = w.now;
    w.ok('A', { op: 'send', fd: cfd, data: bytes('a') });
    w.ok('A', { op: 'send', fd: cfd, data: bytes('b') });
    w.runFor(1_000);
    expect(w.ladder(mark).slice(0, 2)).toEqual([
      'A>B [PSH, ACK] seq=1 ack=1 len=1',
      'A>B [PSH, ACK] seq=2 ack=1 len=1',
    ]);
    expect(w.segs[mark + 1]!.t).toBe(t0);
  });
});

describe('congestion control (RFC 5681, RFC 6582)', () => {
  test.each([
    // Linux (and RFC 3465 byte counting, which RFC 5681 allows): cwnd grows by the bytes ACKed,
    // so it doubles per RTT even with one delayed ACK per two segments.
    { byteCounting: true, after: 20 * MSS },
    // RFC 5681 equation (2): cwnd += min(N, SMSS) per ACK; five ACKs add five segments.
    { byteCounting: false, after: 15 * MSS },
  ])(
    'slow start (byteCounting $byteCounting): 10 segments at first (RFC 6928), then cwnd = $after',
    ({ byteCounting, after }) => {
      const { w, cfd } = connected({ a: { byteCounting } });
      const t0 = w.now;
      expect(w.sock('A', cfd).cc).toMatchObject({ cwnd: 10 * MSS, phase: 'slow-start' });
      w.ok('A', { op: 'send', fd: cfd, data: pattern(40 * MSS) });
      expect(w.segs.filter((s) => s.t === t0 && s.from === 'A').length).toBe(10);
      // The five ACKs (one per two segments) of the first flight arrive at t0 + RTT; each one lets
      // out what it ACKed plus what cwnd grew by.
      w.run(t0 + 2 * DELAY);
      expect(w.sock('A', cfd).cc.cwnd).toBe(after);
      expect(w.segs.filter((s) => s.t === t0 + 2 * DELAY && s.from === 'A' && s.len > 0).length).toBe(
        after / MSS,
      );
    },
  );

  test('fast retransmit on the third duplicate ACK, then NewReno fast recovery', () => {
    const { w, cfd, sfd } = connected();
    // Drop the third data segment of a 10-segment burst.
    let n = 0;
    w.drop((s) => s.from === 'A' && s.len > 0 && ++n === 3);
    const mark = w.mark();
    const t0 = w.now;
    const data = pattern(10 * MSS);
    w.ok('A', { op: 'send', fd: cfd, data });
    w.runFor(2_000);
    const lines = w.segLines(mark);
    expect(lines.slice(0, 10)).toEqual(
      Array.from(
        { length: 10 },
        (_, i) =>
          `A>B [${i === 9 ? 'PSH, ' : ''}ACK] seq=${1 + i * MSS} ack=1 len=${MSS}${i === 2 ? ' DROPPED' : ''}`,
      ),
    );
    // One ACK for segments 1–2, then one duplicate for each of segments 4..10.
    expect(lines.slice(10, 18)).toEqual(Array(8).fill('B>A [ACK] seq=1 ack=2921 len=0'));
    expect(w.segs.slice(mark + 11, mark + 18).every((s) => s.why === 'dup-ack')).toBe(true);
    // The third duplicate ACK triggers the retransmission of segment 3.
    const rexmit = w.segs.slice(mark).filter((s) => s.from === 'A' && s.rexmit !== undefined);
    expect(rexmit.map((s) => [s.text, s.why])).toEqual([
      ['A>B [ACK] seq=2921 ack=1 len=1460', 'retransmit-fast'],
    ]);
    expect(rexmit[0]!.t).toBe(t0 + 2 * DELAY);
    const cc = w.events.filter((e) => e.type === 'cc' && e.side === 'A' && e.t >= t0);
    const fr = cc.find((e) => e.type === 'cc' && e.phase === 'fast-recovery');
    // FlightSize was 8 segments: ssthresh = 4 segments, cwnd = ssthresh + 3·SMSS.
    expect(fr && fr.type === 'cc' && [fr.ssthresh, fr.cwnd]).toEqual([4 * MSS, 7 * MSS]);
    // The retransmission fills the hole: B ACKs everything, a full ACK ends recovery.
    expect(lines[18]).toBe('A>B [ACK] seq=2921 ack=1 len=1460');
    expect(lines[19]).toBe('B>A [ACK] seq=1 ack=14601 len=0');
    const s = w.sock('A', cfd).cc;
    expect(s.ssthresh).toBe(4 * MSS);
    // RFC 6582 §3.2 step 3: cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS) or ssthresh.
    expect([2 * MSS, 4 * MSS]).toContain(s.cwnd);
    expect(s.phase).toBe('congestion-avoidance');
    expect([...recvAll(w, 'B', sfd)]).toEqual([...data]);
    // No RTO fired.
    expect(w.segs.slice(mark).some((x) => x.why === 'retransmit-rto')).toBe(false);
  });
});

describe('retransmission timeout', () => {
  test('RTO backoff 300, 600, 1200 ms, then ETIMEDOUT after `retries` retransmissions', () => {
    const { w, cfd } = connected({ a: { retries: 3 } });
    w.drop((s) => s.from === 'A' && s.len > 0, Number.POSITIVE_INFINITY);
    const pending = w.call('A', { op: 'recv', fd: cfd });
    const mark = w.mark();
    const t0 = w.now;
    w.ok('A', { op: 'send', fd: cfd, data: bytes('lost') });
    w.runFor(60_000);
    const s = w.segs.slice(mark);
    expect(s.map((x) => [x.t - t0, x.text, x.rexmit])).toEqual([
      [0, 'A>B [PSH, ACK] seq=1 ack=1 len=4', undefined],
      [300, 'A>B [PSH, ACK] seq=1 ack=1 len=4', 1],
      [900, 'A>B [PSH, ACK] seq=1 ack=1 len=4', 2],
      [2_100, 'A>B [PSH, ACK] seq=1 ack=1 len=4', 3],
    ]);
    const r = w.result('A', pending.callId);
    expect(r?.ok === false && r.errno).toBe('ETIMEDOUT');
    const ret = w.log.find((e) => e.kind === 'return' && e.side === 'A' && e.callId === pending.callId);
    expect(ret!.t - t0).toBe(4_500);
    expect(w.states('A').at(-1)).toBe('A: ESTABLISHED -> CLOSED');
    // RFC 5681 §3.1: after a timeout cwnd is one segment (loss window).
    const cc = w.events.filter((e) => e.type === 'cc' && e.side === 'A' && e.cause.includes('timeout'));
    expect(cc.length).toBeGreaterThan(0);
    expect(cc.every((e) => e.type === 'cc' && e.cwnd === MSS)).toBe(true);
  });
});

describe('zero window and persist probes', () => {
  test('receiver does not read: window 0, probes back off; recv() opens the window and the data flows', () => {
    const { w, cfd, sfd } = connected({}, (w, _cfd, lfd) => {
      w.ok('B', { op: 'setsockopt', fd: lfd, opt: 'SO_RCVBUF', value: 2 * MSS });
    });
    const mark = w.mark();
    const t0 = w.now;
    const data = pattern(4 * MSS);
    w.ok('A', { op: 'send', fd: cfd, data });
    w.runFor(3_000);
    const s = w.segs.slice(mark);
    expect(
      s.map((x) => [x.t - t0, x.text, x.packet.tcp.window]),
      w.ladderText(),
    ).toEqual([
      [0, 'A>B [ACK] seq=1 ack=1 len=1460', 65_535],
      // PSH on the last segment the window lets out, as Linux's TSO bursts carry it.
      [0, 'A>B [PSH, ACK] seq=1461 ack=1 len=1460', 65_535],
      [50, 'B>A [ACK] seq=1 ack=2921 len=0', 0],
      // Probes: SEG.SEQ = SND.UNA − 1, no data (Linux tcp_xmit_probe_skb); RTO = 250 ms then doubling.
      [350, 'A>B [ACK] seq=2920 ack=1 len=0', 65_535],
      [400, 'B>A [ACK] seq=1 ack=2921 len=0', 0],
      [850, 'A>B [ACK] seq=2920 ack=1 len=0', 65_535],
      [900, 'B>A [ACK] seq=1 ack=2921 len=0', 0],
      [1_850, 'A>B [ACK] seq=2920 ack=1 len=0', 65_535],
      [1_900, 'B>A [ACK] seq=1 ack=2921 len=0', 0],
    ]);
    expect(s[3]!.why).toBe('persist-probe');
    expect(w.sock('A', cfd).buffers.unsent).toBe(2 * MSS);
    // The application reads: B announces the window at once and the rest flows.
    const m2 = w.mark();
    const t1 = w.now;
    expect(recvAll(w, 'B', sfd).length).toBe(2 * MSS);
    w.runFor(1_000);
    const s2 = w.segs.slice(m2);
    expect(s2.map((x) => [x.t - t1, x.text, x.packet.tcp.window])).toEqual([
      [0, 'B>A [ACK] seq=1 ack=2921 len=0', 2 * MSS],
      [50, 'A>B [ACK] seq=2921 ack=1 len=1460', 65_535],
      [50, 'A>B [PSH, ACK] seq=4381 ack=1 len=1460', 65_535],
      [100, 'B>A [ACK] seq=1 ack=5841 len=0', 0],
    ]);
    expect(s2[0]!.why).toBe('window-update');
    expect([...recvAll(w, 'B', sfd)]).toEqual([...data.subarray(2 * MSS)]);
    expect(w.sock('A', cfd).buffers.sendQueued).toBe(0);
  });

  test('a window smaller than an MSS reopens after recv() too (RFC 9293 §3.8.6.2.2: min(RCV.BUFF/2, MSS))', () => {
    const { w, cfd, sfd } = connected({}, (w, _cfd, lfd) => {
      w.ok('B', { op: 'setsockopt', fd: lfd, opt: 'SO_RCVBUF', value: 1_000 });
    });
    const data = pattern(3_000);
    w.ok('A', { op: 'send', fd: cfd, data });
    w.runFor(200);
    expect(w.sock('B', sfd).buffers.readable).toBe(1_000);
    const m = w.mark();
    expect(recvAll(w, 'B', sfd).length).toBe(1_000);
    // Freeing the whole 1000-byte buffer is at least min(RCV.BUFF/2, MSS) = 500: announce it now,
    // do not leave the sender waiting for its next persist probe.
    expect(w.ladder(m)).toEqual(['B>A [ACK] seq=1 ack=1001 len=0']);
    expect(w.segs[m]!.packet.tcp.window).toBe(1_000);
  });
});

describe('recovery when both directions lose their ACKs', () => {
  test('after an RTO, pure ACKs carry SND.MAX (not the rewound SND.NXT), so each side accepts the other ACKs', () => {
    // Found by the property test: after an RTO the engine rewinds SND.NXT (go-back-N) and sends
    // its pure ACKs with SEQ = SND.NXT, below the peer's RCV.NXT. The peer finds them
    // unacceptable (RFC 9293 §3.10.7.4 first check), never looks at their ACK field and answers
    // with another ACK: when both sides are in that state they livelock in an ACK storm until
    // ETIMEDOUT. BSD sends pure ACKs with SND.MAX; Linux never rewinds snd_nxt.
    const { w, cfd, sfd } = connected(NO_DELACK);
    const mark = w.mark();
    const t0 = w.now;
    // Every pure ACK sent in the first 200 ms is lost, in both directions.
    w.drop((s) => s.t < t0 + 200 && s.len === 0 && !s.has('FIN'), Number.POSITIVE_INFINITY);
    const a = pattern(3 * MSS, 1);
    const b = pattern(3 * MSS, 2);
    w.ok('A', { op: 'send', fd: cfd, data: a });
    w.ok('B', { op: 'send', fd: sfd, data: b });
    w.runFor(5_000);
    expect([...recvAll(w, 'B', sfd)]).toEqual([...a]);
    expect([...recvAll(w, 'A', cfd)]).toEqual([...b]);
    expect(w.sock('A', cfd).buffers.sendQueued, w.ladderText()).toBe(0);
    expect(w.sock('B', sfd).buffers.sendQueued).toBe(0);
    // The ACKs that answer the first retransmissions carry SEQ = SND.MAX = 4381.
    const after = w.segs.slice(mark).filter((s) => s.t > t0 + 200 && s.len === 0);
    expect(after.length, w.ladderText()).toBeGreaterThan(0);
    for (const s of after) expect(s.seq, s.text).toBe(3 * MSS + 1);
    // And no ACK storm: a handful of segments, not one every RTT until the retry limit.
    expect(w.segs.length - mark, w.ladderText()).toBeLessThan(24);
    expect(w.state('A', cfd)).toBe('ESTABLISHED');
  });
});
