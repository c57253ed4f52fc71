/**
 * Targeted fault rules and hold mode, through the Network API.
 */
import { describe, expect, test } from 'vitest';
import { checkRule } from '../../shared/sim/faults.ts';
import { ADDR_B, connectPair, ok, segLine, segmentEvents, twoHosts } from './helpers.ts';

describe('fault rules', () => {
  test('"drop the 1st segment from A that carries FIN": only that one, and the FIN is retransmitted', () => {
    const net = twoHosts();
    const { a } = connectPair(net);
    net.addRule({ from: 'A', flags: ['FIN'], action: 'drop' });
    net.drainTrace();
    net.call('A', { op: 'close', fd: a });
    net.runUntil(net.now + 3000);
    const trace = net.drainTrace();
    const fins = segmentEvents(trace, 'send').filter((e) => e.flags.includes('FIN') && e.from === 'A');
    expect(fins.length).toBeGreaterThanOrEqual(2);
    const drops = segmentEvents(trace, 'drop');
    expect(drops.map((d) => [d.id, d.reason])).toEqual([[fins[0]!.id, 'rule:r1']]);
    expect(segmentEvents(trace, 'arrive').some((e) => e.id === fins[1]!.id)).toBe(true);
    expect(net.rules()[0]).toMatchObject({ matched: 1, fired: 1 });
  });

  test('"delay the next ACK from B by 3 s": the next one only, counted from when the rule is added', () => {
    const net = twoHosts();
    const { a } = connectPair(net);
    net.drainTrace();
    const t0 = net.now;
    net.addRule({ from: 'B', flags: ['ACK'], action: 'delay', delayMs: 3000 });
    net.call('A', { op: 'send', fd: a, data: new Uint8Array(10) });
    net.runUntil(t0 + 5000);
    const trace = net.drainTrace();
    const delayed = segmentEvents(trace, 'delay');
    expect(delayed).toHaveLength(1);
    expect(delayed[0]).toMatchObject({ from: 'B', reason: 'rule:r1', delayMs: 3000 });
    const sentAt = segmentEvents(trace, 'send').find((e) => e.id === delayed[0]!.id)!.t;
    const arrivedAt = segmentEvents(trace, 'arrive').find((e) => e.id === delayed[0]!.id)!.t;
    expect(arrivedAt - sentAt).toBe(3050);
  });

  test('"duplicate segment #N": the copy arrives too and the receiver discards it', () => {
    const net = twoHosts();
    const { a } = connectPair(net);
    net.addRule({ segment: 4, action: 'duplicate' });
    net.drainTrace();
    net.call('A', { op: 'send', fd: a, data: new Uint8Array(10) });
    net.runUntil(net.now + 1000);
    const trace = net.drainTrace();
    const dup = segmentEvents(trace, 'dup');
    expect(dup.map((d) => [d.dupOf, d.reason, segLine(d)])).toEqual([
      [4, 'rule', 'A>B PSH,ACK seq=1 ack=1 len=10'],
    ]);
    expect(
      segmentEvents(trace, 'arrive')
        .filter((e) => e.to === 'B')
        .map((e) => e.id),
    ).toEqual([4, dup[0]!.id]);
  });

  test('nth and times: act on the 2nd and 3rd matching segments only', () => {
    const net = twoHosts({ config: { nagle: false } });
    const { a } = connectPair(net);
    net.addRule({ from: 'A', data: true, nth: 2, times: 2, action: 'drop' });
    net.drainTrace();
    for (let i = 0; i < 4; i++) net.call('A', { op: 'send', fd: a, data: new Uint8Array(1) });
    const trace = net.drainTrace();
    const data = segmentEvents(trace, 'send').filter((e) => e.len > 0);
    expect(segmentEvents(trace, 'drop').map((d) => d.id)).toEqual([data[1]!.id, data[2]!.id]);
  });

  test('corrupt flips a bit: the receiver rejects the checksum and discards it', () => {
    const net = twoHosts();
    net.addRule({ from: 'A', flags: ['SYN'], action: 'corrupt' });
    const fd = ok(net, 'A', { op: 'socket' }) as number;
    net.call('A', { op: 'connect', fd, addr: ADDR_B, port: 9 });
    net.runUntil(100);
    const trace = net.drainTrace();
    expect(segmentEvents(trace, 'corrupt').map((e) => e.id)).toEqual([1]);
    const discard = trace.find((e) => e.type === 'discard');
    expect(discard).toMatchObject({ host: 'B', id: 1, reason: 'bad-packet' });
  });

  test('removeRule stops a rule', () => {
    const net = twoHosts({ link: {} });
    const id = net.addRule({ from: 'A', action: 'drop', times: 'all' });
    expect(net.removeRule(id)).toBe(true);
    expect(net.removeRule(id)).toBe(false);
    const fd = ok(net, 'A', { op: 'socket' }) as number;
    net.call('A', { op: 'connect', fd, addr: ADDR_B, port: 9 });
    expect(segmentEvents(net.drainTrace(), 'drop')).toHaveLength(0);
  });

  test('checkRule names the field and the problem', () => {
    expect(checkRule({ from: 'C', flags: ['FNI'], action: 'dorp' }, 'faults[0]', ['A', 'B'])).toEqual([
      'faults[0].from: unknown host "C" (hosts: A, B)',
      'faults[0].flags[0]: unknown flag "FNI" (flags: CWR ECE URG ACK PSH RST SYN FIN)',
      'faults[0].action: unknown action "dorp" (one of drop, delay, duplicate, corrupt, hold)',
    ]);
    expect(checkRule({ action: 'delay' }, 'r', ['A'])).toEqual([
      'r.delayMs: a delay rule needs delayMs, a number of ms >= 0',
    ]);
    expect(checkRule({ action: 'drop', nth: 0, color: 1 }, 'r', ['A'])[0]).toMatch(
      /^r\.color: unknown rule field/,
    );
  });
});

describe('hold mode', () => {
  test('held segments wait until released, dropped or delayed, each by id', () => {
    const net = twoHosts();
    const { a, b } = connectPair(net);
    net.drainTrace();
    net.setHold(true);
    net.call('A', { op: 'send', fd: a, data: new Uint8Array(5) });
    net.call('B', { op: 'send', fd: b, data: new Uint8Array(7) });
    net.runUntil(net.now + 150);
    const held = net.held();
    expect(held.map((h) => [h.id, h.from, h.summary?.len])).toEqual([
      [4, 'A', 5],
      [5, 'B', 7],
    ]);
    expect(segmentEvents(net.drainTrace(), 'arrive')).toHaveLength(0);

    const t = net.now;
    net.dropHeld(4);
    net.release(5);
    net.runUntil(t + 200);
    const trace = net.drainTrace();
    expect(segmentEvents(trace, 'drop').map((e) => [e.id, e.reason])).toEqual([[4, 'user']]);
    expect(segmentEvents(trace, 'release').map((e) => e.id)).toEqual([5]);
    expect(segmentEvents(trace, 'arrive').find((e) => e.id === 5)!.t).toBe(t + 50);
    // A's data was dropped: its retransmission is held in turn, as are B's ACK and the rest.
    expect(net.held().some((h) => h.from === 'A' && h.summary?.len === 5 && h.rexmit === 1)).toBe(true);
    expect(() => net.release(4)).toThrow('segment #4 is not held');
  });

  test('delayHeld lets a segment go with extra flight time', () => {
    const net = twoHosts();
    net.setHold(true, { from: 'A', to: 'B' });
    const fd = ok(net, 'A', { op: 'socket' }) as number;
    net.call('A', { op: 'connect', fd, addr: ADDR_B, port: 9 });
    net.runUntil(200);
    net.delayHeld(1, 300);
    net.runUntil(1000);
    const trace = net.drainTrace();
    expect(segmentEvents(trace, 'delay')).toMatchObject([{ id: 1, delayMs: 300, reason: 'user' }]);
    expect(segmentEvents(trace, 'arrive').map((e) => [e.id, e.t])).toEqual([
      [1, 550],
      [2, 600],
    ]);
  });

  test('a hold rule holds just the segments it matches', () => {
    const net = twoHosts();
    const { a } = connectPair(net);
    net.addRule({ from: 'A', flags: ['FIN'], action: 'hold' });
    net.drainTrace();
    net.call('A', { op: 'close', fd: a });
    expect(net.held().map((h) => segLine({ ...h.summary, from: h.from, to: h.to } as never))).toEqual([
      'A>B FIN,ACK seq=1 ack=1 len=0',
    ]);
    expect(segmentEvents(net.drainTrace(), 'hold')).toMatchObject([{ reason: 'rule:r1' }]);
  });
});
