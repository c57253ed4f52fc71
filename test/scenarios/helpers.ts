/**
 * Runs the library's scenario files through the public runner API and turns traces into compact
 * ladder lines for assertions:
 *
 *   '300 A>B FIN,ACK seq=1 ack=1 len=0'      a segment sent (relative numbers)
 *   '300 A>B FIN,ACK seq=1 ack=1 len=0 ✕'    …and lost on the way (any drop reason)
 *   '350 B CLOSE-WAIT'                       a state change (the new state)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { flagsText } from '../../shared/sim/ladder.ts';
import { runScenario, type ScenarioRun } from '../../shared/sim/runner.ts';
import { validateScenario } from '../../shared/sim/scenario.ts';
import type { SegmentTrace, TraceEvent } from '../../shared/sim/trace.ts';

export function runFile(name: string): ScenarioRun {
  const text = readFileSync(join(import.meta.dirname, '../../scenarios', `${name}.json`), 'utf8');
  const parsed = validateScenario(JSON.parse(text));
  if (!parsed.ok) throw new Error(`${name}.json is invalid:\n${parsed.errors.join('\n')}`);
  const run = runScenario(parsed.scenario);
  // Every `expect` in the file held and every step ran.
  expect(run.errors).toEqual([]);
  return run;
}

export function seg(e: SegmentTrace): string {
  return `${e.from}>${e.to} ${flagsText(e.flags)} seq=${e.rseq}${e.rack === undefined ? '' : ` ack=${e.rack}`} len=${e.len}`;
}

/** Sends (with ✕ when that copy was dropped) and state changes, from time `from` on. */
export function ladder(trace: readonly TraceEvent[], from = 0): string[] {
  const dropped = new Set(
    trace.filter((e) => e.type === 'segment' && e.event === 'drop').map((e) => (e as SegmentTrace).id),
  );
  const out: string[] = [];
  for (const e of trace) {
    if (e.t < from) continue;
    if (e.type === 'segment' && e.event === 'send')
      out.push(`${e.t} ${seg(e)}${dropped.has(e.id) ? ' ✕' : ''}`);
    else if (e.type === 'state') out.push(`${e.t} ${e.host} ${e.to}`);
  }
  return out;
}

/** [time, state] of every change of one socket. */
export function states(trace: readonly TraceEvent[], host: string, sock: number): Array<[number, string]> {
  return trace
    .filter(
      (e): e is Extract<TraceEvent, { type: 'state' }> =>
        e.type === 'state' && e.host === host && e.sock === sock,
    )
    .map((e) => [e.t, e.to]);
}

export function segments(trace: readonly TraceEvent[], event = 'send'): SegmentTrace[] {
  return trace.filter((e): e is SegmentTrace => e.type === 'segment' && e.event === event);
}

export function returns(
  trace: readonly TraceEvent[],
  host: string,
  op: string,
): Array<Extract<TraceEvent, { type: 'return' }>> {
  return trace.filter(
    (e): e is Extract<TraceEvent, { type: 'return' }> =>
      e.type === 'return' && e.host === host && e.op === op,
  );
}

/** Time the socket spent in `state` (entered → left). */
export function timeIn(trace: readonly TraceEvent[], host: string, sock: number, state: string): number {
  const s = states(trace, host, sock);
  const i = s.findIndex(([, st]) => st === state);
  if (i < 0 || i + 1 >= s.length) throw new Error(`${host} sock ${sock} never left ${state}`);
  return s[i + 1]![0] - s[i]![0];
}
