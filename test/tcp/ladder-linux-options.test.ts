/**
 * The `linux` and `packetdrill` profiles: SYN options in Linux's order and layout
 * (tcp_options_write: MSS, then sackOK+TS or NOP NOP TS, then NOP NOP sackOK when there is no
 * TS, then NOP wscale), a SYN-ACK that offers only what the SYN offered (RFC 7323 §1.3, RFC 2018
 * §2), window scaling applied both ways after the handshake (RFC 7323 §2), timestamps on every
 * segment with TSecr = TS.Recent (RFC 7323 §3, §4.3), PAWS (RFC 7323 §5), RTT samples from
 * timestamps (RFC 7323 §4), send MSS 1448 with timestamps, and Linux's RTO formula
 * (tcp_rtt_estimator / __tcp_set_rto: RTO = SRTT + max(4·RTTVAR, TCP_RTO_MIN)).
 */
import { describe, expect, test } from 'vitest';
import type { TcpOption } from '../../shared/tcp/packet.ts';
import {
  connected,
  DELAY,
  L,
  optionsShape,
  optionsText,
  pattern,
  R,
  type Rig,
  rigEstablishedWith,
  rigListen,
  tsOf,
} from './harness.ts';

const LINUX_SYN: TcpOption[] = [
  { kind: 'mss', value: 1460 },
  { kind: 'sack-permitted' },
  { kind: 'timestamps', tsval: 1000, tsecr: 0 },
  { kind: 'nop' },
  { kind: 'wscale', shift: 7 },
];

/** NOP NOP TS, as every non-SYN segment of a timestamped connection starts. */
function ts(tsval: number, tsecr: number): TcpOption[] {
  return [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamps', tsval, tsecr }];
}

/** An established linux-profile rig whose peer offered everything; `our(t)` is our TSval at t. */
function linuxRig(config = {}, rtt = 0): { r: Rig; fd: number; our: (t: number) => number } {
  const { r, fd, synAck } = rigEstablishedWith({ profile: 'linux', synOptions: LINUX_SYN, config, rtt });
  const base = tsOf(synAck)!.tsval;
  return { r, fd, our: (t: number) => (base + t) >>> 0 };
}

describe.each([
  { profile: 'linux' as const, ws: 7 },
  // packetdrill's defaults.sh implies a shift of 8.
  { profile: 'packetdrill' as const, ws: 8 },
])('$profile profile: the handshake', ({ profile, ws }) => {
  test('SYN <mss 1460,sackOK,TS val … ecr 0,nop,wscale 7>, SYN-ACK the same with ecr, windows unscaled on SYNs, scaled after', () => {
    const { w, cfd, sfd } = connected({ profile });
    expect(w.ladder(), w.ladderText()).toEqual([
      'A>B [SYN] seq=0 len=0',
      'B>A [SYN, ACK] seq=0 ack=1 len=0',
      'A>B [ACK] seq=1 ack=1 len=0',
    ]);
    const [syn, synAck, ack] = w.segs.map((s) => s.packet.tcp);
    const aTs = tsOf(syn!)!.tsval;
    const bTs = tsOf(synAck!)!.tsval;
    expect(optionsText(syn!.options)).toBe(`mss 1460,sackOK,TS val ${aTs} ecr 0,nop,wscale ${ws}`);
    expect(optionsText(synAck!.options)).toBe(`mss 1460,sackOK,TS val ${bTs} ecr ${aTs},nop,wscale ${ws}`);
    // The third segment: NOP NOP TS only, TSval one RTT later (1 ms clock), TSecr = B's TSval.
    expect(optionsText(ack!.options)).toBe(`nop,nop,TS val ${(aTs + 2 * DELAY) >>> 0} ecr ${bTs}`);
    // RFC 7323 §2.2: the window of a SYN is never scaled; after it, 65535 >> shift.
    expect([syn!.window, synAck!.window, ack!.window]).toEqual([65_535, 65_535, 65_535 >> ws]);
    for (const side of ['A', 'B'] as const) {
      const tcb = w.sock(side, side === 'A' ? cfd : sfd).tcb;
      expect(tcb).toMatchObject({
        sndWscale: ws,
        rcvWscale: ws,
        windowScaling: true,
        timestamps: true,
        sack: true,
        // 1460 less the 12 bytes of NOP NOP TS (Linux mss_cache).
        mss: 1448,
        peerMss: 1460,
      });
    }
    // B's SYN window was not scaled; A's third segment's was.
    expect(w.sock('A', cfd).tcb.sndWnd).toBe(65_535);
    expect(w.sock('B', sfd).tcb.sndWnd).toBe((65_535 >> ws) << ws);
    // RFC 6928 initial window in segments of the send MSS.
    expect(w.sock('A', cfd).cc.cwnd).toBe(10 * 1448);
    expect(w.ok('A', { op: 'getsockopt', fd: cfd, opt: 'TCP_MAXSEG' })).toBe(1448);
  });
});

describe('linux profile: data', () => {
  test('data segments are 1448 bytes, every segment carries NOP NOP TS with TSecr = the peer’s latest TSval', () => {
    const { w, cfd } = connected({ profile: 'linux', b: { delayedAck: false } });
    const m = w.mark();
    const t0 = w.now;
    w.ok('A', { op: 'send', fd: cfd, data: pattern(3000) });
    w.runFor(500);
    const aTs = tsOf(w.segs[0]!.packet.tcp)!.tsval;
    const bTs = tsOf(w.segs[1]!.packet.tcp)!.tsval;
    const tA = (t: number) => (aTs + t) >>> 0;
    const tB = (t: number) => (bTs - DELAY + t) >>> 0;
    expect(
      w.segs
        .slice(m)
        .map((s) => `${s.text} win=${s.packet.tcp.window} <${optionsText(s.packet.tcp.options)}>`),
      w.ladderText(),
    ).toEqual([
      `A>B [ACK] seq=1 ack=1 len=1448 win=511 <nop,nop,TS val ${tA(t0)} ecr ${tB(DELAY)}>`,
      `A>B [ACK] seq=1449 ack=1 len=1448 win=511 <nop,nop,TS val ${tA(t0)} ecr ${tB(DELAY)}>`,
      `A>B [PSH, ACK] seq=2897 ack=1 len=104 win=511 <nop,nop,TS val ${tA(t0)} ecr ${tB(DELAY)}>`,
      // The window never moves its right edge left (RFC 7323 §2.4; Linux tcp_select_window
      // rounds the current window up to the scale): 65535 − 1448 → 501, then 490 twice.
      `B>A [ACK] seq=1 ack=1449 len=0 win=501 <nop,nop,TS val ${tB(t0 + DELAY)} ecr ${tA(t0)}>`,
      `B>A [ACK] seq=1 ack=2897 len=0 win=490 <nop,nop,TS val ${tB(t0 + DELAY)} ecr ${tA(t0)}>`,
      `B>A [ACK] seq=1 ack=3001 len=0 win=490 <nop,nop,TS val ${tB(t0 + DELAY)} ecr ${tA(t0)}>`,
    ]);
  });
});

describe('linux profile: the SYN-ACK offers only what the SYN offered', () => {
  const cases: Array<{
    syn: TcpOption[];
    synAck: string;
    ws: boolean;
    ts: boolean;
    sack: boolean;
    mss: number;
  }> = [
    { syn: [{ kind: 'mss', value: 1460 }], synAck: 'mss 1460', ws: false, ts: false, sack: false, mss: 1460 },
    {
      syn: [{ kind: 'mss', value: 1460 }, { kind: 'nop' }, { kind: 'nop' }, { kind: 'sack-permitted' }],
      synAck: 'mss 1460,nop,nop,sackOK',
      ws: false,
      ts: false,
      sack: true,
      mss: 1460,
    },
    {
      syn: [{ kind: 'mss', value: 1460 }, { kind: 'nop' }, { kind: 'wscale', shift: 2 }],
      synAck: 'mss 1460,nop,wscale 7',
      ws: true,
      ts: false,
      sack: false,
      mss: 1460,
    },
    {
      // Linux writes NOP NOP TS when SACK-permitted does not share the word (tcp_options_write).
      syn: [{ kind: 'mss', value: 1460 }, ...ts(1000, 0)],
      synAck: 'mss 1460,nop,nop,TS val * ecr *',
      ws: false,
      ts: true,
      sack: false,
      mss: 1448,
    },
    {
      syn: [
        { kind: 'mss', value: 1460 },
        { kind: 'nop' },
        { kind: 'nop' },
        { kind: 'sack-permitted' },
        { kind: 'nop' },
        { kind: 'wscale', shift: 8 },
      ],
      // packetdrill's most common SYN-ACK line.
      synAck: 'mss 1460,nop,nop,sackOK,nop,wscale 7',
      ws: true,
      ts: false,
      sack: true,
      mss: 1460,
    },
    {
      syn: [{ kind: 'mss', value: 1460 }, ...ts(1000, 0), { kind: 'nop' }, { kind: 'wscale', shift: 7 }],
      synAck: 'mss 1460,nop,nop,TS val * ecr *,nop,wscale 7',
      ws: true,
      ts: true,
      sack: false,
      mss: 1448,
    },
    {
      syn: LINUX_SYN,
      synAck: 'mss 1460,sackOK,TS val * ecr *,nop,wscale 7',
      ws: true,
      ts: true,
      sack: true,
      mss: 1448,
    },
  ];
  test.each(cases)(
    'SYN <$syn.length options> -> SYN-ACK <$synAck>',
    ({ syn, synAck, ws, ts: hasTs, sack, mss }) => {
      const { r, lfd } = rigListen({}, 128, 'linux');
      r.send({ flags: ['SYN'], seq: R(0), options: syn });
      const out = r.take();
      expect(out.length).toBe(1);
      expect(optionsShape(out[0]!.seg.options)).toBe(synAck);
      const t = tsOf(out[0]!.seg);
      if (hasTs) expect(t!.tsecr).toBe(1000);
      const child = r.host.snapshot().sockets.find((s) => s.id === r.sock(lfd).listen!.synQueue[0])!;
      expect(child.tcb).toMatchObject({ windowScaling: ws, timestamps: hasTs, sack, mss });
    },
  );

  test('TS without SACK on our own SYN: <mss 1460,nop,nop,TS val … ecr 0,nop,wscale 7>', () => {
    const { w } = connected({ profile: 'linux', a: { sack: false } });
    expect(optionsShape(w.segs[0]!.packet.tcp.options)).toBe('mss 1460,nop,nop,TS val * ecr *,nop,wscale 7');
    // B answers without SACK-permitted.
    expect(optionsShape(w.segs[1]!.packet.tcp.options)).toBe('mss 1460,nop,nop,TS val * ecr *,nop,wscale 7');
  });
});

describe('linux profile: window scaling (RFC 7323 §2)', () => {
  test('peer shift 2, ours 7: our windows are >> 7, the peer’s << 2, its SYN window is taken as is', () => {
    const { r, lfd } = rigListen({}, 128, 'linux');
    const syn: TcpOption[] = [{ kind: 'mss', value: 1460 }, { kind: 'nop' }, { kind: 'wscale', shift: 2 }];
    r.send({ flags: ['SYN'], seq: R(0), window: 1000, options: syn });
    r.expectSent([
      { flags: ['SYN', 'ACK'], seq: L(0), ack: R(1), window: 65_535, opts: 'mss 1460,nop,wscale 7' },
    ]);
    const child = () => r.host.snapshot().sockets.find((s) => s.id !== r.sock(lfd).id)!;
    expect(child().tcb.sndWnd).toBe(1000);
    // The third segment's window is scaled: 2000 << 2.
    r.send({ flags: ['ACK'], seq: R(1), ack: L(1), window: 2000 });
    expect(child().tcb.sndWnd).toBe(8000);
    const fd = (r.ok({ op: 'accept', fd: lfd }) as { fd: number }).fd;
    r.ok({ op: 'send', fd, data: pattern(5000) });
    // The SYN-ACK promised 65535 bytes: 65535 / 128 rounded up so the right edge never moves left.
    r.expectSent([
      { flags: ['ACK'], seq: L(1), len: 1460, window: 512 },
      { flags: ['ACK'], seq: L(1461), len: 1460, window: 512 },
      { flags: ['ACK'], seq: L(2921), len: 1460, window: 512 },
      { flags: ['PSH', 'ACK'], seq: L(4381), len: 620, window: 512 },
    ]);
    // Data from the peer: our window shrinks in units of 128 bytes.
    r.send({ flags: ['ACK'], seq: R(1), ack: L(5001), window: 2000, payload: pattern(1000) });
    r.advanceTo(r.now + 100);
    r.expectSent([{ flags: ['ACK'], seq: L(5001), ack: R(1001), window: Math.ceil((65_535 - 1000) / 128) }]);
  });

  test('a peer without window scaling: no shift either way, the 16-bit window as is', () => {
    const { r, fd } = rigEstablishedWith({ profile: 'linux', synOptions: [{ kind: 'mss', value: 1460 }] });
    expect(r.sock(fd).tcb).toMatchObject({ sndWscale: 0, rcvWscale: 0, windowScaling: false });
    r.ok({ op: 'send', fd, data: pattern(10) });
    r.expectSent([{ flags: ['PSH', 'ACK'], seq: L(1), len: 10, window: 65_535, opts: '' }]);
  });

  test('a shift above 14 is taken as 14 (RFC 7323 §2.3)', () => {
    const { r, fd } = rigEstablishedWith({
      profile: 'linux',
      synOptions: [{ kind: 'mss', value: 1460 }, { kind: 'nop' }, { kind: 'wscale', shift: 15 }],
      peerWindow: 1,
    });
    expect(r.sock(fd).tcb.sndWscale).toBe(14);
    expect(r.sock(fd).tcb.sndWnd).toBe(1 << 14);
  });
});

describe('linux profile: timestamps (RFC 7323 §3–§5)', () => {
  test('TSecr echoes TS.Recent; a delayed ACK echoes the earliest unacknowledged segment (§4.3 case A)', () => {
    const { r, fd, our } = linuxRig({ quickAcks: 0 });
    const t0 = r.now;
    r.send({ flags: ['ACK'], seq: R(1), ack: L(1), payload: pattern(100), options: ts(2000, our(t0)) });
    r.expectNothing('the first segment waits for the delayed ACK');
    r.send(
      { flags: ['ACK'], seq: R(101), ack: L(1), payload: pattern(100), options: ts(2001, our(t0)) },
      t0 + 10,
    );
    r.expectNothing('two small segments are less than two full-sized ones');
    r.advanceTo(t0 + 40);
    // SEG.SEQ of the second segment (R(101)) is beyond Last.ACK.sent (R(1)): TS.Recent stays 2000.
    r.expectSent([
      {
        flags: ['ACK'],
        seq: L(1),
        ack: R(201),
        why: 'delayed-ack',
        opts: `nop,nop,TS val ${our(t0 + 40)} ecr 2000`,
      },
    ]);
    expect(r.sock(fd).buffers.readable).toBe(200);
  });

  test('out of order: the dup ACK echoes the last in-order segment; the one filling the hole updates TS.Recent (§4.3 case C)', () => {
    const { r, our } = linuxRig({ quickAcks: 0 });
    const t0 = r.now;
    r.send({ flags: ['ACK'], seq: R(1), ack: L(1), payload: pattern(100), options: ts(2010, our(t0)) });
    r.expectNothing();
    r.send({ flags: ['ACK'], seq: R(201), ack: L(1), payload: pattern(100), options: ts(2012, our(t0)) });
    r.expectSent([
      {
        flags: ['ACK'],
        ack: R(101),
        why: 'dup-ack',
        opts: `nop,nop,TS val ${our(t0)} ecr 2010,nop,nop,sack ${R(201)}:${R(301)}`,
      },
    ]);
    r.send({ flags: ['ACK'], seq: R(101), ack: L(1), payload: pattern(100), options: ts(2011, our(t0)) });
    r.expectSent([{ flags: ['ACK'], ack: R(301), opts: `nop,nop,TS val ${our(t0)} ecr 2011` }]);
  });

  test('PAWS: an in-window segment with an older TSval is dropped and answered with a dup ACK (§5.3 R1)', () => {
    const { r, fd, our } = linuxRig();
    const t0 = r.now;
    r.send({ flags: ['ACK'], seq: R(1), ack: L(1), payload: 'new', options: ts(5000, our(t0)) });
    r.expectSent([{ flags: ['ACK'], ack: R(4), opts: `nop,nop,TS val ${our(t0)} ecr 5000` }]);
    r.send({ flags: ['ACK'], seq: R(4), ack: L(1), payload: 'old', options: ts(4999, our(t0)) }, t0 + 5);
    r.expectSent([
      {
        flags: ['ACK'],
        seq: L(1),
        ack: R(4),
        why: 'dup-ack',
        opts: `nop,nop,TS val ${our(t0 + 5)} ecr 5000`,
      },
    ]);
    expect(r.sock(fd).buffers.readable).toBe(3);
    expect(r.events.some((e) => e.type === 'discard' && e.reason === 'old-duplicate')).toBe(true);
    // The same bytes with a current TSval are taken.
    r.send({ flags: ['ACK'], seq: R(4), ack: L(1), payload: 'new', options: ts(5001, our(t0)) }, t0 + 6);
    r.expectSent([{ flags: ['ACK'], ack: R(7), opts: `nop,nop,TS val ${our(t0 + 6)} ecr 5001` }]);
    expect(r.sock(fd).buffers.readable).toBe(6);
  });

  test('PAWS does not apply to RST: an RST at RCV.NXT with an old TSval still resets (Linux tcp_validate_incoming)', () => {
    const { r, fd, our } = linuxRig();
    r.send({ flags: ['ACK'], seq: R(1), ack: L(1), payload: 'x', options: ts(5000, our(r.now)) });
    r.take();
    r.send({ flags: ['RST'], seq: R(2), options: ts(10, 0) });
    r.expectNothing();
    expect(r.sock(fd).state).toBe('CLOSED');
    expect(r.ok({ op: 'recv', fd })).toEqual(new TextEncoder().encode('x'));
    const res = r.call({ op: 'recv', fd }).result;
    expect(res?.ok === false && res.errno).toBe('ECONNRESET');
  });

  test('RTT samples come from TSecr: including the peer’s ACK delay, and for retransmitted data too (no Karn)', () => {
    const { r, fd, our } = linuxRig({}, 30);
    // The handshake sample: 30 ms. Linux: RTO = 30 + max(2·30, 200).
    expect(r.sock(fd).rtt).toMatchObject({ srtt: 30, rttvar: 15, rto: 230 });
    const t0 = r.now;
    r.ok({ op: 'send', fd, data: pattern(100) });
    r.expectSent([
      { flags: ['PSH', 'ACK'], seq: L(1), len: 100, opts: `nop,nop,TS val ${our(t0)} ecr 1001` },
    ]);
    // The peer ACKs 80 ms later.
    r.send({ flags: ['ACK'], seq: R(1), ack: L(101), options: ts(1100, our(t0)) }, t0 + 80);
    expect(r.sock(fd).rtt.srtt).toBe(0.875 * 30 + 0.125 * 80);
    expect(r.sock(fd).rtt.rttvar).toBe(0.75 * 15 + 0.25 * 50);
    // A pure window update echoing an old TSval is no sample (nothing new was ACKed).
    r.send({ flags: ['ACK'], seq: R(1), ack: L(101), window: 60_000, options: ts(1101, our(t0)) }, t0 + 500);
    expect(r.sock(fd).rtt.srtt).toBe(0.875 * 30 + 0.125 * 80);
    // Lost data, retransmitted after the RTO; the ACK echoes the retransmission's TSval.
    const srtt1 = r.sock(fd).rtt.srtt!;
    const rto = r.sock(fd).rtt.rto;
    const t1 = r.now;
    r.ok({ op: 'send', fd, data: pattern(100) });
    r.take();
    r.advanceTo(t1 + rto);
    r.expectSent([
      {
        flags: ['PSH', 'ACK'],
        seq: L(101),
        why: 'retransmit-rto',
        opts: `nop,nop,TS val ${our(t1 + rto)} ecr 1101`,
      },
    ]);
    r.send({ flags: ['ACK'], seq: R(1), ack: L(201), options: ts(1200, our(t1 + rto)) }, t1 + rto + 20);
    expect(r.sock(fd).rtt.srtt).toBe(0.875 * srtt1 + 0.125 * 20);
  });
});

describe('Linux RTO: SRTT + max(4·RTTVAR, RTO.min)', () => {
  test.each([
    // RTT 20 ms: Linux 20 + max(40, 200) = 220; RFC 6298 max(200, 20 + 40) = 200.
    { profile: 'linux' as const, delay: 10, rto: 220 },
    { profile: 'textbook' as const, delay: 10, rto: 200 },
    // RTT 400 ms: both 400 + 800.
    { profile: 'linux' as const, delay: 200, rto: 1200 },
    { profile: 'textbook' as const, delay: 200, rto: 1200 },
  ])('$profile, RTT $delay·2 ms: the first data RTO is $rto ms', ({ profile, delay, rto }) => {
    const { w, cfd } = connected({ profile, delay });
    expect(w.sock('A', cfd).rtt).toMatchObject({ srtt: 2 * delay, rttvar: delay, rto });
    w.drop((s) => s.from === 'A' && s.len > 0);
    const m = w.mark();
    const t0 = w.now;
    w.ok('A', { op: 'send', fd: cfd, data: pattern(10) });
    w.run(t0 + rto);
    expect(
      w.segs.slice(m).map((s) => [s.t - t0, s.text, s.why]),
      w.ladderText(),
    ).toEqual([
      [0, 'A>B [PSH, ACK] seq=1 ack=1 len=10', 'data'],
      [rto, 'A>B [PSH, ACK] seq=1 ack=1 len=10', 'retransmit-rto'],
    ]);
  });
});
