/**
 * Classic libpcap files (the format of tcpdump -w; draft-ietf-opsawg-pcap): a 24-byte global
 * header, then per packet a 16-byte record header and the bytes. Written little-endian; readers
 * recognise the byte order from the magic number.
 *
 *   global header: magic u32 · version 2.4 (u16 u16) · thiszone i32 · sigfigs u32 · snaplen u32 · linktype u32
 *   record header: ts_sec u32 · ts_usec or ts_nsec u32 · incl_len u32 · orig_len u32
 */
import { ByteWriter } from './bytes.ts';

/** Magic of a file with microsecond timestamps. */
export const PCAP_MAGIC_US = 0xa1b2c3d4;
/** Magic of a file with nanosecond timestamps. */
export const PCAP_MAGIC_NS = 0xa1b23c4d;
/** LINKTYPE_RAW: each packet starts with an IPv4 or IPv6 header, no link-layer header. */
export const LINKTYPE_RAW = 101;
export const PCAP_DEFAULT_SNAPLEN = 65535;
export const PCAP_GLOBAL_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;

export interface PcapPacket {
  /** Nanoseconds since the Unix epoch (see `timestampNs`). */
  timestampNs: bigint;
  data: Uint8Array;
  /** Length on the wire when `data` was cut short (default `data.length`). */
  originalLength?: number;
}

export interface PcapOptions {
  /** 'ns' (magic 0xa1b23c4d, default) or 'us' (magic 0xa1b2c3d4). */
  resolution?: 'ns' | 'us';
  /** Default 65535; packets longer than this are cut to it (their orig_len stays). */
  snaplen?: number;
  /** Default LINKTYPE_RAW (101). */
  linktype?: number;
}

/** Splits epoch nanoseconds into whole seconds and the fraction in the file's unit (rounded). */
export function splitTimestamp(ns: bigint, resolution: 'ns' | 'us'): { sec: number; frac: number } {
  if (ns < 0n) throw new Error('pcap timestamps cannot be before 1970-01-01');
  const perSec = resolution === 'ns' ? 1_000_000_000n : 1_000_000n;
  const units = resolution === 'ns' ? ns : (ns + 500n) / 1000n;
  const sec = units / perSec;
  if (sec > 0xffffffffn) throw new Error('pcap timestamps end in 2106');
  return { sec: Number(sec), frac: Number(units % perSec) };
}

export function writePcap(packets: readonly PcapPacket[], opts: PcapOptions = {}): Uint8Array {
  const resolution = opts.resolution ?? 'ns';
  const snaplen = opts.snaplen ?? PCAP_DEFAULT_SNAPLEN;
  let size = PCAP_GLOBAL_HEADER_LEN;
  for (const p of packets) size += PCAP_RECORD_HEADER_LEN + Math.min(p.data.length, snaplen);
  const w = new ByteWriter(size);
  w.u32(resolution === 'ns' ? PCAP_MAGIC_NS : PCAP_MAGIC_US)
    .u16(2)
    .u16(4)
    .i32(0) // thiszone: timestamps are UTC
    .u32(0) // sigfigs
    .u32(snaplen)
    .u32(opts.linktype ?? LINKTYPE_RAW);
  for (const p of packets) {
    const { sec, frac } = splitTimestamp(p.timestampNs, resolution);
    const incl = Math.min(p.data.length, snaplen);
    w.u32(sec)
      .u32(frac)
      .u32(incl)
      .u32(p.originalLength ?? p.data.length)
      .raw(p.data.subarray(0, incl));
  }
  return w.bytes();
}
