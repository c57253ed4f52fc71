/**
 * The small part of Python that packetdrill's `%{ … }%` blocks use to check `tcp_info`:
 *
 *   assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd
 *   assert 5000 <= tcpi_rtt <= 20000, 'srtt=%d us' % tcpi_rtt
 *   assert (tcpi_options & TCPI_OPT_SYN_DATA) != 0, tcpi_options
 *   cwnd = 58; cwnd += 10; print(tcpi_snd_cwnd)
 *
 * Statements are separated by newlines or `;` (a trailing `\` continues a line), `#` starts a
 * comment. Expressions are integers, names, parentheses, the binary operators
 * `| ^ & << >> + - * // %`, unary `-`, and comparison chains. Anything else is reported as
 * unsupported with the exact statement, never silently passed.
 *
 * packetdrill runs all blocks of a script in one Python process, so variables assigned in one
 * block are visible in later ones; `CodeEnv.vars` carries them between blocks.
 */

/** Linux's values for the symbols packetdrill defines before every block (code.c). */
export const PYTHON_SYMBOLS: Readonly<Record<string, number>> = {
  TCP_ESTABLISHED: 1,
  TCP_SYN_SENT: 2,
  TCP_SYN_RECV: 3,
  TCP_FIN_WAIT1: 4,
  TCP_FIN_WAIT2: 5,
  TCP_TIME_WAIT: 6,
  TCP_CLOSE: 7,
  TCP_CLOSE_WAIT: 8,
  TCP_LAST_ACK: 9,
  TCP_LISTEN: 10,
  TCP_CLOSING: 11,
  TCP_CA_Open: 0,
  TCP_CA_Disorder: 1,
  TCP_CA_CWR: 2,
  TCP_CA_Recovery: 3,
  TCP_CA_Loss: 4,
  TCPI_OPT_TIMESTAMPS: 1,
  TCPI_OPT_SACK: 2,
  TCPI_OPT_WSCALE: 4,
  TCPI_OPT_ECN: 8,
  TCPI_OPT_ECN_SEEN: 16,
  TCPI_OPT_SYN_DATA: 32,
  TCPI_OPT_USEC_TS: 64,
  TCPI_OPT_TFO_CHILD: 128,
};

export type PyExpr =
  | { kind: 'num'; value: number }
  | { kind: 'name'; name: string }
  | { kind: 'unary'; op: '-' | '~'; arg: PyExpr }
  | { kind: 'bin'; op: string; lhs: PyExpr; rhs: PyExpr }
  | { kind: 'cmp'; operands: PyExpr[]; ops: string[] };

export type PyStmt =
  | { kind: 'assert'; test: PyExpr; text: string }
  | { kind: 'assign'; name: string; op: '=' | '+=' | '-='; value: PyExpr; text: string }
  | { kind: 'print'; text: string };

export type CodeParse = { ok: true; statements: PyStmt[] } | { ok: false; construct: string };

/** Parses a code block; on anything outside the subset returns the offending statement. */
export function parseCode(code: string): CodeParse {
  const statements: PyStmt[] = [];
  for (const raw of splitStatements(code)) {
    const text = raw.trim();
    if (text === '' || text === 'pass') continue;
    try {
      statements.push(parseStatement(text));
    } catch {
      return { ok: false, construct: text };
    }
  }
  return { ok: true, statements };
}

/** Names a parsed block reads (for checking that the engine knows every `tcpi_*` field). */
export function namesUsed(statements: PyStmt[]): string[] {
  const out = new Set<string>();
  const walk = (e: PyExpr) => {
    if (e.kind === 'name') out.add(e.name);
    else if (e.kind === 'unary') walk(e.arg);
    else if (e.kind === 'bin') {
      walk(e.lhs);
      walk(e.rhs);
    } else if (e.kind === 'cmp') e.operands.forEach(walk);
  };
  for (const s of statements) {
    if (s.kind === 'assert') walk(s.test);
    else if (s.kind === 'assign') walk(s.value);
  }
  return [...out];
}

export interface CodeEnv {
  /** Variables assigned by earlier blocks of the same script. */
  vars: Map<string, number>;
  /** `tcpi_*` values of the socket under test, or undefined for a field the engine lacks. */
  tcpi: (name: string) => number | undefined;
}

export type CodeOutcome =
  | { ok: true }
  | { ok: false; kind: 'assert'; statement: string; values: string }
  | { ok: false; kind: 'unsupported'; construct: string };

/** Runs the statements; stops at the first failed assertion. */
export function runCode(statements: PyStmt[], env: CodeEnv): CodeOutcome {
  for (const s of statements) {
    try {
      if (s.kind === 'print') continue;
      if (s.kind === 'assign') {
        const v = evaluate(s.value, env);
        const old = env.vars.get(s.name) ?? 0;
        env.vars.set(s.name, s.op === '=' ? v : s.op === '+=' ? old + v : old - v);
        continue;
      }
      if (evaluate(s.test, env) === 0) {
        const names = [...new Set(collectNames(s.test))].filter(
          (n) => n.startsWith('tcpi_') || env.vars.has(n),
        );
        const values = names.map((n) => `${n}=${lookup(n, env)}`).join(', ');
        return { ok: false, kind: 'assert', statement: s.text, values };
      }
    } catch (e) {
      if (e instanceof UnknownName) return { ok: false, kind: 'unsupported', construct: e.message };
      throw e;
    }
  }
  return { ok: true };
}

// ---- evaluation ------------------------------------------------------------------------------

class UnknownName extends Error {}

function lookup(name: string, env: CodeEnv): number {
  const v = env.vars.get(name);
  if (v !== undefined) return v;
  const sym = PYTHON_SYMBOLS[name];
  if (sym !== undefined) return sym;
  if (name.startsWith('tcpi_')) {
    const t = env.tcpi(name);
    if (t === undefined) throw new UnknownName(`${name} (a tcp_info field the engine does not report)`);
    return t;
  }
  throw new UnknownName(`name '${name}'`);
}

function collectNames(e: PyExpr): string[] {
  if (e.kind === 'name') return [e.name];
  if (e.kind === 'unary') return collectNames(e.arg);
  if (e.kind === 'bin') return [...collectNames(e.lhs), ...collectNames(e.rhs)];
  if (e.kind === 'cmp') return e.operands.flatMap(collectNames);
  return [];
}

/** Evaluates with Python semantics on integers; comparisons give 1 or 0. Uses BigInt for bit ops. */
function evaluate(e: PyExpr, env: CodeEnv): number {
  switch (e.kind) {
    case 'num':
      return e.value;
    case 'name':
      return lookup(e.name, env);
    case 'unary': {
      const v = evaluate(e.arg, env);
      return e.op === '-' ? -v : Number(~BigInt(v));
    }
    case 'bin': {
      const a = evaluate(e.lhs, env);
      const b = evaluate(e.rhs, env);
      switch (e.op) {
        case '+':
          return a + b;
        case '-':
          return a - b;
        case '*':
          return a * b;
        case '//':
          return Math.floor(a / b);
        case '%':
          return a - b * Math.floor(a / b);
        case '&':
          return Number(BigInt(a) & BigInt(b));
        case '|':
          return Number(BigInt(a) | BigInt(b));
        case '^':
          return Number(BigInt(a) ^ BigInt(b));
        case '<<':
          return Number(BigInt(a) << BigInt(b));
        case '>>':
          return Number(BigInt(a) >> BigInt(b));
        case 'and':
          return a !== 0 ? b : a;
        case 'or':
          return a !== 0 ? a : b;
        default:
          throw new Error(`operator ${e.op}`);
      }
    }
    case 'cmp': {
      let left = evaluate(e.operands[0]!, env);
      for (let i = 0; i < e.ops.length; i++) {
        const right = evaluate(e.operands[i + 1]!, env);
        const op = e.ops[i]!;
        const ok =
          op === '=='
            ? left === right
            : op === '!='
              ? left !== right
              : op === '<'
                ? left < right
                : op === '<='
                  ? left <= right
                  : op === '>'
                    ? left > right
                    : left >= right;
        if (!ok) return 0;
        left = right;
      }
      return 1;
    }
  }
}

// ---- parsing ---------------------------------------------------------------------------------

function splitStatements(code: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let depth = 0;
  for (let i = 0; i < code.length; i++) {
    const c = code[i]!;
    if (quote) {
      cur += c;
      if (c === '\\') cur += code[++i] ?? '';
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      cur += c;
    } else if (c === '#') {
      while (i + 1 < code.length && code[i + 1] !== '\n') i++;
    } else if (c === '\\' && code[i + 1] === '\n') {
      i++;
      cur += ' ';
    } else if (c === '(' || c === '[') {
      depth++;
      cur += c;
    } else if (c === ')' || c === ']') {
      depth--;
      cur += c;
    } else if ((c === ';' || c === '\n') && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function parseStatement(text: string): PyStmt {
  if (/^print\s*\(.*\)$/s.test(text)) return { kind: 'print', text };
  const assertMatch = /^assert\s+(.*)$/s.exec(text);
  if (assertMatch) {
    const toks = lex(assertMatch[1]!);
    const p = new ExprParser(toks);
    const test = p.test();
    // Optional `, message`: evaluated by Python only when the assertion fails; we skip it.
    if (!p.atEnd()) {
      if (!p.eat(',')) throw new Error('junk after assert');
    }
    return { kind: 'assert', test, text };
  }
  const assign = /^([A-Za-z_][A-Za-z0-9_]*)\s*(\+=|-=|=)(?!=)\s*(.*)$/s.exec(text);
  if (assign) {
    const p = new ExprParser(lex(assign[3]!));
    const value = p.test();
    if (!p.atEnd()) throw new Error('junk after assignment');
    return { kind: 'assign', name: assign[1]!, op: assign[2] as '=' | '+=' | '-=', value, text };
  }
  throw new Error('unsupported statement');
}

type PyTok =
  | { t: 'num'; v: number }
  | { t: 'name'; v: string }
  | { t: 'op'; v: string }
  | { t: 'str'; v: string };

function lex(s: string): PyTok[] {
  const out: PyTok[] = [];
  const re =
    /\s*(?:(0x[0-9a-fA-F]+|\d+)|([A-Za-z_][A-Za-z0-9_]*)|('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(==|!=|<=|>=|<<|>>|\/\/|[-+*%&|^~<>(),]))/y;
  let i = 0;
  while (i < s.length) {
    if (/^\s*$/.test(s.slice(i))) break;
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) throw new Error(`bad token at ${s.slice(i)}`);
    i = re.lastIndex;
    if (m[1] !== undefined) out.push({ t: 'num', v: Number(m[1]) });
    else if (m[2] !== undefined) out.push({ t: 'name', v: m[2] });
    else if (m[3] !== undefined) out.push({ t: 'str', v: m[3] });
    else out.push({ t: 'op', v: m[4]! });
  }
  return out;
}

const BIN_LEVELS: string[][] = [['|'], ['^'], ['&'], ['<<', '>>'], ['+', '-'], ['*', '//', '%']];
const CMP_OPS = new Set(['==', '!=', '<', '<=', '>', '>=']);

class ExprParser {
  private i = 0;
  constructor(private readonly toks: PyTok[]) {}

  atEnd(): boolean {
    return this.i >= this.toks.length;
  }

  eat(op: string): boolean {
    const t = this.toks[this.i];
    if (t && (t.t === 'op' || t.t === 'name') && t.v === op) {
      this.i++;
      return true;
    }
    return false;
  }

  /** `or` / `and` / `not` are rare; support `and`/`or` over comparisons. */
  test(): PyExpr {
    let e = this.comparison();
    for (;;) {
      if (this.eat('and')) e = { kind: 'bin', op: 'and', lhs: e, rhs: this.comparison() };
      else if (this.eat('or')) e = { kind: 'bin', op: 'or', lhs: e, rhs: this.comparison() };
      else return e;
    }
  }

  private comparison(): PyExpr {
    const first = this.binary(0);
    const operands = [first];
    const ops: string[] = [];
    for (;;) {
      const t = this.toks[this.i];
      if (t && t.t === 'op' && CMP_OPS.has(t.v)) {
        this.i++;
        ops.push(t.v);
        operands.push(this.binary(0));
      } else break;
    }
    return ops.length === 0 ? first : { kind: 'cmp', operands, ops };
  }

  private binary(level: number): PyExpr {
    if (level >= BIN_LEVELS.length) return this.unary();
    let lhs = this.binary(level + 1);
    for (;;) {
      const t = this.toks[this.i];
      if (t && t.t === 'op' && BIN_LEVELS[level]!.includes(t.v)) {
        this.i++;
        lhs = { kind: 'bin', op: t.v, lhs, rhs: this.binary(level + 1) };
      } else return lhs;
    }
  }

  private unary(): PyExpr {
    if (this.eat('-')) return { kind: 'unary', op: '-', arg: this.unary() };
    if (this.eat('~')) return { kind: 'unary', op: '~', arg: this.unary() };
    if (this.eat('+')) return this.unary();
    const t = this.toks[this.i++];
    if (!t) throw new Error('unexpected end');
    if (t.t === 'num') return { kind: 'num', value: t.v };
    if (t.t === 'name') {
      if (this.toks[this.i]?.t === 'op' && this.toks[this.i]!.v === '(') throw new Error('function call');
      return { kind: 'name', name: t.v };
    }
    if (t.t === 'op' && t.v === '(') {
      const e = this.test();
      if (!this.eat(')')) throw new Error('missing )');
      return e;
    }
    throw new Error(`unexpected ${t.v}`);
  }
}
