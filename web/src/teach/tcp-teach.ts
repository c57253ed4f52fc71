/**
 * `/teach`: the instructor dashboard. Signs in with the instructor key (from `?key=` or typed),
 * creates a class and shows its join code large enough for a projector, assigns an exercise to
 * the class or a room, pairs students (seat.assign), and shows a live grid of every room (pair,
 * endpoint states, progress 进度, alerts) fed by `class.state` and `class.exercises` pushes, with
 * step-in actions (pause/resume, drop the next FIN, reset) and the class summary with CSV export.
 * A room's name opens a read-only watch of its timeline in a new tab (`/?watch=`, `room.watch`):
 * no seat, not counted among the room's people, no control that changes it; stepping in is done
 * here, with this page's instructor connection.
 */
import { css, html, LitElement, nothing } from 'lit';
import { customElement, state } from 'lit/decorators.js';
import type { RoomExerciseStatus } from '../../../shared/protocol/exercises.ts';
import { getLocale, LOCALES, LocaleController, setLocale } from '../i18n/index.ts';
import { defaultSocketUrl, LabClient, type LabRequestError } from '../net/lab-client.ts';
import { base } from '../styles/theme.ts';
import { tt } from './strings.ts';

interface Holder {
  session: string;
  name: string;
  online: boolean;
}
interface RoomSummary {
  room: number;
  name: string;
  seats: { A: Holder | null; B: Holder | null };
  people: number;
}
interface ClassState {
  code: string;
  name: string;
  rooms: RoomSummary[];
  people: Array<{ session: string; name: string; online: boolean; room: number | null }>;
}
/** One room's line, as `class.exercises` and `exercise.status` carry it. */
type RoomStatus = RoomExerciseStatus;
interface Row {
  room: number;
  roomName: string;
  studentA: string;
  studentB: string;
  exercise: string;
  title: string;
  percent: number;
  complete: boolean;
  minutes: number;
}

@customElement('tcp-teach')
export class TcpTeach extends LitElement {
  static override styles = [
    base,
    css`
      :host {
        display: block;
        padding: 16px 20px;
        font-size: 15px;
      }
      header {
        display: flex;
        gap: 12px;
        align-items: center;
        flex-wrap: wrap;
      }
      h1 {
        font-size: 1.2rem;
        margin: 0 auto 0 0;
      }
      .code {
        font: 700 4.5rem/1 ui-monospace, monospace;
        letter-spacing: 0.12em;
        color: #1d4ed8;
      }
      .bar {
        display: flex;
        gap: 8px;
        align-items: center;
        flex-wrap: wrap;
        margin: 10px 0;
      }
      .grid {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(290px, 1fr));
        gap: 10px;
      }
      .card {
        border: 1px solid #cbd5e1;
        border-radius: 10px;
        padding: 10px;
        background: #fff;
      }
      .card.alert {
        border-color: #dc2626;
      }
      .card h3 {
        margin: 0 0 6px;
        font-size: 1rem;
      }
      .card select {
        max-width: 100%;
      }
      .pair-seat {
        display: grid;
        grid-template-columns: 5em minmax(0, 1fr);
        gap: 4px;
        align-items: center;
        margin: 2px 0;
      }
      .states {
        font: 0.85rem ui-monospace, monospace;
        color: #334155;
      }
      .meter {
        height: 12px;
        background: #e2e8f0;
        border-radius: 6px;
        overflow: hidden;
      }
      .meter > div {
        height: 100%;
        background: #16a34a;
      }
      .alerts {
        color: #b91c1c;
        font-weight: 600;
        font-size: 0.9rem;
      }
      .actions {
        display: flex;
        gap: 4px;
        flex-wrap: wrap;
        margin-top: 6px;
      }
      .step-in {
        align-items: center;
        border-top: 1px dashed #cbd5e1;
        padding-top: 6px;
      }
      .step-label {
        font-size: 0.85rem;
        font-weight: 600;
        color: #334155;
      }
      table {
        border-collapse: collapse;
        width: 100%;
      }
      th,
      td {
        border-bottom: 1px solid #e2e8f0;
        padding: 4px 6px;
        text-align: left;
      }
      .error {
        color: #b91c1c;
      }
      button,
      select,
      input {
        font: inherit;
      }
      button:focus-visible,
      select:focus-visible,
      input:focus-visible,
      a:focus-visible {
        outline: 3px solid #f59e0b;
        outline-offset: 1px;
      }
    `,
  ];

  protected readonly locale = new LocaleController(this);
  private client: LabClient | undefined;
  @state() private key = '';
  @state() private authed = false;
  @state() private error = '';
  @state() private klass: ClassState | undefined;
  @state() private status = new Map<number, RoomStatus>();
  @state() private assigned: string | null = null;
  @state() private catalogue: Array<{ id: string; title: string }> = [];
  @state() private rows: Row[] = [];
  private summaryTimer: ReturnType<typeof setTimeout> | undefined;

  override connectedCallback(): void {
    super.connectedCallback();
    const q = new URLSearchParams(location.search);
    this.key = q.get('key') ?? sessionStorage.getItem('tcplab.key') ?? '';
    void this.loadCatalogue();
    if (this.key) this.signIn();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.client?.close();
  }

  private async loadCatalogue() {
    const r = await fetch(`/api/exercises?lang=${encodeURIComponent(getLocale())}`);
    if (r.ok) this.catalogue = (await r.json()).exercises;
  }

  private signIn() {
    this.client?.close();
    this.client = new LabClient(defaultSocketUrl(), {
      onEvent: (m) => this.onEvent(m),
      onFrame: () => {},
      onOpen: () => void this.auth(),
      onStatus: () => {},
    });
    this.client.connect();
  }

  private async auth() {
    try {
      await this.client!.request({ type: 'instructor.auth', key: this.key });
      sessionStorage.setItem('tcplab.key', this.key);
      this.authed = true;
      this.error = '';
      const code = new URLSearchParams(location.search).get('class') ?? this.klass?.code;
      if (code) await this.watch(code);
    } catch (e) {
      this.authed = false;
      this.error = (e as LabRequestError).message;
    }
  }

  private async watch(code: string) {
    await this.client!.request({ type: 'class.watch', code });
    const ev = await this.client!.request<{ assigned: string | null; rooms: RoomStatus[] }>({
      type: 'exercise.status',
      code,
    });
    this.applyStatus(ev);
    const u = new URL(location.href);
    u.searchParams.set('class', code);
    u.searchParams.delete('key');
    history.replaceState(null, '', u);
    this.refreshSummary();
  }

  private onEvent(m: Record<string, unknown>) {
    if (m.type === 'class.state') this.klass = m as unknown as ClassState;
    else if (m.type === 'class.exercises') {
      this.applyStatus(m as unknown as { assigned: string | null; rooms: RoomStatus[] });
      this.refreshSummary();
    }
  }

  private applyStatus(ev: { assigned: string | null; rooms: RoomStatus[] }) {
    this.assigned = ev.assigned;
    this.status = new Map(ev.rooms.map((r) => [r.room, r]));
  }

  private refreshSummary() {
    if (this.summaryTimer || !this.klass) return;
    this.summaryTimer = setTimeout(async () => {
      this.summaryTimer = undefined;
      if (!this.klass) return;
      const r = await fetch(`/api/classes/${this.klass.code}/summary?lang=${getLocale()}`, {
        headers: { authorization: `Bearer ${this.key}` },
      });
      if (r.ok) this.rows = (await r.json()).rows;
    }, 300);
  }

  private async act(msg: Record<string, unknown>) {
    try {
      this.error = '';
      await this.client!.request(msg as never);
    } catch (e) {
      this.error = (e as LabRequestError).message;
    }
  }

  private async createClass(e: Event) {
    e.preventDefault();
    const name = (this.renderRoot.querySelector('#class-name') as HTMLInputElement).value.trim() || 'Class';
    try {
      const { code } = await this.client!.request<{ code: string }>({ type: 'class.create', name });
      await this.watch(code);
    } catch (err) {
      this.error = (err as LabRequestError).message;
    }
  }

  override render() {
    return html`
      <header>
        <h1>${tt('title')}</h1>
        <label
          >🌐
          <select
            aria-label="Language / 语言"
            @change=${(e: Event) => {
              setLocale((e.target as HTMLSelectElement).value as 'en' | 'zh-CN');
              void this.loadCatalogue();
            }}
          >
            ${LOCALES.map((l) => html`<option value=${l.id} ?selected=${l.id === getLocale()}>${l.label}</option>`)}
          </select></label
        >
      </header>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${this.authed ? (this.klass ? this.dashboard(this.klass) : this.createForm()) : this.keyForm()}
    `;
  }

  private keyForm() {
    return html`<form
      class="bar"
      @submit=${(e: Event) => {
        e.preventDefault();
        this.key = (this.renderRoot.querySelector('#key') as HTMLInputElement).value;
        this.signIn();
      }}
    >
      <label for="key">${tt('key')}</label>
      <input id="key" type="password" autocomplete="off" .value=${this.key} required />
      <button class="btn primary" type="submit">${tt('signIn')}</button>
    </form>`;
  }

  private createForm() {
    return html`<form class="bar" @submit=${this.createClass}>
      <label for="class-name">${tt('className')}</label>
      <input id="class-name" value="Networks" maxlength="60" />
      <button class="btn primary" type="submit" id="create-class">${tt('create')}</button>
    </form>`;
  }

  private exerciseSelect(id: string, value: string | null) {
    return html`<select id=${id} aria-label=${tt('exercise')}>
      <option value="">${tt('none')}</option>
      ${this.catalogue.map((e) => html`<option value=${e.id} ?selected=${e.id === value}>${e.title}</option>`)}
    </select>`;
  }

  private selected(id: string): string | null {
    return (this.renderRoot.querySelector(`#${id}`) as HTMLSelectElement | null)?.value || null;
  }

  private dashboard(k: ClassState) {
    return html`
      <section aria-label=${tt('joinCode')}>
        <div>${tt('joinCode')} · ${k.name}</div>
        <div class="code" data-testid="join-code">${k.code}</div>
        <div>${tt('joinHint')} ${tt('selfPair')}</div>
      </section>
      <div class="bar">
        <label for="class-exercise">${tt('exercise')}</label>
        ${this.exerciseSelect('class-exercise', this.assigned)}
        <button
          class="btn primary"
          id="assign-class"
          @click=${() => this.act({ type: 'exercise.assign', code: k.code, exercise: this.selected('class-exercise') })}
        >
          ${tt('assignAll')}
        </button>
        <button class="btn" id="add-room" @click=${() => this.act({ type: 'room.create', code: k.code })}>${tt('addRoom')}</button>
      </div>
      <h2>${tt('rooms')}</h2>
      ${k.rooms.length === 0 ? html`<p>${tt('noRooms')}</p>` : nothing}
      <div class="grid" role="list">${k.rooms.map((r) => this.card(k, r))}</div>
      ${this.summary(k)}
    `;
  }

  private card(k: ClassState, r: RoomSummary) {
    const st = this.status.get(r.room);
    const p = st?.progress;
    const seat = (s: 'A' | 'B') => html`<div class="pair-seat">
      <label for=${`seat-${r.room}-${s}`}>${tt(s === 'A' ? 'seatA' : 'seatB')}</label>
      <select
        id=${`seat-${r.room}-${s}`}
        @change=${(e: Event) =>
          this.act({
            type: 'seat.assign',
            room: r.room,
            seat: s,
            session: (e.target as HTMLSelectElement).value || null,
          })}
      >
        <option value="" ?selected=${!r.seats[s]}>${tt('free')}</option>
        ${k.people.map(
          (pp) => html`<option value=${pp.session} ?selected=${r.seats[s]?.session === pp.session}>
            ${pp.name}${pp.online ? '' : ' (offline)'}
          </option>`,
        )}
      </select>
    </div>`;
    return html`<article class="card ${st?.alerts.length ? 'alert' : ''}" role="listitem" data-room=${r.room} aria-label=${r.name}>
      <h3>
        <a class="watch" href=${`/?watch=${r.room}&key=${encodeURIComponent(this.key)}`} target="_blank"
          aria-label=${`${tt('watch')}: ${r.name}`} title=${`${tt('watch')} — ${tt('watchNote')}`}>${r.name} ↗</a>
      </h3>
      ${seat('A')} ${seat('B')}
      <div class="states">A: ${st?.states.A.join(', ') || '—'} · B: ${st?.states.B.join(', ') || '—'}</div>
      <div>${tt('exercise')}: ${this.catalogue.find((e) => e.id === st?.exercise)?.title ?? st?.exercise ?? tt('none')}</div>
      ${
        p
          ? html`<div>
              ${tt('progress')}: <span class="percent">${p.percent} %</span> (${p.goalsMet}/${p.goalsTotal} · ${p.questionsCorrect}/${p.questionsTotal})
              <div class="meter" role="progressbar" aria-label=${`${tt('progress')} ${r.name}`} aria-valuemin="0" aria-valuemax="100" aria-valuenow=${p.percent}>
                <div style="width:${p.percent}%"></div>
              </div>
            </div>`
          : nothing
      }
      ${st?.alerts.length ? html`<div class="alerts" role="status">⚠ ${st.alerts.map((a) => tt(a)).join(' · ')}</div>` : nothing}
      <div class="actions">
        ${this.exerciseSelect(`room-exercise-${r.room}`, st?.exercise ?? null)}
        <button class="btn small" @click=${() => this.act({ type: 'exercise.assign', room: r.room, exercise: this.selected(`room-exercise-${r.room}`) })}>
          ${tt('assignRoom')}
        </button>
      </div>
      <div class="actions step-in" role="group" aria-label=${`${tt('stepIn')}: ${r.name}`} title=${tt('stepInNote')}>
        <span class="step-label">${tt('stepIn')}:</span>
        <button class="btn small" @click=${() => this.act({ type: 'clock.pause', room: r.room })}>${tt('pause')}</button>
        <button class="btn small" @click=${() => this.act({ type: 'clock.resume', room: r.room })}>${tt('resume')}</button>
        <button class="btn small" @click=${() => this.act({ type: 'fault.add', room: r.room, rule: { flags: ['FIN'], action: 'drop', label: 'instructor' } })}>
          ${tt('fault')}
        </button>
        <button class="btn small" @click=${() => this.act({ type: 'room.reset', room: r.room })}>${tt('reset')}</button>
      </div>
    </article>`;
  }

  private summary(k: ClassState) {
    const href = `/api/classes/${k.code}/summary.csv?lang=${getLocale()}&key=${encodeURIComponent(this.key)}`;
    return html`<section aria-labelledby="summary-h">
      <h2 id="summary-h">${tt('summary')}</h2>
      <p><a id="csv" class="btn" href=${href} download>${tt('csv')}</a></p>
      <table>
        <thead>
          <tr><th>${tt('roomName')}</th><th>${tt('seatA')}</th><th>${tt('seatB')}</th><th>${tt('exercise')}</th><th>${tt('progress')}</th><th>${tt('minutes')}</th></tr>
        </thead>
        <tbody>
          ${this.rows.map(
            (r) => html`<tr>
              <td>${r.roomName}</td><td>${r.studentA}</td><td>${r.studentB}</td><td>${r.title}</td>
              <td>${r.percent} %${r.complete ? ` ✓ ${tt('complete')}` : ''}</td><td>${r.minutes}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </section>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'tcp-teach': TcpTeach;
  }
}
