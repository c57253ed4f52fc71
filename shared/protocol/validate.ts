/**
 * Parsing and validating client messages, in protocol order (ws's receiver style): size, JSON,
 * envelope (`type`, `id`), then the schema of that type. Each failure is a returned value naming
 * the problem and, for schema errors, the offending field as a JSON pointer. Never throws.
 */
import { type TObject, type TSchema, Type } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import {
  CALL_SCHEMAS,
  CLIENT_SCHEMAS,
  type ClientMessage,
  type ClientType,
  type ErrorCode,
} from './messages.ts';

export interface ParseError {
  code: ErrorCode;
  message: string;
  /** The request id, when the envelope was readable enough to find one. */
  re: number | null;
  path?: string;
}

export type ParseResult = { ok: true; msg: ClientMessage } | { ok: false; error: ParseError };

/**
 * Compiled schemas by name, each compiled when first needed: compiling all of them took a
 * noticeable part of a server's start, and most starts see only a few kinds of message soon.
 */
class Checkers {
  private readonly compiled = new Map<string, TypeCheck<TObject>>();
  constructor(private readonly schemas: Readonly<Record<string, TSchema>>) {}

  has(name: string): boolean {
    return Object.hasOwn(this.schemas, name);
  }

  get(name: string): TypeCheck<TObject> | undefined {
    let check = this.compiled.get(name);
    if (check === undefined && this.has(name)) {
      check = TypeCompiler.Compile(this.schemas[name] as TObject);
      this.compiled.set(name, check);
    }
    return check;
  }

  names(): string[] {
    return Object.keys(this.schemas);
  }
}

const checkers = new Checkers(CLIENT_SCHEMAS);
const callCheckers = new Checkers(CALL_SCHEMAS);

/**
 * `sock.call` without its call (any value there): once the call has passed its op's own schema,
 * the rest is checked with this, not the whole message again through the union of every op.
 */
const sockCallEnvelope = new Checkers({
  'sock.call': Type.Object(
    { ...(CLIENT_SCHEMAS['sock.call'] as TObject).properties, call: Type.Unknown() },
    { additionalProperties: false },
  ),
});

export function isClientType(type: string): type is ClientType {
  return checkers.has(type);
}

/** `bytes` is the message's UTF-8 length, measured by the caller before decoding. */
export function parseClientMessage(text: string, bytes: number, maxBytes: number): ParseResult {
  if (bytes > maxBytes)
    return fail('TCPLAB_TOO_BIG', `message of ${bytes} bytes exceeds the ${maxBytes}-byte limit`, null);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return fail('TCPLAB_BAD_JSON', `message is not valid JSON: ${(e as Error).message}`, null);
  }
  return validateClientMessage(value);
}

export function validateClientMessage(value: unknown): ParseResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return fail('TCPLAB_BAD_MESSAGE', `message must be a JSON object, got ${describe(value)}`, null);
  const obj = value as Record<string, unknown>;
  const id = obj.id;
  const re = Number.isSafeInteger(id) && (id as number) >= 0 ? (id as number) : null;
  if (id !== undefined && re === null)
    return fail(
      'TCPLAB_INVALID',
      `field "id" must be a non-negative integer, got ${describe(id)}`,
      null,
      '/id',
    );
  const type = obj.type;
  if (typeof type !== 'string')
    return fail('TCPLAB_BAD_MESSAGE', `field "type" must be a string, got ${describe(type)}`, re, '/type');
  const check = checkers.get(type);
  if (!check) return fail('TCPLAB_UNKNOWN_TYPE', `unknown message type "${clip(type)}"`, re, '/type');
  if (type === 'sock.call') {
    // Name the problem inside the call's own schema, not "expected union value".
    const call = obj.call;
    if (typeof call === 'object' && call !== null && !Array.isArray(call)) {
      const op = (call as Record<string, unknown>).op;
      const callCheck = typeof op === 'string' ? callCheckers.get(op) : undefined;
      if (!callCheck) {
        const known = callCheckers.names().join(', ');
        return fail(
          'TCPLAB_INVALID',
          `sock.call: field /call/op must be one of ${known}, got ${describe(op)}`,
          re,
          '/call/op',
        );
      }
      const bad = firstError(`sock.call ${op}`, callCheck, call, '/call');
      if (bad) return fail('TCPLAB_INVALID', bad.message, re, bad.path);
      if (sockCallEnvelope.get('sock.call')!.Check(value)) return { ok: true, msg: value as ClientMessage };
      // Else the whole schema below names the problem, as for any message.
    }
  }
  const bad = firstError(type, check, value, '');
  if (bad) return fail('TCPLAB_INVALID', bad.message, re, bad.path);
  return { ok: true, msg: value as ClientMessage };
}

function firstError(
  what: string,
  check: TypeCheck<TObject>,
  value: unknown,
  prefix: string,
): { message: string; path: string } | undefined {
  const bad = schemaError(check, value);
  if (!bad) return undefined;
  const path = `${prefix}${bad.path}` || '/';
  return { message: `${what}: ${path === '/' ? 'message' : `field ${path}`} ${bad.detail}`, path };
}

/**
 * The first thing wrong with `value` against a compiled schema, as a JSON pointer (empty for the
 * value itself) and a sentence: "must be one of A, B, wire, got the string \"C\"". Undefined when
 * it matches. Used for the WebSocket messages here and for the HTTP routes' schemas.
 */
export function schemaError(
  check: TypeCheck<TSchema>,
  value: unknown,
): { path: string; detail: string } | undefined {
  if (check.Check(value)) return undefined;
  const first = check.Errors(value).First();
  let detail = first ? lower(first.message) : 'does not match the schema';
  const options = (first?.schema as { anyOf?: Array<{ const?: unknown }> } | undefined)?.anyOf;
  if (options?.every((o) => o.const !== undefined))
    detail = `must be one of ${options.map((o) => String(o.const)).join(', ')}`;
  const got = first?.path ? `, got ${describe(first.value)}` : '';
  return { path: first?.path ?? '', detail: `${detail}${got}` };
}

function fail(code: ErrorCode, message: string, re: number | null, path?: string): ParseResult {
  const error: ParseError = { code, message, re };
  if (path !== undefined) error.path = path;
  return { ok: false, error };
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string "${clip(v)}"`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${clip(String(v))}`;
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

function lower(s: string): string {
  return s.length > 0 ? s[0]!.toLowerCase() + s.slice(1) : s;
}
