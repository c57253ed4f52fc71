import { describe, expect, it } from 'vitest';
import {
  base64ToBytes,
  bytesToBase64,
  CAUSES,
  decodeFrame,
  encodeFrame,
  FATES,
  FRAME_HEADER_LEN,
  parseClientMessage,
  SEND_REASONS,
  type SegmentFrame,
  toWireJson,
} from '../../shared/protocol/index.ts';
import { SEND_REASONS as SIM_SEND_REASONS } from '../../shared/sim/faults.ts';

const FRAME: SegmentFrame = {
  room: 0xfffffff0,
  n: 12345,
  segId: 17,
  t: 1500.25,
  fate: 'held',
  dir: 'BA',
  why: 'retransmit-rto',
  cause: 'rule',
  rexmit: 2,
  ref: 9,
  ruleId: 3,
  extraMs: 250,
  packet: Uint8Array.from([0x45, 0, 0, 40, 1, 2, 3]),
};

describe('segment frame', () => {
  it('round-trips every field', () => {
    const bytes = encodeFrame(FRAME);
    expect(bytes.length).toBe(FRAME_HEADER_LEN + 7);
    expect(bytes[0]).toBe(1);
    expect(bytes[1]).toBe(36);
    const r = decodeFrame(bytes);
    expect(r.ok && r.frame).toEqual(FRAME);
  });

  it('lays out the header as documented', () => {
    const v = new DataView(encodeFrame(FRAME).buffer);
    expect(v.getUint8(2)).toBe(FATES.indexOf('held'));
    expect(v.getUint8(3)).toBe(1);
    expect(v.getUint32(4)).toBe(0xfffffff0);
    expect(v.getUint32(8)).toBe(12345);
    expect(v.getUint32(12)).toBe(17);
    expect(v.getFloat64(16)).toBe(1500.25);
    expect(v.getUint8(24)).toBe(11); // retransmit-rto is index 10
    expect(v.getUint8(25)).toBe(CAUSES.indexOf('rule'));
    expect(v.getUint16(26)).toBe(2);
    expect(v.getUint32(28)).toBe(9);
    expect(v.getUint16(32)).toBe(3);
    expect(v.getUint16(34)).toBe(250);
  });

  it('leaves `why` out when not given', () => {
    const { why: _, ...rest } = FRAME;
    const r = decodeFrame(encodeFrame(rest));
    expect(r.ok && 'why' in r.frame).toBe(false);
  });

  it('skips header bytes a later version appends', () => {
    const bytes = encodeFrame(FRAME);
    const longer = new Uint8Array(bytes.length + 4);
    longer.set(bytes.subarray(0, FRAME_HEADER_LEN));
    longer[1] = FRAME_HEADER_LEN + 4;
    longer.set(FRAME.packet, FRAME_HEADER_LEN + 4);
    const r = decodeFrame(longer);
    expect(r.ok && [...r.frame.packet]).toEqual([...FRAME.packet]);
  });

  it.each([
    ['truncated', new Uint8Array(1)],
    ['bad-version', Uint8Array.from([2, 36])],
    ['bad-header-length', Uint8Array.from([1, 20])],
    ['truncated', Uint8Array.from([1, 36, 0])],
  ])('rejects a malformed frame as %s', (kind, bytes) => {
    const r = decodeFrame(bytes);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.kind).toBe(kind);
  });

  it('rejects unknown codes by name', () => {
    const bytes = encodeFrame(FRAME);
    bytes[2] = 99;
    const r = decodeFrame(bytes);
    expect(!r.ok && r.error.message).toMatch(/fate code 99/);
  });

  it('can carry every reason the engine gives for sending (the sim lists them too)', () => {
    expect([...SEND_REASONS].sort()).toEqual([...SIM_SEND_REASONS].sort());
  });

  it('never throws on random bytes', () => {
    let seed = 7;
    for (let i = 0; i < 2000; i++) {
      const len = (seed = (seed * 1103515245 + 12345) >>> 0) % 60;
      const b = new Uint8Array(len);
      for (let j = 0; j < len; j++) b[j] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
      if (len > 1 && i % 2) {
        b[0] = 1;
        b[1] = 36;
      }
      expect(() => decodeFrame(b)).not.toThrow();
    }
  });
});

describe('base64 and wire JSON', () => {
  it('round-trips bytes of every length mod 3', () => {
    for (const len of [0, 1, 2, 3, 4, 5, 255]) {
      const b = Uint8Array.from({ length: len }, (_, i) => (i * 37) & 255);
      const text = bytesToBase64(b);
      expect(text).toBe(Buffer.from(b).toString('base64'));
      expect([...base64ToBytes(text)!]).toEqual([...b]);
    }
  });

  it('rejects malformed base64', () => {
    for (const bad of ['abc', 'ab$=', '=abc', 'a==b']) expect(base64ToBytes(bad)).toBeUndefined();
  });

  it('turns byte arrays into {b64} deep inside values', () => {
    expect(toWireJson({ a: [Uint8Array.from([1, 2])], b: undefined, c: 1 })).toEqual({
      a: [{ b64: 'AQI=' }],
      c: 1,
    });
  });
});

describe('client message validation', () => {
  const parse = (text: string) => parseClientMessage(text, Buffer.byteLength(text), 1000);

  it('accepts a well-formed socket call', () => {
    const r = parse(
      '{"type":"sock.call","id":4,"room":1,"host":"A","call":{"op":"connect","fd":3,"addr":"10.0.0.2","port":80}}',
    );
    expect(r.ok).toBe(true);
  });

  it.each([
    ['{', 'TCPLAB_BAD_JSON', undefined],
    ['[]', 'TCPLAB_BAD_MESSAGE', undefined],
    ['{"type":1}', 'TCPLAB_BAD_MESSAGE', '/type'],
    ['{"type":"nope","id":3}', 'TCPLAB_UNKNOWN_TYPE', '/type'],
    ['{"type":"ping","id":-1}', 'TCPLAB_INVALID', '/id'],
    ['{"type":"seat.take","room":1,"seat":"C"}', 'TCPLAB_INVALID', '/seat'],
    [
      '{"type":"sock.call","room":1,"host":"A","call":{"op":"bind","fd":"3","port":80}}',
      'TCPLAB_INVALID',
      '/call/fd',
    ],
    ['{"type":"sock.call","room":1,"host":"A","call":{"op":"explode"}}', 'TCPLAB_INVALID', '/call/op'],
    // A valid call in an invalid envelope.
    ['{"type":"sock.call","room":1,"host":"C","call":{"op":"socket"}}', 'TCPLAB_INVALID', '/host'],
    ['{"type":"sock.call","room":"1","host":"A","call":{"op":"socket"}}', 'TCPLAB_INVALID', '/room'],
    ['{"type":"sock.call","room":1,"host":"A","call":{"op":"socket"},"x":0}', 'TCPLAB_INVALID', '/x'],
    ['{"type":"sock.call","room":1,"call":{"op":"socket"}}', 'TCPLAB_INVALID', '/host'],
    ['{"type":"sock.call","room":1,"host":"A"}', 'TCPLAB_INVALID', '/call'],
    ['{"type":"class.join","code":"ABCD","name":"x","extra":1}', 'TCPLAB_INVALID', '/extra'],
  ])('%s → %s at %s', (text, code, path) => {
    const r = parse(text);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe(code);
    expect(r.error.path).toBe(path);
    expect(r.error.message.length).toBeGreaterThan(10);
  });

  it('names the field and the value in the message', () => {
    const r = parse('{"type":"sock.call","room":1,"host":"A","call":{"op":"bind","fd":"3","port":80}}');
    expect(!r.ok && r.error.message).toBe(
      'sock.call bind: field /call/fd expected integer, got the string "3"',
    );
  });

  it('keeps the request id of an invalid message', () => {
    const r = parse('{"type":"seat.take","id":9,"room":1}');
    expect(!r.ok && r.error.re).toBe(9);
  });

  it('refuses a message over the size limit before parsing it', () => {
    const r = parseClientMessage('{}', 5000, 1000);
    expect(!r.ok && r.error.code).toBe('TCPLAB_TOO_BIG');
  });
});
