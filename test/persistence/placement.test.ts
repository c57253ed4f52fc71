/**
 * The two scenario step fields the lab's export relies on (docs/scenarios.md): `after` places a
 * step between network events due at the same time, `concurrent` lets a call run while its
 * process is blocked.
 */
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../shared/sim/runner.ts';
import { type Scenario, type Step, validateScenario } from '../../shared/sim/scenario.ts';
import type { TraceEvent } from '../../shared/sim/trace.ts';

const server: Step[] = [
  { at: 0, host: 'B', op: 'socket', as: 'l' },
  { at: 0, host: 'B', op: 'bind', fd: 'l', port: 80 },
  { at: 0, host: 'B', op: 'listen', fd: 'l' },
  { at: 0, host: 'A', op: 'socket', as: 'c' },
  { at: 0, host: 'A', op: 'connect', fd: 'c', addr: 'B', port: 80 },
];

function scenario(steps: Step[], until = 1000): Scenario {
  const s = { name: 'placement', seed: 7, until, link: { delayMs: 50 }, steps: [...server, ...steps] };
  const v = validateScenario(s);
  if (!v.ok) throw new Error(v.errors.join('\n'));
  return v.scenario;
}

/** Index in the trace of the first event matching `pred`. */
function indexOf(trace: TraceEvent[], pred: (e: TraceEvent) => boolean): number {
  const i = trace.findIndex(pred);
  if (i < 0) throw new Error('event not found');
  return i;
}

const synArrives = (e: TraceEvent) =>
  e.type === 'segment' && e.event === 'arrive' && e.id === 1 && e.from === 'A';
const getsockopt = (e: TraceEvent) => e.type === 'call' && e.op === 'getsockopt';

describe('step field "after"', () => {
  const probe = (after?: number): Step => ({
    at: 50,
    host: 'B',
    op: 'getsockopt',
    fd: 'l',
    opt: 'SO_RCVBUF',
    ...(after === undefined ? {} : { after }),
  });

  it('runs a step before every event due at its time by default', () => {
    const run = runScenario(scenario([probe()]));
    expect(indexOf(run.trace, getsockopt)).toBeLessThan(indexOf(run.trace, synArrives));
  });

  it('runs it after the first `after` events due at that time', () => {
    const run = runScenario(scenario([probe(1)]));
    const call = indexOf(run.trace, getsockopt);
    expect(call).toBeGreaterThan(indexOf(run.trace, synArrives));
    expect(run.trace[call]!.t).toBe(50);
    // …and before what the next event at 50 or later does: the SYN-ACK leaves at 50 in the arrival.
    expect(run.errors).toEqual([]);
  });

  it('runs it after them all when fewer fall due, and counts events, not steps', () => {
    const late = runScenario(scenario([probe(9)]));
    const call = indexOf(late.trace, getsockopt);
    // Its own return follows it; everything after that is later than 50.
    expect(late.trace[call + 1]).toMatchObject({ type: 'return', op: 'getsockopt' });
    expect(late.trace.slice(call + 2).every((e) => e.t > 50)).toBe(true);
    // A plain step at the same time (a callback in the queue) does not count as an event.
    const both = runScenario(scenario([probe(), probe(1)]));
    const calls = both.trace.flatMap((e, i) => (getsockopt(e) ? [i] : []));
    const syn = indexOf(both.trace, synArrives);
    expect(calls[0]).toBeLessThan(syn);
    expect(calls[1]).toBeGreaterThan(syn);
  });

  it('leaves an ordinary scenario exactly as it was', () => {
    const s = scenario([{ at: 200, host: 'A', op: 'send', fd: 'c', data: 'hi' }]);
    const placed = scenario([{ at: 200, after: 0, host: 'A', op: 'send', fd: 'c', data: 'hi' }]);
    expect(JSON.stringify(runScenario(placed).trace)).toBe(JSON.stringify(runScenario(s).trace));
  });
});

describe('step field "concurrent"', () => {
  const accept: Step[] = [
    { at: 0, host: 'B', op: 'accept', fd: 'l', as: 'conn' },
    { at: 0, host: 'B', op: 'recv', fd: 'conn' },
  ];

  it('lets a call run while its process is blocked, and nobody waits for it', () => {
    const send: Step = { at: 300, host: 'B', op: 'send', fd: 4, data: 'early' };
    const waiting = runScenario(
      scenario([...accept, send, { at: 600, host: 'A', op: 'send', fd: 'c', data: 'x' }]),
    );
    const sendOf = (trace: TraceEvent[]) =>
      trace.find((e) => e.type === 'call' && e.op === 'send' && e.host === 'B');
    // Without it, B's send waits for the recv, which returns when A's data arrives (650).
    expect(sendOf(waiting.trace)!.t).toBe(650);
    const threaded = runScenario(
      scenario([
        ...accept,
        { ...send, concurrent: true },
        { at: 600, host: 'A', op: 'send', fd: 'c', data: 'x' },
      ]),
    );
    expect(sendOf(threaded.trace)!.t).toBe(300);
    expect(threaded.errors).toEqual([]);
  });
});

describe('validation', () => {
  it('names bad values', () => {
    const r = validateScenario({
      name: 'x',
      seed: 1,
      until: 10,
      steps: [
        { at: 0, after: -1, host: 'A', op: 'socket' },
        { at: 0, after: 1.5, op: 'hold', on: true },
        { at: 0, host: 'A', op: 'socket', concurrent: 'yes' },
        { at: 0, op: 'hold', on: true, concurrent: true },
      ],
    });
    expect(r.ok).toBe(false);
    const errors = r.ok ? [] : r.errors;
    expect(errors).toContain('steps[0].after: must be an integer >= 0 (events due at "at" that run first)');
    expect(errors).toContain('steps[1].after: must be an integer >= 0 (events due at "at" that run first)');
    expect(errors).toContain('steps[2].concurrent: must be true or false');
    expect(errors.some((e) => e.startsWith('steps[3].concurrent: unknown field for hold'))).toBe(true);
  });
});
