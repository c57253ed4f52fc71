/**
 * The keyboard help overlay (`?`), a modal dialog that lists the shortcuts, Packet Tracer and
 * Wireshark style. Escape or the close button dismisses it; focus goes to it when it opens.
 */
import { css, html, LitElement } from 'lit';
import { customElement } from 'lit/decorators.js';
import { LocaleController, type MessageKey, t } from '../i18n/index.ts';
import { base } from '../styles/theme.ts';

export const SHORTCUTS: Array<[string, MessageKey]> = [
  ['Space', 'keys.space'],
  ['→', 'keys.right'],
  ['←', 'keys.left'],
  ['L', 'keys.live'],
  ['S', 'keys.s'],
  ['T', 'keys.t'],
  ['G', 'keys.g'],
  ['+ / −', 'keys.zoom'],
  ['↑ / ↓', 'keys.updown'],
  ['Enter', 'keys.enter'],
  ['Esc', 'keys.esc'],
  ['?', 'keys.help'],
];

@customElement('tcp-help')
export class TcpHelp extends LitElement {
  static override styles = [
    base,
    css`
      :host {
        position: fixed;
        inset: 0;
        z-index: 100;
        display: grid;
        place-items: center;
        background: rgb(15 23 42 / 0.45);
      }
      .dialog {
        background: var(--surface);
        border-radius: 14px;
        box-shadow: 0 10px 40px rgb(0 0 0 / 0.3);
        width: min(560px, 94vw);
        max-height: 90vh;
        overflow: auto;
        padding: 1.1rem 1.3rem;
      }
      header {
        display: flex;
        justify-content: space-between;
        align-items: center;
        margin-bottom: 0.6rem;
      }
      table {
        width: 100%;
        border-collapse: collapse;
      }
      td {
        padding: 0.3rem 0.4rem;
        border-bottom: 1px solid var(--line);
      }
      kbd {
        display: inline-block;
        min-width: 2em;
        text-align: center;
        font-family: var(--mono);
        font-size: 0.85rem;
        padding: 0.1em 0.45em;
        border: 1px solid var(--line-strong);
        border-bottom-width: 3px;
        border-radius: 6px;
        background: var(--surface-2);
      }
      p {
        color: var(--ink-soft);
        font-size: 0.85rem;
        line-height: 1.45;
      }
    `,
  ];
  protected readonly locale = new LocaleController(this);

  override firstUpdated(): void {
    (this.renderRoot.querySelector('.dialog') as HTMLElement | null)?.focus();
  }

  override render() {
    return html`<div
      class="dialog"
      role="dialog"
      aria-modal="true"
      aria-labelledby="help-title"
      tabindex="-1"
      @keydown=${(e: KeyboardEvent) => {
        if (e.key === 'Escape' || e.key === '?') {
          e.stopPropagation();
          this.close();
        }
      }}
    >
      <header>
        <h2 id="help-title">${t('keys.title')}</h2>
        <button class="btn small" @click=${this.close}>${t('keys.close')}</button>
      </header>
      <table>
        <tbody>
          ${SHORTCUTS.map(([k, d]) => html`<tr><td><kbd>${k}</kbd></td><td>${t(d)}</td></tr>`)}
        </tbody>
      </table>
      <p>${t('keys.mouse')}</p>
    </div>`;
  }

  private close() {
    this.dispatchEvent(new CustomEvent('close', { bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'tcp-help': TcpHelp;
  }
}
