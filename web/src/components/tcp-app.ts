/**
 * The root: owns the lab connection (`LabController`) and shows the screen for where the user is:
 * join → lobby → room. Intents from the screens arrive as events; errors go back down to the
 * screen that caused them.
 */
import { css, html, LitElement, nothing } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import { LabController } from '../controllers/lab-controller.ts';
import type { TcpEvent } from '../events.ts';
import { LocaleController, t } from '../i18n/index.ts';
import type { LabRequestError } from '../net/lab-client.ts';
import { base } from '../styles/theme.ts';
import './tcp-join.ts';
import './tcp-lobby.ts';
import './tcp-room.ts';

@customElement('tcp-app')
export class TcpApp extends LitElement {
  static override styles = [
    base,
    css`
      :host {
        display: block;
        height: 100%;
      }
      .splash {
        height: 100%;
        display: grid;
        place-items: center;
        color: var(--ink-soft);
        font-size: 1.1rem;
      }
      .banner {
        position: fixed;
        left: 50%;
        top: 10px;
        transform: translateX(-50%);
        z-index: 50;
        display: flex;
        gap: 0.8em;
        align-items: center;
        padding: 0.5em 0.9em;
        border-radius: 9px;
        background: #1f2937;
        color: #fff;
        box-shadow: var(--shadow);
        font-size: 0.92rem;
      }
      .banner .btn {
        color: var(--ink);
      }
      .dot {
        width: 0.6em;
        height: 0.6em;
        border-radius: 50%;
        background: var(--focus);
        animation: pulse 1s infinite alternate;
      }
      @keyframes pulse {
        from {
          opacity: 0.3;
        }
      }
    `,
  ];

  private readonly lab = new LabController(this);
  protected readonly locale = new LocaleController(this);
  @state() private _joinError: LabRequestError | undefined;
  @state() private _lobbyError: LabRequestError | undefined;
  @state() private _busy = false;

  override render() {
    return html`${this.banner()}${this.screen()}`;
  }

  private banner() {
    const s = this.lab.status;
    if (s === 'reconnecting' && this.lab.phase !== 'connecting')
      return html`<div class="banner" role="status"><span class="dot"></span>${t('conn.reconnecting')}</div>`;
    if (s === 'replaced')
      return html`<div class="banner" role="alert">
        ${t('conn.replaced')}
        <button class="btn small" @click=${() => this.lab.reclaim()}>${t('conn.useHere')}</button>
      </div>`;
    return nothing;
  }

  private screen() {
    const lab = this.lab;
    switch (lab.phase) {
      case 'connecting':
        return html`<div class="splash" role="status">${
          lab.status === 'reconnecting' ? t('conn.cannotReach') : t('conn.connecting')
        }</div>`;
      case 'join':
        return html`<tcp-join
          .error=${this._joinError ?? lab.notice}
          .busy=${this._busy}
          @join-class=${this.onJoin}
        ></tcp-join>`;
      case 'lobby':
        return html`<tcp-lobby
          .classState=${lab.classState}
          .session=${lab.session}
          .error=${this._lobbyError}
          .busy=${this._busy}
          @enter-room=${this.onEnter}
          @create-room=${this.onCreate}
          @sign-out=${() => lab.signOut()}
        ></tcp-lobby>`;
      case 'room':
        return lab.store
          ? html`<tcp-room
              .actions=${lab.watching ? undefined : lab}
              .watching=${lab.watching}
              .store=${lab.store}
              .version=${lab.store.version}
              .exercise=${lab.exercise}
            ></tcp-room>`
          : html`<div class="splash">${t('conn.loadingRoom')}</div>`;
    }
  }

  private async onJoin(e: TcpEvent<'join-class'>) {
    this._busy = true;
    this._joinError = undefined;
    try {
      await this.lab.join(e.detail.code, e.detail.name);
    } catch (err) {
      this._joinError = err as LabRequestError;
    } finally {
      this._busy = false;
    }
  }

  private async onEnter(e: TcpEvent<'enter-room'>) {
    this._busy = true;
    this._lobbyError = undefined;
    try {
      await this.lab.enter(e.detail.room, e.detail.mode);
    } catch (err) {
      this._lobbyError = err as LabRequestError;
    } finally {
      this._busy = false;
    }
  }

  private async onCreate(e: TcpEvent<'create-room'>) {
    this._busy = true;
    this._lobbyError = undefined;
    try {
      await this.lab.createRoom(e.detail.name);
    } catch (err) {
      this._lobbyError = err as LabRequestError;
    } finally {
      this._busy = false;
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'tcp-app': TcpApp;
  }
}
