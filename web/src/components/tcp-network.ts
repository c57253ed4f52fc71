/**
 * The room's network: link settings (delay, jitter, loss, duplication, reordering, bandwidth) per
 * direction or both, one-click faults ("drop A's next FIN", "lose the last ACK"), the active fault
 * rules, hold mode with the segments it holds, and resetting the room.
 */
import { css, html, LitElement, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { FaultRule, LinkDirection, RoomInfo, Seat } from '../../../shared/protocol/messages.ts';
import { emit } from '../events.ts';
import { LocaleController, t, tk } from '../i18n/index.ts';
import type { LabRequestError } from '../net/lab-client.ts';
import { base } from '../styles/theme.ts';
import { refusal } from './ui.ts';

interface QuickFault {
  key: string;
  rule: (from: Seat) => FaultRule;
}

const QUICK: QuickFault[] = [
  { key: 'dropSyn', rule: (from) => ({ from, flags: ['SYN'], action: 'drop' }) },
  { key: 'dropFin', rule: (from) => ({ from, flags: ['FIN'], action: 'drop' }) },
  { key: 'dropData', rule: (from) => ({ from, data: true, action: 'drop' }) },
  {
    key: 'dropAck',
    rule: (from) => ({ from, flags: ['ACK'], noFlags: ['SYN', 'FIN', 'RST'], data: false, action: 'drop' }),
  },
  { key: 'dupData', rule: (from) => ({ from, data: true, action: 'duplicate' }) },
  { key: 'delayNext', rule: (from) => ({ from, action: 'delay', delayMs: 3000 }) },
  { key: 'holdNext', rule: (from) => ({ from, action: 'hold' }) },
  { key: 'corruptNext', rule: (from) => ({ from, action: 'corrupt' }) },
];

type Dir = 'both' | 'AB' | 'BA';

@customElement('tcp-network')
export class TcpNetwork extends LitElement {
  static override styles = [
    base,
    css`
      :host {
        display: block;
        height: 100%;
        overflow: auto;
        font-size: 0.85rem;
      }
      .cols {
        display: grid;
        grid-template-columns: minmax(250px, 1fr) minmax(300px, 1.3fr) minmax(240px, 1fr);
        gap: 1rem;
        padding: 0.5rem 0.8rem 0.8rem;
      }
      form.link {
        display: grid;
        grid-template-columns: auto 1fr auto;
        gap: 0.25rem 0.5rem;
        align-items: center;
      }
      form.link input {
        width: 6em;
      }
      .unit {
        color: var(--ink-soft);
        font-size: 0.78rem;
      }
      .quick {
        display: grid;
        grid-template-columns: 1fr auto auto;
        gap: 0.25rem 0.35rem;
        align-items: center;
      }
      .quick span {
        font-size: 0.82rem;
      }
      ul {
        list-style: none;
        margin: 0;
        padding: 0;
        display: grid;
        gap: 0.25rem;
      }
      li {
        display: flex;
        gap: 0.4rem;
        align-items: center;
        justify-content: space-between;
        border: 1px solid var(--line);
        border-radius: 6px;
        padding: 0.2rem 0.4rem;
        background: var(--surface-2);
      }
      .rule {
        font-family: var(--mono);
        font-size: 0.78rem;
      }
      .row {
        display: flex;
        gap: 0.4rem;
        align-items: center;
        flex-wrap: wrap;
      }
      .switch {
        display: inline-flex;
        gap: 0.4rem;
        align-items: center;
        cursor: pointer;
      }
      .note {
        color: var(--ink-soft);
        font-size: 0.78rem;
      }
      .confirm {
        display: flex;
        gap: 0.4rem;
        align-items: center;
        flex-wrap: wrap;
        padding: 0.3rem 0.5rem;
        border: 1px solid var(--danger);
        border-radius: 6px;
        background: var(--danger-soft);
      }
    `,
  ];

  @property({ attribute: false }) info: RoomInfo | undefined;
  /** Why this user may not change the network (empty: may). */
  @property() blocked = '';
  @property({ attribute: false }) error: LabRequestError | undefined;
  @property({ type: Boolean }) busy = false;
  @state() private _dir: Dir = 'both';
  @state() private _form: Record<string, string> = {};
  @state() private _confirmReset = false;
  protected readonly locale = new LocaleController(this);

  private current(): Record<string, number> {
    const link = (this.info?.link ?? {}) as Record<string, Record<string, number> | undefined>;
    return link[this._dir === 'BA' ? 'BA' : 'AB'] ?? {};
  }

  private field(key: string, scale = 1): string {
    if (key in this._form) return this._form[key]!;
    const v = this.current()[key];
    return v === undefined ? '' : String(+(v * scale).toFixed(4));
  }

  override render() {
    const info = this.info;
    if (!info) return nothing;
    const dis = !!this.blocked || this.busy;
    return html`<div class="cols">
      <section aria-labelledby="link-title">
        <div class="section-title" id="link-title">${t('net.link')}</div>
        <form class="link" @submit=${this.applyLink}>
          <label for="dir">${t('net.direction')}</label>
          <select
            id="dir"
            @change=${(e: Event) => {
              this._dir = (e.target as HTMLSelectElement).value as Dir;
              this._form = {};
            }}
          >
            <option value="both" ?selected=${this._dir === 'both'}>${t('net.both')}</option>
            <option value="AB" ?selected=${this._dir === 'AB'}>A → B</option>
            <option value="BA" ?selected=${this._dir === 'BA'}>B → A</option>
          </select>
          <span></span>
          ${this.input('delayMs', t('net.delay'), 'ms')} ${this.input('jitterMs', t('net.jitter'), 'ms')}
          ${this.input('loss', t('net.loss'), '%', 100)} ${this.input('duplicate', t('net.duplicate'), '%', 100)}
          ${this.input('reorder', t('net.reorder'), '%', 100)} ${this.input('rateBps', t('net.rate'), 'kbit/s', 0.001)}
          <span></span>
          <div class="row">
            <button class="btn small primary" type="submit" ?disabled=${dis} title=${this.blocked}>${t('net.apply')}</button>
            <button class="btn small" type="button" ?disabled=${Object.keys(this._form).length === 0} @click=${() => (this._form = {})}>
              ${t('net.revert')}
            </button>
          </div>
        </form>
        <p class="note">${t('net.linkNote')}</p>
      </section>
      <section aria-labelledby="faults-title">
        <div class="section-title" id="faults-title">${t('net.faults')}</div>
        <div class="quick">
          <span></span><span class="note">${t('net.fromA')}</span><span class="note">${t('net.fromB')}</span>
          ${QUICK.map(
            (q) => html`<span>${t(`fault.${q.key}` as 'fault.dropFin')}</span>
              ${(['A', 'B'] as const).map(
                (from) => html`<button
                  class="btn small"
                  ?disabled=${dis}
                  title=${this.blocked || t(`fault.${q.key}` as 'fault.dropFin')}
                  aria-label=${`${t(`fault.${q.key}` as 'fault.dropFin')} — ${from}`}
                  @click=${() => this.addQuick(q, from)}
                >
                  <span class="seat ${from}" aria-hidden="true">${from}</span>
                </button>`,
              )}`,
          )}
        </div>
        ${this.renderRules(info, dis)}
      </section>
      <section aria-labelledby="hold-title">
        <div class="section-title" id="hold-title">${t('net.hold')}</div>
        <label class="switch">
          <input
            type="checkbox"
            .checked=${info.hold}
            ?disabled=${dis}
            @change=${(e: Event) => emit(this, 'hold-set', { on: (e.target as HTMLInputElement).checked })}
          />
          ${t('net.holdToggle')}
        </label>
        <p class="note">${t('net.holdNote')}</p>
        ${
          info.held.length
            ? html`<ul aria-label=${t('net.heldList')}>
              ${info.held.map(
                (id) => html`<li>
                  <span class="rule">#${id}</span>
                  <span class="row">
                    <button class="btn small" ?disabled=${dis} @click=${() => emit(this, 'held-action', { segId: id, action: 'release' })}>
                      ▶ ${t('held.release')}
                    </button>
                    <button
                      class="btn small danger"
                      ?disabled=${dis}
                      @click=${() => emit(this, 'held-action', { segId: id, action: 'drop' })}
                    >
                      ✕ ${t('held.drop')}
                    </button>
                  </span>
                </li>`,
              )}
            </ul>`
            : nothing
        }
        <div class="section-title">${t('net.reset')}</div>
        ${
          this._confirmReset
            ? html`<div class="confirm" role="alertdialog" aria-label=${t('net.resetConfirm')}>
              ${t('net.resetConfirm')}
              <button
                class="btn small danger"
                @click=${() => {
                  this._confirmReset = false;
                  emit(this, 'room-reset', {});
                }}
              >
                ${t('net.resetYes')}
              </button>
              <button class="btn small" @click=${() => (this._confirmReset = false)}>${t('net.cancel')}</button>
            </div>`
            : html`<button class="btn small danger" ?disabled=${dis} title=${this.blocked || t('net.resetTip')} @click=${() => (this._confirmReset = true)}>
              ↺ ${t('net.resetButton')}
            </button>`
        }
        ${refusal(this.error)}
        ${this.blocked ? html`<p class="note">${this.blocked}</p>` : nothing}
      </section>
    </div>`;
  }

  private input(key: string, label: string, unit: string, scale = 1) {
    return html`<label for="l-${key}">${label}</label>
      <input
        id="l-${key}"
        type="number"
        min="0"
        step="any"
        .value=${this.field(key, scale)}
        @input=${(e: Event) => (this._form = { ...this._form, [key]: (e.target as HTMLInputElement).value })}
      />
      <span class="unit">${unit}</span>`;
  }

  private applyLink(e: Event) {
    e.preventDefault();
    const scale: Record<string, number> = { loss: 100, duplicate: 100, reorder: 100, rateBps: 0.001 };
    const settings: Record<string, number> = {};
    for (const [k, v] of Object.entries(this._form)) {
      if (v.trim() === '') continue;
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) continue;
      const val = n / (scale[k] ?? 1);
      settings[k] =
        k === 'delayMs' || k === 'jitterMs' || k === 'rateBps' ? Math.round(val) : Math.min(1, val);
    }
    this._form = {};
    if (Object.keys(settings).length === 0) return;
    emit(this, 'link-set', {
      ...(this._dir === 'both' ? {} : { dir: this._dir }),
      settings: settings as LinkDirection,
    });
  }

  private addQuick(q: QuickFault, from: Seat) {
    const rule = q.rule(from);
    rule.label = `${t(`fault.${q.key}` as 'fault.dropFin')} (${from})`.slice(0, 80);
    emit(this, 'fault-add', { rule });
  }

  private renderRules(info: RoomInfo, dis: boolean) {
    const rules = info.faults as Array<FaultRule & { id: number; fired?: number; matched?: number }>;
    if (!rules.length) return html`<p class="note">${t('net.noRules')}</p>`;
    return html`<div class="section-title">${t('net.activeRules')}</div>
      <ul>
        ${rules.map((r) => {
          const times = r.times === 'all' ? '∞' : (r.times ?? 1);
          const spent = r.times !== 'all' && (r.fired ?? 0) >= (r.times ?? 1);
          return html`<li>
            <span class="rule">#${r.id} ${r.label ?? `${tk(`action.${r.action}`, r.action)} ${r.from ?? ''} ${(r.flags ?? []).join('+')}`}
              <span class="note">${t('net.fired', { n: r.fired ?? 0, of: times })}${spent ? ` · ${t('net.spent')}` : ''}</span></span
            >
            <button class="btn small" ?disabled=${dis} aria-label=${t('net.removeRule', { id: r.id })} @click=${() => emit(this, 'fault-remove', { ruleId: r.id })}>
              ✕
            </button>
          </li>`;
        })}
      </ul>
      <button class="btn small" style="margin-top:0.3rem" ?disabled=${dis} @click=${() => emit(this, 'fault-clear', {})}>${t('net.clearRules')}</button>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'tcp-network': TcpNetwork;
  }
}
