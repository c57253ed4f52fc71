/**
 * One WebSocket connection: the only place that writes to a socket. It enforces the per-connection
 * limits (message rate, slow-client backpressure) and knows which rooms it is fed from.
 */
import { CLOSE, type Limits } from '../../shared/protocol/limits.ts';
import type { Feed } from './feed.ts';
import type { Room } from './room.ts';
import type { Session } from './session.ts';

/** The part of a `ws` WebSocket the lab uses (tests pass a fake). */
export interface WsLike {
  readonly readyState: number;
  readonly bufferedAmount: number;
  /** The negotiated extensions (`ws`: '' when none, e.g. no permessage-deflate). */
  readonly extensions?: string;
  send(data: Buffer, options: { binary: boolean }, cb?: (err?: Error) => void): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  ping(): void;
}

const OPEN = 1;

/** The TCP socket under a WebSocket, when the lab may batch writes to it. */
export interface Corkable {
  cork(): void;
  uncork(): void;
  /** Present on a real socket: broadcast messages are written to it as ready-made frames. */
  write?(chunk: Buffer): boolean;
}

/**
 * One unfragmented, unmasked WebSocket message as a server sends it (RFC 6455 §5.2): FIN and the
 * opcode (1 text, 2 binary), the payload length in 7, 7+16 or 7+64 bits, then the payload.
 */
export function wsFrame(data: Buffer, binary: boolean): Buffer {
  const out = allocWsFrame(data.length, binary);
  data.copy(out, out.length - data.length);
  return out;
}

/**
 * A WebSocket message of `len` payload bytes with its header written: the caller writes the
 * payload into its last `len` bytes (a room builds each history entry this way, once).
 */
export function allocWsFrame(len: number, binary: boolean): Buffer {
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(head + len);
  out[0] = 0x80 | (binary ? 2 : 1);
  if (len < 126) {
    out[1] = len;
  } else if (len < 65536) {
    out[1] = 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 127;
    out.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
    out.writeUInt32BE(len >>> 0, 6);
  }
  return out;
}

/**
 * The frame of the message being broadcast: a room sends one entry to all its feeds in a row, so
 * the frame is built once per message, not once per receiver.
 */
let lastData: Buffer | undefined;
let lastBinary = false;
let lastFrame: Buffer | undefined;
function frameOf(data: Buffer, binary: boolean): Buffer {
  if (data !== lastData || binary !== lastBinary || !lastFrame) {
    lastFrame = wsFrame(data, binary);
    lastData = data;
    lastBinary = binary;
  }
  return lastFrame;
}

export type Admission = 'ok' | 'refused' | 'closed';

/** Connections corked in this turn of the event loop, uncorked together at its end. */
const corkedConns: Connection[] = [];

/**
 * Runs in the event loop's check phase (`setImmediate`), after the timers and I/O of the turn and
 * after every `process.nextTick`, so persistence has committed what these bytes tell.
 */
function uncorkAll(): void {
  // A connection corked while uncorking (a write callback that sends) waits for the next turn.
  const batch = corkedConns.splice(0);
  for (const c of batch) c.uncork();
}

export class Connection {
  private static counter = 0;
  readonly id = ++Connection.counter;
  session: Session | null = null;
  readonly feeds = new Map<Room, Feed>();
  /** Cleared before each heartbeat ping, set again by the pong. */
  alive = true;
  closed = false;
  /** Close code chosen by the server, when it closed the connection. */
  closeCode: number | undefined;
  /** Called once when the server closes the connection (before the socket finishes closing). */
  onClose: (() => void) | undefined;
  private tokens: number;
  private refilledAt: number;
  private strikes = 0;
  private corked = false;
  /**
   * Broadcast messages may be written to the socket as ready-made frames: it is a real socket and
   * no extension (permessage-deflate) was negotiated. Known once the connection is open (`ws`
   * computes `extensions` anew on every read).
   */
  private readonly framesDirect: boolean;

  constructor(
    readonly ws: WsLike,
    private readonly limits: Limits,
    private readonly now: () => number,
    private readonly socket?: Corkable,
  ) {
    this.tokens = limits.messageBurst;
    this.refilledAt = now();
    this.framesDirect = socket?.write !== undefined && ws.extensions === '';
  }

  /**
   * Sends bytes as a text (`binary` false) or binary message. A client whose unsent buffer grows
   * past `maxBufferedBytes` is closed with `CLOSE.SLOW`: the room never waits for anyone.
   */
  send(data: Buffer, binary: boolean, cb?: (err?: Error) => void): boolean {
    if (this.closed || this.ws.readyState !== OPEN) return false;
    if (this.socket) {
      // Everything sent to this connection in this turn of the event loop (the events of every
      // message and clock tick handled in it, from every room it follows) leaves in one write when
      // the turn ends, instead of one system call per message or per tick. What is still
      // buffered after that write is the client's backlog, checked then.
      this.cork(this.socket);
      this.ws.send(data, { binary }, cb);
      return true;
    }
    this.ws.send(data, { binary }, cb);
    return this.checkBacklog();
  }

  /**
   * Sends a message many connections get (a room's history entry or notice): the same bytes, so
   * on a real socket the WebSocket frame is built once for all of them and written as is. `ws`
   * frames and writes synchronously when it compresses nothing (permessage-deflate is off, no
   * Blobs), so these frames keep their order with `send`'s. `frame`, when given, is that frame
   * already built (`wsFrame(data, binary)`).
   */
  sendShared(data: Buffer, binary: boolean, frame?: Buffer): boolean {
    const socket = this.socket;
    if (!this.framesDirect || !socket?.write) return this.send(data, binary);
    if (this.closed || this.ws.readyState !== OPEN) return false;
    this.cork(socket);
    socket.write(frame ?? frameOf(data, binary));
    return true;
  }

  private cork(socket: Corkable): void {
    if (this.corked) return;
    this.corked = true;
    socket.cork();
    corkedConns.push(this);
    if (corkedConns.length === 1) setImmediate(uncorkAll);
  }

  /** Lets this turn's writes go (called once per turn for every corked connection). */
  uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    this.socket?.uncork();
    this.checkBacklog();
  }

  private checkBacklog(): boolean {
    if (this.closed) return false;
    if (this.ws.bufferedAmount > this.limits.maxBufferedBytes) {
      this.close(CLOSE.SLOW, `too slow: more than ${this.limits.maxBufferedBytes} bytes waiting to be sent`);
      return false;
    }
    return true;
  }

  json(msg: object): boolean {
    return this.send(Buffer.from(JSON.stringify(msg)), false);
  }

  /**
   * Token bucket: `messageBurst` messages at once, refilled at `messagesPerSecond`. A refused
   * message is answered with an error; `rateStrikes` refusals in a row close the connection.
   */
  admit(): Admission {
    const t = this.now();
    const rate = this.limits.messagesPerSecond;
    this.tokens = Math.min(this.limits.messageBurst, this.tokens + ((t - this.refilledAt) * rate) / 1000);
    this.refilledAt = t;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.strikes = 0;
      return 'ok';
    }
    if (++this.strikes >= this.limits.rateStrikes) {
      this.close(CLOSE.RATE, `more than ${rate} messages per second, ${this.strikes} refused in a row`);
      return 'closed';
    }
    return 'refused';
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closeCode = code;
    // A close reason is at most 123 bytes (RFC 6455 §5.5).
    this.ws.close(code, Buffer.from(reason).subarray(0, 123).toString());
    // The close frame may wait behind a full buffer; the lab lets go of the connection now.
    this.onClose?.();
  }
}
