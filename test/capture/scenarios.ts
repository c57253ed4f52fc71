/**
 * Scenarios the capture tests run through the simulator's public runner: real engine, real bytes.
 */
import type { FaultRule } from '../../shared/sim/faults.ts';
import { runScenario, type ScenarioRun } from '../../shared/sim/runner.ts';
import type { Scenario, Step } from '../../shared/sim/scenario.ts';

/** B listens on 80 and accepts; A connects at 10 ms. */
const OPEN: Step[] = [
  { at: 0, host: 'B', op: 'socket', as: 'lsn' },
  { at: 0, host: 'B', op: 'bind', fd: 'lsn', port: 80 },
  { at: 0, host: 'B', op: 'listen', fd: 'lsn', backlog: 5 },
  { at: 0, host: 'B', op: 'accept', fd: 'lsn', as: 'conn' },
  { at: 10, host: 'A', op: 'socket', as: 'c' },
  { at: 10, host: 'A', op: 'connect', fd: 'c', addr: 'B', port: 80 },
];

/** Handshake, "hello" from A, then A closes and B closes after reading the FIN. */
const CLOSE: Step[] = [
  ...OPEN,
  { at: 300, host: 'A', op: 'send', fd: 'c', data: 'hello' },
  { at: 300, host: 'B', op: 'recv', fd: 'conn' },
  { at: 500, host: 'A', op: 'close', fd: 'c' },
  { at: 500, host: 'B', op: 'recv', fd: 'conn' },
  { at: 4000, host: 'B', op: 'close', fd: 'conn' },
];

function scenario(name: string, extra: Partial<Scenario> & { steps?: Step[] } = {}): Scenario {
  return {
    name,
    seed: 1,
    until: 10_000,
    config: { iss: 1000 },
    link: { delayMs: 50 },
    steps: CLOSE,
    ...extra,
  };
}

export const SCENARIOS = {
  /** Clean open, data and close. */
  handshakeClose: () => scenario('handshake and close'),
  /** The same with the Linux profile: window scaling, timestamps and SACK options. */
  handshakeCloseLinux: () => scenario('handshake and close (linux profile)', { profile: 'linux' }),
  /** A rule drops A's first FIN; A retransmits it after the RTO. */
  droppedFin: () =>
    scenario('dropped FIN', { faults: [{ from: 'A', flags: ['FIN'], action: 'drop' } satisfies FaultRule] }),
  /** A bulk transfer whose 5th data segment is dropped: fast retransmission after 3 duplicate ACKs. */
  fastRetransmit: () =>
    scenario('fast retransmit', {
      faults: [{ id: 'lose-5th', from: 'A', data: true, nth: 5, action: 'drop' }],
      steps: [...OPEN, { at: 300, host: 'A', op: 'send', fd: 'c', bytes: 20_000 }],
    }),
  /** Delay, duplicate and corrupt rules, then hold mode with a release, a delayed release and a drop. */
  faults: () =>
    scenario('faults', {
      faults: [
        { from: 'B', flags: ['ACK'], noFlags: ['SYN'], action: 'delay', delayMs: 3000 },
        { from: 'A', data: true, action: 'duplicate' },
      ],
      steps: [
        ...OPEN,
        { at: 300, host: 'A', op: 'send', fd: 'c', data: 'hello' },
        { at: 300, host: 'B', op: 'recv', fd: 'conn' },
        { at: 5000, op: 'fault', rule: { id: 'flip', from: 'A', data: true, action: 'corrupt' } },
        { at: 5000, host: 'A', op: 'send', fd: 'c', data: 'world' },
        { at: 5000, host: 'B', op: 'recv', fd: 'conn' },
        { at: 8000, op: 'hold', on: true },
        { at: 8000, host: 'B', op: 'send', fd: 'conn', data: 'held' },
        { at: 8100, op: 'release', id: 'all', delayMs: 500 },
        { at: 8400, op: 'drop', id: 'all' },
        { at: 8400, op: 'hold', on: false },
        { at: 9500, op: 'hold', on: true },
        { at: 9500, host: 'A', op: 'send', fd: 'c', data: 'late' },
        { at: 9700, op: 'release', id: 'all' },
      ],
      until: 12_000,
    }),
  /** Random loss on the link (seeded). */
  randomLoss: () =>
    scenario('random loss', {
      seed: 7,
      link: { delayMs: 50, loss: 0.3 },
      until: 60_000,
    }),
} satisfies Record<string, () => Scenario>;

export type ScenarioName = keyof typeof SCENARIOS;

export function run(name: ScenarioName): ScenarioRun {
  return runScenario(SCENARIOS[name]());
}
