/**
 * The socket API: errno results, blocking calls that finish later as 'return' events,
 * non-blocking mode, and port reuse (EADDRINUSE with TIME-WAIT, SO_REUSEADDR).
 */
import { describe, expect, test } from 'vitest';
import type { CallResult, Errno } from '../../shared/tcp/types.ts';
import {
  B_ADDR,
  bytes,
  CLIENT_PORT,
  connected,
  DELAY,
  errnoOf,
  listenOn,
  okValue,
  pattern,
  SERVER_PORT,
  text,
  Wire,
} from './harness.ts';

function expectErr(r: CallResult | undefined, errno: Errno): void {
  expect(errnoOf(r), r && !r.ok ? r.message : '').toBe(errno);
  if (r && !r.ok) expect(r.message.length).toBeGreaterThan(0);
}

describe('errno results', () => {
  test('EBADF: a descriptor that is not open, or closed already', () => {
    const w = new Wire();
    expectErr(w.do('A', { op: 'recv', fd: 42 }), 'EBADF');
    expectErr(w.do('A', { op: 'close', fd: 0 }), 'EBADF');
    const fd = w.ok('A', { op: 'socket' }) as number;
    w.ok('A', { op: 'close', fd });
    expectErr(w.do('A', { op: 'close', fd }), 'EBADF');
    expectErr(w.do('A', { op: 'send', fd, data: bytes('x') }), 'EBADF');
    // Another process's descriptor table does not have it either.
    const fd2 = w.ok('A', { op: 'socket' }) as number;
    expectErr(w.do('A', { op: 'recv', fd: fd2, pid: 1 }), 'ENOTCONN');
    const pid = w.ok('A', { op: 'fork' }) as number;
    w.ok('A', { op: 'close', fd: fd2, pid });
    expectErr(w.do('A', { op: 'recv', fd: fd2, pid }), 'EBADF');
  });

  test('ENOTCONN: recv() and shutdown() on a socket that never connected; recv() on a listener', () => {
    const w = new Wire();
    const fd = w.ok('A', { op: 'socket' }) as number;
    expectErr(w.do('A', { op: 'recv', fd }), 'ENOTCONN');
    expectErr(w.do('A', { op: 'shutdown', fd, how: 'SHUT_WR' }), 'ENOTCONN');
    const lfd = listenOn(w);
    expectErr(w.do('B', { op: 'recv', fd: lfd }), 'ENOTCONN');
  });

  test('EPIPE: send() on a socket that never connected (Linux sk_stream_wait_connect)', () => {
    const w = new Wire();
    const fd = w.ok('A', { op: 'socket' }) as number;
    expectErr(w.do('A', { op: 'send', fd, data: bytes('x') }), 'EPIPE');
  });

  test('EINVAL: bind twice, listen() on a connected socket, accept() on a non-listening socket', () => {
    const { w, cfd } = connected();
    const fd = w.ok('A', { op: 'socket' }) as number;
    w.ok('A', { op: 'bind', fd, port: 5000 });
    expectErr(w.do('A', { op: 'bind', fd, port: 5001 }), 'EINVAL');
    expectErr(w.do('A', { op: 'listen', fd: cfd }), 'EINVAL');
    expectErr(w.do('A', { op: 'accept', fd }), 'EINVAL');
    expectErr(w.do('A', { op: 'accept', fd: cfd }), 'EINVAL');
    expectErr(w.do('A', { op: 'shutdown', fd: cfd, how: 'SHUT_SIDEWAYS' as unknown as 'SHUT_WR' }), 'EINVAL');
  });

  test('EISCONN: connect() on a connected socket', () => {
    const { w, cfd, sfd } = connected();
    expectErr(w.do('A', { op: 'connect', fd: cfd, addr: B_ADDR, port: SERVER_PORT }), 'EISCONN');
    expectErr(w.do('B', { op: 'connect', fd: sfd, addr: B_ADDR, port: 9 }), 'EISCONN');
  });

  test('EPIPE: send() after shutdown(SHUT_WR); recv() still works', () => {
    const { w, cfd, sfd } = connected();
    w.ok('A', { op: 'shutdown', fd: cfd, how: 'SHUT_WR' });
    expectErr(w.do('A', { op: 'send', fd: cfd, data: bytes('x') }), 'EPIPE');
    w.ok('B', { op: 'send', fd: sfd, data: bytes('hi') });
    w.runFor(500);
    expect(text(okValue(w.do('A', { op: 'recv', fd: cfd })) as Uint8Array)).toBe('hi');
  });

  test('recv() into a buffer copies there and returns the count, as recv(2) does', () => {
    const { w, cfd, sfd } = connected();
    w.ok('B', { op: 'send', fd: sfd, data: bytes('hello world') });
    w.runFor(500);
    const buf = new Uint8Array(5).fill(0xee);
    expect(w.do('A', { op: 'recv', fd: cfd, into: buf, peek: true })).toEqual({ ok: true, value: 5 });
    expect(text(buf)).toBe('hello');
    buf.fill(0xee);
    expect(w.do('A', { op: 'recv', fd: cfd, into: buf, max: 3 })).toEqual({ ok: true, value: 3 });
    expect([...buf]).toEqual([...bytes('hel'), 0xee, 0xee]);
    const rest = new Uint8Array(64);
    expect(w.do('A', { op: 'recv', fd: cfd, into: rest })).toEqual({ ok: true, value: 8 });
    expect(text(rest.subarray(0, 8))).toBe('lo world');
    expectErr(w.do('A', { op: 'recv', fd: cfd, into: 'x' as unknown as Uint8Array }), 'EINVAL');
    w.ok('B', { op: 'shutdown', fd: sfd, how: 'SHUT_WR' });
    w.runFor(500);
    expect(w.do('A', { op: 'recv', fd: cfd, into: rest })).toEqual({ ok: true, value: 0 });
  });

  test('shutdown(SHUT_RD): recv() returns 0 bytes at once, send() still works', () => {
    const { w, cfd, sfd } = connected();
    w.ok('A', { op: 'shutdown', fd: cfd, how: 'SHUT_RD' });
    expect(w.do('A', { op: 'recv', fd: cfd })).toEqual({ ok: true, value: new Uint8Array(0) });
    w.ok('A', { op: 'send', fd: cfd, data: bytes('out') });
    w.runFor(500);
    expect(text(okValue(w.do('B', { op: 'recv', fd: sfd })) as Uint8Array)).toBe('out');
  });

  test('ECONNRESET after a reset is reported once; later recv() returns EOF (Linux)', () => {
    const { w, cfd, sfd } = connected();
    w.ok('B', { op: 'setsockopt', fd: sfd, opt: 'SO_LINGER', value: { onoff: true, lingerSec: 0 } });
    w.ok('B', { op: 'close', fd: sfd });
    w.runFor(500);
    expectErr(w.do('A', { op: 'recv', fd: cfd }), 'ECONNRESET');
    expect(w.do('A', { op: 'recv', fd: cfd })).toEqual({ ok: true, value: new Uint8Array(0) });
    expectErr(w.do('A', { op: 'send', fd: cfd, data: bytes('x') }), 'EPIPE');
  });
});

describe('non-blocking sockets', () => {
  test('EAGAIN from recv() and accept(); EINPROGRESS from connect()', () => {
    const w = new Wire();
    const lfd = w.ok('B', { op: 'socket', nonblocking: true }) as number;
    w.ok('B', { op: 'bind', fd: lfd, port: SERVER_PORT });
    w.ok('B', { op: 'listen', fd: lfd });
    expectErr(w.do('B', { op: 'accept', fd: lfd }), 'EAGAIN');
    const cfd = w.ok('A', { op: 'socket' }) as number;
    w.ok('A', { op: 'setsockopt', fd: cfd, opt: 'O_NONBLOCK', value: true });
    expectErr(w.do('A', { op: 'connect', fd: cfd, addr: B_ADDR, port: SERVER_PORT }), 'EINPROGRESS');
    expectErr(w.do('A', { op: 'connect', fd: cfd, addr: B_ADDR, port: SERVER_PORT }), 'EALREADY');
    w.runFor(500);
    // After the handshake, connect() reports EISCONN and SO_ERROR is 0.
    expectErr(w.do('A', { op: 'connect', fd: cfd, addr: B_ADDR, port: SERVER_PORT }), 'EISCONN');
    expect(w.ok('A', { op: 'getsockopt', fd: cfd, opt: 'SO_ERROR' })).toBe(0);
    const sfd = (okValue(w.do('B', { op: 'accept', fd: lfd })) as { fd: number }).fd;
    // An accepted socket does not inherit O_NONBLOCK on Linux, but recv() on the
    // non-blocking client does return EAGAIN.
    expectErr(w.do('A', { op: 'recv', fd: cfd }), 'EAGAIN');
    w.ok('B', { op: 'send', fd: sfd, data: bytes('x') });
    w.runFor(500);
    expect(w.do('A', { op: 'recv', fd: cfd })).toEqual({ ok: true, value: bytes('x') });
  });

  test('send() with a full send buffer: a partial count, then EAGAIN', () => {
    const { w, cfd } = connected({}, (w, cfd, lfd) => {
      w.ok('A', { op: 'setsockopt', fd: cfd, opt: 'SO_SNDBUF', value: 4_000 });
      w.ok('B', { op: 'setsockopt', fd: lfd, opt: 'SO_RCVBUF', value: 1_000 });
    });
    w.ok('A', { op: 'setsockopt', fd: cfd, opt: 'O_NONBLOCK', value: true });
    expect(w.do('A', { op: 'send', fd: cfd, data: pattern(10_000) })).toEqual({ ok: true, value: 4_000 });
    expectErr(w.do('A', { op: 'send', fd: cfd, data: pattern(10) }), 'EAGAIN');
  });
});

describe('blocking calls finish later as return events', () => {
  test('recv() blocks until data arrives; blockedMs says how long', () => {
    const { w, cfd, sfd } = connected();
    const t0 = w.now;
    const r = w.call('B', { op: 'recv', fd: sfd });
    expect(r.result).toBeUndefined();
    expect(
      w
        .host('B')
        .snapshot()
        .pendingCalls.map((c) => c.op),
    ).toEqual(['recv']);
    w.runFor(1_000);
    w.ok('A', { op: 'send', fd: cfd, data: bytes('late') });
    w.runFor(1_000);
    expect(w.result('B', r.callId)).toEqual({ ok: true, value: bytes('late') });
    const ev = w.events.find((e) => e.type === 'return' && e.side === 'B' && e.callId === r.callId);
    expect(ev?.type === 'return' && [ev.t - t0, ev.blockedMs]).toEqual([1_000 + DELAY, 1_000 + DELAY]);
    expect(w.host('B').snapshot().pendingCalls).toEqual([]);
  });

  test('send() blocks while the send buffer is full and returns the full count once it drains', () => {
    const { w, cfd, sfd } = connected({}, (w, cfd, lfd) => {
      w.ok('A', { op: 'setsockopt', fd: cfd, opt: 'SO_SNDBUF', value: 4_000 });
      w.ok('B', { op: 'setsockopt', fd: lfd, opt: 'SO_RCVBUF', value: 3_000 });
    });
    const data = pattern(12_000);
    const s = w.call('A', { op: 'send', fd: cfd, data });
    expect(s.result).toBeUndefined();
    w.runFor(2_000);
    expect(w.result('A', s.callId)).toBeUndefined();
    // The receiver reads; the window opens, the buffer drains, send() completes.
    const got: number[] = [];
    for (let i = 0; i < 50 && got.length < data.length; i++) {
      const r = w.do('B', { op: 'recv', fd: sfd });
      if (r.ok) got.push(...(r.value as Uint8Array));
      w.runFor(1_000);
    }
    expect(w.result('A', s.callId)).toEqual({ ok: true, value: 12_000 });
    expect(got).toEqual([...data]);
  });

  test('accept() and connect() block until the handshake completes', () => {
    const w = new Wire();
    const lfd = listenOn(w);
    const acc = w.call('B', { op: 'accept', fd: lfd });
    w.runFor(5_000);
    expect(w.result('B', acc.callId)).toBeUndefined();
    const cfd = w.ok('A', { op: 'socket' }) as number;
    const c = w.call('A', { op: 'connect', fd: cfd, addr: B_ADDR, port: SERVER_PORT });
    expect(c.result).toBeUndefined();
    w.runFor(1_000);
    expect(w.result('A', c.callId)).toEqual({ ok: true, value: 0 });
    expect(okValue(w.result('B', acc.callId))).toMatchObject({ fd: 4 });
  });

  test('a blocked recv() returns 0 bytes (EOF) when the peer closes', () => {
    const { w, cfd, sfd } = connected();
    const r = w.call('A', { op: 'recv', fd: cfd });
    w.ok('B', { op: 'close', fd: sfd });
    w.runFor(500);
    expect(w.result('A', r.callId)).toEqual({ ok: true, value: new Uint8Array(0) });
  });
});

describe('port reuse', () => {
  /** A closes first, so A's port CLIENT_PORT is held by TIME-WAIT. */
  function inTimeWait(reuse: boolean): Wire {
    const { w, cfd, sfd } = connected({}, (w, cfd) => {
      if (reuse) w.ok('A', { op: 'setsockopt', fd: cfd, opt: 'SO_REUSEADDR', value: true });
    });
    w.ok('A', { op: 'close', fd: cfd });
    w.ok('B', { op: 'close', fd: sfd });
    w.runFor(1_000);
    expect(w.sockets('A').map((s) => s.state)).toEqual(['TIME-WAIT']);
    return w;
  }

  test('EADDRINUSE: bind() to a port held by TIME-WAIT without SO_REUSEADDR', () => {
    const w = inTimeWait(false);
    const fd = w.ok('A', { op: 'socket' }) as number;
    const r = w.do('A', { op: 'bind', fd, port: CLIENT_PORT });
    expectErr(r, 'EADDRINUSE');
    expect(r.ok === false && r.message).toMatch(/TIME-WAIT/);
    // SO_REUSEADDR on the new socket alone is not enough: the old one did not set it.
    w.ok('A', { op: 'setsockopt', fd, opt: 'SO_REUSEADDR', value: true });
    expectErr(w.do('A', { op: 'bind', fd, port: CLIENT_PORT }), 'EADDRINUSE');
    // After 2·MSL the port is free.
    w.runFor(60_000);
    expect(w.do('A', { op: 'bind', fd, port: CLIENT_PORT })).toEqual({ ok: true, value: 0 });
  });

  test('SO_REUSEADDR on both sockets: bind() succeeds while the old connection is in TIME-WAIT', () => {
    const w = inTimeWait(true);
    const fd = w.ok('A', { op: 'socket' }) as number;
    w.ok('A', { op: 'setsockopt', fd, opt: 'SO_REUSEADDR', value: true });
    expect(w.do('A', { op: 'bind', fd, port: CLIENT_PORT })).toEqual({ ok: true, value: 0 });
  });

  test('EADDRINUSE: bind() to a port another socket listens on, even with SO_REUSEADDR', () => {
    const w = new Wire();
    listenOn(w, 'B');
    const fd = w.ok('B', { op: 'socket' }) as number;
    expectErr(w.do('B', { op: 'bind', fd, port: SERVER_PORT }), 'EADDRINUSE');
    w.ok('B', { op: 'setsockopt', fd, opt: 'SO_REUSEADDR', value: true });
    expectErr(w.do('B', { op: 'bind', fd, port: SERVER_PORT }), 'EADDRINUSE');
  });
});
