/**
 * Property tests for the wire codec (fast-check): round trips for arbitrary valid packets, and
 * a decoder that never throws on arbitrary bytes or on mutations of valid packets.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  type CodecErrorKind,
  type DecodeResult,
  decodePacket,
  decodeSegment,
  encodePacket,
  encodeSegment,
} from '../../shared/tcp/codec.ts';
import type { Packet, TcpOption, TcpSegment } from '../../shared/tcp/packet.ts';

const KINDS: readonly CodecErrorKind[] = [
  'truncated',
  'bad-version',
  'bad-ihl',
  'bad-total-length',
  'fragmented',
  'not-tcp',
  'bad-ip-checksum',
  'bad-data-offset',
  'bad-option',
  'bad-checksum',
];

/** Bounded runs; on failure fast-check prints the seed and path that replay it. */
const RUNS = { numRuns: 1000 };

// ---------------------------------------------------------------------------------------------
// Arbitraries

/** fc.record makes null-prototype objects by default; the codec returns plain ones. */
const PLAIN = { noNullPrototype: true } as const;

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const KNOWN_KINDS = new Set([0, 1, 2, 3, 4, 5, 8]);

const optionArb: fc.Arbitrary<TcpOption> = fc.oneof(
  fc.constant({ kind: 'nop' as const }),
  u16.map((value) => ({ kind: 'mss' as const, value })),
  u8.map((shift) => ({ kind: 'wscale' as const, shift })),
  fc.constant({ kind: 'sack-permitted' as const }),
  fc
    .array(fc.record({ left: u32, right: u32 }, PLAIN), { minLength: 1, maxLength: 4 })
    .map((blocks) => ({ kind: 'sack' as const, blocks })),
  fc.record({ tsval: u32, tsecr: u32 }, PLAIN).map((ts) => ({ kind: 'timestamps' as const, ...ts })),
  fc
    .record({
      type: u8.filter((t) => !KNOWN_KINDS.has(t)),
      data: fc.uint8Array({ maxLength: 12 }),
    })
    .map((o) => ({ kind: 'unknown' as const, ...o })),
);

/** Wire length of one option, computed here independently of the codec. */
function optionLength(o: TcpOption): number {
  switch (o.kind) {
    case 'eol':
    case 'nop':
      return 1;
    case 'mss':
      return 4;
    case 'wscale':
      return 3;
    case 'sack-permitted':
      return 2;
    case 'timestamps':
      return 10;
    case 'sack':
      return 2 + 8 * o.blocks.length;
    case 'unknown':
      return 2 + o.data.length;
  }
}

const optionsArb: fc.Arbitrary<TcpOption[]> = fc
  .tuple(fc.array(optionArb, { maxLength: 8 }), fc.boolean())
  .map(([opts, eol]) => (eol ? [...opts, { kind: 'eol' as const }] : opts))
  .filter((opts) => opts.reduce((n, o) => n + optionLength(o), 0) <= 40);

const segmentArb: fc.Arbitrary<TcpSegment> = fc.record(
  {
    srcPort: u16,
    dstPort: u16,
    seq: u32,
    ack: u32,
    reserved: fc.integer({ min: 0, max: 15 }),
    flags: u8,
    window: u16,
    checksum: u16, // ignored by the encoder
    urgent: u16,
    options: optionsArb,
    payload: fc.uint8Array({ maxLength: 1500 }),
  },
  PLAIN,
);

const packetArb: fc.Arbitrary<Packet> = fc.record(
  {
    ip: fc.record({ tos: u8, id: u16, df: fc.boolean(), ttl: u8, src: u32, dst: u32 }, PLAIN),
    tcp: segmentArb,
  },
  PLAIN,
);

/** Options as they come back: zero padding after options that end off a word boundary reads as EOL. */
function expectedOptions(opts: TcpOption[]): TcpOption[] {
  const len = opts.reduce((n, o) => n + optionLength(o), 0);
  const endsWithEol = opts.length > 0 && opts[opts.length - 1]!.kind === 'eol';
  return len % 4 !== 0 && !endsWithEol ? [...opts, { kind: 'eol' }] : opts;
}

/** RFC 1071 sum by the book, independent of shared/tcp/checksum.ts. */
function refSum(data: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < data.length; i += 2) sum += data[i]! * 256 + (i + 1 < data.length ? data[i + 1]! : 0);
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}

function pseudo(src: number, dst: number, len: number): number[] {
  const a = (x: number) => [x >>> 24, (x >>> 16) & 255, (x >>> 8) & 255, x & 255];
  return [...a(src), ...a(dst), 0, 6, len >>> 8, len & 255];
}

function tcpVerifies(seg: Uint8Array, src: number, dst: number): boolean {
  // The pseudo-header is 12 bytes (whole words), so its sum simply adds to the segment's.
  let sum = refSum(pseudo(src, dst, seg.length)) + refSum(seg);
  if (sum > 0xffff) sum -= 0xffff; // end-around carry
  return sum === 0xffff;
}

function expectWellFormed(r: DecodeResult): void {
  expect(typeof r.ok).toBe('boolean');
  if (!r.ok) {
    expect(KINDS).toContain(r.error.kind);
    expect(r.error.message.length).toBeGreaterThan(0);
  }
}

// ---------------------------------------------------------------------------------------------

describe('round trips', () => {
  test('decode(encode(p)) deep-equals p, with the checksum filled in', () => {
    fc.assert(
      fc.property(packetArb, (p) => {
        const wire = encodePacket(p);
        // The encoder's checksums verify under the independent implementation.
        expect(refSum(wire.subarray(0, 20))).toBe(0xffff);
        expect(tcpVerifies(wire.subarray(20), p.ip.src, p.ip.dst)).toBe(true);
        const r = decodePacket(wire);
        if (!r.ok) throw new Error(r.error.message);
        const checksum = wire[36]! * 256 + wire[37]!;
        expect(r.packet).toStrictEqual({
          ip: p.ip,
          tcp: { ...p.tcp, checksum, options: expectedOptions(p.tcp.options) },
        });
        // And back again: the decoded value re-encodes to the very same bytes.
        expect(encodePacket(r.packet)).toStrictEqual(wire);
      }),
      RUNS,
    );
  });

  test('decodeSegment(encodeSegment(s)) deep-equals s', () => {
    fc.assert(
      fc.property(segmentArb, u32, u32, (s, src, dst) => {
        const wire = encodeSegment(s, src, dst);
        expect(tcpVerifies(wire, src, dst)).toBe(true);
        const r = decodeSegment(wire, src, dst);
        if (!r.ok) throw new Error(r.error.message);
        expect(r.segment).toStrictEqual({
          ...s,
          checksum: wire[16]! * 256 + wire[17]!,
          options: expectedOptions(s.options),
        });
      }),
      RUNS,
    );
  });
});

describe('the decoder never throws', () => {
  test('arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (b) => {
        expectWellFormed(decodePacket(b));
        const r = decodeSegment(b, 0x0a000001, 0x0a000002);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });

  test('arbitrary bytes behind a valid IPv4 header with valid checksums reach the TCP option parser', () => {
    let optionErrors = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 5, max: 15 }),
        fc.uint8Array({ minLength: 20, maxLength: 100 }),
        (doff, tcp) => {
          // Make the data offset plausible so the options, not the offset, are what gets fuzzed.
          tcp[12] = (Math.min(doff, tcp.length >>> 2) << 4) | (tcp[12]! & 0x0f);
          const b = new Uint8Array(20 + tcp.length);
          b.set([
            0x45,
            0,
            (b.length >>> 8) & 255,
            b.length & 255,
            0,
            1,
            0x40,
            0,
            64,
            6,
            0,
            0,
            10,
            0,
            0,
            1,
            10,
            0,
            0,
            2,
          ]);
          b.set(tcp, 20);
          const ipc = 0xffff - refSum(b.subarray(0, 20));
          b[10] = ipc >>> 8;
          b[11] = ipc & 255;
          b[36] = 0;
          b[37] = 0;
          const c = 0xffff - refSum([...pseudo(0x0a000001, 0x0a000002, tcp.length), ...b.subarray(20)]);
          b[36] = c >>> 8;
          b[37] = c & 255;
          const r = decodePacket(b);
          expectWellFormed(r);
          if (!r.ok) {
            expect(r.error.kind).toBe('bad-option');
            optionErrors++;
            return;
          }
          // Whatever decodes re-encodes to something that decodes to the same value (idempotent).
          const again = decodePacket(encodePacket(r.packet));
          if (!again.ok) throw new Error(again.error.message);
          expect({ ...again.packet.tcp, checksum: 0 }).toStrictEqual({ ...r.packet.tcp, checksum: 0 });
        },
      ),
      RUNS,
    );
    expect(optionErrors).toBeGreaterThan(0); // the generator really did reach bad options
  });

  test('bit flips and truncations of valid packets', () => {
    fc.assert(
      fc.property(packetArb, fc.nat(), fc.integer({ min: 0, max: 7 }), fc.nat(), (p, at, bit, cut) => {
        const wire = encodePacket(p);
        const flipped = wire.slice();
        const i = at % wire.length;
        flipped[i]! ^= 1 << bit;
        const r = decodePacket(flipped);
        expectWellFormed(r);
        // Every field of the IP header after byte 0 is covered by the header checksum, which Linux
        // (and the codec) verifies before acting on any of them.
        if (i >= 1 && i < 20) expect(!r.ok && r.error.kind).toBe('bad-ip-checksum');
        const short = wire.subarray(0, cut % wire.length);
        const t = decodePacket(short);
        expect(!t.ok && t.error.kind).toBe('truncated');
      }),
      RUNS,
    );
  });

  test('a flipped payload bit gives bad-checksum', () => {
    const withPayload = packetArb.filter((p) => p.tcp.payload.length > 0);
    fc.assert(
      fc.property(withPayload, fc.nat(), fc.integer({ min: 0, max: 7 }), (p, at, bit) => {
        const wire = encodePacket(p);
        const start = wire.length - p.tcp.payload.length;
        wire[start + (at % p.tcp.payload.length)]! ^= 1 << bit;
        const r = decodePacket(wire);
        expect(!r.ok && r.error.kind).toBe('bad-checksum');
      }),
      RUNS,
    );
  });
});
