/**
 * The network between real engine hosts: delay, serialisation and drop-tail queue, loss,
 * duplication, reordering, routing, stepping, and the trace's segment fields.
 */
import { describe, expect, test } from 'vitest';
import { type BareTraceEvent, hasSummary } from '../../shared/sim/trace.ts';
import { decodePacket } from '../../shared/tcp/codec.ts';
import { ADDR_A, ADDR_B, bytes, connectPair, ok, segLine, segmentEvents, sent, twoHosts } from './helpers.ts';

describe('Network: link delay and the trace', () => {
  test('a SYN to a closed port arrives after exactly delayMs and is answered by RST,ACK', () => {
    const net = twoHosts({ link: { delayMs: 30 } });
    const fd = ok(net, 'A', { op: 'socket' }) as number;
    net.runUntil(5);
    net.call('A', { op: 'connect', fd, addr: ADDR_B, port: 9 });
    net.runUntil(1000);
    const trace = net.drainTrace();
    const arrivals = segmentEvents(trace, 'arrive');
    expect(arrivals.map((e) => [e.id, e.to, e.t])).toEqual([
      [1, 'B', 35],
      [2, 'A', 65],
    ]);
    expect(sent(trace)).toEqual(['A>B SYN seq=0 len=0', 'B>A RST,ACK seq=0 ack=1 len=0']);
    const ret = trace.find((e) => e.type === 'return' && e.op === 'connect');
    expect(ret).toMatchObject({ t: 65, result: { ok: false, errno: 'ECONNREFUSED' } });
  });

  test('segment events carry absolute and relative numbers, options, and the real bytes as hex', () => {
    const net = twoHosts();
    connectPair(net);
    const [syn, synAck] = segmentEvents(net.drainTrace(), 'send');
    expect(syn).toMatchObject({
      type: 'segment',
      id: 1,
      from: 'A',
      to: 'B',
      event: 'send',
      why: 'syn',
      dport: 80,
      flags: ['SYN'],
      seq: 1000,
      rseq: 0,
      len: 0,
      options: [{ kind: 'mss', value: 1460 }],
    });
    expect(syn!.rack).toBeUndefined();
    expect(synAck).toMatchObject({ flags: ['ACK', 'SYN'], ack: 1001, rack: 1, sport: 80, why: 'syn-ack' });
    // The hex is the packet exactly as encoded: it decodes back to the traced fields.
    const decoded = decodePacket(Uint8Array.from(syn!.hex!.match(/../g)!.map((h) => Number.parseInt(h, 16))));
    expect(decoded.ok).toBe(true);
    if (decoded.ok) {
      expect(decoded.packet.ip.src).toBe(ADDR_A);
      expect(decoded.packet.tcp.seq).toBe(1000);
      expect(decoded.packet.tcp.flags).toBe(0x02);
    }
  });

  test('segments to an address no host has are dropped as no-route', () => {
    const net = twoHosts();
    const fd = ok(net, 'A', { op: 'socket' }) as number;
    net.call('A', { op: 'connect', fd, addr: 0x0a0000ff, port: 80 });
    const trace = net.drainTrace();
    expect(segmentEvents(trace, 'drop').map((e) => e.reason)).toEqual(['no-route']);
    expect(net.statistics()[0]!.dropped.noRoute).toBe(1);
  });
});

describe('Network: bottleneck rate and drop-tail queue', () => {
  test('serialisation delay is size × 8 / rate, and back-to-back packets queue behind each other', () => {
    const net = twoHosts({ link: { delayMs: 10, rateBps: 1_000_000 }, config: { nagle: false, mss: 1000 } });
    const { a } = connectPair(net);
    net.drainTrace();
    const t0 = net.now;
    net.call('A', { op: 'send', fd: a, data: new Uint8Array(3000) });
    net.runUntil(t0 + 1000);
    const arrivals = segmentEvents(net.drainTrace(), 'arrive').filter((e) => e.from === 'A' && e.len > 0);
    // 1000 payload + 40 header bytes = 8.32 ms at 1 Mbit/s; then 10 ms of propagation.
    expect(arrivals.map((e) => Math.round((e.t - t0) * 1000) / 1000)).toEqual([18.32, 26.64, 34.96]);
  });

  test('a full queue drops with reason queue-full, and only the overflow is lost', () => {
    const net = twoHosts({
      link: { delayMs: 1, rateBps: 100_000, queuePackets: 2 },
      config: { nagle: false, mss: 500, initialCwndSegments: 10, rcvBuf: 65535 },
    });
    const { a } = connectPair(net);
    net.drainTrace();
    net.call('A', { op: 'send', fd: a, data: new Uint8Array(5000) });
    const trace = net.drainTrace();
    const data = segmentEvents(trace, 'send').filter((e) => e.len > 0);
    const drops = segmentEvents(trace, 'drop');
    expect(data).toHaveLength(10);
    // One being serialised + 2 waiting; the other 7 of the first flight overflow.
    expect(drops).toHaveLength(7);
    expect(new Set(drops.map((d) => d.reason))).toEqual(new Set(['queue-full']));
    expect(drops.map((d) => d.id)).toEqual(data.slice(3).map((d) => d.id));
    expect(net.statistics().find((s) => s.from === 'A')!.dropped.queueFull).toBe(7);
  });
});

describe('Network: random loss, duplication and reordering', () => {
  test('loss 1 drops every segment with reason loss; the sender retransmits', () => {
    const net = twoHosts({ link: { loss: 1 } });
    const fd = ok(net, 'A', { op: 'socket' }) as number;
    net.call('A', { op: 'connect', fd, addr: ADDR_B, port: 80 });
    net.runUntil(3500);
    const trace = net.drainTrace();
    expect(segmentEvents(trace, 'arrive')).toHaveLength(0);
    const drops = segmentEvents(trace, 'drop');
    expect(drops.map((d) => d.reason)).toEqual(drops.map(() => 'loss'));
    expect(drops.map((d) => d.t)).toEqual([0, 1000, 3000]);
  });

  test('duplication delivers a copy with its own id, dupOf pointing at the original', () => {
    const net = twoHosts({ link: { duplicate: 1 } });
    const fd = ok(net, 'A', { op: 'socket' }) as number;
    net.call('A', { op: 'connect', fd, addr: ADDR_B, port: 9 });
    net.runUntil(40);
    const trace = net.drainTrace();
    const dup = segmentEvents(trace, 'dup')[0]!;
    expect(dup).toMatchObject({ id: 2, dupOf: 1, from: 'A', reason: 'link', flags: ['SYN'] });
    expect(segmentEvents(trace, 'arrive').map((e) => e.id)).toEqual([]);
    net.runUntil(60);
    expect(
      segmentEvents(net.drainTrace(), 'arrive')
        .filter((e) => e.to === 'B')
        .map((e) => e.id),
    ).toEqual([1, 2]);
  });

  test('reordering lets a later segment overtake; jitter alone never does', () => {
    const order = (reorder: number, jitterMs: number, seed: number) => {
      const net = twoHosts({
        seed,
        link: { delayMs: 20, reorder, reorderMs: 15, jitterMs },
        config: { nagle: false },
      });
      const { a } = connectPair(net);
      net.drainTrace();
      for (let i = 0; i < 8; i++) {
        net.call('A', { op: 'send', fd: a, data: bytes(`m${i}`) });
        net.runUntil(net.now + 1);
      }
      net.runUntil(net.now + 200);
      const arrived = segmentEvents(net.drainTrace(), 'arrive')
        .filter((e) => e.to === 'B' && e.len > 0)
        .map((e) => e.rseq);
      expect(arrived).toHaveLength(8);
      return arrived;
    };
    const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);
    const jittered = order(0, 30, 3);
    expect(jittered).toEqual(sorted(jittered));
    const reordered = order(0.5, 0, 3);
    expect(reordered).not.toEqual(sorted(reordered));
  });
});

describe('Network: stepping and running', () => {
  test('step runs one event at a time and nextEventTime says when the next one is due', () => {
    const net = twoHosts({ link: { delayMs: 25 } });
    const fd = ok(net, 'A', { op: 'socket' }) as number;
    net.call('A', { op: 'connect', fd, addr: ADDR_B, port: 9 });
    expect(net.nextEventTime()).toBe(25);
    expect(net.step()).toEqual({ t: 25, kind: 'deliver', id: 1, from: 'A', to: 'B' });
    expect(net.now).toBe(25);
    expect(net.step()).toEqual({ t: 50, kind: 'deliver', id: 2, from: 'B', to: 'A' });
    // The refused connect left no timer behind.
    expect(net.nextEventTime()).toBeUndefined();
    expect(net.step()).toBeUndefined();
  });

  test('runUntil with an event budget stops early and says so', () => {
    const net = twoHosts();
    const fd = ok(net, 'A', { op: 'socket' }) as number;
    net.call('A', { op: 'connect', fd, addr: ADDR_B, port: 9 });
    expect(net.runUntil(1000, 1)).toBe(false);
    expect(net.now).toBe(50);
    expect(net.runUntil(1000)).toBe(true);
    expect(net.now).toBe(1000);
  });

  test('snapshot shows hosts, links, rules and counters', () => {
    const net = twoHosts();
    connectPair(net);
    const snap = net.snapshot();
    expect(Object.keys(snap.hosts)).toEqual(['A', 'B']);
    expect(snap.links.map((l) => `${l.from}>${l.to}`)).toEqual(['A>B', 'B>A']);
    expect(snap.stats.map((s) => [s.from, s.sent])).toEqual([
      ['A', 2],
      ['B', 1],
    ]);
    expect(snap.inFlight).toEqual([]);
  });

  test('setLink changes one direction from now on and is traced', () => {
    const net = twoHosts();
    net.setLink('A', 'B', { delayMs: 5 });
    expect(net.link('A', 'B').delayMs).toBe(5);
    expect(net.link('B', 'A').delayMs).toBe(50);
    const fd = ok(net, 'A', { op: 'socket' }) as number;
    net.call('A', { op: 'connect', fd, addr: ADDR_B, port: 9 });
    net.runUntil(100);
    const trace = net.drainTrace();
    expect(trace[0]).toMatchObject({ type: 'link', from: 'A', to: 'B', settings: { delayMs: 5 } });
    expect(segmentEvents(trace, 'arrive').map((e) => [segLine(e), e.t])).toEqual([
      ['A>B SYN seq=0 len=0', 5],
      ['B>A RST,ACK seq=0 ack=1 len=0', 55],
    ]);
  });
});

describe('Network: segment events without summaries', () => {
  /** A handshake, data both ways with 20 % loss, a hold and a close: every kind of segment event. */
  function run(summaries: boolean): BareTraceEvent[] {
    const events: BareTraceEvent[] = [];
    const net = twoHosts({ keepTrace: false, summaries, link: { loss: 0.2 } });
    net.subscribeBare((e) => events.push(e));
    const { a, b } = connectPair(net);
    net.call('A', { op: 'send', fd: a, data: bytes('hello') });
    net.call('B', { op: 'send', fd: b, data: bytes('world!') });
    net.runUntil(net.now + 30_000);
    net.setHold(true);
    net.call('A', { op: 'close', fd: a });
    net.runUntil(net.now + 100);
    for (const h of net.held()) net.release(h.id);
    net.runUntil(net.now + 30_000);
    return events;
  }

  test('carry every field but the header summary, with the same network run', () => {
    const whole = run(true);
    const bare = run(false);
    const summaryKeys = ['sport', 'dport', 'flags', 'seq', 'ack', 'rseq', 'rack', 'len', 'win', 'options'];
    const strip = (e: BareTraceEvent) =>
      Object.fromEntries(Object.entries(e).filter(([k]) => e.type !== 'segment' || !summaryKeys.includes(k)));
    expect(whole.some((e) => e.type === 'segment' && e.event === 'drop')).toBe(true);
    expect(whole.some((e) => e.type === 'segment' && e.event === 'release')).toBe(true);
    expect(whole.every(hasSummary)).toBe(true);
    expect(bare.filter((e) => e.type === 'segment').some(hasSummary)).toBe(false);
    expect(bare).toEqual(whole.map(strip));
  });

  test('a network without summaries has bare listeners only and keeps no trace', () => {
    const net = twoHosts({ keepTrace: false, summaries: false });
    expect(() => net.subscribe(() => {})).toThrow('subscribeBare');
    expect(() => twoHosts({ summaries: false })).toThrow('keeps no trace');
  });
});

describe('Network: runNext', () => {
  test('runs the very events step runs, one per call, and says when it is idle', () => {
    const drive = (next: (net: ReturnType<typeof twoHosts>) => boolean) => {
      const net = twoHosts({ link: { loss: 0.2, duplicate: 0.1 } });
      const { a, b } = connectPair(net);
      net.call('A', { op: 'send', fd: a, data: bytes('hello') });
      net.call('B', { op: 'close', fd: b });
      const times: number[] = [];
      while (next(net)) times.push(net.now);
      return { times, trace: net.drainTrace() };
    };
    const stepped = drive((net) => net.step() !== undefined);
    const run = drive((net) => net.runNext());
    expect(run.times.length).toBeGreaterThan(5);
    expect(run).toEqual(stepped);
  });
});
