/**
 * Turns a script's system-call lines into calls our socket API can make, before anything runs.
 * A call the engine cannot make (an unknown syscall, socket option, flag or argument shape) is
 * reported as unsupported with the exact text, so a script is never half-run and then passed.
 *
 * Symbols take Linux's values, as packetdrill's `symbols_linux.c` gives them.
 */
import type { Errno, Linger, SockOpt } from '../tcp/types.ts';
import type { Expr, SyscallSpec } from './ast.ts';

/** Linux errno numbers (asm-generic/errno.h), for SO_ERROR values and `= -1 E…` checks. */
export const ERRNO_NUMBERS: Readonly<Record<string, number>> = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  EWOULDBLOCK: 11,
  ENOMEM: 12,
  EFAULT: 14,
  EEXIST: 17,
  EINVAL: 22,
  EMFILE: 24,
  EPIPE: 32,
  ENOTSOCK: 88,
  EMSGSIZE: 90,
  ENOPROTOOPT: 92,
  EOPNOTSUPP: 95,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETUNREACH: 101,
  ECONNABORTED: 103,
  ECONNRESET: 104,
  EISCONN: 106,
  ENOTCONN: 107,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EHOSTUNREACH: 113,
  EALREADY: 114,
  EINPROGRESS: 115,
  ESRCH: 3,
};

/** Other symbols scripts use as integers. */
const SYMBOLS: Readonly<Record<string, number>> = {
  AF_INET: 2,
  AF_INET6: 10,
  SOCK_STREAM: 1,
  SOCK_NONBLOCK: 0o4000,
  IPPROTO_TCP: 6,
  IPPROTO_IP: 0,
  SOL_SOCKET: 1,
  SOL_TCP: 6,
  O_RDONLY: 0,
  O_WRONLY: 1,
  O_RDWR: 2,
  O_NONBLOCK: 0o4000,
  F_DUPFD: 0,
  F_GETFL: 3,
  F_SETFL: 4,
  MSG_PEEK: 2,
  MSG_DONTWAIT: 0x40,
  MSG_EOR: 0x80,
  MSG_MORE: 0x8000,
  MSG_ZEROCOPY: 0x4000000,
  SHUT_RD: 0,
  SHUT_WR: 1,
  SHUT_RDWR: 2,
};

const SOCKOPTS: Readonly<Record<string, { level: 'SOL_SOCKET' | 'SOL_TCP'; opt: SockOpt }>> = {
  SO_REUSEADDR: { level: 'SOL_SOCKET', opt: 'SO_REUSEADDR' },
  SO_LINGER: { level: 'SOL_SOCKET', opt: 'SO_LINGER' },
  SO_RCVBUF: { level: 'SOL_SOCKET', opt: 'SO_RCVBUF' },
  SO_SNDBUF: { level: 'SOL_SOCKET', opt: 'SO_SNDBUF' },
  SO_KEEPALIVE: { level: 'SOL_SOCKET', opt: 'SO_KEEPALIVE' },
  SO_ERROR: { level: 'SOL_SOCKET', opt: 'SO_ERROR' },
  TCP_NODELAY: { level: 'SOL_TCP', opt: 'TCP_NODELAY' },
  TCP_MAXSEG: { level: 'SOL_TCP', opt: 'TCP_MAXSEG' },
  TCP_CORK: { level: 'SOL_TCP', opt: 'TCP_CORK' },
  TCP_USER_TIMEOUT: { level: 'SOL_TCP', opt: 'TCP_USER_TIMEOUT' },
};

/** What the script expects a call to return. */
export interface Expected {
  /** The return value; undefined for `= ...`. */
  value: number | undefined;
  errno: string | undefined;
}

/** A checked value written back through a pointer argument (`[1100]`, `{onoff=1, linger=0}`). */
export type OutValue = { kind: 'int'; value: number } | { kind: 'linger'; value: Linger } | { kind: 'any' };

export type CompiledCall =
  | { op: 'socket'; nonblocking: boolean }
  | { op: 'bind'; fd: number; port: number | undefined; addr: number | undefined }
  | { op: 'listen'; fd: number; backlog: number }
  | { op: 'connect'; fd: number; port: number | undefined; addr: number | undefined }
  | { op: 'accept'; fd: number }
  | { op: 'write'; fd: number; len: number; more: boolean }
  | { op: 'read'; fd: number; max: number; peek: boolean }
  | { op: 'close'; fd: number }
  | { op: 'shutdown'; fd: number; how: 'SHUT_RD' | 'SHUT_WR' | 'SHUT_RDWR' }
  | { op: 'setsockopt'; fd: number; opt: SockOpt; value: number | Linger }
  | { op: 'getsockopt'; fd: number; opt: SockOpt; out: OutValue }
  | { op: 'getfl'; fd: number }
  | { op: 'setfl'; fd: number; nonblocking: boolean }
  | { op: 'dup'; fd: number }
  | { op: 'inq'; fd: number; out: OutValue }
  | { op: 'outq'; fd: number; out: OutValue };

export type CompileResult =
  | { ok: true; call: CompiledCall; expected: Expected; blocking: boolean }
  | { ok: false; construct: string };

class Unsupported extends Error {}

/** Compiles one syscall line; `text` is the line as written, for messages. */
export function compileSyscall(spec: SyscallSpec, text: string): CompileResult {
  try {
    const call = compile(spec);
    const expected = compileExpected(spec);
    return { ok: true, call, expected, blocking: spec.endUsecs !== undefined };
  } catch (e) {
    if (e instanceof Unsupported) return { ok: false, construct: `${e.message} in \`${text}\`` };
    throw e;
  }
}

function compileExpected(spec: SyscallSpec): Expected {
  const r = spec.result;
  let value: number | undefined;
  if (r.kind === 'ellipsis') value = undefined;
  else value = intOf(r);
  if (spec.errno !== undefined && ERRNO_NUMBERS[spec.errno] === undefined) {
    throw new Unsupported(`errno ${spec.errno}`);
  }
  return { value, errno: spec.errno };
}

function compile(spec: SyscallSpec): CompiledCall {
  const a = spec.args;
  const arity = (n: number) => {
    if (a.length !== n) throw new Unsupported(`${spec.name} with ${a.length} arguments`);
  };
  const fd = () => intOf(a[0]!);
  switch (spec.name) {
    case 'socket': {
      arity(3);
      const type = intOf(a[1]!);
      if ((type & ~SYMBOLS.SOCK_NONBLOCK!) !== SYMBOLS.SOCK_STREAM)
        throw new Unsupported('a socket type other than SOCK_STREAM');
      const proto = intOf(a[2]!);
      if (proto !== SYMBOLS.IPPROTO_TCP && proto !== 0) throw new Unsupported('a protocol other than TCP');
      return { op: 'socket', nonblocking: (type & SYMBOLS.SOCK_NONBLOCK!) !== 0 };
    }
    case 'bind':
    case 'connect': {
      arity(3);
      const addr = sockaddrOf(a[1]!);
      return { op: spec.name, fd: fd(), port: addr?.port, addr: addr?.addr };
    }
    case 'listen':
      arity(2);
      return { op: 'listen', fd: fd(), backlog: intOf(a[1]!) };
    case 'accept':
      arity(3);
      if (a[1]!.kind !== 'ellipsis') throw new Unsupported('accept() with an address argument');
      return { op: 'accept', fd: fd() };
    case 'write':
      arity(3);
      return { op: 'write', fd: fd(), len: intOf(a[2]!), more: false };
    case 'send': {
      arity(4);
      const flags = intOf(a[3]!);
      return { op: 'write', fd: fd(), len: intOf(a[2]!), more: sendFlags(flags) };
    }
    case 'writev':
      arity(3);
      return { op: 'write', fd: fd(), len: iovLength(a[1]!), more: false };
    case 'sendmsg': {
      arity(3);
      const msg = msghdrOf(a[1]!);
      return { op: 'write', fd: fd(), len: msg.len, more: sendFlags(intOf(a[2]!)) };
    }
    case 'read':
      arity(3);
      return { op: 'read', fd: fd(), max: intOf(a[2]!), peek: false };
    case 'recv': {
      arity(4);
      const flags = intOf(a[3]!);
      if (flags & ~SYMBOLS.MSG_PEEK!) throw new Unsupported(`recv flags ${flags}`);
      return { op: 'read', fd: fd(), max: intOf(a[2]!), peek: flags !== 0 };
    }
    case 'readv':
      arity(3);
      return { op: 'read', fd: fd(), max: iovLength(a[1]!), peek: false };
    case 'recvmsg': {
      arity(3);
      const msg = msghdrOf(a[1]!);
      const flags = intOf(a[2]!);
      if (flags & ~SYMBOLS.MSG_PEEK!) throw new Unsupported(`recvmsg flags ${flags}`);
      return { op: 'read', fd: fd(), max: msg.len, peek: flags !== 0 };
    }
    case 'close':
      arity(1);
      return { op: 'close', fd: fd() };
    case 'shutdown': {
      arity(2);
      const how = intOf(a[1]!);
      const name = (['SHUT_RD', 'SHUT_WR', 'SHUT_RDWR'] as const)[how];
      if (!name) throw new Unsupported(`shutdown how=${how}`);
      return { op: 'shutdown', fd: fd(), how: name };
    }
    case 'setsockopt': {
      arity(5);
      const o = sockoptOf(a[1]!, a[2]!);
      let value: number | Linger;
      if (o === 'SO_LINGER') value = lingerOf(a[3]!);
      else value = listIntOf(a[3]!);
      return { op: 'setsockopt', fd: fd(), opt: o, value };
    }
    case 'getsockopt': {
      arity(5);
      const o = sockoptOf(a[1]!, a[2]!);
      const out: OutValue = o === 'SO_LINGER' ? { kind: 'linger', value: lingerOf(a[3]!) } : outOf(a[3]!);
      return { op: 'getsockopt', fd: fd(), opt: o, out };
    }
    case 'fcntl': {
      if (a.length !== 2 && a.length !== 3) throw new Unsupported(`fcntl with ${a.length} arguments`);
      const cmd = intOf(a[1]!);
      if (cmd === SYMBOLS.F_GETFL && a.length === 2) return { op: 'getfl', fd: fd() };
      if (cmd === SYMBOLS.F_SETFL && a.length === 3) {
        const flags = intOf(a[2]!);
        if (flags & ~(SYMBOLS.O_NONBLOCK! | SYMBOLS.O_RDWR!)) throw new Unsupported(`F_SETFL flags ${flags}`);
        return { op: 'setfl', fd: fd(), nonblocking: (flags & SYMBOLS.O_NONBLOCK!) !== 0 };
      }
      if (cmd === SYMBOLS.F_DUPFD && a.length === 3) return { op: 'dup', fd: fd() };
      throw new Unsupported(`fcntl command ${exprText(a[1]!)}`);
    }
    case 'ioctl': {
      arity(3);
      const req = a[1]!;
      const name = req.kind === 'word' ? req.name : '';
      if (name === 'SIOCINQ' || name === 'FIONREAD') return { op: 'inq', fd: fd(), out: outOf(a[2]!) };
      if (name === 'SIOCOUTQ' || name === 'TIOCOUTQ') return { op: 'outq', fd: fd(), out: outOf(a[2]!) };
      throw new Unsupported(`ioctl ${exprText(req)}`);
    }
    default:
      throw new Unsupported(`system call ${spec.name}()`);
  }
}

function sendFlags(flags: number): boolean {
  if (flags & ~SYMBOLS.MSG_MORE!) {
    const names = Object.entries(SYMBOLS)
      .filter(([k, v]) => k.startsWith('MSG_') && flags & v && k !== 'MSG_MORE')
      .map(([k]) => k);
    throw new Unsupported(`send flag ${names.join('|') || flags}`);
  }
  return (flags & SYMBOLS.MSG_MORE!) !== 0;
}

function sockoptOf(levelExpr: Expr, optExpr: Expr): SockOpt {
  if (optExpr.kind !== 'word') throw new Unsupported(`socket option ${exprText(optExpr)}`);
  const o = SOCKOPTS[optExpr.name];
  if (!o) throw new Unsupported(`socket option ${optExpr.name}`);
  const level = levelExpr.kind === 'word' ? levelExpr.name : '';
  const okLevel =
    o.level === 'SOL_SOCKET' ? level === 'SOL_SOCKET' : level === 'SOL_TCP' || level === 'IPPROTO_TCP';
  if (!okLevel) throw new Unsupported(`socket option ${optExpr.name} at level ${exprText(levelExpr)}`);
  return o.opt;
}

/** `[n]` → n */
function listIntOf(e: Expr): number {
  if (e.kind === 'list' && e.items.length === 1) return intOf(e.items[0]!);
  if (e.kind === 'int') return e.value;
  throw new Unsupported(`option value ${exprText(e)}`);
}

function outOf(e: Expr): OutValue {
  if (e.kind === 'ellipsis') return { kind: 'any' };
  return { kind: 'int', value: listIntOf(e) };
}

function lingerOf(e: Expr): Linger {
  if (e.kind !== 'struct') throw new Unsupported(`SO_LINGER value ${exprText(e)}`);
  let onoff: number | undefined;
  let linger: number | undefined;
  for (const it of e.items) {
    if (it.kind === 'field' && it.name === 'onoff') onoff = intOf(it.value);
    else if (it.kind === 'field' && it.name === 'linger') linger = intOf(it.value);
    else throw new Unsupported(`SO_LINGER value ${exprText(e)}`);
  }
  if (onoff === undefined || linger === undefined) throw new Unsupported(`SO_LINGER value ${exprText(e)}`);
  return { onoff: onoff !== 0, lingerSec: linger };
}

function sockaddrOf(e: Expr): { port: number; addr: number } | undefined {
  if (e.kind === 'ellipsis') return undefined;
  if (e.kind !== 'struct') throw new Unsupported(`address ${exprText(e)}`);
  let port: number | undefined;
  let addr: number | undefined;
  for (const it of e.items) {
    if (it.kind !== 'field') throw new Unsupported(`address ${exprText(e)}`);
    const v = it.value;
    if (it.name === 'sa_family') {
      if (!(v.kind === 'word' && v.name === 'AF_INET'))
        throw new Unsupported(`address family ${exprText(v)}`);
    } else if (it.name === 'sin_port') {
      port = v.kind === 'call' && v.name === 'htons' && v.args.length === 1 ? intOf(v.args[0]!) : intOf(v);
    } else if (it.name === 'sin_addr') {
      if (v.kind === 'call' && v.name === 'inet_addr' && v.args[0]?.kind === 'string') {
        const parts = v.args[0].value.split('.').map(Number);
        if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255)))
          throw new Unsupported(`address ${v.args[0].value}`);
        addr = ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
      } else throw new Unsupported(`address ${exprText(v)}`);
    } else throw new Unsupported(`address field ${it.name}`);
  }
  if (port === undefined) throw new Unsupported(`address ${exprText(e)}`);
  return { port, addr: addr ?? 0 };
}

/** `[{..., 100}, {..., 200}]` → 300 */
function iovLength(e: Expr): number {
  if (e.kind !== 'list') throw new Unsupported(`iovec ${exprText(e)}`);
  let total = 0;
  for (const it of e.items) {
    if (it.kind !== 'struct' || it.items.length !== 2 || it.items[0]!.kind !== 'ellipsis') {
      throw new Unsupported(`iovec ${exprText(it)}`);
    }
    total += intOf(it.items[1]!);
  }
  return total;
}

/** `{msg_name(...)=..., msg_iov(1)=[{..., 40}], msg_flags=0}` without control messages. */
function msghdrOf(e: Expr): { len: number } {
  if (e.kind !== 'struct') throw new Unsupported(`msghdr ${exprText(e)}`);
  let len: number | undefined;
  for (const it of e.items) {
    if (it.kind !== 'field') throw new Unsupported(`msghdr ${exprText(e)}`);
    if (it.name === 'msg_name') continue;
    if (it.name === 'msg_iov') len = iovLength(it.value);
    else if (it.name === 'msg_flags') {
      if (intOf(it.value) !== 0) throw new Unsupported(`msg_flags=${exprText(it.value)}`);
    } else if (it.name === 'msg_control') {
      if (!(it.value.kind === 'list' && it.value.items.length === 0))
        throw new Unsupported('control messages (msg_control)');
    } else throw new Unsupported(`msghdr field ${it.name}`);
  }
  if (len === undefined) throw new Unsupported('msghdr without msg_iov');
  return { len };
}

export function intOf(e: Expr): number {
  switch (e.kind) {
    case 'int':
      return e.value;
    case 'word': {
      const v = SYMBOLS[e.name] ?? ERRNO_NUMBERS[e.name];
      if (v === undefined) throw new Unsupported(`symbol ${e.name}`);
      return v;
    }
    case 'or':
      return e.terms.reduce((acc, t) => acc | intOf(t), 0);
    default:
      throw new Unsupported(`argument ${exprText(e)}`);
  }
}

export function exprText(e: Expr): string {
  switch (e.kind) {
    case 'ellipsis':
      return '...';
    case 'int':
      return String(e.value);
    case 'word':
      return e.name;
    case 'string':
      return JSON.stringify(e.value);
    case 'or':
      return e.terms.map(exprText).join('|');
    case 'list':
      return `[${e.items.map(exprText).join(', ')}]`;
    case 'struct':
      return `{${e.items.map(exprText).join(', ')}}`;
    case 'field':
      return `${e.name}${e.arg ? `(${exprText(e.arg)})` : ''}=${exprText(e.value)}`;
    case 'call':
      return `${e.name}(${e.args.map(exprText).join(', ')})`;
  }
}

/** Errno names our engine can return, to check a script's `= -1 E…` against. */
export function isEngineErrno(name: string): name is Errno {
  return name in ERRNO_NUMBERS;
}
