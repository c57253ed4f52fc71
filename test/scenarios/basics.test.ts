/**
 * Opening a connection and exchanging data, plus checks over the whole library: every file is
 * valid, runs without a failed `expect`, draws as a ladder, and has a test in this folder.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { formatLadder } from '../../shared/sim/ladder.ts';
import { runScenario } from '../../shared/sim/runner.ts';
import { validateScenario } from '../../shared/sim/scenario.ts';
import { toNdjson } from '../../shared/sim/trace.ts';
import { ladder, returns, runFile, segments } from './helpers.ts';

const DIR = join(import.meta.dirname, '../../scenarios');

describe('opening and data', () => {
  test('handshake: SYN, SYN-ACK, ACK; connect() returns on the SYN-ACK, accept() on the final ACK', () => {
    const { trace } = runFile('handshake');
    expect(ladder(trace)).toEqual([
      '0 B LISTEN',
      '10 A SYN-SENT',
      '10 A>B SYN seq=0 len=0',
      '60 B SYN-RECEIVED',
      '60 B>A SYN,ACK seq=0 ack=1 len=0',
      '110 A ESTABLISHED',
      '110 A>B ACK seq=1 ack=1 len=0',
      '160 B ESTABLISHED',
    ]);
    expect(returns(trace, 'A', 'connect')).toMatchObject([{ t: 110, blockedMs: 100, result: { ok: true } }]);
    expect(returns(trace, 'B', 'accept')).toMatchObject([{ t: 160, blockedMs: 160, result: { ok: true } }]);
    const [syn, synAck] = segments(trace);
    // Each side picks its own ISN; relative numbers start at 0 on each side.
    expect(synAck!.ack).toBe((syn!.seq + 1) >>> 0);
    expect(synAck!.seq).not.toBe(syn!.seq);
    expect(syn!.options).toEqual([{ kind: 'mss', value: 1460 }]);
  });

  test("data-both-ways: B's ACK of the request rides on its answer; A's ACK of the answer is delayed 40 ms", () => {
    const { trace } = runFile('data-both-ways');
    expect(ladder(trace, 200)).toEqual([
      '200 A>B PSH,ACK seq=1 ack=1 len=15',
      '250 B>A PSH,ACK seq=1 ack=16 len=15',
      '340 A>B ACK seq=16 ack=16 len=0',
    ]);
    expect(segments(trace).find((e) => e.t === 340)).toMatchObject({ why: 'delayed-ack' });
    expect(returns(trace, 'B', 'recv')).toMatchObject([
      { t: 250, result: { value: { text: 'GET /index.html' } } },
    ]);
    expect(returns(trace, 'A', 'recv')).toMatchObject([
      { t: 300, result: { value: { text: 'HTTP/1.0 200 OK' } } },
    ]);
  });
});

describe('the library', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

  test('covers the situations of the course notes', () => {
    expect(files.map((f) => f.replace(/\.json$/, '')).sort()).toEqual([
      'accept-queue-overflow',
      'close-by-client',
      'close-by-server',
      'close-dup',
      'close-fork',
      'close-unread-rst',
      'data-both-ways',
      'fast-retransmit',
      'half-close',
      'handshake',
      'lost-ack-2',
      'lost-fin-1',
      'lost-fin-3',
      'lost-last-ack',
      'many-time-waits',
      'rto-after-window-probe',
      'rto-backoff',
      'shutdown-dup',
      'simultaneous-close',
      'slow-start-ca',
      'so-linger-zero',
      'syn-queue-overflow',
      'time-wait-rebind',
      'zero-window-persist',
    ]);
  });

  test('every scenario file has a ladder test in this folder', () => {
    const tests = readdirSync(import.meta.dirname)
      .filter((f) => f.endsWith('.test.ts'))
      .map((f) => readFileSync(join(import.meta.dirname, f), 'utf8'))
      .join('\n');
    const untested = files
      .map((f) => f.replace(/\.json$/, ''))
      .filter((name) => !tests.includes(`runFile('${name}')`) && !tests.includes(`session('${name}')`));
    expect(untested).toEqual([]);
  });

  test.each(files)('%s is valid, has a name and description, runs cleanly and draws', (file) => {
    const parsed = validateScenario(JSON.parse(readFileSync(join(DIR, file), 'utf8')));
    expect(parsed.ok ? [] : parsed.errors).toEqual([]);
    if (!parsed.ok) return;
    expect(parsed.scenario.description?.length).toBeGreaterThan(20);
    const run = runScenario(parsed.scenario);
    expect(run.errors).toEqual([]);
    // Deterministic: a second run gives the same bytes.
    expect(toNdjson(runScenario(parsed.scenario).trace)).toBe(toNdjson(run.trace));
    const text = formatLadder(run.trace, { hosts: ['A', 'B'], scenario: parsed.scenario });
    expect(text.split('\n').length).toBeGreaterThan(5);
  });
});
