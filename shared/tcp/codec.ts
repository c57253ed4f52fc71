/**
 * Wire codec: IPv4 + TCP packets to bytes and back (RFC 791 §3.1, RFC 9293 §3.1, RFC 7323,
 * RFC 2018).
 *
 * Two layers, as in smoltcp's `wire/tcp.rs`: the byte offsets below are the *view* (one table
 * of where each field lives), and `Packet` / `TcpSegment` from `packet.ts` are the *values*.
 * The engine only ever sees values: decoding validates everything first and returns
 * `{ ok: false, error }` for a malformed packet.
 *
 * Contracts:
 * - `decodePacket` / `decodeSegment` never throw, whatever the input. Every problem is a
 *   returned `CodecError` whose message names the field, the offending value and the limit.
 * - `encodePacket` / `encodeSegment` throw a `CodecException` (which carries a `CodecError`)
 *   only for values that no packet can carry: a field out of its range (a port above 65535, a
 *   sequence number that is not a u32, …), options longer than 40 bytes, a datagram longer
 *   than 65535 bytes. Anything that *can* be put on a wire is encoded as given, including odd
 *   but legal values (reserved bits, a window scale above 14, an `unknown` option reusing a
 *   known kind), so tests can build malformed-but-encodable packets.
 *
 * Decisions where the RFCs leave a choice:
 * - IP options (IHL > 5) are accepted and skipped, as Linux does; they are covered by the
 *   header checksum but not kept in the `Packet` value, so such a packet does not re-encode
 *   to the same bytes. Fragments (MF set or a non-zero fragment offset) are rejected as
 *   'fragmented': the lab does not reassemble.
 * - Checks run in the order Linux runs them (`ip_rcv_core`, then `tcp_v4_rcv`): IP version
 *   and IHL, IP header checksum, total length, fragmentation, protocol; then the TCP data
 *   offset, the TCP checksum, and only then the options. A corrupted option byte therefore
 *   reports 'bad-checksum'; 'bad-option' means a sender really built a bad option.
 * - Bytes after the IP total length (Ethernet padding) are ignored.
 * - Options: after EOL parsing stops and the rest of the option space is padding. When the
 *   given options do not end on a 4-byte boundary the encoder pads with zero bytes, which a
 *   decoder reads as EOL, so `decode(encode(p))` then ends with `{ kind: 'eol' }`.
 * - SACK must carry at least one block (Linux ignores a bare length-2 SACK; we reject it).
 * - Decoded `payload` and `unknown` option `data` are `subarray` views into the input bytes:
 *   no copy, so they change if the caller reuses the buffer.
 */
import { IPPROTO_TCP, internetChecksum, onesSum, pseudoHeaderSum, tcpChecksum } from './checksum.ts';
import {
  ACK,
  FLAG_NAMES,
  ipToString,
  OPT_EOL,
  OPT_MSS,
  OPT_NOP,
  OPT_SACK,
  OPT_SACK_PERMITTED,
  OPT_TIMESTAMPS,
  OPT_WSCALE,
  type Packet,
  type TcpOption,
  type TcpSegment,
  URG,
} from './packet.ts';

// ---------------------------------------------------------------------------------------------
// Errors

export type CodecErrorKind =
  /** Fewer bytes than a header (or the IP total length) needs. */
  | 'truncated'
  /** IP version is not 4. */
  | 'bad-version'
  /** IP header length below 5 words. */
  | 'bad-ihl'
  /** IP total length shorter than the IP header, or a datagram/segment longer than 65535 bytes. */
  | 'bad-total-length'
  /** MF flag or fragment offset set: the lab does not reassemble. */
  | 'fragmented'
  /** IP protocol is not 6. */
  | 'not-tcp'
  | 'bad-ip-checksum'
  /** TCP data offset below 5 words or past the end of the segment. */
  | 'bad-data-offset'
  /** A TCP option is truncated, has an impossible length, or (encoding) does not fit. */
  | 'bad-option'
  /** TCP checksum (with the pseudo-header) does not verify. */
  | 'bad-checksum'
  /** Encoding only: a header field value outside the range its bits can hold. */
  | 'bad-field';

export interface CodecError {
  kind: CodecErrorKind;
  /** What is wrong, with the numbers: "data offset 4 words is below the minimum 5". */
  message: string;
  /** Byte offset of the offending field in the decoded input, when there is one. */
  offset?: number;
}

export type DecodeResult = { ok: true; packet: Packet } | { ok: false; error: CodecError };
export type DecodeSegmentResult = { ok: true; segment: TcpSegment } | { ok: false; error: CodecError };

/** Thrown by the encoders, and only for values that cannot be encoded at all. */
export class CodecException extends Error {
  readonly error: CodecError;
  constructor(error: CodecError) {
    super(error.message);
    this.name = 'CodecException';
    this.error = error;
  }
}

// ---------------------------------------------------------------------------------------------
// The view: field offsets (bytes from the start of each header)

export const IPV4_HEADER_LEN = 20;
export const TCP_HEADER_LEN = 20;
/** Data offset is 4 bits of 32-bit words: at most 60 bytes of header, 40 of them options. */
export const TCP_MAX_OPTIONS_LEN = 40;
export const IPV4_MAX_TOTAL_LEN = 0xffff;

const IP_VER_IHL = 0;
const IP_TOS = 1;
const IP_TOTAL_LEN = 2;
const IP_ID = 4;
const IP_FLAGS_FRAG = 6;
const IP_TTL = 8;
const IP_PROTOCOL = 9;
const IP_CHECKSUM = 10;
const IP_SRC = 12;
const IP_DST = 16;

const IP_FLAG_DF = 0x4000;
const IP_FLAG_MF = 0x2000;
const IP_FRAG_OFFSET_MASK = 0x1fff;

const TCP_SRC_PORT = 0;
const TCP_DST_PORT = 2;
const TCP_SEQ = 4;
const TCP_ACK = 8;
/** Data offset (high nibble) and the 4 reserved bits (low nibble). */
const TCP_OFF_RES = 12;
const TCP_FLAGS = 13;
const TCP_WINDOW = 14;
const TCP_CHECKSUM = 16;
const TCP_URGENT = 18;

/** Fixed lengths (kind and length bytes included) of the options that have one. */
const OPT_LEN_MSS = 4;
const OPT_LEN_WSCALE = 3;
const OPT_LEN_SACK_PERMITTED = 2;
const OPT_LEN_TIMESTAMPS = 10;
const OPT_SACK_BLOCK_LEN = 8;

/** Names used in error messages and `describeSegment`. */
const OPTION_NAMES: Record<number, string> = {
  [OPT_EOL]: 'EOL',
  [OPT_NOP]: 'NOP',
  [OPT_MSS]: 'MSS',
  [OPT_WSCALE]: 'window scale',
  [OPT_SACK_PERMITTED]: 'SACK-permitted',
  [OPT_SACK]: 'SACK',
  [OPT_TIMESTAMPS]: 'timestamps',
};

function optionName(kind: number): string {
  return OPTION_NAMES[kind] ?? `kind ${kind}`;
}

// ---------------------------------------------------------------------------------------------
// Byte helpers (big-endian)

function get16(b: Uint8Array, i: number): number {
  return (b[i]! << 8) | b[i + 1]!;
}

function get32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

export function put16(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 8;
  b[i + 1] = v;
}

export function put32(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 24;
  b[i + 1] = v >>> 16;
  b[i + 2] = v >>> 8;
  b[i + 3] = v;
}

function fail(kind: CodecErrorKind, message: string, offset?: number): { ok: false; error: CodecError } {
  return { ok: false, error: offset === undefined ? { kind, message } : { kind, message, offset } };
}

// ---------------------------------------------------------------------------------------------
// Encoding

function checkField(value: number, max: number, name: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new CodecException({
      kind: 'bad-field',
      message: `${name} ${value} is not an integer in 0..${max}`,
    });
  }
}

function badOption(message: string): never {
  throw new CodecException({ kind: 'bad-option', message });
}

/** Bytes the options take on the wire before padding. Throws for an unencodable option. */
function optionsRawLength(options: readonly TcpOption[]): number {
  let len = 0;
  for (const opt of options) {
    switch (opt.kind) {
      case 'eol':
      case 'nop':
        len += 1;
        break;
      case 'mss':
        len += OPT_LEN_MSS;
        break;
      case 'wscale':
        len += OPT_LEN_WSCALE;
        break;
      case 'sack-permitted':
        len += OPT_LEN_SACK_PERMITTED;
        break;
      case 'timestamps':
        len += OPT_LEN_TIMESTAMPS;
        break;
      case 'sack':
        if (opt.blocks.length === 0) badOption('SACK option with no blocks cannot be encoded');
        len += 2 + OPT_SACK_BLOCK_LEN * opt.blocks.length;
        break;
      case 'unknown':
        if (opt.type === OPT_EOL || opt.type === OPT_NOP) {
          badOption(`unknown option type ${opt.type} is ${optionName(opt.type)}, which has no length byte`);
        }
        if (opt.data.length + 2 > 0xff) {
          badOption(
            `option kind ${opt.type} with ${opt.data.length} data bytes exceeds the length byte (255)`,
          );
        }
        len += 2 + opt.data.length;
        break;
      default:
        badOption(`unknown option value ${JSON.stringify((opt as { kind: unknown }).kind)}`);
    }
    if (len > TCP_MAX_OPTIONS_LEN) {
      badOption(`options need more than ${TCP_MAX_OPTIONS_LEN} bytes (data offset is at most 15 words)`);
    }
  }
  return len;
}

/**
 * Header length in bytes (20 + options, padded to 4) that `seg` encodes to. Throws a
 * `CodecException` when the options cannot be encoded.
 */
export function tcpHeaderLength(seg: TcpSegment): number {
  return TCP_HEADER_LEN + ((optionsRawLength(seg.options) + 3) & ~3);
}

function checkSegmentFields(seg: TcpSegment): void {
  checkField(seg.srcPort, 0xffff, 'source port');
  checkField(seg.dstPort, 0xffff, 'destination port');
  checkField(seg.seq, 0xffffffff, 'sequence number');
  checkField(seg.ack, 0xffffffff, 'acknowledgment number');
  checkField(seg.reserved, 0xf, 'reserved bits');
  checkField(seg.flags, 0xff, 'flags');
  checkField(seg.window, 0xffff, 'window');
  checkField(seg.urgent, 0xffff, 'urgent pointer');
}

function checkOptionFields(options: readonly TcpOption[]): void {
  for (const opt of options) {
    switch (opt.kind) {
      case 'mss':
        checkField(opt.value, 0xffff, 'MSS');
        break;
      case 'wscale':
        checkField(opt.shift, 0xff, 'window scale shift');
        break;
      case 'timestamps':
        checkField(opt.tsval, 0xffffffff, 'TSval');
        checkField(opt.tsecr, 0xffffffff, 'TSecr');
        break;
      case 'sack':
        for (const block of opt.blocks) {
          checkField(block.left, 0xffffffff, 'SACK left edge');
          checkField(block.right, 0xffffffff, 'SACK right edge');
        }
        break;
      case 'unknown':
        checkField(opt.type, 0xff, 'option kind');
        break;
      default:
        break;
    }
  }
}

/** Writes the options from `at`, then zero padding up to `end`. */
function writeOptions(b: Uint8Array, at: number, end: number, options: readonly TcpOption[]): void {
  for (const opt of options) {
    switch (opt.kind) {
      case 'eol':
        b[at++] = OPT_EOL;
        break;
      case 'nop':
        b[at++] = OPT_NOP;
        break;
      case 'mss':
        b[at] = OPT_MSS;
        b[at + 1] = OPT_LEN_MSS;
        put16(b, at + 2, opt.value);
        at += OPT_LEN_MSS;
        break;
      case 'wscale':
        b[at] = OPT_WSCALE;
        b[at + 1] = OPT_LEN_WSCALE;
        b[at + 2] = opt.shift;
        at += OPT_LEN_WSCALE;
        break;
      case 'sack-permitted':
        b[at] = OPT_SACK_PERMITTED;
        b[at + 1] = OPT_LEN_SACK_PERMITTED;
        at += OPT_LEN_SACK_PERMITTED;
        break;
      case 'sack':
        b[at] = OPT_SACK;
        b[at + 1] = 2 + OPT_SACK_BLOCK_LEN * opt.blocks.length;
        at += 2;
        for (const block of opt.blocks) {
          put32(b, at, block.left);
          put32(b, at + 4, block.right);
          at += OPT_SACK_BLOCK_LEN;
        }
        break;
      case 'timestamps':
        b[at] = OPT_TIMESTAMPS;
        b[at + 1] = OPT_LEN_TIMESTAMPS;
        put32(b, at + 2, opt.tsval);
        put32(b, at + 6, opt.tsecr);
        at += OPT_LEN_TIMESTAMPS;
        break;
      case 'unknown':
        b[at] = opt.type;
        b[at + 1] = 2 + opt.data.length;
        b.set(opt.data, at + 2);
        at += 2 + opt.data.length;
        break;
    }
  }
  b.fill(0, at, end);
}

/**
 * Writes the TCP header and payload of `seg` at `b[start, start + hlen + payload)` with the
 * checksum for `src`→`dst`. Fields must already be checked.
 */
function writeSegment(
  b: Uint8Array,
  start: number,
  hlen: number,
  seg: TcpSegment,
  src: number,
  dst: number,
): void {
  put16(b, start + TCP_SRC_PORT, seg.srcPort);
  put16(b, start + TCP_DST_PORT, seg.dstPort);
  put32(b, start + TCP_SEQ, seg.seq);
  put32(b, start + TCP_ACK, seg.ack);
  b[start + TCP_OFF_RES] = ((hlen >>> 2) << 4) | seg.reserved;
  b[start + TCP_FLAGS] = seg.flags;
  put16(b, start + TCP_WINDOW, seg.window);
  put16(b, start + TCP_CHECKSUM, 0);
  put16(b, start + TCP_URGENT, seg.urgent);
  writeOptions(b, start + TCP_HEADER_LEN, start + hlen, seg.options);
  b.set(seg.payload, start + hlen);
  const end = start + hlen + seg.payload.length;
  put16(b, start + TCP_CHECKSUM, tcpChecksum(b, start, end, src, dst));
}

/**
 * Encodes an IPv4 + TCP packet: IHL 5 (no IP options), protocol 6, total length and header
 * checksum computed, DF as given; TCP data offset computed from the options, options in the
 * given order padded with zeros to a 4-byte boundary, checksum computed with the pseudo-header
 * (`p.tcp.checksum` is ignored).
 *
 * Throws a `CodecException` only for values that cannot be encoded (see the module comment).
 */
export function encodePacket(p: Packet): Uint8Array {
  const { ip, tcp } = p;
  checkField(ip.tos, 0xff, 'IP TOS');
  checkField(ip.id, 0xffff, 'IP identification');
  checkField(ip.ttl, 0xff, 'IP TTL');
  checkField(ip.src, 0xffffffff, 'IP source address');
  checkField(ip.dst, 0xffffffff, 'IP destination address');
  checkSegmentFields(tcp);
  checkOptionFields(tcp.options);
  const hlen = tcpHeaderLength(tcp);
  const total = IPV4_HEADER_LEN + hlen + tcp.payload.length;
  if (total > IPV4_MAX_TOTAL_LEN) {
    throw new CodecException({
      kind: 'bad-total-length',
      message: `IP total length ${total} exceeds the maximum ${IPV4_MAX_TOTAL_LEN}`,
    });
  }
  const b = new Uint8Array(total);
  b[IP_VER_IHL] = 0x45;
  b[IP_TOS] = ip.tos;
  put16(b, IP_TOTAL_LEN, total);
  put16(b, IP_ID, ip.id);
  put16(b, IP_FLAGS_FRAG, ip.df ? IP_FLAG_DF : 0);
  b[IP_TTL] = ip.ttl;
  b[IP_PROTOCOL] = IPPROTO_TCP;
  put32(b, IP_SRC, ip.src);
  put32(b, IP_DST, ip.dst);
  put16(b, IP_CHECKSUM, internetChecksum(b, 0, IPV4_HEADER_LEN));
  writeSegment(b, IPV4_HEADER_LEN, hlen, tcp, ip.src, ip.dst);
  return b;
}

/**
 * Encodes a TCP segment alone (header, options, payload), with its checksum computed over the
 * pseudo-header for `src`→`dst` (u32 addresses). Throws like `encodePacket`.
 */
export function encodeSegment(seg: TcpSegment, src: number, dst: number): Uint8Array {
  checkField(src, 0xffffffff, 'IP source address');
  checkField(dst, 0xffffffff, 'IP destination address');
  checkSegmentFields(seg);
  checkOptionFields(seg.options);
  const hlen = tcpHeaderLength(seg);
  const total = hlen + seg.payload.length;
  if (total > 0xffff) {
    throw new CodecException({
      kind: 'bad-total-length',
      message: `TCP length ${total} exceeds the pseudo-header's maximum 65535`,
    });
  }
  const b = new Uint8Array(total);
  writeSegment(b, 0, hlen, seg, src, dst);
  return b;
}

// ---------------------------------------------------------------------------------------------
// Decoding

type OptionsResult = { ok: true; options: TcpOption[] } | { ok: false; error: CodecError };

/** Parses the options in `b[start, end)`. Offsets in errors are indices into `b`. */
function parseOptions(b: Uint8Array, start: number, end: number): OptionsResult {
  const options: TcpOption[] = [];
  let i = start;
  while (i < end) {
    const kind = b[i]!;
    if (kind === OPT_EOL) {
      options.push({ kind: 'eol' });
      break;
    }
    if (kind === OPT_NOP) {
      options.push({ kind: 'nop' });
      i += 1;
      continue;
    }
    const name = optionName(kind);
    if (i + 1 >= end) {
      return fail('bad-option', `option ${name} at byte ${i} is truncated: no room for its length byte`, i);
    }
    const len = b[i + 1]!;
    if (len < 2) {
      return fail('bad-option', `option ${name} at byte ${i} has length ${len}, below the minimum 2`, i);
    }
    if (i + len > end) {
      return fail(
        'bad-option',
        `option ${name} at byte ${i} has length ${len}, running ${plural(i + len - end, 'byte')} past the end of the TCP header at byte ${end}`,
        i,
      );
    }
    const fixed =
      kind === OPT_MSS
        ? OPT_LEN_MSS
        : kind === OPT_WSCALE
          ? OPT_LEN_WSCALE
          : kind === OPT_SACK_PERMITTED
            ? OPT_LEN_SACK_PERMITTED
            : kind === OPT_TIMESTAMPS
              ? OPT_LEN_TIMESTAMPS
              : 0;
    if (fixed !== 0 && len !== fixed) {
      return fail('bad-option', `option ${name} at byte ${i} has length ${len}, expected ${fixed}`, i);
    }
    switch (kind) {
      case OPT_MSS:
        options.push({ kind: 'mss', value: get16(b, i + 2) });
        break;
      case OPT_WSCALE:
        options.push({ kind: 'wscale', shift: b[i + 2]! });
        break;
      case OPT_SACK_PERMITTED:
        options.push({ kind: 'sack-permitted' });
        break;
      case OPT_TIMESTAMPS:
        options.push({ kind: 'timestamps', tsval: get32(b, i + 2), tsecr: get32(b, i + 6) });
        break;
      case OPT_SACK: {
        if (len < 2 + OPT_SACK_BLOCK_LEN || (len - 2) % OPT_SACK_BLOCK_LEN !== 0) {
          return fail(
            'bad-option',
            `option SACK at byte ${i} has length ${len}, expected 2 + 8n with n >= 1 blocks (10, 18, 26 or 34)`,
            i,
          );
        }
        const blocks: Array<{ left: number; right: number }> = [];
        for (let j = i + 2; j < i + len; j += OPT_SACK_BLOCK_LEN) {
          blocks.push({ left: get32(b, j), right: get32(b, j + 4) });
        }
        options.push({ kind: 'sack', blocks });
        break;
      }
      default:
        options.push({ kind: 'unknown', type: kind, data: b.subarray(i + 2, i + len) });
        break;
    }
    i += len;
  }
  return { ok: true, options };
}

/**
 * Decodes the TCP segment in `b[start, end)` (the caller has checked `start <= end <=
 * b.length`). Offsets in errors are indices into `b`.
 */
function parseSegment(
  b: Uint8Array,
  start: number,
  end: number,
  src: number,
  dst: number,
): DecodeSegmentResult {
  const len = end - start;
  if (len > 0xffff) {
    return fail('bad-total-length', `TCP length ${len} exceeds the pseudo-header's maximum 65535`, start);
  }
  if (len < TCP_HEADER_LEN) {
    return fail(
      'truncated',
      `TCP segment of ${len} bytes is shorter than the ${TCP_HEADER_LEN}-byte header`,
      start,
    );
  }
  const offRes = b[start + TCP_OFF_RES]!;
  const doff = offRes >>> 4;
  if (doff < 5) {
    return fail('bad-data-offset', `data offset ${doff} words is below the minimum 5`, start + TCP_OFF_RES);
  }
  const hlen = doff * 4;
  if (hlen > len) {
    return fail(
      'bad-data-offset',
      `data offset ${doff} words (${hlen} bytes) runs past the end of the ${len}-byte segment`,
      start + TCP_OFF_RES,
    );
  }
  const checksum = get16(b, start + TCP_CHECKSUM);
  const residue = tcpChecksum(b, start, end, src, dst);
  if (residue !== 0) {
    // Recompute what the sender should have written, for the message.
    const expected = ~onesSum(
      b,
      start,
      end,
      pseudoHeaderSum(src, dst, IPPROTO_TCP, len) + (~checksum & 0xffff),
    );
    return fail(
      'bad-checksum',
      `TCP checksum 0x${hex16(checksum)} does not verify for ${ipToString(src)} > ${ipToString(dst)}, ` +
        `length ${len} (expected 0x${hex16(expected & 0xffff)})`,
      start + TCP_CHECKSUM,
    );
  }
  const opts = parseOptions(b, start + TCP_HEADER_LEN, start + hlen);
  if (!opts.ok) return opts;
  return {
    ok: true,
    segment: {
      srcPort: get16(b, start + TCP_SRC_PORT),
      dstPort: get16(b, start + TCP_DST_PORT),
      seq: get32(b, start + TCP_SEQ),
      ack: get32(b, start + TCP_ACK),
      reserved: offRes & 0x0f,
      flags: b[start + TCP_FLAGS]!,
      window: get16(b, start + TCP_WINDOW),
      checksum,
      urgent: get16(b, start + TCP_URGENT),
      options: opts.options,
      payload: b.subarray(start + hlen, end),
    },
  };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function hex16(v: number): string {
  return v.toString(16).padStart(4, '0');
}

/**
 * Decodes an IPv4 + TCP packet. Never throws: a malformed packet gives `{ ok: false, error }`
 * (see the module comment for the order of checks). IP options are skipped; bytes beyond the
 * IP total length are ignored. The payload is a view into `bytes`.
 */
export function decodePacket(b: Uint8Array): DecodeResult {
  if (b.length < IPV4_HEADER_LEN) {
    return fail(
      'truncated',
      `packet of ${b.length} bytes is shorter than the ${IPV4_HEADER_LEN}-byte IPv4 header`,
      0,
    );
  }
  const version = b[IP_VER_IHL]! >>> 4;
  if (version !== 4) return fail('bad-version', `IP version ${version} is not 4`, IP_VER_IHL);
  const ihl = b[IP_VER_IHL]! & 0x0f;
  if (ihl < 5) return fail('bad-ihl', `IP header length ${ihl} words is below the minimum 5`, IP_VER_IHL);
  const iphlen = ihl * 4;
  if (b.length < iphlen) {
    return fail(
      'truncated',
      `packet of ${b.length} bytes is shorter than its ${iphlen}-byte IPv4 header (IHL ${ihl})`,
      IP_VER_IHL,
    );
  }
  if (internetChecksum(b, 0, iphlen) !== 0) {
    const found = get16(b, IP_CHECKSUM);
    const expected = ~onesSum(b, 0, iphlen, ~found & 0xffff) & 0xffff;
    return fail(
      'bad-ip-checksum',
      `IP header checksum 0x${hex16(found)} does not verify (expected 0x${hex16(expected)})`,
      IP_CHECKSUM,
    );
  }
  const total = get16(b, IP_TOTAL_LEN);
  if (total < iphlen) {
    return fail(
      'bad-total-length',
      `IP total length ${total} is shorter than the ${iphlen}-byte IP header`,
      IP_TOTAL_LEN,
    );
  }
  if (total > b.length) {
    return fail('truncated', `IP total length ${total} but only ${b.length} bytes present`, IP_TOTAL_LEN);
  }
  const flagsFrag = get16(b, IP_FLAGS_FRAG);
  if (flagsFrag & (IP_FLAG_MF | IP_FRAG_OFFSET_MASK)) {
    return fail(
      'fragmented',
      `IP fragment (MF ${flagsFrag & IP_FLAG_MF ? 1 : 0}, fragment offset ${(flagsFrag & IP_FRAG_OFFSET_MASK) * 8} bytes); fragments are not reassembled`,
      IP_FLAGS_FRAG,
    );
  }
  const protocol = b[IP_PROTOCOL]!;
  if (protocol !== IPPROTO_TCP) {
    return fail('not-tcp', `IP protocol ${protocol} is not TCP (6)`, IP_PROTOCOL);
  }
  const src = get32(b, IP_SRC);
  const dst = get32(b, IP_DST);
  const seg = parseSegment(b, iphlen, total, src, dst);
  if (!seg.ok) return seg;
  return {
    ok: true,
    packet: {
      ip: {
        tos: b[IP_TOS]!,
        id: get16(b, IP_ID),
        df: (flagsFrag & IP_FLAG_DF) !== 0,
        ttl: b[IP_TTL]!,
        src,
        dst,
      },
      tcp: seg.segment,
    },
  };
}

/**
 * Decodes a TCP segment alone (all of `bytes`), verifying its checksum against the
 * pseudo-header for `src`→`dst`. Never throws. The payload is a view into `bytes`.
 */
export function decodeSegment(bytes: Uint8Array, src: number, dst: number): DecodeSegmentResult {
  return parseSegment(bytes, 0, bytes.length, src >>> 0, dst >>> 0);
}

// ---------------------------------------------------------------------------------------------
// Human-readable summaries

/** One option as tcpdump prints it: `mss 1460`, `sackOK`, `TS val 1 ecr 0`, `wscale 7`. */
export function describeOption(opt: TcpOption): string {
  switch (opt.kind) {
    case 'eol':
      return 'eol';
    case 'nop':
      return 'nop';
    case 'mss':
      return `mss ${opt.value}`;
    case 'wscale':
      return `wscale ${opt.shift}`;
    case 'sack-permitted':
      return 'sackOK';
    case 'sack':
      return `sack ${opt.blocks.length} ${opt.blocks.map((b) => `{${b.left}:${b.right}}`).join('')}`;
    case 'timestamps':
      return `TS val ${opt.tsval} ecr ${opt.tsecr}`;
    case 'unknown': {
      let hex = '';
      for (const byte of opt.data) hex += byte.toString(16).padStart(2, '0');
      return hex ? `opt-${opt.type} 0x${hex}` : `opt-${opt.type}`;
    }
    default:
      return '?';
  }
}

/** Flag names in Wireshark's Info-column order (FIN first): `SYN, ACK`, `FIN, PSH, ACK`. */
function describeFlags(flags: number): string {
  const names: string[] = [];
  for (let i = FLAG_NAMES.length - 1; i >= 0; i--) {
    const [bit, name] = FLAG_NAMES[i]!;
    if (flags & bit) names.push(name);
  }
  return names.length ? names.join(', ') : '<None>';
}

/**
 * A one-line summary with absolute numbers, for error messages and debugging:
 * `[SYN, ACK] seq=1000 ack=2001 win=65160 len=0 <mss 1460,sackOK,TS val 1 ecr 2,nop,wscale 7>`.
 * `ack` is shown when the ACK flag is set or the field is non-zero, `urg` likewise with URG,
 * `res` when reserved bits are set.
 */
export function describeSegment(seg: TcpSegment): string {
  let s = `[${describeFlags(seg.flags)}] seq=${seg.seq}`;
  if (seg.flags & ACK || seg.ack !== 0) s += ` ack=${seg.ack}`;
  s += ` win=${seg.window} len=${seg.payload.length}`;
  if (seg.flags & URG || seg.urgent !== 0) s += ` urg=${seg.urgent}`;
  if (seg.reserved !== 0) s += ` res=0x${seg.reserved.toString(16)}`;
  if (seg.options.length) s += ` <${seg.options.map(describeOption).join(',')}>`;
  return s;
}

/** `describeSegment` prefixed with the endpoints: `192.0.2.1:40000 > 192.0.2.2:80 [SYN] …`. */
export function describePacket(p: Packet): string {
  return `${ipToString(p.ip.src)}:${p.tcp.srcPort} > ${ipToString(p.ip.dst)}:${p.tcp.dstPort} ${describeSegment(p.tcp)}`;
}
