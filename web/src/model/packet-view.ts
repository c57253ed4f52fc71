/**
 * The inspector's view of a packet: every IPv4 and TCP header field with its byte range, value and
 * meaning, read straight from the bytes so that even a corrupted packet (which `decodePacket`
 * refuses) can be shown, plus checksum verification. This is the "view" layer of the wire code
 * (offsets), used only for display; the engine's values come from `shared/tcp/codec.ts`.
 */
import { internetChecksum, tcpChecksum } from '../../../shared/tcp/checksum.ts';
import { FLAG_NAMES, ipToString } from '../../../shared/tcp/packet.ts';

export type FieldKey =
  | 'ip.version'
  | 'ip.ihl'
  | 'ip.tos'
  | 'ip.totalLength'
  | 'ip.id'
  | 'ip.flags'
  | 'ip.ttl'
  | 'ip.protocol'
  | 'ip.checksum'
  | 'ip.src'
  | 'ip.dst'
  | 'tcp.srcPort'
  | 'tcp.dstPort'
  | 'tcp.seq'
  | 'tcp.ack'
  | 'tcp.dataOffset'
  | 'tcp.reserved'
  | 'tcp.flags'
  | 'tcp.window'
  | 'tcp.checksum'
  | 'tcp.urgent'
  | 'tcp.options'
  | 'tcp.data';

export interface HeaderField {
  key: FieldKey;
  layer: 'ip' | 'tcp';
  /** Byte range in the packet, [start, end). Bit fields share their byte with a neighbour. */
  start: number;
  end: number;
  /** Width in bits as the header diagrams give it. */
  bits: number;
  /** The value as Wireshark would print it. */
  value: string;
  /** For checksums: does it verify? */
  ok?: boolean;
  /** The correct checksum when this one does not verify. */
  expected?: string;
}

export interface OptionView {
  start: number;
  end: number;
  kind: number;
  text: string;
}

export interface PacketView {
  fields: HeaderField[];
  options: OptionView[];
  /** Byte offsets of the TCP header and payload. */
  tcpStart: number;
  payloadStart: number;
  payloadEnd: number;
  ipChecksumOk: boolean;
  tcpChecksumOk: boolean;
  /** Set when the bytes are too short to hold the headers they claim. */
  problem?: string;
}

function u16(b: Uint8Array, i: number): number {
  return ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
}

function u32(b: Uint8Array, i: number): number {
  return (((b[i] ?? 0) << 24) | ((b[i + 1] ?? 0) << 16) | ((b[i + 2] ?? 0) << 8) | (b[i + 3] ?? 0)) >>> 0;
}

export function hex(v: number, digits: number): string {
  return `0x${v.toString(16).padStart(digits, '0')}`;
}

/** Flag names in Wireshark's Info order (FIN first): `SYN, ACK`, `FIN, PSH, ACK`. */
export function flagList(flags: number): string[] {
  const out: string[] = [];
  for (let i = FLAG_NAMES.length - 1; i >= 0; i--) {
    const [bit, name] = FLAG_NAMES[i]!;
    if (flags & bit) out.push(name);
  }
  return out;
}

/** Lenient header read: the numbers a label needs, from any bytes long enough to hold them. */
export interface RawHeader {
  src: number;
  dst: number;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  payloadLen: number;
  /** MSS and window-scale options, when present. */
  mss?: number;
  wscale?: number;
  sackPerm?: boolean;
  tsval?: number;
  tsecr?: number;
}

/**
 * `cut`: the bytes end with the TCP header (the headers-first replay sends the payload later), so
 * the payload length comes from the IPv4 total length alone.
 */
export function readHeader(b: Uint8Array, cut = false): RawHeader | undefined {
  if (b.length < 40) return undefined;
  const ihl = (b[0]! & 0x0f) * 4;
  const total = cut ? u16(b, 2) : Math.min(u16(b, 2) || b.length, b.length);
  const t = ihl;
  if (b.length < t + 20) return undefined;
  const off = (b[t + 12]! >>> 4) * 4;
  const h: RawHeader = {
    src: u32(b, 12),
    dst: u32(b, 16),
    srcPort: u16(b, t),
    dstPort: u16(b, t + 2),
    seq: u32(b, t + 4),
    ack: u32(b, t + 8),
    flags: b[t + 13]!,
    window: u16(b, t + 14),
    payloadLen: Math.max(0, total - t - off),
  };
  for (const o of readOptions(b, t + 20, Math.min(t + off, b.length))) {
    if (o.kind === 2 && o.end - o.start === 4) h.mss = u16(b, o.start + 2);
    else if (o.kind === 3 && o.end - o.start === 3) h.wscale = b[o.start + 2]!;
    else if (o.kind === 4) h.sackPerm = true;
    else if (o.kind === 8 && o.end - o.start === 10) {
      h.tsval = u32(b, o.start + 2);
      h.tsecr = u32(b, o.start + 6);
    }
  }
  return h;
}

function readOptions(b: Uint8Array, start: number, end: number): OptionView[] {
  const out: OptionView[] = [];
  let i = start;
  while (i < end) {
    const kind = b[i]!;
    if (kind === 0) {
      out.push({ start: i, end, kind, text: end - i > 1 ? `EOL (+${end - i - 1} padding)` : 'EOL' });
      break;
    }
    if (kind === 1) {
      out.push({ start: i, end: i + 1, kind, text: 'NOP' });
      i++;
      continue;
    }
    const len = b[i + 1] ?? 0;
    if (len < 2 || i + len > end) {
      out.push({ start: i, end, kind, text: `kind ${kind}: bad length ${len}` });
      break;
    }
    out.push({ start: i, end: i + len, kind, text: optionText(b, i, kind, len) });
    i += len;
  }
  return out;
}

function optionText(b: Uint8Array, i: number, kind: number, len: number): string {
  switch (kind) {
    case 2:
      return `MSS: ${u16(b, i + 2)}`;
    case 3:
      return `Window scale: ${b[i + 2]} (multiply by ${2 ** (b[i + 2] ?? 0)})`;
    case 4:
      return 'SACK permitted';
    case 5: {
      const blocks: string[] = [];
      for (let j = i + 2; j + 8 <= i + len; j += 8) blocks.push(`${u32(b, j)}-${u32(b, j + 4)}`);
      return `SACK: ${blocks.join(' ')}`;
    }
    case 8:
      return `Timestamps: TSval ${u32(b, i + 2)}, TSecr ${u32(b, i + 6)}`;
    default:
      return `kind ${kind}, length ${len}`;
  }
}

/** The full field table of an IPv4+TCP packet. */
export function viewPacket(b: Uint8Array): PacketView {
  const fields: HeaderField[] = [];
  if (b.length < 20) {
    return {
      fields,
      options: [],
      tcpStart: 0,
      payloadStart: 0,
      payloadEnd: b.length,
      ipChecksumOk: false,
      tcpChecksumOk: false,
      problem: `only ${b.length} bytes: too short for an IPv4 header`,
    };
  }
  const ihl = b[0]! & 0x0f;
  const ipLen = ihl * 4;
  const total = u16(b, 2);
  const end = Math.min(total || b.length, b.length);
  const ipOk = ipLen >= 20 && ipLen <= b.length && internetChecksum(b, 0, ipLen) === 0;
  const flagsFrag = u16(b, 6);
  const ipFlags: string[] = [];
  if (flagsFrag & 0x4000) ipFlags.push('DF');
  if (flagsFrag & 0x2000) ipFlags.push('MF');
  const storedIpSum = u16(b, 10);
  const ipField = (
    key: FieldKey,
    start: number,
    len: number,
    bits: number,
    value: string,
    extra: Partial<HeaderField> = {},
  ) => fields.push({ key, layer: 'ip', start, end: start + len, bits, value, ...extra });
  ipField('ip.version', 0, 1, 4, String(b[0]! >>> 4));
  ipField('ip.ihl', 0, 1, 4, `${ihl} (${ipLen} bytes)`);
  ipField('ip.tos', 1, 1, 8, hex(b[1]!, 2));
  ipField('ip.totalLength', 2, 2, 16, String(total));
  ipField('ip.id', 4, 2, 16, `${hex(u16(b, 4), 4)} (${u16(b, 4)})`);
  ipField('ip.flags', 6, 2, 16, `${hex(flagsFrag, 4)}${ipFlags.length ? ` ${ipFlags.join(', ')}` : ''}`);
  ipField('ip.ttl', 8, 1, 8, String(b[8]));
  ipField('ip.protocol', 9, 1, 8, b[9] === 6 ? 'TCP (6)' : String(b[9]));
  const ipExpected = ipOk ? undefined : ipChecksumFor(b, ipLen, storedIpSum);
  ipField('ip.checksum', 10, 2, 16, hex(storedIpSum, 4), {
    ok: ipOk,
    ...(ipExpected === undefined ? {} : { expected: hex(ipExpected, 4) }),
  });
  ipField('ip.src', 12, 4, 32, ipToString(u32(b, 12)));
  ipField('ip.dst', 16, 4, 32, ipToString(u32(b, 16)));

  const t = ipLen;
  if (b.length < t + 20) {
    return {
      fields,
      options: [],
      tcpStart: t,
      payloadStart: b.length,
      payloadEnd: b.length,
      ipChecksumOk: ipOk,
      tcpChecksumOk: false,
      problem: `only ${b.length - t} bytes after the IP header: too short for a TCP header`,
    };
  }
  const dataOffset = b[t + 12]! >>> 4;
  const tcpLen = dataOffset * 4;
  const payloadStart = Math.min(t + Math.max(20, tcpLen), end);
  const flags = b[t + 13]!;
  const src = u32(b, 12);
  const dst = u32(b, 16);
  const storedTcpSum = u16(b, t + 16);
  const tcpOk = end > t && tcpChecksum(b, t, end, src, dst) === 0;
  const tcpField = (
    key: FieldKey,
    start: number,
    len: number,
    bits: number,
    value: string,
    extra: Partial<HeaderField> = {},
  ) => fields.push({ key, layer: 'tcp', start: t + start, end: t + start + len, bits, value, ...extra });
  tcpField('tcp.srcPort', 0, 2, 16, String(u16(b, t)));
  tcpField('tcp.dstPort', 2, 2, 16, String(u16(b, t + 2)));
  tcpField('tcp.seq', 4, 4, 32, String(u32(b, t + 4)));
  tcpField('tcp.ack', 8, 4, 32, String(u32(b, t + 8)));
  tcpField('tcp.dataOffset', 12, 1, 4, `${dataOffset} (${tcpLen} bytes)`);
  tcpField('tcp.reserved', 12, 1, 4, String(b[t + 12]! & 0x0f));
  const names = flagList(flags);
  tcpField('tcp.flags', 13, 1, 8, `${hex(flags, 2)} ${names.length ? names.join(', ') : '<None>'}`);
  tcpField('tcp.window', 14, 2, 16, String(u16(b, t + 14)));
  let tcpExpected: number | undefined;
  if (!tcpOk && end > t) {
    const copy = b.slice(0, end);
    copy[t + 16] = 0;
    copy[t + 17] = 0;
    tcpExpected = tcpChecksum(copy, t, end, src, dst);
  }
  tcpField('tcp.checksum', 16, 2, 16, hex(storedTcpSum, 4), {
    ok: tcpOk,
    ...(tcpExpected === undefined ? {} : { expected: hex(tcpExpected, 4) }),
  });
  tcpField('tcp.urgent', 18, 2, 16, String(u16(b, t + 18)));
  const options = readOptions(b, t + 20, Math.min(t + tcpLen, b.length));
  fields.push({
    key: 'tcp.options',
    layer: 'tcp',
    start: t + 20,
    end: Math.max(t + 20, Math.min(t + tcpLen, b.length)),
    bits: Math.max(0, tcpLen - 20) * 8,
    value: options.length ? options.map((o) => o.text).join('; ') : '—',
  });
  fields.push({
    key: 'tcp.data',
    layer: 'tcp',
    start: payloadStart,
    end,
    bits: (end - payloadStart) * 8,
    value: `${end - payloadStart} bytes`,
  });
  return {
    fields,
    options,
    tcpStart: t,
    payloadStart,
    payloadEnd: end,
    ipChecksumOk: ipOk,
    tcpChecksumOk: tcpOk,
  };
}

function ipChecksumFor(b: Uint8Array, ipLen: number, _stored: number): number | undefined {
  if (ipLen < 20 || ipLen > b.length) return undefined;
  const copy = b.slice(0, ipLen);
  copy[10] = 0;
  copy[11] = 0;
  return internetChecksum(copy, 0, ipLen);
}

/** Printable ASCII of the payload, dots for the rest (as a hex dump's right column). */
export function asciiOf(b: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.';
  }
  return s;
}

/** Payload as text when it is printable UTF-8, else undefined. */
export function payloadText(b: Uint8Array, start: number, end: number): string | undefined {
  const slice = b.subarray(start, end);
  for (const c of slice)
    if ((c < 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) || c === 0x7f) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(slice);
  } catch {
    return undefined;
  }
}
