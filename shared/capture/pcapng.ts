/**
 * pcapng files (draft-ietf-opsawg-pcapng): one Section Header Block, Interface Description Blocks,
 * then Enhanced Packet Blocks. Written little-endian. Every block is
 *
 *   block type u32 · block total length u32 · body · options · block total length u32
 *
 * and every option is `code u16 · length u16 · value` padded with zeros to 32 bits, the list ending
 * with opt_endofopt (0, 0). A block without options carries no option list at all.
 */
import { ByteWriter, pad4, utf8 } from './bytes.ts';
import { LINKTYPE_RAW } from './pcap.ts';

export const BLOCK_SHB = 0x0a0d0d0a;
export const BLOCK_IDB = 0x00000001;
export const BLOCK_EPB = 0x00000006;
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

export const OPT_ENDOFOPT = 0;
/** opt_comment: UTF-8 text, allowed in every block and repeatable. */
export const OPT_COMMENT = 1;
export const SHB_HARDWARE = 2;
export const SHB_OS = 3;
export const SHB_USERAPPL = 4;
export const IF_NAME = 2;
export const IF_DESCRIPTION = 3;
export const IF_TSRESOL = 9;
export const EPB_FLAGS = 2;
export const EPB_PACKETID = 5;

/** Longest option value (the length field is 16 bits). */
const MAX_OPTION = 0xffff;

export interface PcapngInterface {
  /** Default LINKTYPE_RAW (101). */
  linktype?: number;
  /** 0 (default) means no limit. */
  snaplen?: number;
  name?: string;
  description?: string;
  /** Timestamp unit as a power of ten: 9 = nanoseconds (default), 6 = microseconds. */
  tsresol?: 6 | 9;
}

export interface PcapngPacket {
  /** Index into `interfaces` (default 0). */
  interfaceId?: number;
  /** Nanoseconds since the Unix epoch (see `timestampNs`); rounded to the interface's unit. */
  timestampNs: bigint;
  data: Uint8Array;
  /** Length on the wire when `data` was cut short (default `data.length`). */
  originalLength?: number;
  /** One opt_comment per entry. */
  comments?: readonly string[];
  /** epb_flags direction bits: inbound = 01, outbound = 10. */
  direction?: 'inbound' | 'outbound';
  /** epb_packetid: the same number for the same packet seen at several points. */
  packetId?: number;
}

export interface PcapngFile {
  /** Section comments (shb opt_comment), e.g. the room and scenario. */
  comments?: readonly string[];
  hardware?: string;
  os?: string;
  /** shb_userappl, e.g. 'TCP Lab'. */
  application?: string;
  interfaces: readonly PcapngInterface[];
  packets: readonly PcapngPacket[];
}

/** Collects a block's options. */
class Options {
  private readonly w = new ByteWriter(64);
  private count = 0;

  add(code: number, value: Uint8Array): this {
    if (value.length > MAX_OPTION) throw new Error(`pcapng option ${code} is longer than 65535 bytes`);
    this.w.u16(code).u16(value.length).raw(value).pad32();
    this.count++;
    return this;
  }

  text(code: number, value: string | undefined): this {
    if (value === undefined) return this;
    return this.add(code, clipUtf8(utf8(value)));
  }

  /** The option list with its opt_endofopt, or nothing when empty. */
  bytes(): Uint8Array {
    if (this.count === 0) return new Uint8Array(0);
    this.w.u16(OPT_ENDOFOPT).u16(0);
    return this.w.bytes();
  }
}

/** Cuts UTF-8 text to fit an option, on a character boundary. */
function clipUtf8(b: Uint8Array): Uint8Array {
  if (b.length <= MAX_OPTION) return b;
  let end = MAX_OPTION;
  while (end > 0 && (b[end]! & 0xc0) === 0x80) end--;
  return b.subarray(0, end);
}

function u32le(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}

function u64le(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
  return b;
}

/** Writes one block: type, total length, body (padded), options, total length. */
function block(out: ByteWriter, type: number, body: Uint8Array, options: Uint8Array): void {
  const total = 12 + body.length + pad4(body.length) + options.length;
  out.u32(type).u32(total).raw(body).pad32().raw(options).u32(total);
}

export function writePcapng(file: PcapngFile): Uint8Array {
  if (file.interfaces.length === 0) throw new Error('a pcapng file needs at least one interface');
  const out = new ByteWriter(4096);

  // Section Header Block: byte-order magic, version 1.0, section length unknown (-1).
  const shb = new ByteWriter(16).u32(BYTE_ORDER_MAGIC).u16(1).u16(0).u64(-1n).bytes();
  const shbOpts = new Options();
  for (const c of file.comments ?? []) shbOpts.text(OPT_COMMENT, c);
  shbOpts.text(SHB_HARDWARE, file.hardware).text(SHB_OS, file.os).text(SHB_USERAPPL, file.application);
  block(out, BLOCK_SHB, shb, shbOpts.bytes());

  for (const itf of file.interfaces) {
    const idb = new ByteWriter(8)
      .u16(itf.linktype ?? LINKTYPE_RAW)
      .u16(0)
      .u32(itf.snaplen ?? 0)
      .bytes();
    const opts = new Options().text(IF_NAME, itf.name).text(IF_DESCRIPTION, itf.description);
    opts.add(IF_TSRESOL, Uint8Array.of(itf.tsresol ?? 9));
    block(out, BLOCK_IDB, idb, opts.bytes());
  }

  for (const p of file.packets) {
    const ifId = p.interfaceId ?? 0;
    const itf = file.interfaces[ifId];
    if (!itf) throw new Error(`packet on interface ${ifId}, but the file has ${file.interfaces.length}`);
    if (p.timestampNs < 0n) throw new Error('pcapng timestamps cannot be before 1970-01-01');
    const ts = (itf.tsresol ?? 9) === 9 ? p.timestampNs : (p.timestampNs + 500n) / 1000n;
    const snaplen = itf.snaplen ?? 0;
    const incl = snaplen > 0 ? Math.min(p.data.length, snaplen) : p.data.length;
    const body = new ByteWriter(20 + incl)
      .u32(ifId)
      .u32(Number(ts >> 32n))
      .u32(Number(ts & 0xffffffffn))
      .u32(incl)
      .u32(p.originalLength ?? p.data.length)
      .raw(p.data.subarray(0, incl))
      .bytes();
    const opts = new Options();
    for (const c of p.comments ?? []) opts.text(OPT_COMMENT, c);
    if (p.direction !== undefined) opts.add(EPB_FLAGS, u32le(p.direction === 'inbound' ? 1 : 2));
    if (p.packetId !== undefined) opts.add(EPB_PACKETID, u64le(BigInt(p.packetId)));
    block(out, BLOCK_EPB, body, opts.bytes());
  }
  return out.bytes();
}
