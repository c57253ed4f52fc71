/**
 * Socket calls from the wire (`SockCall`: addresses as dotted quads, bytes as text) to the
 * engine's `CallRequest`. Every problem is a `LabError` naming the field, thrown before the call
 * reaches the engine.
 */
import { base64ToBytes } from '../../shared/protocol/json.ts';
import type { SockCall } from '../../shared/protocol/messages.ts';
import { parseIp } from '../../shared/tcp/packet.ts';
import type { CallRequest } from '../../shared/tcp/types.ts';
import { refuse } from './errors.ts';

export function toCallRequest(call: SockCall, maxSendBytes: number): CallRequest {
  const pid = call.pid === undefined ? {} : { pid: call.pid };
  switch (call.op) {
    case 'socket':
      return {
        op: 'socket',
        ...pid,
        ...(call.nonblocking === undefined ? {} : { nonblocking: call.nonblocking }),
      };
    case 'bind':
      return {
        op: 'bind',
        ...pid,
        fd: call.fd,
        port: call.port,
        ...(call.addr === undefined ? {} : { addr: address(call.addr, '/call/addr') }),
      };
    case 'listen':
      return {
        op: 'listen',
        ...pid,
        fd: call.fd,
        ...(call.backlog === undefined ? {} : { backlog: call.backlog }),
      };
    case 'connect':
      return { op: 'connect', ...pid, fd: call.fd, addr: address(call.addr, '/call/addr'), port: call.port };
    case 'send': {
      const data = payload(call.data, call.encoding ?? 'utf8', maxSendBytes);
      return {
        op: 'send',
        ...pid,
        fd: call.fd,
        data,
        ...(call.more === undefined ? {} : { more: call.more }),
      };
    }
    case 'recv':
      return {
        op: 'recv',
        ...pid,
        fd: call.fd,
        ...(call.max === undefined ? {} : { max: call.max }),
        ...(call.peek === undefined ? {} : { peek: call.peek }),
      };
    case 'accept':
    case 'close':
    case 'dup':
      return { op: call.op, ...pid, fd: call.fd };
    case 'shutdown':
      return { op: 'shutdown', ...pid, fd: call.fd, how: call.how };
    case 'fork':
      return { op: 'fork', ...pid };
    case 'setsockopt':
      return { op: 'setsockopt', ...pid, fd: call.fd, opt: call.opt, value: call.value };
    case 'getsockopt':
      return { op: 'getsockopt', ...pid, fd: call.fd, opt: call.opt };
  }
}

function address(text: string, path: string): number {
  const addr = parseIp(text);
  if (addr === undefined)
    refuse('TCPLAB_BAD_ADDRESS', `${path.slice(1)}: "${text}" is not an IPv4 address`, path);
  return addr;
}

function payload(data: string, encoding: 'utf8' | 'base64', max: number): Uint8Array {
  let bytes: Uint8Array | undefined;
  if (encoding === 'base64') {
    bytes = base64ToBytes(data);
    if (!bytes) refuse('TCPLAB_INVALID', 'call/data: not valid base64 (encoding is "base64")', '/call/data');
  } else {
    bytes = new Uint8Array(Buffer.from(data, 'utf8'));
  }
  if (bytes.length > max)
    refuse(
      'TCPLAB_PAYLOAD_TOO_BIG',
      `send of ${bytes.length} bytes exceeds the ${max}-byte limit per send`,
      '/call/data',
    );
  return bytes;
}
