/**
 * Byte-level tests of the pcap and pcapng writers: magic numbers, versions, block lengths, option
 * padding, timestamps. Checked against the specs through an independent reader (read.ts) and, for
 * the small fixed parts, against literal bytes.
 */
import { describe, expect, test } from 'vitest';
import { fromHex, timestampNs, utf8 } from '../../shared/capture/bytes.ts';
import { LINKTYPE_RAW, splitTimestamp, writePcap } from '../../shared/capture/pcap.ts';
import { writePcapng } from '../../shared/capture/pcapng.ts';
import { optionTexts, readPcap, readPcapng, text } from './read.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const u32 = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset).getUint32(off, true);

/** 2023-11-14T22:13:20.123456789Z */
const T = 1_700_000_000_123_456_789n;
const PKT = Uint8Array.from({ length: 41 }, (_, i) => i + 1);

describe('timestamps', () => {
  test('virtual ms plus a wall-clock start, exact to the nanosecond past 2^53', () => {
    expect(timestampNs(0)).toBe(0n);
    expect(timestampNs(1.5)).toBe(1_500_000n);
    expect(timestampNs(0.000001)).toBe(1n);
    expect(timestampNs(3_600_000)).toBe(3_600_000_000_000n);
    expect(timestampNs(10.25, 1_700_000_000_000)).toBe(1_700_000_000_010_250_000n);
    expect(timestampNs(0.456789, 1_700_000_000_123)).toBe(T);
    // Virtual times from a long run keep their nanoseconds too.
    expect(timestampNs(86_400_000.000001, 1_700_000_000_000)).toBe(1_700_086_400_000_000_001n);
    expect(() => timestampNs(-1)).toThrow(/1970/);
    expect(() => timestampNs(Number.NaN)).toThrow();
  });

  test('split into seconds and the file unit, microseconds rounded', () => {
    expect(splitTimestamp(T, 'ns')).toEqual({ sec: 1_700_000_000, frac: 123_456_789 });
    expect(splitTimestamp(T, 'us')).toEqual({ sec: 1_700_000_000, frac: 123_457 });
    expect(splitTimestamp(999_999_500n, 'us')).toEqual({ sec: 1, frac: 0 });
    expect(() => splitTimestamp(2n ** 32n * 1_000_000_000n, 'ns')).toThrow(/2106/);
  });
});

describe('hex', () => {
  test('decodes both cases and refuses anything that is not hex', () => {
    expect(fromHex('00ffA07f')).toEqual(Uint8Array.of(0, 255, 160, 127));
    expect(fromHex('')).toEqual(new Uint8Array(0));
    expect(() => fromHex('0')).toThrow(/odd/);
    expect(() => fromHex('0g')).toThrow(/bad digit/);
    expect(() => fromHex('0\u0130')).toThrow(/bad digit/);
  });
});

describe('pcap', () => {
  test('global header: magic, version 2.4, UTC, snaplen 65535, LINKTYPE_RAW', () => {
    const ns = writePcap([]);
    expect(hex(ns)).toBe(`4d3cb2a1 0200 0400 00000000 00000000 ffff0000 65000000`.replaceAll(' ', ''));
    const us = writePcap([], { resolution: 'us' });
    expect(hex(us.subarray(0, 4))).toBe('d4c3b2a1');
    expect(hex(us.subarray(4))).toBe(hex(ns.subarray(4)));
    expect(LINKTYPE_RAW).toBe(101);
  });

  test('records: timestamp, lengths and the bytes, back to back', () => {
    const file = writePcap([
      { timestampNs: T, data: PKT },
      { timestampNs: T + 1_000_000_000n, data: PKT.subarray(0, 40) },
    ]);
    expect(file.length).toBe(24 + 16 + 41 + 16 + 40);
    const r = readPcap(file);
    expect(r).toMatchObject({
      magic: 0xa1b23c4d,
      major: 2,
      minor: 4,
      thiszone: 0,
      snaplen: 65535,
      linktype: 101,
    });
    expect(r.records.map(({ sec, frac, incl, orig }) => [sec, frac, incl, orig])).toEqual([
      [1_700_000_000, 123_456_789, 41, 41],
      [1_700_000_001, 123_456_789, 40, 40],
    ]);
    expect(r.records[0]!.data).toEqual(PKT);
    // The first record header, literally.
    expect(hex(file.subarray(24, 40))).toBe('00f1536515cd5b072900000029000000');

    const us = readPcap(writePcap([{ timestampNs: T, data: PKT }], { resolution: 'us' }));
    expect(us.records[0]).toMatchObject({ sec: 1_700_000_000, frac: 123_457 });
  });

  test('snaplen cuts the bytes and keeps the original length', () => {
    const r = readPcap(writePcap([{ timestampNs: 0n, data: PKT }], { snaplen: 20 }));
    expect(r.snaplen).toBe(20);
    expect(r.records[0]).toMatchObject({ incl: 20, orig: 41 });
    expect(r.records[0]!.data).toEqual(PKT.subarray(0, 20));
  });
});

describe('pcapng', () => {
  test('a bare section header block and interface, literally', () => {
    const file = writePcapng({ interfaces: [{}], packets: [] });
    expect(hex(file)).toBe(
      [
        // SHB: type, length 28, byte-order magic, version 1.0, section length -1, length
        '0a0d0d0a 1c000000 4d3c2b1a 0100 0000 ffffffffffffffff 1c000000',
        // IDB: type 1, length 32, LINKTYPE_RAW, reserved, snaplen 0, if_tsresol=9 (+3 pad), endofopt, length
        '01000000 20000000 6500 0000 00000000 0900 0100 09000000 0000 0000 20000000',
      ]
        .join('')
        .replaceAll(' ', ''),
    );
  });

  test('option values are padded with zeros to 32 bits and the list ends with opt_endofopt', () => {
    for (const [comment, padded] of [
      ['', 0],
      ['a', 4],
      ['ab', 4],
      ['abc', 4],
      ['abcd', 4],
      ['abcde', 8],
    ] as const) {
      const file = writePcapng({ comments: [comment], interfaces: [{}], packets: [] });
      const [shb] = readPcapng(file);
      expect(shb!.options).toEqual([{ code: 1, value: utf8(comment) }]);
      expect(shb!.endOfOpt).toBe(true);
      // 28 bytes of SHB + option header + padded value + opt_endofopt
      expect(shb!.totalLength).toBe(28 + 4 + padded + 4);
    }
  });

  test('section comments, application, interface name and description; UTF-8 survives', () => {
    const file = writePcapng({
      comments: ['Room 3 · dropped FIN', 'délai – 3 s ✓'],
      application: 'TCP Lab',
      interfaces: [{ name: 'host A', description: 'at host A (10.0.0.1)', tsresol: 6 }],
      packets: [],
    });
    const [shb, idb] = readPcapng(file);
    expect(shb!.type).toBe(0x0a0d0d0a);
    expect(hex(shb!.body)).toBe('4d3c2b1a01000000ffffffffffffffff');
    expect(optionTexts(shb!, 1)).toEqual(['Room 3 · dropped FIN', 'délai – 3 s ✓']);
    expect(optionTexts(shb!, 4)).toEqual(['TCP Lab']);
    expect(idb!.type).toBe(1);
    expect(hex(idb!.body)).toBe('6500000000000000');
    expect(optionTexts(idb!, 2)).toEqual(['host A']);
    expect(optionTexts(idb!, 3)).toEqual(['at host A (10.0.0.1)']);
    expect(idb!.options.find((o) => o.code === 9)!.value).toEqual(Uint8Array.of(6));
  });

  test('enhanced packet blocks: interface, 64-bit timestamp, lengths, padded data, options', () => {
    const file = writePcapng({
      interfaces: [{ tsresol: 9 }],
      packets: [
        {
          timestampNs: T,
          data: PKT,
          comments: ['dropped by rule: first FIN from A'],
          direction: 'outbound',
          packetId: 6,
        },
        { timestampNs: T + 1n, data: PKT.subarray(0, 40), direction: 'inbound' },
        { timestampNs: 0n, data: PKT.subarray(0, 40) },
      ],
    });
    const blocks = readPcapng(file);
    expect(blocks.map((b) => b.type)).toEqual([0x0a0d0d0a, 1, 6, 6, 6]);
    const [e1, e2, e3] = blocks.slice(2);
    // interface 0, timestamp high and low words, captured and original length
    expect(u32(e1!.body, 0)).toBe(0);
    expect((BigInt(u32(e1!.body, 4)) << 32n) | BigInt(u32(e1!.body, 8))).toBe(T);
    expect([u32(e1!.body, 12), u32(e1!.body, 16)]).toEqual([41, 41]);
    expect(e1!.body.subarray(20, 61)).toEqual(PKT);
    expect(hex(e1!.body.subarray(61))).toBe('000000');
    expect(optionTexts(e1!, 1)).toEqual(['dropped by rule: first FIN from A']);
    expect(e1!.options.find((o) => o.code === 2)!.value).toEqual(Uint8Array.of(2, 0, 0, 0));
    expect(e1!.options.find((o) => o.code === 5)!.value).toEqual(Uint8Array.of(6, 0, 0, 0, 0, 0, 0, 0));
    expect(e2!.options).toEqual([{ code: 2, value: Uint8Array.of(1, 0, 0, 0) }]);
    expect((BigInt(u32(e2!.body, 4)) << 32n) | BigInt(u32(e2!.body, 8))).toBe(T + 1n);
    // No options at all: no opt_endofopt either; 28 bytes of header and trailer + 40 of data.
    expect(e3!.options).toEqual([]);
    expect(e3!.endOfOpt).toBe(false);
    expect(e3!.totalLength).toBe(32 + 40);
    for (const b of blocks) expect(b.totalLength % 4).toBe(0);
  });

  test('microsecond interfaces get microsecond timestamps', () => {
    const file = writePcapng({ interfaces: [{ tsresol: 6 }], packets: [{ timestampNs: T, data: PKT }] });
    const epb = readPcapng(file)[2]!;
    expect((BigInt(u32(epb.body, 4)) << 32n) | BigInt(u32(epb.body, 8))).toBe(1_700_000_000_123_457n);
  });

  test('snaplen cuts packets; bad interface ids and pre-1970 times are refused', () => {
    const file = writePcapng({ interfaces: [{ snaplen: 20 }], packets: [{ timestampNs: 0n, data: PKT }] });
    const epb = readPcapng(file)[2]!;
    expect([u32(epb.body, 12), u32(epb.body, 16)]).toEqual([20, 41]);
    expect(() =>
      writePcapng({ interfaces: [{}], packets: [{ interfaceId: 1, timestampNs: 0n, data: PKT }] }),
    ).toThrow(/interface 1/);
    expect(() => writePcapng({ interfaces: [{}], packets: [{ timestampNs: -1n, data: PKT }] })).toThrow(
      /1970/,
    );
    expect(() => writePcapng({ interfaces: [], packets: [] })).toThrow(/interface/);
  });

  test('the reader used here rejects a block whose trailing length was damaged', () => {
    const file = writePcapng({ interfaces: [{}], packets: [{ timestampNs: 0n, data: PKT }] });
    const bad = file.slice();
    bad[bad.length - 4]! ^= 0x04;
    expect(() => readPcapng(bad)).toThrow(/trailing length/);
    expect(text(utf8('✓'))).toBe('✓');
  });
});
