/**
 * Wire codec: golden packets built byte by byte, checked against an independent checksum
 * written here (plain arithmetic, no bit tricks) and against values computed once with Python's
 * `struct` + RFC 1071 sum; then one minimal bad input per CodecError kind.
 */
import { describe, expect, test } from 'vitest';
import {
  foldSum,
  internetChecksum,
  onesSum,
  pseudoHeaderSum,
  tcpChecksum,
  tcpChecksumOk,
} from '../../shared/tcp/checksum.ts';
import {
  type CodecErrorKind,
  CodecException,
  type DecodeResult,
  decodePacket,
  decodeSegment,
  describePacket,
  describeSegment,
  encodePacket,
  encodeSegment,
  tcpHeaderLength,
} from '../../shared/tcp/codec.ts';
import { ACK, FIN, type Packet, PSH, RST, SYN, type TcpSegment, URG } from '../../shared/tcp/packet.ts';

// ---------------------------------------------------------------------------------------------
// Test-local helpers, independent of the code under test

/** Bytes from hex fragments ("45 00 00 3c") and plain byte arrays. */
function bytes(...parts: Array<string | number[] | Uint8Array>): Uint8Array {
  const out: number[] = [];
  for (const part of parts) {
    if (typeof part === 'string') {
      for (const h of part.split(/\s+/).filter(Boolean)) {
        if (!/^[0-9a-f]{2}$/i.test(h)) throw new Error(`bad hex byte ${h}`);
        out.push(Number.parseInt(h, 16));
      }
    } else {
      out.push(...part);
    }
  }
  return Uint8Array.from(out);
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
}

/** RFC 1071 by the book: add 16-bit big-endian words, then add the carries back in. */
function refSum(data: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < data.length; i += 2) sum += data[i]! * 256 + (i + 1 < data.length ? data[i + 1]! : 0);
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}

function refChecksum(data: ArrayLike<number>): number {
  return 0xffff - refSum(data);
}

function addrBytes(a: number): number[] {
  return [Math.floor(a / 2 ** 24) % 256, Math.floor(a / 2 ** 16) % 256, Math.floor(a / 256) % 256, a % 256];
}

/** The IPv4 pseudo-header, as bytes. */
function pseudo(src: number, dst: number, tcpLen: number): number[] {
  return [...addrBytes(src), ...addrBytes(dst), 0, 6, Math.floor(tcpLen / 256), tcpLen % 256];
}

function readAddr(b: Uint8Array, i: number): number {
  return b[i]! * 2 ** 24 + b[i + 1]! * 2 ** 16 + b[i + 2]! * 256 + b[i + 3]!;
}

/** Rewrites the IP header checksum and the TCP checksum of an IPv4+TCP packet in place. */
function fixChecksums(b: Uint8Array, { ip = true, tcp = true } = {}): Uint8Array {
  const ihl = (b[0]! % 16) * 4;
  if (ip) {
    b[10] = 0;
    b[11] = 0;
    const c = refChecksum(b.subarray(0, ihl));
    b[10] = c >> 8;
    b[11] = c % 256;
  }
  if (tcp) {
    const total = b[2]! * 256 + b[3]!;
    const seg = b.subarray(ihl, total);
    seg[16] = 0;
    seg[17] = 0;
    const c = refChecksum([...pseudo(readAddr(b, 12), readAddr(b, 16), seg.length), ...seg]);
    seg[16] = c >> 8;
    seg[17] = c % 256;
  }
  return b;
}

const CLIENT = 0xc000_0201; // 192.0.2.1
const SERVER = 0xc633_6407; // 198.51.100.7

// ---------------------------------------------------------------------------------------------
// Golden packets. Checksums computed independently with Python (struct + RFC 1071 sum).

/**
 * A SYN as Linux sends it (tcp_options_write order: MSS, SACK-permitted, timestamps, NOP,
 * window scale = 20 bytes). ISN 2^32 − 1000 so the connection crosses the wrap.
 */
const LINUX_SYN = bytes(
  '45 00 00 3c', // version 4, IHL 5 | TOS 0 | total length 60
  'a1 b2 40 00', // id 0xa1b2 | DF, fragment offset 0
  '40 06 ac cd', // TTL 64 | protocol 6 | header checksum 0xaccd
  'c0 00 02 01', // source 192.0.2.1
  'c6 33 64 07', // destination 198.51.100.7
  'a1 12 00 50', // source port 41234 | destination port 80
  'ff ff fc 18', // seq 4294966296
  '00 00 00 00', // ack 0
  'a0 02 fa f0', // data offset 10 words, reserved 0 | SYN | window 64240
  'f4 05 00 00', // checksum 0xf405 | urgent 0
  '02 04 05 b4', // MSS 1460
  '04 02', // SACK permitted
  '08 0a 84 24 4b 2d 00 00 00 00', // timestamps TSval 2216971053 TSecr 0
  '01', // NOP
  '03 03 07', // window scale 7
);

const LINUX_SYN_VALUE: Packet = {
  ip: { tos: 0, id: 0xa1b2, df: true, ttl: 64, src: CLIENT, dst: SERVER },
  tcp: {
    srcPort: 41234,
    dstPort: 80,
    seq: 4294966296,
    ack: 0,
    reserved: 0,
    flags: SYN,
    window: 64240,
    checksum: 0xf405,
    urgent: 0,
    options: [
      { kind: 'mss', value: 1460 },
      { kind: 'sack-permitted' },
      { kind: 'timestamps', tsval: 2216971053, tsecr: 0 },
      { kind: 'nop' },
      { kind: 'wscale', shift: 7 },
    ],
    payload: new Uint8Array(0),
  },
};

/** The SYN-ACK reply (Linux: IP id 0 with DF on a SYN-ACK). */
const LINUX_SYN_ACK = bytes(
  '45 00 00 3c',
  '00 00 40 00',
  '40 06 4e 80', // header checksum 0x4e80
  'c6 33 64 07',
  'c0 00 02 01',
  '00 50 a1 12',
  '00 00 27 10', // seq 10000
  'ff ff fc 19', // ack 4294966297
  'a0 12 fe 88', // SYN, ACK | window 65160
  '9b 1b 00 00', // checksum 0x9b1b
  '02 04 05 b4 04 02',
  '08 0a b6 19 78 17 84 24 4b 2d', // TSval 3055122455 TSecr 2216971053
  '01 03 03 07',
);

/** PSH+ACK carrying an odd-length (27-byte) HTTP request, options NOP NOP timestamps. */
const HTTP_GET = bytes(
  '45 00 00 4f', // total length 79
  'a1 b3 40 00',
  '40 06 ac b9', // header checksum 0xacb9
  'c0 00 02 01',
  'c6 33 64 07',
  'a1 12 00 50',
  'ff ff fc 19', // seq 4294966297
  '00 00 27 11', // ack 10001
  '80 18 01 f6', // data offset 8 | PSH, ACK | window 502
  '72 91 00 00', // checksum 0x7291
  '01 01 08 0a 84 24 4b 3e b6 19 78 17',
  Array.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n', (c) => c.charCodeAt(0)),
);

/**
 * An ACK with a SACK block that straddles the wrap; TOS 0x02 (ECT(0)), no DF, TTL 63.
 */
const SACK_ACK = bytes(
  '45 02 00 40',
  '12 34 00 00', // id 0x1234 | no flags
  '3f 06 7d 46', // TTL 63 | header checksum 0x7d46
  'c6 33 64 07',
  'c0 00 02 01',
  '00 50 a1 12',
  '00 00 27 11',
  'ff ff ff e0',
  'b0 10 03 e8', // data offset 11 | ACK | window 1000
  '87 00 00 00', // checksum 0x8700
  '01 01 08 0a 00 00 00 64 00 00 00 c8', // NOP NOP TS val 100 ecr 200
  '01 01 05 0a ff ff ff f0 00 00 00 10', // NOP NOP SACK {4294967280:16}
);

const GOLDEN: Array<[string, Uint8Array]> = [
  ['Linux SYN', LINUX_SYN],
  ['Linux SYN-ACK', LINUX_SYN_ACK],
  ['HTTP GET with odd payload', HTTP_GET],
  ['ACK with SACK across the wrap', SACK_ACK],
];

function decodeOk(b: Uint8Array): Packet {
  const r = decodePacket(b);
  if (!r.ok) throw new Error(`expected ok, got ${r.error.kind}: ${r.error.message}`);
  return r.packet;
}

function decodeErr(b: Uint8Array) {
  const r: DecodeResult = decodePacket(b);
  if (r.ok) throw new Error(`expected an error, decoded ${describePacket(r.packet)}`);
  return r.error;
}

/** A valid SYN-shaped packet with the given raw option bytes (a multiple of 4) and payload. */
function withOptions(optionsHex: string, payload: number[] = []): Uint8Array {
  const opts = bytes(optionsHex);
  if (opts.length % 4) throw new Error('options must fill whole words');
  const tcpLen = 20 + opts.length + payload.length;
  const b = bytes(
    '45 00',
    [0, 20 + tcpLen],
    '00 01 40 00 40 06 00 00',
    addrBytes(CLIENT),
    addrBytes(SERVER),
    'a1 12 00 50 00 00 00 01 00 00 00 00',
    [((20 + opts.length) / 4) << 4, SYN],
    'ff ff 00 00 00 00',
    opts,
    payload,
  );
  return fixChecksums(b);
}

// ---------------------------------------------------------------------------------------------

describe('checksum', () => {
  test('RFC 1071 §3 worked example: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2', () => {
    const b = bytes('00 01 f2 03 f4 f5 f6 f7');
    expect(onesSum(b)).toBe(0xddf2);
    expect(internetChecksum(b)).toBe(0x220d);
    expect(refChecksum(b)).toBe(0x220d); // the oracle agrees with the RFC too
  });

  test('known IP header checksum of the golden SYN (0xaccd)', () => {
    const header = LINUX_SYN.slice(0, 20);
    expect(internetChecksum(header)).toBe(0); // intact header verifies
    header[10] = 0;
    header[11] = 0;
    expect(internetChecksum(header)).toBe(0xaccd);
  });

  test('known TCP checksum of the golden SYN (0xf405) with the pseudo-header', () => {
    const seg = LINUX_SYN.slice(20);
    expect(tcpChecksumOk(seg, 0, seg.length, CLIENT, SERVER)).toBe(true);
    expect(tcpChecksumOk(seg, 0, seg.length, CLIENT, SERVER + 1)).toBe(false);
    seg[16] = 0;
    seg[17] = 0;
    expect(tcpChecksum(seg, 0, seg.length, CLIENT, SERVER)).toBe(0xf405);
  });

  test('pseudo-header sum matches the pseudo-header bytes', () => {
    expect(pseudoHeaderSum(CLIENT, SERVER, 6, 40)).toBe(refSum(pseudo(CLIENT, SERVER, 40)));
    expect(pseudoHeaderSum(0xffffffff, 0xffffffff, 6, 0xffff)).toBe(
      refSum(pseudo(0xffffffff, 0xffffffff, 0xffff)),
    );
  });

  test('odd lengths pad with a zero byte; sub-ranges and chaining agree with the oracle', () => {
    const data = Uint8Array.from({ length: 101 }, (_, i) => (i * 37 + 11) % 256);
    for (const [start, end] of [
      [0, 101],
      [0, 1],
      [1, 2],
      [3, 50],
      [7, 8],
      [10, 10],
      [0, 100],
    ] as const) {
      expect(onesSum(data, start, end), `${start}..${end}`).toBe(refSum(data.subarray(start, end)));
    }
    // Chaining even-length ranges equals summing the whole.
    expect(onesSum(data, 40, 101, onesSum(data, 0, 40))).toBe(refSum(data));
  });

  test('long inputs (several internal chunks) of all-ones stay exact', () => {
    const big = new Uint8Array(300_001).fill(0xff); // word sum far beyond 2^32
    expect(onesSum(big)).toBe(refSum(big));
    const mixed = Uint8Array.from({ length: 65_535 }, (_, i) => (i * 7919) % 251);
    expect(internetChecksum(mixed)).toBe(refChecksum(mixed));
  });

  test('foldSum folds two levels of carry', () => {
    expect(foldSum(0x1fffe)).toBe(0xffff);
    expect(foldSum(0xffff_ffff)).toBe(0xffff);
    expect(foldSum(0x0001_0000)).toBe(1);
  });
});

describe('golden packets', () => {
  test.each(GOLDEN)('%s: the fixture itself is valid (independent checksums)', (_name, b) => {
    expect(refSum(b.subarray(0, 20))).toBe(0xffff);
    const seg = b.subarray(20);
    expect(refSum([...pseudo(readAddr(b, 12), readAddr(b, 16), seg.length), ...seg])).toBe(0xffff);
    expect(b[2]! * 256 + b[3]!).toBe(b.length);
  });

  test.each(GOLDEN)('%s: encode(decode(x)) === x', (_name, b) => {
    expect(toHex(encodePacket(decodeOk(b)))).toBe(toHex(b));
  });

  test('Linux SYN decodes field by field', () => {
    expect(decodeOk(LINUX_SYN)).toStrictEqual(LINUX_SYN_VALUE);
  });

  test('Linux SYN encodes from its value, whatever checksum the value holds', () => {
    const value = { ...LINUX_SYN_VALUE, tcp: { ...LINUX_SYN_VALUE.tcp, checksum: 0x1234 } };
    expect(toHex(encodePacket(value))).toBe(toHex(LINUX_SYN));
  });

  test('SYN-ACK: flags, window, timestamps echo', () => {
    const p = decodeOk(LINUX_SYN_ACK);
    expect(p.tcp.flags).toBe(SYN | ACK);
    expect(p.tcp.ack).toBe(4294966297);
    expect(p.tcp.window).toBe(65160);
    expect(p.tcp.options[2]).toStrictEqual({ kind: 'timestamps', tsval: 3055122455, tsecr: 2216971053 });
    expect(p.ip).toStrictEqual({ tos: 0, id: 0, df: true, ttl: 64, src: SERVER, dst: CLIENT });
  });

  test('HTTP GET: payload is a view into the input (no copy), checksum is the one on the wire', () => {
    const p = decodeOk(HTTP_GET);
    expect(new TextDecoder().decode(p.tcp.payload)).toBe('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(p.tcp.payload.buffer).toBe(HTTP_GET.buffer);
    expect(p.tcp.payload.byteOffset).toBe(52);
    expect(p.tcp.flags).toBe(PSH | ACK);
    expect(p.tcp.checksum).toBe(0x7291);
    expect(p.tcp.options).toStrictEqual([
      { kind: 'nop' },
      { kind: 'nop' },
      { kind: 'timestamps', tsval: 2216971070, tsecr: 3055122455 },
    ]);
  });

  test('SACK block straddling the wrap; TOS, no DF and TTL are kept', () => {
    const p = decodeOk(SACK_ACK);
    expect(p.ip).toStrictEqual({ tos: 2, id: 0x1234, df: false, ttl: 63, src: SERVER, dst: CLIENT });
    expect(p.tcp.options[5]).toStrictEqual({ kind: 'sack', blocks: [{ left: 0xfffffff0, right: 0x10 }] });
    expect(p.tcp.checksum).toBe(0x8700);
  });

  test('segment alone: encodeSegment / decodeSegment match the packet bytes after the IP header', () => {
    const seg = LINUX_SYN.subarray(20);
    const r = decodeSegment(seg, CLIENT, SERVER);
    expect(r.ok && r.segment).toStrictEqual(LINUX_SYN_VALUE.tcp);
    expect(toHex(encodeSegment(LINUX_SYN_VALUE.tcp, CLIENT, SERVER))).toBe(toHex(seg));
    // The pseudo-header takes part: the same bytes between other addresses do not verify.
    const wrong = decodeSegment(seg, SERVER, CLIENT + 1);
    expect(!wrong.ok && wrong.error.kind).toBe('bad-checksum');
  });

  test('trailing bytes beyond the IP total length (Ethernet padding) are ignored', () => {
    const padded = bytes(LINUX_SYN, '00 00 00 00 de ad');
    expect(decodeOk(padded)).toStrictEqual(LINUX_SYN_VALUE);
  });

  test('IP options (IHL > 5) are skipped', () => {
    // IHL 6 with one option word (NOP NOP NOP EOL); total length grows by 4.
    const b = bytes('46 00 00 40', LINUX_SYN.subarray(4, 20), '01 01 01 00', LINUX_SYN.subarray(20));
    fixChecksums(b, { tcp: false });
    expect(decodeOk(b)).toStrictEqual(LINUX_SYN_VALUE);
  });

  test('both representations of a zero TCP checksum (0x0000 and 0xffff) verify', () => {
    // Choose the last two payload bytes so that the correct checksum is 0x0000.
    const b = withOptions('', [0, 0]);
    const c = b[36]! * 256 + b[37]!;
    b[40] = c >> 8;
    b[41] = c % 256;
    fixChecksums(b);
    expect([b[36], b[37]]).toStrictEqual([0, 0]);
    expect(decodeOk(b).tcp.checksum).toBe(0);
    b[36] = 0xff;
    b[37] = 0xff;
    expect(decodeOk(b).tcp.checksum).toBe(0xffff);
  });
});

describe('options', () => {
  test('parsing stops at EOL; what follows is padding, even if not zero', () => {
    const p = decodeOk(withOptions('02 04 05 b4 01 00 ff 02'));
    expect(p.tcp.options).toStrictEqual([{ kind: 'mss', value: 1460 }, { kind: 'nop' }, { kind: 'eol' }]);
  });

  test('unknown options are kept byte for byte and re-encoded', () => {
    // Kind 254 (RFC 6994 experimental) with 2 bytes of data, then NOP NOP.
    const b = withOptions('fe 04 de ad 01 01 01 01');
    const p = decodeOk(b);
    expect(p.tcp.options[0]).toStrictEqual({ kind: 'unknown', type: 254, data: bytes('de ad') });
    expect(toHex(encodePacket(p))).toBe(toHex(b));
  });

  test('the encoder pads options to a 4-byte boundary with zeros (decoded as EOL)', () => {
    const seg: TcpSegment = { ...LINUX_SYN_VALUE.tcp, options: [{ kind: 'wscale', shift: 14 }] };
    expect(tcpHeaderLength(seg)).toBe(24);
    const wire = encodeSegment(seg, CLIENT, SERVER);
    expect(toHex(wire.subarray(12, 13))).toBe('60'); // data offset 6
    expect(toHex(wire.subarray(20))).toBe('03 03 0e 00');
    const r = decodeSegment(wire, CLIENT, SERVER);
    expect(r.ok && r.segment.options).toStrictEqual([{ kind: 'wscale', shift: 14 }, { kind: 'eol' }]);
  });

  test.each<[string, TcpSegment['options']]>([
    [
      'NOP NOP TS NOP NOP SACK×3 (as Linux sends)',
      [
        { kind: 'nop' },
        { kind: 'nop' },
        { kind: 'timestamps', tsval: 1, tsecr: 2 },
        { kind: 'nop' },
        { kind: 'nop' },
        {
          kind: 'sack',
          blocks: [
            { left: 1, right: 2 },
            { left: 0xfffffffe, right: 0xffffffff },
            { left: 0, right: 0 },
          ],
        },
      ],
    ],
    [
      '6 NOPs and SACK×4',
      [
        ...Array.from({ length: 6 }, () => ({ kind: 'nop' }) as const),
        {
          kind: 'sack',
          blocks: [
            { left: 1, right: 2 },
            { left: 3, right: 4 },
            { left: 5, right: 6 },
            { left: 7, right: 8 },
          ],
        },
      ],
    ],
  ])('exactly 40 bytes of options fit: %s', (_name, options) => {
    const seg: TcpSegment = { ...LINUX_SYN_VALUE.tcp, options };
    expect(tcpHeaderLength(seg)).toBe(60);
    const wire = encodeSegment(seg, CLIENT, SERVER);
    expect(wire[12]! >> 4).toBe(15);
    const r = decodeSegment(wire, CLIENT, SERVER);
    expect(r.ok && r.segment.options).toStrictEqual(options);
  });
});

describe('decode errors: one minimal bad input per kind', () => {
  function expectError(b: Uint8Array, kind: CodecErrorKind, message: string | RegExp, offset?: number) {
    const e = decodeErr(b);
    expect(e.kind).toBe(kind);
    if (typeof message === 'string') expect(e.message).toBe(message);
    else expect(e.message).toMatch(message);
    if (offset !== undefined) expect(e.offset).toBe(offset);
  }

  test('truncated: shorter than an IPv4 header', () => {
    expectError(
      LINUX_SYN.subarray(0, 19),
      'truncated',
      'packet of 19 bytes is shorter than the 20-byte IPv4 header',
    );
    expectError(new Uint8Array(0), 'truncated', /packet of 0 bytes/);
  });

  test('truncated: shorter than the IP total length says', () => {
    expectError(LINUX_SYN.subarray(0, 59), 'truncated', 'IP total length 60 but only 59 bytes present', 2);
  });

  test('truncated: IHL longer than the bytes present', () => {
    const b = bytes('4f', LINUX_SYN.subarray(1, 40));
    expectError(b, 'truncated', 'packet of 40 bytes is shorter than its 60-byte IPv4 header (IHL 15)', 0);
  });

  test('truncated: datagram too short for a TCP header', () => {
    const b = fixChecksums(bytes('45 00 00 27', LINUX_SYN.subarray(4, 39)), { tcp: false });
    expectError(b, 'truncated', 'TCP segment of 19 bytes is shorter than the 20-byte header', 20);
  });

  test('bad-version', () => {
    expectError(bytes('65', LINUX_SYN.subarray(1)), 'bad-version', 'IP version 6 is not 4', 0);
  });

  test('bad-ihl', () => {
    expectError(
      bytes('44', LINUX_SYN.subarray(1)),
      'bad-ihl',
      'IP header length 4 words is below the minimum 5',
      0,
    );
  });

  test('bad-ip-checksum', () => {
    const b = LINUX_SYN.slice();
    b[8] = 63; // TTL decremented without updating the checksum
    expectError(b, 'bad-ip-checksum', 'IP header checksum 0xaccd does not verify (expected 0xadcd)', 10);
  });

  test('bad-total-length: shorter than the IP header', () => {
    const b = fixChecksums(bytes('45 00 00 13', LINUX_SYN.subarray(4)), { tcp: false });
    expectError(b, 'bad-total-length', 'IP total length 19 is shorter than the 20-byte IP header', 2);
  });

  test('fragmented: MF set, or a non-zero fragment offset', () => {
    const mf = fixChecksums(bytes(LINUX_SYN.subarray(0, 6), '20 00', LINUX_SYN.subarray(8)), { tcp: false });
    expectError(mf, 'fragmented', /MF 1, fragment offset 0 bytes/, 6);
    const off = fixChecksums(bytes(LINUX_SYN.subarray(0, 6), '40 b9', LINUX_SYN.subarray(8)), { tcp: false });
    expectError(off, 'fragmented', /MF 0, fragment offset 1480 bytes/, 6);
  });

  test('not-tcp', () => {
    const b = LINUX_SYN.slice();
    b[9] = 17;
    fixChecksums(b, { tcp: false });
    expectError(b, 'not-tcp', 'IP protocol 17 is not TCP (6)', 9);
  });

  test('bad-data-offset: below 5 words', () => {
    const b = LINUX_SYN.slice();
    b[32] = 0x40;
    fixChecksums(b);
    expectError(b, 'bad-data-offset', 'data offset 4 words is below the minimum 5', 32);
  });

  test('bad-data-offset: past the end of the segment', () => {
    const b = withOptions(''); // 20-byte TCP header, no payload
    b[32] = 0x60;
    fixChecksums(b);
    expectError(
      b,
      'bad-data-offset',
      'data offset 6 words (24 bytes) runs past the end of the 20-byte segment',
      32,
    );
  });

  test('bad-checksum: one flipped payload bit', () => {
    const b = HTTP_GET.slice();
    b[60]! ^= 0x01;
    expectError(
      b,
      'bad-checksum',
      /^TCP checksum 0x7291 does not verify for 192\.0\.2\.1 > 198\.51\.100\.7, length 59/,
      36,
    );
  });

  test('bad-checksum message gives the value that would verify', () => {
    const b = LINUX_SYN.slice();
    b[36] = 0;
    b[37] = 0;
    expectError(b, 'bad-checksum', /checksum 0x0000 .*\(expected 0xf405\)$/);
  });

  // Options: offsets are bytes from the start of the packet (TCP options start at byte 40).
  test.each([
    ['MSS with length 3', '02 03 05 b4', 'option MSS at byte 40 has length 3, expected 4'],
    ['MSS with length 5', '02 05 05 b4 00 01 01 01', 'option MSS at byte 40 has length 5, expected 4'],
    [
      'window scale with length 4',
      '01 03 04 07',
      'option window scale at byte 41 has length 4, running 1 byte past the end of the TCP header at byte 44',
    ],
    ['window scale with length 2', '03 02 01 01', 'option window scale at byte 40 has length 2, expected 3'],
    [
      'SACK-permitted with length 3',
      '04 03 00 01',
      'option SACK-permitted at byte 40 has length 3, expected 2',
    ],
    [
      'timestamps with length 9',
      '08 09 00 00 00 00 00 00 00 00 00 00',
      'option timestamps at byte 40 has length 9, expected 10',
    ],
    [
      'SACK with length 12',
      '05 0c 00 00 00 01 00 00 00 02 00 00',
      'option SACK at byte 40 has length 12, expected 2 + 8n with n >= 1 blocks (10, 18, 26 or 34)',
    ],
    [
      'SACK with no blocks',
      '05 02 01 01',
      'option SACK at byte 40 has length 2, expected 2 + 8n with n >= 1 blocks (10, 18, 26 or 34)',
    ],
    ['length 1', '01 01 fe 01', 'option kind 254 at byte 42 has length 1, below the minimum 2'],
    ['length 0', 'fe 00 01 01', 'option kind 254 at byte 40 has length 0, below the minimum 2'],
    [
      'length running past the header',
      '01 fe 08 de',
      'option kind 254 at byte 41 has length 8, running 5 bytes past the end of the TCP header at byte 44',
    ],
    [
      'no room for the length byte',
      '01 01 01 02',
      'option MSS at byte 43 is truncated: no room for its length byte',
    ],
  ])('bad-option: %s', (_name, opts, message) => {
    const b = withOptions(opts);
    const e = decodeErr(b);
    expect(e.kind).toBe('bad-option');
    expect(e.message).toBe(message);
    expect(e.offset).toBe(Number(/at byte (\d+)/.exec(message)![1]));
  });

  test('decodeSegment: truncated, bad offset, and more than 65535 bytes', () => {
    const short = decodeSegment(LINUX_SYN.subarray(20, 39), CLIENT, SERVER);
    expect(!short.ok && short.error.kind).toBe('truncated');
    const huge = decodeSegment(new Uint8Array(65_536), CLIENT, SERVER);
    expect(!huge.ok && huge.error.kind).toBe('bad-total-length');
    const mss = withOptions('02 03 05 b4').subarray(20);
    const bad = decodeSegment(mss, CLIENT, SERVER);
    expect(!bad.ok && bad.error).toStrictEqual({
      kind: 'bad-option',
      message: 'option MSS at byte 20 has length 3, expected 4',
      offset: 20,
    });
  });
});

describe('encode errors: only for values that cannot be encoded', () => {
  function encodeError(patch: (p: Packet) => void) {
    const p = structuredClone(LINUX_SYN_VALUE);
    patch(p);
    try {
      encodePacket(p);
    } catch (e) {
      expect(e).toBeInstanceOf(CodecException);
      return (e as CodecException).error;
    }
    throw new Error('expected encodePacket to throw');
  }

  test.each([
    [
      'source port 65536',
      (p: Packet) => void (p.tcp.srcPort = 65536),
      'source port 65536 is not an integer in 0..65535',
    ],
    [
      'negative seq',
      (p: Packet) => void (p.tcp.seq = -1),
      'sequence number -1 is not an integer in 0..4294967295',
    ],
    [
      'seq 2^32',
      (p: Packet) => void (p.tcp.seq = 2 ** 32),
      'sequence number 4294967296 is not an integer in 0..4294967295',
    ],
    [
      'fractional ack',
      (p: Packet) => void (p.tcp.ack = 1.5),
      'acknowledgment number 1.5 is not an integer in 0..4294967295',
    ],
    ['reserved 16', (p: Packet) => void (p.tcp.reserved = 16), 'reserved bits 16 is not an integer in 0..15'],
    ['flags 256', (p: Packet) => void (p.tcp.flags = 256), 'flags 256 is not an integer in 0..255'],
    [
      'window 65536',
      (p: Packet) => void (p.tcp.window = 65536),
      'window 65536 is not an integer in 0..65535',
    ],
    ['TTL 256', (p: Packet) => void (p.ip.ttl = 256), 'IP TTL 256 is not an integer in 0..255'],
    [
      'NaN address',
      (p: Packet) => void (p.ip.src = Number.NaN),
      'IP source address NaN is not an integer in 0..4294967295',
    ],
    [
      'MSS 65536',
      (p: Packet) => void (p.tcp.options = [{ kind: 'mss', value: 65536 }]),
      'MSS 65536 is not an integer in 0..65535',
    ],
  ])('bad-field: %s', (_name, patch, message) => {
    expect(encodeError(patch)).toStrictEqual({ kind: 'bad-field', message });
  });

  test.each([
    [
      'options over 40 bytes',
      [{ kind: 'nop' }, ...Array.from({ length: 4 }, () => ({ kind: 'timestamps', tsval: 0, tsecr: 0 }))],
      'options need more than 40 bytes (data offset is at most 15 words)',
    ],
    ['SACK without blocks', [{ kind: 'sack', blocks: [] }], 'SACK option with no blocks cannot be encoded'],
    [
      'unknown option posing as NOP',
      [{ kind: 'unknown', type: 1, data: new Uint8Array(0) }],
      'unknown option type 1 is NOP, which has no length byte',
    ],
    [
      'unknown option longer than its length byte',
      [{ kind: 'unknown', type: 99, data: new Uint8Array(254) }],
      'option kind 99 with 254 data bytes exceeds the length byte (255)',
    ],
  ] as Array<[string, TcpSegment['options'], string]>)('bad-option: %s', (_name, options, message) => {
    expect(encodeError((p) => void (p.tcp.options = options))).toStrictEqual({ kind: 'bad-option', message });
  });

  test('bad-total-length: more than 65535 bytes', () => {
    const e = encodeError((p) => void (p.tcp.payload = new Uint8Array(65_535 - 60 + 1)));
    expect(e).toStrictEqual({
      kind: 'bad-total-length',
      message: 'IP total length 65536 exceeds the maximum 65535',
    });
    // One byte less fits.
    const p = structuredClone(LINUX_SYN_VALUE);
    p.tcp.payload = new Uint8Array(65_535 - 60);
    expect(encodePacket(p).length).toBe(65_535);
  });

  test('odd but encodable values are encoded as given', () => {
    const p = structuredClone(LINUX_SYN_VALUE);
    p.tcp.reserved = 0xf;
    p.tcp.flags = 0xff;
    p.tcp.options = [
      { kind: 'wscale', shift: 200 },
      { kind: 'unknown', type: 2, data: bytes('05') },
      { kind: 'eol' },
    ];
    const wire = encodePacket(p);
    expect(toHex(wire.subarray(32, 34))).toBe('7f ff'); // data offset 7, reserved 0xf | all eight flags;
    expect(toHex(wire.subarray(40, 48))).toBe('03 03 c8 02 03 05 00 00');
    // …and the decoder then names the problem the test built in.
    expect(decodeErr(wire).message).toBe('option MSS at byte 43 has length 3, expected 4');
  });
});

describe('describeSegment', () => {
  test('Linux SYN-ACK', () => {
    expect(describeSegment(decodeOk(LINUX_SYN_ACK).tcp)).toBe(
      '[SYN, ACK] seq=10000 ack=4294966297 win=65160 len=0 <mss 1460,sackOK,TS val 3055122455 ecr 2216971053,nop,wscale 7>',
    );
  });

  test('data, SACK, and the packet form with endpoints', () => {
    expect(describePacket(decodeOk(HTTP_GET))).toBe(
      '192.0.2.1:41234 > 198.51.100.7:80 [PSH, ACK] seq=4294966297 ack=10001 win=502 len=27 <nop,nop,TS val 2216971070 ecr 3055122455>',
    );
    expect(describeSegment(decodeOk(SACK_ACK).tcp)).toMatch(
      /<nop,nop,TS val 100 ecr 200,nop,nop,sack 1 \{4294967280:16\}>$/,
    );
  });

  test('no flags, ack without ACK, urgent, reserved bits, unknown option, EOL', () => {
    const seg: TcpSegment = {
      ...LINUX_SYN_VALUE.tcp,
      seq: 1,
      ack: 0,
      flags: 0,
      options: [],
    };
    expect(describeSegment(seg)).toBe('[<None>] seq=1 win=64240 len=0');
    expect(describeSegment({ ...seg, ack: 7 })).toBe('[<None>] seq=1 ack=7 win=64240 len=0');
    expect(
      describeSegment({
        ...seg,
        flags: FIN | RST | URG | ACK,
        urgent: 3,
        reserved: 2,
        payload: new Uint8Array(5),
        options: [{ kind: 'unknown', type: 254, data: bytes('de ad') }, { kind: 'eol' }],
      }),
    ).toBe('[FIN, RST, ACK, URG] seq=1 ack=0 win=64240 len=5 urg=3 res=0x2 <opt-254 0xdead,eol>');
  });
});
