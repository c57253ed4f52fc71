/**
 * Recursive-descent parser for the packetdrill subset the TCP tests use. It follows the shape
 * of packetdrill's bison grammar (`parser.y`):
 *
 *   script   := option* init_command? event* cleanup_command?
 *   event    := time action
 *   time     := '+'? t | '*' | t '~' t | '+' t '~' '+' t        (t in seconds)
 *   action   := packet | syscall | `command` | %{ code }%
 *   packet   := ('<' | '>') [src '>' dst] flags seq:end(len) [ack n] [win n] [urg n] [<options>]
 *   syscall  := ['...' t] name '(' expr, … ')' '=' expr [ERRNO] ['(' note ')']
 *
 * Constructs outside the subset (UDP/ICMP packets, IP headers, ECN marks, TFO/MD5/AccECN
 * options, …) are recorded in `script.unsupported` with their text and the parser skips to the
 * next event, so one run reports every unsupported construct of a script.
 */
import type {
  Action,
  EventTime,
  Expr,
  PacketSpec,
  Script,
  ScriptEvent,
  SyscallSpec,
  TcpOptionSpec,
} from './ast.ts';
import { LexError, type Token, tokenize } from './lexer.ts';

export class ParseError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'ParseError';
  }
}

/** Thrown inside the parser for a recognised-but-unsupported construct; caught per event. */
class UnsupportedConstruct extends Error {
  constructor(
    readonly construct: string,
    readonly line: number,
  ) {
    super(construct);
  }
}

const FLAG_LETTERS = 'FSRP.UEWA';

/** Parses a whole script. Throws `ParseError` on a syntax error. */
export function parseScript(src: string, path = '<script>'): Script {
  let tokens: Token[];
  try {
    tokens = tokenize(src);
  } catch (e) {
    if (e instanceof LexError) throw new ParseError(e.message, e.line);
    throw e;
  }
  return new Parser(src, tokens, path).script();
}

class Parser {
  private pos = 0;

  constructor(
    private readonly src: string,
    private readonly tokens: Token[],
    private readonly path: string,
  ) {}

  script(): Script {
    const script: Script = {
      path: this.path,
      options: [],
      initCommand: undefined,
      events: [],
      cleanupCommand: undefined,
      unsupported: [],
    };
    while (this.peek().kind === 'option') {
      const opt = this.next();
      let value = '';
      if (this.isPunct('=') && this.peek().offset === opt.end) {
        // The value is raw text up to the next whitespace (`--local_ip=fd::1`, `--x=1.5`).
        const from = this.next().end;
        const m = /^[^\s]*/.exec(this.src.slice(from))!;
        value = m[0];
        while (this.peek().kind !== 'eof' && this.peek().offset < from + value.length) this.next();
      }
      script.options.push({ name: opt.text, value, line: opt.line });
    }
    if (this.peek().kind === 'command') {
      const t = this.next();
      script.initCommand = { command: t.text, line: t.line };
    }
    while (this.peek().kind !== 'eof') {
      if (this.peek().kind === 'command') {
        // A command without a time: the cleanup command, which must end the script.
        const t = this.next();
        if (this.peek().kind !== 'eof') throw new ParseError('command without a time', t.line);
        script.cleanupCommand = { command: t.text, line: t.line };
        break;
      }
      const start = this.pos;
      try {
        script.events.push(this.event());
      } catch (e) {
        if (!(e instanceof UnsupportedConstruct)) throw e;
        script.unsupported.push({ line: e.line, construct: e.construct });
        this.recover(start);
      }
    }
    return script;
  }

  // ---- events ------------------------------------------------------------------------------

  private event(): ScriptEvent {
    const first = this.peek();
    const time = this.eventTime();
    const action = this.action();
    const last = this.tokens[this.pos - 1]!;
    const text = this.src.slice(first.offset, last.end).replace(/\s+/g, ' ');
    if (time.kind === 'any' && !(action.kind === 'packet' && action.packet.direction === 'out')) {
      throw new ParseError('event time <star> can only be used with outbound packets', first.line);
    }
    if (
      (time.kind === 'absolute-range' || time.kind === 'relative-range') &&
      !(action.kind === 'packet' && action.packet.direction === 'out')
    ) {
      throw new ParseError('event time range can only be used with outbound packets', first.line);
    }
    return { line: first.line, time, action, text };
  }

  private eventTime(): EventTime {
    if (this.isPunct('*')) {
      this.next();
      return { kind: 'any' };
    }
    if (this.isPunct('+')) {
      this.next();
      const usecs = this.seconds();
      if (this.isPunct('~')) {
        this.next();
        this.expectPunct('+');
        const endUsecs = this.seconds();
        if (endUsecs < usecs) throw new ParseError('time range is backwards', this.peek().line);
        return { kind: 'relative-range', usecs, endUsecs };
      }
      return { kind: 'relative', usecs };
    }
    const usecs = this.seconds();
    if (this.isPunct('~')) {
      this.next();
      const endUsecs = this.seconds();
      if (endUsecs < usecs) throw new ParseError('time range is backwards', this.peek().line);
      return { kind: 'absolute-range', usecs, endUsecs };
    }
    return { kind: 'absolute', usecs };
  }

  /** A time in seconds (integer or float), returned in microseconds. */
  private seconds(): number {
    const t = this.next();
    if (t.kind !== 'int' && t.kind !== 'float') {
      throw new ParseError(`expected a time, got '${t.text}'`, t.line);
    }
    if (t.value < 0) throw new ParseError('negative time', t.line);
    return Math.round(t.value * 1e6);
  }

  private action(): Action {
    const t = this.peek();
    if (t.kind === 'punct' && (t.text === '<' || t.text === '>'))
      return { kind: 'packet', packet: this.packet() };
    if (t.kind === 'command') {
      this.next();
      return { kind: 'command', command: t.text };
    }
    if (t.kind === 'code') {
      this.next();
      return { kind: 'code', code: t.text };
    }
    if (t.kind === 'ellipsis' || (t.kind === 'word' && this.peekAt(1).text === '(')) {
      return { kind: 'syscall', syscall: this.syscall() };
    }
    throw new ParseError(`expected a packet, system call, command or code block, got '${t.text}'`, t.line);
  }

  // ---- packets -----------------------------------------------------------------------------

  private packet(): PacketSpec {
    const dirTok = this.next();
    const direction = dirTok.text === '<' ? 'in' : 'out';
    const w = this.peek();
    if (
      w.kind === 'word' &&
      (w.text === 'ipv4' || w.text === 'ipv6' || w.text === 'GREv0' || w.text === 'gre' || w.text === 'mpls')
    ) {
      throw new UnsupportedConstruct(`encapsulated packet '${w.text} …'`, w.line);
    }
    if (this.isPunct('(') || this.isPunct('[')) {
      throw new UnsupportedConstruct(`IP header info '${this.rawUntilClose()}'`, w.line);
    }
    if (w.kind === 'word' && (w.text === 'udp' || w.text === 'icmp' || w.text === 'encap')) {
      throw new UnsupportedConstruct(`${w.text} packet`, w.line);
    }
    let srcPort: number | undefined;
    let dstPort: number | undefined;
    if (this.peek().kind === 'int' && this.peekAt(1).text === '>') {
      srcPort = this.next().value;
      this.next();
      dstPort = this.expectInt();
    }
    const flagText = this.flags();
    const seqTok = this.peek();
    const seq = this.expectInt();
    this.expectPunct(':');
    const end = this.expectInt();
    this.expectPunct('(');
    const len = this.expectInt();
    this.expectPunct(')');
    if ((seq + len) >>> 0 !== end >>> 0) {
      throw new ParseError('inconsistent TCP sequence numbers and payload size', seqTok.line);
    }
    let ackNum = 0;
    let win: number | undefined;
    let urgPtr = 0;
    if (this.isWord('ack')) {
      this.next();
      ackNum = this.expectInt();
    }
    if (this.isWord('win')) {
      this.next();
      win = this.expectInt();
      if (win > 0xffff) throw new ParseError('TCP window value out of range', seqTok.line);
    }
    if (this.isWord('urg')) {
      this.next();
      urgPtr = this.expectInt();
    }
    let options: TcpOptionSpec[] | null = [];
    if (this.isPunct('<')) {
      this.next();
      if (this.peek().kind === 'ellipsis') {
        this.next();
        options = null;
      } else {
        options = this.tcpOptions();
      }
      this.expectPunct('>');
    }
    if (direction === 'in' && win === undefined) {
      throw new ParseError('window must be specified for inbound packets', dirTok.line);
    }
    if (direction === 'in' && options === null) {
      throw new ParseError('<...> for TCP options can only be used with outbound packets', dirTok.line);
    }
    const has = (c: string) => flagText.includes(c);
    return {
      direction,
      flagText,
      fin: has('F'),
      syn: has('S'),
      rst: has('R'),
      psh: has('P'),
      ack: has('.'),
      urg: has('U'),
      ece: has('E'),
      cwr: has('W'),
      seq: seq >>> 0,
      end: end >>> 0,
      len,
      ackNum: ackNum >>> 0,
      win,
      urgPtr,
      options,
      srcPort,
      dstPort,
    };
  }

  private flags(): string {
    const t = this.next();
    let text: string;
    if (t.kind === 'punct' && t.text === '.') text = '.';
    else if (t.kind === 'punct' && t.text === '-') text = '';
    else if (t.kind === 'word') {
      text = t.text;
      if (this.isPunct('.')) {
        this.next();
        text += '.';
      } else if (this.peek().kind === 'float' && this.peek().offset === t.end) {
        throw new UnsupportedConstruct(`AccECN flags '${t.text}${this.peek().text}'`, t.line);
      }
    } else if (t.kind === 'float' && t.text.startsWith('.')) {
      throw new UnsupportedConstruct(`AccECN flags '${t.text}'`, t.line);
    } else {
      throw new ParseError(`expected TCP flags, got '${t.text}'`, t.line);
    }
    for (const c of text) {
      if (!FLAG_LETTERS.includes(c)) throw new ParseError(`bad TCP flag '${c}' in '${text}'`, t.line);
    }
    if (text.includes('A')) throw new UnsupportedConstruct(`AE flag in '${text}'`, t.line);
    return text;
  }

  private tcpOptions(): TcpOptionSpec[] {
    const options: TcpOptionSpec[] = [];
    for (;;) {
      options.push(this.tcpOption());
      if (!this.isPunct(',')) break;
      this.next();
    }
    return options;
  }

  private tcpOption(): TcpOptionSpec {
    const t = this.next();
    if (t.kind !== 'word') throw new ParseError(`expected a TCP option, got '${t.text}'`, t.line);
    switch (t.text) {
      case 'nop':
        return { kind: 'nop' };
      case 'eol':
        return { kind: 'eol' };
      case 'mss':
        return { kind: 'mss', value: this.expectInt() };
      case 'wscale':
        return { kind: 'wscale', shift: this.expectInt() };
      case 'sackOK':
        return { kind: 'sackOK' };
      case 'sack': {
        const blocks: Array<[number, number]> = [];
        while (this.peek().kind === 'int') {
          const left = this.expectInt();
          this.expectPunct(':');
          blocks.push([left >>> 0, this.expectInt() >>> 0]);
        }
        if (blocks.length === 0) throw new ParseError('sack needs at least one block', t.line);
        return { kind: 'sack', blocks };
      }
      case 'TS': {
        this.expectWord('val');
        const val = this.expectInt();
        this.expectWord('ecr');
        const ecr = this.expectInt();
        return { kind: 'ts', val: val >>> 0, ecr: ecr >>> 0 };
      }
      case 'FO':
      case 'FOEXP':
      case 'md5':
      case 'ECN':
        throw new UnsupportedConstruct(`TCP option '${t.text}'`, t.line);
      default:
        throw new ParseError(`unknown TCP option '${t.text}'`, t.line);
    }
  }

  // ---- system calls ------------------------------------------------------------------------

  private syscall(): SyscallSpec {
    let endUsecs: number | undefined;
    if (this.peek().kind === 'ellipsis') {
      this.next();
      endUsecs = this.seconds();
    }
    const name = this.next().text;
    this.expectPunct('(');
    const args: Expr[] = [];
    if (!this.isPunct(')')) {
      for (;;) {
        args.push(this.expr());
        if (!this.isPunct(',')) break;
        this.next();
      }
    }
    this.expectPunct(')');
    this.expectPunct('=');
    const result = this.expr();
    let errno: string | undefined;
    let note: string | undefined;
    if (this.peek().kind === 'word' && /^E[A-Z0-9]+$/.test(this.peek().text)) {
      errno = this.next().text;
    }
    if (this.isPunct('(')) note = this.note();
    return { name, args, endUsecs, result, errno, note };
  }

  /** `( words … )` after a result: packetdrill ignores it; we keep its text. */
  private note(): string {
    const open = this.next();
    let depth = 1;
    const start = this.peek().offset;
    let end = start;
    while (depth > 0) {
      const t = this.next();
      if (t.kind === 'eof') throw new ParseError('unterminated note', open.line);
      if (t.text === '(' && t.kind === 'punct') depth++;
      if (t.text === ')' && t.kind === 'punct') depth--;
      if (depth > 0) end = t.end;
    }
    return this.src.slice(start, end);
  }

  private expr(): Expr {
    const first = this.term();
    if (!this.isPunct('|')) return first;
    const terms = [first];
    while (this.isPunct('|')) {
      this.next();
      terms.push(this.term());
    }
    return { kind: 'or', terms };
  }

  private term(): Expr {
    const t = this.next();
    switch (t.kind) {
      case 'ellipsis':
        return { kind: 'ellipsis' };
      case 'int':
      case 'hex':
        return { kind: 'int', value: t.value };
      case 'string': {
        let value = t.text;
        while (this.peek().kind === 'string') value += this.next().text;
        if (this.peek().kind === 'ellipsis') this.next();
        return { kind: 'string', value };
      }
      case 'word': {
        if (this.isPunct('(')) {
          this.next();
          const args: Expr[] = [];
          if (!this.isPunct(')')) {
            for (;;) {
              args.push(this.expr());
              if (!this.isPunct(',')) break;
              this.next();
            }
          }
          this.expectPunct(')');
          if (this.isPunct('=')) {
            this.next();
            return { kind: 'field', name: t.text, arg: args[0], value: this.expr() };
          }
          return { kind: 'call', name: t.text, args };
        }
        if (this.isPunct('=')) {
          this.next();
          return { kind: 'field', name: t.text, arg: undefined, value: this.expr() };
        }
        return { kind: 'word', name: t.text };
      }
      case 'punct':
        if (t.text === '[' || t.text === '{') {
          const close = t.text === '[' ? ']' : '}';
          const items: Expr[] = [];
          if (!this.isPunct(close)) {
            for (;;) {
              items.push(this.expr());
              if (!this.isPunct(',')) break;
              this.next();
            }
          }
          this.expectPunct(close);
          return t.text === '[' ? { kind: 'list', items } : { kind: 'struct', items };
        }
        break;
      default:
        break;
    }
    throw new ParseError(`unexpected '${t.text}' in expression`, t.line);
  }

  // ---- helpers -----------------------------------------------------------------------------

  /**
   * After an unsupported construct, skip to the next token that starts a line and can start
   * an event (a time), so the rest of the script is still checked.
   */
  private recover(start: number): void {
    let i = Math.max(this.pos, start + 1);
    const startLine = this.tokens[start]!.line;
    for (; i < this.tokens.length; i++) {
      const t = this.tokens[i]!;
      if (t.kind === 'eof') break;
      if (t.line === startLine) continue;
      const prev = this.tokens[i - 1]!;
      const startsLine = prev.line < t.line;
      const timeLike =
        t.kind === 'int' || t.kind === 'float' || (t.kind === 'punct' && (t.text === '+' || t.text === '*'));
      if (startsLine && timeLike) break;
      if (startsLine && t.kind === 'command' && this.tokens[i + 1]?.kind === 'eof') break;
    }
    this.pos = i;
  }

  private rawUntilClose(): string {
    const open = this.peek();
    const close = open.text === '(' ? ')' : ']';
    let i = this.pos;
    while (i < this.tokens.length && this.tokens[i]!.text !== close) i++;
    const last = this.tokens[Math.min(i, this.tokens.length - 1)]!;
    return this.src.slice(open.offset, last.end);
  }

  private peek(): Token {
    return this.tokens[this.pos]!;
  }

  private peekAt(k: number): Token {
    return this.tokens[Math.min(this.pos + k, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const t = this.tokens[this.pos]!;
    if (t.kind !== 'eof') this.pos++;
    return t;
  }

  private isPunct(text: string): boolean {
    const t = this.peek();
    return t.kind === 'punct' && t.text === text;
  }

  private isWord(text: string): boolean {
    const t = this.peek();
    return t.kind === 'word' && t.text === text;
  }

  private expectPunct(text: string): void {
    const t = this.next();
    if (t.kind !== 'punct' || t.text !== text) {
      throw new ParseError(`expected '${text}', got '${t.text || 'end of file'}'`, t.line);
    }
  }

  private expectWord(text: string): void {
    const t = this.next();
    if (t.kind !== 'word' || t.text !== text)
      throw new ParseError(`expected '${text}', got '${t.text}'`, t.line);
  }

  private expectInt(): number {
    const t = this.next();
    if (t.kind === 'word' && /^[A-Z_][A-Z0-9_]*$/.test(t.text)) {
      throw new UnsupportedConstruct(
        `symbol '${t.text}' (a -D definition) where a number is expected`,
        t.line,
      );
    }
    if (t.kind !== 'int' && t.kind !== 'hex')
      throw new ParseError(`expected an integer, got '${t.text}'`, t.line);
    return t.value;
  }
}
