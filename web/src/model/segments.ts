/**
 * Segments: one record per segment id, gathered from its frames (sent, held, released, delayed,
 * duplicated, corrupted, arrived, dropped), with the analysis Wireshark would print — but taken
 * from the engine's ground truth (the frame's `why` and `rexmit`) rather than guessed:
 *
 * - `retransmit-rto` → `[TCP Retransmission]`, `retransmit-fast` → `[TCP Fast Retransmission]`,
 *   each linked to the original transmission it repeats;
 * - `dup-ack` → `[TCP Dup ACK 12#2]` (12: the ACK it duplicates, 2: the second duplicate);
 * - `keepalive` → `[TCP Keep-Alive]`, `persist-probe` → `[TCP ZeroWindowProbe]`,
 *   `window-update` → `[TCP Window Update]`;
 * - a zero window → `[TCP ZeroWindow]`; data that fills the window the sender knew of →
 *   `[TCP Window Full]`; an original segment that arrives after a later one → `[TCP Out-Of-Order]`.
 *
 * Relative sequence numbers follow Wireshark: per direction, relative to the last SYN's sequence
 * number (or the first segment seen). Windows are shown after scaling (RFC 7323).
 */
import type { Cause, SegmentFrame } from '../../../shared/protocol/frame.ts';
import { ACK, FIN, PSH, RST, SYN } from '../../../shared/tcp/packet.ts';
import { seqGt, seqLt } from '../../../shared/tcp/seq.ts';
import type { SendReason } from '../../../shared/tcp/types.ts';
import type { Side } from './history.ts';
import { flagList, type RawHeader, readHeader } from './packet-view.ts';

export type Tag =
  | { kind: 'retransmission'; of: number | undefined; nth: number }
  | { kind: 'fast-retransmission'; of: number | undefined; nth: number }
  | { kind: 'dup-ack'; of: number; count: number }
  | { kind: 'out-of-order' }
  | { kind: 'zero-window' }
  | { kind: 'zero-window-probe' }
  | { kind: 'window-full' }
  | { kind: 'window-update' }
  | { kind: 'keep-alive' }
  | { kind: 'bad-checksum' };

export interface FateMark {
  n: number;
  t: number;
}

export interface Segment {
  id: number;
  /** Position in `SegmentTable.list` (order of first appearance). */
  index: number;
  from: Side;
  to: Side;
  /** The packet as sent (a corrupted copy is in `corrupted.bytes`). */
  bytes: Uint8Array;
  /**
   * True while `bytes` end with the TCP header: the headers-first replay sends the payload after
   * the history (`SegmentTable.addWhole`); the header fields and lengths are all here.
   */
  cut: boolean;
  h: RawHeader | undefined;
  why: SendReason | undefined;
  rexmit: number;
  /** The original of a link duplicate (0: not a copy). */
  copyOf: number;
  start: FateMark & { fate: 'sent' | 'duplicated' };
  held?: FateMark;
  released?: FateMark;
  delayed?: FateMark & { ms: number };
  corrupted?: FateMark & { bytes: Uint8Array; cut: boolean };
  end?: FateMark & { fate: 'arrived' | 'dropped'; cause: Cause };
  /** The receiving engine threw it away on arrival. */
  discard?: { n: number; reason: string; detail: string };
  /** The fault rule that acted on it, 0 for none. */
  ruleId: number;
  /** The cause of a hold (hold mode or a rule). */
  holdCause?: Cause;
  rseq: number;
  rack: number | undefined;
  /** Window after scaling. */
  win: number;
  tags: Tag[];
  /** Later retransmissions of this segment's sequence range. */
  rexmittedBy: number[];
}

/** Bytes of sequence space: payload plus one each for SYN and FIN. */
export function seqLen(h: RawHeader): number {
  return h.payloadLen + (h.flags & SYN ? 1 : 0) + (h.flags & FIN ? 1 : 0);
}

interface DirState {
  /** Relative-sequence base of this direction. */
  base: number | undefined;
  /** The ACK that dup ACKs repeat. */
  ackBase: { ack: number; id: number; count: number } | undefined;
  /** First transmission of each starting sequence number. */
  firstBySeq: Map<number, number>;
  /** Highest sequence end of original data that has arrived (for Out-Of-Order). */
  arrivedEnd: number | undefined;
  /** The window edge the receiver last announced to this direction's sender (ack + scaled window). */
  peerEdge: number | undefined;
  /** Window scale offered in this direction's SYN. */
  shift: number | undefined;
  synSeen: boolean;
}

function newDir(): DirState {
  return {
    base: undefined,
    ackBase: undefined,
    firstBySeq: new Map(),
    arrivedEnd: undefined,
    peerEdge: undefined,
    shift: undefined,
    synSeen: false,
  };
}

const FATE_KEYS = ['sent', 'arrived', 'dropped', 'held', 'duplicated', 'released', 'delayed', 'corrupted'];

/** Every segment of one room epoch, in order of first appearance. */
export class SegmentTable {
  readonly list: Segment[] = [];
  private readonly byId = new Map<number, Segment>();
  /** Directions of segments whose header could not be read, by sender. */
  private readonly dirs = new Map<string, DirState>();
  /** Directions by `srcPort * 65536 + dstPort`, then addresses. */
  private readonly dirsByPorts = new Map<number, Array<{ src: number; dst: number; dir: DirState }>>();
  /** Bumped on every change, for renderers. */
  version = 0;

  get(id: number): Segment | undefined {
    return this.byId.get(id);
  }

  get size(): number {
    return this.list.length;
  }

  private dir(h: RawHeader | undefined, from: Side, reverse = false): DirState {
    if (!h) {
      const key = `?${reverse ? (from === 'A' ? 'B' : 'A') : from}`;
      let d = this.dirs.get(key);
      if (!d) {
        d = newDir();
        this.dirs.set(key, d);
      }
      return d;
    }
    // Looked up twice per segment: by ports first (numbers, no string to build), then addresses.
    const src = reverse ? h.dst : h.src;
    const dst = reverse ? h.src : h.dst;
    const ports = reverse ? h.dstPort * 65536 + h.srcPort : h.srcPort * 65536 + h.dstPort;
    let list = this.dirsByPorts.get(ports);
    if (!list) {
      list = [];
      this.dirsByPorts.set(ports, list);
    }
    for (const e of list) if (e.src === src && e.dst === dst) return e.dir;
    const dir = newDir();
    list.push({ src, dst, dir });
    return dir;
  }

  /**
   * Adds one frame (`cut`: its payload is not here yet); returns the segment it belongs to. The
   * segment keeps a view of the frame's packet bytes, not a copy: they must not change afterwards.
   */
  addFrame(f: SegmentFrame, cut = false): Segment {
    this.version++;
    let seg = this.byId.get(f.segId);
    if (!seg) seg = this.create(f, cut);
    if (f.ruleId) seg.ruleId = f.ruleId;
    switch (f.fate) {
      case 'sent':
      case 'duplicated':
        break;
      case 'held':
        seg.held = { n: f.n, t: f.t };
        seg.holdCause = f.cause;
        break;
      case 'released':
        seg.released = { n: f.n, t: f.t };
        break;
      case 'delayed':
        seg.delayed = { n: f.n, t: f.t, ms: f.extraMs };
        break;
      case 'corrupted':
        seg.corrupted = { n: f.n, t: f.t, bytes: f.packet, cut };
        if (!seg.tags.some((t) => t.kind === 'bad-checksum')) seg.tags.push({ kind: 'bad-checksum' });
        break;
      case 'arrived':
        seg.end = { n: f.n, t: f.t, fate: 'arrived', cause: f.cause };
        this.onArrival(seg);
        break;
      case 'dropped':
        seg.end = { n: f.n, t: f.t, fate: 'dropped', cause: f.cause };
        break;
    }
    return seg;
  }

  /**
   * A frame that came cut, now whole: its bytes replace the cut ones of its segment (the sent or
   * duplicated copy, or the corrupted one). False when it belongs to no cut copy here.
   */
  addWhole(f: SegmentFrame): boolean {
    const seg = this.byId.get(f.segId);
    if (!seg) return false;
    if (f.fate === 'corrupted') {
      if (seg.corrupted?.n !== f.n || !seg.corrupted.cut) return false;
      seg.corrupted.bytes = f.packet;
      seg.corrupted.cut = false;
    } else {
      if (seg.start.n !== f.n || !seg.cut) return false;
      seg.bytes = f.packet;
      seg.cut = false;
    }
    this.version++;
    return true;
  }

  /** The receiving engine discarded the segment (a `discard` event naming its id). */
  addDiscard(id: number, n: number, reason: string, detail: string): void {
    const seg = this.byId.get(id);
    if (!seg) return;
    seg.discard = { n, reason, detail };
    this.version++;
  }

  private create(f: SegmentFrame, cut: boolean): Segment {
    const from: Side = f.dir === 'AB' ? 'A' : 'B';
    const to: Side = from === 'A' ? 'B' : 'A';
    const bytes = f.packet;
    const h = readHeader(bytes, cut);
    const seg: Segment = {
      id: f.segId,
      index: this.list.length,
      from,
      to,
      bytes,
      cut,
      h,
      why: f.why,
      rexmit: f.rexmit,
      copyOf: f.ref,
      start: { n: f.n, t: f.t, fate: f.fate === 'duplicated' ? 'duplicated' : 'sent' },
      ruleId: f.ruleId,
      rseq: h?.seq ?? 0,
      rack: undefined,
      win: h?.window ?? 0,
      tags: [],
      rexmittedBy: [],
    };
    if (!FATE_KEYS.includes(f.fate)) seg.start.fate = 'sent';
    this.byId.set(seg.id, seg);
    this.list.push(seg);
    if (h && f.ref === 0) this.analyseSend(seg, h);
    else if (h) this.copyAnalysis(seg, h, f.ref);
    return seg;
  }

  /** A link duplicate repeats its original's numbers and tags. */
  private copyAnalysis(seg: Segment, h: RawHeader, ref: number): void {
    const orig = this.byId.get(ref);
    if (orig) {
      seg.rseq = orig.rseq;
      seg.rack = orig.rack;
      seg.win = orig.win;
      seg.tags = orig.tags.slice();
      if (seg.why === undefined) seg.why = orig.why;
    } else {
      seg.rseq = h.seq;
      seg.rack = h.flags & ACK ? h.ack : undefined;
    }
  }

  private analyseSend(seg: Segment, h: RawHeader): void {
    const fwd = this.dir(h, seg.from);
    const rev = this.dir(h, seg.from, true);
    // Relative sequence numbers (Wireshark: the base is the last SYN of the direction).
    if (h.flags & SYN) {
      if (!(h.flags & ACK) && fwd.base !== undefined && fwd.base !== h.seq) {
        // A new SYN on a reused 4-tuple: a new conversation.
        rev.base = undefined;
        rev.shift = undefined;
        rev.synSeen = false;
        fwd.firstBySeq.clear();
        rev.firstBySeq.clear();
      }
      fwd.base = h.seq;
      fwd.shift = h.wscale;
      fwd.synSeen = true;
    }
    if (fwd.base === undefined) fwd.base = h.seq;
    seg.rseq = (h.seq - fwd.base) >>> 0;
    if (h.flags & ACK) seg.rack = rev.base === undefined ? h.ack : (h.ack - rev.base) >>> 0;
    // Window after scaling: only when both SYNs offered it, never on a SYN (RFC 7323 §2.2).
    const scaled = !(h.flags & SYN) && fwd.shift !== undefined && rev.shift !== undefined;
    seg.win = scaled ? h.window * 2 ** fwd.shift! : h.window;

    const len = seqLen(h);
    const tags = seg.tags;
    if (seg.why === 'retransmit-rto' || seg.why === 'retransmit-fast' || (seg.rexmit > 0 && len > 0)) {
      let of = fwd.firstBySeq.get(h.seq);
      if (of === undefined) of = this.findCovering(seg, h);
      const nth = Math.max(1, seg.rexmit);
      tags.push(
        seg.why === 'retransmit-fast'
          ? { kind: 'fast-retransmission', of, nth }
          : { kind: 'retransmission', of, nth },
      );
      if (of !== undefined) this.byId.get(of)?.rexmittedBy.push(seg.id);
    } else if (len > 0 && !fwd.firstBySeq.has(h.seq)) {
      fwd.firstBySeq.set(h.seq, seg.id);
    }
    if (seg.why === 'keepalive') tags.push({ kind: 'keep-alive' });
    if (seg.why === 'persist-probe') tags.push({ kind: 'zero-window-probe' });
    if (seg.why === 'window-update') tags.push({ kind: 'window-update' });
    if (h.flags & ACK) {
      if (seg.why === 'dup-ack' && fwd.ackBase && fwd.ackBase.ack === h.ack) {
        fwd.ackBase.count++;
        tags.push({ kind: 'dup-ack', of: fwd.ackBase.id, count: fwd.ackBase.count });
      } else if (seg.why !== 'dup-ack') {
        fwd.ackBase = { ack: h.ack, id: seg.id, count: 0 };
      } else {
        // A dup ACK the engine sent without an ACK of that number before it in this view.
        fwd.ackBase = { ack: h.ack, id: seg.id, count: 0 };
      }
    }
    if (h.window === 0 && !(h.flags & (SYN | FIN | RST))) tags.push({ kind: 'zero-window' });
    if (h.payloadLen > 0 && fwd.peerEdge !== undefined && (h.seq + h.payloadLen) >>> 0 === fwd.peerEdge) {
      tags.push({ kind: 'window-full' });
    }
  }

  /** The latest earlier transmission in the same direction whose range holds `h.seq`. */
  private findCovering(seg: Segment, h: RawHeader): number | undefined {
    for (let i = this.list.length - 2; i >= 0; i--) {
      const o = this.list[i]!;
      if (o.from !== seg.from || !o.h || o.copyOf) continue;
      const oh = o.h;
      if (oh.srcPort !== h.srcPort || oh.dstPort !== h.dstPort) continue;
      const olen = seqLen(oh);
      if (olen === 0) continue;
      if (!seqLt(h.seq, oh.seq) && seqLt(h.seq, (oh.seq + olen) >>> 0) && o.rexmit === 0) return o.id;
    }
    return undefined;
  }

  private onArrival(seg: Segment): void {
    const h = seg.h;
    if (!h) return;
    const fwd = this.dir(h, seg.from);
    const rev = this.dir(h, seg.from, true);
    // What the receiver now announces back to this direction's sender is learnt by the sender when
    // the receiver's segments arrive: record the edge on the *reverse* direction's state.
    if (h.flags & ACK) {
      const edge = (h.ack + seg.win) >>> 0;
      rev.peerEdge = edge;
    }
    const len = seqLen(h);
    if (len === 0 || seg.copyOf) return;
    const end = (h.seq + len) >>> 0;
    const original = seg.rexmit === 0 && seg.why !== 'retransmit-rto' && seg.why !== 'retransmit-fast';
    if (original && fwd.arrivedEnd !== undefined && seqGt(fwd.arrivedEnd, h.seq) && !(h.flags & SYN)) {
      if (!seg.tags.some((t) => t.kind === 'out-of-order')) seg.tags.push({ kind: 'out-of-order' });
    }
    if (fwd.arrivedEnd === undefined || seqGt(end, fwd.arrivedEnd)) fwd.arrivedEnd = end;
  }

  /** First segment whose start is at or after history position `n`. */
  firstAtOrAfter(n: number): number {
    let lo = 0;
    let hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.list[mid]!.start.n < n) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

// ---------------------------------------------------------------------------------------------
// Labels

export interface LabelOptions {
  /** Absolute sequence numbers (Wireshark's "relative sequence numbers" off). */
  absolute: boolean;
}

export function flagsText(flags: number): string {
  const names = flagList(flags);
  return names.length ? names.join(', ') : '<None>';
}

/** Wireshark's Info column without the ports: `[SYN] Seq=0 Win=65535 Len=0 MSS=1460`. */
export function infoText(seg: Segment, o: LabelOptions): string {
  const h = seg.h;
  if (!h) return `[?] ${seg.bytes.length} bytes`;
  const seq = o.absolute ? h.seq : seg.rseq;
  let s = `[${flagsText(h.flags)}] Seq=${seq}`;
  if (h.flags & ACK) s += ` Ack=${o.absolute ? h.ack : (seg.rack ?? h.ack)}`;
  s += ` Win=${seg.win} Len=${h.payloadLen}`;
  if (h.mss !== undefined) s += ` MSS=${h.mss}`;
  if (h.wscale !== undefined) s += ` WS=${2 ** h.wscale}`;
  if (h.sackPerm) s += ' SACK_PERM';
  if (h.tsval !== undefined) s += ` TSval=${h.tsval} TSecr=${h.tsecr}`;
  return s;
}

/** The compact arrow label: flags, Seq, Ack; Win and Len when they say something. */
export function shortText(seg: Segment, o: LabelOptions): string {
  const h = seg.h;
  if (!h) return '[?]';
  const seq = o.absolute ? h.seq : seg.rseq;
  let s = `[${flagsText(h.flags)}] Seq=${seq}`;
  if (h.flags & ACK) s += ` Ack=${o.absolute ? h.ack : (seg.rack ?? h.ack)}`;
  if (h.flags & SYN || h.window === 0) s += ` Win=${seg.win}`;
  if (h.payloadLen > 0 || h.flags & SYN) s += ` Len=${h.payloadLen}`;
  if (h.mss !== undefined) s += ` MSS=${h.mss}`;
  return s;
}

export function tagText(tag: Tag): string {
  switch (tag.kind) {
    case 'retransmission':
      return '[TCP Retransmission]';
    case 'fast-retransmission':
      return '[TCP Fast Retransmission]';
    case 'dup-ack':
      return `[TCP Dup ACK ${tag.of}#${tag.count}]`;
    case 'out-of-order':
      return '[TCP Out-Of-Order]';
    case 'zero-window':
      return '[TCP ZeroWindow]';
    case 'zero-window-probe':
      return '[TCP ZeroWindowProbe]';
    case 'window-full':
      return '[TCP Window Full]';
    case 'window-update':
      return '[TCP Window Update]';
    case 'keep-alive':
      return '[TCP Keep-Alive]';
    case 'bad-checksum':
      return '[TCP CHECKSUM INCORRECT]';
  }
}

export function tagsText(seg: Segment): string {
  return seg.tags.map(tagText).join(' ');
}

/** Wireshark's whole Info column: `[TCP Retransmission] 40000 → 80 [FIN, ACK] Seq=101 Ack=51 …`. */
export function fullInfo(seg: Segment, o: LabelOptions): string {
  const h = seg.h;
  const tags = tagsText(seg);
  const ports = h ? `${h.srcPort} → ${h.dstPort} ` : '';
  return `${tags ? `${tags} ` : ''}${ports}${infoText(seg, o)}`;
}

/** True for segments that carry payload (drawn heavier on the ladder). */
export function hasData(seg: Segment): boolean {
  return (seg.h?.payloadLen ?? 0) > 0;
}

export function isFlag(seg: Segment, flag: number): boolean {
  return ((seg.h?.flags ?? 0) & flag) !== 0;
}

export { ACK, FIN, PSH, RST, SYN };
