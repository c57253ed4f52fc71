/**
 * Packet captures of a simulator run, for Wireshark and tshark: the trace's segment events turned
 * into pcap or pcapng records as seen from one capture point. The rules (docs/capture.md):
 *
 * - at a host (e.g. 'A'): every segment the host sent, at its send time, with the bytes it sent,
 *   and every segment that arrived at the host, at its arrival time, with the bytes that arrived
 *   (a corrupted segment arrives corrupted). A segment that never arrived is not there.
 * - 'wire': every segment the network carried, once, at the time it entered the network (a
 *   duplicate at the time it was made), with the bytes it carried (corrupted ones corrupted),
 *   including the ones that were later dropped or are still held.
 *
 * The packet bytes of a segment come from its `send` (or `dup`) event, corrupted bytes from its
 * `corrupt` event. pcapng records carry comments on what the network did to the segment (dropped,
 * lost, held, delayed, duplicated, corrupted) and the engine's reason for retransmissions, probes
 * and challenge ACKs; classic pcap has no room for comments.
 */
import type { FaultRule } from '../sim/faults.ts';
import type { JsonValue, SegmentTrace, TraceEvent } from '../sim/trace.ts';
import { fromHex, timestampNs } from './bytes.ts';
import { LINKTYPE_RAW, writePcap } from './pcap.ts';
import { type PcapngPacket, writePcapng } from './pcapng.ts';

/** A host name ('A', 'B', or another host of the scenario) or 'wire'. */
export type CapturePoint = 'wire' | (string & {});

export type CaptureFormat = 'pcap' | 'pcapng';

export interface CaptureOptions {
  point: CapturePoint;
  format: CaptureFormat;
  /** Names the room or scenario; first line of the pcapng section comment. */
  title?: string;
  /**
   * Wall-clock time of virtual time 0, in ms since the Unix epoch (e.g. when the room was
   * created; whole ms keep every virtual nanosecond). Default 0: timestamps are the virtual time
   * itself, counted from 1970-01-01.
   */
  startTime?: number;
  /** Timestamp resolution: 'ns' (default; pcapng if_tsresol 9, pcap magic 0xa1b23c4d) or 'us'. */
  resolution?: 'ns' | 'us';
}

/** One record of a capture. */
export interface CapturedPacket {
  /** The simulator's segment id (the ladder's #n); pcapng epb_packetid. */
  id: number;
  /** Virtual time in ms. */
  t: number;
  from: string;
  to: string;
  bytes: Uint8Array;
  /** At a host: outbound (it sent it) or inbound (it arrived); undefined on the wire. */
  direction: 'inbound' | 'outbound' | undefined;
  /** What happened to the segment, one fact per entry; empty when nothing remarkable. */
  comments: string[];
  /** The trace's segment summary (flags, rseq, rack, len…) from its send or dup event. */
  summary: SegmentTrace;
}

export const CAPTURE_MEDIA_TYPES: Record<CaptureFormat, string> = {
  pcap: 'application/vnd.tcpdump.pcap',
  pcapng: 'application/x-pcapng',
};

/** What we know about one segment id after reading the whole trace. */
interface Seg {
  id: number;
  from: string;
  to: string;
  sent: SegmentTrace;
  /** Bytes as sent by the host, as hex (undefined when the trace has none, e.g. bench mode). */
  hex: string | undefined;
  /** Bytes on the link when a rule corrupted them, as hex. */
  corrupted: string | undefined;
  /** Copies the network made of it. */
  copies: number[];
  /** Comments in the order things happened. */
  notes: string[];
  /** The hold still waiting for its release, drop or delay. */
  held: { t: number; text: string } | undefined;
}

/** Which records a capture point sees, in time order, with their comments. */
export function capturePackets(trace: readonly TraceEvent[], point: CapturePoint): CapturedPacket[] {
  return collect(trace, point).packets;
}

function collect(
  trace: readonly TraceEvent[],
  point: CapturePoint,
): { packets: CapturedPacket[]; missing: number } {
  const segs = new Map<number, Seg>();
  const rules = new Map<string, string>();
  /** Records in trace order: the event that puts a segment in this capture and its role. */
  const picks: Array<{ id: number; t: number; direction: CapturedPacket['direction'] }> = [];

  for (const e of trace) {
    if (e.type === 'rule') {
      if (e.action === 'add') {
        const rule = e.rule as { id?: unknown };
        if (typeof rule?.id === 'string') rules.set(rule.id, describeRule(e.rule));
      }
      continue;
    }
    if (e.type === 'discard') {
      if (e.id !== undefined) segs.get(e.id)?.notes.push(`discarded by ${e.host}: ${e.detail}`);
      continue;
    }
    if (e.type !== 'segment') continue;
    if (e.event === 'send' || e.event === 'dup') {
      const seg: Seg = {
        id: e.id,
        from: e.from,
        to: e.to,
        sent: e,
        hex: e.hex,
        corrupted: undefined,
        copies: [],
        notes: [],
        held: undefined,
      };
      segs.set(e.id, seg);
      const why = reasonText(e);
      if (why) seg.notes.push(why);
      if (e.event === 'dup') {
        const by = e.reason === 'rule' ? 'a fault rule' : 'the link';
        seg.notes.push(`duplicated by ${by}: copy of segment #${e.dupOf}`);
        if (e.dupOf !== undefined) segs.get(e.dupOf)?.copies.push(e.id);
        if (e.hex === undefined && e.dupOf !== undefined) seg.hex = segs.get(e.dupOf)?.hex;
      }
      if (point === 'wire') picks.push({ id: e.id, t: e.t, direction: undefined });
      else if (e.event === 'send' && e.from === point)
        picks.push({ id: e.id, t: e.t, direction: 'outbound' });
      continue;
    }
    const seg = segs.get(e.id);
    if (!seg) continue; // the trace started after this segment was sent
    switch (e.event) {
      case 'arrive':
        if (e.to === point) picks.push({ id: e.id, t: e.t, direction: 'inbound' });
        break;
      case 'corrupt':
        if (e.hex !== undefined) seg.corrupted = e.hex;
        seg.notes.push(
          `corrupted by ${ruleRef(e.reason, rules)}: one bit flipped after it was sent, so it arrives with a bad checksum`,
        );
        break;
      case 'hold':
        seg.held = {
          t: e.t,
          text: e.reason === 'hold' ? 'held (hold mode)' : `held by ${ruleRef(e.reason, rules)}`,
        };
        break;
      case 'release':
        seg.notes.push(heldThen(seg, e.t, 'released by the user'));
        break;
      case 'delay':
        if (e.reason === 'user' || seg.held) {
          seg.notes.push(heldThen(seg, e.t, `released by the user with ${ms(e.delayMs)} extra delay`));
        } else {
          seg.notes.push(`delayed ${ms(e.delayMs)} by ${ruleRef(e.reason, rules)}`);
        }
        break;
      case 'drop':
        seg.notes.push(seg.held ? heldThen(seg, e.t, 'dropped by the user') : dropText(e.reason, rules));
        break;
    }
  }

  const out: CapturedPacket[] = [];
  let missing = 0;
  for (const pick of picks) {
    const seg = segs.get(pick.id)!;
    // A corrupted segment is corrupted on the link and at the receiver, not at the sender.
    const hex = pick.direction === 'outbound' ? seg.hex : (seg.corrupted ?? seg.hex);
    if (hex === undefined) {
      missing++;
      continue;
    }
    const comments = [...seg.notes];
    if (seg.held) comments.push(`${seg.held.text}; still held when the capture was made`);
    if (seg.copies.length > 0) {
      comments.push(
        `duplicated: the network also carried a copy (${seg.copies.map((c) => `#${c}`).join(', ')})`,
      );
    }
    out.push({
      id: seg.id,
      t: pick.t,
      from: seg.from,
      to: seg.to,
      bytes: fromHex(hex),
      direction: pick.direction,
      comments,
      summary: seg.sent,
    });
  }
  return { packets: out, missing };
}

/** The capture file of `trace` at `opts.point`. */
export function buildCapture(trace: readonly TraceEvent[], opts: CaptureOptions): Uint8Array {
  const { packets, missing } = collect(trace, opts.point);
  const resolution = opts.resolution ?? 'ns';
  const start = opts.startTime ?? 0;
  if (opts.format === 'pcap') {
    return writePcap(
      packets.map((p) => ({ timestampNs: timestampNs(p.t, start), data: p.bytes })),
      { resolution, linktype: LINKTYPE_RAW },
    );
  }
  const addrs = hostAddresses(trace);
  const where = pointText(opts.point, addrs);
  const comments = [
    ...(opts.title ? [opts.title] : []),
    `Capture point: ${where}.`,
    opts.point === 'wire'
      ? 'Every segment the network carried, at the time it entered the network, including those it then dropped.'
      : `Segments ${opts.point} sent, at their send time, and segments that arrived at ${opts.point}, at their arrival time. Segments lost on the way are not here (see the capture on the wire).`,
    'Timestamps are the simulator’s virtual time; packet comments say what the network did to each segment.',
    ...(missing > 0 ? [`${missing} segment(s) had no bytes in the trace and are missing.`] : []),
  ];
  const records: PcapngPacket[] = packets.map((p) => ({
    timestampNs: timestampNs(p.t, start),
    data: p.bytes,
    comments: p.comments,
    packetId: p.id,
    ...(p.direction ? { direction: p.direction } : {}),
  }));
  return writePcapng({
    comments,
    application: 'TCP Lab',
    interfaces: [
      {
        linktype: LINKTYPE_RAW,
        name: opts.point === 'wire' ? 'wire' : `host ${opts.point}`,
        description: where,
        tsresol: resolution === 'ns' ? 9 : 6,
      },
    ],
    packets: records,
  });
}

// ── comments ──────────────────────────────────────────────────────────────────────────────────

function ms(v: number | undefined): string {
  return `${v ?? 0} ms`;
}

/** The engine's reason, when it is worth a comment. */
function reasonText(e: SegmentTrace): string | undefined {
  const nth = e.rexmit ?? 0;
  const again = nth > 1 ? ` (${ordinal(nth)} retransmission)` : '';
  switch (e.why) {
    case 'retransmit-rto':
      return `retransmission after RTO${again}`;
    case 'retransmit-fast':
      return `fast retransmission after 3 duplicate ACKs${again}`;
    case 'persist-probe':
      return 'zero-window probe (persist timer)';
    case 'keepalive':
      return 'keepalive probe';
    case 'challenge-ack':
      return 'challenge ACK (RFC 5961)';
    default:
      // SYN and SYN-ACK retransmissions keep their reason and only carry `rexmit`.
      return nth > 0
        ? `retransmission of the ${e.why === 'syn-ack' ? 'SYN-ACK' : (e.why ?? 'segment').toUpperCase()}${again}`
        : undefined;
  }
}

function heldThen(seg: Seg, t: number, what: string): string {
  const held = seg.held ?? { t, text: 'held' };
  seg.held = undefined;
  const wait = Math.round((t - held.t) * 1000) / 1000;
  return `${held.text} for ${wait} ms, then ${what}`;
}

function dropText(reason: string | undefined, rules: Map<string, string>): string {
  switch (reason) {
    case 'loss':
      return 'lost on the link (random loss)';
    case 'queue-full':
      return 'dropped: the link’s queue was full';
    case 'no-route':
      return 'dropped: no host has its destination address';
    case 'user':
      return 'dropped by the user';
    default:
      return reason?.startsWith('rule:') ? `dropped by ${ruleRef(reason, rules)}` : `dropped (${reason})`;
  }
}

/** `rule: first FIN from A` for rules with generated ids (r1, r2…), `rule "lose-fin": …` otherwise. */
function ruleRef(reason: string | undefined, rules: Map<string, string>): string {
  const id = reason?.startsWith('rule:') ? reason.slice(5) : (reason ?? '?');
  const desc = rules.get(id);
  const named = /^r\d+$/.test(id) ? '' : ` "${id}"`;
  return desc ? `rule${named}: ${desc}` : `rule ${id}`;
}

const ORDINALS = ['zeroth', 'first', 'second', 'third', 'fourth', 'fifth'];

function ordinal(n: number): string {
  if (n < ORDINALS.length) return ORDINALS[n]!;
  const s = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${s}`;
}

/** A rule in words: "first FIN from A", "every data segment from B", "segment #4". */
export function describeRule(json: JsonValue): string {
  const r = (
    typeof json === 'object' && json !== null && !Array.isArray(json) ? json : {}
  ) as Partial<FaultRule>;
  if (typeof r.segment === 'number') return `segment #${r.segment}`;
  let noun = Array.isArray(r.flags) && r.flags.length > 0 ? r.flags.join('+') : 'segment';
  if (r.data === true) noun = noun === 'segment' ? 'data segment' : `${noun} with data`;
  if (r.data === false) noun = `${noun} without data`;
  if (r.rexmit === true) noun = `retransmitted ${noun}`;
  if (r.rexmit === false) noun = `${noun} (not a retransmission)`;
  if (Array.isArray(r.noFlags) && r.noFlags.length > 0) noun += ` without ${r.noFlags.join('/')}`;
  if (typeof r.why === 'string') noun += ` sent as ${r.why}`;
  if (typeof r.from === 'string') noun += ` from ${r.from}`;
  if (typeof r.to === 'string') noun += ` to ${r.to}`;
  const nth = typeof r.nth === 'number' ? r.nth : 1;
  const times = r.times ?? 1;
  if (times === 'all') return nth === 1 ? `every ${noun}` : `every ${noun} from the ${ordinal(nth)} on`;
  if (times === 1) return `${ordinal(nth)} ${noun}`;
  return `${ordinal(nth)} to ${ordinal(nth + times - 1)} ${noun}`;
}

// ── section description ───────────────────────────────────────────────────────────────────────

/** Host addresses as dotted quads, read from the packets' IPv4 headers. */
function hostAddresses(trace: readonly TraceEvent[]): Map<string, string> {
  const addrs = new Map<string, string>();
  for (const e of trace) {
    if (e.type !== 'segment' || e.event !== 'send' || e.hex === undefined || e.hex.length < 40) continue;
    const ip = (off: number) =>
      [0, 1, 2, 3].map((i) => Number.parseInt(e.hex!.slice(off + 2 * i, off + 2 * i + 2), 16)).join('.');
    if (!addrs.has(e.from)) addrs.set(e.from, ip(24));
    if (!addrs.has(e.to) && e.to !== '?') addrs.set(e.to, ip(32));
  }
  return addrs;
}

function pointText(point: CapturePoint, addrs: Map<string, string>): string {
  if (point === 'wire') {
    const hosts = [...addrs.keys()];
    return hosts.length > 0 ? `on the wire between ${hosts.join(' and ')}` : 'on the wire';
  }
  const addr = addrs.get(point);
  return addr ? `at host ${point} (${addr})` : `at host ${point}`;
}
