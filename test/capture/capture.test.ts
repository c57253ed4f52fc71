/**
 * Capture points and comments on real simulator runs (no tshark here: see tshark.test.ts):
 * which segments each point shows, at which time, with which bytes and which comments.
 */
import { describe, expect, test } from 'vitest';
import {
  buildCapture,
  type CapturedPacket,
  capturePackets,
  describeRule,
} from '../../shared/capture/capture.ts';
import { runScenario, type ScenarioRun } from '../../shared/sim/runner.ts';
import type { SegmentTrace, TraceEvent } from '../../shared/sim/trace.ts';
import { optionTexts, readPcap, readPcapng } from './read.ts';
import { run, SCENARIOS, type ScenarioName } from './scenarios.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function segs(trace: readonly TraceEvent[], event: SegmentTrace['event']): SegmentTrace[] {
  return trace.filter((e): e is SegmentTrace => e.type === 'segment' && e.event === event);
}

const rows = (ps: CapturedPacket[]) => ps.map((p) => [p.id, p.t, p.direction]);

/** What a point should show, computed straight from the trace's send/dup/arrive events. */
function expected(r: ScenarioRun, point: string): Array<[number, number, string | undefined]> {
  const out: Array<[number, number, string | undefined]> = [];
  for (const e of r.trace) {
    if (e.type !== 'segment') continue;
    if (point === 'wire' && (e.event === 'send' || e.event === 'dup')) out.push([e.id, e.t, undefined]);
    if (point !== 'wire' && e.event === 'send' && e.from === point) out.push([e.id, e.t, 'outbound']);
    if (point !== 'wire' && e.event === 'arrive' && e.to === point) out.push([e.id, e.t, 'inbound']);
  }
  return out;
}

const runs = new Map<ScenarioName, ScenarioRun>();
function get(name: ScenarioName): ScenarioRun {
  let r = runs.get(name);
  if (!r) {
    r = run(name);
    expect(r.errors).toEqual([]);
    runs.set(name, r);
  }
  return r;
}

describe('capture points', () => {
  for (const name of Object.keys(SCENARIOS) as ScenarioName[]) {
    test(`${name}: A = sent by A at send time + arrived at A at arrival time; B likewise; wire = every segment carried`, () => {
      const r = get(name);
      for (const point of ['A', 'B', 'wire']) {
        const ps = capturePackets(r.trace, point);
        expect(rows(ps), point).toEqual(expected(r, point));
        // Records are in time order.
        for (let i = 1; i < ps.length; i++) expect(ps[i]!.t).toBeGreaterThanOrEqual(ps[i - 1]!.t);
      }
    });
  }

  test('the bytes are the send event’s hex; a copy carries its dup event’s hex', () => {
    const r = get('faults');
    const hexOf = new Map([...segs(r.trace, 'send'), ...segs(r.trace, 'dup')].map((e) => [e.id, e.hex]));
    const corrupted = new Set(segs(r.trace, 'corrupt').map((e) => e.id));
    for (const point of ['A', 'B', 'wire']) {
      for (const p of capturePackets(r.trace, point)) {
        if (corrupted.has(p.id) && p.direction !== 'outbound') continue;
        expect(hex(p.bytes), `${point} #${p.id}`).toBe(hexOf.get(p.id));
      }
    }
  });

  test('a dropped segment is at its sender and on the wire, not at the receiver', () => {
    const r = get('droppedFin');
    const [drop] = segs(r.trace, 'drop');
    expect(drop).toMatchObject({ from: 'A', flags: ['ACK', 'FIN'], reason: 'rule:r1' });
    const ids = (point: string) => capturePackets(r.trace, point).map((p) => p.id);
    expect(ids('A')).toContain(drop!.id);
    expect(ids('wire')).toContain(drop!.id);
    expect(ids('B')).not.toContain(drop!.id);
  });

  test('a duplicate is on the wire and at the receiver, never at the sender', () => {
    const r = get('faults');
    const [dup] = segs(r.trace, 'dup');
    const ids = (point: string) => capturePackets(r.trace, point).map((p) => p.id);
    expect(ids('A')).toContain(dup!.dupOf);
    expect(ids('A')).not.toContain(dup!.id);
    expect(ids('B')).toEqual(expect.arrayContaining([dup!.dupOf, dup!.id]));
    expect(ids('wire')).toEqual(expect.arrayContaining([dup!.dupOf, dup!.id]));
  });

  test('a corrupted segment leaves its sender intact and is corrupted on the wire and at the receiver', () => {
    const r = get('faults');
    const [c] = segs(r.trace, 'corrupt');
    const sent = segs(r.trace, 'send').find((e) => e.id === c!.id)!;
    const at = (point: string) => capturePackets(r.trace, point).find((p) => p.id === c!.id)!;
    expect(hex(at('A').bytes)).toBe(sent.hex);
    expect(hex(at('B').bytes)).toBe(c!.hex);
    expect(hex(at('wire').bytes)).toBe(c!.hex);
    // One bit differs.
    const diff = at('A').bytes.map((b, i) => b ^ at('B').bytes[i]!);
    expect(diff.reduce((n, b) => n + (b.toString(2).match(/1/g)?.length ?? 0), 0)).toBe(1);
  });

  test('an unknown capture point or an empty trace gives an empty but valid capture', () => {
    expect(capturePackets(get('handshakeClose').trace, 'C')).toEqual([]);
    const file = buildCapture([], { point: 'A', format: 'pcapng' });
    expect(readPcapng(file).map((b) => b.type)).toEqual([0x0a0d0d0a, 1]);
    expect(readPcap(buildCapture([], { point: 'wire', format: 'pcap' })).records).toEqual([]);
  });
});

describe('comments', () => {
  const comments = (name: ScenarioName, point: string) =>
    capturePackets(get(name).trace, point).map((p) => [p.id, p.comments] as const);
  const commentOf = (name: ScenarioName, point: string, id: number) =>
    capturePackets(get(name).trace, point).find((p) => p.id === id)?.comments;

  test('dropped FIN: "dropped by rule: first FIN from A", then a retransmission after RTO', () => {
    const r = get('droppedFin');
    const [drop] = segs(r.trace, 'drop');
    const rexmit = segs(r.trace, 'send').find((e) => e.why === 'retransmit-rto')!;
    expect(rexmit.flags).toContain('FIN');
    for (const point of ['A', 'wire']) {
      expect(commentOf('droppedFin', point, drop!.id)).toEqual(['dropped by rule: first FIN from A']);
    }
    for (const point of ['A', 'B', 'wire']) {
      expect(commentOf('droppedFin', point, rexmit.id)).toEqual(['retransmission after RTO']);
    }
    // Nothing else is remarkable.
    expect(comments('droppedFin', 'wire').filter(([, c]) => c.length > 0)).toHaveLength(2);
  });

  test('clean run: no comments at all', () => {
    for (const point of ['A', 'B', 'wire']) {
      expect(comments('handshakeClose', point).every(([, c]) => c.length === 0)).toBe(true);
    }
  });

  test('fast retransmission, and a rule with its own id', () => {
    const r = get('fastRetransmit');
    const [drop] = segs(r.trace, 'drop');
    const fast = segs(r.trace, 'send').find((e) => e.why === 'retransmit-fast')!;
    expect(fast.seq).toBe(drop!.seq);
    expect(commentOf('fastRetransmit', 'A', drop!.id)).toEqual([
      'dropped by rule "lose-5th": fifth data segment from A',
    ]);
    expect(commentOf('fastRetransmit', 'B', fast.id)).toEqual(['fast retransmission after 3 duplicate ACKs']);
  });

  test('random loss', () => {
    const r = get('randomLoss');
    const lost = segs(r.trace, 'drop');
    expect(lost.length).toBeGreaterThan(0);
    for (const l of lost) {
      expect(l.reason).toBe('loss');
      expect(commentOf('randomLoss', 'wire', l.id)).toContain('lost on the link (random loss)');
      expect(commentOf('randomLoss', l.from, l.id)).toContain('lost on the link (random loss)');
      expect(commentOf('randomLoss', l.to, l.id)).toBeUndefined();
    }
  });

  test('delayed, duplicated, corrupted (and discarded), held and released, held and dropped', () => {
    const wire = comments('faults', 'wire').filter(([, c]) => c.length > 0);
    const all = wire.flatMap(([, c]) => c);
    const [dup] = segs(get('faults').trace, 'dup');
    expect(commentOf('faults', 'B', dup!.id)).toEqual([
      `duplicated by a fault rule: copy of segment #${dup!.dupOf}`,
    ]);
    expect(commentOf('faults', 'A', dup!.dupOf!)).toEqual([
      `duplicated: the network also carried a copy (#${dup!.id})`,
    ]);
    expect(all).toContain('delayed 3000 ms by rule: first ACK without SYN from B');
    expect(all).toContainEqual(
      expect.stringMatching(/^corrupted by rule "flip": first data segment from A: one bit flipped/),
    );
    expect(all).toContainEqual(expect.stringMatching(/^discarded by B: bad-checksum: TCP checksum/));
    expect(all).toContain('held (hold mode) for 100 ms, then released by the user with 500 ms extra delay');
    expect(all).toContain('held (hold mode) for 100 ms, then dropped by the user');
    expect(all).toContain('held (hold mode) for 200 ms, then released by the user');
    expect(all).toContain('held (hold mode); still held when the capture was made');
    expect(all.filter((c) => c.startsWith('retransmission after RTO')).length).toBeGreaterThan(0);
  });

  test('held by a hold rule, then released', () => {
    const r = runScenario({
      ...SCENARIOS.handshakeClose(),
      faults: [{ from: 'A', flags: ['SYN'], action: 'hold' }],
      steps: [...SCENARIOS.handshakeClose().steps, { at: 300, op: 'release', id: 1 }],
    });
    expect(r.errors).toEqual([]);
    const syn = capturePackets(r.trace, 'B').find((p) => p.id === 1)!;
    expect(syn.t).toBe(350);
    expect(syn.comments).toEqual(['held by rule: first SYN from A for 290 ms, then released by the user']);
  });

  test('rules in words', () => {
    expect(describeRule({ from: 'A', flags: ['FIN'], action: 'drop' })).toBe('first FIN from A');
    expect(describeRule({ from: 'B', flags: ['ACK'], action: 'delay', delayMs: 3000 })).toBe(
      'first ACK from B',
    );
    expect(describeRule({ segment: 4, action: 'duplicate' })).toBe('segment #4');
    expect(describeRule({ from: 'A', data: true, nth: 2, times: 2, action: 'drop' })).toBe(
      'second to third data segment from A',
    );
    expect(describeRule({ to: 'B', flags: ['SYN', 'ACK'], times: 'all', action: 'drop' })).toBe(
      'every SYN+ACK to B',
    );
    expect(describeRule({ rexmit: true, nth: 22, times: 'all', action: 'drop' })).toBe(
      'every retransmitted segment from the 22nd on',
    );
    expect(describeRule({ why: 'keepalive', action: 'drop' })).toBe('first segment sent as keepalive');
    expect(describeRule(null)).toBe('first segment');
  });
});

describe('files', () => {
  test('pcapng: section comment with title and capture point, one RAW interface, one EPB per record', () => {
    const r = get('droppedFin');
    for (const point of ['A', 'B', 'wire']) {
      const ps = capturePackets(r.trace, point);
      const file = buildCapture(r.trace, {
        point,
        format: 'pcapng',
        title: 'Room 7 · scenario dropped FIN',
        startTime: 1_700_000_000_000,
      });
      const [shb, idb, ...epbs] = readPcapng(file);
      const shbComments = optionTexts(shb!, 1);
      expect(shbComments[0]).toBe('Room 7 · scenario dropped FIN');
      expect(shbComments[1]).toBe(
        point === 'wire'
          ? 'Capture point: on the wire between A and B.'
          : `Capture point: at host ${point} (10.0.0.${point === 'A' ? 1 : 2}).`,
      );
      expect(optionTexts(shb!, 4)).toEqual(['TCP Lab']);
      expect(idb!.body[0]).toBe(101);
      expect(optionTexts(idb!, 2)).toEqual([point === 'wire' ? 'wire' : `host ${point}`]);
      expect(idb!.options.find((o) => o.code === 9)!.value).toEqual(Uint8Array.of(9));
      expect(epbs.map((b) => b.type)).toEqual(ps.map(() => 6));
      epbs.forEach((b, i) => {
        const p = ps[i]!;
        const view = new DataView(b.body.buffer, b.body.byteOffset);
        const ts = (BigInt(view.getUint32(4, true)) << 32n) | BigInt(view.getUint32(8, true));
        expect(ts).toBe(1_700_000_000_000_000_000n + BigInt(Math.round(p.t * 1e6)));
        expect(b.body.subarray(20, 20 + p.bytes.length)).toEqual(p.bytes);
        expect(optionTexts(b, 1)).toEqual(p.comments);
        const flags = b.options.find((o) => o.code === 2);
        if (point === 'wire') expect(flags).toBeUndefined();
        else expect(flags!.value[0]).toBe(p.direction === 'inbound' ? 1 : 2);
        expect(new DataView(b.options.find((o) => o.code === 5)!.value.buffer).getUint32(0, true)).toBe(p.id);
      });
    }
  });

  test('pcap: the same records, microsecond or nanosecond', () => {
    const r = get('handshakeClose');
    const ps = capturePackets(r.trace, 'B');
    for (const resolution of ['ns', 'us'] as const) {
      const f = readPcap(buildCapture(r.trace, { point: 'B', format: 'pcap', resolution, startTime: 5000 }));
      expect(f.magic).toBe(resolution === 'ns' ? 0xa1b23c4d : 0xa1b2c3d4);
      expect(f.linktype).toBe(101);
      expect(f.records.map((x) => hex(x.data))).toEqual(ps.map((p) => hex(p.bytes)));
      const unit = resolution === 'ns' ? 1e9 : 1e6;
      expect(f.records.map((x) => x.sec + x.frac / unit)).toEqual(ps.map((p) => 5 + p.t / 1000));
    }
  });

  test('segments the trace has no bytes for are left out and counted in the section comment', () => {
    const trace = get('handshakeClose').trace.map((e) =>
      e.type === 'segment' && e.id === 1 ? { ...e, hex: undefined } : e,
    );
    expect(capturePackets(trace, 'wire').map((p) => p.id)).not.toContain(1);
    const [shb] = readPcapng(buildCapture(trace, { point: 'A', format: 'pcapng' }));
    expect(optionTexts(shb!, 1)).toContain('1 segment(s) had no bytes in the trace and are missing.');
  });
});
