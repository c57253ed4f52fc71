/**
 * Socket options through the API, on the two-host test wire (textbook profile, RTT 100 ms):
 * SO_RCVBUF / SO_SNDBUF, TCP_CORK, TCP_MAXSEG, TCP_USER_TIMEOUT, SO_KEEPALIVE, SO_ERROR,
 * SO_LINGER with a timeout, O_NONBLOCK, and the errnos for bad or unknown options. Linux
 * behaviour where the RFCs say nothing (tcp.c do_tcp_setsockopt, tcp_timer.c, tcp_output.c).
 */
import { describe, expect, test } from 'vitest';
import type { SockOpt } from '../../shared/tcp/types.ts';
import {
  B_ADDR,
  bytes,
  connected,
  DELAY,
  describeResult,
  errnoOf,
  listenOn,
  optionsText,
  pattern,
  SERVER_PORT,
  Wire,
} from './harness.ts';

const MSS = 1460;

describe('SO_RCVBUF and SO_SNDBUF', () => {
  test('SO_RCVBUF on the listener: the SYN-ACK and every ACK advertise the smaller buffer', () => {
    const { w, sfd, cfd } = connected({}, (w, _c, lfd) => {
      w.ok('B', { op: 'setsockopt', fd: lfd, opt: 'SO_RCVBUF', value: 4000 });
    });
    expect(w.segs[1]!.packet.tcp.window).toBe(4000);
    expect(w.ok('B', { op: 'getsockopt', fd: sfd, opt: 'SO_RCVBUF' })).toBe(4000);
    const m = w.mark();
    w.ok('A', { op: 'send', fd: cfd, data: pattern(6000) });
    w.runFor(200);
    // Two full segments fit in 4000 bytes; the 1080 left is less than half the largest window
    // offered, so the sender waits (RFC 9293 §3.8.6.2.1; Linux tcp_snd_wnd_test does the same).
    // (PSH left out: which segment of a window-limited burst carries it is not the point.)
    expect(
      w.segs.slice(m).map((s) => `${s.text.replace('PSH, ', '')} win=${s.packet.tcp.window}`),
      w.ladderText(),
    ).toEqual([
      'A>B [ACK] seq=1 ack=1 len=1460 win=65535',
      'A>B [ACK] seq=1461 ack=1 len=1460 win=65535',
      'B>A [ACK] seq=1 ack=2921 len=0 win=1080',
    ]);
    expect(w.sock('A', cfd).buffers.unsent).toBe(6000 - 2920);
  });

  test('SO_SNDBUF: a blocking send() takes what fits and finishes as ACKs free the buffer', () => {
    const { w, cfd } = connected({ b: { delayedAck: false } }, (w, cfd) => {
      w.ok('A', { op: 'setsockopt', fd: cfd, opt: 'SO_SNDBUF', value: 3000 });
    });
    const t0 = w.now;
    const call = w.call('A', { op: 'send', fd: cfd, data: pattern(7000) });
    expect(call.result).toBeUndefined();
    expect(w.sock('A', cfd).buffers.sendQueued).toBe(3000);
    w.runUntil(() => w.result('A', call.callId) !== undefined);
    expect(describeResult(w.result('A', call.callId))).toBe('7000');
    // 3000 bytes per round trip: the call finishes when the third batch is queued, 2 RTTs later.
    expect(w.now - t0).toBe(2 * 2 * DELAY);
    const ret = w.events.find((e) => e.type === 'return' && e.side === 'A' && e.callId === call.callId);
    expect(ret?.type === 'return' && ret.blockedMs).toBe(4 * DELAY);
  });

  test('SO_SNDBUF, non-blocking: send() returns the bytes that fit, then EAGAIN', () => {
    const { w, cfd } = connected({}, (w, cfd) => {
      w.ok('A', { op: 'setsockopt', fd: cfd, opt: 'SO_SNDBUF', value: 3000 });
    });
    w.ok('A', { op: 'setsockopt', fd: cfd, opt: 'O_NONBLOCK', value: true });
    expect(w.ok('A', { op: 'send', fd: cfd, data: pattern(7000) })).toBe(3000);
    expect(errnoOf(w.do('A', { op: 'send', fd: cfd, data: pattern(10) }))).toBe('EAGAIN');
    w.runFor(2 * DELAY + 50);
    expect(w.ok('A', { op: 'send', fd: cfd, data: pattern(10) })).toBe(10);
  });
});

describe('TCP_CORK', () => {
  test('partial segments wait while corked; full ones go; uncorking sends the rest at once', () => {
    const { w, cfd } = connected();
    w.ok('A', { op: 'setsockopt', fd: cfd, opt: 'TCP_CORK', value: 1 });
    const m = w.mark();
    w.ok('A', { op: 'send', fd: cfd, data: bytes('GET / HTTP/1.1\r\n') });
    w.ok('A', { op: 'send', fd: cfd, data: bytes('Host: b\r\n\r\n') });
    w.runFor(150);
    expect(w.ladder(m)).toEqual([]);
    w.ok('A', { op: 'send', fd: cfd, data: pattern(MSS) });
    // The 27 corked bytes and the first 1433 new ones make a full segment, which may go.
    expect(w.ladder(m).map((l) => l.replace('PSH, ', ''))).toEqual(['A>B [ACK] seq=1 ack=1 len=1460']);
    const t1 = w.now;
    w.ok('A', { op: 'setsockopt', fd: cfd, opt: 'TCP_CORK', value: 0 });
    expect(w.segs.slice(m + 1).map((s) => [s.t - t1, s.text])).toEqual([
      [0, 'A>B [PSH, ACK] seq=1461 ack=1 len=27'],
    ]);
  });
});

describe('TCP_MAXSEG', () => {
  test('set before connect(): the SYN advertises it and both directions use it', () => {
    const { w, cfd, sfd } = connected({}, (w, cfd) => {
      w.ok('A', { op: 'setsockopt', fd: cfd, opt: 'TCP_MAXSEG', value: 1000 });
    });
    // Linux tcp_advertise_mss / tcp_connect_init: the SYN's MSS is clamped to user_mss.
    expect(optionsText(w.segs[0]!.packet.tcp.options)).toBe('mss 1000');
    expect(w.ok('A', { op: 'getsockopt', fd: cfd, opt: 'TCP_MAXSEG' })).toBe(1000);
    const m = w.mark();
    w.ok('A', { op: 'send', fd: cfd, data: pattern(2500) });
    w.ok('B', { op: 'send', fd: sfd, data: pattern(2500) });
    w.runFor(300);
    expect(
      w.segs
        .slice(m)
        .filter((s) => s.len > 0)
        .map((s) => `${s.from} ${s.len}`),
    ).toEqual(['A 1000', 'A 1000', 'A 500', 'B 1000', 'B 1000', 'B 500']);
  });

  test('set on a listener: the SYN-ACK advertises it', () => {
    const { w } = connected({}, (w, _c, lfd) => {
      w.ok('B', { op: 'setsockopt', fd: lfd, opt: 'TCP_MAXSEG', value: 536 });
    });
    expect(optionsText(w.segs[1]!.packet.tcp.options)).toBe('mss 536');
  });

  test.each([
    [87, 'EINVAL'],
    [88, 'ok'],
    [32_767, 'ok'],
    [32_768, 'EINVAL'],
    [-1, 'EINVAL'],
    [0, 'ok'],
  ])('TCP_MAXSEG %i -> %s (Linux: 0 or TCP_MIN_MSS..MAX_TCP_WINDOW)', (value, want) => {
    const w = new Wire();
    const fd = w.ok('A', { op: 'socket' }) as number;
    expect(errnoOf(w.do('A', { op: 'setsockopt', fd, opt: 'TCP_MAXSEG', value }))).toBe(want);
  });
});

describe('TCP_USER_TIMEOUT', () => {
  test('unacknowledged data older than the timeout aborts with ETIMEDOUT at the timeout (Linux clamps the RTO to it)', () => {
    const { w, cfd } = connected({}, (w, cfd) => {
      w.ok('A', { op: 'setsockopt', fd: cfd, opt: 'TCP_USER_TIMEOUT', value: 1000 });
    });
    w.drop((s) => s.from === 'A' && s.len > 0, Number.POSITIVE_INFINITY);
    const pending = w.call('A', { op: 'recv', fd: cfd });
    const m = w.mark();
    const t0 = w.now;
    w.ok('A', { op: 'send', fd: cfd, data: bytes('hello') });
    w.runFor(10_000);
    // RTO 300 ms, doubling: resends at 300 and 900; the next timer is clamped to the user
    // timeout (tcp_clamp_rto_to_user_timeout) and fires at 1000: no more resends, no RST.
    expect(w.segs.slice(m).map((s) => [s.t - t0, s.text])).toEqual([
      [0, 'A>B [PSH, ACK] seq=1 ack=1 len=5'],
      [300, 'A>B [PSH, ACK] seq=1 ack=1 len=5'],
      [900, 'A>B [PSH, ACK] seq=1 ack=1 len=5'],
    ]);
    expect(errnoOf(w.result('A', pending.callId))).toBe('ETIMEDOUT');
    const ret = w.log.find((e) => e.kind === 'return' && e.side === 'A' && e.callId === pending.callId)!;
    expect(ret.t - t0).toBe(1000);
    expect(w.state('A', cfd)).toBe('CLOSED');
  });

  test('getsockopt returns it; a negative value is EINVAL', () => {
    const w = new Wire();
    const fd = w.ok('A', { op: 'socket' }) as number;
    w.ok('A', { op: 'setsockopt', fd, opt: 'TCP_USER_TIMEOUT', value: 5000 });
    expect(w.ok('A', { op: 'getsockopt', fd, opt: 'TCP_USER_TIMEOUT' })).toBe(5000);
    expect(errnoOf(w.do('A', { op: 'setsockopt', fd, opt: 'TCP_USER_TIMEOUT', value: -1 }))).toBe('EINVAL');
  });
});

describe('SO_KEEPALIVE (idle 1 s, interval 500 ms, 3 probes)', () => {
  const KA = { keepaliveIdleMs: 1000, keepaliveIntervalMs: 500, keepaliveProbes: 3 };

  test('a dead peer: probes with SEG.SEQ = SND.UNA − 1 and no data, then RST and ETIMEDOUT (Linux tcp_keepalive_timer)', () => {
    const { w, cfd } = connected({ a: KA });
    const t0 = w.now;
    w.ok('A', { op: 'setsockopt', fd: cfd, opt: 'SO_KEEPALIVE', value: 1 });
    const pending = w.call('A', { op: 'recv', fd: cfd });
    const m = w.mark();
    w.drop((s) => s.from === 'A', Number.POSITIVE_INFINITY);
    w.runFor(10_000);
    expect(w.segs.slice(m).map((s) => [s.t - t0, s.text, s.why])).toEqual([
      [1000, 'A>B [ACK] seq=0 ack=1 len=0', 'keepalive'],
      [1500, 'A>B [ACK] seq=0 ack=1 len=0', 'keepalive'],
      [2000, 'A>B [ACK] seq=0 ack=1 len=0', 'keepalive'],
      // Linux gives up after keepalive_probes unanswered probes, with tcp_send_active_reset.
      [2500, 'A>B [RST, ACK] seq=1 ack=1 len=0', 'rst'],
    ]);
    expect(errnoOf(w.result('A', pending.callId))).toBe('ETIMEDOUT');
    expect(w.state('A', cfd)).toBe('CLOSED');
  });

  test('an answering peer keeps the connection: each answer restarts the idle time', () => {
    const { w, cfd, sfd } = connected({ a: KA });
    const t0 = w.now;
    w.ok('A', { op: 'setsockopt', fd: cfd, opt: 'SO_KEEPALIVE', value: 1 });
    const m = w.mark();
    w.runFor(4_500);
    // The answer to a probe arrives 100 ms after it; the next probe is due one idle time after
    // the last segment received (Linux keepalive_time_elapsed uses icsk_ack.lrcvtime), and an
    // answered probe resets the probe count.
    expect(
      w.segs.slice(m).map((s) => [s.t - t0, s.text, s.why]),
      w.ladderText(),
    ).toEqual([
      [1000, 'A>B [ACK] seq=0 ack=1 len=0', 'keepalive'],
      [1050, 'B>A [ACK] seq=1 ack=1 len=0', 'dup-ack'],
      [2100, 'A>B [ACK] seq=0 ack=1 len=0', 'keepalive'],
      [2150, 'B>A [ACK] seq=1 ack=1 len=0', 'dup-ack'],
      [3200, 'A>B [ACK] seq=0 ack=1 len=0', 'keepalive'],
      [3250, 'B>A [ACK] seq=1 ack=1 len=0', 'dup-ack'],
      [4300, 'A>B [ACK] seq=0 ack=1 len=0', 'keepalive'],
      [4350, 'B>A [ACK] seq=1 ack=1 len=0', 'dup-ack'],
    ]);
    expect(w.state('A', cfd)).toBe('ESTABLISHED');
    expect(w.state('B', sfd)).toBe('ESTABLISHED');
  });

  test('set before connect(): the timer starts when the connection is established (Linux tcp_finish_connect)', () => {
    const { w, cfd } = connected({ a: KA }, (w, cfd) => {
      w.ok('A', { op: 'setsockopt', fd: cfd, opt: 'SO_KEEPALIVE', value: 1 });
    });
    // A became ESTABLISHED at 100 (SYN-ACK received).
    expect(w.sock('A', cfd).timers.keepalive).toBe(2 * DELAY + 1000);
    const m = w.mark();
    w.run(2 * DELAY + 1000);
    expect(w.segs.slice(m).map((s) => [s.t, s.text, s.why])).toEqual([
      [2 * DELAY + 1000, 'A>B [ACK] seq=0 ack=1 len=0', 'keepalive'],
    ]);
  });

  test('set on a listener: accepted connections inherit it', () => {
    const { w, sfd } = connected({ b: KA }, (w, _c, lfd) => {
      w.ok('B', { op: 'setsockopt', fd: lfd, opt: 'SO_KEEPALIVE', value: 1 });
    });
    expect(w.ok('B', { op: 'getsockopt', fd: sfd, opt: 'SO_KEEPALIVE' })).toBe(1);
    // B became ESTABLISHED at 150 (the handshake's ACK).
    expect(w.sock('B', sfd).timers.keepalive).toBe(3 * DELAY + 1000);
  });
});

describe('SO_ERROR', () => {
  test('after a refused non-blocking connect: ECONNREFUSED once, then 0', () => {
    const w = new Wire();
    const fd = w.ok('A', { op: 'socket', nonblocking: true }) as number;
    expect(errnoOf(w.do('A', { op: 'connect', fd, addr: B_ADDR, port: SERVER_PORT }))).toBe('EINPROGRESS');
    w.runFor(500);
    expect(w.ladder()).toEqual(['A>B [SYN] seq=0 len=0', 'B>A [RST, ACK] seq=0 ack=1 len=0']);
    expect(w.ok('A', { op: 'getsockopt', fd, opt: 'SO_ERROR' })).toBe('ECONNREFUSED');
    expect(w.ok('A', { op: 'getsockopt', fd, opt: 'SO_ERROR' })).toBe(0);
  });

  test('after a successful non-blocking connect: 0', () => {
    const w = new Wire();
    listenOn(w);
    const fd = w.ok('A', { op: 'socket', nonblocking: true }) as number;
    w.do('A', { op: 'connect', fd, addr: B_ADDR, port: SERVER_PORT });
    w.runFor(500);
    expect(w.ok('A', { op: 'getsockopt', fd, opt: 'SO_ERROR' })).toBe(0);
    expect(w.state('A', fd)).toBe('ESTABLISHED');
  });
});

describe('SO_LINGER with a timeout', () => {
  test('close() blocks until the FIN is acknowledged', () => {
    const { w, cfd } = connected({}, (w, cfd) => {
      w.ok('A', { op: 'setsockopt', fd: cfd, opt: 'SO_LINGER', value: { onoff: true, lingerSec: 5 } });
    });
    const t0 = w.now;
    const c = w.call('A', { op: 'close', fd: cfd });
    expect(c.result).toBeUndefined();
    w.runUntil(() => w.result('A', c.callId) !== undefined);
    expect(describeResult(w.result('A', c.callId))).toBe('0');
    expect(w.now - t0).toBe(2 * DELAY);
    expect(w.ladder(3)).toEqual(['A>B [FIN, ACK] seq=1 ack=1 len=0', 'B>A [ACK] seq=1 ack=2 len=0']);
  });

  test('close() returns 0 when the timeout passes with the FIN still unacknowledged', () => {
    const { w, cfd } = connected({}, (w, cfd) => {
      w.ok('A', { op: 'setsockopt', fd: cfd, opt: 'SO_LINGER', value: { onoff: true, lingerSec: 1 } });
    });
    w.drop((s) => s.from === 'A' && s.has('FIN'), Number.POSITIVE_INFINITY);
    const t0 = w.now;
    const c = w.call('A', { op: 'close', fd: cfd });
    w.runUntil(() => w.result('A', c.callId) !== undefined);
    expect(describeResult(w.result('A', c.callId))).toBe('0');
    expect(w.now - t0).toBe(1000);
    // The FIN goes on being retransmitted by the orphaned socket.
    expect(w.sockets('A').map((s) => s.state)).toEqual(['FIN-WAIT-1']);
  });

  test('non-blocking socket: close() returns at once', () => {
    const { w, cfd } = connected({}, (w, cfd) => {
      w.ok('A', { op: 'setsockopt', fd: cfd, opt: 'SO_LINGER', value: { onoff: true, lingerSec: 5 } });
    });
    w.ok('A', { op: 'setsockopt', fd: cfd, opt: 'O_NONBLOCK', value: 1 });
    expect(w.ok('A', { op: 'close', fd: cfd })).toBe(0);
    expect(w.ladder(3)).toEqual(['A>B [FIN, ACK] seq=1 ack=1 len=0']);
  });
});

describe('O_NONBLOCK via setsockopt', () => {
  test('recv() and accept() give EAGAIN, connect() EINPROGRESS; getsockopt reports it', () => {
    const { w, cfd, lfd } = connected();
    for (const [side, fd] of [
      ['A', cfd],
      ['B', lfd],
    ] as const)
      w.ok(side, { op: 'setsockopt', fd, opt: 'O_NONBLOCK', value: true });
    expect(w.ok('A', { op: 'getsockopt', fd: cfd, opt: 'O_NONBLOCK' })).toBe(1);
    expect(errnoOf(w.do('A', { op: 'recv', fd: cfd }))).toBe('EAGAIN');
    expect(errnoOf(w.do('B', { op: 'accept', fd: lfd }))).toBe('EAGAIN');
    const fd2 = w.ok('A', { op: 'socket' }) as number;
    w.ok('A', { op: 'setsockopt', fd: fd2, opt: 'O_NONBLOCK', value: 1 });
    expect(errnoOf(w.do('A', { op: 'connect', fd: fd2, addr: B_ADDR, port: SERVER_PORT }))).toBe(
      'EINPROGRESS',
    );
    w.ok('A', { op: 'setsockopt', fd: cfd, opt: 'O_NONBLOCK', value: false });
    expect(w.call('A', { op: 'recv', fd: cfd }).result).toBeUndefined();
  });
});

describe('bad and unknown options', () => {
  const bad: Array<[SockOpt, unknown]> = [
    ['SO_RCVBUF', 'big'],
    ['SO_RCVBUF', Number.NaN],
    ['SO_RCVBUF', 1.5],
    ['SO_SNDBUF', null],
    ['SO_LINGER', 5],
    ['SO_LINGER', { onoff: true, lingerSec: -1 }],
    ['TCP_NODELAY', 'yes'],
    ['TCP_USER_TIMEOUT', -5],
  ];
  test.each(bad)('setsockopt(%s, %j) -> EINVAL', (opt, value) => {
    const w = new Wire();
    const fd = w.ok('A', { op: 'socket' }) as number;
    // biome-ignore lint/suspicious/noExplicitAny: deliberately ill-typed values
    expect(errnoOf(w.do('A', { op: 'setsockopt', fd, opt, value: value as any }))).toBe('EINVAL');
  });

  test('unknown options -> ENOPROTOOPT; SO_ERROR cannot be set', () => {
    const w = new Wire();
    const fd = w.ok('A', { op: 'socket' }) as number;
    // biome-ignore lint/suspicious/noExplicitAny: an option the engine does not know
    const opt = 'SO_BROADCAST' as any;
    expect(errnoOf(w.do('A', { op: 'setsockopt', fd, opt, value: 1 }))).toBe('ENOPROTOOPT');
    expect(errnoOf(w.do('A', { op: 'getsockopt', fd, opt }))).toBe('ENOPROTOOPT');
    expect(errnoOf(w.do('A', { op: 'setsockopt', fd, opt: 'SO_ERROR', value: 0 }))).toBe('ENOPROTOOPT');
    expect(errnoOf(w.do('A', { op: 'setsockopt', fd: 99, opt: 'TCP_NODELAY', value: 1 }))).toBe('EBADF');
  });
});
