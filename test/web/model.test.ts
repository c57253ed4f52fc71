/**
 * The web app's model, without a browser: histories recorded from the real engine and simulator
 * (`web/src/dev/record.ts` turns a scenario's trace into the messages a room's history is made
 * of), fed to a `RoomStore` exactly as the WebSocket would; then the Wireshark labels, the
 * analysis tags taken from the engine's ground truth, and the endpoints rebuilt at any moment.
 */
import { describe, expect, it } from 'vitest';
import type { Scenario } from '../../shared/sim/scenario.ts';
import { encodePacket } from '../../shared/tcp/codec.ts';
import { ACK, SYN } from '../../shared/tcp/packet.ts';
import { bulkScenario, LIFECYCLE, LOST_FIN, recordScenario } from '../../web/src/dev/record.ts';
import {
  cloneRoom,
  descriptorsOf,
  primarySock,
  resultBytes,
  sendBuffer,
} from '../../web/src/model/endpoints.ts';
import { callArgsText, resultText } from '../../web/src/model/format.ts';
import type { WireEvent } from '../../web/src/model/history.ts';
import { viewPacket } from '../../web/src/model/packet-view.ts';
import { RoomStore } from '../../web/src/model/room-store.ts';
import { fullInfo, infoText, type Segment, shortText, tagsText } from '../../web/src/model/segments.ts';

const CLASSROOM = { mslMs: 5000, rtoInitialMs: 3000, rtoMinMs: 1500, delayedAckMs: 200, finTimeoutMs: 30000 };

function load(s: Scenario): RoomStore {
  const rec = recordScenario(s);
  const store = new RoomStore(rec.room, rec.info, undefined, () => 0);
  for (const m of rec.messages) {
    if (m instanceof Uint8Array) expect(store.addBinary(m)).toBe(true);
    else store.addEvent(Number(m.n), Number(m.t), m.event as WireEvent);
  }
  store.synced = true;
  expect(store.problems).toEqual([]);
  return store;
}

const rel = { absolute: false };
const lines = (store: RoomStore) => store.segments.list.map((s) => fullInfo(s, rel));
const withTag = (store: RoomStore, tag: string) =>
  store.segments.list.filter((s) => tagsText(s).includes(tag));

describe('labels speak Wireshark', () => {
  const store = load(LIFECYCLE);

  it('labels the handshake, data and four-way close with relative numbers', () => {
    const info = store.segments.list.map((s) => infoText(s, rel));
    expect(info.slice(0, 3)).toEqual([
      '[SYN] Seq=0 Win=65535 Len=0 MSS=1460',
      '[SYN, ACK] Seq=0 Ack=1 Win=65535 Len=0 MSS=1460',
      '[ACK] Seq=1 Ack=1 Win=65535 Len=0',
    ]);
    expect(info).toContain('[PSH, ACK] Seq=1 Ack=1 Win=65535 Len=12');
    // A sent 12 bytes and B 15: A's FIN is Seq=13 Ack=16, B's FIN Seq=16 Ack=14, last ACK Seq=14 Ack=17.
    expect(info.slice(-4)).toEqual([
      '[FIN, ACK] Seq=13 Ack=16 Win=65535 Len=0',
      '[ACK] Seq=16 Ack=14 Win=65535 Len=0',
      '[FIN, ACK] Seq=16 Ack=14 Win=65535 Len=0',
      '[ACK] Seq=14 Ack=17 Win=65535 Len=0',
    ]);
    expect(shortText(store.segments.list.at(-4)!, rel)).toBe('[FIN, ACK] Seq=13 Ack=16');
    expect(lines(store)[0]).toMatch(/^\d+ → 80 \[SYN\]/);
  });

  it('shows absolute numbers on request, from the real header', () => {
    const syn = store.segments.list[0]!;
    const synAck = store.segments.list[1]!;
    expect(infoText(syn, { absolute: true })).toBe(`[SYN] Seq=${syn.h!.seq} Win=65535 Len=0 MSS=1460`);
    expect(infoText(synAck, { absolute: true })).toContain(`Ack=${(syn.h!.seq + 1) >>> 0}`);
  });

  it('has no analysis tags on a clean run', () => {
    expect(store.segments.list.every((s) => s.tags.length === 0)).toBe(true);
  });
});

describe('analysis from the engine’s ground truth', () => {
  it('a lost FIN: dropped, then [TCP Retransmission] linked to it', () => {
    const store = load(LOST_FIN);
    const fins = store.segments.list.filter(
      (s) => s.from === 'A' && infoText(s, rel).startsWith('[FIN, ACK]'),
    );
    expect(fins).toHaveLength(2);
    const [lost, again] = fins as [Segment, Segment];
    expect(lost.end?.fate).toBe('dropped');
    expect(lost.end?.cause).toBe('rule');
    expect(again.why).toBe('retransmit-rto');
    expect(again.tags).toEqual([{ kind: 'retransmission', of: lost.id, nth: 1 }]);
    expect(tagsText(again)).toBe('[TCP Retransmission]');
    expect(lost.rexmittedBy).toEqual([again.id]);
    expect(again.end?.fate).toBe('arrived');
  });

  it('loss in a bulk transfer: dup ACKs counted per original ACK, fast retransmissions linked', () => {
    const store = load(bulkScenario(80, 0.03));
    const dups = withTag(store, 'Dup ACK');
    expect(dups.length).toBeGreaterThan(3);
    for (const d of dups) {
      const tag = d.tags.find((t) => t.kind === 'dup-ack') as { of: number; count: number };
      const orig = store.segments.get(tag.of)!;
      expect(orig.h!.ack).toBe(d.h!.ack);
      expect(orig.from).toBe(d.from);
      expect(tagsText(d)).toContain(`[TCP Dup ACK ${tag.of}#${tag.count}]`);
    }
    // counts run 1, 2, 3… for each original ACK
    const byOrig = new Map<number, number[]>();
    for (const d of dups) {
      const tag = d.tags.find((t) => t.kind === 'dup-ack') as { of: number; count: number };
      byOrig.set(tag.of, [...(byOrig.get(tag.of) ?? []), tag.count]);
    }
    for (const counts of byOrig.values()) expect(counts).toEqual(counts.map((_, i) => i + 1));
    const fast = withTag(store, 'Fast Retransmission');
    expect(fast.length).toBeGreaterThan(0);
    for (const f of fast) {
      const tag = f.tags[0] as { kind: string; of: number };
      expect(tag.kind).toBe('fast-retransmission');
      expect(store.segments.get(tag.of)!.h!.seq).toBe(f.h!.seq);
    }
  });

  it('a receiver that does not read: Window Full, ZeroWindow, ZeroWindowProbe, Window Update', () => {
    const store = load({
      name: 'zero window',
      seed: 5,
      until: 12_000,
      config: { ...CLASSROOM, rcvBuf: 8192 },
      link: { delayMs: 100 },
      steps: [
        { at: 0, host: 'B', op: 'socket', as: 'l' },
        { at: 0, host: 'B', op: 'bind', fd: 'l', port: 80 },
        { at: 0, host: 'B', op: 'listen', fd: 'l' },
        { at: 0, host: 'B', op: 'accept', fd: 'l', as: 'c' },
        { at: 10, host: 'A', op: 'socket', as: 's' },
        { at: 10, host: 'A', op: 'connect', fd: 's', addr: 'B', port: 80 },
        { at: 1000, host: 'A', op: 'send', fd: 's', bytes: 20000 },
        { at: 9000, host: 'B', op: 'recv', fd: 'c', max: 8192 },
      ],
    });
    const zero = withTag(store, '[TCP ZeroWindow]');
    expect(zero.length).toBeGreaterThan(0);
    for (const z of zero) expect(z.win).toBe(0);
    expect(withTag(store, '[TCP ZeroWindowProbe]').every((s) => s.why === 'persist-probe')).toBe(true);
    expect(withTag(store, '[TCP ZeroWindowProbe]').length).toBeGreaterThan(0);
    expect(withTag(store, '[TCP Window Full]').length).toBeGreaterThan(0);
    expect(withTag(store, '[TCP Window Update]').map((s) => s.why)).toContain('window-update');
  });

  it('reordering on the link: a segment that arrives after a later one is [TCP Out-Of-Order]', () => {
    const s = bulkScenario(40, 0);
    s.link = { delayMs: 40, reorder: 0.2, reorderMs: 30 };
    const store = load(s);
    const ooo = withTag(store, '[TCP Out-Of-Order]');
    expect(ooo.length).toBeGreaterThan(0);
    for (const o of ooo) {
      expect(o.rexmit).toBe(0);
      // some later-sent segment of the same direction arrived first, with a higher sequence number
      const overtook = store.segments.list.some(
        (x) => x.from === o.from && x.start.n > o.start.n && x.end?.fate === 'arrived' && x.end.n < o.end!.n,
      );
      expect(overtook).toBe(true);
    }
  });
});

describe('endpoints rebuilt from the history', () => {
  const store = load(LIFECYCLE);
  const n = store.items.length;

  it('ends with A in CLOSED after TIME-WAIT and B’s connection closed', () => {
    const v = store.view();
    const a = primarySock(v.A)!;
    expect(a.state).toBe('CLOSED');
    expect(a.last?.from).toBe('TIME-WAIT');
    expect(Object.keys(v.A.procs[1]!)).toEqual([]);
    const b = v.B.socks[2]!;
    expect(b.state).toBe('CLOSED');
    expect(b.written).toBe(15);
    expect(b.read).toBe(12);
    expect(b.lastRecv).toBe('hello from A');
  });

  it('at TIME-WAIT: the 2·MSL timer, all data acknowledged', () => {
    const i = store.items.findIndex(
      (it) =>
        it.kind === 'event' && it.event.type === 'state' && (it.event as { to?: string }).to === 'TIME-WAIT',
    );
    const v = store.view(i + 2);
    const a = primarySock(v.A)!;
    expect(a.state).toBe('TIME-WAIT');
    expect(a.timers['time-wait']! - v.t).toBeCloseTo(10_000, 0);
    expect(sendBuffer(a)).toEqual({ acked: 12, inFlight: 0, unsent: 0 });
    expect((a.sndUna! - a.iss!) >>> 0).toBe(14); // SYN + 12 bytes + FIN
    expect((a.rcvNxt! - a.irs!) >>> 0).toBe(17); // SYN + 15 bytes + FIN
  });

  it('the listener’s accept queue holds the connection until accept() returns', () => {
    const est = store.items.findIndex(
      (it) =>
        it.kind === 'event' &&
        it.event.type === 'state' &&
        it.event.host === 'B' &&
        (it.event as { to?: string }).to === 'ESTABLISHED',
    );
    const before = store.view(est - 1);
    expect(before.B.socks[1]!.listen!.syn).toEqual([2]);
    const after = store.view(est);
    expect(after.B.socks[1]!.listen!.syn).toEqual([]);
    // accept() was already waiting: it returns fd 4 right away and empties the queue
    const end = store.view();
    expect(end.B.socks[1]!.listen!.accept).toEqual([]);
    expect(end.B.procs[1]![3]).toBe(1);
  });

  it('any past moment is the same whether rebuilt from a checkpoint or folded from the start', () => {
    for (const i of [0, 5, 17, Math.floor(n / 3), Math.floor(n / 2), n - 2]) {
      const fromCheckpoint = store.view(i);
      const fresh = new RoomStore(store.room, store.info, undefined, () => 0);
      for (const it of store.items.slice(0, i + 1)) {
        if (it.kind === 'frame') fresh.addFrame(it.frame);
        else fresh.addEvent(it.n, it.t, it.event);
      }
      expect(cloneRoom(fromCheckpoint)).toEqual(cloneRoom(fresh.view()));
    }
  });

  it('dup() and fork() share a socket: close() drops a reference, FIN only at the last one', () => {
    const s = load({
      name: 'shared descriptor',
      seed: 3,
      until: 8000,
      config: CLASSROOM,
      link: { delayMs: 100 },
      steps: [
        { at: 0, host: 'B', op: 'socket', as: 'l' },
        { at: 0, host: 'B', op: 'bind', fd: 'l', port: 80 },
        { at: 0, host: 'B', op: 'listen', fd: 'l' },
        { at: 0, host: 'B', op: 'accept', fd: 'l', as: 'c' },
        { at: 10, host: 'A', op: 'socket', as: 's' },
        { at: 10, host: 'A', op: 'connect', fd: 's', addr: 'B', port: 80 },
        { at: 1000, host: 'A', op: 'dup', fd: 's', as: 'd' },
        { at: 1100, host: 'A', op: 'fork', as: 'child' },
        { at: 2000, host: 'A', op: 'close', fd: 's' },
        { at: 2100, host: 'A', op: 'close', fd: 'd' },
        { at: 3000, host: 'A', op: 'close', fd: 's', pid: 'child' },
        { at: 3100, host: 'A', op: 'close', fd: 'd', pid: 'child' },
      ],
    });
    const at = (t: number) => {
      let i = s.items.length - 1;
      while (i > 0 && s.items[i]!.t > t) i--;
      return s.view(i);
    };
    expect(descriptorsOf(at(1500).A, 1)).toHaveLength(4);
    expect(descriptorsOf(at(2500).A, 1)).toHaveLength(2);
    expect(primarySock(at(2500).A)!.state).toBe('ESTABLISHED');
    const fins = s.segments.list.filter((x) => x.from === 'A' && infoText(x, rel).startsWith('[FIN'));
    expect(fins).toHaveLength(1);
    expect(fins[0]!.start.t).toBeGreaterThanOrEqual(3100);
  });
});

describe('inspector: fields read from the bytes', () => {
  const packet = encodePacket({
    ip: { tos: 0, id: 7, df: true, ttl: 64, src: 0x0a000001, dst: 0x0a000002 },
    tcp: {
      srcPort: 40000,
      dstPort: 80,
      seq: 1000,
      ack: 0,
      reserved: 0,
      flags: SYN,
      window: 65535,
      checksum: 0,
      urgent: 0,
      options: [{ kind: 'mss', value: 1460 }],
      payload: new Uint8Array(0),
    },
  });

  it('places every header field at its byte offset and verifies both checksums', () => {
    const v = viewPacket(packet);
    const f = Object.fromEntries(v.fields.map((x) => [x.key, x]));
    expect(f['tcp.srcPort']).toMatchObject({ start: 20, end: 22, value: '40000' });
    expect(f['tcp.seq']).toMatchObject({ start: 24, end: 28, value: '1000' });
    expect(f['tcp.flags']!.value).toBe('0x02 SYN');
    expect(f['tcp.window']).toMatchObject({ start: 34, end: 36, value: '65535' });
    expect(f['tcp.options']!.value).toBe('MSS: 1460');
    expect(f['ip.src']!.value).toBe('10.0.0.1');
    expect(v.ipChecksumOk).toBe(true);
    expect(v.tcpChecksumOk).toBe(true);
  });

  it('names the correct checksum when a bit was flipped on the way', () => {
    const bad = packet.slice();
    bad[30] = (bad[30] ?? 0) ^ 0x10; // flip a bit of the acknowledgment number
    const v = viewPacket(bad);
    expect(v.tcpChecksumOk).toBe(false);
    const ck = v.fields.find((x) => x.key === 'tcp.checksum')!;
    expect(ck.ok).toBe(false);
    expect(ck.expected).toMatch(/^0x[0-9a-f]{4}$/);
    expect(ck.expected).not.toBe(ck.value);
    void ACK;
  });
});

describe('calls as strace prints them', () => {
  it('formats calls and results', () => {
    expect(callArgsText('connect', 3, { addr: 0x0a000002, port: 80 })).toBe('connect(3, 10.0.0.2:80)');
    expect(callArgsText('send', 4, { data: { len: 5, text: 'hello' } })).toBe('send(4, "hello")');
    expect(callArgsText('close', 3, {}, 2)).toBe('[2] close(3)');
    expect(resultText('connect', { ok: false, errno: 'ECONNREFUSED', message: 'x' })).toBe('-1 ECONNREFUSED');
    expect(resultText('accept', { ok: true, value: { fd: 4, peerAddr: 0x0a000001, peerPort: 40000 } })).toBe(
      '4 (10.0.0.1:40000)',
    );
    expect(resultText('recv', { ok: true, value: { b64: btoa('world') } })).toBe('"world" (5)');
  });

  it('reads only a prefix of a long recv() result', () => {
    const big = btoa('x'.repeat(60_000));
    const r = resultBytes({ b64: big })!;
    expect(r.len).toBe(60_000);
    expect(r.text!.length).toBeLessThan(120);
    expect(r.text!.endsWith('…')).toBe(true);
  });

  it('gives the same text for ASCII and for UTF-8, whole or cut, as the headers-first replay shortens it', () => {
    const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
    expect(resultBytes({ b64: b64('hello\tworld\n') })).toEqual({ len: 12, text: 'hello\tworld\n' });
    expect(resultBytes({ b64: b64('你好 TCP') })).toEqual({ len: 10, text: '你好 TCP' });
    // 33 three-byte characters: the 96-byte prefix ends on a whole character
    const zh = '传'.repeat(40);
    expect(resultBytes({ b64: b64(zh) })).toEqual({ len: 120, text: `${'传'.repeat(32)}…` });
    const ascii = 'a'.repeat(200);
    const short = { b64: b64(ascii).slice(0, 128), bytes: 200, truncated: true };
    expect(resultBytes(short)).toEqual({ len: 200, text: `${'a'.repeat(96)}…` });
    expect(resultBytes({ b64: b64(ascii) })).toEqual(resultBytes(short));
    // bytes that are not UTF-8: the length only
    expect(resultBytes({ b64: Buffer.from([0xff, 0xfe, 0x41]).toString('base64') })).toEqual({ len: 3 });
  });
});
