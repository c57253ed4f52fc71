/**
 * Ladders for opening a connection: the three-way handshake, simultaneous open, a SYN to a closed
 * port, lost SYN / SYN-ACK with RFC 6298 backoff, connect() timing out, and the listen backlog.
 * A's ISN is 2^32 − 1 and B's 2^32 − 10, so every ladder crosses the wrap; the log shows sequence
 * numbers relative to each side's ISN, as Wireshark does.
 */
import { describe, expect, test } from 'vitest';
import {
  A_ADDR,
  A_ISS,
  B_ADDR,
  B_ISS,
  CLIENT_PORT,
  connected,
  DELAY,
  listenOn,
  okValue,
  SERVER_PORT,
  seg,
  Wire,
} from './harness.ts';

describe('three-way handshake', () => {
  test('CLOSED/LISTEN -> ESTABLISHED on both sides, exact segments and return values', () => {
    const w = new Wire();
    const lfd = listenOn(w);
    expect(lfd).toBe(3);
    const cfd = w.ok('A', { op: 'socket' });
    expect(cfd).toBe(3);
    w.ok('A', { op: 'bind', fd: 3, port: CLIENT_PORT });
    const conn = w.call('A', { op: 'connect', fd: 3, addr: B_ADDR, port: SERVER_PORT });
    expect(conn.result, 'connect() blocks until the SYN-ACK').toBeUndefined();
    const acc = w.call('B', { op: 'accept', fd: lfd });
    expect(acc.result, 'accept() blocks until a connection is established').toBeUndefined();
    w.run(1_000);

    expect(w.ladder(), w.ladderText()).toEqual([
      'A>B [SYN] seq=0 len=0',
      'B>A [SYN, ACK] seq=0 ack=1 len=0',
      'A>B [ACK] seq=1 ack=1 len=0',
    ]);
    expect(w.lines().filter((l) => !l.includes('socket()') && !l.includes('bind()'))).toEqual([
      'B: CLOSED -> LISTEN',
      'B: listen() = 0',
      'A: CLOSED -> SYN-SENT',
      'A>B [SYN] seq=0 len=0',
      'B: LISTEN -> SYN-RECEIVED',
      'B>A [SYN, ACK] seq=0 ack=1 len=0',
      'A: SYN-SENT -> ESTABLISHED',
      'A>B [ACK] seq=1 ack=1 len=0',
      'A: connect() = 0',
      'B: SYN-RECEIVED -> ESTABLISHED',
      'B: accept() = 4',
    ]);
    // Absolute numbers: the SYNs carry the ISNs, and the first data byte wraps to 0 on A.
    expect(w.segs[0]!.packet.tcp.seq).toBe(A_ISS);
    expect(w.segs[1]!.packet.tcp.seq).toBe(B_ISS);
    expect(w.segs[1]!.packet.tcp.ack).toBe(0);
    expect(w.segs[2]!.packet.tcp.seq).toBe(0);
    expect(w.segs[0]!.t).toBe(0);
    expect(w.segs[1]!.t).toBe(DELAY);
    expect(w.segs[2]!.t).toBe(2 * DELAY);

    const connRet = w.result('A', conn.callId);
    expect(connRet).toEqual({ ok: true, value: 0 });
    expect(w.result('B', acc.callId)).toEqual({
      ok: true,
      value: { fd: 4, peerAddr: A_ADDR, peerPort: CLIENT_PORT },
    });
    const ret = w.events.filter((e) => e.type === 'return' && (e.op === 'connect' || e.op === 'accept'));
    expect(ret.map((e) => [e.side, e.t, e.type === 'return' ? e.blockedMs : -1])).toEqual([
      ['A', 2 * DELAY, 2 * DELAY],
      ['B', 3 * DELAY, 3 * DELAY],
    ]);

    const a = w.sock('A', 3);
    const b = w.sock('B', 4);
    expect(a.state).toBe('ESTABLISHED');
    expect(b.state).toBe('ESTABLISHED');
    expect(a.tcb).toMatchObject({ iss: A_ISS, irs: B_ISS, sndUna: 0, sndNxt: 0, rcvNxt: 2 ** 32 - 9 });
    expect(b.tcb).toMatchObject({
      iss: B_ISS,
      irs: A_ISS,
      sndUna: 2 ** 32 - 9,
      sndNxt: 2 ** 32 - 9,
      rcvNxt: 0,
    });
    // The listener is still listening with empty queues.
    expect(w.sock('B', 3).listen).toEqual({ backlog: 128, synQueue: [], acceptQueue: [] });
    expect(w.sock('B', 4).remote).toEqual({ addr: '10.0.0.1', port: CLIENT_PORT });
  });

  test('the SYN and SYN-ACK carry the MSS option; the textbook profile offers nothing else', () => {
    const { w } = connected();
    expect(w.segs[0]!.packet.tcp.options).toEqual([{ kind: 'mss', value: 1460 }]);
    expect(w.segs[1]!.packet.tcp.options).toEqual([{ kind: 'mss', value: 1460 }]);
    expect(w.segs[2]!.packet.tcp.options).toEqual([]);
  });
});

describe('simultaneous open (RFC 9293 §3.5, Figure 8)', () => {
  test('SYN-SENT -> SYN-RECEIVED -> ESTABLISHED on both sides with four segments', () => {
    const w = new Wire();
    for (const [side, port] of [
      ['A', CLIENT_PORT],
      ['B', SERVER_PORT],
    ] as const) {
      w.ok(side, { op: 'socket' });
      w.ok(side, { op: 'bind', fd: 3, port });
    }
    const ca = w.call('A', { op: 'connect', fd: 3, addr: B_ADDR, port: SERVER_PORT });
    const cb = w.call('B', { op: 'connect', fd: 3, addr: A_ADDR, port: CLIENT_PORT });
    w.run(5_000);
    // Figure 8: each side answers the other's SYN with SYN-ACK (its own ISN again), and each
    // SYN-ACK completes the other side's open; nothing else is needed.
    expect(w.ladder(), w.ladderText()).toEqual([
      'A>B [SYN] seq=0 len=0',
      'B>A [SYN] seq=0 len=0',
      'B>A [SYN, ACK] seq=0 ack=1 len=0',
      'A>B [SYN, ACK] seq=0 ack=1 len=0',
    ]);
    // Neither SYN-ACK is a retransmission of a SYN-ACK: no rexmit mark (the field is documented
    // as "set on retransmissions").
    expect(w.segs.map((s) => s.rexmit)).toEqual([undefined, undefined, undefined, undefined]);
    expect(w.states(), w.ladderText()).toEqual([
      'A: CLOSED -> SYN-SENT',
      'B: CLOSED -> SYN-SENT',
      'B: SYN-SENT -> SYN-RECEIVED',
      'A: SYN-SENT -> SYN-RECEIVED',
      'A: SYN-RECEIVED -> ESTABLISHED',
      'B: SYN-RECEIVED -> ESTABLISHED',
    ]);
    expect(w.log.filter((e) => e.kind === 'state' && e.to === 'ESTABLISHED').map((e) => e.t)).toEqual([
      2 * DELAY,
      2 * DELAY,
    ]);
    expect(w.result('A', ca.callId)).toEqual({ ok: true, value: 0 });
    expect(w.result('B', cb.callId)).toEqual({ ok: true, value: 0 });
    // Data flows afterwards.
    w.ok('A', { op: 'send', fd: 3, data: new TextEncoder().encode('hi') });
    w.runFor(1_000);
    expect(okValue(w.do('B', { op: 'recv', fd: 3 }))).toEqual(new TextEncoder().encode('hi'));
  });
});

describe('SYN to a port nobody listens on', () => {
  test('RST answers it and connect() fails with ECONNREFUSED', () => {
    const w = new Wire();
    w.ok('A', { op: 'socket' });
    w.ok('A', { op: 'bind', fd: 3, port: CLIENT_PORT });
    const c = w.call('A', { op: 'connect', fd: 3, addr: B_ADDR, port: 81 });
    w.run(10_000);
    // RFC 9293 §3.10.7.1: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
    expect(w.ladder(), w.ladderText()).toEqual(['A>B [SYN] seq=0 len=0', 'B>A [RST, ACK] seq=0 ack=1 len=0']);
    expect(w.segs[1]!.packet.tcp.seq).toBe(0);
    expect(w.states()).toEqual(['A: CLOSED -> SYN-SENT', 'A: SYN-SENT -> CLOSED']);
    const r = w.result('A', c.callId);
    expect(r?.ok).toBe(false);
    expect(r && !r.ok && r.errno).toBe('ECONNREFUSED');
    expect(w.log.find((e) => e.kind === 'return' && e.op === 'connect')?.t).toBe(2 * DELAY);
  });
});

describe('lost handshake segments: RFC 6298 initial RTO 1 s, doubling', () => {
  test('lost SYN: retransmitted after 1 s, then 2 s later', () => {
    const w = new Wire();
    w.drop(seg('A', 'SYN'), 2);
    const lfd = listenOn(w);
    w.ok('A', { op: 'socket' });
    w.ok('A', { op: 'bind', fd: 3, port: CLIENT_PORT });
    const c = w.call('A', { op: 'connect', fd: 3, addr: B_ADDR, port: SERVER_PORT });
    w.call('B', { op: 'accept', fd: lfd });
    w.run(10_000);
    expect(w.segLines(), w.ladderText()).toEqual([
      'A>B [SYN] seq=0 len=0 DROPPED',
      'A>B [SYN] seq=0 len=0 DROPPED',
      'A>B [SYN] seq=0 len=0',
      'B>A [SYN, ACK] seq=0 ack=1 len=0',
      'A>B [ACK] seq=1 ack=1 len=0',
    ]);
    expect(w.segs.map((s) => s.t)).toEqual([0, 1_000, 3_000, 3_000 + DELAY, 3_000 + 2 * DELAY]);
    expect(w.segs.map((s) => s.rexmit)).toEqual([undefined, 1, 2, undefined, undefined]);
    expect(w.result('A', c.callId)).toEqual({ ok: true, value: 0 });
    // Karn: no RTT sample from a retransmitted SYN. RFC 6298 §5.7: "If the timer expires
    // awaiting the ACK of a SYN segment and the TCP implementation is using an RTO less than
    // 3 seconds, the RTO MUST be re-initialized to 3 seconds when data transmission begins"
    // (Linux: TCP_TIMEOUT_FALLBACK in tcp_init_transfer), not left backed off at 4 s.
    expect(w.sock('A', 3).rtt.srtt).toBeNull();
    expect(w.sock('A', 3).rtt.rto).toBe(3_000);
  });

  test('lost SYN-ACK: the server retransmits it once, the client retransmits its SYN', () => {
    const w = new Wire();
    w.drop(seg('B', 'SYN', 'ACK'));
    const lfd = listenOn(w);
    w.ok('A', { op: 'socket' });
    w.ok('A', { op: 'bind', fd: 3, port: CLIENT_PORT });
    const c = w.call('A', { op: 'connect', fd: 3, addr: B_ADDR, port: SERVER_PORT });
    const acc = w.call('B', { op: 'accept', fd: lfd });
    w.run(10_000);
    // The SYN-ACK timer (set at 50, due at 1050) and the retransmitted SYN (sent at 1000,
    // arriving at 1050) coincide. Linux (tcp_check_req) answers the duplicate SYN with a
    // SYN-ACK and pushes the SYN-ACK timer back: one SYN-ACK goes out at 1050, not two.
    expect(w.segLines(), w.ladderText()).toEqual([
      'A>B [SYN] seq=0 len=0',
      'B>A [SYN, ACK] seq=0 ack=1 len=0 DROPPED',
      'A>B [SYN] seq=0 len=0',
      'B>A [SYN, ACK] seq=0 ack=1 len=0',
      'A>B [ACK] seq=1 ack=1 len=0',
    ]);
    expect(w.segs.map((s) => s.t)).toEqual([0, DELAY, 1_000, 1_000 + DELAY, 1_000 + 2 * DELAY]);
    expect(w.segs[3]!.rexmit).toBeGreaterThanOrEqual(1);
    expect(w.result('A', c.callId)).toEqual({ ok: true, value: 0 });
    expect(okValue(w.result('B', acc.callId))).toMatchObject({ fd: 4 });
  });

  test('lost SYN-ACK alone (the client SYN is not retransmitted in time): the server timer resends it after 1 s', () => {
    // Client's initial RTO is 3 s here, so only the server's timer acts.
    const w = new Wire({ a: { rtoInitialMs: 3_000 } });
    w.drop(seg('B', 'SYN', 'ACK'));
    const lfd = listenOn(w);
    w.ok('A', { op: 'socket' });
    w.ok('A', { op: 'bind', fd: 3, port: CLIENT_PORT });
    w.call('A', { op: 'connect', fd: 3, addr: B_ADDR, port: SERVER_PORT });
    w.call('B', { op: 'accept', fd: lfd });
    w.run(10_000);
    expect(w.segLines(), w.ladderText()).toEqual([
      'A>B [SYN] seq=0 len=0',
      'B>A [SYN, ACK] seq=0 ack=1 len=0 DROPPED',
      'B>A [SYN, ACK] seq=0 ack=1 len=0',
      'A>B [ACK] seq=1 ack=1 len=0',
    ]);
    expect(w.segs.map((s) => s.t)).toEqual([0, DELAY, DELAY + 1_000, 2 * DELAY + 1_000]);
  });

  test('connect() to a silent host: SYN at 0, 1, 3 s with synRetries = 2, then ETIMEDOUT at 7 s', () => {
    const w = new Wire({ a: { synRetries: 2 } });
    w.drop(seg('A', 'SYN'), Number.POSITIVE_INFINITY);
    w.ok('A', { op: 'socket' });
    const c = w.call('A', { op: 'connect', fd: 3, addr: B_ADDR, port: SERVER_PORT });
    w.run(60_000);
    expect(w.segs.map((s) => [s.t, s.text])).toEqual([
      [0, 'A>B [SYN] seq=0 len=0'],
      [1_000, 'A>B [SYN] seq=0 len=0'],
      [3_000, 'A>B [SYN] seq=0 len=0'],
    ]);
    const r = w.result('A', c.callId);
    expect(r && !r.ok && r.errno).toBe('ETIMEDOUT');
    expect(w.log.find((e) => e.kind === 'return' && e.op === 'connect')?.t).toBe(7_000);
    expect(w.states()).toEqual(['A: CLOSED -> SYN-SENT', 'A: SYN-SENT -> CLOSED']);
  });
});

describe('listen backlog (Linux: a queue is full when its length > backlog)', () => {
  /** Opens a client socket on A from `port` and starts connect(). */
  function client(w: Wire, port: number): { fd: number; callId: number } {
    const fd = w.ok('A', { op: 'socket' }) as number;
    w.ok('A', { op: 'bind', fd, port });
    const { callId } = w.call('A', { op: 'connect', fd, addr: B_ADDR, port: SERVER_PORT });
    return { fd, callId };
  }

  test('backlog 1: two connections wait in the accept queue, the third SYN is dropped until accept()', () => {
    const w = new Wire();
    const lfd = listenOn(w, 'B', SERVER_PORT, 1);
    const c1 = client(w, 40_001);
    const c2 = client(w, 40_002);
    w.run(500);
    expect(w.result('A', c1.callId)).toEqual({ ok: true, value: 0 });
    expect(w.result('A', c2.callId)).toEqual({ ok: true, value: 0 });
    const l = w.sock('B', lfd).listen!;
    expect(l.synQueue).toEqual([]);
    expect(l.acceptQueue.length).toBe(2);

    const mark = w.mark();
    const c3 = client(w, 40_003); // at t=500
    w.run(1_200);
    expect(w.result('A', c3.callId)).toBeUndefined();
    const drops = w.events.filter((e) => e.type === 'discard' && e.side === 'B');
    expect(drops.map((e) => e.type === 'discard' && e.reason)).toEqual(['accept-queue-full']);
    expect(w.ladder(mark)).toEqual(['A>B [SYN] seq=0 len=0']);

    // accept() once: the queue has room; the SYN retransmitted at 1.5 s gets through.
    const acc = w.do('B', { op: 'accept', fd: lfd });
    expect(okValue(acc)).toMatchObject({ fd: 4, peerPort: 40_001 });
    w.run(3_000);
    expect(w.ladder(mark), w.ladderText()).toEqual([
      'A>B [SYN] seq=0 len=0',
      'A>B [SYN] seq=0 len=0',
      'B>A [SYN, ACK] seq=0 ack=1 len=0',
      'A>B [ACK] seq=1 ack=1 len=0',
    ]);
    expect(w.segs[mark + 1]!.t).toBe(1_500);
    expect(w.result('A', c3.callId)).toEqual({ ok: true, value: 0 });
    expect(w.sock('B', lfd).listen!.acceptQueue.length).toBe(2);
    expect(okValue(w.do('B', { op: 'accept', fd: lfd }))).toMatchObject({ peerPort: 40_002 });
    expect(okValue(w.do('B', { op: 'accept', fd: lfd }))).toMatchObject({ peerPort: 40_003 });
  });

  test('backlog 0: the SYN queue holds one half-open connection; a second SYN is dropped', () => {
    const w = new Wire();
    // Hold the first client's final ACK so its connection stays half-open on B.
    w.hold(seg('A', 'ACK'), 1);
    const lfd = listenOn(w, 'B', SERVER_PORT, 0);
    client(w, 40_001);
    w.run(200);
    expect(w.sock('B', lfd).listen!.synQueue.length).toBe(1);
    const c2 = client(w, 40_002);
    w.run(300);
    const drops = w.events.filter((e) => e.type === 'discard' && e.side === 'B');
    expect(drops.map((e) => e.type === 'discard' && e.reason)).toEqual(['syn-queue-full']);
    expect(w.result('A', c2.callId)).toBeUndefined();
    expect(w.sock('B', lfd).listen!.synQueue.length).toBe(1);
  });

  test('accept queue full when the final ACK arrives: the ACK is dropped, the SYN-ACK is retransmitted, accept() later succeeds', () => {
    const w = new Wire();
    const lfd = listenOn(w, 'B', SERVER_PORT, 1);
    const c1 = client(w, 40_001);
    w.run(200);
    expect(w.result('A', c1.callId)).toEqual({ ok: true, value: 0 });
    // Two more SYNs arrive while one connection waits: both fit the SYN queue (1 > 1 is false).
    const c2 = client(w, 40_002);
    const c3 = client(w, 40_003);
    const mark = w.mark();
    w.run(500);
    // The clients think they are connected (their SYN-ACKs were answered) ...
    expect(w.result('A', c2.callId)).toEqual({ ok: true, value: 0 });
    expect(w.result('A', c3.callId)).toEqual({ ok: true, value: 0 });
    // ... but the third connection's final ACK found the accept queue full (2 > 1): Linux
    // (tcp_abort_on_overflow = 0) drops it and keeps the request in the SYN queue.
    const l = w.sock('B', lfd).listen!;
    expect(l.acceptQueue.length).toBe(2);
    expect(l.synQueue.length).toBe(1);
    expect(
      w.events
        .filter((e) => e.type === 'discard' && e.side === 'B')
        .map((e) => e.type === 'discard' && e.reason),
    ).toEqual(['accept-queue-full']);
    expect(okValue(w.do('B', { op: 'accept', fd: lfd }))).toMatchObject({ peerPort: 40_001 });
    w.run(5_000);
    // The SYN-ACK retransmission (1 s after the first, at 1250) is ACKed again; now it fits.
    const rexmit = w.segs.slice(mark).filter((s) => s.from === 'B' && s.has('SYN'));
    expect(rexmit.map((s) => s.t)).toEqual([200 + DELAY, 200 + DELAY, 200 + DELAY + 1_000]);
    expect(w.sock('B', lfd).listen!.acceptQueue.length).toBe(2);
    expect(w.sock('B', lfd).listen!.synQueue.length).toBe(0);
    expect(okValue(w.do('B', { op: 'accept', fd: lfd }))).toMatchObject({ peerPort: 40_002 });
    expect(okValue(w.do('B', { op: 'accept', fd: lfd }))).toMatchObject({ peerPort: 40_003 });
  });
});
