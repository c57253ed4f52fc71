/**
 * Small pieces several components share: the language switch, how a refusal or an errno is
 * shown (in the user's language, with the server's own sentence as the detail), time formats.
 */
import { css, html, LitElement } from 'lit';
import { customElement } from 'lit/decorators.js';
import { ERRNO_TEXT, type Errno } from '../../../shared/tcp/types.ts';
import { getLocale, LOCALES, LocaleController, setLocale, t, tk } from '../i18n/index.ts';
import type { LabRequestError } from '../net/lab-client.ts';
import { base } from '../styles/theme.ts';

@customElement('tcp-lang-switch')
export class TcpLangSwitch extends LitElement {
  static override styles = [
    base,
    css`
      :host {
        display: inline-flex;
      }
      .group {
        display: inline-flex;
        border: 1px solid var(--line-strong);
        border-radius: 7px;
        overflow: hidden;
      }
      button {
        border: 0;
        background: var(--surface);
        padding: 0.2em 0.6em;
        cursor: pointer;
        font-size: 0.85rem;
        min-height: 28px;
      }
      button[aria-pressed='true'] {
        background: var(--accent);
        color: #fff;
        font-weight: 600;
      }
    `,
  ];
  protected readonly locale = new LocaleController(this);

  override render() {
    const cur = getLocale();
    return html`<div class="group" role="group" aria-label=${t('lang.label')}>
      ${LOCALES.map(
        (l) =>
          html`<button
            type="button"
            lang=${l.id}
            aria-pressed=${cur === l.id ? 'true' : 'false'}
            @click=${() => setLocale(l.id)}
          >
            ${l.label}
          </button>`,
      )}
    </div>`;
  }
}

/** A refused request, explained: the localized meaning of its code, then the server's sentence. */
export function refusal(err: LabRequestError | undefined) {
  if (!err) return null;
  const summary = tk(`err.${err.code}`, err.code);
  return html`<div class="error-box" role="alert">
    <div><strong>${summary}</strong></div>
    <div class="muted">${err.message}</div>
  </div>`;
}

/** An errno with its explanation in the user's language and the engine's detail. */
export function errnoText(errno: string, message?: string): { title: string; detail: string } {
  const localized = tk(`errno.${errno}`, ERRNO_TEXT[errno as Errno] ?? errno);
  const engine = ERRNO_TEXT[errno as Errno];
  let detail = '';
  if (message) {
    detail =
      engine && message.startsWith(engine)
        ? message.slice(engine.length).replace(/^\s*\(|\)\s*$/g, '')
        : message;
  }
  return { title: `${errno}: ${localized}`, detail };
}

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '∞';
  if (Math.abs(ms) >= 10_000) return t('unit.seconds', { n: (ms / 1000).toFixed(1) });
  if (Math.abs(ms) >= 1000) return t('unit.seconds', { n: (ms / 1000).toFixed(2) });
  return t('unit.ms', { n: Math.round(ms) });
}

/** Virtual time as seconds with millisecond precision: `12.345 s`. */
export function fmtT(ms: number): string {
  return t('unit.seconds', { n: (ms / 1000).toFixed(3) });
}

export function fmtBytes(n: number): string {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 10_240) return `${(n / 1024).toFixed(1)} KiB`;
  return t('unit.bytes', { n });
}

declare global {
  interface HTMLElementTagNameMap {
    'tcp-lang-switch': TcpLangSwitch;
  }
}
