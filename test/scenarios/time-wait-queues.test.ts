/**
 * TIME-WAIT and the listen queues: a port held for 2·MSL, TIME-WAITs piling up on a server that
 * closes first, and the SYN and accept queues of a listening socket filling up.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ScenarioSession } from '../../shared/sim/runner.ts';
import { validateScenario } from '../../shared/sim/scenario.ts';
import type { TraceEvent } from '../../shared/sim/trace.ts';
import type { HostSnapshot } from '../../shared/tcp/host.ts';
import { ladder, returns, runFile, segments, states, timeIn } from './helpers.ts';

/** Loads a scenario into a session without running it, to look at snapshots on the way. */
function session(name: string): ScenarioSession {
  const text = readFileSync(join(import.meta.dirname, '../../scenarios', `${name}.json`), 'utf8');
  const parsed = validateScenario(JSON.parse(text));
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  return new ScenarioSession(parsed.scenario);
}

function hostSnapshot(s: ScenarioSession, host: string): HostSnapshot {
  return s.network.snapshot().hosts[host] as HostSnapshot;
}

function discards(trace: readonly TraceEvent[], host: string) {
  return trace
    .filter((e): e is Extract<TraceEvent, { type: 'discard' }> => e.type === 'discard' && e.host === host)
    .map((e) => [e.t, e.id, e.reason]);
}

describe('TIME-WAIT', () => {
  test('time-wait-rebind: port 80 cannot be bound while TIME-WAIT holds it, and can exactly 2·MSL later', () => {
    const { trace } = runFile('time-wait-rebind');
    expect(ladder(trace, 200)).toEqual([
      '300 B FIN-WAIT-1',
      '300 B>A FIN,ACK seq=1 ack=1 len=0',
      '300 B CLOSED',
      '350 A CLOSE-WAIT',
      '350 A>B ACK seq=1 ack=2 len=0',
      '400 B FIN-WAIT-2',
      '800 A LAST-ACK',
      '800 A>B FIN,ACK seq=1 ack=2 len=0',
      '850 B TIME-WAIT',
      '850 B>A ACK seq=2 ack=2 len=0',
      '900 A CLOSED',
      '2850 B CLOSED',
    ]);
    expect(timeIn(trace, 'B', 2, 'TIME-WAIT')).toBe(2000);
    const binds = returns(trace, 'B', 'bind').map((r) => [
      r.t,
      (r.result as { errno?: string }).errno ?? 'ok',
    ]);
    expect(binds).toEqual([
      [0, 'ok'],
      [1500, 'EADDRINUSE'],
      [3000, 'ok'],
    ]);
    const refused = returns(trace, 'B', 'bind')[1]!.result as { message: string };
    expect(refused.message).toMatch(/TIME-WAIT/);
  });

  test('many-time-waits: each short connection leaves a TIME-WAIT on the server, one per client port', () => {
    const s = session('many-time-waits');
    s.network.runUntil(1000);
    const b = hostSnapshot(s, 'B');
    const tw = b.sockets.filter((k) => k.state === 'TIME-WAIT');
    expect(tw).toHaveLength(4);
    expect(new Set(tw.map((k) => k.local.port))).toEqual(new Set([80]));
    expect(new Set(tw.map((k) => k.remote.port)).size).toBe(4);
    // The client, which closed second, keeps nothing.
    expect(hostSnapshot(s, 'A').sockets.filter((k) => k.state !== 'CLOSED')).toEqual([]);

    const { trace } = s.runToEnd();
    const twStates = trace.filter((e) => e.type === 'state' && e.host === 'B' && e.to === 'TIME-WAIT');
    expect(twStates.map((e) => e.t)).toEqual([260, 460, 660, 860]);
    for (const e of twStates) {
      if (e.type === 'state') expect(timeIn(trace, 'B', e.sock, 'TIME-WAIT')).toBe(10_000);
    }
    // Each exchange: request, response, server FIN first.
    const first = ladder(trace).filter((l) => Number(l.split(' ')[0]) < 260);
    expect(first).toEqual([
      '0 B LISTEN',
      '10 A SYN-SENT',
      '10 A>B SYN seq=0 len=0',
      '60 B SYN-RECEIVED',
      '60 B>A SYN,ACK seq=0 ack=1 len=0',
      '110 A ESTABLISHED',
      '110 A>B ACK seq=1 ack=1 len=0',
      '110 A>B PSH,ACK seq=1 ack=1 len=10',
      '160 B ESTABLISHED',
      '160 B>A PSH,ACK seq=1 ack=11 len=18',
      '160 B FIN-WAIT-1',
      '160 B>A FIN,ACK seq=19 ack=11 len=0',
      '210 A CLOSE-WAIT',
      '210 A>B ACK seq=11 ack=20 len=0',
      '210 A LAST-ACK',
      '210 A>B FIN,ACK seq=11 ack=20 len=0',
      '210 A SYN-SENT',
      '210 A>B SYN seq=0 len=0',
    ]);
  });
});

describe('listen queues (backlog 1: Linux lets each queue hold backlog + 1)', () => {
  test('syn-queue-overflow: two half-open connections fill the SYN queue; the third SYN is dropped until one expires', () => {
    const s = session('syn-queue-overflow');
    s.network.runUntil(500);
    const listener = hostSnapshot(s, 'B').sockets.find((k) => k.state === 'LISTEN')!;
    expect(listener.listen).toMatchObject({ backlog: 1 });
    expect(listener.listen!.synQueue).toHaveLength(2);
    expect(listener.listen!.acceptQueue).toHaveLength(0);

    const { trace } = s.runToEnd();
    expect(discards(trace, 'B').filter(([, , r]) => r === 'syn-queue-full')).toEqual([
      [260, 7, 'syn-queue-full'],
      [1260, 11, 'syn-queue-full'],
      [3260, 16, 'syn-queue-full'],
    ]);
    // c3's SYN is retransmitted with exponential backoff: 1 s, 2 s, 4 s.
    const c3Syns = segments(trace).filter((e) => e.from === 'A' && e.flags.join() === 'SYN' && e.t >= 210);
    expect(c3Syns.map((e) => e.t)).toEqual([210, 1210, 3210, 7210]);
    // The half-open entries give up after synAckRetries = 2 retransmissions; then c3 gets in.
    expect(states(trace, 'B', 2)).toEqual([
      [60, 'SYN-RECEIVED'],
      [7060, 'CLOSED'],
    ]);
    expect(states(trace, 'B', 4)).toEqual([[7260, 'SYN-RECEIVED']]);
    expect(returns(trace, 'A', 'connect').map((r) => r.t)).toEqual([110, 210, 7310]);
  });

  test('accept-queue-overflow: a full accept queue drops the final ACK and then new SYNs', () => {
    const s = session('accept-queue-overflow');
    s.network.runUntil(1000);
    const listener = hostSnapshot(s, 'B').sockets.find((k) => k.state === 'LISTEN')!;
    expect(listener.listen!.acceptQueue).toHaveLength(2);
    expect(listener.listen!.synQueue).toHaveLength(1);

    const { trace } = s.runToEnd();
    expect(discards(trace, 'B')).toEqual([
      [350, 9, 'accept-queue-full'],
      [450, 10, 'accept-queue-full'],
      [1350, 12, 'accept-queue-full'],
      [1450, 13, 'accept-queue-full'],
      [3350, 15, 'accept-queue-full'],
      [3450, 16, 'accept-queue-full'],
    ]);
    // c3 is ESTABLISHED on A at 300 while B keeps it in SYN-RECEIVED, retransmitting its SYN-ACK.
    expect(states(trace, 'A', 3)).toEqual([
      [200, 'SYN-SENT'],
      [300, 'ESTABLISHED'],
    ]);
    expect(states(trace, 'B', 4)).toEqual([
      [250, 'SYN-RECEIVED'],
      [7350, 'ESTABLISHED'],
    ]);
    expect(ladder(trace, 1000)).toEqual([
      '1250 B>A SYN,ACK seq=0 ack=1 len=0',
      '1300 A>B ACK seq=1 ack=1 len=0',
      '1400 A>B SYN seq=0 len=0',
      '3250 B>A SYN,ACK seq=0 ack=1 len=0',
      '3300 A>B ACK seq=1 ack=1 len=0',
      '3400 A>B SYN seq=0 len=0',
      '7250 B>A SYN,ACK seq=0 ack=1 len=0',
      '7300 A>B ACK seq=1 ack=1 len=0',
      '7350 B ESTABLISHED',
      '7400 A>B SYN seq=0 len=0',
      '7450 B SYN-RECEIVED',
      '7450 B>A SYN,ACK seq=0 ack=1 len=0',
      '7500 A ESTABLISHED',
      '7500 A>B ACK seq=1 ack=1 len=0',
      '7550 B ESTABLISHED',
    ]);
    expect(returns(trace, 'B', 'accept').map((r) => r.t)).toEqual([5000, 5000, 7350, 7550]);
    expect(returns(trace, 'A', 'connect').map((r) => r.t)).toEqual([110, 200, 200, 7500]);
  });
});
