/**
 * Test helpers for the simulator: a two-host network of real engine hosts, a handshake, and
 * compact one-line descriptions of traced segments (`A>B SYN,ACK seq=0 ack=1 len=0`).
 */
import { expect } from 'vitest';
import { flagsText } from '../../shared/sim/ladder.ts';
import type { LinkSettings } from '../../shared/sim/link.ts';
import { Network, type NetworkOptions } from '../../shared/sim/network.ts';
import type { SegmentEventKind, SegmentTrace, TraceEvent } from '../../shared/sim/trace.ts';
import type { TcpConfig } from '../../shared/tcp/config.ts';
import type { CallRequest, CallResult } from '../../shared/tcp/types.ts';

export const ADDR_A = 0x0a000001;
export const ADDR_B = 0x0a000002;

export function twoHosts(
  opts: Partial<Omit<NetworkOptions, 'hosts'>> & {
    config?: Partial<TcpConfig>;
    link?: Partial<LinkSettings>;
  } = {},
): Network {
  const { config, ...rest } = opts;
  const cfg: Partial<TcpConfig> = { iss: 1000, ...(config ?? {}) };
  return new Network({
    seed: 1,
    ...rest,
    hosts: [
      { name: 'A', addr: ADDR_A, config: cfg },
      { name: 'B', addr: ADDR_B, config: cfg },
    ],
  });
}

/** Makes a call that must finish at once and succeed; returns its value. */
export function ok(net: Network, host: string, req: CallRequest): unknown {
  const r = net.call(host, req);
  expect(r.result, `${host} ${req.op} should finish at once`).toBeDefined();
  const res = r.result as CallResult;
  if (!res.ok) throw new Error(`${host} ${req.op} failed: ${res.errno} ${res.message}`);
  return res.value;
}

/**
 * B listens on `port` and A connects; runs until both are ESTABLISHED.
 * Returns A's descriptor and B's accepted descriptor.
 */
export function connectPair(net: Network, port = 80): { a: number; b: number; lsn: number } {
  const lsn = ok(net, 'B', { op: 'socket' }) as number;
  ok(net, 'B', { op: 'bind', fd: lsn, port });
  ok(net, 'B', { op: 'listen', fd: lsn, backlog: 8 });
  const a = ok(net, 'A', { op: 'socket' }) as number;
  net.call('A', { op: 'connect', fd: a, addr: ADDR_B, port });
  net.runUntil(net.now + 10_000);
  const acc = net.call('B', { op: 'accept', fd: lsn });
  const res = acc.result;
  if (!res?.ok) throw new Error('accept should succeed after the handshake');
  return { a, b: (res.value as { fd: number }).fd, lsn };
}

export function segmentEvents(
  trace: readonly TraceEvent[],
  event: SegmentEventKind = 'send',
): SegmentTrace[] {
  return trace.filter((e): e is SegmentTrace => e.type === 'segment' && e.event === event);
}

/** `A>B SYN,ACK seq=0 ack=1 len=0` (relative numbers; ack only with ACK). */
export function segLine(e: SegmentTrace): string {
  return `${e.from}>${e.to} ${flagsText(e.flags)} seq=${e.rseq}${e.rack === undefined ? '' : ` ack=${e.rack}`} len=${e.len}`;
}

export function sent(trace: readonly TraceEvent[]): string[] {
  return segmentEvents(trace, 'send').map(segLine);
}

export function bytes(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}
