/**
 * A room as a scenario and back: the export replays into the room's own trace (every event, every
 * frame), a fork is the room's past up to a moment, and an import (of the library's scenarios, or
 * of an exported room) rebuilds the run in a room.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Room } from '../../server/lab/room.ts';
import { forkPoint, ImportError, roomScenario, scenarioRoom } from '../../server/persistence/scenario.ts';
import { LIMITS } from '../../shared/protocol/limits.ts';
import { runScenario } from '../../shared/sim/runner.ts';
import { validateScenario } from '../../shared/sim/scenario.ts';
import type { TraceEvent } from '../../shared/sim/trace.ts';
import {
  call,
  chaos,
  classSession,
  connectPair,
  expectHistoryIsTrace,
  FakeClock,
  makeRoom,
} from './helpers.ts';

/** Exports the room, checks the file is valid, runs it, and checks the run is the room's history. */
function roundTrip(room: Room) {
  const scenario = roomScenario(room);
  const v = validateScenario(JSON.parse(JSON.stringify(scenario)));
  expect(v.ok ? [] : v.errors).toEqual([]);
  const run = runScenario(scenario);
  expectHistoryIsTrace(room.history, run.trace);
  return { scenario, run };
}

/** A detached room with the same id (so its history is byte-comparable) replaying `inputs`. */
function rebuild(room: Room, inputs = room.inputs, position = room.position()): Room {
  const copy = makeRoom(new FakeClock(), { id: room.id, running: false, setup: room.setup });
  copy.replay(structuredClone(inputs), position);
  return copy;
}

const hex = (r: Room) => r.history.map((e) => e.data.toString('hex'));

describe('export: a room as a scenario file', () => {
  it("replays a class's hour into the room's trace, event for event and frame for frame", () => {
    const clock = new FakeClock();
    const room = makeRoom(clock);
    classSession(clock, room);
    const { scenario } = roundTrip(room);
    // The session exercises what plain steps cannot say: a call between two events due at the
    // same time, and a call while the process's recv is blocked.
    expect(scenario.steps.some((s) => (s.after ?? 0) > 0)).toBe(true);
    expect(scenario.steps.some((s) => 'concurrent' in s && s.concurrent)).toBe(true);
    expect(scenario.steps.some((s) => s.op === 'fault' && s.note === "lose A's FIN")).toBe(true);
    expect(scenario.steps.filter((s) => s.op === 'unfault').length).toBeGreaterThan(0);
    expect(room.history.length).toBeGreaterThan(100);
  });

  it('does the same for random rooms (12 seeds, 200 inputs each, stepping, faults, hold, loss)', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const clock = new FakeClock();
      const room = makeRoom(clock, { id: seed });
      chaos(room, clock, seed, 200);
      roundTrip(room);
    }
  });

  it('exports the current epoch after a reset', () => {
    const clock = new FakeClock();
    const room = makeRoom(clock);
    chaos(room, clock, 99, 150, { resets: true });
    room.reset();
    classSession(clock, room);
    expect(room.epoch).toBeGreaterThan(0);
    roundTrip(room);
  });

  it('leaves an ordinary room an ordinary scenario: no placement fields', () => {
    const clock = new FakeClock();
    const room = makeRoom(clock);
    connectPair(room, clock);
    call(room, 'A', { op: 'send', fd: 3, data: 'hi' });
    clock.advance(3000);
    const { scenario } = roundTrip(room);
    expect(scenario.steps.every((s) => s.after === undefined && !('concurrent' in s))).toBe(true);
    expect(scenario.steps.find((s) => s.op === 'send')).toMatchObject({ host: 'A', fd: 3, data: 'hi' });
  });
});

describe('fork: the room up to a moment', () => {
  it('replays exactly the history up to that moment, then goes its own way', () => {
    const clock = new FakeClock();
    const room = makeRoom(clock);
    classSession(clock, room);
    // Fork at the moment A's first FIN left (it is dropped in the original).
    const fin = room.history.findIndex(
      (e) => !e.binary && JSON.parse(e.data.toString()).event?.to === 'FIN-WAIT-1',
    );
    const at = JSON.parse(room.history[fin]!.data.toString()).t as number;
    const { inputs, position } = forkPoint(room, at);
    expect(inputs.every((i) => i.at <= at)).toBe(true);
    expect(inputs.length).toBeLessThan(room.inputs.length);
    const fork = rebuild(room, inputs, position);
    const upTo = room.history.filter((e) => {
      const t = e.binary
        ? new DataView(e.data.buffer, e.data.byteOffset + 16, 8).getFloat64(0)
        : JSON.parse(e.data.toString()).t;
      return t <= at;
    }).length;
    expect(fork.history.length).toBe(upTo);
    expect(hex(fork)).toEqual(hex(room).slice(0, upTo));
    // The same sockets, buffers and timers as a replay of the original to that point.
    expect(JSON.parse(fork.snapshotMessage().toString()).hosts).toEqual(
      JSON.parse(rebuild(room, inputs, position).snapshotMessage().toString()).hosts,
    );
    // What if the FIN had not been lost: clear the faults in the fork and let it run.
    const clock2 = new FakeClock();
    const live = makeRoom(clock2, { id: room.id, setup: room.setup });
    live.replay(inputs, position);
    live.input({ kind: 'fault.clear' });
    clock2.advance(20_000);
    expect(hex(live).slice(0, upTo)).toEqual(hex(room).slice(0, upTo));
    expect(hex(live)).not.toEqual(hex(room).slice(0, live.history.length));
    roundTrip(live);
  });

  it('at the current position is a copy', () => {
    const clock = new FakeClock();
    const room = makeRoom(clock);
    chaos(room, clock, 5, 120);
    const { inputs, position } = forkPoint(room, room.position().at);
    expect(inputs).toEqual(room.inputs);
    expect(hex(rebuild(room, inputs, position))).toEqual(hex(room));
  });
});

describe('import: a scenario becomes a room', () => {
  const dir = join(import.meta.dirname, '../../scenarios');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

  /** The scenario's trace with its rule ids as the room numbers them. */
  function renumbered(trace: readonly TraceEvent[], ids: number[]): TraceEvent[] {
    const map = new Map<string, string>();
    return trace.map((e) => {
      const id = e.type === 'rule' ? String((e.rule as { id: string }).id) : '';
      if (e.type === 'rule' && e.action === 'add' && !map.has(id)) map.set(id, String(ids[map.size]));
      const out = structuredClone(e) as TraceEvent & { rule?: { id?: string }; reason?: string };
      if (out.type === 'rule' && out.rule?.id !== undefined) out.rule.id = map.get(out.rule.id)!;
      if (out.type === 'segment' && out.reason?.startsWith('rule:'))
        out.reason = `rule:${map.get(out.reason.slice(5))}`;
      return out;
    });
  }

  // Every scenario of the library imports (slow-start-ca.json sends 20 KB at a time).
  it.each(files)('%s: the room replays the run (rule ids renumbered)', (file) => {
    const json = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    const imported = scenarioRoom(json, LIMITS);
    expect(imported.warnings).toEqual([]);
    const room = makeRoom(new FakeClock(), { id: 1, running: false, setup: imported.setup });
    room.replay(imported.inputs, imported.position);
    const original = runScenario(validate(json));
    const ids = imported.inputs.flatMap((i) => (i.kind === 'fault.add' ? [i.id] : []));
    expectHistoryIsTrace(room.history, renumbered(original.trace, ids));
    // …and the room exports back into the same run.
    roundTrip(room);
  });

  it('an exported room imports into the same room, byte for byte', () => {
    const clock = new FakeClock();
    const room = makeRoom(clock);
    classSession(clock, room);
    const file = JSON.parse(JSON.stringify(roomScenario(room)));
    const imported = scenarioRoom(file, LIMITS);
    const copy = makeRoom(new FakeClock(), { id: room.id, running: false, setup: imported.setup });
    copy.replay(imported.inputs, imported.position);
    expect(hex(copy)).toEqual(hex(room));
    expect(copy.info().faults).toEqual(room.info().faults);
  });

  it('refuses what a room cannot replay, naming each problem', () => {
    const base = JSON.parse(readFileSync(join(dir, 'lost-fin-1.json'), 'utf8'));
    const problems = (json: unknown) => {
      try {
        scenarioRoom(json, LIMITS);
      } catch (e) {
        if (e instanceof ImportError) return e.problems;
        throw e;
      }
      throw new Error('imported');
    };
    expect(problems([1, 2])).toEqual(['scenario: must be a JSON object']);
    expect(problems({ ...base, steps: [{ at: 0, host: 'A', op: 'conect' }] })).toEqual([
      'steps[0].op: unknown op "conect" (did you mean "connect"?)',
    ]);
    expect(problems({ ...base, hosts: { A: {}, B: {}, C: {} } })).toEqual([
      'hosts: a room has two endpoints, seats A and B; this scenario has 3: A (10.0.0.1), B (10.0.0.2), C (10.0.0.3)',
    ]);
    expect(problems({ ...base, steps: [{ at: 0, op: 'hold', on: true, from: 'A', to: 'B' }] })).toEqual([
      'steps[0]: a room holds every direction at once; "from"/"to" on hold are not supported',
    ]);
    const flood = problems({
      ...base,
      steps: [
        { at: 0, host: 'A', op: 'socket', as: 's' },
        { at: 1, host: 'A', op: 'send', fd: 's', bytes: 1024 * 1024 },
        { at: 2, host: 'A', op: 'send', fd: 's', bytes: 1 },
      ],
    });
    expect(flood).toEqual([
      'steps[2] (send on A) at t=2 ms: the run sends more than 1 MiB of payload in all, more than an imported room keeps',
    ]);
    const chatty = (() => {
      try {
        scenarioRoom(JSON.parse(readFileSync(join(dir, 'many-time-waits.json'), 'utf8')), {
          ...LIMITS,
          maxHistoryEvents: 50,
        });
      } catch (e) {
        return (e as ImportError).problems;
      }
      return [];
    })();
    expect(chatty).toEqual([
      expect.stringMatching(
        /^until: the run has more than 50 events by t=[\d.]+ ms, more than a room's history holds$/,
      ),
    ]);
    expect(problems({ ...base, steps: [{ at: 0, op: 'link', set: { delayMs: 0.5 } }] })).toEqual([
      'a link step at t=0 ms: link.set: field /settings/delayMs expected integer, got number 0.5 (/settings/delayMs)',
    ]);
    expect(
      problems({ ...base, faults: Array.from({ length: 33 }, () => ({ from: 'A', action: 'drop' })) }),
    ).toContain('faults[32]: a room holds at most 32 fault rules at once');
  });
});

function validate(json: unknown) {
  const v = validateScenario(json);
  if (!v.ok) throw new Error(v.errors.join('\n'));
  return v.scenario;
}

describe('import: what used to be refused', () => {
  const base = JSON.parse(
    readFileSync(join(import.meta.dirname, '../../scenarios/lost-fin-1.json'), 'utf8'),
  ) as Record<string, unknown>;

  it('hosts listed B first: B keeps the first address, A the second, and the room replays the run', () => {
    const json = { ...base, hosts: { B: {}, A: {} } };
    const imported = scenarioRoom(json, LIMITS);
    expect(imported.setup.addrs).toEqual({ A: '10.0.0.2', B: '10.0.0.1' });
    const room = makeRoom(new FakeClock(), { id: 1, running: false, setup: imported.setup });
    room.replay(imported.inputs, imported.position);
    expect(room.info().addrs).toEqual({ A: '10.0.0.2', B: '10.0.0.1' });
    const ids = imported.inputs.flatMap((i) => (i.kind === 'fault.add' ? [i.id] : []));
    expect(ids).toEqual([1]);
    expect(room.history.length).toBe(runScenario(validate(json)).trace.length);
  });

  it('a send of more than 8 KiB', () => {
    const json = {
      ...base,
      steps: [...(base.steps as object[]), { at: 20, host: 'A', op: 'send', fd: 'c', bytes: 10_000 }],
    };
    const imported = scenarioRoom(json, LIMITS);
    const room = makeRoom(new FakeClock(), { id: 1, running: false, setup: imported.setup });
    room.replay(imported.inputs, imported.position);
    expect(room.history.length).toBe(runScenario(validate(json)).trace.length);
  });
});
