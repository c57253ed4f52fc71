/**
 * Join screen: the class code the teacher shows and the student's display name. The code may come
 * in the page address (`?class=ABC123`), so a teacher can hand out one link.
 */
import { css, html, LitElement } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { emit } from '../events.ts';
import { LocaleController, t } from '../i18n/index.ts';
import type { LabRequestError } from '../net/lab-client.ts';
import { base } from '../styles/theme.ts';
import { refusal } from './ui.ts';

const NAME_KEY = 'tcplab.name';

@customElement('tcp-join')
export class TcpJoin extends LitElement {
  static override styles = [
    base,
    css`
      :host {
        display: grid;
        place-items: center;
        min-height: 100%;
        padding: 2rem 1rem;
      }
      .card {
        width: min(440px, 100%);
        background: var(--surface);
        border-radius: 16px;
        box-shadow: var(--shadow);
        padding: 2rem 2rem 1.6rem;
        display: grid;
        gap: 1.1rem;
      }
      header {
        display: flex;
        align-items: center;
        justify-content: space-between;
        gap: 1rem;
      }
      .logo {
        display: flex;
        align-items: center;
        gap: 0.6rem;
      }
      .logo svg {
        width: 40px;
        height: 40px;
      }
      h1 {
        margin: 0;
        font-size: 1.5rem;
      }
      .tagline {
        margin: 0;
        color: var(--ink-soft);
        line-height: 1.45;
      }
      label {
        display: grid;
        gap: 0.35rem;
        font-weight: 600;
        font-size: 0.92rem;
      }
      input {
        font-size: 1.05rem !important;
        min-height: 42px !important;
        padding: 0.3em 0.6em !important;
      }
      #code {
        font-family: var(--mono);
        letter-spacing: 0.12em;
        text-transform: uppercase;
      }
      .hint {
        font-weight: 400;
        font-size: 0.82rem;
        color: var(--ink-soft);
      }
      .btn.primary {
        min-height: 44px;
        font-size: 1rem;
      }
    `,
  ];

  @property({ attribute: false }) error: LabRequestError | undefined;
  @property({ type: Boolean }) busy = false;
  @state() private _code = '';
  @state() private _name = '';
  protected readonly locale = new LocaleController(this);

  override connectedCallback(): void {
    super.connectedCallback();
    const params = new URLSearchParams(location.search);
    this._code = (params.get('class') ?? params.get('code') ?? '').toUpperCase();
    try {
      this._name = localStorage.getItem(NAME_KEY) ?? '';
    } catch {
      this._name = '';
    }
  }

  override render() {
    const valid = /^[A-Z0-9]{4,12}$/.test(this._code) && this._name.trim().length > 0;
    return html`<form class="card" @submit=${this.submit} aria-labelledby="title">
      <header>
        <div class="logo">
          <svg viewBox="0 0 32 32" aria-hidden="true">
            <rect width="32" height="32" rx="7" fill="#1d4ed8" />
            <path
              d="M8 7v18M24 7v18M8 11l16 5M24 18L8 23"
              stroke="white"
              stroke-width="2.4"
              fill="none"
              stroke-linecap="round"
            />
          </svg>
          <h1 id="title">TCP Lab</h1>
        </div>
        <tcp-lang-switch></tcp-lang-switch>
      </header>
      <p class="tagline">${t('join.tagline')}</p>
      <label for="code"
        >${t('join.code')}
        <input
          id="code"
          type="text"
          autocomplete="off"
          spellcheck="false"
          maxlength="12"
          required
          pattern="[A-Za-z0-9]{4,12}"
          .value=${this._code}
          @input=${(e: Event) => (this._code = (e.target as HTMLInputElement).value.toUpperCase().trim())}
        />
        <span class="hint">${t('join.codeHint')}</span>
      </label>
      <label for="name"
        >${t('join.name')}
        <input
          id="name"
          type="text"
          autocomplete="nickname"
          maxlength="40"
          required
          .value=${this._name}
          @input=${(e: Event) => (this._name = (e.target as HTMLInputElement).value)}
        />
      </label>
      ${refusal(this.error)}
      <button class="btn primary" type="submit" ?disabled=${!valid || this.busy}>
        ${this.busy ? t('join.joining') : t('join.submit')}
      </button>
    </form>`;
  }

  private submit(e: Event) {
    e.preventDefault();
    const name = this._name.trim();
    try {
      localStorage.setItem(NAME_KEY, name);
    } catch {
      // not remembered
    }
    emit(this, 'join-class', { code: this._code, name });
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'tcp-join': TcpJoin;
  }
}
