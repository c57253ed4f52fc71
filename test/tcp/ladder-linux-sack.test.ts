/**
 * The `linux` profile as a receiver: SACK blocks for out-of-order data (RFC 2018 §4: the first
 * block holds the segment that triggered the ACK, the others repeat the most recently reported
 * blocks; at most 3 blocks next to timestamps, 4 without; Linux tcp_sack_new_ofo_skb keeps its
 * blocks most-recent-first), and Linux's quick-ACK mode (tcp_incr_quickack: the first 16 data
 * segments are ACKed at once) before delayed ACKs.
 */
import { describe, expect, test } from 'vitest';
import type { TcpOption } from '../../shared/tcp/packet.ts';
import {
  connected,
  DELAY,
  L,
  pattern,
  R,
  REMOTE_ISS,
  type Rig,
  rigEstablishedWith,
  sackOf,
  tsOf,
} from './harness.ts';

const MSS = 1448;

function ts(tsval: number, tsecr: number): TcpOption[] {
  return [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamps', tsval, tsecr }];
}

function sackRig(withTs: boolean): { r: Rig; opts: () => TcpOption[] } {
  const synOptions: TcpOption[] = withTs
    ? [
        { kind: 'mss', value: 1460 },
        { kind: 'sack-permitted' },
        { kind: 'timestamps', tsval: 1000, tsecr: 0 },
        { kind: 'nop' },
        { kind: 'wscale', shift: 7 },
      ]
    : [{ kind: 'mss', value: 1460 }, { kind: 'nop' }, { kind: 'nop' }, { kind: 'sack-permitted' }];
  const { r, synAck } = rigEstablishedWith({ profile: 'linux', synOptions });
  const base = withTs ? tsOf(synAck)!.tsval : 0;
  let tsval = 2000;
  return { r, opts: () => (withTs ? ts(tsval++, base) : []) };
}

/** Sends the peer's bytes [from, to) (relative to its ISN) and returns the SACK blocks of the single ACK. */
function deliver(
  r: Rig,
  opts: () => TcpOption[],
  from: number,
  to: number,
): { ack: number; sack: Array<[number, number]> } {
  r.send({ flags: ['ACK'], seq: R(from), ack: L(1), payload: pattern(to - from, from), options: opts() });
  const out = r.take();
  expect(out.length, `one ACK for ${from}:${to}`).toBe(1);
  return { ack: out[0]!.seg.ack, sack: sackOf(out[0]!.seg, REMOTE_ISS) };
}

describe('linux profile: SACK blocks (RFC 2018)', () => {
  test('with timestamps: at most 3 blocks, the newest first, then the most recently reported', () => {
    const { r, opts } = sackRig(true);
    expect(deliver(r, opts, 1, 101)).toEqual({ ack: R(101), sack: [] });
    expect(deliver(r, opts, 201, 301)).toEqual({ ack: R(101), sack: [[201, 301]] });
    expect(deliver(r, opts, 401, 501)).toEqual({
      ack: R(101),
      sack: [
        [401, 501],
        [201, 301],
      ],
    });
    expect(deliver(r, opts, 601, 701)).toEqual({
      ack: R(101),
      sack: [
        [601, 701],
        [401, 501],
        [201, 301],
      ],
    });
    // Four blocks held; three fit next to the timestamps: the oldest (201:301) is left out.
    expect(deliver(r, opts, 801, 901)).toEqual({
      ack: R(101),
      sack: [
        [801, 901],
        [601, 701],
        [401, 501],
      ],
    });
    // 301:401 joins 201:301 and 401:501: that block comes first, then the most recent others.
    expect(deliver(r, opts, 301, 401)).toEqual({
      ack: R(101),
      sack: [
        [201, 501],
        [801, 901],
        [601, 701],
      ],
    });
    // The first hole is filled: the ACK moves on, the remaining blocks keep their order.
    expect(deliver(r, opts, 101, 201)).toEqual({
      ack: R(501),
      sack: [
        [801, 901],
        [601, 701],
      ],
    });
    expect(deliver(r, opts, 701, 801)).toEqual({ ack: R(501), sack: [[601, 901]] });
    expect(deliver(r, opts, 501, 601)).toEqual({ ack: R(901), sack: [] });
  });

  test('without timestamps: up to 4 blocks, options NOP NOP SACK only', () => {
    const { r, opts } = sackRig(false);
    for (const s of [101, 301, 501, 701, 901]) deliver(r, opts, s, s + 100);
    r.send({ flags: ['ACK'], seq: R(1101), ack: L(1), payload: pattern(100), options: opts() });
    const out = r.take();
    expect(out.length).toBe(1);
    expect(out[0]!.seg.options.map((o) => o.kind)).toEqual(['nop', 'nop', 'sack']);
    expect(sackOf(out[0]!.seg, REMOTE_ISS)).toEqual([
      [1101, 1201],
      [901, 1001],
      [701, 801],
      [501, 601],
    ]);
    expect(out[0]!.seg.ack).toBe(R(1));
  });

  test('textbook profile: no SACK-permitted, so dup ACKs carry no options', () => {
    const { r } = rigEstablishedWith({
      synOptions: [
        { kind: 'mss', value: 1460 },
        { kind: 'nop' },
        { kind: 'nop' },
        { kind: 'sack-permitted' },
      ],
    });
    r.send({ flags: ['ACK'], seq: R(101), ack: L(1), payload: pattern(100) });
    r.expectSent([{ flags: ['ACK'], ack: R(1), why: 'dup-ack', opts: '' }]);
  });
});

describe('linux profile: quick-ACK mode, then delayed ACKs', () => {
  test('the first 16 data segments are ACKed one by one, then one ACK per two full segments', () => {
    const { w, cfd, sfd } = connected({ profile: 'linux', b: { rcvBuf: 1 << 20 } });
    const m = w.mark();
    const t0 = w.now;
    w.ok('A', { op: 'send', fd: cfd, data: pattern(30 * MSS) });
    w.runFor(1_000);
    const acks = w.segs.slice(m).filter((s) => s.from === 'B');
    // Round 1 (10 segments, IW10): 10 quick ACKs. Round 2 (20 segments): 6 quick ACKs, then 7
    // delayed ones, one per two segments.
    const ackNos = acks.map((s) => [s.t - t0, (s.ack - 1) / MSS]);
    expect(ackNos, w.ladderText()).toEqual([
      ...Array.from({ length: 10 }, (_, i) => [DELAY, i + 1]),
      ...Array.from({ length: 6 }, (_, i) => [3 * DELAY, 11 + i]),
      ...Array.from({ length: 7 }, (_, i) => [3 * DELAY, 18 + 2 * i]),
    ]);
    expect(acks.every((s) => s.why === 'ack')).toBe(true);
    // Then a lone segment waits for the 40 ms delayed-ACK timer.
    const m2 = w.mark();
    const t1 = w.now;
    w.ok('A', { op: 'send', fd: cfd, data: pattern(100) });
    w.runFor(500);
    expect(w.segs.slice(m2).map((s) => [s.t - t1, s.text, s.why])).toEqual([
      [0, `A>B [PSH, ACK] seq=${30 * MSS + 1} ack=1 len=100`, 'data'],
      [DELAY + 40, `B>A [ACK] seq=1 ack=${30 * MSS + 101} len=0`, 'delayed-ack'],
    ]);
    expect(w.sock('B', sfd).buffers.readable).toBe(30 * MSS + 100);
  });
});
