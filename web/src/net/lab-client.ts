/**
 * The browser's end of the lab's WebSocket (docs/protocol.md): requests with ids answered by one
 * `ok` or `error`, pushed events, binary segment frames, and reconnection with the session's
 * resume token. No Lit here; `LabController` drives it and owns what it receives.
 *
 *   open ──► (token? session.resume : wait for join) ──► events… ──► close
 *     ▲                                                       │
 *     └──────────── backoff 0.5 s, 1 s, 2 s … 8 s ◄───────────┘  (not after 4003 REPLACED)
 */
import { checkBundle, ENTRY, expandCompact, isBundle, walkBundle } from '../../../shared/protocol/bundle.ts';
import { CLOSE } from '../../../shared/protocol/limits.ts';
import type { ClientMessage } from '../../../shared/protocol/messages.ts';

export type ClientStatus = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'replaced' | 'closed';

/** A refused request: the server's error code and sentence (or a local one for a lost connection). */
export class LabRequestError extends Error {
  readonly code: string;
  readonly path: string | undefined;
  constructor(code: string, message: string, path?: string) {
    super(message);
    this.name = 'LabRequestError';
    this.code = code;
    this.path = path;
  }
}

export interface LabClientHandlers {
  /** A JSON message that is not a reply to a request. */
  onEvent(msg: Record<string, unknown>): void;
  /**
   * A binary segment frame; `cut`: its TCP payload is not here (headers-first replay: the frame's
   * bytes end with the TCP header; the whole frame follows later through `onWholeFrame`).
   */
  onFrame(bytes: Uint8Array, cut?: boolean): void;
  /**
   * A frame that came cut, now whole. Giving this handler asks the server for the headers-first
   * replay (`/ws?replay=headers-first`, docs/protocol.md); without it every frame comes whole.
   */
  onWholeFrame?(bytes: Uint8Array): void;
  /** The socket opened (first time or after a reconnect). */
  onOpen(reconnected: boolean): void;
  onStatus(status: ClientStatus, closeCode?: number): void;
}

type Outgoing = {
  [K in ClientMessage['type']]: Omit<Extract<ClientMessage, { type: K }>, 'id'>;
}[ClientMessage['type']];

interface Pending {
  resolve(data: unknown): void;
  reject(err: LabRequestError): void;
  timer: ReturnType<typeof setTimeout>;
}

const UTF8 = new TextDecoder();

/** The query that asks for the headers-first replay (server/lab/feed.ts). */
const HEADERS_FIRST = 'replay=headers-first';

function withQuery(url: string, q: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}${q}`;
}

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000];
const REQUEST_TIMEOUT_MS = 20_000;

export class LabClient {
  status: ClientStatus = 'idle';
  private ws: WebSocket | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private attempts = 0;
  private everOpened = false;
  private stopped = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly url: string,
    private readonly handlers: LabClientHandlers,
  ) {}

  connect(): void {
    this.stopped = false;
    this.open();
  }

  /** Closes for good (no reconnect). */
  close(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.ws?.close(CLOSE.NORMAL);
    this.setStatus('closed');
  }

  /** After a 4003 (the session moved to another tab): take it back here. */
  reclaim(): void {
    this.attempts = 0;
    this.connect();
  }

  private setStatus(s: ClientStatus, code?: number): void {
    this.status = s;
    this.handlers.onStatus(s, code);
  }

  private open(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.setStatus(this.everOpened ? 'reconnecting' : 'connecting');
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.handlers.onWholeFrame ? withQuery(this.url, HEADERS_FIRST) : this.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.attempts = 0;
      const again = this.everOpened;
      this.everOpened = true;
      this.setStatus('open');
      this.handlers.onOpen(again);
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      if (ev.data instanceof ArrayBuffer) {
        const bytes = new Uint8Array(ev.data);
        if (!isBundle(bytes)) {
          this.handlers.onFrame(bytes);
          return;
        }
        // A chunk of history: the same messages, packed into one (shared/protocol/bundle.ts).
        if (checkBundle(bytes) !== undefined) return;
        this.onBundle(ws, bytes);
        return;
      }
      this.onText(String(ev.data));
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.failPending();
      if (ev.code === CLOSE.REPLACED) {
        this.setStatus('replaced', ev.code);
        return;
      }
      if (this.stopped) {
        this.setStatus('closed', ev.code);
        return;
      }
      this.scheduleRetry(ev.code);
    };
  }

  /**
   * A bundle's entries, in order. Its JSON messages come either one by one (kinds 0 and 4) or as
   * one batch (kind 5, decoded and parsed once) whose elements take their places at the markers
   * (kind 6). Frames are views into the bundle (nothing copied).
   */
  private onBundle(ws: WebSocket, bytes: Uint8Array): void {
    const h = this.handlers;
    let batch: unknown[] = [];
    let next = 0;
    walkBundle(bytes, (kind, start, end) => {
      if (this.ws !== ws) return false;
      switch (kind) {
        case ENTRY.batched: {
          const m = batch[next++];
          // a timer or cc event may come as a compact array of its fields
          const msg = Array.isArray(m) ? expandCompact(m) : m;
          if (msg && typeof msg === 'object') this.onMessage(msg as Record<string, unknown>);
          return;
        }
        case ENTRY.frameCut:
          h.onFrame(bytes.subarray(start, end), true);
          return;
        case ENTRY.frame:
          h.onFrame(bytes.subarray(start, end));
          return;
        case ENTRY.frameWhole:
          h.onWholeFrame?.(bytes.subarray(start, end));
          return;
        case ENTRY.jsonBatch:
          try {
            const v = JSON.parse(UTF8.decode(bytes.subarray(start, end))) as unknown;
            batch = Array.isArray(v) ? v : [];
          } catch {
            batch = [];
          }
          next = 0;
          return;
        default:
          this.onText(UTF8.decode(bytes.subarray(start, end)));
      }
    });
  }

  /** One JSON message from the server as text. */
  private onText(raw: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(raw);
    } catch {
      return;
    }
    if (msg && typeof msg === 'object') this.onMessage(msg);
  }

  /** One JSON message from the server: a reply to a pending request, or an event. */
  private onMessage(msg: Record<string, unknown>): void {
    if ((msg.type === 'ok' || msg.type === 'error' || msg.type === 'pong') && typeof msg.re === 'number') {
      const p = this.pending.get(msg.re);
      if (p) {
        this.pending.delete(msg.re);
        clearTimeout(p.timer);
        if (msg.type === 'error')
          p.reject(
            new LabRequestError(
              String(msg.code),
              String(msg.message),
              typeof msg.path === 'string' ? msg.path : undefined,
            ),
          );
        else p.resolve(msg.data);
        return;
      }
    }
    this.handlers.onEvent(msg);
  }

  private scheduleRetry(code?: number): void {
    const delay = BACKOFF_MS[Math.min(this.attempts, BACKOFF_MS.length - 1)]!;
    this.attempts++;
    this.setStatus('reconnecting', code);
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  private failPending(): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new LabRequestError('DISCONNECTED', 'the connection to the lab server was lost'));
    }
    this.pending.clear();
  }

  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Sends a request and resolves with the `ok` reply's data (rejects with the `error`). */
  request<T = unknown>(msg: Outgoing): Promise<T> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN)
      return Promise.reject(new LabRequestError('DISCONNECTED', 'not connected to the lab server'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new LabRequestError('TIMEOUT', 'the lab server did not answer in time'));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve: resolve as (d: unknown) => void, reject, timer });
      ws.send(JSON.stringify({ ...msg, id }));
    });
  }
}

/** `ws://host/ws` or `wss://host/ws` for the page's own origin. */
export function defaultSocketUrl(loc: Location = location): string {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/ws`;
}
