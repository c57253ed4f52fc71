/**
 * Lobby: the class's rooms with who holds seat A and seat B. Take a seat, observe, or take both
 * (solo); create a room. Updates live from `class.state`.
 */
import { css, html, LitElement } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { RoomSummary, SeatHolder, SessionInfo } from '../../../shared/protocol/messages.ts';
import type { ClassState } from '../controllers/lab-controller.ts';
import { emit } from '../events.ts';
import { LocaleController, t } from '../i18n/index.ts';
import type { LabRequestError } from '../net/lab-client.ts';
import { base } from '../styles/theme.ts';
import { refusal } from './ui.ts';

@customElement('tcp-lobby')
export class TcpLobby extends LitElement {
  static override styles = [
    base,
    css`
      :host {
        display: block;
        min-height: 100%;
      }
      header {
        display: flex;
        align-items: center;
        gap: 1rem;
        padding: 0.7rem 1.4rem;
        background: var(--surface);
        border-bottom: 1px solid var(--line);
      }
      header h1 {
        font-size: 1.15rem;
        margin: 0;
      }
      .code {
        font-family: var(--mono);
        letter-spacing: 0.1em;
        background: var(--surface-2);
        border: 1px solid var(--line);
        padding: 0.1em 0.5em;
        border-radius: 6px;
      }
      .spacer {
        flex: 1;
      }
      main {
        max-width: 1100px;
        margin: 0 auto;
        padding: 1.4rem;
        display: grid;
        gap: 1rem;
      }
      .intro {
        display: flex;
        justify-content: space-between;
        align-items: end;
        gap: 1rem;
        flex-wrap: wrap;
      }
      .intro p {
        margin: 0.2rem 0 0;
        color: var(--ink-soft);
        max-width: 60ch;
        line-height: 1.45;
      }
      form.create {
        display: flex;
        gap: 0.5rem;
        align-items: center;
      }
      .rooms {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(300px, 1fr));
        gap: 0.9rem;
        list-style: none;
        padding: 0;
        margin: 0;
      }
      .room {
        background: var(--surface);
        border: 1px solid var(--line);
        border-radius: 12px;
        box-shadow: var(--shadow);
        padding: 0.9rem 1rem;
        display: grid;
        gap: 0.7rem;
      }
      .room h2 {
        font-size: 1.05rem;
        display: flex;
        justify-content: space-between;
        gap: 0.5rem;
      }
      .people {
        font-weight: 400;
        font-size: 0.85rem;
        color: var(--ink-soft);
      }
      .seats {
        display: grid;
        gap: 0.4rem;
      }
      .seatrow {
        display: flex;
        align-items: center;
        gap: 0.55rem;
        font-size: 0.92rem;
      }
      .holder {
        flex: 1;
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      .free {
        color: var(--ink-soft);
        font-style: italic;
      }
      .online {
        font-size: 0.78rem;
        color: var(--ok);
      }
      .offline {
        font-size: 0.78rem;
        color: var(--ink-soft);
      }
      .actions {
        display: flex;
        gap: 0.4rem;
        flex-wrap: wrap;
      }
      .empty {
        padding: 2rem;
        text-align: center;
        color: var(--ink-soft);
        background: var(--surface);
        border-radius: 12px;
        border: 1px dashed var(--line-strong);
      }
    `,
  ];

  @property({ attribute: false }) classState: ClassState | undefined;
  @property({ attribute: false }) session: SessionInfo | undefined;
  @property({ attribute: false }) error: LabRequestError | undefined;
  @property({ type: Boolean }) busy = false;
  @state() private _newName = '';
  protected readonly locale = new LocaleController(this);

  override render() {
    const cs = this.classState;
    return html`<header>
        <h1>TCP Lab</h1>
        ${cs ? html`<span>${cs.name}</span> <span class="code" aria-label=${t('lobby.codeLabel')}>${cs.code}</span>` : null}
        <span class="spacer"></span>
        ${this.session ? html`<span class="muted">${t('lobby.you', { name: this.session.name })}</span>` : null}
        <tcp-lang-switch></tcp-lang-switch>
        <button class="btn small" @click=${() => this.dispatchEvent(new CustomEvent('sign-out', { bubbles: true, composed: true }))}>
          ${t('lobby.signOut')}
        </button>
      </header>
      <main>
        <div class="intro">
          <div>
            <h2>${t('lobby.title')}</h2>
            <p>${t('lobby.intro')}</p>
          </div>
          <form class="create" @submit=${this.create}>
            <label class="sr-only" for="newroom">${t('lobby.newRoomName')}</label>
            <input
              id="newroom"
              type="text"
              maxlength="40"
              placeholder=${t('lobby.newRoomName')}
              .value=${this._newName}
              @input=${(e: Event) => (this._newName = (e.target as HTMLInputElement).value)}
            />
            <button class="btn" type="submit" ?disabled=${this.busy}>＋ ${t('lobby.create')}</button>
          </form>
        </div>
        ${refusal(this.error)}
        ${
          cs?.rooms.length
            ? html`<ul class="rooms" aria-label=${t('lobby.rooms')}>
              ${cs.rooms.map((r) => this.room(r))}
            </ul>`
            : html`<div class="empty">${t('lobby.noRooms')}</div>`
        }
      </main>`;
  }

  private holder(seat: 'A' | 'B', h: SeatHolder) {
    return html`<div class="seatrow">
      <span class="seat ${seat}" aria-hidden="true">${seat}</span>
      <span class="holder">
        <span class="sr-only">${t('lobby.seat', { seat })}:</span>
        ${
          h
            ? html`${h.name}
              <span class=${h.online ? 'online' : 'offline'}>● ${h.online ? t('lobby.online') : t('lobby.offline')}</span>`
            : html`<span class="free">${t('lobby.free')}</span>`
        }
      </span>
    </div>`;
  }

  private room(r: RoomSummary) {
    const me = this.session?.id;
    const takenA = r.seats.A !== null && r.seats.A.session !== me;
    const takenB = r.seats.B !== null && r.seats.B.session !== me;
    const enter = (mode: 'A' | 'B' | 'observe' | 'solo') => emit(this, 'enter-room', { room: r.room, mode });
    const takenTip = (seat: 'A' | 'B') => t('lobby.seatTaken', { seat });
    return html`<li class="room">
      <h2><span>${r.name}</span><span class="people">${t('lobby.people', { n: r.people })}</span></h2>
      <div class="seats">${this.holder('A', r.seats.A)} ${this.holder('B', r.seats.B)}</div>
      <div class="actions">
        <button
          class="btn small primary"
          ?disabled=${takenA || this.busy}
          title=${takenA ? takenTip('A') : t('lobby.takeTip', { seat: 'A' })}
          @click=${() => enter('A')}
        >
          ${t('lobby.take', { seat: 'A' })}
        </button>
        <button
          class="btn small primary"
          ?disabled=${takenB || this.busy}
          title=${takenB ? takenTip('B') : t('lobby.takeTip', { seat: 'B' })}
          @click=${() => enter('B')}
        >
          ${t('lobby.take', { seat: 'B' })}
        </button>
        <button class="btn small" ?disabled=${this.busy} title=${t('lobby.observeTip')} @click=${() => enter('observe')}>
          ${t('lobby.observe')}
        </button>
        <button
          class="btn small"
          ?disabled=${takenA || takenB || this.busy}
          title=${takenA || takenB ? t('lobby.soloTaken') : t('lobby.soloTip')}
          @click=${() => enter('solo')}
        >
          ${t('lobby.solo')}
        </button>
      </div>
    </li>`;
  }

  private create(e: Event) {
    e.preventDefault();
    const name = this._newName.trim();
    emit(this, 'create-room', name ? { name } : {});
    this._newName = '';
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'tcp-lobby': TcpLobby;
  }
}
