/**
 * The engine's vocabulary: states, errno names, socket calls, timers and the events a host emits.
 * Events are plain JSON-friendly values (except `Uint8Array` payloads and `Packet`s) that the
 * simulator, the server and the timeline consume unchanged.
 */
import type { Packet } from './packet.ts';

/** The 11 states of RFC 9293 §3.3.2, spelled as the RFC spells them. */
export type TcpState =
  | 'CLOSED'
  | 'LISTEN'
  | 'SYN-SENT'
  | 'SYN-RECEIVED'
  | 'ESTABLISHED'
  | 'FIN-WAIT-1'
  | 'FIN-WAIT-2'
  | 'CLOSE-WAIT'
  | 'CLOSING'
  | 'LAST-ACK'
  | 'TIME-WAIT';

export const TCP_STATES: readonly TcpState[] = [
  'CLOSED',
  'LISTEN',
  'SYN-SENT',
  'SYN-RECEIVED',
  'ESTABLISHED',
  'FIN-WAIT-1',
  'FIN-WAIT-2',
  'CLOSE-WAIT',
  'CLOSING',
  'LAST-ACK',
  'TIME-WAIT',
];

/**
 * Every edge of the RFC 9293 state diagram (Figure 5) plus the edges the RFC's text adds:
 * RST and timeouts back to CLOSED/LISTEN, and an aborted connection from any synchronized state.
 */
export const STATE_EDGES: ReadonlyArray<readonly [TcpState, TcpState]> = [
  ['CLOSED', 'LISTEN'],
  ['CLOSED', 'SYN-SENT'],
  ['LISTEN', 'SYN-RECEIVED'],
  ['LISTEN', 'SYN-SENT'],
  ['LISTEN', 'CLOSED'],
  ['SYN-SENT', 'SYN-RECEIVED'],
  ['SYN-SENT', 'ESTABLISHED'],
  ['SYN-SENT', 'CLOSED'],
  ['SYN-RECEIVED', 'ESTABLISHED'],
  ['SYN-RECEIVED', 'FIN-WAIT-1'],
  ['SYN-RECEIVED', 'CLOSE-WAIT'],
  ['SYN-RECEIVED', 'LISTEN'],
  ['SYN-RECEIVED', 'CLOSED'],
  ['ESTABLISHED', 'FIN-WAIT-1'],
  ['ESTABLISHED', 'CLOSE-WAIT'],
  ['ESTABLISHED', 'CLOSED'],
  ['FIN-WAIT-1', 'FIN-WAIT-2'],
  ['FIN-WAIT-1', 'CLOSING'],
  ['FIN-WAIT-1', 'TIME-WAIT'],
  ['FIN-WAIT-1', 'CLOSED'],
  ['FIN-WAIT-2', 'TIME-WAIT'],
  ['FIN-WAIT-2', 'CLOSED'],
  ['CLOSE-WAIT', 'LAST-ACK'],
  ['CLOSE-WAIT', 'CLOSED'],
  ['CLOSING', 'TIME-WAIT'],
  ['CLOSING', 'CLOSED'],
  ['LAST-ACK', 'CLOSED'],
  ['TIME-WAIT', 'CLOSED'],
];

export function isStateEdge(from: TcpState, to: TcpState): boolean {
  return STATE_EDGES.some(([a, b]) => a === from && b === to);
}

export type Errno =
  | 'ECONNREFUSED'
  | 'ECONNRESET'
  | 'ECONNABORTED'
  | 'EPIPE'
  | 'ENOTCONN'
  | 'EISCONN'
  | 'EADDRINUSE'
  | 'EADDRNOTAVAIL'
  | 'EINVAL'
  | 'EAGAIN'
  | 'EINPROGRESS'
  | 'EALREADY'
  | 'ETIMEDOUT'
  | 'EBADF'
  | 'ENOTSOCK'
  | 'EOPNOTSUPP'
  | 'ENOPROTOOPT'
  | 'EMFILE'
  | 'ESRCH';

/** One-line explanations, the kind `strerror` gives plus a hint for students. */
export const ERRNO_TEXT: Record<Errno, string> = {
  ECONNREFUSED: 'Connection refused: the peer answered the SYN with RST (nobody listens on that port)',
  ECONNRESET: 'Connection reset by peer: an RST arrived',
  ECONNABORTED: 'Connection aborted before it could be accepted',
  EPIPE: 'Broken pipe: this side can no longer send (shut down for writing or reset)',
  ENOTCONN: 'Socket is not connected',
  EISCONN: 'Socket is already connected',
  EADDRINUSE: 'Address already in use (another socket, or a TIME-WAIT, holds the port)',
  EADDRNOTAVAIL: 'Cannot assign the requested address',
  EINVAL: 'Invalid argument for this socket in its current state',
  EAGAIN: 'Resource temporarily unavailable: the call would block on a non-blocking socket',
  EINPROGRESS: 'Operation now in progress: the non-blocking connect has sent its SYN',
  EALREADY: 'Operation already in progress',
  ETIMEDOUT: 'Connection timed out: retransmissions were never acknowledged',
  EBADF: 'Bad file descriptor: no such descriptor is open in this process',
  ENOTSOCK: 'Descriptor is not a socket',
  EOPNOTSUPP: 'Operation not supported on this socket',
  ENOPROTOOPT: 'Unknown socket option',
  EMFILE: 'Too many open descriptors',
  ESRCH: 'No such process',
};

export type ShutdownHow = 'SHUT_RD' | 'SHUT_WR' | 'SHUT_RDWR';

export type SockOpt =
  | 'SO_LINGER'
  | 'SO_REUSEADDR'
  | 'SO_RCVBUF'
  | 'SO_SNDBUF'
  | 'SO_KEEPALIVE'
  | 'SO_ERROR'
  | 'TCP_NODELAY'
  | 'TCP_MAXSEG'
  | 'TCP_CORK'
  | 'TCP_USER_TIMEOUT'
  | 'O_NONBLOCK';

/** SO_LINGER's value: `{ onoff, linger }` in seconds as `struct linger`. */
export interface Linger {
  onoff: boolean;
  lingerSec: number;
}

export type SockOptValue = number | boolean | Linger;

/**
 * A socket call. `pid` names the process whose descriptor table is used (default 1);
 * `fork` makes a new process that shares every open socket, as fork(2) does.
 */
export type CallRequest = { pid?: number } & (
  | { op: 'socket'; nonblocking?: boolean }
  | { op: 'bind'; fd: number; port: number; addr?: number }
  | { op: 'listen'; fd: number; backlog?: number }
  | { op: 'connect'; fd: number; addr: number; port: number }
  | { op: 'accept'; fd: number }
  | { op: 'send'; fd: number; data: Uint8Array; more?: boolean }
  /**
   * Up to `max` bytes (default 1 MiB) as a new array; with `into`, copies up to `into.length` (and
   * `max`) bytes there instead and returns how many, as recv(2) does with its buffer.
   */
  | { op: 'recv'; fd: number; max?: number; peek?: boolean; into?: Uint8Array }
  | { op: 'close'; fd: number }
  | { op: 'shutdown'; fd: number; how: ShutdownHow }
  | { op: 'dup'; fd: number }
  | { op: 'fork' }
  | { op: 'setsockopt'; fd: number; opt: SockOpt; value: SockOptValue }
  | { op: 'getsockopt'; fd: number; opt: SockOpt }
);

export type CallOp = CallRequest['op'];

/** What a finished call returns. `value` depends on the op (see Host). */
export type CallResult = { ok: true; value: CallValue } | { ok: false; errno: Errno; message: string };

export type CallValue =
  | number
  | string
  | Uint8Array
  | { fd: number; peerAddr: number; peerPort: number }
  | SockOptValue
  | null;

export type TimerKind =
  | 'retransmit'
  | 'persist'
  | 'delayed-ack'
  | 'time-wait'
  | 'fin-wait-2'
  | 'keepalive'
  | 'linger';

/** Why the engine put a segment on the wire: ground truth for the timeline's analysis tags. */
export type SendReason =
  | 'syn'
  | 'syn-ack'
  | 'ack'
  | 'delayed-ack'
  | 'data'
  | 'fin'
  | 'rst'
  | 'window-update'
  | 'dup-ack'
  | 'challenge-ack'
  | 'retransmit-rto'
  | 'retransmit-fast'
  | 'persist-probe'
  | 'keepalive';

/** Every SendReason. The binary segment frame carries the index + 1: append only. */
export const SEND_REASONS: readonly SendReason[] = [
  'syn',
  'syn-ack',
  'ack',
  'delayed-ack',
  'data',
  'fin',
  'rst',
  'window-update',
  'dup-ack',
  'challenge-ack',
  'retransmit-rto',
  'retransmit-fast',
  'persist-probe',
  'keepalive',
];

/** Why an arriving segment was discarded by TCP (never reached the socket's data path). */
export type DiscardReason =
  | 'bad-packet'
  | 'not-for-us'
  | 'no-socket'
  | 'unacceptable'
  | 'rst-out-of-window'
  | 'syn-queue-full'
  | 'accept-queue-full'
  | 'bad-ack'
  | 'old-duplicate'
  | 'closed';

export interface SocketInfo {
  sock: number;
  state: TcpState;
  localAddr: number;
  localPort: number;
  remoteAddr: number;
  remotePort: number;
}

export type HostEvent =
  | {
      type: 'call';
      t: number;
      host: string;
      pid: number;
      callId: number;
      op: CallOp;
      fd?: number;
      args: Record<string, unknown>;
    }
  | {
      type: 'return';
      t: number;
      host: string;
      pid: number;
      callId: number;
      op: CallOp;
      fd?: number;
      result: CallResult;
      blockedMs: number;
    }
  | {
      type: 'transmit';
      t: number;
      host: string;
      sock: number;
      packet: Packet;
      why: SendReason;
      /** Set on retransmissions: how many times this sequence range has now been sent before. */
      rexmit?: number;
    }
  | {
      type: 'discard';
      t: number;
      host: string;
      sock?: number;
      packet?: Packet;
      reason: DiscardReason;
      detail: string;
    }
  | { type: 'state'; t: number; host: string; sock: number; from: TcpState; to: TcpState; cause: string }
  | {
      type: 'timer';
      t: number;
      host: string;
      sock: number;
      kind: TimerKind;
      action: 'set' | 'fire' | 'cancel';
      deadline: number;
    }
  | { type: 'socket'; t: number; host: string; sock: number; action: 'create' | 'free'; parent?: number }
  | {
      type: 'cc';
      t: number;
      host: string;
      sock: number;
      cwnd: number;
      ssthresh: number;
      phase: CcPhase;
      cause: string;
    };

export type CcPhase = 'slow-start' | 'congestion-avoidance' | 'fast-recovery' | 'loss-recovery';
