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
}

export type Admission = 'ok' | 'refused' | 'closed';

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

  constructor(
    readonly ws: WsLike,
    private readonly limits: Limits,
    private readonly now: () => number,
    private readonly socket?: Corkable,
  ) {
    this.tokens = limits.messageBurst;
    this.refilledAt = now();
  }

  /**
   * Sends bytes as a text (`binary` false) or binary message. A client whose unsent buffer grows
   * past `maxBufferedBytes` is closed with `CLOSE.SLOW`: the room never waits for anyone.
   */
  send(data: Buffer, binary: boolean, cb?: (err?: Error) => void): boolean {
    if (this.closed || this.ws.readyState !== OPEN) return false;
    if (this.socket) {
      // One input makes a burst of events; they leave in one write when this turn of the event
      // loop ends instead of one system call each. What is still buffered after that write is
      // the client's backlog, checked then.
      if (!this.corked) {
        this.corked = true;
        this.socket.cork();
        queueMicrotask(this.uncork);
      }
      this.ws.send(data, { binary }, cb);
      return true;
    }
    this.ws.send(data, { binary }, cb);
    return this.checkBacklog();
  }

  private readonly uncork = (): void => {
    this.corked = false;
    this.socket?.uncork();
    this.checkBacklog();
  };

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
