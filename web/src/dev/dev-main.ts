/**
 * dev.html: a recorded trace in the room view, without a server. A scenario is run by the real
 * engine and simulator right here in the browser and its history fed to a `RoomStore`, all at once
 * or replayed at its own pace. Read-only: no socket calls, no clock. The benchmark loads its
 * 10,000-segment history through `window.tcpLabDev.load`.
 *
 *   dev.html?scenario=lifecycle|lostfin|held|held2|bulk&sends=200&loss=0.02&replay=1
 */
import { css, html, LitElement } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import type { RoomInfo } from '../../../shared/protocol/messages.ts';
import '../components/tcp-room.ts';
import '../components/ui.ts';
import type { WireEvent } from '../model/history.ts';
import { RoomStore } from '../model/room-store.ts';
import {
  bulkScenario,
  HELD_SYN,
  HELD_TWO,
  LIFECYCLE,
  LOST_FIN,
  type RecordedHistory,
  recordScenario,
} from './record.ts';

declare global {
  interface Window {
    tcpLabDev?: {
      load(history: RecordedHistory): number;
      store(): RoomStore | undefined;
    };
  }
}

function feed(store: RoomStore, m: RecordedHistory['messages'][number]): void {
  if (m instanceof Uint8Array) store.addBinary(m);
  else store.addEvent(Number(m.n), Number(m.t), m.event as WireEvent);
}

@customElement('tcp-dev')
export class TcpDev extends LitElement {
  static override styles = css`
    :host {
      display: block;
      height: 100%;
    }
    tcp-room {
      height: 100%;
    }
    .loading {
      display: grid;
      place-items: center;
      height: 100%;
      font-family: var(--font);
      color: var(--ink-soft);
    }
  `;

  @state() private _store: RoomStore | undefined;
  @state() private _version = 0;
  @state() private _name = '';
  private timer: ReturnType<typeof setTimeout> | undefined;

  override connectedCallback(): void {
    super.connectedCallback();
    window.tcpLabDev = {
      load: (h) => this.load(h),
      store: () => this._store,
    };
    const p = new URLSearchParams(location.search);
    const which = p.get('scenario');
    if (which === 'none') return;
    const scenario =
      which === 'lostfin'
        ? LOST_FIN
        : which === 'held'
          ? HELD_SYN
          : which === 'held2'
            ? HELD_TWO
            : which === 'bulk'
              ? bulkScenario(Number(p.get('sends') ?? 200), Number(p.get('loss') ?? 0.02))
              : LIFECYCLE;
    const rec = recordScenario(scenario);
    if (p.get('replay')) this.replay(rec, Number(p.get('speed') ?? 1));
    else this.load(rec);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearTimeout(this.timer);
  }

  /** Loads a whole history at once; returns ms spent ingesting it. */
  load(h: RecordedHistory): number {
    const t0 = performance.now();
    const store = new RoomStore(h.room, h.info);
    for (const m of h.messages) feed(store, m);
    store.synced = true;
    store.endpoints.catchUp();
    this._name = h.info.name;
    this._store = store;
    this._version = store.version;
    return performance.now() - t0;
  }

  /** Feeds the history at its own pace (virtual ms × `speed`), as if live. */
  private replay(h: RecordedHistory, speed: number): void {
    const info: RoomInfo = { ...h.info, clock: { ...h.info.clock, t: 0, running: true, speed } };
    const store = new RoomStore(h.room, info);
    store.synced = true;
    this._name = h.info.name;
    this._store = store;
    const start = performance.now();
    let i = 0;
    const tick = () => {
      const now = (performance.now() - start) * speed;
      while (i < h.messages.length) {
        const m = h.messages[i]!;
        const mt =
          m instanceof Uint8Array ? new DataView(m.buffer, m.byteOffset).getFloat64(16) : Number(m.t);
        if (mt > now) break;
        feed(store, m);
        i++;
      }
      store.setTime(now);
      this._version = store.version + i;
      if (i < h.messages.length) this.timer = setTimeout(tick, 30);
      else store.setInfo({ ...info, clock: { ...info.clock, running: false, t: now } });
    };
    tick();
  }

  override render() {
    if (!this._store) return html`<div class="loading">…</div>`;
    return html`<tcp-room .store=${this._store} .version=${this._version} .recorded=${this._name}></tcp-room>`;
  }
}
