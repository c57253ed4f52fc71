/**
 * The broadcast path of `Connection` (server/lab/connection.ts) on real sockets: a message many
 * connections get is framed once and written as is, the writes of one event-loop turn leave
 * together, and a real `ws` client reads exactly what was sent, in order, whatever the length
 * (7-, 16- and 64-bit payload lengths of RFC 6455).
 */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { Connection, type Corkable, wsFrame } from '../../server/lab/connection.ts';
import { LIMITS } from '../../shared/protocol/limits.ts';

let wss: WebSocketServer | undefined;
const clients: WebSocket[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.terminate();
  await new Promise<void>((r) => (wss ? wss.close(() => r()) : r()));
  wss = undefined;
});

/** A server whose connections are lab `Connection`s on their real sockets, and `n` clients of it. */
async function pair(n: number, perMessageDeflate = false) {
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate });
  await new Promise<void>((r) => wss!.once('listening', () => r()));
  const conns: Connection[] = [];
  const writes: number[] = [];
  wss.on('connection', (ws) => {
    const tcp = (ws as unknown as { _socket: Corkable & { _writev: unknown } })._socket;
    // Count the socket's writes to the kernel (one writev per uncorked batch).
    const socket = tcp as unknown as { _writev: (chunks: unknown[], cb: () => void) => void };
    const writev = socket._writev.bind(tcp);
    const i = conns.length;
    writes[i] = 0;
    socket._writev = (chunks, cb) => {
      writes[i]!++;
      writev(chunks, cb);
    };
    conns.push(new Connection(ws, LIMITS, () => 0, tcp));
  });
  const port = (wss.address() as AddressInfo).port;
  const received: Array<Array<{ data: Buffer; binary: boolean }>> = [];
  for (let i = 0; i < n; i++) {
    const c = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate });
    clients.push(c);
    const got: Array<{ data: Buffer; binary: boolean }> = [];
    received.push(got);
    c.on('message', (data: Buffer, binary: boolean) => got.push({ data, binary }));
    await new Promise((r) => c.once('open', r));
  }
  while (conns.length < n) await new Promise((r) => setImmediate(r));
  return { conns, received, writes };
}

async function until(pred: () => boolean): Promise<void> {
  while (!pred()) await new Promise((r) => setTimeout(r, 5));
}

const SIZES = [0, 1, 125, 126, 127, 1000, 65535, 65536, 70000];

describe('broadcast', () => {
  it('frames a message as RFC 6455 says: FIN, opcode, 7/16/64-bit length, unmasked payload', () => {
    expect([...wsFrame(Buffer.from('hi'), false)]).toEqual([0x81, 2, 0x68, 0x69]);
    expect([...wsFrame(Buffer.from([7]), true)]).toEqual([0x82, 1, 7]);
    const f126 = wsFrame(Buffer.alloc(126, 1), true);
    expect([...f126.subarray(0, 4)]).toEqual([0x82, 126, 0, 126]);
    expect(f126.length).toBe(130);
    const f64k = wsFrame(Buffer.alloc(65536, 2), false);
    expect([...f64k.subarray(0, 10)]).toEqual([0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
    expect(f64k.length).toBe(65546);
  });

  it('every receiver reads the shared messages byte for byte, in order with its own', async () => {
    const { conns, received } = await pair(3);
    const sent: Array<{ data: Buffer; binary: boolean }> = [];
    for (const size of SIZES) {
      for (const binary of [true, false]) {
        const data = Buffer.alloc(size, binary ? 0xab : 0x61);
        if (size > 0 && binary) data[0] = size & 0xff;
        sent.push({ data, binary });
        for (const c of conns) expect(c.sendShared(data, binary)).toBe(true);
        // A message of one connection's own between two shared ones keeps its place.
        const own = Buffer.from(`{"own":${size}}`);
        sent.push({ data: own, binary: false });
        for (const c of conns) expect(c.send(own, false)).toBe(true);
      }
    }
    await until(() => received.every((r) => r.length === sent.length));
    for (const got of received) {
      expect(got.map((m) => m.binary)).toEqual(sent.map((m) => m.binary));
      for (const [i, m] of got.entries()) expect(m.data.equals(sent[i]!.data)).toBe(true);
    }
  });

  it('sends of one event-loop turn leave in one write, the next turn in another', async () => {
    const { conns, received, writes } = await pair(1);
    const [conn] = conns as [Connection];
    const before = writes[0]!;
    for (let i = 0; i < 50; i++) conn.sendShared(Buffer.from(`{"n":${i}}`), false);
    await Promise.resolve();
    for (let i = 50; i < 100; i++) conn.send(Buffer.from(`{"n":${i}}`), false);
    await until(() => received[0]!.length === 100);
    expect(writes[0]! - before).toBe(1);
    for (let i = 100; i < 110; i++) conn.sendShared(Buffer.from(`{"n":${i}}`), false);
    await until(() => received[0]!.length === 110);
    expect(writes[0]! - before).toBe(2);
    expect(received[0]!.map((m) => JSON.parse(m.data.toString()).n)).toEqual([...Array(110).keys()]);
  });

  it('with permessage-deflate negotiated, shared messages go through ws (compressed, in order)', async () => {
    const { conns, received } = await pair(1, true);
    const [conn] = conns as [Connection];
    expect(conn.ws.extensions).not.toBe('');
    const text = Buffer.from('x'.repeat(5000));
    for (let i = 0; i < 5; i++) {
      conn.sendShared(text, false);
      conn.send(Buffer.from(String(i)), false);
    }
    await until(() => received[0]!.length === 10);
    expect(received[0]!.map((m) => (m.data.length > 100 ? 'x' : m.data.toString()))).toEqual([
      'x',
      '0',
      'x',
      '1',
      'x',
      '2',
      'x',
      '3',
      'x',
      '4',
    ]);
  });

  it('a closed connection takes nothing', async () => {
    const { conns } = await pair(1);
    const [conn] = conns as [Connection];
    conn.close(1000, 'bye');
    expect(conn.sendShared(Buffer.from('late'), false)).toBe(false);
  });
});
