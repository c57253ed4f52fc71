/**
 * Single-host tests in smoltcp's style: hand-made segments go in, and exactly the expected
 * segments must come out. The peer's ISN is 2^32 − 5 and ours 2^32 − 100, so numbers wrap.
 * Names follow `<STATE>: <event> -> <outcome>`.
 */
import { describe, expect, test } from 'vitest';
import {
  bytes,
  L,
  LOCAL_PORT,
  R,
  REMOTE_ADDR,
  REMOTE_PORT,
  Rig,
  rigEstablished,
  rigListen,
} from './harness.ts';

// =============================================================================================
// CLOSED (no socket)

describe('CLOSED', () => {
  test('CLOSED: SYN -> <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK>', () => {
    const r = new Rig();
    r.send({ flags: ['SYN'], seq: R(0) });
    r.expectSent([{ flags: ['RST', 'ACK'], seq: 0, ack: R(1), len: 0, why: 'rst' }]);
  });

  test('CLOSED: ACK with data -> <SEQ=SEG.ACK><CTL=RST>', () => {
    const r = new Rig();
    r.send({ flags: ['ACK'], seq: R(1), ack: L(7), payload: 'abc' });
    r.expectSent([{ flags: ['RST'], seq: L(7), len: 0 }]);
  });

  test('CLOSED: RST -> nothing', () => {
    const r = new Rig();
    r.send({ flags: ['RST'], seq: R(1) });
    r.expectNothing();
  });
});

// =============================================================================================
// LISTEN

describe('LISTEN', () => {
  test('LISTEN: SYN -> SYN-ACK, child in SYN-RECEIVED on the SYN queue', () => {
    const { r, lfd } = rigListen();
    r.send({ flags: ['SYN'], seq: R(0), options: [{ kind: 'mss', value: 1000 }] });
    r.expectSent([{ flags: ['SYN', 'ACK'], seq: L(0), ack: R(1), len: 0, why: 'syn-ack' }]);
    const l = r.sock(lfd);
    expect(l.state).toBe('LISTEN');
    expect(l.listen!.synQueue.length).toBe(1);
    const child = r.host.snapshot().sockets.find((s) => s.id === l.listen!.synQueue[0])!;
    expect(child.state).toBe('SYN-RECEIVED');
    expect(child.tcb.peerMss).toBe(1000);
  });

  test('LISTEN: ACK -> <SEQ=SEG.ACK><CTL=RST>', () => {
    const { r } = rigListen();
    r.send({ flags: ['ACK'], seq: R(1), ack: L(1) });
    r.expectSent([{ flags: ['RST'], seq: L(1) }]);
  });

  test('LISTEN: RST -> ignored', () => {
    const { r } = rigListen();
    r.send({ flags: ['RST'], seq: R(1) });
    r.expectNothing();
  });

  test('LISTEN: segment without SYN, ACK or RST -> dropped silently', () => {
    const { r } = rigListen();
    r.send({ flags: ['PSH'], seq: R(1), payload: 'x' });
    r.expectNothing();
  });
});

// =============================================================================================
// SYN-RECEIVED

describe('SYN-RECEIVED', () => {
  test('SYN-RECEIVED: ACK that does not acknowledge our SYN -> <SEQ=SEG.ACK><CTL=RST>', () => {
    const { r } = rigListen();
    r.send({ flags: ['SYN'], seq: R(0) });
    r.expectSent([{ flags: ['SYN', 'ACK'], seq: L(0), ack: R(1) }]);
    r.send({ flags: ['ACK'], seq: R(1), ack: L(5) });
    r.expectSent([{ flags: ['RST'], seq: L(5) }]);
  });

  test('SYN-RECEIVED: retransmitted SYN -> SYN-ACK again', () => {
    const { r } = rigListen();
    r.send({ flags: ['SYN'], seq: R(0) }, 0);
    r.expectSent([{ flags: ['SYN', 'ACK'], seq: L(0), ack: R(1) }]);
    r.send({ flags: ['SYN'], seq: R(0) }, 500);
    r.expectSent([{ flags: ['SYN', 'ACK'], seq: L(0), ack: R(1) }]);
  });

  test('SYN-RECEIVED: RST at RCV.NXT -> the half-open connection is dropped, the listener stays', () => {
    const { r, lfd } = rigListen();
    r.send({ flags: ['SYN'], seq: R(0) });
    r.expectSent([{ flags: ['SYN', 'ACK'] }]);
    r.send({ flags: ['RST'], seq: R(1) });
    r.expectNothing();
    expect(r.sock(lfd).listen).toEqual({ backlog: 128, synQueue: [], acceptQueue: [] });
    expect(r.host.snapshot().sockets.length).toBe(1);
  });

  test('SYN-RECEIVED: SYN-ACK retransmitted after 1 s, 2 s; dropped after synAckRetries', () => {
    const { r, lfd } = rigListen({ synAckRetries: 2 });
    r.send({ flags: ['SYN'], seq: R(0) }, 0);
    r.expectSent([{ flags: ['SYN', 'ACK'] }]);
    r.advanceTo(999);
    r.expectNothing();
    r.advanceTo(1_000);
    r.expectSent([{ flags: ['SYN', 'ACK'], seq: L(0), ack: R(1) }]);
    r.advanceTo(3_000);
    r.expectSent([{ flags: ['SYN', 'ACK'], seq: L(0), ack: R(1) }]);
    r.advanceTo(20_000);
    r.expectNothing();
    expect(r.sock(lfd).listen!.synQueue).toEqual([]);
  });

  test('SYN-RECEIVED: ACK with data -> ESTABLISHED and the data is readable after accept()', () => {
    const { r, lfd } = rigListen({ delayedAck: false });
    r.send({ flags: ['SYN'], seq: R(0) });
    r.expectSent([{ flags: ['SYN', 'ACK'] }]);
    r.send({ flags: ['ACK', 'PSH'], seq: R(1), ack: L(1), payload: 'early' });
    r.expectSent([{ flags: ['ACK'], seq: L(1), ack: R(6) }]);
    const fd = (r.ok({ op: 'accept', fd: lfd }) as { fd: number }).fd;
    expect(new TextDecoder().decode(r.ok({ op: 'recv', fd }) as Uint8Array)).toBe('early');
  });
});

// =============================================================================================
// SYN-SENT

describe('SYN-SENT', () => {
  function synSent(): { r: Rig; callId: number } {
    const r = new Rig();
    r.ok({ op: 'socket' });
    r.ok({ op: 'bind', fd: 3, port: LOCAL_PORT });
    const { callId, result } = r.call({ op: 'connect', fd: 3, addr: REMOTE_ADDR, port: REMOTE_PORT });
    expect(result).toBeUndefined();
    r.expectSent([{ flags: ['SYN'], seq: L(0), len: 0, why: 'syn' }]);
    return { r, callId };
  }

  test('SYN-SENT: SYN-ACK -> ESTABLISHED, ACK, connect() returns 0', () => {
    const { r, callId } = synSent();
    r.send({ flags: ['SYN', 'ACK'], seq: R(0), ack: L(1) }, 30);
    r.expectSent([{ flags: ['ACK'], seq: L(1), ack: R(1) }]);
    expect(r.result(callId)).toEqual({ ok: true, value: 0 });
    expect(r.sock(3).state).toBe('ESTABLISHED');
  });

  test('SYN-SENT: SYN-ACK with an unacceptable ACK -> <SEQ=SEG.ACK><CTL=RST>, still SYN-SENT', () => {
    const { r, callId } = synSent();
    r.send({ flags: ['SYN', 'ACK'], seq: R(0), ack: L(10) });
    r.expectSent([{ flags: ['RST'], seq: L(10) }]);
    expect(r.sock(3).state).toBe('SYN-SENT');
    expect(r.result(callId)).toBeUndefined();
  });

  test('SYN-SENT: RST without ACK -> ignored', () => {
    const { r, callId } = synSent();
    r.send({ flags: ['RST'], seq: R(0) });
    r.expectNothing();
    expect(r.sock(3).state).toBe('SYN-SENT');
    expect(r.result(callId)).toBeUndefined();
  });

  test('SYN-SENT: RST,ACK acknowledging the SYN -> CLOSED, connect() = ECONNREFUSED', () => {
    const { r, callId } = synSent();
    r.send({ flags: ['RST', 'ACK'], seq: 0, ack: L(1) });
    r.expectNothing();
    expect(r.sock(3).state).toBe('CLOSED');
    const res = r.result(callId);
    expect(res?.ok === false && res.errno).toBe('ECONNREFUSED');
  });

  test('SYN-SENT: SYN -> SYN-RECEIVED, SYN-ACK with our ISN (simultaneous open)', () => {
    const { r } = synSent();
    r.send({ flags: ['SYN'], seq: R(0) });
    r.expectSent([{ flags: ['SYN', 'ACK'], seq: L(0), ack: R(1) }]);
    expect(r.sock(3).state).toBe('SYN-RECEIVED');
  });
});

// =============================================================================================
// ESTABLISHED: RFC 5961

describe('ESTABLISHED: RFC 5961', () => {
  test('ESTABLISHED: RST at exactly RCV.NXT -> CLOSED, recv() = ECONNRESET', () => {
    const { r, fd } = rigEstablished();
    const pending = r.call({ op: 'recv', fd });
    r.send({ flags: ['RST'], seq: R(1) });
    r.expectNothing();
    expect(r.sock(fd).state).toBe('CLOSED');
    const res = r.result(pending.callId);
    expect(res?.ok === false && res.errno).toBe('ECONNRESET');
  });

  test('ESTABLISHED: RST in the window but not at RCV.NXT -> challenge ACK, still ESTABLISHED (§3.2)', () => {
    const { r, fd } = rigEstablished();
    r.send({ flags: ['RST'], seq: R(100) });
    r.expectSent([{ flags: ['ACK'], seq: L(1), ack: R(1), len: 0, why: 'challenge-ack' }]);
    expect(r.sock(fd).state).toBe('ESTABLISHED');
    // A RST with the exact sequence number (what a real peer sends after the challenge) resets.
    r.send({ flags: ['RST'], seq: R(1) });
    expect(r.sock(fd).state).toBe('CLOSED');
  });

  test('ESTABLISHED: RST outside the window -> silently dropped', () => {
    const { r, fd } = rigEstablished();
    r.send({ flags: ['RST'], seq: R(-1_000) });
    r.send({ flags: ['RST'], seq: R(200_000) });
    r.expectNothing();
    expect(r.sock(fd).state).toBe('ESTABLISHED');
  });

  test('ESTABLISHED: SYN in the window -> challenge ACK, still ESTABLISHED (§4)', () => {
    const { r, fd } = rigEstablished();
    r.send({ flags: ['SYN'], seq: R(1) });
    r.expectSent([{ flags: ['ACK'], seq: L(1), ack: R(1), why: 'challenge-ack' }]);
    r.send({ flags: ['SYN'], seq: R(5_000) });
    r.expectSent([{ flags: ['ACK'], seq: L(1), ack: R(1), why: 'challenge-ack' }]);
    expect(r.sock(fd).state).toBe('ESTABLISHED');
  });

  test('ESTABLISHED: SYN outside the window -> an ACK, still ESTABLISHED', () => {
    const { r, fd } = rigEstablished();
    r.send({ flags: ['SYN'], seq: R(-50_000) });
    r.expectSent([{ flags: ['ACK'], seq: L(1), ack: R(1) }]);
    expect(r.sock(fd).state).toBe('ESTABLISHED');
  });

  test('ESTABLISHED: ACK of data never sent -> ACK, segment (and its data) dropped (§5.2)', () => {
    const { r, fd } = rigEstablished({ delayedAck: false });
    r.send({ flags: ['ACK'], seq: R(1), ack: L(1_000), payload: 'evil' });
    r.expectSent([{ flags: ['ACK'], seq: L(1), ack: R(1) }]);
    expect(r.sock(fd).buffers.readable).toBe(0);
  });

  test('ESTABLISHED: ACK older than SND.UNA − MAX.SND.WND -> ACK, segment (and its data) dropped (§5.2)', () => {
    const { r, fd } = rigEstablished({ delayedAck: false });
    r.send({ flags: ['ACK'], seq: R(1), ack: L(1 - 70_000), payload: 'evil' });
    r.expectSent([{ flags: ['ACK'], seq: L(1), ack: R(1) }]);
    expect(r.sock(fd).buffers.readable).toBe(0);
  });

  test('ESTABLISHED: data at RCV.NXT across the wrap -> delivered and ACKed', () => {
    const { r, fd } = rigEstablished({ delayedAck: false });
    r.send({ flags: ['ACK', 'PSH'], seq: R(1), ack: L(1), payload: 'abcdefgh' });
    r.expectSent([{ flags: ['ACK'], seq: L(1), ack: R(9) }]);
    expect(R(9)).toBe(4); // the peer's numbers wrapped
    expect(r.ok({ op: 'recv', fd })).toEqual(bytes('abcdefgh'));
  });

  test('ESTABLISHED: out-of-order data -> duplicate ACK at once; the hole filled -> cumulative ACK', () => {
    const { r, fd } = rigEstablished();
    r.send({ flags: ['ACK'], seq: R(4), ack: L(1), payload: 'def' });
    r.expectSent([{ flags: ['ACK'], seq: L(1), ack: R(1), why: 'dup-ack' }]);
    r.send({ flags: ['ACK'], seq: R(1), ack: L(1), payload: 'abc' });
    r.expectSent([{ flags: ['ACK'], seq: L(1), ack: R(7) }]);
    expect(r.ok({ op: 'recv', fd })).toEqual(bytes('abcdef'));
  });

  test('ESTABLISHED: a segment entirely before RCV.NXT -> duplicate ACK, data not delivered twice', () => {
    const { r, fd } = rigEstablished({ delayedAck: false });
    r.send({ flags: ['ACK'], seq: R(1), ack: L(1), payload: 'abc' });
    r.expectSent([{ flags: ['ACK'], ack: R(4) }]);
    r.send({ flags: ['ACK'], seq: R(1), ack: L(1), payload: 'abc' });
    r.expectSent([{ flags: ['ACK'], seq: L(1), ack: R(4) }]);
    expect(r.ok({ op: 'recv', fd })).toEqual(bytes('abc'));
  });
});

// =============================================================================================
// TIME-WAIT

describe('TIME-WAIT', () => {
  /** Our close(), the peer's ACK and FIN: TIME-WAIT at t=100. */
  function timeWait(): Rig {
    const { r, fd } = rigEstablished();
    r.ok({ op: 'close', fd });
    r.expectSent([{ flags: ['FIN', 'ACK'], seq: L(1), ack: R(1) }]);
    r.send({ flags: ['ACK'], seq: R(1), ack: L(2) }, 50);
    r.send({ flags: ['FIN', 'ACK'], seq: R(1), ack: L(2) }, 100);
    r.expectSent([{ flags: ['ACK'], seq: L(2), ack: R(2) }]);
    expect(r.host.snapshot().sockets.map((s) => s.state)).toContain('TIME-WAIT');
    return r;
  }

  test('TIME-WAIT: retransmitted FIN -> ACK again, 2·MSL restarts', () => {
    const r = timeWait();
    r.send({ flags: ['FIN', 'ACK'], seq: R(1), ack: L(2) }, 10_000);
    r.expectSent([{ flags: ['ACK'], seq: L(2), ack: R(2) }]);
    r.advanceTo(10_000 + 60_000 - 1);
    expect(r.host.snapshot().sockets.map((s) => s.state)).toContain('TIME-WAIT');
    r.advanceTo(10_000 + 60_000);
    expect(r.host.snapshot().sockets.map((s) => s.state)).toEqual(['LISTEN']);
  });

  test('TIME-WAIT: RST -> ignored or closes, but never answered (RFC 1337 / Linux)', () => {
    const r = timeWait();
    r.send({ flags: ['RST'], seq: R(2) }, 1_000);
    r.expectNothing();
  });
});
