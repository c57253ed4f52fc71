/**
 * The headers-first history replay (docs/protocol.md): bundle version 2, what the server sends a
 * connection that asks for it compared with the full replay, and the web app on it in Chromium
 * (labels, call results and the inspector's payload once it has arrived).
 */
import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  bundleMessages,
  checkBundle,
  compactEvent,
  decodeBundle,
  ENTRY,
  encodeBundle,
  expandCompact,
  framePayloadOffset,
  isBundle,
  walkBundle,
} from '../../shared/protocol/bundle.ts';
import { decodeFrame } from '../../shared/protocol/frame.ts';
import { LIMITS } from '../../shared/protocol/limits.ts';
import { launch, makeClass, person, startServer, waitLadder } from './browser.ts';

describe('bundle versions 2 and 3', () => {
  it('is chosen only when an entry needs it, and every kind comes back', () => {
    const d = (s: string) => new TextEncoder().encode(s);
    const v1 = encodeBundle([
      { binary: false, data: d('{"a":1}') },
      { binary: true, data: d('xyz') },
    ]);
    expect(v1[1]).toBe(1);
    const entries = [
      { binary: false, kind: ENTRY.json, data: d('{"a":1}') },
      { binary: true, kind: ENTRY.frame, data: d('f') },
      { binary: true, kind: ENTRY.frameCut, data: d('cut') },
      { binary: true, kind: ENTRY.frameWhole, data: d('whole') },
      { binary: false, kind: ENTRY.jsonShort, data: d('{"b":2}') },
    ] as const;
    const v2 = encodeBundle(entries);
    expect(v2[1]).toBe(2);
    const r = decodeBundle(v2);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.entries.map((e) => [e.kind, e.binary, new TextDecoder().decode(e.data)])).toEqual(
      entries.map((e) => [e.kind, e.binary, new TextDecoder().decode(e.data)]),
    );
  });

  it('refuses kinds its version does not have, naming them', () => {
    const v2 = encodeBundle([{ binary: true, kind: ENTRY.frameCut, data: new Uint8Array(3) }]);
    const asV1 = v2.slice();
    asV1[1] = 1;
    expect(decodeBundle(asV1)).toEqual({ ok: false, error: expect.stringContaining('kind 2') });
    const bad = v2.slice();
    bad[2] = 5;
    expect(decodeBundle(bad)).toEqual({ ok: false, error: expect.stringContaining('kind 5') });
    const v3 = encodeBundle([
      { binary: false, kind: ENTRY.jsonBatch, data: new TextEncoder().encode('[1]') },
      { binary: false, kind: ENTRY.batched, data: new Uint8Array(0) },
    ]);
    expect(v3[1]).toBe(3);
    const bad3 = v3.slice();
    bad3[2] = 7;
    expect(decodeBundle(bad3)).toEqual({ ok: false, error: expect.stringContaining('kind 7') });
  });

  it('a batch (version 3) gives its messages back in their markers’ places among the frames', () => {
    const d = (s: string) => new TextEncoder().encode(s);
    const bundle = encodeBundle([
      { binary: false, kind: ENTRY.jsonBatch, data: d('[{"a":1},{"b":[2,"x"]}]') },
      { binary: false, kind: ENTRY.batched, data: new Uint8Array(0) },
      { binary: true, kind: ENTRY.frameCut, data: d('cut') },
      { binary: false, kind: ENTRY.batched, data: new Uint8Array(0) },
      { binary: true, kind: ENTRY.frame, data: d('f') },
    ]);
    expect(bundle[1]).toBe(3);
    const r = decodeBundle(bundle);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(bundleMessages(r.entries).map((e) => [e.kind, new TextDecoder().decode(e.data)])).toEqual([
      [ENTRY.batched, '{"a":1}'],
      [ENTRY.frameCut, 'cut'],
      [ENTRY.batched, '{"b":[2,"x"]}'],
      [ENTRY.frame, 'f'],
    ]);
    // the walker sees the same entries, by offsets, and checkBundle says when the layout is wrong
    expect(checkBundle(bundle)).toBeUndefined();
    const seen: Array<[number, string]> = [];
    walkBundle(bundle, (kind, start, end) => {
      seen.push([kind, new TextDecoder().decode(bundle.subarray(start, end))]);
    });
    expect(seen.map((x) => x[0])).toEqual([5, 6, 2, 6, 1]);
    expect(checkBundle(bundle.subarray(0, bundle.length - 1))).toContain('only 0 remain');
  });

  it('timer and cc events have a compact form that expands to the same message, byte for byte', () => {
    const msgs = [
      {
        type: 'room.event',
        room: 3,
        n: 15,
        t: 11269.0289,
        event: {
          t: 11269.0289,
          type: 'timer',
          host: 'A',
          sock: 1,
          kind: 'retransmit',
          action: 'set',
          deadline: 14269.0289,
        },
      },
      {
        type: 'room.event',
        room: 3,
        n: 16,
        t: 0,
        event: {
          t: 0,
          type: 'timer',
          host: 'B',
          sock: 12,
          kind: 'delayed-ack',
          action: 'cancel',
          deadline: 1e21,
        },
      },
      {
        type: 'room.event',
        room: 3,
        n: 17,
        t: 5.5,
        event: {
          t: 5.5,
          type: 'cc',
          host: 'A',
          sock: 1,
          cwnd: 17520,
          ssthresh: 2147483647,
          phase: 'slow-start',
          cause: 'new data "acknowledged" \\ 已确认',
        },
      },
    ];
    for (const m of msgs) {
      const text = JSON.stringify(m);
      const latin1 = Buffer.from(text).toString('latin1');
      const c = compactEvent(latin1);
      expect(c).toBeDefined();
      expect(c!.length).toBeLessThan(latin1.length / 2);
      const back = expandCompact(JSON.parse(Buffer.from(c!, 'latin1').toString('utf8')) as unknown[]);
      expect(JSON.stringify(back)).toBe(text);
    }
    // anything else stays as it is: other events, an extra field, a message time unlike the event's
    const other = [
      {
        type: 'room.event',
        room: 3,
        n: 1,
        t: 1,
        event: { t: 1, type: 'state', host: 'A', sock: 1, from: 'CLOSED', to: 'LISTEN', cause: 'listen()' },
      },
      {
        type: 'room.event',
        room: 3,
        n: 1,
        t: 1,
        event: { t: 1, type: 'timer', host: 'A', sock: 1, kind: 'rto', action: 'set', deadline: 2, extra: 1 },
      },
      {
        type: 'room.event',
        room: 3,
        n: 1,
        t: 2,
        event: { t: 1, type: 'timer', host: 'A', sock: 1, kind: 'rto', action: 'set', deadline: 2 },
      },
      {
        type: 'room.event',
        room: 3,
        n: 1,
        t: 1,
        event: { t: 1, type: 'cc', host: 'C', sock: 1, cwnd: 1, ssthresh: 2, phase: 'x', cause: 'y' },
      },
    ];
    for (const m of other) expect(compactEvent(JSON.stringify(m))).toBeUndefined();
    expect(expandCompact([0, 1, 2])).toBeUndefined();
    expect(expandCompact([7, 1, 2, 3, 4, 5, 6, 7, 8])).toBeUndefined();
  });

  it('finds where a frame’s TCP payload starts, and says so when the bytes are too short', () => {
    // 36-byte frame header, 20-byte IPv4 header, TCP header of 6 words (one option word)
    const f = new Uint8Array(36 + 20 + 24 + 10);
    f[1] = 36;
    f[36] = 0x45;
    f[36 + 20 + 12] = 6 << 4;
    expect(framePayloadOffset(f)).toBe(80);
    expect(framePayloadOffset(f.subarray(0, 70))).toBe(-1);
  });
});

// ── the server's two replays ────────────────────────────────────────────────────────────────

interface Client {
  ws: WebSocket;
  /** Batch elements that came in a compact form (arrays). */
  compact: number;
  /** Every message, bundles unpacked, with its kind (plain messages: 0 JSON, 1 frame). */
  got: Array<{ kind: number; data: Buffer }>;
  request(msg: Record<string, unknown>): Promise<Record<string, unknown>>;
  until(pred: (m: { kind: number; data: Buffer }) => boolean): Promise<void>;
}

async function client(url: string, query = ''): Promise<Client> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws${query}`);
  let id = 1;
  const waiting = new Map<number, (m: Record<string, unknown>) => void>();
  const watchers = new Set<() => void>();
  const got: Client['got'] = [];
  let compact = 0;
  ws.on('message', (data: Buffer, binary: boolean) => {
    if (binary && isBundle(data)) {
      const r = decodeBundle(new Uint8Array(data));
      if (!r.ok) throw new Error(r.error);
      for (const e of r.entries)
        if (e.kind === ENTRY.jsonBatch)
          for (const m of JSON.parse(Buffer.from(e.data).toString()) as unknown[])
            if (Array.isArray(m)) compact++;
      // a batch (kind 5) comes back as its messages, each in its marker's place (kind 6)
      for (const e of bundleMessages(r.entries)) got.push({ kind: e.kind, data: Buffer.from(e.data) });
    } else {
      got.push({ kind: binary ? ENTRY.frame : ENTRY.json, data });
      if (!binary) {
        const m = JSON.parse(String(data)) as Record<string, unknown>;
        if ((m.type === 'ok' || m.type === 'error') && typeof m.re === 'number') waiting.get(m.re)?.(m);
      }
    }
    for (const w of watchers) w();
  });
  await new Promise((res, rej) => {
    ws.once('open', res);
    ws.once('error', rej);
  });
  return {
    ws,
    get compact() {
      return compact;
    },
    got,
    request(msg) {
      const n = id++;
      return new Promise((res) => {
        waiting.set(n, res);
        ws.send(JSON.stringify({ ...msg, id: n }));
      });
    },
    until(pred) {
      return new Promise((res) => {
        const check = () => {
          if (got.some(pred)) {
            watchers.delete(check);
            res();
          }
        };
        watchers.add(check);
        check();
      });
    },
  };
}

const isJson = (k: number) => k === ENTRY.json || k === ENTRY.jsonShort || k === ENTRY.batched;
const json = (m: { data: Buffer }) => JSON.parse(m.data.toString()) as Record<string, unknown>;
const synced = (m: { kind: number; data: Buffer }) => isJson(m.kind) && json(m).type === 'room.synced';
const frameN = (b: Buffer) => b.readUInt32BE(8);

describe('the headers-first replay', () => {
  let app: FastifyInstance;
  let url: string;
  let code: string;
  let room: number;
  let browser: Browser;
  const TEXT = 'The quick brown fox jumps over the lazy dog. '.repeat(8); // 360 bytes

  beforeAll(async () => {
    ({ app, url } = await startServer({ speed: 100, link: { delayMs: 20 }, limits: { ...LIMITS } }));
    ({ code, room } = await makeClass(app, 'Replay'));
    const d = await client(url);
    await d.request({ type: 'class.join', code, name: 'Driver' });
    await d.request({ type: 'room.join', room });
    await d.request({ type: 'seat.take', room, seat: 'A' });
    await d.request({ type: 'seat.take', room, seat: 'B' });
    const call = async (host: string, c: Record<string, unknown>) => {
      const r = await d.request({ type: 'sock.call', room, host, call: c });
      if (r.type !== 'ok') throw new Error(JSON.stringify(r));
      return r.data as { callId: number };
    };
    const returned = (host: string, callId: number) =>
      d.until((m) => {
        if (!isJson(m.kind)) return false;
        const e = json(m).event as { type?: string; host?: string; callId?: number } | undefined;
        return e?.type === 'return' && e.host === host && e.callId === callId;
      });
    await call('B', { op: 'socket' });
    await call('B', { op: 'bind', fd: 3, port: 80 });
    await call('B', { op: 'listen', fd: 3, backlog: 5 });
    const accept = await call('B', { op: 'accept', fd: 3 });
    await call('A', { op: 'socket' });
    await call('A', { op: 'connect', fd: 3, addr: '10.0.0.2', port: 80 });
    await returned('B', accept.callId);
    await call('A', { op: 'send', fd: 3, data: TEXT });
    await call('A', { op: 'send', fd: 3, data: 'short' });
    // wait until both sends have arrived, then read them in one recv()
    await d.until((m) => {
      const f = m.kind === ENTRY.frame ? decodeFrame(new Uint8Array(m.data)) : undefined;
      return !!f?.ok && f.frame.fate === 'arrived' && Buffer.from(f.frame.packet).includes('short');
    });
    const recv = await call('B', { op: 'recv', fd: 4, max: 65_536 });
    await returned('B', recv.callId);
    await d.request({ type: 'clock.pause', room });
    d.ws.close();
    browser = await launch();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('sends every entry, cut or shortened, JSON batched per bundle, then the kept payloads newest first; nothing else differs', async () => {
    const full = await client(url);
    const hf = await client(url, '?replay=headers-first');
    for (const c of [full, hf]) {
      await c.request({ type: 'class.join', code, name: 'Newcomer' });
      await c.request({ type: 'room.join', room });
      await c.until(synced);
    }
    const cut = (c: Client) => {
      const from = c.got.findIndex((m) => isJson(m.kind) && json(m).type === 'room.snapshot');
      const to = c.got.findIndex(synced);
      return c.got.slice(from + 1, to);
    };
    const a = cut(full);
    const b = cut(hf);
    expect(b.length).toBe(a.length);
    expect(a.every((m) => m.kind === ENTRY.json || m.kind === ENTRY.frame)).toBe(true);
    // every JSON message of the headers-first replay came in a batch, timer and cc events compact
    expect(b.filter((m) => isJson(m.kind)).every((m) => m.kind === ENTRY.batched)).toBe(true);
    const compactable = a.filter(
      (m) => m.kind === ENTRY.json && /"type":"(timer|cc)"/.test(m.data.toString()),
    );
    expect(compactable.length).toBeGreaterThan(5);
    expect(hf.compact).toBe(compactable.length);
    expect(full.compact).toBe(0);
    const kept: number[] = [];
    let shortened = 0;
    for (let i = 0; i < a.length; i++) {
      const x = a[i]!;
      const y = b[i]!;
      if (x.kind === ENTRY.json) {
        expect(y.kind).toBe(ENTRY.batched);
        if (y.data.equals(x.data)) continue;
        // only a long recv() result differs
        expect(x.data.toString()).toContain('"type":"return"');
        shortened++;
        const long = json(x) as { event: { result: { value: { b64: string } } } };
        const short = json(y) as { event: { result: { value: Record<string, unknown> } } };
        const value = long.event.result.value;
        expect(short.event.result.value).toEqual({
          b64: value.b64.slice(0, 128),
          bytes: Buffer.from(value.b64, 'base64').length,
          truncated: true,
        });
        // everything but the value is the same
        long.event.result.value = short.event.result.value as never;
        expect(short).toEqual(long);
        continue;
      }
      const at = framePayloadOffset(new Uint8Array(x.data));
      if (at === x.data.length) {
        expect(y.kind).toBe(ENTRY.frame);
        expect(y.data.equals(x.data)).toBe(true);
        continue;
      }
      expect(y.kind).toBe(ENTRY.frameCut);
      expect(y.data.equals(x.data.subarray(0, at))).toBe(true);
      if ([0, 4, 7].includes(x.data[2]!)) kept.push(frameN(x.data));
    }
    expect(shortened).toBe(1); // the recv() of 365 bytes
    expect(kept.length).toBeGreaterThanOrEqual(2); // the two data segments
    // after room.synced: the kept frames whole, newest first, exactly as the full replay sent them
    await hf.until((m) => m.kind === ENTRY.frameWhole && frameN(m.data) === kept[0]);
    const whole = hf.got.filter((m) => m.kind === ENTRY.frameWhole);
    expect(whole.map((m) => frameN(m.data))).toEqual([...kept].reverse());
    const byN = new Map(a.filter((m) => m.kind === ENTRY.frame).map((m) => [frameN(m.data), m.data]));
    for (const m of whole) expect(m.data.equals(byN.get(frameN(m.data))!)).toBe(true);
    full.ws.close();
    hf.ws.close();
  });

  it('the web app shows the same ladder and call results as with the full replay, and the payload once it arrives', async () => {
    const lines: string[][] = [];
    const results: string[][] = [];
    for (const query of ['&replay=full', '']) {
      const p = await person(browser);
      await p.page.goto(`${url}/?class=${code}${query}`);
      await p.page.locator('#name').fill('Observer');
      await p.page.locator('tcp-join button[type="submit"]').click();
      await p.page.getByRole('button', { name: 'Observe' }).first().click();
      lines.push(await waitLadder(p.page, (l) => l.some((x) => x.includes('Len=360'))));
      // the last calls' results and the last text read: the first bytes and the whole length
      await p.page
        .getByText(/\(365\)/)
        .first()
        .waitFor();
      results.push(await p.page.locator('tcp-endpoint .last').allTextContents());
      // the data segment in the inspector: payload and checksums, once the payload has arrived
      const id = Number(/^#(\d+)/.exec(lines.at(-1)!.find((x) => x.includes('Len=360'))!)![1]);
      await p.page.keyboard.press('g');
      await p.page.locator('#goto').fill(String(id));
      await p.page.keyboard.press('Enter');
      await p.page.locator('tcp-inspector .payload').waitFor();
      expect(await p.page.locator('tcp-inspector .payload').textContent()).toContain('quick brown fox');
      expect(await p.page.locator('tcp-inspector .ck-ok').count()).toBe(2);
      expect(p.errors).toEqual([]);
      await p.ctx.close();
    }
    expect(lines[1]).toEqual(lines[0]);
    expect(results[1]).toEqual(results[0]);
    expect(results[1]!.join('\n')).toContain(`${TEXT.slice(0, 96)}…`);
  }, 60_000);
});
