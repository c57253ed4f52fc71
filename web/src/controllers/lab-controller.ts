/**
 * The app's connection to the lab as a Lit reactive controller: it owns the WebSocket client, the
 * session (with its resume token in sessionStorage, so a reload takes the same seat back), the
 * class's rooms for the lobby, and the `RoomStore` of the room the user is in. The host renders
 * from its fields and calls its methods; updates are batched to one per animation frame.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { RoomExerciseEvent } from '../../../shared/protocol/exercises.ts';
import type {
  ClientMessage,
  RoomInfo,
  RoomSummary,
  Seat,
  SessionInfo,
  SockCall,
} from '../../../shared/protocol/messages.ts';
import { RoomStore } from '../model/room-store.ts';
import { type ClientStatus, defaultSocketUrl, LabClient, LabRequestError } from '../net/lab-client.ts';

export type Phase = 'connecting' | 'join' | 'lobby' | 'room';
export type EnterMode = 'A' | 'B' | 'observe' | 'solo';

export interface ClassState {
  code: string;
  name: string;
  rooms: RoomSummary[];
}

const TOKEN_KEY = 'tcplab.token';

type Outgoing = Parameters<LabClient['request']>[0];

function fullReplay(): boolean {
  return typeof location !== 'undefined' && new URLSearchParams(location.search).get('replay') === 'full';
}

function readToken(): string | undefined {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

function writeToken(token: string | undefined): void {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage unavailable: a reload will ask to join again
  }
}

export class LabController implements ReactiveController {
  phase: Phase = 'connecting';
  status: ClientStatus = 'idle';
  closeCode: number | undefined;
  session: SessionInfo | undefined;
  classState: ClassState | undefined;
  store: RoomStore | undefined;
  /** The current room's exercise (`room.exercise`); null or undefined: none. */
  exercise: RoomExerciseEvent['exercise'] | undefined;
  /** Watching a room read-only (the dashboard's watch link): the room gets no actions. */
  watching = false;
  /** The last refusal that has no better place to be shown (e.g. a resume that failed). */
  notice: LabRequestError | undefined;
  private client: LabClient | undefined;
  private readonly host: ReactiveControllerHost;
  private frame = 0;
  private readonly url: string;
  private storeUnsub: (() => void) | undefined;

  constructor(host: ReactiveControllerHost, url?: string) {
    this.host = host;
    this.url = url ?? defaultSocketUrl();
    host.addController(this);
  }

  hostConnected(): void {
    if (this.client) return;
    this.client = new LabClient(this.url, {
      onEvent: (m) => this.onEvent(m),
      onFrame: (b, cut) => this.onFrame(b, cut),
      // Giving onWholeFrame asks for the headers-first replay; `?replay=full` (for comparison in
      // `npm run bench:web`) takes every frame whole instead.
      ...(fullReplay()
        ? {}
        : {
            onWholeFrame: (b: Uint8Array) => {
              // The headers-first replay's payloads: only the inspector uses them; tell it once, at the end.
              if (this.store?.addWhole(b)) this.store.notify();
            },
          }),
      onOpen: () => this.onOpen(),
      onStatus: (s, code) => {
        this.status = s;
        this.closeCode = code;
        this.update();
      },
    });
    this.client.connect();
  }

  hostDisconnected(): void {
    this.client?.close();
    this.client = undefined;
    if (this.frame) cancelAnimationFrame(this.frame);
  }

  /** Re-render soon (once per frame however many messages arrive). */
  update(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.host.requestUpdate();
    });
  }

  // ── the connection ──────────────────────────────────────────────────────────────────────────

  private async onOpen(): Promise<void> {
    if (await this.watchFromUrl()) return;
    const token = readToken();
    if (!token) {
      this.phase = 'join';
      this.update();
      return;
    }
    try {
      await this.request({ type: 'session.resume', token });
    } catch (e) {
      if (e instanceof LabRequestError && (e.code === 'TCPLAB_BAD_TOKEN' || e.code === 'TCPLAB_INVALID')) {
        writeToken(undefined);
        this.session = undefined;
        this.setStore(undefined);
        this.notice = e;
        this.phase = 'join';
        this.update();
      }
    }
  }

  /**
   * `/?watch=<room>` (the dashboard's "watch" link): sign in as the instructor (the key from
   * `?key=` or the dashboard's sessionStorage) and watch the room (`room.watch`): its whole
   * timeline, no seat, and a connection the server keeps read-only. False when the page was not
   * opened to watch.
   */
  private async watchFromUrl(): Promise<boolean> {
    if (typeof location === 'undefined') return false;
    const u = new URL(location.href);
    const room = Number(u.searchParams.get('watch'));
    if (!Number.isInteger(room) || room < 1) return false;
    const key = u.searchParams.get('key') ?? sessionStorage.getItem('tcplab.key') ?? '';
    if (u.searchParams.has('key')) {
      sessionStorage.setItem('tcplab.key', key);
      u.searchParams.delete('key');
      history.replaceState(null, '', u);
    }
    try {
      await this.request({ type: 'instructor.auth', key });
      await this.request({ type: 'room.watch', room });
      this.watching = true;
    } catch (e) {
      this.notice = e instanceof LabRequestError ? e : new LabRequestError('TCPLAB_INVALID', String(e));
      this.phase = 'join';
      this.update();
    }
    return true;
  }

  private onEvent(m: Record<string, unknown>): void {
    switch (m.type) {
      case 'welcome': {
        this.session = m.session as SessionInfo;
        writeToken(String(m.token));
        if (m.room === null && this.phase !== 'room') this.phase = this.session.classCode ? 'lobby' : 'join';
        if (m.room === null && this.phase === 'room') {
          this.setStore(undefined);
          this.phase = 'lobby';
        }
        break;
      }
      case 'class.state':
        this.classState = { code: String(m.code), name: String(m.name), rooms: m.rooms as RoomSummary[] };
        if (this.phase === 'join' || this.phase === 'connecting') this.phase = 'lobby';
        break;
      case 'room.snapshot': {
        const info = m.info as RoomInfo;
        const store = new RoomStore(Number(m.room), info, m.hosts as { A: unknown; B: unknown });
        this.setStore(store);
        this.phase = 'room';
        this.exercise = undefined;
        this.request<RoomExerciseEvent>({ type: 'exercise.get', room: store.room }).then(
          (ev) => {
            if (this.store?.room === ev?.room) {
              this.exercise = ev.exercise;
              this.update();
            }
          },
          () => undefined,
        );
        break;
      }
      case 'room.exercise': {
        if (!this.store || this.store.room !== m.room) return;
        this.exercise = (m as unknown as RoomExerciseEvent).exercise;
        break;
      }
      case 'room.event': {
        const s = this.store;
        if (!s || s.room !== m.room) return;
        const ev = m.event as { type: string; t: number };
        s.addEvent(Number(m.n), Number(m.t), ev);
        // Rebuild the endpoints as the history streams in, so nothing is left for the first frame.
        s.endpoints.catchUp();
        if (s.synced) s.notify();
        return;
      }
      case 'room.synced':
        if (this.store && this.store.room === m.room) {
          performance.mark('tcplab:synced', { detail: { items: this.store.items.length } });
          this.store.synced = true;
          this.store.notify();
        }
        break;
      case 'room.info':
        if (this.store && this.store.room === m.room) {
          this.store.setInfo(m.info as RoomInfo);
          this.store.notify();
        }
        break;
      case 'room.time':
        if (this.store && this.store.room === m.room) this.store.setTime(Number(m.t));
        return;
      case 'room.left':
        if (this.store && this.store.room === m.room) {
          this.setStore(undefined);
          this.phase = this.session?.classCode ? 'lobby' : 'join';
        }
        break;
      case 'error':
        this.notice = new LabRequestError(String(m.code), String(m.message));
        break;
      default:
        return;
    }
    this.update();
  }

  private onFrame(bytes: Uint8Array, cut?: boolean): void {
    const s = this.store;
    if (!s) return;
    if (!s.addBinary(bytes, cut)) return;
    s.endpoints.catchUp();
    if (s.synced) s.notify();
  }

  private setStore(store: RoomStore | undefined): void {
    this.storeUnsub?.();
    this.storeUnsub = undefined;
    this.store = store;
    if (store) this.storeUnsub = store.subscribe(() => this.update());
  }

  request<T = unknown>(msg: Outgoing): Promise<T> {
    if (!this.client) return Promise.reject(new LabRequestError('DISCONNECTED', 'not connected'));
    return this.client.request<T>(msg);
  }

  /** The session was taken over by another tab: take it back here. */
  reclaim(): void {
    this.client?.reclaim();
  }

  // ── what the user does ──────────────────────────────────────────────────────────────────────

  async join(code: string, name: string): Promise<void> {
    this.notice = undefined;
    await this.request({ type: 'class.join', code, name });
    this.phase = 'lobby';
    this.update();
  }

  async createRoom(name?: string): Promise<number> {
    const data = await this.request<{ room: number }>({ type: 'room.create', ...(name ? { name } : {}) });
    return data.room;
  }

  async enter(room: number, mode: EnterMode): Promise<void> {
    performance.mark('tcplab:room-join');
    await this.request({ type: 'room.join', room });
    const seats: Seat[] = mode === 'solo' ? ['A', 'B'] : mode === 'observe' ? [] : [mode];
    for (const seat of seats) await this.request({ type: 'seat.take', room, seat });
  }

  async takeSeat(seat: Seat): Promise<void> {
    if (!this.store) return;
    await this.request({ type: 'seat.take', room: this.store.room, seat });
  }

  async releaseSeat(seat: Seat): Promise<void> {
    if (!this.store) return;
    await this.request({ type: 'seat.release', room: this.store.room, seat });
  }

  async leave(): Promise<void> {
    const s = this.store;
    if (!s) return;
    await this.request({ type: 'room.leave', room: s.room });
    this.setStore(undefined);
    this.phase = 'lobby';
    this.update();
  }

  /** Forgets the session (back to the join screen). */
  signOut(): void {
    writeToken(undefined);
    this.session = undefined;
    this.classState = undefined;
    this.setStore(undefined);
    this.phase = 'join';
    this.client?.close();
    this.client = undefined;
    this.hostConnected();
  }

  call(seat: Seat, call: SockCall): Promise<{ callId: number; result?: unknown }> {
    const room = this.store?.room;
    if (room === undefined) return Promise.reject(new LabRequestError('TCPLAB_NOT_IN_ROOM', 'not in a room'));
    return this.request({ type: 'sock.call', room, host: seat, call });
  }

  /** A room-scoped request (clock, link, faults, hold, reset): `room` is filled in. */
  roomRequest(msg: DistributiveOmit<RoomScoped, 'room'>): Promise<unknown> {
    const room = this.store?.room;
    if (room === undefined) return Promise.reject(new LabRequestError('TCPLAB_NOT_IN_ROOM', 'not in a room'));
    return this.request({ ...msg, room } as Outgoing);
  }

  /** Seats this session holds in the current room. */
  mySeats(): Seat[] {
    const s = this.store;
    const me = this.session?.id;
    if (!s || !me) return [];
    return (['A', 'B'] as const).filter((seat) => s.info.seats[seat]?.session === me);
  }
}

type RoomScoped = Extract<ClientMessage, { room: number }>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K | 'id'> : never;
