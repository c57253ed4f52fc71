/**
 * Packets and times printed the way packetdrill prints them, so a failure reads like the script:
 * `F. 1001:1001(0) ack 1 win 257 <nop,nop,TS val 1200 ecr 200>`.
 */
import { ACK, CWR, ECE, FIN, PSH, RST, SYN, type TcpOption, type TcpSegment, URG } from '../tcp/packet.ts';
import type { PacketSpec, TcpOptionSpec } from './ast.ts';

export function flagsText(flags: number): string {
  let s = '';
  if (flags & FIN) s += 'F';
  if (flags & SYN) s += 'S';
  if (flags & RST) s += 'R';
  if (flags & PSH) s += 'P';
  if (flags & URG) s += 'U';
  if (flags & ECE) s += 'E';
  if (flags & CWR) s += 'W';
  if (flags & ACK) s += '.';
  return s === '' ? '-' : s;
}

export function optionText(o: TcpOption): string {
  switch (o.kind) {
    case 'eol':
      return 'eol';
    case 'nop':
      return 'nop';
    case 'mss':
      return `mss ${o.value}`;
    case 'wscale':
      return `wscale ${o.shift}`;
    case 'sack-permitted':
      return 'sackOK';
    case 'sack':
      return `sack ${o.blocks.map((b) => `${b.left >>> 0}:${b.right >>> 0}`).join(' ')}`;
    case 'timestamps':
      return `TS val ${o.tsval >>> 0} ecr ${o.tsecr >>> 0}`;
    case 'unknown':
      return `opt${o.type}(${o.data.length})`;
  }
}

export function specOptionText(o: TcpOptionSpec): string {
  switch (o.kind) {
    case 'sackOK':
      return 'sackOK';
    case 'sack':
      return `sack ${o.blocks.map(([l, r]) => `${l}:${r}`).join(' ')}`;
    case 'ts':
      return `TS val ${o.val} ecr ${o.ecr}`;
    case 'mss':
      return `mss ${o.value}`;
    case 'wscale':
      return `wscale ${o.shift}`;
    default:
      return o.kind;
  }
}

/** A live segment whose sequence numbers are already in script space. */
export function segmentText(seg: TcpSegment): string {
  const len = seg.payload.length;
  let s = `${flagsText(seg.flags)} ${seg.seq >>> 0}:${(seg.seq + len) >>> 0}(${len})`;
  if (seg.flags & ACK) s += ` ack ${seg.ack >>> 0}`;
  s += ` win ${seg.window}`;
  if (seg.urgent) s += ` urg ${seg.urgent}`;
  if (seg.options.length) s += ` <${seg.options.map(optionText).join(',')}>`;
  return s;
}

export function specText(p: PacketSpec): string {
  let s = `${p.flagText || '-'} ${p.seq}:${p.end}(${p.len})`;
  if (p.ack) s += ` ack ${p.ackNum}`;
  if (p.win !== undefined) s += ` win ${p.win}`;
  if (p.urgPtr) s += ` urg ${p.urgPtr}`;
  if (p.options === null) s += ' <...>';
  else if (p.options.length) s += ` <${p.options.map(specOptionText).join(',')}>`;
  return s;
}

/** Microseconds as packetdrill prints seconds: `1.200000`. */
export function secs(usecs: number): string {
  return (usecs / 1e6).toFixed(6);
}
