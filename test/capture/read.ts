/**
 * A small, independent reader of the files the writers make, so the byte-level tests check the
 * layout against the specs rather than against the writer's own code. Strict: any length or
 * padding that does not add up throws.
 */

export interface Option {
  code: number;
  value: Uint8Array;
}

export interface Block {
  type: number;
  /** Offset of the block in the file. */
  offset: number;
  totalLength: number;
  /** The fixed part of the body (before the options). */
  body: Uint8Array;
  options: Option[];
  /** Whether the option list ended with opt_endofopt. */
  endOfOpt: boolean;
}

/** Length of each block type's fixed body, given the block (EPB depends on its captured length). */
function fixedLength(type: number, view: DataView, offset: number): number {
  switch (type) {
    case 0x0a0d0d0a:
      return 16;
    case 1:
      return 8;
    case 6: {
      const caplen = view.getUint32(offset + 8 + 12, true);
      return 20 + caplen + ((4 - (caplen % 4)) % 4);
    }
    default:
      throw new Error(`unexpected block type 0x${type.toString(16)}`);
  }
}

export function readPcapng(file: Uint8Array): Block[] {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const blocks: Block[] = [];
  let off = 0;
  while (off < file.length) {
    if (off + 12 > file.length) throw new Error(`truncated block at ${off}`);
    const type = view.getUint32(off, true);
    const total = view.getUint32(off + 4, true);
    if (total % 4 !== 0) throw new Error(`block at ${off}: length ${total} is not a multiple of 4`);
    if (off + total > file.length) throw new Error(`block at ${off}: length ${total} runs past the end`);
    if (view.getUint32(off + total - 4, true) !== total) {
      throw new Error(`block at ${off}: trailing length differs from leading length`);
    }
    const fixed = fixedLength(type, view, off);
    const body = file.slice(off + 8, off + 8 + fixed);
    const options: Option[] = [];
    let p = off + 8 + fixed;
    const end = off + total - 4;
    let endOfOpt = false;
    while (p < end) {
      const code = view.getUint16(p, true);
      const len = view.getUint16(p + 2, true);
      if (code === 0) {
        if (len !== 0) throw new Error(`opt_endofopt with length ${len}`);
        endOfOpt = true;
        p += 4;
        break;
      }
      const padded = len + ((4 - (len % 4)) % 4);
      if (p + 4 + padded > end) throw new Error(`option ${code} at ${p} runs past its block`);
      for (let i = p + 4 + len; i < p + 4 + padded; i++) {
        if (file[i] !== 0) throw new Error(`option ${code}: padding byte is not zero`);
      }
      options.push({ code, value: file.slice(p + 4, p + 4 + len) });
      p += 4 + padded;
    }
    if (p !== end) throw new Error(`block at ${off}: ${end - p} bytes after the options`);
    blocks.push({ type, offset: off, totalLength: total, body, options, endOfOpt });
    off += total;
  }
  return blocks;
}

export function text(value: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: true }).decode(value);
}

export function optionTexts(block: Block, code: number): string[] {
  return block.options.filter((o) => o.code === code).map((o) => text(o.value));
}

export interface PcapRecord {
  sec: number;
  frac: number;
  incl: number;
  orig: number;
  data: Uint8Array;
}

export function readPcap(file: Uint8Array): {
  magic: number;
  major: number;
  minor: number;
  thiszone: number;
  sigfigs: number;
  snaplen: number;
  linktype: number;
  records: PcapRecord[];
} {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (file.length < 24) throw new Error('no global header');
  const records: PcapRecord[] = [];
  let off = 24;
  while (off < file.length) {
    if (off + 16 > file.length) throw new Error(`truncated record header at ${off}`);
    const incl = view.getUint32(off + 8, true);
    if (off + 16 + incl > file.length) throw new Error(`record at ${off} runs past the end`);
    records.push({
      sec: view.getUint32(off, true),
      frac: view.getUint32(off + 4, true),
      incl,
      orig: view.getUint32(off + 12, true),
      data: file.slice(off + 16, off + 16 + incl),
    });
    off += 16 + incl;
  }
  return {
    magic: view.getUint32(0, true),
    major: view.getUint16(4, true),
    minor: view.getUint16(6, true),
    thiszone: view.getInt32(8, true),
    sigfigs: view.getUint32(12, true),
    snaplen: view.getUint32(16, true),
    linktype: view.getUint32(20, true),
    records,
  };
}
