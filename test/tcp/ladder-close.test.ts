/**
 * Ladders for closing: four-way close by either side with TIME-WAIT for exactly 2·MSL,
 * simultaneous close through CLOSING, half-close, dup()/fork() reference counting versus
 * shutdown(), RST on unread data, SO_LINGER 0, the orphaned FIN-WAIT-2 timeout, and every
 * closing segment lost once (RFC 6298 RTO, doubling).
 *
 * The wire's one-way delay is 50 ms, so the handshake measures RTT = 100 ms on both sides and
 * RFC 6298 gives SRTT = 100, RTTVAR = 50, RTO = SRTT + 4·RTTVAR = 300 ms (above RTO.min 200).
 */
import { describe, expect, test } from 'vitest';
import { bytes, type Conn, connected, DELAY, okValue, seg, text, type Wire } from './harness.ts';

const MSL2 = 60_000; // textbook profile: MSL = 30 s
const RTO = 300;

function stateTimes(w: Wire, side: 'A' | 'B', to: string): number[] {
  return w.log.filter((e) => e.kind === 'state' && e.side === side && e.to === to).map((e) => e.t);
}

function recvText(w: Wire, side: 'A' | 'B', fd: number, pid = 1): string {
  return text(okValue(w.do(side, { op: 'recv', fd, pid }), 'recv') as Uint8Array);
}

describe('four-way close', () => {
  test('client closes first: FIN-WAIT-1 -> FIN-WAIT-2 -> TIME-WAIT (2·MSL) -> CLOSED; server CLOSE-WAIT -> LAST-ACK -> CLOSED', () => {
    const { w, cfd, sfd }: Conn = connected();
    const mark = w.mark();
    const t0 = w.now;
    const recv = w.call('B', { op: 'recv', fd: sfd });
    expect(recv.result).toBeUndefined();
    expect(w.do('A', { op: 'close', fd: cfd })).toEqual({ ok: true, value: 0 });
    w.runFor(1_000);
    // The server read EOF when the FIN arrived.
    expect(w.result('B', recv.callId)).toEqual({ ok: true, value: new Uint8Array(0) });
    const t1 = w.now;
    expect(w.do('B', { op: 'close', fd: sfd })).toEqual({ ok: true, value: 0 });
    w.runFor(MSL2 + 10_000);

    expect(w.ladder(mark), w.ladderText()).toEqual([
      'A>B [FIN, ACK] seq=1 ack=1 len=0',
      'B>A [ACK] seq=1 ack=2 len=0',
      'B>A [FIN, ACK] seq=1 ack=2 len=0',
      'A>B [ACK] seq=2 ack=2 len=0',
    ]);
    expect(w.segs.slice(mark).map((s) => s.t)).toEqual([t0, t0 + DELAY, t1, t1 + DELAY]);
    expect(w.states().slice(5), w.ladderText()).toEqual([
      'A: ESTABLISHED -> FIN-WAIT-1',
      'B: ESTABLISHED -> CLOSE-WAIT',
      'A: FIN-WAIT-1 -> FIN-WAIT-2',
      'B: CLOSE-WAIT -> LAST-ACK',
      'A: FIN-WAIT-2 -> TIME-WAIT',
      'B: LAST-ACK -> CLOSED',
      'A: TIME-WAIT -> CLOSED',
    ]);
    const twStart = stateTimes(w, 'A', 'TIME-WAIT')[0]!;
    expect(twStart).toBe(t1 + DELAY);
    expect(stateTimes(w, 'A', 'CLOSED')).toEqual([twStart + MSL2]);
    expect(stateTimes(w, 'B', 'CLOSED')).toEqual([t1 + 2 * DELAY]);
    // The connection sockets are gone from both hosts (only B's listener is left).
    expect(w.sockets('A')).toEqual([]);
    expect(w.sockets('B').map((s) => s.state)).toEqual(['LISTEN']);
  });

  test('TIME-WAIT is still there 1 ms before 2·MSL and gone at exactly 2·MSL', () => {
    const { w, cfd, sfd } = connected();
    w.ok('A', { op: 'close', fd: cfd });
    w.runFor(200);
    w.ok('B', { op: 'close', fd: sfd });
    w.runFor(200);
    const twStart = stateTimes(w, 'A', 'TIME-WAIT')[0]!;
    w.run(twStart + MSL2 - 1);
    expect(w.sockets('A').map((s) => s.state)).toEqual(['TIME-WAIT']);
    expect(w.sockets('A')[0]!.timers['time-wait']).toBe(twStart + MSL2);
    w.run(twStart + MSL2);
    expect(w.sockets('A')).toEqual([]);
  });

  test('server closes first: the server goes through TIME-WAIT, the client through LAST-ACK', () => {
    const { w, cfd, sfd } = connected();
    const mark = w.mark();
    w.ok('B', { op: 'close', fd: sfd });
    w.runFor(500);
    expect(w.state('A', cfd)).toBe('CLOSE-WAIT');
    expect(recvText(w, 'A', cfd)).toBe('');
    const t1 = w.now;
    w.ok('A', { op: 'close', fd: cfd });
    w.runFor(MSL2 + 5_000);
    expect(w.ladder(mark), w.ladderText()).toEqual([
      'B>A [FIN, ACK] seq=1 ack=1 len=0',
      'A>B [ACK] seq=1 ack=2 len=0',
      'A>B [FIN, ACK] seq=1 ack=2 len=0',
      'B>A [ACK] seq=2 ack=2 len=0',
    ]);
    expect(w.states('B').slice(-4)).toEqual([
      'B: ESTABLISHED -> FIN-WAIT-1',
      'B: FIN-WAIT-1 -> FIN-WAIT-2',
      'B: FIN-WAIT-2 -> TIME-WAIT',
      'B: TIME-WAIT -> CLOSED',
    ]);
    expect(w.states('A').slice(-3)).toEqual([
      'A: ESTABLISHED -> CLOSE-WAIT',
      'A: CLOSE-WAIT -> LAST-ACK',
      'A: LAST-ACK -> CLOSED',
    ]);
    expect(stateTimes(w, 'B', 'CLOSED')).toEqual([t1 + DELAY + MSL2]);
  });

  test('send() then shutdown(SHUT_WR): the data goes at once, the FIN follows at the next sequence number', () => {
    const { w, cfd, sfd } = connected({ a: { delayedAck: false }, b: { delayedAck: false } });
    const mark = w.mark();
    w.ok('A', { op: 'send', fd: cfd, data: bytes('bye') });
    w.ok('A', { op: 'shutdown', fd: cfd, how: 'SHUT_WR' });
    w.runFor(1_000);
    expect(w.ladder(mark), w.ladderText()).toEqual([
      'A>B [PSH, ACK] seq=1 ack=1 len=3',
      'A>B [FIN, ACK] seq=4 ack=1 len=0',
      'B>A [ACK] seq=1 ack=4 len=0',
      'B>A [ACK] seq=1 ack=5 len=0',
    ]);
    expect(recvText(w, 'B', sfd)).toBe('bye');
    expect(recvText(w, 'B', sfd)).toBe('');
  });
});

describe('simultaneous close (RFC 9293 Figure 13)', () => {
  test('both send FIN: FIN-WAIT-1 -> CLOSING -> TIME-WAIT on both sides, each for 2·MSL', () => {
    const { w, cfd, sfd } = connected();
    const mark = w.mark();
    const t0 = w.now;
    w.ok('A', { op: 'close', fd: cfd });
    w.ok('B', { op: 'close', fd: sfd });
    w.runFor(MSL2 + 5_000);
    expect(w.ladder(mark), w.ladderText()).toEqual([
      'A>B [FIN, ACK] seq=1 ack=1 len=0',
      'B>A [FIN, ACK] seq=1 ack=1 len=0',
      'B>A [ACK] seq=2 ack=2 len=0',
      'A>B [ACK] seq=2 ack=2 len=0',
    ]);
    for (const side of ['A', 'B'] as const) {
      expect(w.states(side).slice(-4)).toEqual([
        `${side}: ESTABLISHED -> FIN-WAIT-1`,
        `${side}: FIN-WAIT-1 -> CLOSING`,
        `${side}: CLOSING -> TIME-WAIT`,
        `${side}: TIME-WAIT -> CLOSED`,
      ]);
    }
    expect(stateTimes(w, 'A', 'TIME-WAIT')).toEqual([t0 + 2 * DELAY]);
    expect(stateTimes(w, 'A', 'CLOSED')).toEqual([t0 + 2 * DELAY + MSL2]);
    expect(stateTimes(w, 'B', 'CLOSED')).toEqual([t0 + 2 * DELAY + MSL2]);
  });
});

describe('half-close: shutdown(SHUT_WR)', () => {
  test('the peer keeps sending and the half-closed side keeps receiving', () => {
    const { w, cfd, sfd } = connected({ a: { delayedAck: false }, b: { delayedAck: false } });
    const mark = w.mark();
    expect(w.do('A', { op: 'shutdown', fd: cfd, how: 'SHUT_WR' })).toEqual({ ok: true, value: 0 });
    w.runFor(500);
    expect(w.state('A', cfd)).toBe('FIN-WAIT-2');
    expect(w.state('B', sfd)).toBe('CLOSE-WAIT');
    expect(recvText(w, 'B', sfd)).toBe('');
    // The server still sends; the client still receives.
    w.ok('B', { op: 'send', fd: sfd, data: bytes('more data') });
    w.runFor(500);
    expect(recvText(w, 'A', cfd)).toBe('more data');
    w.ok('B', { op: 'send', fd: sfd, data: bytes('and more') });
    w.runFor(500);
    expect(recvText(w, 'A', cfd)).toBe('and more');
    // But the client can no longer send.
    const s = w.do('A', { op: 'send', fd: cfd, data: bytes('x') });
    expect(s.ok === false && s.errno).toBe('EPIPE');
    w.ok('B', { op: 'close', fd: sfd });
    w.runFor(500);
    expect(recvText(w, 'A', cfd)).toBe('');
    expect(w.ladder(mark), w.ladderText()).toEqual([
      'A>B [FIN, ACK] seq=1 ack=1 len=0',
      'B>A [ACK] seq=1 ack=2 len=0',
      'B>A [PSH, ACK] seq=1 ack=2 len=9',
      'A>B [ACK] seq=2 ack=10 len=0',
      'B>A [PSH, ACK] seq=10 ack=2 len=8',
      'A>B [ACK] seq=2 ack=18 len=0',
      'B>A [FIN, ACK] seq=18 ack=2 len=0',
      'A>B [ACK] seq=2 ack=19 len=0',
    ]);
    expect(w.state('A', cfd)).toBe('TIME-WAIT');
  });
});

describe('close() drops a reference; shutdown() acts at once', () => {
  test('dup(): no FIN until the last descriptor is closed', () => {
    const { w, cfd } = connected();
    const fd2 = w.ok('A', { op: 'dup', fd: cfd });
    expect(fd2).toBe(cfd + 1);
    expect(w.sock('A', cfd).refs).toBe(2);
    const mark = w.mark();
    expect(w.do('A', { op: 'close', fd: cfd })).toEqual({ ok: true, value: 0 });
    w.runFor(1_000);
    expect(w.ladder(mark)).toEqual([]);
    expect(w.sock('A', fd2 as number).state).toBe('ESTABLISHED');
    // The remaining descriptor still works.
    expect(w.ok('A', { op: 'send', fd: fd2 as number, data: bytes('still here') })).toBe(10);
    w.runFor(1_000);
    const closed = w.do('A', { op: 'send', fd: cfd, data: bytes('x') });
    expect(closed.ok === false && closed.errno).toBe('EBADF');
    const m2 = w.mark();
    w.ok('A', { op: 'close', fd: fd2 as number });
    w.runFor(1_000);
    expect(w.ladder(m2)).toEqual(['A>B [FIN, ACK] seq=11 ack=1 len=0', 'B>A [ACK] seq=1 ack=12 len=0']);
  });

  test('dup() then shutdown(SHUT_WR) on one descriptor: FIN at once, send on the other gets EPIPE', () => {
    const { w, cfd, sfd } = connected();
    const fd2 = w.ok('A', { op: 'dup', fd: cfd }) as number;
    const mark = w.mark();
    w.ok('A', { op: 'shutdown', fd: cfd, how: 'SHUT_WR' });
    expect(w.ladder(mark)).toEqual(['A>B [FIN, ACK] seq=1 ack=1 len=0']);
    w.runFor(1_000);
    const r = w.do('A', { op: 'send', fd: fd2, data: bytes('x') });
    expect(r.ok === false && r.errno).toBe('EPIPE');
    expect(w.state('B', sfd)).toBe('CLOSE-WAIT');
    // Reading still works on the other descriptor.
    w.ok('B', { op: 'send', fd: sfd, data: bytes('reply') });
    w.runFor(1_000);
    expect(recvText(w, 'A', fd2)).toBe('reply');
  });

  test('fork(): the child shares the socket; the parent close() sends nothing, the child close() sends the FIN', () => {
    const { w, cfd } = connected();
    const pid = w.ok('A', { op: 'fork' }) as number;
    expect(pid).toBe(2);
    expect(w.sock('A', cfd, pid).refs).toBe(2);
    expect(w.sock('A', cfd, pid).descriptors).toEqual([
      { pid: 1, fd: cfd },
      { pid: 2, fd: cfd },
    ]);
    const mark = w.mark();
    w.ok('A', { op: 'close', fd: cfd, pid: 1 });
    w.runFor(1_000);
    expect(w.ladder(mark)).toEqual([]);
    expect(w.state('A', cfd, pid)).toBe('ESTABLISHED');
    w.ok('A', { op: 'close', fd: cfd, pid });
    w.runFor(1_000);
    expect(w.ladder(mark)).toEqual(['A>B [FIN, ACK] seq=1 ack=1 len=0', 'B>A [ACK] seq=1 ack=2 len=0']);
  });

  test('fork(): shutdown() in the child sends the FIN at once; the parent send() gets EPIPE', () => {
    const { w, cfd } = connected();
    const pid = w.ok('A', { op: 'fork' }) as number;
    const mark = w.mark();
    w.ok('A', { op: 'shutdown', fd: cfd, pid, how: 'SHUT_WR' });
    expect(w.ladder(mark)).toEqual(['A>B [FIN, ACK] seq=1 ack=1 len=0']);
    w.runFor(1_000);
    const r = w.do('A', { op: 'send', fd: cfd, pid: 1, data: bytes('x') });
    expect(r.ok === false && r.errno).toBe('EPIPE');
  });
});

describe('abortive close', () => {
  test('close() with unread data sends RST instead of FIN; the peer recv() gets ECONNRESET', () => {
    const { w, cfd, sfd } = connected();
    w.ok('A', { op: 'send', fd: cfd, data: bytes('hello') });
    w.runFor(500);
    expect(w.sock('B', sfd).buffers.readable).toBe(5);
    const mark = w.mark();
    w.ok('B', { op: 'close', fd: sfd });
    w.runFor(MSL2 * 2);
    expect(w.ladder(mark), w.ladderText()).toEqual(['B>A [RST, ACK] seq=1 ack=6 len=0']);
    expect(w.states().slice(-2)).toEqual(['B: ESTABLISHED -> CLOSED', 'A: ESTABLISHED -> CLOSED']);
    const r = w.do('A', { op: 'recv', fd: cfd });
    expect(r.ok === false && r.errno).toBe('ECONNRESET');
    // No TIME-WAIT anywhere.
    expect(w.states().some((s) => s.includes('TIME-WAIT'))).toBe(false);
  });

  test('SO_LINGER {onoff: true, lingerSec: 0}: close() sends RST, no TIME-WAIT; the peer gets ECONNRESET', () => {
    const { w, cfd, sfd } = connected();
    w.ok('A', { op: 'setsockopt', fd: cfd, opt: 'SO_LINGER', value: { onoff: true, lingerSec: 0 } });
    const pending = w.call('B', { op: 'recv', fd: sfd });
    const mark = w.mark();
    w.ok('A', { op: 'close', fd: cfd });
    w.runFor(1_000);
    expect(w.ladder(mark), w.ladderText()).toEqual(['A>B [RST, ACK] seq=1 ack=1 len=0']);
    expect(w.states().slice(-2)).toEqual(['A: ESTABLISHED -> CLOSED', 'B: ESTABLISHED -> CLOSED']);
    expect(w.sockets('A')).toEqual([]);
    const r = w.result('B', pending.callId);
    expect(r?.ok === false && r.errno).toBe('ECONNRESET');
  });

  test('orphaned FIN-WAIT-2 (close(), peer never closes) times out after tcp_fin_timeout', () => {
    const { w, cfd } = connected({ a: { finTimeoutMs: 10_000 } });
    w.ok('A', { op: 'close', fd: cfd });
    w.runFor(200);
    expect(w.sockets('A').map((s) => s.state)).toEqual(['FIN-WAIT-2']);
    const t = stateTimes(w, 'A', 'FIN-WAIT-2')[0]!;
    w.runFor(20_000);
    expect(stateTimes(w, 'A', 'CLOSED')).toEqual([t + 10_000]);
    expect(w.sockets('A')).toEqual([]);
  });

  test('a half-closed (shutdown) FIN-WAIT-2 socket still owned by the application does not time out', () => {
    const { w, cfd } = connected({ a: { finTimeoutMs: 10_000 } });
    w.ok('A', { op: 'shutdown', fd: cfd, how: 'SHUT_WR' });
    w.runFor(100_000);
    expect(w.state('A', cfd)).toBe('FIN-WAIT-2');
  });
});

describe('lost closing segments (RTO = 300 ms after a 100 ms RTT, doubling)', () => {
  test('lost first FIN: retransmitted after the RTO, then after twice the RTO', () => {
    const { w, cfd } = connected();
    w.drop(seg('A', 'FIN'), 2);
    const mark = w.mark();
    const t0 = w.now;
    expect(w.sock('A', cfd).rtt.rto).toBe(RTO);
    w.ok('A', { op: 'close', fd: cfd });
    w.runFor(5_000);
    expect(w.segLines(mark), w.ladderText()).toEqual([
      'A>B [FIN, ACK] seq=1 ack=1 len=0 DROPPED',
      'A>B [FIN, ACK] seq=1 ack=1 len=0 DROPPED',
      'A>B [FIN, ACK] seq=1 ack=1 len=0',
      'B>A [ACK] seq=1 ack=2 len=0',
    ]);
    const s = w.segs.slice(mark);
    expect(s.map((x) => x.t)).toEqual([t0, t0 + RTO, t0 + 3 * RTO, t0 + 3 * RTO + DELAY]);
    expect(s.map((x) => x.rexmit)).toEqual([undefined, 1, 2, undefined]);
    expect(s[1]!.why).toBe('retransmit-rto');
  });

  test('lost ACK of the FIN (second closing segment): the FIN is retransmitted and ACKed again', () => {
    const { w, cfd, sfd } = connected();
    w.drop(seg('B', 'ACK'));
    const mark = w.mark();
    const t0 = w.now;
    w.ok('A', { op: 'close', fd: cfd });
    w.runFor(5_000);
    expect(w.segLines(mark), w.ladderText()).toEqual([
      'A>B [FIN, ACK] seq=1 ack=1 len=0',
      'B>A [ACK] seq=1 ack=2 len=0 DROPPED',
      'A>B [FIN, ACK] seq=1 ack=1 len=0',
      'B>A [ACK] seq=1 ack=2 len=0',
    ]);
    expect(w.segs.slice(mark).map((x) => x.t)).toEqual([t0, t0 + DELAY, t0 + RTO, t0 + RTO + DELAY]);
    expect(w.state('B', sfd)).toBe('CLOSE-WAIT');
    expect(w.sockets('A').map((s) => s.state)).toEqual(['FIN-WAIT-2']);
  });

  test('lost third closing segment (the peer FIN): the peer retransmits it from LAST-ACK', () => {
    const { w, cfd, sfd } = connected();
    w.ok('A', { op: 'close', fd: cfd });
    w.runFor(500);
    w.drop(seg('B', 'FIN'));
    const mark = w.mark();
    const t1 = w.now;
    w.ok('B', { op: 'close', fd: sfd });
    w.runFor(MSL2 + 5_000);
    expect(w.segLines(mark), w.ladderText()).toEqual([
      'B>A [FIN, ACK] seq=1 ack=2 len=0 DROPPED',
      'B>A [FIN, ACK] seq=1 ack=2 len=0',
      'A>B [ACK] seq=2 ack=2 len=0',
    ]);
    expect(w.segs.slice(mark).map((x) => x.t)).toEqual([t1, t1 + RTO, t1 + RTO + DELAY]);
    expect(stateTimes(w, 'A', 'TIME-WAIT')).toEqual([t1 + RTO + DELAY]);
    expect(stateTimes(w, 'B', 'CLOSED')).toEqual([t1 + RTO + 2 * DELAY]);
  });

  test('lost last ACK: TIME-WAIT re-ACKs the retransmitted FIN and restarts 2·MSL', () => {
    const { w, cfd, sfd } = connected();
    w.ok('A', { op: 'close', fd: cfd });
    w.runFor(500);
    w.drop(seg('A', 'ACK'));
    const mark = w.mark();
    const t1 = w.now;
    w.ok('B', { op: 'close', fd: sfd });
    w.runFor(2 * MSL2);
    expect(w.segLines(mark), w.ladderText()).toEqual([
      'B>A [FIN, ACK] seq=1 ack=2 len=0',
      'A>B [ACK] seq=2 ack=2 len=0 DROPPED',
      'B>A [FIN, ACK] seq=1 ack=2 len=0',
      'A>B [ACK] seq=2 ack=2 len=0',
    ]);
    expect(w.segs.slice(mark).map((x) => x.t)).toEqual([t1, t1 + DELAY, t1 + RTO, t1 + RTO + DELAY]);
    expect(stateTimes(w, 'A', 'TIME-WAIT')).toEqual([t1 + DELAY]);
    // The timer restarted when the retransmitted FIN arrived.
    expect(stateTimes(w, 'A', 'CLOSED')).toEqual([t1 + RTO + DELAY + MSL2]);
    expect(stateTimes(w, 'B', 'CLOSED')).toEqual([t1 + RTO + 2 * DELAY]);
  });
});
