/**
 * The ASCII ladder: a trace drawn as two columns (one per host) with segments as arrows between
 * them, the way textbooks draw the handshake and the four-way close.
 *
 *      t ms  A 10.0.0.1                    B 10.0.0.2
 *         0  connect(c, B:80) …           ──#1 SYN seq=0 win=65535──────▶
 *        50                                                              ▶#1
 *        50                                 ◀──#2 SYN,ACK seq=0 ack=1──── sock 2 LISTEN → SYN-RECEIVED
 *
 * Relative sequence numbers (rseq/rack) are shown; a lost segment's arrow ends in ✕.
 */
import type { LinkSettings } from './link.ts';
import type { Scenario, Step } from './scenario.ts';
import type { JsonValue, SegmentTrace, TraceEvent } from './trace.ts';

export interface LadderOptions {
  /** The two hosts drawn, left then right (default: the first two hosts seen, or A and B). */
  hosts?: [string, string];
  /** Host addresses for the header line. */
  addrs?: Record<string, string>;
  /** The scenario, so calls show descriptor names as the steps wrote them. */
  scenario?: Scenario;
  /** Show every timer event (set, cancel), not only fired timers. */
  timers?: boolean;
  /** Show congestion-control events. */
  cc?: boolean;
  /** Show socket create/free events. */
  sockets?: boolean;
}

const TIME_W = 10;
const SIDE_W = 34;
const MID_W = 52;

/** Flags in the order people say them: SYN,ACK / FIN,ACK / PSH,ACK / RST,ACK. */
const FLAG_ORDER = ['SYN', 'FIN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'];

export function flagsText(flags: readonly string[]): string {
  return [...flags].sort((a, b) => FLAG_ORDER.indexOf(a) - FLAG_ORDER.indexOf(b)).join(',');
}

/** `SYN,ACK seq=0 ack=1 len=0 win=65535 <mss 1460>` with relative numbers. */
export function segmentText(e: SegmentTrace, withOptions = true): string {
  let s = `${flagsText(e.flags) || '(none)'} seq=${e.rseq}`;
  if (e.rack !== undefined) s += ` ack=${e.rack}`;
  s += ` len=${e.len} win=${e.win}`;
  if (withOptions && e.options.length > 0) s += ` <${e.options.map(optionText).join(',')}>`;
  return s;
}

function optionText(o: SegmentTrace['options'][number]): string {
  switch (o.kind) {
    case 'mss':
      return `mss ${o.value}`;
    case 'wscale':
      return `wscale ${o.shift}`;
    case 'sack-permitted':
      return 'sackOK';
    case 'sack':
      return `sack ${o.blocks.map((b) => `${b.left}-${b.right}`).join(' ')}`;
    case 'timestamps':
      return `TS ${o.tsval}:${o.tsecr}`;
    case 'unknown':
      return `opt${o.type}`;
    default:
      return o.kind;
  }
}

export function timeText(t: number): string {
  return Number.isInteger(t) ? String(t) : t.toFixed(3).replace(/0+$/, '');
}

function pad(s: string, w: number): string {
  const n = [...s].length;
  return n >= w ? s : s + ' '.repeat(w - n);
}

function padLeft(s: string, w: number): string {
  const n = [...s].length;
  return n >= w ? s : ' '.repeat(w - n) + s;
}

/** `──text────▶` (to the right) or `◀────text──` (to the left), `end` replacing the head. */
function arrow(text: string, right: boolean, end?: string): string {
  const body = ` ${text} `;
  const fill = Math.max(2, MID_W - [...body].length - 3);
  if (right) return `──${body}${'─'.repeat(fill)}${end ?? '▶'}`;
  return `${end ?? '◀'}${'─'.repeat(fill)}${body}──`;
}

function valueText(v: JsonValue): string {
  if (v === null) return '0';
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return String(v);
  if (Array.isArray(v)) return JSON.stringify(v);
  if (v.bytes === 0) return '0 (end of file)';
  if (typeof v.bytes === 'number') {
    if (typeof v.text === 'string' && v.bytes <= 24) return JSON.stringify(v.text);
    return `${v.bytes} bytes`;
  }
  if (typeof v.fd === 'number') {
    const addr = typeof v.peerAddr === 'number' ? ipText(v.peerAddr) : '?';
    return `${v.fd} (peer ${addr}:${String(v.peerPort)})`;
  }
  return JSON.stringify(v);
}

function ipText(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/** How a call looks: `connect(c, B:80)`, using the step's names when there is one. */
function callText(e: Extract<TraceEvent, { type: 'call' }>, step: Step | undefined): string {
  const pid = e.pid !== 1 ? `[pid ${e.pid}] ` : '';
  if (!step || !('host' in step)) return `${pid}${e.op}(${e.fd ?? ''})`;
  const fd = 'fd' in step ? String(step.fd) : '';
  let args: string[];
  switch (step.op) {
    case 'socket':
    case 'fork':
      args = [];
      break;
    case 'bind':
      args = [fd, `${step.addr ?? '*'}:${step.port}`];
      break;
    case 'listen':
      args = step.backlog === undefined ? [fd] : [fd, String(step.backlog)];
      break;
    case 'connect':
      args = [fd, `${step.addr}:${step.port}`];
      break;
    case 'send': {
      const text =
        step.data !== undefined
          ? step.data.length <= 24
            ? JSON.stringify(step.data)
            : `${step.data.length} chars`
          : step.bytes !== undefined
            ? `${step.bytes} bytes`
            : `${(step.hex ?? '').length / 2} bytes`;
      args = [fd, text];
      break;
    }
    case 'recv':
      args = step.max === undefined ? [fd] : [fd, String(step.max)];
      break;
    case 'shutdown':
      args = [fd, step.how];
      break;
    case 'setsockopt':
      args = [fd, step.opt, typeof step.value === 'object' ? JSON.stringify(step.value) : String(step.value)];
      break;
    case 'getsockopt':
      args = [fd, step.opt];
      break;
    default:
      args = [fd];
  }
  return `${pid}${step.op}(${args.join(', ')})`;
}

function returnText(e: Extract<TraceEvent, { type: 'return' }>, step: Step | undefined): string {
  const r = e.result as { ok: boolean; value?: JsonValue; errno?: string };
  let s = r.ok ? `= ${valueText(r.value ?? null)}` : `= -1 ${r.errno}`;
  if (r.ok && step && 'as' in step && step.as !== undefined) s += ` → ${step.as}`;
  return s;
}

/** Draws the trace as a ladder. */
export function formatLadder(all: readonly TraceEvent[], opts: LadderOptions = {}): string {
  const hosts = opts.hosts ?? pickHosts(all);
  const [left, right] = hosts;
  const steps = opts.scenario?.steps ?? [];
  const lines: string[] = [];
  const header = (h: string) => (opts.addrs?.[h] ? `${h} ${opts.addrs[h]}` : h);
  lines.push(`${padLeft('t ms', TIME_W)}  ${pad(header(left), SIDE_W)} ${pad('', MID_W)} ${header(right)}`);
  lines.push(`${' '.repeat(TIME_W)}  ${'─'.repeat(SIDE_W + MID_W + SIDE_W + 2)}`);

  const put = (t: number, host: string | undefined, text: string, mid = '') => {
    let l = '';
    let r = '';
    if (host === left) l = text;
    else if (host === right) r = text;
    else if (host !== undefined) mid = `${host}: ${text}`;
    lines.push(`${padLeft(timeText(t), TIME_W)}  ${pad(l, SIDE_W)} ${pad(mid, MID_W)} ${r}`.trimEnd());
  };
  const putRightAligned = (t: number, host: string, text: string) => {
    if (host === left) {
      lines.push(`${padLeft(timeText(t), TIME_W)}  ${padLeft(text, SIDE_W)}`);
    } else put(t, host, text);
  };

  const trace = all.filter(
    (e) =>
      (e.type !== 'timer' ||
        e.action === 'fire' ||
        (e.action === 'set' && e.kind === 'time-wait') ||
        opts.timers) &&
      (e.type !== 'cc' || opts.cc) &&
      (e.type !== 'socket' || opts.sockets),
  );
  const merged = new Set<number>();
  for (let i = 0; i < trace.length; i++) {
    const e = trace[i]!;
    if (merged.has(i)) continue;
    switch (e.type) {
      case 'call': {
        const step = e.step === undefined ? undefined : steps[e.step];
        let text = callText(e, step);
        if (step?.note) text = `${text}  # ${step.note}`;
        // A call that returned at once shares its line with its return; what it caused follows.
        const j = immediateReturn(trace, i);
        if (j !== undefined) {
          put(
            e.t,
            e.host,
            `${text} ${returnText(trace[j] as Extract<TraceEvent, { type: 'return' }>, step)}`,
          );
          merged.add(j);
        } else put(e.t, e.host, `${text} …`);
        break;
      }
      case 'return': {
        const step = e.step === undefined ? undefined : steps[e.step];
        const name = step ? callText({ ...e, type: 'call', args: null }, step) : e.op;
        put(e.t, e.host, `${name} returns ${returnText(e, step).slice(2)}`);
        break;
      }
      case 'segment':
        i = segmentLines(trace, i, e, left, put, putRightAligned);
        break;
      case 'state':
        put(e.t, e.host, `sock ${e.sock}: ${e.from} → ${e.to}`);
        break;
      case 'timer':
        put(
          e.t,
          e.host,
          `${e.kind} timer ${timerVerb(e.action)}${e.action === 'set' ? ` (fires at ${timeText(e.deadline)})` : ''}`,
        );
        break;
      case 'discard':
        put(e.t, e.host, `${e.id === undefined ? 'segment' : `#${e.id}`} discarded: ${e.reason}`);
        break;
      case 'cc':
        put(e.t, e.host, `cwnd=${e.cwnd} ssthresh=${e.ssthresh} ${e.phase}`);
        break;
      case 'socket':
        put(e.t, e.host, `sock ${e.sock} ${e.action === 'create' ? 'created' : 'freed'}`);
        break;
      case 'link':
        put(e.t, undefined, '', `link ${e.from}→${e.to}: ${linkText(e.settings)}`);
        break;
      case 'rule':
        put(e.t, undefined, '', `rule ${e.action === 'add' ? '+' : '−'} ${ruleText(e.rule)}`);
        break;
      case 'hold':
        put(
          e.t,
          undefined,
          '',
          `hold ${e.on ? 'on' : 'off'} ${e.from === '*' ? 'everywhere' : `${e.from}→${e.to}`}`,
        );
        break;
      case 'error':
        put(e.t, undefined, '', `!! ${e.message}`);
        break;
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Index of the return of the call at `i` when it came at the same instant (the call did not block). */
function immediateReturn(trace: readonly TraceEvent[], i: number): number | undefined {
  const call = trace[i] as Extract<TraceEvent, { type: 'call' }>;
  for (let j = i + 1; j < trace.length; j++) {
    const e = trace[j]!;
    if (e.t !== call.t) return undefined;
    if (e.type === 'return' && e.host === call.host && e.callId === call.callId) return j;
    if (e.type === 'call' && e.host === call.host) return undefined;
  }
  return undefined;
}

function timerVerb(a: 'set' | 'fire' | 'cancel'): string {
  return a === 'fire' ? 'fired' : a === 'set' ? 'set' : 'cancelled';
}

function linkText(s: LinkSettings): string {
  return Object.entries(s)
    .filter(([k, v]) => v !== 0 || k === 'delayMs')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

function ruleText(rule: JsonValue): string {
  if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) return String(rule);
  const { id, action, ...rest } = rule;
  return `${String(id)}: ${String(action)} ${JSON.stringify(rest)}`;
}

type Put = (t: number, host: string | undefined, text: string, mid?: string) => void;
type PutRight = (t: number, host: string, text: string) => void;

/** Draws one segment event (merging a send with its immediate fate); returns the last index used. */
function segmentLines(
  trace: readonly TraceEvent[],
  i: number,
  e: SegmentTrace,
  left: string,
  put: Put,
  putRight: PutRight,
): number {
  const rightward = e.from === left;
  const label = `#${e.id} ${segmentText(e)}${e.rexmit ? ' (rexmit)' : ''}`;
  const next = trace[i + 1];
  const fate = next && next.type === 'segment' && next.id === e.id && next.t === e.t ? next : undefined;
  switch (e.event) {
    case 'send':
      if (fate?.event === 'drop') {
        put(e.t, undefined, '', `${arrow(`${label}`, rightward, '✕')} ${fate.reason}`);
        return i + 1;
      }
      if (fate?.event === 'hold') {
        put(e.t, undefined, '', `${arrow(`${label}`, rightward, '⏸')} held`);
        return i + 1;
      }
      put(e.t, undefined, '', arrow(label, rightward));
      return i;
    case 'arrive':
      if (e.to === left) putRight(e.t, e.to, `#${e.id} ◀`);
      else put(e.t, e.to, `▶ #${e.id}`);
      return i;
    case 'drop':
      put(e.t, undefined, '', `✕ #${e.id} dropped (${e.reason})`);
      return i;
    case 'dup':
      put(e.t, undefined, '', arrow(`#${e.id} copy of #${e.dupOf}`, rightward));
      return i;
    case 'hold':
      put(e.t, undefined, '', `⏸ #${e.id} held (${e.reason})`);
      return i;
    case 'release':
      put(e.t, undefined, '', `▷ #${e.id} released`);
      return i;
    case 'delay':
      put(e.t, undefined, '', `⧗ #${e.id} delayed +${e.delayMs} ms (${e.reason})`);
      return i;
    case 'corrupt':
      put(e.t, undefined, '', `≈ #${e.id} corrupted (${e.reason})`);
      return i;
  }
}

function pickHosts(trace: readonly TraceEvent[]): [string, string] {
  const seen: string[] = [];
  for (const e of trace) {
    const h = 'host' in e ? e.host : e.type === 'segment' ? e.from : undefined;
    if (h && !seen.includes(h)) seen.push(h);
  }
  seen.sort();
  return [seen[0] ?? 'A', seen[1] ?? 'B'];
}
