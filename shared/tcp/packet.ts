/**
 * Packet values: IPv4 + TCP exactly as they travel on a wire (RFC 791, RFC 9293 §3.1).
 *
 * These are plain values. `codec.ts` turns them into bytes and back; the engine only ever
 * sees validated values, never raw offsets (smoltcp's Packet/Repr split).
 */

/** TCP flag bits in header byte 13, in wire order (RFC 9293 §3.1, RFC 3168 for CWR/ECE). */
export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;
export const URG = 0x20;
export const ECE = 0x40;
export const CWR = 0x80;

/** Flag names from the most significant bit down, as Wireshark prints them. */
export const FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [CWR, 'CWR'],
  [ECE, 'ECE'],
  [URG, 'URG'],
  [ACK, 'ACK'],
  [PSH, 'PSH'],
  [RST, 'RST'],
  [SYN, 'SYN'],
  [FIN, 'FIN'],
];

/** TCP option kinds (IANA "TCP Option Kind Numbers"). */
export const OPT_EOL = 0;
export const OPT_NOP = 1;
export const OPT_MSS = 2;
export const OPT_WSCALE = 3;
export const OPT_SACK_PERMITTED = 4;
export const OPT_SACK = 5;
export const OPT_TIMESTAMPS = 8;

export type TcpOption =
  | { kind: 'eol' }
  | { kind: 'nop' }
  | { kind: 'mss'; value: number }
  | { kind: 'wscale'; shift: number }
  | { kind: 'sack-permitted' }
  | { kind: 'sack'; blocks: Array<{ left: number; right: number }> }
  | { kind: 'timestamps'; tsval: number; tsecr: number }
  /** Any other kind, kept byte for byte (`data` excludes the kind and length octets). */
  | { kind: 'unknown'; type: number; data: Uint8Array };

export interface TcpSegment {
  srcPort: number;
  dstPort: number;
  /** Sequence number, u32. */
  seq: number;
  /** Acknowledgment number, u32 (meaningful only with ACK). */
  ack: number;
  /** The 4 reserved bits between data offset and flags; 0 on every segment we send. */
  reserved: number;
  /** Flag bits, see FIN..CWR. */
  flags: number;
  /** Window field as carried on the wire (before any window scaling). */
  window: number;
  /** Checksum as found on the wire; `encodePacket` ignores it and computes the right one. */
  checksum: number;
  urgent: number;
  options: TcpOption[];
  payload: Uint8Array;
}

export interface Ipv4Header {
  /** DSCP + ECN byte. */
  tos: number;
  id: number;
  /** Don't Fragment flag. */
  df: boolean;
  ttl: number;
  /** Addresses as u32 (192.0.2.1 = 0xc0000201). */
  src: number;
  dst: number;
}

export interface Packet {
  ip: Ipv4Header;
  tcp: TcpSegment;
}

export function flagNames(flags: number): string[] {
  const names: string[] = [];
  for (const [bit, name] of FLAG_NAMES) if (flags & bit) names.push(name);
  return names;
}

/** Bytes of sequence space a segment occupies: payload plus one each for SYN and FIN. */
export function segmentLength(seg: TcpSegment): number {
  return seg.payload.length + (seg.flags & SYN ? 1 : 0) + (seg.flags & FIN ? 1 : 0);
}

export function ipToString(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}`;
}

/** Parses a dotted quad; returns undefined when it is not one. */
export function parseIp(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}
