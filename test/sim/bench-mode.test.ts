/**
 * Bench mode is the same simulation as full mode, only cheaper: no trace, packets as values,
 * transmits straight onto the link, segment records reused. A bulk transfer over a lossy,
 * duplicating, reordering, jittery link must end the same way in both modes: the same returns at
 * the same virtual times and the same per-direction counters.
 */
import { describe, expect, test } from 'vitest';
import type { LinkSettings } from '../../shared/sim/link.ts';
import { Network } from '../../shared/sim/network.ts';
import { PROFILES } from '../../shared/tcp/config.ts';
import type { HostEvent } from '../../shared/tcp/types.ts';
import { ADDR_A, ADDR_B } from './helpers.ts';

interface Outcome {
  returns: string[];
  stats: ReturnType<Network['statistics']>;
  end: number;
}

function transfer(mode: 'full' | 'bench', link: Partial<LinkSettings>, seed: number): Outcome {
  const BYTES = 300_000;
  const returns: string[] = [];
  let conn = -1;
  let sent = 0;
  let received = 0;
  let wantSend = false;
  let wantRecv = false;
  // Every call has a return event; only those of calls that blocked continue the loops.
  let blockedSend = -1;
  let blockedRecv = -1;
  const inbox = new Uint8Array(64 * 1024);
  const onHostEvent = (e: Exclude<HostEvent, { type: 'transmit' }>): void => {
    if (e.type !== 'return') return;
    const r = e.result;
    const value = r.ok
      ? r.value instanceof Uint8Array
        ? `${r.value.length}B`
        : JSON.stringify(r.value)
      : r.errno;
    returns.push(`${e.t.toFixed(3)} ${e.host} ${e.op} ${value}`);
    if (!r.ok) return;
    if (e.host === 'B' && e.op === 'accept') {
      conn = (r.value as { fd: number }).fd;
      wantRecv = true;
    } else if (e.host === 'A' && e.op === 'connect') {
      wantSend = true;
    } else if (e.host === 'A' && e.op === 'send' && e.callId === blockedSend) {
      sent += r.value as number;
      wantSend = true;
    } else if (e.host === 'B' && e.op === 'recv' && e.callId === blockedRecv) {
      received += r.value as number;
      wantRecv = (r.value as number) > 0;
    }
  };
  const config = { ...PROFILES.linux, iss: 7, sack: false, rcvBuf: 65_536, sndBuf: 65_536 };
  const net = new Network({
    seed,
    mode,
    onHostEvent,
    hosts: [
      { name: 'A', addr: ADDR_A, config },
      { name: 'B', addr: ADDR_B, config },
    ],
    link: { delayMs: 5, rateBps: 20e6, queuePackets: 20, ...link },
  });
  const data = new Uint8Array(BYTES).map((_, i) => i & 0xff);
  const call = (host: string, req: Parameters<Network['call']>[1]) => {
    const r = net.call(host, req);
    if (!r.result && req.op === 'send') blockedSend = r.callId;
    if (!r.result && req.op === 'recv') blockedRecv = r.callId;
    return r.result;
  };
  const fdOf = (r: ReturnType<typeof call>): number => {
    if (!r?.ok) throw new Error('socket() failed');
    return r.value as number;
  };
  const lsn = fdOf(call('B', { op: 'socket' }));
  call('B', { op: 'bind', fd: lsn, port: 80 });
  call('B', { op: 'listen', fd: lsn, backlog: 4 });
  call('B', { op: 'accept', fd: lsn });
  const a = fdOf(call('A', { op: 'socket' }));
  call('A', { op: 'connect', fd: a, addr: ADDR_B, port: 80 });
  let steps = 0;
  while (received < BYTES && steps++ < 200_000) {
    if (net.runEvents(1) === 0) break;
    while (wantSend || wantRecv) {
      if (wantSend) {
        wantSend = false;
        if (sent < BYTES) {
          const r = call('A', { op: 'send', fd: a, data: data.subarray(sent) });
          if (r?.ok) {
            sent += r.value as number;
            wantSend = sent < BYTES;
          }
        }
      }
      if (wantRecv) {
        wantRecv = false;
        const r = call('B', { op: 'recv', fd: conn, into: inbox });
        if (r?.ok && (r.value as number) > 0) {
          received += r.value as number;
          wantRecv = true;
        }
      }
    }
  }
  expect(received).toBe(BYTES);
  return { returns, stats: net.statistics(), end: net.now };
}

describe('bench mode', () => {
  const links: Array<[string, Partial<LinkSettings>]> = [
    ['loss and a small queue', { loss: 0.03 }],
    [
      'duplication, reordering and jitter',
      { loss: 0.01, duplicate: 0.02, reorder: 0.05, reorderMs: 3, jitterMs: 2 },
    ],
  ];
  for (const [name, link] of links) {
    test(`runs the same transfer as full mode: ${name}`, () => {
      for (const seed of [1, 2, 3]) {
        const full = transfer('full', link, seed);
        const bench = transfer('bench', link, seed);
        expect(full.stats.find((s) => s.from === 'A')!.retransmits).toBeGreaterThan(0);
        expect(bench.stats).toEqual(full.stats);
        expect(bench.returns).toEqual(full.returns);
        expect(bench.end).toBe(full.end);
      }
    });
  }
});
