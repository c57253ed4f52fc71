/**
 * Tokenizer for packetdrill scripts, following the token rules of packetdrill's flex lexer
 * (`gtests/net/packetdrill/lexer.l`): whitespace and `//`, `/* *\/` comments are skipped;
 * `%{ … }%` is one CODE token, `` `…` `` one COMMAND token; `...` is ELLIPSIS; numbers are
 * INTEGER, HEX or FLOAT (`.01`, `0.200`); `--name` is an OPTION; everything else that is
 * alphanumeric is a WORD, and any other character stands for itself.
 *
 * Keywords (`ack`, `win`, `TS`, …) stay WORDs: the parser gives them meaning by position.
 */

export type TokenKind =
  | 'int'
  | 'hex'
  | 'float'
  | 'word'
  | 'string'
  | 'command'
  | 'code'
  | 'option'
  | 'ellipsis'
  | 'ipv4'
  | 'punct'
  | 'eof';

export interface Token {
  kind: TokenKind;
  /** The token's text as written (for strings, commands and code: the inner text). */
  text: string;
  /** Numeric value of int, hex and float tokens. */
  value: number;
  /** 1-based line where the token starts. */
  line: number;
  /** 0-based offsets of the token's first character and one past its last, in the source. */
  offset: number;
  end: number;
}

export class LexError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
    this.name = 'LexError';
  }
}

const WORD_CHAR = /[A-Za-z0-9_]/;
const DIGIT = /[0-9]/;

/** Tokenizes a whole script. Throws `LexError` on an unterminated string, command or code block. */
export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  const n = src.length;

  const countLines = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (src.charCodeAt(k) === 10) line++;
  };
  const push = (kind: TokenKind, text: string, start: number, startLine: number, value = 0) => {
    tokens.push({ kind, text, value, line: startLine, offset: start, end: i });
  };

  while (i < n) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n' || c === '\f' || c === '\v') {
      if (c === '\n') line++;
      i++;
      continue;
    }
    const start = i;
    const startLine = line;
    // Comments.
    if (c === '/' && src[i + 1] === '/') {
      while (i < n && src[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) throw new LexError('unterminated /* comment', startLine);
      countLines(i, end + 2);
      i = end + 2;
      continue;
    }
    // Code snippet %{ ... }%.
    if (c === '%' && src[i + 1] === '{') {
      const end = src.indexOf('}%', i + 2);
      if (end < 0) throw new LexError('unterminated %{ code block', startLine);
      const inner = src.slice(i + 2, end).replace(/^[ \t]+|[ \t]+$/g, '');
      countLines(i, end + 2);
      i = end + 2;
      push('code', inner, start, startLine);
      continue;
    }
    // Back-quoted shell command.
    if (c === '`') {
      let j = i + 1;
      while (j < n && src[j] !== '`') j += src[j] === '\\' ? 2 : 1;
      if (j >= n) throw new LexError('unterminated ` command', startLine);
      const inner = src.slice(i + 1, j);
      countLines(i, j + 1);
      i = j + 1;
      push('command', inner, start, startLine);
      continue;
    }
    // Double-quoted string.
    if (c === '"') {
      let j = i + 1;
      while (j < n && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      if (j >= n) throw new LexError('unterminated string', startLine);
      const inner = src.slice(i + 1, j);
      countLines(i, j + 1);
      i = j + 1;
      push('string', inner, start, startLine);
      continue;
    }
    if (c === '.' && src[i + 1] === '.' && src[i + 2] === '.') {
      i += 3;
      push('ellipsis', '...', start, startLine);
      continue;
    }
    // --option (the value, if any, follows as '=' and a token).
    if (c === '-' && src[i + 1] === '-' && WORD_CHAR.test(src[i + 2] ?? '')) {
      let j = i + 2;
      while (j < n && WORD_CHAR.test(src[j]!)) j++;
      const name = src.slice(i + 2, j);
      i = j;
      push('option', name, start, startLine);
      continue;
    }
    // Numbers, IPv4 addresses and words. Longest match, as flex does.
    const numberLike = DIGIT.test(c) || (c === '-' && DIGIT.test(src[i + 1] ?? '')) || c === '.';
    if (numberLike || WORD_CHAR.test(c)) {
      const m = matchLongest(src, i);
      if (m) {
        i += m.text.length;
        push(m.kind, m.text, start, startLine, m.value);
        continue;
      }
    }
    i++;
    push('punct', c, start, startLine);
  }
  tokens.push({ kind: 'eof', text: '', value: 0, line, offset: n, end: n });
  return tokens;
}

interface Match {
  kind: TokenKind;
  text: string;
  value: number;
}

const RE_IPV4 = /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/;
const RE_FLOAT = /^-?[0-9]*\.[0-9]+/;
const RE_INT = /^-?[0-9]+/;
const RE_HEX = /^0x[0-9a-fA-F]+/;
const RE_WORD = /^[A-Za-z0-9_]+/;

/** Flex semantics: the longest match wins; on a tie the rule listed first in lexer.l wins. */
function matchLongest(src: string, at: number): Match | undefined {
  const rest = src.slice(at, at + 64);
  let best: Match | undefined;
  const consider = (kind: TokenKind, re: RegExp, value: (t: string) => number) => {
    const m = re.exec(rest);
    if (m && (!best || m[0].length > best.text.length)) best = { kind, text: m[0], value: value(m[0]) };
  };
  // Order = lexer.l order: FLOAT, INTEGER, HEX, WORD, …, IPV4 (last, but only wins when longer).
  consider('float', RE_FLOAT, Number);
  consider('int', RE_INT, Number);
  consider('hex', RE_HEX, (t) => Number.parseInt(t.slice(2), 16));
  consider('word', RE_WORD, () => 0);
  consider('ipv4', RE_IPV4, () => 0);
  return best;
}
