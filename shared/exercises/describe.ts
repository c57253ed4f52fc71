/**
 * Words for patterns ("a retransmitted FIN from A") and for the events of a trace
 * ("#7 FIN,ACK from A at t=1295 ms"), in both languages, for the explanations of unmet goals.
 */
import { flagsText } from '../sim/ladder.ts';
import type { SegmentTrace, TraceEvent } from '../sim/trace.ts';
import type { Pattern, SegmentPattern } from './format.ts';
import type { CallEvent, TraceIndex } from './match.ts';
import { at, type Lang, say } from './text.ts';

/** 1st, 2nd, 3rd, 4th… / 第 1 个. */
export function ordinal(lang: Lang, n: number, zhUnit = '个'): string {
  if (lang === 'zh-CN') return `第 ${n} ${zhUnit}`;
  const s = n % 100 >= 11 && n % 100 <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' }[n % 10] ?? 'th');
  return `${n}${s}`;
}

function other(host: string | undefined): string | undefined {
  return host === 'A' ? 'B' : host === 'B' ? 'A' : undefined;
}

/** The noun of a segment pattern: `FIN`, `pure ACK`, `data segment`, `ACK of B's FIN`. */
function segmentNoun(p: Omit<SegmentPattern, 'kind'>, lang: Lang): string {
  const flags = p.flags ?? [];
  const peer = other(p.from);
  if (p.acks !== undefined) {
    const whose = peer ?? say(lang, "the other side's", '对方');
    const other = flags.map((f) => f.toUpperCase()).filter((f) => f !== 'ACK');
    if (other.length > 0) {
      const noun = flagsText([...other, 'ACK']);
      return say(
        lang,
        `${noun} acknowledging ${peer ? `${whose}'s` : whose} ${p.acks}`,
        `确认${whose}${peer ? ' 的' : '的'} ${p.acks} 的 ${noun}`,
      );
    }
    return say(
      lang,
      `ACK of ${peer ? `${whose}'s` : whose} ${p.acks}`,
      `确认${whose}${peer ? ' 的' : '的'} ${p.acks} 的 ACK`,
    );
  }
  if (flags.length === 1 && flags[0] === 'ACK' && p.data === false) return say(lang, 'pure ACK', '纯 ACK');
  if (flags.length > 0) return flagsText(flags.map((f) => f.toUpperCase()));
  if (p.data === true) return say(lang, 'data segment', '数据报文段');
  return say(lang, 'segment', '报文段');
}

/** A pattern as a noun phrase: "a FIN from A (dropped)", "A 发出的 FIN（被丢弃）". */
export function describePattern(p: Pattern, lang: Lang, omitFrom = false): string {
  const nth = p.nth !== undefined ? `${ordinal(lang, p.nth)} ` : '';
  const nthTimes = p.nth !== undefined ? ordinal(lang, p.nth, '次') : '';
  switch (p.kind) {
    case 'segment':
    case 'retransmission': {
      const rexmit = p.kind === 'retransmission' || p.rexmit === true;
      const noun = segmentNoun(p, lang);
      const extras: string[] = [];
      if (p.why !== undefined) extras.push(Array.isArray(p.why) ? p.why.join('/') : p.why);
      if (p.kind === 'segment' && p.rexmit === false)
        extras.push(say(lang, 'first transmission', '首次发送'));
      if (p.option !== undefined)
        extras.push(say(lang, `with the ${p.option} option`, `带 ${p.option} 选项`));
      for (const k of ['rseq', 'rack', 'len', 'win'] as const) {
        if (p[k] !== undefined) extras.push(`${k}=${p[k]}`);
      }
      if (p.noFlags?.length && !(p.flags?.length === 1 && p.flags[0] === 'ACK' && p.data === false)) {
        extras.push(say(lang, `without ${p.noFlags.join('/')}`, `不带 ${p.noFlags.join('/')}`));
      }
      const event = p.event ?? 'send';
      const fate: Record<string, [string, string]> = {
        send: ['', ''],
        arrive: [`arriving${p.to ? ` at ${p.to}` : ''}`, `到达${p.to ?? ''}`],
        drop: ['dropped', '被丢弃'],
        dup: ['duplicated', '被复制'],
        hold: ['held', '被扣留'],
        release: ['released', '被放行'],
        delay: ['delayed', '被延迟'],
        corrupt: ['corrupted', '被损坏'],
      };
      const [fateEn, fateZh] = fate[event] ?? ['', ''];
      if (lang === 'en') {
        const body = `${nth}${rexmit ? 'retransmitted ' : ''}${noun}`;
        let s =
          p.from !== undefined && !omitFrom
            ? `${p.from}'s ${body}`
            : nth
              ? `the ${body}`
              : `${/^[AEIOUR]/.test(body) ? 'an' : 'a'} ${body}`;
        if (p.to !== undefined && event !== 'arrive') s += ` to ${p.to}`;
        const all = [...extras, ...(fateEn ? [fateEn] : [])];
        return all.length > 0 ? `${s} (${all.join(', ')})` : s;
      }
      let s =
        p.from !== undefined && !omitFrom
          ? `${p.from} ${rexmit ? '重传' : '发出'}的`
          : rexmit
            ? '重传的'
            : '';
      if (p.to !== undefined && event !== 'arrive') s += `发往 ${p.to} 的`;
      s += nth ? `${nth.trim()}${noun}` : `${/^[A-Za-z]/.test(noun) && s !== '' ? ' ' : ''}${noun}`;
      const all = [...extras, ...(fateZh ? [fateZh] : [])];
      return all.length > 0 ? `${s}（${all.join('，')}）` : s;
    }
    case 'state-reached': {
      const who = p.host ?? say(lang, 'a host', '某一端');
      if (p.from !== undefined) {
        return say(
          lang,
          `${who} going from ${p.from} to ${p.state}${nth ? ` (the ${nth}time)` : ''}`,
          `${who} ${nthTimes}从 ${p.from} 进入 ${p.state}`,
        );
      }
      return say(
        lang,
        `${who} entering ${p.state}${nth ? ` (the ${nth}time)` : ''}`,
        `${who} ${nthTimes}进入 ${p.state}`,
      );
    }
    case 'call': {
      const who = p.host ?? say(lang, 'a host', '某一端');
      const arg = p.how ?? p.opt ?? '';
      const call = `${p.op}(${arg})`;
      const result: string[] = [];
      if (p.errno !== undefined) result.push(say(lang, `failing with ${p.errno}`, `返回 ${p.errno}`));
      else if (p.ok === true) result.push(say(lang, 'succeeding', '成功'));
      else if (p.ok === false) result.push(say(lang, 'failing', '失败'));
      if (p.eof === true) result.push(say(lang, 'returning end-of-file (0 bytes)', '读到文件结束（返回 0）'));
      if (p.eof === false) result.push(say(lang, 'returning data', '读到数据'));
      if (lang === 'en') {
        return `${who}'s ${nth ? `${nth}` : ''}${call}${result.length ? ` ${result.join(', ')}` : ''}`;
      }
      return `${who} ${nthTimes}调用 ${call}${result.length ? `并${result.join('，')}` : ''}`;
    }
    case 'discard': {
      const who = p.host ?? say(lang, 'a host', '某一端');
      const why = p.reason ? ` (${p.reason})` : '';
      return say(
        lang,
        `${who} discarding ${nth ? `the ${nth}` : 'a '}segment${why}`,
        `${who} 丢弃${nth}到达的报文段${why ? `（${p.reason}）` : ''}`,
      );
    }
    case 'timer': {
      const who = p.host ?? say(lang, 'a host', '某一端');
      const act: Record<string, [string, string]> = {
        set: ['being set', '被设置'],
        fire: ['firing', '超时触发'],
        cancel: ['being cancelled', '被取消'],
      };
      const [en, zh] = act[p.action ?? ''] ?? ['running', '运行'];
      return say(lang, `${who}'s ${p.timer} timer ${en}`, `${who} 的 ${p.timer} 定时器${zh}`);
    }
    case 'cc': {
      const who = p.host ?? say(lang, 'a host', '某一端');
      const parts: string[] = [];
      if (p.minCwnd !== undefined) parts.push(`cwnd ≥ ${p.minCwnd}`);
      if (p.maxCwnd !== undefined) parts.push(`cwnd ≤ ${p.maxCwnd}`);
      const phase = p.phase ? say(lang, ` in ${p.phase}`, `（${p.phase} 阶段）`) : '';
      return say(
        lang,
        `${who}'s congestion window update${parts.length ? ` with ${parts.join(', ')}` : ''}${phase}`,
        `${who} 的拥塞窗口更新${parts.length ? `，${parts.join('，')}` : ''}${phase}`,
      );
    }
  }
}

/** A segment of the trace: "#7 FIN,ACK from A" / "A 发出的 #7 FIN,ACK". */
export function segmentName(e: SegmentTrace, lang: Lang): string {
  const flags = flagsText(e.flags) || '(none)';
  const data = e.len > 0 ? say(lang, ` with ${e.len} bytes`, `（${e.len} 字节数据）`) : '';
  return say(lang, `#${e.id} ${flags}${data} from ${e.from}`, `${e.from} 发出的 #${e.id} ${flags}${data}`);
}

/** A call of the trace: "A's close(c)" without the result. */
export function callName(e: CallEvent, lang: Lang): string {
  const args = (e.args ?? {}) as Record<string, unknown>;
  const arg = typeof args.how === 'string' ? args.how : typeof args.opt === 'string' ? args.opt : '';
  const pid = e.pid !== 1 ? say(lang, ` (pid ${e.pid})`, `（进程 ${e.pid}）`) : '';
  return say(lang, `${e.host}'s ${e.op}(${arg})${pid}`, `${e.host}${pid} 的 ${e.op}(${arg})`);
}

/** What a call returned: "0", "-1 ECONNREFUSED", "5 bytes", "end-of-file", or "still blocked". */
export function resultText(ix: TraceIndex, i: number, lang: Lang): string {
  const r = ix.returnOf(i);
  if (!r) return say(lang, 'is still blocked', '仍在阻塞');
  const res = r.result as { ok: boolean; errno?: string; value?: unknown };
  if (!res.ok) return say(lang, `returned -1 ${res.errno}`, `返回 -1 ${res.errno}`);
  const v = res.value as { bytes?: number; fd?: number } | number | null;
  if (typeof v === 'object' && v !== null && typeof v.bytes === 'number') {
    return v.bytes === 0
      ? say(lang, 'returned 0 (end-of-file)', '返回 0（文件结束）')
      : say(lang, `returned ${v.bytes} bytes`, `返回 ${v.bytes} 字节`);
  }
  if (typeof v === 'object' && v !== null && typeof v.fd === 'number')
    return say(lang, `returned ${v.fd}`, `返回 ${v.fd}`);
  return say(lang, `returned ${typeof v === 'number' ? v : 0}`, `返回 ${typeof v === 'number' ? v : 0}`);
}

/** Any event, briefly, with its time. */
export function eventName(ix: TraceIndex, i: number, lang: Lang): string {
  const e: TraceEvent = ix.events[i]!;
  switch (e.type) {
    case 'segment': {
      const fate: Record<string, [string, string]> = {
        send: ['sent', '发出'],
        arrive: ['arrived', '到达'],
        drop: ['dropped', '被丢弃'],
        dup: ['duplicated', '被复制'],
        hold: ['held', '被扣留'],
        release: ['released', '被放行'],
        delay: ['delayed', '被延迟'],
        corrupt: ['corrupted', '被损坏'],
      };
      const [en, zh] = fate[e.event] ?? [e.event, e.event];
      return say(
        lang,
        `${segmentName(e, lang)} (${en} at ${at(e.t)})`,
        `${segmentName(e, lang)}（${at(e.t)} ${zh}）`,
      );
    }
    case 'state':
      return say(
        lang,
        `${e.host} going ${e.from} → ${e.to} at ${at(e.t)}`,
        `${e.host} 在 ${at(e.t)} 从 ${e.from} 进入 ${e.to}`,
      );
    case 'call':
      return say(lang, `${callName(e, lang)} at ${at(e.t)}`, `${at(e.t)} 时 ${callName(e, lang)}`);
    case 'return': {
      const c = ix.callOf(i);
      const name = c ? callName(c, lang) : `${e.host} ${e.op}()`;
      return say(lang, `${name} returning at ${at(e.t)}`, `${name} 在 ${at(e.t)} 返回`);
    }
    case 'discard':
      return say(
        lang,
        `${e.host} discarding ${e.id !== undefined ? `#${e.id}` : 'a segment'} (${e.reason}) at ${at(e.t)}`,
        `${e.host} 在 ${at(e.t)} 丢弃${e.id !== undefined ? ` #${e.id}` : '报文段'}（${e.reason}）`,
      );
    case 'timer':
      return say(
        lang,
        `${e.host}'s ${e.kind} timer (${e.action}) at ${at(e.t)}`,
        `${e.host} 的 ${e.kind} 定时器在 ${at(e.t)}（${e.action}）`,
      );
    case 'cc':
      return say(
        lang,
        `${e.host}'s cwnd=${e.cwnd} (${e.phase}) at ${at(e.t)}`,
        `${e.host} 在 ${at(e.t)} 的 cwnd=${e.cwnd}（${e.phase}）`,
      );
    default:
      return `${e.type} ${at(e.t)}`;
  }
}

/** Why the segment at index `i` was sent: "sent by A's shutdown(SHUT_WR)". Empty when unknown. */
export function causeText(ix: TraceIndex, i: number, lang: Lang): string {
  const c = ix.causeOf(i);
  if (!c) return '';
  switch (c.kind) {
    case 'call':
      return say(lang, `sent by ${callName(c.call, lang)}`, `由 ${callName(c.call, lang)} 发出`);
    case 'timer':
      return say(
        lang,
        `sent when ${c.timer.host}'s ${c.timer.kind} timer fired`,
        `${c.timer.host} 的 ${c.timer.kind} 定时器超时后发出`,
      );
    case 'segment':
      return say(lang, `sent in answer to #${c.segment.id}`, `为回应 #${c.segment.id} 而发出`);
  }
}
