/**
 * Listener edge cases, as Linux behaves: close() of a listener with connections in its accept
 * queue (inet_csk_listen_stop resets them), shutdown() on a listener (inet_shutdown), accept()
 * on a socket that does not listen (inet_accept: EINVAL), a new SYN to a TIME-WAIT 4-tuple
 * (tcp_timewait_state_process, RFC 1122 §4.2.2.13, RFC 6191), and a server that closes first
 * collecting TIME-WAITs while clients keep connecting from new ports.
 */
import { describe, expect, test } from 'vitest';
import { seqAdd } from '../../shared/tcp/seq.ts';
import {
  B_ADDR,
  CLIENT_PORT,
  connected,
  DELAY,
  describeResult,
  errnoOf,
  listenOn,
  okValue,
  SERVER_PORT,
  tsOf,
  Wire,
  type WireOptions,
} from './harness.ts';

/** A connects from `port` and completes the handshake; B does not accept. */
function connectFrom(w: Wire, port: number): number {
  const fd = w.ok('A', { op: 'socket' }) as number;
  w.ok('A', { op: 'bind', fd, port });
  const c = w.call('A', { op: 'connect', fd, addr: B_ADDR, port: SERVER_PORT });
  w.runUntil(() => w.result('A', c.callId) !== undefined);
  okValue(w.result('A', c.callId), 'connect');
  w.runFor(DELAY);
  return fd;
}

describe('close() and shutdown() of a listener', () => {
  test('close() with two connections in the accept queue: each gets RST, the clients see ECONNRESET', () => {
    const w = new Wire();
    const lfd = listenOn(w);
    const c1 = connectFrom(w, 40_001);
    const c2 = connectFrom(w, 40_002);
    expect(w.sock('B', lfd).listen!.acceptQueue.length).toBe(2);
    const m = w.mark();
    expect(w.ok('B', { op: 'close', fd: lfd })).toBe(0);
    w.runFor(500);
    expect(w.segLines(m)).toEqual(['B>A [RST, ACK] seq=1 ack=1 len=0', 'B>A [RST, ACK] seq=1 ack=1 len=0']);
    expect([w.state('A', c1), w.state('A', c2)]).toEqual(['CLOSED', 'CLOSED']);
    expect(errnoOf(w.do('A', { op: 'recv', fd: c1 }))).toBe('ECONNRESET');
    expect(w.sockets('B')).toEqual([]);
    // The port is free again, and a new SYN is refused.
    const c3 = w.ok('A', { op: 'socket' }) as number;
    const c = w.call('A', { op: 'connect', fd: c3, addr: B_ADDR, port: SERVER_PORT });
    w.runFor(500);
    expect(errnoOf(w.result('A', c.callId))).toBe('ECONNREFUSED');
  });

  test('close() with a half-open connection: it is dropped silently, the client’s ACK then meets RST', () => {
    const w = new Wire();
    const lfd = listenOn(w);
    w.hold((s) => s.from === 'A' && s.has('ACK') && !s.has('SYN'));
    const fd = w.ok('A', { op: 'socket' }) as number;
    w.ok('A', { op: 'bind', fd, port: CLIENT_PORT });
    w.call('A', { op: 'connect', fd, addr: B_ADDR, port: SERVER_PORT });
    w.runFor(2 * DELAY + 10);
    expect(w.sock('B', lfd).listen!.synQueue.length).toBe(1);
    const m = w.mark();
    w.ok('B', { op: 'close', fd: lfd });
    expect(w.ladder(m)).toEqual([]);
    w.release();
    w.runFor(500);
    expect(w.ladder(m)).toEqual(['B>A [RST] seq=1 len=0']);
    expect(errnoOf(w.do('A', { op: 'recv', fd }))).toBe('ECONNRESET');
  });

  test('shutdown(SHUT_RD) stops the listener like close() but keeps the descriptor: accept() EINVAL, listen() again works', () => {
    const w = new Wire();
    const lfd = listenOn(w);
    const c1 = connectFrom(w, 40_001);
    const blocked = w.call('B', { op: 'accept', fd: lfd });
    // The first accept() takes c1's connection; a second one blocks.
    expect(blocked.result?.ok).toBe(true);
    const waiting = w.call('B', { op: 'accept', fd: lfd });
    expect(waiting.result).toBeUndefined();
    const c2 = connectFrom(w, 40_002);
    void c1;
    // c2 was accepted by the waiting call.
    expect(w.result('B', waiting.callId)?.ok).toBe(true);
    const w3 = w.call('B', { op: 'accept', fd: lfd });
    expect(w3.result).toBeUndefined();
    expect(w.ok('B', { op: 'shutdown', fd: lfd, how: 'SHUT_RD' })).toBe(0);
    // Linux inet_csk_wait_for_connect: a blocked accept() wakes with EINVAL.
    expect(errnoOf(w.result('B', w3.callId))).toBe('EINVAL');
    expect(w.state('B', lfd)).toBe('CLOSED');
    expect(errnoOf(w.do('B', { op: 'accept', fd: lfd }))).toBe('EINVAL');
    // Established, accepted connections are untouched.
    expect(w.state('A', c2)).toBe('ESTABLISHED');
    // The socket is still bound: listen() again serves new clients.
    expect(w.ok('B', { op: 'listen', fd: lfd, backlog: 8 })).toBe(0);
    connectFrom(w, 40_003);
    expect(w.sock('B', lfd).listen!.acceptQueue.length).toBe(1);
  });

  test('shutdown(SHUT_WR) on a listener does nothing (Linux inet_shutdown) and returns 0', () => {
    const w = new Wire();
    const lfd = listenOn(w);
    expect(w.ok('B', { op: 'shutdown', fd: lfd, how: 'SHUT_WR' })).toBe(0);
    expect(w.state('B', lfd)).toBe('LISTEN');
    connectFrom(w, 40_001);
    expect(w.sock('B', lfd).listen!.acceptQueue.length).toBe(1);
  });
});

describe('accept() on a socket that does not listen', () => {
  test('a new socket, a bound one, and a connected one: EINVAL', () => {
    const { w, cfd, sfd } = connected();
    const fresh = w.ok('A', { op: 'socket' }) as number;
    expect(errnoOf(w.do('A', { op: 'accept', fd: fresh }))).toBe('EINVAL');
    w.ok('A', { op: 'bind', fd: fresh, port: 5000 });
    expect(errnoOf(w.do('A', { op: 'accept', fd: fresh }))).toBe('EINVAL');
    expect(errnoOf(w.do('A', { op: 'accept', fd: cfd }))).toBe('EINVAL');
    expect(errnoOf(w.do('B', { op: 'accept', fd: sfd }))).toBe('EINVAL');
    expect(errnoOf(w.do('B', { op: 'accept', fd: 42 }))).toBe('EBADF');
  });
});

/** B (the server) closes first and ends in TIME-WAIT; A's socket is closed and reusable. */
function serverInTimeWait(opts: WireOptions): { w: Wire; lfd: number; bSndNxt: number; bRcvNxt: number } {
  const { w, cfd, sfd, lfd } = connected(opts);
  w.ok('B', { op: 'close', fd: sfd });
  w.runFor(4 * DELAY);
  w.ok('A', { op: 'close', fd: cfd });
  w.runFor(4 * DELAY);
  const tw = w.sockets('B').find((s) => s.state === 'TIME-WAIT');
  if (!tw) throw new Error(`no TIME-WAIT on B:\n${w.ladderText()}`);
  expect(w.sockets('A')).toEqual([]);
  return { w, lfd, bSndNxt: tw.tcb.sndNxt, bRcvNxt: tw.tcb.rcvNxt };
}

function reconnect(w: Wire): { fd: number; callId: number } {
  const fd = w.ok('A', { op: 'socket' }) as number;
  w.ok('A', { op: 'bind', fd, port: CLIENT_PORT });
  const c = w.call('A', { op: 'connect', fd, addr: B_ADDR, port: SERVER_PORT });
  return { fd, callId: c.callId };
}

describe('a SYN for a 4-tuple in TIME-WAIT (Linux tcp_timewait_state_process)', () => {
  test('a higher sequence number reuses the connection; the new ISN is the old SND.NXT + 65537', () => {
    const { w, lfd, bSndNxt } = serverInTimeWait({});
    const m = w.mark();
    const { fd, callId } = reconnect(w);
    w.runFor(500);
    expect(describeResult(w.result('A', callId))).toBe('0');
    expect(w.ladder(m)).toEqual([
      'A>B [SYN] seq=0 len=0',
      'B>A [SYN, ACK] seq=0 ack=1 len=0',
      'A>B [ACK] seq=1 ack=1 len=0',
    ]);
    // RFC 1122 §4.2.2.13 (1): the new ISN is above anything the old connection used.
    expect(w.segs[m + 1]!.packet.tcp.seq).toBe(seqAdd(bSndNxt, 65_537));
    expect(w.sockets('B').filter((s) => s.state === 'TIME-WAIT')).toEqual([]);
    expect(w.sock('B', lfd).listen!.acceptQueue.length).toBe(1);
    expect(w.state('A', fd)).toBe('ESTABLISHED');
  });

  test('a lower sequence number gets the TIME-WAIT ACK; the client’s RST ends the TIME-WAIT; the SYN retransmission connects', () => {
    // A's ISN repeats (issStep 0): its new SYN is below B's RCV.NXT.
    const { w } = serverInTimeWait({ a: { issStep: 0 } });
    const m = w.mark();
    const { callId } = reconnect(w);
    w.runFor(3_000);
    expect(describeResult(w.result('A', callId))).toBe('0');
    expect(w.ladder(m)).toEqual([
      'A>B [SYN] seq=0 len=0',
      // TIME-WAIT answers with its ACK (RCV.NXT of the old connection: A's old FIN + 1)...
      'B>A [ACK] seq=2 ack=2 len=0',
      // ... which SYN-SENT answers with <SEQ=SEG.ACK><CTL=RST> (RFC 9293 §3.10.7.3) ...
      'A>B [RST] seq=2 len=0',
      // ... which kills the TIME-WAIT (tcp_rfc1337 = 0); the SYN comes back after 1 s.
      'A>B [SYN] seq=0 len=0',
      'B>A [SYN, ACK] seq=0 ack=1 len=0',
      'A>B [ACK] seq=1 ack=1 len=0',
    ]);
    expect(w.segs[m + 3]!.t - w.segs[m]!.t).toBe(1000);
  });

  test('linux profile: a lower sequence number with a newer timestamp reuses the connection at once (RFC 6191)', () => {
    const { w } = serverInTimeWait({ profile: 'linux', a: { issStep: 0 } });
    const m = w.mark();
    w.runFor(10);
    const { callId } = reconnect(w);
    w.runFor(500);
    expect(w.ladder(m), w.ladderText()).toEqual([
      'A>B [SYN] seq=0 len=0',
      'B>A [SYN, ACK] seq=0 ack=1 len=0',
      'A>B [ACK] seq=1 ack=1 len=0',
    ]);
    expect(describeResult(w.result('A', callId))).toBe('0');
    expect(tsOf(w.segs[m]!.packet.tcp)).toBeDefined();
  });
});

describe('a server that closes first', () => {
  test('every connection leaves a TIME-WAIT on the server; new clients from new ports still connect; 2·MSL later they are gone', () => {
    const w = new Wire({ b: { mslMs: 30_000 } });
    const lfd = listenOn(w);
    const N = 20;
    for (let i = 0; i < N; i++) {
      const fd = w.ok('A', { op: 'socket' }) as number;
      w.ok('A', { op: 'bind', fd, port: 41_000 + i });
      const c = w.call('A', { op: 'connect', fd, addr: B_ADDR, port: SERVER_PORT });
      const a = w.call('B', { op: 'accept', fd: lfd });
      w.runUntil(() => w.result('A', c.callId) !== undefined && w.result('B', a.callId) !== undefined);
      const sfd = (okValue(w.result('B', a.callId)) as { fd: number }).fd;
      w.ok('B', { op: 'close', fd: sfd });
      w.runFor(2 * DELAY);
      w.ok('A', { op: 'close', fd });
      w.runFor(2 * DELAY);
    }
    const tw = w.sockets('B').filter((s) => s.state === 'TIME-WAIT');
    expect(tw.length).toBe(N);
    expect(new Set(tw.map((s) => s.remote.port)).size).toBe(N);
    expect(tw.every((s) => s.local.port === SERVER_PORT)).toBe(true);
    // The clients closed second: no TIME-WAIT on their side.
    expect(w.sockets('A')).toEqual([]);
    expect(w.state('B', lfd)).toBe('LISTEN');
    // 2·MSL (60 s) after the last one, only the listener is left.
    w.runFor(60_000);
    expect(w.sockets('B').map((s) => s.state)).toEqual(['LISTEN']);
  });
});
