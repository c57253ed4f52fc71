/**
 * Text for calls and room inputs, strace-style: `connect(3, 10.0.0.2:80) = -1 ECONNREFUSED`,
 * `accept(3) = 4 (10.0.0.1:40181)`, `send(4, "hello") = 5`.
 */
import { ipToString } from '../../../shared/tcp/packet.ts';
import { resultBytes } from './endpoints.ts';
import type { WireResult } from './history.ts';

function quote(text: string, max = 16): string {
  const s = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(s);
}

function addr(v: unknown): string {
  if (typeof v === 'number') return ipToString(v >>> 0);
  if (typeof v === 'string') return v;
  return '?';
}

export function callArgsText(
  op: string,
  fd: number | undefined,
  args: Record<string, unknown>,
  pid = 1,
): string {
  const f = fd === undefined ? '' : String(fd);
  const prefix = pid !== 1 ? `[${pid}] ` : '';
  let inner: string;
  switch (op) {
    case 'socket':
    case 'fork':
      inner = '';
      break;
    case 'bind':
      inner = `${f}, ${args.addr !== undefined ? addr(args.addr) : '*'}:${args.port}`;
      break;
    case 'listen':
      inner = args.backlog !== undefined ? `${f}, ${args.backlog}` : f;
      break;
    case 'connect':
      inner = `${f}, ${addr(args.addr)}:${args.port}`;
      break;
    case 'send': {
      const d = args.data as { len?: number; text?: string; bytes?: number } | undefined;
      const len = d?.len ?? d?.bytes;
      inner = `${f}, ${d?.text !== undefined ? quote(d.text) : `${len ?? '?'} bytes`}`;
      break;
    }
    case 'recv':
      inner = args.max !== undefined ? `${f}, ${args.max}` : f;
      break;
    case 'shutdown':
      inner = `${f}, ${String(args.how)}`;
      break;
    case 'setsockopt': {
      const v = args.value;
      const val =
        v && typeof v === 'object'
          ? `{${(v as { onoff?: boolean }).onoff ? 1 : 0}, ${(v as { lingerSec?: number }).lingerSec ?? 0}}`
          : String(v);
      inner = `${f}, ${String(args.opt)}, ${val}`;
      break;
    }
    case 'getsockopt':
      inner = `${f}, ${String(args.opt)}`;
      break;
    default:
      inner = f;
  }
  return `${prefix}${op}(${inner})`;
}

export function resultText(op: string, r: WireResult | undefined): string {
  if (!r) return '…';
  if (!r.ok) return `-1 ${r.errno}`;
  const v = r.value;
  if (v === null || v === undefined) return '0';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (op === 'accept' && typeof v === 'object') {
    const a = v as { fd?: number; peerAddr?: number; peerPort?: number };
    return `${a.fd} (${addr(a.peerAddr)}:${a.peerPort})`;
  }
  if (op === 'recv' || op === 'getsockopt') {
    const b = resultBytes(v);
    if (b) return b.text !== undefined ? `${quote(b.text)} (${b.len})` : `${b.len} bytes`;
    if (typeof v === 'object') {
      const l = v as { onoff?: boolean; lingerSec?: number };
      if ('onoff' in l) return `{${l.onoff ? 1 : 0}, ${l.lingerSec ?? 0}}`;
    }
  }
  return JSON.stringify(v);
}

/** A room input (link change, fault rule, hold mode) as one line. */
export function inputText(e: { type: string; [k: string]: unknown }): string {
  switch (e.type) {
    case 'link': {
      const s = (e.settings ?? {}) as Record<string, unknown>;
      const parts = Object.entries(s).map(
        ([k, v]) => `${k}=${typeof v === 'number' ? +v.toFixed(3) : String(v)}`,
      );
      return `link ${e.from}→${e.to}: ${parts.join(' ')}`;
    }
    case 'rule': {
      const r = (e.rule ?? {}) as Record<string, unknown>;
      const what = [
        r.from ? `from ${r.from}` : '',
        Array.isArray(r.flags) && r.flags.length ? (r.flags as string[]).join('+') : '',
        r.data === true ? 'data' : '',
        r.segment ? `#${r.segment}` : '',
      ]
        .filter(Boolean)
        .join(' ');
      return `${e.action === 'add' ? '+' : '−'} rule ${r.id ?? ''}: ${String(r.action ?? '')} ${what}`.trim();
    }
    case 'hold':
      return `hold ${e.on ? 'on' : 'off'}${e.from && e.from !== '*' ? ` ${e.from}→${e.to}` : ''}`;
    case 'input':
      return `input: ${JSON.stringify(e.input)}`;
    case 'error':
      return `error: ${String(e.message)}`;
    default:
      return e.type;
  }
}
