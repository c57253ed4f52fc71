/**
 * Scenario files: validation messages that name the field, the runner's step semantics (names,
 * expect, sequential processes), and the CLI's exit codes.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runScenario } from '../../shared/sim/runner.ts';
import { parseScenarioText, type Scenario, validateScenario } from '../../shared/sim/scenario.ts';

const base = {
  name: 'x',
  seed: 1,
  until: 1000,
  steps: [
    { at: 0, host: 'B', op: 'socket', as: 'lsn' },
    { at: 0, host: 'B', op: 'bind', fd: 'lsn', port: 80 },
    { at: 0, host: 'B', op: 'listen', fd: 'lsn' },
    { at: 0, host: 'A', op: 'socket', as: 'c' },
  ],
};

function errorsOf(json: unknown): string[] {
  const r = validateScenario(json);
  return r.ok ? [] : r.errors;
}

describe('scenario validation', () => {
  test('a valid file passes', () => {
    expect(errorsOf(base)).toEqual([]);
  });

  test('an unknown op names the step and suggests the right one', () => {
    const s = { ...base, steps: [...base.steps, { at: 10, host: 'A', op: 'conect', fd: 'c' }] };
    expect(errorsOf(s)).toEqual(['steps[4].op: unknown op "conect" (did you mean "connect"?)']);
  });

  test('every problem is reported with its path', () => {
    const s = {
      name: '',
      seed: -1,
      until: 'soon',
      config: { msl: 1000, delayedAck: 'yes' },
      link: { loss: 2, bandwidth: 1 },
      links: { 'A->C': { delayMs: 1 } },
      faults: [{ from: 'A', action: 'explode' }],
      steps: [
        { at: 5, host: 'A', op: 'socket', as: 'c' },
        { at: 1, host: 'A', op: 'connect', fd: 'c', port: 99999 },
        { at: 5, host: 'Z', op: 'close', fd: 1 },
        { at: 5, host: 'A', op: 'send', fd: 'nope', data: 'x', bytes: 3 },
        { at: 5, host: 'A', op: 'shutdown', fd: 'c', how: 'SHUT_BOTH' },
        { at: 5, host: 'A', op: 'setsockopt', fd: 'c', opt: 'SO_LINGER', value: 0 },
        { at: 5, host: 'A', op: 'close', fd: 'c', expect: 'EWHAT', colour: 'red' },
        { at: 5, op: 'release', id: 0 },
      ],
    };
    expect(errorsOf(s)).toEqual([
      'name: missing (a non-empty string)',
      'seed: must be an integer between 0 and 4294967295, got -1',
      'until: must be a number of ms >= 0, got "soon"',
      'config.msl: unknown engine setting (did you mean "mss"?)',
      'config.delayedAck: must be true or false',
      'link.loss: must be a probability between 0 and 1, got 2',
      'link.bandwidth: unknown link setting (known: delayMs, jitterMs, rateBps, queuePackets, loss, duplicate, reorder, reorderMs)',
      'links.A->C: a key names a direction between two hosts, like "A->B"',
      'faults[0].action: unknown action "explode" (one of drop, delay, duplicate, corrupt, hold)',
      'steps[1].addr: missing (a host name such as "B" or a dotted IPv4 address)',
      'steps[1].port: must be a port 0..65535, got 99999',
      'steps[2].host: unknown host "Z" (hosts: A, B)',
      'steps[3].fd: no earlier step on A names a descriptor "nope" (with "as")',
      'steps[3]: a send step needs exactly one of "data" (text), "bytes" (a count) or "hex"',
      'steps[4].how: must be one of SHUT_RD, SHUT_WR, SHUT_RDWR, got "SHUT_BOTH"',
      'steps[5].value: SO_LINGER takes {"onoff": true|false, "lingerSec": seconds}',
      'steps[6].colour: unknown field for close',
      'steps[6].expect: must be "ok" or an errno name such as "EADDRINUSE", got "EWHAT"',
      'steps[7].id: must be a segment id (an integer >= 1) or "all"',
    ]);
  });

  test('bad JSON is reported as such', () => {
    const r = parseScenarioText('{"name": ');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]).toMatch(/^scenario: not valid JSON: /);
  });
});

describe('scenario runner semantics', () => {
  const server = (extra: Scenario['steps']): Scenario => ({
    name: 'runner',
    seed: 1,
    until: 5000,
    steps: [
      { at: 0, host: 'B', op: 'socket', as: 'lsn' },
      { at: 0, host: 'B', op: 'bind', fd: 'lsn', port: 80 },
      { at: 0, host: 'B', op: 'listen', fd: 'lsn' },
      { at: 0, host: 'A', op: 'socket', as: 'c' },
      ...extra,
    ],
  });

  test('a process is sequential: a step due while its call blocks runs when that call returns', () => {
    const run = runScenario(
      server([
        { at: 10, host: 'A', op: 'connect', fd: 'c', addr: 'B', port: 80 },
        { at: 20, host: 'A', op: 'send', fd: 'c', data: 'hi' },
      ]),
    );
    const send = run.trace.find((e) => e.type === 'call' && e.op === 'send');
    const connected = run.trace.find((e) => e.type === 'return' && e.op === 'connect');
    expect(connected?.t).toBe(110);
    expect(send?.t).toBe(110);
    expect(run.errors).toEqual([]);
  });

  test('expect mismatches and steps that never ran are reported as errors', () => {
    const run = runScenario(
      server([
        { at: 10, host: 'A', op: 'bind', fd: 'c', port: 80, expect: 'EADDRINUSE' },
        { at: 20, host: 'B', op: 'accept', fd: 'lsn', as: 'conn' },
        { at: 30, host: 'B', op: 'close', fd: 'conn' },
      ]),
    );
    expect(run.errors).toEqual([
      'steps[4]: expected bind to return EADDRINUSE, got ok',
      'steps[6]: never ran: B pid 1 was still blocked in accept (steps[5]) at the end',
    ]);
    expect(run.trace.filter((e) => e.type === 'error')).toHaveLength(2);
  });
});

describe('CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tcplab-scenario-'));
  const cli = (file: string, ...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'bin/scenario.ts', file, ...args], { encoding: 'utf8' });

  test('a bad file exits 2 and names the field', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ ...base, steps: [{ at: 0, host: 'A', op: 'conect' }] }));
    const r = cli(file);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('steps[0].op: unknown op "conect" (did you mean "connect"?)');
  });

  test('--json prints one event per line; the ladder has both hosts', () => {
    const nd = execFileSync(
      process.execPath,
      ['--import', 'tsx', 'bin/scenario.ts', 'scenarios/handshake.json', '--json'],
      {
        encoding: 'utf8',
      },
    );
    const events = nd
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events.filter((e) => e.type === 'segment' && e.event === 'send')).toHaveLength(3);
    const ladder = execFileSync(
      process.execPath,
      ['--import', 'tsx', 'bin/scenario.ts', 'scenarios/handshake.json'],
      {
        encoding: 'utf8',
      },
    );
    expect(ladder).toMatch(/A 10\.0\.0\.1 +B 10\.0\.0\.2/);
    expect(ladder).toContain('#2 SYN,ACK seq=0 ack=1 len=0');
  });

  test('an unknown option exits 2', () => {
    expect(cli('scenarios/handshake.json', '--frobnicate').status).toBe(2);
  });
});
