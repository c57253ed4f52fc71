/**
 * The Pacer against a fake clock: virtual time follows real time × speed; pause, resume, step.
 */
import { describe, expect, test } from 'vitest';
import { Pacer } from '../../shared/sim/pacer.ts';
import { FakeClock } from '../fake-clock.ts';
import { ADDR_B, ok, twoHosts } from './helpers.ts';

function refusedConnect() {
  const net = twoHosts({ link: { delayMs: 100 } });
  const fd = ok(net, 'A', { op: 'socket' }) as number;
  net.call('A', { op: 'connect', fd, addr: ADDR_B, port: 9 });
  return net;
}

describe('Pacer', () => {
  test('float rounding never leaves it re-arming just short of a due event', () => {
    // At speeds whose factor has no exact binary form, virtual time computed from real time can
    // land a hair below an event's time (19.99999999999993 for 20).
    const cases: Array<[number, number]> = [
      [0.1, 1.7000000000000006],
      [0.1, 6.499999999999994],
      [0.3, 7.3],
      [3, 7.3],
      [7, 2.9],
      [33, 0.7],
    ];
    for (const [speed, delayMs] of cases) {
      const net = twoHosts({ link: { delayMs } });
      const lfd = ok(net, 'B', { op: 'socket' }) as number;
      ok(net, 'B', { op: 'bind', fd: lfd, port: 80 });
      ok(net, 'B', { op: 'listen', fd: lfd });
      const fd = ok(net, 'A', { op: 'socket' }) as number;
      net.call('A', { op: 'connect', fd, addr: ADDR_B, port: 80 });
      net.call('A', { op: 'send', fd, data: new Uint8Array(300_000) });
      const clock = new FakeClock();
      let ticks = 0;
      const pacer = new Pacer(net, { clock, speed, onTick: () => ticks++ });
      pacer.resume();
      for (let i = 0; i < 50; i++) clock.advance(13.7 / speed);
      pacer.sync();
      expect(net.now).toBeCloseTo(685, 6);
      expect(net.nextEventTime() ?? Number.POSITIVE_INFINITY).toBeGreaterThan(net.now);
      // Each tick runs what is due or waits for the next event: the hundreds of segments of the
      // transfer take a few hundred ticks, not a tick loop.
      expect(ticks).toBeGreaterThan(5);
      expect(ticks).toBeLessThan(2000);
    }
  });

  test('at ×10, 15 real ms run the events of the first 150 virtual ms', () => {
    const net = refusedConnect();
    const clock = new FakeClock();
    const ticks: number[] = [];
    const pacer = new Pacer(net, { clock, speed: 10, onTick: (t) => ticks.push(t) });
    pacer.resume();
    clock.advance(15);
    expect(pacer.virtualNow).toBe(150);
    // Nothing happens between ticks: the network's own clock is at the last event until synced.
    expect(net.now).toBe(100);
    pacer.sync();
    expect(net.now).toBe(150);
    // The SYN arrived at 100 (10 real ms), the RST is due at 200.
    expect(ticks).toContain(100);
    expect(net.nextEventTime()).toBe(200);
    clock.advance(5);
    expect(net.now).toBe(200);
    expect(net.nextEventTime()).toBeUndefined();
  });

  test('at ×0.1 virtual time crawls; changing speed keeps the clock continuous', () => {
    const net = refusedConnect();
    const clock = new FakeClock();
    const pacer = new Pacer(net, { clock, speed: 0.1 });
    pacer.resume();
    clock.advance(500);
    expect(pacer.virtualNow).toBe(50);
    pacer.setSpeed(100);
    expect(net.now).toBe(50);
    clock.advance(1);
    expect(pacer.virtualNow).toBe(150);
  });

  test('pause freezes virtual time and leaves no timer; step runs one event; resume continues', () => {
    const net = refusedConnect();
    const clock = new FakeClock();
    const pacer = new Pacer(net, { clock, speed: 1 });
    pacer.resume();
    clock.advance(40);
    pacer.pause();
    expect(pacer.running).toBe(false);
    expect(clock.pending).toBe(0);
    clock.advance(1000);
    expect(net.now).toBe(40);
    expect(pacer.step()).toMatchObject({ t: 100, kind: 'deliver', id: 1 });
    expect(net.now).toBe(100);
    pacer.resume();
    clock.advance(99);
    expect(pacer.virtualNow).toBe(199);
    expect(net.nextEventTime()).toBe(200);
    clock.advance(1);
    expect(net.nextEventTime()).toBeUndefined();
    pacer.dispose();
    expect(clock.pending).toBe(0);
  });

  test('step while running is refused, and speeds outside ×0.1…×100 are rejected', () => {
    const net = refusedConnect();
    const clock = new FakeClock();
    const pacer = new Pacer(net, { clock });
    pacer.resume();
    expect(() => pacer.step()).toThrow('paused');
    expect(() => pacer.setSpeed(0.05)).toThrow(RangeError);
    expect(() => pacer.setSpeed(101)).toThrow(RangeError);
    expect(() => new Pacer(net, { clock, speed: Number.NaN })).toThrow(RangeError);
  });

  test('an event budget per tick lets virtual time fall behind instead of freezing the driver', () => {
    const net = refusedConnect();
    const clock = new FakeClock();
    const pacer = new Pacer(net, { clock, speed: 100, maxEventsPerTick: 1 });
    pacer.resume();
    clock.advance(10);
    // 1000 virtual ms were due, but each tick runs one event, then re-plans.
    expect(net.nextEventTime()).toBeUndefined();
    expect(net.now).toBeGreaterThanOrEqual(200);
  });
});
